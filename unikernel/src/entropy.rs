//! Entropy at boot, failing closed, and the DRBG every consumer draws from.
//!
//! Sources, each read only if present: RDSEED and RDRAND (when CPUID lists
//! them: carry flag checked, bounded retries, an all-equal batch rejected as
//! a broken generator), and virtio-rng. Their output is hashed into the
//! ChaCha20 DRBG's key (see [`crate::drbg`]). The TSC is absorbed too but
//! not credited. Fewer than 32 credited bytes: no generator, and the boot
//! code says so and powers off — the piñata never makes keys from nothing.
//!
//! Under KVM with QEMU's default CPU model there is no RDRAND: then
//! `-device virtio-rng-pci` is the source.

use core::fmt;

use pinata::random::{GetRandomFailed, SecureRandom};
use spin::Mutex;

use crate::arch::x86_64::cpu;
use crate::drbg::{Drbg, SeedBuilder};

/// The platform's generator: empty (every request fails) until seeded.
pub struct PlatformRandom {
    drbg: Mutex<Option<Drbg>>,
}

impl fmt::Debug for PlatformRandom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlatformRandom(ChaCha20 DRBG)")
    }
}

impl SecureRandom for PlatformRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        match self.drbg.lock().as_mut() {
            Some(drbg) => {
                drbg.fill(buf);
                Ok(())
            }
            None => Err(GetRandomFailed),
        }
    }
}

/// The one generator.
pub static RANDOM: PlatformRandom = PlatformRandom {
    drbg: Mutex::new(None),
};

/// Reads `words` 64-bit values from `step`, each with `tries` attempts.
/// `None` if a value never came or every value is the same (a stuck unit:
/// some AMD parts returned all ones with the carry set).
fn hardware_words(step: fn() -> Option<u64>, tries: usize) -> Option<[u8; 64]> {
    let mut words = [0u64; 8];
    for word in words.iter_mut() {
        *word = (0..tries).find_map(|_| {
            let value = step();
            if value.is_none() {
                core::hint::spin_loop();
            }
            value
        })?;
    }
    if words.iter().all(|&w| w == words[0]) {
        return None;
    }
    let mut bytes = [0u8; 64];
    for (chunk, word) in bytes.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    Some(bytes)
}

/// Reads a device's random bytes into the buffer; returns how many.
pub type DeviceRead<'a> = &'a mut dyn FnMut(&mut [u8]) -> usize;

/// What seeding found, for the boot log.
pub struct Report {
    /// Sources that contributed credited bytes.
    pub sources: [Option<&'static str>; 3],
    /// Credited bytes.
    pub credited: usize,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for source in self.sources.iter().flatten() {
            if !first {
                f.write_str(" + ")?;
            }
            f.write_str(source)?;
            first = false;
        }
        write!(f, " ({} bytes)", self.credited)
    }
}

/// Seeds [`RANDOM`] from every source present. `virtio` reads the
/// virtio-rng device, if there is one, into its buffer and returns the bytes
/// it got. Returns `None` — and leaves the generator empty — without enough
/// entropy.
pub fn init(virtio: Option<DeviceRead<'_>>) -> Option<Report> {
    let mut seed = SeedBuilder::default();
    let mut sources = [None; 3];
    seed.absorb("tsc", &cpu::rdtsc().to_le_bytes(), false);
    if cpu::has_rdseed() {
        // RDSEED may run dry briefly under load: generous retries.
        if let Some(bytes) = hardware_words(cpu::rdseed, 1000) {
            seed.absorb("rdseed", &bytes, true);
            sources[0] = Some("RDSEED");
        }
    }
    if cpu::has_rdrand() {
        // Intel: ten retries make an underflow practically impossible.
        if let Some(bytes) = hardware_words(cpu::rdrand, 10) {
            seed.absorb("rdrand", &bytes, true);
            sources[1] = Some("RDRAND");
        }
    }
    if let Some(read) = virtio {
        let mut bytes = [0u8; 64];
        let got = read(&mut bytes).min(bytes.len());
        if got > 0 {
            seed.absorb("virtio-rng", &bytes[..got], true);
            sources[2] = Some("virtio-rng");
        }
    }
    seed.absorb("tsc", &cpu::rdtsc().to_le_bytes(), false);
    let credited = seed.credited();
    let drbg = seed.finish()?;
    *RANDOM.drbg.lock() = Some(drbg);
    Some(Report { sources, credited })
}
