//! Ephemeral key exchange: X25519 (RFC 7748) and secp256r1 (NIST P-256).
//!
//! The ephemeral secret is drawn from the provider's [`SecureRandom`], not
//! from an OS generator inside the curve crates: in the unikernel the DRBG is
//! the only source of randomness, and a source that fails makes the
//! handshake fail (`Error::FailedToGetRandomBytes`) rather than fall back
//! to anything weaker.
//!
//! Peer key shares are checked strictly: exactly 32 bytes for X25519 (and a
//! non-zero shared secret, RFC 8446 §7.4.2), exactly one uncompressed point
//! on the curve for P-256 (RFC 8446 §4.2.8.2). Anything else is
//! `PeerMisbehaved::InvalidKeyShare`.

use alloc::boxed::Box;

use p256::elliptic_curve::sec1::ToSec1Point;
use rustls::crypto::{ActiveKeyExchange, SecureRandom, SharedSecret, SupportedKxGroup};
use rustls::ffdhe_groups::FfdheGroup;
use rustls::{Error, NamedGroup, PeerMisbehaved};
use zeroize::Zeroizing;

/// X25519 key exchange, randomness from `random`.
#[derive(Debug)]
pub struct X25519 {
    random: &'static dyn SecureRandom,
}

impl X25519 {
    /// A group whose ephemeral secrets come from `random`.
    pub const fn new(random: &'static dyn SecureRandom) -> Self {
        Self { random }
    }
}

impl SupportedKxGroup for X25519 {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        let mut seed = Zeroizing::new([0u8; 32]);
        self.random.fill(&mut seed[..])?;
        // Every 32-byte string is a valid X25519 scalar (it is clamped on
        // use), so one draw always suffices.
        Ok(Box::new(X25519Exchange::from_secret(*seed)))
    }

    fn name(&self) -> NamedGroup {
        NamedGroup::X25519
    }

    // Overridden because the default looks the group up in a table of
    // FFDHE parameters, which the linker then cannot drop.
    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        None
    }
}

struct X25519Exchange {
    // `StaticSecret` only for its by-value constructor and `&self`
    // Diffie-Hellman; it is still used exactly once and wiped on drop.
    secret: x25519_dalek::StaticSecret,
    public: [u8; 32],
}

impl X25519Exchange {
    fn from_secret(bytes: [u8; 32]) -> Self {
        let secret = x25519_dalek::StaticSecret::from(bytes);
        let public = x25519_dalek::PublicKey::from(&secret).to_bytes();
        Self { secret, public }
    }
}

impl ActiveKeyExchange for X25519Exchange {
    fn complete(self: Box<Self>, peer_pub_key: &[u8]) -> Result<SharedSecret, Error> {
        let peer =
            <[u8; 32]>::try_from(peer_pub_key).map_err(|_| PeerMisbehaved::InvalidKeyShare)?;
        let shared = self
            .secret
            .diffie_hellman(&x25519_dalek::PublicKey::from(peer));
        // A low-order peer point yields the all-zero secret; RFC 8446 §7.4.2
        // requires aborting.
        if !shared.was_contributory() {
            return Err(PeerMisbehaved::InvalidKeyShare.into());
        }
        Ok(SharedSecret::from(&shared.as_bytes()[..]))
    }

    fn pub_key(&self) -> &[u8] {
        &self.public
    }

    fn group(&self) -> NamedGroup {
        NamedGroup::X25519
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        None
    }
}

/// secp256r1 (P-256) ECDHE, randomness from `random`.
#[derive(Debug)]
pub struct Secp256r1 {
    random: &'static dyn SecureRandom,
}

impl Secp256r1 {
    /// A group whose ephemeral secrets come from `random`.
    pub const fn new(random: &'static dyn SecureRandom) -> Self {
        Self { random }
    }
}

/// A 32-byte draw is a valid P-256 scalar unless it is zero or at least the
/// group order: probability about 2^-32. Eight consecutive failures mean the
/// source is broken (stuck at all-ones or all-zeros), not unlucky.
const P256_MAX_DRAWS: usize = 8;

/// Uncompressed SEC1 point: 0x04 || x || y.
const P256_POINT_LEN: usize = 65;

impl SupportedKxGroup for Secp256r1 {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        for _ in 0..P256_MAX_DRAWS {
            let mut seed = Zeroizing::new(p256::FieldBytes::default());
            self.random.fill(&mut seed[..])?;
            if let Ok(secret) = p256::SecretKey::from_bytes(&seed) {
                return Ok(Box::new(P256Exchange::from_secret(secret)));
            }
        }
        Err(Error::FailedToGetRandomBytes)
    }

    fn name(&self) -> NamedGroup {
        NamedGroup::secp256r1
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        None
    }
}

struct P256Exchange {
    // `SecretKey` zeroizes its scalar on drop.
    secret: p256::SecretKey,
    public: [u8; P256_POINT_LEN],
}

impl P256Exchange {
    fn from_secret(secret: p256::SecretKey) -> Self {
        let point = secret.public_key().to_sec1_point(false);
        let mut public = [0u8; P256_POINT_LEN];
        // An uncompressed encoding of a non-identity point is always 65
        // bytes; a mismatch would leave zeros, which every peer rejects.
        if let Some(src) = point.as_bytes().get(..P256_POINT_LEN) {
            public.copy_from_slice(src);
        }
        Self { secret, public }
    }
}

impl ActiveKeyExchange for P256Exchange {
    fn complete(self: Box<Self>, peer_pub_key: &[u8]) -> Result<SharedSecret, Error> {
        // TLS allows only the uncompressed form (RFC 8446 §4.2.8.2, RFC 8422
        // §5.1.2); `from_sec1_bytes` alone would also take compressed points.
        if peer_pub_key.len() != P256_POINT_LEN || peer_pub_key[0] != 0x04 {
            return Err(PeerMisbehaved::InvalidKeyShare.into());
        }
        // Rejects points not on the curve and the identity.
        let peer = p256::PublicKey::from_sec1_bytes(peer_pub_key)
            .map_err(|_| PeerMisbehaved::InvalidKeyShare)?;
        let shared = self.secret.diffie_hellman(&peer);
        Ok(SharedSecret::from(&shared.raw_secret_bytes()[..]))
    }

    fn pub_key(&self) -> &[u8] {
        &self.public
    }

    fn group(&self) -> NamedGroup {
        NamedGroup::secp256r1
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        None
    }
}

/// The groups over one random source, in preference order.
///
/// rustls wants `&'static dyn SupportedKxGroup`; a `static KxGroups` (whose
/// source is itself a `static`) gives that without allocation, see
/// [`crate::provider_with_groups`].
#[derive(Debug)]
pub struct KxGroups {
    /// X25519MLKEM768: preferred (post-quantum, with X25519 inside), TLS 1.3 only.
    pub x25519_mlkem768: crate::hybrid::X25519MlKem768,
    /// X25519: the classical choice (fast, constant-time by construction, no
    /// point validation pitfalls), and TLS 1.2's.
    pub x25519: X25519,
    /// secp256r1: for peers without X25519.
    pub secp256r1: Secp256r1,
    random: &'static dyn SecureRandom,
}

impl KxGroups {
    /// The groups drawing from `random`.
    pub const fn new(random: &'static dyn SecureRandom) -> Self {
        Self {
            x25519_mlkem768: crate::hybrid::X25519MlKem768::new(random),
            x25519: X25519::new(random),
            secp256r1: Secp256r1::new(random),
            random,
        }
    }

    /// The source the groups draw from.
    pub fn random(&self) -> &'static dyn SecureRandom {
        self.random
    }

    /// The groups in preference order: X25519MLKEM768 first, so a rustls
    /// client sends its key share (and, as its hybrid component, an X25519
    /// share) in the ClientHello; then X25519, then P-256.
    ///
    /// As a server, rustls takes the first group of the *client's* list that
    /// this list also holds, so the order here decides what the piñata
    /// offers, not what it accepts.
    pub fn all(&'static self) -> alloc::vec::Vec<&'static dyn SupportedKxGroup> {
        alloc::vec![&self.x25519_mlkem768, &self.x25519, &self.secp256r1]
    }
}

// The tests use the OS generator (`crate::test_random`).
#[cfg(test)]
mod tests {
    use super::*;
    use core::sync::atomic::{AtomicUsize, Ordering};
    use rustls::crypto::GetRandomFailed;

    /// Hands out fixed bytes, for known-answer tests.
    #[derive(Debug)]
    struct Fixed(&'static [u8]);
    impl SecureRandom for Fixed {
        fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
            buf.copy_from_slice(self.0.get(..buf.len()).ok_or(GetRandomFailed)?);
            Ok(())
        }
    }

    #[derive(Debug)]
    struct Broken;
    impl SecureRandom for Broken {
        fn fill(&self, _: &mut [u8]) -> Result<(), GetRandomFailed> {
            Err(GetRandomFailed)
        }
    }

    /// First draw all-ones (above the P-256 order), then a valid scalar.
    #[derive(Debug)]
    struct OnesThenOne(AtomicUsize);
    impl SecureRandom for OnesThenOne {
        fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
            let n = self.0.fetch_add(1, Ordering::Relaxed);
            buf.fill(if n == 0 { 0xff } else { 0 });
            if n != 0 {
                buf[buf.len() - 1] = 1;
            }
            Ok(())
        }
    }

    fn hex32(s: &str) -> [u8; 32] {
        core::array::from_fn(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
    }

    // RFC 7748 §6.1: Alice's private key, Alice's and Bob's public keys and
    // the shared secret.
    const ALICE_PRIVATE: &str = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
    const ALICE_PUBLIC: &str = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
    const BOB_PUBLIC: &str = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
    const SHARED: &str = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

    #[test]
    fn x25519_rfc7748_vector_through_the_provider_kx() {
        let alice: &'static [u8; 32] = Box::leak(Box::new(hex32(ALICE_PRIVATE)));
        let random: &'static Fixed = Box::leak(Box::new(Fixed(alice)));
        let group: &'static X25519 = Box::leak(Box::new(X25519::new(random)));

        let kx = group.start().unwrap();
        assert_eq!(kx.pub_key(), hex32(ALICE_PUBLIC));
        assert_eq!(kx.group(), NamedGroup::X25519);
        let secret = kx.complete(&hex32(BOB_PUBLIC)).unwrap();
        assert_eq!(secret.secret_bytes(), hex32(SHARED));
    }

    #[test]
    fn x25519_rejects_bad_shares() {
        let group = X25519::new(&crate::test_random::OS_RANDOM);
        for bad in [&[][..], &[9u8; 31][..], &[9u8; 33][..]] {
            let err = group.start().unwrap().complete(bad).err().unwrap();
            assert_eq!(err, Error::from(PeerMisbehaved::InvalidKeyShare));
        }
        // The all-zero point has small order: all-zero shared secret.
        let err = group.start().unwrap().complete(&[0u8; 32]).err().unwrap();
        assert_eq!(err, Error::from(PeerMisbehaved::InvalidKeyShare));
    }

    #[test]
    fn p256_agrees_with_itself_and_rejects_bad_shares() {
        let group = Secp256r1::new(&crate::test_random::OS_RANDOM);
        let a = group.start().unwrap();
        let b = group.start().unwrap();
        assert_eq!(a.pub_key().len(), 65);
        assert_eq!(a.pub_key()[0], 4);
        let (a_pub, b_pub) = (a.pub_key().to_vec(), b.pub_key().to_vec());
        let ab = a.complete(&b_pub).unwrap();
        let ba = b.complete(&a_pub).unwrap();
        assert_eq!(ab.secret_bytes().len(), 32);
        assert_eq!(ab.secret_bytes(), ba.secret_bytes());

        let good = group.start().unwrap().pub_key().to_vec();
        let mut compressed = good[..33].to_vec();
        compressed[0] = 2 | (good[64] & 1);
        let mut off_curve = good.clone();
        off_curve[64] ^= 1;
        let mut identity = [0u8; 65];
        identity[0] = 4;
        for bad in [
            &[][..],
            &good[..64],
            &compressed[..],
            &off_curve[..],
            &identity[..],
            &[0u8][..],
        ] {
            let err = group.start().unwrap().complete(bad).err().unwrap();
            assert_eq!(err, Error::from(PeerMisbehaved::InvalidKeyShare));
        }
    }

    #[test]
    fn p256_retries_out_of_range_draws() {
        let random: &'static OnesThenOne = Box::leak(Box::new(OnesThenOne(AtomicUsize::new(0))));
        let kx = Secp256r1::new(random).start().unwrap();
        // Secret 1: the public key is the generator.
        assert_eq!(
            kx.pub_key()[1..33],
            hex32("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296")
        );
        assert_eq!(random.0.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn failing_or_stuck_source_fails_closed() {
        for group in [
            &X25519::new(&Broken) as &dyn SupportedKxGroup,
            &Secp256r1::new(&Broken),
            &Secp256r1::new(&Fixed(&[0u8; 32])),
            &Secp256r1::new(&Fixed(&[0xffu8; 32])),
        ] {
            assert_eq!(group.start().err().unwrap(), Error::FailedToGetRandomBytes);
        }
    }
}
