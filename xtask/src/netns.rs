//! A network of the test's own for the unikernel: a network namespace with a
//! bridge, tap devices for the VMs and hundreds of source addresses.
//!
//! QEMU's user networking (slirp) accepts about 20 connections a second and
//! shows every visitor to the guest as 10.0.2.2, so it cannot show what the
//! appliance does under a flood from many addresses. This module builds a
//! real (virtual) Ethernet for it instead, as root:
//!
//! ```text
//!  this thread's new network namespace (anonymous: nothing in the root one)
//!  ┌──────────────────────────────────────────────────────────────────────┐
//!  │ br0  198.18.0.1/24   the gateway, and the attacker's own address      │
//!  │      198.18.1.1 …    SOURCES more addresses (/32): visitor, flood, …  │
//!  │  ├── pinata-tap0 ── QEMU ── guest 198.18.0.2 (gw 198.18.0.1)          │
//!  │  └── pinata-tap1 ── QEMU ── guest 198.18.0.3 (a second VM, if any)    │
//!  │ lo up                                                                 │
//!  └──────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! - **Addresses.** 198.18.0.0/15 is the range RFC 2544 sets aside for
//!   benchmarking network devices; it is only ever configured here, inside
//!   the namespace, and only the guests are targets. The source addresses
//!   are off the guests' /24, so a guest reaches every one of them through
//!   its gateway: one ARP entry, as an appliance on the Internet sees its
//!   visitors (smoltcp's neighbour cache holds 8 entries; 300 on-link
//!   visitors would thrash it, which is not what is under test).
//!   [`SPOOFED`] (198.19.0.0/16) is where the SYN flood's forged sources
//!   come from: configured nowhere, so the guest's SYN-ACKs die at the
//!   bridge.
//! - **Lifetime.** [`TapNet::enter`] calls `unshare(CLONE_NEWNET)` on the
//!   calling thread: the namespace has no name and no mount, and the kernel
//!   frees it, with its bridge and taps, when the last thread, process and
//!   socket in it are gone — on a normal exit, on Ctrl-C, on a panic or a
//!   `kill -9` alike. Nothing is configured in the root namespace, so there
//!   is nothing to clean up there. Threads and processes started by the
//!   calling thread afterwards (QEMU, `ip`, the battery's workers) inherit
//!   the namespace; dropping the [`TapNet`] takes the calling thread back to
//!   where it was.
//! - **Tuning inside the namespace only**: the ephemeral port range widened
//!   and TIME-WAIT reuse on (a soak opens a million connections from one
//!   address), and a deep SYN backlog for the page probe.
//!
//! `cargo xtask run --net tap` and `cargo xtask attack --target vm --net
//! tap` build on it. Without root (or without `ip`, or `/dev/net/tun`),
//! [`available`] says why and the callers fall back to user networking or
//! refuse.

use std::fs::File;
use std::io::Write;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};

/// The bridge's address: the guests' gateway, and the source of every
/// connection that does not choose one (the attacker of single-address
/// cases).
pub const GATEWAY: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// The guests' prefix length (their /24 holds the bridge and the guests).
pub const PREFIX_LEN: u8 = 24;
/// The first extra source address; [`SOURCES`] follow it one by one.
pub const SOURCES_FIRST: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 1);
/// How many extra source addresses the namespace has: the battery's page
/// probe, the flood's 200, the heap pinning's and the capacity
/// measurement's, and spares.
pub const SOURCES: usize = 300;
/// The SYN flood's forged sources: a /16 configured nowhere.
pub const SPOOFED: (Ipv4Addr, u8) = (Ipv4Addr::new(198, 19, 0, 0), 16);
/// The bridge's name inside the namespace.
const BRIDGE: &str = "br0";

/// The `index`-th guest's address (tap `index`).
pub fn guest_address(index: usize) -> Ipv4Addr {
    let offset = u32::try_from(index + 1).expect("a handful of guests");
    Ipv4Addr::from(u32::from(GATEWAY) + offset)
}

/// The `index`-th extra source address.
pub fn source(index: usize) -> Ipv4Addr {
    assert!(index < SOURCES, "source {index} of {SOURCES}");
    let offset = u32::try_from(index).expect("SOURCES fits in u32");
    Ipv4Addr::from(u32::from(SOURCES_FIRST) + offset)
}

/// The `index`-th tap device's name.
pub fn tap_name(index: usize) -> String {
    format!("pinata-tap{index}")
}

/// The kernel command line words that put guest `index` on the network.
pub fn guest_cmdline(index: usize) -> String {
    format!("ip={}/{PREFIX_LEN} gw={GATEWAY}", guest_address(index))
}

/// Whether this process can build the namespace: root, `ip`, and the tun
/// device. `Err` says what is missing.
pub fn available() -> Result<(), String> {
    // SAFETY: geteuid has no preconditions and touches no memory.
    let euid = unsafe { libc::geteuid() };
    if euid != 0 {
        return Err(format!(
            "a network namespace with tap devices needs root (euid is {euid})"
        ));
    }
    if !std::path::Path::new("/dev/net/tun").exists() {
        return Err("no /dev/net/tun (modprobe tun)".into());
    }
    match Command::new("ip")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(format!("`ip -V` failed ({status})")),
        Err(e) => Err(format!("cannot run `ip` (apt-get install iproute2): {e}")),
    }
}

/// Whether the namespace can really be built here (root is not always
/// enough: a container may forbid `unshare` or tap devices): builds one on
/// a throwaway thread, which takes it away when it ends.
pub fn try_build() -> Result<(), String> {
    std::thread::spawn(|| TapNet::enter(1).map(drop))
        .join()
        .unwrap_or_else(|_| Err("building the namespace panicked".into()))
}

/// The calling thread inside a network namespace of its own (module docs).
/// Dropping it takes the thread back to its previous namespace; the new
/// one lives on while anything (QEMU, a socket) still uses it.
pub struct TapNet {
    /// The namespace the thread was in before, to go back to.
    previous: File,
    taps: usize,
}

impl TapNet {
    /// Moves the calling thread into a new network namespace and builds the
    /// bridge, `taps` tap devices and the [`SOURCES`] addresses in it.
    pub fn enter(taps: usize) -> Result<TapNet, String> {
        available()?;
        let previous = File::open("/proc/thread-self/ns/net")
            .map_err(|e| format!("cannot open this thread's network namespace: {e}"))?;
        // SAFETY: unshare with CLONE_NEWNET only moves the calling thread
        // into a fresh network namespace; no memory is passed.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return Err(format!(
                "unshare(CLONE_NEWNET): {}",
                std::io::Error::last_os_error()
            ));
        }
        let net = TapNet { previous, taps };
        // From here on a failure drops `net`, which leaves the namespace
        // (and the kernel frees it).
        net.configure()?;
        Ok(net)
    }

    fn configure(&self) -> Result<(), String> {
        let mut script = vec![
            "link set lo up".to_string(),
            format!("link add {BRIDGE} type bridge"),
            // Forward at once: no STP listening/learning delay on a new port.
            format!("link set {BRIDGE} type bridge forward_delay 0 stp_state 0"),
        ];
        for index in 0..self.taps {
            let tap = tap_name(index);
            script.push(format!("tuntap add dev {tap} mode tap"));
            script.push(format!("link set {tap} master {BRIDGE}"));
            script.push(format!("link set {tap} up"));
        }
        script.push(format!("addr add {GATEWAY}/{PREFIX_LEN} dev {BRIDGE}"));
        for index in 0..SOURCES {
            script.push(format!("addr add {}/32 dev {BRIDGE}", source(index)));
        }
        script.push(format!("link set {BRIDGE} up"));
        for (key, value) in SYSCTLS {
            std::fs::write(format!("/proc/sys/{key}"), value)
                .map_err(|e| format!("cannot set {key} in the namespace: {e}"))?;
        }
        // No IPv6 on the new devices: its neighbour discovery would be the
        // only frames on the wire nobody asked for. Best effort (a kernel
        // without IPv6 has no such setting).
        let _ = std::fs::write("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
        ip_batch(&script)
    }
}

/// Settings of the new namespace (they exist per namespace; the root
/// namespace's are untouched).
const SYSCTLS: [(&str, &str); 5] = [
    // ARP requests say "tell 198.18.0.1" (the bridge's address on the
    // guest's /24), not the source of the packet that needs the answer:
    // smoltcp ignores a request from outside its network, so a connection
    // from 198.18.1.1 would otherwise find no route to the guest.
    ("net/ipv4/conf/all/arp_announce", "2"),
    // Ephemeral ports for a million connections from one address, and the
    // TIME-WAIT ones reused for new outgoing connections.
    ("net/ipv4/ip_local_port_range", "1024 65535"),
    ("net/ipv4/tcp_tw_reuse", "1"),
    // Room for the flood's connects in flight and the probe's.
    ("net/ipv4/tcp_max_syn_backlog", "16384"),
    ("net/core/somaxconn", "4096"),
];

impl Drop for TapNet {
    fn drop(&mut self) {
        // SAFETY: setns on a namespace descriptor this value owns, for the
        // calling thread only; no memory is passed.
        let back = unsafe { libc::setns(self.previous.as_raw_fd(), libc::CLONE_NEWNET) };
        if back != 0 {
            eprintln!(
                "xtask: cannot return to the previous network namespace: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

/// Runs `ip -batch -` with these commands (one process for hundreds of
/// addresses), inside the calling thread's namespace.
fn ip_batch(commands: &[String]) -> Result<(), String> {
    let mut child = Command::new("ip")
        .args(["-batch", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `ip` (apt-get install iproute2): {e}"))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let text = commands.join("\n") + "\n";
    let written = stdin.write_all(text.as_bytes());
    drop(stdin);
    let output = child
        .wait_with_output()
        .map_err(|e| format!("`ip -batch`: {e}"))?;
    written.map_err(|e| format!("`ip -batch`: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`ip -batch` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_stays_inside_the_benchmarking_range() {
        let bench = |ip: Ipv4Addr| ip.octets()[0] == 198 && ip.octets()[1] & 0xfe == 18;
        assert_eq!(guest_address(0), Ipv4Addr::new(198, 18, 0, 2));
        assert_eq!(guest_address(1), Ipv4Addr::new(198, 18, 0, 3));
        assert_eq!(source(0), SOURCES_FIRST);
        assert_eq!(source(SOURCES - 1), Ipv4Addr::new(198, 18, 2, 44));
        for ip in [
            GATEWAY,
            guest_address(0),
            source(0),
            source(SOURCES - 1),
            SPOOFED.0,
        ] {
            assert!(bench(ip), "{ip} is outside 198.18.0.0/15");
        }
        // Sources are off the guests' /24 (reached through the gateway).
        let on_link = |ip: Ipv4Addr| u32::from(ip) >> 8 == u32::from(GATEWAY) >> 8;
        assert!(on_link(guest_address(0)));
        assert!((0..SOURCES).all(|i| !on_link(source(i))));
        assert_eq!(guest_cmdline(0), "ip=198.18.0.2/24 gw=198.18.0.1");
    }

    fn namespace_inode() -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/thread-self/ns/net")
            .expect("this thread's namespace")
            .ino()
    }

    fn links() -> String {
        let output = Command::new("ip")
            .args(["-br", "link"])
            .output()
            .expect("ip runs");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// As root: the bridge, taps and addresses exist inside, the thread is
    /// back where it was afterwards, and nothing of it is visible there.
    /// (Other test threads are untouched: unshare moves this one only.)
    #[test]
    fn the_namespace_is_built_inside_and_left_behind() {
        if let Err(why) = available() {
            eprintln!("skipped: {why}");
            return;
        }
        let before = namespace_inode();
        let net = TapNet::enter(2).expect("the namespace builds");
        assert_ne!(namespace_inode(), before);
        let inside = links();
        for device in [BRIDGE, &tap_name(0), &tap_name(1)] {
            assert!(inside.contains(device), "{device} missing: {inside}");
        }
        let addresses = Command::new("ip")
            .args(["-4", "-br", "addr", "show", "dev", BRIDGE])
            .output()
            .expect("ip runs");
        let addresses = String::from_utf8_lossy(&addresses.stdout).into_owned();
        assert!(addresses.contains("198.18.0.1/24"), "{addresses}");
        assert!(addresses.contains(&format!("{}/32", source(SOURCES - 1))));
        drop(net);
        assert_eq!(namespace_inode(), before);
        assert!(!links().contains(&tap_name(0)));
    }
}
