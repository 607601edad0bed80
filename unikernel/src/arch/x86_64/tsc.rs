//! The monotonic clock: the TSC, counted from the PVH entry.
//!
//! The TSC's rate comes from the first of these that the machine offers:
//!
//! 1. Xen's pvclock (shared info), on a Xen guest (no PIT, no RTC there);
//! 2. KVM's pvclock (`drivers::kvmclock`), whenever KVM's CPUID leaves
//!    advertise it (Firecracker and QEMU `microvm` have no RTC, and may
//!    have no PIT);
//! 3. the hypervisor timing leaf 0x4000_0010 (VMware, cloud-hypervisor,
//!    KVM with `vmware-cpuid-freq`);
//! 4. CPUID 0x15 (crystal × ratio) or 0x16 (base frequency), recent Intel;
//! 5. a measurement against PIT channel 2, read as a counter bracketed by
//!    TSC reads (a descheduled vCPU or a slow exit widens the bracket
//!    instead of skewing the result): it runs until the error bound is at
//!    most [`PIT_TARGET_PPM`] (a few ms) or for at most [`PIT_MAX_MS`];
//! 6. with no PIT either (QEMU `microvm` under TCG), one second of the
//!    CMOS RTC.
//!
//! Sources 1–4 are read, not measured: the boot does not wait for them.
//! The LAPIC timer's rate is measured along with the PIT, or else against
//! the now-known TSC over [`APIC_WINDOW_MS`] ms. Whether the TSC is
//! invariant (CPUID 0x8000_0007 EDX bit 8) is only logged: hypervisors'
//! default CPU models often do not say so while keeping the guest TSC at a
//! constant rate.

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};

use super::cpu::{cpuid, rdtsc};
use super::{apic, boot, pit};
use crate::drivers::{kvmclock, rtc, xen};

/// The PIT measurement stops once its error bound is this small.
pub const PIT_TARGET_PPM: u64 = 500;
/// … or after this long, keeping its best bound (the counter wraps at
/// 54.9 ms).
pub const PIT_MAX_MS: u64 = 45;
/// How long the LAPIC timer is measured against a TSC of known rate.
pub const APIC_WINDOW_MS: u64 = 2;

static TSC_HZ: AtomicU64 = AtomicU64::new(0);

/// Where the TSC's rate came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Xen's pvclock record in the shared-info page.
    XenPvclock,
    /// KVM's pvclock record (kvmclock).
    KvmPvclock,
    /// CPUID leaf 0x4000_0010.
    HypervisorLeaf,
    /// CPUID leaf 0x15 or 0x16.
    CpuidLeaf,
    /// Measured against PIT channel 2 over `micros`, within ± `ppm`.
    Pit {
        /// Length of the measurement.
        micros: u32,
        /// Its error bound, parts per million.
        ppm: u32,
    },
    /// Measured against one second of the CMOS RTC.
    Rtc,
    /// Nothing to read or measure: 1 GHz assumed so the clock still moves.
    Assumed,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::XenPvclock => f.write_str("Xen pvclock (shared info)"),
            Source::KvmPvclock => f.write_str("KVM pvclock (kvmclock)"),
            Source::HypervisorLeaf => f.write_str("hypervisor CPUID leaf 0x40000010"),
            Source::CpuidLeaf => f.write_str("CPUID leaf 0x15/0x16"),
            Source::Pit { micros, ppm } => write!(
                f,
                "PIT channel 2 ({}.{} ms, ±{ppm} ppm)",
                micros / 1000,
                micros / 100 % 10
            ),
            Source::Rtc => f.write_str("CMOS RTC (one second; no PIT)"),
            Source::Assumed => f.write_str("nothing to read or measure: 1 GHz assumed"),
        }
    }
}

/// What calibration found.
pub struct Calibration {
    /// TSC ticks per second.
    pub tsc_hz: u64,
    /// Where `tsc_hz` came from.
    pub source: Source,
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

fn invariant() -> bool {
    cpuid(0x8000_0000, 0).0 >= 0x8000_0007 && cpuid(0x8000_0007, 0).3 & (1 << 8) != 0
}

/// A rate the hypervisor or the CPU states, if any: no measuring.
fn stated_rate() -> Option<(u64, Source)> {
    if let Some(hz) = xen::guest::tsc_hz() {
        return Some((hz, Source::XenPvclock));
    }
    if kvmclock::init()
        && let Some(hz) = kvmclock::tsc_hz()
    {
        return Some((hz, Source::KvmPvclock));
    }
    if let Some((khz, _)) = hypervisor_tsc_khz() {
        return Some((khz * 1000, Source::HypervisorLeaf));
    }
    cpuid_15_hz().map(|hz| (hz, Source::CpuidLeaf))
}

/// Calibrates the TSC (and the LAPIC timer, which must be initialised).
pub fn calibrate() -> Calibration {
    let (tsc_hz, source, apic_timer_hz) = match stated_rate() {
        Some((hz, source)) => (hz, source, apic_against_tsc(hz)),
        None => measure(),
    };
    TSC_HZ.store(tsc_hz, Ordering::Relaxed);
    Calibration {
        tsc_hz,
        source,
        apic_timer_hz,
        invariant: invariant(),
    }
}

/// The TSC and the LAPIC timer over the RTC's second: the RTC's
/// edges are busy-waited, so a preempted vCPU can stretch the window; one
/// second makes that small. (TSC Hz, LAPIC timer Hz.)
fn measure_against_rtc() -> Option<(u64, Option<u64>)> {
    let (mut tsc0, mut tsc1, mut apic0, mut apic1) = (0u64, 0u64, 0u32, 0u32);
    apic::start_free_running();
    let ok = rtc::measure_second(
        || {
            tsc0 = rdtsc();
            apic0 = apic::current_count();
        },
        || {
            tsc1 = rdtsc();
            apic1 = apic::current_count();
        },
    );
    apic::stop();
    if !ok || tsc1 <= tsc0 {
        return None;
    }
    let apic_hz = u64::from(apic0.wrapping_sub(apic1));
    Some((tsc1 - tsc0, (apic_hz != 0).then_some(apic_hz)))
}

/// One reading of the PIT, bracketed by two TSC reads: the PIT was read
/// at `tsc_mid` ± `width / 2`.
#[derive(Clone, Copy)]
struct Reading {
    tsc_mid: u64,
    width: u64,
    pit: u16,
    apic: u32,
}

/// The narrowest of three readings (a wide one had the vCPU descheduled
/// or a slow exit in the middle).
fn read(channel: &pit::Channel2) -> Reading {
    let once = || {
        let before = rdtsc();
        let apic = apic::current_count();
        let pit = channel.count();
        let after = rdtsc();
        Reading {
            tsc_mid: before + after.wrapping_sub(before) / 2,
            width: after.wrapping_sub(before),
            pit,
            apic,
        }
    };
    let (a, b, c) = (once(), once(), once());
    [b, c]
        .into_iter()
        .fold(a, |best, r| if r.width < best.width { r } else { best })
}

/// Measures the TSC and the LAPIC timer against PIT channel 2 until the
/// error bound is at most [`PIT_TARGET_PPM`] or [`PIT_MAX_MS`] have
/// passed (then the best bound seen is kept). `None` without a PIT.
fn measure_against_pit() -> Option<(u64, Source, Option<u64>)> {
    let channel = pit::Channel2::start()?;
    apic::start_free_running();
    let start = read(&channel);
    let max_ticks = pit::PIT_HZ * PIT_MAX_MS / 1000;
    // (ppm, TSC Hz, LAPIC Hz, PIT ticks)
    let mut best: Option<(u64, u64, u64, u64)> = None;
    let mut still = 0u32;
    loop {
        let end = read(&channel);
        if channel.wrapped() {
            break;
        }
        let pit_ticks = u64::from(start.pit.wrapping_sub(end.pit));
        let tsc_ticks = end.tsc_mid.wrapping_sub(start.tsc_mid);
        if pit_ticks == 0 || tsc_ticks == 0 {
            // A counter that never moves (gate stuck low) is no PIT.
            still += 1;
            if still > 10_000 {
                break;
            }
            continue;
        }
        // Where in the brackets each reading fell, plus the count's own
        // resolution (one PIT tick).
        let uncertainty = (start.width + end.width) / 2 + tsc_ticks / pit_ticks;
        let ppm = uncertainty.saturating_mul(1_000_000) / tsc_ticks;
        let tsc_hz =
            (u128::from(tsc_ticks) * u128::from(pit::PIT_HZ) / u128::from(pit_ticks)) as u64;
        let apic_ticks = u128::from(start.apic.wrapping_sub(end.apic));
        let apic_hz = (apic_ticks * u128::from(pit::PIT_HZ) / u128::from(pit_ticks)) as u64;
        if best.is_none_or(|(best_ppm, ..)| ppm < best_ppm) {
            best = Some((ppm, tsc_hz, apic_hz, pit_ticks));
        }
        if ppm <= PIT_TARGET_PPM || pit_ticks >= max_ticks {
            break;
        }
    }
    apic::stop();
    drop(channel);
    let (ppm, tsc_hz, apic_hz, pit_ticks) = best?;
    let source = Source::Pit {
        micros: (pit_ticks * 1_000_000 / pit::PIT_HZ) as u32,
        ppm: ppm as u32,
    };
    Some((tsc_hz, source, (apic_hz != 0).then_some(apic_hz)))
}

/// Measures the TSC (and the LAPIC timer) against the PIT, or the RTC
/// where there is no PIT: (TSC Hz, source, LAPIC timer Hz).
fn measure() -> (u64, Source, Option<u64>) {
    if let Some(measured) = measure_against_pit() {
        return measured;
    }
    if let Some((tsc_hz, apic_hz)) = measure_against_rtc() {
        return (tsc_hz, Source::Rtc, apic_hz);
    }
    let apic = hypervisor_tsc_khz()
        .map(|(_, bus_khz)| bus_khz * 1000 / apic::DIVIDER)
        .filter(|&hz| hz != 0);
    (1_000_000_000, Source::Assumed, apic)
}

/// With the TSC's rate known: the LAPIC timer's, over
/// [`APIC_WINDOW_MS`] of TSC.
fn apic_against_tsc(tsc_hz: u64) -> Option<u64> {
    apic::start_free_running();
    let (tsc0, apic0) = (rdtsc(), apic::current_count());
    while rdtsc().wrapping_sub(tsc0) < tsc_hz * APIC_WINDOW_MS / 1000 {
        core::hint::spin_loop();
    }
    let (tsc1, apic1) = (rdtsc(), apic::current_count());
    apic::stop();
    let apic_ticks = u128::from(apic0.wrapping_sub(apic1));
    let apic_hz = (apic_ticks * u128::from(tsc_hz) / u128::from((tsc1 - tsc0).max(1))) as u64;
    (apic_hz != 0).then_some(apic_hz)
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
