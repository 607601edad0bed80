//! `cargo xtask attack`: the attack battery.
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
//! `--net tap` (VM, as root) puts the unikernel on a bridge in a network
//! namespace of this process's own (`crate::netns`) instead of QEMU's user
//! networking, so the battery reaches it from hundreds of addresses at the
//! network's pace; then the hostile-load cases (`load.rs`) run too: the
//! heap pinned by stalled handshakes on a VM of 32 and 64 MiB, the stack's
//! sockets exhausted from one address, a SYN flood, a reader that never
//! reads, a trickle that outlasts the close, and the most connections held
//! at once. Those that apply run against the hosted runner as well.
//!
//! Beyond the cases: `--soak N` checks that memory comes back after many
//! connections (`soak.rs`) and `--full` runs the external scanners
//! (`scanners.rs`).
//!
//! `--quick` is what CI runs (`ci`): every case but those [`AWAITING_FIX`]
//! lists (they fail on today's code) and the [`MEASURES`] of a goal, gated on behaviour only — no leak,
//! no crash or power-off, the page served again within [`QUICK_PAGE_BACK`]
//! after each case; the page's latency is printed as a figure. Without it
//! the page must answer within [`PAGE_LIMIT`] throughout.
//!
//! The soft open-file limit is raised to the hard limit first, before the
//! target starts, so the flood's sockets fit and the hosted runner and
//! QEMU (one host socket per forwarded connection) inherit the room.

mod capacity;
mod cases;
mod certs;
mod exhaustion;
mod flags;
mod flood;
mod http;
mod isn;
mod load;
mod net;
mod pcap;
mod pcg32;
mod pinning;
mod probe;
mod protocol;
mod records;
mod scanners;
mod side_vm;
mod slow;
mod soak;
mod synflood;
mod target;
mod transport;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use cases::{CASES, Ctx};
use certs::make_certs;
pub use flags::Flags;
use load::{AWAITING_FIX, LOAD_CASES, MEASURES};
use probe::{Prober, counters_moved, page_back, stats};
use scanners::scanners;
use soak::soak;
use target::{TapVm, start_external, start_hosted, start_tap_vm, start_vm};

/// The prize the target is started with: BIP-32's well-known test vector
/// "private key 1" as a testnet-family WIF, read as regtest. Worthless.
pub(crate) const WIF: &str = harness::prize::TEST_WIF;

/// The page must answer within this, during and after every case.
const PAGE_LIMIT: Duration = Duration::from_secs(1);

/// How long a case waits for the piñata to answer or close.
const REPLY_WAIT: Duration = Duration::from_secs(6);

/// `--quick`: how long the page may take to be served again after a case
/// (generous: a loaded 2-core CI machine runs the VM under TCG).
const QUICK_PAGE_BACK: Duration = Duration::from_secs(30);

/// The tap device (`netns::tap_name`) of the battery's VM, and of the
/// second VM some load cases boot.
const MAIN_TAP: usize = 0;
const SIDE_TAP: usize = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Hosted,
    Vm,
    /// Already running elsewhere (`--target external:IP`).
    External,
}

/// How the VM target is networked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetKind {
    /// QEMU's user networking, ports forwarded on loopback.
    User,
    /// A tap device on a bridge in a network namespace of this process's
    /// own (`crate::netns`).
    Tap,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub target: TargetKind,
    pub soak: usize,
    /// Threads the soak's loop runs in.
    pub soak_workers: usize,
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
    pub net: NetKind,
    /// CI's run: no case awaiting its fix, behaviour gates only.
    pub quick: bool,
    /// The VM's RAM, MiB (QEMU's `-m`).
    pub memory_mib: u32,
}

impl Default for Options {
    /// The quick battery against the hosted runner (what CI runs first).
    fn default() -> Self {
        Options {
            target: TargetKind::Hosted,
            soak: 0,
            soak_workers: 1,
            full: false,
            release: false,
            cases: Vec::new(),
            no_quick: false,
            external: None,
            pcap: None,
            net: NetKind::User,
            quick: false,
            memory_mib: 128,
        }
    }
}

impl Options {
    /// Whether the run includes case `name`: all cases unless `--no-quick`
    /// or `--case` says otherwise; `--quick` leaves out the cases that
    /// await their fix against this target, unless `--case` names them.
    fn runs_case(&self, name: &str) -> bool {
        if self.no_quick {
            return false;
        }
        if !self.cases.is_empty() {
            return self.cases.iter().any(|c| name.contains(c));
        }
        !(self.quick && (awaits_fix(name, self.target) || MEASURES.contains(&name)))
    }
}

/// Whether case `name` fails against `target` on today's code, waiting for
/// its fix ([`AWAITING_FIX`]).
fn awaits_fix(name: &str, target: TargetKind) -> bool {
    AWAITING_FIX
        .iter()
        .any(|(case, targets)| *case == name && targets.contains(&target))
}

pub fn main(root: &Path, flags: Flags) -> Result<(), String> {
    run(root, &flags.into_options()?)
}

/// CI: the quick battery (`--quick`) against the hosted runner, then
/// against the unikernel under QEMU — over tap when this process can build
/// the network namespace (root, `ip`, `/dev/net/tun`, and a kernel or
/// container that allows it: tried first), else over user networking
/// (`XTASK_NO_ATTACK_VM=1` skips the VM).
pub fn ci(root: &Path) -> Result<(), String> {
    let mut options = Options {
        quick: true,
        ..Options::default()
    };
    run(root, &options)?;
    if std::env::var_os("XTASK_NO_ATTACK_VM").is_some() {
        println!("xtask attack: XTASK_NO_ATTACK_VM set, the VM battery is skipped");
        return Ok(());
    }
    options.target = TargetKind::Vm;
    options.net = match crate::netns::try_build() {
        Ok(()) => NetKind::Tap,
        Err(why) => {
            println!("xtask attack: the VM battery runs over user networking: {why}");
            NetKind::User
        }
    };
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
    let name = match (options.target, options.net) {
        (TargetKind::Hosted, _) => "hosted",
        (TargetKind::Vm, NetKind::User) => "vm",
        (TargetKind::Vm, NetKind::Tap) => "vm over tap",
        (TargetKind::External, _) => "external",
    };
    // Before the target starts, so the hosted runner and QEMU inherit it.
    let open_files = net::raise_open_file_limit()
        .map_err(|e| format!("cannot raise the open-file limit: {e}"))?;
    println!(
        "xtask attack: open-file limit {} (was {}); starting the {name} target",
        open_files.now, open_files.before
    );
    let started = Instant::now();
    // The image is built before this thread enters a namespace: cargo and
    // sccache talk over loopback to the build's own servers.
    let image = match options.target {
        TargetKind::Vm => Some(crate::image::build_image(root)?),
        _ => None,
    };
    // Kept to the end of the run; dropped after the target (declared first).
    let namespace = match (options.target, options.net) {
        (TargetKind::Vm, NetKind::Tap) => Some(
            crate::netns::TapNet::enter(SIDE_TAP + 1)
                .map_err(|e| format!("--net tap: {e} (--net user needs no root)"))?,
        ),
        _ => None,
    };
    let mut target = match (options.target, &image) {
        (TargetKind::Hosted, _) => {
            net::set_addresses(net::Addresses::loopback(false));
            start_hosted(root, options.release, dir.clone())?
        }
        (TargetKind::Vm, Some(image)) if namespace.is_some() => {
            net::set_addresses(net::Addresses::tap(crate::netns::guest_address(MAIN_TAP)));
            let vm = TapVm {
                index: MAIN_TAP,
                memory_mib: options.memory_mib,
                append: String::new(),
                // Only the ISN case and the SYN flood read it; a soak
                // would fill the disk.
                dump: options.runs_case("isn_prediction") || options.runs_case("syn_flood"),
            };
            start_tap_vm(image, dir.clone(), &vm)?
        }
        (TargetKind::Vm, Some(image)) => {
            net::set_addresses(net::Addresses::loopback(true));
            start_vm(image, dir.clone(), options.memory_mib)?
        }
        (TargetKind::Vm, None) => unreachable!("the image is built for a VM target"),
        (TargetKind::External, _) => {
            let (address, sources, console) =
                options.external.clone().ok_or("no external target given")?;
            net::set_external(address, sources)?;
            start_external(&console, options.pcap.clone(), dir.clone())?
        }
    };
    println!(
        "xtask attack: {name} ready in {} ms; {}:{} http, {} https, {} server, {} connect_back, {} client; connect-back dials the caller's port {}",
        started.elapsed().as_millis(),
        net::target_ip(),
        target.ports[0],
        target.ports[1],
        target.ports[2],
        target.ports[3],
        target.ports[4],
        target.cb_port
    );
    if options.quick {
        let left_out: Vec<&str> = AWAITING_FIX
            .iter()
            .map(|(case, _)| *case)
            .filter(|case| awaits_fix(case, options.target) && !options.runs_case(case))
            .collect();
        println!(
            "xtask attack: quick run: behaviour gates only (the page must be served again within {} s after each case; its latency is a figure){}",
            QUICK_PAGE_BACK.as_secs(),
            if left_out.is_empty() {
                String::new()
            } else {
                format!("; left out until their fix lands: {}", left_out.join(", "))
            }
        );
    }
    let certs = make_certs(&dir)?;
    let http_port = target.visitor_port;
    let kind = target.kind;
    let side_vm = namespace.as_ref().map(|_| SIDE_TAP);
    let mut rows = Vec::new();
    // The page's probes during the cases, for the run's figures.
    let mut pages: Vec<(&str, probe::PageFigures)> = Vec::new();
    let mut crashed = None;
    let all_cases = CASES.iter().chain(LOAD_CASES.iter());
    for (case, service, function) in all_cases.filter(|(case, _, _)| options.runs_case(case)) {
        let before = stats(kind, http_port);
        let log_from = target.log_len();
        let prober = Prober::start(kind, http_port);
        let ctx = Ctx {
            target: &target,
            pki: &certs,
            open_files: open_files.now,
            side_vm,
            quick: options.quick,
        };
        let exchange = function(&ctx);
        thread::sleep(exchange.settle);
        let page = prober.finish_figures();
        let mut problems = Vec::new();
        let mut details = exchange.details;
        if page.probes > 0 {
            details.push(page.describe());
        }
        // Under --quick a figure, not a verdict: the page must only come back.
        if !options.quick && !page.failures.is_empty() {
            problems.push(format!(
                "the page failed {} of {} probes during the case (first: {})",
                page.failures.len(),
                page.probes,
                page.failures[0]
            ));
        }
        problems.extend(exchange.problems.iter().cloned());
        let after = if options.quick {
            page_back(kind, http_port, QUICK_PAGE_BACK).map(|(latency, waited)| {
                if !waited.is_zero() {
                    details.push(format!(
                        "page served again {} ms after the case",
                        waited.as_millis()
                    ));
                }
                latency
            })
        } else {
            probe::probe_page(kind, http_port)
        };
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
        pages.push((case, page.clone()));
        let row = Row {
            name: case.to_string(),
            service: service.to_string(),
            sent: exchange.sent,
            reply: exchange.reply,
            leak,
            during_ms: page.max.as_millis(),
            after_ms,
            counters,
            details,
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
            side_vm,
            quick: options.quick,
        };
        let mut row = soak(&ctx, options.soak, options.soak_workers);
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
    drop(target);
    drop(namespace);

    let leaks = rows.iter().filter(|r| r.leak).count();
    // The battery's target, and any VM a case booted, that died.
    let crashes = rows
        .iter()
        .filter(|r| r.problems.iter().any(|p| p.starts_with("CRASH")))
        .count()
        .max(usize::from(crashed.is_some()));
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
        "xtask attack: the {name} target, {} s from start to finish{}:",
        started.elapsed().as_secs(),
        if options.quick {
            " (quick: the page's latency is a figure, not a gate)"
        } else {
            ""
        }
    );
    if !pages.is_empty() {
        println!(
            "page during the cases: {}",
            probe::PageFigures::merged(pages.iter().map(|(_, p)| p)).summarize()
        );
        let awaiting: Vec<&str> = pages
            .iter()
            .map(|(case, _)| *case)
            .filter(|case| awaits_fix(case, kind))
            .collect();
        if !awaiting.is_empty() {
            let others = pages
                .iter()
                .filter(|(case, _)| !awaiting.contains(case))
                .map(|(_, p)| p);
            println!(
                "page during the cases but those awaiting their fix ({}): {}",
                awaiting.join(", "),
                probe::PageFigures::merged(others).summarize()
            );
        }
    }
    println!(
        "{}",
        summary_line(rows.len(), leaks, crashes + page_down, max)
    );
    let too_slow = !options.quick && max > PAGE_LIMIT.as_millis();
    if leaks > 0 || crashes > 0 || page_down > 0 || !failed.is_empty() || too_slow {
        let mut why = format!("{} case(s) with problems", failed.len());
        if too_slow {
            let slow: Vec<&str> = rows
                .iter()
                .filter(|r| r.during_ms.max(r.after_ms.unwrap_or(0)) > PAGE_LIMIT.as_millis())
                .map(|r| r.name.as_str())
                .collect();
            why.push_str(&format!(
                "; the page took {max} ms, over the {} ms limit (in {})",
                PAGE_LIMIT.as_millis(),
                slow.join(", ")
            ));
        }
        return Err(format!("attack battery against {name} failed: {why}"));
    }
    Ok(())
}

/// The battery's last line.
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
