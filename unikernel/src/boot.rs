//! The boot sequence, from the first Rust instruction to the hand-over to
//! the main loop. Each step logs one line, so the console shows the
//! timeline: PVH entry → heap → clocks → devices → entropy → NIC up.

use alloc::string::{String, ToString};
use core::ffi::CStr;

use pvh::start_info::reader::StartInfoReader;
use virtio_drivers::transport::mmio::MmioTransport;
use virtio_drivers::transport::pci::PciTransport;
use virtio_drivers::transport::pci::bus::{DeviceFunction, PciRoot};
use virtio_drivers::transport::{DeviceType, SomeTransport};

use crate::arch::x86_64::{apic, boot, idt, paging, power, tsc};
use crate::cmdline::BootConfig;
use crate::drivers::pci::PortIoCam;
use crate::drivers::virtio_hal::PlatformHal;
use crate::drivers::{acpi, pci, virtio_mmio, virtio_net::VirtioNet, virtio_rng, xen};
use crate::memmap::{self, Range, Ranges};
use crate::{console, entropy, heap, platform, println};

const MIB: u64 = 1 << 20;

/// Called by the entry assembly on the boot stack, in long mode, with the
/// PVH start-info physical address. Interrupts are disabled.
pub extern "C" fn kernel_entry(start_info_paddr: u32) -> ! {
    console::init();
    // Under Xen (CPUID "XenVMMXenVMM"): hypercalls, shared info and the
    // console ring first, so every line below reaches `xl console`.
    let on_xen = xen::guest::init_early();
    paging::init();
    let lapic = apic::init();
    idt::init(lapic);
    let calibration = tsc::calibrate();
    if let Some(hz) = calibration.apic_timer_hz {
        apic::set_timer_hz(hz);
    }
    println!(
        "pinata-unikernel {}: PVH entry was at 0.000000 (timestamps: seconds since entry)",
        env!("CARGO_PKG_VERSION")
    );
    println!(
        "clock: TSC {}.{:03} MHz from {}; {}",
        calibration.tsc_hz / 1_000_000,
        calibration.tsc_hz / 1000 % 1000,
        calibration.source,
        if calibration.invariant {
            "invariant TSC"
        } else {
            "TSC not advertised invariant: a constant rate is assumed"
        }
    );
    xen::guest::print_found();
    match calibration.apic_timer_hz {
        Some(hz) => println!(
            "clock: LAPIC timer {} kHz (idle wake-ups at most every {} ms)",
            hz / 1000,
            platform::MAX_SLEEP_MS
        ),
        None => println!("clock: LAPIC timer not calibrated: idle waits spin"),
    }

    // SAFETY: the loader passes a valid start info in %ebx, and the first
    // 4 GiB, where loaders put it, are identity-mapped.
    let Some(start_info) = (unsafe { StartInfoReader::from_paddr_identity(start_info_paddr) })
    else {
        println!(
            "FATAL: no PVH start info at {start_info_paddr:#x} (bad magic): not booted through PVH?"
        );
        platform::poweroff();
    };

    // --- memory
    let (image_start, image_end) = boot::image_range();
    let mut reserved = Ranges::default();
    let mut complete = true;
    complete &= reserved.push(Range {
        start: image_start,
        end: image_end,
    });
    complete &= reserved.push(Range::sized(u64::from(start_info_paddr), 4096));
    let raw = start_info.raw();
    if raw.modlist_paddr != 0 {
        complete &= reserved.push(Range::sized(
            raw.modlist_paddr,
            u64::from(raw.nr_modules) * 32,
        ));
    }
    if raw.version >= 1 && raw.memmap_paddr != 0 {
        complete &= reserved.push(Range::sized(
            raw.memmap_paddr,
            u64::from(raw.memmap_entries) * 24,
        ));
    }
    let cmdline: Option<&CStr> = start_info.cmdline();
    if let Some(c) = cmdline {
        complete &= reserved.push(Range::sized(
            raw.cmdline_paddr,
            c.to_bytes_with_nul().len() as u64,
        ));
    }
    for module in start_info.modlist() {
        complete &= reserved.push(Range::sized(module.raw().paddr, module.raw().size));
        if module.raw().cmdline_paddr != 0 {
            complete &= reserved.push(Range::sized(module.raw().cmdline_paddr, 4096));
        }
    }
    let mut ram = Ranges::default();
    for entry in start_info.memmap() {
        if entry.ty == 1 {
            // Beyond the capacity: only a smaller heap.
            let _ = ram.push(Range::sized(entry.addr, entry.size));
        } else {
            complete &= reserved.push(Range::sized(entry.addr, entry.size));
        }
    }
    // Xen without a memory map in the start info (a PVH dom0, or an older
    // toolstack): Xen's own copy (XENMEM_memory_map).
    if ram.as_slice().is_empty() && on_xen.is_some() {
        xen::guest::memory_map(|addr, size, kind| {
            if kind == 1 {
                let _ = ram.push(Range::sized(addr, size));
            } else {
                complete &= reserved.push(Range::sized(addr, size));
            }
        });
    }
    if !complete {
        println!(
            "FATAL: more than {} reserved memory ranges: cannot place the heap safely",
            memmap::MAX_RANGES
        );
        platform::poweroff();
    }
    if ram.as_slice().is_empty() {
        println!(
            "FATAL: the PVH start info has no memory map (start_info version {})",
            raw.version
        );
        platform::poweroff();
    }
    // Below 1 MiB: firmware data (and on QEMU the start info and command
    // line); above 4 GiB: not identity-mapped. Neither is needed.
    let free = memmap::free_ranges(ram.as_slice(), reserved.as_slice(), MIB, 4 << 30);
    let ram_total: u64 = ram.as_slice().iter().map(Range::len).sum();
    let heap_bytes = heap::init(&free);
    println!(
        "heap: {} MiB in {} range(s) of {} MiB RAM (image {:#x}-{:#x}, {} KiB)",
        heap_bytes / MIB,
        free.as_slice().len(),
        ram_total / MIB,
        image_start,
        image_end,
        (image_end - image_start) / 1024
    );
    // The real check comes once the piñata is set up (the event loop's
    // memory plan, which sizes the stack and the connections' budget from
    // the heap); this one only spares the PKI an allocation failure.
    if heap_bytes < 2 * MIB {
        println!("FATAL: less than 2 MiB of heap: give the VM more memory (-m)");
        platform::poweroff();
    }

    // --- configuration: command line, then the secret module
    let cmdline_text = cmdline
        .map(|c| String::from_utf8_lossy(c.to_bytes()).into_owned())
        .unwrap_or_default();
    let (mut config, notes) = BootConfig::parse(&cmdline_text);
    wipe_secret_in_cmdline(raw.cmdline_paddr, cmdline);
    drop(zeroize::Zeroizing::new(cmdline_text));
    for note in notes {
        println!("config: {note}");
    }
    if let Some(module) = start_info.modlist().next() {
        let bytes = module.as_slice();
        if let Some(note) = config.apply_module(bytes) {
            println!("config: {note}");
        }
        wipe(module.raw().paddr, bytes.len());
        println!(
            "config: boot module of {} bytes read and wiped",
            bytes.len()
        );
    }
    let config = platform::set_boot_config(config);
    println!(
        "config: secret {}, network {}, address {}, gateway {}, panic={}",
        match config.secret_source {
            Some(crate::cmdline::SecretSource::Module) => "from the boot module",
            Some(crate::cmdline::SecretSource::CommandLine) => "from the command line",
            None => "none (no prize loaded)",
        },
        config.network.map(|n| n.name()).unwrap_or("from the WIF"),
        Shown(config.ip.map(|c| alloc::format!("{c}")), "DHCP"),
        Shown(config.gateway.map(|g| alloc::format!("{g}")), "-"),
        config.panic.name()
    );

    if let Some(word) = &config.heap_canary {
        let filled = crate::canary::plant(word.as_bytes(), usize::MAX);
        println!(
            "test: heap canary written over {} KiB of free heap, then freed (test_heap_canary=)",
            filled / 1024
        );
    }

    // --- power-off method and wall clock
    // Xen: no ACPI power-off to look for; power::poweroff and power::reboot
    // ask Xen (SCHEDOP_shutdown) first, as the "power: off through" line
    // below says.
    if on_xen.is_none() {
        match acpi::init(raw.rsdp_paddr) {
            Some(s5) => println!("acpi: power off via {s5}"),
            None => println!("acpi: no S5 sleep method found; power off falls back to QEMU ports"),
        }
    }
    match platform::wall_clock().sync() {
        Some(seconds) => println!(
            "clock: {} says {} s since the epoch (UTC assumed)",
            platform::WallClockSource::current(),
            seconds
        ),
        None => println!(
            "clock: WARNING: no valid date from the {}: certificates cannot be dated or checked",
            platform::WallClockSource::current()
        ),
    }

    // --- devices: PCI, then virtio-mmio slots named on the command line
    let mut root = pci::root();
    let mut net: Option<Device> = None;
    let mut rng: Option<Device> = None;
    if on_xen.is_some() {
        println!("pci: none on a Xen PVH guest (its devices are Xen PV devices)");
    } else if pci::present() {
        for found in pci::enumerate(&root) {
            let i = &found.info;
            let kind = match (i.vendor_id, i.device_id) {
                (0x1AF4, 0x1000 | 0x1041) => {
                    net.get_or_insert(Device::Pci(found.location));
                    " virtio-net"
                }
                (0x1AF4, 0x1005 | 0x1044) => {
                    rng.get_or_insert(Device::Pci(found.location));
                    " virtio-rng"
                }
                _ => "",
            };
            println!(
                "pci: {} {:04x}:{:04x} class {:02x}.{:02x}{}",
                found.location, i.vendor_id, i.device_id, i.class, i.subclass, kind
            );
            if !kind.is_empty() {
                pci::log_memory_bars(&mut root, found.location);
            }
        }
    } else {
        println!("pci: no PCI host bridge (microvm or Firecracker: virtio-mmio only)");
    }
    for slot in &config.virtio_mmio {
        match virtio_mmio::probe(slot.base, slot.size) {
            Some((DeviceType::Network, transport)) if net.is_none() => {
                println!("virtio-mmio: {:#x} virtio-net", slot.base);
                net = Some(Device::Mmio(transport));
            }
            Some((DeviceType::EntropySource, transport)) if rng.is_none() => {
                println!("virtio-mmio: {:#x} virtio-rng", slot.base);
                rng = Some(Device::Mmio(transport));
            }
            Some((kind, _)) => println!(
                "virtio-mmio: {:#x} virtio device type {} (not used)",
                slot.base, kind as u8
            ),
            None => {}
        }
    }

    // --- entropy (fail closed)
    let have_rng = rng.is_some();
    let mut read_virtio = |buf: &mut [u8]| -> usize {
        let Some(device) = rng.take() else { return 0 };
        let name = device.to_string();
        match device
            .transport(&mut root)
            .and_then(|t| virtio_rng::read(t, buf).map_err(|e| alloc::format!("{e}")))
        {
            Ok(n) => n,
            Err(e) => {
                println!("entropy: virtio-rng at {name}: {e}");
                0
            }
        }
    };
    let virtio_source: Option<entropy::DeviceRead<'_>> = if have_rng {
        Some(&mut read_virtio)
    } else {
        None
    };
    match entropy::init(virtio_source) {
        Some(report) => println!("entropy: DRBG seeded from {report}"),
        None => {
            println!(
                "FATAL: no entropy source (no RDRAND/RDSEED, no virtio-rng): refusing to generate keys"
            );
            println!("hint: add `-device virtio-rng-pci` to the QEMU command line");
            platform::poweroff();
        }
    }

    // --- network
    if on_xen.is_some() {
        match xen::guest::start_netfront() {
            Ok(nic) => {
                println!("net: {nic:?} up");
                platform::set_nic(platform::PlatformNic::Xen(nic));
            }
            Err(e) => println!("net: netfront: {e}"),
        }
    }
    match net {
        Some(device) => {
            let name = device.to_string();
            match device.transport(&mut root).and_then(|t| {
                let heap = heap::usage().and_then(|u| u.capacity_bytes).unwrap_or(0);
                let posted = crate::drivers::virtio_net::receive_buffers(heap);
                VirtioNet::new(t, posted).map_err(|e| alloc::format!("{e}"))
            }) {
                Ok(nic) => {
                    use stack::Nic;
                    let m = nic.mac_address();
                    println!(
                        "net: virtio-net at {name} up, MAC {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                        m[0], m[1], m[2], m[3], m[4], m[5]
                    );
                    platform::set_nic(platform::PlatformNic::Virtio(nic));
                }
                Err(e) => println!("net: virtio-net at {name}: {e}"),
            }
        }
        None if on_xen.is_some() => {}
        None => println!("net: no virtio-net device (add `-device virtio-net-pci,netdev=...`)"),
    }
    println!("power: off through {}", power::poweroff_method());
    paging::unmap_null_page();
    println!(
        "boot: platform ready after {} ms",
        platform::now().as_millis()
    );
    crate::run()
}

/// A virtio device found at boot, before its driver starts.
enum Device {
    Pci(DeviceFunction),
    Mmio(MmioTransport<'static>),
}

impl core::fmt::Display for Device {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Device::Pci(location) => write!(f, "PCI {location}"),
            Device::Mmio(_) => f.write_str("virtio-mmio"),
        }
    }
}

impl Device {
    /// The device's transport, ready for a driver.
    fn transport(self, root: &mut PciRoot<PortIoCam>) -> Result<SomeTransport<'static>, String> {
        match self {
            Device::Pci(location) => {
                pci::enable(root, location);
                PciTransport::new::<PlatformHal, _>(root, location)
                    .map(SomeTransport::from)
                    .map_err(|e| alloc::format!("PCI transport: {e}"))
            }
            Device::Mmio(transport) => Ok(SomeTransport::from(transport)),
        }
    }
}

/// Overwrites the value of every `secret=` word in the loader's copy of
/// the command line, so the secret survives only in the zeroizing
/// configuration.
fn wipe_secret_in_cmdline(paddr: u64, cmdline: Option<&CStr>) {
    let Some(cmdline) = cmdline else { return };
    let bytes = cmdline.to_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let word_start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let word = &bytes[word_start..i];
        if let Some(value) = word.strip_prefix(b"secret=") {
            let start = paddr + (word_start + 7) as u64;
            for offset in 0..value.len() as u64 {
                // SAFETY: inside the command line's bytes (before its NUL),
                // identity-mapped RAM that nothing else uses any more (the
                // borrowed `CStr` is not read after this point).
                unsafe { ((start + offset) as *mut u8).write_volatile(b'x') };
            }
        }
        i += 1;
    }
}

/// Zeroes `len` bytes of loader-owned memory at `paddr` (the secret module).
fn wipe(paddr: u64, len: usize) {
    for offset in 0..len as u64 {
        // SAFETY: the module's own bytes, identity-mapped RAM excluded from
        // the heap; its contents have been copied into the configuration.
        unsafe { ((paddr + offset) as *mut u8).write_volatile(0) };
    }
}

/// An optional value or a placeholder, for log lines.
struct Shown(Option<String>, &'static str);

impl core::fmt::Display for Shown {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.0.as_deref().unwrap_or(self.1))
    }
}
