//! TCP connections as the caller sees them: open one, move bytes, close,
//! abort, release; released connections linger (bounded) and are reaped.

use alloc::vec;
use core::net::SocketAddr;

use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp;
use smoltcp::wire::IpEndpoint;

use crate::slots::{Entry, Role};
use crate::{ConnId, ConnState, Nic, Stack, StackError, duration};

/// Ephemeral ports for outgoing connections (RFC 6335).
const EPHEMERAL_FIRST: u16 = 49152;

impl<N: Nic> Stack<N> {
    /// Opens a TCP connection to `remote` from an ephemeral local port. The
    /// answer comes as [`StackEvent::Connected`](crate::StackEvent::Connected) or
    /// [`StackEvent::ConnectFailed`](crate::StackEvent::ConnectFailed) (no answer within
    /// `handshake_timeout_ms`, or refused); until then the state is
    /// `Connecting` and nothing can be sent.
    pub fn connect(&mut self, remote: SocketAddr, now_ms: u64) -> Result<ConnId, StackError> {
        let SocketAddr::V4(remote) = remote else {
            return Err(StackError::Unaddressable);
        };
        if remote.port() == 0
            || remote.ip().is_unspecified()
            || remote.ip().is_broadcast()
            || remote.ip().is_multicast()
        {
            return Err(StackError::Unaddressable);
        }
        if self.iface.ipv4_addr().is_none() {
            return Err(StackError::NoAddress);
        }
        if self.in_use >= self.config.max_connections && !self.reclaim_orphan() {
            return Err(StackError::NoSocket);
        }
        let local_port = self.ephemeral_port().ok_or(StackError::NoPort)?;
        let mut socket = self.new_socket();
        socket.set_timeout(Some(duration(self.config.handshake_timeout_ms)));
        socket
            .connect(self.iface.context(), IpEndpoint::from(remote), local_port)
            .map_err(|_| StackError::Unaddressable)?;
        let handle = self.sockets.add(socket);
        let index = self.insert(Entry {
            handle,
            role: Role::Conn {
                connecting: true,
                active_ms: now_ms,
            },
        });
        Ok(ConnId::new(
            index,
            self.slots[usize::from(index)].generation,
        ))
    }

    /// The connection's state; `Closed` for a released or unknown id.
    pub fn state(&self, conn: ConnId) -> ConnState {
        let Some((entry, connecting)) = self.conn(conn) else {
            return ConnState::Closed;
        };
        let socket = self.sockets.get::<tcp::Socket>(entry.handle);
        match socket.state() {
            tcp::State::SynSent | tcp::State::SynReceived => ConnState::Connecting,
            _ if connecting && socket.is_open() => ConnState::Connecting,
            tcp::State::Established | tcp::State::FinWait1 | tcp::State::FinWait2 => {
                ConnState::Established
            }
            tcp::State::CloseWait | tcp::State::LastAck | tcp::State::Closing => {
                ConnState::PeerClosed
            }
            tcp::State::Listen | tcp::State::TimeWait | tcp::State::Closed => ConnState::Closed,
        }
    }

    /// Copies received bytes into `buf`; `Ok(0)` when there are none now
    /// (once the state is `PeerClosed` or `Closed`, that is the end of the
    /// stream).
    pub fn recv(&mut self, conn: ConnId, buf: &mut [u8]) -> Result<usize, StackError> {
        let handle = self
            .conn(conn)
            .ok_or(StackError::UnknownConnection)?
            .0
            .handle;
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        let n = socket.recv_slice(buf).unwrap_or(0);
        if n > 0 {
            self.touch(conn);
        }
        Ok(n)
    }

    /// Queues bytes for sending and returns how many were taken (perhaps
    /// fewer than offered, 0 when the transmit buffer is full).
    /// `InvalidState` once the sending half is closed, or before an
    /// outgoing connection is established.
    pub fn send(&mut self, conn: ConnId, data: &[u8]) -> Result<usize, StackError> {
        let handle = self
            .conn(conn)
            .ok_or(StackError::UnknownConnection)?
            .0
            .handle;
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        let n = socket
            .send_slice(data)
            .map_err(|_| StackError::InvalidState)?;
        if n > 0 {
            self.touch(conn);
        }
        Ok(n)
    }

    /// Whether every byte sent has been acknowledged by the peer (true for
    /// an unknown id).
    pub fn send_queue_empty(&self, conn: ConnId) -> bool {
        match self.conn(conn) {
            Some((entry, _)) => self.sockets.get::<tcp::Socket>(entry.handle).send_queue() == 0,
            None => true,
        }
    }

    /// Bytes waiting to be sent or acknowledged (0 for an unknown id).
    pub fn send_queue(&self, conn: ConnId) -> usize {
        match self.conn(conn) {
            Some((entry, _)) => self.sockets.get::<tcp::Socket>(entry.handle).send_queue(),
            None => 0,
        }
    }

    /// Closes our sending half gracefully: FIN goes out after the queued
    /// data. Receiving goes on until the peer closes too. No effect on an
    /// unknown id.
    pub fn close(&mut self, conn: ConnId) {
        if let Some((entry, _)) = self.conn(conn) {
            let handle = entry.handle;
            self.sockets.get_mut::<tcp::Socket>(handle).close();
        }
    }

    /// Resets the connection (RST); its state becomes `Closed`. No effect on
    /// an unknown id.
    pub fn abort(&mut self, conn: ConnId) {
        if let Some((entry, _)) = self.conn(conn) {
            let handle = entry.handle;
            self.sockets.get_mut::<tcp::Socket>(handle).abort();
        }
    }

    /// Gives the connection back to the stack; `conn` is invalid from now
    /// on. A connection that is `Closed` frees its socket (at the next poll,
    /// once any RST has gone out); one that was closed with
    /// [`close`](Stack::close) finishes sending in the background for at
    /// most `linger_ms`; one still open is aborted (RST). Idempotent.
    pub fn release(&mut self, conn: ConnId) {
        let Some((entry, _)) = self.conn(conn) else {
            return;
        };
        let handle = entry.handle;
        let peer = self.remote_ip(handle);
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        match socket.state() {
            // Our FIN is out or queued: let it finish.
            tcp::State::FinWait1
            | tcp::State::FinWait2
            | tcp::State::Closing
            | tcp::State::LastAck
            | tcp::State::TimeWait
            | tcp::State::Closed => {}
            _ => socket.abort(),
        }
        let slot = &mut self.slots[usize::from(conn.index())];
        slot.generation = slot.generation.wrapping_add(1);
        if let Some(entry) = slot.entry.as_mut() {
            entry.role = Role::Orphan {
                deadline_ms: self.now_ms.saturating_add(self.config.linger_ms),
                peer,
                order: self.released,
            };
        }
        self.released += 1;
        // Already fully closed sockets go right away.
        self.reap(usize::from(conn.index()));
        self.limit_orphans(peer);
    }

    /// Frees a released socket once it has nothing left to send, or aborts
    /// it when its linger time is over.
    pub(crate) fn reap(&mut self, index: usize) {
        let Some(Entry {
            handle,
            role: Role::Orphan { deadline_ms, .. },
        }) = self.slots[index].entry.as_ref()
        else {
            return;
        };
        let (handle, deadline_ms) = (*handle, *deadline_ms);
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        let expired = self.now_ms >= deadline_ms;
        let done = match socket.state() {
            tcp::State::TimeWait => true,
            // A closed socket that still has an endpoint owes its peer an
            // RST, sent at the next egress.
            tcp::State::Closed => socket.local_endpoint().is_none() || expired,
            _ => false,
        };
        if done {
            self.remove(index);
        } else if expired {
            socket.abort();
            // Give the RST one egress; then the `expired` branch above frees it.
        }
    }

    pub(crate) fn new_socket(&self) -> tcp::Socket<'static> {
        let rx = tcp::SocketBuffer::new(vec![0u8; self.config.rx_buffer]);
        let tx = tcp::SocketBuffer::new(vec![0u8; self.config.tx_buffer]);
        let mut socket = tcp::Socket::new(rx, tx);
        socket.set_timeout(Some(duration(self.config.handshake_timeout_ms)));
        // Frames are built at poll time from everything queued since the
        // last poll, so small writes coalesce anyway; Nagle would only add
        // a delayed-ACK wait to the last segment of a response.
        socket.set_nagle_enabled(false);
        socket
    }

    /// Sets the timers of a socket that just became a connection.
    pub(crate) fn arm_connection(&mut self, handle: SocketHandle) {
        let keep_alive = self.config.keep_alive_ms.map(duration);
        let timeout = self.config.tcp_timeout_ms.map(duration);
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        socket.set_timeout(timeout);
        socket.set_keep_alive(keep_alive);
    }

    pub(crate) fn next_random(&mut self) -> u64 {
        self.rng.next()
    }

    pub(crate) fn port_in_use(&self, port: u16) -> bool {
        self.ports.contains(&port)
            || self.slots.iter().filter_map(|s| s.entry.as_ref()).any(|e| {
                let socket = self.sockets.get::<tcp::Socket>(e.handle);
                socket.local_endpoint().is_some_and(|l| l.port == port)
                    || socket.listen_endpoint().port == port
            })
    }

    /// A random free port in 49152..=65535.
    pub(crate) fn ephemeral_port(&mut self) -> Option<u16> {
        let span = u64::from(u16::MAX - EPHEMERAL_FIRST) + 1;
        let start = EPHEMERAL_FIRST + (self.next_random() % span) as u16;
        // With at most 65535 sockets a free port exists; the first few
        // random tries almost always find one, the scan bounds the rest.
        for _ in 0..8 {
            let port = EPHEMERAL_FIRST + (self.next_random() % span) as u16;
            if !self.port_in_use(port) {
                return Some(port);
            }
        }
        (0..span)
            .map(|i| EPHEMERAL_FIRST + ((u64::from(start - EPHEMERAL_FIRST) + i) % span) as u16)
            .find(|&port| !self.port_in_use(port))
    }
}
