//! The servers of the hosted comparison: hosted piñatas, the rustls +
//! aws-lc-rs reference server and `openssl s_server`, with the piñata's own
//! certificates, started when first needed; and the load generator's
//! arguments to reach each.

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::builds::Binaries;
use super::measure::Server;
use super::process::{Counts, Proc, pinned};

pub(super) struct Hosted {
    pub(super) proc: Proc,
    pub(super) services: harness::Services,
    pub(super) ids: PathBuf,
}

impl Hosted {
    /// The loopback address of `service` (as the listening lines name it).
    pub(super) fn addr(&self, service: &str) -> String {
        self.services.addr(service).to_string()
    }
}

/// Starts `program` (a hosted piñata) on free ports with `key_type`
/// bounty certificates, exporting its identities to `<dir>/ids-<name>`.
pub(super) fn start_hosted(
    program: &Path,
    key_type: &str,
    dir: &Path,
    name: &str,
) -> Result<Hosted, String> {
    let ids = dir.join(format!("ids-{name}"));
    let mut cmd = pinned(0, program);
    harness::hosted::loopback(&mut cmd)
        .args(["--bounty-key-type", key_type])
        .arg("--insecure-export-identities")
        .arg(&ids);
    let counts = Counts::default();
    let keep = counts.keep(Some("service=server "));
    let harness::Hosted { process, services } =
        harness::Hosted::start_keeping(&mut cmd, Duration::from_secs(60), Some(keep))?;
    Ok(Hosted {
        proc: Proc::with_counts(process, counts),
        services,
        ids,
    })
}

pub(super) fn start_refserver(
    b: &Binaries,
    mode: &str,
    ids: &Path,
    role: &str,
    page: Option<&Path>,
    extra: &[&str],
) -> Result<(Proc, String), String> {
    let mut cmd = pinned(0, &b.refserver);
    cmd.args(["--mode", mode, "--listen", "127.0.0.1:0"])
        .arg("--cert")
        .arg(ids.join(format!("{role}-chain.pem")))
        .arg("--key")
        .arg(ids.join(format!("{role}.key")))
        .arg("--ca")
        .arg(ids.join("ca.pem"));
    if let Some(p) = page {
        cmd.arg("--page").arg(p);
    }
    cmd.args(extra);
    let proc = Proc::spawn(&mut cmd, None)?;
    let line = proc.wait_for("refserver listening", Duration::from_secs(20), |l| {
        l.starts_with("refserver: listening")
    })?;
    let addr = line.rsplit(' ').next().unwrap_or("").to_string();
    Ok((proc, addr))
}

/// `openssl s_server` with the piñata's certificates: `-Verify 1` (client
/// certificate required) for the bounty, `-WWW` serving `page_dir` for HTTPS.
pub(super) fn start_openssl(
    ids: &Path,
    role: &str,
    mutual: bool,
    www: Option<&Path>,
) -> Result<(Proc, String), String> {
    let port = harness::ports::free_port().map_err(|e| format!("no free port: {e}"))?;
    let mut cmd = pinned(0, "openssl");
    cmd.args([
        "s_server",
        "-quiet",
        "-accept",
        &format!("127.0.0.1:{port}"),
    ])
    .arg("-cert")
    .arg(ids.join(format!("{role}.pem")))
    .arg("-key")
    .arg(ids.join(format!("{role}.key")))
    .arg("-CAfile")
    .arg(ids.join("ca.pem"))
    .arg("-no_ticket");
    if mutual {
        cmd.args(["-Verify", "1", "-www"]);
    }
    if let Some(dir) = www {
        cmd.arg("-WWW").current_dir(dir);
    }
    let proc = Proc::spawn(&mut cmd, None)?;
    // -quiet prints nothing: wait for the port instead.
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err("openssl s_server did not start".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((proc, format!("127.0.0.1:{port}")))
}

pub(super) fn loadgen_args(
    mode: &str,
    target: &str,
    ids: &Path,
    tls: Option<&str>,
    extra: &[&str],
) -> Vec<String> {
    let mut v: Vec<String> = vec![
        "--mode".into(),
        mode.into(),
        "--target".into(),
        target.into(),
        "--ca".into(),
        ids.join("ca.pem").display().to_string(),
    ];
    if mode == "bounty" {
        v.extend([
            "--cert".into(),
            ids.join("client-chain.pem").display().to_string(),
            "--key".into(),
            ids.join("client.key").display().to_string(),
        ]);
    }
    if let Some(t) = tls {
        v.extend(["--tls".into(), t.into()]);
    }
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// The bounty key type a piñata uses unless told otherwise
/// (`KeyType::default()`): the "default bounty config" of the targets.
pub(super) const DEFAULT_KEY_TYPE: &str = "ed25519";

/// Labels of the servers in the tables.
pub(super) const PINATA: &str = "hosted piñata";
pub(super) const PINATA_SOFT: &str = "hosted piñata, image back ends";
pub(super) const REFERENCE: &str = "rustls + aws-lc-rs";
pub(super) const REFERENCE_P256: &str = "rustls + aws-lc-rs, P-256 chain";
pub(super) const OPENSSL: &str = "openssl s_server";

/// The running servers of the hosted comparison, started when first
/// needed, stopped (by their own pids) when dropped.
pub(super) struct Servers<'b> {
    pub(super) b: &'b Binaries,
    pub(super) dir: PathBuf,
    /// Hosted piñatas by key type.
    pub(super) pinatas: BTreeMap<String, Hosted>,
    /// The piñata with the image's back ends (default key type).
    pub(super) soft: Option<Hosted>,
    /// Reference bounty servers by key type (that piñata's identities).
    pub(super) references: BTreeMap<String, (Proc, String)>,
    /// `openssl s_server -Verify 1` by key type.
    pub(super) openssl: BTreeMap<String, (Proc, String)>,
    pub(super) openssl_ok: bool,
}

impl<'b> Servers<'b> {
    pub(super) fn pinata(&mut self, key_type: &str) -> Result<&Hosted, String> {
        if !self.pinatas.contains_key(key_type) {
            let h = start_hosted(&self.b.pinata, key_type, &self.dir, key_type)?;
            self.pinatas.insert(key_type.into(), h);
        }
        Ok(&self.pinatas[key_type])
    }

    pub(super) fn reference(&mut self, key_type: &str) -> Result<String, String> {
        if !self.references.contains_key(key_type) {
            let ids = self.pinata(key_type)?.ids.clone();
            let r = start_refserver(self.b, "server", &ids, "server", None, &[])?;
            self.references.insert(key_type.into(), r);
        }
        Ok(self.references[key_type].1.clone())
    }

    pub(super) fn openssl(&mut self, key_type: &str) -> Result<Option<String>, String> {
        if !self.openssl_ok {
            return Ok(None);
        }
        if !self.openssl.contains_key(key_type) {
            let ids = self.pinata(key_type)?.ids.clone();
            let s = start_openssl(&ids, "server", true, None)?;
            self.openssl.insert(key_type.into(), s);
        }
        Ok(Some(self.openssl[key_type].1.clone()))
    }
}

/// Servers of one bounty comparison: the piñata of `key_type` (and, for the
/// default key type, the soft-back-end one), the reference with the same
/// chain, for the default key type also the reference with the P-256 chain
/// (the targets' yardstick), and openssl unless `pq` (OpenSSL 3.0 has no
/// ML-KEM).
pub(super) fn bounty_servers<'s>(
    s: &'s mut Servers<'_>,
    key_type: &str,
    tls: &str,
    pq: bool,
) -> Result<(Vec<Server<'s>>, usize), String> {
    let groups: &[&str] = if pq {
        &["--groups", "x25519mlkem768"]
    } else {
        &[]
    };
    let default = key_type == DEFAULT_KEY_TYPE;
    // Start what is needed, then borrow it all.
    s.pinata(key_type)?;
    let reference = s.reference(key_type)?;
    let reference_p256 = if default && tls == "13" {
        s.pinata("p256")?;
        Some(s.reference("p256")?)
    } else {
        None
    };
    let openssl = if pq { None } else { s.openssl(key_type)? };
    let s: &'s Servers<'_> = s;
    let hosted = &s.pinatas[key_type];
    let mut servers = vec![Server {
        label: PINATA.into(),
        proc: &hosted.proc,
        loadgen_args: loadgen_args(
            "bounty",
            &hosted.addr("server"),
            &hosted.ids,
            Some(tls),
            groups,
        ),
        by_log: false,
    }];
    if let (true, Some(soft)) = (default && tls == "13", s.soft.as_ref()) {
        servers.push(Server {
            label: PINATA_SOFT.into(),
            proc: &soft.proc,
            loadgen_args: loadgen_args(
                "bounty",
                &soft.addr("server"),
                &soft.ids,
                Some(tls),
                groups,
            ),
            by_log: false,
        });
    }
    let ours = servers.len();
    if let Some(addr) = reference_p256 {
        servers.push(Server {
            label: REFERENCE_P256.into(),
            proc: &s.references["p256"].0,
            loadgen_args: loadgen_args("bounty", &addr, &s.pinatas["p256"].ids, Some(tls), groups),
            by_log: false,
        });
    }
    servers.push(Server {
        label: REFERENCE.into(),
        proc: &s.references[key_type].0,
        loadgen_args: loadgen_args("bounty", &reference, &hosted.ids, Some(tls), groups),
        by_log: false,
    });
    if let Some(addr) = openssl {
        servers.push(Server {
            label: OPENSSL.into(),
            proc: &s.openssl[key_type].0,
            loadgen_args: loadgen_args(
                "bounty",
                &addr,
                &hosted.ids,
                Some(tls),
                &["--request", "GET / HTTP/1.0\\r\\n\\r\\n"],
            ),
            by_log: false,
        });
    }
    Ok((servers, ours))
}
