//! The hosted piñata's transport: the event loop's [`Transport`] over the
//! host's non-blocking sockets, through [mio]'s readiness (epoll on Linux).
//!
//! Where it sits in the data flow: see "Layout" in `docs/DESIGN.md`. It is
//! the hosted counterpart of `stack::Stack`: `pinata::netloop::EventLoop`
//! drives either, so the hosted runner runs the appliance's own loop,
//! single-threaded, and the code the tests prove is the code the image
//! runs. It knows nothing of the piñata: listeners, connections, bytes.
//!
//! # What it holds
//!
//! - **Listeners**, one per port of [`Config::ports`], all on
//!   [`Config::bind`] (port 0: a free port; [`Transport::listen_addr`] says
//!   which). An accepted connection is reported with its listener's index.
//!   The accept queue is std's (128): while the transport is full,
//!   connections wait there, and the kernel drops SYNs beyond it.
//! - **Connections**, accepted or dialled: a dial is a non-blocking
//!   `connect`, reported [`Event::Connected`] or [`Event::ConnectFailed`]
//!   when the socket becomes writable.
//! - **Lingering closes.** A connection [`close`](Transport::close)d and
//!   then [`release`](Transport::release)d has its write side shut down
//!   (FIN after the last bytes) and is read, and what arrives dropped,
//!   until the peer closes too, [`Config::linger_bytes`] have come, or
//!   [`Config::linger_ms`] have passed — an absolute deadline, so a peer
//!   trickling a byte now and then cannot hold a socket. Closing a socket
//!   with unread input makes the kernel send a reset, which can destroy
//!   data the peer has not read yet (the secret): hence the linger.
//! - **One UDP socket** for [`Transport::send_datagram`] (the remote
//!   syslog), opened at the first datagram.
//!
//! # Bounds
//!
//! At most [`Config::max_sockets`] TCP sockets exist besides the listeners:
//! connections, dials and lingering closes together. A lingering close
//! holds its socket, and counts, until it ends. When one more socket is
//! needed, the oldest lingering close is dropped first; with none left,
//! the connection just accepted is parked (the only socket beyond the
//! limit), the rest wait in the kernel's accept queue, and
//! [`Transport::at_capacity`] says so, for the caller to evict one.
//! Lingering closes are also counted per address and capped:
//! [`Config::max_lingering_per_peer`] per address and
//! [`Config::max_lingering`] in all, the oldest (of that address, then of
//! all) dropped beyond either — one address cannot fill the sockets with
//! closes it never lets finish.
//! [`HostNet::counts`] shows how the sockets are used. At most
//! [`ACCEPT_BUDGET`] connections are accepted per poll, so a flood cannot
//! starve the loop.
//!
//! # Waiting
//!
//! The transport never blocks inside the trait. Between two turns of the
//! loop the platform glue calls [`HostNet::wait`], which sleeps in the
//! poller until a socket is ready or the timeout passes — the hosted
//! counterpart of the unikernel halting until its next interrupt or timer.
//! `wait` is also the only place readiness is taken from the poller (as
//! flags on the sockets, acted on by the next turn): what becomes ready
//! during a turn ends the next `wait` at once. A caller that does not want
//! to sleep calls `wait(Duration::ZERO)`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::collections::VecDeque;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, UdpSocket};
use std::time::Duration;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
pub use transport::{ConnId, ConnState, Error, Event, Transport};

/// Connections accepted per [`Transport::poll`], at most.
pub const ACCEPT_BUDGET: usize = 64;
/// How long accepting pauses after the system refused (out of file
/// descriptors, or memory).
const ACCEPT_BACKOFF_MS: u64 = 50;
/// Readiness events taken from the poller at once.
const EVENTS: usize = 1024;
/// Tokens from here on are listeners; below, socket slots.
const FIRST_LISTENER: usize = 1 << 20;
/// The largest datagram the UDP socket sends (IPv4's limit).
const MAX_DATAGRAM: usize = 65_507;

/// What [`HostNet::bind`] needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The address every listener binds to.
    pub bind: IpAddr,
    /// One listener per port, in this order; 0 picks a free port.
    pub ports: Vec<u16>,
    /// TCP sockets besides the listeners: connections, dials and lingering
    /// closes together (default 640).
    pub max_sockets: usize,
    /// Longest a released connection lingers, reading and dropping what
    /// the peer still sends (default 2 s).
    pub linger_ms: u64,
    /// Most bytes read and dropped while lingering (default 64 KiB).
    pub linger_bytes: usize,
    /// Lingering closes at once, in all (default 128).
    pub max_lingering: usize,
    /// Lingering closes at once from one address (default 8).
    pub max_lingering_per_peer: usize,
}

impl Config {
    /// Listeners on `ports` at `bind`, the documented defaults otherwise.
    pub fn new(bind: IpAddr, ports: &[u16]) -> Config {
        Config {
            bind,
            ports: ports.to_vec(),
            max_sockets: 640,
            linger_ms: 2_000,
            linger_bytes: 64 * 1024,
            max_lingering: 128,
            max_lingering_per_peer: 8,
        }
    }

    /// Raises the per-address cap for a caller that lets one address hold
    /// `connections` connections (many visitors behind one address, as
    /// behind NAT): at least an eighth of them, as 8 is of the default 64,
    /// never beyond [`Config::max_lingering`].
    pub fn allow_per_peer(&mut self, connections: usize) {
        self.max_lingering_per_peer = self
            .max_lingering_per_peer
            .max(connections / 8)
            .min(self.max_lingering.max(1));
    }
}

/// A listener that could not be opened.
#[derive(Debug)]
pub struct BindError {
    /// Which listener (its index in [`Config::ports`]).
    pub listener: usize,
    /// The address it was to bind.
    pub addr: SocketAddr,
    /// What the system said.
    pub error: io::Error,
}

impl std::fmt::Display for BindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot listen on {}: {}", self.addr, self.error)
    }
}

impl std::error::Error for BindError {}

/// How the transport's sockets are used (listeners aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SocketCounts {
    /// Connections the caller holds a [`ConnId`] for, dials excluded.
    pub connections: usize,
    /// Outgoing connections waiting for their handshake.
    pub dials: usize,
    /// Released connections still closing.
    pub lingering: usize,
}

impl SocketCounts {
    /// All of them: never more than [`Config::max_sockets`].
    pub fn total(&self) -> usize {
        self.connections + self.dials + self.lingering
    }
}

struct Listener {
    socket: TcpListener,
    addr: SocketAddr,
    /// Readable: connections may be waiting to be accepted.
    pending: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The caller's. `write_closed`: [`Transport::close`] was called.
    Conn { write_closed: bool },
    /// The caller's, connecting.
    Dial,
    /// Released; dropped once the peer closes, after `budget` more bytes,
    /// or at `deadline_ms`. `order`: the how-manieth release it was (the
    /// oldest goes first when one must).
    Lingering {
        deadline_ms: u64,
        budget: usize,
        order: u64,
    },
}

struct Entry {
    /// `None` once aborted (the socket is gone; the id lives until
    /// released).
    stream: Option<TcpStream>,
    /// The remote address: the peer's, or the dialled one.
    peer: IpAddr,
    role: Role,
    state: ConnState,
    /// The poller said so, and no read or write has hit `WouldBlock` since.
    readable: bool,
    writable: bool,
}

struct Slot {
    generation: u32,
    entry: Option<Entry>,
}

/// The transport. See the [crate documentation](crate).
pub struct HostNet {
    poll: Poll,
    events: Events,
    listeners: Vec<Listener>,
    slots: Vec<Slot>,
    free_slots: Vec<u16>,
    /// Slots in use, lingering ones included.
    in_use: usize,
    lingering: usize,
    /// Releases into a lingering close so far.
    released: u64,
    out: VecDeque<Event>,
    udp: Option<UdpSocket>,
    datagrams_dropped: u64,
    accept_paused_until: u64,
    /// A connection accepted while there was no room (see `accept`).
    parked: Option<(TcpStream, usize, SocketAddr)>,
    now_ms: u64,
    config: Config,
    scratch: Box<[u8]>,
}

impl HostNet {
    /// Opens the poller and every listener (non-blocking, registered).
    /// `max_sockets` must leave room for at least one connection and fit
    /// the slot table (65,535).
    pub fn bind(config: Config) -> Result<HostNet, BindError> {
        let poll = Poll::new().map_err(|error| BindError {
            listener: 0,
            addr: SocketAddr::new(config.bind, 0),
            error,
        })?;
        let mut listeners = Vec::new();
        for (index, &port) in config.ports.iter().enumerate() {
            let addr = SocketAddr::new(config.bind, port);
            let fail = |error| BindError {
                listener: index,
                addr,
                error,
            };
            // std's listener keeps std's accept queue (128); mio's own
            // `bind` would ask for 1,024.
            let std_listener = std::net::TcpListener::bind(addr).map_err(fail)?;
            std_listener.set_nonblocking(true).map_err(fail)?;
            let bound = std_listener.local_addr().map_err(fail)?;
            let mut socket = TcpListener::from_std(std_listener);
            poll.registry()
                .register(
                    &mut socket,
                    Token(FIRST_LISTENER + index),
                    Interest::READABLE,
                )
                .map_err(fail)?;
            listeners.push(Listener {
                socket,
                addr: bound,
                // Connections may already wait: try at the first poll.
                pending: true,
            });
        }
        let mut config = config;
        config.max_sockets = config.max_sockets.clamp(1, usize::from(u16::MAX));
        Ok(HostNet {
            poll,
            events: Events::with_capacity(EVENTS),
            listeners,
            slots: Vec::new(),
            free_slots: Vec::new(),
            in_use: 0,
            lingering: 0,
            released: 0,
            out: VecDeque::new(),
            udp: None,
            datagrams_dropped: 0,
            accept_paused_until: 0,
            parked: None,
            now_ms: 0,
            config,
            scratch: vec![0u8; 16 * 1024].into_boxed_slice(),
        })
    }

    /// Sleeps until a socket is ready or `timeout` has passed (the
    /// platform's wait between two turns of the loop). An interrupted wait
    /// returns early, which costs only a turn.
    pub fn wait(&mut self, timeout: Duration) {
        self.collect(Some(timeout));
    }

    /// How the sockets are used now.
    pub fn counts(&self) -> SocketCounts {
        self.count(|_| true)
    }

    /// How the sockets of `peer` (its connections, the dials to it, its
    /// lingering closes) are used now.
    pub fn counts_of(&self, peer: IpAddr) -> SocketCounts {
        self.count(|p| p == peer)
    }

    fn count(&self, of: impl Fn(IpAddr) -> bool) -> SocketCounts {
        let mut counts = SocketCounts::default();
        for entry in self
            .slots
            .iter()
            .filter_map(|s| s.entry.as_ref())
            .filter(|e| of(e.peer))
        {
            match entry.role {
                Role::Conn { .. } => counts.connections += 1,
                Role::Dial => counts.dials += 1,
                Role::Lingering { .. } => counts.lingering += 1,
            }
        }
        counts
    }

    /// Datagrams [`Transport::send_datagram`] could not send.
    pub fn datagrams_dropped(&self) -> u64 {
        self.datagrams_dropped
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Takes the poller's readiness into the listeners' and sockets' flags.
    fn collect(&mut self, timeout: Option<Duration>) {
        if let Err(error) = self.poll.poll(&mut self.events, timeout)
            && error.kind() != ErrorKind::Interrupted
        {
            return;
        }
        for event in self.events.iter() {
            let token = event.token().0;
            if token >= FIRST_LISTENER {
                if let Some(listener) = self.listeners.get_mut(token - FIRST_LISTENER) {
                    listener.pending = true;
                }
                continue;
            }
            let Some(entry) = self.slots.get_mut(token).and_then(|s| s.entry.as_mut()) else {
                continue;
            };
            if event.is_readable() || event.is_read_closed() || event.is_error() {
                entry.readable = true;
            }
            if event.is_writable() || event.is_write_closed() || event.is_error() {
                entry.writable = true;
            }
        }
    }

    /// The live entry (not lingering) of `conn`.
    fn entry(&self, conn: ConnId) -> Option<&Entry> {
        let slot = self.slots.get(usize::from(conn.index()))?;
        if slot.generation != conn.generation() {
            return None;
        }
        slot.entry
            .as_ref()
            .filter(|e| !matches!(e.role, Role::Lingering { .. }))
    }

    fn entry_mut(&mut self, conn: ConnId) -> Option<&mut Entry> {
        let slot = self.slots.get_mut(usize::from(conn.index()))?;
        if slot.generation != conn.generation() {
            return None;
        }
        slot.entry
            .as_mut()
            .filter(|e| !matches!(e.role, Role::Lingering { .. }))
    }

    /// Whether a socket can be had, dropping the oldest lingering close if
    /// that is what it takes.
    fn make_room(&mut self) -> bool {
        self.in_use < self.config.max_sockets || self.drop_oldest_lingering(None)
    }

    /// Drops the oldest lingering close — of `peer` if given, of all
    /// otherwise; false if there was none.
    fn drop_oldest_lingering(&mut self, peer: Option<IpAddr>) -> bool {
        let oldest = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let entry = s.entry.as_ref()?;
                match entry.role {
                    Role::Lingering { order, .. } if peer.is_none_or(|p| p == entry.peer) => {
                        Some((i, order))
                    }
                    _ => None,
                }
            })
            .min_by_key(|&(_, order)| order);
        match oldest {
            Some((index, _)) => {
                self.remove(index);
                true
            }
            None => false,
        }
    }

    /// Applies the lingering caps after a close of `peer` began to linger.
    fn limit_lingering(&mut self, peer: IpAddr) {
        while self.counts_of(peer).lingering > self.config.max_lingering_per_peer {
            if !self.drop_oldest_lingering(Some(peer)) {
                break;
            }
        }
        while self.lingering > self.config.max_lingering {
            if !self.drop_oldest_lingering(None) {
                break;
            }
        }
    }

    /// Registers `stream` in a free slot; its id.
    fn insert(
        &mut self,
        mut stream: TcpStream,
        peer: IpAddr,
        role: Role,
        state: ConnState,
    ) -> io::Result<ConnId> {
        let index = match self.free_slots.pop() {
            Some(index) => usize::from(index),
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    entry: None,
                });
                self.slots.len() - 1
            }
        };
        if let Err(error) = self.poll.registry().register(
            &mut stream,
            Token(index),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            self.free_slots.push(index as u16);
            return Err(error);
        }
        // A fresh socket may have bytes already and has room to send: try
        // at once (a read or write that would block clears the flag).
        let ready = role != Role::Dial;
        self.slots[index].entry = Some(Entry {
            stream: Some(stream),
            peer,
            role,
            state,
            readable: ready,
            writable: ready,
        });
        self.in_use += 1;
        // `max_sockets` ≤ 65535 keeps the index in range.
        Ok(ConnId::new(index as u16, self.slots[index].generation))
    }

    /// Frees slot `index` (closing its socket, if any).
    fn remove(&mut self, index: usize) {
        if let Some(entry) = self.slots[index].entry.take() {
            if matches!(entry.role, Role::Lingering { .. }) {
                self.lingering -= 1;
            }
            drop(entry.stream);
            let slot = &mut self.slots[index];
            slot.generation = slot.generation.wrapping_add(1);
            self.free_slots.push(index as u16);
            self.in_use -= 1;
        }
    }

    /// Accepts what the listeners have, within the budget and the room.
    /// A connection accepted when there is no room is parked (one at
    /// most, beyond `max_sockets`) until the caller makes room: that is
    /// how the transport knows somebody is waiting.
    fn accept(&mut self) {
        if let Some((stream, listener, peer)) = self.parked.take() {
            if !self.make_room() {
                self.parked = Some((stream, listener, peer));
                return;
            }
            self.take_connection(stream, listener, peer);
        }
        if self.now_ms < self.accept_paused_until {
            return;
        }
        let mut budget = ACCEPT_BUDGET;
        for listener in 0..self.listeners.len() {
            while self.listeners[listener].pending && budget > 0 {
                match self.listeners[listener].socket.accept() {
                    Ok((stream, peer)) => {
                        budget -= 1;
                        if !self.make_room() {
                            self.parked = Some((stream, listener, peer));
                            return;
                        }
                        self.take_connection(stream, listener, peer);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        self.listeners[listener].pending = false;
                    }
                    // The connection died in the queue, or a signal: next.
                    Err(e)
                        if matches!(
                            e.kind(),
                            ErrorKind::ConnectionAborted
                                | ErrorKind::ConnectionReset
                                | ErrorKind::Interrupted
                        ) => {}
                    // Out of descriptors or memory: try again shortly
                    // rather than spin.
                    Err(_) => {
                        self.accept_paused_until = self.now_ms + ACCEPT_BACKOFF_MS;
                        return;
                    }
                }
            }
        }
    }

    /// Registers an accepted connection and reports it.
    fn take_connection(&mut self, stream: TcpStream, listener: usize, peer: SocketAddr) {
        let _ = stream.set_nodelay(true);
        let role = Role::Conn {
            write_closed: false,
        };
        if let Ok(conn) = self.insert(stream, peer.ip(), role, ConnState::Established) {
            self.out.push_back(Event::Accepted {
                conn,
                listener,
                peer,
            });
        }
    }

    /// Follows dials, lingering closes and their deadlines.
    fn sweep(&mut self) {
        for index in 0..self.slots.len() {
            let Some(entry) = self.slots[index].entry.as_mut() else {
                continue;
            };
            match entry.role {
                Role::Dial if entry.writable || entry.readable => {
                    let Some(stream) = entry.stream.as_ref() else {
                        continue;
                    };
                    let failed = matches!(stream.take_error(), Ok(Some(_)) | Err(_));
                    let connected = !failed && stream.peer_addr().is_ok();
                    if !failed && !connected {
                        // Not yet (a spurious wake-up).
                        entry.writable = false;
                        entry.readable = false;
                        continue;
                    }
                    let conn = ConnId::new(index as u16, self.slots[index].generation);
                    let entry = self.slots[index].entry.as_mut().expect("checked above");
                    if connected {
                        entry.role = Role::Conn {
                            write_closed: false,
                        };
                        entry.state = ConnState::Established;
                        entry.readable = true;
                        entry.writable = true;
                        if let Some(stream) = entry.stream.as_ref() {
                            let _ = stream.set_nodelay(true);
                        }
                        self.out.push_back(Event::Connected(conn));
                    } else {
                        entry.role = Role::Conn { write_closed: true };
                        entry.state = ConnState::Closed;
                        entry.stream = None;
                        self.out.push_back(Event::ConnectFailed(conn));
                    }
                }
                Role::Lingering {
                    deadline_ms,
                    budget,
                    ..
                } => {
                    let mut done = self.now_ms >= deadline_ms;
                    let mut budget = budget;
                    if !done && entry.readable {
                        done = drain(entry, &mut self.scratch, &mut budget);
                        if let Some(Entry {
                            role: Role::Lingering { budget: left, .. },
                            ..
                        }) = self.slots[index].entry.as_mut()
                        {
                            *left = budget;
                        }
                    }
                    if done {
                        self.remove(index);
                    }
                }
                _ => {}
            }
        }
    }
}

/// Reads and drops what a lingering socket has; true when it is done
/// (end of stream, an error, or the budget spent).
fn drain(entry: &mut Entry, scratch: &mut [u8], budget: &mut usize) -> bool {
    let Some(stream) = entry.stream.as_mut() else {
        return true;
    };
    loop {
        match stream.read(scratch) {
            Ok(0) => return true,
            Ok(n) => {
                *budget = budget.saturating_sub(n);
                if *budget == 0 {
                    return true;
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                entry.readable = false;
                return false;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
}

/// A reset rather than a FIN when the socket is closed (SO_LINGER 0).
fn reset_on_close(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
}

impl Transport for HostNet {
    fn poll(&mut self, now_ms: u64) {
        // Readiness is taken from the poller by `wait` only: taken here, at
        // the poll that ends a turn, it would be acted on only after the
        // next sleep.
        self.now_ms = now_ms;
        self.sweep();
        self.accept();
    }

    fn next_event(&mut self) -> Option<Event> {
        self.out.pop_front()
    }

    fn poll_delay(&mut self, now_ms: u64) -> Option<u64> {
        if !self.out.is_empty() {
            // Events the caller has not taken yet (e.g. a connection
            // accepted by the poll that ended its turn).
            return Some(0);
        }
        let mut delay: Option<u64> = None;
        let mut sooner = |at: u64| {
            let d = at.saturating_sub(now_ms);
            delay = Some(delay.map_or(d, |x| x.min(d)));
        };
        if self.parked.is_none() && self.listeners.iter().any(|l| l.pending) {
            // More to accept than the last poll's budget, or a pause.
            sooner(self.accept_paused_until);
        }
        for entry in self.slots.iter().filter_map(|s| s.entry.as_ref()) {
            if let Role::Lingering { deadline_ms, .. } = entry.role {
                sooner(deadline_ms);
            }
        }
        delay
    }

    fn listen_addr(&self, listener: usize) -> Option<SocketAddr> {
        self.listeners.get(listener).map(|l| l.addr)
    }

    fn connect(&mut self, remote: SocketAddr, _now_ms: u64) -> Result<ConnId, Error> {
        if remote.port() == 0 || remote.ip().is_unspecified() || remote.ip().is_multicast() {
            return Err(Error::Unaddressable);
        }
        if !self.make_room() {
            return Err(Error::NoSocket);
        }
        let stream = TcpStream::connect(remote).map_err(|_| Error::Os)?;
        self.insert(stream, remote.ip(), Role::Dial, ConnState::Connecting)
            .map_err(|_| Error::Os)
    }

    fn recv(&mut self, conn: ConnId, buf: &mut [u8]) -> Result<usize, Error> {
        let entry = self.entry_mut(conn).ok_or(Error::UnknownConnection)?;
        if entry.state != ConnState::Established || !entry.readable || buf.is_empty() {
            return Ok(0);
        }
        let Some(stream) = entry.stream.as_mut() else {
            return Ok(0);
        };
        loop {
            match stream.read(buf) {
                Ok(0) => {
                    entry.state = ConnState::PeerClosed;
                    return Ok(0);
                }
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    entry.readable = false;
                    return Ok(0);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    entry.state = ConnState::Closed;
                    return Ok(0);
                }
            }
        }
    }

    fn send(&mut self, conn: ConnId, data: &[u8]) -> Result<usize, Error> {
        let entry = self.entry_mut(conn).ok_or(Error::UnknownConnection)?;
        if entry.state == ConnState::Closed
            || entry.role
                != (Role::Conn {
                    write_closed: false,
                })
        {
            return Err(Error::InvalidState);
        }
        if !entry.writable || data.is_empty() {
            return Ok(0);
        }
        let Some(stream) = entry.stream.as_mut() else {
            return Err(Error::InvalidState);
        };
        loop {
            match stream.write(data) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    entry.writable = false;
                    return Ok(0);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    entry.state = ConnState::Closed;
                    return Err(Error::InvalidState);
                }
            }
        }
    }

    fn state(&self, conn: ConnId) -> ConnState {
        self.entry(conn)
            .map_or(ConnState::Closed, |e| match e.role {
                Role::Dial => ConnState::Connecting,
                _ => e.state,
            })
    }

    fn close(&mut self, conn: ConnId) {
        if let Some(entry) = self.entry_mut(conn)
            && let Role::Conn { write_closed } = &mut entry.role
            && !*write_closed
        {
            *write_closed = true;
            if let Some(stream) = entry.stream.as_ref() {
                let _ = stream.shutdown(Shutdown::Write);
            }
        }
    }

    fn abort(&mut self, conn: ConnId) {
        if let Some(entry) = self.entry_mut(conn) {
            if let Some(stream) = entry.stream.take() {
                reset_on_close(&stream);
            }
            entry.state = ConnState::Closed;
        }
    }

    fn release(&mut self, conn: ConnId) {
        let deadline_ms = self.now_ms.saturating_add(self.config.linger_ms);
        let budget = self.config.linger_bytes;
        let order = self.released;
        let Some(entry) = self.entry_mut(conn) else {
            return;
        };
        let index = usize::from(conn.index());
        let linger = matches!(entry.role, Role::Conn { write_closed: true })
            && entry.state == ConnState::Established
            && entry.stream.is_some();
        if linger {
            // Our FIN is queued: read what the peer still sends until it
            // closes too (bounded), so that closing cannot reset it.
            entry.role = Role::Lingering {
                deadline_ms,
                budget,
                order,
            };
            let peer = entry.peer;
            self.released += 1;
            self.lingering += 1;
            let slot = &mut self.slots[index];
            slot.generation = slot.generation.wrapping_add(1);
            self.limit_lingering(peer);
            return;
        }
        let closed_by_us = matches!(entry.role, Role::Conn { write_closed: true });
        if !closed_by_us && let Some(stream) = entry.stream.as_ref() {
            // Released while open: aborted, as the stack does.
            reset_on_close(stream);
        }
        self.remove(index);
    }

    fn send_datagram(&mut self, target: SocketAddr, payload: &[u8]) -> Result<(), Error> {
        let sent = self.send_to(target, payload);
        if sent.is_err() {
            self.datagrams_dropped += 1;
        }
        sent
    }

    fn at_capacity(&self) -> bool {
        self.parked.is_some()
    }
}

impl HostNet {
    fn send_to(&mut self, target: SocketAddr, payload: &[u8]) -> Result<(), Error> {
        if target.port() == 0 || target.ip().is_unspecified() {
            return Err(Error::Unaddressable);
        }
        if payload.len() > MAX_DATAGRAM {
            return Err(Error::TooLarge);
        }
        if self.udp.is_none() {
            let local = match target {
                SocketAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
                SocketAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
            };
            let socket = UdpSocket::bind(local).map_err(|_| Error::Os)?;
            socket.set_nonblocking(true).map_err(|_| Error::Os)?;
            self.udp = Some(socket);
        }
        let socket = self.udp.as_ref().ok_or(Error::Os)?;
        match socket.send_to(payload, target) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::WouldBlock => Err(Error::QueueFull),
            Err(_) => Err(Error::Os),
        }
    }
}
