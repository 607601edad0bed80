//! x86_64: the PVH entry, the CPU's tables (GDT/TSS/IDT), paging, the local
//! APIC timer, TSC calibration against the PIT, and power control.
//!
//! Everything here runs on one core with interrupts disabled except inside
//! [`apic::wait_for_interrupt`].

pub mod apic;
pub mod boot;
pub mod cpu;
pub mod idt;
pub mod paging;
pub mod pit;
pub mod power;
pub mod tsc;
