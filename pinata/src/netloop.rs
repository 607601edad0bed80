//! The appliance's event loop: the piñata's sessions over the library-OS
//! network stack (cargo feature `netstack`).
//!
//! # Where it sits
//!
//! ```text
//! NIC driver ──frames──▶ stack::Stack ──events, bytes──▶ netloop::EventLoop ──bytes──▶ Session ──▶ rustls
//! (virtio-net, Xen)      (smoltcp: ARP, IP,               (this module: accept,              (every rule of
//!                         TCP, DHCP; ConnIds)              dial, pump, close, release)         the bounty)
//! ```
//!
//! One core, no threads. Each [`EventLoop::turn`]: poll the stack (NIC →
//! smoltcp), take its events (address configured, connection accepted,
//! connect-back dialled or refused), move bytes between every TCP connection
//! and its [`Session`], poll again to push out what the sessions queued, and
//! say when the next turn is due — a session's deadline, smoltcp's own
//! timers, or [`MAX_SLEEP_MS`] at the latest. The caller sleeps until then
//! (or until the NIC has something) and calls `turn` again.
//!
//! As in the hosted runner (`pinata::hosted`, a thread per connection over
//! `std::net`), every decision is the session's. This module only moves
//! bytes, feeds the session end-of-stream, resets and deadlines, makes sure
//! a finished session's connection is closed and released, and logs each
//! session's outcome line. A finished connection is handed back to the
//! stack at once, which sends the last bytes and the FIN itself and lingers
//! (bounded); a peer that stops reading while the session still has bytes
//! for it is reset after [`CLOSE_GRACE_MS`].
//!
//! The operator's limits are [`crate::admission`]'s decisions, applied
//! here: a connection over the per-address limit is reset unserved; when
//! the table is full, or the stack has no socket left to re-arm a listener,
//! the connection that has gone longest without a byte from its peer is
//! evicted (its session ends as `evicted`, its socket is reset at once). A
//! connect-back dial not answered within the connect timeout is given up.
//!
//! # Why it lives here and not in the unikernel
//!
//! The unikernel is a bare-metal binary crate the host cannot link. Here,
//! `no_std + alloc` and generic over [`stack::Nic`], the loop is:
//! - **host-testable**: `netloop/tests.rs` puts a second `stack::Stack` on an
//!   in-memory cable and talks to the piñata through it, in simulated time;
//! - **fuzzed**: the `stack_ingress` target (`pinata::fuzzing::network`)
//!   drives this very loop with raw Ethernet frames, its leak oracle watching
//!   through an [`Observer`] — so the loop that ships is the loop that is
//!   fuzzed, not a copy of it;
//! - **shipped**: the unikernel's `event_loop.rs` is thin glue — it builds
//!   the [`Pinata`] and the `Stack` over its NIC at boot, then calls
//!   [`EventLoop::turn`] with its clock and sleeps until the instant returned.
//!
//! # Seams
//!
//! - [`Log`]: where the log lines go (the unikernel's serial console; a no-op
//!   in the fuzz target). The lines are the hosted runner's format.
//! - [`EventLoop::set_syslog`]: a remote syslog collector that also gets
//!   every connection line (outcomes, failed connect-backs) as an RFC 5424
//!   datagram ([`crate::syslog`]) through the stack, best effort.
//! - [`Observer`]: read-only hooks on each connection (bytes taken from a
//!   session, its end, its release) for the fuzzing oracle and tests. The
//!   default `()` does nothing and compiles to nothing.
#![forbid(unsafe_code)]

#[cfg(all(test, feature = "std"))]
mod tests;

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::net::SocketAddr;

pub use stack::ConnId;
use stack::{ConnState, Nic, Stack, StackEvent};

use crate::admission::{Admission, Admit};
use crate::app::{Accepted, Pinata};
use crate::session::{Outcome, Session, Status};
use crate::stats::{FailureReason, Service};
use crate::syslog::{Severity, Syslog};
use crate::time::Instant;

/// How long a finished session's last bytes may wait for room in the
/// connection's send buffer (a peer that stops reading) before the
/// connection is reset.
pub const CLOSE_GRACE_MS: u64 = 5_000;
/// Longest sleep between turns while idle: the NIC is polled at least this
/// often even if its interrupt is missed.
pub const MAX_SLEEP_MS: u64 = 50;

/// Where the loop's log lines go: one call per line, without the newline.
/// The unikernel passes its console printer; [`no_log`] drops them.
pub type Log = fn(fmt::Arguments<'_>);

/// A [`Log`] that drops every line.
pub fn no_log(_line: fmt::Arguments<'_>) {}

/// Read-only hooks into the loop, per connection: what a fuzzing oracle or a
/// test needs to watch the sessions without a second copy of the loop.
/// Every method has an empty default; the loop's default observer `()`
/// implements none of them, and costs nothing.
///
/// `conn` identifies the connection from the first hook to
/// [`on_released`](Observer::on_released); the stack may reuse a slot for a
/// later connection but never the same [`ConnId`].
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

    /// The connection was handed back to the stack (closed, or reset after
    /// [`CLOSE_GRACE_MS`]) and the session is about to be dropped; whatever
    /// it could not send is still in `session.outgoing()`.
    fn on_released(&mut self, _conn: ConnId, _session: &Session) {}
}

/// The observer that observes nothing.
impl Observer for () {}

/// Which service listens on a guest port.
pub fn service_for_port(port: u16) -> Option<Service> {
    Service::ALL.into_iter().find(|s| s.standard_port() == port)
}

/// The guest ports the piñata listens on (the `listen_ports` of the
/// [`stack::StackConfig`] the loop's stack must be built with).
pub fn listen_ports() -> Vec<u16> {
    Service::ALL.iter().map(|s| s.standard_port()).collect()
}

struct Connection {
    conn: ConnId,
    session: Box<Session>,
    peer_closed_seen: bool,
    /// Set once the session said Close (its outcome is logged then).
    closing_since: Option<Instant>,
    /// Evicted to make room: reset rather than closed, so its socket is
    /// free at once.
    evicted: bool,
}

impl Connection {
    fn new(conn: ConnId, session: Box<Session>) -> Connection {
        Connection {
            conn,
            session,
            peer_closed_seen: false,
            closing_since: None,
            evicted: false,
        }
    }
}

/// A syslog line always fits the stack's largest datagram.
const _: () = assert!(crate::syslog::MAX_DATAGRAM <= stack::MAX_DATAGRAM);

/// The remote syslog collector, and the buffer its datagrams are built in
/// (reused: one allocation for the loop's life).
struct RemoteLog {
    syslog: Syslog,
    datagram: Vec<u8>,
}

/// Logs one connection line: `pinata: ` and `line` through `log`, and the
/// same line to the syslog collector, if one is set. Sending is best
/// effort: the stack counts what it drops, and the console has the line.
fn log_connection<N: Nic>(
    log: Log,
    remote: &mut Option<RemoteLog>,
    stack: &mut Stack<N>,
    severity: Severity,
    service: Service,
    line: fmt::Arguments<'_>,
) {
    log(format_args!("pinata: {line}"));
    if let Some(remote) = remote {
        remote
            .syslog
            .format_now(severity, service.name(), line, &mut remote.datagram);
        let _ = stack.send_datagram(remote.syslog.target(), &remote.datagram);
    }
}

/// A connect-back dial in progress.
struct Dial {
    conn: ConnId,
    target: SocketAddr,
    started: Instant,
}

/// The loop's state: the stack, the application, and the connections
/// between them. See the module docs.
pub struct EventLoop<N: Nic, O: Observer = ()> {
    stack: Stack<N>,
    app: Arc<Pinata>,
    log: Log,
    remote_log: Option<RemoteLog>,
    observer: O,
    connections: Vec<Connection>,
    /// The operator's limits over `connections` (see [`crate::admission`]).
    admission: Admission<ConnId>,
    dials: Vec<Dial>,
    listening_logged: bool,
}

impl<N: Nic> EventLoop<N> {
    /// A loop over `stack`, serving `app`, logging to `log`. The stack must
    /// listen on [`listen_ports`].
    pub fn new(stack: Stack<N>, app: Arc<Pinata>, log: Log) -> Self {
        Self::with_observer(stack, app, log, ())
    }
}

impl<N: Nic, O: Observer> EventLoop<N, O> {
    /// As [`EventLoop::new`], with `observer` watching every connection.
    pub fn with_observer(stack: Stack<N>, app: Arc<Pinata>, log: Log, observer: O) -> Self {
        let admission = Admission::new(app.limits());
        EventLoop {
            admission,
            stack,
            app,
            log,
            remote_log: None,
            observer,
            connections: Vec::new(),
            dials: Vec::new(),
            listening_logged: false,
        }
    }

    /// Sends every connection line to `syslog`'s collector too, as one
    /// RFC 5424 datagram each (see [`crate::syslog`]).
    pub fn set_syslog(&mut self, syslog: Syslog) {
        self.remote_log = Some(RemoteLog {
            syslog,
            datagram: Vec::new(),
        });
    }

    /// Logs one connection line (see [`log_connection`]).
    fn log_connection(&mut self, severity: Severity, service: Service, line: fmt::Arguments<'_>) {
        log_connection(
            self.log,
            &mut self.remote_log,
            &mut self.stack,
            severity,
            service,
            line,
        );
    }

    /// The stack (and through it the NIC).
    pub fn stack(&self) -> &Stack<N> {
        &self.stack
    }

    /// The stack, mutably: for a simulated NIC's queues. Connections the
    /// loop holds are the loop's; do not close or release them.
    pub fn stack_mut(&mut self) -> &mut Stack<N> {
        &mut self.stack
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

    /// One turn at `now` (the platform's monotonic clock; in the unikernel
    /// its origin is the PVH entry). Returns when the next turn is due
    /// (absolute): the caller may sleep until then unless the NIC wakes it.
    pub fn turn(&mut self, now: Instant) -> Instant {
        self.stack.poll(now.as_millis());
        while let Some(event) = self.stack.next_event() {
            self.on_event(event, now);
        }
        self.expire_dials(now);
        // Out of TCP sockets for new listeners (a limit the admission
        // table does not see): make room as a full table would.
        if self.stack.at_capacity()
            && let Some(victim) = self.admission.evict_oldest_idle()
        {
            self.evict(victim);
        }
        let mut buf = [0u8; 4096];
        let mut index = 0;
        while index < self.connections.len() {
            if self.pump(index, now, &mut buf) {
                let done = self.connections.swap_remove(index);
                self.admission.release(done.conn);
                self.observer.on_released(done.conn, &done.session);
                self.stack.release(done.conn);
            } else {
                index += 1;
            }
        }
        self.app.stats().set_open_connections(self.admission.len());
        // Push out whatever the sessions queued this turn.
        self.stack.poll(now.as_millis());
        self.next_wakeup(now)
    }

    fn next_wakeup(&mut self, now: Instant) -> Instant {
        let mut wake = now.as_millis() + MAX_SLEEP_MS;
        if let Some(delay) = self.stack.poll_delay(now.as_millis()) {
            wake = wake.min(now.as_millis() + delay);
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

    fn on_event(&mut self, event: StackEvent, now: Instant) {
        let log = self.log;
        match event {
            StackEvent::IpConfigured {
                address,
                prefix_len,
                gateway,
            } => {
                match gateway {
                    Some(gw) => log(format_args!(
                        "net: ip configured {address}/{prefix_len} gateway {gw}"
                    )),
                    None => log(format_args!("net: ip configured {address}/{prefix_len}")),
                }
                if !self.listening_logged {
                    self.listening_logged = true;
                    for service in Service::ALL {
                        log(format_args!(
                            "pinata: listening service={service} addr={address}:{}",
                            service.standard_port()
                        ));
                    }
                    log(format_args!(
                        "pinata: ready; {} ms from PVH entry to listening; address {}",
                        now.as_millis(),
                        self.app.address().unwrap_or("(no prize loaded)")
                    ));
                }
            }
            StackEvent::IpLost => log(format_args!("net: ip address lost (DHCP lease)")),
            StackEvent::Accepted {
                conn,
                local_port,
                peer,
            } => {
                let Some(service) = service_for_port(local_port) else {
                    self.stack.abort(conn);
                    self.stack.release(conn);
                    return;
                };
                match self.admission.admit(conn, peer.ip(), now) {
                    Admit::Admit => {}
                    Admit::AdmitEvicting(victim) => self.evict(victim),
                    Admit::Refuse(reason) => {
                        self.stack.abort(conn);
                        self.stack.release(conn);
                        self.app.refused(service, reason);
                        self.log_connection(
                            Severity::of_failure(reason),
                            service,
                            format_args!(
                                "service={service} peer={peer} outcome=failed reason={reason}"
                            ),
                        );
                        return;
                    }
                }
                self.observer.session_starting(service, peer);
                match self.app.accept(service, peer, now) {
                    Accepted::Session(session) => {
                        self.connections.push(Connection::new(conn, session))
                    }
                    Accepted::ConnectBack { target } => {
                        // Only a request: its slot is not kept.
                        self.admission.release(conn);
                        // The caller's connection is only a request: close it, dial back.
                        self.stack.close(conn);
                        self.stack.release(conn);
                        self.dial(target, now);
                    }
                }
            }
            StackEvent::Connected(conn) => {
                if let Some(pos) = self.dials.iter().position(|d| d.conn == conn) {
                    let dial = self.dials.swap_remove(pos);
                    match self.admission.admit(conn, dial.target.ip(), now) {
                        Admit::Admit => {}
                        Admit::AdmitEvicting(victim) => self.evict(victim),
                        Admit::Refuse(reason) => {
                            self.stack.abort(conn);
                            self.stack.release(conn);
                            self.app.refused(Service::ConnectBack, reason);
                            self.log_connection(
                                Severity::of_failure(reason),
                                Service::ConnectBack,
                                format_args!(
                                    "service=connect_back peer={} outcome=failed reason={reason}",
                                    dial.target
                                ),
                            );
                            return;
                        }
                    }
                    self.observer
                        .session_starting(Service::ConnectBack, dial.target);
                    let session = self.app.connect_back_session(dial.target, now);
                    self.connections
                        .push(Connection::new(conn, Box::new(session)));
                }
            }
            StackEvent::ConnectFailed(conn) => {
                if let Some(pos) = self.dials.iter().position(|d| d.conn == conn) {
                    let dial = self.dials.swap_remove(pos);
                    self.app.connect_back_failed();
                    self.log_connection(
                        Severity::of_failure(FailureReason::ConnectFailed),
                        Service::ConnectBack,
                        format_args!(
                            "service=connect_back peer={} outcome=failed reason=connect_failed",
                            dial.target
                        ),
                    );
                }
                self.stack.release(conn);
            }
        }
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
            self.stack.abort(dial.conn);
            self.stack.release(dial.conn);
            self.app.connect_back_failed();
            self.log_connection(
                Severity::of_failure(FailureReason::ConnectFailed),
                Service::ConnectBack,
                format_args!(
                    "service=connect_back peer={} outcome=failed reason=connect_failed detail=\"timeout\"",
                    dial.target
                ),
            );
        }
    }

    fn dial(&mut self, target: SocketAddr, now: Instant) {
        let severity = Severity::of_failure(FailureReason::ConnectFailed);
        if !Pinata::connect_back_allowed(target.ip()) {
            self.app.connect_back_failed();
            self.log_connection(
                severity,
                Service::ConnectBack,
                format_args!(
                    "service=connect_back peer={target} outcome=failed reason=connect_failed detail=\"address not allowed\""
                ),
            );
            return;
        }
        match self.stack.connect(target, now.as_millis()) {
            Ok(conn) => self.dials.push(Dial {
                conn,
                target,
                started: now,
            }),
            Err(error) => {
                self.app.connect_back_failed();
                self.log_connection(
                    severity,
                    Service::ConnectBack,
                    format_args!(
                        "service=connect_back peer={target} outcome=failed reason=connect_failed detail=\"{error:?}\""
                    ),
                );
            }
        }
    }

    /// Moves bytes for one connection; true when it is finished and should
    /// be released.
    fn pump(&mut self, index: usize, now: Instant, buf: &mut [u8]) -> bool {
        let log = self.log;
        let remote_log = &mut self.remote_log;
        let stack = &mut self.stack;
        let observer = &mut self.observer;
        let admission = &mut self.admission;
        let c = &mut self.connections[index];
        if c.closing_since.is_none() {
            loop {
                match stack.recv(c.conn, buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        admission.touch(c.conn, now);
                        c.session.receive(&buf[..n], now);
                    }
                    Err(_) => {
                        c.session.io_error("connection reset");
                        break;
                    }
                }
            }
            match stack.state(c.conn) {
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
        flush(stack, observer, c.conn, &mut c.session);
        if c.closing_since.is_none() && c.session.status() == Status::Close {
            if let Some(outcome) = c.session.outcome(now) {
                log_connection(
                    log,
                    remote_log,
                    stack,
                    Severity::of_outcome(&outcome),
                    outcome.service,
                    format_args!("{outcome}"),
                );
                observer.on_finished(c.conn, &c.session, &outcome);
            }
            c.closing_since = Some(now);
        }
        let Some(since) = c.closing_since else {
            return false;
        };
        if c.evicted {
            // The room is needed now: no lingering close.
            stack.abort(c.conn);
            return true;
        }
        if c.session.outgoing().is_empty() {
            // The stack sends what it holds and the FIN itself, lingering
            // up to its own limit, after the connection is released.
            stack.close(c.conn);
            return true;
        }
        if now.as_millis() >= since.as_millis() + CLOSE_GRACE_MS {
            // The peer stopped reading: give up on the rest.
            stack.abort(c.conn);
            return true;
        }
        false
    }
}

/// Hands the session's pending bytes to the connection's send buffer.
fn flush<N: Nic, O: Observer>(
    stack: &mut Stack<N>,
    observer: &mut O,
    conn: ConnId,
    session: &mut Session,
) {
    while !session.outgoing().is_empty() {
        match stack.send(conn, session.outgoing()) {
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
