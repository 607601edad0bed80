//! `cargo xtask xen-domu-smoke`: the piñata as what it is deployed as — an
//! `xl create` PVH guest behind a real netback — checked end to end, and
//! attacked, from dom0.
//!
//! Debian bookworm's Xen 4.17 boots inside QEMU (TCG, `-cpu max,-smap`:
//! TCG's SMAP emulation crashes a Linux PV dom0; `-nic none`: nothing
//! inside reaches the host's network) with Linux 6.1 as a PV dom0 whose
//! root is a bookworm initramfs (`dom0_root.rs`, cached under
//! `target/xen-domu/dom0/`). On top of that root goes a small second
//! archive: dom0's `/init` (`init.sh`), this very xtask binary (the host's
//! glibc is bookworm's), the image and the prize as
//! `cargo xtask xl-config --dest-dir /pinata` writes them — the
//! configuration is used as written, as an operator would — with
//! `test_heap_canary=` on the guest's command line. dom0's `/init` starts
//! xenstored, xenconsoled and a bridge, then runs `xtask xen-domu-dom0`
//! (`dom0.rs`), whose phases print marker lines the host reads from the
//! serial console; the guest's frames are checked by `frames.rs`.
//!
//! The host passes the run only on `xen-domu: dom0 checks passed`, every
//! phase's `ok` line and no piece of the prize anywhere on the console,
//! and prints a per-phase table and a one-line summary. A Xen or dom0
//! panic, an early QEMU exit, or no verdict within [`RUN_LIMIT`] fails it.

mod dom0;
mod dom0_root;
mod frames;

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The domain's name (`xl-config --name`).
const NAME: &str = "pinata";
/// Where the overlay puts the image, the prize and pinata.xl in dom0.
const DOM0_DIR: &str = "/pinata";
/// The guest's address, and dom0's on the bridge (`init.sh`).
const GUEST_IP: &str = "10.99.0.2";
const GUEST_CIDR: &str = "10.99.0.2/16";
const DOM0_IP: &str = "10.99.0.1";
const DOM0_CIDR: &str = "10.99.0.1/16";
/// The battery's visitor; the flood comes from the 200 addresses after it,
/// the hostile-load cases from the 64 after those. Outside the guest's
/// 10.99.0.0/16, so it reaches them through its gateway (dom0) as it would
/// reach visitors on the Internet through a router: on the guest's own
/// link, each new source cost an ARP exchange first, and a burst of
/// connections from 16 new neighbours lost most of its SYN-ACKs to it
/// (measured: 13 of 16 socket-exhaustion visitors timed out connecting).
const SOURCES_FIRST: Ipv4Addr = Ipv4Addr::new(10, 98, 1, 1);
/// The guest's console as xenconsoled logs it.
const GUEST_LOG: &str = "/var/log/xen/console/guest-pinata.log";
/// Written over the guest's free heap before it serves
/// (`test_heap_canary=`); must never appear in a frame.
const CANARY: &str = "PINATA-HEAP-CANARY-0d15ea5e";
/// The battery's cases run from dom0: all the quick cases (`all`), the
/// idle flood among them (10,000 connections from 200 addresses), with the
/// page probed throughout every case.
const BATTERY_CASES: [&str; 1] = ["all"];

/// The battery's case patterns, one a line, in dom0 (`all`: every case).
const BATTERY_FILE: &str = "/pinata/battery-cases";

/// The whole run's bound: far beyond a healthy run (a few minutes), only
/// so that a hung one ends.
const RUN_LIMIT: Duration = Duration::from_secs(45 * 60);

/// Lines from dom0's checks the host shows as they come.
const SHOWN: [&str; 3] = ["xen-domu:", "battery| ", "guest| "];

/// `cargo xtask xen-domu-smoke`'s flags.
#[derive(Debug, clap::Args)]
#[command(long_about = "\
Boots Xen 4.17 with a Debian Linux PV dom0 inside QEMU (TCG, no NIC) and
checks the image as an `xl create` guest behind netback, from dom0: page and
stats, refused certificates, the short-circuit, connect-back, frame capture
(MirageOS advisory 00), the attack battery's idle flood, xl reboot, shutdown
and destroy. Needs root, apt-get update done, debootstrap and cpio the first
time (dom0's root is cached in target/xen-domu/dom0/).")]
pub struct Options {
    /// Build dom0's root again instead of using the cached one
    #[arg(long)]
    rebuild_dom0: bool,
    /// The battery's quick cases to run from dom0 whose name contains P
    /// (repeatable) [default: every one]
    #[arg(long = "battery-case", value_name = "P")]
    battery: Vec<String>,
}

/// Whether any 16-byte piece of `secret` occurs in `bytes`.
fn carries_piece_of(bytes: &[u8], secret: &[u8]) -> bool {
    secret
        .windows(16)
        .any(|piece| bytes.windows(16).any(|w| w == piece))
}

pub fn main(root: &Path, options: Options) -> Result<(), String> {
    let Options {
        rebuild_dom0: rebuild,
        mut battery,
    } = options;
    if battery.is_empty() {
        battery = BATTERY_CASES.map(String::from).to_vec();
    }
    run(root, rebuild, &battery)
}

/// `cargo xtask test`'s run: the cached dom0 root when there is one.
pub fn ci(root: &Path) -> Result<(), String> {
    run(root, false, &BATTERY_CASES.map(String::from))
}

/// Where dom0's root is built and cached.
fn dom0_dir(root: &Path) -> PathBuf {
    crate::image::target_dir(root).join("xen-domu").join("dom0")
}

/// Whether dom0's root is cached: then a run needs neither root nor
/// debootstrap nor apt (the prerequisites check asks).
pub fn dom0_cached(root: &Path) -> bool {
    dom0_root::cached(&dom0_dir(root))
}

/// The Debian bookworm mirror apt knows, which building dom0's root
/// downloads from; an error that says how to get one otherwise.
pub fn bookworm_mirror() -> Result<String, String> {
    dom0_root::mirror()
}

/// `xtask xen-domu-dom0`: the checks, inside dom0.
pub fn dom0_main() -> Result<(), String> {
    dom0::main()
}

/// One row of the timing table.
struct Timing {
    phase: String,
    ms: u128,
    detail: String,
}

fn run(root: &Path, rebuild: bool, battery: &[String]) -> Result<(), String> {
    let started = Instant::now();
    let dir = crate::image::target_dir(root).join("xen-domu");
    let mut timings = Vec::new();
    let mut time = |phase: &str, since: Instant, detail: String| {
        timings.push(Timing {
            phase: phase.into(),
            ms: since.elapsed().as_millis(),
            detail,
        })
    };

    let t = Instant::now();
    let dom0 = dom0_root::prepare(&dom0_dir(root), rebuild)?;
    let versions: Vec<&str> = dom0.versions.lines().skip(1).collect();
    time(
        if dom0.cached {
            "dom0 root (cached)"
        } else {
            "dom0 root (built)"
        },
        t,
        versions.join(", "),
    );

    let t = Instant::now();
    let image = crate::image::build_image(root)?;
    time("image", t, image.display().to_string());

    let t = Instant::now();
    let run_dir = dir.join("run");
    let initrd = initramfs(&run_dir, &dom0.root_cpio, &image, battery)?;
    time(
        "initramfs",
        t,
        format!("{} (dom0 root + overlay)", initrd.display()),
    );

    let serial = run_dir.join("serial.log");
    let t = Instant::now();
    let outcome = boot(&dom0, &initrd, &serial);
    let text = std::fs::read(&serial).unwrap_or_default();
    let lines = String::from_utf8_lossy(&text).into_owned();
    let boot_ms = t.elapsed().as_millis();
    let mut failures = Vec::new();
    if let Err(e) = &outcome {
        failures.push(e.clone());
    }

    // dom0's markers: when it came up, and each phase.
    let mut dom0_up = None;
    let mut phases = Vec::new();
    let mut verdict = None;
    for line in lines.lines() {
        let Some(rest) = line.trim_end_matches('\r').strip_prefix("xen-domu: ") else {
            continue;
        };
        if rest == "dom0 up" {
            dom0_up = Some(());
        } else if let Some(rest) = rest.strip_prefix("phase ") {
            if let Some((name, tail)) = rest.split_once(" ok ") {
                let (ms, detail) = tail.split_once(" ms: ").unwrap_or((tail, ""));
                phases.push((
                    name.to_string(),
                    ms.parse().unwrap_or(0),
                    detail.to_string(),
                    true,
                ));
            } else if let Some((name, tail)) = rest.split_once(" FAILED ") {
                let (ms, detail) = tail.split_once(" ms: ").unwrap_or((tail, ""));
                phases.push((
                    name.to_string(),
                    ms.parse().unwrap_or(0),
                    detail.to_string(),
                    false,
                ));
            }
        } else if rest == "dom0 checks passed" {
            verdict = Some(true);
        } else if rest.starts_with("dom0 checks failed") {
            verdict = Some(false);
        }
    }
    let in_dom0: u128 = phases.iter().map(|p| p.1).sum();
    timings.push(Timing {
        phase: "boot Xen + dom0".into(),
        ms: boot_ms.saturating_sub(in_dom0),
        detail: "QEMU start to dom0's checks, and power-off".into(),
    });
    for (name, ms, detail, ok) in &phases {
        timings.push(Timing {
            phase: format!("dom0: {name}"),
            ms: *ms,
            detail: if *ok {
                detail.clone()
            } else {
                format!("FAILED: {detail}")
            },
        });
        if !ok {
            failures.push(format!("phase {name}: {detail}"));
        }
    }
    if dom0_up.is_none() {
        failures.push("dom0 never came up (no \"xen-domu: dom0 up\")".into());
    }
    match verdict {
        Some(true) => {}
        Some(false) => failures.push("dom0's checks failed".into()),
        None => failures.push("dom0's checks gave no verdict".into()),
    }
    if carries_piece_of(&text, crate::attack::WIF.as_bytes()) {
        failures.push("a piece of the prize appears on the console (Xen, dom0 or guest)".into());
    }

    println!(
        "\nxen-domu-smoke: per-phase timings (serial log: {})",
        serial.display()
    );
    for t in &timings {
        println!("  {:<28} {:>8} ms  {}", t.phase, t.ms, t.detail);
    }
    let total = started.elapsed().as_secs();
    if failures.is_empty() {
        println!(
            "xen-domu-smoke: passed in {total} s: Xen 4.17 domU behind netback, {} dom0 phases ok (page, certificates, short-circuit, connect-back, frames, battery, reboot, shutdown, destroy)",
            phases.len()
        );
        Ok(())
    } else {
        if outcome.is_err() || verdict.is_none() {
            let tail: Vec<&str> = lines.lines().rev().take(60).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            println!("--- the console's last lines\n{}", tail.join("\n"));
        }
        println!(
            "xen-domu-smoke: FAILED after {total} s: {}",
            failures.join("; ")
        );
        Err(format!("xen-domu-smoke failed: {}", failures.join("; ")))
    }
}

/// dom0's root with the run's overlay appended: `/init`, `/pinata/xtask`,
/// and what `xl-config` writes.
fn initramfs(
    run_dir: &Path,
    root_cpio: &Path,
    image: &Path,
    battery: &[String],
) -> Result<PathBuf, String> {
    let _ = std::fs::remove_dir_all(run_dir);
    let overlay = run_dir.join("overlay");
    let pinata = overlay.join(DOM0_DIR.trim_start_matches('/'));
    std::fs::create_dir_all(&pinata).map_err(|e| format!("{}: {e}", pinata.display()))?;
    let init = include_str!("init.sh").replace("@DOM0_CIDR@", DOM0_CIDR);
    write_executable(&overlay.join("init"), init.as_bytes())?;
    // /proc/self/exe, not current_exe(): `cargo test --workspace` earlier in
    // `cargo xtask test` may relink target/debug/xtask while this process
    // runs, and then the path current_exe() gives is gone ("(deleted)");
    // the running image stays readable through /proc/self/exe.
    let exe = Path::new("/proc/self/exe");
    let bytes =
        std::fs::read(exe).map_err(|e| format!("this xtask binary ({}): {e}", exe.display()))?;
    write_executable(&pinata.join("xtask"), &bytes)?;
    let cases = pinata.join(BATTERY_FILE.rsplit('/').next().unwrap_or("battery-cases"));
    std::fs::write(&cases, battery.join("\n")).map_err(|e| format!("{}: {e}", cases.display()))?;
    // The test's worthless prize (attack::WIF), named as the ramdisk.
    let prize = pinata.join("prize.wif");
    std::fs::write(&prize, format!("{}\n", crate::attack::WIF))
        .map_err(|e| format!("{}: {e}", prize.display()))?;
    crate::xl::run(
        crate::xl::XlOptions {
            name: NAME.into(),
            secret_file: Some(prize),
            bridge: "xenbr0".into(),
            append: vec![format!(
                "network=regtest ip={GUEST_CIDR} gw={DOM0_IP} test_heap_canary={CANARY}"
            )],
            image: Some(image.to_path_buf()),
            out_dir: Some(pinata.clone()),
            dest_dir: Some(PathBuf::from(DOM0_DIR)),
            ..Default::default()
        },
        Path::new("/nonexistent"),
    )?;
    let overlay_cpio = run_dir.join("overlay.cpio");
    let status = Command::new("sh")
        .args([
            "-c",
            "cd \"$1\" && find . | cpio -o -H newc --quiet > \"$2\"",
            "sh",
        ])
        .arg(&overlay)
        .arg(&overlay_cpio)
        .status()
        .map_err(|e| format!("sh: {e}"))?;
    if !status.success() {
        return Err(format!(
            "packing the overlay with cpio failed ({status}; apt-get install cpio)"
        ));
    }
    let initrd = run_dir.join("initrd.cpio");
    let mut out =
        std::fs::File::create(&initrd).map_err(|e| format!("{}: {e}", initrd.display()))?;
    for part in [root_cpio, &overlay_cpio] {
        let mut input =
            std::fs::File::open(part).map_err(|e| format!("{}: {e}", part.display()))?;
        std::io::copy(&mut input, &mut out).map_err(|e| format!("{}: {e}", initrd.display()))?;
    }
    Ok(initrd)
}

fn write_executable(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Boots Xen with dom0 in QEMU and follows the serial console into
/// `serial` until dom0 gives its verdict (then QEMU is stopped) or
/// something ends the run early.
fn boot(dom0: &dom0_root::Dom0, initrd: &Path, serial: &Path) -> Result<(), String> {
    let _ = std::fs::remove_file(serial);
    // QEMU's multiboot module list is comma-separated.
    for path in [&dom0.vmlinuz, &initrd.to_path_buf()] {
        if path.to_string_lossy().contains(',') {
            return Err(format!(
                "{}: QEMU cannot load a multiboot module whose path has a comma",
                path.display()
            ));
        }
    }
    let mut qemu = Command::new("qemu-system-x86_64")
        .args(["-machine", "q35", "-accel", "tcg", "-cpu", "max,-smap"])
        .args(["-m", "2048", "-smp", "1", "-nic", "none"])
        .args(["-display", "none", "-no-reboot", "-monitor", "none"])
        .arg("-serial")
        .arg(format!("file:{}", serial.display()))
        .arg("-kernel")
        .arg(&dom0.xen)
        .args([
            "-append",
            "console=com1 com1=115200,8n1 dom0_mem=1024M,max:1024M dom0_max_vcpus=1 noreboot",
        ])
        .arg("-initrd")
        .arg(format!(
            "{} console=hvc0 rdinit=/init,{}",
            dom0.vmlinuz.display(),
            initrd.display()
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("qemu-system-x86_64: {e}"))?;
    println!(
        "xtask: xen-domu-smoke: Xen 4.17 + Linux PV dom0 booting in QEMU (TCG, no NIC); console in {}",
        serial.display()
    );
    let started = Instant::now();
    let mut shown = 0;
    let result = loop {
        let text = std::fs::read(serial).unwrap_or_default();
        let text = String::from_utf8_lossy(&text);
        // Show dom0's lines as they arrive (complete lines only).
        let complete = text.rfind('\n').map_or(0, |i| i + 1);
        if complete > shown {
            for line in text[shown..complete].lines() {
                let line = line.trim_end_matches('\r');
                if SHOWN.iter().any(|p| line.starts_with(p)) {
                    println!("{line}");
                }
            }
            shown = complete;
        }
        if text.contains("xen-domu: dom0 checks passed")
            || text.contains("xen-domu: dom0 checks failed")
            || text.contains("xen-domu: phase dom0-setup FAILED")
        {
            break Ok(());
        }
        if text.contains("Panic on CPU") || text.contains("Kernel panic") {
            break Err("Xen or dom0 panicked (see the console)".to_string());
        }
        if let Ok(Some(status)) = qemu.try_wait() {
            let mut err = String::new();
            if let Some(mut pipe) = qemu.stderr.take() {
                use std::io::Read;
                let _ = pipe.read_to_string(&mut err);
            }
            break Err(format!(
                "QEMU exited before dom0's verdict ({status}): {}",
                err.trim()
            ));
        }
        if started.elapsed() > RUN_LIMIT {
            break Err(format!(
                "no verdict from dom0 within {} min",
                RUN_LIMIT.as_secs() / 60
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    // dom0 powers the machine off after its verdict; give it a moment to
    // say so, then make sure QEMU is gone.
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline && matches!(qemu.try_wait(), Ok(None)) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = qemu.kill();
    let _ = qemu.wait();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_of_a_secret_are_found_and_nothing_else() {
        let secret = b"cMahea7zqjxrtgAbB7LSGbcQUr1uX1ojuat9jZodMN87JcbXMTcA";
        assert!(carries_piece_of(b"...7zqjxrtgAbB7LSGbc...", secret));
        assert!(!carries_piece_of(b"...7zqjxrtgAbB7LSG...", secret));
        assert!(!carries_piece_of(b"", secret));
    }

    #[test]
    fn the_guest_command_line_and_addresses_agree() {
        assert!(GUEST_CIDR.starts_with(GUEST_IP));
        assert!(DOM0_CIDR.starts_with(DOM0_IP));
        assert!(include_str!("init.sh").contains("@DOM0_CIDR@"));
        assert!(GUEST_LOG.ends_with(&format!("guest-{NAME}.log")));
        assert!(CANARY.len() >= 16);
    }
}
