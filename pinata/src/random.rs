//! The entropy seam.
//!
//! Everything in the piñata that needs randomness — TLS nonces and key
//! shares, the PKI bootstrap's key pairs, the demo wallet key — takes it from
//! one [`SecureRandom`] supplied by the platform:
//! the operating system's generator when hosted ([`OsRandom`]), a ChaCha20
//! DRBG seeded from RDSEED/RDRAND/virtio-rng in the unikernel. A source that
//! cannot deliver returns an error and the caller refuses to go on: entropy
//! fails closed.

pub use rustls::crypto::{GetRandomFailed, SecureRandom};

/// The operating system's generator (`getrandom(2)` on Linux).
#[cfg(feature = "std")]
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

#[cfg(feature = "std")]
impl SecureRandom for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        getrandom::fill(buf).map_err(|_| GetRandomFailed)
    }
}

/// The hosted runner's source, as a `'static` reference for
/// [`rustls::crypto::CryptoProvider::secure_random`].
#[cfg(feature = "std")]
pub static OS_RANDOM: OsRandom = OsRandom;
