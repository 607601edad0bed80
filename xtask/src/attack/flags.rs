//! `cargo xtask attack`'s command line: the flags (clap) and what they
//! become ([`Options`]), with the checks that span several flags.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use super::{NetKind, Options, TargetKind};

/// Where the battery's piñata is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Hosted,
    Vm,
    External(Ipv4Addr),
}

/// `hosted`, `vm` or `external:IP`.
fn target(text: &str) -> Result<Target, String> {
    match text {
        "hosted" => Ok(Target::Hosted),
        "vm" => Ok(Target::Vm),
        _ => match text.strip_prefix("external:") {
            Some(ip) => ip
                .parse()
                .map(Target::External)
                .map_err(|_| format!("`{ip}` is not an IPv4 address")),
            None => Err(format!("`{text}` is not hosted, vm or external:IP")),
        },
    }
}

/// `cargo xtask attack`'s flags.
#[derive(Debug, clap::Args)]
pub struct Flags {
    /// hosted: the hosted runner (builds and runs target/*/pinata); vm: the
    /// unikernel under QEMU (builds the image); external:IP: a piñata
    /// already running at IP on its standard ports (connect-back to port
    /// 40001 here; needs --sources and --console)
    #[arg(long, value_name = "hosted|vm|external:IP", default_value = "hosted", value_parser = target)]
    target: Target,
    /// vm: user: QEMU's user networking (every connection reaches the guest
    /// from 10.0.2.2, ~20 connections a second); tap, as root: a bridge and
    /// tap device in a network namespace of this process's own, 300 source
    /// addresses (crate::netns), and the hostile-load cases (attack/load.rs)
    #[arg(long, default_value = "user", value_parser = ["user", "tap"])]
    net: String,
    /// vm: the battery VM's RAM, MiB
    #[arg(long, value_name = "MiB", default_value = "128")]
    memory: u32,
    /// CI's run: no case that awaits its fix (attack/load.rs AWAITING_FIX)
    /// or measures a goal (MEASURES: capacity), gated on behaviour (no
    /// leak, no crash, the page served again within 30 s); latency
    /// printed, not gated
    #[arg(long)]
    quick: bool,
    /// external: page probes come from address S, the idle flood from the
    /// 200 addresses after it, the hostile-load cases from the 64 after
    /// those (all configured on this host)
    #[arg(long, value_name = "S")]
    sources: Option<Ipv4Addr>,
    /// external: the target's console log, followed for the leak and
    /// fault checks
    #[arg(long, value_name = "FILE")]
    console: Option<PathBuf>,
    /// external: a capture of the target's frames that another program is
    /// appending to (classic pcap, Ethernet), for the
    /// initial-sequence-number case
    #[arg(long, value_name = "FILE")]
    pcap: Option<PathBuf>,
    /// After the battery: a warm-up, then N connections of mixed kinds
    /// (page, HTTPS, failed and successful handshakes); passes when the
    /// memory on /stats.json comes back within tolerance and its
    /// high-water mark stops rising (the curve is printed; attack/soak.rs)
    #[arg(long, value_name = "N", default_value = "0")]
    soak: usize,
    /// The soak's loop in W threads
    #[arg(long, value_name = "W", default_value = "1", value_parser = clap::value_parser!(u64).range(1..))]
    soak_workers: u64,
    /// After the battery: testssl.sh (full run), sslscan and nmap --script
    /// ssl-enum-ciphers against the HTTPS port and the bounty server, each
    /// a table row (attack/scanners.rs)
    #[arg(long)]
    full: bool,
    /// hosted: the release build of the piñata
    #[arg(long)]
    release: bool,
    /// Only the cases whose name contains PATTERN (repeatable; runs a case
    /// awaiting its fix even with --quick)
    #[arg(long = "case", value_name = "PATTERN")]
    cases: Vec<String>,
    /// None of the cases (with --soak or --full)
    #[arg(long)]
    no_quick: bool,
}

impl Flags {
    /// The options, or why the flags do not go together.
    pub fn into_options(self) -> Result<Options, String> {
        let net = if self.net == "tap" {
            NetKind::Tap
        } else {
            NetKind::User
        };
        let (target, external) = match self.target {
            Target::Hosted => (TargetKind::Hosted, None),
            Target::Vm => (TargetKind::Vm, None),
            Target::External(address) => {
                let (Some(sources), Some(console)) = (self.sources, self.console) else {
                    return Err("--target external:IP needs --sources and --console".into());
                };
                (TargetKind::External, Some((address, sources, console)))
            }
        };
        if net == NetKind::Tap && target != TargetKind::Vm {
            return Err("--net tap is for --target vm".into());
        }
        Ok(Options {
            target,
            soak: self.soak,
            soak_workers: self.soak_workers as usize,
            full: self.full,
            release: self.release,
            cases: self.cases,
            no_quick: self.no_quick,
            external,
            pcap: self.pcap,
            net,
            quick: self.quick,
            memory_mib: self.memory,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(flags: &[&str]) -> Result<Options, String> {
        crate::cli::parse_flags::<Flags>(flags)?.into_options()
    }

    #[test]
    fn the_flags_become_options() {
        let o = options(&[]).unwrap();
        assert_eq!(o.target, TargetKind::Hosted);
        assert_eq!(o.net, NetKind::User);
        // As xen-domu-smoke's dom0 runs it.
        let o = options(&[
            "--target",
            "external:10.99.0.2",
            "--sources",
            "10.99.1.1",
            "--console",
            "/var/log/xen/guest-pinata.log",
            "--pcap",
            "/tmp/guest.pcap",
            "--case",
            "flood",
        ])
        .unwrap();
        assert_eq!(o.target, TargetKind::External);
        let (address, sources, _) = o.external.unwrap();
        assert_eq!(address, Ipv4Addr::new(10, 99, 0, 2));
        assert_eq!(sources, Ipv4Addr::new(10, 99, 1, 1));
        assert_eq!(o.cases, ["flood"]);
        let o = options(&["--target", "vm", "--net", "tap", "--quick"]).unwrap();
        assert_eq!(
            (o.target, o.net, o.quick),
            (TargetKind::Vm, NetKind::Tap, true)
        );
    }

    #[test]
    fn bad_flags_are_clear_errors() {
        for (flags, says) in [
            (
                &["--target", "cloud"][..],
                "is not hosted, vm or external:IP",
            ),
            (&["--target", "external:10.99"], "is not an IPv4 address"),
            (
                &["--target", "external:10.99.0.2"],
                "needs --sources and --console",
            ),
            (&["--net", "tap"], "--net tap is for --target vm"),
            (&["--soak", "many"], "invalid value"),
            (&["--frobnicate"], "unexpected argument"),
        ] {
            let error = options(flags).err().unwrap_or_default();
            assert!(error.contains(says), "{flags:?}: {error}");
        }
    }
}
