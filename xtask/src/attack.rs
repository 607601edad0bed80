//! `cargo xtask attack`: the attack battery of issue 7.
//!
//! Starts a piñata itself — the hosted runner (`--target hosted`, the
//! default) or the unikernel under QEMU (`--target vm`) — and throws at it
//! what attackers threw at the original: old and unknown protocol versions,
//! Heartbeat, malformed and oversized records, fragmented and interleaved
//! handshakes, renegotiation, early data, certificates that must not pass,
//! garbage, slowloris, a connection flood, resets, connect-back to ports
//! that do not answer, and HTTP abuse. Every case is client code here:
//! raw TCP with hand-built TLS records, rustls clients and servers with
//! certificates from other piñata CAs, and `openssl` where a real
//! renegotiation is needed. Loopback only; every loop is bounded.
//!
//! For each case it records what was sent, what came back, whether any
//! piece of the secret was seen (in any byte received, any decrypted
//! plaintext, any log line, or as a `secrets_sent` counter moving: must be
//! never), the page's latency while the case runs and after it (must
//! answer within 1 s), and the `/stats.json` counters the case moved. It
//! exits non-zero on any leak, crash (process gone, page not answering) or
//! page latency over 1 s.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

/// The prize the target is started with: BIP-32's well-known test vector
/// "private key 1" as a testnet-family WIF, read as regtest. Worthless.
const WIF: &str = "cMahea7zqjxrtgAbB7LSGbcQUr1uX1ojuat9jZodMN87JcbXMTcA";

/// The page must answer within this, during and after every case.
const PAGE_LIMIT: Duration = Duration::from_secs(1);

/// How long a case waits for the piñata to answer or close.
const REPLY_WAIT: Duration = Duration::from_secs(6);

pub const USAGE: &str = "\
usage: cargo xtask attack [--target hosted|vm] [--soak N] [--full] [--release]

  --target hosted  the hosted runner (default): builds and runs target/*/pinata
  --target vm      the unikernel under QEMU (builds the image)
  --soak N         after the battery, N more connections in a loop, then
                   the page and the target's memory (hosted: RSS) again
  --full           also run the external scanners found on the PATH
                   (testssl.sh, sslscan, nmap --script ssl-enum-ciphers)
  --release        hosted: the release build of the piñata";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Hosted,
    Vm,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub target: TargetKind,
    pub soak: usize,
    pub full: bool,
    pub release: bool,
}

pub fn main(root: &Path, args: &[String]) -> Result<(), String> {
    let mut options = Options {
        target: TargetKind::Hosted,
        soak: 0,
        full: false,
        release: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--target" => {
                options.target = match args.next().map(String::as_str) {
                    Some("hosted") => TargetKind::Hosted,
                    Some("vm") => TargetKind::Vm,
                    other => return Err(format!("--target: {other:?} is not hosted or vm")),
                }
            }
            "--soak" => {
                let n = args.next().ok_or("--soak needs a number")?;
                options.soak = n
                    .parse()
                    .map_err(|_| format!("--soak: `{n}` is not a number"))?;
            }
            "--full" => options.full = true,
            "--release" => options.release = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    run(root, &options)
}

/// CI: the quick battery against the hosted runner, then against the
/// unikernel under QEMU (`XTASK_NO_ATTACK_VM=1` skips the latter).
pub fn ci(root: &Path) -> Result<(), String> {
    let mut options = Options {
        target: TargetKind::Hosted,
        soak: 0,
        full: false,
        release: false,
    };
    run(root, &options)?;
    if std::env::var_os("XTASK_NO_ATTACK_VM").is_some() {
        println!("xtask attack: XTASK_NO_ATTACK_VM set, the VM battery is skipped");
        return Ok(());
    }
    options.target = TargetKind::Vm;
    run(root, &options)
}

// ---------------------------------------------------------------------------
// The target

struct Target {
    kind: TargetKind,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    /// http, https, server, connect_back, client
    ports: [u16; 5],
    /// The caller's port that connect-back dials (on 127.0.0.1).
    cb_port: u16,
    dir: PathBuf,
}

const SERVICES: [&str; 5] = ["http", "https", "server", "connect_back", "client"];

impl Target {
    fn port(&self, service: &str) -> u16 {
        let i = SERVICES
            .iter()
            .position(|s| *s == service)
            .expect("service");
        self.ports[i]
    }

    fn alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(Some(status)) => return Err(format!("target process exited ({status})")),
            Err(e) => return Err(format!("cannot query the target process: {e}")),
            Ok(None) => {}
        }
        let log = self.log.lock().unwrap();
        if let Some(line) = log.iter().find(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("panicked")
                || l.contains("panic:")
                || l.contains("exception") && l.contains("fault")
        }) {
            return Err(format!("the console reports a fault: {line}"));
        }
        Ok(())
    }

    fn log_len(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    fn log_since(&self, from: usize) -> Vec<String> {
        self.log.lock().unwrap()[from..].to_vec()
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// Collects a child's stdout and stderr lines (without a console's
/// timestamps or CRs) into `log`.
fn collect_output(child: &mut Child, log: &Arc<Mutex<Vec<String>>>) {
    let readers: Vec<Box<dyn Read + Send>> = vec![
        Box::new(child.stdout.take().expect("stdout")),
        Box::new(child.stderr.take().expect("stderr")),
    ];
    for reader in readers {
        let log = log.clone();
        thread::spawn(move || {
            for line in BufReader::new(reader).split(b'\n').map_while(Result::ok) {
                let line = String::from_utf8_lossy(&line);
                let line = line.trim_end_matches('\r');
                let line = match line.strip_prefix('[').and_then(|r| r.split_once("] ")) {
                    Some((stamp, text))
                        if stamp.trim().chars().all(|c| c.is_ascii_digit() || c == '.') =>
                    {
                        text
                    }
                    _ => line,
                };
                log.lock().unwrap().push(line.to_string());
            }
        });
    }
}

fn wait_line(
    log: &Arc<Mutex<Vec<String>>>,
    child: &mut Child,
    limit: Duration,
    pred: impl Fn(&str) -> bool,
) -> Result<String, String> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(line) = log.lock().unwrap().iter().find(|l| pred(l)) {
            return Ok(line.clone());
        }
        if let Ok(Some(status)) = child.try_wait() {
            thread::sleep(Duration::from_millis(200));
            return Err(format!(
                "the target exited during start ({status}):\n{}",
                log.lock().unwrap().join("\n")
            ));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the target did not become ready in {limit:?}:\n{}",
                log.lock().unwrap().join("\n")
            ));
        }
        thread::sleep(Duration::from_millis(50));
    }
}

fn start_hosted(root: &Path, release: bool, dir: PathBuf) -> Result<Target, String> {
    let mut build = vec!["build", "--locked", "-p", "pinata", "--bin", "pinata"];
    if release {
        build.push("--release");
    }
    crate::cargo(&build)?;
    let binary = crate::image::target_dir(root)
        .join(if release { "release" } else { "debug" })
        .join("pinata");
    let secret = dir.join("prize.wif");
    std::fs::write(&secret, format!("{WIF}\n")).map_err(|e| e.to_string())?;
    let cb_port = free_port()?;
    let mut cmd = Command::new(&binary);
    cmd.args(["--bind", "127.0.0.1", "--network", "regtest"]);
    for flag in [
        "--http-port",
        "--https-port",
        "--server-port",
        "--connect-back-port",
        "--client-port",
    ] {
        cmd.args([flag, "0"]);
    }
    cmd.arg("--secret-file").arg(&secret);
    cmd.args(["--connect-back-target-port", &cb_port.to_string()]);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let log = Arc::new(Mutex::new(Vec::new()));
    collect_output(&mut child, &log);
    wait_line(&log, &mut child, Duration::from_secs(60), |l| {
        l.starts_with("pinata: ready")
    })?;
    let mut ports = [0u16; 5];
    for line in log.lock().unwrap().iter() {
        if let Some(rest) = line.strip_prefix("pinata: listening service=")
            && let Some((service, addr)) = rest.split_once(" addr=")
            && let Some(i) = SERVICES.iter().position(|s| *s == service)
        {
            ports[i] = addr.rsplit(':').next().unwrap_or("0").parse().unwrap_or(0);
        }
    }
    if ports.contains(&0) {
        return Err(format!(
            "could not read the ports: {:?}",
            log.lock().unwrap()
        ));
    }
    Ok(Target {
        kind: TargetKind::Hosted,
        child,
        log,
        ports,
        cb_port,
        dir,
    })
}

fn start_vm(root: &Path, dir: PathBuf) -> Result<Target, String> {
    let image = crate::image::build_image(root)?;
    let secret = dir.join("prize.wif");
    std::fs::write(&secret, format!("{WIF}\n")).map_err(|e| e.to_string())?;
    // A free port found now can be taken before QEMU binds it: QEMU then
    // says so at once and exits, and we try again with other ports.
    for _ in 0..5 {
        let mut ports = [0u16; 5];
        for p in &mut ports {
            *p = free_port()?;
        }
        let cb_port = free_port()?;
        let options = crate::qemu::RunOptions {
            secret_file: Some(secret.clone()),
            host_ports: ports,
            append: vec![format!("network=regtest connect_back_port={cb_port}")],
            ..Default::default()
        };
        let mut child = crate::qemu::qemu_command(&options, &image)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start qemu-system-x86_64: {e}"))?;
        let log = Arc::new(Mutex::new(Vec::new()));
        collect_output(&mut child, &log);
        const PORT_TAKEN: &str = "Could not set up host forwarding rule";
        let line = wait_line(&log, &mut child, Duration::from_secs(300), |l| {
            l.contains("pinata: ready") || l.contains(PORT_TAKEN)
        });
        match line {
            Ok(line) if line.contains(PORT_TAKEN) => {
                let _ = child.kill();
                let _ = child.wait();
                continue;
            }
            Ok(_) => {
                return Ok(Target {
                    kind: TargetKind::Vm,
                    child,
                    log,
                    ports,
                    cb_port,
                    dir,
                });
            }
            Err(e) if e.contains(PORT_TAKEN) => continue,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        }
    }
    Err("QEMU could not bind its forwarded ports in 5 attempts".into())
}

// ---------------------------------------------------------------------------
// Sockets

/// The address page probes come from (hosted): another loopback address
/// than the attacker's 127.0.0.1, as a visitor is another host than the
/// attacker — the per-address connection limit is meant to stop the
/// attacker, not the visitors. Under QEMU's user networking every host
/// connection reaches the guest from 10.0.2.2, so there the probe shares
/// the attacker's address and its limits.
const VISITOR: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// A TCP connection to 127.0.0.1:`port`, from `source` if given.
fn connect_from(source: Option<Ipv4Addr>, port: u16, timeout: Duration) -> io::Result<TcpStream> {
    let stream = match source {
        None => TcpStream::connect_timeout(&loopback(port), timeout)?,
        Some(source) => bound_connect(source, port)?,
    };
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(REPLY_WAIT))?;
    stream.set_write_timeout(Some(REPLY_WAIT))?;
    Ok(stream)
}

/// Bind-before-connect (std cannot): a blocking connect on loopback is
/// answered at once.
fn bound_connect(source: Ipv4Addr, port: u16) -> io::Result<TcpStream> {
    use std::os::fd::FromRawFd;
    fn sockaddr(ip: Ipv4Addr, port: u16) -> libc::sockaddr_in {
        libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(ip).to_be(),
            },
            sin_zero: [0; 8],
        }
    }
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: plain socket calls on a descriptor this function owns; the
    // sockaddr_in values live across the calls that read them, and the
    // descriptor is either closed here or handed to TcpStream exactly once.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let local = sockaddr(source, 0);
        let remote = sockaddr(Ipv4Addr::LOCALHOST, port);
        if libc::bind(fd, (&local as *const libc::sockaddr_in).cast(), len) != 0
            || libc::connect(fd, (&remote as *const libc::sockaddr_in).cast(), len) != 0
        {
            let e = io::Error::last_os_error();
            libc::close(fd);
            return Err(e);
        }
        Ok(TcpStream::from_raw_fd(fd))
    }
}

/// Closes `stream` with a reset (SO_LINGER 0) instead of a FIN.
fn reset(stream: TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a descriptor `stream` owns, with a correctly
    // sized linger value that outlives the call.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
    drop(stream);
}

/// Reads until the peer closes, an error, or `limit`.
fn read_until_close(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, String) {
    let deadline = Instant::now() + limit;
    let mut out = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (out, "still open".into());
        }
        let _ = stream.set_read_timeout(Some(left.max(Duration::from_millis(1))));
        match stream.read(&mut buf) {
            Ok(0) => return (out, "closed".into()),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return (out, "still open".into());
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (out, format!("error: {}", e.kind())),
        }
    }
}

// ---------------------------------------------------------------------------
// The page probe

/// One GET / from the visitor's address: the latency, or why it failed.
fn probe_page(target_kind: TargetKind, port: u16) -> Result<Duration, String> {
    let start = Instant::now();
    let source = (target_kind == TargetKind::Hosted).then_some(VISITOR);
    let mut stream = match source {
        Some(source) => bound_connect(source, port),
        None => TcpStream::connect_timeout(&loopback(port), PAGE_LIMIT),
    }
    .map_err(|e| format!("connect: {e}"))?;
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: pinata\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let (bytes, _) = read_until_close(&mut stream, PAGE_LIMIT.saturating_sub(start.elapsed()));
    let elapsed = start.elapsed();
    if !bytes.starts_with(b"HTTP/1.1 200") {
        let got = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).to_string();
        return Err(format!(
            "no 200 within {} ms ({got:?})",
            elapsed.as_millis()
        ));
    }
    Ok(elapsed)
}

/// Probes the page every 200 ms in the background until stopped.
struct Prober {
    stop: Arc<AtomicBool>,
    handle: thread::JoinHandle<(Duration, Vec<String>)>,
}

impl Prober {
    fn start(kind: TargetKind, port: u16) -> Prober {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = thread::spawn(move || {
            let mut max = Duration::ZERO;
            let mut failures = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                match probe_page(kind, port) {
                    Ok(t) => max = max.max(t),
                    Err(e) => {
                        max = max.max(PAGE_LIMIT);
                        failures.push(e);
                    }
                }
                thread::sleep(Duration::from_millis(200));
            }
            (max, failures)
        });
        Prober { stop, handle }
    }

    fn finish(self) -> (Duration, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle
            .join()
            .unwrap_or((PAGE_LIMIT, vec!["prober panicked".into()]))
    }
}

/// `/stats.json` flattened to `service.counter` and `service.reason`.
fn stats(kind: TargetKind, port: u16) -> Result<BTreeMap<String, u64>, String> {
    let source = (kind == TargetKind::Hosted).then_some(VISITOR);
    let mut stream =
        connect_from(source, port, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET /stats.json HTTP/1.1\r\nHost: pinata\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let (bytes, _) = read_until_close(&mut stream, Duration::from_secs(3));
    let text = String::from_utf8_lossy(&bytes);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .ok_or("no /stats.json body")?;
    let json: serde_json::Value =
        serde_json::from_str(body).map_err(|e| format!("bad /stats.json: {e}"))?;
    let mut out = BTreeMap::new();
    if let Some(services) = json["services"].as_object() {
        for (service, counters) in services {
            let Some(counters) = counters.as_object() else {
                continue;
            };
            for (key, value) in counters {
                if let Some(n) = value.as_u64() {
                    out.insert(format!("{service}.{key}"), n);
                } else if let Some(reasons) = value.as_object() {
                    for (reason, n) in reasons {
                        out.insert(format!("{service}.{reason}"), n.as_u64().unwrap_or(0));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The counters that moved, without the probes' own http requests.
fn delta(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> Vec<(String, u64)> {
    after
        .iter()
        .filter(|(k, _)| *k != "http.connections" && *k != "http.requests")
        .filter_map(|(k, v)| {
            let d = v.saturating_sub(before.get(k).copied().unwrap_or(0));
            (d > 0).then(|| (k.clone(), d))
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Leak detection

/// Whether any 16-character piece of the WIF occurs in `bytes`.
fn contains_secret(bytes: &[u8]) -> bool {
    let wif = WIF.as_bytes();
    wif.windows(16)
        .any(|piece| bytes.windows(16).any(|w| w == piece))
}

// ---------------------------------------------------------------------------
// TLS records, by hand

fn record(content_type: u8, version: u16, payload: &[u8]) -> Vec<u8> {
    let mut r = vec![content_type];
    r.extend_from_slice(&version.to_be_bytes());
    r.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    r.extend_from_slice(payload);
    r
}

fn u16s(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

fn with_len16(body: &[u8]) -> Vec<u8> {
    let mut v = (body.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

/// A ClientHello handshake message (header included).
struct Hello {
    legacy_version: u16,
    /// supported_versions; empty leaves the extension out.
    versions: Vec<u16>,
    suites: Vec<u16>,
    key_share: bool,
    extra: Vec<(u16, Vec<u8>)>,
}

impl Hello {
    /// What a TLS 1.3 and 1.2 client offers.
    fn modern() -> Hello {
        Hello {
            legacy_version: 0x0303,
            versions: vec![0x0304, 0x0303],
            suites: vec![0x1301, 0x1302, 0x1303, 0xc02b, 0xc02c, 0xcca9],
            key_share: true,
            extra: Vec::new(),
        }
    }

    /// A TLS 1.2-only client (no supported_versions, no key share).
    fn tls12() -> Hello {
        Hello {
            versions: Vec::new(),
            suites: vec![0xc02b, 0xc02c, 0xcca9],
            key_share: false,
            extra: vec![(0xff01, vec![0])], // renegotiation_info, empty
            ..Hello::modern()
        }
    }

    fn message(&self) -> Vec<u8> {
        let mut body = self.legacy_version.to_be_bytes().to_vec();
        body.extend_from_slice(&[0x42; 32]); // random
        body.push(32);
        body.extend_from_slice(&[0x24; 32]); // legacy session id
        body.extend_from_slice(&with_len16(&u16s(&self.suites)));
        body.extend_from_slice(&[1, 0]); // null compression
        let mut ext = Vec::new();
        let mut push = |kind: u16, data: &[u8]| {
            ext.extend_from_slice(&kind.to_be_bytes());
            ext.extend_from_slice(&with_len16(data));
        };
        push(10, &with_len16(&u16s(&[0x001d, 0x0017]))); // supported_groups
        push(11, &[1, 0]); // ec_point_formats
        push(13, &with_len16(&u16s(&[0x0403, 0x0807, 0x0804]))); // signature_algorithms
        if !self.versions.is_empty() {
            let list = u16s(&self.versions);
            let mut data = vec![list.len() as u8];
            data.extend_from_slice(&list);
            push(43, &data);
        }
        if self.key_share {
            // X25519 with the base point (9) as public key: a valid share.
            let mut share = u16s(&[0x001d, 32]);
            let mut point = [0u8; 32];
            point[0] = 9;
            share.extend_from_slice(&point);
            push(51, &with_len16(&share));
        }
        for (kind, data) in &self.extra {
            push(*kind, data);
        }
        body.extend_from_slice(&with_len16(&ext));
        let mut msg = vec![1, 0];
        msg.extend_from_slice(&(body.len() as u16).to_be_bytes());
        msg.extend_from_slice(&body);
        msg
    }

    fn record(&self, record_version: u16) -> Vec<u8> {
        record(0x16, record_version, &self.message())
    }
}

/// SSLv2-format CLIENT-HELLO (RFC 6101 appendix E.2), as old scanners send.
fn sslv2_hello(version: u16) -> Vec<u8> {
    let specs: &[u8] = &[
        0x07, 0x00, 0xc0, 0x05, 0x00, 0x80, 0x03, 0x00, 0x80, 0x00, 0x00, 0x2f, 0x00, 0xc0, 0x2b,
    ];
    let challenge = [0x5a; 16];
    let mut body = vec![1];
    body.extend_from_slice(&version.to_be_bytes());
    body.extend_from_slice(&(specs.len() as u16).to_be_bytes());
    body.extend_from_slice(&0u16.to_be_bytes());
    body.extend_from_slice(&(challenge.len() as u16).to_be_bytes());
    body.extend_from_slice(specs);
    body.extend_from_slice(&challenge);
    let mut out = vec![0x80 | (body.len() >> 8) as u8, body.len() as u8];
    out.extend_from_slice(&body);
    out
}

fn alert_name(code: u8) -> String {
    let name = match code {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        22 => "record_overflow",
        40 => "handshake_failure",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        116 => "certificate_required",
        _ => return format!("alert#{code}"),
    };
    name.to_string()
}

fn handshake_name(kind: u8) -> String {
    match kind {
        1 => "ClientHello".into(),
        2 => "ServerHello".into(),
        4 => "NewSessionTicket".into(),
        8 => "EncryptedExtensions".into(),
        11 => "Certificate".into(),
        12 => "ServerKeyExchange".into(),
        13 => "CertificateRequest".into(),
        14 => "ServerHelloDone".into(),
        other => format!("hs#{other}"),
    }
}

/// A one-line description of what came back: TLS records by name, an HTTP
/// status line, or the first bytes in hex.
fn describe(bytes: &[u8], end: &str) -> String {
    if bytes.is_empty() {
        return format!("nothing; {end}");
    }
    if bytes.starts_with(b"HTTP/") {
        let line = bytes.split(|b| *b == b'\r').next().unwrap_or(bytes);
        let responses = bytes
            .windows(9)
            .filter(|w| w.starts_with(b"HTTP/1."))
            .count();
        return format!(
            "{} ({} B, {responses} response{}); {end}",
            String::from_utf8_lossy(&line[..line.len().min(40)]),
            bytes.len(),
            if responses == 1 { "" } else { "s" }
        );
    }
    if matches!(bytes[0], 0x14..=0x18) && bytes.len() >= 5 && bytes[1] == 3 {
        let mut parts: Vec<String> = Vec::new();
        let mut rest = bytes;
        while rest.len() >= 5 {
            let len = u16::from_be_bytes([rest[3], rest[4]]) as usize;
            let payload = &rest[5..(5 + len).min(rest.len())];
            let part = match rest[0] {
                0x15 if payload.len() >= 2 => format!(
                    "alert {} {}",
                    if payload[0] == 2 { "fatal" } else { "warning" },
                    alert_name(payload[1])
                ),
                0x16 => payload
                    .first()
                    .map(|k| handshake_name(*k))
                    .unwrap_or_else(|| "handshake".into()),
                0x14 => "CCS".into(),
                0x17 => "encrypted".into(),
                other => format!("record#{other}"),
            };
            if parts.last() != Some(&part) {
                parts.push(part);
            }
            rest = &rest[(5 + len).min(rest.len())..];
        }
        return format!("{} ({} B); {end}", parts.join(", "), bytes.len());
    }
    let hex: String = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{hex}… ({} B); {end}", bytes.len())
}

// ---------------------------------------------------------------------------
// Cases

/// What one case did.
#[derive(Default)]
struct Exchange {
    sent: String,
    reply: String,
    /// Every byte received and every decrypted byte, for the leak check.
    seen: Vec<u8>,
    /// Extra time for the piñata to finish its side before counters are read.
    settle: Duration,
}

type CaseFn = fn(&Ctx) -> Exchange;

struct Ctx<'a> {
    target: &'a Target,
    pki: &'a Certs,
}

impl Ctx<'_> {
    fn port(&self, service: &str) -> u16 {
        self.target.port(service)
    }

    /// Connects as the attacker, sends `chunks` (pausing `gap` between
    /// them), half-closes if asked, and reads until the piñata closes.
    fn raw(&self, service: &str, chunks: &[Vec<u8>], gap: Duration, half_close: bool) -> Exchange {
        let total: usize = chunks.iter().map(Vec::len).sum();
        let mut stream = match connect_from(None, self.port(service), Duration::from_secs(3)) {
            Ok(s) => s,
            Err(e) => {
                return Exchange {
                    reply: format!("connect failed: {e}"),
                    ..Default::default()
                };
            }
        };
        let mut write_error = None;
        for (i, chunk) in chunks.iter().enumerate() {
            if i > 0 && !gap.is_zero() {
                thread::sleep(gap);
            }
            if let Err(e) = stream.write_all(chunk) {
                write_error = Some(format!("write stopped at chunk {i}: {}", e.kind()));
                break;
            }
        }
        if half_close {
            let _ = stream.shutdown(Shutdown::Write);
        }
        let (bytes, end) = read_until_close(&mut stream, REPLY_WAIT);
        let mut reply = describe(&bytes, &end);
        if let Some(e) = write_error {
            reply = format!("{reply} ({e})");
        }
        Exchange {
            sent: format!("{total} B"),
            reply,
            seen: bytes,
            settle: Duration::ZERO,
        }
    }
}

fn sent(mut x: Exchange, what: &str) -> Exchange {
    x.sent = format!("{what} ({})", x.sent);
    x
}

const NO_GAP: Duration = Duration::ZERO;

// --- protocol abuse ---------------------------------------------------------

fn c_sslv2(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw("server", &[sslv2_hello(0x0002)], NO_GAP, true),
        "SSLv2 CLIENT-HELLO",
    )
}
fn c_sslv2_compat(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw("https", &[sslv2_hello(0x0303)], NO_GAP, true),
        "SSLv2-format hello offering TLS 1.2",
    )
}
fn old_hello(version: u16) -> Vec<u8> {
    Hello {
        legacy_version: version,
        versions: Vec::new(),
        suites: vec![0x002f, 0x0035, 0xc013, 0xc02b],
        key_share: false,
        extra: Vec::new(),
    }
    .record(version)
}
fn c_sslv3(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw("server", &[old_hello(0x0300)], NO_GAP, true),
        "SSLv3 ClientHello",
    )
}
fn c_tls10(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw("server", &[old_hello(0x0301)], NO_GAP, true),
        "TLS 1.0 ClientHello",
    )
}
fn c_tls11(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw("https", &[old_hello(0x0302)], NO_GAP, true),
        "TLS 1.1 ClientHello",
    )
}
/// Heartbeat request claiming 16 KiB of payload with 1 byte present.
fn heartbeat() -> Vec<u8> {
    record(24, 0x0303, &[1, 0x40, 0x00, 0x41])
}
fn c_heartbeat_first(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw("server", &[heartbeat()], NO_GAP, true),
        "Heartbeat request (claims 16 KiB) before any hello",
    )
}
fn c_heartbeat_after_hello(ctx: &Ctx) -> Exchange {
    let mut hello = Hello::tls12();
    hello.extra.push((15, vec![1])); // heartbeat extension, peer_allowed_to_send
    sent(
        ctx.raw(
            "server",
            &[hello.record(0x0301), heartbeat()],
            Duration::from_millis(200),
            true,
        ),
        "TLS 1.2 hello with heartbeat ext, then Heartbeat request",
    )
}
fn c_unknown_record_version(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw("server", &[Hello::modern().record(0x7f7f)], NO_GAP, true),
        "ClientHello in a record of version 0x7f7f",
    )
}
fn c_unknown_content_type(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw("server", &[record(99, 0x0303, b"hello?")], NO_GAP, true),
        "record of content type 99",
    )
}
fn c_unknown_type_after_hello(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw(
            "https",
            &[Hello::modern().record(0x0301), record(0, 0x0303, &[0; 8])],
            Duration::from_millis(200),
            true,
        ),
        "hello, then a record of content type 0",
    )
}
fn c_oversized_record(ctx: &Ctx) -> Exchange {
    // 2^14 + 256 + 1: over even the ciphertext limit.
    let payload = vec![0x16; (1 << 14) + 257];
    sent(
        ctx.raw("server", &[record(0x16, 0x0303, &payload)], NO_GAP, true),
        "handshake record of 16,641 B",
    )
}
fn c_max_length_record(ctx: &Ctx) -> Exchange {
    let payload = vec![0x17; 0xffff];
    sent(
        ctx.raw("https", &[record(0x17, 0x0303, &payload)], NO_GAP, true),
        "application-data record of 65,535 B",
    )
}
fn c_huge_handshake_length(ctx: &Ctx) -> Exchange {
    // A ClientHello header claiming 16 MiB, in valid records.
    let mut chunks = vec![record(0x16, 0x0301, &[1, 0xff, 0xff, 0xff])];
    for _ in 0..8 {
        chunks.push(record(0x16, 0x0303, &[0; 16384]));
    }
    sent(
        ctx.raw("server", &chunks, NO_GAP, true),
        "ClientHello claiming 16 MiB, then 128 KiB of it",
    )
}
fn c_fragmented_hello(ctx: &Ctx) -> Exchange {
    let records: Vec<u8> = Hello::modern()
        .message()
        .iter()
        .flat_map(|b| record(0x16, 0x0301, &[*b]))
        .collect();
    sent(
        ctx.raw("server", &[records], NO_GAP, true),
        "ClientHello in 1-byte records",
    )
}
fn c_interleaved_hello(ctx: &Ctx) -> Exchange {
    let message = Hello::modern().message();
    let (a, b) = message.split_at(20);
    let chunks = vec![
        record(0x16, 0x0301, a),
        record(0x17, 0x0303, b"interleaved"),
        record(0x15, 0x0303, &[1, 0]),
        record(0x16, 0x0301, b),
    ];
    sent(
        ctx.raw("server", &chunks, NO_GAP, true),
        "hello fragment, app data, alert, rest of hello",
    )
}
fn c_two_hellos(ctx: &Ctx) -> Exchange {
    let hello = Hello::tls12().record(0x0301);
    sent(
        ctx.raw(
            "server",
            &[hello.clone(), hello],
            Duration::from_millis(300),
            true,
        ),
        "TLS 1.2 ClientHello, then a second one (renegotiation on the raw stream)",
    )
}
fn c_two_hellos_13(ctx: &Ctx) -> Exchange {
    let hello = Hello::modern().record(0x0301);
    sent(
        ctx.raw(
            "https",
            &[hello.clone(), hello],
            Duration::from_millis(300),
            true,
        ),
        "TLS 1.3 ClientHello twice",
    )
}
fn c_early_data(ctx: &Ctx) -> Exchange {
    let mut hello = Hello::modern();
    // early_data, and a PSK binder-less psk_key_exchange_modes.
    hello.extra.push((45, vec![1, 1]));
    hello.extra.push((42, Vec::new()));
    let early = record(0x17, 0x0303, &[0xee; 64]);
    sent(
        ctx.raw(
            "server",
            &[hello.record(0x0301), early.clone(), early],
            NO_GAP,
            true,
        ),
        "TLS 1.3 hello with early_data, then 0-RTT records",
    )
}
fn c_ccs_first(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw("server", &[record(0x14, 0x0303, &[1])], NO_GAP, true),
        "ChangeCipherSpec before the hello",
    )
}
fn c_ccs_bad(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw(
            "server",
            &[
                Hello::modern().record(0x0301),
                record(0x14, 0x0303, &[2, 2]),
            ],
            Duration::from_millis(200),
            true,
        ),
        "hello, then a malformed ChangeCipherSpec",
    )
}
fn c_ccs_many(ctx: &Ctx) -> Exchange {
    let ccs: Vec<u8> = (0..64).flat_map(|_| record(0x14, 0x0303, &[1])).collect();
    sent(
        ctx.raw(
            "server",
            &[Hello::modern().record(0x0301), ccs],
            Duration::from_millis(200),
            true,
        ),
        "hello, then 64 ChangeCipherSpec",
    )
}
fn c_ccs_tls12(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw(
            "server",
            &[
                Hello::tls12().record(0x0301),
                record(0x14, 0x0303, &[1]),
                record(
                    0x16,
                    0x0303,
                    &[20, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                ),
            ],
            Duration::from_millis(200),
            true,
        ),
        "TLS 1.2 hello, CCS and Finished without a key exchange",
    )
}
fn c_alert_mid_handshake(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw(
            "server",
            &[
                Hello::modern().record(0x0301),
                record(0x15, 0x0303, &[2, 40]),
            ],
            Duration::from_millis(200),
            true,
        ),
        "hello, then fatal handshake_failure alert",
    )
}
fn c_warning_alerts(ctx: &Ctx) -> Exchange {
    let alerts: Vec<u8> = (0..32)
        .flat_map(|_| record(0x15, 0x0303, &[1, 90]))
        .collect();
    sent(
        ctx.raw("server", &[alerts], NO_GAP, true),
        "32 warning alerts before the hello",
    )
}
fn c_zero_length(ctx: &Ctx) -> Exchange {
    let empty: Vec<u8> = (0..5000).flat_map(|_| record(0x16, 0x0303, &[])).collect();
    sent(
        ctx.raw("server", &[empty], NO_GAP, true),
        "5,000 empty handshake records",
    )
}
fn c_zero_length_appdata(ctx: &Ctx) -> Exchange {
    let empty: Vec<u8> = (0..5000).flat_map(|_| record(0x17, 0x0303, &[])).collect();
    sent(
        ctx.raw(
            "https",
            &[Hello::modern().record(0x0301), empty],
            Duration::from_millis(200),
            true,
        ),
        "hello, then 5,000 empty application-data records",
    )
}
fn c_client_port_garbage_server(ctx: &Ctx) -> Exchange {
    // On 10002 the piñata is the TLS client: answer its hello with a
    // ServerHello for SSLv3.
    let server_hello = {
        let mut body = 0x0300u16.to_be_bytes().to_vec();
        body.extend_from_slice(&[0x11; 32]);
        body.push(0);
        body.extend_from_slice(&[0x00, 0x2f, 0]);
        let mut msg = vec![2, 0, 0, body.len() as u8];
        msg.extend_from_slice(&body);
        record(0x16, 0x0300, &msg)
    };
    sent(
        ctx.raw(
            "client",
            &[server_hello, heartbeat()],
            Duration::from_millis(200),
            true,
        ),
        "as the server: an SSLv3 ServerHello and a Heartbeat",
    )
}

/// A real TLS 1.2 handshake on 443, then `R` (renegotiate) in s_client.
fn c_renegotiation(ctx: &Ctx) -> Exchange {
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-tls1_2", "-connect"])
        .arg(format!("127.0.0.1:{}", ctx.port("https")))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let Ok(mut child) = cmd.spawn() else {
        return Exchange {
            sent: "openssl s_client -tls1_2, R".into(),
            reply: "skipped: no openssl".into(),
            ..Default::default()
        };
    };
    let mut stdin = child.stdin.take();
    thread::sleep(Duration::from_millis(1500));
    if let Some(stdin) = stdin.as_mut() {
        let _ = stdin.write_all(b"R\n");
    }
    thread::sleep(Duration::from_millis(1500));
    if let Some(stdin) = stdin.as_mut() {
        let _ = stdin.write_all(b"GET / HTTP/1.0\r\n\r\n");
    }
    thread::sleep(Duration::from_millis(1000));
    let _ = child.kill();
    drop(stdin);
    let out = child.wait_with_output().ok();
    let text = out
        .map(|o| {
            let mut v = o.stdout;
            v.extend_from_slice(&o.stderr);
            v
        })
        .unwrap_or_default();
    let s = String::from_utf8_lossy(&text);
    let handshake = if s.contains("Protocol: TLSv1.2") || s.contains("Protocol  : TLSv1.2") {
        "TLS 1.2 handshake done"
    } else {
        "no TLS 1.2 handshake"
    };
    let reneg = s
        .lines()
        .find(|l| l.contains("alert") || l.contains("RENEGOTIATING") || l.contains("renegotiation"))
        .unwrap_or("-")
        .trim()
        .to_string();
    let reneg = reneg.rsplit(':').next().unwrap_or(&reneg).to_string();
    Exchange {
        sent: "openssl s_client -tls1_2, then R (renegotiate), then GET".into(),
        reply: format!("{handshake}; {reneg}"),
        seen: text,
        settle: Duration::from_millis(300),
    }
}

// --- certificates ----------------------------------------------------------

/// Identities the piñata must refuse, made once per run.
struct Certs {
    other: pinata::pki::Pki,
    expired: pinata::pki::Pki,
    not_yet: pinata::pki::Pki,
    /// CA certificates of ten more piñatas (for a long chain).
    more_cas: Vec<CertificateDer<'static>>,
    self_signed: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>,
}

fn make_certs(dir: &Path) -> Result<Certs, String> {
    use pinata::pki::{PkiOptions, bootstrap};
    let random = &pinata::random::OS_RANDOM;
    let now = UnixTime::now().as_secs();
    let at = |secs: u64, days: u32| {
        let mut o = PkiOptions::new(UnixTime::since_unix_epoch(Duration::from_secs(secs)));
        o.validity_days = days;
        o
    };
    let pki = |o: &PkiOptions| bootstrap(random, o).map_err(|e| format!("PKI: {e:?}"));
    let day = 86_400;
    let other = pki(&at(now, 30))?;
    let expired = pki(&at(now - 400 * day, 30))?;
    let not_yet = pki(&at(now + 400 * day, 30))?;
    let mut more_cas = Vec::new();
    for _ in 0..10 {
        more_cas.push(pki(&at(now, 30))?.ca_cert);
    }
    Ok(Certs {
        other,
        expired,
        not_yet,
        more_cas,
        self_signed: openssl_self_signed(dir),
    })
}

/// A self-signed P-256 client certificate made by `openssl` (DER), if
/// openssl is there.
fn openssl_self_signed(dir: &Path) -> Option<(CertificateDer<'static>, PrivateKeyDer<'static>)> {
    let key_pem = dir.join("self.key");
    let cert = dir.join("self.der");
    let key = dir.join("self.key.der");
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args([
            "-days",
            "30",
            "-subj",
            "/CN=Piñata bounty client",
            "-outform",
            "DER",
        ])
        .arg("-keyout")
        .arg(&key_pem)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?
        .success()
        && Command::new("openssl")
            .args(["pkcs8", "-topk8", "-nocrypt", "-outform", "DER"])
            .arg("-in")
            .arg(&key_pem)
            .arg("-out")
            .arg(&key)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()?
            .success();
    if !ok {
        return None;
    }
    let cert = std::fs::read(&cert).ok()?;
    let key = std::fs::read(&key).ok()?;
    Some((CertificateDer::from(cert), PrivateKeyDer::Pkcs8(key.into())))
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    static PROVIDER: std::sync::OnceLock<Arc<rustls::crypto::CryptoProvider>> =
        std::sync::OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(pinata::provider::provider(&pinata::random::OS_RANDOM)))
        .clone()
}

/// Accepts any server certificate: the attacker does not care who answers.
#[derive(Debug)]
struct AnyServer;

impl rustls::client::danger::ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Presents an arbitrary chain (any bytes) with a real signing key.
#[derive(Debug)]
struct Present(Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for Present {
    fn resolve(
        &self,
        _: &[&[u8]],
        _: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
    fn has_certs(&self) -> bool {
        true
    }
}

/// A rustls client against `service`, presenting `chain` signed with `key`
/// (or no certificate); reads whatever plaintext arrives.
fn rustls_client(
    ctx: &Ctx,
    service: &str,
    tls12: bool,
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> Exchange {
    let provider = provider();
    let versions: &[&'static rustls::SupportedProtocolVersion] = if tls12 {
        &[&rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13]
    };
    let builder = match rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
    {
        Ok(b) => b
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyServer)),
        Err(e) => {
            return Exchange {
                reply: format!("client config: {e}"),
                ..Default::default()
            };
        }
    };
    let (config, what) = match identity {
        None => (builder.with_no_client_auth(), "no certificate".to_string()),
        Some((chain, key)) => {
            let key = match provider.key_provider.load_private_key(key) {
                Ok(k) => k,
                Err(e) => {
                    return Exchange {
                        reply: format!("key: {e}"),
                        ..Default::default()
                    };
                }
            };
            let size: usize = chain.iter().map(|c| c.len()).sum();
            let what = format!("{} cert(s), {size} B", chain.len());
            let certified = rustls::sign::CertifiedKey::new(chain, key);
            (
                builder.with_client_cert_resolver(Arc::new(Present(Arc::new(certified)))),
                what,
            )
        }
    };
    let name = ServerName::try_from(pinata::pki::BOUNTY_SERVER_NAME).expect("name");
    let mut conn = match rustls::ClientConnection::new(Arc::new(config), name) {
        Ok(c) => c,
        Err(e) => {
            return Exchange {
                reply: format!("client: {e}"),
                ..Default::default()
            };
        }
    };
    let mut sock = match connect_from(None, ctx.port(service), Duration::from_secs(3)) {
        Ok(s) => s,
        Err(e) => {
            return Exchange {
                reply: format!("connect failed: {e}"),
                ..Default::default()
            };
        }
    };
    let version = if tls12 { "TLS 1.2" } else { "TLS 1.3" };
    let mut plaintext = Vec::new();
    let deadline = Instant::now() + REPLY_WAIT;
    let mut end = String::from("closed");
    let mut handshake = "handshake incomplete";
    loop {
        if Instant::now() > deadline {
            end = "still open".into();
            break;
        }
        match conn.complete_io(&mut sock) {
            Ok((0, 0)) if !conn.wants_write() => {
                if !conn.is_handshaking() {
                    handshake = "client finished its handshake";
                }
                // Nothing moved: try to read application data.
                let mut buf = [0u8; 4096];
                match conn.reader().read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => plaintext.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        // complete_io returned without progress: peer closed
                        end = "closed".into();
                        break;
                    }
                    Err(e) => {
                        end = format!("{e}");
                        break;
                    }
                }
            }
            Ok(_) => {
                if !conn.is_handshaking() {
                    handshake = "client finished its handshake";
                }
                let mut buf = [0u8; 4096];
                while let Ok(n) = conn.reader().read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    plaintext.extend_from_slice(&buf[..n]);
                }
            }
            Err(e) => {
                if !conn.is_handshaking() {
                    handshake = "client finished its handshake";
                }
                end = short_error(&e.to_string());
                break;
            }
        }
    }
    let reply = if plaintext.is_empty() {
        format!("{handshake}; {end}")
    } else {
        format!("{handshake}; {} B of plaintext; {end}", plaintext.len())
    };
    Exchange {
        sent: format!("rustls {version} client, {what}"),
        reply,
        seen: plaintext,
        settle: Duration::ZERO,
    }
}

fn short_error(e: &str) -> String {
    let e = e.trim();
    let e = e
        .strip_prefix("received fatal alert: ")
        .map(|a| format!("alert {a}"))
        .unwrap_or(e.to_string());
    e.chars().take(60).collect()
}

fn client_identity(
    pki: &pinata::pki::Pki,
) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    (pki.client.cert_chain.clone(), pki.client.key_der())
}

fn c_cert_none(ctx: &Ctx) -> Exchange {
    rustls_client(ctx, "server", false, None)
}
fn c_cert_none_tls12(ctx: &Ctx) -> Exchange {
    rustls_client(ctx, "server", true, None)
}
fn c_cert_self_signed(ctx: &Ctx) -> Exchange {
    match &ctx.pki.self_signed {
        Some((cert, key)) => {
            let x = rustls_client(
                ctx,
                "server",
                false,
                Some((vec![cert.clone()], key.clone_key())),
            );
            sent(x, "self-signed")
        }
        None => Exchange {
            sent: "self-signed".into(),
            reply: "skipped: no openssl".into(),
            ..Default::default()
        },
    }
}
fn c_cert_other_ca(ctx: &Ctx) -> Exchange {
    sent(
        rustls_client(ctx, "server", false, Some(client_identity(&ctx.pki.other))),
        "another piñata's client cert",
    )
}
fn c_cert_other_ca_tls12(ctx: &Ctx) -> Exchange {
    sent(
        rustls_client(ctx, "server", true, Some(client_identity(&ctx.pki.other))),
        "another piñata's client cert",
    )
}
fn c_cert_lookalike_ca(ctx: &Ctx) -> Exchange {
    // [leaf, CA named "Piñata CA" with another key]: same names as the real chain.
    let (mut chain, key) = client_identity(&ctx.pki.other);
    chain.truncate(1);
    chain.push(ctx.pki.other.ca_cert.clone());
    chain.push(ctx.pki.other.ca_cert.clone());
    sent(
        rustls_client(ctx, "server", false, Some((chain, key))),
        "chain claiming the piñata CA's subject, other key",
    )
}
fn c_cert_expired(ctx: &Ctx) -> Exchange {
    sent(
        rustls_client(
            ctx,
            "server",
            false,
            Some(client_identity(&ctx.pki.expired)),
        ),
        "expired (other CA)",
    )
}
fn c_cert_not_yet_valid(ctx: &Ctx) -> Exchange {
    sent(
        rustls_client(ctx, "server", true, Some(client_identity(&ctx.pki.not_yet))),
        "not yet valid (other CA)",
    )
}
fn c_cert_server_eku(ctx: &Ctx) -> Exchange {
    let identity = (
        ctx.pki.other.server.cert_chain.clone(),
        ctx.pki.other.server.key_der(),
    );
    sent(
        rustls_client(ctx, "server", false, Some(identity)),
        "serverAuth-only certificate as client cert",
    )
}
fn c_cert_long_chain(ctx: &Ctx) -> Exchange {
    let (mut chain, key) = client_identity(&ctx.pki.other);
    chain.extend(ctx.pki.more_cas.iter().cloned());
    chain.extend(ctx.pki.more_cas.iter().cloned());
    sent(
        rustls_client(ctx, "server", false, Some((chain, key))),
        "chain of 22 certificates",
    )
}
fn c_cert_oversized(ctx: &Ctx) -> Exchange {
    // A 60 KB DER SEQUENCE.
    let len = 60 * 1024;
    let mut der = vec![0x30, 0x82, (len >> 8) as u8, len as u8];
    der.extend((0..len).map(|i| (i * 7) as u8));
    let (_, key) = client_identity(&ctx.pki.other);
    sent(
        rustls_client(
            ctx,
            "server",
            false,
            Some((vec![CertificateDer::from(der)], key)),
        ),
        "one 60 KB certificate",
    )
}
fn c_cert_malformed(ctx: &Ctx) -> Exchange {
    let (chain, key) = client_identity(&ctx.pki.other);
    let mut truncated = chain[0].to_vec();
    truncated.truncate(truncated.len() / 2);
    let bad = vec![
        CertificateDer::from(vec![0x30, 0x82, 0xff, 0xff, 0x01, 0x02]),
        CertificateDer::from(truncated),
        CertificateDer::from(Vec::new()),
    ];
    sent(
        rustls_client(ctx, "server", true, Some((bad, key))),
        "malformed DER (bad length, truncated, empty)",
    )
}

/// A rustls server on `stream` presenting `identity` to the piñata's client.
fn rustls_server(
    stream: &mut TcpStream,
    identity: (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>),
) -> (Vec<u8>, String) {
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| e.to_string())
        .and_then(|b| {
            b.with_no_client_auth()
                .with_single_cert(identity.0, identity.1)
                .map_err(|e| e.to_string())
        });
    let config = match config {
        Ok(c) => c,
        Err(e) => return (Vec::new(), format!("server config: {e}")),
    };
    let mut conn = match rustls::ServerConnection::new(Arc::new(config)) {
        Ok(c) => c,
        Err(e) => return (Vec::new(), format!("server: {e}")),
    };
    let mut plaintext = Vec::new();
    let deadline = Instant::now() + REPLY_WAIT;
    let end = loop {
        if Instant::now() > deadline {
            break "still open".to_string();
        }
        match conn.complete_io(stream) {
            Ok((0, 0)) => break "closed".to_string(),
            Ok(_) => {
                let mut buf = [0u8; 4096];
                while let Ok(n) = conn.reader().read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    plaintext.extend_from_slice(&buf[..n]);
                }
            }
            Err(e) => break short_error(&e.to_string()),
        }
    };
    (plaintext, end)
}

fn c_client_port_other_ca(ctx: &Ctx) -> Exchange {
    let mut stream = match connect_from(None, ctx.port("client"), Duration::from_secs(3)) {
        Ok(s) => s,
        Err(e) => {
            return Exchange {
                reply: format!("connect failed: {e}"),
                ..Default::default()
            };
        }
    };
    let identity = (
        ctx.pki.other.server.cert_chain.clone(),
        ctx.pki.other.server.key_der(),
    );
    let (plaintext, end) = rustls_server(&mut stream, identity);
    Exchange {
        sent: "as TLS server on 10002: another piñata's server cert".into(),
        reply: format!("{} B of plaintext; {end}", plaintext.len()),
        seen: plaintext,
        settle: Duration::ZERO,
    }
}

/// Connect-back: listen on the caller's port with `identity`, trigger.
fn connect_back_with(
    ctx: &Ctx,
    identity: (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>),
    what: &str,
) -> Exchange {
    let listener = match TcpListener::bind(("127.0.0.1", ctx.target.cb_port)) {
        Ok(l) => l,
        Err(e) => {
            return Exchange {
                reply: format!("cannot listen: {e}"),
                ..Default::default()
            };
        }
    };
    let _ = exchange_closed(ctx, "connect_back");
    let _ = listener.set_nonblocking(true);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut stream = loop {
        match listener.accept() {
            Ok((s, _)) => break s,
            Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                return Exchange {
                    sent: what.into(),
                    reply: format!("the piñata did not dial back: {e}"),
                    ..Default::default()
                };
            }
        }
    };
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(REPLY_WAIT));
    let (plaintext, end) = rustls_server(&mut stream, identity);
    Exchange {
        sent: what.into(),
        reply: format!("dialled back; {} B of plaintext; {end}", plaintext.len()),
        seen: plaintext,
        settle: Duration::from_millis(300),
    }
}

/// Connects to `service`, sends nothing, closes.
fn exchange_closed(ctx: &Ctx, service: &str) -> io::Result<()> {
    let stream = connect_from(None, ctx.port(service), Duration::from_secs(3))?;
    stream.shutdown(Shutdown::Both)
}

fn c_connect_back_other_ca(ctx: &Ctx) -> Exchange {
    let identity = (
        ctx.pki.other.server.cert_chain.clone(),
        ctx.pki.other.server.key_der(),
    );
    connect_back_with(
        ctx,
        identity,
        "connect-back to a server with another piñata's cert",
    )
}
fn c_connect_back_expired(ctx: &Ctx) -> Exchange {
    let identity = (
        ctx.pki.expired.server.cert_chain.clone(),
        ctx.pki.expired.server.key_der(),
    );
    connect_back_with(
        ctx,
        identity,
        "connect-back to a server with an expired cert",
    )
}
fn c_connect_back_closed(ctx: &Ctx) -> Exchange {
    // Nothing listens on the caller's port.
    let r = exchange_closed(ctx, "connect_back");
    Exchange {
        sent: "connect-back, nothing listening on the caller's port".into(),
        reply: match r {
            Ok(()) => "accepted and closed".into(),
            Err(e) => format!("error: {e}"),
        },
        seen: Vec::new(),
        settle: Duration::from_secs(2),
    }
}
fn c_connect_back_silent(ctx: &Ctx) -> Exchange {
    // Accepts the dial, reads the hello, never answers; the piñata's
    // handshake deadline must end it while the page keeps answering.
    let listener = match TcpListener::bind(("127.0.0.1", ctx.target.cb_port)) {
        Ok(l) => l,
        Err(e) => {
            return Exchange {
                reply: format!("cannot listen: {e}"),
                ..Default::default()
            };
        }
    };
    let _ = exchange_closed(ctx, "connect_back");
    let _ = listener.set_nonblocking(true);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut stream = loop {
        match listener.accept() {
            Ok((s, _)) => break s,
            Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                return Exchange {
                    reply: format!("the piñata did not dial back: {e}"),
                    ..Default::default()
                };
            }
        }
    };
    let _ = stream.set_nonblocking(false);
    let started = Instant::now();
    let (bytes, end) = read_until_close(&mut stream, Duration::from_secs(15));
    Exchange {
        sent: "connect-back to a port that accepts and never answers".into(),
        reply: format!(
            "{} after {} s",
            describe(&bytes, &end),
            started.elapsed().as_secs()
        ),
        seen: bytes,
        settle: Duration::from_millis(300),
    }
}

// --- transport ------------------------------------------------------------

fn garbage(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}
fn c_garbage_server(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw("server", &[garbage(4096, 7)], NO_GAP, true),
        "4 KiB of random bytes",
    )
}
fn c_garbage_https(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw("https", &[garbage(4096, 8)], NO_GAP, true),
        "4 KiB of random bytes",
    )
}
fn c_garbage_client(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw("client", &[garbage(4096, 9)], NO_GAP, true),
        "4 KiB of random bytes",
    )
}
fn c_give_me_the_key(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw("server", &[b"give me the key\r\n".to_vec()], NO_GAP, true),
        "plain text \"give me the key\"",
    )
}
fn c_http_to_tls(ctx: &Ctx) -> Exchange {
    sent(
        ctx.raw(
            "server",
            &[b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()],
            NO_GAP,
            true,
        ),
        "an HTTP request",
    )
}
fn c_slowloris_tls(ctx: &Ctx) -> Exchange {
    let hello = Hello::modern().record(0x0301);
    let chunks: Vec<Vec<u8>> = hello.iter().take(5).map(|b| vec![*b]).collect();
    sent(
        ctx.raw("server", &chunks, Duration::from_secs(1), true),
        "a ClientHello, one byte a second for 5 s",
    )
}
fn c_slowloris_http(ctx: &Ctx) -> Exchange {
    let chunks: Vec<Vec<u8>> = b"GET / ".iter().map(|b| vec![*b]).collect();
    sent(
        ctx.raw("http", &chunks, Duration::from_secs(1), true),
        "GET, one byte a second for 6 s",
    )
}
fn c_slowloris_many(ctx: &Ctx) -> Exchange {
    // 30 connections on every TLS port, a byte a second each, 4 s.
    let mut streams = Vec::new();
    for service in ["server", "https", "http"] {
        for _ in 0..10 {
            if let Ok(s) = connect_from(None, ctx.port(service), Duration::from_secs(2)) {
                streams.push(s);
            }
        }
    }
    let hello = Hello::modern().record(0x0301);
    for i in 0..4 {
        for s in &mut streams {
            let _ = s.write_all(&hello[i..i + 1]);
        }
        thread::sleep(Duration::from_secs(1));
    }
    let n = streams.len();
    let mut seen = Vec::new();
    for mut s in streams {
        let _ = s.shutdown(Shutdown::Write);
        let (bytes, _) = read_until_close(&mut s, Duration::from_secs(2));
        seen.extend(bytes);
    }
    Exchange {
        sent: format!("{n} connections, one byte a second each for 4 s"),
        reply: format!("{} B in all; closed", seen.len()),
        seen,
        settle: Duration::from_millis(300),
    }
}
fn c_flood(ctx: &Ctx) -> Exchange {
    flood(ctx, 2000, "server")
}
fn flood(ctx: &Ctx, n: usize, service: &str) -> Exchange {
    let port = ctx.port(service);
    let mut streams = Vec::new();
    let mut failed = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut first_error = String::new();
    for _ in 0..n {
        if Instant::now() > deadline {
            break;
        }
        match TcpStream::connect_timeout(&loopback(port), Duration::from_millis(500)) {
            Ok(s) => streams.push(s),
            Err(e) => {
                failed += 1;
                if first_error.is_empty() {
                    first_error = e.to_string();
                }
            }
        }
    }
    let opened = streams.len();
    // Held idle while the page is probed.
    thread::sleep(Duration::from_secs(2));
    let mut closed_by_peer = 0;
    for s in &streams {
        let _ = s.set_nonblocking(true);
        let mut b = [0u8; 1];
        if matches!((&*s).read(&mut b), Ok(0)) {
            closed_by_peer += 1;
        }
    }
    drop(streams);
    Exchange {
        sent: format!("{n} idle connections, held 2 s"),
        reply: format!(
            "{opened} opened ({closed_by_peer} closed by the piñata), {failed} failed{}",
            if first_error.is_empty() {
                String::new()
            } else {
                format!(" ({first_error})")
            }
        ),
        seen: Vec::new(),
        settle: Duration::from_secs(1),
    }
}
fn c_half_open(ctx: &Ctx) -> Exchange {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for service in ["http", "https", "server", "client"] {
        match connect_from(None, ctx.port(service), Duration::from_secs(2)) {
            Ok(mut s) => {
                let _ = s.shutdown(Shutdown::Write);
                let (bytes, end) = read_until_close(&mut s, Duration::from_secs(3));
                out.push(format!("{service}: {} B, {end}", bytes.len()));
                seen.extend(bytes);
            }
            Err(e) => out.push(format!("{service}: {e}")),
        }
    }
    Exchange {
        sent: "connect, send nothing, FIN (http, https, server, client)".into(),
        reply: out.join("; "),
        seen,
        settle: Duration::ZERO,
    }
}
fn c_reset_mid_handshake(ctx: &Ctx) -> Exchange {
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for service in ["server", "https", "client"] {
        match connect_from(None, ctx.port(service), Duration::from_secs(2)) {
            Ok(mut s) => {
                if service != "client" {
                    let _ = s.write_all(&Hello::modern().record(0x0301));
                }
                let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
                let mut buf = [0u8; 64];
                let n = s.read(&mut buf).unwrap_or(0);
                seen.extend_from_slice(&buf[..n]);
                out.push(format!("{service}: {}", describe(&buf[..n], "reset")));
                reset(s);
            }
            Err(e) => out.push(format!("{service}: {e}")),
        }
    }
    Exchange {
        sent: "hello, read the first answer, RST (SO_LINGER 0)".into(),
        reply: out.join("; "),
        seen,
        settle: Duration::from_millis(300),
    }
}
fn c_reset_at_once(ctx: &Ctx) -> Exchange {
    let mut n = 0;
    for _ in 0..100 {
        for service in ["http", "https", "server", "client"] {
            if let Ok(s) = connect_from(None, ctx.port(service), Duration::from_secs(1)) {
                reset(s);
                n += 1;
            }
        }
    }
    Exchange {
        sent: "400 connections reset right after connecting".into(),
        reply: format!("{n} connected and reset"),
        seen: Vec::new(),
        settle: Duration::from_millis(500),
    }
}

// --- HTTP -----------------------------------------------------------------

fn http(ctx: &Ctx, request: &[u8], what: &str) -> Exchange {
    sent(ctx.raw("http", &[request.to_vec()], NO_GAP, false), what)
}
fn c_http_big_headers(ctx: &Ctx) -> Exchange {
    let mut req = b"GET / HTTP/1.1\r\nHost: p\r\n".to_vec();
    for i in 0..1000 {
        req.extend_from_slice(format!("X-Pad-{i}: {}\r\n", "a".repeat(60)).as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    http(ctx, &req, "GET with 70 KB of headers")
}
fn c_http_long_line(ctx: &Ctx) -> Exchange {
    let mut req = b"GET /".to_vec();
    req.extend(std::iter::repeat_n(b'a', 100_000));
    req.extend_from_slice(b" HTTP/1.1\r\n\r\n");
    http(ctx, &req, "a 100 KB request line")
}
fn c_http_methods(ctx: &Ctx) -> Exchange {
    let mut replies = Vec::new();
    let mut seen = Vec::new();
    for req in [
        &b"FOO / HTTP/1.1\r\nHost: p\r\n\r\n"[..],
        b"G\x00T / HTTP/1.1\r\n\r\n",
        b"DELETE /stats.json HTTP/1.1\r\n\r\n",
        b"CONNECT 127.0.0.1:10000 HTTP/1.1\r\n\r\n",
        b"GET /\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
    ] {
        let x = ctx.raw("http", &[req.to_vec()], NO_GAP, false);
        replies.push(x.reply.split(" (").next().unwrap_or("").to_string());
        seen.extend(x.seen);
    }
    Exchange {
        sent: "FOO, G\\0T, DELETE, CONNECT, HTTP/0.9, HTTP/9.9".into(),
        reply: replies.join(" | "),
        seen,
        settle: Duration::ZERO,
    }
}
fn c_http_pipelining(ctx: &Ctx) -> Exchange {
    http(
        ctx,
        b"GET / HTTP/1.1\r\nHost: p\r\n\r\nGET /stats.json HTTP/1.1\r\nHost: p\r\n\r\nGET /ca.pem HTTP/1.1\r\nHost: p\r\n\r\n",
        "three pipelined GETs",
    )
}
fn c_http_cl_te(ctx: &Ctx) -> Exchange {
    http(
        ctx,
        b"POST / HTTP/1.1\r\nHost: p\r\nContent-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /stats.json HTTP/1.1\r\nHost: p\r\n\r\n",
        "smuggling: Content-Length + Transfer-Encoding",
    )
}
fn c_http_double_cl(ctx: &Ctx) -> Exchange {
    http(
        ctx,
        b"GET / HTTP/1.1\r\nHost: p\r\nContent-Length: 0\r\nContent-Length: 40\r\n\r\nGET /ca.pem HTTP/1.1\r\nHost: p\r\n\r\n",
        "smuggling: two Content-Length",
    )
}
fn c_http_obs_fold(ctx: &Ctx) -> Exchange {
    http(
        ctx,
        b"GET / HTTP/1.1\r\nHost: p\r\nX-Folded: a\r\n Transfer-Encoding: chunked\r\n\r\n",
        "smuggling: obs-fold header continuation",
    )
}
fn c_http_bare_lf(ctx: &Ctx) -> Exchange {
    http(ctx, b"GET / HTTP/1.1\nHost: p\n\n", "bare LF line ends")
}
fn c_https_smuggling(ctx: &Ctx) -> Exchange {
    // Over TLS too: a real handshake on 443, then two requests.
    let config = match rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
    {
        Ok(b) => b
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyServer))
            .with_no_client_auth(),
        Err(e) => {
            return Exchange {
                reply: e.to_string(),
                ..Default::default()
            };
        }
    };
    let name = ServerName::try_from("localhost").expect("name");
    let Ok(mut conn) = rustls::ClientConnection::new(Arc::new(config), name) else {
        return Exchange {
            reply: "client".into(),
            ..Default::default()
        };
    };
    let mut sock = match connect_from(None, ctx.port("https"), Duration::from_secs(3)) {
        Ok(s) => s,
        Err(e) => {
            return Exchange {
                reply: format!("connect failed: {e}"),
                ..Default::default()
            };
        }
    };
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    let _ = tls.write_all(b"GET / HTTP/1.1\r\nHost: p\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /ca.pem HTTP/1.1\r\nHost: p\r\n\r\n");
    let mut plaintext = Vec::new();
    let end = match tls.read_to_end(&mut plaintext) {
        Ok(_) => "closed".to_string(),
        Err(e) => short_error(&e.to_string()),
    };
    Exchange {
        sent: "HTTPS: CL+TE and a second request".into(),
        reply: describe(&plaintext, &end),
        seen: plaintext,
        settle: Duration::ZERO,
    }
}

/// Every quick case: (name, service, function).
const CASES: &[(&str, &str, CaseFn)] = &[
    ("sslv2_hello", "server", c_sslv2),
    ("sslv2_format_tls12", "https", c_sslv2_compat),
    ("sslv3_hello", "server", c_sslv3),
    ("tls10_hello", "server", c_tls10),
    ("tls11_hello", "https", c_tls11),
    ("heartbeat_first", "server", c_heartbeat_first),
    ("heartbeat_after_hello", "server", c_heartbeat_after_hello),
    ("record_version_7f7f", "server", c_unknown_record_version),
    ("content_type_99", "server", c_unknown_content_type),
    (
        "content_type_0_after_hello",
        "https",
        c_unknown_type_after_hello,
    ),
    ("record_16641_bytes", "server", c_oversized_record),
    ("record_65535_bytes", "https", c_max_length_record),
    ("hello_claims_16mib", "server", c_huge_handshake_length),
    ("hello_1_byte_records", "server", c_fragmented_hello),
    ("hello_interleaved", "server", c_interleaved_hello),
    ("second_hello_tls12", "server", c_two_hellos),
    ("second_hello_tls13", "https", c_two_hellos_13),
    ("renegotiation_https", "https", c_renegotiation),
    ("early_data", "server", c_early_data),
    ("ccs_before_hello", "server", c_ccs_first),
    ("ccs_malformed", "server", c_ccs_bad),
    ("ccs_64_times", "server", c_ccs_many),
    ("ccs_finished_no_kx", "server", c_ccs_tls12),
    ("alert_mid_handshake", "server", c_alert_mid_handshake),
    ("warning_alerts", "server", c_warning_alerts),
    ("empty_records_5000", "server", c_zero_length),
    ("empty_appdata_5000", "https", c_zero_length_appdata),
    (
        "client_port_sslv3_server",
        "client",
        c_client_port_garbage_server,
    ),
    ("cert_none_tls13", "server", c_cert_none),
    ("cert_none_tls12", "server", c_cert_none_tls12),
    ("cert_self_signed", "server", c_cert_self_signed),
    ("cert_other_ca_tls13", "server", c_cert_other_ca),
    ("cert_other_ca_tls12", "server", c_cert_other_ca_tls12),
    ("cert_lookalike_ca", "server", c_cert_lookalike_ca),
    ("cert_expired", "server", c_cert_expired),
    ("cert_not_yet_valid", "server", c_cert_not_yet_valid),
    ("cert_server_eku", "server", c_cert_server_eku),
    ("cert_chain_22", "server", c_cert_long_chain),
    ("cert_60kb", "server", c_cert_oversized),
    ("cert_malformed_der", "server", c_cert_malformed),
    ("client_port_other_ca", "client", c_client_port_other_ca),
    (
        "connect_back_other_ca",
        "connect_back",
        c_connect_back_other_ca,
    ),
    (
        "connect_back_expired",
        "connect_back",
        c_connect_back_expired,
    ),
    (
        "connect_back_closed_port",
        "connect_back",
        c_connect_back_closed,
    ),
    (
        "connect_back_silent_port",
        "connect_back",
        c_connect_back_silent,
    ),
    ("garbage_server", "server", c_garbage_server),
    ("garbage_https", "https", c_garbage_https),
    ("garbage_client", "client", c_garbage_client),
    ("give_me_the_key", "server", c_give_me_the_key),
    ("http_on_tls_port", "server", c_http_to_tls),
    ("slowloris_tls", "server", c_slowloris_tls),
    ("slowloris_http", "http", c_slowloris_http),
    ("slowloris_30_conns", "*", c_slowloris_many),
    ("flood_2000_idle", "server", c_flood),
    ("half_open", "*", c_half_open),
    ("reset_mid_handshake", "*", c_reset_mid_handshake),
    ("reset_400_at_once", "*", c_reset_at_once),
    ("http_70kb_headers", "http", c_http_big_headers),
    ("http_100kb_line", "http", c_http_long_line),
    ("http_bad_methods", "http", c_http_methods),
    ("http_pipelining", "http", c_http_pipelining),
    ("http_cl_te", "http", c_http_cl_te),
    ("http_double_cl", "http", c_http_double_cl),
    ("http_obs_fold", "http", c_http_obs_fold),
    ("http_bare_lf", "http", c_http_bare_lf),
    ("https_cl_te", "https", c_https_smuggling),
];

// ---------------------------------------------------------------------------
// The run

struct Row {
    name: String,
    service: String,
    sent: String,
    reply: String,
    leak: bool,
    during_ms: u128,
    after_ms: Option<u128>,
    counters: String,
    problems: Vec<String>,
}

fn run(root: &Path, options: &Options) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("pinata-attack-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let name = match options.target {
        TargetKind::Hosted => "hosted",
        TargetKind::Vm => "vm",
    };
    println!("xtask attack: starting the {name} target");
    let started = Instant::now();
    let mut target = match options.target {
        TargetKind::Hosted => start_hosted(root, options.release, dir.clone())?,
        TargetKind::Vm => start_vm(root, dir.clone())?,
    };
    println!(
        "xtask attack: {name} ready in {} ms; ports http={} https={} server={} connect_back={} client={}, connect-back dials 127.0.0.1:{}",
        started.elapsed().as_millis(),
        target.ports[0],
        target.ports[1],
        target.ports[2],
        target.ports[3],
        target.ports[4],
        target.cb_port
    );
    let certs = make_certs(&dir)?;
    let http_port = target.port("http");
    let kind = target.kind;
    let mut rows = Vec::new();
    let mut crashed = None;
    for (case, service, function) in CASES {
        let before = stats(kind, http_port);
        let log_from = target.log_len();
        let prober = Prober::start(kind, http_port);
        let ctx = Ctx {
            target: &target,
            pki: &certs,
        };
        let exchange = function(&ctx);
        thread::sleep(exchange.settle);
        let (during, mut problems) = prober.finish();
        let after = probe_page(kind, http_port);
        let after_ms = match &after {
            Ok(t) => Some(t.as_millis()),
            Err(e) => {
                problems.push(format!("page after: {e}"));
                None
            }
        };
        let after_stats = stats(kind, http_port);
        let (counters, secrets_moved) = match (&before, &after_stats) {
            (Ok(b), Ok(a)) => {
                let d = delta(b, a);
                let moved = d.iter().any(|(k, _)| k.ends_with(".secrets_sent"));
                let text = d
                    .iter()
                    .filter(|(k, _)| !k.ends_with(".connections"))
                    .map(|(k, v)| format!("{k}+{v}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                (text, moved)
            }
            (Err(e), _) | (_, Err(e)) => {
                problems.push(format!("stats: {e}"));
                (String::new(), false)
            }
        };
        let new_log = target.log_since(log_from);
        let log_leak = new_log
            .iter()
            .any(|l| contains_secret(l.as_bytes()) || l.contains("outcome=secret_sent"));
        let leak = contains_secret(&exchange.seen) || secrets_moved || log_leak;
        if leak {
            problems.push("SECRET SEEN".into());
        }
        if let Err(e) = target.alive() {
            problems.push(format!("CRASH: {e}"));
            crashed = Some(e);
        }
        let row = Row {
            name: case.to_string(),
            service: service.to_string(),
            sent: exchange.sent,
            reply: exchange.reply,
            leak,
            during_ms: during.as_millis(),
            after_ms,
            counters,
            problems,
        };
        print_row(&row);
        rows.push(row);
        if crashed.is_some() {
            break;
        }
    }

    if options.soak > 0 && crashed.is_none() {
        soak(&mut target, options.soak, &mut rows);
    }
    if options.full && crashed.is_none() {
        scanners(&target);
    }

    let leaks = rows.iter().filter(|r| r.leak).count();
    let crashes = usize::from(crashed.is_some());
    let page_down = rows.iter().filter(|r| r.after_ms.is_none()).count();
    let max = rows
        .iter()
        .map(|r| {
            r.during_ms
                .max(r.after_ms.unwrap_or(PAGE_LIMIT.as_millis()))
        })
        .max()
        .unwrap_or(0);
    let failed: Vec<&Row> = rows.iter().filter(|r| !r.problems.is_empty()).collect();
    println!();
    if !failed.is_empty() {
        println!("problems:");
        for row in &failed {
            println!("  {}: {}", row.name, row.problems.join("; "));
        }
    }
    println!(
        "{name}: {} cases, {leaks} leaks, {} crashes, max page latency {max} ms",
        rows.len(),
        crashes + page_down
    );
    if leaks > 0
        || crashes > 0
        || page_down > 0
        || !failed.is_empty()
        || max > PAGE_LIMIT.as_millis()
    {
        return Err(format!(
            "attack battery against {name} failed: {} case(s) with problems",
            failed.len()
        ));
    }
    Ok(())
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        format!("{s:<n$}")
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

fn print_row(row: &Row) {
    static HEADER: std::sync::Once = std::sync::Once::new();
    HEADER.call_once(|| {
        println!(
            "{} {} {} {} {} {:>9} counters",
            clip("case", 27),
            clip("port", 12),
            clip("sent", 44),
            clip("came back", 52),
            clip("secret", 6),
            "page ms"
        );
    });
    let page = match row.after_ms {
        Some(a) => format!("{}/{}", row.during_ms, a),
        None => format!("{}/DOWN", row.during_ms),
    };
    println!(
        "{} {} {} {} {} {:>9} {}",
        clip(&row.name, 27),
        clip(&row.service, 12),
        clip(&row.sent, 44),
        clip(&row.reply, 52),
        clip(if row.leak { "SEEN" } else { "never" }, 6),
        page,
        row.counters
    );
    for p in &row.problems {
        println!("    !! {p}");
    }
}

/// `--soak N`: N short connections in a loop (hello, then close), then the
/// page and the target's memory.
fn soak(target: &mut Target, n: usize, rows: &mut Vec<Row>) {
    let rss = |t: &Target| -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", t.child.id())).ok()?;
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    let before = rss(target);
    let hello = Hello::modern().record(0x0301);
    let started = Instant::now();
    let prober = Prober::start(target.kind, target.port("http"));
    let mut ok = 0;
    for i in 0..n {
        let service = ["server", "https", "http", "client"][i % 4];
        if let Ok(mut s) = connect_from(None, target.port(service), Duration::from_secs(2)) {
            if service != "client" {
                let _ = s.write_all(&hello);
            }
            let _ = s.shutdown(Shutdown::Write);
            let _ = read_until_close(&mut s, Duration::from_secs(2));
            ok += 1;
        }
    }
    let (during, mut problems) = prober.finish();
    let after = probe_page(target.kind, target.port("http"));
    let after_rss = rss(target);
    if let Err(e) = target.alive() {
        problems.push(format!("CRASH: {e}"));
    }
    let memory = match (target.kind, before, after_rss) {
        (TargetKind::Hosted, Some(b), Some(a)) => format!("RSS {b} kB → {a} kB"),
        _ => "guest heap not reported (no high-water mark on /stats.json yet)".into(),
    };
    let row = Row {
        name: format!("soak_{n}"),
        service: "*".into(),
        sent: format!("{n} connections in a loop"),
        reply: format!("{ok} done in {} s; {memory}", started.elapsed().as_secs()),
        leak: false,
        during_ms: during.as_millis(),
        after_ms: after.as_ref().ok().map(|t| t.as_millis()),
        counters: String::new(),
        problems: {
            if let Err(e) = after {
                problems.push(format!("page after: {e}"));
            }
            problems
        },
    };
    print_row(&row);
    rows.push(row);
}

/// `--full`: the external scanners that are installed.
fn scanners(target: &Target) {
    let https = format!("127.0.0.1:{}", target.port("https"));
    let server = format!("127.0.0.1:{}", target.port("server"));
    let runs: Vec<(&str, Vec<String>)> = vec![
        (
            "testssl.sh",
            vec![
                "--quiet".into(),
                "--color".into(),
                "0".into(),
                https.clone(),
            ],
        ),
        (
            "testssl.sh",
            vec![
                "--quiet".into(),
                "--color".into(),
                "0".into(),
                server.clone(),
            ],
        ),
        ("sslscan", vec![https.clone()]),
        ("sslscan", vec![server.clone()]),
        (
            "nmap",
            vec![
                "-Pn".into(),
                "-p".into(),
                format!("{},{}", target.port("https"), target.port("server")),
                "--script".into(),
                "ssl-enum-ciphers".into(),
                "127.0.0.1".into(),
            ],
        ),
    ];
    for (tool, args) in runs {
        let status = Command::new(tool).args(&args).status();
        match status {
            Ok(s) => println!("xtask attack: {tool} {} → {s}", args.join(" ")),
            Err(_) => println!("xtask attack: {tool} not installed, skipped"),
        }
        match probe_page(target.kind, target.port("http")) {
            Ok(t) => println!("xtask attack: page after {tool}: {} ms", t.as_millis()),
            Err(e) => println!("xtask attack: page after {tool}: {e}"),
        }
    }
}
