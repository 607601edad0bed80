//! Library-OS networking for the piñata unikernel.
//!
//! Where it sits: NIC driver (unikernel) → **stack** (smoltcp interface,
//! DHCP/static configuration, TCP listen/accept) → byte streams handed to the
//! piñata's service state machines. The hosted runner does not use this crate:
//! it gets its byte streams from `std::net`.
//!
//! This crate is a placeholder until the unikernel issue lands; it holds only
//! the seam the drivers will implement.
#![no_std]
#![forbid(unsafe_code)]

/// What a network interface card driver offers the stack: whole Ethernet
/// frames in and out. virtio-net and Xen netfront implement it.
pub trait Nic {
    /// The interface's MAC address.
    fn mac_address(&self) -> [u8; 6];
    /// Takes one received frame, if any, into `buf`; returns its length.
    fn receive(&mut self, buf: &mut [u8]) -> Option<usize>;
    /// Queues one frame for transmission; returns false if the queue is full.
    fn transmit(&mut self, frame: &[u8]) -> bool;
}
