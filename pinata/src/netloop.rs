//! The piñata's event loop: its sessions over a TCP [`Transport`], the
//! same loop on both backends.
//!
//! Where it sits in the data flow: see "Layout" in `docs/DESIGN.md`. The
//! unikernel runs it over `stack::Stack` (smoltcp over its NIC driver),
//! the hosted runner over `hostnet::HostNet` (the host's sockets through
//! mio); the `stack_ingress` fuzz target drives it over a `Stack` fed raw
//! frames.
//!
//! One core, no threads. Each [`EventLoop::turn`]: poll the transport,
//! take its events (address configured, connection accepted, connect-back
//! dialled or refused), move bytes between every TCP connection and its
//! [`Session`], poll again to push out what the sessions queued, and say
//! when the next turn is due — a session's deadline, the transport's own
//! timers, or [`MAX_SLEEP_MS`] at the latest. The platform sleeps until
//! then (or until the network has something: `hlt` on the unikernel,
//! `epoll_wait` hosted) and calls `turn` again.
//!
//! Every decision is the session's or the [`Pinata`]'s: this module moves
//! bytes, feeds the session end-of-stream, resets and deadlines, makes sure
//! a finished session's connection is closed and released, and logs each
//! [`Outcome`] — a session's end, a refusal, a failed dial — as one line
//! (and one syslog datagram), formatted by `Outcome`'s `Display`. A
//! finished connection is handed back to the transport at once, which
//! sends the last bytes and the FIN itself and lingers (bounded, counted
//! against its capacity); a peer that stops reading while the session
//! still has bytes for it is reset after [`CLOSE_GRACE_MS`].
//!
//! The operator's limits are [`crate::admission`]'s decisions, applied
//! here: a connection over the per-address limit is reset unserved; when
//! the table is full, or the transport has no room left for a new
//! connection, the connection that has gone longest without a byte from
//! its peer (of the address holding the most) is evicted (its session
//! ends as `evicted`, its socket is reset at once). Connect-back dials
//! count for their address and in all; one not answered within the
//! connect timeout is given up.
//!
//! # Memory budget
//!
//! The loop counts what each connection holds ([`Session::footprint`] and
//! its own bookkeeping) and keeps the sum within its
//! [`MemoryBudget`] ([`crate::budget`]): after every step of every
//! session at least the budget's reserve stays free, and where the
//! platform's gauge knows the heap's size, at least its floor of the heap.
//! Beyond either, the largest connection of the address holding the most
//! ends at once (`evicted`, detail `memory`) and its memory is given back
//! before the next session runs; a new connection is admitted only if it
//! fits after that (else `over_capacity`, detail `memory`). So a peer's
//! bytes can never take the heap: in the unikernel, where a failed
//! allocation stops the appliance, the platform sizes the budget from the
//! heap ([`crate::budget::HeapPlan`]).
//!
//! # Listeners
//!
//! The transport is built with one listener per service, in
//! [`Service::ALL`] order (for the appliance's stack, [`listen_ports`]).
//! Once every listener can be reached, the loop logs one
//! `pinata: listening service=… addr=…` line per service and then the
//! `pinata: ready; …` line, which tests and tools wait for.
//!
//! # Why it lives here
//!
//! `no_std + alloc` and generic over [`Transport`], the loop is:
//! - **host-testable**: `netloop/tests.rs` runs it over a `stack::Stack` on
//!   an in-memory cable in simulated time, and over `hostnet` on loopback;
//! - **fuzzed**: the `stack_ingress` target drives this very loop with raw
//!   Ethernet frames, its leak oracle watching through an [`Observer`];
//! - **shipped twice**: the unikernel's `event_loop.rs` and the hosted
//!   runner (`pinata::hosted`) are glue that build the [`Pinata`] and the
//!   transport, then call [`EventLoop::turn`] and sleep until the instant
//!   returned.
//!
//! # Seams
//!
//! - [`Log`]: where the log lines go (the console; a no-op in the fuzz
//!   target).
//! - [`EventLoop::set_syslog`]: a remote syslog collector that also gets
//!   every connection line as an RFC 5424 datagram ([`crate::syslog`])
//!   through the transport, best effort.
//! - [`Observer`]: read-only hooks on each connection (bytes taken from a
//!   session, its end, its release) for the fuzzing oracle and tests. The
//!   default `()` does nothing and compiles to nothing.
#![forbid(unsafe_code)]

#[cfg(all(test, feature = "std"))]
mod tests;

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::net::{IpAddr, SocketAddr};

pub use transport::{ConnId, ConnState, Event, Transport};

use crate::admission::{Admission, Admit};
use crate::app::{Accepted, Pinata};
use crate::budget::MemoryBudget;
use crate::memory::MemoryUsage;
use crate::session::{Outcome, OutcomeKind, Session, Status};
use crate::stats::{FailureReason, Service};
use crate::syslog::{Severity, Syslog};
use crate::time::Instant;

/// How long a finished session's last bytes may wait for room in the
/// connection's send buffer (a peer that stops reading) before the
/// connection is reset.
pub const CLOSE_GRACE_MS: u64 = 5_000;
/// Longest sleep between turns while idle: the network is polled at least
/// this often even if its wake-up is missed.
pub const MAX_SLEEP_MS: u64 = 50;

/// Where the loop's log lines go: one call per line, without the newline.
/// The platform passes its console printer; [`no_log`] drops them.
pub type Log = fn(fmt::Arguments<'_>);

/// A [`Log`] that drops every line.
pub fn no_log(_line: fmt::Arguments<'_>) {}

/// Read-only hooks into the loop, per connection: what a fuzzing oracle or a
/// test needs to watch the sessions without a second copy of the loop.
/// Every method has an empty default; the loop's default observer `()`
/// implements none of them, and costs nothing.
///
/// `conn` identifies the connection from the first hook to
/// [`on_released`](Observer::on_released); a transport may reuse a slot for
/// a later connection but never the same [`ConnId`].
pub trait Observer {
    /// A session is about to be created for a connection to `service`
    /// (before [`Pinata::accept`], and before
    /// [`Pinata::connect_back_session`] once a connect-back dial connects,
    /// with `peer` the dialled target).
    fn session_starting(&mut self, _service: Service, _peer: SocketAddr) {}

    /// `bytes` are about to be taken from the front of
    /// `session.outgoing()`: handed to the connection's send buffer, or
    /// dropped because the connection broke. When this is called
    /// `session.outgoing()` still starts with `bytes`.
    fn on_sent(&mut self, _conn: ConnId, _session: &Session, _bytes: &[u8]) {}

    /// The session reached [`Status::Close`]; `outcome` is what the log line
    /// says. Once per session. Its last bytes may still be waiting for room.
    fn on_finished(&mut self, _conn: ConnId, _session: &Session, _outcome: &Outcome) {}

    /// The connection was handed back to the transport (closed, or reset
    /// after [`CLOSE_GRACE_MS`]) and the session is about to be dropped;
    /// whatever it could not send is still in `session.outgoing()`.
    fn on_released(&mut self, _conn: ConnId, _session: &Session) {}
}

/// The observer that observes nothing.
impl Observer for () {}

/// The service behind listener `listener` (listeners are in
/// [`Service::ALL`] order).
pub fn service_for_listener(listener: usize) -> Option<Service> {
    Service::ALL.get(listener).copied()
}

/// The appliance's ports, one listener per service in [`Service::ALL`]
/// order: what a `stack::Stack` under the loop listens on.
pub fn listen_ports() -> Vec<u16> {
    Service::ALL.iter().map(|s| s.standard_port()).collect()
}

/// What the loop's own bookkeeping of one connection costs, beyond its
/// session: the [`Connection`], its admission entry, their share of the
/// tables' spare capacity.
const CONNECTION_OVERHEAD: usize = core::mem::size_of::<Connection>() + 96;
/// What a session is assumed to hold when it is created, before it can be
/// measured: itself, rustls's state, a ClientHello (the client roles
/// write theirs at once).
const NEW_SESSION_BYTES: usize = core::mem::size_of::<Session>()
    + crate::tls::RUSTLS_STATE_BYTES
    + 2 * 1024
    + CONNECTION_OVERHEAD;

struct Connection {
    conn: ConnId,
    /// The peer's address (a connect-back's: the dialled one).
    peer: IpAddr,
    session: Box<Session>,
    /// What the connection held when last counted (see the module docs'
    /// memory budget).
    held: usize,
    peer_closed_seen: bool,
    /// Set once the session said Close (its outcome is logged then).
    closing_since: Option<Instant>,
    /// Evicted to make room: reset rather than closed, so its socket is
    /// free at once.
    evicted: bool,
}

impl Connection {
    fn new(conn: ConnId, peer: IpAddr, session: Box<Session>) -> Connection {
        Connection {
            conn,
            peer,
            session,
            held: 0,
            peer_closed_seen: false,
            closing_since: None,
            evicted: false,
        }
    }

    fn measure(&self) -> usize {
        self.session.footprint() + CONNECTION_OVERHEAD
    }
}

/// The remote syslog collector, and the buffer its datagrams are built in
/// (reused: one allocation for the loop's life).
struct RemoteLog {
    syslog: Syslog,
    datagram: Vec<u8>,
    /// A failed send was reported on the console (once: a collector that is
    /// down must not flood it).
    warned: bool,
}

/// Logs one outcome: `pinata: ` and the outcome's line through `log`, and
/// the same line to the syslog collector, if one is set. Sending is best
/// effort: the console has the line.
fn log_outcome<T: Transport>(
    log: Log,
    remote: &mut Option<RemoteLog>,
    transport: &mut T,
    outcome: &Outcome,
) {
    log(format_args!("pinata: {outcome}"));
    if let Some(remote) = remote {
        remote.syslog.format_now(
            Severity::of_outcome(outcome),
            outcome.service.name(),
            outcome,
            &mut remote.datagram,
        );
        if let Err(error) = transport.send_datagram(remote.syslog.target(), &remote.datagram)
            && !remote.warned
        {
            remote.warned = true;
            log(format_args!(
                "pinata: syslog: cannot send to {}: {error} (further errors not reported)",
                remote.syslog.target()
            ));
        }
    }
}

/// A connect-back dial in progress.
struct Dial {
    conn: ConnId,
    target: SocketAddr,
    started: Instant,
}

/// The loop's state: the transport, the application, and the connections
/// between them. See the module docs.
pub struct EventLoop<T: Transport, O: Observer = ()> {
    transport: T,
    app: Arc<Pinata>,
    log: Log,
    remote_log: Option<RemoteLog>,
    observer: O,
    connections: Vec<Connection>,
    /// The operator's limits over `connections` (see [`crate::admission`]).
    admission: Admission<ConnId>,
    dials: Vec<Dial>,
    listening_logged: bool,
    /// What the monotonic clock counts from, for the ready line.
    clock_origin: &'static str,
    budget: MemoryBudget,
    /// What the connections hold, as last counted: the sum of their
    /// `held`.
    held: usize,
}

impl<T: Transport> EventLoop<T> {
    /// A loop over `transport`, serving `app`, logging to `log` (the limits
    /// in force first). The transport's listeners are the services in
    /// [`Service::ALL`] order.
    pub fn new(transport: T, app: Arc<Pinata>, log: Log) -> Self {
        Self::with_observer(transport, app, log, ())
    }
}

impl<T: Transport, O: Observer> EventLoop<T, O> {
    /// As [`EventLoop::new`], with `observer` watching every connection.
    pub fn with_observer(transport: T, app: Arc<Pinata>, log: Log, observer: O) -> Self {
        log(format_args!("pinata: limits {}", app.limits()));
        let admission = Admission::new(app.limits());
        EventLoop {
            admission,
            transport,
            app,
            log,
            remote_log: None,
            observer,
            connections: Vec::new(),
            dials: Vec::new(),
            listening_logged: false,
            clock_origin: "start",
            budget: MemoryBudget::UNLIMITED,
            held: 0,
        }
    }

    /// Keeps the connections within `budget` (see the module docs' memory
    /// budget; default unlimited), and logs it.
    pub fn with_memory_budget(mut self, budget: MemoryBudget) -> Self {
        (self.log)(format_args!("pinata: memory budget {budget}"));
        self.budget = budget;
        self.app.connection_memory().set_budget(budget.sessions);
        self
    }

    /// What the connections hold, as last counted (bytes).
    pub fn memory_held(&self) -> usize {
        self.held
    }

    /// The memory budget in force.
    pub fn memory_budget(&self) -> MemoryBudget {
        self.budget
    }

    /// Names what the clock passed to [`turn`](Self::turn) counts from, for
    /// the ready line's `N ms from ORIGIN to listening` (default `start`;
    /// the unikernel's is `PVH entry`).
    pub fn with_clock_origin(mut self, origin: &'static str) -> Self {
        self.clock_origin = origin;
        self
    }

    /// Sends every connection line to `syslog`'s collector too, as one
    /// RFC 5424 datagram each (see [`crate::syslog`]).
    pub fn set_syslog(&mut self, syslog: Syslog) {
        self.remote_log = Some(RemoteLog {
            syslog,
            datagram: Vec::new(),
            warned: false,
        });
    }

    /// Logs one outcome (see [`log_outcome`]).
    fn log_outcome(&mut self, outcome: &Outcome) {
        log_outcome(self.log, &mut self.remote_log, &mut self.transport, outcome);
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The transport, mutably: for the platform's wait, or a simulated
    /// NIC's queues. Connections the loop holds are the loop's; do not
    /// close or release them.
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// The application served.
    pub fn app(&self) -> &Arc<Pinata> {
        &self.app
    }

    /// The observer.
    pub fn observer(&self) -> &O {
        &self.observer
    }

    /// The observer, mutably.
    pub fn observer_mut(&mut self) -> &mut O {
        &mut self.observer
    }

    /// Connections with a session, open or finishing (not yet released).
    pub fn connections(&self) -> usize {
        self.connections.len()
    }

    /// Connect-back dials waiting for their TCP handshake.
    pub fn dials(&self) -> usize {
        self.dials.len()
    }

    /// One turn at `now` (the platform's monotonic clock). Returns when the
    /// next turn is due (absolute): the caller may sleep until then unless
    /// the network wakes it.
    pub fn turn(&mut self, now: Instant) -> Instant {
        self.transport.poll(now.as_millis());
        while let Some(event) = self.transport.next_event() {
            self.on_event(event, now);
        }
        if !self.listening_logged {
            self.log_listening(now);
        }
        self.expire_dials(now);
        // No room for another connection in the transport (a limit the
        // admission table does not see): make room as a full table would.
        if self.transport.at_capacity()
            && let Some(victim) = self.admission.evict()
        {
            self.evict(victim);
        }
        let mut buf = [0u8; 4096];
        let mut index = 0;
        while index < self.connections.len() {
            let finished = self.pump(index, now, &mut buf);
            self.account(index);
            if finished {
                let done = self.connections.remove(index);
                self.held -= done.held;
                self.admission.release(done.conn);
                self.observer.on_released(done.conn, &done.session);
                self.transport.release(done.conn);
            } else {
                index += 1;
            }
            index = self.keep_within_budget(index, now);
        }
        self.app.stats().set_open_connections(self.admission.len());
        self.app.connection_memory().set_held(self.held);
        // Push out whatever the sessions queued this turn.
        self.transport.poll(now.as_millis());
        self.next_wakeup(now)
    }

    /// Logs the listening lines and the ready line once every listener
    /// can be reached.
    fn log_listening(&mut self, now: Instant) {
        let mut addrs = [None; Service::ALL.len()];
        for (listener, addr) in addrs.iter_mut().enumerate() {
            *addr = self.transport.listen_addr(listener);
            if addr.is_none() {
                return;
            }
        }
        self.listening_logged = true;
        let log = self.log;
        for (service, addr) in Service::ALL.into_iter().zip(addrs.into_iter().flatten()) {
            log(format_args!(
                "pinata: listening service={service} addr={addr}"
            ));
        }
        let page = addrs[0].map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |a| a);
        log(format_args!(
            "pinata: ready; page at http://{page}/ ; {} ms from {} to listening; address {}",
            now.as_millis(),
            self.clock_origin,
            self.app.address().unwrap_or("(no prize loaded)")
        ));
    }

    fn next_wakeup(&mut self, now: Instant) -> Instant {
        let mut wake = now.as_millis() + MAX_SLEEP_MS;
        if let Some(delay) = self.transport.poll_delay(now.as_millis()) {
            wake = wake.min(now.as_millis().saturating_add(delay));
        }
        let connect_timeout = self.app.limits().connect_timeout;
        for d in &self.dials {
            wake = wake.min((d.started + connect_timeout).as_millis());
        }
        for c in &self.connections {
            match (c.closing_since, c.session.status()) {
                (Some(since), _) => wake = wake.min(since.as_millis() + CLOSE_GRACE_MS),
                (None, Status::Open { deadline }) => wake = wake.min(deadline.as_millis()),
                (None, Status::Close) => wake = now.as_millis(),
            }
        }
        Instant::from_millis(wake)
    }

    fn on_event(&mut self, event: Event, now: Instant) {
        let log = self.log;
        match event {
            Event::IpConfigured {
                address,
                prefix_len,
                gateway,
            } => match gateway {
                Some(gw) => log(format_args!(
                    "net: ip configured {address}/{prefix_len} gateway {gw}"
                )),
                None => log(format_args!("net: ip configured {address}/{prefix_len}")),
            },
            Event::IpLost => log(format_args!("net: ip address lost (DHCP lease)")),
            Event::Accepted {
                conn,
                listener,
                peer,
            } => self.on_accepted(conn, listener, peer, now),
            Event::Connected(conn) => {
                if let Some(pos) = self.dials.iter().position(|d| d.conn == conn) {
                    let dial = self.dials.swap_remove(pos);
                    let decision = self.admission.dial_connected(conn, dial.target.ip(), now);
                    if !self.apply(decision, conn, Service::ConnectBack, dial.target, now) {
                        return;
                    }
                    self.observer
                        .session_starting(Service::ConnectBack, dial.target);
                    let session = self.app.connect_back_session(dial.target, now);
                    self.push(Connection::new(conn, dial.target.ip(), Box::new(session)));
                }
            }
            Event::ConnectFailed(conn) => {
                if let Some(pos) = self.dials.iter().position(|d| d.conn == conn) {
                    let dial = self.dials.swap_remove(pos);
                    self.admission.release(conn);
                    let waited = now.saturating_since(dial.started).as_millis() as u64;
                    let outcome = self.app.dial_failed(dial.target, None, waited);
                    self.log_outcome(&outcome);
                }
                self.transport.release(conn);
            }
        }
    }

    fn on_accepted(&mut self, conn: ConnId, listener: usize, peer: SocketAddr, now: Instant) {
        let Some(service) = service_for_listener(listener) else {
            self.transport.abort(conn);
            self.transport.release(conn);
            return;
        };
        if !self.admit(conn, service, peer, now) {
            return;
        }
        self.observer.session_starting(service, peer);
        match self.app.accept(service, peer, now) {
            Accepted::Session(session) => self.push(Connection::new(conn, peer.ip(), session)),
            Accepted::ConnectBack { target } => {
                // Only a request: its slot is not kept. Close it, dial back.
                self.admission.release(conn);
                self.transport.close(conn);
                self.transport.release(conn);
                self.dial(target, now);
            }
            Accepted::Closed(outcome) => {
                self.admission.release(conn);
                self.transport.close(conn);
                self.transport.release(conn);
                self.log_outcome(&outcome);
            }
        }
    }

    /// Puts connection `conn` from `peer` in the admission table (evicting
    /// if it is full), and makes room for its session in the memory
    /// budget; false if it was refused, in which case it is reset,
    /// released, counted and logged.
    fn admit(&mut self, conn: ConnId, service: Service, peer: SocketAddr, now: Instant) -> bool {
        let decision = self.admission.admit(conn, peer.ip(), now);
        self.apply(decision, conn, service, peer, now)
    }

    /// Carries out the admission table's `decision` on `conn` (see
    /// [`Self::admit`]).
    fn apply(
        &mut self,
        decision: Admit<ConnId>,
        conn: ConnId,
        service: Service,
        peer: SocketAddr,
        now: Instant,
    ) -> bool {
        // At once: a request answered in this very turn (`/stats.json`)
        // counts itself.
        self.app.stats().set_open_connections(self.admission.len());
        let refused = match decision {
            Admit::Admit => None,
            Admit::AdmitEvicting(victim) => {
                self.evict(victim);
                None
            }
            Admit::Refuse(reason) => Some((reason, None)),
        };
        let refused = refused.or_else(|| {
            // Nothing of the session exists yet: it is made only if it fits.
            (!self.make_room(NEW_SESSION_BYTES, now)).then(|| {
                self.admission.release(conn);
                (FailureReason::OverCapacity, Some("memory"))
            })
        });
        let Some((reason, detail)) = refused else {
            return true;
        };
        self.transport.abort(conn);
        self.transport.release(conn);
        let mut outcome = self.app.refuse(service, peer, reason);
        if let (OutcomeKind::Failed(_, slot), Some(detail)) = (&mut outcome.result, detail) {
            *slot = Some(detail.into());
        }
        self.log_outcome(&outcome);
        self.app.stats().set_open_connections(self.admission.len());
        false
    }

    /// Adds a connection with its session, counted.
    fn push(&mut self, connection: Connection) {
        self.connections.push(connection);
        self.account(self.connections.len() - 1);
    }

    /// Counts again what connection `index` holds.
    fn account(&mut self, index: usize) {
        let c = &mut self.connections[index];
        let held = c.measure();
        self.held = self.held - c.held + held;
        c.held = held;
    }

    /// Whether the connections hold more than `extra` bytes short of the
    /// budget's steady level, or the heap has less than its floor free.
    fn over_budget(&self, extra: usize) -> bool {
        if self.held.saturating_add(extra) > self.budget.steady() {
            return true;
        }
        if self.budget.heap_floor == 0 {
            return false;
        }
        match self.app.memory() {
            Some(MemoryUsage {
                used_bytes,
                capacity_bytes: Some(capacity),
                ..
            }) => capacity.saturating_sub(used_bytes) < self.budget.heap_floor as u64,
            _ => false,
        }
    }

    /// The connection to end for memory: the largest of the address that
    /// holds the most, the oldest of equals (connections are kept in the
    /// order they came).
    fn memory_victim(&self) -> Option<usize> {
        let mut per_peer: BTreeMap<IpAddr, usize> = BTreeMap::new();
        for c in &self.connections {
            *per_peer.entry(c.peer).or_insert(0) += c.held;
        }
        let (&heaviest, _) = per_peer.iter().max_by_key(|&(_, &held)| held)?;
        self.connections
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, c)| c.peer == heaviest)
            .max_by_key(|(_, c)| c.held)
            .map(|(i, _)| i)
    }

    /// Ends connections for memory until `need` more bytes fit the budget
    /// (see the module docs); false if they do not even with every
    /// connection gone.
    fn make_room(&mut self, need: usize, now: Instant) -> bool {
        while self.over_budget(need) {
            let Some(victim) = self.memory_victim() else {
                return false;
            };
            self.end_for_memory(victim, now);
        }
        true
    }

    /// After a session's step: ends connections for memory until the
    /// budget's reserve is free again. `cursor` is the next connection to
    /// pump; returned adjusted for the connections removed.
    fn keep_within_budget(&mut self, mut cursor: usize, now: Instant) -> usize {
        while self.over_budget(0) {
            let Some(victim) = self.memory_victim() else {
                break;
            };
            self.end_for_memory(victim, now);
            if victim < cursor {
                cursor -= 1;
            }
        }
        cursor
    }

    /// Ends connection `index` at once to give its memory back: its
    /// session logs `evicted` (detail `memory`) unless it had finished,
    /// its socket is reset, everything it held is freed.
    fn end_for_memory(&mut self, index: usize, now: Instant) {
        let mut c = self.connections.remove(index);
        self.held -= c.held;
        if c.closing_since.is_none() {
            c.session.evict_for_memory();
            if let Some(outcome) = c.session.outcome(now) {
                log_outcome(
                    self.log,
                    &mut self.remote_log,
                    &mut self.transport,
                    &outcome,
                );
                self.observer.on_finished(c.conn, &c.session, &outcome);
            }
        }
        self.transport.abort(c.conn);
        self.admission.release(c.conn);
        self.observer.on_released(c.conn, &c.session);
        self.transport.release(c.conn);
        self.app.stats().set_open_connections(self.admission.len());
    }

    /// Ends connection `victim` to make room (the admission table has
    /// already forgotten it): its session logs `evicted`, its socket is
    /// reset at the next pump.
    fn evict(&mut self, victim: ConnId) {
        if let Some(c) = self.connections.iter_mut().find(|c| c.conn == victim) {
            c.session.evict();
            c.evicted = true;
        }
    }

    /// Gives up on connect-back dials older than the connect timeout.
    fn expire_dials(&mut self, now: Instant) {
        let timeout = self.app.limits().connect_timeout;
        let mut index = 0;
        while index < self.dials.len() {
            if now < self.dials[index].started + timeout {
                index += 1;
                continue;
            }
            let dial = self.dials.swap_remove(index);
            self.admission.release(dial.conn);
            self.transport.abort(dial.conn);
            self.transport.release(dial.conn);
            let waited = now.saturating_since(dial.started).as_millis() as u64;
            let outcome = self.app.dial_failed(dial.target, Some("timeout"), waited);
            self.log_outcome(&outcome);
        }
    }

    fn dial(&mut self, target: SocketAddr, now: Instant) {
        if !self.admission.may_dial(target.ip()) {
            let outcome =
                self.app
                    .refuse(Service::ConnectBack, target, FailureReason::OverCapacity);
            self.log_outcome(&outcome);
            return;
        }
        match self.transport.connect(target, now.as_millis()) {
            Ok(conn) => {
                self.admission.admit_dial(conn, target.ip(), now);
                self.dials.push(Dial {
                    conn,
                    target,
                    started: now,
                });
            }
            Err(error) => {
                let detail = alloc::format!("{error}");
                let outcome = self.app.dial_failed(target, Some(&detail), 0);
                self.log_outcome(&outcome);
            }
        }
    }

    /// Moves bytes for one connection; true when it is finished and should
    /// be released.
    fn pump(&mut self, index: usize, now: Instant, buf: &mut [u8]) -> bool {
        let log = self.log;
        let remote_log = &mut self.remote_log;
        let transport = &mut self.transport;
        let observer = &mut self.observer;
        let admission = &mut self.admission;
        let c = &mut self.connections[index];
        if c.closing_since.is_none() {
            loop {
                match transport.recv(c.conn, buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        admission.touch(c.conn, now);
                        c.session.receive(&buf[..n], now);
                        // A finished session reads no more: a peer that
                        // keeps sending cannot keep the loop in here (the
                        // host's sockets refill as fast as they drain).
                        if c.session.status() == Status::Close {
                            break;
                        }
                    }
                    Err(_) => {
                        c.session.io_error("connection reset");
                        break;
                    }
                }
            }
            match transport.state(c.conn) {
                ConnState::PeerClosed if !c.peer_closed_seen => {
                    c.peer_closed_seen = true;
                    c.session.peer_closed(now);
                }
                ConnState::Closed => c.session.io_error("connection reset"),
                _ => {}
            }
            if let Status::Open { deadline } = c.session.status()
                && now >= deadline
            {
                c.session.timeout(now);
            }
        }
        flush(transport, observer, c.conn, &mut c.session);
        if c.closing_since.is_none() && c.session.status() == Status::Close {
            if let Some(outcome) = c.session.outcome(now) {
                log_outcome(log, remote_log, transport, &outcome);
                observer.on_finished(c.conn, &c.session, &outcome);
            }
            c.closing_since = Some(now);
        }
        let Some(since) = c.closing_since else {
            return false;
        };
        if c.evicted {
            // The room is needed now: no lingering close.
            transport.abort(c.conn);
            return true;
        }
        if c.session.outgoing().is_empty() {
            // The transport sends what it holds and the FIN itself,
            // lingering up to its own limit, after the connection is
            // released.
            transport.close(c.conn);
            return true;
        }
        if now.as_millis() >= since.as_millis() + CLOSE_GRACE_MS {
            // The peer stopped reading: give up on the rest.
            transport.abort(c.conn);
            return true;
        }
        false
    }
}

/// Hands the session's pending bytes to the connection's send buffer.
fn flush<T: Transport, O: Observer>(
    transport: &mut T,
    observer: &mut O,
    conn: ConnId,
    session: &mut Session,
) {
    while !session.outgoing().is_empty() {
        match transport.send(conn, session.outgoing()) {
            Ok(0) => break,
            Ok(n) => {
                observer.on_sent(conn, session, &session.outgoing()[..n]);
                session.consume_outgoing(n);
            }
            Err(_) => {
                session.io_error("connection reset");
                // Nothing more can be sent: drop what is left.
                let pending = session.outgoing().len();
                observer.on_sent(conn, session, session.outgoing());
                session.consume_outgoing(pending);
                break;
            }
        }
    }
}
