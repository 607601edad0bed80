//! The piñata's rustls [`CryptoProvider`]: pure Rust, `no_std` + `alloc`,
//! small on purpose.
//!
//! # Where it sits
//!
//! Between rustls and the RustCrypto/dalek crates: every record the
//! piñata's TLS connections (`pinata::tls`) seal or open, every key share
//! and every handshake signature goes through this crate; `pinata::app`
//! builds its TLS configurations on it, and `pinata::pki` uses [`wipe`].
//! `pinata` re-exports the crate as `pinata::provider`. The randomness
//! comes in from the platform (see "Entropy"); nothing else does.
//!
//! It is a crate of its own, not a module of `pinata`, for the build
//! profile: rustc generates the generic curve, ECDSA and ML-KEM code in the
//! crate that instantiates it, with that crate's opt-level, so the
//! handshakes' hot code is optimised at this crate's level (`"s"`) while
//! the application logic in `pinata` is built for size (`"z"`)
//! (docs/DECISIONS.md, "Image size: the crypto provider in a crate of its
//! own").
//!
//! # What is in it
//!
//! | concern | choice | crate |
//! |---|---|---|
//! | TLS 1.3 suites | `AES_128_GCM_SHA256`, `AES_256_GCM_SHA384`, `CHACHA20_POLY1305_SHA256` | `aes-gcm`, `chacha20poly1305` |
//! | TLS 1.2 suites | `ECDHE_ECDSA_WITH_{AES_128_GCM_SHA256, AES_256_GCM_SHA384, CHACHA20_POLY1305_SHA256}` | same |
//! | key exchange | X25519MLKEM768 (preferred, TLS 1.3), X25519, secp256r1 | `ml-kem` + `x25519-dalek`, `x25519-dalek`, `p256` |
//! | verification | ECDSA P-256 (SHA-256; SHA-384 for TLS 1.2 peers), Ed25519 | `p256`, `ed25519-dalek` |
//! | signing keys | ECDSA P-256 (PKCS#8, SEC1), Ed25519 (PKCS#8) | `p256`, `ed25519-dalek` |
//! | hash, HMAC | SHA-256, SHA-384; HKDF and the TLS 1.2 PRF are rustls's generic ones over this HMAC | `sha2`, `hmac` |
//!
//! One file per concern: [`hash`], [`hmac`], [`aead`] (record protection),
//! [`tls13`] and [`tls12`] (the suites), [`kx`] (the classical groups),
//! [`hybrid`] (X25519MLKEM768) over [`mlkem`] (the ML-KEM-768 seam),
//! [`sign`], [`verify`], and [`wipe`] (erasing what the crates leave on the
//! stack).
//!
//! # What is deliberately left out, and why
//!
//! Everything here is attack surface in a public bounty and bytes in the
//! image, so the provider carries only what the piñata's own certificates
//! and mainstream clients need:
//!
//! - **RSA**, signing and verifying: the piñata's keys are elliptic-curve,
//!   and the RustCrypto `rsa` crate has an unfixed timing side channel
//!   (Marvin, RUSTSEC-2023-0071). No `ECDHE_RSA` suites either.
//! - **SHA-1** and **MD5**: broken; no TLS 1.2/1.3 suite here needs them, and
//!   certificates signed with them do not verify.
//! - **CBC suites**, static-RSA and finite-field DHE key exchange: padding
//!   oracles, no forward secrecy, slow and large.
//! - **P-384 and P-521 (verification too), Ed448, secp384r1 key
//!   exchange**: the only chains the piñata verifies are its peers', which
//!   must end at its own CA, and that CA signs with P-256 or Ed25519; any
//!   other curve could only verify chains that are refused anyway. One more
//!   curve is one more big-integer stack: P-384 verification alone was
//!   22 KB of the image (docs/DECISIONS.md, "Image size: the crypto provider
//!   in a crate of its own").
//! - **SecP256r1MLKEM768, pure ML-KEM groups**: X25519MLKEM768 is what
//!   browsers and rustls offer; one hybrid is enough.
//! - **AES-CCM**, QUIC header protection, HPKE (ECH), session-ticket
//!   encryption: not used by the piñata.
//!
//! # Entropy
//!
//! The provider has exactly one source of randomness, the
//! [`SecureRandom`] passed to [`provider`]. rustls uses it for hello
//! randoms and the like; [`kx`] and [`hybrid`] draw the ephemeral ECDHE
//! secrets and the ML-KEM seeds from it too (rather than letting the curve crates call an OS generator). Signing
//! is deterministic (RFC 6979, RFC 8032) and needs none. Hosted, pass
//! `pinata::random::OS_RANDOM`; the unikernel passes its ChaCha20 DRBG
//! seeded from RDSEED/RDRAND/virtio-rng. If the source fails, the handshake
//! fails (`Error::FailedToGetRandomBytes`): entropy fails closed.
//!
//! ```ignore
//! // unikernel: a `static` DRBG and a `static` group table, no allocation
//! static GROUPS: KxGroups = KxGroups::new(&DRBG);
//! let provider = Arc::new(pinata::provider::provider_with_groups(&GROUPS));
//! // hosted
//! let provider = Arc::new(pinata::provider::provider(&pinata::random::OS_RANDOM));
//! let config = rustls::ServerConfig::builder_with_provider(provider) /* ... */;
//! ```
//!
//! # Bare metal
//!
//! The provider builds for `x86_64-unknown-none` (soft-float): the RustCrypto
//! crates must be told to use their portable back ends there, with the
//! `--cfg` flags in `.cargo/config.toml` for that target. Check with
//!
//! ```sh
//! CARGO_TARGET_DIR=target-provider cargo build -p provider \
//!     --target x86_64-unknown-none [--release]
//! ```

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod aead;
pub mod hash;
pub mod hmac;
pub mod hybrid;
pub mod kx;
pub mod mlkem;
pub mod sign;
pub mod tls12;
pub mod tls13;
pub mod verify;
pub mod wipe;

use alloc::boxed::Box;

use rustls::SupportedCipherSuite;
use rustls::crypto::{CryptoProvider, SecureRandom, WebPkiSupportedAlgorithms};

pub use kx::KxGroups;
pub use verify::SUPPORTED_SIG_ALGS;

/// The cipher suites, in preference order: TLS 1.3 before TLS 1.2; within a
/// version AES-128-GCM, AES-256-GCM, then ChaCha20-Poly1305 — or, in builds
/// whose AES is software (the image's `aes_backend="soft"` /
/// `aes_force_soft`, `.cargo/config.toml`), ChaCha20-Poly1305 first.
///
/// The piñata's servers choose by this order, not the client's
/// (`ignore_client_order`, see `pinata::app`): AES-128-GCM with SHA-256 is the
/// cheapest handshake with AES-NI (SHA-256's key schedule and transcript
/// cost less than SHA-384's, with SHA-NI on the host and in software alike).
/// Without it, the constant-time bitsliced AES and its key expansion cost
/// more than ChaCha20 even for a handshake's few record bytes: with the
/// image's back ends on the host, ChaCha20 first gives 11 % more bounty
/// handshakes and 13 % more pages per CPU-second (docs/PERFORMANCE.md).
#[cfg(not(any(aes_force_soft, aes_backend = "soft")))]
pub static CIPHER_SUITES: &[SupportedCipherSuite] = &[
    tls13::TLS13_AES_128_GCM_SHA256,
    tls13::TLS13_AES_256_GCM_SHA384,
    tls13::TLS13_CHACHA20_POLY1305_SHA256,
    tls12::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    tls12::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    tls12::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
];

/// The cipher suites of a build with software AES: see the other
/// definition.
#[cfg(any(aes_force_soft, aes_backend = "soft"))]
pub static CIPHER_SUITES: &[SupportedCipherSuite] = &[
    tls13::TLS13_CHACHA20_POLY1305_SHA256,
    tls13::TLS13_AES_128_GCM_SHA256,
    tls13::TLS13_AES_256_GCM_SHA384,
    tls12::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    tls12::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    tls12::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
];

/// The piñata's crypto provider, drawing all randomness from `random`.
///
/// rustls needs the key-exchange groups as `&'static`, and they carry
/// `random`; this function therefore leaks one small [`KxGroups`] (a few
/// dozen bytes) per call. Build the provider once at start-up and share it
/// (`Arc`), or use [`provider_with_groups`] with a `static` to allocate
/// nothing.
pub fn provider(random: &'static dyn SecureRandom) -> CryptoProvider {
    provider_with_groups(Box::leak(Box::new(KxGroups::new(random))))
}

/// The piñata's crypto provider over an existing group table; the random
/// source is the one the groups draw from, so there is still exactly one.
pub fn provider_with_groups(groups: &'static KxGroups) -> CryptoProvider {
    CryptoProvider {
        cipher_suites: CIPHER_SUITES.to_vec(),
        kx_groups: groups.all(),
        signature_verification_algorithms: SUPPORTED_SIG_ALGS,
        secure_random: groups.random(),
        key_provider: &sign::KEY_PROVIDER,
    }
}

/// The signature verification algorithms (same value as
/// [`SUPPORTED_SIG_ALGS`]), for building verifiers outside a provider.
pub fn supported_signature_algorithms() -> WebPkiSupportedAlgorithms {
    SUPPORTED_SIG_ALGS
}

/// The operating system's generator, for the tests' key exchanges (the
/// crate itself takes its randomness from the caller).
#[cfg(test)]
mod test_random {
    use rustls::crypto::{GetRandomFailed, SecureRandom};

    #[derive(Debug)]
    pub(crate) struct OsRandom;

    impl SecureRandom for OsRandom {
        fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
            getrandom::fill(buf).map_err(|_| GetRandomFailed)
        }
    }

    pub(crate) static OS_RANDOM: OsRandom = OsRandom;
}
