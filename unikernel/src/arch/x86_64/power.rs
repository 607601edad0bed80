//! Power off and reset.
//!
//! Power off, in order: the ACPI PM1a control register found in the FADT
//! (written with SLP_TYP for S5 from the DSDT's `\_S5` and SLP_EN), or the
//! FADT's sleep control register on hardware-reduced ACPI (microvm,
//! cloud-hypervisor); then QEMU's usual PM1a port 0x604 (PIIX4 and ICH9 as
//! SeaBIOS sets them up), QEMU's `isa-debug-exit` (port 0x501) if present,
//! the keyboard controller reset (Firecracker stops the VM on it); if all of
//! that fails, halt with interrupts off — the console already says why.
//!
//! Under Xen (PVH: no emulated hardware at all) both are one hypercall,
//! `SCHEDOP_shutdown`, tried first; it does nothing elsewhere.
//!
//! Reset: the PCI reset control register (0xCF9), the keyboard controller,
//! then a triple fault (empty IDT, `int3`).

use core::arch::asm;

use super::cpu::{halt_forever, outb, outw};
use crate::drivers::acpi;
use crate::drivers::xen::hypercall::ShutdownReason;

/// Turns the machine off.
pub fn poweroff() -> ! {
    // A Xen PVH guest has none of the hardware below: ask Xen.
    crate::drivers::xen::guest::shutdown(ShutdownReason::Poweroff);
    if let Some(sleep) = acpi::s5_sleep() {
        sleep.enter();
    }
    // SAFETY: writes to power-management and debug ports of the emulated
    // chipset. Each either turns the VM off or is ignored by absent devices.
    unsafe {
        // PM1a_CNT on QEMU pc/q35 (PM base 0x600): SLP_TYP=0 (S5) | SLP_EN.
        outw(0x604, 0x2000);
        // isa-debug-exit (iobase 0x501): QEMU exits with status (v << 1) | 1.
        outb(0x501, 0x31);
        // 8042 pulse reset line: Firecracker treats it as a shutdown.
        outb(0x64, 0xFE);
    }
    halt_forever()
}

/// Resets the machine.
pub fn reboot() -> ! {
    crate::drivers::xen::guest::shutdown(ShutdownReason::Reboot);
    // SAFETY: reset-control ports of the emulated chipset; afterwards a
    // deliberate triple fault: an empty IDT makes `int3` unrecoverable.
    unsafe {
        outb(0xCF9, 0x02);
        outb(0xCF9, 0x06);
        outb(0x64, 0xFE);
        let empty = [0u16; 5];
        asm!("lidt [{0}]", "int3", in(reg) empty.as_ptr(), options(nostack));
    }
    halt_forever()
}
