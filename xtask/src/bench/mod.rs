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

const USAGE: &str = "\
usage: cargo xtask bench [--seconds S] [--runs R] [--concurrency N] [--quick]
                         [--no-vm] [--no-memory] [--no-openssl] [--no-soft]
                         [--targets-only] [--key-types p256,ed25519] [--profile P]
                         [--perf]

  --seconds S      length of one measurement window (default 3)
  --runs R         windows per figure; the median is reported (default 3)
  --concurrency N  load-generator connections in flight (default 4)
  --quick          1 run of 2 s, the target rows only, no memory bisection
  --no-vm          hosted figures only (no QEMU)
  --no-memory      skip the smallest---memory bisection
  --no-openssl     skip openssl s_server
  --no-soft        skip the hosted build with the image's soft back ends
  --targets-only   only the target rows (default chain TLS 1.3, X25519MLKEM768,
                   the page), not TLS 1.2, the other key types, the short-circuit
  --key-types L    bounty key types of the detail rows (default p256,ed25519)
  --profile P      cargo profile of the hosted piñata (default hosted: opt-level 3)
  --perf           instead of the bench: profile the hosted piñata under the target
                   rows' loads with Linux perf (one --seconds window each); top
                   symbols, collapsed stacks, flame graphs (with inferno) and a
                   summary in <target>/bench/profile/";

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

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        seconds: 3.0,
        runs: 3,
        concurrency: 4,
        vm: true,
        memory: true,
        openssl: true,
        soft: true,
        details: true,
        key_types: vec!["p256".into(), "ed25519".into()],
        profile: "hosted".into(),
        perf: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs a value"))
        };
        match a.as_str() {
            "--seconds" => o.seconds = value()?.parse().map_err(|_| "--seconds: a number")?,
            "--runs" => o.runs = value()?.parse().map_err(|_| "--runs: a number")?,
            "--concurrency" => {
                o.concurrency = value()?.parse().map_err(|_| "--concurrency: a number")?
            }
            "--quick" => {
                o.seconds = 2.0;
                o.runs = 1;
                o.memory = false;
                o.details = false;
            }
            "--no-vm" => o.vm = false,
            "--no-soft" => o.soft = false,
            "--targets-only" => o.details = false,
            "--profile" => o.profile = value()?,
            "--perf" => o.perf = true,
            "--no-memory" => o.memory = false,
            "--no-openssl" => o.openssl = false,
            "--key-types" => o.key_types = value()?.split(',').map(str::to_string).collect(),
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    if o.runs == 0 {
        o.runs = 1;
    }
    Ok(o)
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

pub fn main(root: &Path, args: &[String]) -> Result<(), String> {
    let mut o = parse(args)?;
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
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(
        std::env::temp_dir().join(format!("pinata-bench-{}.wif", std::process::id())),
    );
    write_results(root, &r)?;
    result
}
