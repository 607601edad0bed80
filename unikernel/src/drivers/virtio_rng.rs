//! virtio-rng (virtio-drivers' driver over the PCI transport): used once at
//! boot to seed the DRBG, then released (the device is reset on drop).

use virtio_drivers::device::rng::VirtIORng;
use virtio_drivers::transport::pci::PciTransport;
use virtio_drivers::transport::pci::bus::{DeviceFunction, PciRoot};

use super::pci::PortIoCam;
use super::virtio_hal::PlatformHal;

/// Fills `out` from the device at `location`; returns the bytes obtained.
///
/// Each request waits for the device's answer (QEMU's backend reads the
/// host's /dev/urandom; a rate limit set with `max-bytes`/`period` would
/// slow this down, not stop it).
pub fn read(
    root: &mut PciRoot<PortIoCam>,
    location: DeviceFunction,
    out: &mut [u8],
) -> Result<usize, &'static str> {
    super::pci::enable(root, location);
    let transport =
        PciTransport::new::<PlatformHal, _>(root, location).map_err(|_| "PCI transport")?;
    let mut rng = VirtIORng::<PlatformHal, _>::new(transport).map_err(|_| "device init")?;
    let mut filled = 0;
    for _ in 0..16 {
        if filled == out.len() {
            break;
        }
        match rng.request_entropy(&mut out[filled..]) {
            Ok(n) => filled += n.min(out.len() - filled),
            Err(_) => break,
        }
    }
    Ok(filled)
}
