//! The CMOS real-time clock (ports 0x70/0x71): wall-clock time at boot.

use crate::arch::x86_64::cpu::{inb, outb};
use crate::datetime::{self, RtcRegisters};

fn register(index: u8) -> u8 {
    // SAFETY: CMOS index/data ports; only the clock registers are read, and
    // bit 7 of the index (NMI mask) is left clear.
    unsafe {
        outb(0x70, index & 0x7F);
        inb(0x71)
    }
}

/// Whether an RTC answers: with none, every register reads all ones
/// (QEMU `microvm,rtc=off`, Firecracker), and the waits below would spin
/// for seconds on an update that never ends.
pub fn present() -> bool {
    [0x0A, 0x0B, 0x0D]
        .iter()
        .any(|&index| register(index) != 0xFF)
}

fn update_in_progress() -> bool {
    register(0x0A) & 0x80 != 0
}

fn snapshot() -> RtcRegisters {
    RtcRegisters {
        seconds: register(0x00),
        minutes: register(0x02),
        hours: register(0x04),
        day: register(0x07),
        month: register(0x08),
        year: register(0x09),
        status_b: register(0x0B),
    }
}

/// Runs `start` at one tick of the RTC's seconds and `end` at the next:
/// a one-second window for calibrating the TSC where there is no PIT.
/// Returns false if the seconds never change (no RTC).
pub fn measure_second(mut start: impl FnMut(), mut end: impl FnMut()) -> bool {
    if !present() {
        return false;
    }
    let edge = || {
        let first = register(0x00);
        // Bounded: about two seconds of port reads even on fast machines.
        for _ in 0..50_000_000u32 {
            if !update_in_progress() && register(0x00) != first {
                return true;
            }
        }
        false
    };
    if !edge() {
        return false;
    }
    start();
    if !edge() {
        return false;
    }
    end();
    true
}

/// Reads the RTC: seconds since the Unix epoch, `None` if there is no RTC
/// or it holds no valid date.
///
/// The registers change during the once-a-second update: wait for the
/// update-in-progress flag to clear, then read until two reads agree.
pub fn read_unix_seconds() -> Option<u64> {
    if !present() {
        return None;
    }
    for _ in 0..8 {
        let mut waited = 0u32;
        while update_in_progress() {
            waited += 1;
            // An update takes < 2 ms; a flag stuck high means no usable RTC.
            if waited > 1_000_000 {
                return None;
            }
        }
        let first = snapshot();
        let second = snapshot();
        if first == second && !update_in_progress() {
            return datetime::decode(&first);
        }
    }
    None
}
