//! Real TLS handshakes, in memory, between rustls clients and servers that
//! both run on the piñata's crypto provider: every suite, every key-exchange
//! group, every certificate type, mutual TLS, and the failures that must stay
//! failures (foreign client CA, tampered records, unusable keys, no entropy).
//!
//! Fixtures: `tests/fixtures/provider/` (test-only keys; `gen.sh` rebuilds them).

use std::io::{Read, Write};
use std::sync::Arc;

use pinata::provider::{self, CIPHER_SUITES, KxGroups, SUPPORTED_SIG_ALGS, tls12, tls13};
use pinata::random::{GetRandomFailed, OS_RANDOM, SecureRandom};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    CertificateError, CipherSuite, ClientConfig, ClientConnection, ConnectionCommon, Error,
    HandshakeKind, InconsistentKeys, NamedGroup, ProtocolVersion, RootCertStore, ServerConfig,
    ServerConnection, SideData, SupportedCipherSuite, SupportedProtocolVersion,
};

// One group table for every test: no per-provider allocation (see
// `provider::provider_with_groups`).
static GROUPS: KxGroups = KxGroups::new(&OS_RANDOM);

fn the_provider() -> CryptoProvider {
    provider::provider_with_groups(&GROUPS)
}

const TLS13: &SupportedProtocolVersion = &rustls::version::TLS13;
const TLS12: &SupportedProtocolVersion = &rustls::version::TLS12;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/provider/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn cert(name: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(&fixture(&format!("{name}.cert.pem"))).unwrap()
}

fn key(file: &str) -> PrivateKeyDer<'static> {
    PrivateKeyDer::from_pem_slice(&fixture(file)).unwrap()
}

fn roots(ca: &str) -> Arc<RootCertStore> {
    let mut roots = RootCertStore::empty();
    roots.add(cert(ca)).unwrap();
    Arc::new(roots)
}

/// The provider's groups, in its order.
const ALL_GROUPS: [NamedGroup; 3] = [
    NamedGroup::X25519MLKEM768,
    NamedGroup::X25519,
    NamedGroup::secp256r1,
];

/// What one handshake test varies.
#[derive(Clone)]
struct Case {
    /// Offered by the client (the server supports all of them).
    suites: Vec<SupportedCipherSuite>,
    /// Offered by the client, in order.
    client_groups: Vec<NamedGroup>,
    /// Supported by the server.
    server_groups: Vec<NamedGroup>,
    version: &'static SupportedProtocolVersion,
    /// Server leaf name and the CA the client trusts.
    server: &'static str,
    server_ca: &'static str,
    /// Client leaf name (None: anonymous) and the CA the server trusts
    /// (None: no client authentication).
    client: Option<&'static str>,
    client_ca: Option<&'static str>,
}

impl Default for Case {
    fn default() -> Self {
        Self {
            suites: CIPHER_SUITES.to_vec(),
            client_groups: ALL_GROUPS.to_vec(),
            server_groups: ALL_GROUPS.to_vec(),
            version: TLS13,
            server: "server-p256",
            server_ca: "ca-p256",
            client: None,
            client_ca: None,
        }
    }
}

fn with_groups(groups: &[NamedGroup]) -> CryptoProvider {
    let mut p = the_provider();
    p.kx_groups.retain(|g| groups.contains(&g.name()));
    // Keep the order the case asks for.
    p.kx_groups
        .sort_by_key(|g| groups.iter().position(|n| *n == g.name()));
    p
}

fn server_config(case: &Case) -> Result<ServerConfig, Error> {
    let provider = Arc::new(with_groups(&case.server_groups));
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[case.version])?;
    let builder = match case.client_ca {
        Some(ca) => builder.with_client_cert_verifier(
            WebPkiClientVerifier::builder_with_provider(roots(ca), provider)
                .build()
                .map_err(|e| Error::General(e.to_string()))?,
        ),
        None => builder.with_no_client_auth(),
    };
    builder.with_single_cert(
        vec![cert(case.server)],
        key(&format!("{}.key.pem", case.server)),
    )
}

fn client_config(case: &Case) -> Result<ClientConfig, Error> {
    let mut provider = with_groups(&case.client_groups);
    provider.cipher_suites = case.suites.clone();
    let builder = ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[case.version])?
        .with_root_certificates(roots(case.server_ca));
    Ok(match case.client {
        Some(name) => {
            builder.with_client_auth_cert(vec![cert(name)], key(&format!("{name}.key.pem")))?
        }
        None => builder.with_no_client_auth(),
    })
}

#[derive(Debug, PartialEq)]
enum Side {
    Client,
    Server,
}

struct Pair {
    client: ClientConnection,
    server: ServerConnection,
}

fn connect(case: &Case) -> Pair {
    let server = ServerConnection::new(Arc::new(server_config(case).unwrap())).unwrap();
    let client = ClientConnection::new(
        Arc::new(client_config(case).unwrap()),
        ServerName::try_from("pinata.test").unwrap(),
    )
    .unwrap();
    Pair { client, server }
}

impl Pair {
    /// Runs the handshake to completion; the first side to fail, and why.
    fn handshake(&mut self) -> Result<(), (Side, Error)> {
        for _ in 0..20 {
            let moved = self.pump_client_to_server()? + self.pump_server_to_client()?;
            if moved == 0 && !self.client.is_handshaking() && !self.server.is_handshaking() {
                return Ok(());
            }
        }
        panic!("handshake did not converge");
    }

    fn pump_client_to_server(&mut self) -> Result<usize, (Side, Error)> {
        let n = copy(&mut *self.client, &mut *self.server);
        self.server
            .process_new_packets()
            .map_err(|e| (Side::Server, e))?;
        Ok(n)
    }

    fn pump_server_to_client(&mut self) -> Result<usize, (Side, Error)> {
        let n = copy(&mut *self.server, &mut *self.client);
        self.client
            .process_new_packets()
            .map_err(|e| (Side::Client, e))?;
        Ok(n)
    }

    /// Application data both ways, checked byte for byte.
    fn round_trip(&mut self) {
        self.client.writer().write_all(b"give me the key").unwrap();
        self.pump_client_to_server().unwrap();
        let mut got = [0u8; 15];
        self.server.reader().read_exact(&mut got).unwrap();
        assert_eq!(&got, b"give me the key");

        // The well-known testnet WIF of private key 1 (worthless test vector).
        let secret = b"cMahea7zqjxrtgAbB7LSGbcQUr1uX1ojuat9jZodMN87JcbXMTcA\n";
        self.server.writer().write_all(secret).unwrap();
        self.pump_server_to_client().unwrap();
        let mut got = vec![0u8; secret.len()];
        self.client.reader().read_exact(&mut got).unwrap();
        assert_eq!(&got[..], &secret[..]);
    }

    /// The client sends one record; a bit of it is flipped on the wire; the
    /// server must report a decryption error (and not panic).
    fn tampered_record_is_rejected(&mut self) {
        self.client.writer().write_all(b"tamper with me").unwrap();
        let mut wire = Vec::new();
        while self.client.wants_write() {
            self.client.write_tls(&mut wire).unwrap();
        }
        let last = wire.len() - 1; // inside the AEAD tag
        wire[last] ^= 0x01;
        let mut rd = &wire[..];
        while !rd.is_empty() {
            self.server.read_tls(&mut rd).unwrap();
        }
        assert_eq!(
            self.server.process_new_packets().unwrap_err(),
            Error::DecryptError
        );
    }
}

/// Moves every pending TLS byte from `from` to `to`; returns how many.
fn copy<A: SideData, B: SideData>(
    from: &mut ConnectionCommon<A>,
    to: &mut ConnectionCommon<B>,
) -> usize {
    let mut buf = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut buf).unwrap();
    }
    let mut rd = &buf[..];
    while !rd.is_empty() {
        to.read_tls(&mut rd).unwrap();
    }
    buf.len()
}

fn suite_of(pair: &Pair) -> CipherSuite {
    pair.client.negotiated_cipher_suite().unwrap().suite()
}

fn group_of(pair: &Pair) -> NamedGroup {
    pair.client.negotiated_key_exchange_group().unwrap().name()
}

// ------------------------------------------------------------------ suites

fn each_suite(version: &'static SupportedProtocolVersion, suites: &[SupportedCipherSuite]) {
    for suite in suites {
        let case = Case {
            suites: vec![*suite],
            version,
            ..Case::default()
        };
        let mut pair = connect(&case);
        pair.handshake().unwrap();
        assert_eq!(suite_of(&pair), suite.suite());
        assert_eq!(pair.client.protocol_version(), Some(version.version));
        assert_eq!(pair.server.protocol_version(), Some(version.version));
        pair.round_trip();
        pair.tampered_record_is_rejected();
    }
}

#[test]
fn tls13_every_suite_handshakes_carries_data_and_rejects_tampering() {
    each_suite(
        TLS13,
        &[
            tls13::TLS13_AES_128_GCM_SHA256,
            tls13::TLS13_AES_256_GCM_SHA384,
            tls13::TLS13_CHACHA20_POLY1305_SHA256,
        ],
    );
}

#[test]
fn tls12_every_suite_handshakes_carries_data_and_rejects_tampering() {
    each_suite(
        TLS12,
        &[
            tls12::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            tls12::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            tls12::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        ],
    );
}

// ------------------------------------------------------------------ groups

#[test]
fn every_group_in_both_versions() {
    for version in [TLS13, TLS12] {
        for group in ALL_GROUPS {
            // The hybrid group is TLS 1.3's only.
            if group == NamedGroup::X25519MLKEM768 && version == TLS12 {
                continue;
            }
            let case = Case {
                client_groups: vec![group],
                version,
                ..Case::default()
            };
            let mut pair = connect(&case);
            pair.handshake().unwrap();
            assert_eq!(group_of(&pair), group);
            pair.round_trip();
        }
    }
}

#[test]
fn x25519mlkem768_is_preferred_in_tls13_and_x25519_in_tls12() {
    let mut pair = connect(&Case::default());
    pair.handshake().unwrap();
    assert_eq!(group_of(&pair), NamedGroup::X25519MLKEM768);
    assert_eq!(suite_of(&pair), CipherSuite::TLS13_AES_128_GCM_SHA256);
    pair.round_trip();
    pair.tampered_record_is_rejected();

    let mut pair = connect(&Case {
        version: TLS12,
        ..Case::default()
    });
    pair.handshake().unwrap();
    assert_eq!(group_of(&pair), NamedGroup::X25519);
}

#[test]
fn a_server_without_the_hybrid_gets_x25519_from_the_same_hello() {
    // The client offers the hybrid first and its X25519 half as a second
    // share: a classical server picks X25519 with no HelloRetryRequest.
    let case = Case {
        server_groups: vec![NamedGroup::X25519, NamedGroup::secp256r1],
        ..Case::default()
    };
    let mut pair = connect(&case);
    pair.handshake().unwrap();
    assert_eq!(group_of(&pair), NamedGroup::X25519);
    assert_eq!(pair.client.handshake_kind(), Some(HandshakeKind::Full));
    pair.round_trip();
}

#[test]
fn hello_retry_requests_reach_the_hybrid_and_p256() {
    // A client whose first share is for a group the server lacks, with the
    // hybrid second: the server asks again for the hybrid.
    let case = Case {
        client_groups: vec![NamedGroup::secp256r1, NamedGroup::X25519MLKEM768],
        server_groups: vec![NamedGroup::X25519MLKEM768, NamedGroup::X25519],
        ..Case::default()
    };
    let mut pair = connect(&case);
    pair.handshake().unwrap();
    assert_eq!(group_of(&pair), NamedGroup::X25519MLKEM768);
    assert_eq!(
        pair.client.handshake_kind(),
        Some(HandshakeKind::FullWithHelloRetryRequest)
    );
    pair.round_trip();

    // A server with P-256 only: the client's hybrid and X25519 shares are
    // refused, and the handshake completes on P-256.
    let case = Case {
        server_groups: vec![NamedGroup::secp256r1],
        ..Case::default()
    };
    let mut pair = connect(&case);
    pair.handshake().unwrap();
    assert_eq!(group_of(&pair), NamedGroup::secp256r1);
    assert_eq!(
        pair.server.handshake_kind(),
        Some(HandshakeKind::FullWithHelloRetryRequest)
    );
    pair.round_trip();
}

// ------------------------------------------------------- signature schemes

#[test]
fn every_server_certificate_type_in_both_versions() {
    // (server leaf, CA the client trusts): P-256 leaf under the P-256 CA
    // (ecdsa_secp256r1_sha256), Ed25519 leaf under the Ed25519 CA (ed25519).
    for version in [TLS13, TLS12] {
        for (server, server_ca) in [("server-p256", "ca-p256"), ("server-ed25519", "ca-ed25519")] {
            let case = Case {
                version,
                server,
                server_ca,
                ..Case::default()
            };
            let mut pair = connect(&case);
            pair.handshake()
                .unwrap_or_else(|e| panic!("{server} {:?}: {e:?}", version.version));
            assert_eq!(
                pair.client.peer_certificates().unwrap(),
                &[cert(server)][..]
            );
            pair.round_trip();
        }
    }
}

#[test]
fn a_chain_signed_with_p384_is_refused() {
    // The provider verifies only what the piñata's own CA signs with (P-256,
    // Ed25519): a P-384 CA's signature is not checked at all, so even a
    // client that trusts that CA refuses the chain, in both versions.
    for version in [TLS13, TLS12] {
        let case = Case {
            version,
            server: "server-p384ca",
            server_ca: "ca-p384",
            ..Case::default()
        };
        let (side, err) = connect(&case).handshake().unwrap_err();
        assert_eq!(side, Side::Client, "{:?}", version.version);
        assert!(
            matches!(
                err,
                Error::InvalidCertificate(
                    CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. }
                )
            ),
            "{:?}: {err:?}",
            version.version
        );
    }
}

#[test]
fn server_from_an_untrusted_ca_is_rejected_by_the_client() {
    let case = Case {
        server: "server-p256",
        server_ca: "ca-ed25519",
        ..Case::default()
    };
    let (side, err) = connect(&case).handshake().unwrap_err();
    assert_eq!(side, Side::Client);
    assert_eq!(
        err,
        Error::InvalidCertificate(CertificateError::UnknownIssuer)
    );
}

#[test]
fn a_sec1_p256_key_serves_too() {
    let mut config = server_config(&Case::default()).unwrap();
    let certified = rustls::sign::CertifiedKey::from_der(
        vec![cert("server-p256")],
        key("server-p256.sec1.pem"),
        &the_provider(),
    )
    .unwrap();
    config.cert_resolver = Arc::new(rustls::sign::SingleCertAndKey::from(certified));
    let mut pair = Pair {
        server: ServerConnection::new(Arc::new(config)).unwrap(),
        client: ClientConnection::new(
            Arc::new(client_config(&Case::default()).unwrap()),
            ServerName::try_from("pinata.test").unwrap(),
        )
        .unwrap(),
    };
    pair.handshake().unwrap();
    pair.round_trip();
}

// --------------------------------------------------------------- mutual TLS

#[test]
fn mutual_tls_with_p256_and_ed25519_clients() {
    for version in [TLS13, TLS12] {
        for (client, ca) in [("client-p256", "ca-p256"), ("client-ed25519", "ca-ed25519")] {
            let case = Case {
                version,
                client: Some(client),
                client_ca: Some(ca),
                ..Case::default()
            };
            let mut pair = connect(&case);
            pair.handshake().unwrap();
            assert_eq!(
                pair.server.peer_certificates().unwrap(),
                &[cert(client)][..]
            );
            pair.round_trip();
        }
    }
}

/// A client certificate from any other CA must be refused by the server. In
/// TLS 1.3 the client completes its side first, so what counts is the
/// server's verdict, and that no application data gets through.
#[test]
fn client_certificates_from_other_cas_are_rejected() {
    for version in [TLS13, TLS12] {
        for client in [
            // Issued by a CA with the piñata CA's exact name but another key.
            "client-evil",
            // Valid certificate, wrong CA.
            "client-ed25519",
        ] {
            let case = Case {
                version,
                client: Some(client),
                client_ca: Some("ca-p256"),
                ..Case::default()
            };
            let mut pair = connect(&case);
            let (side, err) = pair.handshake().unwrap_err();
            assert_eq!(side, Side::Server, "{client}");
            assert!(
                matches!(
                    err,
                    Error::InvalidCertificate(
                        CertificateError::UnknownIssuer | CertificateError::BadSignature
                    )
                ),
                "{client}: {err:?}"
            );
            // Whatever the client sends now never reaches the application.
            if !pair.client.is_handshaking() {
                pair.client.writer().write_all(b"give me the key").unwrap();
                copy(&mut *pair.client, &mut *pair.server);
                assert!(pair.server.process_new_packets().is_err());
            }
            let mut buf = [0u8; 64];
            assert!(!matches!(pair.server.reader().read(&mut buf), Ok(n) if n > 0));
        }
    }
}

#[test]
fn anonymous_clients_are_denied_when_auth_is_required() {
    let case = Case {
        client_ca: Some("ca-p256"),
        ..Case::default()
    };
    let (side, err) = connect(&case).handshake().unwrap_err();
    assert_eq!(side, Side::Server);
    assert_eq!(err, Error::NoCertificatesPresented);
}

// ------------------------------------------------------------------- keys

#[test]
fn key_loading() {
    let provider = the_provider();
    let load = |f: &str| provider.key_provider.load_private_key(key(f));
    assert_eq!(
        load("server-p256.key.pem").unwrap().algorithm(),
        rustls::SignatureAlgorithm::ECDSA
    );
    assert_eq!(
        load("server-p256.sec1.pem").unwrap().algorithm(),
        rustls::SignatureAlgorithm::ECDSA
    );
    assert_eq!(
        load("server-ed25519.key.pem").unwrap().algorithm(),
        rustls::SignatureAlgorithm::ED25519
    );
    // P-384 keys neither sign nor verify: a clear error.
    match load("unsupported-p384.key.pem") {
        Err(Error::General(msg)) => assert!(msg.contains("unsupported private key"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn key_and_certificate_must_match() {
    let err = ServerConfig::builder_with_provider(Arc::new(the_provider()))
        .with_protocol_versions(&[TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert("server-p256")], key("client-p256.key.pem"))
        .unwrap_err();
    assert_eq!(err, Error::InconsistentKeys(InconsistentKeys::KeyMismatch));
}

// ------------------------------------------------------------ the provider

#[test]
fn provider_holds_exactly_what_the_design_says() {
    let p = provider::provider(&OS_RANDOM);
    let suites: Vec<_> = p.cipher_suites.iter().map(|s| s.suite()).collect();
    assert_eq!(
        suites,
        [
            CipherSuite::TLS13_AES_128_GCM_SHA256,
            CipherSuite::TLS13_AES_256_GCM_SHA384,
            CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
            CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        ]
    );
    let groups: Vec<_> = p.kx_groups.iter().map(|g| g.name()).collect();
    assert_eq!(groups, ALL_GROUPS);
    assert_eq!(
        p.signature_verification_algorithms.supported_schemes(),
        [
            rustls::SignatureScheme::ECDSA_NISTP384_SHA384,
            rustls::SignatureScheme::ECDSA_NISTP256_SHA256,
            rustls::SignatureScheme::ED25519,
        ]
    );
    assert_eq!(
        provider::supported_signature_algorithms().supported_schemes(),
        SUPPORTED_SIG_ALGS.supported_schemes()
    );
    assert!(!p.fips());
    // Both protocol versions are usable with it.
    ClientConfig::builder_with_provider(Arc::new(p))
        .with_safe_default_protocol_versions()
        .unwrap();
}

#[test]
fn server_verifier_builds_from_the_exported_algorithms() {
    // The static is what a hand-built provider (or another crate) would use.
    let custom = CryptoProvider {
        signature_verification_algorithms: SUPPORTED_SIG_ALGS,
        ..the_provider()
    };
    let verifier = WebPkiServerVerifier::builder_with_provider(roots("ca-p256"), Arc::new(custom))
        .build()
        .unwrap();
    let config = ClientConfig::builder_with_provider(Arc::new(the_provider()))
        .with_protocol_versions(&[TLS13])
        .unwrap()
        .with_webpki_verifier(verifier)
        .with_no_client_auth();
    let mut pair = Pair {
        server: ServerConnection::new(Arc::new(server_config(&Case::default()).unwrap())).unwrap(),
        client: ClientConnection::new(
            Arc::new(config),
            ServerName::try_from("pinata.test").unwrap(),
        )
        .unwrap(),
    };
    pair.handshake().unwrap();
}

// --------------------------------------------------------------- entropy

/// A source that serves `budget` requests, then fails.
#[derive(Debug)]
struct Dying(std::sync::atomic::AtomicUsize);

impl SecureRandom for Dying {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        use std::sync::atomic::Ordering;
        let left = self.0.load(Ordering::SeqCst);
        if left == 0 {
            return Err(GetRandomFailed);
        }
        self.0.store(left - 1, Ordering::SeqCst);
        OS_RANDOM.fill(buf)
    }
}

#[test]
fn no_entropy_no_handshake() {
    // Dead from the start: a client cannot even say hello.
    let dead: &'static Dying = Box::leak(Box::new(Dying(0.into())));
    let config = ClientConfig::builder_with_provider(Arc::new(provider::provider(dead)))
        .with_protocol_versions(&[TLS13])
        .unwrap()
        .with_root_certificates(roots("ca-p256"))
        .with_no_client_auth();
    let err = ClientConnection::new(
        Arc::new(config),
        ServerName::try_from("pinata.test").unwrap(),
    )
    .unwrap_err();
    assert_eq!(err, Error::FailedToGetRandomBytes);

    // A server whose source dies after the first request (its hello random):
    // its ephemeral key share cannot be drawn, and the handshake fails on the
    // server side instead of using a weaker secret.
    let dying: &'static Dying = Box::leak(Box::new(Dying(1.into())));
    let provider = Arc::new(provider::provider(dying));
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert("server-p256")], key("server-p256.key.pem"))
        .unwrap();
    let mut pair = Pair {
        server: ServerConnection::new(Arc::new(config)).unwrap(),
        client: ClientConnection::new(
            Arc::new(client_config(&Case::default()).unwrap()),
            ServerName::try_from("pinata.test").unwrap(),
        )
        .unwrap(),
    };
    let (side, err) = pair.handshake().unwrap_err();
    assert_eq!((side, err), (Side::Server, Error::FailedToGetRandomBytes));
}

#[test]
fn protocol_versions_are_reported() {
    let mut pair = connect(&Case {
        version: TLS12,
        ..Case::default()
    });
    pair.handshake().unwrap();
    assert_eq!(
        pair.server.protocol_version(),
        Some(ProtocolVersion::TLSv1_2)
    );
}

// ------------------------------------------------- the boot-time identities

#[test]
fn the_web_identity_never_passes_for_a_bounty_identity() {
    use pinata::pki::{self, BOUNTY_SERVER_NAME, KeyType, PkiOptions};
    use rustls::client::danger::ServerCertVerifier as _;
    use rustls::pki_types::UnixTime;

    for key_type in [KeyType::Ed25519, KeyType::EcdsaP256] {
        let mut options = PkiOptions::new(UnixTime::now());
        options.bounty_key_type = key_type;
        let pki = pki::bootstrap(&OS_RANDOM, &options).unwrap();
        let provider = Arc::new(the_provider());
        let mut roots = RootCertStore::empty();
        roots.add(pki.ca_cert.clone()).unwrap();
        let roots = Arc::new(roots);
        let now = UnixTime::now();

        // The bounty server's verifier (client certificates): the client
        // identity passes, the web identity (serverAuth only) does not.
        let clients = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
            .build()
            .unwrap();
        let as_client = |chain: &[CertificateDer<'static>]| {
            clients.verify_client_cert(&chain[0], &chain[1..], now)
        };
        as_client(&pki.client.cert_chain).unwrap();
        let err = as_client(&pki.web.cert_chain).unwrap_err();
        assert!(
            matches!(err, Error::InvalidCertificate(_)),
            "{key_type}: {err:?}"
        );

        // The piñata's client roles (the server must be `bounty.pinata`):
        // the server identity passes, the web identity does not.
        let servers = WebPkiServerVerifier::builder_with_provider(roots, provider)
            .build()
            .unwrap();
        let name = ServerName::try_from(BOUNTY_SERVER_NAME).unwrap();
        let as_server = |chain: &[CertificateDer<'static>]| {
            servers.verify_server_cert(&chain[0], &chain[1..], &name, &[], now)
        };
        as_server(&pki.server.cert_chain).unwrap();
        let err = as_server(&pki.web.cert_chain).unwrap_err();
        assert!(
            matches!(err, Error::InvalidCertificate(_)),
            "{key_type}: {err:?}"
        );
    }
}
