//! The Xen PVH guest: hypercalls, shared info, event channels, the console
//! ring, grant tables, xenstore and netfront.
//!
//! # How a PVH guest talks to Xen
//!
//! A PVH guest is a hardware-virtualised guest without emulated devices:
//! no PIT, PIC, RTC, ACPI PM, UART or PCI. Everything goes through
//!
//! - **hypercalls** ([`hypercall`]): CPUID leaves `0x4000_0x00` say "XenVMMXenVMM";
//!   leaf base+2 names an MSR, and writing a page's address to it makes Xen
//!   fill that page with one 32-byte stub per hypercall (`vmcall` or
//!   `vmmcall`, whichever the CPU needs);
//! - **the shared-info page** ([`shared_info`]): a page Xen maps into our
//!   physical address space on request (`XENMEM_add_to_physmap`). It holds
//!   the event channels' pending and mask bits and the clocks (each vCPU's
//!   TSC scaling, "pvclock", and the wall-clock base);
//! - **event channels**: doorbells between domains. A port is allocated
//!   with `EVTCHNOP_alloc_unbound`, rung with `EVTCHNOP_send`; an incoming
//!   ring sets the port's pending bit. This guest takes no event
//!   interrupts: it blocks in `SCHEDOP_poll` on the ports it cares about,
//!   with a timeout, which wakes it as soon as one is rung;
//! - **shared rings** in pages both sides map: the console ring
//!   ([`console`], the page named by `HVM_PARAM_CONSOLE_PFN`), xenstore
//!   ([`xenstore`], `HVM_PARAM_STORE_PFN`), and the request/response rings
//!   of `io/ring.h` ([`ring`]) that netfront uses;
//! - **grant tables** ([`grant_table`]): our list of "domain D may access
//!   our frame F (read-only or not)". A backend names our pages by grant
//!   reference, never by address;
//! - **xenstore**: a tree of small strings, the directory where front and
//!   back ends meet: `device/vif/0/backend` says where the network
//!   backend lives, and the two sides exchange ring references, event
//!   channel ports and states there (the "xenbus" handshake, [`netfront`]).
//!
//! # Tested without Xen
//!
//! The drivers are generic over [`SharedMemory`] (how a shared page is
//! read and written) and [`Hypervisor`] (ring a port, allocate a port,
//! read the clock, block until a port fires or a deadline, get a page).
//! The image implements them with real pages and hypercalls (`guest.rs`);
//! the host tests implement them with in-process pages and simulated
//! backends (`sim/`: a xenstore daemon, a network backend, a console
//! daemon) that speak the same wire formats. The same driver code runs in
//! both.

pub mod console;
pub mod control;
pub mod grant_table;
pub mod hypercall;
pub mod netfront;
pub mod ring;
pub mod shared_info;
pub mod shared_memory;
pub mod xenstore;

#[cfg(target_os = "none")]
pub mod guest;

#[cfg(test)]
mod sim;

use core::fmt;

pub use shared_memory::SharedMemory;

/// An event-channel port number.
pub type Port = u32;
/// A domain id.
pub type DomId = u16;

/// A hypercall's negative return value (a Xen errno, e.g. -22 EINVAL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XenError(pub i64);

impl fmt::Display for XenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match -self.0 {
            1 => "EPERM",
            2 => "ENOENT",
            12 => "ENOMEM",
            13 => "EACCES",
            14 => "EFAULT",
            16 => "EBUSY",
            22 => "EINVAL",
            28 => "ENOSPC",
            38 => "ENOSYS",
            _ => "",
        };
        write!(f, "Xen error {}", self.0)?;
        if !name.is_empty() {
            write!(f, " ({name})")?;
        }
        Ok(())
    }
}

/// What the drivers need from the hypervisor: the one seam between the
/// protocol code and either real Xen (the image) or a simulation (tests).
pub trait Hypervisor: Clone {
    /// The pages this hypervisor hands out.
    type Page: SharedMemory;
    /// Rings event channel `port` (`EVTCHNOP_send`).
    fn notify(&self, port: Port);
    /// A new port that domain `remote` may bind (`EVTCHNOP_alloc_unbound`).
    fn alloc_unbound(&self, remote: DomId) -> Result<Port, XenError>;
    /// Monotonic time in nanoseconds (the timeouts' clock).
    fn now_ns(&self) -> u64;
    /// Blocks until `port` is pending or `deadline_ns` has passed, then
    /// clears the port's pending bit. May return early (spuriously): the
    /// caller re-checks its ring and the clock.
    fn wait(&self, port: Port, deadline_ns: u64);
    /// A page of guest memory, or `None` when memory is short. Its
    /// contents are unspecified: drivers zero every page before they share
    /// it (a recycled heap page may hold secrets).
    fn alloc_page(&self) -> Option<Self::Page>;
}

/// Nanoseconds in a millisecond.
pub const MS: u64 = 1_000_000;
