//! The appliance's one event loop: the unikernel's counterpart of
//! `pinata::hosted`.
//!
//! One core, no threads. Each turn: poll the stack (NIC → smoltcp), take its
//! events (address configured, connection accepted, connect-back dialled),
//! move bytes between every TCP connection and its [`Session`], then sleep
//! until the earliest deadline — a session's, or smoltcp's own timers — or
//! the next interrupt. As in the hosted runner, every decision is the
//! session's; this module only moves bytes, enforces that a connection is
//! released once finished, and prints each session's log line.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::net::SocketAddr;

use pinata::time::Instant;
use pinata::{Accepted, Pinata, Service, Session, Status};
use stack::{ConnId, ConnState, Nic, Stack, StackEvent};

/// How long a finished session's last bytes may wait for room in the
/// connection's send buffer (a peer that stops reading) before the
/// connection is reset.
const CLOSE_GRACE_MS: u64 = 5_000;
/// Longest sleep between turns while idle: the NIC is polled at least this
/// often even if its interrupt is missed.
const MAX_SLEEP_MS: u64 = 50;

/// Which service listens on a guest port.
pub fn service_for_port(port: u16) -> Option<Service> {
    Service::ALL.into_iter().find(|s| s.standard_port() == port)
}

/// The guest ports the piñata listens on.
pub fn listen_ports() -> Vec<u16> {
    Service::ALL.iter().map(|s| s.standard_port()).collect()
}

struct Connection {
    conn: ConnId,
    session: Box<Session>,
    peer_closed_seen: bool,
    /// Set once the session said Close (its outcome is logged then).
    closing_since: Option<Instant>,
}

/// A connect-back dial in progress.
struct Dial {
    conn: ConnId,
    target: SocketAddr,
}

/// The loop's state.
pub struct EventLoop<N: Nic> {
    stack: Stack<N>,
    app: Arc<Pinata>,
    connections: Vec<Connection>,
    dials: Vec<Dial>,
    listening_logged: bool,
}

impl<N: Nic> EventLoop<N> {
    /// A loop over `stack`, serving `app`.
    pub fn new(stack: Stack<N>, app: Arc<Pinata>) -> Self {
        EventLoop {
            stack,
            app,
            connections: Vec::new(),
            dials: Vec::new(),
            listening_logged: false,
        }
    }

    /// One turn. Returns when the loop may sleep next (absolute).
    pub fn turn(&mut self, now: Instant) -> Instant {
        self.stack.poll(now.as_millis());
        while let Some(event) = self.stack.next_event() {
            self.on_event(event, now);
        }
        let mut buf = [0u8; 4096];
        let mut index = 0;
        while index < self.connections.len() {
            if self.pump(index, now, &mut buf) {
                let done = self.connections.swap_remove(index);
                self.stack.release(done.conn);
            } else {
                index += 1;
            }
        }
        // Push out whatever the sessions queued this turn.
        self.stack.poll(now.as_millis());
        self.next_wakeup(now)
    }

    fn next_wakeup(&mut self, now: Instant) -> Instant {
        let mut wake = now.as_millis() + MAX_SLEEP_MS;
        if let Some(delay) = self.stack.poll_delay(now.as_millis()) {
            wake = wake.min(now.as_millis() + delay);
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
        match event {
            StackEvent::IpConfigured {
                address,
                prefix_len,
                gateway,
            } => {
                match gateway {
                    Some(gw) => {
                        crate::println!("net: ip configured {address}/{prefix_len} gateway {gw}")
                    }
                    None => crate::println!("net: ip configured {address}/{prefix_len}"),
                }
                if !self.listening_logged {
                    self.listening_logged = true;
                    for service in Service::ALL {
                        crate::println!(
                            "pinata: listening service={service} addr={address}:{}",
                            service.standard_port()
                        );
                    }
                    crate::println!(
                        "pinata: ready; {} ms from PVH entry to listening; address {}",
                        now.as_millis(),
                        self.app.address().unwrap_or("(no prize loaded)")
                    );
                }
            }
            StackEvent::IpLost => crate::println!("net: ip address lost (DHCP lease)"),
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
                match self.app.accept(service, peer, now) {
                    Accepted::Session(session) => self.connections.push(Connection {
                        conn,
                        session,
                        peer_closed_seen: false,
                        closing_since: None,
                    }),
                    Accepted::ConnectBack { target } => {
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
                    let session = self.app.connect_back_session(dial.target, now);
                    self.connections.push(Connection {
                        conn,
                        session: Box::new(session),
                        peer_closed_seen: false,
                        closing_since: None,
                    });
                }
            }
            StackEvent::ConnectFailed(conn) => {
                if let Some(pos) = self.dials.iter().position(|d| d.conn == conn) {
                    let dial = self.dials.swap_remove(pos);
                    self.app.connect_back_failed();
                    crate::println!(
                        "pinata: service=connect_back peer={} outcome=failed reason=connect_failed",
                        dial.target
                    );
                }
                self.stack.release(conn);
            }
        }
    }

    fn dial(&mut self, target: SocketAddr, now: Instant) {
        if !Pinata::connect_back_allowed(target.ip()) {
            self.app.connect_back_failed();
            crate::println!(
                "pinata: service=connect_back peer={target} outcome=failed reason=connect_failed detail=\"address not allowed\""
            );
            return;
        }
        match self.stack.connect(target, now.as_millis()) {
            Ok(conn) => self.dials.push(Dial { conn, target }),
            Err(error) => {
                self.app.connect_back_failed();
                crate::println!(
                    "pinata: service=connect_back peer={target} outcome=failed reason=connect_failed detail=\"{error:?}\""
                );
            }
        }
    }

    /// Moves bytes for one connection; true when it is finished and freed.
    fn pump(&mut self, index: usize, now: Instant, buf: &mut [u8]) -> bool {
        let stack = &mut self.stack;
        let c = &mut self.connections[index];
        if c.closing_since.is_none() {
            loop {
                match stack.recv(c.conn, buf) {
                    Ok(0) => break,
                    Ok(n) => c.session.receive(&buf[..n], now),
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
        flush(stack, c.conn, &mut c.session);
        if c.closing_since.is_none() && c.session.status() == Status::Close {
            if let Some(outcome) = c.session.outcome(now) {
                crate::println!("pinata: {outcome}");
            }
            c.closing_since = Some(now);
        }
        let Some(since) = c.closing_since else {
            return false;
        };
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
fn flush<N: Nic>(stack: &mut Stack<N>, conn: ConnId, session: &mut Session) {
    while !session.outgoing().is_empty() {
        match stack.send(conn, session.outgoing()) {
            Ok(0) => break,
            Ok(n) => session.consume_outgoing(n),
            Err(_) => {
                session.io_error("connection reset");
                // Nothing more can be sent: drop what is left.
                let pending = session.outgoing().len();
                session.consume_outgoing(pending);
                break;
            }
        }
    }
}

/// Rustls's view of the wall clock: the platform's RTC-based clock.
#[derive(Debug)]
struct WallClock;

impl pinata::time::TimeProvider for WallClock {
    fn current_time(&self) -> Option<pinata::time::UnixTime> {
        crate::platform::wall_clock().current_time()
    }
}

/// Everything after the platform is up: the prize, the PKI, the TLS
/// contexts, the stack, and then the loop, forever. Fatal setup errors are
/// printed and stop the machine (`panic=` decides poweroff or reboot).
pub fn start() -> ! {
    use pinata::pki::{self, KeyType, PkiOptions};
    use pinata::time::TimeProvider as _;
    use stack::{IpConfig, StackConfig};

    use crate::platform;

    let config = platform::boot_config();
    let prize = match config.prize() {
        Ok(Some(prize)) => {
            crate::println!(
                "prize: {} address {} ({})",
                prize.network(),
                prize.p2wpkh_address(),
                match config.secret_source {
                    Some(crate::cmdline::SecretSource::Module) => "from the boot module",
                    _ => "from the command line",
                }
            );
            Some(prize)
        }
        Ok(None) => {
            crate::println!("prize: none loaded (no boot module, no secret=): serving without one");
            None
        }
        Err(error) => {
            // Never echo the secret: only the kind of error.
            crate::println!(
                "prize: the secret is not a usable WIF ({error}): serving without a prize"
            );
            None
        }
    };

    let Some(now) = platform::wall_clock().current_time() else {
        crate::println!("pki: no wall clock (no CMOS RTC): cannot date certificates; stopping");
        platform::fatal_stop();
    };
    let mut web_names: Vec<alloc::string::String> = PkiOptions::DEFAULT_WEB_NAMES
        .iter()
        .map(|s| alloc::string::String::from(*s))
        .collect();
    if let Some(ip) = config.ip {
        web_names.push(alloc::format!("{}", ip.address));
    }
    let options = PkiOptions {
        bounty_key_type: config.bounty_key.unwrap_or(KeyType::EcdsaP256),
        web_names,
        now,
        validity_days: PkiOptions::DEFAULT_VALIDITY_DAYS,
    };
    let pki = match pki::bootstrap(platform::random(), &options) {
        Ok(pki) => pki,
        Err(error) => {
            crate::println!("pki: bootstrap failed: {error}; stopping");
            platform::fatal_stop();
        }
    };
    crate::println!("pki: CA generated, certificates issued, CA key erased");

    let provider = Arc::new(pinata::provider::provider(platform::random()));
    let app_config = pinata::Config {
        prize,
        limits: pinata::Limits::default(),
        web_identity: None,
    };
    let app = match Pinata::new(
        pki,
        app_config,
        provider,
        Arc::new(WallClock),
        platform::now(),
    ) {
        Ok(app) => app.with_connect_back_port(config.connect_back_port.unwrap_or(40001)),
        Err(error) => {
            crate::println!("pinata: setup failed: {error}; stopping");
            platform::fatal_stop();
        }
    };

    let Some(nic) = platform::nic() else {
        crate::println!("net: no virtio-net device: nothing to serve; stopping");
        platform::fatal_stop();
    };
    let ip = match config.ip {
        Some(cidr) => IpConfig::Static {
            address: cidr.address,
            prefix_len: cidr.prefix_len,
            gateway: config.gateway,
        },
        None => {
            crate::println!("net: DHCP");
            IpConfig::Dhcp
        }
    };
    let mut seed = [0u8; 8];
    if platform::random().fill(&mut seed).is_err() {
        crate::println!("entropy: the generator failed; stopping");
        platform::fatal_stop();
    }
    let stack_config = StackConfig::new(ip, &listen_ports());
    let stack = match Stack::new(
        nic,
        stack_config,
        platform::now().as_millis(),
        u64::from_le_bytes(seed),
    ) {
        Ok(stack) => stack,
        Err(error) => {
            crate::println!("net: bad network configuration: {error:?}; stopping");
            platform::fatal_stop();
        }
    };
    let mut event_loop = EventLoop::new(stack, Arc::new(app));
    loop {
        let now = platform::now();
        let wake = event_loop.turn(now);
        platform::wait_until(Some(wake));
    }
}
