//! The shared-info page: event-channel bits and Xen's clocks.
//!
//! Xen maps this page into our physical address space on request
//! (`XENMEM_add_to_physmap`, `XENMAPSPACE_shared_info`). Layout on x86_64
//! (`xen.h`, `arch-x86/xen.h`):
//!
//! ```text
//! offset 0     vcpu_info[32], 64 bytes each; vCPU 0's:
//!              0  evtchn_upcall_pending, 1 evtchn_upcall_mask,
//!              8  evtchn_pending_sel, 16 arch (cr2, pad),
//!              32 vcpu_time_info (the "pvclock", below)
//!        2048  evtchn_pending[64]   one bit per port (2-level ABI)
//!        2560  evtchn_mask[64]
//!        3072  wc_version, wc_sec, wc_nsec, wc_sec_hi   (the wall clock)
//! ```
//!
//! **Event bits.** Xen sets a port's pending bit when the other end rings
//! it; the guest clears it (atomically: Xen may set other bits in the same
//! word at the same moment) once it has looked at the ring behind it.
//!
//! **pvclock.** `vcpu_time_info` lets a guest turn its TSC into Xen's
//! "system time" (nanoseconds since the host booted):
//! `system_time + ((tsc - tsc_timestamp) << shift) * mul >> 32`, a shift
//! (negative = right) and a 32.32 fixed-point multiplier. The TSC's
//! frequency follows from the same two numbers:
//! `(10⁹ << 32) / mul`, shifted back. Xen updates the record under a
//! version counter (odd = being written; read until two versions agree and
//! are even), like a seqlock.
//!
//! **Wall clock.** `wc_sec`/`wc_nsec` (+ `wc_sec_hi`) is the Unix time at
//! system time zero, under its own version counter; now = that + system
//! time. This replaces the CMOS RTC, which a PVH guest does not have.

use super::Port;
use super::shared_memory::{SharedMemory, read_barrier};

const VCPU0_TIME: usize = 32;
const EVTCHN_PENDING: usize = 2048;
const WC_VERSION: usize = 3072;
const WC_SEC: usize = 3076;
const WC_NSEC: usize = 3080;
const WC_SEC_HI: usize = 3084;
/// Ports the 2-level event ABI has on x86_64 (64 words of 64 bits).
pub const MAX_PORTS: u32 = 64 * 64;

/// A consistent copy of vCPU 0's `vcpu_time_info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeInfo {
    /// TSC at the last update.
    pub tsc_timestamp: u64,
    /// System time (ns) at the last update.
    pub system_time: u64,
    /// TSC → ns multiplier (32.32 fixed point).
    pub tsc_to_system_mul: u32,
    /// Shift applied to the TSC delta before multiplying.
    pub tsc_shift: i8,
}

impl TimeInfo {
    /// System time (ns) at TSC value `tsc`.
    pub fn system_time_at(&self, tsc: u64) -> u64 {
        let delta = tsc.wrapping_sub(self.tsc_timestamp);
        let delta = if self.tsc_shift >= 0 {
            delta << self.tsc_shift
        } else {
            delta >> -self.tsc_shift
        };
        let scaled = (u128::from(delta) * u128::from(self.tsc_to_system_mul)) >> 32;
        self.system_time.wrapping_add(scaled as u64)
    }

    /// TSC ticks per second. `None` for a record Xen has not filled in.
    pub fn tsc_hz(&self) -> Option<u64> {
        if self.tsc_to_system_mul == 0 {
            return None;
        }
        let hz = (1_000_000_000u128 << 32) / u128::from(self.tsc_to_system_mul);
        let hz = if self.tsc_shift >= 0 {
            hz >> self.tsc_shift
        } else {
            hz << -self.tsc_shift
        };
        u64::try_from(hz).ok().filter(|&hz| hz != 0)
    }
}

/// The shared-info page.
#[derive(Debug)]
pub struct SharedInfo<M: SharedMemory> {
    page: M,
}

impl<M: SharedMemory> SharedInfo<M> {
    /// The page Xen mapped.
    pub fn new(page: M) -> Self {
        SharedInfo { page }
    }

    /// vCPU 0's time record, read consistently; `None` if Xen keeps it
    /// mid-update (odd version) for a thousand tries.
    pub fn time_info(&self) -> Option<TimeInfo> {
        for _ in 0..1000 {
            let version = self.page.load_u32(VCPU0_TIME);
            read_barrier();
            let info = TimeInfo {
                tsc_timestamp: self.page.load_u64(VCPU0_TIME + 8),
                system_time: self.page.load_u64(VCPU0_TIME + 16),
                tsc_to_system_mul: self.page.load_u32(VCPU0_TIME + 24),
                tsc_shift: self.page.load_u8(VCPU0_TIME + 28) as i8,
            };
            read_barrier();
            if version & 1 == 0 && self.page.load_u32(VCPU0_TIME) == version {
                return Some(info);
            }
            core::hint::spin_loop();
        }
        None
    }

    /// Unix time (ns) at system time zero, read consistently.
    pub fn wall_clock_base_ns(&self) -> Option<u64> {
        for _ in 0..1000 {
            let version = self.page.load_u32(WC_VERSION);
            read_barrier();
            let sec = u64::from(self.page.load_u32(WC_SEC))
                | (u64::from(self.page.load_u32(WC_SEC_HI)) << 32);
            let nsec = u64::from(self.page.load_u32(WC_NSEC));
            read_barrier();
            if version & 1 == 0 && self.page.load_u32(WC_VERSION) == version {
                return sec.checked_mul(1_000_000_000)?.checked_add(nsec);
            }
            core::hint::spin_loop();
        }
        None
    }

    /// Unix time in seconds at TSC value `tsc`; `None` if Xen publishes no
    /// wall clock (zero base).
    pub fn unix_seconds_at(&self, tsc: u64) -> Option<u64> {
        let base = self.wall_clock_base_ns().filter(|&ns| ns != 0)?;
        let now = self.time_info()?.system_time_at(tsc);
        Some(base.checked_add(now)? / 1_000_000_000)
    }

    /// Clears `port`'s pending bit; returns whether it was set.
    pub fn clear_pending(&self, port: Port) -> bool {
        if port >= MAX_PORTS {
            return false;
        }
        let offset = EVTCHN_PENDING + (port / 64) as usize * 8;
        let bit = 1u64 << (port % 64);
        self.page.fetch_and_u64(offset, !bit) & bit != 0
    }

    /// Whether `port` is pending.
    #[cfg(test)]
    pub fn is_pending(&self, port: Port) -> bool {
        port < MAX_PORTS
            && self
                .page
                .load_u64(EVTCHN_PENDING + (port / 64) as usize * 8)
                & (1 << (port % 64))
                != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::xen::sim::SimPage;

    fn with_time(mul: u32, shift: i8) -> SharedInfo<SimPage> {
        let page = SimPage::new(1);
        page.store_u32(VCPU0_TIME, 2);
        page.store_u64(VCPU0_TIME + 8, 1_000_000);
        page.store_u64(VCPU0_TIME + 16, 5_000_000_000);
        page.store_u32(VCPU0_TIME + 24, mul);
        page.store_u8(VCPU0_TIME + 28, shift as u8);
        SharedInfo::new(page)
    }

    #[test]
    fn pvclock_frequency_and_system_time() {
        // A 2.5 GHz TSC: 0.4 ns per tick = 0.8 * 2^32 >> 1 (shift -1).
        let mul = (0.8f64 * 4294967296.0) as u32;
        let si = with_time(mul, -1);
        let t = si.time_info().unwrap();
        let hz = t.tsc_hz().unwrap();
        assert!((2_499_999_000..=2_500_001_000).contains(&hz), "{hz}");
        // 2.5e9 ticks later: one second of system time.
        let later = t.system_time_at(1_000_000 + 2_500_000_000);
        assert!(
            (later - 5_000_000_000).abs_diff(1_000_000_000) < 2,
            "{later}"
        );
        // A slow 500 MHz TSC: 2 ns per tick = 0.5 * 2^32 << 2.
        let si = with_time(1 << 31, 2);
        assert_eq!(si.time_info().unwrap().tsc_hz(), Some(500_000_000));
        assert_eq!(with_time(0, 0).time_info().unwrap().tsc_hz(), None);
    }

    #[test]
    fn a_record_being_updated_is_not_used() {
        let si = with_time(1 << 31, 0);
        si.page.store_u32(VCPU0_TIME, 3);
        assert_eq!(si.time_info(), None);
        si.page.store_u32(WC_VERSION, 1);
        assert_eq!(si.wall_clock_base_ns(), None);
    }

    #[test]
    fn wall_clock_is_base_plus_system_time() {
        // 1 GHz TSC (mul 2^32 >> 1 with shift 1 = 1 ns per tick).
        let si = with_time(1 << 31, 1);
        si.page.store_u32(WC_VERSION, 4);
        si.page.store_u32(WC_SEC, 1_700_000_000);
        si.page.store_u32(WC_NSEC, 999_999_999);
        // System time 5 s at the record; 2 s of ticks later: 7 s + base.
        assert_eq!(
            si.unix_seconds_at(1_000_000 + 2_000_000_000),
            Some(1_700_000_000 + 7)
        );
        si.page.store_u32(WC_SEC_HI, 1);
        assert_eq!(
            si.unix_seconds_at(1_000_000),
            Some((1u64 << 32) + 1_700_000_000 + 5)
        );
        si.page.store_u32(WC_SEC, 0);
        si.page.store_u32(WC_SEC_HI, 0);
        si.page.store_u32(WC_NSEC, 0);
        assert_eq!(si.unix_seconds_at(1_000_000), None);
    }

    #[test]
    fn pending_bits_clear_atomically_one_port_at_a_time() {
        let si = with_time(1, 0);
        si.page.store_u64(EVTCHN_PENDING + 8, (1 << 3) | (1 << 63));
        assert!(si.is_pending(67));
        assert!(si.clear_pending(67));
        assert!(!si.clear_pending(67));
        assert!(si.is_pending(127), "the neighbour stays pending");
        assert!(!si.clear_pending(MAX_PORTS));
    }
}
