//! The boot-time PKI, checked by an independent X.509 implementation: the
//! OpenSSL command-line tool parses and verifies everything `bootstrap`
//! issues. (rustls-webpki checks need signature algorithms from the crypto
//! provider and live with the TLS tests.)

use std::{
    collections::HashSet,
    fs,
    path::{Path, PathBuf},
    process::Command,
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use pinata::{
    pki::{
        self, BOUNTY_SERVER_NAME, Identity, KeyType, Pki, PkiError, PkiOptions, bootstrap,
        parse_pem_identity, pem_encode,
    },
    random::{GetRandomFailed, OS_RANDOM, SecureRandom},
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use x509_cert::{
    Certificate,
    der::{Decode, Encode},
};

const KEY_TYPES: [KeyType; 2] = [KeyType::EcdsaP256, KeyType::Ed25519];

/// A fresh directory under cargo's per-target scratch space.
fn scratch(name: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "pki-{name}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

struct Output {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn openssl(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command-line tool must be installed");
    Output {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs openssl and returns stdout, failing the test with its stderr.
fn openssl_ok(dir: &Path, args: &[&str]) -> String {
    let out = openssl(dir, args);
    assert!(
        out.ok,
        "openssl {args:?} failed:\n{}\n{}",
        out.stdout, out.stderr
    );
    out.stdout
}

fn options(key_type: KeyType) -> PkiOptions {
    let mut options = PkiOptions::new(UnixTime::now());
    options.bounty_key_type = key_type;
    options
}

fn bootstrap_with(key_type: KeyType) -> Pki {
    bootstrap(&OS_RANDOM, &options(key_type)).expect("bootstrap")
}

/// Writes ca.pem and, per identity, NAME.pem (leaf only), NAME-chain.pem and
/// NAME.key.
fn write_pki(dir: &Path, pki: &Pki) {
    fs::write(dir.join("ca.pem"), pki.ca_pem()).unwrap();
    for (name, identity) in identities(pki) {
        fs::write(
            dir.join(format!("{name}.pem")),
            pem_encode("CERTIFICATE", &identity.cert_chain[0]),
        )
        .unwrap();
        fs::write(dir.join(format!("{name}-chain.pem")), identity.cert_pem()).unwrap();
        fs::write(
            dir.join(format!("{name}.key")),
            identity.key_pem().as_bytes(),
        )
        .unwrap();
    }
}

fn identities(pki: &Pki) -> [(&'static str, &Identity); 3] {
    [
        ("server", &pki.server),
        ("client", &pki.client),
        ("web", &pki.web),
    ]
}

fn text(dir: &Path, pem: &str) -> String {
    openssl_ok(dir, &["x509", "-in", pem, "-noout", "-text"])
}

/// The value line that follows an extension's header line in `-text` output.
fn extension_value(text: &str, header: &str) -> Option<String> {
    let mut lines = text.lines();
    lines.find(|line| line.trim_start().starts_with(header))?;
    lines.next().map(|line| line.trim().to_string())
}

#[test]
fn openssl_verifies_every_certificate_for_its_purpose() {
    for key_type in KEY_TYPES {
        let dir = scratch("verify");
        write_pki(&dir, &bootstrap_with(key_type));
        // -x509_strict adds RFC 5280 conformance checks (key identifiers,
        // critical basicConstraints on the CA, ...).
        for (leaf, purpose) in [
            ("server.pem", "sslserver"),
            ("client.pem", "sslclient"),
            ("web.pem", "sslserver"),
        ] {
            let out = openssl_ok(
                &dir,
                &[
                    "verify",
                    "-x509_strict",
                    "-CAfile",
                    "ca.pem",
                    "-purpose",
                    purpose,
                    leaf,
                ],
            );
            assert_eq!(out.trim(), format!("{leaf}: OK"), "{key_type}");
        }
        // The extended key usages are real restrictions: the server
        // certificate is no client certificate, and vice versa.
        for (leaf, purpose) in [
            ("server.pem", "sslclient"),
            ("web.pem", "sslclient"),
            ("client.pem", "sslserver"),
        ] {
            let out = openssl(
                &dir,
                &["verify", "-CAfile", "ca.pem", "-purpose", purpose, leaf],
            );
            assert!(!out.ok, "{key_type}: {leaf} verified for {purpose}");
            assert!(
                out.stderr.contains("unsuitable certificate purpose"),
                "{}",
                out.stderr
            );
        }
        // The CA verifies as a self-signed root.
        openssl_ok(
            &dir,
            &["verify", "-x509_strict", "-CAfile", "ca.pem", "ca.pem"],
        );
    }
}

#[test]
fn another_pinata_ca_is_not_trusted() {
    let dir = scratch("foreign");
    write_pki(&dir, &bootstrap_with(KeyType::EcdsaP256));
    fs::write(
        dir.join("other-ca.pem"),
        bootstrap_with(KeyType::EcdsaP256).ca_pem(),
    )
    .unwrap();
    let out = openssl(&dir, &["verify", "-CAfile", "other-ca.pem", "client.pem"]);
    assert!(!out.ok, "a leaf verified under a different CA");
    assert!(
        out.stderr
            .contains("unable to get local issuer certificate"),
        "{}",
        out.stderr
    );
}

/// What openssl prints for the CA's signatures, for each bounty key type.
fn ca_signature_algorithm(key_type: KeyType) -> &'static str {
    match key_type {
        KeyType::EcdsaP256 => "Signature Algorithm: ecdsa-with-SHA256",
        KeyType::Ed25519 => "Signature Algorithm: ED25519",
    }
}

#[test]
fn ca_certificate_profile() {
    for key_type in KEY_TYPES {
        let dir = scratch("ca-profile");
        write_pki(&dir, &bootstrap_with(key_type));
        let text = text(&dir, "ca.pem");
        // The CA signs with the bounty key type: the whole chain is one
        // algorithm.
        let key = match key_type {
            KeyType::EcdsaP256 => {
                &["Public Key Algorithm: id-ecPublicKey", "NIST CURVE: P-256"][..]
            }
            KeyType::Ed25519 => &["Public Key Algorithm: ED25519"][..],
        };
        for expected in [
            "Version: 3 (0x2)",
            ca_signature_algorithm(key_type),
            "X509v3 Basic Constraints: critical",
            "CA:TRUE, pathlen:0",
            "X509v3 Key Usage: critical",
            "Certificate Sign, CRL Sign",
            "X509v3 Subject Key Identifier",
        ]
        .iter()
        .chain(key)
        {
            assert!(
                text.contains(expected),
                "{key_type}: missing {expected:?} in\n{text}"
            );
        }
        assert!(!text.contains("Extended Key Usage"), "{text}");
        assert!(!text.contains("Subject Alternative Name"), "{text}");

        let names = openssl_ok(
            &dir,
            &[
                "x509",
                "-in",
                "ca.pem",
                "-noout",
                "-subject",
                "-issuer",
                "-nameopt",
                "RFC2253,-esc_msb",
            ],
        );
        assert_eq!(
            names,
            "subject=CN=Piñata CA,O=Piñata\nissuer=CN=Piñata CA,O=Piñata\n"
        );
    }
}

#[test]
fn leaf_certificate_profiles() {
    for key_type in KEY_TYPES {
        let dir = scratch("leaf-profile");
        write_pki(&dir, &bootstrap_with(key_type));
        let ca_key_id = extension_value(&text(&dir, "ca.pem"), "X509v3 Subject Key Identifier")
            .expect("CA SKI");

        let bounty_algorithm = match key_type {
            KeyType::EcdsaP256 => "Public Key Algorithm: id-ecPublicKey",
            KeyType::Ed25519 => "Public Key Algorithm: ED25519",
        };
        let cases = [
            (
                "server.pem",
                "Piñata bounty server",
                bounty_algorithm,
                "TLS Web Server Authentication",
                Some(format!("DNS:{BOUNTY_SERVER_NAME}")),
            ),
            (
                "client.pem",
                "Piñata bounty client",
                bounty_algorithm,
                "TLS Web Client Authentication",
                None,
            ),
            (
                "web.pem",
                "Piñata web server",
                "Public Key Algorithm: id-ecPublicKey",
                "TLS Web Server Authentication",
                Some("DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1".into()),
            ),
        ];
        for (pem, common_name, algorithm, purpose, san) in cases {
            let text = text(&dir, pem);
            let context = format!("{key_type} {pem}:\n{text}");
            for expected in [
                "Version: 3 (0x2)",
                ca_signature_algorithm(key_type),
                algorithm,
                "X509v3 Basic Constraints: critical",
                "CA:FALSE",
                "X509v3 Key Usage: critical",
                "X509v3 Subject Key Identifier",
            ] {
                assert!(text.contains(expected), "missing {expected:?} in {context}");
            }
            assert_eq!(
                extension_value(&text, "X509v3 Key Usage").as_deref(),
                Some("Digital Signature"),
                "{context}"
            );
            assert_eq!(
                extension_value(&text, "X509v3 Extended Key Usage").as_deref(),
                Some(purpose),
                "{context}"
            );
            assert_eq!(
                extension_value(&text, "X509v3 Subject Alternative Name"),
                san,
                "{context}"
            );
            // The authority key identifier names the CA's key.
            let aki = extension_value(&text, "X509v3 Authority Key Identifier").expect("AKI");
            assert_eq!(aki.trim_start_matches("keyid:"), ca_key_id, "{context}");

            let names = openssl_ok(
                &dir,
                &[
                    "x509",
                    "-in",
                    pem,
                    "-noout",
                    "-subject",
                    "-issuer",
                    "-nameopt",
                    "RFC2253,-esc_msb",
                ],
            );
            assert_eq!(
                names,
                format!("subject=CN={common_name},O=Piñata\nissuer=CN=Piñata CA,O=Piñata\n")
            );
        }
    }
}

#[test]
fn chains_are_leaf_then_ca() {
    let pki = bootstrap_with(KeyType::Ed25519);
    for (name, identity) in identities(&pki) {
        assert_eq!(identity.cert_chain.len(), 2, "{name}");
        assert_eq!(identity.cert_chain[1], pki.ca_cert, "{name}");
        let expected = pem_encode("CERTIFICATE", &identity.cert_chain[0])
            + &pem_encode("CERTIFICATE", &identity.cert_chain[1]);
        assert_eq!(identity.cert_pem(), expected, "{name}");
    }
    // openssl accepts the chain file with the CA as an untrusted intermediate
    // candidate and the trust anchor from -CAfile.
    let dir = scratch("chain");
    write_pki(&dir, &pki);
    openssl_ok(
        &dir,
        &[
            "verify",
            "-CAfile",
            "ca.pem",
            "-untrusted",
            "server-chain.pem",
            "server.pem",
        ],
    );
}

#[test]
fn private_keys_parse_and_match_their_certificates() {
    for key_type in KEY_TYPES {
        let dir = scratch("keys");
        let pki = bootstrap_with(key_type);
        write_pki(&dir, &pki);
        for (name, identity) in identities(&pki) {
            let key_file = format!("{name}.key");
            let cert_file = format!("{name}.pem");
            // `openssl pkey` parses the PKCS#8 structure and the key itself.
            openssl_ok(&dir, &["pkey", "-in", &key_file, "-noout"]);
            openssl_ok(&dir, &["pkey", "-in", &key_file, "-check", "-noout"]);
            let from_key = openssl_ok(&dir, &["pkey", "-in", &key_file, "-pubout"]);
            let from_cert = openssl_ok(&dir, &["x509", "-in", &cert_file, "-noout", "-pubkey"]);
            assert_eq!(from_key, from_cert, "{key_type} {name}");

            // The PEM is the PKCS#8 DER that rustls gets.
            let key_pem = identity.key_pem();
            assert!(key_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
            let der = pkcs8_der(&dir, &key_file);
            match identity.key_der() {
                PrivateKeyDer::Pkcs8(pkcs8) => {
                    assert_eq!(
                        pkcs8.secret_pkcs8_der(),
                        der.as_slice(),
                        "{key_type} {name}"
                    )
                }
                other => panic!("{key_type} {name}: not PKCS#8: {other:?}"),
            }
        }
        // The web identity is P-256 whatever the bounty key type.
        let web = openssl_ok(&dir, &["pkey", "-in", "web.key", "-noout", "-text"]);
        assert!(web.contains("NIST CURVE: P-256"), "{web}");
        let server = openssl_ok(&dir, &["pkey", "-in", "server.key", "-noout", "-text"]);
        match key_type {
            KeyType::EcdsaP256 => assert!(server.contains("NIST CURVE: P-256"), "{server}"),
            KeyType::Ed25519 => assert!(server.contains("ED25519 Private-Key"), "{server}"),
        }
    }
}

/// The key in a PEM file as PKCS#8 DER, re-encoded by openssl (`pkey
/// -outform DER` would write EC keys in the SEC1 form).
fn pkcs8_der(dir: &Path, key_file: &str) -> Vec<u8> {
    openssl_ok_bytes(
        dir,
        &[
            "pkcs8", "-topk8", "-nocrypt", "-in", key_file, "-outform", "DER",
        ],
    )
}

fn openssl_ok_bytes(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl {args:?} failed");
    out.stdout
}

#[test]
fn our_own_identities_round_trip_through_parse_pem_identity() {
    for key_type in KEY_TYPES {
        let pki = bootstrap_with(key_type);
        for (name, identity) in identities(&pki) {
            let (chain, key) =
                parse_pem_identity(&identity.cert_pem(), &identity.key_pem()).expect(name);
            assert_eq!(chain, identity.cert_chain, "{key_type} {name}");
            assert_eq!(
                key.secret_der(),
                identity.key_der().secret_der(),
                "{key_type} {name}"
            );
        }
        // Keys are checked against the leaf, not merely parsed.
        assert_eq!(
            parse_pem_identity(&pki.server.cert_pem(), &pki.client.key_pem()).unwrap_err(),
            PkiError::KeyMismatch,
            "{key_type}"
        );
    }
}

#[test]
fn entropy_failure_fails_closed() {
    let error = bootstrap(&Broken, &options(KeyType::EcdsaP256)).unwrap_err();
    assert_eq!(error, PkiError::Entropy);
    assert!(
        error.to_string().contains("entropy source failed"),
        "{error}"
    );

    // A source that dies part-way must not yield a partial PKI either. A
    // bootstrap takes eight draws (four keys, four serials); fail at each.
    for key_type in KEY_TYPES {
        for budget in 0..8 {
            let source = Dying {
                calls_left: AtomicUsize::new(budget),
            };
            assert_eq!(
                bootstrap(&source, &options(key_type)).unwrap_err(),
                PkiError::Entropy,
                "{key_type}, failing after {budget} draws"
            );
        }
    }

    // Stuck sources: all zeros and all ones are never valid P-256 scalars, so
    // the CA key cannot be made and bootstrap refuses instead of looping.
    for byte in [0x00, 0xff] {
        assert_eq!(
            bootstrap(&Constant(byte), &options(KeyType::Ed25519)).unwrap_err(),
            PkiError::Entropy,
            "constant {byte:#04x}"
        );
    }
}

/// Always fails, like a platform with no entropy source.
#[derive(Debug)]
struct Broken;

impl SecureRandom for Broken {
    fn fill(&self, _: &mut [u8]) -> Result<(), GetRandomFailed> {
        Err(GetRandomFailed)
    }
}

/// Delegates to the OS for a number of calls, then fails.
#[derive(Debug)]
struct Dying {
    calls_left: AtomicUsize,
}

impl SecureRandom for Dying {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        match self
            .calls_left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        {
            Ok(_) => OS_RANDOM.fill(buf),
            Err(_) => Err(GetRandomFailed),
        }
    }
}

/// A stuck generator.
#[derive(Debug)]
struct Constant(u8);

impl SecureRandom for Constant {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        buf.fill(self.0);
        Ok(())
    }
}

fn parse(cert: &CertificateDer<'_>) -> Certificate {
    Certificate::from_der(cert).expect("valid DER certificate")
}

#[test]
fn keys_and_serials_are_fresh_each_boot() {
    let mut ca_keys = HashSet::new();
    let mut leaf_keys = HashSet::new();
    let mut serials = HashSet::new();
    for _ in 0..2 {
        let pki = bootstrap_with(KeyType::EcdsaP256);
        let ca = parse(&pki.ca_cert);
        assert!(
            ca_keys.insert(
                ca.tbs_certificate()
                    .subject_public_key_info()
                    .to_der()
                    .unwrap()
            )
        );
        for cert in [
            &pki.ca_cert,
            &pki.server.cert_chain[0],
            &pki.client.cert_chain[0],
            &pki.web.cert_chain[0],
        ] {
            let cert = parse(cert);
            let serial = cert.tbs_certificate().serial_number().as_bytes().to_vec();
            // Positive, at most 16 octets (127 bits), not zero.
            assert!(!serial.is_empty() && serial.len() <= 16, "{serial:02x?}");
            assert!(serial[0] & 0x80 == 0, "{serial:02x?}");
            assert!(serial.iter().any(|b| *b != 0));
            assert!(serials.insert(serial), "serial repeated");
            assert!(
                leaf_keys.insert(
                    cert.tbs_certificate()
                        .subject_public_key_info()
                        .subject_public_key
                        .raw_bytes()
                        .to_vec()
                )
            );
        }
        assert!(ca_keys.len() <= 2);
    }
    assert_eq!(ca_keys.len(), 2, "two boots produced the same CA key");
    assert_eq!(serials.len(), 8);
}

/// 2030-01-01T00:00:00Z.
const JAN_1_2030: u64 = 1_893_456_000;

#[test]
fn validity_starts_a_day_early_and_uses_the_right_time_types() {
    let dir = scratch("validity");
    let mut options = options(KeyType::EcdsaP256);
    options.now = UnixTime::since_unix_epoch(Duration::from_secs(JAN_1_2030 + 3600));
    options.validity_days = 10;
    write_pki(&dir, &bootstrap(&OS_RANDOM, &options).unwrap());
    for pem in ["ca.pem", "server.pem", "client.pem", "web.pem"] {
        let dates = openssl_ok(&dir, &["x509", "-in", pem, "-noout", "-dates"]);
        assert_eq!(
            dates, "notBefore=Dec 31 01:00:00 2029 GMT\nnotAfter=Jan 10 01:00:00 2030 GMT\n",
            "{pem}"
        );
    }
    // Valid at "now" by openssl's clock set to it, not before notBefore.
    let at = (JAN_1_2030 + 3600).to_string();
    openssl_ok(
        &dir,
        &["verify", "-attime", &at, "-CAfile", "ca.pem", "web.pem"],
    );
    let too_early = (JAN_1_2030 - 2 * 86400).to_string();
    let out = openssl(
        &dir,
        &[
            "verify", "-attime", &too_early, "-CAfile", "ca.pem", "web.pem",
        ],
    );
    assert!(
        !out.ok && out.stderr.contains("not yet valid"),
        "{}",
        out.stderr
    );

    // RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
    options.validity_days = 365 * 30;
    fs::write(
        dir.join("long.pem"),
        bootstrap(&OS_RANDOM, &options).unwrap().ca_pem(),
    )
    .unwrap();
    let asn1 = openssl_ok(&dir, &["asn1parse", "-in", "long.pem"]);
    let times: Vec<String> = asn1
        .lines()
        .filter(|l| l.contains("UTCTIME") || l.contains("GENERALIZEDTIME"))
        .map(|l| {
            l.split("prim:")
                .nth(1)
                .unwrap()
                .split_whitespace()
                .collect()
        })
        .collect();
    assert_eq!(
        times,
        ["UTCTIME:291231010000Z", "GENERALIZEDTIME:20591224010000Z"],
        "{asn1}"
    );
}

#[test]
fn a_clock_at_the_epoch_still_yields_certificates() {
    let mut options = options(KeyType::EcdsaP256);
    options.now = UnixTime::since_unix_epoch(Duration::ZERO);
    let pki = bootstrap(&OS_RANDOM, &options).unwrap();
    let dir = scratch("epoch");
    write_pki(&dir, &pki);
    let dates = openssl_ok(&dir, &["x509", "-in", "ca.pem", "-noout", "-startdate"]);
    assert_eq!(dates, "notBefore=Jan  1 00:00:00 1970 GMT\n");
}

#[test]
fn web_names_become_dns_and_ip_entries() {
    let dir = scratch("web-names");
    let mut options = options(KeyType::EcdsaP256);
    options.web_names = vec![
        "pinata.example".into(),
        "*.pinata.example".into(),
        "192.0.2.7".into(),
        "[2001:db8::1]".into(),
        "fe80::2".into(),
    ];
    write_pki(&dir, &bootstrap(&OS_RANDOM, &options).unwrap());
    assert_eq!(
        extension_value(&text(&dir, "web.pem"), "X509v3 Subject Alternative Name").as_deref(),
        Some(
            "DNS:pinata.example, DNS:*.pinata.example, IP Address:192.0.2.7, \
             IP Address:2001:DB8:0:0:0:0:0:1, IP Address:FE80:0:0:0:0:0:0:2"
        )
    );
    openssl_ok(
        &dir,
        &[
            "verify",
            "-CAfile",
            "ca.pem",
            "-verify_ip",
            "192.0.2.7",
            "web.pem",
        ],
    );
    openssl_ok(
        &dir,
        &[
            "verify",
            "-CAfile",
            "ca.pem",
            "-verify_hostname",
            "pinata.example",
            "web.pem",
        ],
    );
    let out = openssl(
        &dir,
        &[
            "verify",
            "-CAfile",
            "ca.pem",
            "-verify_hostname",
            "other.example",
            "web.pem",
        ],
    );
    assert!(!out.ok, "{}", out.stdout);
    // The bounty server's name is fixed whatever the web names are.
    openssl_ok(
        &dir,
        &[
            "verify",
            "-CAfile",
            "ca.pem",
            "-verify_hostname",
            BOUNTY_SERVER_NAME,
            "server.pem",
        ],
    );
}

#[test]
fn unusable_options_are_rejected_before_any_key_is_made() {
    // With a source that always fails, getting the option error proves the
    // options were checked before any entropy was drawn.
    let base = options(KeyType::EcdsaP256);

    let mut bad = base.clone();
    bad.web_names = vec!["localhost".into(), "not a host name!".into()];
    assert_eq!(
        bootstrap(&Broken, &bad).unwrap_err(),
        PkiError::InvalidWebName("not a host name!".into())
    );

    let mut bad = base.clone();
    bad.web_names.clear();
    assert!(matches!(
        bootstrap(&Broken, &bad).unwrap_err(),
        PkiError::InvalidOptions(_)
    ));

    let mut bad = base.clone();
    bad.validity_days = 0;
    assert!(matches!(
        bootstrap(&Broken, &bad).unwrap_err(),
        PkiError::InvalidOptions(_)
    ));

    let mut bad = base.clone();
    bad.validity_days = u32::MAX;
    let error = bootstrap(&Broken, &bad).unwrap_err();
    assert!(error.to_string().contains("9999"), "{error}");

    // A web name that would also match the bounty server's certificate
    // name, however it is spelled, for either key type.
    for key_type in KEY_TYPES {
        for name in [
            BOUNTY_SERVER_NAME,
            "BOUNTY.Pinata",
            "bounty.pinata.",
            "*.pinata",
            " *.PINATA. ",
        ] {
            let mut bad = options(key_type);
            bad.web_names = vec!["localhost".into(), name.into()];
            let error = bootstrap(&Broken, &bad).unwrap_err();
            assert_eq!(error, PkiError::WebNameCollision(name.into()));
            assert!(error.to_string().contains(BOUNTY_SERVER_NAME), "{error}");
            assert_eq!(pki::validate_web_names(&bad.web_names), Err(error));
        }
    }
    // Near misses are fine.
    for name in [
        "pinata",
        "bounty-pinata",
        "bounty.pinata.example",
        "*.bounty.pinata",
        "xbounty.pinata",
    ] {
        let mut good = base.clone();
        good.web_names = vec![name.into()];
        assert_eq!(pki::validate_web_names(&good.web_names), Ok(()), "{name}");
        bootstrap(&OS_RANDOM, &good).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn debug_output_never_shows_private_keys() {
    let pki = bootstrap_with(KeyType::Ed25519);
    let debug = format!("{pki:?}");
    for (name, identity) in identities(&pki) {
        let key = identity.key_der();
        let secret = key.secret_der();
        assert!(!debug.contains(&format!("{secret:?}")), "{name}");
        // The last 32 bytes are the seed or scalar (Ed25519) / public point
        // tail (P-256); neither their decimal nor hex form may appear.
        let tail = &secret[secret.len() - 32..];
        assert!(!debug.contains(&format!("{tail:?}")[1..40]), "{name}");
        assert!(!debug.contains(&format!("{tail:02x?}")[1..40]), "{name}");
        let pem = identity.key_pem();
        let body = pem.lines().nth(1).unwrap();
        assert!(!debug.contains(body), "{name}");
    }
    assert!(debug.contains("<redacted>"));
}

#[test]
fn pem_encoding_matches_rfc_7468() {
    assert_eq!(pem_encode("X", b""), "-----BEGIN X-----\n-----END X-----\n");
    assert_eq!(
        pem_encode("X", b"hi"),
        "-----BEGIN X-----\naGk=\n-----END X-----\n"
    );
    for (len, lines) in [
        (47, vec![64]),
        (48, vec![64]),
        (49, vec![64, 4]),
        (97, vec![64, 64, 4]),
    ] {
        let pem = pem_encode("DATA", &vec![0xa5; len]);
        let body: Vec<usize> = pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .map(str::len)
            .collect();
        assert_eq!(body, lines, "{len} bytes");
        assert!(pem.ends_with("-----END DATA-----\n"));
        // Sized exactly up front: no reallocation.
        assert_eq!(pem.capacity(), pem.len());
    }
    // The same holds for private keys, where a reallocation would leave an
    // unzeroized copy of the key behind in freed memory.
    for key_type in KEY_TYPES {
        let pki = bootstrap_with(key_type);
        for (name, identity) in identities(&pki) {
            let pem = identity.key_pem();
            assert_eq!(pem.capacity(), pem.len(), "{key_type} {name}");
        }
    }
}

// --- operator-supplied identities -------------------------------------------------

/// Makes a self-signed certificate and key with openssl; returns (cert, key) PEM.
fn openssl_identity(dir: &Path, name: &str, newkey: &[&str]) -> (String, String) {
    let key = format!("{name}.key");
    let cert = format!("{name}.pem");
    let mut args = vec![
        "req",
        "-x509",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=operator.example",
    ];
    args.extend_from_slice(newkey);
    args.extend_from_slice(&["-keyout", &key, "-out", &cert]);
    openssl_ok(dir, &args);
    (
        fs::read_to_string(dir.join(&cert)).unwrap(),
        fs::read_to_string(dir.join(&key)).unwrap(),
    )
}

#[test]
fn parse_pem_identity_accepts_openssl_generated_identities() {
    let dir = scratch("operator");
    let cases: [(&str, &[&str]); 3] = [
        (
            "p256",
            &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        ),
        ("ed25519", &["-newkey", "ed25519"]),
        ("rsa", &["-newkey", "rsa:2048"]),
    ];
    for (name, newkey) in cases {
        let (cert_pem, key_pem) = openssl_identity(&dir, name, newkey);
        let (chain, key) = parse_pem_identity(&cert_pem, &key_pem).expect(name);
        let cert_der = openssl_ok_bytes(
            &dir,
            &["x509", "-in", &format!("{name}.pem"), "-outform", "DER"],
        );
        let key_der = pkcs8_der(&dir, &format!("{name}.key"));
        assert_eq!(chain, vec![CertificateDer::from(cert_der)], "{name}");
        assert!(matches!(key, PrivateKeyDer::Pkcs8(_)), "{name}");
        assert_eq!(key.secret_der(), key_der.as_slice(), "{name}");

        // A full chain file: leaf then issuer, order kept; other blocks skipped.
        let (ca_pem, _) = openssl_identity(&dir, &format!("{name}-ca"), newkey);
        let mixed = format!("{cert_pem}junk between blocks\n{ca_pem}{key_pem}");
        let (chain, _) = parse_pem_identity(&mixed, &key_pem).expect(name);
        assert_eq!(chain.len(), 2, "{name}");
    }

    // SEC1 ("EC PRIVATE KEY"), as older tools write it.
    openssl_ok(&dir, &["ec", "-in", "p256.key", "-out", "p256-sec1.key"]);
    let sec1 = fs::read_to_string(dir.join("p256-sec1.key")).unwrap();
    assert!(sec1.starts_with("-----BEGIN EC PRIVATE KEY-----"), "{sec1}");
    let cert = fs::read_to_string(dir.join("p256.pem")).unwrap();
    let (_, key) = parse_pem_identity(&cert, &sec1).unwrap();
    assert!(matches!(key, PrivateKeyDer::Sec1(_)));

    // Mismatched pairs are refused for the algorithms the piñata can sign with.
    let ed_key = fs::read_to_string(dir.join("ed25519.key")).unwrap();
    let other_p256 = openssl_identity(&dir, "p256-other", cases[0].1).1;
    assert_eq!(
        parse_pem_identity(&cert, &other_p256).unwrap_err(),
        PkiError::KeyMismatch
    );
    assert_eq!(
        parse_pem_identity(&cert, &ed_key).unwrap_err(),
        PkiError::KeyMismatch
    );
    let ed_cert = fs::read_to_string(dir.join("ed25519.pem")).unwrap();
    let other_ed = openssl_identity(&dir, "ed25519-other", cases[1].1).1;
    assert_eq!(
        parse_pem_identity(&ed_cert, &other_ed).unwrap_err(),
        PkiError::KeyMismatch
    );
}

#[test]
fn parse_pem_identity_rejects_garbage_with_the_right_error() {
    let dir = scratch("garbage");
    let (cert, key) = openssl_identity(&dir, "good", &["-newkey", "ed25519"]);

    // No PEM at all.
    assert_eq!(
        parse_pem_identity("hello", &key).unwrap_err(),
        PkiError::NoCertificate
    );
    assert_eq!(
        parse_pem_identity("", &key).unwrap_err(),
        PkiError::NoCertificate
    );
    // A key where the certificate should be, and vice versa.
    assert_eq!(
        parse_pem_identity(&key, &key).unwrap_err(),
        PkiError::NoCertificate
    );
    assert_eq!(
        parse_pem_identity(&cert, &cert).unwrap_err(),
        PkiError::NoPrivateKey
    );
    assert_eq!(
        parse_pem_identity(&cert, "garbage").unwrap_err(),
        PkiError::NoPrivateKey
    );

    // Broken PEM framing or base64.
    let truncated = &cert[..cert.find("-----END").unwrap()];
    assert!(matches!(
        parse_pem_identity(truncated, &key).unwrap_err(),
        PkiError::MalformedPem {
            what: "certificate",
            ..
        }
    ));
    let bad_base64 = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
    assert!(matches!(
        parse_pem_identity(bad_base64, &key).unwrap_err(),
        PkiError::MalformedPem {
            what: "certificate",
            ..
        }
    ));
    let truncated_key = &key[..key.find("-----END").unwrap()];
    let error = parse_pem_identity(&cert, truncated_key).unwrap_err();
    assert!(
        matches!(
            error,
            PkiError::MalformedPem {
                what: "private key",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().starts_with("malformed private key PEM: "),
        "{error}"
    );

    // Well-formed PEM around DER that is not what the label says.
    let not_a_cert = pem_encode("CERTIFICATE", b"\x30\x03\x02\x01\x01");
    let error = parse_pem_identity(&format!("{cert}{not_a_cert}"), &key).unwrap_err();
    assert!(
        matches!(error, PkiError::MalformedCertificate { index: 1, .. }),
        "{error:?}"
    );
    let not_a_key = pem_encode("PRIVATE KEY", b"\x30\x03\x02\x01\x01");
    assert!(matches!(
        parse_pem_identity(&cert, &not_a_key).unwrap_err(),
        PkiError::MalformedKey(_)
    ));

    // Every error explains itself.
    for error in [
        PkiError::NoCertificate,
        PkiError::NoPrivateKey,
        PkiError::KeyMismatch,
        PkiError::Entropy,
    ] {
        assert!(error.to_string().len() > 20, "{error:?}");
    }
}

#[test]
fn key_type_names() {
    for key_type in KEY_TYPES {
        assert_eq!(key_type.to_string().parse::<KeyType>().unwrap(), key_type);
    }
    assert_eq!("P256".parse::<KeyType>().unwrap(), KeyType::EcdsaP256);
    assert_eq!("Ed25519".parse::<KeyType>().unwrap(), KeyType::Ed25519);
    assert!("rsa".parse::<KeyType>().is_err());
    // The whole bounty chain in Ed25519 unless asked otherwise.
    assert_eq!(KeyType::default(), KeyType::Ed25519);
    assert_eq!(
        pki::PkiOptions::new(UnixTime::now()).bounty_key_type,
        KeyType::Ed25519
    );
}
