//! The 8254 programmable interval timer, channel 2, as a free-running
//! counter for calibrating the TSC and the LAPIC timer where nothing
//! states their rates.
//!
//! Channel 2 (gated by port 0x61 bit 0, no interrupt) is loaded in mode 0
//! with a count of 65,536: it counts down at 1.193182 MHz, wraps, and
//! raises OUT2 (port 0x61 bit 5) once 65,536 ticks (54.9 ms) have passed.
//! The count is read with the latch command, so a reading is one instant,
//! not the end of a busy-wait: a vCPU descheduled while it waits does not
//! stretch the measurement (`tsc.rs` brackets each reading with the TSC).

use super::cpu::{inb, outb};

/// The PIT's input clock.
pub const PIT_HZ: u64 = 1_193_182;

/// Channel 2, counting. Dropping it restores port 0x61.
pub struct Channel2 {
    saved_port_61: u8,
}

impl Channel2 {
    /// Starts channel 2 counting down from 65,536. `None` if there is no
    /// usable channel 2 (QEMU `microvm` has no port 0x61: it reads all
    /// ones, so OUT2 looks high before the count has even started).
    pub fn start() -> Option<Channel2> {
        // SAFETY: ports 0x61 (NMI status/speaker control), 0x42/0x43 (PIT
        // channel 2 and mode register): gate on, speaker output off;
        // `Drop` restores port 0x61.
        unsafe {
            let saved_port_61 = inb(0x61);
            outb(0x61, (saved_port_61 & !0x02) | 0x01);
            // Channel 2, low then high byte, mode 0, binary.
            outb(0x43, 0b1011_0000);
            outb(0x42, 0);
            outb(0x42, 0);
            let channel = Channel2 { saved_port_61 };
            // Mode 0 drives OUT2 low as soon as it is programmed.
            (!channel.wrapped()).then_some(channel)
        }
    }

    /// The current count (65,535 … 0, then again from 65,535).
    pub fn count(&self) -> u16 {
        // SAFETY: the latch command for channel 2, then its two bytes.
        unsafe {
            outb(0x43, 0b1000_0000);
            let low = inb(0x42);
            let high = inb(0x42);
            u16::from_le_bytes([low, high])
        }
    }

    /// Whether 65,536 ticks have passed since [`Self::start`] (OUT2 high):
    /// counts read after that are ambiguous.
    pub fn wrapped(&self) -> bool {
        // SAFETY: reading port 0x61's status bits has no side effect.
        unsafe { inb(0x61) & 0x20 != 0 }
    }
}

impl Drop for Channel2 {
    fn drop(&mut self) {
        // SAFETY: puts back the gate and speaker bits found at start.
        unsafe { outb(0x61, self.saved_port_61) };
    }
}
