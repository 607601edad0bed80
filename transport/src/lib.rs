//! The seam between the piñata's event loop and a TCP/IP backend: the
//! [`Transport`] trait, and the ids, states, events and errors it speaks in.
//!
//! Where it sits in the data flow: see "Layout" in `docs/DESIGN.md`. Below
//! this seam, a backend turns its own world into TCP connections and
//! events: `stack::Stack` (smoltcp over a NIC driver, in the unikernel) or
//! `hostnet::HostNet` (non-blocking sockets of the host, in the hosted
//! runner). Above it, `pinata::netloop::EventLoop` runs one piñata session
//! per connection, the same code over either backend.
//!
//! The trait is sans-IO in smoltcp's manner: nothing blocks, nothing keeps
//! its own clock. The caller passes the time to [`Transport::poll`], reads
//! [`Event`]s, moves bytes with [`Transport::recv`] and [`Transport::send`],
//! and asks [`Transport::poll_delay`] when the transport next needs a poll.
//! Waiting between polls (halting the CPU, or `epoll_wait`) is the
//! platform's business, not the trait's.
//!
//! # A connection's life
//!
//! A connection is [`Event::Accepted`] on one of the transport's listeners
//! (they are given when the transport is built, and named by their index in
//! that list), or opened by [`Transport::connect`] and then
//! [`Event::Connected`] or [`Event::ConnectFailed`]. Its [`ConnState`] goes
//! `Connecting` (outgoing only) → `Established` → `PeerClosed` (the peer
//! sent FIN; we may still send) → `Closed` (gone). [`Transport::close`]
//! closes our sending half after the queued bytes, [`Transport::abort`]
//! resets. [`Transport::release`] hands the connection back: its
//! [`ConnId`] is dead from then on, and a connection released after
//! `close` finishes closing in the background — lingering — for a time the
//! transport bounds itself, and still counts against its capacity.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use core::fmt;
use core::net::{Ipv4Addr, SocketAddr};

/// A connection handed out by a transport. Small and `Copy`; it stays
/// valid until [`Transport::release`], after which every operation treats
/// it as gone: the `generation` keeps it from naming a later connection
/// that reuses the same slot `index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId {
    index: u16,
    generation: u32,
}

impl ConnId {
    /// The id of the connection in slot `index` of a transport's table, at
    /// that slot's `generation` (for implementers of [`Transport`]).
    pub const fn new(index: u16, generation: u32) -> ConnId {
        ConnId { index, generation }
    }

    /// The slot in the transport's table.
    pub const fn index(self) -> u16 {
        self.index
    }

    /// The slot's generation when this id was issued.
    pub const fn generation(self) -> u32 {
        self.generation
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}.{}", self.index, self.generation)
    }
}

/// A connection's state, as far as the caller needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// An outgoing connection waiting for its handshake.
    Connecting,
    /// Open both ways (also after our own [`Transport::close`], until the
    /// peer closes its side).
    Established,
    /// The peer sent FIN: everything it will send has been received (a
    /// `recv` of 0 now means end of stream); we may still send.
    PeerClosed,
    /// Gone (closed both ways, reset, timed out, or an unknown or released
    /// id): call [`Transport::release`].
    Closed,
}

/// Something the caller should know, from [`Transport::next_event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The interface has an IPv4 address (static at start, or a DHCP
    /// lease, also when a renewed lease changes it). Only a transport that
    /// configures its own interface (the appliance's) reports it.
    IpConfigured {
        /// The address.
        address: Ipv4Addr,
        /// Its prefix length.
        prefix_len: u8,
        /// The default gateway, if any.
        gateway: Option<Ipv4Addr>,
    },
    /// The DHCP lease was lost; connections on the old address are gone.
    IpLost,
    /// A connection was accepted on one of the transport's listeners.
    Accepted {
        /// The new connection.
        conn: ConnId,
        /// Which listener: its index in the list the transport was built
        /// with.
        listener: usize,
        /// The peer's address and port, exactly as on the wire.
        peer: SocketAddr,
    },
    /// An outgoing connection completed its handshake.
    Connected(ConnId),
    /// An outgoing connection was refused (RST) or got no answer; its state
    /// is `Closed`, release it.
    ConnectFailed(ConnId),
}

impl fmt::Display for Event {
    /// One log line's worth, e.g. `accepted #3.0 on listener 0 from 192.0.2.7:51000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::IpConfigured {
                address,
                prefix_len,
                gateway: Some(gateway),
            } => write!(f, "ip configured {address}/{prefix_len} gateway {gateway}"),
            Event::IpConfigured {
                address,
                prefix_len,
                gateway: None,
            } => write!(f, "ip configured {address}/{prefix_len} no gateway"),
            Event::IpLost => f.write_str("ip lost"),
            Event::Accepted {
                conn,
                listener,
                peer,
            } => write!(f, "accepted {conn} on listener {listener} from {peer}"),
            Event::Connected(conn) => write!(f, "connected {conn}"),
            Event::ConnectFailed(conn) => write!(f, "connect failed {conn}"),
        }
    }
}

/// Why an operation on a transport failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The [`ConnId`] was released, or never issued by this transport.
    UnknownConnection,
    /// The connection cannot do this in its state (e.g. send before it is
    /// connected or after [`Transport::close`]).
    InvalidState,
    /// No address yet (DHCP still running).
    NoAddress,
    /// An address the transport cannot reach: the unspecified address,
    /// port 0, or a family it does not speak.
    Unaddressable,
    /// Every socket is in use: the transport is at its capacity.
    NoSocket,
    /// No free ephemeral port.
    NoPort,
    /// A datagram larger than the transport sends.
    TooLarge,
    /// The datagram queue is full (the target does not answer ARP, or
    /// datagrams are offered faster than they leave).
    QueueFull,
    /// The operating system refused the operation (hosted transports).
    Os,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::UnknownConnection => "unknown or released connection",
            Error::InvalidState => "operation not valid in the connection's state",
            Error::NoAddress => "no IPv4 address configured",
            Error::Unaddressable => "address not reachable over IPv4",
            Error::NoSocket => "all sockets in use",
            Error::NoPort => "no free ephemeral port",
            Error::TooLarge => "datagram larger than one frame",
            Error::QueueFull => "datagram queue full",
            Error::Os => "refused by the operating system",
        })
    }
}

impl core::error::Error for Error {}

/// TCP connections, listeners and outgoing datagrams, driven without
/// blocking by one caller: see the [crate documentation](crate).
///
/// Times are milliseconds on the caller's monotonic clock, the same clock
/// for every call.
pub trait Transport {
    /// Does the network work due at `now_ms`: takes what arrived, sends
    /// what is queued, follows handshakes, deadlines and lingering closes.
    /// Events are then waiting in [`next_event`](Transport::next_event).
    fn poll(&mut self, now_ms: u64);

    /// The next event, oldest first.
    fn next_event(&mut self) -> Option<Event>;

    /// Milliseconds until the transport needs [`poll`](Transport::poll)
    /// again even if nothing arrives; `Some(0)` for "now"; `None` if only
    /// something arriving can create work. Events the poll that ends a turn
    /// produced wait for the caller's next turn: a transport says `Some(0)`
    /// for them unless the platform's wait is short anyway (the stack's,
    /// 5 ms at most; the host's sockets say `Some(0)`).
    fn poll_delay(&mut self, now_ms: u64) -> Option<u64>;

    /// Where listener `listener` can be reached, once it can: the
    /// appliance's address once configured, a host socket's bound address.
    fn listen_addr(&self, listener: usize) -> Option<SocketAddr>;

    /// Opens a TCP connection to `remote`. The answer comes as
    /// [`Event::Connected`] or [`Event::ConnectFailed`]; until then the
    /// state is `Connecting` and nothing can be sent.
    fn connect(&mut self, remote: SocketAddr, now_ms: u64) -> Result<ConnId, Error>;

    /// Copies received bytes into `buf`; `Ok(0)` when there are none now
    /// (once the state is `PeerClosed` or `Closed`, the end of the stream).
    fn recv(&mut self, conn: ConnId, buf: &mut [u8]) -> Result<usize, Error>;

    /// Queues bytes for sending; how many were taken (perhaps fewer than
    /// offered, 0 when the send buffer is full). `InvalidState` once the
    /// sending half is closed or broken, or before an outgoing connection
    /// is established.
    fn send(&mut self, conn: ConnId, data: &[u8]) -> Result<usize, Error>;

    /// The connection's state; `Closed` for a released or unknown id.
    fn state(&self, conn: ConnId) -> ConnState;

    /// Closes our sending half gracefully: FIN after the queued bytes.
    /// No effect on an unknown id.
    fn close(&mut self, conn: ConnId);

    /// Resets the connection (RST); its state becomes `Closed`. No effect
    /// on an unknown id.
    fn abort(&mut self, conn: ConnId);

    /// Gives the connection back; `conn` is invalid from now on. One that
    /// was closed with [`close`](Transport::close) finishes closing in the
    /// background (lingers), for a time the transport bounds; one still
    /// open is aborted. Idempotent.
    fn release(&mut self, conn: ConnId);

    /// Sends one UDP datagram to `target`, best effort (the remote syslog).
    /// A datagram the transport cannot take is dropped and counted.
    fn send_datagram(&mut self, target: SocketAddr, payload: &[u8]) -> Result<(), Error>;

    /// True when the transport has no room for another connection (every
    /// socket taken, lingering closes included): new connections are being
    /// refused until the caller releases one.
    fn at_capacity(&self) -> bool;
}
