//! What pinata's integration tests share: a piñata started for the test
//! (hosted, or the unikernel under QEMU) through the workspace's harness
//! crate, the test keys, and independent clients (openssl, curl, socat, raw
//! sockets). Each test starts its own piñata, and dropping it stops every
//! process the test started.
#![allow(dead_code)]

pub mod prometheus;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::channel;
use std::thread;
use std::time::{Duration, Instant};

pub use harness::ports::free_port;
use harness::{Hosted, hosted, http, prize, vm};
pub use harness::{Process, Services};

/// The well-known test vector "private key 1", compressed, testnet WIF (worthless).
pub const TEST_WIF_KEY1: &str = prize::TEST_WIF;
/// The same key as a mainnet WIF (BIP-173's test vector; famous, worthless).
pub const MAINNET_WIF_KEY1: &str = "KwDiBf89QgGbjEhKnhXJuH7LrciVrZi3qYjgd9M7rFU73sVHnoWn";
/// BIP-173: P2WPKH of key 1 on mainnet.
pub const MAINNET_ADDRESS_KEY1: &str = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4";

/// How long any single wait in these tests may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(30);

/// A running piñata: the hosted runner or the unikernel under QEMU.
pub struct Pinata {
    pub proc: Process,
    pub services: Services,
    pub dir: tempfile::TempDir,
    pub wif: String,
    pub connect_back_port: u16,
}

impl Pinata {
    /// Starts the piñata with a testnet-family key read as regtest and its
    /// identities exported (so tests can exercise the success paths).
    pub fn start() -> Pinata {
        Self::start_with(TEST_WIF_KEY1, &["--network", "regtest"], true)
    }

    pub fn start_with(wif: &str, extra: &[&str], export: bool) -> Pinata {
        let dir = tempfile::tempdir().unwrap();
        let secret = prize::write_secret_file(dir.path(), wif).unwrap();
        let connect_back_port = free_port().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pinata"));
        hosted::loopback(&mut cmd);
        cmd.arg("--secret-file").arg(&secret);
        cmd.args(["--connect-back-target-port", &connect_back_port.to_string()]);
        if export {
            cmd.arg("--insecure-export-identities")
                .arg(dir.path().join("ids"));
        }
        cmd.args(extra);
        let Hosted { process, services } = Hosted::start(&mut cmd, WAIT).unwrap();
        Pinata {
            proc: process,
            services,
            dir,
            wif: wif.to_string(),
            connect_back_port,
        }
    }

    pub fn port(&self, service: &str) -> u16 {
        self.services.port(service)
    }

    pub fn addr(&self, service: &str) -> String {
        self.services.addr(service).to_string()
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
            .wait_nth(&format!("outcome #{nth} of {service}"), nth, WAIT, |l| {
                l.starts_with(&prefix) && l.contains("outcome=")
            })
            .unwrap()
    }

    /// GET over a raw socket; returns (status, body).
    pub fn get(&self, path: &str) -> (u16, String) {
        let response = http::get(self.services.addr("http"), path, WAIT).unwrap();
        (response.status, response.body_text())
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
        let image = image();
        let dir = tempfile::tempdir().unwrap();
        let connect_back_port = free_port().unwrap();
        let mut cmdline = vec![
            "network=regtest".to_string(),
            format!("connect_back_port={connect_back_port}"),
        ];
        cmdline.extend(append.iter().map(|s| s.to_string()));
        let (wif, secret_file) = match secret {
            VmSecret::None => (String::new(), None),
            VmSecret::Module(wif) => {
                let file = prize::write_secret_file(dir.path(), wif).unwrap();
                (wif.to_string(), Some(file))
            }
            VmSecret::Cmdline(wif) => {
                cmdline.push(format!("secret={wif}"));
                (wif.to_string(), None)
            }
        };
        let boot = vm::Boot {
            until,
            // A TCG boot generates the PKI in software-emulated crypto.
            within: Duration::from_secs(240),
            ..vm::Boot::default()
        };
        let vm = vm::boot(&boot, |forwards| {
            let mut cmd = Command::new(env!("CARGO"));
            cmd.current_dir(workspace_root())
                .args(["xtask", "run", "--image"])
                .arg(&image)
                .args(["--ports", &forwards.ports_arg()]);
            if let Some(file) = &secret_file {
                cmd.arg("--secret-file").arg(file);
            }
            cmd.args(["--append", &cmdline.join(" ")]);
            cmd.args(run_flags);
            cmd
        })
        .unwrap();
        (
            Pinata {
                proc: vm.process,
                services: vm.services,
                dir,
                wif,
                connect_back_port,
            },
            vm.line,
        )
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
) -> Process {
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
    let server = Process::spawn(&mut cmd).unwrap();
    server
        .out
        .wait_for("s_server ACCEPT", WAIT, |l| l.starts_with("ACCEPT"))
        .unwrap();
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
