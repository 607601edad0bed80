//! Device drivers, one per file: the things the platform finds on the
//! machine (ACPI tables, the COM1 UART, the CMOS RTC, KVM's paravirtual
//! clock, the keyboard controller's reset line, PCI, virtio), and
//! the Xen PV drivers (`xen/`), whose protocol code also builds on the
//! host for its tests against simulated backends.

#[cfg(target_os = "none")]
pub mod acpi;
#[cfg(target_os = "none")]
pub mod i8042;
pub mod kvmclock;
#[cfg(target_os = "none")]
pub mod pci;
#[cfg(target_os = "none")]
pub mod rtc;
#[cfg(target_os = "none")]
pub mod serial;
#[cfg(target_os = "none")]
pub mod virtio_hal;
#[cfg(target_os = "none")]
pub mod virtio_mmio;
#[cfg(target_os = "none")]
pub mod virtio_net;
#[cfg(target_os = "none")]
pub mod virtio_rng;
pub mod xen;
