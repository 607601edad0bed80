//! The random generator the piñata runs on (pure logic, unit tested).
//!
//! Seeding: every source's output goes through SHA-256 with a label and a
//! length ([`SeedBuilder`]); the digest is the ChaCha20 key. Only bytes from
//! real sources (RDSEED, RDRAND, virtio-rng) are credited; timing values may
//! be absorbed but are not credited. Without 32 credited bytes there is no
//! seed, and the platform refuses to go on (entropy fails closed).
//!
//! Generation ([`Drbg`]) is "fast key erasure" (D. J. Bernstein, 2017): each
//! request runs ChaCha20 under the current key, takes the first 32 bytes of
//! keystream as the next key and the rest as output, and drops the old key,
//! so a later memory disclosure reveals nothing about earlier outputs.
//!
//! No reseeding: ChaCha20 under a 256-bit key does not wear out within the
//! appliance's lifetime, and the sources are only read at boot. A reseed
//! hook would be `Drbg::mix` below, called with fresh RDRAND output.

use chacha20::ChaCha20;
use chacha20::cipher::{KeyIvInit, StreamCipher};
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

/// Bytes a seed needs from credited sources.
pub const SEED_BYTES: usize = 32;

/// Collects entropy for the seed.
pub struct SeedBuilder {
    hash: Sha256,
    credited: usize,
}

impl Default for SeedBuilder {
    fn default() -> Self {
        let mut hash = Sha256::new();
        hash.update(b"pinata-unikernel seed v1");
        SeedBuilder { hash, credited: 0 }
    }
}

impl SeedBuilder {
    /// Absorbs `bytes` from `source`; counts them towards the seed if
    /// `credit` (the source is a real random number generator).
    pub fn absorb(&mut self, source: &str, bytes: &[u8], credit: bool) {
        self.hash.update((source.len() as u64).to_le_bytes());
        self.hash.update(source.as_bytes());
        self.hash.update((bytes.len() as u64).to_le_bytes());
        self.hash.update(bytes);
        if credit {
            self.credited += bytes.len();
        }
    }

    /// Credited bytes so far.
    pub fn credited(&self) -> usize {
        self.credited
    }

    /// The generator, or `None` without [`SEED_BYTES`] credited bytes.
    pub fn finish(self) -> Option<Drbg> {
        if self.credited < SEED_BYTES {
            return None;
        }
        let mut key: [u8; 32] = self.hash.finalize().into();
        let drbg = Drbg { key };
        key.zeroize();
        Some(drbg)
    }
}

/// ChaCha20 with fast key erasure.
pub struct Drbg {
    key: [u8; 32],
}

impl Drop for Drbg {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl Drbg {
    /// Fills `out` with random bytes.
    pub fn fill(&mut self, out: &mut [u8]) {
        // A fresh key per request, so the nonce can stay fixed; the 32-bit
        // block counter bounds one request to 256 GiB, far above any use.
        let mut cipher = ChaCha20::new(&self.key.into(), &[0u8; 12].into());
        let mut next = [0u8; 32];
        cipher.apply_keystream(&mut next);
        out.fill(0);
        cipher.apply_keystream(out);
        self.key = next;
        next.zeroize();
    }

    /// Mixes extra input into the key (reseeding, if ever wanted).
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "reseed hook, unused: see the module doc")
    )]
    pub fn mix(&mut self, input: &[u8]) {
        let mut hash = Sha256::new();
        hash.update(b"pinata-unikernel reseed v1");
        hash.update(self.key);
        hash.update(input);
        self.key = hash.finalize().into();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fails_closed_without_credit() {
        let mut seed = SeedBuilder::default();
        seed.absorb("tsc", &[1, 2, 3, 4, 5, 6, 7, 8], false);
        seed.absorb("rdrand", &[0u8; 31], true);
        assert_eq!(seed.credited(), 31);
        assert!(seed.finish().is_none());
    }

    #[test]
    fn deterministic_for_a_seed_and_key_erasing() {
        let build = || {
            let mut seed = SeedBuilder::default();
            seed.absorb("virtio-rng", &[7u8; 32], true);
            seed.finish().unwrap()
        };
        let (mut a, mut b) = (build(), build());
        let (mut x, mut y) = ([0u8; 64], [0u8; 64]);
        a.fill(&mut x);
        b.fill(&mut y);
        assert_eq!(x, y);
        // The next output differs (the key moved on) and is not all zero.
        let mut z = [0u8; 64];
        a.fill(&mut z);
        assert_ne!(x, z);
        assert_ne!(z, [0u8; 64]);
    }

    #[test]
    fn sources_and_labels_matter() {
        let out = |label: &str, byte: u8| {
            let mut seed = SeedBuilder::default();
            seed.absorb(label, &[byte; 32], true);
            let mut out = [0u8; 16];
            seed.finish().unwrap().fill(&mut out);
            out
        };
        assert_ne!(out("rdrand", 1), out("rdrand", 2));
        assert_ne!(out("rdrand", 1), out("rdseed", 1));
    }

    #[test]
    fn keystream_matches_chacha20() {
        // With a known key, the output is ChaCha20's keystream after the
        // first 32 bytes (RFC 8439 block function, zero nonce).
        let key = [0x42u8; 32];
        let mut drbg = Drbg { key };
        let mut out = [0u8; 32];
        drbg.fill(&mut out);
        let mut reference = [0u8; 64];
        ChaCha20::new(&key.into(), &[0u8; 12].into()).apply_keystream(&mut reference);
        assert_eq!(out, reference[32..]);
        assert_eq!(drbg.key, reference[..32]);
    }

    #[test]
    fn mix_changes_the_stream() {
        let mut seed = SeedBuilder::default();
        seed.absorb("rdrand", &[9u8; 32], true);
        let mut a = seed.finish().unwrap();
        let mut b = Drbg { key: a.key };
        b.mix(b"fresh");
        let (mut x, mut y) = ([0u8; 16], [0u8; 16]);
        a.fill(&mut x);
        b.fill(&mut y);
        assert_ne!(x, y);
    }
}
