//! `cargo xtask run`: boot the unikernel image in QEMU.
//!
//! User-mode networking with `hostfwd` puts the guest's standard ports on
//! the same loopback ports the hosted runner uses (8080→80, 8443→443,
//! 10000–10002), and the guest reaches the host's 127.0.0.1 through the
//! user-network gateway 10.0.2.2, which is where connect-back lands. KVM is
//! used when `/dev/kvm` can be opened, TCG with `-cpu max` otherwise. A
//! virtio-rng device is always attached (the KVM CPU model here has no
//! RDRAND) unless `--no-rng` asks for a guest without an entropy source.
//!
//! `--machine microvm` is the Firecracker path without Firecracker: QEMU's
//! `microvm` under KVM with no RTC, no PIT, no ACPI and no PCI
//! (`-M microvm,rtc=off,pit=off,acpi=off`), `virtio-net-device` and
//! `virtio-rng-device` on virtio-mmio (QEMU names them on the kernel
//! command line, as Firecracker does), and an i8042 whose reset line is
//! the guest's only way to stop (Firecracker's too). The guest's clocks
//! are then kvmclock alone, so it needs KVM. SeaBIOS's microvm build is
//! the firmware when installed: QEMU's default, qboot, drops the PVH boot
//! module (the prize).
//!
//! The process replaces itself with QEMU (`exec`), so whoever started
//! `cargo xtask run` — a terminal, or a test — owns the VM directly: Ctrl-A X
//! (or killing the process) stops it.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

/// Guest ports, in the order of the host-port flags.
const GUEST_PORTS: [u16; 5] = [80, 443, 10000, 10001, 10002];

/// Settings of one boot.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub secret_file: Option<PathBuf>,
    pub accel: Option<String>,
    pub memory_mib: u32,
    pub host_ports: [u16; 5],
    /// More `hostfwd` rules, (host port, guest port): e.g. a second way to
    /// the page, since each forwarding listener has a backlog of one.
    pub extra_forwards: Vec<(u16, u16)>,
    pub append: Vec<String>,
    pub rng: bool,
    pub cpu: Option<String>,
    pub machine: String,
    pub image: Option<PathBuf>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            secret_file: None,
            accel: None,
            memory_mib: 128,
            host_ports: [8080, 8443, 10000, 10001, 10002],
            extra_forwards: Vec::new(),
            append: Vec::new(),
            rng: true,
            cpu: None,
            machine: "q35".into(),
            image: None,
        }
    }
}

pub const USAGE: &str = "\
usage: cargo xtask run [flags]

  --secret-file F      the prize WIF, passed as the boot module (-initrd)
  --accel kvm|tcg      default: kvm when /dev/kvm is usable, else tcg (-cpu max)
  --memory MiB         guest RAM (default 128)
  --ports A,B,C,D,E    host ports for guest 80,443,10000,10001,10002
                       (default 8080,8443,10000,10001,10002)
  --append TEXT        extra kernel command line (e.g. \"network=regtest ip=10.0.2.15/24 gw=10.0.2.2\")
  --machine M          q35 (default), pc, or microvm (Firecracker's machine model
                       under KVM: no RTC/PIT/ACPI/PCI, virtio-mmio, kvmclock)
  --cpu MODEL          QEMU CPU model (default: the accelerator's default; max under tcg)
  --no-rng             no virtio-rng device (the guest must then find RDRAND/RDSEED)
  --image PATH         boot this ELF instead of building the image";

/// KVM is used when `/dev/kvm` opens and the CPU advertises hardware
/// virtualisation (vmx/svm). Some sandboxes offer a `/dev/kvm` without it
/// that runs guests ~150× slower than TCG (measured: docs/DECISIONS.md), so
/// the device alone is not enough.
pub fn kvm_usable() -> bool {
    let device = kvm_device();
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let hardware = cpuinfo
        .lines()
        .filter(|l| l.starts_with("flags"))
        .any(|l| l.split_whitespace().any(|f| f == "vmx" || f == "svm"));
    device && hardware
}

pub fn parse(args: impl Iterator<Item = String>) -> Result<RunOptions, String> {
    let mut options = RunOptions::default();
    let mut args = args.peekable();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--secret-file" => options.secret_file = Some(PathBuf::from(value()?)),
            "--accel" => {
                let accel = value()?;
                if accel != "kvm" && accel != "tcg" {
                    return Err(format!("--accel: `{accel}` is not kvm or tcg"));
                }
                options.accel = Some(accel);
            }
            "--memory" => {
                let text = value()?;
                options.memory_mib = text
                    .parse()
                    .map_err(|_| format!("--memory: `{text}` is not a number of MiB"))?;
            }
            "--ports" => {
                let text = value()?;
                let ports: Vec<u16> = text
                    .split(',')
                    .map(|p| p.trim().parse::<u16>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| format!("--ports: `{text}` is not five comma-separated ports"))?;
                options.host_ports = ports
                    .try_into()
                    .map_err(|_| format!("--ports: `{text}` is not five comma-separated ports"))?;
            }
            "--append" => options.append.push(value()?),
            "--machine" => options.machine = value()?,
            "--cpu" => options.cpu = Some(value()?),
            "--no-rng" => options.rng = false,
            "--image" => options.image = Some(PathBuf::from(value()?)),
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    Ok(options)
}

/// Whether `/dev/kvm` opens (whatever the CPU flags say).
fn kvm_device() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok()
}

/// The `microvm` machine as Firecracker's model: no RTC, PIT or ACPI
/// (QEMU then lists the virtio-mmio devices on the kernel command line).
const MICROVM: &str = "microvm,rtc=off,pit=off,acpi=off";
/// SeaBIOS built for `microvm` (Debian's `seabios` package): it passes the
/// PVH boot module, which QEMU's default qboot drops.
const MICROVM_BIOS: &str = "/usr/share/seabios/bios-microvm.bin";

fn is_microvm(options: &RunOptions) -> bool {
    options.machine == "microvm"
}

/// Refuses settings that cannot boot a working guest.
pub fn check(options: &RunOptions) -> Result<(), String> {
    if !is_microvm(options) {
        return Ok(());
    }
    if options.accel.as_deref() == Some("tcg") {
        return Err(
            "--machine microvm has no RTC: its wall clock is kvmclock, which needs \
             --accel kvm (use q35 or pc under TCG)"
                .into(),
        );
    }
    if options.accel.is_none() && !kvm_device() {
        return Err(
            "--machine microvm needs KVM (its wall clock is kvmclock) and /dev/kvm does not open"
                .into(),
        );
    }
    Ok(())
}

/// The QEMU command line for `options` booting `image`.
pub fn qemu_command(options: &RunOptions, image: &std::path::Path) -> Command {
    let microvm = is_microvm(options);
    let accel = options.accel.clone().unwrap_or_else(|| {
        // microvm: KVM whatever its speed (kvmclock is the only clock).
        if kvm_usable() || (microvm && kvm_device()) {
            "kvm".into()
        } else {
            "tcg".into()
        }
    });
    let mut cmd = Command::new("qemu-system-x86_64");
    let machine = if microvm { MICROVM } else { &options.machine };
    cmd.args(["-machine", machine, "-accel", &accel]);
    if microvm && std::path::Path::new(MICROVM_BIOS).is_file() {
        cmd.args(["-bios", MICROVM_BIOS]);
    }
    match (&options.cpu, accel.as_str()) {
        (Some(cpu), _) => {
            cmd.args(["-cpu", cpu]);
        }
        // TCG's default model lacks RDRAND and much else; `max` has them.
        (None, "tcg") => {
            cmd.args(["-cpu", "max"]);
        }
        _ => {}
    }
    cmd.args(["-m", &options.memory_mib.to_string()]);
    cmd.args(["-display", "none", "-serial", "mon:stdio", "-no-reboot"]);
    let mut netdev = OsString::from("user,id=net0");
    let forwards = options.host_ports.iter().copied().zip(GUEST_PORTS);
    for (host, guest) in forwards.chain(options.extra_forwards.iter().copied()) {
        netdev.push(format!(",hostfwd=tcp:127.0.0.1:{host}-:{guest}"));
    }
    cmd.arg("-netdev").arg(netdev);
    let (net, rng) = if microvm {
        ("virtio-net-device,netdev=net0", "virtio-rng-device")
    } else {
        ("virtio-net-pci,netdev=net0", "virtio-rng-pci")
    };
    cmd.args(["-device", net]);
    if options.rng {
        cmd.args(["-device", rng]);
    }
    if microvm {
        // Firecracker's only power control; `-no-reboot` makes QEMU exit.
        cmd.args(["-device", "i8042"]);
    }
    cmd.arg("-kernel").arg(image);
    if let Some(secret) = &options.secret_file {
        cmd.arg("-initrd").arg(secret);
    }
    if !options.append.is_empty() {
        cmd.arg("-append").arg(options.append.join(" "));
    }
    cmd
}

/// The command line for the log, with any `secret=` value hidden: the
/// console must never show the prize.
fn redacted(cmd: &Command) -> String {
    let mut text = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        let arg = arg.to_string_lossy();
        let arg: Vec<String> = arg
            .split(' ')
            .map(|word| match word.split_once('=') {
                Some(("secret", _)) => "secret=<redacted>".to_string(),
                _ => word.to_string(),
            })
            .collect();
        text.push(' ');
        text.push_str(&arg.join(" "));
    }
    text
}

/// Builds the image (unless given) and replaces this process with QEMU.
pub fn run(options: RunOptions, root: &std::path::Path) -> Result<(), String> {
    let image = match &options.image {
        Some(image) => image.clone(),
        None => crate::image::build_image(root)?,
    };
    if let Some(secret) = &options.secret_file
        && !secret.is_file()
    {
        return Err(format!("--secret-file {}: no such file", secret.display()));
    }
    check(&options)?;
    let mut cmd = qemu_command(&options, &image);
    eprintln!("xtask: {}", redacted(&cmd));
    let error = cmd.exec();
    Err(format!(
        "cannot start qemu-system-x86_64: {error} (apt-get install qemu-system-x86)"
    ))
}
