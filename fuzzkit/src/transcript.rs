//! Recorded handshakes, and mutating them at the record and handshake-message
//! level.
//!
//! # Recording
//!
//! `record_all` runs real handshakes in the fuzzing mode between the
//! piñata's bounty sessions and rustls peers holding the piñata's own
//! identities: the piñata as server against clients restricted to one TLS
//! version, suite and group set, and the piñata as client against servers
//! likewise restricted (with and without a certificate request, and one that
//! forces a HelloRetryRequest). Each recording must end with the secret
//! delivered, or the world refuses to build. What is kept is the peer's side:
//! the bytes it sent, flight by flight — exactly what a fuzz target feeds the
//! piñata.
//!
//! # The model and its mutations
//!
//! [`Model::parse`] turns a transcript into units: one per handshake message
//! (header included, so its length field can be lied about), or one per
//! non-handshake record, each remembering whether it travelled protected.
//! With the pass-through record layer of [`crate::provider`], "protected" is
//! only framing (inner content type, explicit nonce, tag), so the units
//! inside encrypted TLS 1.3 flights — Certificate, CertificateVerify,
//! Finished — are as reachable as the ClientHello. [`Model::render`] frames
//! the units back into well-formed records, so a mutation lands in the
//! handshake layer instead of being rejected by the record layer.
//!
//! A fuzz input for `handshake_transcript` is a small program: the first
//! byte picks a transcript, then each op byte (with its argument bytes)
//! applies one of [`Op`] — drop, duplicate, reorder, move between flights,
//! splice from another transcript, flip or set bytes, lie about lengths,
//! truncate, swap the certificate chain, change content type or record
//! version, fragment, coalesce, split delivery, insert alerts or raw
//! messages, strip or add protection, close early. Exhausted input reads as
//! zeros, so every byte string is a valid program.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    CipherSuite, ClientConfig, NamedGroup, RootCertStore, ServerConfig, SupportedCipherSuite,
    SupportedProtocolVersion,
};

use crate::provider::{FUZZ_TAG, FixedClock, Stream, cipher_suites, provider_with, reset};
use crate::{Identities, NOW};
use pinata::app::{Accepted, Pinata};
use pinata::pki::BOUNTY_SERVER_NAME;
use pinata::session::OutcomeKind;
use pinata::session::{Session, Status};
use pinata::stats::Service;
use pinata::tls::TlsStream;

/// The piñata's side of a transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The bounty server (port 10000): the peer is a TLS client.
    Server,
    /// The bounty client (10002, and connect-back): the peer is a TLS server.
    Client,
}

/// TLS version of a transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

/// One recorded handshake, from the peer's side.
#[derive(Debug, Clone)]
pub struct Transcript {
    /// Short name (`s13-aes128-x25519`: server role, TLS 1.3, …).
    pub name: &'static str,
    /// The piñata's role.
    pub role: Role,
    /// The negotiated version.
    pub version: Version,
    /// TLS 1.2 only: explicit nonce bytes in protected records (8 for
    /// AES-GCM, 0 for ChaCha20-Poly1305).
    pub explicit_nonce: usize,
    /// The peer's bytes, one entry per turn.
    pub flights: Vec<Vec<u8>>,
    /// The same, parsed.
    pub model: Model,
}

/// The private keys of the piñata's own identities, for the recording peers.
pub(crate) struct PeerKeys {
    pub(crate) client: PrivateKeyDer<'static>,
    pub(crate) server: PrivateKeyDer<'static>,
}

/// Starts a bounty session for `role`, with the piñata's random stream
/// reset so that it draws the same bytes as when transcripts were recorded.
pub fn session(pinata: &Arc<Pinata>, role: Role) -> Box<Session> {
    reset(Stream::Pinata);
    let service = match role {
        Role::Server => Service::Server,
        Role::Client => Service::Client,
    };
    let peer = "192.0.2.1:40000".parse().expect("documentation address");
    match pinata.accept(service, peer, NOW) {
        Accepted::Session(session) => session,
        Accepted::ConnectBack { .. } | Accepted::Closed(_) => {
            unreachable!("only bounty server and client are used")
        }
    }
}

// ---------------------------------------------------------------- recording

struct Spec {
    name: &'static str,
    role: Role,
    version: Version,
    suite: CipherSuite,
    groups: &'static [NamedGroup],
    /// Client role only: whether the peer server asks for a certificate.
    client_auth: bool,
}

const X: NamedGroup = NamedGroup::X25519;
const P: NamedGroup = NamedGroup::secp256r1;

const SPECS: &[Spec] = &[
    spec(
        "s13-aes128-x25519",
        Role::Server,
        Version::Tls13,
        CipherSuite::TLS13_AES_128_GCM_SHA256,
        &[X, P],
        true,
    ),
    spec(
        "s13-chacha-p256",
        Role::Server,
        Version::Tls13,
        CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
        &[P],
        true,
    ),
    spec(
        "s13-aes256-x25519",
        Role::Server,
        Version::Tls13,
        CipherSuite::TLS13_AES_256_GCM_SHA384,
        &[X],
        true,
    ),
    spec(
        "s12-aes128-x25519",
        Role::Server,
        Version::Tls12,
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        &[X],
        true,
    ),
    spec(
        "s12-chacha-p256",
        Role::Server,
        Version::Tls12,
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        &[P],
        true,
    ),
    spec(
        "s12-aes256-p256",
        Role::Server,
        Version::Tls12,
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        &[P, X],
        true,
    ),
    spec(
        "c13-aes128-mtls",
        Role::Client,
        Version::Tls13,
        CipherSuite::TLS13_AES_128_GCM_SHA256,
        &[X, P],
        true,
    ),
    // The piñata's client sends an X25519 share; a P-256-only server
    // answers with a HelloRetryRequest.
    spec(
        "c13-chacha-hrr-p256",
        Role::Client,
        Version::Tls13,
        CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
        &[P],
        true,
    ),
    spec(
        "c13-aes256-noauth",
        Role::Client,
        Version::Tls13,
        CipherSuite::TLS13_AES_256_GCM_SHA384,
        &[X],
        false,
    ),
    spec(
        "c12-aes128-mtls",
        Role::Client,
        Version::Tls12,
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        &[X],
        true,
    ),
    spec(
        "c12-chacha-p256-mtls",
        Role::Client,
        Version::Tls12,
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        &[P],
        true,
    ),
    spec(
        "c12-aes256-noauth",
        Role::Client,
        Version::Tls12,
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        &[X, P],
        false,
    ),
];

const fn spec(
    name: &'static str,
    role: Role,
    version: Version,
    suite: CipherSuite,
    groups: &'static [NamedGroup],
    client_auth: bool,
) -> Spec {
    Spec {
        name,
        role,
        version,
        suite,
        groups,
        client_auth,
    }
}

/// Records every transcript of [`SPECS`]; panics if one does not end with
/// the secret delivered (the fuzzing mode would be broken, not the piñata).
pub(crate) fn record_all(
    pinata: &Arc<Pinata>,
    ids: &Identities,
    keys: &PeerKeys,
) -> Vec<Transcript> {
    SPECS
        .iter()
        .map(|spec| record(pinata, spec, peer(spec, ids, keys)))
        .collect()
}

/// A fresh rustls peer configured like the recording peer of transcript
/// `name` (for recordings over other transports, e.g. the network stack).
pub(crate) fn peer_for(name: &str, ids: &Identities, keys: &PeerKeys) -> Option<TlsStream> {
    let spec = SPECS.iter().find(|s| s.name == name)?;
    Some(peer(spec, ids, keys))
}

fn peer(spec: &Spec, ids: &Identities, keys: &PeerKeys) -> TlsStream {
    let mut roots = RootCertStore::empty();
    roots.add(ids.ca.clone()).expect("CA certificate");
    let roots = Arc::new(roots);
    let provider = Arc::new(provider_with(Stream::Peer, &[spec.suite], spec.groups));
    let versions: &[&'static SupportedProtocolVersion] = match spec.version {
        Version::Tls12 => &[&rustls::version::TLS12],
        Version::Tls13 => &[&rustls::version::TLS13],
    };
    let result = match spec.role {
        Role::Server => {
            let mut config = ClientConfig::builder_with_details(provider, Arc::new(FixedClock))
                .with_protocol_versions(versions)
                .expect("peer versions")
                .with_root_certificates(roots.clone())
                .with_client_auth_cert(ids.client.clone(), keys.client.clone_key())
                .expect("peer client identity");
            config.resumption = rustls::client::Resumption::disabled();
            let name = ServerName::try_from(BOUNTY_SERVER_NAME).expect("server name");
            TlsStream::client(Arc::new(config), name)
        }
        Role::Client => {
            let builder =
                ServerConfig::builder_with_details(provider.clone(), Arc::new(FixedClock))
                    .with_protocol_versions(versions)
                    .expect("peer versions");
            let builder = if spec.client_auth {
                let verifier = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider)
                    .build()
                    .expect("peer verifier");
                builder.with_client_cert_verifier(verifier)
            } else {
                builder.with_no_client_auth()
            };
            let mut config = builder
                .with_single_cert(ids.server.clone(), keys.server.clone_key())
                .expect("peer server identity");
            config.send_tls13_tickets = 0;
            TlsStream::server(Arc::new(config))
        }
    };
    result.expect("peer connection")
}

fn record(pinata: &Arc<Pinata>, spec: &Spec, mut peer: TlsStream) -> Transcript {
    reset(Stream::Peer);
    let mut session = session(pinata, spec.role);
    let mut received = Vec::new();
    let mut flights = Vec::new();
    peer.process().expect("peer start");
    for _ in 0..16 {
        let out = session.outgoing().to_vec();
        session.consume_outgoing(out.len());
        if !out.is_empty() {
            // The peer may fail after the piñata closed; what it read counts.
            let _ = peer.receive(&out);
            received.extend(peer.take_plaintext());
        }
        let back = peer.outgoing().to_vec();
        peer.consume_outgoing(back.len());
        if back.is_empty() {
            if out.is_empty() {
                break;
            }
            continue;
        }
        if session.status() == Status::Close {
            break;
        }
        session.receive(&back, NOW);
        flights.push(back);
    }
    let outcome = session.outcome(NOW).map(|o| o.result);
    assert_eq!(
        outcome,
        Some(OutcomeKind::SecretSent),
        "recording {}: the fuzzing-mode handshake did not deliver the secret",
        spec.name
    );
    assert!(
        crate::oracle::contains_secret(&received),
        "recording {}: the peer did not read the secret",
        spec.name
    );
    // The suite's own framing (8 bytes for AES-GCM, none for ChaCha20).
    let explicit_nonce = cipher_suites()
        .iter()
        .find_map(|suite| match suite {
            SupportedCipherSuite::Tls12(s) if s.common.suite == spec.suite => {
                Some(s.aead_alg.key_block_shape().explicit_nonce_len)
            }
            _ => None,
        })
        .unwrap_or(0);
    let mut transcript = Transcript {
        name: spec.name,
        role: spec.role,
        version: spec.version,
        explicit_nonce,
        flights,
        model: Model::default(),
    };
    transcript.model = Model::parse(&transcript);
    transcript
}

// ---------------------------------------------------------------- model

/// Record content types.
const CHANGE_CIPHER_SPEC: u8 = 20;
const ALERT: u8 = 21;
const HANDSHAKE: u8 = 22;
const APPLICATION_DATA: u8 = 23;
/// Handshake message type of Certificate.
const CERTIFICATE: u8 = 11;

/// One handshake message, or one non-handshake record body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// Content type (the inner type for protected TLS 1.3 records).
    pub typ: u8,
    /// Record header version.
    pub version: [u8; 2],
    /// Whether it travels in a protected record.
    pub protected: bool,
    /// The handshake message with its 4-byte header, or the record body.
    pub data: Vec<u8>,
    /// Share one record with the next unit.
    pub join_next: bool,
}

/// What the peer sends in one turn.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flight {
    /// The units, in order.
    pub units: Vec<Unit>,
    /// Deliver the rendered bytes in two `receive` calls, split here.
    pub split_at: Option<usize>,
    /// The peer closes (TCP FIN) after this flight.
    pub close_after: bool,
}

/// A transcript as units.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Model {
    /// The flights, in order.
    pub flights: Vec<Flight>,
    /// TLS 1.3 framing for protected units (else TLS 1.2).
    pub tls13: bool,
    /// TLS 1.2 explicit nonce length.
    pub explicit_nonce: usize,
}

impl Model {
    /// Parses the recorded flights of `t` (well-formed by construction).
    pub fn parse(t: &Transcript) -> Model {
        let tls13 = t.version == Version::Tls13;
        let mut model = Model {
            flights: Vec::new(),
            tls13,
            explicit_nonce: t.explicit_nonce,
        };
        // TLS 1.2: everything after the peer's ChangeCipherSpec is protected.
        let mut after_ccs = false;
        for bytes in &t.flights {
            let mut units = Vec::new();
            let mut rest = &bytes[..];
            while rest.len() >= 5 {
                let typ = rest[0];
                let version = [rest[1], rest[2]];
                let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
                let Some(body) = rest.get(5..5 + len) else {
                    break;
                };
                rest = &rest[5 + len..];
                let (typ, protected, plain) = if tls13 && typ == APPLICATION_DATA {
                    let inner = &body[..body.len().saturating_sub(FUZZ_TAG.len())];
                    let end = inner.iter().rposition(|b| *b != 0).unwrap_or(0);
                    (inner.get(end).copied().unwrap_or(0), true, &inner[..end])
                } else if !tls13 && after_ccs {
                    let end = body.len().saturating_sub(FUZZ_TAG.len());
                    (typ, true, body.get(t.explicit_nonce..end).unwrap_or(&[]))
                } else {
                    (typ, false, body)
                };
                if !tls13 && typ == CHANGE_CIPHER_SPEC {
                    after_ccs = true;
                }
                let unit = |data: &[u8]| Unit {
                    typ,
                    version,
                    protected,
                    data: data.to_vec(),
                    join_next: false,
                };
                if typ == HANDSHAKE {
                    let mut messages = plain;
                    while !messages.is_empty() {
                        let len = match messages {
                            [_, a, b, c, ..] => {
                                4 + (usize::from(*a) << 16 | usize::from(*b) << 8 | usize::from(*c))
                            }
                            _ => messages.len(),
                        };
                        let (message, tail) = messages.split_at(len.min(messages.len()));
                        // Messages that shared a record keep sharing it.
                        units.push(Unit {
                            join_next: !tail.is_empty(),
                            ..unit(message)
                        });
                        messages = tail;
                    }
                } else {
                    units.push(unit(plain));
                }
            }
            model.flights.push(Flight {
                units,
                ..Flight::default()
            });
        }
        model
    }

    /// Frames the units of flight `f` back into records.
    pub fn render(&self, f: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let units = &self.flights[f].units;
        let mut i = 0;
        while i < units.len() {
            let head = &units[i];
            let mut payload = head.data.clone();
            while units[i].join_next && i + 1 < units.len() {
                i += 1;
                payload.extend_from_slice(&units[i].data);
            }
            i += 1;
            let (outer, body) = match (head.protected, self.tls13) {
                (false, _) => (head.typ, payload),
                (true, true) => {
                    payload.push(head.typ);
                    payload.extend_from_slice(&FUZZ_TAG);
                    (APPLICATION_DATA, payload)
                }
                (true, false) => {
                    let mut body = vec![0u8; self.explicit_nonce];
                    body.extend_from_slice(&payload);
                    body.extend_from_slice(&FUZZ_TAG);
                    (head.typ, body)
                }
            };
            let len = body.len().min(usize::from(u16::MAX));
            out.push(outer);
            out.extend_from_slice(&head.version);
            out.extend_from_slice(&(len as u16).to_be_bytes());
            out.extend_from_slice(&body[..len]);
        }
        out
    }

    /// All flights rendered and concatenated: a raw peer byte stream.
    pub fn render_all(&self) -> Vec<u8> {
        (0..self.flights.len())
            .flat_map(|f| self.render(f))
            .collect()
    }

    fn units(&self) -> usize {
        self.flights.iter().map(|f| f.units.len()).sum()
    }

    /// The `n`-th unit overall (modulo the count), as (flight, index).
    fn locate(&self, n: usize) -> Option<(usize, usize)> {
        let total = self.units();
        if total == 0 {
            return None;
        }
        let mut n = n % total;
        for (f, flight) in self.flights.iter().enumerate() {
            if n < flight.units.len() {
                return Some((f, n));
            }
            n -= flight.units.len();
        }
        None
    }

    fn unit_mut(&mut self, at: (usize, usize)) -> &mut Unit {
        &mut self.flights[at.0].units[at.1]
    }
}

// ---------------------------------------------------------------- programs

/// Reads a mutation program; past the end it reads zeros.
#[derive(Debug)]
pub struct Program<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Program<'a> {
    /// A program over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Program { data, pos: 0 }
    }

    /// Whether every byte was read.
    pub fn done(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn u16(&mut self) -> usize {
        usize::from(u16::from_be_bytes([self.byte(), self.byte()]))
    }

    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let start = self.pos.min(self.data.len());
        let end = (self.pos + n).min(self.data.len());
        self.pos += n;
        &self.data[start..end]
    }
}

/// The mutations, by op byte (modulo their number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Op {
    /// `unit`: remove it.
    Drop = 0,
    /// `unit`: send it twice.
    Duplicate,
    /// `unit`: swap with the next one in its flight.
    SwapNext,
    /// `unit, flight`: move it to the end of another flight.
    Move,
    /// `transcript, unit, unit`: insert a unit of another transcript before a unit.
    Splice,
    /// `unit, pos:u16, mask`: XOR a byte.
    Flip,
    /// `unit, pos:u16, value`: set a byte.
    Set,
    /// `unit, how`: rewrite a handshake message's length field.
    Length,
    /// `unit, len:u16`: cut the unit short.
    Truncate,
    /// `which`: replace the (first) Certificate message's chain.
    SwapCertificate,
    /// `unit, which`: change the content type.
    ContentType,
    /// `unit, which`: change the record header version.
    RecordVersion,
    /// `unit, pos:u16`: split into two records (a fragmented message).
    Fragment,
    /// `unit`: put it in the same record as the next unit.
    Coalesce,
    /// `flight, pos:u16`: deliver the flight in two reads.
    SplitDelivery,
    /// `unit, level, description`: insert an alert before a unit.
    Alert,
    /// `unit`: send protected if it was not, and vice versa.
    Protection,
    /// `flight`: the peer closes after it.
    Close,
    /// `unit, type, len, bytes…`: insert a handshake message of the program's making.
    Message,
    /// `flight, flight`: exchange two flights.
    SwapFlights,
    /// `unit, len, bytes…`: insert application data before a unit.
    AppData,
}

const OPS: [Op; 21] = [
    Op::Drop,
    Op::Duplicate,
    Op::SwapNext,
    Op::Move,
    Op::Splice,
    Op::Flip,
    Op::Set,
    Op::Length,
    Op::Truncate,
    Op::SwapCertificate,
    Op::ContentType,
    Op::RecordVersion,
    Op::Fragment,
    Op::Coalesce,
    Op::SplitDelivery,
    Op::Alert,
    Op::Protection,
    Op::Close,
    Op::Message,
    Op::SwapFlights,
    Op::AppData,
];

/// Most ops applied from one input: keeps one iteration's work bounded.
pub const MAX_OPS: usize = 48;
/// Most units a model may grow to.
const MAX_UNITS: usize = 256;

impl Op {
    /// The op for a program byte.
    pub fn from_byte(b: u8) -> Op {
        OPS[usize::from(b) % OPS.len()]
    }
}

/// Applies one op read from `program` to `model`. `others` are the
/// transcripts a splice may take from; `ids` the chains a swap may use.
pub fn apply(
    model: &mut Model,
    program: &mut Program<'_>,
    others: &[Transcript],
    ids: &Identities,
) {
    let op = Op::from_byte(program.byte());
    let pick = program.byte();
    let Some(at) = model.locate(usize::from(pick)) else {
        // No units left: only a splice or an insertion can add one.
        if op == Op::Message || op == Op::Splice {
            model.flights.push(Flight::default());
        }
        return;
    };
    let (f, u) = at;
    let nflights = model.flights.len();
    let growing = model.units() < MAX_UNITS;
    match op {
        Op::Drop => {
            model.flights[f].units.remove(u);
        }
        Op::Duplicate if growing => {
            let unit = model.flights[f].units[u].clone();
            model.flights[f].units.insert(u, unit);
        }
        Op::SwapNext => {
            let units = &mut model.flights[f].units;
            if u + 1 < units.len() {
                units.swap(u, u + 1);
            }
        }
        Op::Move => {
            let to = usize::from(program.byte()) % nflights;
            let unit = model.flights[f].units.remove(u);
            model.flights[to].units.push(unit);
        }
        Op::Splice if growing => {
            let t = &others[usize::from(program.byte()) % others.len()];
            let from = t.model.locate(usize::from(program.byte()));
            if let Some((g, v)) = from {
                let mut unit = t.model.flights[g].units[v].clone();
                // Protected units keep the target transcript's framing.
                unit.join_next = false;
                model.flights[f].units.insert(u, unit);
            }
        }
        Op::Flip | Op::Set => {
            let pos = program.u16();
            let value = program.byte();
            let data = &mut model.unit_mut(at).data;
            if !data.is_empty() {
                let i = pos % data.len();
                data[i] = if op == Op::Flip {
                    data[i] ^ value.max(1)
                } else {
                    value
                };
            }
        }
        Op::Length => {
            let how = program.byte();
            let data = &mut model.unit_mut(at).data;
            if data.len() >= 4 {
                let actual = data.len() - 4;
                let len = match how % 6 {
                    0 => 0,
                    1 => actual.saturating_sub(1),
                    2 => actual + 1,
                    3 => 0xff_ffff,
                    4 => actual + usize::from(how),
                    _ => usize::from(how) << 8,
                }
                .min(0xff_ffff);
                data[1..4].copy_from_slice(&(len as u32).to_be_bytes()[1..]);
            }
        }
        Op::Truncate => {
            let len = program.u16();
            let data = &mut model.unit_mut(at).data;
            let keep = if data.is_empty() { 0 } else { len % data.len() };
            data.truncate(keep);
        }
        Op::SwapCertificate => {
            let which = program.byte();
            let tls13 = model.tls13;
            let found = model
                .flights
                .iter_mut()
                .flat_map(|f| f.units.iter_mut())
                .find(|u| u.typ == HANDSHAKE && u.data.first() == Some(&CERTIFICATE));
            if let Some(unit) = found {
                unit.data = certificate_message(&chain(ids, which), tls13);
            }
        }
        Op::ContentType => {
            const TYPES: [u8; 6] = [
                CHANGE_CIPHER_SPEC,
                ALERT,
                HANDSHAKE,
                APPLICATION_DATA,
                24,
                0,
            ];
            let which = program.byte();
            let unit = model.unit_mut(at);
            unit.typ = TYPES.get(usize::from(which) % 8).copied().unwrap_or(which);
        }
        Op::RecordVersion => {
            const VERSIONS: [[u8; 2]; 7] =
                [[3, 0], [3, 1], [3, 2], [3, 3], [3, 4], [0xfe, 0xfd], [0, 0]];
            let which = program.byte();
            let unit = model.unit_mut(at);
            unit.version = VERSIONS
                .get(usize::from(which) % 8)
                .copied()
                .unwrap_or([3, which]);
        }
        Op::Fragment if growing => {
            let pos = program.u16();
            let unit = model.unit_mut(at);
            if unit.data.len() >= 2 {
                let split = 1 + pos % (unit.data.len() - 1);
                let mut tail = unit.clone();
                tail.data = unit.data.split_off(split);
                unit.join_next = false;
                model.flights[f].units.insert(u + 1, tail);
            }
        }
        Op::Coalesce => model.unit_mut(at).join_next = true,
        Op::SplitDelivery => {
            let pos = program.u16();
            model.flights[f].split_at = Some(pos);
        }
        Op::Alert if growing => {
            let (level, description) = (program.byte(), program.byte());
            let template = model.flights[f].units[u].clone();
            model.flights[f].units.insert(
                u,
                Unit {
                    typ: ALERT,
                    data: vec![level, description],
                    join_next: false,
                    ..template
                },
            );
        }
        Op::Protection => {
            let unit = model.unit_mut(at);
            unit.protected = !unit.protected;
        }
        Op::Close => model.flights[f].close_after = true,
        Op::Message | Op::AppData if growing => {
            let (typ, data) = if op == Op::Message {
                let typ = program.byte();
                let len = usize::from(program.byte());
                let body = program.bytes(len);
                let mut data = vec![typ, 0, 0, body.len() as u8];
                data.extend_from_slice(body);
                (HANDSHAKE, data)
            } else {
                let len = usize::from(program.byte());
                (APPLICATION_DATA, program.bytes(len).to_vec())
            };
            let template = model.flights[f].units[u].clone();
            model.flights[f].units.insert(
                u,
                Unit {
                    typ,
                    data,
                    join_next: false,
                    ..template
                },
            );
        }
        Op::SwapFlights => {
            let other = usize::from(program.byte()) % nflights;
            model.flights.swap(f, other);
        }
        // An op that would grow a model already at its bound.
        _ => {}
    }
}

/// The chains a Certificate message can be made to carry.
fn chain(ids: &Identities, which: u8) -> Vec<CertificateDer<'static>> {
    let leaf = |c: &[CertificateDer<'static>]| c.first().cloned().into_iter();
    match which % 12 {
        0 => ids.client.clone(),
        1 => ids.server.clone(),
        2 => ids.web.clone(),
        3 => ids.evil_client.clone(),
        4 => ids.evil_server.clone(),
        5 => vec![ids.ca.clone()],
        6 => Vec::new(),
        7 => leaf(&ids.client).collect(),
        8 => leaf(&ids.server).collect(),
        // The piñata's leaf with the look-alike CA, and the reverse.
        9 => leaf(&ids.client)
            .chain(ids.evil_client.get(1).cloned())
            .collect(),
        10 => leaf(&ids.evil_client).chain(Some(ids.ca.clone())).collect(),
        _ => vec![ids.ca.clone(), ids.ca.clone()],
    }
}

/// A Certificate handshake message (header included) carrying `chain`.
pub fn certificate_message(chain: &[CertificateDer<'_>], tls13: bool) -> Vec<u8> {
    let mut list = Vec::new();
    for cert in chain {
        list.extend_from_slice(&(cert.len() as u32).to_be_bytes()[1..]);
        list.extend_from_slice(cert);
        if tls13 {
            // No per-certificate extensions.
            list.extend_from_slice(&[0, 0]);
        }
    }
    let mut body = Vec::new();
    if tls13 {
        // certificate_request_context: empty.
        body.push(0);
    }
    body.extend_from_slice(&(list.len() as u32).to_be_bytes()[1..]);
    body.extend_from_slice(&list);
    let mut message = vec![CERTIFICATE];
    message.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    message.extend_from_slice(&body);
    message
}

/// A human-readable summary of a model (for debugging crash inputs).
pub fn describe(model: &Model) -> String {
    use core::fmt::Write as _;
    let mut out = String::new();
    for (i, flight) in model.flights.iter().enumerate() {
        let _ = write!(out, "flight {i}:");
        for unit in &flight.units {
            let kind = if unit.typ == HANDSHAKE {
                alloc::format!("hs{}", unit.data.first().copied().unwrap_or(0))
            } else {
                alloc::format!("ct{}", unit.typ)
            };
            let _ = write!(
                out,
                " {kind}{}[{}]{}",
                if unit.protected { "*" } else { "" },
                unit.data.len(),
                if unit.join_next { "+" } else { "" }
            );
        }
        if let Some(at) = flight.split_at {
            let _ = write!(out, " split@{at}");
        }
        if flight.close_after {
            out.push_str(" close");
        }
        out.push('\n');
    }
    out
}
