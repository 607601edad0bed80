//! The stack as the event loop's [`Transport`]: the trait's operations are
//! the stack's own, listeners are the ports of
//! [`StackConfig::listen_ports`](crate::StackConfig::listen_ports) in
//! order, and they are reachable once the interface has an address.

use core::net::{IpAddr, SocketAddr};

use crate::{ConnId, ConnState, Nic, Stack, StackError, StackEvent, Transport};

impl<N: Nic> Transport for Stack<N> {
    fn poll(&mut self, now_ms: u64) {
        Stack::poll(self, now_ms);
    }

    fn next_event(&mut self) -> Option<StackEvent> {
        Stack::next_event(self)
    }

    fn poll_delay(&mut self, now_ms: u64) -> Option<u64> {
        Stack::poll_delay(self, now_ms)
    }

    fn listen_addr(&self, listener: usize) -> Option<SocketAddr> {
        let (address, _, _) = self.ipv4?;
        let port = *self.config.listen_ports.get(listener)?;
        Some(SocketAddr::new(IpAddr::V4(address), port))
    }

    fn connect(&mut self, remote: SocketAddr, now_ms: u64) -> Result<ConnId, StackError> {
        Stack::connect(self, remote, now_ms)
    }

    fn recv(&mut self, conn: ConnId, buf: &mut [u8]) -> Result<usize, StackError> {
        Stack::recv(self, conn, buf)
    }

    fn send(&mut self, conn: ConnId, data: &[u8]) -> Result<usize, StackError> {
        Stack::send(self, conn, data)
    }

    fn state(&self, conn: ConnId) -> ConnState {
        Stack::state(self, conn)
    }

    fn close(&mut self, conn: ConnId) {
        Stack::close(self, conn);
    }

    fn abort(&mut self, conn: ConnId) {
        Stack::abort(self, conn);
    }

    fn release(&mut self, conn: ConnId) {
        Stack::release(self, conn);
    }

    fn send_datagram(&mut self, target: SocketAddr, payload: &[u8]) -> Result<(), StackError> {
        Stack::send_datagram(self, target, payload)
    }

    fn at_capacity(&self) -> bool {
        Stack::at_capacity(self)
    }
}
