//! `cargo xtask fuzz`: builds every cargo-fuzz target (stable toolchain, no
//! sanitizer), writes the seed corpora, runs each target for a fixed time
//! and prints a table — target, exec/s, corpus size, coverage, new crashes.
//! Exits non-zero if any target crashed, listing the crash inputs.
//!
//! ```text
//! cargo xtask fuzz [--seconds N] [--jobs J] [--target NAME]... [--planted-bug | --cflite-check]
//! cargo xtask fuzz --ci [--cflite-check]
//! ```
//!
//! - `--seconds N` (default 60): libFuzzer `-max_total_time` per target.
//! - `--jobs J` (default 1): targets fuzzed at once, one process each.
//! - `--target NAME`: only these targets (repeatable).
//! - `--planted-bug`: instead, build over the test-only planted bug
//!   (the fuzz kit's `planted-bug`: certificate chain signatures always
//!   verify) and check that the leak oracle catches it from the seeds within
//!   N seconds (default 60); fails if it does not.
//! - `--cflite-check`: instead, do what ClusterFuzzLite's builder and runner
//!   do with `.clusterfuzzlite/` (nightly, AddressSanitizer, `build.sh`, the
//!   `$OUT` checks, each target N seconds from `$OUT`, default 30): see
//!   [`cflite`].
//! - `--ci`: what `cargo xtask test` runs ([`ci`]); with `--cflite-check`,
//!   only its last step, the ClusterFuzzLite check with a fixed seed and
//!   run count per target.
//!
//! [`ci`] is what `cargo xtask test` runs: fmt and clippy for `fuzz/` (its
//! own workspace), the planted-bug checks, then every target two at a time,
//! deterministically: a fixed libFuzzer seed and run count ([`CI_RUNS`]),
//! so that CI fails on a regression, not on a new discovery by chance.
//!
//! Limits on every run: `-rss_limit_mb=2048`, `-malloc_limit_mb=512` (only
//! effective in sanitizer builds; the stable build relies on the fuzz crate's
//! counting allocator, `fuzz/src/lib.rs`), `-timeout=10` per input. Corpora
//! live in `fuzz/corpus/<target>` (kept between runs, not in git), crash
//! inputs in `fuzz/artifacts/<target>/`, logs in `fuzz/target/xtask-logs/`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::root;

mod cflite;

/// The fuzz targets, by their fixed names.
const TARGETS: &[&str] = &[
    "bounty_server",
    "bounty_client",
    "handshake_transcript",
    "http_request",
    "stack_ingress",
];
/// Longest a target may run in CI (a cap; the run count below is the plan).
pub const CI_SECONDS: u64 = 45;
/// libFuzzer's seed in CI: with it and a fixed run count, CI replays the
/// same mutations on every machine, so a CI result can be reproduced here,
/// and a new crash is found by a campaign (`cargo xtask fuzz`), not by
/// chance in somebody's merge. The campaign itself stays random.
const CI_SEED: u64 = 20_261_130;
/// Executions per target in CI: about 20 s each on the two-core CI machine.
/// On a slower machine [`CI_SECONDS`] stops a target early, which only
/// replays a prefix of the same sequence.
const CI_RUNS: &[(&str, u64)] = &[
    ("bounty_server", 250_000),
    ("bounty_client", 200_000),
    ("handshake_transcript", 60_000),
    ("http_request", 600_000),
    ("stack_ingress", 40_000),
];
/// cargo-fuzz release installed when missing (the one this was written for).
pub const CARGO_FUZZ_VERSION: &str = "0.13.2";
/// The host triple cargo-fuzz builds for.
const TRIPLE: &str = "x86_64-unknown-linux-gnu";

/// `cargo xtask fuzz`'s flags.
#[derive(Debug, clap::Args)]
pub struct Options {
    /// Seconds per target [default: 60; 30 with --cflite-check]
    #[arg(long, value_name = "N")]
    seconds: Option<u64>,
    /// Parallel libFuzzer jobs per target
    #[arg(long, value_name = "J", default_value = "1", value_parser = clap::value_parser!(u64).range(1..))]
    jobs: u64,
    /// Fuzz only this target (repeatable)
    #[arg(long = "target", value_name = "NAME", value_parser = clap::builder::PossibleValuesParser::new(TARGETS))]
    targets: Vec<String>,
    /// The planted-bug check: the oracle must find the bug planted in a copy
    #[arg(long, conflicts_with = "cflite_check")]
    planted_bug: bool,
    /// The ClusterFuzzLite build (nightly, ASan) checked and run locally
    #[arg(long)]
    cflite_check: bool,
    /// CI's fuzzing, as `cargo xtask test` runs it (a fixed plan)
    #[arg(long, conflicts_with_all = ["planted_bug", "seconds", "targets"])]
    ci: bool,
}

/// `cargo xtask fuzz …`.
pub fn main(options: Options) -> Result<(), String> {
    if options.ci && !options.cflite_check {
        return ci();
    }
    if options.cflite_check {
        let mode = if options.ci {
            cflite::Mode::Ci
        } else {
            cflite::Mode::Runner {
                seconds: options.seconds.unwrap_or(30),
            }
        };
        return cflite::check(mode, &options.targets);
    }
    prepare()?;
    let seconds = options.seconds.unwrap_or(60);
    if options.planted_bug {
        return planted_bug(seconds);
    }
    let targets: Vec<&str> = if options.targets.is_empty() {
        TARGETS.to_vec()
    } else {
        options.targets.iter().map(String::as_str).collect()
    };
    campaign(&targets, seconds, options.jobs as usize, false)
}

/// What `cargo xtask test` runs: the planted-bug check (the oracle can
/// fail), then every target with [`CI_SEED`] and its [`CI_RUNS`], two at a
/// time, then the ClusterFuzzLite check in its CI mode. Bounded: a few
/// minutes of building and about 1.5 minutes of fuzzing on two cores, then
/// about ten minutes for the ClusterFuzzLite check from a cold start.
pub fn ci() -> Result<(), String> {
    if std::env::var_os("XTASK_NO_FUZZ").is_some() {
        println!("xtask: XTASK_NO_FUZZ is set: fuzzing skipped (CI never sets it)");
        return Ok(());
    }
    // fuzz/ is its own workspace: the root's fmt and clippy do not see it.
    let mut fmt = cargo();
    fmt.args(["fmt", "--manifest-path", "fuzz/Cargo.toml", "--check"]);
    run(fmt, "cargo fmt --check (fuzz/)")?;
    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--manifest-path",
        "fuzz/Cargo.toml",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    run(clippy, "cargo clippy -D warnings (fuzz/)")?;
    prepare()?;
    // The planted bug twice: replayed as a unit test (deterministic, a
    // second), then found by the fuzzer from the seeds alone.
    let mut unit = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    unit.current_dir(root()).args([
        "test",
        "--locked",
        "-p",
        "fuzzkit",
        "--features",
        "planted-bug",
        "--test",
        "fuzz_regressions",
    ]);
    run(
        unit,
        "planted bug, replayed: cargo test -p fuzzkit --features planted-bug --test fuzz_regressions",
    )?;
    planted_bug(60)?;
    campaign(TARGETS, CI_SECONDS, 2, true)?;
    // The ClusterFuzzLite build, checked and run like the runner does, but
    // with a fixed seed and run count (about ten minutes from a cold start).
    cflite::check(cflite::Mode::Ci, &[])
}

fn fuzz_dir() -> PathBuf {
    root().join("fuzz")
}

/// A command run from the repository root, without the caller's
/// `CARGO_TARGET_DIR`: the fuzz workspace keeps its own target directory
/// (`fuzz/target`), where cargo-fuzz looks for the binaries.
fn command(program: &str) -> Command {
    let mut command = Command::new(program);
    command.current_dir(root()).env_remove("CARGO_TARGET_DIR");
    command
}

fn cargo() -> Command {
    command(&std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn run(mut command: Command, what: &str) -> Result<(), String> {
    println!("xtask: {what}");
    let status = command
        .status()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

/// Installs cargo-fuzz if missing.
fn install_cargo_fuzz() -> Result<(), String> {
    let have_cargo_fuzz = cargo()
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have_cargo_fuzz {
        let mut install = cargo();
        install.args([
            "install",
            "--locked",
            "cargo-fuzz",
            "--version",
            CARGO_FUZZ_VERSION,
        ]);
        run(install, "cargo install cargo-fuzz")?;
    }
    Ok(())
}

/// Installs cargo-fuzz if missing, writes the seed corpora.
fn prepare() -> Result<(), String> {
    install_cargo_fuzz()?;
    // Seeds are generated from handshakes recorded in the fuzzing mode
    // (fuzzkit/src/bin/fuzz_seeds.rs), not checked in. This build uses the
    // main workspace and its target directory, like `cargo test`.
    let mut seeds = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    seeds.current_dir(root()).args([
        "run",
        "--quiet",
        "--locked",
        "-p",
        "fuzzkit",
        "--bin",
        "fuzz_seeds",
        "--",
    ]);
    seeds.arg(fuzz_dir().join("corpus"));
    run(
        seeds,
        "write the seed corpora (cargo run -p fuzzkit --bin fuzz_seeds)",
    )
}

fn build(features: Option<&str>, targets: &[&str]) -> Result<(), String> {
    let mut build = cargo();
    build.args(["fuzz", "build", "--sanitizer", "none"]);
    if let Some(features) = features {
        build.args(["--features", features]);
    }
    let what = match (features, targets) {
        (Some(f), [t]) => format!("cargo fuzz build --features {f} {t}"),
        (_, [t]) => format!("cargo fuzz build {t}"),
        _ => "cargo fuzz build (all targets)".to_string(),
    };
    if let [target] = targets {
        build.arg(target);
    }
    run(build, &what)
}

fn binary(target: &str) -> PathBuf {
    fuzz_dir()
        .join("target")
        .join(TRIPLE)
        .join("release")
        .join(target)
}

/// The target's libFuzzer dictionary in fuzz/ (the same choice as
/// `.clusterfuzzlite/build.sh`).
fn dictionary(target: &str) -> &'static str {
    match target {
        "http_request" => "http.dict",
        "stack_ingress" => "net.dict",
        _ => "tls.dict",
    }
}

fn max_len(target: &str) -> u32 {
    match target {
        // A transcript index and a mutation program.
        "handshake_transcript" => 1024,
        // Above the 8 KiB request limit.
        "http_request" => 10 * 1024,
        // A few full-size frames.
        "stack_ingress" => 16 * 1024,
        // Whole client or server flights, certificate chains included.
        _ => 16 * 1024,
    }
}

/// One libFuzzer run's result.
#[derive(Debug, Default)]
struct Report {
    target: String,
    exec_per_sec: Option<u64>,
    executions: Option<u64>,
    corpus: usize,
    coverage: Option<u64>,
    features: Option<u64>,
    crashes: Vec<PathBuf>,
    /// The run failed without leaving an input (or did not run).
    failure: Option<String>,
    log: PathBuf,
    seconds: f64,
    /// The libFuzzer process's user + system CPU time, read from
    /// `/proc/<pid>/stat` once it has exited and before it is reaped.
    cpu_seconds: Option<f64>,
}

impl Report {
    /// Executions per CPU-second: the speed figure that does not depend
    /// on how many other processes share the machine (libFuzzer's exec/s
    /// counts wall time).
    fn exec_per_cpu_second(&self) -> Option<u64> {
        let cpu = self.cpu_seconds.filter(|&c| c > 0.0)?;
        Some((self.executions? as f64 / cpu).round() as u64)
    }
}

fn files(dir: &Path) -> BTreeSet<PathBuf> {
    fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// The number after `key` in `line` (`cov: 123`, `stat::x: 123`).
fn number_after(line: &str, key: &str) -> Option<u64> {
    let rest = &line[line.find(key)? + key.len()..];
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// libFuzzer's figures from its log: the last `cov`/`ft`, and the final
/// stats (`-print_final_stats=1`).
fn read_stats(log: &str, report: &mut Report) {
    for line in log.lines() {
        if line.starts_with('#') && line.contains(" cov: ") {
            report.coverage = number_after(line, " cov: ").or(report.coverage);
            report.features = number_after(line, " ft: ").or(report.features);
        } else if line.starts_with("stat::average_exec_per_sec:") {
            report.exec_per_sec = number_after(line, "stat::average_exec_per_sec:");
        } else if line.starts_with("stat::number_of_executed_units:") {
            report.executions = number_after(line, "stat::number_of_executed_units:");
        }
    }
}

/// The inputs libFuzzer left in `artifacts` since `before` that are worth
/// keeping: crashes, OOMs, hangs, leaks.
fn new_crashes(artifacts: &Path, before: &BTreeSet<PathBuf>) -> Vec<PathBuf> {
    files(artifacts)
        .difference(before)
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                ["crash-", "oom-", "timeout-", "leak-"]
                    .iter()
                    .any(|k| n.starts_with(k))
            })
        })
        .cloned()
        .collect()
}

/// Runs `target` over `corpus` for `seconds`; crash inputs go to `artifacts`.
fn fuzz_one(target: &str, corpus: &Path, artifacts: &Path, seconds: u64, extra: &[&str]) -> Report {
    let log = fuzz_dir()
        .join("target/xtask-logs")
        .join(format!("{target}.log"));
    let mut report = Report {
        target: target.into(),
        log: log.clone(),
        ..Report::default()
    };
    let prepared = fs::create_dir_all(corpus)
        .and_then(|()| fs::create_dir_all(artifacts))
        .and_then(|()| fs::create_dir_all(log.parent().unwrap_or(Path::new("."))));
    let log_file = match prepared.and_then(|()| fs::File::create(&log)) {
        Ok(file) => file,
        Err(e) => {
            report.failure = Some(format!("cannot prepare directories: {e}"));
            return report;
        }
    };
    let before = files(artifacts);
    let mut command = command(&binary(target).to_string_lossy());
    command
        .arg(corpus)
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-max_len={}", max_len(target)))
        .arg("-rss_limit_mb=2048")
        .arg("-malloc_limit_mb=512")
        .arg("-timeout=10")
        .arg("-print_final_stats=1")
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .args(extra);
    command.arg(format!(
        "-dict={}",
        fuzz_dir().join(dictionary(target)).display()
    ));
    let stderr = match log_file.try_clone() {
        Ok(f) => f,
        Err(e) => {
            report.failure = Some(format!("cannot open the log: {e}"));
            return report;
        }
    };
    let started = Instant::now();
    let status = command
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(stderr)
        .spawn()
        .and_then(|mut child| {
            report.cpu_seconds = cpu_seconds_at_exit(child.id());
            child.wait()
        });
    report.seconds = started.elapsed().as_secs_f64();
    let text = fs::read_to_string(&log).unwrap_or_default();
    read_stats(&text, &mut report);
    report.corpus = files(corpus).len();
    report.crashes = new_crashes(artifacts, &before);
    match status {
        Ok(s) if s.success() => {}
        Ok(s) if report.crashes.is_empty() => {
            report.failure = Some(format!(
                "libFuzzer exited with {s} and left no input (see the log)"
            ));
        }
        Ok(_) => {}
        Err(e) => report.failure = Some(format!("cannot run {}: {e}", binary(target).display())),
    }
    report
}

/// The CPU time (user + system, seconds) of the child `pid`, read once it
/// has exited: an exited child stays a zombie, its `/proc/<pid>/stat`
/// holding the final times, until its parent reaps it, which the caller
/// does after this returns. `None` if `/proc` cannot be read.
fn cpu_seconds_at_exit(pid: u32) -> Option<f64> {
    loop {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The fields after the parenthesised command name: the state is the
        // 3rd field overall, utime and stime the 14th and 15th.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        if fields.first() == Some(&"Z") {
            let utime: f64 = fields.get(11)?.parse().ok()?;
            let stime: f64 = fields.get(12)?.parse().ok()?;
            // USER_HZ is 100 on Linux.
            return Some((utime + stime) / 100.0);
        }
        // Nothing signals a child's exit without reaping it (that needs
        // `waitid(WNOWAIT)`, unsafe libc): poll its state instead.
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Builds and runs `targets`, `jobs` at a time, and prints the table.
/// Fuzzes `targets` for `seconds` each, `jobs` at a time. `deterministic`
/// (CI): fixed seed and run count per target, `seconds` only a cap.
fn campaign(
    targets: &[&str],
    seconds: u64,
    jobs: usize,
    deterministic: bool,
) -> Result<(), String> {
    build(None, &[])?;
    if deterministic {
        println!(
            "xtask: fuzzing {} target(s), seed {CI_SEED}, a fixed number of runs each (at most {seconds} s), {jobs} at a time",
            targets.len()
        );
    } else {
        println!(
            "xtask: fuzzing {} target(s) for {seconds} s each, {jobs} at a time",
            targets.len()
        );
    }
    // Workers pop from the back: reversed, targets start in the given order.
    let queue = Mutex::new(targets.iter().rev().copied().collect::<Vec<_>>());
    let reports = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(targets.len()) {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().map(|mut q| q.pop()).ok().flatten();
                    let Some(target) = next else { break };
                    let extra: Vec<String> = match CI_RUNS.iter().find(|(t, _)| *t == target) {
                        Some((_, runs)) if deterministic => {
                            vec![format!("-seed={CI_SEED}"), format!("-runs={runs}")]
                        }
                        _ => Vec::new(),
                    };
                    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
                    let report = if binary(target).exists() {
                        fuzz_one(
                            target,
                            &fuzz_dir().join("corpus").join(target),
                            &fuzz_dir().join("artifacts").join(target),
                            seconds,
                            &extra,
                        )
                    } else {
                        Report {
                            target: target.into(),
                            failure: Some("not built (missing from fuzz/Cargo.toml?)".into()),
                            ..Report::default()
                        }
                    };
                    println!("xtask: {target} done");
                    if let Ok(mut r) = reports.lock() {
                        r.push(report);
                    }
                }
            });
        }
    });
    let mut reports = reports.into_inner().map_err(|_| "a fuzz worker panicked")?;
    reports.sort_by_key(|r| targets.iter().position(|t| *t == r.target));
    print_table(&reports, "fuzz/corpus/<target>");
    write_results(&reports);
    let bad: Vec<&Report> = reports
        .iter()
        .filter(|r| !r.crashes.is_empty() || r.failure.is_some())
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    for r in &bad {
        for crash in &r.crashes {
            println!(
                "xtask: CRASH {}: {}\n       reproduce: cargo fuzz run -s none {} {}\n       log: {}",
                r.target,
                crash.display(),
                r.target,
                crash.display(),
                r.log.display()
            );
        }
        if let Some(failure) = &r.failure {
            println!(
                "xtask: FAILED {}: {failure}\n       log: {}",
                r.target,
                r.log.display()
            );
        }
    }
    Err(format!(
        "{} target(s) crashed or failed; keep each crash input under fuzz/regressions/<target>/ with its fix",
        bad.len()
    ))
}

/// Where the last campaign's figures are kept, for `cargo xtask bench`.
pub fn results_path() -> PathBuf {
    fuzz_dir().join("target/xtask-logs/results.json")
}

/// Writes the campaign's figures to [`results_path`] (best effort: the
/// table printed above is the record).
fn write_results(reports: &[Report]) {
    let rows: Vec<serde_json::Value> = reports
        .iter()
        .map(|r| {
            serde_json::json!({
                "target": r.target,
                "exec_per_sec": r.exec_per_sec,
                "exec_per_cpu_second": r.exec_per_cpu_second(),
                "executions": r.executions,
                "cpu_seconds": r.cpu_seconds,
                "seconds": r.seconds,
                "cov": r.coverage,
                "ft": r.features,
                "corpus": r.corpus,
            })
        })
        .collect();
    let path = results_path();
    let text = serde_json::to_string_pretty(&serde_json::json!({ "targets": rows }));
    if let Err(e) = text.map_err(|e| e.to_string()).and_then(|t| {
        fs::create_dir_all(path.parent().unwrap_or(Path::new("."))).map_err(|e| e.to_string())?;
        fs::write(&path, t).map_err(|e| e.to_string())
    }) {
        eprintln!("xtask: could not write {}: {e}", path.display());
    }
}

/// The results table; `corpora` says where the corpus counts come from.
fn print_table(reports: &[Report], corpora: &str) {
    let show = |v: Option<u64>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
    println!();
    println!(
        "{:<22} {:>9} {:>10} {:>8} {:>8} {:>8} {:>8}",
        "target", "exec/s", "exec/CPU-s", "corpus", "cov", "ft", "crashes"
    );
    for r in reports {
        println!(
            "{:<22} {:>9} {:>10} {:>8} {:>8} {:>8} {:>8}{}",
            r.target,
            show(r.exec_per_sec),
            show(r.exec_per_cpu_second()),
            r.corpus,
            show(r.coverage),
            show(r.features),
            r.crashes.len(),
            if r.failure.is_some() {
                "  (failed)"
            } else {
                ""
            }
        );
    }
    println!(
        "(exec/s: libFuzzer's average over wall time; exec/CPU-s: executions per second of \
         the fuzzer's own CPU time, the figure a loaded machine does not change; corpus: \
         inputs in {corpora}; cov/ft: libFuzzer's final edge coverage and features)"
    );
    println!();
}

/// Builds `bounty_server` over the planted bug and checks the oracle catches
/// it within `seconds`, starting from the seeds alone (a fresh corpus, so
/// the check does not depend on earlier campaigns).
fn planted_bug(seconds: u64) -> Result<(), String> {
    let target = "bounty_server";
    build(Some("planted-bug"), &[target])?;
    let scratch = fuzz_dir().join("target/xtask-planted-bug");
    let _ = fs::remove_dir_all(&scratch);
    let corpus = scratch.join("corpus");
    let artifacts = scratch.join("artifacts");
    fs::create_dir_all(&corpus).map_err(|e| e.to_string())?;
    for seed in files(&fuzz_dir().join("corpus").join(target)) {
        let is_seed = seed
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("seed-"));
        if is_seed && let Some(name) = seed.file_name() {
            fs::copy(&seed, corpus.join(name)).map_err(|e| e.to_string())?;
        }
    }
    println!("xtask: planted bug: fuzzing {target} for up to {seconds} s; the oracle must fire");
    let report = fuzz_one(target, &corpus, &artifacts, seconds, &[]);
    let log = fs::read_to_string(&report.log).unwrap_or_default();
    let oracle = log
        .lines()
        .find(|l| l.contains("ORACLE: the secret went to an unauthenticated peer"));
    match (oracle, report.crashes.first()) {
        (Some(line), Some(input)) => {
            println!(
                "xtask: planted bug caught after {} executions, {:.1} s: {line}\n       input: {}",
                show_count(report.executions),
                report.seconds,
                input.display()
            );
            Ok(())
        }
        _ => Err(format!(
            "the planted bug was NOT caught in {seconds} s: the leak oracle cannot fail (log: {})",
            report.log.display()
        )),
    }
}

fn show_count(n: Option<u64>) -> String {
    n.map_or_else(|| "?".into(), |n| n.to_string())
}
