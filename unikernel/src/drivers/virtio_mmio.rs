//! virtio-mmio devices, as Firecracker and QEMU's `microvm` announce them
//! on the command line (`virtio_mmio.device=SIZE@BASE:IRQ`).

use core::ptr::NonNull;

use virtio_drivers::transport::mmio::{MmioTransport, VirtIOHeader};
use virtio_drivers::transport::{DeviceType, Transport};

use crate::arch::x86_64::paging;

/// The transport for the device at `base`, and what kind of device it is.
/// `None` if nothing valid answers there (bad magic, version, or an empty
/// slot: QEMU's microvm announces slots with no device behind them).
pub fn probe(base: u64, size: u64) -> Option<(DeviceType, MmioTransport<'static>)> {
    let header = NonNull::new(base as *mut VirtIOHeader)?;
    if !base.is_multiple_of(4) || !paging::map_mmio(base, size) {
        return None;
    }
    // SAFETY: the command line (the VMM) names this window as a virtio-mmio
    // device's registers; it is mapped uncached above, aligned, and only
    // this transport accesses it.
    let transport = unsafe { MmioTransport::new(header, usize::try_from(size).ok()?) }.ok()?;
    Some((transport.device_type(), transport))
}
