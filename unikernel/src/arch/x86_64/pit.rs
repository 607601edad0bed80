//! The 8254 programmable interval timer, used once: channel 2 (the speaker
//! gate, readable through port 0x61 without interrupts) measures a fixed
//! interval against which the TSC and the LAPIC timer are calibrated.

use super::cpu::{inb, outb};

/// The PIT's input clock.
pub const PIT_HZ: u64 = 1_193_182;

/// Runs `before`, waits `ms` milliseconds on PIT channel 2 (at most 50), runs
/// `after`. Returns false if there is no usable PIT channel 2 (QEMU's
/// microvm has no port 0x61: it reads all ones, so OUT2 looks high before
/// the count has even started).
pub fn measure(ms: u64, mut before: impl FnMut(), mut after: impl FnMut()) -> bool {
    let count = (PIT_HZ * ms.min(50) / 1000) as u16;
    // SAFETY: ports 0x61 (NMI status/speaker control), 0x42/0x43 (PIT
    // channel 2 and mode register): the classic calibration sequence, with
    // the speaker output kept off and port 0x61 restored afterwards.
    unsafe {
        let saved = inb(0x61);
        outb(0x61, (saved & !0x02) | 0x01);
        // Channel 2, low then high byte, mode 0 (interrupt on terminal count).
        outb(0x43, 0b1011_0000);
        outb(0x42, count as u8);
        outb(0x42, (count >> 8) as u8);
        // Mode 0 drives OUT2 low as soon as it is programmed.
        if inb(0x61) & 0x20 != 0 {
            outb(0x61, saved);
            return false;
        }
        // Restart the count right after `before` (a new count restarts
        // mode 0), so the window begins at a known point.
        outb(0x42, count as u8);
        before();
        outb(0x42, (count >> 8) as u8);
        // OUT2 (bit 5) goes high when the count reaches zero. Bound the loop:
        // each port read is a VM exit of a microsecond or more, so this is
        // seconds at worst, never forever.
        let mut ok = false;
        for _ in 0..20_000_000u32 {
            if inb(0x61) & 0x20 != 0 {
                ok = true;
                break;
            }
        }
        after();
        outb(0x61, saved);
        ok
    }
}
