//! The piñata under attack: the hosted runner or the unikernel under QEMU,
//! started with a worthless regtest prize by the workspace's test harness
//! (`harness/`: free ports, the ready and listening lines, QEMU booted
//! again when a forwarded port was taken), its console collected.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use harness::listening::READY;
use harness::{Hosted, Process, hosted, prize, vm};

use super::*;

pub(super) struct Target {
    pub(super) kind: TargetKind,
    /// The piñata, QEMU, or (external) the `tail -F` of its console: its
    /// output is the log the leak and fault checks read.
    pub(super) process: Process,
    /// http, https, server, connect_back, client
    pub(super) ports: [u16; 5],
    /// The caller's port that connect-back dials (on 127.0.0.1, or this
    /// host's address for an external target).
    pub(super) cb_port: u16,
    /// The page as the visitor (the prober) reaches it. Hosted: the HTTP
    /// port, from another source address than the attacker. VM: a second
    /// `hostfwd` to guest port 80 — QEMU's forwarding listener takes one
    /// connection at a time (backlog 1), so a visitor sharing the
    /// attacker's listener measures QEMU's queue, not the guest.
    pub(super) visitor_port: u16,
    /// VM: QEMU's dump of the guest's frames (pcap, `pcap.rs`), where the
    /// guest's TCP headers can be read; the host never sees them under
    /// user networking.
    pub(super) pcap: Option<PathBuf>,
    /// VM: the image it booted (cases that boot a second VM use it).
    pub(super) image: Option<PathBuf>,
    pub(super) dir: PathBuf,
}

pub(super) use harness::listening::SERVICES;

impl Target {
    pub(super) fn port(&self, service: &str) -> u16 {
        let i = SERVICES
            .iter()
            .position(|s| *s == service)
            .expect("service");
        self.ports[i]
    }

    pub(super) fn alive(&mut self) -> Result<(), String> {
        match self.process.child.try_wait() {
            Ok(Some(status)) => return Err(format!("target process exited ({status})")),
            Err(e) => return Err(format!("cannot query the target process: {e}")),
            Ok(None) => {}
        }
        if let Some(line) = self.process.out.find(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("panicked")
                || l.contains("panic:")
                || l.starts_with("panic at")
                || l.contains("exception") && l.contains("fault")
        }) {
            return Err(format!("the console reports a fault: {line}"));
        }
        Ok(())
    }

    pub(super) fn log_len(&self) -> usize {
        self.process.out.len()
    }

    pub(super) fn log_since(&self, from: usize) -> Vec<String> {
        self.process.out.since(from)
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.process.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Makes the child get SIGKILL when the thread that starts it ends — so
/// the target goes when the battery is killed (`kill -9`, a CI timeout),
/// and with QEMU the network namespace (`crate::netns`). Drop still stops
/// it first on a normal end. The battery starts its targets from its main
/// thread.
pub(super) fn dies_with_this_thread(command: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches no memory of the
    // parent; it runs in the child between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

pub(super) fn free_port() -> Result<u16, String> {
    harness::ports::free_port().map_err(|e| format!("no free port: {e}"))
}

fn secret_file(dir: &Path) -> Result<PathBuf, String> {
    prize::write_secret_file(dir, WIF).map_err(|e| format!("{}: {e}", dir.display()))
}

pub(super) fn start_hosted(root: &Path, release: bool, dir: PathBuf) -> Result<Target, String> {
    let mut build = vec!["build", "--locked", "-p", "pinata", "--bin", "pinata"];
    if release {
        build.push("--release");
    }
    crate::cargo(&build)?;
    let binary = crate::image::target_dir(root)
        .join(if release { "release" } else { "debug" })
        .join("pinata");
    let secret = secret_file(&dir)?;
    let cb_port = free_port()?;
    let mut cmd = Command::new(&binary);
    hosted::loopback(&mut cmd).args(["--network", "regtest"]);
    cmd.arg("--secret-file").arg(&secret);
    cmd.args(["--connect-back-target-port", &cb_port.to_string()]);
    let Hosted { process, services } =
        Hosted::start(dies_with_this_thread(&mut cmd), Duration::from_secs(60))?;
    let ports = services.ports();
    Ok(Target {
        kind: TargetKind::Hosted,
        process,
        visitor_port: ports[0],
        ports,
        cb_port,
        pcap: None,
        image: None,
        dir,
    })
}

/// The unikernel on the tap network (`crate::netns`): which tap device and
/// address, how much memory, what else on its command line.
#[derive(Debug, Clone)]
pub(super) struct TapVm {
    /// The tap device and guest address index (`netns::tap_name`,
    /// `netns::guest_address`).
    pub(super) index: usize,
    pub(super) memory_mib: u32,
    /// More kernel command line words (limits, …).
    pub(super) append: String,
    /// Dump the guest's frames to a pcap (the ISN case reads it).
    pub(super) dump: bool,
}

/// Boots `image` on tap device `vm.index` of the namespace the calling
/// thread is in, and waits for its ready line. Its services are on their
/// standard ports at `netns::guest_address(vm.index)`; connect-back dials
/// the caller's address on a port free here.
pub(super) fn start_tap_vm(image: &Path, dir: PathBuf, vm: &TapVm) -> Result<Target, String> {
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let secret = secret_file(&dir)?;
    let cb_port = free_port()?;
    let mut append = vec![
        crate::netns::guest_cmdline(vm.index),
        format!("network=regtest connect_back_port={cb_port}"),
    ];
    if !vm.append.is_empty() {
        append.push(vm.append.clone());
    }
    let options = crate::qemu::RunOptions {
        secret_file: Some(secret),
        memory_mib: vm.memory_mib,
        net: crate::qemu::Net::Tap(crate::netns::tap_name(vm.index)),
        mac: Some(crate::qemu::tap_mac(
            u8::try_from(vm.index).map_err(|_| "tap index over 255")?,
        )),
        append,
        ..Default::default()
    };
    let mut command = crate::qemu::qemu_command(&options, image);
    let pcap = vm.dump.then(|| dir.join("guest.pcap"));
    if let Some(pcap) = &pcap {
        command.arg("-object").arg(format!(
            "filter-dump,id=guest-dump,netdev=net0,maxlen={},file={}",
            super::pcap::SNAP_LEN,
            pcap.display()
        ));
    }
    let process = Process::spawn(dies_with_this_thread(&mut command))?;
    process
        .out
        .wait_for("the guest's ready line", Duration::from_secs(300), |l| {
            l.contains(READY)
        })?;
    Ok(Target {
        kind: TargetKind::Vm,
        process,
        ports: crate::qemu::GUEST_PORTS,
        cb_port,
        visitor_port: crate::qemu::GUEST_PORTS[0],
        pcap,
        image: Some(image.to_path_buf()),
        dir,
    })
}

/// The unikernel behind QEMU's user networking, its ports forwarded to free
/// loopback ports.
pub(super) fn start_vm(image: &Path, dir: PathBuf, memory_mib: u32) -> Result<Target, String> {
    let secret = secret_file(&dir)?;
    let cb_port = free_port()?;
    // Every frame to and from the guest, headers only, for the cases
    // that read the guest's TCP headers (`net0` is qemu.rs's netdev).
    let pcap = dir.join("guest.pcap");
    let boot = vm::Boot {
        within: Duration::from_secs(300),
        // The visitor's own forward to the page.
        extra_ports: 1,
        ..vm::Boot::default()
    };
    let booted = vm::boot(&boot, |forwards| {
        let options = crate::qemu::RunOptions {
            secret_file: Some(secret.clone()),
            host_ports: forwards.services,
            extra_forwards: vec![(forwards.extra[0], 80)],
            memory_mib,
            // Under user networking every host connection reaches the guest
            // from 10.0.2.2, so a per-address limit below the total would
            // refuse the page probe along with the attacker; at the total
            // (512, the default) eviction of the longest idle governs, as it
            // does for many addresses on a real network.
            append: vec![format!(
                "network=regtest connect_back_port={cb_port} max_connections_per_peer=512"
            )],
            ..Default::default()
        };
        let mut command = crate::qemu::qemu_command(&options, image);
        command.arg("-object").arg(format!(
            "filter-dump,id=guest-dump,netdev=net0,maxlen={},file={}",
            super::pcap::SNAP_LEN,
            pcap.display()
        ));
        dies_with_this_thread(&mut command);
        command
    })?;
    Ok(Target {
        kind: TargetKind::Vm,
        ports: booted.services.ports(),
        visitor_port: booted.extra_ports[0],
        process: booted.process,
        cb_port,
        pcap: Some(pcap),
        image: Some(image.to_path_buf()),
        dir,
    })
}

/// A piñata already running elsewhere (`--target external:IP`) on its
/// standard ports, connect-back dialling port 40001, the appliance's
/// default. There is no process to start: its console, a file another
/// program appends to (the Xen console log in dom0), is followed with
/// `tail -F` — that child stands for the target, and its lines are the
/// log the leak and fault checks read. `pcap`, if given, is a capture of
/// its frames another program appends to (dom0's tcpdump on the vif).
/// Stopping the target is the caller's business.
pub(super) fn start_external(
    console: &Path,
    pcap: Option<PathBuf>,
    dir: PathBuf,
) -> Result<Target, String> {
    let process = Process::spawn(Command::new("tail").args(["-n", "+1", "-F"]).arg(console))
        .map_err(|e| format!("cannot follow {} with tail: {e}", console.display()))?;
    // The page answering is the readiness signal.
    let deadline = Instant::now() + Duration::from_secs(60);
    while let Err(e) = probe::probe_page(TargetKind::External, 80) {
        if Instant::now() > deadline {
            return Err(format!("the external target's page does not answer: {e}"));
        }
        thread::sleep(Duration::from_millis(500));
    }
    Ok(Target {
        kind: TargetKind::External,
        process,
        ports: [80, 443, 10000, 10001, 10002],
        cb_port: 40001,
        visitor_port: 80,
        pcap,
        image: None,
        dir,
    })
}
