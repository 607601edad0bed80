//! Signature verification for certificates and handshakes: ECDSA P-256 with
//! SHA-256 (and SHA-384, for TLS 1.2 peers), and Ed25519: what the piñata's
//! own CA signs with, the only chains it accepts (no P-384: see the crate
//! doc).
//!
//! Each algorithm implements [`SignatureVerificationAlgorithm`], the
//! interface `rustls-webpki` calls for certificate chains and rustls calls
//! for `CertificateVerify` / `ServerKeyExchange` signatures. Inputs are
//! exactly what X.509 and TLS carry: the public key is the contents of the
//! SPKI `subjectPublicKey` BIT STRING (an uncompressed SEC1 point, or the
//! 32 raw Ed25519 bytes) and an ECDSA signature is the DER
//! `Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }`.
//!
//! TLS 1.3 binds curve and hash (`ecdsa_secp256r1_sha256`,
//! `ecdsa_secp384r1_sha384`), but TLS 1.2 does not: there
//! `ecdsa_secp384r1_sha384` means "ECDSA with SHA-384" on any curve, and
//! OpenSSL clients with a P-256 key do sign their CertificateVerify with
//! SHA-384 when offered it. So `ecdsa_secp384r1_sha384` maps to P-256 with
//! SHA-384; rustls still enforces the curve binding for TLS 1.3 itself.

use rustls::SignatureScheme;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{
    AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm, alg_id,
};

/// ECDSA over P-256 with SHA-256: key `id-ecPublicKey` + `prime256v1`,
/// signature `ecdsa-with-SHA256`.
pub static ECDSA_P256_SHA256: &dyn SignatureVerificationAlgorithm = &EcdsaP256Sha256;
/// Ed25519 (RFC 8032, RFC 8410): key and signature both `id-Ed25519`.
pub static ED25519: &dyn SignatureVerificationAlgorithm = &Ed25519;
/// ECDSA over P-256 with SHA-384 (TLS 1.2 peers; certificates so signed).
pub static ECDSA_P256_SHA384: &dyn SignatureVerificationAlgorithm = &EcdsaP256Sha384;

/// What the provider verifies, for certificate chains (`all`) and for TLS
/// signature schemes (`mapping`, in the preference order sent to peers).
/// Pass it to `WebPkiServerVerifier::builder_with_provider` /
/// `WebPkiClientVerifier::builder_with_provider` through the provider, or use
/// it directly with `rustls::crypto::verify_tls13_signature`.
pub static SUPPORTED_SIG_ALGS: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[ECDSA_P256_SHA256, ECDSA_P256_SHA384, ED25519],
    mapping: &[
        (SignatureScheme::ECDSA_NISTP384_SHA384, &[ECDSA_P256_SHA384]),
        (SignatureScheme::ECDSA_NISTP256_SHA256, &[ECDSA_P256_SHA256]),
        (SignatureScheme::ED25519, &[ED25519]),
    ],
};

/// Uncompressed SEC1 point length for P-256 (0x04 || x || y).
const P256_POINT_LEN: usize = 65;

/// Only uncompressed points: that is what certificates carry in practice
/// and what rustls/ring accept; refusing the compressed form keeps the
/// decoder surface small.
fn uncompressed(public_key: &[u8], len: usize) -> Result<&[u8], InvalidSignature> {
    match public_key.first() {
        Some(0x04) if public_key.len() == len => Ok(public_key),
        _ => Err(InvalidSignature),
    }
}

/// One ECDSA verification algorithm: a curve, the hash applied to the
/// message, and the X.509 identifiers. The message is hashed here and the
/// digest verified (`verify_prehash`); when the hash is not the curve's own,
/// the `ecdsa` crate truncates or pads the digest to the field size as
/// FIPS 186-4 specifies. Signatures must be strict DER with r, s in [1, n-1].
macro_rules! ecdsa_algorithm {
    ($name:ident, $curve:ident, $point_len:expr, $hash:ty, $key_alg:expr, $sig_alg:expr) => {
        #[derive(Debug)]
        struct $name;

        impl SignatureVerificationAlgorithm for $name {
            fn verify_signature(
                &self,
                public_key: &[u8],
                message: &[u8],
                signature: &[u8],
            ) -> Result<(), InvalidSignature> {
                use sha2::Digest as _;
                use $curve::ecdsa::signature::hazmat::PrehashVerifier as _;
                let key = $curve::ecdsa::VerifyingKey::from_sec1_bytes(uncompressed(
                    public_key, $point_len,
                )?)
                .map_err(|_| InvalidSignature)?;
                let signature =
                    $curve::ecdsa::Signature::from_der(signature).map_err(|_| InvalidSignature)?;
                let digest = <$hash>::digest(message);
                key.verify_prehash(&digest, &signature)
                    .map_err(|_| InvalidSignature)
            }

            fn public_key_alg_id(&self) -> AlgorithmIdentifier {
                $key_alg
            }

            fn signature_alg_id(&self) -> AlgorithmIdentifier {
                $sig_alg
            }
        }
    };
}

ecdsa_algorithm!(
    EcdsaP256Sha256,
    p256,
    P256_POINT_LEN,
    sha2::Sha256,
    alg_id::ECDSA_P256,
    alg_id::ECDSA_SHA256
);
ecdsa_algorithm!(
    EcdsaP256Sha384,
    p256,
    P256_POINT_LEN,
    sha2::Sha384,
    alg_id::ECDSA_P256,
    alg_id::ECDSA_SHA384
);

#[derive(Debug)]
struct Ed25519;

impl SignatureVerificationAlgorithm for Ed25519 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        let public_key = <&[u8; 32]>::try_from(public_key).map_err(|_| InvalidSignature)?;
        let signature = <&[u8; 64]>::try_from(signature).map_err(|_| InvalidSignature)?;
        let key =
            ed25519_dalek::VerifyingKey::from_bytes(public_key).map_err(|_| InvalidSignature)?;
        // `verify_strict` also refuses small-order keys and non-canonical
        // encodings: signatures real signers produce always pass, and an
        // attacker gets no malleability to play with.
        key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(signature))
            .map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ED25519
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ED25519
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// DER `SEQUENCE { INTEGER r, INTEGER s }` for 32-byte r, s.
    fn der_sig(r: &[u8], s: &[u8]) -> Vec<u8> {
        let int = |x: &[u8]| {
            let mut v = alloc::vec![0x02];
            if x[0] & 0x80 != 0 {
                v.push(x.len() as u8 + 1);
                v.push(0);
            } else {
                v.push(x.len() as u8);
            }
            v.extend_from_slice(x);
            v
        };
        let body = [int(r), int(s)].concat();
        [alloc::vec![0x30, body.len() as u8], body].concat()
    }

    // RFC 6979 §A.2.5: P-256, SHA-256, message "sample".
    pub(super) const RFC6979_PUB: &str = "0460fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb67903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299";
    pub(super) const RFC6979_R: &str =
        "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716";
    pub(super) const RFC6979_S: &str =
        "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8";

    #[test]
    fn ecdsa_p256_known_answer() {
        let public = hex(RFC6979_PUB);
        let sig = der_sig(&hex(RFC6979_R), &hex(RFC6979_S));
        ECDSA_P256_SHA256
            .verify_signature(&public, b"sample", &sig)
            .unwrap();
        // Another message, a flipped bit in s, a compressed key, the wrong
        // hash's verifier: all rejected, none panics.
        assert!(
            ECDSA_P256_SHA256
                .verify_signature(&public, b"samplf", &sig)
                .is_err()
        );
        let mut bad = sig.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(
            ECDSA_P256_SHA256
                .verify_signature(&public, b"sample", &bad)
                .is_err()
        );
        let mut compressed = public[..33].to_vec();
        compressed[0] = 2 | (public[64] & 1);
        assert!(
            ECDSA_P256_SHA256
                .verify_signature(&compressed, b"sample", &sig)
                .is_err()
        );
        assert!(
            ECDSA_P256_SHA384
                .verify_signature(&public, b"sample", &sig)
                .is_err()
        );
        // The same (r, s) as raw 64 bytes is not DER: rejected.
        let raw = [hex(RFC6979_R), hex(RFC6979_S)].concat();
        assert!(
            ECDSA_P256_SHA256
                .verify_signature(&public, b"sample", &raw)
                .is_err()
        );
    }

    // RFC 8032 §7.1 TEST 1: empty message.
    #[test]
    fn ed25519_known_answer() {
        let public = hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        let sig = hex(concat!(
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155",
            "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        ));
        ED25519.verify_signature(&public, b"", &sig).unwrap();
        assert!(ED25519.verify_signature(&public, b"x", &sig).is_err());
        assert!(ED25519.verify_signature(&public[..31], b"", &sig).is_err());
        assert!(ED25519.verify_signature(&public, b"", &sig[..63]).is_err());
    }

    #[test]
    fn garbage_never_panics() {
        let inputs: [&[u8]; 6] = [&[], &[0], &[4], &[0x30], &[0x30, 0x80], &[0xff; 200]];
        for alg in SUPPORTED_SIG_ALGS.all {
            for k in inputs {
                for s in inputs {
                    assert!(alg.verify_signature(k, b"m", s).is_err());
                }
            }
        }
    }

    #[test]
    fn algorithm_identifiers_pair_up() {
        // Key-type and signature identifiers must be the distinct webpki
        // constants for ECDSA; for Ed25519 they coincide.
        assert_eq!(ECDSA_P256_SHA256.public_key_alg_id(), alg_id::ECDSA_P256);
        assert_eq!(ECDSA_P256_SHA256.signature_alg_id(), alg_id::ECDSA_SHA256);
        assert_eq!(ECDSA_P256_SHA384.public_key_alg_id(), alg_id::ECDSA_P256);
        assert_eq!(ECDSA_P256_SHA384.signature_alg_id(), alg_id::ECDSA_SHA384);
        assert_eq!(ED25519.public_key_alg_id(), alg_id::ED25519);
        assert_eq!(ED25519.signature_alg_id(), alg_id::ED25519);
    }
}
