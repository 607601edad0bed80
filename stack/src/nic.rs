//! The NIC seam: what a driver offers the stack ([`Nic`]), and the NIC
//! seen as a smoltcp [`Device`] (copy-based tokens over two frame-sized
//! scratch buffers).

use alloc::vec;
use alloc::vec::Vec;

use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

use crate::MTU;

/// What a network interface card driver offers the stack: whole Ethernet
/// frames in and out. virtio-net and Xen netfront implement it.
///
/// Frames carry no frame check sequence; the stack never sends one longer
/// than [`MTU`] bytes.
pub trait Nic {
    /// The interface's MAC address.
    fn mac_address(&self) -> [u8; 6];
    /// Takes one received frame, if any, into `buf` (at least [`MTU`] bytes)
    /// and returns its length. A frame longer than `buf` is dropped by the
    /// driver (or truncated, which the stack will discard as malformed).
    fn receive(&mut self, buf: &mut [u8]) -> Option<usize>;
    /// Queues one frame for transmission; returns false if it was dropped
    /// (queue full).
    fn transmit(&mut self, frame: &[u8]) -> bool;
    /// Whether [`transmit`](Nic::transmit) has room for a frame now. A false
    /// here stops the stack from building frames until the next poll (TCP
    /// keeps the data queued) instead of building them to have them dropped.
    fn can_transmit(&self) -> bool {
        true
    }
}

/// Owns the NIC and the two scratch buffers frames are copied through.
pub(crate) struct NicDevice<N> {
    pub(crate) nic: N,
    rx: Vec<u8>,
    tx: Vec<u8>,
}

impl<N: Nic> NicDevice<N> {
    pub(crate) fn new(nic: N) -> Self {
        NicDevice {
            nic,
            rx: vec![0; MTU],
            tx: vec![0; MTU],
        }
    }
}

/// A received frame, already copied out of the NIC.
pub(crate) struct RxToken<'a> {
    frame: &'a [u8],
}

/// Permission to send one frame: smoltcp fills the scratch buffer, then it
/// is handed to [`Nic::transmit`].
pub(crate) struct TxToken<'a, N> {
    nic: &'a mut N,
    buf: &'a mut Vec<u8>,
}

impl<N: Nic> Device for NicDevice<N> {
    type RxToken<'a>
        = RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a, N>
    where
        Self: 'a;

    fn receive(&mut self, _timestamp: Instant) -> Option<(RxToken<'_>, TxToken<'_, N>)> {
        let len = self.nic.receive(&mut self.rx)?;
        // A driver that claims more than it was given is not trusted.
        let len = len.min(self.rx.len());
        Some((
            RxToken {
                frame: &self.rx[..len],
            },
            TxToken {
                nic: &mut self.nic,
                buf: &mut self.tx,
            },
        ))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<TxToken<'_, N>> {
        if !self.nic.can_transmit() {
            return None;
        }
        Some(TxToken {
            nic: &mut self.nic,
            buf: &mut self.tx,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MTU;
        caps.max_burst_size = None;
        // Checksums: computed and verified in software (the default).
        caps
    }
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        f(self.frame)
    }
}

impl<N: Nic> phy::TxToken for TxToken<'_, N> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        // smoltcp never asks for more than the MTU; growing (instead of
        // panicking) keeps that an assumption rather than a crash.
        if len > self.buf.len() {
            self.buf.resize(len, 0);
        }
        let frame = &mut self.buf[..len];
        let result = f(frame);
        // A full transmit queue drops the frame: TCP retransmits, DHCP
        // retries. Drivers that can tell in advance say so through
        // `Nic::can_transmit`, which stops smoltcp before it builds frames.
        let _ = self.nic.transmit(frame);
        result
    }
}
