//! Loading private keys and signing handshakes: ECDSA P-256 with SHA-256
//! (`ecdsa_secp256r1_sha256`) and Ed25519.
//!
//! Those are the key types the piñata's PKI bootstrap generates. Keys are
//! accepted as PKCS#8 (both types) or SEC1 (P-256); anything else (RSA,
//! P-384, P-521, Ed448, garbage) is a clear `Error::General`, never a panic.
//!
//! ECDSA nonces are derived deterministically (RFC 6979) and Ed25519 is
//! deterministic by design, so signing needs no randomness: a weak or
//! failing random source can never leak a signing key through nonce reuse.
//!
//! # Erasure
//!
//! Both key types wipe their secret scalars on drop. The PKCS#8/SEC1 bytes
//! rustls hands to [`rustls::crypto::KeyProvider::load_private_key`] are its own copy
//! (`key_der`, moved in), so they are wiped here as soon as they are parsed.
//! What the crates leave on the stack — the decoder's scratch, the key's
//! moved-from copies, each signature's RFC 6979 state and nonce or Ed25519
//! expanded key and nonce — is overwritten right after
//! ([`crate::wipe::scrub_stack`]).

use alloc::boxed::Box;
use alloc::format;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use ed25519_dalek::pkcs8::DecodePrivateKey as _;
use rustls::pki_types::{PrivateKeyDer, SubjectPublicKeyInfoDer, alg_id};
use rustls::sign::{Signer, SigningKey, public_key_to_spki};
use rustls::{Error, SignatureAlgorithm, SignatureScheme};
use zeroize::Zeroize;

use crate::wipe::scrub_stack;

/// The piñata's [`rustls::crypto::KeyProvider`]; stateless.
#[derive(Debug)]
pub struct KeyProvider;

/// The instance [`crate::provider`] installs.
pub static KEY_PROVIDER: KeyProvider = KeyProvider;

impl rustls::crypto::KeyProvider for KeyProvider {
    /// Parses the key, then wipes `key_der` (rustls's copy, ours now) and
    /// the stack the parsing used.
    fn load_private_key(
        &self,
        mut key_der: PrivateKeyDer<'static>,
    ) -> Result<Arc<dyn SigningKey>, Error> {
        let key = decode(&key_der);
        key_der.zeroize();
        scrub_stack();
        key
    }
}

/// The key in `key_der` as a rustls signing key. Not inlined, so that its
/// stack lies below the caller's frame, where the scrub reaches.
#[inline(never)]
fn decode(key_der: &PrivateKeyDer<'_>) -> Result<Arc<dyn SigningKey>, Error> {
    match key_der {
        PrivateKeyDer::Pkcs8(der) => {
            let der = der.secret_pkcs8_der();
            // The decoders check the algorithm (and curve) identifiers,
            // so at most one of them accepts a given key.
            if let Some(key) = p256_from_pkcs8(der) {
                Ok(Arc::new(EcdsaP256Key::new(key)))
            } else if let Ok(key) = ed25519_dalek::SigningKey::from_pkcs8_der(der) {
                Ok(Arc::new(Ed25519Key(Arc::new(key))))
            } else {
                Err(unsupported("this PKCS#8 key"))
            }
        }
        PrivateKeyDer::Sec1(der) => p256_from_sec1(der.secret_sec1_der())
            .map(|key| Arc::new(EcdsaP256Key::new(key)) as Arc<dyn SigningKey>)
            .ok_or_else(|| unsupported("this SEC1 key (only P-256 is accepted)")),
        PrivateKeyDer::Pkcs1(_) => Err(unsupported("RSA (PKCS#1) keys")),
        _ => Err(unsupported("this key encoding")),
    }
}

/// A P-256 key from PKCS#8 (RFC 5208 around RFC 5915): algorithm
/// id-ecPublicKey with the curve prime256v1, then [`p256_from_sec1`].
fn p256_from_pkcs8(der: &[u8]) -> Option<p256::ecdsa::SigningKey> {
    use p256::elliptic_curve::pkcs8::der::Decode;
    use p256::elliptic_curve::pkcs8::{AssociatedOid, ObjectIdentifier, PrivateKeyInfoRef};
    const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
    let info = PrivateKeyInfoRef::from_der(der).ok()?;
    info.algorithm
        .assert_oids(ID_EC_PUBLIC_KEY, p256::NistP256::OID)
        .ok()?;
    p256_from_sec1(info.private_key.as_bytes())
}

/// A P-256 key from a SEC1 `ECPrivateKey` (RFC 5915), with the checks
/// `p256`'s own decoder makes — the curve, if named, is P-256; the scalar
/// is in range; an embedded public key is the scalar's — but one scalar
/// multiplication instead of two: `p256` derives the public key once to
/// check it and again for the signing key, each a P-256 scalar
/// multiplication at boot (about 0.2 ms on the host, far more under TCG).
fn p256_from_sec1(der: &[u8]) -> Option<p256::ecdsa::SigningKey> {
    use p256::elliptic_curve::pkcs8::AssociatedOid;
    use p256::elliptic_curve::pkcs8::der::Decode;
    let ec = sec1::EcPrivateKey::from_der(der).ok()?;
    match ec.parameters {
        None => {}
        Some(sec1::EcParameters::NamedCurve(curve)) if curve == p256::NistP256::OID => {}
        Some(_) => return None,
    }
    let key = p256::ecdsa::SigningKey::from_slice(ec.private_key).ok()?;
    if let Some(public) = ec.public_key {
        let compressed = public.len() == 33;
        let ours = key.verifying_key().to_sec1_point(compressed);
        if ours.as_bytes() != public {
            return None;
        }
    }
    Some(key)
}

fn unsupported(what: &str) -> Error {
    Error::General(format!(
        "unsupported private key: {what}; the piñata's provider signs only with \
         ECDSA P-256 (PKCS#8 or SEC1) or Ed25519 (PKCS#8) keys"
    ))
}

/// An ECDSA P-256 key, offering `ecdsa_secp256r1_sha256`.
pub struct EcdsaP256Key {
    key: Arc<p256::ecdsa::SigningKey>,
}

impl EcdsaP256Key {
    /// Wrap a P-256 signing key (e.g. one the PKI bootstrap just generated).
    pub fn new(key: p256::ecdsa::SigningKey) -> Self {
        Self { key: Arc::new(key) }
    }
}

impl fmt::Debug for EcdsaP256Key {
    // Never print key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EcdsaP256Key")
    }
}

impl SigningKey for EcdsaP256Key {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        offered
            .contains(&SignatureScheme::ECDSA_NISTP256_SHA256)
            .then(|| Box::new(EcdsaP256Signer(self.key.clone())) as Box<dyn Signer>)
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        // Lets rustls check that the certificate matches the key.
        let point = self.key.verifying_key().to_sec1_point(false);
        Some(public_key_to_spki(&alg_id::ECDSA_P256, point.as_bytes()))
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::ECDSA
    }
}

struct EcdsaP256Signer(Arc<p256::ecdsa::SigningKey>);

impl fmt::Debug for EcdsaP256Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EcdsaP256Signer")
    }
}

impl Signer for EcdsaP256Signer {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let signature = ecdsa_p256_sign(&self.0, message);
        scrub_stack();
        signature
    }

    fn scheme(&self) -> SignatureScheme {
        SignatureScheme::ECDSA_NISTP256_SHA256
    }
}

/// SHA-256 of the message, RFC 6979 nonce, DER-encoded (r, s) as TLS
/// carries it. Not inlined: its stack must lie below the caller's scrub.
#[inline(never)]
fn ecdsa_p256_sign(key: &p256::ecdsa::SigningKey, message: &[u8]) -> Result<Vec<u8>, Error> {
    use p256::ecdsa::signature::Signer as _;
    let signature: p256::ecdsa::DerSignature = key
        .try_sign(message)
        .map_err(|_| Error::General("ECDSA P-256 signing failed".into()))?;
    Ok(signature.as_bytes().to_vec())
}

/// Pure Ed25519 (RFC 8032). Not inlined: its stack must lie below the
/// caller's scrub.
#[inline(never)]
fn ed25519_sign(key: &ed25519_dalek::SigningKey, message: &[u8]) -> Result<Vec<u8>, Error> {
    use ed25519_dalek::Signer as _;
    let signature = key
        .try_sign(message)
        .map_err(|_| Error::General("Ed25519 signing failed".into()))?;
    Ok(signature.to_bytes().to_vec())
}

/// An Ed25519 key (RFC 8032), offering `ed25519`.
pub struct Ed25519Key(Arc<ed25519_dalek::SigningKey>);

impl Ed25519Key {
    /// Wrap an Ed25519 signing key.
    pub fn new(key: ed25519_dalek::SigningKey) -> Self {
        Self(Arc::new(key))
    }
}

impl fmt::Debug for Ed25519Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ed25519Key")
    }
}

impl SigningKey for Ed25519Key {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        offered
            .contains(&SignatureScheme::ED25519)
            .then(|| Box::new(Ed25519Signer(self.0.clone())) as Box<dyn Signer>)
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        Some(public_key_to_spki(
            &alg_id::ED25519,
            self.0.verifying_key().as_bytes(),
        ))
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::ED25519
    }
}

struct Ed25519Signer(Arc<ed25519_dalek::SigningKey>);

impl fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ed25519Signer")
    }
}

impl Signer for Ed25519Signer {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let signature = ed25519_sign(&self.0, message);
        scrub_stack();
        signature
    }

    fn scheme(&self) -> SignatureScheme {
        SignatureScheme::ED25519
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::crypto::KeyProvider as _;
    use rustls::pki_types::{PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer};

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // RFC 6979 §A.2.5: with deterministic nonces, signing "sample" with this
    // key under SHA-256 must give exactly this (r, s).
    #[test]
    fn ecdsa_p256_rfc6979_known_answer() {
        let x = hex("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721");
        let key = EcdsaP256Key::new(p256::ecdsa::SigningKey::from_slice(&x).unwrap());
        let signer = key
            .choose_scheme(&[
                SignatureScheme::ED25519,
                SignatureScheme::ECDSA_NISTP256_SHA256,
            ])
            .unwrap();
        assert_eq!(signer.scheme(), SignatureScheme::ECDSA_NISTP256_SHA256);
        let der = signer.sign(b"sample").unwrap();
        let r = hex("efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716");
        let s = hex("f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8");
        // SEQUENCE { INTEGER 0x00||r, INTEGER 0x00||s } (both have the top bit set).
        let expected = [
            &[0x30, 0x46, 0x02, 0x21, 0x00][..],
            &r,
            &[0x02, 0x21, 0x00],
            &s,
        ]
        .concat();
        assert_eq!(der, expected);
        assert!(
            key.choose_scheme(&[SignatureScheme::ECDSA_NISTP384_SHA384])
                .is_none()
        );
        assert_eq!(key.algorithm(), SignatureAlgorithm::ECDSA);
    }

    // RFC 8032 §7.1 TEST 1: Ed25519 of the empty message.
    #[test]
    fn ed25519_rfc8032_known_answer() {
        let sk = hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        let key = Ed25519Key::new(ed25519_dalek::SigningKey::from_bytes(
            &sk.try_into().unwrap(),
        ));
        let signer = key.choose_scheme(&[SignatureScheme::ED25519]).unwrap();
        assert_eq!(
            signer.sign(b"").unwrap(),
            hex(concat!(
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155",
                "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
            ))
        );
        // SPKI: SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING pk }.
        let spki = key.public_key().unwrap();
        assert_eq!(
            spki.as_ref()[..12],
            [
                0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00
            ]
        );
        assert!(
            key.choose_scheme(&[SignatureScheme::ECDSA_NISTP256_SHA256])
                .is_none()
        );
    }

    #[test]
    fn p256_keys_decode_as_p256_decodes_them() {
        use p256::pkcs8::EncodePrivateKey;
        for scalar in [[1u8; 32], [0x42; 32], [0x7f; 32]] {
            let key = p256::ecdsa::SigningKey::from_slice(&scalar).unwrap();
            let pkcs8 = key.to_pkcs8_der().unwrap();
            let ours = p256_from_pkcs8(pkcs8.as_bytes()).unwrap();
            assert_eq!(ours.to_bytes(), key.to_bytes());
            assert_eq!(ours.verifying_key(), key.verifying_key());
            let sec1 = p256::SecretKey::from_slice(&scalar)
                .unwrap()
                .to_sec1_der()
                .unwrap();
            assert_eq!(p256_from_sec1(&sec1).unwrap().to_bytes(), key.to_bytes());

            // The embedded public key must be the scalar's: one flipped
            // bit of it (the document's last byte) and the key is refused,
            // as p256's own decoder refuses it.
            let mut wrong = pkcs8.as_bytes().to_vec();
            *wrong.last_mut().unwrap() ^= 1;
            assert!(p256_from_pkcs8(&wrong).is_none());
            assert!(p256::ecdsa::SigningKey::from_pkcs8_der(&wrong).is_err());
            let mut wrong = sec1.to_vec();
            *wrong.last_mut().unwrap() ^= 1;
            assert!(p256_from_sec1(&wrong).is_none());
        }
        // A scalar out of range (zero) and another curve are refused.
        let zero = p256::SecretKey::from_slice(&[1u8; 32])
            .unwrap()
            .to_pkcs8_der()
            .unwrap();
        let mut zero = zero.as_bytes().to_vec();
        // The scalar sits after the fixed 36-byte prefix (see `pinata::pki`).
        zero[36..68].fill(0);
        assert!(p256_from_pkcs8(&zero).is_none());
        let sec1 = p256::SecretKey::from_slice(&[1u8; 32])
            .unwrap()
            .to_sec1_der()
            .unwrap();
        let prime256v1 = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
        let at = sec1.windows(8).position(|w| w == prime256v1).unwrap();
        let mut other_curve = sec1.to_vec();
        other_curve[at + 7] = 0x06; // prime256v1 → prime239v3
        assert!(p256_from_sec1(&other_curve).is_none());
    }

    #[test]
    fn unsupported_keys_are_errors() {
        let garbage: [&[u8]; 4] = [&[], &[0x30], &[0x30, 0x03, 0x02, 0x01, 0x00], &[0xff; 64]];
        for g in garbage {
            for der in [
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(g.to_vec())),
                PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(g.to_vec())),
                PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(g.to_vec())),
            ] {
                let err = KEY_PROVIDER.load_private_key(der).unwrap_err();
                assert!(matches!(err, Error::General(ref m) if m.contains("unsupported")));
            }
        }
    }
}
