//! Power off and reset.
//!
//! Power off, in order: the ACPI PM1a control register found in the FADT
//! (written with SLP_TYP for S5 from the DSDT's `\_S5` and SLP_EN), or the
//! FADT's sleep control register on hardware-reduced ACPI (microvm,
//! cloud-hypervisor); then QEMU's usual PM1a port 0x604 (PIIX4 and ICH9 as
//! SeaBIOS sets them up) and QEMU's `isa-debug-exit` (port 0x501) if
//! present; then, where ACPI is absent, the keyboard controller's reset
//! line (`drivers::i8042`: Firecracker stops the VM on it, QEMU with
//! `-no-reboot` exits). If all of that fails, halt with interrupts off —
//! the console already says why. A machine whose ACPI S5 did not work is
//! not reset instead: a fatal error must not become a boot loop.
//!
//! Under Xen (PVH: no emulated hardware at all) both are one hypercall,
//! `SCHEDOP_shutdown`, tried first; it does nothing elsewhere.
//!
//! Reset: the PCI reset control register (0xCF9), the keyboard
//! controller's reset line, then a triple fault (empty IDT, `int3`).

use core::arch::asm;

use super::cpu::{halt_forever, outb, outw};
use crate::drivers::xen::hypercall::ShutdownReason;
use crate::drivers::{acpi, i8042};

/// How [`poweroff`] will turn this machine off, for the boot log.
pub fn poweroff_method() -> &'static str {
    if crate::drivers::xen::guest::active() {
        "Xen SCHEDOP_shutdown"
    } else if acpi::s5_sleep().is_some() {
        "ACPI S5"
    } else if i8042::present() {
        "the keyboard controller's reset line (no ACPI; Firecracker stops the VM on it)"
    } else {
        "none found (no ACPI, no keyboard controller): QEMU's ports are tried, then the CPU halts"
    }
}

/// Turns the machine off.
pub fn poweroff() -> ! {
    // A Xen PVH guest has none of the hardware below: ask Xen.
    crate::drivers::xen::guest::shutdown(ShutdownReason::Poweroff);
    let s5 = acpi::s5_sleep();
    if let Some(sleep) = s5 {
        sleep.enter();
    }
    // SAFETY: writes to power-management and debug ports of the emulated
    // chipset. Each either turns the VM off or is ignored by absent devices.
    unsafe {
        // PM1a_CNT on QEMU pc/q35 (PM base 0x600): SLP_TYP=0 (S5) | SLP_EN.
        outw(0x604, 0x2000);
        // isa-debug-exit (iobase 0x501): QEMU exits with status (v << 1) | 1.
        outb(0x501, 0x31);
    }
    if s5.is_none() {
        i8042::pulse_reset();
    }
    halt_forever()
}

/// Resets the machine.
pub fn reboot() -> ! {
    crate::drivers::xen::guest::shutdown(ShutdownReason::Reboot);
    // SAFETY: the PCI reset control register of the emulated chipset
    // (ignored where absent): system reset, then hard reset.
    unsafe {
        outb(0xCF9, 0x02);
        outb(0xCF9, 0x06);
    }
    i8042::pulse_reset();
    // SAFETY: a deliberate triple fault: with an empty IDT, `int3` cannot
    // be delivered, which resets the CPU.
    unsafe {
        let empty = [0u16; 5];
        asm!("lidt [{0}]", "int3", in(reg) empty.as_ptr(), options(nostack));
    }
    halt_forever()
}
