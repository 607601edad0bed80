//! PCI enumeration through the legacy configuration mechanism #1 (ports
//! 0xCF8/0xCFC), which both QEMU machines with PCI offer: i440fx (`pc`)
//! has no ECAM at all, and on `q35` port I/O reaches the first 256 bytes of
//! each function's configuration space — all that virtio's capabilities
//! need. ECAM (MCFG) would add nothing here.
//!
//! Buses are walked from bus 0 through PCI-to-PCI bridges. BARs are the
//! firmware's (SeaBIOS on QEMU, the VMM on cloud-hypervisor); the virtio
//! transport maps them through `virtio_hal` (uncached, above 4 GiB too).

use alloc::vec::Vec;

use virtio_drivers::transport::pci::bus::{
    Command, ConfigurationAccess, DeviceFunction, DeviceFunctionInfo, HeaderType, PciRoot,
};

use crate::arch::x86_64::cpu::{inl, outl};

/// Port-I/O configuration access (mechanism #1).
pub struct PortIoCam;

impl PortIoCam {
    fn address(device_function: DeviceFunction, register_offset: u8) -> u32 {
        0x8000_0000
            | (u32::from(device_function.bus) << 16)
            | (u32::from(device_function.device & 0x1F) << 11)
            | (u32::from(device_function.function & 0x7) << 8)
            | u32::from(register_offset & 0xFC)
    }
}

impl ConfigurationAccess for PortIoCam {
    fn read_word(&self, device_function: DeviceFunction, register_offset: u8) -> u32 {
        // SAFETY: CONFIG_ADDRESS/CONFIG_DATA; single core, interrupts off
        // while the platform runs, so the address/data pair is not torn.
        unsafe {
            outl(0xCF8, Self::address(device_function, register_offset));
            inl(0xCFC)
        }
    }

    fn write_word(&mut self, device_function: DeviceFunction, register_offset: u8, data: u32) {
        // SAFETY: as for `read_word`.
        unsafe {
            outl(0xCF8, Self::address(device_function, register_offset));
            outl(0xCFC, data);
        }
    }

    unsafe fn unsafe_clone(&self) -> Self {
        PortIoCam
    }
}

/// One function found on the bus.
pub struct Found {
    /// Bus, device, function.
    pub location: DeviceFunction,
    /// Vendor, device, class.
    pub info: DeviceFunctionInfo,
}

/// The PCI root complex.
pub fn root() -> PciRoot<PortIoCam> {
    PciRoot::new(PortIoCam)
}

/// Whether anything answers at 00:00.0 (no PCI on microvm by default).
pub fn present() -> bool {
    let host = DeviceFunction {
        bus: 0,
        device: 0,
        function: 0,
    };
    PortIoCam.read_word(host, 0) != 0xFFFF_FFFF
}

/// Every function on bus 0 and behind bridges (at most 32 buses).
pub fn enumerate(root: &PciRoot<PortIoCam>) -> Vec<Found> {
    let mut found = Vec::new();
    let mut buses = alloc::vec![0u8];
    let mut visited = 0usize;
    while let Some(bus) = buses.pop() {
        visited += 1;
        if visited > 32 {
            break;
        }
        for (location, info) in root.enumerate_bus(bus) {
            if info.header_type == HeaderType::PciPciBridge {
                // Secondary bus number: byte 1 of register 0x18.
                let secondary = (PortIoCam.read_word(location, 0x18) >> 8) as u8;
                if secondary != 0 && secondary != bus {
                    buses.push(secondary);
                }
            }
            found.push(Found { location, info });
        }
    }
    found
}

/// Logs a device's memory BARs (where virtio's registers are; on q35
/// QEMU may place 64-bit BARs above 4 GiB, which `virtio_hal` maps).
pub fn log_memory_bars(root: &mut PciRoot<PortIoCam>, location: DeviceFunction) {
    use virtio_drivers::transport::pci::bus::BarInfo;
    let Ok(bars) = root.bars(location) else {
        return;
    };
    for (index, bar) in bars.iter().enumerate() {
        if let Some(BarInfo::Memory {
            address,
            size,
            address_type,
            ..
        }) = bar
        {
            use virtio_drivers::transport::pci::bus::MemoryBarType;
            let width = match address_type {
                MemoryBarType::Width32 => "32-bit",
                MemoryBarType::Below1MiB => "below 1 MiB",
                MemoryBarType::Width64 => "64-bit",
            };
            crate::println!("pci: {location} BAR{index} memory {address:#x} (+{size:#x}, {width})");
        }
    }
}

/// Lets the device decode its memory BARs and master DMA.
pub fn enable(root: &mut PciRoot<PortIoCam>, location: DeviceFunction) {
    let (_, command) = root.get_status_command(location);
    root.set_command(
        location,
        command | Command::MEMORY_SPACE | Command::IO_SPACE | Command::BUS_MASTER,
    );
}
