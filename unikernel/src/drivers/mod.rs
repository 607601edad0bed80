//! Device drivers, one per file: the things the platform finds on the
//! machine (ACPI tables, the COM1 UART, the CMOS RTC, PCI, virtio).

pub mod acpi;
pub mod pci;
pub mod rtc;
pub mod serial;
pub mod virtio_hal;
pub mod virtio_mmio;
pub mod virtio_net;
pub mod virtio_rng;
