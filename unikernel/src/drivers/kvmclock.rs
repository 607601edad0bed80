//! kvmclock: KVM's paravirtual clock, the wall clock and the TSC's rate on
//! machines with no CMOS RTC and no PIT (Firecracker, QEMU `microvm`).
//!
//! **Detection.** KVM answers CPUID leaf `0x4000_0000` (or a later multiple
//! of `0x100`, when it also offers Hyper-V's leaves first) with the
//! signature `"KVMKVMKVM\0\0\0"`; leaf base+1's EAX lists its paravirtual
//! features. Bit 3 (`KVM_FEATURE_CLOCKSOURCE2`) says the MSRs
//! `0x4b56_4d00`/`0x4b56_4d01` exist, bit 0 (`KVM_FEATURE_CLOCKSOURCE`) the
//! older pair `0x11`/`0x12` with the same meaning.
//!
//! **System time** (`MSR_KVM_SYSTEM_TIME_NEW`): the guest writes the
//! physical address of a 32-byte record, with bit 0 set to enable it, and
//! KVM keeps the record current. It is the pvclock record Xen publishes
//! in its shared-info page (same layout, same version counter, same
//! arithmetic: [`TimeInfo`]), so the TSC's rate is `(10⁹ << 32) / mul`
//! shifted back, and KVM's "system time" (ns) is
//! `system_time + ((tsc − tsc_timestamp) << shift) · mul >> 32`.
//!
//! **Wall clock** (`MSR_KVM_WALL_CLOCK_NEW`): writing the address of a
//! 12-byte record (version, seconds, nanoseconds) makes KVM fill it, there
//! and then, with the Unix time at system time zero. Now = that base +
//! system time. Each `unix_seconds` call writes the MSR again, so a step of
//! the host's clock is picked up at the next re-read.
//!
//! Records live in `.bss`; the image is identity-mapped, so their address
//! is their physical address.

use core::sync::atomic::{Ordering, compiler_fence};

use crate::drivers::xen::shared_info::TimeInfo;

/// What KVM's CPUID leaves say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvmCpuid {
    /// The base leaf (0x4000_0000, 0x4000_0100, …).
    pub base: u32,
    /// Leaf base+1, EAX: the `KVM_FEATURE_*` bits.
    pub features: u32,
}

/// The two clock MSRs KVM advertises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockMsrs {
    /// Takes the wall-clock record's address.
    pub wall_clock: u32,
    /// Takes the system-time record's address | 1.
    pub system_time: u32,
}

const FEATURE_CLOCKSOURCE: u32 = 1 << 0;
const FEATURE_CLOCKSOURCE2: u32 = 1 << 3;

impl KvmCpuid {
    /// The clock MSRs, the newer pair preferred; `None` if KVM offers no
    /// kvmclock (e.g. QEMU `-cpu …,-kvmclock`).
    pub fn clock_msrs(&self) -> Option<ClockMsrs> {
        if self.features & FEATURE_CLOCKSOURCE2 != 0 {
            Some(ClockMsrs {
                wall_clock: 0x4b56_4d00,
                system_time: 0x4b56_4d01,
            })
        } else if self.features & FEATURE_CLOCKSOURCE != 0 {
            Some(ClockMsrs {
                wall_clock: 0x11,
                system_time: 0x12,
            })
        } else {
            None
        }
    }
}

/// Looks for KVM's leaves with `cpuid` (leaf → eax, ebx, ecx, edx).
pub fn find_kvm(cpuid: impl Fn(u32) -> (u32, u32, u32, u32)) -> Option<KvmCpuid> {
    const SIGNATURE: &[u8; 12] = b"KVMKVMKVM\0\0\0";
    (0x4000_0000u32..0x4001_0000)
        .step_by(0x100)
        .find_map(|base| {
            let (max, ebx, ecx, edx) = cpuid(base);
            let mut signature = [0u8; 12];
            signature[..4].copy_from_slice(&ebx.to_le_bytes());
            signature[4..8].copy_from_slice(&ecx.to_le_bytes());
            signature[8..].copy_from_slice(&edx.to_le_bytes());
            if &signature != SIGNATURE {
                return None;
            }
            // Old KVM answers 0 for the highest leaf: it means base+1.
            let features = if max == 0 || max > base {
                cpuid(base + 1).0
            } else {
                0
            };
            Some(KvmCpuid { base, features })
        })
}

/// Reads a pvclock system-time record through `load` (offset → u32),
/// under its version counter (odd = KVM is writing it). `None` if it
/// stays mid-update for a thousand tries.
pub fn read_time_record(load: impl Fn(usize) -> u32) -> Option<TimeInfo> {
    let u64_at = |offset| u64::from(load(offset)) | (u64::from(load(offset + 4)) << 32);
    for _ in 0..1000 {
        let version = load(0);
        compiler_fence(Ordering::Acquire);
        let info = TimeInfo {
            tsc_timestamp: u64_at(8),
            system_time: u64_at(16),
            tsc_to_system_mul: load(24),
            tsc_shift: load(28) as u8 as i8,
        };
        compiler_fence(Ordering::Acquire);
        if version & 1 == 0 && load(0) == version {
            return Some(info);
        }
        core::hint::spin_loop();
    }
    None
}

/// Reads a wall-clock record (version, sec, nsec) through `load`: the
/// Unix time in ns at system time zero. `None` while it is mid-update or
/// when KVM left it empty.
pub fn read_wall_clock_record(load: impl Fn(usize) -> u32) -> Option<u64> {
    for _ in 0..1000 {
        let version = load(0);
        compiler_fence(Ordering::Acquire);
        let (sec, nsec) = (u64::from(load(4)), u64::from(load(8)));
        compiler_fence(Ordering::Acquire);
        if version & 1 == 0 && load(0) == version {
            return (sec != 0).then(|| sec * 1_000_000_000 + nsec);
        }
        core::hint::spin_loop();
    }
    None
}

#[cfg(target_os = "none")]
pub use imp::*;

#[cfg(target_os = "none")]
mod imp {
    use spin::Once;

    use super::*;
    use crate::arch::x86_64::cpu::{self, rdtsc, wrmsr};

    /// The system-time record (32 bytes; aligned so it never crosses a
    /// page, as KVM requires).
    #[repr(C, align(32))]
    struct TimeRecord([u32; 8]);
    /// The wall-clock record (12 bytes).
    #[repr(C, align(16))]
    struct WallRecord([u32; 4]);

    static mut TIME_RECORD: TimeRecord = TimeRecord([0; 8]);
    static mut WALL_RECORD: WallRecord = WallRecord([0; 4]);

    /// The MSRs, once the system-time record is enabled.
    static ENABLED: Once<Option<ClockMsrs>> = Once::new();

    fn load_time(offset: usize) -> u32 {
        // SAFETY: `offset` is one of the record's 4-byte-aligned fields
        // (below 32); KVM writes the record concurrently, hence volatile.
        unsafe {
            (&raw const TIME_RECORD)
                .cast::<u32>()
                .add(offset / 4)
                .read_volatile()
        }
    }

    fn load_wall(offset: usize) -> u32 {
        // SAFETY: as for `load_time`, offsets below 12.
        unsafe {
            (&raw const WALL_RECORD)
                .cast::<u32>()
                .add(offset / 4)
                .read_volatile()
        }
    }

    /// Detects kvmclock and enables the system-time record (once). Returns
    /// whether kvmclock is in use.
    pub fn init() -> bool {
        ENABLED
            .call_once(|| {
                if cpu::cpuid(1, 0).2 & (1 << 31) == 0 {
                    return None; // not a guest
                }
                let msrs = find_kvm(|leaf| cpu::cpuid(leaf, 0))?.clock_msrs()?;
                let address = (&raw const TIME_RECORD) as u64;
                // SAFETY: KVM advertised this MSR (CPUID above); the record
                // is ours, in identity-mapped `.bss` (virtual = physical),
                // and nothing but KVM and `load_time` touches it.
                unsafe { wrmsr(msrs.system_time, address | 1) };
                Some(msrs)
            })
            .is_some()
    }

    /// Whether kvmclock is in use (after [`init`]).
    pub fn active() -> bool {
        ENABLED.get().copied().flatten().is_some()
    }

    /// The TSC's rate from the pvclock record.
    pub fn tsc_hz() -> Option<u64> {
        active().then_some(())?;
        read_time_record(load_time)?.tsc_hz()
    }

    /// Seconds since the Unix epoch: KVM's wall-clock base (asked for
    /// afresh) plus its system time now.
    pub fn unix_seconds() -> Option<u64> {
        let msrs = ENABLED.get().copied().flatten()?;
        let address = (&raw const WALL_RECORD) as u64;
        // SAFETY: advertised MSR (see `init`); KVM writes 12 bytes at our
        // own identity-mapped record.
        unsafe { wrmsr(msrs.wall_clock, address) };
        let base = read_wall_clock_record(load_wall)?;
        let now = read_time_record(load_time)?.system_time_at(rdtsc());
        Some(base.checked_add(now)? / 1_000_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signature_regs(sig: &[u8; 12]) -> (u32, u32, u32) {
        let word = |i: usize| u32::from_le_bytes(sig[i..i + 4].try_into().unwrap());
        (word(0), word(4), word(8))
    }

    #[test]
    fn finds_kvm_at_its_base_or_behind_hyper_v() {
        for base in [0x4000_0000u32, 0x4000_0100] {
            let cpuid = |leaf: u32| {
                let (b, c, d) = signature_regs(b"KVMKVMKVM\0\0\0");
                if leaf == base {
                    (base + 1, b, c, d)
                } else if leaf == base + 1 {
                    (FEATURE_CLOCKSOURCE | FEATURE_CLOCKSOURCE2, 0, 0, 0)
                } else if leaf == 0x4000_0000 {
                    let (b, c, d) = signature_regs(b"Microsoft Hv");
                    (0x4000_000A, b, c, d)
                } else {
                    (0, 0, 0, 0)
                }
            };
            let kvm = find_kvm(cpuid).unwrap();
            assert_eq!(kvm.base, base);
            assert_eq!(kvm.clock_msrs().unwrap().wall_clock, 0x4b56_4d00);
            assert_eq!(kvm.clock_msrs().unwrap().system_time, 0x4b56_4d01);
        }
    }

    #[test]
    fn older_msrs_and_no_kvmclock() {
        let old = KvmCpuid {
            base: 0x4000_0000,
            features: FEATURE_CLOCKSOURCE,
        };
        assert_eq!(
            old.clock_msrs(),
            Some(ClockMsrs {
                wall_clock: 0x11,
                system_time: 0x12
            })
        );
        let none = KvmCpuid {
            base: 0x4000_0000,
            features: 1 << 24,
        };
        assert_eq!(none.clock_msrs(), None);
    }

    #[test]
    fn not_kvm() {
        let xen = |leaf: u32| {
            let (b, c, d) = signature_regs(b"XenVMMXenVMM");
            if leaf == 0x4000_0000 {
                (0x4000_0005, b, c, d)
            } else {
                (0, 0, 0, 0)
            }
        };
        assert_eq!(find_kvm(xen), None);
        assert_eq!(find_kvm(|_| (0, 0, 0, 0)), None);
    }

    /// A record as u32 words, read through the same `load` seam as KVM's.
    fn loader(words: &[u32]) -> impl Fn(usize) -> u32 + '_ {
        move |offset| words[offset / 4]
    }

    #[test]
    fn system_time_record_gives_the_tsc_rate_and_time() {
        // 2 GHz TSC: 0.5 ns per tick = 2^31 with shift 0.
        let tsc_timestamp = 1_000_000u64;
        let system_time = 5_000_000_000u64;
        let words = [
            2,
            0,
            tsc_timestamp as u32,
            (tsc_timestamp >> 32) as u32,
            system_time as u32,
            (system_time >> 32) as u32,
            1 << 31,
            0x0100, // shift 0, flags 1 (TSC stable)
        ];
        let info = read_time_record(loader(&words)).unwrap();
        assert_eq!(info.tsc_hz(), Some(2_000_000_000));
        // One second of ticks later: one second more of system time.
        assert_eq!(
            info.system_time_at(tsc_timestamp + 2_000_000_000),
            system_time + 1_000_000_000
        );
        // The same 0.5 ns per tick as mul 2^30 with the delta shifted left once.
        let mut shifted = words;
        shifted[6] = 1 << 30;
        shifted[7] = 1;
        assert_eq!(
            read_time_record(loader(&shifted)).unwrap().tsc_hz(),
            Some(2_000_000_000)
        );
    }

    #[test]
    fn records_mid_update_are_not_used() {
        let words = [3, 0, 0, 0, 0, 0, 1 << 31, 0];
        assert_eq!(read_time_record(loader(&words)), None);
        assert_eq!(read_wall_clock_record(loader(&[1, 1_700_000_000, 0])), None);
    }

    #[test]
    fn wall_clock_base_in_nanoseconds() {
        let base = read_wall_clock_record(loader(&[4, 1_700_000_000, 250_000_000])).unwrap();
        assert_eq!(base, 1_700_000_000_250_000_000);
        // An empty record (KVM never wrote it) is no clock.
        assert_eq!(read_wall_clock_record(loader(&[0, 0, 0])), None);
    }
}
