//! Host tooling for the piñata (`cargo xtask …`).
//!
//! - `cargo xtask test`: everything CI checks, in order: what the machine
//!   needs (`prerequisites.rs`), formatting, clippy and rustdoc (warnings
//!   are errors), the bare-metal build of the `no_std` crates, and the whole
//!   test suite. README's test command.
//!
//! The other subcommands (image, run, size report, fuzz, bench, attack, the
//! Xen checks) are listed in [`USAGE`], one module each.

mod attack;
mod bench;
mod deploy;
mod firecracker;
mod fuzz;
mod image;
mod prerequisites;
mod qemu;
mod repro;
mod size;
mod xen_domu;
mod xen_smoke;
mod xl;

use std::path::PathBuf;
use std::process::{Command, ExitCode};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  test    prerequisites, fmt check, clippy -D warnings, cargo doc -D warnings, bare-metal
          build, cargo test --workspace, the fuzz targets briefly, the size report, the quick
          attack battery, then xen-domu-smoke
  prerequisites  what `test` needs that this machine lacks, one line each with the command
          that installs it (installs nothing)
  fuzz    build and run every fuzz target: [--seconds N] [--jobs J] [--target T] [--planted-bug]
          [--cflite-check]: the ClusterFuzzLite build (nightly, ASan) checked and run locally
          [--ci]: CI's fuzzing, as `cargo xtask test` runs it
  image   build the unikernel (release, x86_64-unknown-none); prints the ELF's path
          [--check-reproducible]: build HEAD twice from scratch, compare SHA-256
  run     boot the image in QEMU with the services on 127.0.0.1:8080,8443,10000-10002
          [--secret-file F] [--accel kvm|tcg] [--memory MiB] [--machine q35|pc|microvm]
          (see `cargo xtask run --help`)
  xl-config  write pinata.xl for Xen (xl create -c pinata.xl) next to a copy of the image,
          in target/xl-config/ unless --out DIR
          [--secret-file F] [--bridge xenbr0] [--memory 64] (see `cargo xtask xl-config --help`)
  firecracker-config  write target/firecracker/vm.json (firecracker --config-file) next to
          a copy of the image [--secret-file F] [--tap tap0] (see `--help`)
  xen-smoke  boot the image as a PVH dom0 of a real Xen 4.17 inside QEMU (TCG; a minute or two)
          [--xen PATH] [--image PATH]
  xen-domu-smoke  the image as an `xl create` domU behind netback, checked and attacked from a
          Linux dom0 (Xen 4.17 in QEMU TCG; needs root) [--rebuild-dom0]
  size-report  the auditor's size and TCB report: target/size-report/report.{md,json,svg}
          [--no-hosted] [--out DIR]
  bench   handshakes/s, page and short-circuit against rustls+aws-lc-rs and openssl,
          boot time, smallest memory (see `cargo xtask bench --help`; docs/PERFORMANCE.md)
  attack  the attack battery against a piñata it starts: [--target hosted|vm] [--soak N]
          [--full] [--release] (see `cargo xtask attack --help`)
  help    this text";

/// The repository root (xtask lives one level below it).
fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

fn cargo(args: &[&str]) -> Result<(), String> {
    cargo_with(&[], args)
}

/// `cargo args…` with the environment variables `env` set.
fn cargo_with(env: &[(&str, &str)], args: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    println!("xtask: cargo {}", args.join(" "));
    // The image's path remapping for every bare-metal build, so the checks
    // below and the image share their artefacts (repro.rs).
    let (var, flags) = repro::rustflags_env(&root(), &image::target_dir(&root()));
    let status = Command::new(&cargo)
        .env(var, flags)
        .envs(env.iter().copied())
        .args(args)
        .current_dir(root())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed ({status})", args.join(" ")))
    }
}

fn test() -> Result<(), String> {
    // What the steps below need from the machine, before anything is built.
    prerequisites::ensure(&root())?;
    cargo(&["fmt", "--all", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ])?;
    // The appliance's crates must keep building for bare metal, release
    // profile included (LTO exercises the soft-float back ends end to end).
    for package in ["pinata", "wallet", "stack"] {
        cargo(&[
            "build",
            "--locked",
            "--release",
            "-p",
            package,
            "--no-default-features",
            "--target",
            "x86_64-unknown-none",
        ])?;
    }
    // The unikernel image itself: linted and built for bare metal (on the
    // host only its pure-logic modules compile). The QEMU tests boot it.
    cargo(&[
        "clippy",
        "--locked",
        "-p",
        "unikernel",
        "--target",
        "x86_64-unknown-none",
        "--",
        "-D",
        "warnings",
    ])?;
    // The API docs, rustdoc's warnings (broken or private intra-doc links)
    // as errors: the workspace as the host sees it, and the unikernel as the
    // image builds it (its hardware modules exist only there).
    let deny_warnings = [("RUSTDOCFLAGS", "-D warnings")];
    cargo_with(
        &deny_warnings,
        &[
            "doc",
            "--no-deps",
            "--workspace",
            "--locked",
            "--keep-going",
        ],
    )?;
    cargo_with(
        &deny_warnings,
        &[
            "doc",
            "--no-deps",
            "--locked",
            "-p",
            "unikernel",
            "--target",
            "x86_64-unknown-none",
        ],
    )?;
    image::build_image(&root())?;
    cargo(&["test", "--workspace", "--locked"])?;
    fuzz::ci()?;
    // An artefact, not a check: fails only if the report cannot be written.
    size::ci(&root())?;
    // The quick attack battery, against the hosted runner and the image.
    attack::ci(&root())?;
    // The image as a Xen domU behind a real netback (needs root).
    xen_domu::ci(&root())
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let result = match args.next().as_deref() {
        None | Some("help") | Some("--help") | Some("-h") => {
            println!("{USAGE}");
            Ok(())
        }
        Some("test") => test(),
        Some("prerequisites") => prerequisites::main(&root()),
        Some("attack") => attack::main(&root(), &args.collect::<Vec<_>>()),
        Some("fuzz") => fuzz::main(&args.collect::<Vec<_>>()),
        Some("image") => image::image(&root(), &args.collect::<Vec<_>>()),
        Some("bench") => bench::main(&root(), &args.collect::<Vec<_>>()),
        Some("size-report") => size::main(&root(), &args.collect::<Vec<_>>()),
        Some("run") => qemu::parse(args).and_then(|options| qemu::run(options, &root())),
        Some("xl-config") => xl::parse(args).and_then(|options| xl::run(options, &root())),
        Some("firecracker-config") => {
            firecracker::parse(args).and_then(|options| firecracker::run(options, &root()))
        }
        Some("xen-smoke") => xen_smoke::main(&root(), &args.collect::<Vec<_>>()),
        Some("xen-domu-smoke") => xen_domu::main(&root(), &args.collect::<Vec<_>>()),
        // Internal: run by dom0's /init inside xen-domu-smoke.
        Some("xen-domu-dom0") => xen_domu::dom0_main(),
        Some(other) => {
            eprintln!("xtask: unknown command `{other}`\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
