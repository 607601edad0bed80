//! `cargo xtask bench`: the piñata against what a user would run instead.
//!
//! Every figure is measured in the same run as its reference and printed as
//! a ratio with the absolute numbers beside it; each is the median of
//! `--runs` runs of `--seconds` seconds, the piñata and its references taking
//! turns so that drift on the machine hits them alike.
//!
//! - **The target rows** first: bounty mutual TLS 1.3 with the default
//!   bounty chain (Ed25519), classical and with X25519MLKEM768 on both
//!   sides, and the HTTPS page, each against rustls + aws-lc-rs in the same
//!   windows — with the P-256 chain (the targets' yardstick) and with the
//!   same chain — and judged per CPU-second. Beside the hosted piñata (the
//!   `hosted` profile, opt-level 3) runs the **hosted piñata with the
//!   image's back ends**: the release profile (the image's), the `--cfg`
//!   soft back ends `.cargo/config.toml` sets for `x86_64-unknown-none`, the
//!   image's features ([`builds::build_soft`]), so the image's crypto speed is
//!   measured on the host instead of under TCG.
//! - **Mutual-TLS handshakes per second** on the bounty server (TLS 1.2,
//!   TLS 1.3 for the other key types, and TLS 1.3 with the hybrid
//!   X25519MLKEM768 on both sides): the hosted piñata
//!   against a plain rustls server with the aws-lc-rs provider
//!   (`bench/src/bin/refserver.rs`) and `openssl s_server`, each with the
//!   same certificates and pinned to one core (`taskset -c 0`); the load
//!   generator (`bench/src/bin/loadgen.rs`, rustls + aws-lc-rs, no
//!   resumption) runs as a separate process on the other core, on loopback.
//!   Besides the rate, each server's CPU time during the window gives
//!   handshakes per CPU-second, which does not depend on whether the load
//!   generator kept the server busy.
//! - **The HTTPS page** (no client authentication, one request per
//!   connection) the same way, and the **short-circuit** (port 10000 joined
//!   to 10002: two full mutual handshakes inside the piñata per relay),
//!   counted from the servers' `outcome=secret_sent` lines.
//! - **The unikernel under QEMU** (KVM when usable, else TCG): the page and
//!   the short-circuit (it exports no identities, so mutual TLS is measured
//!   where the piñata talks to itself), boot time from the console's "ms
//!   from PVH entry to listening" and wall time from starting QEMU to the
//!   first HTTP 200, and the smallest `--memory` at which it boots and serves
//!   (bisection).
//! - **Image size and TCB** from the size report (`target/size-report`).
//!
//! Results: printed, and written to `<target dir>/bench/results.md` and
//! `results.json`. The targets are shown met/missed with the margin;
//! nothing here is a pass/fail test.
//!
//! The parts, one concept each: [`builds`] (what runs), [`process`] (child
//! processes, CPU time, pinning), [`servers`] (the piñatas and references
//! of the hosted comparison), [`measure`] (one window, one figure),
//! [`hosted`] (the hosted rows and targets), [`vm`] (the unikernel under
//! QEMU), [`report`] (the results, printed and written), and [`profile`]
//! (`--perf`: where the hosted piñata's CPU time goes).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::image;

mod builds;
mod hosted;
mod measure;
mod process;
mod profile;
mod report;
mod servers;
mod vm;

use builds::build;
use hosted::hosted_figures;
use process::{cores, has_taskset};
use report::{Results, write_results};
use vm::vm_figures;

/// `cargo xtask bench`'s flags.
#[derive(Debug, clap::Args)]
pub struct Flags {
    /// Length of one measurement window, seconds
    #[arg(long, value_name = "S", default_value = "3")]
    seconds: f64,
    /// Windows per figure; the median is reported
    #[arg(long, value_name = "R", default_value = "3", value_parser = clap::value_parser!(u64).range(1..))]
    runs: u64,
    /// Load-generator connections in flight
    #[arg(long, value_name = "N", default_value = "4")]
    concurrency: usize,
    /// 1 run of 2 s, the target rows only, no memory bisection
    #[arg(long)]
    quick: bool,
    /// Hosted figures only (no QEMU)
    #[arg(long)]
    no_vm: bool,
    /// Skip the smallest-memory bisection
    #[arg(long)]
    no_memory: bool,
    /// Skip openssl s_server
    #[arg(long)]
    no_openssl: bool,
    /// Skip the hosted build with the image's soft back ends
    #[arg(long)]
    no_soft: bool,
    /// Only the target rows (default chain TLS 1.3, X25519MLKEM768, the
    /// page), not TLS 1.2, the other key types, the short-circuit
    #[arg(long)]
    targets_only: bool,
    /// Bounty key types of the detail rows
    #[arg(
        long,
        value_name = "L",
        value_delimiter = ',',
        default_value = "p256,ed25519"
    )]
    key_types: Vec<String>,
    /// Cargo profile of the hosted piñata (hosted: opt-level 3)
    #[arg(long, value_name = "P", default_value = "hosted")]
    profile: String,
    /// Instead of the bench: profile the hosted piñata under the target
    /// rows' loads with Linux perf (one --seconds window each); top
    /// symbols, collapsed stacks, flame graphs (with inferno) and a summary
    /// in the target directory's bench/profile/
    #[arg(long)]
    perf: bool,
}

struct Options {
    seconds: f64,
    runs: usize,
    concurrency: usize,
    vm: bool,
    memory: bool,
    openssl: bool,
    soft: bool,
    details: bool,
    key_types: Vec<String>,
    profile: String,
    perf: bool,
}

impl From<Flags> for Options {
    fn from(f: Flags) -> Options {
        let quick = f.quick;
        Options {
            seconds: if quick { 2.0 } else { f.seconds },
            runs: if quick { 1 } else { f.runs as usize },
            concurrency: f.concurrency,
            vm: !f.no_vm,
            memory: !(f.no_memory || quick),
            openssl: !f.no_openssl,
            soft: !f.no_soft,
            details: !(f.targets_only || quick),
            key_types: f.key_types,
            profile: f.profile,
            perf: f.perf,
        }
    }
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map(|kb| format!("{:.0} GiB", kb as f64 / 1024.0 / 1024.0))
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_string();
    let openssl = Command::new("openssl")
        .arg("version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|_| "no openssl".into());
    format!(
        "{model}, {} cores, {mem}, Linux {kernel}; {openssl}",
        cores()
    )
}

pub fn main(root: &Path, flags: Flags) -> Result<(), String> {
    let mut o = Options::from(flags);
    if o.perf {
        o.soft = false;
    }
    let b = build(root, &o)?;
    if o.perf {
        return profile::main(root, &o, &b.loadgen);
    }
    let dir = std::env::temp_dir().join(format!("pinata-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut r = Results::default();
    r.fact("machine", machine());
    r.fact(
        "method",
        format!(
            "median of {} × {} s windows, {} connections in flight; servers on core 0, load generator on core 1{}",
            o.runs,
            o.seconds,
            o.concurrency,
            if has_taskset() && cores() > 1 { "" } else { " (not pinned: no taskset or one core)" }
        ),
    );
    let result = (|| -> Result<(), String> {
        let hosted = hosted_figures(&b, &o, &dir, &mut r)?;
        if o.vm {
            vm_figures(&b, &o, &dir, &hosted, &mut r)?;
        }
        Ok(())
    })();
    // Size figures from the last size report, if any.
    let report = image::target_dir(root)
        .join("size-report")
        .join("report.json");
    if let Ok(text) = std::fs::read_to_string(&report)
        && let Ok(v) = serde_json::from_str::<Value>(&text)
    {
        for t in v["targets"].as_array().into_iter().flatten() {
            r.target(
                t["name"].as_str().unwrap_or(""),
                t["measured"].as_str().unwrap_or("").to_string(),
                t["target"].as_str().unwrap_or(""),
                t["met"].as_bool(),
                t["margin"].as_str().unwrap_or("").to_string(),
            );
        }
    } else {
        r.fact(
            "size and TCB",
            "no size report yet: run `cargo xtask size-report`".into(),
        );
    }
    fuzz_speed(&mut r);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(
        std::env::temp_dir().join(format!("pinata-bench-{}.wif", std::process::id())),
    );
    write_results(root, &r)?;
    result
}

/// The TLS fuzz target's speed, from the last `cargo xtask fuzz` campaign
/// (`cargo xtask test` runs one): executions per CPU-second of the fuzzer,
/// the figure another process's load does not change, beside libFuzzer's
/// wall-time exec/s.
fn fuzz_speed(r: &mut Results) {
    const TARGET: &str = "handshake_transcript";
    const GOAL: u64 = 10_000;
    let path = crate::fuzz::results_path();
    let row = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| {
            v["targets"]
                .as_array()?
                .iter()
                .find(|t| t["target"] == TARGET)
                .cloned()
        });
    let name = format!("fuzzing `{TARGET}`, executions per second");
    let Some(row) = row else {
        r.target(
            &name,
            "not measured".into(),
            &format!("≥ {GOAL} exec/s"),
            None,
            format!(
                "no campaign on record: run `cargo xtask fuzz` ({})",
                path.display()
            ),
        );
        return;
    };
    let per_cpu = row["exec_per_cpu_second"].as_u64();
    let wall = row["exec_per_sec"].as_u64();
    let show = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
    r.target(
        &name,
        format!(
            "{} per CPU-second (libFuzzer's wall exec/s {}; cov {}, ft {}; last `cargo xtask fuzz`)",
            show(per_cpu),
            show(wall),
            row["cov"],
            row["ft"]
        ),
        &format!("≥ {GOAL} exec/s"),
        per_cpu.map(|v| v >= GOAL),
        per_cpu
            .map(|v| format!("{:+.0} %", (v as f64 / GOAL as f64 - 1.0) * 100.0))
            .unwrap_or_default(),
    );
}
