//! `cargo xtask xen-smoke`: the image under a real Xen hypervisor.
//!
//! Xen 4.17 (Debian's `xen-hypervisor-4.17-amd64`, fetched with
//! `apt-get download` unless `--xen PATH` names an uncompressed `xen`
//! binary) boots inside QEMU (TCG, `-cpu max`: SVM with nested paging,
//! an emulated AMD IOMMU), and the piñata image is its **PVH dom0** — the
//! one domain Xen starts by itself, without a toolstack. That exercises,
//! on real Xen: CPUID detection, the hypercall page, the shared-info
//! mapping, the pvclock TSC rate, Xen's wall clock, the memory map from
//! `XENMEM_memory_map`, and `SCHEDOP_shutdown` (Xen reports "Hardware
//! Dom0 halted"). A dom0 has no console ring, xenstore or vif, so the
//! image says so, logs to COM1 (which Xen leaves to it: Xen's own console
//! is COM2) and powers off; console ring, grant table, xenstore and
//! netfront are covered by the simulated-backend tests
//! (`cargo test -p unikernel`), not here. Takes a minute or two.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const PACKAGE: &str = "xen-hypervisor-4.17-amd64";

/// What the image must print under Xen, in order.
const EXPECTED: [&str; 6] = [
    "from Xen pvclock (shared info)",
    "xen: Xen 4.",
    "heap: ",
    "clock: Xen wall clock says",
    "entropy: DRBG seeded",
    "power off",
];

fn run(cmd: &mut Command) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| format!("{cmd:?} failed ({status})"))
}

/// An uncompressed Xen binary QEMU can load (multiboot ELF32).
fn fetch_xen(dir: &Path) -> Result<PathBuf, String> {
    let xen = dir.join("xen");
    if xen.is_file() {
        return Ok(xen);
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    run(Command::new("apt-get")
        .args(["download", PACKAGE])
        .current_dir(dir))
    .map_err(|e| format!("{e} (run `apt-get update` first?)"))?;
    let deb = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".deb"))
        .ok_or("apt-get download left no .deb")?;
    run(Command::new("dpkg-deb")
        .arg("-x")
        .arg(&deb)
        .arg(dir.join("root")))?;
    let gz = std::fs::read_dir(dir.join("root/boot"))
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".gz"))
        .ok_or("no xen-*.gz in the package")?;
    let out = Command::new("zcat")
        .arg(&gz)
        .output()
        .map_err(|e| format!("zcat: {e}"))?;
    std::fs::write(&xen, out.stdout).map_err(|e| format!("{}: {e}", xen.display()))?;
    Ok(xen)
}

/// `cargo xtask xen-smoke`'s flags.
#[derive(Debug, clap::Args)]
pub struct Options {
    /// Xen's hypervisor binary [default: xen-hypervisor-4.17-amd64, downloaded]
    #[arg(long, value_name = "PATH")]
    xen: Option<PathBuf>,
    /// Use this ELF instead of building the image
    #[arg(long, value_name = "PATH")]
    image: Option<PathBuf>,
}

pub fn main(root: &Path, Options { xen, image }: Options) -> Result<(), String> {
    let dir = crate::image::target_dir(root).join("xen-smoke");
    let xen = match xen {
        Some(x) => x,
        None => fetch_xen(&dir)?,
    };
    let image = match image {
        Some(i) => i,
        None => crate::image::build_image(root)?,
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let dom0_log = dir.join("dom0-com1.log");
    let xen_log = dir.join("xen-com2.log");
    let _ = std::fs::remove_file(&dom0_log);
    let _ = std::fs::remove_file(&xen_log);
    let mut qemu = Command::new("qemu-system-x86_64")
        .args(["-machine", "q35", "-accel", "tcg", "-cpu", "max", "-m", "1024"])
        .args(["-display", "none", "-no-reboot", "-device", "amd-iommu"])
        .arg("-serial")
        .arg(format!("file:{}", dom0_log.display()))
        .arg("-serial")
        .arg(format!("file:{}", xen_log.display()))
        .arg("-kernel")
        .arg(&xen)
        .args([
            "-append",
            "console=com2 com2=115200,8n1 dom0=pvh dom0_mem=256M iommu=1 loglvl=all guest_loglvl=all noreboot",
        ])
        .arg("-initrd")
        .arg(format!("{} network=regtest", image.display()))
        .spawn()
        .map_err(|e| format!("qemu-system-x86_64: {e}"))?;
    eprintln!(
        "xtask: Xen booting in QEMU (TCG); logs in {}",
        dir.display()
    );
    let start = Instant::now();
    let halted = loop {
        let xen_text = std::fs::read_to_string(&xen_log).unwrap_or_default();
        if xen_text.contains("Dom0 halted") || xen_text.contains("Dom0 shutdown") {
            break true;
        }
        if xen_text.contains("Panic on CPU") || start.elapsed() > Duration::from_secs(600) {
            break false;
        }
        if let Ok(Some(_)) = qemu.try_wait() {
            break false;
        }
        std::thread::sleep(Duration::from_secs(2));
    };
    let _ = qemu.kill();
    let _ = qemu.wait();
    let dom0 = std::fs::read_to_string(&dom0_log).unwrap_or_default();
    let xen_text = std::fs::read_to_string(&xen_log).unwrap_or_default();
    println!("--- the image's console (COM1)\n{dom0}");
    let mut missing = Vec::new();
    let mut from = 0;
    for step in EXPECTED {
        match dom0[from..].find(step) {
            Some(at) => from += at + step.len(),
            None => missing.push(step),
        }
    }
    if !halted {
        let tail: Vec<&str> = xen_text.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "Xen did not report the dom0 halting (after {} s); Xen's log ends:\n{}",
            start.elapsed().as_secs(),
            tail.join("\n")
        ));
    }
    if !missing.is_empty() {
        return Err(format!("the image's console lacks {missing:?}"));
    }
    if xen_text.contains("Dom0 shutdown: rebooting") {
        return Err("the dom0 crashed (Xen rebooted it)".into());
    }
    println!(
        "xtask: xen-smoke passed in {} s: the image ran as a PVH dom0 on Xen and powered off through SCHEDOP_shutdown",
        start.elapsed().as_secs()
    );
    Ok(())
}
