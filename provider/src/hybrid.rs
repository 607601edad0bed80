//! The hybrid post-quantum key exchange X25519MLKEM768
//! (draft-ietf-tls-ecdhe-mlkem, code point 0x11ec), TLS 1.3 only.
//!
//! Both halves run in every exchange and the TLS secret is their
//! concatenation, so the result is as strong as the stronger of the two: a
//! future quantum computer that breaks X25519 still faces ML-KEM-768, and a
//! flaw in the young ML-KEM code still leaves X25519.
//!
//! # Wire layout (ML-KEM first, for this group)
//!
//! | | bytes |
//! |---|---|
//! | client share | ML-KEM-768 encapsulation key (1184) ‖ X25519 public key (32) |
//! | server share | ML-KEM-768 ciphertext (1088) ‖ X25519 public key (32) |
//! | shared secret | ML-KEM-768 shared secret (32) ‖ X25519 shared secret (32) |
//!
//! A share of any other length, an encapsulation key that fails FIPS 203's
//! modulus check, or a low-order X25519 point is
//! `PeerMisbehaved::InvalidKeyShare`.
//!
//! # Sending X25519 alongside
//!
//! As a client, the piñata offers this group first. Its X25519 half is also
//! offered as a plain X25519 share
//! ([`ActiveKeyExchange::hybrid_component`]), so a server without ML-KEM
//! (OpenSSL 3.0, older rustls) picks X25519 from the same ClientHello instead
//! of asking again with a HelloRetryRequest; only one X25519 secret is drawn.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

use rustls::crypto::{
    ActiveKeyExchange, CompletedKeyExchange, SecureRandom, SharedSecret, SupportedKxGroup,
};
use rustls::ffdhe_groups::FfdheGroup;
use rustls::{Error, NamedGroup, PeerMisbehaved, ProtocolVersion};
use zeroize::Zeroizing;

use crate::kx::X25519;
use crate::mlkem;

/// X25519 public keys and shares are 32 bytes.
const X25519_LEN: usize = 32;
/// The client's share: encapsulation key, then X25519.
pub const CLIENT_SHARE_LEN: usize = mlkem::ENCAPSULATION_KEY_LEN + X25519_LEN;
/// The server's share: ciphertext, then X25519.
pub const SERVER_SHARE_LEN: usize = mlkem::CIPHERTEXT_LEN + X25519_LEN;
/// The TLS shared secret: ML-KEM's, then X25519's.
const SECRET_LEN: usize = mlkem::SHARED_SECRET_LEN + X25519_LEN;

/// X25519MLKEM768, randomness from `random` (for ML-KEM and X25519 alike).
#[derive(Debug)]
pub struct X25519MlKem768 {
    x25519: X25519,
    random: &'static dyn SecureRandom,
}

impl X25519MlKem768 {
    /// A group whose secrets come from `random`.
    pub const fn new(random: &'static dyn SecureRandom) -> Self {
        Self {
            x25519: X25519::new(random),
            random,
        }
    }
}

fn invalid_share() -> Error {
    PeerMisbehaved::InvalidKeyShare.into()
}

/// The two shared secrets as one, in the draft's order.
fn combine(post_quantum: &[u8], classical: &[u8]) -> SharedSecret {
    // Exact capacity: no reallocation leaves a copy behind; `SharedSecret`
    // wipes its buffer when rustls drops it.
    let mut secret = Vec::with_capacity(SECRET_LEN);
    secret.extend_from_slice(post_quantum);
    secret.extend_from_slice(classical);
    SharedSecret::from(secret)
}

impl SupportedKxGroup for X25519MlKem768 {
    /// Client side: a fresh ML-KEM key pair and X25519 secret.
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        let mut seed = Zeroizing::new([0u8; mlkem::KEY_GENERATION_SEED_LEN]);
        self.random.fill(&mut seed[..])?;
        let x25519 = self.x25519.start()?;
        let mut share = vec![0u8; CLIENT_SHARE_LEN];
        let (encapsulation_key, classical) = share.split_at_mut(mlkem::ENCAPSULATION_KEY_LEN);
        let decapsulation_key = mlkem::generate(
            &seed,
            encapsulation_key
                .try_into()
                .map_err(|_| Error::General("ML-KEM share layout".into()))?,
        );
        classical.copy_from_slice(x25519.pub_key());
        Ok(Box::new(ActiveHybrid {
            decapsulation_key,
            x25519,
            share,
        }))
    }

    /// Server side: encapsulate to the client's key and answer its X25519
    /// share, in one step.
    fn start_and_complete(&self, client_share: &[u8]) -> Result<CompletedKeyExchange, Error> {
        if client_share.len() != CLIENT_SHARE_LEN {
            return Err(invalid_share());
        }
        let (encapsulation_key, classical) = client_share.split_at(mlkem::ENCAPSULATION_KEY_LEN);

        let mut seed = Zeroizing::new([0u8; mlkem::ENCAPSULATION_SEED_LEN]);
        self.random.fill(&mut seed[..])?;
        let mut share = vec![0u8; SERVER_SHARE_LEN];
        let (ciphertext, our_classical) = share.split_at_mut(mlkem::CIPHERTEXT_LEN);
        let post_quantum = mlkem::encapsulate(
            encapsulation_key,
            &seed,
            ciphertext
                .try_into()
                .map_err(|_| Error::General("ML-KEM share layout".into()))?,
        )
        .ok_or_else(invalid_share)?;

        let x25519 = self.x25519.start_and_complete(classical)?;
        our_classical.copy_from_slice(&x25519.pub_key);
        Ok(CompletedKeyExchange {
            group: NamedGroup::X25519MLKEM768,
            pub_key: share,
            secret: combine(&post_quantum[..], x25519.secret.secret_bytes()),
        })
    }

    fn name(&self) -> NamedGroup {
        NamedGroup::X25519MLKEM768
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        None
    }

    /// A TLS 1.3 group only: TLS 1.2's ECDHE messages cannot carry it.
    fn usable_for_version(&self, version: ProtocolVersion) -> bool {
        version == ProtocolVersion::TLSv1_3
    }
}

/// The client's half-finished exchange.
struct ActiveHybrid {
    /// Wiped on drop.
    decapsulation_key: mlkem::DecapsulationKey,
    x25519: Box<dyn ActiveKeyExchange>,
    share: Vec<u8>,
}

impl ActiveKeyExchange for ActiveHybrid {
    fn complete(self: Box<Self>, server_share: &[u8]) -> Result<SharedSecret, Error> {
        if server_share.len() != SERVER_SHARE_LEN {
            return Err(invalid_share());
        }
        let (ciphertext, classical) = server_share.split_at(mlkem::CIPHERTEXT_LEN);
        let post_quantum =
            mlkem::decapsulate(&self.decapsulation_key, ciphertext).ok_or_else(invalid_share)?;
        let classical = self.x25519.complete(classical)?;
        Ok(combine(&post_quantum[..], classical.secret_bytes()))
    }

    fn hybrid_component(&self) -> Option<(NamedGroup, &[u8])> {
        Some((NamedGroup::X25519, self.x25519.pub_key()))
    }

    fn complete_hybrid_component(
        self: Box<Self>,
        server_share: &[u8],
    ) -> Result<SharedSecret, Error> {
        self.x25519.complete(server_share)
    }

    fn pub_key(&self) -> &[u8] {
        &self.share
    }

    fn group(&self) -> NamedGroup {
        NamedGroup::X25519MLKEM768
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::sync::atomic::{AtomicU8, Ordering};
    use rustls::crypto::GetRandomFailed;
    use sha2::{Digest, Sha256};

    /// Counts up from 0: byte i of all draws together is i (mod 256).
    #[derive(Debug)]
    struct Counting(AtomicU8);
    impl SecureRandom for Counting {
        fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
            for b in buf {
                *b = self.0.fetch_add(1, Ordering::Relaxed);
            }
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

    fn hex(bytes: &[u8]) -> alloc::string::String {
        bytes.iter().map(|b| alloc::format!("{b:02x}")).collect()
    }

    fn group() -> X25519MlKem768 {
        X25519MlKem768::new(&crate::test_random::OS_RANDOM)
    }

    /// Known answer, computed with an independent implementation
    /// (libcrux-ml-kem 0.0.11, portable): key pair from the seed 0, 1, …, 63,
    /// encapsulation with the message 64, 65, …, 95.
    #[test]
    fn mlkem768_known_answer_from_another_implementation() {
        let seed: [u8; 64] = core::array::from_fn(|i| i as u8);
        let message: [u8; 32] = core::array::from_fn(|i| (64 + i) as u8);
        let mut ek = [0u8; mlkem::ENCAPSULATION_KEY_LEN];
        let dk = mlkem::generate(&seed, &mut ek);
        let mut ct = [0u8; mlkem::CIPHERTEXT_LEN];
        let shared = mlkem::encapsulate(&ek, &message, &mut ct).unwrap();
        assert_eq!(
            hex(&Sha256::digest(ek)),
            "0b7934c83125c788995e2ba6bd761e33046b3e40571be53e023309a29f398cc9"
        );
        assert_eq!(
            hex(&Sha256::digest(ct)),
            "dbf4e9aa48b078ad46ec1c9c47bda8c2d2fec9d0e7a21bd48d2238a2abedb856"
        );
        assert_eq!(
            hex(&shared[..]),
            "9cddd089ffe70e3996e76f7c8d06746df34d07e8657bc0fcf2bb0e1c3084aea1"
        );
        assert_eq!(mlkem::decapsulate(&dk, &ct).unwrap()[..], shared[..]);
    }

    #[test]
    fn client_and_server_agree_and_lay_out_shares_as_the_draft_says() {
        let random: &'static Counting = Box::leak(Box::new(Counting(AtomicU8::new(0))));
        let client_group: &'static X25519MlKem768 =
            Box::leak(Box::new(X25519MlKem768::new(random)));
        let client = client_group.start().unwrap();
        assert_eq!(client.group(), NamedGroup::X25519MLKEM768);
        assert_eq!(client.pub_key().len(), CLIENT_SHARE_LEN);
        // The ML-KEM seed was drawn first (bytes 0..64), the X25519 secret
        // next (64..96): the share's tail is that secret's public key.
        let x25519_secret: [u8; 32] = core::array::from_fn(|i| (64 + i) as u8);
        let x25519_public =
            x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(x25519_secret));
        assert_eq!(
            &client.pub_key()[mlkem::ENCAPSULATION_KEY_LEN..],
            x25519_public.as_bytes()
        );
        assert_eq!(
            client.hybrid_component(),
            Some((NamedGroup::X25519, &x25519_public.as_bytes()[..]))
        );

        let server = group().start_and_complete(client.pub_key()).unwrap();
        assert_eq!(server.group, NamedGroup::X25519MLKEM768);
        assert_eq!(server.pub_key.len(), SERVER_SHARE_LEN);
        let server_secret = server.secret.secret_bytes().to_vec();
        let client_secret = client.complete(&server.pub_key).unwrap();
        assert_eq!(client_secret.secret_bytes(), &server_secret[..]);
        assert_eq!(server_secret.len(), SECRET_LEN);

        // The X25519 half is the plain X25519 secret of the two shares.
        let server_x25519 = <[u8; 32]>::try_from(&server.pub_key[mlkem::CIPHERTEXT_LEN..]).unwrap();
        let classical = x25519_dalek::StaticSecret::from(x25519_secret)
            .diffie_hellman(&x25519_dalek::PublicKey::from(server_x25519));
        assert_eq!(
            &server_secret[mlkem::SHARED_SECRET_LEN..],
            classical.as_bytes()
        );
    }

    #[test]
    fn the_x25519_component_completes_alone() {
        let client = group().start().unwrap();
        let (name, share) = client.hybrid_component().unwrap();
        assert_eq!(name, NamedGroup::X25519);
        let server = X25519::new(&crate::test_random::OS_RANDOM)
            .start_and_complete(share)
            .unwrap();
        let secret = client.complete_hybrid_component(&server.pub_key).unwrap();
        assert_eq!(secret.secret_bytes(), server.secret.secret_bytes());
    }

    #[test]
    fn bad_shares_are_invalid_key_shares() {
        let good = group().start().unwrap().pub_key().to_vec();
        // An encapsulation key coefficient of 4095 ≥ q = 3329: FIPS 203's
        // modulus check must refuse it.
        let mut unreduced = good.clone();
        unreduced[0] = 0xff;
        unreduced[1] |= 0x0f;
        // A low-order X25519 point (zero) in an otherwise good share.
        let mut low_order = good.clone();
        low_order[mlkem::ENCAPSULATION_KEY_LEN..].fill(0);
        for bad in [
            &[][..],
            &good[..CLIENT_SHARE_LEN - 1],
            &[good.as_slice(), &[0]].concat(),
            &good[mlkem::ENCAPSULATION_KEY_LEN..],
            &unreduced,
            &low_order,
        ] {
            let err = group().start_and_complete(bad).err().unwrap();
            assert_eq!(err, invalid_share(), "share of {} bytes", bad.len());
        }

        let server = group().start_and_complete(&good).unwrap().pub_key;
        for bad in [
            &[][..],
            &server[..SERVER_SHARE_LEN - 1],
            &server[mlkem::CIPHERTEXT_LEN..],
        ] {
            let err = group().start().unwrap().complete(bad).err().unwrap();
            assert_eq!(err, invalid_share());
        }
    }

    #[test]
    fn a_tampered_ciphertext_gives_a_different_secret() {
        let client = group().start().unwrap();
        let mut server = group().start_and_complete(client.pub_key()).unwrap();
        server.pub_key[0] ^= 1;
        let secret = client.complete(&server.pub_key).unwrap();
        assert_ne!(secret.secret_bytes(), server.secret.secret_bytes());
    }

    #[test]
    fn tls13_only_and_fails_closed_without_entropy() {
        let group = group();
        assert!(group.usable_for_version(ProtocolVersion::TLSv1_3));
        assert!(!group.usable_for_version(ProtocolVersion::TLSv1_2));
        let broken = X25519MlKem768::new(&Broken);
        assert_eq!(broken.start().err().unwrap(), Error::FailedToGetRandomBytes);
        let share = group.start().unwrap().pub_key().to_vec();
        assert_eq!(
            broken.start_and_complete(&share).err().unwrap(),
            Error::FailedToGetRandomBytes
        );
    }
}
