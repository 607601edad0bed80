//! The i8042 keyboard controller, for one command only: `0xFE`, "pulse
//! the reset line". A PC wires that line to the CPU's reset; Firecracker,
//! which emulates nothing else of the controller and has no ACPI
//! power-off, stops the VM on it; QEMU resets the machine (or, with
//! `-no-reboot`, exits).
//!
//! The command is written only to a controller that is there and ready:
//! the status port (0x64) reads all ones when nothing answers (QEMU
//! `microvm` without `-device i8042`, a Xen PVH guest), and its bit 1
//! (input buffer full) must be clear before the controller takes a
//! command.

use crate::arch::x86_64::cpu::{inb, outb};

const STATUS: u16 = 0x64;
const COMMAND: u16 = 0x64;
const STATUS_INPUT_FULL: u8 = 1 << 1;
const PULSE_RESET: u8 = 0xFE;

fn status() -> u8 {
    // SAFETY: reading the i8042 status register has no side effect; an
    // absent controller reads as all ones.
    unsafe { inb(STATUS) }
}

/// Whether a controller answers at port 0x64.
pub fn present() -> bool {
    status() != 0xFF
}

/// Pulses the reset line. Returns only if there is no controller, it
/// never became ready, or the VMM ignored the command.
pub fn pulse_reset() {
    if !present() {
        return;
    }
    // Bounded: each read is a VM exit, so this is milliseconds, not forever.
    let ready = (0..100_000).any(|_| status() & STATUS_INPUT_FULL == 0);
    if !ready {
        return;
    }
    // SAFETY: the controller's command port; 0xFE resets the machine (or
    // stops the VM), which is what the caller asks for.
    unsafe { outb(COMMAND, PULSE_RESET) };
}
