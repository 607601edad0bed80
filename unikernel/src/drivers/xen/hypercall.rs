//! Finding Xen, the hypercall page, and typed wrappers for the hypercalls
//! this guest makes.
//!
//! **Detection.** Hypervisors answer CPUID leaves from `0x4000_0000`; Xen
//! may sit at any multiple of `0x100` up to `0x4001_0000` (it moves up when
//! it also offers Viridian/Hyper-V leaves). The leaf's EBX, ECX, EDX spell
//! "XenVMMXenVMM" and EAX is the last Xen leaf. Leaf base+1 EAX is the
//! version (major << 16 | minor); leaf base+2 EBX is the MSR that installs
//! the hypercall page. QEMU/KVM and TCG answer differently, so the same
//! image takes the Xen path only under Xen.
//!
//! **Hypercall page.** Writing a page's physical address to that MSR makes
//! Xen fill the page with one 32-byte stub per hypercall number (`mov eax,
//! nr; vmcall` or `vmmcall`; `ret`), so the guest never has to know which
//! CPU vendor's instruction applies. A hypercall is a `call` to
//! `page + 32 * nr` with the arguments in RDI, RSI, RDX (R10, R8); the
//! result comes back in RAX, negative values being Xen errnos; RCX and R11
//! are clobbered.
//!
//! The structure layouts below are those of the public headers
//! (`memory.h`, `hvm/hvm_op.h`, `hvm/params.h`, `event_channel.h`,
//! `sched.h`, `grant_table.h`); host tests check their sizes and offsets.

/// `__HYPERVISOR_memory_op`.
pub const MEMORY_OP: u32 = 12;
/// `__HYPERVISOR_grant_table_op`.
pub const GRANT_TABLE_OP: u32 = 20;
/// `__HYPERVISOR_sched_op`.
pub const SCHED_OP: u32 = 29;
/// `__HYPERVISOR_event_channel_op`.
pub const EVENT_CHANNEL_OP: u32 = 32;
/// `__HYPERVISOR_hvm_op`.
pub const HVM_OP: u32 = 34;

/// `XENMEM_add_to_physmap`.
pub const XENMEM_ADD_TO_PHYSMAP: u64 = 7;
/// `XENMEM_memory_map`: our pseudo-physical memory map (E820).
pub const XENMEM_MEMORY_MAP: u64 = 9;
/// Map the shared-info page.
pub const XENMAPSPACE_SHARED_INFO: u32 = 0;
/// Map a grant-table frame.
pub const XENMAPSPACE_GRANT_TABLE: u32 = 1;
/// `HVMOP_get_param`.
pub const HVMOP_GET_PARAM: u64 = 1;
/// The xenstore ring's frame.
pub const HVM_PARAM_STORE_PFN: u32 = 1;
/// The xenstore event channel.
pub const HVM_PARAM_STORE_EVTCHN: u32 = 2;
/// The console ring's frame.
pub const HVM_PARAM_CONSOLE_PFN: u32 = 17;
/// The console event channel.
pub const HVM_PARAM_CONSOLE_EVTCHN: u32 = 18;
/// `EVTCHNOP_send`.
pub const EVTCHNOP_SEND: u64 = 4;
/// `EVTCHNOP_alloc_unbound`.
pub const EVTCHNOP_ALLOC_UNBOUND: u64 = 6;
/// `SCHEDOP_shutdown`.
pub const SCHEDOP_SHUTDOWN: u64 = 2;
/// `SCHEDOP_poll`.
pub const SCHEDOP_POLL: u64 = 3;
/// `GNTTABOP_query_size`.
pub const GNTTABOP_QUERY_SIZE: u64 = 6;
/// `DOMID_SELF`.
pub const DOMID_SELF: u16 = 0x7FF0;

/// Why the domain stops (`SHUTDOWN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum ShutdownReason {
    /// Power off: `xl` destroys the domain (`on_poweroff`).
    Poweroff = 0,
    /// Restart (`on_reboot`).
    Reboot = 1,
    /// The guest crashed (`on_crash`).
    Crash = 3,
}

/// `struct xen_add_to_physmap`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct AddToPhysmap {
    /// Which domain (DOMID_SELF).
    pub domid: u16,
    /// Pages, for ranges only.
    pub size: u16,
    /// `XENMAPSPACE_*`.
    pub space: u32,
    /// Index in that space (grant frame number; 0 for shared info).
    pub idx: u64,
    /// Where in our physical address space (frame number).
    pub gpfn: u64,
}

/// `struct xen_hvm_param`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct HvmParam {
    /// DOMID_SELF.
    pub domid: u16,
    /// `HVM_PARAM_*`.
    pub index: u32,
    /// Out: the value.
    pub value: u64,
}

/// `struct evtchn_alloc_unbound`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct EvtchnAllocUnbound {
    /// DOMID_SELF.
    pub dom: u16,
    /// The domain that will bind the port.
    pub remote_dom: u16,
    /// Out: the port.
    pub port: u32,
}

/// `struct sched_poll`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct SchedPoll {
    /// Guest address of an array of ports.
    pub ports: u64,
    /// How many.
    pub nr_ports: u32,
    /// Absolute system time (ns) to give up at; 0 = never.
    pub timeout: u64,
}

/// `struct gnttab_query_size`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct GnttabQuerySize {
    /// DOMID_SELF.
    pub dom: u16,
    /// Out: frames in use.
    pub nr_frames: u32,
    /// Out: the most frames the table may grow to.
    pub max_nr_frames: u32,
    /// Out: GNTST_* (0 = okay).
    pub status: i16,
}

/// `struct xen_memory_map`.
#[repr(C)]
#[derive(Debug, Default)]
pub struct MemoryMap {
    /// In: entries the buffer holds; out: entries written.
    pub nr_entries: u32,
    /// Guest address of an array of 20-byte E820 entries.
    pub buffer: u64,
}

/// One E820 entry as Xen writes it (packed: 20 bytes).
#[repr(C, packed)]
#[derive(Debug, Default, Clone, Copy)]
pub struct E820Entry {
    /// Start address.
    pub addr: u64,
    /// Length in bytes.
    pub size: u64,
    /// 1 = RAM, 2 = reserved, …
    pub kind: u32,
}

/// Xen's CPUID leaves, as found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XenCpuid {
    /// The base leaf (0x4000_0000, 0x4000_0100, …).
    pub base: u32,
    /// Major version.
    pub major: u16,
    /// Minor version.
    pub minor: u16,
    /// The MSR that installs the hypercall page.
    pub hypercall_msr: u32,
}

/// Looks for Xen's leaves with `cpuid` (leaf → eax, ebx, ecx, edx).
pub fn find_xen(cpuid: impl Fn(u32) -> (u32, u32, u32, u32)) -> Option<XenCpuid> {
    const SIGNATURE: &[u8; 12] = b"XenVMMXenVMM";
    (0x4000_0000u32..0x4001_0000)
        .step_by(0x100)
        .find_map(|base| {
            let (max, ebx, ecx, edx) = cpuid(base);
            let mut signature = [0u8; 12];
            signature[..4].copy_from_slice(&ebx.to_le_bytes());
            signature[4..8].copy_from_slice(&ecx.to_le_bytes());
            signature[8..].copy_from_slice(&edx.to_le_bytes());
            if &signature != SIGNATURE || max.wrapping_sub(base) < 2 || max < base {
                return None;
            }
            let version = cpuid(base + 1).0;
            let (_pages, msr, _, _) = cpuid(base + 2);
            Some(XenCpuid {
                base,
                major: (version >> 16) as u16,
                minor: version as u16,
                hypercall_msr: msr,
            })
        })
}

#[cfg(target_os = "none")]
pub use imp::*;

#[cfg(target_os = "none")]
mod imp {
    use core::arch::asm;

    use super::*;
    use crate::arch::x86_64::cpu;
    use crate::drivers::xen::{DomId, Port, XenError};

    /// The page Xen fills with hypercall stubs: in `.bss`, which the
    /// identity map leaves executable (no NX bit is used).
    #[repr(C, align(4096))]
    struct HypercallPage([u8; 4096]);
    static mut HYPERCALL_PAGE: HypercallPage = HypercallPage([0; 4096]);

    /// Xen's leaves on this CPU, if this is a Xen guest.
    pub fn detect() -> Option<XenCpuid> {
        let hypervisor_bit = cpu::cpuid(1, 0).2 & (1 << 31) != 0;
        if !hypervisor_bit {
            return None;
        }
        find_xen(|leaf| cpu::cpuid(leaf, 0))
    }

    /// Asks Xen to fill the hypercall page.
    pub fn install(xen: &XenCpuid) {
        let page = (&raw const HYPERCALL_PAGE) as u64;
        // SAFETY: the MSR is the one Xen named in its CPUID leaf; the value
        // is the physical (= virtual) address of a page reserved for the
        // stubs, which nothing else uses.
        unsafe { cpu::wrmsr(xen.hypercall_msr, page) };
    }

    /// Calls hypercall `op` with up to three arguments.
    ///
    /// # Safety
    /// [`install`] ran; the arguments are valid for `op` (pointers point to
    /// live, correctly laid out structures that Xen may read and write).
    unsafe fn hypercall(op: u32, a1: u64, a2: u64, a3: u64) -> i64 {
        let entry = (&raw const HYPERCALL_PAGE) as u64 + u64::from(op) * 32;
        let result: i64;
        // SAFETY: the caller's contract; the stub follows the hypercall ABI
        // (arguments in RDI/RSI/RDX, result in RAX, RCX/R11 clobbered). Not
        // `nomem`: Xen reads and writes the structures passed by pointer.
        unsafe {
            asm!(
                "call {entry}",
                entry = in(reg) entry,
                lateout("rax") result,
                inlateout("rdi") a1 => _,
                inlateout("rsi") a2 => _,
                inlateout("rdx") a3 => _,
                lateout("rcx") _,
                lateout("r11") _,
                lateout("r10") _,
                lateout("r8") _,
            );
        }
        result
    }

    fn check(result: i64) -> Result<(), XenError> {
        if result < 0 {
            Err(XenError(result))
        } else {
            Ok(())
        }
    }

    /// Makes `space`'s page `idx` appear at frame `gpfn` of our physical
    /// address space (`XENMEM_add_to_physmap`).
    pub fn add_to_physmap(space: u32, idx: u64, gpfn: u64) -> Result<(), XenError> {
        let mut arg = AddToPhysmap {
            domid: DOMID_SELF,
            size: 0,
            space,
            idx,
            gpfn,
        };
        // SAFETY: a valid xen_add_to_physmap on our stack; the caller
        // chose a frame it owns.
        check(unsafe { hypercall(MEMORY_OP, XENMEM_ADD_TO_PHYSMAP, &raw mut arg as u64, 0) })
    }

    /// Our memory map (`XENMEM_memory_map`), into `entries`; returns how
    /// many were written.
    pub fn memory_map(entries: &mut [E820Entry]) -> Result<usize, XenError> {
        let mut arg = MemoryMap {
            nr_entries: entries.len() as u32,
            buffer: entries.as_mut_ptr() as u64,
        };
        // SAFETY: a valid xen_memory_map on our stack naming `entries`,
        // which Xen fills (at most nr_entries of them) during the call.
        check(unsafe { hypercall(MEMORY_OP, XENMEM_MEMORY_MAP, &raw mut arg as u64, 0) })?;
        Ok((arg.nr_entries as usize).min(entries.len()))
    }

    /// An HVM parameter of our domain.
    pub fn hvm_get_param(index: u32) -> Result<u64, XenError> {
        let mut arg = HvmParam {
            domid: DOMID_SELF,
            index,
            value: 0,
        };
        // SAFETY: a valid xen_hvm_param on our stack.
        check(unsafe { hypercall(HVM_OP, HVMOP_GET_PARAM, &raw mut arg as u64, 0) })?;
        Ok(arg.value)
    }

    /// Rings `port`.
    pub fn evtchn_send(port: Port) {
        let mut arg = port;
        // SAFETY: struct evtchn_send is one u32 port, on our stack. A
        // failure (bad port) has nothing to report to.
        let _ = unsafe { hypercall(EVENT_CHANNEL_OP, EVTCHNOP_SEND, &raw mut arg as u64, 0) };
    }

    /// A fresh port for domain `remote` to bind.
    pub fn evtchn_alloc_unbound(remote: DomId) -> Result<Port, XenError> {
        let mut arg = EvtchnAllocUnbound {
            dom: DOMID_SELF,
            remote_dom: remote,
            port: 0,
        };
        // SAFETY: a valid evtchn_alloc_unbound on our stack.
        check(unsafe {
            hypercall(
                EVENT_CHANNEL_OP,
                EVTCHNOP_ALLOC_UNBOUND,
                &raw mut arg as u64,
                0,
            )
        })?;
        Ok(arg.port)
    }

    /// Blocks until one of `ports` is pending or system time `timeout_ns`
    /// (0: no timeout).
    pub fn sched_poll(ports: &[Port], timeout_ns: u64) -> Result<(), XenError> {
        let mut arg = SchedPoll {
            ports: ports.as_ptr() as u64,
            nr_ports: ports.len() as u32,
            timeout: timeout_ns,
        };
        // SAFETY: a valid sched_poll on our stack pointing to `ports`,
        // which outlives the call.
        check(unsafe { hypercall(SCHED_OP, SCHEDOP_POLL, &raw mut arg as u64, 0) })
    }

    /// Stops the domain; returns only if Xen refused.
    pub fn sched_shutdown(reason: ShutdownReason) -> XenError {
        let mut arg = reason as u32;
        // SAFETY: struct sched_shutdown is one u32 reason, on our stack.
        XenError(unsafe { hypercall(SCHED_OP, SCHEDOP_SHUTDOWN, &raw mut arg as u64, 0) })
    }

    /// (frames in use, most frames allowed) of our grant table.
    pub fn gnttab_query_size() -> Result<(u32, u32), XenError> {
        let mut arg = GnttabQuerySize {
            dom: DOMID_SELF,
            ..GnttabQuerySize::default()
        };
        // SAFETY: a valid gnttab_query_size on our stack; count 1.
        check(unsafe { hypercall(GRANT_TABLE_OP, GNTTABOP_QUERY_SIZE, &raw mut arg as u64, 1) })?;
        if arg.status != 0 {
            return Err(XenError(i64::from(arg.status)));
        }
        Ok((arg.nr_frames, arg.max_nr_frames))
    }
}

#[cfg(test)]
mod tests {
    use core::mem::{offset_of, size_of};

    use super::*;

    #[test]
    fn structures_match_the_public_headers() {
        assert_eq!(size_of::<AddToPhysmap>(), 24);
        assert_eq!(offset_of!(AddToPhysmap, space), 4);
        assert_eq!(offset_of!(AddToPhysmap, idx), 8);
        assert_eq!(offset_of!(AddToPhysmap, gpfn), 16);
        assert_eq!(size_of::<HvmParam>(), 16);
        assert_eq!(offset_of!(HvmParam, index), 4);
        assert_eq!(offset_of!(HvmParam, value), 8);
        assert_eq!(size_of::<EvtchnAllocUnbound>(), 8);
        assert_eq!(offset_of!(EvtchnAllocUnbound, port), 4);
        assert_eq!(size_of::<SchedPoll>(), 24);
        assert_eq!(offset_of!(SchedPoll, nr_ports), 8);
        assert_eq!(offset_of!(SchedPoll, timeout), 16);
        assert_eq!(size_of::<GnttabQuerySize>(), 16);
        assert_eq!(size_of::<MemoryMap>(), 16);
        assert_eq!(offset_of!(MemoryMap, buffer), 8);
        assert_eq!(size_of::<E820Entry>(), 20);
        assert_eq!(offset_of!(GnttabQuerySize, status), 12);
    }

    fn regs(s: &[u8; 12]) -> (u32, u32, u32) {
        let w = |i: usize| u32::from_le_bytes(s[i..i + 4].try_into().unwrap());
        (w(0), w(4), w(8))
    }

    #[test]
    fn finds_xen_at_any_base_and_ignores_other_hypervisors() {
        let xen = |base: u32, hyperv_first: bool| {
            move |leaf: u32| {
                let (b, c, d) = regs(b"XenVMMXenVMM");
                if hyperv_first && leaf == 0x4000_0000 {
                    let (b, c, d) = regs(b"Microsoft Hv");
                    return (0x4000_0006, b, c, d);
                }
                match leaf {
                    l if l == base => (base + 5, b, c, d),
                    l if l == base + 1 => ((4 << 16) | 17, 0, 0, 0),
                    l if l == base + 2 => (1, 0x4000_0200, 0, 0),
                    _ => (0, 0, 0, 0),
                }
            }
        };
        for (base, hyperv_first) in [
            (0x4000_0000, false),
            (0x4000_0100, true),
            (0x4000_FF00, true),
        ] {
            assert_eq!(
                find_xen(xen(base, hyperv_first)),
                Some(XenCpuid {
                    base,
                    major: 4,
                    minor: 17,
                    hypercall_msr: 0x4000_0200
                })
            );
        }
        let kvm = |leaf: u32| {
            let (b, c, d) = regs(b"KVMKVMKVM\0\0\0");
            if leaf == 0x4000_0000 {
                (0x4000_0001, b, c, d)
            } else {
                (0, 0, 0, 0)
            }
        };
        assert_eq!(find_xen(kvm), None);
        // A Xen signature without the hypercall leaf is not usable.
        let short = |leaf: u32| {
            let (b, c, d) = regs(b"XenVMMXenVMM");
            if leaf == 0x4000_0000 {
                (0x4000_0001, b, c, d)
            } else {
                (0, 0, 0, 0)
            }
        };
        assert_eq!(find_xen(short), None);
    }
}
