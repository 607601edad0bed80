//! Outgoing UDP datagrams (the piñata's remote syslog): one socket, a
//! small bounded queue, best effort (see "Datagrams" in the crate docs).

use alloc::vec;
use alloc::vec::Vec;
use core::net::SocketAddr;

use smoltcp::iface::SocketHandle;
use smoltcp::socket::udp;
use smoltcp::wire::IpEndpoint;

use crate::{Nic, Stack, StackError};

/// Datagrams [`Stack::send_datagram`] queues at most (waiting for ARP, or
/// for the next poll).
pub const DATAGRAM_QUEUE: usize = 8;
/// Bytes of datagram payload queued at most.
pub const DATAGRAM_QUEUE_BYTES: usize = 16 * 1024;
/// The largest datagram payload: what fits one Ethernet frame (IP MTU 1500
/// − 20 bytes of IPv4 header − 8 of UDP), since the stack does not fragment.
pub const MAX_DATAGRAM: usize = 1472;

impl<N: Nic> Stack<N> {
    /// Queues one UDP datagram with `payload` for `target`, sent from the
    /// stack's datagram socket (see [Datagrams](crate#datagrams)) at this
    /// or a later [`poll`](Stack::poll). A refused datagram is dropped and
    /// counted: `NoAddress` before the interface has an address,
    /// `Unaddressable` for IPv6 or an unspecified address or port 0,
    /// `TooLarge` above [`MAX_DATAGRAM`], `QueueFull` when the queue is.
    pub fn send_datagram(&mut self, target: SocketAddr, payload: &[u8]) -> Result<(), StackError> {
        let queued = self.queue_datagram(target, payload);
        if queued.is_err() {
            self.datagrams_dropped += 1;
        }
        queued
    }

    /// Datagrams [`send_datagram`](Stack::send_datagram) refused so far.
    pub fn datagrams_dropped(&self) -> u64 {
        self.datagrams_dropped
    }

    pub(crate) fn queue_datagram(
        &mut self,
        target: SocketAddr,
        payload: &[u8],
    ) -> Result<(), StackError> {
        let SocketAddr::V4(target) = target else {
            return Err(StackError::Unaddressable);
        };
        if target.port() == 0 || target.ip().is_unspecified() {
            return Err(StackError::Unaddressable);
        }
        if payload.len() > MAX_DATAGRAM {
            return Err(StackError::TooLarge);
        }
        if self.iface.ipv4_addr().is_none() {
            return Err(StackError::NoAddress);
        }
        let handle = match self.udp {
            Some(handle) => handle,
            None => {
                let handle = self.datagram_socket()?;
                self.udp = Some(handle);
                handle
            }
        };
        self.sockets
            .get_mut::<udp::Socket>(handle)
            .send_slice(payload, IpEndpoint::from(target))
            .map_err(|_| StackError::QueueFull)
    }

    /// The datagram socket, bound to a free ephemeral port. Its receive
    /// buffer holds nothing: what arrives on the port is dropped.
    pub(crate) fn datagram_socket(&mut self) -> Result<SocketHandle, StackError> {
        let port = self.ephemeral_port().ok_or(StackError::NoPort)?;
        let rx = udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 1], Vec::new());
        let tx = udp::PacketBuffer::new(
            vec![udp::PacketMetadata::EMPTY; DATAGRAM_QUEUE],
            vec![0u8; DATAGRAM_QUEUE_BYTES],
        );
        let mut socket = udp::Socket::new(rx, tx);
        socket.bind(port).map_err(|_| StackError::NoPort)?;
        Ok(self.sockets.add(socket))
    }
}
