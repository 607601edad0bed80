//! The three TLS 1.3 cipher suites (RFC 8446 §B.4).
//!
//! `TLS_AES_128_CCM_*` are left out: rarely offered, and each suite is code
//! in the image. QUIC is not used by the piñata, so no suite carries QUIC
//! header protection (`quic: None`).

use rustls::crypto::CipherSuiteCommon;
use rustls::crypto::tls13::HkdfUsingHmac;
use rustls::{CipherSuite, SupportedCipherSuite, Tls13CipherSuite};

use crate::aead::Tls13Aead;
use crate::{hash, hmac};

/// `TLS_AES_128_GCM_SHA256`.
pub static TLS13_AES_128_GCM_SHA256: SupportedCipherSuite =
    SupportedCipherSuite::Tls13(&Tls13CipherSuite {
        common: CipherSuiteCommon {
            suite: CipherSuite::TLS13_AES_128_GCM_SHA256,
            hash_provider: &hash::SHA256,
            // RFC 8446 §5.5: rekey AES-GCM well before 2^24.5 full records.
            confidentiality_limit: 1 << 24,
        },
        hkdf_provider: &HkdfUsingHmac(&hmac::HMAC_SHA256),
        aead_alg: &Tls13Aead::<aes_gcm::Aes128Gcm>::new(),
        quic: None,
    });

/// `TLS_AES_256_GCM_SHA384`.
pub static TLS13_AES_256_GCM_SHA384: SupportedCipherSuite =
    SupportedCipherSuite::Tls13(&Tls13CipherSuite {
        common: CipherSuiteCommon {
            suite: CipherSuite::TLS13_AES_256_GCM_SHA384,
            hash_provider: &hash::SHA384,
            confidentiality_limit: 1 << 24,
        },
        hkdf_provider: &HkdfUsingHmac(&hmac::HMAC_SHA384),
        aead_alg: &Tls13Aead::<aes_gcm::Aes256Gcm>::new(),
        quic: None,
    });

/// `TLS_CHACHA20_POLY1305_SHA256`.
pub static TLS13_CHACHA20_POLY1305_SHA256: SupportedCipherSuite =
    SupportedCipherSuite::Tls13(&Tls13CipherSuite {
        common: CipherSuiteCommon {
            suite: CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
            hash_provider: &hash::SHA256,
            // RFC 8446 §5.5: no practical limit for ChaCha20-Poly1305.
            confidentiality_limit: u64::MAX,
        },
        hkdf_provider: &HkdfUsingHmac(&hmac::HMAC_SHA256),
        aead_alg: &Tls13Aead::<chacha20poly1305::ChaCha20Poly1305>::new(),
        quic: None,
    });
