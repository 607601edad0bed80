//! The deterministic [`CryptoProvider`] of the fuzzing mode.
//!
//! A fuzzer cannot forge an AEAD tag, solve a Diffie-Hellman or sign a
//! transcript, so with the real provider every mutated handshake dies at the
//! first MAC or signature check and the state machine behind it is never
//! reached. rustls's own fuzzers solve this with a provider that does no real
//! crypto; this one follows the same recipe, with one deliberate difference
//! (certificate chains, below):
//!
//! | concern | real provider ([`crate::provider`]) | fuzzing provider (here) |
//! |---|---|---|
//! | randomness | OS / DRBG | [`DeterministicRandom`]: SHA-256 of a fixed seed, a stream id and a per-thread counter |
//! | key exchange | X25519MLKEM768, X25519, P-256 ECDHE | same groups and key-share lengths, fixed public keys, fixed shared secret |
//! | HMAC (so HKDF, the TLS 1.2 PRF, Finished) | HMAC-SHA-2 | a constant tag of the hash's length: every Finished matches |
//! | record protection | AES-GCM, ChaCha20-Poly1305 | pass-through: plaintext in clear, fixed 16-byte tag, tag not checked |
//! | handshake signatures (CertificateVerify, ServerKeyExchange) | ECDSA, Ed25519 | signing emits [`FUZZ_SIGNATURE`]; verifying accepts exactly that value |
//! | **certificate chain signatures** | ECDSA, Ed25519 | **real** (the production verifiers) |
//! | hash | SHA-256, SHA-384 | real (cheap, and the transcript hash feeds nothing secret) |
//!
//! The suites, groups and signature schemes are the production ones, with
//! the same identifiers, key lengths and record framing (explicit nonce,
//! tag length), so negotiation and record-layer code paths are those that
//! ship. Only the primitives are replaced.
//!
//! # Why chain signatures stay real
//!
//! rustls keeps two tables of verification algorithms
//! ([`WebPkiSupportedAlgorithms`]): `all` for certificate chains, `mapping`
//! for the TLS signature schemes of handshake signatures. Only `mapping` is
//! replaced here. With real chain verification, a certificate that chains to
//! the piñata CA can only be one the CA really signed — the piñata's own
//! three leaves — exactly as in production. That is what makes the leak
//! oracle exact (see [`super::oracle`]): the fuzzer may replay the piñata's
//! own certificate (it is public, and the constant handshake signature
//! stands in for possession of its key), but any *other* chain that gets a
//! secret out is a verifier bug, not an artefact of the fuzzing mode.
//!
//! The test-only feature `fuzzing-planted-bug` breaks exactly this: chain
//! signatures verify whatever they are ("psychic signatures",
//! CVE-2022-21449-style), so a certificate from a look-alike CA is accepted.
//! The oracle must then fire; the regression test and `cargo xtask fuzz
//! --planted-bug` check that it does.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::cell::Cell;

use rustls::crypto::cipher::{
    AeadKey, InboundOpaqueMessage, InboundPlainMessage, Iv, KeyBlockShape, MessageDecrypter,
    MessageEncrypter, OutboundOpaqueMessage, OutboundPlainMessage, PrefixedPayload,
    Tls12AeadAlgorithm, Tls13AeadAlgorithm, UnsupportedOperationError,
};
use rustls::crypto::hmac::{Hmac, Key, Tag};
use rustls::crypto::tls12::PrfUsingHmac;
use rustls::crypto::tls13::HkdfUsingHmac;
use rustls::crypto::{
    ActiveKeyExchange, CipherSuiteCommon, CompletedKeyExchange, CryptoProvider, GetRandomFailed,
    KeyExchangeAlgorithm, SecureRandom, SharedSecret, SupportedKxGroup, WebPkiSupportedAlgorithms,
};
use rustls::ffdhe_groups::FfdheGroup;
use rustls::pki_types::{
    AlgorithmIdentifier, InvalidSignature, PrivateKeyDer, SignatureVerificationAlgorithm,
    SubjectPublicKeyInfoDer, UnixTime, alg_id,
};
use rustls::sign::{Signer, SigningKey};
use rustls::time_provider::TimeProvider;
use rustls::{
    CipherSuite, ConnectionTrafficSecrets, ContentType, Error, NamedGroup, PeerMisbehaved,
    ProtocolVersion, SignatureAlgorithm, SignatureScheme, SupportedCipherSuite, Tls12CipherSuite,
    Tls13CipherSuite,
};
use sha2::Digest;

use crate::provider::hash;

/// What every handshake signature is, and the only value that verifies.
/// Keeping one value that fails (everything else) keeps the "bad
/// CertificateVerify" paths reachable too.
pub const FUZZ_SIGNATURE: &[u8] = b"pinata-fuzzing-signature";
/// The tag appended to every protected record (never checked on input).
pub const FUZZ_TAG: [u8; 16] = *b"pinata-fuzz-tag!";
/// Seconds since the Unix epoch of the fixed clock: 2026-01-01T00:00:00Z.
/// The boot-time certificates are issued "now" at this instant and the
/// clock never moves, so they are always inside their validity.
pub const FIXED_TIME: u64 = 1_767_225_600;

// ---------------------------------------------------------------- randomness

/// Independent deterministic streams, so that one party's draws never shift
/// another's: the piñata's draws must be the same when a transcript is
/// recorded and when it is replayed, whoever else drew in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The piñata under test; reset at the start of every fuzz iteration.
    Pinata = 0,
    /// The peers used to record transcripts.
    Peer = 1,
    /// The piñata's boot-time PKI.
    Pki = 2,
    /// A look-alike PKI (same names, other keys): the "self-made CA" attacker.
    Evil = 3,
}

const STREAMS: usize = 4;
const SEED: &[u8] = b"pinata fuzzing mode: not a secret, not random";

std::thread_local! {
    // Per thread: libFuzzer runs one input at a time on one thread, and
    // `cargo test` runs regression inputs on parallel threads; a global
    // counter would let those tests shift each other's draws.
    static COUNTERS: [Cell<u64>; STREAMS] = const {
        [Cell::new(0), Cell::new(0), Cell::new(0), Cell::new(0)]
    };
}

/// A [`SecureRandom`] that is nothing of the kind: block *n* of stream *s*
/// is SHA-256(seed ‖ s ‖ n). Same calls, same bytes.
#[derive(Debug)]
pub struct DeterministicRandom(Stream);

impl DeterministicRandom {
    /// The generator of `stream`.
    pub fn of(stream: Stream) -> &'static DeterministicRandom {
        static ALL: [DeterministicRandom; STREAMS] = [
            DeterministicRandom(Stream::Pinata),
            DeterministicRandom(Stream::Peer),
            DeterministicRandom(Stream::Pki),
            DeterministicRandom(Stream::Evil),
        ];
        &ALL[stream as usize]
    }
}

/// Restarts `stream` on this thread from its first block.
pub fn reset(stream: Stream) {
    COUNTERS.with(|c| c[stream as usize].set(0));
}

impl SecureRandom for DeterministicRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        for chunk in buf.chunks_mut(32) {
            let n = COUNTERS.with(|c| {
                let c = &c[self.0 as usize];
                let n = c.get();
                c.set(n.wrapping_add(1));
                n
            });
            let block = sha2::Sha256::new()
                .chain_update(SEED)
                .chain_update([self.0 as u8])
                .chain_update(n.to_le_bytes())
                .finalize();
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- time

/// Wall-clock time that is always [`FIXED_TIME`] plus one hour.
#[derive(Debug, Clone, Copy, Default)]
pub struct FixedClock;

impl FixedClock {
    /// The instant the clock always shows.
    pub fn now() -> UnixTime {
        UnixTime::since_unix_epoch(core::time::Duration::from_secs(FIXED_TIME + 3600))
    }
}

impl TimeProvider for FixedClock {
    fn current_time(&self) -> Option<UnixTime> {
        Some(Self::now())
    }
}

// ---------------------------------------------------------------- key exchange

/// A group with the production name and key-share shape, a fixed public key
/// and a fixed shared secret.
#[derive(Debug)]
struct FixedGroup {
    name: NamedGroup,
    public: &'static [u8],
}

/// X25519: 32 bytes.
static X25519_PUBLIC: [u8; 32] = [0x25; 32];
/// P-256: an uncompressed SEC1 encoding, 0x04 ‖ x ‖ y.
static P256_PUBLIC: [u8; 65] = {
    let mut p = [0x56; 65];
    p[0] = 0x04;
    p
};
const SHARED_SECRET: [u8; 32] = [0x5e; 32];

static X25519: FixedGroup = FixedGroup {
    name: NamedGroup::X25519,
    public: &X25519_PUBLIC,
};
static SECP256R1: FixedGroup = FixedGroup {
    name: NamedGroup::secp256r1,
    public: &P256_PUBLIC,
};

/// X25519MLKEM768: the client's share (encapsulation key ‖ X25519) and the
/// server's (ciphertext ‖ X25519) differ in length, the group is TLS 1.3
/// only, and the client's X25519 half is also offered alone, as in
/// [`crate::provider::hybrid`].
#[derive(Debug)]
struct FixedHybrid;

static X25519MLKEM768: FixedHybrid = FixedHybrid;
static HYBRID_CLIENT_PUBLIC: [u8; crate::provider::hybrid::CLIENT_SHARE_LEN] =
    [0x4b; crate::provider::hybrid::CLIENT_SHARE_LEN];
static HYBRID_SERVER_PUBLIC: [u8; crate::provider::hybrid::SERVER_SHARE_LEN] =
    [0x4c; crate::provider::hybrid::SERVER_SHARE_LEN];

fn fixed_secret(ok: bool) -> Result<SharedSecret, Error> {
    match ok {
        true => Ok(SharedSecret::from(&SHARED_SECRET[..])),
        false => Err(PeerMisbehaved::InvalidKeyShare.into()),
    }
}

impl SupportedKxGroup for FixedHybrid {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        Ok(Box::new(FixedHybridExchange))
    }

    fn start_and_complete(&self, client_share: &[u8]) -> Result<CompletedKeyExchange, Error> {
        Ok(CompletedKeyExchange {
            group: NamedGroup::X25519MLKEM768,
            pub_key: HYBRID_SERVER_PUBLIC.to_vec(),
            secret: fixed_secret(client_share.len() == HYBRID_CLIENT_PUBLIC.len())?,
        })
    }

    fn name(&self) -> NamedGroup {
        NamedGroup::X25519MLKEM768
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        None
    }

    fn usable_for_version(&self, version: rustls::ProtocolVersion) -> bool {
        version == rustls::ProtocolVersion::TLSv1_3
    }
}

struct FixedHybridExchange;

impl ActiveKeyExchange for FixedHybridExchange {
    fn complete(self: Box<Self>, peer: &[u8]) -> Result<SharedSecret, Error> {
        fixed_secret(peer.len() == HYBRID_SERVER_PUBLIC.len())
    }

    fn hybrid_component(&self) -> Option<(NamedGroup, &[u8])> {
        Some((NamedGroup::X25519, &X25519_PUBLIC))
    }

    fn complete_hybrid_component(self: Box<Self>, peer: &[u8]) -> Result<SharedSecret, Error> {
        fixed_secret(peer.len() == X25519_PUBLIC.len())
    }

    fn pub_key(&self) -> &[u8] {
        &HYBRID_CLIENT_PUBLIC
    }

    fn group(&self) -> NamedGroup {
        NamedGroup::X25519MLKEM768
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        None
    }
}

impl SupportedKxGroup for FixedGroup {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        Ok(Box::new(FixedExchange(self.name, self.public)))
    }

    fn name(&self) -> NamedGroup {
        self.name
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        None
    }
}

struct FixedExchange(NamedGroup, &'static [u8]);

impl ActiveKeyExchange for FixedExchange {
    fn complete(self: Box<Self>, peer: &[u8]) -> Result<SharedSecret, Error> {
        // The production groups' shape checks (length, uncompressed form),
        // without the curve arithmetic: the "invalid key share" paths stay
        // reachable, a well-shaped share always agrees.
        let ok = match self.0 {
            NamedGroup::X25519 => peer.len() == 32,
            _ => peer.len() == 65 && peer[0] == 0x04,
        };
        if !ok {
            return Err(PeerMisbehaved::InvalidKeyShare.into());
        }
        Ok(SharedSecret::from(&SHARED_SECRET[..]))
    }

    fn pub_key(&self) -> &[u8] {
        self.1
    }

    fn group(&self) -> NamedGroup {
        self.0
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        None
    }
}

// ---------------------------------------------------------------- HMAC

/// HMAC whose every tag is the same `len` bytes: Finished messages and
/// derived keys are constants, so a mutated transcript still "verifies".
struct ConstHmac(usize);

static HMAC_SHA256: ConstHmac = ConstHmac(32);
static HMAC_SHA384: ConstHmac = ConstHmac(48);

impl Hmac for ConstHmac {
    fn with_key(&self, _key: &[u8]) -> Box<dyn Key> {
        Box::new(ConstKey(self.0))
    }

    fn hash_output_len(&self) -> usize {
        self.0
    }
}

struct ConstKey(usize);

impl Key for ConstKey {
    fn sign_concat(&self, _first: &[u8], _middle: &[&[u8]], _last: &[u8]) -> Tag {
        Tag::new(&[0x4d; 64][..self.0])
    }

    fn tag_len(&self) -> usize {
        self.0
    }
}

// ---------------------------------------------------------------- records

/// The largest plaintext a record may carry (RFC 8446 §5.1).
const MAX_FRAGMENT_LEN: usize = 16_384;

/// TLS 1.3 record protection in the production framing (inner content type
/// byte, 16-byte tag), with the plaintext left in clear.
struct PassThrough13 {
    key_len: usize,
}

impl Tls13AeadAlgorithm for PassThrough13 {
    fn encrypter(&self, _key: AeadKey, _iv: Iv) -> Box<dyn MessageEncrypter> {
        Box::new(Seal13)
    }

    fn decrypter(&self, _key: AeadKey, _iv: Iv) -> Box<dyn MessageDecrypter> {
        Box::new(Open13)
    }

    fn key_len(&self) -> usize {
        self.key_len
    }

    fn extract_keys(
        &self,
        _key: AeadKey,
        _iv: Iv,
    ) -> Result<ConnectionTrafficSecrets, UnsupportedOperationError> {
        Err(UnsupportedOperationError)
    }
}

struct Seal13;

impl MessageEncrypter for Seal13 {
    fn encrypt(
        &mut self,
        msg: OutboundPlainMessage<'_>,
        _seq: u64,
    ) -> Result<OutboundOpaqueMessage, Error> {
        let mut payload =
            PrefixedPayload::with_capacity(self.encrypted_payload_len(msg.payload.len()));
        payload.extend_from_chunks(&msg.payload);
        payload.extend_from_slice(&[u8::from(msg.typ)]);
        payload.extend_from_slice(&FUZZ_TAG);
        Ok(OutboundOpaqueMessage::new(
            ContentType::ApplicationData,
            ProtocolVersion::TLSv1_2,
            payload,
        ))
    }

    fn encrypted_payload_len(&self, payload_len: usize) -> usize {
        payload_len + 1 + FUZZ_TAG.len()
    }
}

struct Open13;

impl MessageDecrypter for Open13 {
    fn decrypt<'a>(
        &mut self,
        mut msg: InboundOpaqueMessage<'a>,
        _seq: u64,
    ) -> Result<InboundPlainMessage<'a>, Error> {
        let plain_len = msg
            .payload
            .len()
            .checked_sub(FUZZ_TAG.len())
            .ok_or(Error::DecryptError)?;
        msg.payload.truncate(plain_len);
        msg.into_tls13_unpadded_message()
    }
}

/// TLS 1.2 record protection in the production framing: `explicit` bytes
/// of nonce in front (8 for AES-GCM, 0 for ChaCha20-Poly1305), the 16-byte
/// tag behind, plaintext in clear.
struct PassThrough12 {
    shape: KeyBlockShape,
}

impl Tls12AeadAlgorithm for PassThrough12 {
    fn encrypter(&self, _key: AeadKey, _iv: &[u8], extra: &[u8]) -> Box<dyn MessageEncrypter> {
        Box::new(Seal12 {
            explicit: extra.to_vec(),
        })
    }

    fn decrypter(&self, _key: AeadKey, _iv: &[u8]) -> Box<dyn MessageDecrypter> {
        Box::new(Open12 {
            explicit: self.shape.explicit_nonce_len,
        })
    }

    fn key_block_shape(&self) -> KeyBlockShape {
        KeyBlockShape { ..self.shape }
    }

    fn extract_keys(
        &self,
        _key: AeadKey,
        _iv: &[u8],
        _explicit: &[u8],
    ) -> Result<ConnectionTrafficSecrets, UnsupportedOperationError> {
        Err(UnsupportedOperationError)
    }
}

struct Seal12 {
    explicit: Vec<u8>,
}

impl MessageEncrypter for Seal12 {
    fn encrypt(
        &mut self,
        msg: OutboundPlainMessage<'_>,
        _seq: u64,
    ) -> Result<OutboundOpaqueMessage, Error> {
        let mut payload =
            PrefixedPayload::with_capacity(self.encrypted_payload_len(msg.payload.len()));
        payload.extend_from_slice(&self.explicit);
        payload.extend_from_chunks(&msg.payload);
        payload.extend_from_slice(&FUZZ_TAG);
        Ok(OutboundOpaqueMessage::new(msg.typ, msg.version, payload))
    }

    fn encrypted_payload_len(&self, payload_len: usize) -> usize {
        self.explicit.len() + payload_len + FUZZ_TAG.len()
    }
}

struct Open12 {
    explicit: usize,
}

impl MessageDecrypter for Open12 {
    fn decrypt<'a>(
        &mut self,
        msg: InboundOpaqueMessage<'a>,
        _seq: u64,
    ) -> Result<InboundPlainMessage<'a>, Error> {
        let plain_len = msg
            .payload
            .len()
            .checked_sub(self.explicit + FUZZ_TAG.len())
            .ok_or(Error::DecryptError)?;
        if plain_len > MAX_FRAGMENT_LEN {
            return Err(Error::PeerSentOversizedRecord);
        }
        Ok(msg.into_plain_message_range(self.explicit..self.explicit + plain_len))
    }
}

// ---------------------------------------------------------------- suites

static HKDF_SHA256: HkdfUsingHmac<'static> = HkdfUsingHmac(&HMAC_SHA256);
static HKDF_SHA384: HkdfUsingHmac<'static> = HkdfUsingHmac(&HMAC_SHA384);
static PRF_SHA256: PrfUsingHmac<'static> = PrfUsingHmac(&HMAC_SHA256);
static PRF_SHA384: PrfUsingHmac<'static> = PrfUsingHmac(&HMAC_SHA384);

const fn gcm12(key_len: usize) -> PassThrough12 {
    PassThrough12 {
        shape: KeyBlockShape {
            enc_key_len: key_len,
            fixed_iv_len: 4,
            explicit_nonce_len: 8,
        },
    }
}

static AES128_12: PassThrough12 = gcm12(16);
static AES256_12: PassThrough12 = gcm12(32);
static CHACHA_12: PassThrough12 = PassThrough12 {
    shape: KeyBlockShape {
        enc_key_len: 32,
        fixed_iv_len: 12,
        explicit_nonce_len: 0,
    },
};

/// Same list as [`crate::provider::tls12`].
static ECDSA_SCHEMES: &[SignatureScheme] = &[
    SignatureScheme::ED25519,
    SignatureScheme::ECDSA_NISTP384_SHA384,
    SignatureScheme::ECDSA_NISTP256_SHA256,
];

/// The production cipher suites ([`crate::provider::CIPHER_SUITES`]), same
/// order and identifiers, over the pass-through primitives.
pub static CIPHER_SUITES: &[SupportedCipherSuite] = &[
    SupportedCipherSuite::Tls13(&Tls13CipherSuite {
        common: CipherSuiteCommon {
            suite: CipherSuite::TLS13_AES_128_GCM_SHA256,
            hash_provider: &hash::SHA256,
            confidentiality_limit: 1 << 24,
        },
        hkdf_provider: &HKDF_SHA256,
        aead_alg: &PassThrough13 { key_len: 16 },
        quic: None,
    }),
    SupportedCipherSuite::Tls13(&Tls13CipherSuite {
        common: CipherSuiteCommon {
            suite: CipherSuite::TLS13_AES_256_GCM_SHA384,
            hash_provider: &hash::SHA384,
            confidentiality_limit: 1 << 24,
        },
        hkdf_provider: &HKDF_SHA384,
        aead_alg: &PassThrough13 { key_len: 32 },
        quic: None,
    }),
    SupportedCipherSuite::Tls13(&Tls13CipherSuite {
        common: CipherSuiteCommon {
            suite: CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
            hash_provider: &hash::SHA256,
            confidentiality_limit: u64::MAX,
        },
        hkdf_provider: &HKDF_SHA256,
        aead_alg: &PassThrough13 { key_len: 32 },
        quic: None,
    }),
    SupportedCipherSuite::Tls12(&Tls12CipherSuite {
        common: CipherSuiteCommon {
            suite: CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            hash_provider: &hash::SHA256,
            confidentiality_limit: 1 << 24,
        },
        kx: KeyExchangeAlgorithm::ECDHE,
        sign: ECDSA_SCHEMES,
        aead_alg: &AES128_12,
        prf_provider: &PRF_SHA256,
    }),
    SupportedCipherSuite::Tls12(&Tls12CipherSuite {
        common: CipherSuiteCommon {
            suite: CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            hash_provider: &hash::SHA384,
            confidentiality_limit: 1 << 24,
        },
        kx: KeyExchangeAlgorithm::ECDHE,
        sign: ECDSA_SCHEMES,
        aead_alg: &AES256_12,
        prf_provider: &PRF_SHA384,
    }),
    SupportedCipherSuite::Tls12(&Tls12CipherSuite {
        common: CipherSuiteCommon {
            suite: CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            hash_provider: &hash::SHA256,
            confidentiality_limit: u64::MAX,
        },
        kx: KeyExchangeAlgorithm::ECDHE,
        sign: ECDSA_SCHEMES,
        aead_alg: &CHACHA_12,
        prf_provider: &PRF_SHA256,
    }),
];

// ---------------------------------------------------------------- signatures

/// Loads keys with the production key provider (so the certificate/key
/// match check and scheme choice are real) and signs with [`FUZZ_SIGNATURE`].
#[derive(Debug)]
struct FuzzKeyProvider;

static KEY_PROVIDER: FuzzKeyProvider = FuzzKeyProvider;

impl rustls::crypto::KeyProvider for FuzzKeyProvider {
    fn load_private_key(
        &self,
        key_der: PrivateKeyDer<'static>,
    ) -> Result<Arc<dyn SigningKey>, Error> {
        let real = crate::provider::sign::KEY_PROVIDER.load_private_key(key_der)?;
        Ok(Arc::new(ConstSigningKey(real)))
    }
}

#[derive(Debug)]
struct ConstSigningKey(Arc<dyn SigningKey>);

impl SigningKey for ConstSigningKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        let scheme = self.0.choose_scheme(offered)?.scheme();
        Some(Box::new(ConstSigner(scheme)))
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        self.0.public_key()
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        self.0.algorithm()
    }
}

#[derive(Debug)]
struct ConstSigner(SignatureScheme);

impl Signer for ConstSigner {
    fn sign(&self, _message: &[u8]) -> Result<Vec<u8>, Error> {
        Ok(FUZZ_SIGNATURE.to_vec())
    }

    fn scheme(&self) -> SignatureScheme {
        self.0
    }
}

/// A verification algorithm with production identifiers that accepts
/// [`FUZZ_SIGNATURE`] (or, `psychic`, anything at all).
#[derive(Debug)]
struct ConstVerify {
    public_key: AlgorithmIdentifier,
    signature: AlgorithmIdentifier,
    psychic: bool,
}

impl SignatureVerificationAlgorithm for ConstVerify {
    fn verify_signature(
        &self,
        _public_key: &[u8],
        _message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        if self.psychic || signature == FUZZ_SIGNATURE {
            Ok(())
        } else {
            Err(InvalidSignature)
        }
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.public_key
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.signature
    }
}

const fn handshake(public_key: AlgorithmIdentifier, signature: AlgorithmIdentifier) -> ConstVerify {
    ConstVerify {
        public_key,
        signature,
        psychic: false,
    }
}

static HS_P256_SHA256: ConstVerify = handshake(alg_id::ECDSA_P256, alg_id::ECDSA_SHA256);
static HS_P384_SHA256: ConstVerify = handshake(alg_id::ECDSA_P384, alg_id::ECDSA_SHA256);
static HS_P384_SHA384: ConstVerify = handshake(alg_id::ECDSA_P384, alg_id::ECDSA_SHA384);
static HS_P256_SHA384: ConstVerify = handshake(alg_id::ECDSA_P256, alg_id::ECDSA_SHA384);
static HS_ED25519: ConstVerify = handshake(alg_id::ED25519, alg_id::ED25519);

/// The production algorithm table with handshake signatures (`mapping`)
/// replaced and certificate chains (`all`) left real. The scheme list and
/// its order are the production ones (a unit test holds them together).
#[cfg(not(feature = "fuzzing-planted-bug"))]
pub static SIGNATURE_ALGORITHMS: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: crate::provider::verify::SUPPORTED_SIG_ALGS.all,
    mapping: MAPPING,
};

/// PLANTED BUG (test-only feature `fuzzing-planted-bug`): certificate chain
/// signatures verify whatever they are. See the module docs.
#[cfg(feature = "fuzzing-planted-bug")]
pub static SIGNATURE_ALGORITHMS: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[
        &PSYCHIC_P256_SHA256,
        &PSYCHIC_P384_SHA384,
        &PSYCHIC_P256_SHA384,
        &PSYCHIC_P384_SHA256,
        &PSYCHIC_ED25519,
    ],
    mapping: MAPPING,
};

#[cfg(feature = "fuzzing-planted-bug")]
const fn psychic(public_key: AlgorithmIdentifier, signature: AlgorithmIdentifier) -> ConstVerify {
    ConstVerify {
        public_key,
        signature,
        psychic: true,
    }
}
#[cfg(feature = "fuzzing-planted-bug")]
static PSYCHIC_P256_SHA256: ConstVerify = psychic(alg_id::ECDSA_P256, alg_id::ECDSA_SHA256);
#[cfg(feature = "fuzzing-planted-bug")]
static PSYCHIC_P384_SHA384: ConstVerify = psychic(alg_id::ECDSA_P384, alg_id::ECDSA_SHA384);
#[cfg(feature = "fuzzing-planted-bug")]
static PSYCHIC_P256_SHA384: ConstVerify = psychic(alg_id::ECDSA_P256, alg_id::ECDSA_SHA384);
#[cfg(feature = "fuzzing-planted-bug")]
static PSYCHIC_P384_SHA256: ConstVerify = psychic(alg_id::ECDSA_P384, alg_id::ECDSA_SHA256);
#[cfg(feature = "fuzzing-planted-bug")]
static PSYCHIC_ED25519: ConstVerify = psychic(alg_id::ED25519, alg_id::ED25519);

type Mapping = &'static [(
    SignatureScheme,
    &'static [&'static dyn SignatureVerificationAlgorithm],
)];

const MAPPING: Mapping = &[
    (
        SignatureScheme::ECDSA_NISTP384_SHA384,
        &[&HS_P384_SHA384, &HS_P256_SHA384],
    ),
    (
        SignatureScheme::ECDSA_NISTP256_SHA256,
        &[&HS_P256_SHA256, &HS_P384_SHA256],
    ),
    (SignatureScheme::ED25519, &[&HS_ED25519]),
];

// ---------------------------------------------------------------- provider

/// The fuzzing provider, drawing from `stream`.
pub fn provider(stream: Stream) -> CryptoProvider {
    CryptoProvider {
        cipher_suites: CIPHER_SUITES.to_vec(),
        kx_groups: vec![&X25519MLKEM768, &X25519, &SECP256R1],
        signature_verification_algorithms: SIGNATURE_ALGORITHMS,
        secure_random: DeterministicRandom::of(stream),
        key_provider: &KEY_PROVIDER,
    }
}

/// [`provider`] restricted to some suites and groups (by identifier), in
/// the given order: the recording peers use it to steer negotiation.
pub fn provider_with(
    stream: Stream,
    suites: &[CipherSuite],
    groups: &[NamedGroup],
) -> CryptoProvider {
    let mut p = provider(stream);
    p.cipher_suites = suites
        .iter()
        .filter_map(|s| CIPHER_SUITES.iter().find(|c| c.suite() == *s).copied())
        .collect();
    p.kx_groups = groups
        .iter()
        .filter_map(|g| {
            [
                &X25519MLKEM768 as &'static dyn SupportedKxGroup,
                &X25519,
                &SECP256R1,
            ]
            .into_iter()
            .find(|k| k.name() == *g)
        })
        .collect();
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_the_production_provider() {
        let real = crate::provider::provider_with_groups(Box::leak(Box::new(
            crate::provider::KxGroups::new(DeterministicRandom::of(Stream::Peer)),
        )));
        let fuzz = provider(Stream::Pinata);
        let ids = |p: &CryptoProvider| {
            p.cipher_suites
                .iter()
                .map(|s| s.suite())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&real), ids(&fuzz));
        let groups = |p: &CryptoProvider| p.kx_groups.iter().map(|g| g.name()).collect::<Vec<_>>();
        assert_eq!(groups(&real), groups(&fuzz));
        let real_map = real.signature_verification_algorithms.mapping;
        assert_eq!(real_map.len(), MAPPING.len());
        for ((rs, ra), (fs, fa)) in real_map.iter().zip(MAPPING) {
            assert_eq!(rs, fs);
            let alg_ids = |a: &[&dyn SignatureVerificationAlgorithm]| {
                a.iter()
                    .map(|a| (a.public_key_alg_id(), a.signature_alg_id()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(alg_ids(ra), alg_ids(fa));
        }
    }

    #[test]
    fn random_streams_are_reproducible_and_independent() {
        let mut a = [0u8; 40];
        let mut b = [0u8; 40];
        reset(Stream::Pinata);
        DeterministicRandom::of(Stream::Pinata)
            .fill(&mut a)
            .unwrap();
        reset(Stream::Pinata);
        DeterministicRandom::of(Stream::Peer).fill(&mut b).unwrap();
        DeterministicRandom::of(Stream::Pinata)
            .fill(&mut b)
            .unwrap();
        assert_eq!(a, b);
        DeterministicRandom::of(Stream::Pinata)
            .fill(&mut b)
            .unwrap();
        assert_ne!(a, b);
    }
}
