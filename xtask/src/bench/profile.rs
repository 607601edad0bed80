//! `cargo xtask bench --perf`: where a hosted piñata's CPU time goes under
//! the bench's load, for the target rows.
//!
//! Each scenario — bounty mutual TLS 1.3 with the default chain over X25519,
//! the same over X25519MLKEM768, the HTTPS page — runs a hosted piñata
//! built as the bench builds it (the `hosted` profile) plus frame pointers
//! and line tables, in its own target directory (`<target>/bench-profile`),
//! pinned to core 0 with the load generator on core 1, and samples it with
//! `perf record -e cpu-clock -g` (a software clock: cloud VMs often have no
//! hardware counters) for one window. In `<target>/bench/profile/`:
//!
//! - `NAME.top.txt`: `perf report`'s symbols by self time;
//! - `NAME.folded`: the stacks, collapsed (one line per distinct stack, root
//!   first, with its sample count), the input of any flame-graph tool;
//! - `NAME.svg`: the flame graph, when `inferno-flamegraph` is installed
//!   (`cargo install inferno`);
//! - `summary.md`: per scenario, handshakes per CPU-second during the window
//!   and the samples by what the handshake is doing ([`RULES`]: the first
//!   rule that matches any frame of a stack takes the sample).
//!
//! Needs Linux `perf` (Debian `linux-perf`) allowed to sample the process
//! (root, or `kernel.perf_event_paranoid` ≤ 1).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::Options;
use super::builds::{cargo_json, executables, host_triple};
use super::process::{cpu_seconds, pinned};
use super::servers::{DEFAULT_KEY_TYPE, Hosted, loadgen_args, start_hosted};
use crate::image;

/// What a sample is spent on, by the frames of its stack: the first rule
/// (in this order) whose pattern appears in any frame wins.
pub(super) const RULES: &[(&str, &[&str])] = &[
    (
        "ML-KEM-768 encapsulation (NTT, Keccak)",
        &["ml_kem", "module_lattice", "keccak", "sha3::"],
    ),
    (
        "ECDSA P-256 signing (CertificateVerify)",
        &["ecdsa_p256_sign", "EcdsaP256Signer"],
    ),
    (
        "ECDSA verification",
        &["EcdsaP256Sha", "EcdsaP384Sha", "ecdsa::verifying"],
    ),
    ("P-256 ECDHE", &["kx::Secp256r1", "kx::P256Exchange"]),
    (
        "X25519 (key share and shared secret)",
        &["provider::kx::X25519", "x25519_dalek", "MontgomeryPoint"],
    ),
    (
        "Ed25519 signing (CertificateVerify)",
        &["Ed25519Signer", "ed25519_sign"],
    ),
    (
        "Ed25519 verification (client chain and CertificateVerify)",
        &["verify::Ed25519", "ed25519_dalek::verifying"],
    ),
    (
        "key schedule (HKDF, HMAC)",
        &["hmac", "Hkdf", "key_schedule", "KeySchedule"],
    ),
    ("transcript hash", &["Sha2Context", "HandshakeHash"]),
    (
        "record protection (AEAD)",
        &[
            "aes_gcm",
            "aes::",
            "chacha20",
            "poly1305",
            "polyval",
            "ghash",
            "provider::aead",
        ],
    ),
    (
        "X.509 parsing and path building",
        &["webpki::", "x509_cert", ";der::", "<der::"],
    ),
    (
        "kernel: send (loopback TCP, waking the peer)",
        &["sys_sendto", "sys_write", "tcp_sendmsg"],
    ),
    (
        "kernel: receive",
        &["sys_recvfrom", "sys_read", "tcp_recvmsg"],
    ),
    (
        "kernel: shutdown and close",
        &["sys_shutdown", "sys_close", "__fput", "tcp_close"],
    ),
    ("kernel: accept", &["sys_accept"]),
    ("kernel: epoll", &["epoll"]),
    (
        "kernel: other",
        &[
            "entry_SYSCALL",
            "do_syscall",
            "_[k]",
            "asm_sysvec",
            "irqentry",
        ],
    ),
    (
        "allocation",
        &["malloc", "_int_free", "cfree", "realloc", "calloc"],
    ),
    ("memcpy, memset", &["memmove", "memcpy", "memset"]),
    (
        "logging, counters, page",
        &["print_line", "log_outcome", "stats::", "page::", "memory::"],
    ),
    ("rustls, other", &["rustls::"]),
    (
        "event loop, sessions, transport",
        &["pinata::", "hostnet::", "mio::"],
    ),
];

/// One profiled load.
struct Scenario {
    name: &'static str,
    title: &'static str,
    /// The load generator's mode (`bounty` or `https`).
    mode: &'static str,
    groups: &'static [&'static str],
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "bounty-x25519",
        title: "bounty mutual TLS 1.3, default chain (Ed25519), X25519",
        mode: "bounty",
        groups: &[],
    },
    Scenario {
        name: "bounty-x25519mlkem768",
        title: "bounty mutual TLS 1.3, default chain (Ed25519), X25519MLKEM768",
        mode: "bounty",
        groups: &["--groups", "x25519mlkem768"],
    },
    Scenario {
        name: "https",
        title: "HTTPS page, TLS 1.3 (P-256 web certificate), X25519",
        mode: "https",
        groups: &[],
    },
];

/// Builds the profiling piñata, profiles every scenario, writes the files.
pub(super) fn main(root: &Path, o: &Options, loadgen: &Path) -> Result<(), String> {
    Command::new("perf")
        .arg("--version")
        .output()
        .map_err(|e| format!("--perf needs Linux perf (Debian linux-perf): {e}"))?;
    let pinata = build(root, o)?;
    let out = image::target_dir(root).join("bench").join("profile");
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let scratch = std::env::temp_dir().join(format!("pinata-profile-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let flamegraph = Command::new("inferno-flamegraph")
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let mut summary = String::from("# cargo xtask bench --perf\n");
    let _ = writeln!(
        summary,
        "\n{} s per scenario, {} connections in flight; the piñata on core 0, the load \
         generator on core 1; `perf record -F 2000 -e cpu-clock -g`.",
        o.seconds, o.concurrency
    );
    let result = (|| -> Result<(), String> {
        for s in SCENARIOS {
            let hosted = start_hosted(&pinata, DEFAULT_KEY_TYPE, &scratch, s.name)?;
            let (rate, stacks, top) = record(o, loadgen, &hosted, s, &scratch)?;
            drop(hosted);
            std::fs::write(out.join(format!("{}.top.txt", s.name)), &top)
                .map_err(|e| e.to_string())?;
            let folded: String = stacks
                .iter()
                .map(|(stack, n)| format!("{stack} {n}\n"))
                .collect();
            let folded_path = out.join(format!("{}.folded", s.name));
            std::fs::write(&folded_path, &folded).map_err(|e| e.to_string())?;
            if flamegraph {
                let svg = Command::new("inferno-flamegraph")
                    .args(["--title", s.title, "--minwidth", "0.2"])
                    .arg(&folded_path)
                    .output()
                    .map_err(|e| e.to_string())?;
                std::fs::write(out.join(format!("{}.svg", s.name)), svg.stdout)
                    .map_err(|e| e.to_string())?;
            }
            let table = categories(&stacks);
            println!(
                "bench: profile {}: {rate:.0} handshakes per CPU-second",
                s.title
            );
            print!("{table}");
            let _ = writeln!(
                summary,
                "\n## {}\n\n{rate:.0} handshakes per CPU-second while sampled.\n\n{table}",
                s.title
            );
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::write(out.join("summary.md"), &summary).map_err(|e| e.to_string())?;
    eprintln!("xtask: bench --perf: profiles in {}", out.display());
    result
}

/// The hosted piñata with frame pointers and line tables, for the host
/// triple in `<target>/bench-profile`.
fn build(root: &Path, o: &Options) -> Result<PathBuf, String> {
    let host = host_triple()?;
    let target_dir = image::target_dir(root).join("bench-profile");
    let target_dir = target_dir.to_string_lossy();
    let profile_var = format!(
        "CARGO_PROFILE_{}_DEBUG",
        o.profile.to_uppercase().replace('-', "_")
    );
    let built = executables(&cargo_json(
        root,
        &[
            "build",
            "--profile",
            &o.profile,
            "--locked",
            "-p",
            "pinata",
            "--bin",
            "pinata",
            "--target",
            &host,
            "--target-dir",
            &target_dir,
        ],
        &[
            ("CARGO_ENCODED_RUSTFLAGS", "-Cforce-frame-pointers=yes"),
            (&profile_var, "line-tables-only"),
        ],
    )?);
    built
        .get("pinata")
        .cloned()
        .ok_or_else(|| "cargo built no profiling `pinata` executable".into())
}

/// Loads `hosted` for one window while `perf` samples it: handshakes per
/// CPU-second, the collapsed stacks, perf's top-symbols report.
fn record(
    o: &Options,
    loadgen: &Path,
    hosted: &Hosted,
    s: &Scenario,
    scratch: &Path,
) -> Result<(f64, BTreeMap<String, u64>, String), String> {
    let service = if s.mode == "bounty" {
        "server"
    } else {
        "https"
    };
    let args = loadgen_args(
        s.mode,
        &hosted.addr(service),
        &hosted.ids,
        Some("13"),
        s.groups,
    );
    // A short warm-up (the P-256 table, the allocator's pools).
    let _ = pinned(1, loadgen)
        .args(&args)
        .args(["--seconds", "1"])
        .output();
    let pid = hosted.proc.process.child.id();
    let data = scratch.join(format!("{}.perf.data", s.name));
    let cpu0 = cpu_seconds(pid).ok_or("no CPU time for the piñata")?;
    let mut perf = Command::new("perf")
        .args(["record", "-F", "2000", "-e", "cpu-clock", "-g", "-p"])
        .arg(pid.to_string())
        .arg("-o")
        .arg(&data)
        .args(["--", "sleep"])
        .arg(o.seconds.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run perf record: {e}"))?;
    let load = pinned(1, loadgen)
        .args(&args)
        .args(["--seconds", &o.seconds.to_string()])
        .args(["--concurrency", &o.concurrency.to_string()])
        .output()
        .map_err(|e| format!("cannot run loadgen: {e}"))?;
    let recorded = perf.wait().map_err(|e| e.to_string())?;
    // Let the last connections finish before reading the CPU time.
    std::thread::sleep(Duration::from_millis(200));
    let cpu = cpu_seconds(pid).ok_or("no CPU time for the piñata")? - cpu0;
    if !recorded.success() {
        return Err(format!(
            "perf record failed ({recorded}): can it sample pid {pid}?"
        ));
    }
    let text = String::from_utf8_lossy(&load.stdout);
    let completed: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("loadgen: completed "))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("loadgen printed no result: {text}"))?;
    let script = Command::new("perf")
        .arg("script")
        .arg("-i")
        .arg(&data)
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run perf script: {e}"))?;
    let stacks = collapse(&String::from_utf8_lossy(&script.stdout));
    let top = Command::new("perf")
        .args([
            "report",
            "--no-children",
            "--sort",
            "dso,symbol",
            "-g",
            "none",
        ])
        .args(["--percent-limit", "0.5", "--stdio", "-i"])
        .arg(&data)
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run perf report: {e}"))?;
    let top: String = String::from_utf8_lossy(&top.stdout)
        .lines()
        .filter(|l| l.contains('%') && !l.starts_with('#'))
        .map(|l| format!("{}\n", l.trim_end()))
        .collect();
    Ok((completed / cpu.max(0.01), stacks, top))
}

/// `perf script`'s samples as collapsed stacks: `comm;root;…;leaf` → count.
fn collapse(script: &str) -> BTreeMap<String, u64> {
    let mut stacks = BTreeMap::new();
    let mut comm = String::new();
    let mut frames: Vec<String> = Vec::new();
    let mut flush = |comm: &str, frames: &mut Vec<String>| {
        if !comm.is_empty() {
            let mut stack = String::from(comm);
            for f in frames.iter().rev() {
                stack.push(';');
                stack.push_str(f);
            }
            *stacks.entry(stack).or_insert(0) += 1;
        }
        frames.clear();
    };
    for line in script.lines() {
        if line.trim().is_empty() {
            flush(&comm, &mut frames);
            comm.clear();
        } else if line.starts_with(char::is_whitespace) {
            // "\t    addr symbol+0xoff (dso)"
            let rest = line.trim_start();
            let rest = rest.split_once(' ').map_or("", |(_, r)| r);
            let symbol = rest.rsplit_once(" (").map_or(rest, |(s, _)| s);
            let symbol = match symbol.rsplit_once("+0x") {
                Some((s, off)) if off.chars().all(|c| c.is_ascii_hexdigit()) => s,
                _ => symbol,
            };
            let kernel = line.contains("([kernel.kallsyms])");
            frames.push(if kernel {
                format!("{symbol}_[k]")
            } else {
                symbol.replace(';', ":")
            });
        } else {
            flush(&comm, &mut frames);
            comm = line.split_whitespace().next().unwrap_or("?").to_string();
        }
    }
    flush(&comm, &mut frames);
    stacks
}

/// The samples by [`RULES`], as a Markdown table, largest first.
pub(super) fn categories(stacks: &BTreeMap<String, u64>) -> String {
    let mut totals: BTreeMap<&str, u64> = BTreeMap::new();
    let mut all = 0;
    for (stack, &n) in stacks {
        all += n;
        let name = RULES
            .iter()
            .find(|(_, patterns)| patterns.iter().any(|p| stack.contains(p)))
            .map_or("other", |(name, _)| name);
        *totals.entry(name).or_insert(0) += n;
    }
    let mut rows: Vec<(&str, u64)> = totals.into_iter().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    let mut out = String::from("| share | what |\n|---:|---|\n");
    for (name, n) in rows {
        let _ = writeln!(
            out,
            "| {:.1} % | {name} |",
            100.0 * n as f64 / all.max(1) as f64
        );
    }
    let _ = writeln!(out, "\n{all} samples");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perf_script_collapses_root_first() {
        let script = "\
pinata 123 10.0:     500000 cpu-clock:
\t    55d5c0a1 curve25519_dalek::field::pow2k+0x23 (/x/pinata)
\t    55d5c0b2 pinata::provider::kx::X25519Exchange::complete+0x10 (/x/pinata)
\t    55d5c0c3 main+0x5 (/x/pinata)

pinata 123 10.1:     500000 cpu-clock:
\tffffffff8100 _raw_spin_unlock_irqrestore+0x1 ([kernel.kallsyms])
\tffffffff8200 __x64_sys_sendto+0x2 ([kernel.kallsyms])
\t    55d5c0c3 main+0x5 (/x/pinata)
";
        let stacks = collapse(script);
        assert_eq!(
            stacks.get(
                "pinata;main;pinata::provider::kx::X25519Exchange::complete;curve25519_dalek::field::pow2k"
            ),
            Some(&1)
        );
        assert_eq!(
            stacks.get("pinata;main;__x64_sys_sendto_[k];_raw_spin_unlock_irqrestore_[k]"),
            Some(&1)
        );
        let table = categories(&stacks);
        assert!(table.contains("| 50.0 % | X25519"), "{table}");
        assert!(table.contains("| 50.0 % | kernel: send"), "{table}");
    }
}
