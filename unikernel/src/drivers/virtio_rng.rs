//! virtio-rng (virtio-drivers' driver, over PCI or MMIO): used once at boot
//! to seed the DRBG, then released (the device is reset on drop).

use virtio_drivers::device::rng::VirtIORng;
use virtio_drivers::transport::SomeTransport;

use super::virtio_hal::PlatformHal;

/// Fills `out` from the device behind `transport`; returns the bytes
/// obtained.
///
/// Each request waits for the device's answer (QEMU's backend reads the
/// host's /dev/urandom; a rate limit set with `max-bytes`/`period` would
/// slow this down, not stop it).
pub fn read(
    transport: SomeTransport<'static>,
    out: &mut [u8],
) -> Result<usize, virtio_drivers::Error> {
    let mut rng = VirtIORng::<PlatformHal, _>::new(transport)?;
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
