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
//! `--net tap` puts the guest on a real (virtual) Ethernet instead, as
//! root: a network namespace of the process's own with a bridge, a tap
//! device for the guest and hundreds of source addresses (`netns.rs`). The
//! guest gets the static address 198.18.0.2/24 with the bridge, 198.18.0.1,
//! as its gateway (`ip=`/`gw=` on its command line), and every visitor
//! shows up with its own address. Nothing is configured outside the
//! namespace, and it vanishes with QEMU. To reach the guest from another
//! terminal, enter the namespace through QEMU's process (the command is
//! printed at start): `nsenter --net=/proc/PID/ns/net curl http://198.18.0.2/`.
//!
//! The process replaces itself with QEMU (`exec`), so whoever started
//! `cargo xtask run` — a terminal, or a test — owns the VM directly: Ctrl-A X
//! (or killing the process) stops it.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

/// Guest ports, in the order of the host-port flags.
pub const GUEST_PORTS: [u16; 5] = [80, 443, 10000, 10001, 10002];

/// How the guest's NIC reaches anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Net {
    /// QEMU's user networking (slirp) with `hostfwd` rules on 127.0.0.1.
    User,
    /// This tap device, which already exists in the caller's network
    /// namespace (`netns.rs`).
    Tap(String),
}

/// The guest NIC's MAC address on tap device `index`: QEMU's default
/// (52:54:00:12:34:56) plus the index, so VMs on one bridge differ.
pub fn tap_mac(index: u8) -> String {
    format!("52:54:00:12:34:{:02x}", 0x56u8.wrapping_add(index))
}

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
    pub net: Net,
    /// The guest NIC's MAC address; QEMU's default when `None`.
    pub mac: Option<String>,
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
            net: Net::User,
            mac: None,
        }
    }
}

/// `cargo xtask run`'s flags.
#[derive(Debug, clap::Args)]
pub struct Flags {
    /// The prize WIF, passed as the boot module (-initrd)
    #[arg(long, value_name = "F")]
    secret_file: Option<PathBuf>,
    /// The accelerator [default: kvm when /dev/kvm is usable, else tcg (-cpu max)]
    #[arg(long, value_parser = ["kvm", "tcg"])]
    accel: Option<String>,
    /// Guest RAM, MiB
    #[arg(long, value_name = "MiB", default_value = "128")]
    memory: u32,
    /// Host ports for guest 80,443,10000,10001,10002
    #[arg(long, value_name = "A,B,C,D,E", default_value = "8080,8443,10000,10001,10002", value_parser = five_ports)]
    ports: [u16; 5],
    /// Extra kernel command line (e.g. "network=regtest ip=10.0.2.15/24 gw=10.0.2.2"); repeatable
    #[arg(long, value_name = "TEXT")]
    append: Vec<String>,
    /// q35, pc, or microvm (Firecracker's machine model under KVM: no
    /// RTC/PIT/ACPI/PCI, virtio-mmio, kvmclock)
    #[arg(long, value_name = "M", default_value = "q35")]
    machine: String,
    /// QEMU CPU model [default: the accelerator's default; max under tcg]
    #[arg(long, value_name = "MODEL")]
    cpu: Option<String>,
    /// No virtio-rng device (the guest must then find RDRAND/RDSEED)
    #[arg(long)]
    no_rng: bool,
    /// Boot this ELF instead of building the image
    #[arg(long, value_name = "PATH")]
    image: Option<PathBuf>,
    /// user: QEMU's user networking, --ports on 127.0.0.1; tap (root): a
    /// network namespace of its own with a bridge and a tap device, the
    /// guest at 198.18.0.2/24 (gateway 198.18.0.1), 300 source addresses
    /// from 198.18.1.1; reach it with the nsenter command printed at start
    #[arg(long, default_value = "user", value_parser = ["user", "tap"])]
    net: String,
}

/// Five comma-separated ports.
fn five_ports(text: &str) -> Result<[u16; 5], String> {
    let bad = || format!("`{text}` is not five comma-separated ports");
    let ports: Vec<u16> = text
        .split(',')
        .map(|p| p.trim().parse::<u16>())
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    ports.try_into().map_err(|_| bad())
}

impl From<Flags> for RunOptions {
    fn from(f: Flags) -> RunOptions {
        RunOptions {
            secret_file: f.secret_file,
            accel: f.accel,
            memory_mib: f.memory,
            host_ports: f.ports,
            append: f.append,
            rng: !f.no_rng,
            cpu: f.cpu,
            machine: f.machine,
            image: f.image,
            // The device's name is known once the namespace exists.
            net: if f.net == "tap" {
                Net::Tap(String::new())
            } else {
                Net::User
            },
            ..RunOptions::default()
        }
    }
}

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
    let netdev = match &options.net {
        Net::User => {
            let mut netdev = OsString::from("user,id=net0");
            let forwards = options.host_ports.iter().copied().zip(GUEST_PORTS);
            for (host, guest) in forwards.chain(options.extra_forwards.iter().copied()) {
                netdev.push(format!(",hostfwd=tcp:127.0.0.1:{host}-:{guest}"));
            }
            netdev
        }
        // No scripts: the device is already on the bridge. No virtio-net
        // header on the tap (the guest asks for no offloads), so frames
        // are plain Ethernet for QEMU's filters, `filter-dump` included.
        Net::Tap(tap) => OsString::from(format!(
            "tap,id=net0,ifname={tap},script=no,downscript=no,vnet_hdr=off"
        )),
    };
    cmd.arg("-netdev").arg(netdev);
    let (net, rng) = if microvm {
        ("virtio-net-device,netdev=net0", "virtio-rng-device")
    } else {
        ("virtio-net-pci,netdev=net0", "virtio-rng-pci")
    };
    match &options.mac {
        Some(mac) => cmd.args(["-device", &format!("{net},mac={mac}")]),
        None => cmd.args(["-device", net]),
    };
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
pub fn run(mut options: RunOptions, root: &std::path::Path) -> Result<(), String> {
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
    // Kept until `exec`: if QEMU cannot start, dropping it leaves the
    // namespace, and the kernel frees it.
    let _namespace = match options.net {
        Net::User => None,
        Net::Tap(_) => {
            let namespace = crate::netns::TapNet::enter(1)
                .map_err(|e| format!("--net tap: {e} (--net user needs no root)"))?;
            options.net = Net::Tap(crate::netns::tap_name(0));
            // First, so words the caller appends (`ip=` …) win.
            options.append.insert(0, crate::netns::guest_cmdline(0));
            let guest = crate::netns::guest_address(0);
            eprintln!(
                "xtask: --net tap: the guest is {guest} on a bridge in a network namespace of this process's own \
                 (gateway {}, sources {}…{}); it goes away with QEMU. From another terminal:\n\
                 \x20 nsenter --net=/proc/{}/ns/net curl http://{guest}/",
                crate::netns::GATEWAY,
                crate::netns::source(0),
                crate::netns::source(crate::netns::SOURCES - 1),
                std::process::id()
            );
            Some(namespace)
        }
    };
    let mut cmd = qemu_command(&options, &image);
    eprintln!("xtask: {}", redacted(&cmd));
    let error = cmd.exec();
    Err(format!(
        "cannot start qemu-system-x86_64: {error} (apt-get install qemu-system-x86)"
    ))
}
