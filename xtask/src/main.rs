//! Host tooling for the piñata (`cargo xtask …`).
//!
//! - `cargo xtask test`: everything CI checks, in order: what the machine
//!   needs (`prerequisites.rs`), formatting, clippy and rustdoc (warnings
//!   are errors), the bare-metal build of the `no_std` crates, and the whole
//!   test suite. README's test command.
//!
//! The other subcommands (image, run, size report, fuzz, bench, attack, the
//! Xen checks) are listed in [`cli::Command`], one module each.

mod attack;
mod bench;
mod cli;
mod deploy;
mod firecracker;
mod fuzz;
mod image;
mod netns;
mod prerequisites;
mod qemu;
mod repro;
mod size;
mod xen_domu;
mod xen_smoke;
mod xl;

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use clap::Parser;

use cli::Cli;

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
    // `cargo xtask …` runs this binary with the subcommand first; cargo's
    // own `xtask` word is not passed.
    let cli = Cli::parse();
    let root = root();
    let result = match cli.command {
        cli::Command::Test => test(),
        cli::Command::Prerequisites => prerequisites::main(&root),
        cli::Command::Fuzz(options) => fuzz::main(options),
        cli::Command::Image(options) => image::image(&root, options),
        cli::Command::Run(flags) => qemu::run(flags.into(), &root),
        cli::Command::XlConfig(options) => xl::run(options, &root),
        cli::Command::FirecrackerConfig(options) => firecracker::run(options, &root),
        cli::Command::XenSmoke(options) => xen_smoke::main(&root, options),
        cli::Command::XenDomuSmoke(options) => xen_domu::main(&root, options),
        cli::Command::SizeReport(flags) => size::main(&root, flags),
        cli::Command::Bench(flags) => bench::main(&root, flags),
        cli::Command::Attack(flags) => attack::main(&root, flags),
        cli::Command::XenDomuDom0 => xen_domu::dom0_main(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
