//! The hosted runner: the piñata as an ordinary Linux process.
//!
//! Thin glue between `std::net` and the sans-IO [`Session`]s: one thread per
//! listener accepting, one thread per connection moving bytes between its
//! socket and its session. Every decision (what to send, when to close, what
//! to count) is the session's; this module only enforces the connection
//! limits, dials connect-back, and prints the log line each session leaves
//! (also sent to a remote syslog collector with `--syslog`, see
//! [`crate::syslog`]).
//! The unikernel drives the same sessions from its single event loop.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use std::vec::Vec;
use std::{format, println, thread};

use rustls::pki_types::UnixTime;
use wallet::{Network, PrizeKey};

use crate::admission::{Admission, Admit};
use crate::app::{Accepted, Config, Limits, Pinata};
use crate::pki::{self, KeyType, PkiOptions};
use crate::random::OS_RANDOM;
use crate::session::{Session, Status};
use crate::stats::{FailureReason, Service};
use crate::syslog::{self, Severity, Syslog, UdpSender};
use crate::time::{Instant, SystemClock};

/// The hosted runner's settings (the `pinata` binary's flags).
#[derive(Debug, Clone)]
pub struct Options {
    /// Address every service binds to.
    pub bind: IpAddr,
    /// Port per service, in [`Service::ALL`] order; 0 picks a free port.
    pub ports: [u16; 5],
    /// The caller's port that connect-back dials.
    pub connect_back_target_port: u16,
    /// WIF file with the prize; `None` generates a regtest demo key.
    pub secret_file: Option<PathBuf>,
    /// The network of a testnet-family WIF (testnet, signet or regtest).
    pub network: Option<Network>,
    /// Operator-supplied PEM certificate chain and key for HTTPS.
    pub web_cert: Option<PathBuf>,
    /// See `web_cert`.
    pub web_key: Option<PathBuf>,
    /// Extra names for the generated web certificate.
    pub web_names: Vec<String>,
    /// Key type of the bounty certificates.
    pub bounty_key_type: KeyType,
    /// Write the CA and the piñata's own identities here (tests only).
    pub insecure_export_identities: Option<PathBuf>,
    /// Connection limits and deadlines.
    pub limits: Limits,
    /// A syslog collector that also gets every connection line (RFC 5424
    /// over UDP).
    pub syslog: Option<SocketAddr>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            bind: IpAddr::from([127, 0, 0, 1]),
            ports: [8080, 8443, 10000, 10001, 10002],
            connect_back_target_port: 40001,
            secret_file: None,
            network: None,
            web_cert: None,
            web_key: None,
            web_names: Vec::new(),
            bounty_key_type: KeyType::EcdsaP256,
            insecure_export_identities: None,
            limits: Limits::default(),
            syslog: None,
        }
    }
}

/// The monotonic clock, from process start.
#[derive(Clone, Copy)]
struct Clock(std::time::Instant);

impl Clock {
    fn now(&self) -> Instant {
        Instant::from_millis(self.0.elapsed().as_millis() as u64)
    }
}

/// Where connection lines go: stdout, and the syslog collector if one is
/// set. Cloned into every connection thread.
#[derive(Clone, Default)]
struct ConnectionLog(Option<Arc<UdpSender>>);

impl ConnectionLog {
    /// Prints `pinata: ` and `line`, and sends `line` to the collector.
    fn line(&self, severity: Severity, service: Service, line: fmt::Arguments<'_>) {
        println!("pinata: {line}");
        if let Some(sender) = &self.0 {
            sender.send(severity, service.name(), line);
        }
    }
}

/// The connections admitted (see [`crate::admission`]) and, for eviction,
/// a handle on each one's socket. Shared by every connection thread.
struct Tracker {
    state: Mutex<TrackerState>,
    /// Where the number of admitted connections is shown.
    app: Arc<Pinata>,
}

struct TrackerState {
    admission: Admission<u64>,
    next_key: u64,
    handles: HashMap<u64, Arc<Evictable>>,
}

/// What another thread needs to end a connection: a clone of its socket,
/// and a flag so its own thread logs `evicted` rather than a reset.
struct Evictable {
    stream: Mutex<Option<TcpStream>>,
    evicted: AtomicBool,
}

impl Evictable {
    fn evict(&self) {
        self.evicted.store(true, Ordering::Relaxed);
        if let Some(stream) = lock(&self.stream).as_ref() {
            // The owning thread's blocked read returns at once.
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// Holds one admitted connection in the [`Tracker`]; releases it when
/// dropped (before the lingering close, so a connection that is only
/// draining does not count against the limits).
struct Slot<'a> {
    tracker: &'a Tracker,
    key: u64,
    handle: Arc<Evictable>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Tracker {
    fn new(app: Arc<Pinata>) -> Tracker {
        let limits = app.limits().clone();
        Tracker {
            app,
            state: Mutex::new(TrackerState {
                admission: Admission::new(&limits),
                next_key: 0,
                handles: HashMap::new(),
            }),
        }
    }

    /// Admits `stream` from `ip` (evicting the longest idle connection if
    /// the table is full), or says why not.
    fn admit(
        &self,
        stream: &TcpStream,
        ip: IpAddr,
        now: Instant,
    ) -> Result<Slot<'_>, FailureReason> {
        let handle = Arc::new(Evictable {
            stream: Mutex::new(stream.try_clone().ok()),
            evicted: AtomicBool::new(false),
        });
        let mut state = lock(&self.state);
        state.next_key += 1;
        let key = state.next_key;
        match state.admission.admit(key, ip, now) {
            Admit::Refuse(reason) => return Err(reason),
            Admit::AdmitEvicting(old) => {
                if let Some(victim) = state.handles.remove(&old) {
                    victim.evict();
                }
            }
            Admit::Admit => {}
        }
        state.handles.insert(key, handle.clone());
        self.app.stats().set_open_connections(state.admission.len());
        Ok(Slot {
            tracker: self,
            key,
            handle,
        })
    }
}

impl Slot<'_> {
    /// The connection moved bytes.
    fn touch(&self, now: Instant) {
        lock(&self.tracker.state).admission.touch(self.key, now);
    }

    /// The socket eviction shuts down from now on (connect-back's dial).
    fn watch(&self, stream: &TcpStream) {
        *lock(&self.handle.stream) = stream.try_clone().ok();
    }

    fn evicted(&self) -> bool {
        self.handle.evicted.load(Ordering::Relaxed)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut state = lock(&self.tracker.state);
        state.admission.release(self.key);
        state.handles.remove(&self.key);
        self.tracker
            .app
            .stats()
            .set_open_connections(state.admission.len());
    }
}

fn load_prize(options: &Options) -> Result<PrizeKey, String> {
    match &options.secret_file {
        Some(path) => {
            // The file's text is the key: keep it in a buffer wiped on drop.
            let text = wallet::Zeroizing::new(
                fs::read_to_string(path)
                    .map_err(|e| format!("cannot read secret file {}: {e}", path.display()))?,
            );
            let key = match options.network {
                Some(network) => PrizeKey::from_wif_for(&text, network),
                None => PrizeKey::from_wif(&text),
            };
            key.map_err(|e| format!("secret file {}: {e}", path.display()))
        }
        None => {
            let mut fill = |buf: &mut [u8]| getrandom::fill(buf);
            let key = PrizeKey::generate(Network::Regtest, &mut fill)
                .map_err(|e| format!("cannot generate a demo key: {e}"))?;
            println!(
                "pinata: no --secret-file: generated a regtest demo key (worthless), address {}",
                key.p2wpkh_address()
            );
            Ok(key)
        }
    }
}

fn write_file(path: &Path, contents: &[u8], secret: bool) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut open = fs::OpenOptions::new();
    open.write(true).create(true).truncate(true);
    if secret {
        open.mode(0o600);
    }
    open.open(path)
        .and_then(|mut f| f.write_all(contents))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn export_identities(dir: &Path, pki: &pki::Pki, prize: &PrizeKey) -> Result<(), String> {
    if prize.network() == Network::Bitcoin {
        return Err(
            "--insecure-export-identities refused: the loaded prize is a mainnet key. Exported \
             identities open the bounty to anyone who reads them; use them only with a \
             regtest/testnet/signet key"
                .into(),
        );
    }
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    write_file(&dir.join("ca.pem"), pki.ca_pem().as_bytes(), false)?;
    for (name, identity) in [
        ("server", &pki.server),
        ("client", &pki.client),
        ("web", &pki.web),
    ] {
        let leaf = identity
            .cert_chain
            .first()
            .map(|c| pki::pem_encode("CERTIFICATE", c))
            .unwrap_or_default();
        write_file(&dir.join(format!("{name}.pem")), leaf.as_bytes(), false)?;
        write_file(
            &dir.join(format!("{name}-chain.pem")),
            identity.cert_pem().as_bytes(),
            false,
        )?;
        write_file(
            &dir.join(format!("{name}.key")),
            identity.key_pem().as_bytes(),
            true,
        )?;
    }
    println!(
        "pinata: WARNING: exported the CA certificate and the piñata's own identities to {} \
         (testing only: anyone with these files can take the prize)",
        dir.display()
    );
    Ok(())
}

/// Starts every service and serves until the process is killed. Returns only
/// on a setup error.
pub fn run(options: Options) -> Result<(), String> {
    let clock = Clock(std::time::Instant::now());
    let prize = load_prize(&options)?;

    let mut web_names: Vec<String> = ["localhost", "127.0.0.1", "::1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let bind = options.bind.to_string();
    if !options.bind.is_unspecified() && !web_names.contains(&bind) {
        web_names.push(bind);
    }
    web_names.extend(options.web_names.iter().cloned());
    let pki_options = PkiOptions {
        bounty_key_type: options.bounty_key_type,
        web_names,
        now: UnixTime::now(),
        validity_days: 3650,
    };
    let pki = pki::bootstrap(&OS_RANDOM, &pki_options)
        .map_err(|e| format!("PKI bootstrap failed: {e}"))?;
    if let Some(dir) = &options.insecure_export_identities {
        export_identities(dir, &pki, &prize)?;
    }

    let web_identity = match (&options.web_cert, &options.web_key) {
        (Some(cert), Some(key)) => {
            let cert_pem = fs::read_to_string(cert)
                .map_err(|e| format!("cannot read {}: {e}", cert.display()))?;
            let key_pem = fs::read_to_string(key)
                .map_err(|e| format!("cannot read {}: {e}", key.display()))?;
            Some(
                pki::parse_pem_identity(&cert_pem, &key_pem)
                    .map_err(|e| format!("web certificate: {e}"))?,
            )
        }
        (None, None) => None,
        _ => return Err("--web-cert and --web-key go together".into()),
    };

    let provider = Arc::new(crate::provider::provider(&OS_RANDOM));
    let config = Config {
        prize: Some(prize),
        limits: options.limits.clone(),
        web_identity,
    };
    let app = Pinata::new(pki, config, provider, Arc::new(SystemClock), clock.now())
        .map_err(|e| format!("setup failed: {e}"))?
        .with_connect_back_port(options.connect_back_target_port)
        .with_memory_gauge(crate::memory::process_usage);
    let app = Arc::new(app);
    let log = match options.syslog {
        Some(target) => {
            let syslog = Syslog::new(target, &syslog::local_hostname())
                .map_err(|e| format!("--syslog {target}: {e}"))?
                .with_clock(Arc::new(SystemClock));
            let sender = UdpSender::bind(syslog)
                .map_err(|e| format!("--syslog {target}: cannot open a UDP socket: {e}"))?;
            println!("pinata: syslog to {target}");
            ConnectionLog(Some(Arc::new(sender)))
        }
        None => ConnectionLog::default(),
    };

    let mut listeners = Vec::new();
    for (service, port) in Service::ALL.into_iter().zip(options.ports) {
        let addr = SocketAddr::new(options.bind, port);
        let listener = TcpListener::bind(addr)
            .map_err(|e| format!("cannot listen on {addr} for {service}: {e}"))?;
        listeners.push((service, listener));
    }
    let tracker = Arc::new(Tracker::new(app.clone()));
    let mut handles = Vec::new();
    for (service, listener) in listeners {
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        println!("pinata: listening service={service} addr={local}");
        let app = app.clone();
        let tracker = tracker.clone();
        let log = log.clone();
        handles.push(thread::spawn(move || {
            accept_loop(service, listener, app, tracker, clock, log)
        }));
    }
    println!("pinata: limits {}", app.limits());
    println!(
        "pinata: ready; page at http://{}/ ; address {}",
        SocketAddr::new(options.bind, options.ports[0]),
        app.address().unwrap_or("(none)")
    );
    for handle in handles {
        let _ = handle.join();
    }
    Err("all listeners stopped".into())
}

fn accept_loop(
    service: Service,
    listener: TcpListener,
    app: Arc<Pinata>,
    tracker: Arc<Tracker>,
    clock: Clock,
    log: ConnectionLog,
) {
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) => {
                // EMFILE and friends: back off briefly rather than spin.
                println!("pinata: service={service} accept error: {e}");
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let app = app.clone();
        let tracker = tracker.clone();
        let log = log.clone();
        let spawned = thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || connection(service, stream, peer, &app, &tracker, clock, &log));
        if let Err(e) = spawned {
            println!("pinata: service={service} peer={peer} cannot start a thread: {e}");
        }
    }
}

fn connection(
    service: Service,
    stream: TcpStream,
    peer: SocketAddr,
    app: &Arc<Pinata>,
    tracker: &Tracker,
    clock: Clock,
    log: &ConnectionLog,
) {
    let slot = match tracker.admit(&stream, peer.ip(), clock.now()) {
        Ok(slot) => slot,
        Err(reason) => {
            app.refused(service, reason);
            log.line(
                Severity::of_failure(reason),
                service,
                format_args!("service={service} peer={peer} outcome=failed reason={reason}"),
            );
            return;
        }
    };
    let _ = stream.set_nodelay(true);
    match app.accept(service, peer, clock.now()) {
        Accepted::Session(session) => drive(*session, stream, clock, slot, log),
        Accepted::ConnectBack { target } => {
            // The caller's connection is only a request: close it, then dial.
            let _ = stream.shutdown(Shutdown::Both);
            drop(stream);
            let connect_failed = Severity::of_failure(FailureReason::ConnectFailed);
            if !Pinata::connect_back_allowed(target.ip()) {
                app.connect_back_failed();
                log.line(
                    connect_failed,
                    Service::ConnectBack,
                    format_args!(
                        "service=connect_back peer={target} outcome=failed reason=connect_failed detail=\"address not allowed\""
                    ),
                );
                return;
            }
            match TcpStream::connect_timeout(&target, app.limits().connect_timeout) {
                Ok(outbound) => {
                    let _ = outbound.set_nodelay(true);
                    slot.watch(&outbound);
                    drive(
                        app.connect_back_session(target, clock.now()),
                        outbound,
                        clock,
                        slot,
                        log,
                    );
                }
                Err(e) => {
                    app.connect_back_failed();
                    log.line(
                        connect_failed,
                        Service::ConnectBack,
                        format_args!(
                            "service=connect_back peer={target} outcome=failed reason=connect_failed detail={:?}",
                            e.to_string()
                        ),
                    );
                }
            }
        }
    }
}

/// Moves bytes between `stream` and `session` until the session says close,
/// then gives up `slot` and lingers.
fn drive(
    mut session: Session,
    mut stream: TcpStream,
    clock: Clock,
    slot: Slot<'_>,
    log: &ConnectionLog,
) {
    let mut buf = std::vec![0u8; 16 * 1024];
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    loop {
        if slot.evicted() {
            // Evicted before its socket was watched (a connect-back dial).
            session.evict();
        }
        if let Err(e) = flush(&mut session, &mut stream) {
            session.io_error(&e.to_string());
        }
        let deadline = match session.status() {
            Status::Close => break,
            Status::Open { deadline } => deadline,
        };
        let now = clock.now();
        if now >= deadline {
            session.timeout(now);
            continue;
        }
        let wait = (deadline - now).max(Duration::from_millis(1));
        let _ = stream.set_read_timeout(Some(wait));
        let read = stream.read(&mut buf);
        if slot.evicted() {
            // Another connection needed the room: the socket is shut down
            // (the top of the loop ends the session).
            continue;
        }
        match read {
            Ok(0) => session.peer_closed(clock.now()),
            Ok(n) => {
                slot.touch(clock.now());
                session.receive(&buf[..n], clock.now());
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                session.timeout(clock.now())
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => session.io_error(&e.to_string()),
        }
    }
    let _ = flush(&mut session, &mut stream);
    let _ = stream.shutdown(Shutdown::Write);
    drop(slot);
    linger(&mut stream, &mut buf);
    if let Some(outcome) = session.outcome(clock.now()) {
        log.line(
            Severity::of_outcome(&outcome),
            outcome.service,
            format_args!("{outcome}"),
        );
    }
}

fn flush(session: &mut Session, stream: &mut TcpStream) -> io::Result<()> {
    while !session.outgoing().is_empty() {
        let n = stream.write(session.outgoing())?;
        if n == 0 {
            return Err(ErrorKind::WriteZero.into());
        }
        session.consume_outgoing(n);
    }
    Ok(())
}

/// After our last bytes, read (and drop) what the peer still sends until it
/// closes, briefly: closing a socket with unread input makes the kernel send
/// a reset, which can destroy data the peer has not read yet — the secret.
fn linger(stream: &mut TcpStream, buf: &mut [u8]) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut budget: usize = 64 * 1024;
    while budget > 0 {
        match stream.read(buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => budget = budget.saturating_sub(n),
        }
    }
}
