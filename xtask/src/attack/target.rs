//! The piñata under attack: the hosted runner or the unikernel under QEMU,
//! started with a worthless regtest prize, its console collected.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::*;

pub(super) struct Target {
    pub(super) kind: TargetKind,
    pub(super) child: Child,
    pub(super) log: Arc<Mutex<Vec<String>>>,
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

pub(super) const SERVICES: [&str; 5] = ["http", "https", "server", "connect_back", "client"];

impl Target {
    pub(super) fn port(&self, service: &str) -> u16 {
        let i = SERVICES
            .iter()
            .position(|s| *s == service)
            .expect("service");
        self.ports[i]
    }

    pub(super) fn alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(Some(status)) => return Err(format!("target process exited ({status})")),
            Err(e) => return Err(format!("cannot query the target process: {e}")),
            Ok(None) => {}
        }
        let log = self.log.lock().unwrap();
        if let Some(line) = log.iter().find(|l| {
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
        self.log.lock().unwrap().len()
    }

    pub(super) fn log_since(&self, from: usize) -> Vec<String> {
        self.log.lock().unwrap()[from..].to_vec()
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// Collects a child's stdout and stderr lines (without a console's
/// timestamps or CRs) into `log`.
pub(super) fn collect_output(child: &mut Child, log: &Arc<Mutex<Vec<String>>>) {
    let readers: Vec<Box<dyn Read + Send>> = vec![
        Box::new(child.stdout.take().expect("stdout")),
        Box::new(child.stderr.take().expect("stderr")),
    ];
    for reader in readers {
        let log = log.clone();
        thread::spawn(move || {
            for line in BufReader::new(reader).split(b'\n').map_while(Result::ok) {
                let line = String::from_utf8_lossy(&line);
                let line = line.trim_end_matches('\r');
                let line = match line.strip_prefix('[').and_then(|r| r.split_once("] ")) {
                    Some((stamp, text))
                        if stamp.trim().chars().all(|c| c.is_ascii_digit() || c == '.') =>
                    {
                        text
                    }
                    _ => line,
                };
                log.lock().unwrap().push(line.to_string());
            }
        });
    }
}

pub(super) fn wait_line(
    log: &Arc<Mutex<Vec<String>>>,
    child: &mut Child,
    limit: Duration,
    pred: impl Fn(&str) -> bool,
) -> Result<String, String> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(line) = log.lock().unwrap().iter().find(|l| pred(l)) {
            return Ok(line.clone());
        }
        if let Ok(Some(status)) = child.try_wait() {
            thread::sleep(Duration::from_millis(200));
            return Err(format!(
                "the target exited during start ({status}):\n{}",
                log.lock().unwrap().join("\n")
            ));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the target did not become ready in {limit:?}:\n{}",
                log.lock().unwrap().join("\n")
            ));
        }
        thread::sleep(Duration::from_millis(50));
    }
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
    let secret = dir.join("prize.wif");
    std::fs::write(&secret, format!("{WIF}\n")).map_err(|e| e.to_string())?;
    let cb_port = free_port()?;
    let mut cmd = Command::new(&binary);
    cmd.args(["--bind", "127.0.0.1", "--network", "regtest"]);
    for flag in [
        "--http-port",
        "--https-port",
        "--server-port",
        "--connect-back-port",
        "--client-port",
    ] {
        cmd.args([flag, "0"]);
    }
    cmd.arg("--secret-file").arg(&secret);
    cmd.args(["--connect-back-target-port", &cb_port.to_string()]);
    let mut child = dies_with_this_thread(&mut cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let log = Arc::new(Mutex::new(Vec::new()));
    collect_output(&mut child, &log);
    wait_line(&log, &mut child, Duration::from_secs(60), |l| {
        l.starts_with("pinata: ready")
    })?;
    let mut ports = [0u16; 5];
    for line in log.lock().unwrap().iter() {
        if let Some(rest) = line.strip_prefix("pinata: listening service=")
            && let Some((service, addr)) = rest.split_once(" addr=")
            && let Some(i) = SERVICES.iter().position(|s| *s == service)
        {
            ports[i] = addr.rsplit(':').next().unwrap_or("0").parse().unwrap_or(0);
        }
    }
    if ports.contains(&0) {
        return Err(format!(
            "could not read the ports: {:?}",
            log.lock().unwrap()
        ));
    }
    Ok(Target {
        kind: TargetKind::Hosted,
        child,
        log,
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
    let secret = dir.join("prize.wif");
    std::fs::write(&secret, format!("{WIF}\n")).map_err(|e| e.to_string())?;
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
    let mut child = dies_with_this_thread(&mut command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start qemu-system-x86_64: {e}"))?;
    let log = Arc::new(Mutex::new(Vec::new()));
    collect_output(&mut child, &log);
    if let Err(e) = wait_line(&log, &mut child, Duration::from_secs(300), |l| {
        l.contains("pinata: ready")
    }) {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    Ok(Target {
        kind: TargetKind::Vm,
        child,
        log,
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
    let secret = dir.join("prize.wif");
    std::fs::write(&secret, format!("{WIF}\n")).map_err(|e| e.to_string())?;
    // A free port found now can be taken before QEMU binds it: QEMU then
    // says so at once and exits, and we try again with other ports.
    for _ in 0..5 {
        let mut ports = [0u16; 5];
        for p in &mut ports {
            *p = free_port()?;
        }
        let cb_port = free_port()?;
        let visitor_port = free_port()?;
        let options = crate::qemu::RunOptions {
            secret_file: Some(secret.clone()),
            host_ports: ports,
            extra_forwards: vec![(visitor_port, 80)],
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
        // Every frame to and from the guest, headers only, for the cases
        // that read the guest's TCP headers (`net0` is qemu.rs's netdev).
        let pcap = dir.join("guest.pcap");
        let mut command = crate::qemu::qemu_command(&options, image);
        command.arg("-object").arg(format!(
            "filter-dump,id=guest-dump,netdev=net0,maxlen={},file={}",
            super::pcap::SNAP_LEN,
            pcap.display()
        ));
        let mut child = dies_with_this_thread(&mut command)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start qemu-system-x86_64: {e}"))?;
        let log = Arc::new(Mutex::new(Vec::new()));
        collect_output(&mut child, &log);
        const PORT_TAKEN: &str = "Could not set up host forwarding rule";
        let line = wait_line(&log, &mut child, Duration::from_secs(300), |l| {
            l.contains("pinata: ready") || l.contains(PORT_TAKEN)
        });
        match line {
            Ok(line) if line.contains(PORT_TAKEN) => {
                let _ = child.kill();
                let _ = child.wait();
                continue;
            }
            Ok(_) => {
                return Ok(Target {
                    kind: TargetKind::Vm,
                    child,
                    log,
                    ports,
                    cb_port,
                    visitor_port,
                    pcap: Some(pcap),
                    image: Some(image.to_path_buf()),
                    dir,
                });
            }
            Err(e) if e.contains(PORT_TAKEN) => continue,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        }
    }
    Err("QEMU could not bind its forwarded ports in 5 attempts".into())
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
    let mut child = Command::new("tail")
        .args(["-n", "+1", "-F"])
        .arg(console)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot follow {} with tail: {e}", console.display()))?;
    let log = Arc::new(Mutex::new(Vec::new()));
    collect_output(&mut child, &log);
    // The page answering is the readiness signal.
    let deadline = Instant::now() + Duration::from_secs(60);
    while let Err(e) = probe::probe_page(TargetKind::External, 80) {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("the external target's page does not answer: {e}"));
        }
        thread::sleep(Duration::from_millis(500));
    }
    Ok(Target {
        kind: TargetKind::External,
        child,
        log,
        ports: [80, 443, 10000, 10001, 10002],
        cb_port: 40001,
        visitor_port: 80,
        pcap,
        image: None,
        dir,
    })
}
