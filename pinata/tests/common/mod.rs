//! Test harness: starts the real `pinata` binary on free loopback ports and
//! gives tests its ports, its log, and independent clients (openssl, curl,
//! socat, raw sockets). Each test starts its own piñata and the `Drop` impls
//! stop every process the test started.
#![allow(dead_code)]

pub mod prometheus;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::thread;
use std::time::{Duration, Instant};

/// The well-known test vector "private key 1", compressed, testnet WIF (worthless).
pub const TEST_WIF_KEY1: &str = "cMahea7zqjxrtgAbB7LSGbcQUr1uX1ojuat9jZodMN87JcbXMTcA";
/// The same key as a mainnet WIF (BIP-173's test vector; famous, worthless).
pub const MAINNET_WIF_KEY1: &str = "KwDiBf89QgGbjEhKnhXJuH7LrciVrZi3qYjgd9M7rFU73sVHnoWn";
/// BIP-173: P2WPKH of key 1 on mainnet.
pub const MAINNET_ADDRESS_KEY1: &str = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4";

/// How long any single wait in these tests may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(30);

/// Lines from a child's stdout, collected by a background thread.
pub struct Lines {
    rx: Receiver<String>,
    pub seen: Vec<String>,
}

impl Lines {
    pub fn from(reader: impl Read + Send + 'static) -> Lines {
        let (tx, rx) = channel();
        thread::spawn(move || {
            for line in BufReader::new(reader).lines() {
                match line {
                    Ok(line) => {
                        if tx.send(line).is_err() {
                            return;
                        }
                    }
                    Err(_) => return,
                }
            }
        });
        Lines {
            rx,
            seen: Vec::new(),
        }
    }

    /// Waits for a line matching `pred` (lines already seen count too).
    pub fn wait_for(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        self.wait_for_within(what, WAIT, pred)
    }

    /// [`Self::wait_for`] with its own time limit.
    pub fn wait_for_within(
        &mut self,
        what: &str,
        limit: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        if let Some(line) = self.seen.iter().find(|l| pred(l)) {
            return line.clone();
        }
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "timed out waiting for {what}; output so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Waits until `n` lines in all match `pred`; returns the n-th.
    pub fn wait_nth(&mut self, what: &str, n: usize, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(line) = self.seen.iter().filter(|l| pred(l)).nth(n - 1) {
                return line.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => panic!(
                    "timed out waiting for {what}; output so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Collects whatever arrived so far without waiting.
    pub fn drain(&mut self) {
        while let Ok(line) = self.rx.try_recv() {
            self.seen.push(line);
        }
    }

    /// Waits until the writer closes its end (process exit); returns all lines.
    pub fn wait_end(&mut self) -> Vec<String> {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return self.seen.clone(),
                Err(_) => panic!(
                    "timed out waiting for end of output:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }
}

/// One console line as tests match it: without the trailing CR of a serial
/// console and without the unikernel's `[   0.012345] ` timestamp prefix.
pub fn normalize(line: &str) -> String {
    let line = line.trim_end_matches('\r');
    if let Some((stamp, text)) = line
        .strip_prefix('[')
        .and_then(|rest| rest.split_once("] "))
        && stamp.trim().chars().all(|c| c.is_ascii_digit() || c == '.')
    {
        return text.to_string();
    }
    line.to_string()
}

/// A child process killed when dropped.
pub struct Proc {
    pub child: Child,
    pub out: Lines,
    /// Held open: some tools (openssl s_server) stop at end of input.
    _stdin: Option<std::process::ChildStdin>,
}

impl Proc {
    pub fn spawn(cmd: &mut Command) -> Proc {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        // Both streams into one line channel: tools differ in where they print.
        let (tx, rx) = channel();
        for reader in [Box::new(stdout) as Box<dyn Read + Send>, Box::new(stderr)] {
            let tx = tx.clone();
            thread::spawn(move || {
                for line in BufReader::new(reader).split(b'\n').map_while(Result::ok) {
                    let line = normalize(&String::from_utf8_lossy(&line));
                    if tx.send(line).is_err() {
                        return;
                    }
                }
            });
        }
        Proc {
            child,
            _stdin: stdin,
            out: Lines {
                rx,
                seen: Vec::new(),
            },
        }
    }

    /// Waits for exit (killing it after [`WAIT`]) and returns all its output.
    pub fn finish(mut self) -> String {
        let lines = self.out.wait_end();
        let _ = self.child.wait();
        lines.join("\n")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running hosted piñata.
pub struct Pinata {
    pub proc: Proc,
    pub ports: HashMap<String, u16>,
    pub dir: tempfile::TempDir,
    pub wif: String,
    pub connect_back_port: u16,
}

/// A free loopback TCP port (released for the caller to use).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Pinata {
    /// Starts the piñata with a testnet-family key read as regtest and its
    /// identities exported (so tests can exercise the success paths).
    pub fn start() -> Pinata {
        Self::start_with(TEST_WIF_KEY1, &["--network", "regtest"], true)
    }

    pub fn start_with(wif: &str, extra: &[&str], export: bool) -> Pinata {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("prize.wif");
        std::fs::write(&secret, format!("{wif}\n")).unwrap();
        let connect_back_port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pinata"));
        cmd.args(["--bind", "127.0.0.1"]);
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
        cmd.args(["--connect-back-target-port", &connect_back_port.to_string()]);
        if export {
            cmd.arg("--insecure-export-identities")
                .arg(dir.path().join("ids"));
        }
        cmd.args(extra);
        let mut proc = Proc::spawn(&mut cmd);
        // Readiness: the runner prints one line per listening service, then "ready".
        proc.out
            .wait_for("pinata ready", |l| l.starts_with("pinata: ready"));
        let mut ports = HashMap::new();
        for line in &proc.out.seen {
            if let Some(rest) = line.strip_prefix("pinata: listening service=") {
                let (service, addr) = rest.split_once(" addr=").unwrap();
                let port = addr.rsplit(':').next().unwrap().parse().unwrap();
                ports.insert(service.to_string(), port);
            }
        }
        assert_eq!(ports.len(), 5, "{:?}", proc.out.seen);
        Pinata {
            proc,
            ports,
            dir,
            wif: wif.to_string(),
            connect_back_port,
        }
    }

    pub fn port(&self, service: &str) -> u16 {
        self.ports[service]
    }

    pub fn addr(&self, service: &str) -> String {
        format!("127.0.0.1:{}", self.port(service))
    }

    /// A file exported by `--insecure-export-identities`.
    pub fn id(&self, name: &str) -> PathBuf {
        self.dir.path().join("ids").join(name)
    }

    pub fn tmp(&self) -> &Path {
        self.dir.path()
    }

    /// Waits for the log line of the `nth` (from 1) finished session of `service`.
    pub fn wait_outcome(&mut self, service: &str, nth: usize) -> String {
        let prefix = format!("pinata: service={service} ");
        self.proc
            .out
            .wait_nth(&format!("outcome #{nth} of {service}"), nth, |l| {
                l.starts_with(&prefix) && l.contains("outcome=")
            })
    }

    /// GET over a raw socket; returns (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(&self.addr("http"), path)
    }

    pub fn stats(&self) -> serde_json::Value {
        let (status, body) = self.get("/stats.json");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("bad JSON {e}: {body}"))
    }

    /// A counter from /stats.json: `service`, then a key or `failures.reason`.
    pub fn counter(&self, service: &str, key: &str) -> u64 {
        let stats = self.stats();
        let s = &stats["services"][service];
        match key.split_once('.') {
            Some((a, b)) => s[a][b].as_u64().unwrap_or(0),
            None => s[key].as_u64().unwrap_or_else(|| panic!("no {key} in {s}")),
        }
    }
}

/// A minimal HTTP/1.1 GET over a fresh connection: (status, body).
pub fn http_get(addr: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response).to_string();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Runs a command to completion (killed after [`WAIT`]) with `input` on
/// stdin; returns stdout+stderr.
pub fn run(cmd: &mut Command, input: &[u8]) -> String {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    // The output pipes close when the process exits: that is the signal.
    let (tx, rx) = channel();
    for mut reader in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = reader.read_to_end(&mut bytes);
            let _ = tx.send(bytes);
        });
    }
    let deadline = Instant::now() + WAIT;
    let mut all = Vec::new();
    for _ in 0..2 {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(bytes) => all.extend(bytes),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{cmd:?} did not finish in time");
            }
        }
    }
    let _ = child.wait();
    String::from_utf8_lossy(&all).to_string()
}

/// `openssl` with arguments.
pub fn openssl(args: &[&str]) -> Command {
    let mut cmd = Command::new("openssl");
    cmd.args(args);
    cmd
}

/// Makes a self-signed P-256 certificate and key in `dir` as `name.pem`/`name.key`.
pub fn self_signed(dir: &Path, name: &str, subject: &str) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    let out = run(
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "30",
            "-subj",
            subject,
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert),
        b"",
    );
    assert!(cert.exists(), "openssl req failed: {out}");
    (cert, key)
}

/// Makes a leaf certificate signed by `ca`.
pub fn signed_by(
    dir: &Path,
    name: &str,
    subject: &str,
    ca: &(PathBuf, PathBuf),
) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    let csr = dir.join(format!("{name}.csr"));
    // An X.509 v3 leaf usable by either side, as an attacker would make.
    let ext = dir.join(format!("{name}.ext"));
    std::fs::write(
        &ext,
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
         extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=DNS:bounty.pinata\n",
    )
    .unwrap();
    let out = run(
        openssl(&[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            subject,
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&csr),
        b"",
    );
    assert!(csr.exists(), "{out}");
    let out = run(
        openssl(&[
            "x509",
            "-req",
            "-days",
            "30",
            "-set_serial",
            "7",
            "-extfile",
        ])
        .arg(&ext)
        .arg("-in")
        .arg(&csr)
        .arg("-CA")
        .arg(&ca.0)
        .arg("-CAkey")
        .arg(&ca.1)
        .arg("-out")
        .arg(&cert),
        b"",
    );
    assert!(cert.exists(), "{out}");
    (cert, key)
}

/// Where the prize reaches the guest.
pub enum VmSecret<'a> {
    /// No prize at all.
    None,
    /// As the boot module (QEMU `-initrd`).
    Module(&'a str),
    /// As `secret=` on the kernel command line.
    Cmdline(&'a str),
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Builds the unikernel image once per test process (`cargo xtask image`).
pub fn image() -> PathBuf {
    static IMAGE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    IMAGE
        .get_or_init(|| {
            let out = Command::new(env!("CARGO"))
                .args(["xtask", "image"])
                .current_dir(workspace_root())
                .stderr(Stdio::inherit())
                .output()
                .expect("cargo xtask image");
            assert!(out.status.success(), "cargo xtask image failed");
            let text = String::from_utf8_lossy(&out.stdout);
            let path = PathBuf::from(text.lines().last().expect("image path").trim());
            assert!(path.is_file(), "no image at {}", path.display());
            path
        })
        .clone()
}

impl Pinata {
    /// Boots the unikernel in QEMU (`cargo xtask run`) with its services
    /// forwarded to free loopback ports, and waits for its "ready" line.
    pub fn boot_vm(secret: VmSecret, run_flags: &[&str], append: &[&str]) -> Pinata {
        Self::boot_vm_until(secret, run_flags, append, "pinata: ready").0
    }

    /// Boots and waits for a console line containing `until`; returns the
    /// harness and that line.
    pub fn boot_vm_until(
        secret: VmSecret,
        run_flags: &[&str],
        append: &[&str],
        until: &str,
    ) -> (Pinata, String) {
        // QEMU needs the host ports up front, and a free port found now can
        // be taken by a parallel test before QEMU binds it: QEMU then says so
        // at once and exits, and we try again with other ports.
        for _ in 0..5 {
            if let Some(booted) = Self::try_boot_vm(&secret, run_flags, append, until) {
                return booted;
            }
        }
        panic!("QEMU could not bind its forwarded ports in 5 attempts");
    }

    fn try_boot_vm(
        secret: &VmSecret,
        run_flags: &[&str],
        append: &[&str],
        until: &str,
    ) -> Option<(Pinata, String)> {
        let image = image();
        let dir = tempfile::tempdir().unwrap();
        let ports: Vec<u16> = (0..5).map(|_| free_port()).collect();
        let connect_back_port = free_port();
        let mut cmdline = vec![
            "network=regtest".to_string(),
            format!("connect_back_port={connect_back_port}"),
        ];
        cmdline.extend(append.iter().map(|s| s.to_string()));
        let mut cmd = Command::new(env!("CARGO"));
        cmd.current_dir(workspace_root())
            .args(["xtask", "run", "--image"])
            .arg(&image);
        let ports_arg = ports
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(",");
        cmd.args(["--ports", &ports_arg]);
        let wif = match secret {
            VmSecret::None => String::new(),
            &VmSecret::Module(wif) => {
                let file = dir.path().join("prize.wif");
                std::fs::write(&file, format!("{wif}\n")).unwrap();
                cmd.arg("--secret-file").arg(&file);
                wif.to_string()
            }
            &VmSecret::Cmdline(wif) => {
                cmdline.push(format!("secret={wif}"));
                wif.to_string()
            }
        };
        cmd.args(["--append", &cmdline.join(" ")]);
        cmd.args(run_flags);
        let mut proc = Proc::spawn(&mut cmd);
        const PORT_TAKEN: &str = "Could not set up host forwarding rule";
        // A TCG boot generates the PKI in software-emulated crypto: allow more.
        let line = proc
            .out
            .wait_for_within(until, Duration::from_secs(240), |l| {
                l.contains(until) || l.contains(PORT_TAKEN)
            });
        if line.contains(PORT_TAKEN) {
            return None;
        }
        let names = ["http", "https", "server", "connect_back", "client"];
        let ports = names.iter().map(|n| n.to_string()).zip(ports).collect();
        Some((
            Pinata {
                proc,
                ports,
                dir,
                wif,
                connect_back_port,
            },
            line,
        ))
    }
}

/// `openssl s_client` against `addr`; waits for the server to close
/// (`-ign_eof`), returns everything it printed.
pub fn s_client(addr: &str, extra: &[&str]) -> String {
    let mut cmd = openssl(&["s_client", "-connect", addr, "-ign_eof"]);
    cmd.args(extra);
    run(&mut cmd, b"")
}

/// A minimal ClientHello with the given record and hello versions and no
/// extensions (so no supported_versions: the version is the hello's).
pub fn client_hello(record_version: u16, hello_version: u16) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&hello_version.to_be_bytes());
    body.extend_from_slice(&[7u8; 32]); // random
    body.push(0); // session id
    body.extend_from_slice(&[0, 4, 0xc0, 0x2b, 0x00, 0x2f]); // suites
    body.extend_from_slice(&[1, 0]); // null compression
    let mut handshake = vec![1, 0, (body.len() >> 8) as u8, body.len() as u8];
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16];
    record.extend_from_slice(&record_version.to_be_bytes());
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

/// Sends `bytes`, half-closes, and returns everything the peer sends back
/// until it closes.
pub fn exchange(addr: &str, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let _ = stream.write_all(bytes);
    let _ = stream.shutdown(Shutdown::Write);
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    reply
}

/// `openssl s_server` on 127.0.0.1:`port`, one connection, printing what it
/// receives; returns once it is accepting.
pub fn s_server(
    port: u16,
    cert: &std::path::Path,
    key: &std::path::Path,
    ca: Option<&std::path::Path>,
) -> Proc {
    let mut cmd = openssl(&[
        "s_server",
        "-accept",
        &format!("127.0.0.1:{port}"),
        "-naccept",
        "1",
        "-ign_eof",
    ]);
    cmd.arg("-cert").arg(cert).arg("-key").arg(key);
    if let Some(ca) = ca {
        // Ask for the piñata's client certificate, as a real peer would.
        cmd.arg("-verify").arg("1").arg("-CAfile").arg(ca);
    }
    let mut server = Proc::spawn(&mut cmd);
    server
        .out
        .wait_for("s_server ACCEPT", |l| l.starts_with("ACCEPT"));
    server
}

/// An identity from another piñata (another CA, same names), dated like the
/// piñata's own (valid from a day ago): a wrong certificate that no clock
/// skew between host and guest can make "not yet valid".
pub fn other_pinata_identity(dir: &Path, role: &str) -> (PathBuf, PathBuf) {
    use pinata::pki::{self, PkiOptions};
    let options = PkiOptions::new(rustls::pki_types::UnixTime::now());
    let other = pki::bootstrap(&pinata::random::OS_RANDOM, &options).unwrap();
    let identity = match role {
        "server" => &other.server,
        "client" => &other.client,
        _ => panic!("role {role}"),
    };
    let cert = dir.join(format!("other-{role}.pem"));
    let key = dir.join(format!("other-{role}.key"));
    std::fs::write(&cert, identity.cert_pem()).unwrap();
    std::fs::write(&key, identity.key_pem().as_bytes()).unwrap();
    (cert, key)
}
