//! `cargo xtask firecracker-config`: a Firecracker configuration file for
//! running the piñata as a Firecracker microVM
//! (`firecracker --no-api --config-file vm.json`).
//!
//! It builds the image (or takes `--image`), copies it next to the file as
//! `pinata-unikernel`, and writes `vm.json` there (default
//! `target/firecracker/`):
//!
//! ```text
//! boot-source         kernel_image_path  the image: Firecracker boots its PVH note
//!                     initrd_path        the prize (--secret-file), a PVH boot module
//!                     boot_args          the kernel command line (--append); Firecracker
//!                                        adds the virtio_mmio.device= words itself
//! machine-config      1 vCPU, --memory MiB (default 128), no SMT
//! network-interfaces  eth0 on the host's tap device (--tap), MAC --mac
//! entropy             a virtio-rng device
//! ```
//!
//! Under Firecracker the image finds no RTC, no PCI and no ACPI power-off:
//! its clocks are kvmclock, its devices virtio-mmio, and it stops through
//! the keyboard controller's reset line, on which Firecracker ends the VM
//! (so `panic=reboot` stops it too). QEMU's `microvm` reproduces that
//! machine: `cargo xtask run --machine microvm`.
//!
//! Paths in the file are absolute: the output directory's, or
//! `--dest-dir`'s when the files will be copied to another host. The prize
//! file is never copied: it is only named.

use std::path::{Path, PathBuf};

/// Settings of one configuration: `cargo xtask firecracker-config`'s flags.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(
    after_help = "Prints the path of vm.json. Then: firecracker --no-api --config-file vm.json"
)]
pub struct FirecrackerOptions {
    /// The prize WIF, named as the boot module (initrd_path); not copied
    #[arg(long, value_name = "F")]
    pub secret_file: Option<PathBuf>,
    /// The host's tap device for the guest's virtio-net
    #[arg(long, value_name = "DEV", default_value = "tap0", value_parser = crate::cli::interface_name)]
    pub tap: String,
    /// The guest's MAC address (unicast)
    #[arg(long, default_value = "02:00:00:00:00:01", value_parser = unicast_mac)]
    pub mac: String,
    /// Guest RAM in MiB (at least 16)
    #[arg(long = "memory", value_name = "MiB", default_value = "128", value_parser = crate::cli::guest_memory_mib)]
    pub memory_mib: u32,
    /// Kernel command line (boot_args), e.g. "network=regtest ip=192.0.2.10/24 gw=192.0.2.1"; repeatable
    #[arg(long, value_name = "TEXT")]
    pub append: Vec<String>,
    /// Use this ELF instead of building the image
    #[arg(long, value_name = "PATH")]
    pub image: Option<PathBuf>,
    /// Where to write vm.json and the image copy [default: target/firecracker]
    #[arg(long = "out", value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Where the files will be on the Firecracker host [default: --out, absolute]
    #[arg(long, value_name = "DIR")]
    pub dest_dir: Option<PathBuf>,
}

impl Default for FirecrackerOptions {
    fn default() -> Self {
        FirecrackerOptions {
            secret_file: None,
            tap: "tap0".into(),
            // Locally administered, unicast.
            mac: "02:00:00:00:00:01".into(),
            memory_mib: 128,
            append: Vec::new(),
            image: None,
            out_dir: None,
            dest_dir: None,
        }
    }
}

/// Six hex octets with the multicast bit of the first clear.
fn unicast_mac(text: &str) -> Result<String, String> {
    let octets: Vec<&str> = text.split(':').collect();
    let valid = octets.len() == 6
        && octets
            .iter()
            .all(|o| o.len() == 2 && o.chars().all(|c| c.is_ascii_hexdigit()))
        // Unicast: the first octet's lowest bit clear.
        && u8::from_str_radix(octets[0], 16).is_ok_and(|first| first & 1 == 0);
    if valid {
        Ok(text.to_string())
    } else {
        Err(format!(
            "`{text}` is not a unicast MAC address (xx:xx:xx:xx:xx:xx)"
        ))
    }
}

/// The configuration as Firecracker reads it; `kernel` and `initrd` are
/// the paths as the Firecracker host will see them.
pub fn render(options: &FirecrackerOptions, kernel: &Path, initrd: Option<&Path>) -> String {
    // Without boot_args Firecracker passes Linux's defaults (reboot=k,
    // pci=off, …), which the image would report as unknown keys.
    let boot_args = if options.append.is_empty() {
        "panic=poweroff".to_string()
    } else {
        options.append.join(" ")
    };
    let mut boot_source = serde_json::json!({
        "kernel_image_path": kernel.to_string_lossy(),
        "boot_args": boot_args,
    });
    if let Some(initrd) = initrd {
        boot_source["initrd_path"] = initrd.to_string_lossy().into();
    }
    let config = serde_json::json!({
        "boot-source": boot_source,
        "drives": [],
        "machine-config": {
            "vcpu_count": 1,
            "mem_size_mib": options.memory_mib,
            "smt": false,
        },
        "network-interfaces": [{
            "iface_id": "eth0",
            "guest_mac": options.mac,
            "host_dev_name": options.tap,
        }],
        "entropy": {},
    });
    let mut text = serde_json::to_string_pretty(&config).expect("a JSON value serialises");
    text.push('\n');
    text
}

/// `cargo xtask firecracker-config`.
pub fn run(options: FirecrackerOptions, root: &Path) -> Result<(), String> {
    let out_dir = options
        .out_dir
        .clone()
        .unwrap_or_else(|| crate::image::target_dir(root).join("firecracker"));
    let staged = crate::deploy::stage(
        root,
        options.image.as_deref(),
        options.secret_file.as_deref(),
        &out_dir,
        options.dest_dir.as_deref(),
    )?;
    let config = staged.out_dir.join("vm.json");
    let text = render(&options, &staged.kernel, staged.prize.as_deref());
    std::fs::write(&config, text).map_err(|e| format!("{}: {e}", config.display()))?;
    eprintln!(
        "xtask: wrote {} and {}; then: firecracker --no-api --config-file vm.json",
        config.display(),
        staged.copy.display()
    );
    println!("{}", config.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(list: &[&str]) -> Result<FirecrackerOptions, String> {
        crate::cli::parse_flags(list)
    }

    #[test]
    fn defaults_flags_and_bad_values() {
        assert_eq!(parse(&[]).unwrap(), FirecrackerOptions::default());
        let o = parse(&[
            "--secret-file",
            "prize.wif",
            "--tap",
            "fc-tap1",
            "--mac",
            "06:00:AC:10:00:02",
            "--memory",
            "256",
            "--append",
            "network=regtest",
            "--append",
            "ip=192.0.2.10/24",
        ])
        .unwrap();
        assert_eq!(o.secret_file, Some(PathBuf::from("prize.wif")));
        assert_eq!(o.tap, "fc-tap1");
        assert_eq!(o.mac, "06:00:AC:10:00:02");
        assert_eq!(o.memory_mib, 256);
        assert_eq!(o.append, ["network=regtest", "ip=192.0.2.10/24"]);
        for bad in [
            &["--memory", "8"][..],
            &["--memory", "lots"],
            &["--tap", "a/b"],
            &["--tap", "an-interface-name-too-long"],
            &["--mac", "01:00:00:00:00:01"],
            &["--mac", "02:00:00:00:00"],
            &["--mac", "02:00:00:00:00:zz"],
            &["--frobnicate"],
            &["--tap"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn renders_every_section_firecracker_needs() {
        let o = FirecrackerOptions {
            append: vec!["network=regtest".into(), "ip=192.0.2.10/24".into()],
            ..FirecrackerOptions::default()
        };
        let text = render(
            &o,
            Path::new("/srv/pinata/pinata-unikernel"),
            Some(Path::new("/srv/pinata/prize \"1\".wif")),
        );
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let boot = &json["boot-source"];
        assert_eq!(boot["kernel_image_path"], "/srv/pinata/pinata-unikernel");
        assert_eq!(boot["initrd_path"], "/srv/pinata/prize \"1\".wif");
        assert_eq!(boot["boot_args"], "network=regtest ip=192.0.2.10/24");
        assert_eq!(json["machine-config"]["vcpu_count"], 1);
        assert_eq!(json["machine-config"]["mem_size_mib"], 128);
        assert_eq!(json["network-interfaces"][0]["host_dev_name"], "tap0");
        assert_eq!(
            json["network-interfaces"][0]["guest_mac"],
            "02:00:00:00:00:01"
        );
        assert!(json["entropy"].is_object(), "{text}");
        assert_eq!(json["drives"], serde_json::json!([]));

        let bare = render(&FirecrackerOptions::default(), Path::new("/k"), None);
        let json: serde_json::Value = serde_json::from_str(&bare).unwrap();
        assert!(json["boot-source"].get("initrd_path").is_none(), "{bare}");
        assert_eq!(json["boot-source"]["boot_args"], "panic=poweroff");
    }

    #[test]
    fn writes_vm_json_naming_the_staged_files() {
        let dir = std::env::temp_dir().join(format!("fc-config-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let image = dir.join("built.elf");
        std::fs::write(&image, b"\x7fELF...").unwrap();
        let out = dir.join("out");
        let options = FirecrackerOptions {
            image: Some(image),
            out_dir: Some(out.clone()),
            dest_dir: Some(PathBuf::from("/var/lib/pinata")),
            ..FirecrackerOptions::default()
        };
        run(options, Path::new("/nonexistent")).unwrap();
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("vm.json")).unwrap()).unwrap();
        assert_eq!(
            json["boot-source"]["kernel_image_path"],
            "/var/lib/pinata/pinata-unikernel"
        );
        assert!(out.join("pinata-unikernel").is_file());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
