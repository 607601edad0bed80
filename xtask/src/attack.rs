//! `cargo xtask attack`: the attack battery of issue 7.
//!
//! Starts a piñata itself — the hosted runner (`--target hosted`, the
//! default) or the unikernel under QEMU (`--target vm`) — or takes one
//! already running on a network this host is on (`--target external:IP`,
//! e.g. a Xen domU seen from dom0: `xen_domu`), and throws at it
//! what attackers threw at the original: old and unknown protocol versions,
//! Heartbeat, malformed and oversized records, fragmented and interleaved
//! handshakes, renegotiation, early data, certificates that must not pass,
//! garbage, slowloris, a flood of 10,000 idle connections (`flood.rs`),
//! resets, connect-back to ports that do not answer, HTTP abuse, and (VM)
//! prediction of TCP initial sequence numbers (`isn.rs`). Every case is
//! client code here: raw TCP with hand-built TLS records, rustls clients
//! and servers with certificates from other piñata CAs, and `openssl` where
//! a real renegotiation is needed. Loopback only, unless an external target
//! is named; every loop is bounded.
//!
//! For each case it records what was sent, what came back, whether any
//! piece of the secret was seen (in any byte received, any decrypted
//! plaintext, any log line, or as a `secrets_sent` counter moving: must be
//! never), the page's latency while the case runs and after it (must
//! answer within 1 s), and the `/stats.json` counters the case moved. It
//! exits non-zero on any leak, crash (process gone, page not answering) or
//! page latency over 1 s. Its last line is `N cases, L leaks, C crashes,
//! max page latency X ms`.
//!
//! Beyond the quick cases (which CI runs against both targets, `ci`):
//! `--soak N` checks that memory comes back after many connections
//! (`soak.rs`) and `--full` runs the external scanners (`scanners.rs`).
//!
//! The soft open-file limit is raised to the hard limit first, before the
//! target starts, so the flood's sockets fit and the hosted runner and
//! QEMU (one host socket per forwarded connection) inherit the room.

mod cases;
mod certs;
mod flood;
mod http;
mod isn;
mod net;
mod pcap;
mod pcg32;
mod probe;
mod protocol;
mod records;
mod scanners;
mod soak;
mod target;
mod transport;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use cases::{CASES, Ctx};
use certs::make_certs;
use probe::{Prober, counters_moved, probe_page, stats};
use scanners::scanners;
use soak::soak;
use target::{start_external, start_hosted, start_vm};

/// The prize the target is started with: BIP-32's well-known test vector
/// "private key 1" as a testnet-family WIF, read as regtest. Worthless.
pub(crate) const WIF: &str = "cMahea7zqjxrtgAbB7LSGbcQUr1uX1ojuat9jZodMN87JcbXMTcA";

/// The page must answer within this, during and after every case.
const PAGE_LIMIT: Duration = Duration::from_secs(1);

/// How long a case waits for the piñata to answer or close.
const REPLY_WAIT: Duration = Duration::from_secs(6);

pub const USAGE: &str = "\
usage: cargo xtask attack [--target hosted|vm] [--soak N] [--full] [--release]

  --target hosted  the hosted runner (default): builds and runs target/*/pinata
  --target vm      the unikernel under QEMU (builds the image)
  --target external:IP  a piñata already running at IP on its standard ports
                   (connect-back to port 40001 here); needs --sources and
                   --console
  --sources S      external: page probes come from address S, the idle
                   flood from the 200 addresses after it (all configured
                   on this host)
  --console FILE   external: the target's console log, followed for the
                   leak and fault checks
  --pcap FILE      external: a capture of the target's frames that another
                   program is appending to (classic pcap, Ethernet), for the
                   initial-sequence-number case
  --soak N         after the battery: a warm-up, then N connections of
                   mixed kinds (page, HTTPS, failed and successful
                   handshakes); passes when the memory on /stats.json
                   comes back within tolerance (attack/soak.rs)
  --full           after the battery: testssl.sh (full run), sslscan and
                   nmap --script ssl-enum-ciphers against the HTTPS port and
                   the bounty server, each a table row (attack/scanners.rs)
  --release        hosted: the release build of the piñata
  --case PATTERN   only the quick cases whose name contains PATTERN
                   (repeatable)
  --no-quick       none of the quick cases (with --soak or --full)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Hosted,
    Vm,
    /// Already running elsewhere (`--target external:IP`).
    External,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub target: TargetKind,
    pub soak: usize,
    pub full: bool,
    pub release: bool,
    /// Quick cases to run: those whose name contains one of these; all
    /// when empty (unless `no_quick`).
    pub cases: Vec<String>,
    pub no_quick: bool,
    /// External target: its address, the first source address, and its
    /// console log.
    pub external: Option<(Ipv4Addr, Ipv4Addr, PathBuf)>,
    /// External target: a growing capture of its frames (`--pcap`).
    pub pcap: Option<PathBuf>,
}

impl Default for Options {
    /// The quick battery against the hosted runner (what CI runs first).
    fn default() -> Self {
        Options {
            target: TargetKind::Hosted,
            soak: 0,
            full: false,
            release: false,
            cases: Vec::new(),
            no_quick: false,
            external: None,
            pcap: None,
        }
    }
}

impl Options {
    fn runs_case(&self, name: &str) -> bool {
        !self.no_quick && (self.cases.is_empty() || self.cases.iter().any(|c| name.contains(c)))
    }
}

pub fn main(root: &Path, args: &[String]) -> Result<(), String> {
    let mut options = Options::default();
    let (mut address, mut sources, mut console) = (None, None, None);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--target" => {
                options.target = match args.next().map(String::as_str) {
                    Some("hosted") => TargetKind::Hosted,
                    Some("vm") => TargetKind::Vm,
                    Some(other) if other.starts_with("external:") => {
                        address = Some(parse_ip("--target external:", &other[9..])?);
                        TargetKind::External
                    }
                    other => {
                        return Err(format!(
                            "--target: {other:?} is not hosted, vm or external:IP"
                        ));
                    }
                }
            }
            "--sources" => sources = Some(parse_ip("--sources", next(&mut args, arg)?)?),
            "--console" => console = Some(PathBuf::from(next(&mut args, arg)?)),
            "--pcap" => options.pcap = Some(PathBuf::from(next(&mut args, arg)?)),
            "--soak" => {
                let n = args.next().ok_or("--soak needs a number")?;
                options.soak = n
                    .parse()
                    .map_err(|_| format!("--soak: `{n}` is not a number"))?;
            }
            "--full" => options.full = true,
            "--release" => options.release = true,
            "--case" => options
                .cases
                .push(args.next().ok_or("--case needs a pattern")?.clone()),
            "--no-quick" => options.no_quick = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    if let Some(address) = address {
        let (Some(sources), Some(console)) = (sources, console) else {
            return Err("--target external:IP needs --sources and --console".into());
        };
        options.external = Some((address, sources, console));
    }
    run(root, &options)
}

fn next<'a>(args: &mut std::slice::Iter<'a, String>, flag: &str) -> Result<&'a str, String> {
    args.next()
        .map(String::as_str)
        .ok_or_else(|| format!("{flag} needs a value"))
}

fn parse_ip(flag: &str, text: &str) -> Result<Ipv4Addr, String> {
    text.parse()
        .map_err(|_| format!("{flag}: `{text}` is not an IPv4 address"))
}

/// CI: the quick battery against the hosted runner, then against the
/// unikernel under QEMU (`XTASK_NO_ATTACK_VM=1` skips the latter).
pub fn ci(root: &Path) -> Result<(), String> {
    let mut options = Options::default();
    run(root, &options)?;
    if std::env::var_os("XTASK_NO_ATTACK_VM").is_some() {
        println!("xtask attack: XTASK_NO_ATTACK_VM set, the VM battery is skipped");
        return Ok(());
    }
    options.target = TargetKind::Vm;
    run(root, &options)
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
    /// Printed in full under the row.
    details: Vec<String>,
    problems: Vec<String>,
}

fn run(root: &Path, options: &Options) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("pinata-attack-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let name = match options.target {
        TargetKind::Hosted => "hosted",
        TargetKind::Vm => "vm",
        TargetKind::External => "external",
    };
    // Before the target starts, so the hosted runner and QEMU inherit it.
    let open_files = net::raise_open_file_limit()
        .map_err(|e| format!("cannot raise the open-file limit: {e}"))?;
    println!(
        "xtask attack: open-file limit {} (was {}); starting the {name} target",
        open_files.now, open_files.before
    );
    let started = Instant::now();
    let mut target = match options.target {
        TargetKind::Hosted => start_hosted(root, options.release, dir.clone())?,
        TargetKind::Vm => start_vm(root, dir.clone())?,
        TargetKind::External => {
            let (address, sources, console) =
                options.external.clone().ok_or("no external target given")?;
            net::set_external(address, sources)?;
            start_external(&console, options.pcap.clone(), dir.clone())?
        }
    };
    println!(
        "xtask attack: {name} ready in {} ms; ports http={} https={} server={} connect_back={} client={}, connect-back dials {}:{}",
        started.elapsed().as_millis(),
        target.ports[0],
        target.ports[1],
        target.ports[2],
        target.ports[3],
        target.ports[4],
        if target.kind == TargetKind::External {
            "this host"
        } else {
            "127.0.0.1"
        },
        target.cb_port
    );
    let certs = make_certs(&dir)?;
    let http_port = target.visitor_port;
    let kind = target.kind;
    let mut rows = Vec::new();
    let mut crashed = None;
    for (case, service, function) in CASES.iter().filter(|(case, _, _)| options.runs_case(case)) {
        let before = stats(kind, http_port);
        let log_from = target.log_len();
        let prober = Prober::start(kind, http_port);
        let ctx = Ctx {
            target: &target,
            pki: &certs,
            open_files: open_files.now,
        };
        let exchange = function(&ctx);
        thread::sleep(exchange.settle);
        let (during, mut problems) = prober.finish();
        problems.extend(exchange.problems.iter().cloned());
        let after = probe_page(kind, http_port);
        let after_ms = match &after {
            Ok(t) => Some(t.as_millis()),
            Err(e) => {
                problems.push(format!("page after: {e}"));
                None
            }
        };
        let after_stats = stats(kind, http_port);
        let (counters, secrets_moved) = counters_moved(&before, &after_stats, &mut problems);
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
            details: exchange.details,
            problems,
        };
        print_row(&row);
        rows.push(row);
        if crashed.is_some() {
            break;
        }
    }

    if options.soak > 0 && crashed.is_none() {
        let ctx = Ctx {
            target: &target,
            pki: &certs,
            open_files: open_files.now,
        };
        let mut row = soak(&ctx, options.soak);
        if let Err(e) = target.alive() {
            row.problems.push(format!("CRASH: {e}"));
            crashed = Some(e);
        }
        print_row(&row);
        rows.push(row);
    }
    if options.full && crashed.is_none() {
        let scans = scanners(&mut target, &dir);
        if let Some(row) = scans
            .iter()
            .find(|r| r.problems.iter().any(|p| p.starts_with("CRASH")))
        {
            crashed = Some(row.problems.join("; "));
        }
        rows.extend(scans);
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
        "xtask attack: the {name} target, {} s from start to finish:",
        started.elapsed().as_secs()
    );
    println!(
        "{}",
        summary_line(rows.len(), leaks, crashes + page_down, max)
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

/// The battery's last line (issue 7's shape).
fn summary_line(cases: usize, leaks: usize, crashes: usize, max_page_ms: u128) -> String {
    format!("{cases} cases, {leaks} leaks, {crashes} crashes, max page latency {max_page_ms} ms")
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
    for line in &row.details {
        println!("    {line}");
    }
    for p in &row.problems {
        println!("    !! {p}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_line_has_the_issues_shape() {
        assert_eq!(
            summary_line(69, 0, 0, 412),
            "69 cases, 0 leaks, 0 crashes, max page latency 412 ms"
        );
    }

    #[test]
    fn case_filters() {
        let all = Options::default();
        assert!(all.runs_case("flood_10000_idle"));
        let some = Options {
            cases: vec!["flood".into(), "cert_".into()],
            ..Options::default()
        };
        assert!(some.runs_case("flood_10000_idle"));
        assert!(some.runs_case("cert_expired"));
        assert!(!some.runs_case("sslv2_hello"));
        let none = Options {
            no_quick: true,
            ..Options::default()
        };
        assert!(!none.runs_case("flood_10000_idle"));
    }
}
