//! `cargo xtask fuzz --cflite-check`: what ClusterFuzzLite's builder and
//! runner do with `.clusterfuzzlite/`, done on this machine without Docker,
//! so the build script is proven before a fork turns the workflows on.
//!
//! 1. **Toolchain.** A nightly Rust (AddressSanitizer is `-Zsanitizer`, a
//!    nightly flag), installed with rustup if missing; `zip`, `unzip` and
//!    `objdump`, which the build script and the checks use.
//! 2. **Source.** The repository as Docker's `COPY . $SRC/pinata` sees it
//!    (tracked and untracked-but-not-ignored files) is mirrored into
//!    `target/cflite/src/pinata`; files whose bytes did not change keep
//!    their time stamps, so a second check rebuilds only what changed.
//! 3. **Build.** `bash -eux $SRC/build.sh` from `$SRC/pinata`, with the
//!    builder's environment: `SRC`, `OUT`, `WORK`, `SANITIZER=address`,
//!    `FUZZING_LANGUAGE=rust`, `FUZZING_ENGINE=libfuzzer`,
//!    `ARCHITECTURE=x86_64`, the `RUSTFLAGS` its `compile` script exports
//!    for Rust (`--cfg fuzzing -Zsanitizer=address -Cdebuginfo=1
//!    -Cforce-frame-pointers`) and the Dockerfile's `RUSTUP_TOOLCHAIN=nightly`.
//!    One difference: the builder links clang's prebuilt libFuzzer
//!    (`CUSTOM_LIBFUZZER_PATH`); here `libfuzzer-sys` compiles its bundled
//!    copy with the system C++ compiler, as `cargo xtask fuzz` does.
//! 4. **`$OUT`.** Every target of `cargo fuzz list` is there with its seed
//!    corpus (`<t>_seed_corpus.zip`, not empty), dictionary (`<t>.dict`)
//!    and options (`<t>.options`, a `[libfuzzer]` section); the binary is
//!    x86-64 and ASan-instrumented (at least 1,000 calls into `__asan`, the
//!    threshold of OSS-Fuzz's `bad_build_check`), starts, has coverage
//!    instrumentation (at least 100 counters) and runs its seed corpus
//!    without a crash (`-runs=0`).
//! 5. **Fuzz.** Each target from `$OUT` for 30 s (`--seconds`), one after
//!    the other, as the runner's `run_fuzzer` does: the runner's
//!    `ASAN_OPTIONS` and `FUZZER_ARGS`, then the options file's arguments,
//!    the dictionary, and the seed corpus unzipped into a fresh corpus.
//!    Any crash (the input is kept under `target/cflite/artifacts/`) fails
//!    the check. In CI ([`Mode::Ci`], from `cargo xtask test`) each target
//!    instead runs a fixed number of inputs from libFuzzer's CI seed (about
//!    30 s each here, at most 60 s), like the rest of CI's fuzzing: CI fails
//!    on a regression, not on a discovery by chance.
//!
//! Every phase prints its duration, and the end a table like `cargo xtask
//! fuzz`'s.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use super::{Report, TARGETS, number_after, print_table};
use crate::root;

/// The RUSTFLAGS that OSS-Fuzz's `compile` exports for Rust and ASan.
const BUILDER_RUSTFLAGS: &str =
    "--cfg fuzzing -Zsanitizer=address -Cdebuginfo=1 -Cforce-frame-pointers";
/// The runner image's sanitizer settings (base-runner's Dockerfile, which
/// says they match ClusterFuzz's).
const RUNNER_ASAN_OPTIONS: &str = "alloc_dealloc_mismatch=0:allocator_may_return_null=1:\
allocator_release_to_os_interval_ms=500:check_malloc_usable_size=0:detect_container_overflow=1:\
detect_odr_violation=0:detect_leaks=1:detect_stack_use_after_return=1:fast_unwind_on_fatal=0:\
handle_abort=1:handle_segv=1:handle_sigill=1:max_uar_stack_size_log=16:print_scariness=1:\
quarantine_size_mb=10:strict_memcmp=1:symbolize=1:use_sigaltstack=1:dedup_token_length=3";
/// The runner image's default libFuzzer arguments (`FUZZER_ARGS`).
const RUNNER_FUZZER_ARGS: &[&str] = &["-rss_limit_mb=2560", "-timeout=25"];
/// `bad_build_check`: fewer calls into the ASan runtime means no ASan.
const MIN_ASAN_CALLS: usize = 1_000;
/// `bad_build_check`: fewer counters means partial coverage instrumentation.
const MIN_COUNTERS: u64 = 100;

/// How the targets are fuzzed from `$OUT`.
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    /// As the runner does: random, for `seconds` each.
    Runner {
        /// libFuzzer's `-max_total_time`.
        seconds: u64,
    },
    /// CI: [`super::CI_SEED`] and [`CI_RUNS`] each, [`CI_CAP_SECONDS`] at most.
    Ci,
}

/// Inputs per target in CI: about 30 s each under AddressSanitizer on the
/// two-core machine (measured: 2,100-2,600 exec/s for the TLS targets,
/// 14,000 for HTTP, 1,000 for the network stack).
const CI_RUNS: &[(&str, u64)] = &[
    ("bounty_server", 60_000),
    ("bounty_client", 50_000),
    ("handshake_transcript", 60_000),
    ("http_request", 300_000),
    ("stack_ingress", 25_000),
];
/// A cap per target in CI; a slower machine replays a prefix of the same run.
const CI_CAP_SECONDS: u64 = 60;

/// Where the check keeps its source mirror, `$OUT`, `$WORK` and logs.
fn base() -> PathBuf {
    root().join("target/cflite")
}

struct Phase {
    name: &'static str,
    started: Instant,
}

impl Phase {
    fn start(name: &'static str) -> Phase {
        println!("xtask: cflite: {name}");
        Phase {
            name,
            started: Instant::now(),
        }
    }

    fn done(self, timings: &mut Vec<(&'static str, f64)>) {
        let seconds = self.started.elapsed().as_secs_f64();
        println!("xtask: cflite: {} done in {seconds:.0} s", self.name);
        timings.push((self.name, seconds));
    }
}

/// `cargo xtask fuzz --cflite-check [--seconds N] [--target T]...`, and
/// CI's run of the same ([`Mode::Ci`]).
pub fn check(mode: Mode, only: &[String]) -> Result<(), String> {
    let started = Instant::now();
    let mut timings = Vec::new();

    let phase = Phase::start("toolchain and tools");
    nightly()?;
    for (tool, package) in [("zip", "zip"), ("unzip", "unzip"), ("objdump", "binutils")] {
        let found = Command::new(tool)
            .arg(if tool == "objdump" { "--version" } else { "-v" })
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        if !found {
            return Err(format!(
                "`{tool}` is missing: apt-get install {package} (the build script or the checks need it)"
            ));
        }
    }
    super::install_cargo_fuzz()?;
    phase.done(&mut timings);

    let phase = Phase::start("mirror the source into $SRC/pinata");
    let src = base().join("src");
    let project = src.join("pinata");
    let (copied, removed) = mirror(&root(), &project)?;
    // The Dockerfile's `COPY .clusterfuzzlite/build.sh $SRC/`.
    fs::copy(
        project.join(".clusterfuzzlite/build.sh"),
        src.join("build.sh"),
    )
    .map_err(|e| format!("cannot copy build.sh: {e}"))?;
    println!("xtask: cflite: {copied} file(s) copied, {removed} removed");
    phase.done(&mut timings);

    let phase = Phase::start("bash -eux $SRC/build.sh (nightly, AddressSanitizer)");
    let out = base().join("out");
    let work = base().join("work");
    let _ = fs::remove_dir_all(&out);
    for dir in [&out, &work] {
        fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let mut build = Command::new("bash");
    build
        .arg("-eux")
        .arg(src.join("build.sh"))
        .current_dir(&project)
        .env("SRC", &src)
        .env("OUT", &out)
        .env("WORK", &work)
        .env("SANITIZER", "address")
        .env("FUZZING_LANGUAGE", "rust")
        .env("FUZZING_ENGINE", "libfuzzer")
        .env("ARCHITECTURE", "x86_64")
        .env("RUSTUP_TOOLCHAIN", "nightly")
        .env("RUSTFLAGS", BUILDER_RUSTFLAGS)
        // This machine's settings that the builder does not have.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO")
        .env_remove("RUSTUP_TOOLCHAIN_SOURCE")
        .env_remove("CARGO_MANIFEST_DIR");
    super::run(build, "ClusterFuzzLite build.sh")?;
    phase.done(&mut timings);

    let phase = Phase::start("check $OUT (bad_build_check)");
    let listed = fuzz_list(&project)?;
    let expected: BTreeSet<&str> = TARGETS.iter().copied().collect();
    let listed_set: BTreeSet<&str> = listed.iter().map(String::as_str).collect();
    if listed_set != expected {
        return Err(format!(
            "`cargo fuzz list` gives {listed:?}, xtask knows {TARGETS:?}: update xtask/src/fuzz.rs"
        ));
    }
    let targets: Vec<&str> = if only.is_empty() {
        TARGETS.to_vec()
    } else {
        only.iter().map(String::as_str).collect()
    };
    let logs = base().join("logs");
    let _ = fs::remove_dir_all(&logs);
    fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
    let mut problems = Vec::new();
    let mut options = Vec::new();
    for target in &targets {
        match check_target(&out, &logs, target) {
            Ok(args) => options.push((*target, args)),
            Err(e) => problems.push(format!("{target}: {e}")),
        }
    }
    phase.done(&mut timings);
    if !problems.is_empty() {
        for problem in &problems {
            println!("xtask: cflite: BAD BUILD {problem}");
        }
        return Err(format!(
            "{} target(s) failed the $OUT checks",
            problems.len()
        ));
    }

    let phase = Phase::start("fuzz each target from $OUT as the runner does");
    let mut reports = Vec::new();
    for (target, args) in &options {
        let mut args = args.clone();
        match mode {
            Mode::Runner { seconds } => {
                println!("xtask: cflite: fuzzing {target} for {seconds} s");
                args.push(format!("-max_total_time={seconds}"));
            }
            Mode::Ci => {
                let runs = CI_RUNS
                    .iter()
                    .find(|(t, _)| t == target)
                    .map_or(10_000, |(_, runs)| *runs);
                println!(
                    "xtask: cflite: fuzzing {target}: {runs} runs from seed {} (at most {CI_CAP_SECONDS} s)",
                    super::CI_SEED
                );
                args.push(format!("-seed={}", super::CI_SEED));
                args.push(format!("-runs={runs}"));
                args.push(format!("-max_total_time={CI_CAP_SECONDS}"));
            }
        }
        reports.push(fuzz_from_out(&out, &logs, target, &args));
    }
    phase.done(&mut timings);

    print_table(&reports, "target/cflite/corpus/<target>");
    println!("ClusterFuzzLite check, phase times:");
    for (name, seconds) in &timings {
        println!("  {seconds:>6.0} s  {name}");
    }
    println!("  {:>6.0} s  in all", started.elapsed().as_secs_f64());
    let bad: Vec<&Report> = reports
        .iter()
        .filter(|r| !r.crashes.is_empty() || r.failure.is_some())
        .collect();
    for r in &bad {
        for crash in &r.crashes {
            println!(
                "xtask: cflite: CRASH {}: {}\n       log: {}",
                r.target,
                crash.display(),
                r.log.display()
            );
        }
        if let Some(failure) = &r.failure {
            println!(
                "xtask: cflite: FAILED {}: {failure}\n       log: {}",
                r.target,
                r.log.display()
            );
        }
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} target(s) crashed or failed under the ClusterFuzzLite build",
            bad.len()
        ))
    }
}

/// A nightly toolchain, installed with rustup when missing.
fn nightly() -> Result<(), String> {
    let version = |command: &mut Command| {
        command
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let installed = version(Command::new("rustc").args(["+nightly", "--version"]));
    let version = match installed {
        Some(v) => v,
        None => {
            let mut install = Command::new("rustup");
            install.args(["toolchain", "install", "nightly", "--profile", "minimal"]);
            super::run(
                install,
                "rustup toolchain install nightly --profile minimal",
            )
            .map_err(|e| {
                format!(
                    "{e}: no nightly toolchain, which AddressSanitizer needs \
                         (-Zsanitizer is nightly-only)"
                )
            })?;
            version(Command::new("rustc").args(["+nightly", "--version"]))
                .ok_or("the nightly toolchain was installed but `rustc +nightly` fails")?
        }
    };
    println!("xtask: cflite: {version}");
    Ok(())
}

/// The files Docker's build context would copy: tracked, and untracked but
/// not ignored.
fn context_files(repo: &Path) -> Result<Vec<PathBuf>, String> {
    let output = Command::new("git")
        .current_dir(repo)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output()
        .map_err(|e| format!("cannot run git ls-files: {e}"))?;
    if !output.status.success() {
        return Err("git ls-files failed: the check needs a git work tree".into());
    }
    Ok(output
        .stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| PathBuf::from(String::from_utf8_lossy(p).into_owned()))
        // A file deleted but not yet committed is still listed.
        .filter(|p| repo.join(p).is_file())
        .collect())
}

/// Makes `to` hold exactly the build context of `from` (build outputs
/// under `target/` and `fuzz/target/` aside). Returns (copied, removed).
fn mirror(from: &Path, to: &Path) -> Result<(usize, usize), String> {
    let files = context_files(from)?;
    let wanted: BTreeSet<&Path> = files.iter().map(PathBuf::as_path).collect();
    let mut copied = 0;
    for file in &files {
        let source = from.join(file);
        let dest = to.join(file);
        let bytes = fs::read(&source).map_err(|e| format!("{}: {e}", source.display()))?;
        if fs::read(&dest).is_ok_and(|old| old == bytes) {
            continue;
        }
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        fs::write(&dest, &bytes).map_err(|e| format!("{}: {e}", dest.display()))?;
        let mode = fs::metadata(&source)
            .map_err(|e| e.to_string())?
            .permissions();
        fs::set_permissions(&dest, mode).map_err(|e| e.to_string())?;
        copied += 1;
    }
    let mut removed = 0;
    let mut stack = vec![to.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let relative = path.strip_prefix(to).unwrap_or(&path);
            if relative == Path::new("target") || relative == Path::new("fuzz/target") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if !wanted.contains(relative) {
                fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                removed += 1;
            }
        }
    }
    Ok((copied, removed))
}

/// `cargo fuzz list` in the mirrored tree.
fn fuzz_list(project: &Path) -> Result<Vec<String>, String> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(project)
        .args(["fuzz", "list"])
        .output()
        .map_err(|e| format!("cannot run cargo fuzz list: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo fuzz list failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect())
}

/// A command that runs a binary from `$OUT` the way the runner does.
fn runner(out: &Path, target: &str) -> Command {
    let mut command = Command::new(out.join(target));
    command
        .current_dir(out)
        .env("ASAN_OPTIONS", RUNNER_ASAN_OPTIONS)
        .stdin(Stdio::null());
    command
}

/// Runs `command` with its output in `log`; returns (exit success, log text).
fn logged(mut command: Command, log: &Path) -> Result<(bool, String), String> {
    let file = fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let stderr = file.try_clone().map_err(|e| e.to_string())?;
    let status = command
        .stdout(file)
        .stderr(stderr)
        .status()
        .map_err(|e| format!("cannot run {:?}: {e}", command.get_program()))?;
    Ok((
        status.success(),
        fs::read_to_string(log).unwrap_or_default(),
    ))
}

/// The `key = value` lines of an options file's `[libfuzzer]` section, as
/// the runner passes them (`-key=value`).
fn options_args(text: &str) -> Result<Vec<String>, String> {
    let mut section = None;
    let mut args = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(name.to_string());
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("options line without `=`: {line:?}"));
        };
        if section.as_deref() == Some("libfuzzer") {
            args.push(format!("-{}={}", key.trim(), value.trim()));
        }
    }
    if section.is_none() || args.is_empty() {
        return Err("no [libfuzzer] section with options".into());
    }
    Ok(args)
}

/// Unzips `$OUT/<target>_seed_corpus.zip` into a fresh `dir`; returns the
/// number of files.
fn unzip_seeds(out: &Path, target: &str, dir: &Path) -> Result<usize, String> {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let zip = out.join(format!("{target}_seed_corpus.zip"));
    let status = Command::new("unzip")
        .arg("-q")
        .arg(&zip)
        .arg("-d")
        .arg(dir)
        .status()
        .map_err(|e| format!("cannot run unzip: {e}"))?;
    if !status.success() {
        return Err(format!("{} does not unzip", zip.display()));
    }
    Ok(super::files(dir).len())
}

/// The `$OUT` checks for one target; returns its options as arguments.
fn check_target(out: &Path, logs: &Path, target: &str) -> Result<Vec<String>, String> {
    let binary = out.join(target);
    let elf = fs::read(&binary).map_err(|e| format!("no binary in $OUT ({e})"))?;
    // ELF, 64-bit, e_machine EM_X86_64 (62).
    if !(elf.starts_with(b"\x7fELF") && elf.get(4) == Some(&2) && elf.get(18..20) == Some(&[62, 0]))
    {
        return Err("the binary is not an x86-64 ELF".into());
    }
    let disassembly = Command::new("objdump")
        .arg("-d")
        .arg(&binary)
        .output()
        .map_err(|e| format!("cannot run objdump: {e}"))?;
    let asan_calls = String::from_utf8_lossy(&disassembly.stdout)
        .lines()
        .filter(|l| l.contains("call") && l.contains("<__asan"))
        .count();
    if asan_calls < MIN_ASAN_CALLS {
        return Err(format!(
            "not built with AddressSanitizer: {asan_calls} calls into __asan (fewer than {MIN_ASAN_CALLS})"
        ));
    }
    let options = fs::read_to_string(out.join(format!("{target}.options")))
        .map_err(|e| format!("no {target}.options ({e})"))?;
    let args = options_args(&options).map_err(|e| format!("{target}.options: {e}"))?;
    let dict = out.join(format!("{target}.dict"));
    if !dict.is_file() {
        return Err(format!("no {target}.dict"));
    }
    let seeds = unzip_seeds(out, target, &base().join("seeds").join(target))?;
    if seeds == 0 {
        return Err("the seed corpus is empty".into());
    }
    // bad_build_check's check_engine and check_startup_crash.
    let mut start = runner(out, target);
    start
        .args(["-seed=1337", "-runs=4"])
        .arg(format!("-dict={}", dict.display()));
    let (ok, log) = logged(start, &logs.join(format!("{target}.startup.log")))?;
    if log.contains("no interesting inputs were found") {
        return Err("no coverage instrumentation".into());
    }
    if !ok || !log.contains("Done 4 runs") {
        return Err("it does not start and run 4 inputs (see the startup log)".into());
    }
    let counters = log
        .lines()
        .find(|l| l.starts_with("INFO: Loaded") && l.contains("counters"))
        .and_then(|l| number_after(l, "):"));
    match counters {
        Some(n) if n >= MIN_COUNTERS => {}
        other => {
            return Err(format!(
                "partial coverage instrumentation ({other:?} counters, fewer than {MIN_COUNTERS})"
            ));
        }
    }
    let entries = log
        .lines()
        .find_map(|l| l.strip_prefix("Dictionary: "))
        .and_then(|l| number_after(l, ""));
    if entries.is_none_or(|n| n == 0) {
        return Err(format!("libFuzzer read no entries from {target}.dict"));
    }
    // check_seed_corpus: every seed runs without a crash.
    let mut replay = runner(out, target);
    replay
        .args(RUNNER_FUZZER_ARGS)
        .args(&args)
        .arg("-runs=0")
        .arg(base().join("seeds").join(target));
    let (ok, _) = logged(replay, &logs.join(format!("{target}.seeds.log")))?;
    if !ok {
        return Err("a seed input crashes it (see the seeds log)".into());
    }
    println!(
        "xtask: cflite: {target}: x86-64, {asan_calls} ASan calls, {} counters, {seeds} seeds, {} dictionary entries, options {}",
        counters.unwrap_or(0),
        entries.unwrap_or(0),
        args.join(" ")
    );
    Ok(args)
}

/// Fuzzes `target` from `$OUT` as `run_fuzzer` does: the runner's
/// arguments, then `args` (the options file's, and the time or run count).
fn fuzz_from_out(out: &Path, logs: &Path, target: &str, args: &[String]) -> Report {
    let log = logs.join(format!("{target}.fuzz.log"));
    let corpus = base().join("corpus").join(target);
    let artifacts = base().join("artifacts").join(target);
    let mut report = Report {
        target: target.into(),
        log: log.clone(),
        ..Report::default()
    };
    let prepared = unzip_seeds(out, target, &corpus)
        .and_then(|_| fs::create_dir_all(&artifacts).map_err(|e| e.to_string()));
    if let Err(e) = prepared {
        report.failure = Some(e);
        return report;
    }
    let before = super::files(&artifacts);
    let mut command = runner(out, target);
    command
        .args(RUNNER_FUZZER_ARGS)
        .args(args)
        .arg(format!(
            "-dict={}",
            out.join(format!("{target}.dict")).display()
        ))
        .arg("-print_final_stats=1")
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg(&corpus);
    let started = Instant::now();
    let result = logged(command, &log);
    report.seconds = started.elapsed().as_secs_f64();
    let (ok, text) = match result {
        Ok(r) => r,
        Err(e) => {
            report.failure = Some(e);
            return report;
        }
    };
    super::read_stats(&text, &mut report);
    report.corpus = super::files(&corpus).len();
    report.crashes = super::new_crashes(&artifacts, &before);
    if !ok && report.crashes.is_empty() {
        report.failure = Some("libFuzzer failed and left no input (see the log)".into());
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_become_the_runners_arguments() {
        let text = "# comment\n[libfuzzer]\nmax_len = 1024\ntimeout=10\n";
        assert_eq!(
            options_args(text).unwrap(),
            ["-max_len=1024", "-timeout=10"]
        );
        assert!(options_args("max_len = 1\n").is_err());
        assert!(options_args("[libfuzzer]\nmax_len\n").is_err());
        assert!(options_args("[asan]\nfoo = 1\n").is_err());
    }
}
