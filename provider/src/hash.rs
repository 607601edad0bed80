//! SHA-256 and SHA-384 behind rustls's [`Hash`] interface.
//!
//! These are the transcript hashes of the five cipher suites: every suite
//! ends in `_SHA256` or `_SHA384`. SHA-512 is absent because no suite (and
//! no signature scheme we verify) needs it.

use alloc::boxed::Box;

use rustls::crypto::hash::{Context, Hash, HashAlgorithm, Output};
use sha2::Digest;

/// SHA-256 (FIPS 180-4).
pub static SHA256: Sha2<sha2::Sha256> = Sha2::new(HashAlgorithm::SHA256);
/// SHA-384 (FIPS 180-4).
pub static SHA384: Sha2<sha2::Sha384> = Sha2::new(HashAlgorithm::SHA384);

/// A SHA-2 function `D`, tagged with the TLS name rustls knows it by.
pub struct Sha2<D> {
    algorithm: HashAlgorithm,
    // `fn() -> D` keeps the struct `Send + Sync` and const-constructible
    // whatever `D` is: no `D` value is ever stored here.
    _digest: core::marker::PhantomData<fn() -> D>,
}

impl<D> Sha2<D> {
    const fn new(algorithm: HashAlgorithm) -> Self {
        Self {
            algorithm,
            _digest: core::marker::PhantomData,
        }
    }
}

impl<D> Hash for Sha2<D>
where
    D: Digest + Clone + Send + Sync + 'static,
{
    fn start(&self) -> Box<dyn Context> {
        Box::new(Sha2Context(D::new()))
    }

    fn hash(&self, data: &[u8]) -> Output {
        Output::new(&D::digest(data)[..])
    }

    fn output_len(&self) -> usize {
        <D as Digest>::output_size()
    }

    fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }
}

/// A running hash; rustls forks it to hash transcript prefixes.
struct Sha2Context<D>(D);

impl<D> Context for Sha2Context<D>
where
    D: Digest + Clone + Send + Sync + 'static,
{
    fn fork_finish(&self) -> Output {
        Output::new(&self.0.clone().finalize()[..])
    }

    fn fork(&self) -> Box<dyn Context> {
        Box::new(Sha2Context(self.0.clone()))
    }

    fn finish(self: Box<Self>) -> Output {
        Output::new(&self.0.finalize()[..])
    }

    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // FIPS 180-2 appendix B.1 / D.1: the one-block message "abc".
    #[test]
    fn known_answers_abc() {
        let h256 = SHA256.hash(b"abc");
        assert_eq!(
            h256.as_ref(),
            &[
                0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae,
                0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61,
                0xf2, 0x00, 0x15, 0xad
            ][..]
        );
        let h384 = SHA384.hash(b"abc");
        assert_eq!(
            h384.as_ref()[..8],
            [0xcb, 0x00, 0x75, 0x3f, 0x45, 0xa3, 0x5e, 0x8b]
        );
        assert_eq!(SHA384.output_len(), 48);
    }

    #[test]
    fn incremental_and_fork_agree_with_one_shot() {
        let mut ctx = SHA256.start();
        ctx.update(b"a");
        let fork = ctx.fork();
        ctx.update(b"bc");
        assert_eq!(ctx.fork_finish().as_ref(), SHA256.hash(b"abc").as_ref());
        assert_eq!(ctx.finish().as_ref(), SHA256.hash(b"abc").as_ref());
        assert_eq!(fork.finish().as_ref(), SHA256.hash(b"a").as_ref());
    }
}
