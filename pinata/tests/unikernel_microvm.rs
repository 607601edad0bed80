//! The Firecracker path without Firecracker: the image on QEMU's `microvm`
//! under KVM (`cargo xtask run --machine microvm`), a machine with no RTC,
//! no PIT, no ACPI and no PCI — kvmclock for both clocks, virtio-mmio
//! devices named on the command line, the keyboard controller's reset line
//! as the only way to stop. The same black-box checks as on q35
//! (tests/unikernel_qemu.rs): the page, a client without a certificate
//! refused, the socat short-circuit.
//!
//! Runs when `/dev/kvm` opens, and says so when it does not. KVM on some
//! development machines is far slower than TCG (docs/DECISIONS.md: about
//! 50 s to the first page, 16 s for the short-circuit's handshakes), so
//! every wait here is minutes: these waits bound a hang, they measure
//! nothing. The figures are printed.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// P2WPKH (regtest) of the test vector "private key 1".
const REGTEST_ADDRESS_KEY1: &str = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";

/// How long one step may take under a slow KVM before the test fails.
const KVM_WAIT: Duration = Duration::from_secs(300);

fn kvm_opens() -> bool {
    let opens = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok();
    if !opens {
        eprintln!("skipped: /dev/kvm does not open (the microvm path needs KVM)");
    }
    opens
}

#[test]
fn serves_the_page_refuses_strangers_and_short_circuits_on_microvm() {
    if !kvm_opens() {
        return;
    }
    let started = Instant::now();
    let unix_now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let unix_at_start = unix_now();
    let p = Pinata::boot_vm(
        VmSecret::Module(TEST_WIF_KEY1),
        &["--machine", "microvm"],
        // A handshake can outlast the default 10 s here (16 s measured):
        // the timeouts are not what this test is about.
        &[
            "handshake_timeout=240",
            "request_timeout=240",
            "idle_timeout=240",
        ],
    );
    let ready = started.elapsed();
    let console = p.proc.out.lines().join("\n");
    // What this machine offers, as the guest found it.
    for step in [
        "from KVM pvclock (kvmclock)",
        "clock: kvmclock says",
        "pci: no PCI host bridge",
        "virtio-net",
        "virtio-rng",
        "config: boot module of",
        "power: off through the keyboard controller's reset line",
        "ms from PVH entry to listening",
    ] {
        assert!(
            console.contains(step),
            "no `{step}` in the boot log:\n{console}"
        );
    }

    // kvmclock's wall clock is the host's: read between QEMU's start and now.
    let said: u64 = console
        .split("clock: kvmclock says ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no kvmclock date in:\n{console}"));
    assert!(
        (unix_at_start.saturating_sub(2)..=unix_now() + 2).contains(&said),
        "kvmclock says {said}, the host's clock ran from {unix_at_start} to now"
    );

    let (status, page) = p.get("/");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(REGTEST_ADDRESS_KEY1), "{page}");
    let first_page = started.elapsed();

    // No certificate: no secret, and the refusal is counted.
    let out = s_client(&p.addr("server"), &[]);
    assert!(!out.contains(&p.wif), "{out}");
    let line = p
        .proc
        .out
        .wait_for("the refusal", KVM_WAIT, |l| {
            l.starts_with("pinata: service=server ") && l.contains("outcome=")
        })
        .unwrap();
    assert!(line.contains("reason=no_certificate"), "{line}");
    let refused = started.elapsed();

    // The short-circuit: the piñata's client and server handshake with
    // each other through socat (its own process: `run` would stop it after
    // 30 s, shorter than these handshakes can take under a slow KVM).
    let _socat = Process::spawn(Command::new("socat").args([
        format!("TCP:{}", p.addr("server")),
        format!("TCP:{}", p.addr("client")),
    ]))
    .unwrap();
    for service in ["server", "client"] {
        let prefix = format!("pinata: service={service} ");
        let line = p
            .proc
            .out
            .wait_for(&format!("{service}'s outcome"), KVM_WAIT, |l| {
                l.starts_with(&prefix) && l.contains("outcome=") && !l.contains("no_certificate")
            })
            .unwrap();
        assert!(line.contains("outcome=secret_sent tls=1.3"), "{line}");
    }
    assert_eq!(p.counter("server", "secrets_sent"), 1);
    assert_eq!(p.counter("client", "secrets_sent"), 1);
    let console = p.proc.out.lines().join("\n");
    assert!(!console.contains(&p.wif), "the console shows the secret");
    eprintln!(
        "microvm under KVM: ready {:.1} s, first page {:.1} s, refusal {:.1} s, \
         short-circuit {:.1} s after QEMU start",
        ready.as_secs_f64(),
        first_page.as_secs_f64(),
        refused.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn a_fatal_error_stops_the_microvm_through_the_keyboard_controller() {
    if !kvm_opens() {
        return;
    }
    // 4 MiB of RAM leaves less than the 2 MiB of heap the appliance needs
    // to start: it says so and powers off. microvm has no ACPI and no
    // QEMU power ports, so QEMU ends (`-no-reboot`) only if the reset line
    // worked.
    let (p, line) = Pinata::boot_vm_until(
        VmSecret::None,
        &["--machine", "microvm", "--memory", "4"],
        &[],
        "power off",
    );
    assert!(line.contains("power off"), "{line}");
    let mut proc = p.proc;
    let all = proc.out.wait_closed(WAIT).unwrap().join("\n");
    assert!(all.contains("less than 2 MiB of heap"), "{all}");
    let status = proc.child.wait().expect("QEMU's exit status");
    assert!(status.success(), "QEMU: {status}\n{all}");
}
