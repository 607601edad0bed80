//! The hosted runner: the piñata as an ordinary Linux process.
//!
//! Thin glue, as the unikernel's `event_loop.rs` is: build the [`Pinata`](crate::Pinata)
//! ([`crate::setup`]), open the listeners on the host's sockets
//! ([`hostnet::HostNet`]), and run the appliance's own event loop
//! ([`crate::netloop::EventLoop`]) single-threaded, sleeping in the poller
//! between turns. Every decision — admission, eviction, dialling,
//! lingering, the log lines — is the loop's, the transport's or the
//! session's, the same code the image runs. Where it sits in the data
//! flow: see "Layout" in `docs/DESIGN.md`. What is hosted-only lives here:
//! the flags' [`Options`], reading the secret file, the operator's web
//! certificate files, the test-only export of the identities, and keeping
//! the keys out of core dumps and swap ([`protect_process`],
//! [`lock_memory`]).

use std::fs;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::string::{String, ToString};
use std::sync::Arc;
use std::vec::Vec;
use std::{format, println};

use hostnet::HostNet;
use wallet::{Network, PrizeKey};

use crate::app::{DEFAULT_CONNECT_BACK_PORT, Limits};
use crate::budget::MemoryBudget;
use crate::netloop::EventLoop;
use crate::pki::{self, KeyType};
use crate::random::OS_RANDOM;
use crate::setup::{self, Platform, Setup};
use crate::stats::Service;
use crate::syslog::{self, Syslog};
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
    /// What the connections may hold in memory, in bytes (see
    /// [`crate::budget`]).
    pub memory_budget: usize,
}

/// The hosted runner's default memory budget for connections: 64 MiB,
/// about 512 connections (the default limit) at their most.
pub const DEFAULT_MEMORY_BUDGET: usize = 64 << 20;

impl Default for Options {
    fn default() -> Self {
        Options {
            bind: IpAddr::from([127, 0, 0, 1]),
            ports: [8080, 8443, 10000, 10001, 10002],
            connect_back_target_port: DEFAULT_CONNECT_BACK_PORT,
            secret_file: None,
            network: None,
            web_cert: None,
            web_key: None,
            web_names: Vec::new(),
            bounty_key_type: KeyType::default(),
            insecure_export_identities: None,
            limits: Limits::default(),
            syslog: None,
            memory_budget: DEFAULT_MEMORY_BUDGET,
        }
    }
}

/// Sockets the transport may hold beyond the admission table's
/// `max_connections`: connect-back dials in flight and lingering closes.
/// The oldest lingering close is dropped when the room is needed.
pub const SOCKET_HEADROOM: usize = 128;

/// The monotonic clock, from process start.
#[derive(Clone, Copy)]
struct Clock(std::time::Instant);

impl Clock {
    fn now(&self) -> Instant {
        Instant::from_millis(self.0.elapsed().as_millis() as u64)
    }
}

/// The loop's [`crate::netloop::Log`]: one line on stdout.
fn print_line(line: std::fmt::Arguments<'_>) {
    println!("{line}");
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

/// Writes a new file: never over an existing one (`O_EXCL`), never
/// through a symbolic link (`O_NOFOLLOW`), so whoever can write the
/// directory cannot point a key at a file of their choosing; `secret`
/// files are readable by their owner only.
fn write_file(path: &Path, contents: &[u8], secret: bool) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut open = fs::OpenOptions::new();
    open.write(true)
        .create_new(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .mode(if secret { 0o600 } else { 0o644 });
    open.open(path)
        .and_then(|mut f| f.write_all(contents))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Keeps the process's memory — the prize, the piñata's own keys — out
/// of core dumps: not dumpable (`PR_SET_DUMPABLE` 0, which also keeps
/// other processes of the same user from attaching to it or reading its
/// memory through `/proc`), and core files of size 0 (`RLIMIT_CORE`).
/// Called before the secret is read. What could not be set is returned,
/// to be said (a warning: the piñata still runs).
pub fn protect_process() -> Vec<String> {
    use rustix::process::{DumpableBehavior, Resource, Rlimit, set_dumpable_behavior, setrlimit};
    let mut refused = Vec::new();
    if let Err(error) = set_dumpable_behavior(DumpableBehavior::NotDumpable) {
        refused.push(format!("PR_SET_DUMPABLE 0: {error}"));
    }
    let no_core = Rlimit {
        current: Some(0),
        maximum: Some(0),
    };
    if let Err(error) = setrlimit(Resource::Core, no_core) {
        refused.push(format!("RLIMIT_CORE 0: {error}"));
    }
    refused
}

/// Locks every page the process has mapped in memory (`mlockall` of the
/// current mappings): called once the keys exist, it keeps them — the
/// prize, and the TLS keys inside rustls, which no other call can reach —
/// out of swap. Later allocations (connections) are not locked. Refused
/// where `RLIMIT_MEMLOCK` is below the process's size (about 4 MiB) and
/// the process lacks `CAP_IPC_LOCK`: the error says so.
pub fn lock_memory() -> Result<(), String> {
    rustix::mm::mlockall(rustix::mm::MlockAllFlags::CURRENT)
        .map_err(|error| format!("mlockall: {error}"))
}

fn export_identities(dir: &Path, pki: &pki::Pki, network: Network) -> Result<(), String> {
    if network == Network::Bitcoin {
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
    match protect_process().as_slice() {
        [] => println!("pinata: no core dumps (not dumpable, RLIMIT_CORE 0)"),
        refused => println!(
            "pinata: WARNING: core dumps may hold the keys: {}",
            refused.join("; ")
        ),
    }
    let prize = load_prize(&options)?;
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
    let mut web_names = Vec::new();
    if !options.bind.is_unspecified() {
        web_names.push(options.bind.to_string());
    }
    web_names.extend(options.web_names.iter().cloned());
    let network = prize.network();
    let setup = Setup {
        prize: Some(prize),
        bounty_key_type: options.bounty_key_type,
        web_names,
        web_identity,
        limits: options.limits.clone(),
        connect_back_port: options.connect_back_target_port,
        memory_gauge: Some(crate::memory::process_usage),
    };
    let platform = Platform {
        random: &OS_RANDOM,
        wall_clock: Arc::new(SystemClock),
        now: clock.now(),
    };
    let app = setup::build(setup, &platform, |pki| {
        match &options.insecure_export_identities {
            Some(dir) => export_identities(dir, pki, network),
            None => Ok(()),
        }
    })
    .map_err(|e| format!("setup failed: {e}"))?;
    match lock_memory() {
        Ok(()) => println!("pinata: memory locked: the keys stay out of swap"),
        Err(error) => println!(
            "pinata: WARNING: {error}: the keys may reach swap (raise `ulimit -l` or grant \
             CAP_IPC_LOCK)"
        ),
    }
    let syslog = match options.syslog {
        Some(target) => {
            let syslog = Syslog::new(target, &syslog::local_hostname())
                .map_err(|e| format!("--syslog {target}: {e}"))?
                .with_clock(Arc::new(SystemClock));
            println!("pinata: syslog to {target}");
            Some(syslog)
        }
        None => None,
    };

    let mut config = hostnet::Config::new(options.bind, &options.ports);
    config.max_sockets = options
        .limits
        .max_connections
        .saturating_add(SOCKET_HEADROOM);
    config.max_lingering = SOCKET_HEADROOM;
    config.allow_per_peer(options.limits.max_connections_per_peer);
    let transport = HostNet::bind(config).map_err(|e| {
        let service = Service::ALL[e.listener];
        format!("cannot listen on {} for {service}: {}", e.addr, e.error)
    })?;
    let mut event_loop = EventLoop::new(transport, Arc::new(app), print_line)
        .with_memory_budget(MemoryBudget::of(options.memory_budget));
    if let Some(syslog) = syslog {
        event_loop.set_syslog(syslog);
    }
    loop {
        let wake = event_loop.turn(clock.now());
        let timeout = wake.saturating_since(clock.now());
        event_loop.transport_mut().wait(timeout);
    }
}
