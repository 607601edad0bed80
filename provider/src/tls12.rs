//! The three TLS 1.2 cipher suites: ECDHE key exchange, ECDSA (or Ed25519)
//! certificates, AEAD records (RFC 5289, RFC 7905, RFC 8422).
//!
//! Only `ECDHE_ECDSA`: the piñata's certificates are ECDSA P-256 or Ed25519,
//! so `ECDHE_RSA` suites could never be selected, and RSA is not in the
//! image at all. No CBC suites (Lucky 13 and friends), no static-RSA or
//! finite-field DHE key exchange.

use rustls::crypto::tls12::PrfUsingHmac;
use rustls::crypto::{CipherSuiteCommon, KeyExchangeAlgorithm};
use rustls::{CipherSuite, SignatureScheme, SupportedCipherSuite, Tls12CipherSuite};

use crate::aead::{Tls12ChaCha, Tls12Gcm};
use crate::{hash, hmac};

/// Signature schemes a server may use under an `ECDHE_ECDSA` suite
/// (RFC 8422 §5.1.1 lets Ed25519 ride on ECDSA suites). Only schemes this
/// provider can verify.
static ECDSA_SCHEMES: &[SignatureScheme] = &[
    SignatureScheme::ED25519,
    SignatureScheme::ECDSA_NISTP384_SHA384,
    SignatureScheme::ECDSA_NISTP256_SHA256,
];

/// `TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256`.
pub static TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: SupportedCipherSuite =
    SupportedCipherSuite::Tls12(&Tls12CipherSuite {
        common: CipherSuiteCommon {
            suite: CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            hash_provider: &hash::SHA256,
            confidentiality_limit: 1 << 24,
        },
        kx: KeyExchangeAlgorithm::ECDHE,
        sign: ECDSA_SCHEMES,
        aead_alg: &Tls12Gcm::<aes_gcm::Aes128Gcm>::new(),
        prf_provider: &PrfUsingHmac(&hmac::HMAC_SHA256),
    });

/// `TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384`.
pub static TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: SupportedCipherSuite =
    SupportedCipherSuite::Tls12(&Tls12CipherSuite {
        common: CipherSuiteCommon {
            suite: CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            hash_provider: &hash::SHA384,
            confidentiality_limit: 1 << 24,
        },
        kx: KeyExchangeAlgorithm::ECDHE,
        sign: ECDSA_SCHEMES,
        aead_alg: &Tls12Gcm::<aes_gcm::Aes256Gcm>::new(),
        prf_provider: &PrfUsingHmac(&hmac::HMAC_SHA384),
    });

/// `TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256`.
pub static TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: SupportedCipherSuite =
    SupportedCipherSuite::Tls12(&Tls12CipherSuite {
        common: CipherSuiteCommon {
            suite: CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            hash_provider: &hash::SHA256,
            confidentiality_limit: u64::MAX,
        },
        kx: KeyExchangeAlgorithm::ECDHE,
        sign: ECDSA_SCHEMES,
        aead_alg: &Tls12ChaCha,
        prf_provider: &PrfUsingHmac(&hmac::HMAC_SHA256),
    });
