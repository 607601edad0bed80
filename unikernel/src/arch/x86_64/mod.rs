//! x86_64: the PVH entry, the CPU's tables (GDT/TSS/IDT), paging, the local
//! APIC timer, the TSC's rate (stated by the hypervisor or CPUID, else
//! measured against the PIT), and power control.
//!
//! Everything here runs on one core with interrupts disabled except inside
//! [`apic::sleep_at_most`].

pub mod apic;
pub mod boot;
pub mod cpu;
pub mod idt;
pub mod paging;
pub mod pit;
pub mod power;
pub mod tsc;
