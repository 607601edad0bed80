//! The monotonic clock: the TSC, counted from the PVH entry.
//!
//! Frequency, best source first: the hypervisor's timing leaf (0x40000010:
//! KVM with `vmware-cpuid-freq`, VMware, cloud-hypervisor), CPUID 0x15/0x16
//! (recent Intel), else a 20 ms measurement against PIT channel 2 or, on
//! machines without one (QEMU microvm), one second of the CMOS RTC. The same
//! window calibrates the LAPIC timer. Whether the TSC is invariant
//! (CPUID 0x80000007 EDX bit 8) is logged: KVM's default CPU models do not
//! advertise it although KVM keeps the guest TSC at a constant rate.
//! Under Xen the rate comes from the pvclock in shared info instead
//! (`drivers/xen`): a PVH guest has neither PIT nor RTC.

use core::sync::atomic::{AtomicU64, Ordering};

use super::cpu::{cpuid, rdtsc};
use super::{apic, boot, pit};

static TSC_HZ: AtomicU64 = AtomicU64::new(0);

/// What calibration found.
pub struct Calibration {
    /// TSC ticks per second.
    pub tsc_hz: u64,
    /// Where `tsc_hz` came from.
    pub source: &'static str,
    /// The frequency measured against the PIT (or the RTC), if measured.
    pub pit_measured_hz: Option<u64>,
    /// LAPIC timer ticks per second (after its divider), if measured.
    pub apic_timer_hz: Option<u64>,
    /// CPUID says the TSC is invariant.
    pub invariant: bool,
}

fn hypervisor_tsc_khz() -> Option<(u64, u64)> {
    let hypervisor = cpuid(1, 0).2 & (1 << 31) != 0;
    if !hypervisor || cpuid(0x4000_0000, 0).0 < 0x4000_0010 {
        return None;
    }
    let (tsc_khz, bus_khz, _, _) = cpuid(0x4000_0010, 0);
    (tsc_khz != 0).then_some((u64::from(tsc_khz), u64::from(bus_khz)))
}

fn cpuid_15_hz() -> Option<u64> {
    let max = super::cpu::max_leaf();
    if max < 0x15 {
        return None;
    }
    let (denominator, numerator, crystal_hz, _) = cpuid(0x15, 0);
    if denominator == 0 || numerator == 0 {
        return None;
    }
    let crystal = if crystal_hz != 0 {
        u64::from(crystal_hz)
    } else if max >= 0x16 {
        // Base frequency in MHz: the TSC runs at it on these parts.
        return Some(u64::from(cpuid(0x16, 0).0 & 0xFFFF) * 1_000_000).filter(|&hz| hz != 0);
    } else {
        return None;
    };
    Some(crystal * u64::from(numerator) / u64::from(denominator))
}

/// Calibrates the TSC (and the LAPIC timer, which must be initialised).
pub fn calibrate() -> Calibration {
    // Xen PVH: no PIT and no RTC (their ports read all ones, and the RTC
    // wait below would spin for a minute); Xen publishes the TSC rate.
    if let Some(hz) = crate::drivers::xen::guest::tsc_hz() {
        return calibrate_known(hz, "Xen pvclock (shared info)");
    }
    const WINDOW_MS: u64 = 20;
    let (mut tsc0, mut tsc1, mut apic0, mut apic1) = (0u64, 0u64, 0u32, 0u32);
    apic::start_free_running();
    let mut window_ms = WINDOW_MS;
    let mut window = "PIT channel 2, 20 ms";
    let mut measured = pit::measure(
        WINDOW_MS,
        || {
            tsc0 = rdtsc();
            apic0 = apic::current_count();
        },
        || {
            tsc1 = rdtsc();
            apic1 = apic::current_count();
        },
    );
    if !measured {
        apic::start_free_running();
        window_ms = 1000;
        window = "CMOS RTC, 1 s";
        measured = crate::drivers::rtc::measure_second(
            || {
                tsc0 = rdtsc();
                apic0 = apic::current_count();
            },
            || {
                tsc1 = rdtsc();
                apic1 = apic::current_count();
            },
        );
    }
    apic::stop();
    let pit_hz = (measured && tsc1 > tsc0).then(|| (tsc1 - tsc0) * 1000 / window_ms);

    let (tsc_hz, source) = if let Some((khz, _)) = hypervisor_tsc_khz() {
        (khz * 1000, "hypervisor CPUID leaf 0x40000010")
    } else if let Some(hz) = cpuid_15_hz() {
        (hz, "CPUID leaf 0x15/0x16")
    } else if let Some(hz) = pit_hz {
        (hz, window)
    } else {
        // No way to measure: assume 1 GHz so the clock still moves; logged.
        (1_000_000_000, "none (assumed 1 GHz)")
    };
    let apic_timer_hz = if measured && tsc1 > tsc0 {
        let apic_ticks = u64::from(apic0.wrapping_sub(apic1));
        // Scale by the TSC so the two clocks agree with each other.
        Some((u128::from(apic_ticks) * u128::from(tsc_hz) / u128::from(tsc1 - tsc0)) as u64)
    } else {
        hypervisor_tsc_khz()
            .map(|(_, bus_khz)| bus_khz * 1000 / apic::DIVIDER)
            .filter(|&hz| hz != 0)
    };
    let invariant =
        cpuid(0x8000_0000, 0).0 >= 0x8000_0007 && cpuid(0x8000_0007, 0).3 & (1 << 8) != 0;
    TSC_HZ.store(tsc_hz, Ordering::Relaxed);
    Calibration {
        tsc_hz,
        source,
        pit_measured_hz: pit_hz,
        apic_timer_hz,
        invariant,
    }
}

/// With the TSC's rate known: measures only the LAPIC timer, over 10 ms
/// of TSC.
fn calibrate_known(tsc_hz: u64, source: &'static str) -> Calibration {
    apic::start_free_running();
    let (tsc0, apic0) = (rdtsc(), apic::current_count());
    while rdtsc().wrapping_sub(tsc0) < tsc_hz / 100 {
        core::hint::spin_loop();
    }
    let (tsc1, apic1) = (rdtsc(), apic::current_count());
    apic::stop();
    let apic_ticks = u128::from(apic0.wrapping_sub(apic1));
    let apic_hz = (apic_ticks * u128::from(tsc_hz) / u128::from((tsc1 - tsc0).max(1))) as u64;
    TSC_HZ.store(tsc_hz, Ordering::Relaxed);
    Calibration {
        tsc_hz,
        source,
        pit_measured_hz: None,
        apic_timer_hz: (apic_hz != 0).then_some(apic_hz),
        invariant: cpuid(0x8000_0000, 0).0 >= 0x8000_0007
            && cpuid(0x8000_0007, 0).3 & (1 << 8) != 0,
    }
}

/// Microseconds since the PVH entry (0 before calibration).
pub fn micros_since_entry() -> u64 {
    let hz = TSC_HZ.load(Ordering::Relaxed);
    if hz == 0 {
        return 0;
    }
    let ticks = rdtsc().wrapping_sub(boot::tsc_at_entry());
    (u128::from(ticks) * 1_000_000 / u128::from(hz)) as u64
}
