//! The deterministic [`CryptoProvider`] of the fuzzing mode.
//!
//! A fuzzer cannot forge an AEAD tag, solve a Diffie-Hellman or sign a
//! transcript, so with the real provider every mutated handshake dies at the
//! first MAC or signature check and the state machine behind it is never
//! reached. rustls's own fuzzers solve this with a provider that does no real
//! crypto; this one follows the same recipe, with one deliberate difference
//! (certificate chains, below):
//!
//! | concern | real provider ([`pinata::provider`]) | fuzzing provider (here) |
//! |---|---|---|
//! | randomness | OS / DRBG | [`DeterministicRandom`]: SHA-256 of a fixed seed, a stream id and a per-thread counter |
//! | key exchange | X25519, P-256 ECDHE | same groups and key-share lengths, fixed public keys, fixed shared secret |
//! | HMAC (so HKDF, the TLS 1.2 PRF, Finished) | HMAC-SHA-2 | a constant tag of the hash's length: every Finished matches |
//! | record protection | AES-GCM, ChaCha20-Poly1305 | pass-through: plaintext in clear, fixed 16-byte tag, tag not checked |
//! | handshake signatures (CertificateVerify, ServerKeyExchange) | ECDSA, Ed25519 | signing emits [`FUZZ_SIGNATURE`]; verifying accepts exactly that value |
//! | **certificate chain signatures** | ECDSA, Ed25519 | **real** (the production verifiers), each verdict remembered: see [`RememberedVerify`] |
//! | hash | SHA-256, SHA-384 | real (cheap, and the transcript hash feeds nothing secret) |
//!
//! The suites, groups and signature schemes are the production ones, with
//! the same identifiers, key lengths and record framing (explicit nonce,
//! tag length), so negotiation and record-layer code paths are those that
//! ship. Only the primitives are replaced. The tables are not copied: they
//! are built once per process from the production provider's own
//! ([`pinata::provider::CIPHER_SUITES`], its key-exchange groups and
//! [`pinata::provider::SUPPORTED_SIG_ALGS`]), so a suite, group or scheme
//! added there is fuzzed here without a change — a new group's key-share
//! sizes are measured from one real exchange at start.
//!
//! # Why chain signatures stay real
//!
//! rustls keeps two tables of verification algorithms
//! ([`WebPkiSupportedAlgorithms`]): `all` for certificate chains, `mapping`
//! for the TLS signature schemes of handshake signatures. Only `mapping` is
//! replaced here. With real chain verification, a certificate that chains to
//! the piñata CA can only be one the CA really signed — the piñata's own
//! three leaves — exactly as in production. That is what makes the leak
//! oracle exact (see [`crate::oracle`]): the fuzzer may replay the piñata's
//! own certificate (it is public, and the constant handshake signature
//! stands in for possession of its key), but any *other* chain that gets a
//! secret out is a verifier bug, not an artefact of the fuzzing mode.
//!
//! The test-only feature `planted-bug` breaks exactly this: chain
//! signatures verify whatever they are ("psychic signatures",
//! CVE-2022-21449-style), so a certificate from a look-alike CA is accepted.
//! The oracle must then fire; the regression test and `cargo xtask fuzz
//! --planted-bug` check that it does.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::Cell;
use core::hash::BuildHasherDefault;
use std::collections::HashMap;
use std::hash::DefaultHasher;
use std::sync::{LazyLock, Mutex};

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
    SecureRandom, SharedSecret, SupportedKxGroup, WebPkiSupportedAlgorithms,
};
use rustls::ffdhe_groups::FfdheGroup;
use rustls::pki_types::{
    AlgorithmIdentifier, FipsStatus, InvalidSignature, PrivateKeyDer,
    SignatureVerificationAlgorithm, SubjectPublicKeyInfoDer, UnixTime,
};
use rustls::sign::{Signer, SigningKey};
use rustls::time_provider::TimeProvider;
use rustls::{
    CipherSuite, ConnectionTrafficSecrets, ContentType, Error, NamedGroup, PeerMisbehaved,
    ProtocolVersion, SignatureAlgorithm, SignatureScheme, SupportedCipherSuite, Tls12CipherSuite,
    Tls13CipherSuite,
};
use sha2::Digest;

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
    /// The one real key exchange per production group that sizes the
    /// fuzzing provider's fixed groups.
    Tables = 4,
}

const STREAMS: usize = 5;
const SEED: &[u8] = b"pinata fuzzing mode: not a secret, not random";

std::thread_local! {
    // Per thread: libFuzzer runs one input at a time on one thread, and
    // `cargo test` runs regression inputs on parallel threads; a global
    // counter would let those tests shift each other's draws.
    static COUNTERS: [Cell<u64>; STREAMS] = const {
        [Cell::new(0), Cell::new(0), Cell::new(0), Cell::new(0), Cell::new(0)]
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
            DeterministicRandom(Stream::Tables),
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

/// A production group with its real name, TLS versions and key-share sizes
/// (taken from one real exchange at start), a fixed public key and a fixed
/// shared secret.
struct FixedGroup {
    real: &'static dyn SupportedKxGroup,
    shares: Shares,
}

/// What a fixed group sends, by role, as measured from the real group.
#[derive(Clone, Copy)]
struct Shares {
    name: NamedGroup,
    /// What this side sends as a client (the key share in the ClientHello).
    client: &'static [u8],
    /// What this side sends as a server (the share in the ServerHello: for
    /// a hybrid post-quantum group, a KEM ciphertext of another size).
    server: &'static [u8],
}

impl core::fmt::Debug for FixedGroup {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FixedGroup")
            .field("name", &self.shares.name)
            .field("client_share", &self.shares.client.len())
            .field("server_share", &self.shares.server.len())
            .finish()
    }
}

const SHARED_SECRET: [u8; 32] = [0x5e; 32];

impl FixedGroup {
    /// Mirrors `real`: one real exchange with itself gives the sizes and
    /// the shapes of both shares (drawing from [`Stream::Tables`]).
    fn of(real: &'static dyn SupportedKxGroup) -> FixedGroup {
        let name = real.name();
        let client = real
            .start()
            .unwrap_or_else(|e| panic!("production group {name:?} does not start: {e}"));
        let server = real
            .start_and_complete(client.pub_key())
            .unwrap_or_else(|e| panic!("production group {name:?} does not agree: {e}"));
        FixedGroup {
            real,
            shares: Shares {
                name,
                client: Vec::leak(client.pub_key().to_vec()),
                server: Vec::leak(server.pub_key),
            },
        }
    }
}

impl Shares {
    /// The production groups' shape checks without the arithmetic: a share
    /// of the other side's size (and, on the NIST curves, in uncompressed
    /// SEC1 form) agrees, anything else is an invalid key share, so those
    /// paths stay reachable.
    fn agree(&self, peer: &[u8], expected_len: usize) -> Result<SharedSecret, Error> {
        let sec1 = matches!(
            self.name,
            NamedGroup::secp256r1 | NamedGroup::secp384r1 | NamedGroup::secp521r1
        );
        if peer.len() != expected_len || (sec1 && peer.first() != Some(&0x04)) {
            return Err(PeerMisbehaved::InvalidKeyShare.into());
        }
        Ok(SharedSecret::from(&SHARED_SECRET[..]))
    }
}

impl SupportedKxGroup for FixedGroup {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
        Ok(Box::new(FixedExchange(self.shares)))
    }

    fn start_and_complete(&self, peer: &[u8]) -> Result<CompletedKeyExchange, Error> {
        Ok(CompletedKeyExchange {
            group: self.shares.name,
            secret: self.shares.agree(peer, self.shares.client.len())?,
            pub_key: self.shares.server.to_vec(),
        })
    }

    fn name(&self) -> NamedGroup {
        self.shares.name
    }

    fn usable_for_version(&self, version: ProtocolVersion) -> bool {
        self.real.usable_for_version(version)
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        None
    }
}

/// The client side of a [`FixedGroup`] exchange.
struct FixedExchange(Shares);

impl ActiveKeyExchange for FixedExchange {
    fn complete(self: Box<Self>, peer: &[u8]) -> Result<SharedSecret, Error> {
        self.0.agree(peer, self.0.server.len())
    }

    fn pub_key(&self) -> &[u8] {
        self.0.client
    }

    fn group(&self) -> NamedGroup {
        self.0.name
    }

    fn ffdhe_group(&self) -> Option<FfdheGroup<'static>> {
        None
    }
}

// ---------------------------------------------------------------- HMAC

/// HMAC whose every tag is the same `len` bytes: Finished messages and
/// derived keys are constants, so a mutated transcript still "verifies".
struct ConstHmac(usize);

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
    enc_key_len: usize,
    fixed_iv_len: usize,
    explicit_nonce_len: usize,
}

impl Tls12AeadAlgorithm for PassThrough12 {
    fn encrypter(&self, _key: AeadKey, _iv: &[u8], extra: &[u8]) -> Box<dyn MessageEncrypter> {
        Box::new(Seal12 {
            explicit: extra.to_vec(),
        })
    }

    fn decrypter(&self, _key: AeadKey, _iv: &[u8]) -> Box<dyn MessageDecrypter> {
        Box::new(Open12 {
            explicit: self.explicit_nonce_len,
        })
    }

    fn key_block_shape(&self) -> KeyBlockShape {
        KeyBlockShape {
            enc_key_len: self.enc_key_len,
            fixed_iv_len: self.fixed_iv_len,
            explicit_nonce_len: self.explicit_nonce_len,
        }
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

/// Gives a table entry built at start the `'static` lifetime rustls wants.
/// Called a bounded number of times, once per process ([`TABLES`]).
fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

/// The production suite's common part: same identifier, same (real) hash.
fn common(real: &CipherSuiteCommon) -> CipherSuiteCommon {
    CipherSuiteCommon {
        suite: real.suite,
        hash_provider: real.hash_provider,
        confidentiality_limit: real.confidentiality_limit,
    }
}

/// The constant HMAC over the suite's hash (same output length).
fn const_hmac(real: &CipherSuiteCommon) -> &'static ConstHmac {
    leak(ConstHmac(real.hash_provider.output_len()))
}

/// `real` over the pass-through primitives: same identifier, hash, key
/// lengths, record framing, key exchange and signature schemes.
fn fuzz_suite(real: SupportedCipherSuite) -> SupportedCipherSuite {
    match real {
        SupportedCipherSuite::Tls13(real) => SupportedCipherSuite::Tls13(leak(Tls13CipherSuite {
            common: common(&real.common),
            hkdf_provider: leak(HkdfUsingHmac(const_hmac(&real.common))),
            aead_alg: leak(PassThrough13 {
                key_len: real.aead_alg.key_len(),
            }),
            quic: None,
        })),
        SupportedCipherSuite::Tls12(real) => {
            let shape = real.aead_alg.key_block_shape();
            SupportedCipherSuite::Tls12(leak(Tls12CipherSuite {
                common: common(&real.common),
                kx: real.kx,
                sign: real.sign,
                aead_alg: leak(PassThrough12 {
                    enc_key_len: shape.enc_key_len,
                    fixed_iv_len: shape.fixed_iv_len,
                    explicit_nonce_len: shape.explicit_nonce_len,
                }),
                prf_provider: leak(PrfUsingHmac(const_hmac(&real.common))),
            }))
        }
    }
}

/// The fuzzing mode's tables, each built from its production counterpart.
struct Tables {
    /// [`pinata::provider::CIPHER_SUITES`], same order.
    suites: Vec<SupportedCipherSuite>,
    /// The production groups, same order.
    groups: Vec<&'static dyn SupportedKxGroup>,
    /// [`pinata::provider::SUPPORTED_SIG_ALGS`] with handshake signatures
    /// replaced (see [`signature_algorithms`]).
    algorithms: WebPkiSupportedAlgorithms,
}

static TABLES: LazyLock<Tables> = LazyLock::new(|| {
    reset(Stream::Tables);
    let production = leak(pinata::provider::KxGroups::new(DeterministicRandom::of(
        Stream::Tables,
    )));
    Tables {
        suites: pinata::provider::CIPHER_SUITES
            .iter()
            .copied()
            .map(fuzz_suite)
            .collect(),
        groups: production
            .all()
            .into_iter()
            .map(|real| leak(FixedGroup::of(real)) as &'static dyn SupportedKxGroup)
            .collect(),
        algorithms: fuzz_algorithms(pinata::provider::SUPPORTED_SIG_ALGS),
    }
});

/// The production cipher suites, same order and identifiers, over the
/// pass-through primitives.
pub fn cipher_suites() -> &'static [SupportedCipherSuite] {
    &TABLES.suites
}

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
        let real = pinata::provider::sign::KEY_PROVIDER.load_private_key(key_der)?;
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

/// A [`ConstVerify`] with the identifiers of `real`, leaked for rustls.
fn fuzz_verify(
    real: &&'static dyn SignatureVerificationAlgorithm,
    psychic: bool,
) -> &'static dyn SignatureVerificationAlgorithm {
    leak(ConstVerify {
        public_key: real.public_key_alg_id(),
        signature: real.signature_alg_id(),
        psychic,
    })
}

/// A production certificate-chain verifier whose verdicts are remembered:
/// the same (algorithm, public key, message, signature) is verified for
/// real once per process and answered from memory afterwards.
///
/// Why: almost every fuzz input presents one of a dozen certificate chains,
/// and verifying their ECDSA signatures again and again was over half of
/// `handshake_transcript`'s time (P-256 arithmetic, instrumented for
/// coverage it cannot give: constant-time code takes the same path for
/// every input). The verdict is the real one, so the oracle's premise
/// holds (only certificates the CA really signed chain to it); a mutated
/// certificate is a new message and is verified for real.
pub struct RememberedVerify {
    real: &'static dyn SignatureVerificationAlgorithm,
}

/// Most verdicts kept; the memory is emptied when it is full (bounded).
const MAX_VERDICTS: usize = 4096;

/// Verdicts by `[algorithm address][key length][key][message length][message][signature]`.
/// A fixed-key hasher: std's default is seeded per process, which would make
/// the map's probing (instrumented code) differ between two runs of the same
/// input.
type Verdicts = HashMap<Vec<u8>, bool, BuildHasherDefault<DefaultHasher>>;
static VERDICTS: LazyLock<Mutex<Verdicts>> = LazyLock::new(Mutex::default);

impl core::fmt::Debug for RememberedVerify {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RememberedVerify")
            .field("public_key", &self.real.public_key_alg_id())
            .field("signature", &self.real.signature_alg_id())
            .finish()
    }
}

impl SignatureVerificationAlgorithm for RememberedVerify {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        let algorithm = core::ptr::from_ref(self.real).cast::<()>() as usize;
        let mut key = Vec::with_capacity(24 + public_key.len() + message.len() + signature.len());
        key.extend_from_slice(&algorithm.to_le_bytes());
        key.extend_from_slice(&public_key.len().to_le_bytes());
        key.extend_from_slice(public_key);
        key.extend_from_slice(&message.len().to_le_bytes());
        key.extend_from_slice(message);
        key.extend_from_slice(signature);
        // A poisoned lock only means another thread panicked mid-insert
        // (a crash being reported): the map itself is still consistent.
        let remembered = VERDICTS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            .copied();
        let valid = match remembered {
            Some(valid) => valid,
            None => {
                let valid = self
                    .real
                    .verify_signature(public_key, message, signature)
                    .is_ok();
                let mut verdicts = VERDICTS.lock().unwrap_or_else(|e| e.into_inner());
                if verdicts.len() >= MAX_VERDICTS {
                    verdicts.clear();
                }
                verdicts.insert(key, valid);
                valid
            }
        };
        if valid { Ok(()) } else { Err(InvalidSignature) }
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.real.public_key_alg_id()
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.real.signature_alg_id()
    }

    fn fips_status(&self) -> FipsStatus {
        self.real.fips_status()
    }
}

/// The production algorithm table with handshake signatures (`mapping`)
/// replaced, scheme by scheme and algorithm by algorithm, and certificate
/// chains (`all`) verified for real ([`RememberedVerify`]).
#[cfg(not(feature = "planted-bug"))]
fn fuzz_algorithms(real: WebPkiSupportedAlgorithms) -> WebPkiSupportedAlgorithms {
    let remembered: Vec<&'static dyn SignatureVerificationAlgorithm> = real
        .all
        .iter()
        .map(|real| leak(RememberedVerify { real: *real }) as _)
        .collect();
    WebPkiSupportedAlgorithms {
        all: Vec::leak(remembered),
        mapping: fuzz_mapping(real.mapping),
    }
}

/// PLANTED BUG (test-only feature `planted-bug`): certificate chain
/// signatures verify whatever they are. See the module docs.
#[cfg(feature = "planted-bug")]
fn fuzz_algorithms(real: WebPkiSupportedAlgorithms) -> WebPkiSupportedAlgorithms {
    let psychic: Vec<_> = real.all.iter().map(|a| fuzz_verify(a, true)).collect();
    WebPkiSupportedAlgorithms {
        all: Vec::leak(psychic),
        mapping: fuzz_mapping(real.mapping),
    }
}

type Mapping = &'static [(
    SignatureScheme,
    &'static [&'static dyn SignatureVerificationAlgorithm],
)];

fn fuzz_mapping(real: Mapping) -> Mapping {
    let mapping: Vec<_> = real
        .iter()
        .map(|(scheme, algorithms)| {
            let fixed: Vec<_> = algorithms.iter().map(|a| fuzz_verify(a, false)).collect();
            (*scheme, &*Vec::leak(fixed))
        })
        .collect();
    Vec::leak(mapping)
}

/// The signature verification table of the fuzzing mode: the production
/// one with every handshake-signature algorithm replaced by one that
/// accepts [`FUZZ_SIGNATURE`], and certificate chains verified for real
/// (the module docs say why).
pub fn signature_algorithms() -> WebPkiSupportedAlgorithms {
    TABLES.algorithms
}

// ---------------------------------------------------------------- provider

/// The fuzzing provider, drawing from `stream`.
pub fn provider(stream: Stream) -> CryptoProvider {
    CryptoProvider {
        cipher_suites: TABLES.suites.clone(),
        kx_groups: TABLES.groups.clone(),
        signature_verification_algorithms: TABLES.algorithms,
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
        .filter_map(|s| TABLES.suites.iter().find(|c| c.suite() == *s).copied())
        .collect();
    p.kx_groups = groups
        .iter()
        .filter_map(|g| TABLES.groups.iter().find(|k| k.name() == *g).copied())
        .collect();
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn production() -> CryptoProvider {
        pinata::provider::provider_with_groups(leak(pinata::provider::KxGroups::new(
            DeterministicRandom::of(Stream::Peer),
        )))
    }

    #[test]
    fn mirrors_the_production_provider() {
        let real = production();
        let fuzz = provider(Stream::Pinata);
        // Suites: identifiers, order, hash, key lengths and record framing.
        assert_eq!(real.cipher_suites.len(), fuzz.cipher_suites.len());
        for (r, f) in real.cipher_suites.iter().zip(&fuzz.cipher_suites) {
            assert_eq!(r.suite(), f.suite());
            match (r, f) {
                (SupportedCipherSuite::Tls13(r), SupportedCipherSuite::Tls13(f)) => {
                    assert!(core::ptr::addr_eq(
                        r.common.hash_provider,
                        f.common.hash_provider
                    ));
                    assert_eq!(r.aead_alg.key_len(), f.aead_alg.key_len());
                }
                (SupportedCipherSuite::Tls12(r), SupportedCipherSuite::Tls12(f)) => {
                    assert!(core::ptr::addr_eq(
                        r.common.hash_provider,
                        f.common.hash_provider
                    ));
                    let (rs, fs) = (r.aead_alg.key_block_shape(), f.aead_alg.key_block_shape());
                    assert_eq!(
                        (rs.enc_key_len, rs.fixed_iv_len, rs.explicit_nonce_len),
                        (fs.enc_key_len, fs.fixed_iv_len, fs.explicit_nonce_len)
                    );
                    assert_eq!((r.kx, r.sign), (f.kx, f.sign));
                }
                _ => panic!("{:?}: another TLS version", r.suite()),
            }
        }
        // Groups: names, order, versions.
        let groups = |p: &CryptoProvider| p.kx_groups.iter().map(|g| g.name()).collect::<Vec<_>>();
        assert_eq!(groups(&real), groups(&fuzz));
        for (r, f) in real.kx_groups.iter().zip(&fuzz.kx_groups) {
            for version in [ProtocolVersion::TLSv1_2, ProtocolVersion::TLSv1_3] {
                assert_eq!(r.usable_for_version(version), f.usable_for_version(version));
            }
        }
        // Signature schemes and the algorithms behind them.
        let alg_ids = |a: &[&dyn SignatureVerificationAlgorithm]| {
            a.iter()
                .map(|a| (a.public_key_alg_id(), a.signature_alg_id()))
                .collect::<Vec<_>>()
        };
        let real_algs = real.signature_verification_algorithms;
        let fuzz_algs = fuzz.signature_verification_algorithms;
        assert_eq!(alg_ids(real_algs.all), alg_ids(fuzz_algs.all));
        assert_eq!(real_algs.mapping.len(), fuzz_algs.mapping.len());
        for ((rs, ra), (fs, fa)) in real_algs.mapping.iter().zip(fuzz_algs.mapping) {
            assert_eq!(rs, fs);
            assert_eq!(alg_ids(ra), alg_ids(fa));
        }
    }

    #[test]
    fn key_shares_have_the_production_shape_and_bad_ones_are_refused() {
        let real = production();
        for (r, f) in real.kx_groups.iter().zip(&TABLES.groups) {
            // The real group accepts the fixed client share's size and shape
            // (it does arithmetic on it), and the other way round.
            let fixed_client = f.start().expect("fixed start");
            let real_server = r
                .start_and_complete(fixed_client.pub_key())
                .unwrap_or_else(|e| panic!("{:?}: fixed share refused: {e}", r.name()));
            fixed_client
                .complete(&real_server.pub_key)
                .expect("fixed client takes a real server share");
            let real_client = r.start().expect("real start");
            f.start_and_complete(real_client.pub_key())
                .expect("fixed server takes a real client share");
            // A share one byte short is an invalid key share.
            let short = &real_client.pub_key()[1..];
            assert!(f.start_and_complete(short).is_err(), "{:?}", r.name());
        }
    }

    #[test]
    fn handshake_signatures_verify_only_the_fixed_value() {
        let algorithms = signature_algorithms();
        for (scheme, verifiers) in algorithms.mapping {
            for v in *verifiers {
                assert!(v.verify_signature(b"key", b"msg", FUZZ_SIGNATURE).is_ok());
                assert!(
                    v.verify_signature(b"key", b"msg", b"other").is_err(),
                    "{scheme:?}"
                );
            }
        }
    }

    /// Accepts the signature `ok`, counts its calls.
    #[derive(Debug)]
    struct Counting(core::sync::atomic::AtomicUsize);

    impl SignatureVerificationAlgorithm for Counting {
        fn verify_signature(&self, _: &[u8], _: &[u8], sig: &[u8]) -> Result<(), InvalidSignature> {
            self.0.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
            if sig == b"ok" {
                Ok(())
            } else {
                Err(InvalidSignature)
            }
        }

        fn public_key_alg_id(&self) -> AlgorithmIdentifier {
            rustls::pki_types::alg_id::ED25519
        }

        fn signature_alg_id(&self) -> AlgorithmIdentifier {
            rustls::pki_types::alg_id::ED25519
        }
    }

    #[test]
    fn remembered_verdicts_are_the_real_ones_computed_once() {
        static A: Counting = Counting(core::sync::atomic::AtomicUsize::new(0));
        static B: Counting = Counting(core::sync::atomic::AtomicUsize::new(0));
        let (a, b) = (RememberedVerify { real: &A }, RememberedVerify { real: &B });
        let calls = |c: &Counting| c.0.load(core::sync::atomic::Ordering::Relaxed);
        for _ in 0..3 {
            assert!(a.verify_signature(b"k", b"m", b"ok").is_ok());
            assert!(a.verify_signature(b"k", b"m", b"no").is_err());
            // Boundaries between the fields matter: not the same triple.
            assert!(a.verify_signature(b"km", b"", b"no").is_err());
        }
        assert_eq!(calls(&A), 3);
        // Another algorithm asks its own verifier.
        assert!(b.verify_signature(b"k", b"m", b"ok").is_ok());
        assert_eq!(calls(&B), 1);
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
