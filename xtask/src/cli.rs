//! `cargo xtask`'s command line, on clap derive: one subcommand per job,
//! each with the flags its module declares (`Options` there), so `--help`,
//! the errors for bad values and shell completions come from one place.

use clap::{Parser, Subcommand};

/// Host tooling for the piñata: build, run, test, measure and attack it.
#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    version,
    arg_required_else_help = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Everything CI checks: prerequisites, fmt check, clippy -D warnings,
    /// cargo doc -D warnings, bare-metal build, cargo test --workspace, the
    /// fuzz targets briefly, the size report, the quick attack battery, then
    /// xen-domu-smoke
    Test,
    /// What `test` needs that this machine lacks, one line each with the
    /// command that installs it (installs nothing)
    Prerequisites,
    /// Build and run every fuzz target, or check the ClusterFuzzLite build
    Fuzz(crate::fuzz::Options),
    /// Build the unikernel (release, x86_64-unknown-none); prints the ELF's path
    Image(crate::image::Options),
    /// Boot the image in QEMU with the services on 127.0.0.1:8080,8443,10000-10002
    Run(crate::qemu::Flags),
    /// Write pinata.xl for Xen (xl create -c pinata.xl) next to a copy of the image
    XlConfig(crate::xl::XlOptions),
    /// Write vm.json for Firecracker (firecracker --config-file) next to a copy of the image
    FirecrackerConfig(crate::firecracker::FirecrackerOptions),
    /// Boot the image as a PVH dom0 of a real Xen 4.17 inside QEMU (TCG; a minute or two)
    XenSmoke(crate::xen_smoke::Options),
    /// The image as an `xl create` domU behind netback, checked and attacked
    /// from a Linux dom0 (Xen 4.17 in QEMU TCG; needs root)
    XenDomuSmoke(crate::xen_domu::Options),
    /// The auditor's size and TCB report: target/size-report/report.{md,json,svg}
    SizeReport(crate::size::Flags),
    /// Handshakes/s, page and short-circuit against rustls+aws-lc-rs and
    /// openssl, boot time, smallest memory (docs/PERFORMANCE.md)
    Bench(crate::bench::Flags),
    /// The attack battery against a piñata it starts (or one already
    /// running: --target external:IP)
    Attack(crate::attack::Flags),
    /// Internal: run by dom0's /init inside xen-domu-smoke
    #[command(hide = true)]
    XenDomuDom0,
}

/// A Linux network interface name (a bridge or a tap): 1 to 15 bytes of
/// letters, digits, `-`, `_` and `.`.
pub fn interface_name(name: &str) -> Result<String, String> {
    if name.is_empty()
        || name.len() > 15
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(format!("`{name}` is not a network interface name"));
    }
    Ok(name.to_string())
}

/// A guest's RAM in MiB, at least 16 (the configs' floor: the image boots
/// in less, but a deployed guest needs room for visitors).
pub fn guest_memory_mib(text: &str) -> Result<u32, String> {
    text.parse()
        .ok()
        .filter(|&m| m >= 16)
        .ok_or_else(|| format!("`{text}` is not a number of MiB ≥ 16"))
}

/// The flags of one subcommand's `Options`, parsed as clap would (for the
/// modules' tests).
#[cfg(test)]
pub fn parse_flags<T: clap::FromArgMatches + clap::Args>(flags: &[&str]) -> Result<T, String> {
    let command = T::augment_args(clap::Command::new("test"));
    let matches = command
        .try_get_matches_from(std::iter::once("test").chain(flags.iter().copied()))
        .map_err(|e| e.to_string())?;
    T::from_arg_matches(&matches).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bad_values_are_clear_errors() {
        let error = Cli::try_parse_from(["xtask", "xl-config", "--memory", "8"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("is not a number of MiB ≥ 16"), "{error}");
        let error = Cli::try_parse_from(["xtask", "fuzz", "--target", "nonesuch"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("bounty_server"), "{error}");
        let error = Cli::try_parse_from(["xtask", "fuzz", "--ci", "--seconds", "3"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("cannot be used with"), "{error}");
        assert!(Cli::try_parse_from(["xtask", "frobnicate"]).is_err());
    }

    #[test]
    fn every_subcommand_takes_its_flags() {
        let cli = Cli::try_parse_from(["xtask", "attack", "--target", "vm", "--quick"]).unwrap();
        assert!(matches!(cli.command, Command::Attack(_)));
        let cli = Cli::try_parse_from(["xtask", "run", "--ports", "1,2,3,4,5"]).unwrap();
        assert!(matches!(cli.command, Command::Run(_)));
        let error = Cli::try_parse_from(["xtask", "run", "--ports", "1,2,3"])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("is not five comma-separated ports"),
            "{error}"
        );
        let error = Cli::try_parse_from(["xtask", "bench", "--runs", "0"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("--runs"), "{error}");
        assert!(Cli::try_parse_from(["xtask", "size-report", "--no-linked"]).is_ok());
    }
}
