//! The local APIC (xAPIC, memory-mapped): its timer in one-shot mode wakes
//! the CPU from `hlt` at a deadline.

use core::sync::atomic::{AtomicU64, Ordering};

use super::cpu::{enable_interrupts_and_halt, rdmsr, wrmsr};
use super::idt::{SPURIOUS_VECTOR, TIMER_VECTOR};

const IA32_APIC_BASE: u32 = 0x1B;
const APIC_GLOBAL_ENABLE: u64 = 1 << 11;
const X2APIC_ENABLE: u64 = 1 << 10;

const REG_TPR: usize = 0x80;
const REG_SVR: usize = 0xF0;
const REG_LVT_TIMER: usize = 0x320;
const REG_INITIAL_COUNT: usize = 0x380;
const REG_CURRENT_COUNT: usize = 0x390;
const REG_DIVIDE: usize = 0x3E0;
const LVT_MASKED: u32 = 1 << 16;

/// The timer's divider (divide configuration 0b0011 = by 16): with the
/// usual 1 GHz bus the 32-bit count still spans a minute.
pub const DIVIDER: u64 = 16;

static BASE: AtomicU64 = AtomicU64::new(0);
/// LAPIC timer ticks per second, once calibrated.
static TIMER_HZ: AtomicU64 = AtomicU64::new(0);

fn write(reg: usize, value: u32) {
    let base = BASE.load(Ordering::Relaxed);
    // SAFETY: `base` is the identity-mapped, uncached LAPIC page set by
    // `init`; `reg` is one of the architectural register offsets.
    unsafe { ((base as usize + reg) as *mut u32).write_volatile(value) };
}

fn read(reg: usize) -> u32 {
    let base = BASE.load(Ordering::Relaxed);
    // SAFETY: as for `write`.
    unsafe { ((base as usize + reg) as *const u32).read_volatile() }
}

/// Enables the LAPIC in xAPIC mode; returns its physical base.
pub fn init() -> u64 {
    // SAFETY: IA32_APIC_BASE exists on every x86_64 CPU. Setting the global
    // enable bit (already set by firmware on QEMU) keeps the base address;
    // x2APIC is left off because the MMIO interface is used.
    let msr = unsafe { rdmsr(IA32_APIC_BASE) };
    let mut value = msr | APIC_GLOBAL_ENABLE;
    if msr & X2APIC_ENABLE != 0 {
        // Leaving x2APIC needs a full disable first (SDM 10.12.5).
        // SAFETY: as above; disable, then re-enable in xAPIC mode.
        unsafe { wrmsr(IA32_APIC_BASE, msr & !(APIC_GLOBAL_ENABLE | X2APIC_ENABLE)) };
        value &= !X2APIC_ENABLE;
    }
    if value != msr {
        // SAFETY: as above.
        unsafe { wrmsr(IA32_APIC_BASE, value) };
    }
    let base = value & 0x000F_FFFF_FFFF_F000;
    super::paging::map_mmio(base, 4096);
    BASE.store(base, Ordering::Relaxed);
    write(REG_TPR, 0);
    write(REG_SVR, 0x100 | u32::from(SPURIOUS_VECTOR));
    write(REG_DIVIDE, 0b0011);
    write(REG_LVT_TIMER, LVT_MASKED | u32::from(TIMER_VECTOR));
    base
}

/// Starts the timer counting down from the maximum, masked (calibration).
pub fn start_free_running() {
    write(REG_LVT_TIMER, LVT_MASKED | u32::from(TIMER_VECTOR));
    write(REG_INITIAL_COUNT, u32::MAX);
}

/// The timer's current count.
pub fn current_count() -> u32 {
    read(REG_CURRENT_COUNT)
}

/// Stops the timer.
pub fn stop() {
    write(REG_INITIAL_COUNT, 0);
}

/// Records the calibrated timer frequency (ticks per second).
pub fn set_timer_hz(hz: u64) {
    TIMER_HZ.store(hz, Ordering::Relaxed);
}

/// Halts for at most `micros` microseconds, or until another interrupt.
/// Returns false (without waiting) if the timer is not calibrated.
pub fn sleep_at_most(micros: u64) -> bool {
    let hz = TIMER_HZ.load(Ordering::Relaxed);
    if hz == 0 {
        return false;
    }
    let ticks = (u128::from(micros) * u128::from(hz) / 1_000_000).clamp(1, u128::from(u32::MAX));
    write(REG_LVT_TIMER, u32::from(TIMER_VECTOR));
    write(REG_INITIAL_COUNT, ticks as u32);
    enable_interrupts_and_halt();
    write(REG_INITIAL_COUNT, 0);
    write(REG_LVT_TIMER, LVT_MASKED | u32::from(TIMER_VECTOR));
    true
}
