//! End-to-end tests of the hosted piñata with independent, real clients:
//! openssl s_client/s_server, curl, socat, a rustls client and raw sockets.
//! Each test starts its own piñata on free loopback ports.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;

use common::*;

fn secret_line(p: &Pinata) -> String {
    p.wif.clone()
}

#[test]
fn page_and_stats_show_the_address_of_the_loaded_key() {
    // BIP-173's vector: private key 1 <-> bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4.
    let p = Pinata::start_with(MAINNET_WIF_KEY1, &[], false);
    let page = run(
        Command::new("curl").args([
            "-sS",
            "--max-time",
            "20",
            &format!("http://{}/", p.addr("http")),
        ]),
        b"",
    );
    assert!(page.contains(MAINNET_ADDRESS_KEY1), "{page}");
    assert!(
        page.contains("https://mempool.space/address/bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")
    );
    assert!(page.contains("BEGIN CERTIFICATE"));
    assert!(page.contains("socat"));
    assert!(!page.contains(MAINNET_WIF_KEY1), "the page leaks the key");

    let stats = p.stats();
    assert_eq!(stats["address"], MAINNET_ADDRESS_KEY1);
    assert_eq!(stats["network"], "bitcoin");
    assert!(stats["uptime_s"].is_u64());
    for service in ["http", "https", "server", "connect_back", "client"] {
        for key in [
            "connections",
            "handshakes_ok",
            "handshakes_failed",
            "secrets_sent",
        ] {
            assert!(
                stats["services"][service][key].is_u64(),
                "{service}.{key} in {stats}"
            );
        }
        assert!(stats["services"][service]["failures"].is_object());
    }

    let (status, ca) = p.get("/ca.pem");
    assert_eq!(status, 200);
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(
        page.contains(ca.lines().nth(1).unwrap()),
        "page shows the CA served at /ca.pem"
    );
    assert_eq!(p.get("/nope").0, 404);

    let head = run(
        Command::new("curl").args([
            "-sS",
            "-I",
            "--max-time",
            "20",
            &format!("http://{}/", p.addr("http")),
        ]),
        b"",
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.to_lowercase().contains("content-length:"));
    assert!(!head.contains("<html"), "HEAD has no body");

    let mut raw = TcpStream::connect(p.addr("http")).unwrap();
    raw.write_all(b"GET\x01 / HTTP/1.1\r\n\r\n").unwrap();
    let mut reply = String::new();
    raw.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
    // A mainnet key refuses identity export.
    let dir = tempfile::tempdir().unwrap();
    let wif = dir.path().join("main.wif");
    std::fs::write(&wif, MAINNET_WIF_KEY1).unwrap();
    let out = run(
        Command::new(env!("CARGO_BIN_EXE_pinata"))
            .args([
                "--http-port",
                "0",
                "--https-port",
                "0",
                "--server-port",
                "0",
                "--connect-back-port",
                "0",
                "--client-port",
                "0",
            ])
            .arg("--secret-file")
            .arg(&wif)
            .arg("--insecure-export-identities")
            .arg(dir.path().join("ids")),
        b"",
    );
    assert!(out.contains("refused") && out.contains("mainnet"), "{out}");
    assert!(!dir.path().join("ids").exists());
}

#[test]
fn https_serves_the_page_with_a_certificate_from_the_ca() {
    let p = Pinata::start();
    let url = format!("https://127.0.0.1:{}/stats.json", p.port("https"));
    let out = run(
        Command::new("curl")
            .args(["-sS", "--max-time", "20", "--cacert"])
            .arg(p.id("ca.pem"))
            .arg(&url),
        b"",
    );
    let stats: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(stats["network"], "regtest");
    assert!(stats["address"].as_str().unwrap().starts_with("bcrt1q"));
    p_wait_https(&p);
}

fn p_wait_https(p: &Pinata) {
    assert!(p.counter("https", "handshakes_ok") >= 1);
    assert!(p.counter("https", "requests") >= 1);
}

#[test]
fn bounty_server_sends_the_secret_to_the_exported_client_identity_tls12_and_tls13() {
    let mut p = Pinata::start();
    for (i, version) in ["-tls1_3", "-tls1_2"].iter().enumerate() {
        let cert = p.id("client.pem");
        let key = p.id("client.key");
        let ca = p.id("ca.pem");
        let out = s_client(
            &p.addr("server"),
            &[
                version,
                "-cert",
                cert.to_str().unwrap(),
                "-key",
                key.to_str().unwrap(),
                "-CAfile",
                ca.to_str().unwrap(),
                "-verify_return_error",
            ],
        );
        assert!(
            out.lines().any(|l| l == secret_line(&p)),
            "{version}: no secret in:\n{out}"
        );
        let line = p.wait_outcome("server", i + 1);
        assert!(line.contains("outcome=secret_sent"), "{line}");
        assert!(!line.contains(&p.wif), "the log leaks the secret: {line}");
    }
    assert_eq!(p.counter("server", "secrets_sent"), 2);
    assert_eq!(p.counter("server", "handshakes_ok"), 2);
}

#[test]
fn bounty_server_refuses_everyone_else() {
    let mut p = Pinata::start();
    let dir = p.tmp().to_path_buf();
    // A self-signed certificate (openssl marks it CA:TRUE, which webpki
    // refuses as an end entity before looking for its issuer).
    let selfsigned = self_signed(&dir, "self", "/CN=attacker");
    // A certificate from another CA.
    let other_ca = self_signed(&dir, "otherca", "/CN=Other CA");
    let other_leaf = signed_by(&dir, "otherleaf", "/CN=client", &other_ca);
    // An expired certificate from a look-alike CA: same subject as the piñata
    // CA, another key, made by the piñata's own PKI code with a clock in 2001.
    let lookalike = lookalike_expired(&dir);

    let cases: [(&str, Vec<String>, &str); 4] = [
        ("no certificate", vec![], "no_certificate"),
        (
            "self-signed",
            vec![
                "-cert".into(),
                path(&selfsigned.0),
                "-key".into(),
                path(&selfsigned.1),
            ],
            "bad_certificate",
        ),
        (
            "other CA",
            vec![
                "-cert".into(),
                path(&other_leaf.0),
                "-key".into(),
                path(&other_leaf.1),
            ],
            "unknown_ca",
        ),
        (
            "expired look-alike",
            vec![
                "-cert".into(),
                path(&lookalike.0),
                "-key".into(),
                path(&lookalike.1),
            ],
            "certificate_expired",
        ),
    ];
    for (i, (name, args, reason)) in cases.iter().enumerate() {
        for version in ["-tls1_3", "-tls1_2"] {
            let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
            all.push(version);
            let out = s_client(&p.addr("server"), &all);
            assert!(
                !out.contains(&p.wif),
                "{name} {version}: secret leaked:\n{out}"
            );
        }
        let first = p.wait_outcome("server", 2 * i + 1);
        let second = p.wait_outcome("server", 2 * i + 2);
        for line in [first, second] {
            assert!(line.contains("outcome=failed"), "{name}: {line}");
            assert!(
                line.contains(&format!("reason={reason}")),
                "{name}: expected {reason}: {line}"
            );
        }
    }
    assert_eq!(p.counter("server", "secrets_sent"), 0);
    assert_eq!(p.counter("server", "handshakes_ok"), 0);
    assert_eq!(p.counter("server", "handshakes_failed"), 8);
    assert_eq!(p.counter("server", "failures.no_certificate"), 2);
    assert_eq!(p.counter("server", "failures.unknown_ca"), 2);
    assert_eq!(p.counter("server", "failures.bad_certificate"), 2);
    assert_eq!(p.counter("server", "failures.certificate_expired"), 2);
}

fn path(p: &std::path::Path) -> String {
    p.to_str().unwrap().to_string()
}

/// A client identity from a CA with the piñata CA's exact subject but another
/// key, valid in 2001 only: both expired and from the wrong CA.
fn lookalike_expired(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    use pinata::pki::{self, KeyType, PkiOptions};
    let options = PkiOptions {
        bounty_key_type: KeyType::EcdsaP256,
        web_names: vec!["localhost".into()],
        now: rustls::pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            978_307_200,
        )),
        validity_days: 30,
    };
    let fake = pki::bootstrap(&pinata::random::OS_RANDOM, &options).unwrap();
    let cert = dir.join("lookalike.pem");
    let key = dir.join("lookalike.key");
    std::fs::write(&cert, fake.client.cert_pem()).unwrap();
    std::fs::write(&key, fake.client.key_pem().as_bytes()).unwrap();
    (cert, key)
}

#[test]
fn connect_back_sends_the_secret_only_to_a_server_certified_by_the_ca() {
    let mut p = Pinata::start();
    // A certificate from another CA: no secret.
    let other_ca = self_signed(p.tmp(), "otherca", "/CN=Other CA");
    let wrong = signed_by(p.tmp(), "wrong", "/CN=bounty.pinata", &other_ca);
    let server = s_server(p.connect_back_port, &wrong.0, &wrong.1, None);
    TcpStream::connect(p.addr("connect_back")).unwrap();
    let line = p.wait_outcome("connect_back", 1);
    assert!(line.contains("outcome=failed reason=unknown_ca"), "{line}");
    let out = server.finish(WAIT).unwrap();
    assert!(
        !out.contains(&p.wif),
        "secret leaked to a wrong server:\n{out}"
    );

    // The exported server identity: the secret arrives.
    let server = s_server(
        p.connect_back_port,
        &p.id("server.pem"),
        &p.id("server.key"),
        Some(&p.id("ca.pem")),
    );
    TcpStream::connect(p.addr("connect_back")).unwrap();
    let line = p.wait_outcome("connect_back", 2);
    assert!(line.contains("outcome=secret_sent"), "{line}");
    let out = server.finish(WAIT).unwrap();
    assert!(
        out.lines().any(|l| l == p.wif),
        "no secret at the connect-back server:\n{out}"
    );
    assert_eq!(p.counter("connect_back", "secrets_sent"), 1);
    assert_eq!(p.counter("connect_back", "failures.unknown_ca"), 1);

    // Nobody listening: a clean, counted failure.
    TcpStream::connect(p.addr("connect_back")).unwrap();
    let line = p.wait_outcome("connect_back", 3);
    assert!(line.contains("reason=connect_failed"), "{line}");
}

#[test]
fn bounty_client_port_runs_a_client_handshake_over_the_callers_connection() {
    let mut p = Pinata::start();
    let client_addr = p.addr("client");
    let socat = |target: u16| {
        run(
            Command::new("socat").args([
                format!("TCP:{client_addr}"),
                format!("TCP:127.0.0.1:{target}"),
            ]),
            b"",
        )
    };
    let port = free_port().unwrap();
    let wrong = self_signed(p.tmp(), "wrong", "/CN=bounty.pinata");
    let server = s_server(port, &wrong.0, &wrong.1, None);
    socat(port);
    let line = p.wait_outcome("client", 1);
    assert!(line.contains("outcome=failed"), "{line}");
    let out = server.finish(WAIT).unwrap();
    assert!(!out.contains(&p.wif), "secret leaked:\n{out}");

    let port = free_port().unwrap();
    let server = s_server(
        port,
        &p.id("server.pem"),
        &p.id("server.key"),
        Some(&p.id("ca.pem")),
    );
    socat(port);
    let line = p.wait_outcome("client", 2);
    assert!(line.contains("outcome=secret_sent"), "{line}");
    let out = server.finish(WAIT).unwrap();
    assert!(out.lines().any(|l| l == p.wif), "no secret:\n{out}");
}

#[test]
fn socat_short_circuit_completes_and_both_sides_count_a_success() {
    let mut p = Pinata::start();
    let out = run(
        Command::new("socat").args([
            format!("TCP:{}", p.addr("server")),
            format!("TCP:{}", p.addr("client")),
        ]),
        b"",
    );
    let server = p.wait_outcome("server", 1);
    let client = p.wait_outcome("client", 1);
    assert!(server.contains("outcome=secret_sent"), "{server}");
    assert!(client.contains("outcome=secret_sent"), "{client}");
    assert!(!out.contains(&p.wif), "socat saw the secret in clear");
    assert_eq!(p.counter("server", "handshakes_ok"), 1);
    assert_eq!(p.counter("client", "handshakes_ok"), 1);
    assert_eq!(p.counter("server", "secrets_sent"), 1);
    assert_eq!(p.counter("client", "secrets_sent"), 1);
}

#[test]
fn old_protocol_versions_are_refused() {
    let mut p = Pinata::start();
    let (cert, key) = (p.id("client.pem"), p.id("client.key"));
    let mut n = 0;
    for version in ["-tls1", "-tls1_1"] {
        let out = s_client(
            &p.addr("server"),
            &[
                version,
                "-cipher",
                "DEFAULT@SECLEVEL=0",
                "-cert",
                cert.to_str().unwrap(),
                "-key",
                key.to_str().unwrap(),
            ],
        );
        assert!(!out.contains(&p.wif), "{version}: {out}");
        n += 1;
        let line = p.wait_outcome("server", n);
        assert!(line.contains("outcome=failed"), "{line}");
    }
    // SSLv3 and SSLv2-era hellos, by hand (modern openssl cannot send them).
    for hello in [client_hello(0x0300, 0x0300), client_hello(0x0301, 0x0301)] {
        let reply = exchange(&p.addr("server"), &hello);
        assert_eq!(
            reply.first(),
            Some(&0x15),
            "expected an alert, got {reply:02x?}"
        );
        n += 1;
        let line = p.wait_outcome("server", n);
        assert!(line.contains("outcome=failed"), "{line}");
    }
    assert_eq!(p.counter("server", "secrets_sent"), 0);
    assert_eq!(p.counter("server", "handshakes_failed"), 4);
}

#[test]
fn garbage_truncation_and_wrong_protocols_fail_cleanly_and_the_piñata_keeps_serving() {
    let mut p = Pinata::start();
    // Garbage bytes.
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let reply = exchange(&p.addr("server"), &garbage);
    assert!(!String::from_utf8_lossy(&reply).contains(&p.wif));
    let line = p.wait_outcome("server", 1);
    assert!(line.contains("outcome=failed"), "{line}");
    // A truncated ClientHello.
    let hello = client_hello(0x0301, 0x0303);
    exchange(&p.addr("server"), &hello[..hello.len() / 2]);
    let line = p.wait_outcome("server", 2);
    assert!(
        line.contains("outcome=failed reason=decode_error"),
        "{line}"
    );
    // An HTTP request to a TLS port.
    exchange(&p.addr("server"), b"GET / HTTP/1.1\r\nHost: pinata\r\n\r\n");
    let line = p.wait_outcome("server", 3);
    assert!(line.contains("outcome=failed"), "{line}");
    // The same at the client port: the piñata speaks first, then rejects.
    let reply = exchange(&p.addr("client"), b"HTTP/1.1 200 OK\r\n\r\nhello");
    assert_eq!(
        reply.first(),
        Some(&0x16),
        "the client port sends a ClientHello first"
    );
    let line = p.wait_outcome("client", 1);
    assert!(line.contains("outcome=failed"), "{line}");
    // A 1 MB request line.
    let mut huge = b"GET /".to_vec();
    huge.resize(1 << 20, b'a');
    huge.extend_from_slice(b" HTTP/1.1\r\n\r\n");
    let reply = exchange(&p.addr("http"), &huge);
    let text = String::from_utf8_lossy(&reply);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 431"),
        "{text}"
    );
    let line = p.wait_outcome("http", 1);
    assert!(line.contains("status=431"), "{line}");
    // Still serving.
    let (status, page) = p.get("/");
    assert_eq!(status, 200);
    assert!(page.contains("bcrt1q"));
    assert_eq!(p.counter("http", "failures.request_too_large"), 1);
    assert_eq!(p.counter("server", "secrets_sent"), 0);
    assert_eq!(p.counter("client", "secrets_sent"), 0);
}

#[test]
fn a_rustls_client_with_the_exported_identity_gets_the_secret() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    use std::sync::Arc;

    let mut p = Pinata::start();
    // The client prefers AES-256-GCM-SHA384 (as rustls + aws-lc-rs and
    // OpenSSL clients do); the piñata picks by its own order.
    let mut provider = pinata::provider::provider(&pinata::random::OS_RANDOM);
    provider
        .cipher_suites
        .sort_by_key(|s| s.suite() != rustls::CipherSuite::TLS13_AES_256_GCM_SHA384);
    assert_eq!(
        provider.cipher_suites[0].suite(),
        rustls::CipherSuite::TLS13_AES_256_GCM_SHA384
    );
    let provider = Arc::new(provider);
    let ca = CertificateDer::from_pem_file(p.id("ca.pem")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca).unwrap();
    let chain = vec![CertificateDer::from_pem_file(p.id("client.pem")).unwrap()];
    let key = PrivateKeyDer::from_pem_file(p.id("client.key")).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .unwrap();
    let name = ServerName::try_from(pinata::pki::BOUNTY_SERVER_NAME).unwrap();
    let conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let sock = TcpStream::connect(p.addr("server")).unwrap();
    sock.set_read_timeout(Some(WAIT)).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    let mut received = String::new();
    tls.read_to_string(&mut received).unwrap();
    assert_eq!(received, format!("{}\n", p.wif));
    assert_eq!(
        tls.conn.negotiated_cipher_suite().map(|s| s.suite()),
        Some(rustls::CipherSuite::TLS13_AES_128_GCM_SHA256),
        "the server's order decides the suite"
    );
    assert!(p.wait_outcome("server", 1).contains("outcome=secret_sent"));
}

#[test]
fn ed25519_bounty_certificates_work_with_openssl() {
    let mut p = Pinata::start_with(
        TEST_WIF_KEY1,
        &["--network", "regtest", "--bounty-key-type", "ed25519"],
        true,
    );
    let text = run(
        openssl(&["x509", "-noout", "-text", "-in"]).arg(p.id("client.pem")),
        b"",
    );
    assert!(text.contains("ED25519"), "{text}");
    for (i, version) in ["-tls1_3", "-tls1_2"].iter().enumerate() {
        let (cert, key, ca) = (p.id("client.pem"), p.id("client.key"), p.id("ca.pem"));
        let out = s_client(
            &p.addr("server"),
            &[
                version,
                "-cert",
                cert.to_str().unwrap(),
                "-key",
                key.to_str().unwrap(),
                "-CAfile",
                ca.to_str().unwrap(),
                "-verify_return_error",
            ],
        );
        assert!(
            out.lines().any(|l| l == p.wif),
            "{version}: no secret:\n{out}"
        );
        assert!(
            p.wait_outcome("server", i + 1)
                .contains("outcome=secret_sent")
        );
    }
    // And the short-circuit with Ed25519 on both roles.
    run(
        Command::new("socat").args([
            format!("TCP:{}", p.addr("server")),
            format!("TCP:{}", p.addr("client")),
        ]),
        b"",
    );
    assert!(p.wait_outcome("client", 1).contains("outcome=secret_sent"));
}

#[test]
fn an_operator_web_certificate_is_served_on_https() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path(), "operator", "/CN=localhost");
    let mut p = Pinata::start_with(
        TEST_WIF_KEY1,
        &[
            "--network",
            "regtest",
            "--web-cert",
            cert.to_str().unwrap(),
            "--web-key",
            key.to_str().unwrap(),
        ],
        false,
    );
    // Trusting only the operator's certificate, curl gets the page.
    let out = run(
        Command::new("curl")
            .args([
                "-sS",
                "--max-time",
                "20",
                "--resolve",
                &format!("localhost:{}:127.0.0.1", p.port("https")),
                "--cacert",
            ])
            .arg(&cert)
            .arg(format!("https://localhost:{}/", p.port("https"))),
        b"",
    );
    assert!(out.contains("Bitcoin Piñata"), "{out}");
    assert!(p.wait_outcome("https", 1).contains("status=200"));
    // A key that does not match the certificate is refused at start.
    let (_, other_key) = self_signed(dir.path(), "other", "/CN=other");
    let out = run(
        Command::new(env!("CARGO_BIN_EXE_pinata"))
            .args([
                "--http-port",
                "0",
                "--https-port",
                "0",
                "--server-port",
                "0",
                "--connect-back-port",
                "0",
                "--client-port",
                "0",
            ])
            .arg("--web-cert")
            .arg(&cert)
            .arg("--web-key")
            .arg(&other_key),
        b"",
    );
    assert!(out.contains("web certificate"), "{out}");
    assert!(!out.contains("pinata: ready"), "{out}");
}

#[test]
fn bad_flags_and_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.wif");
    std::fs::write(&bad, "not a wif\n").unwrap();
    let out = run(
        Command::new(env!("CARGO_BIN_EXE_pinata"))
            .arg("--secret-file")
            .arg(&bad),
        b"",
    );
    assert!(
        out.contains("secret file") && !out.contains("pinata: ready"),
        "{out}"
    );
    let out = run(
        Command::new(env!("CARGO_BIN_EXE_pinata")).args(["--http-port", "eighty"]),
        b"",
    );
    assert!(out.contains("not a valid number"), "{out}");
    let out = run(
        Command::new(env!("CARGO_BIN_EXE_pinata")).arg("--frobnicate"),
        b"",
    );
    assert!(out.contains("unexpected argument '--frobnicate'"), "{out}");
}

#[test]
fn a_tls12_hello_without_renegotiation_indication_is_refused_and_counted() {
    let mut p = Pinata::start();
    // TLS 1.2 only, no extensions, no SCSV: refused with handshake_failure
    // before rustls sees it, as the original piñata did.
    let reply = exchange(&p.addr("server"), &client_hello(0x0301, 0x0303));
    assert_eq!(
        reply,
        [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28],
        "a fatal handshake_failure alert"
    );
    let line = p.wait_outcome("server", 1);
    assert!(
        line.contains("outcome=failed reason=no_renegotiation_extension"),
        "{line}"
    );
    // The same hello with the SCSV appended goes on to rustls (which
    // refuses it for its own reasons: no signature algorithms, no groups).
    let mut hello = client_hello(0x0301, 0x0303);
    // suites length 4 → 6, and the SCSV after the two suites.
    let suites_at = 5 + 4 + 2 + 32 + 1;
    hello[suites_at + 1] = 6;
    hello.splice(suites_at + 6..suites_at + 6, [0x00, 0xff]);
    let body_len = hello.len() - 9;
    hello[6..9].copy_from_slice(&(body_len as u32).to_be_bytes()[1..]);
    let record_len = (hello.len() - 5) as u16;
    hello[3..5].copy_from_slice(&record_len.to_be_bytes());
    exchange(&p.addr("https"), &hello);
    let line = p.wait_outcome("https", 1);
    assert!(line.contains("outcome=failed"), "{line}");
    assert!(!line.contains("no_renegotiation_extension"), "{line}");
    let stats = p.stats();
    assert_eq!(
        stats["failures"]["no_renegotiation_extension"].as_u64(),
        Some(1)
    );
    assert_eq!(
        p.counter("server", "failures.no_renegotiation_extension"),
        1
    );
    // The page shows the original's reasons, seen or not.
    let (status, page) = p.get("/");
    assert_eq!(status, 200);
    for reason in [
        "no_renegotiation_extension",
        "heartbeat",
        "sslv3",
        "unknown_ca",
    ] {
        assert!(page.contains(&format!("<code>{reason}</code>")), "{reason}");
    }
    // Memory and limits are on stats.json (hosted: the process's RSS).
    assert_eq!(stats["memory"]["source"], "process");
    assert!(stats["memory"]["high_water_bytes"].as_u64().unwrap() > 0);
    assert_eq!(stats["limits"]["max_connections"].as_u64(), Some(512));
}

/// Connects to the bounty client port and waits for the piñata's
/// ClientHello: proof that the connection was admitted and has a session.
fn admitted_idle_connection(p: &Pinata) -> TcpStream {
    let mut stream = TcpStream::connect(p.addr("client")).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut first = [0u8; 1];
    stream.read_exact(&mut first).expect("a ClientHello");
    assert_eq!(first[0], 0x16);
    stream
}

#[test]
fn a_full_table_evicts_the_longest_idle_connection_and_the_page_is_served() {
    let mut p = Pinata::start_with(
        TEST_WIF_KEY1,
        &[
            "--network",
            "regtest",
            "--max-connections",
            "2",
            "--max-connections-per-peer",
            "10",
        ],
        false,
    );
    let mut oldest = admitted_idle_connection(&p);
    let _newer = admitted_idle_connection(&p);
    // The table is full; the page still answers, in place of the oldest.
    let (status, page) = p.get("/");
    assert_eq!(status, 200);
    assert!(page.contains("bcrt1q"));
    let line = p.wait_outcome("client", 1);
    assert!(line.contains("outcome=failed reason=evicted"), "{line}");
    // The evicted connection is closed (EOF or reset), not left hanging.
    let mut rest = Vec::new();
    let _ = oldest.read_to_end(&mut rest);
    assert!(p.counter("client", "failures.evicted") >= 1);
}

#[test]
fn one_address_cannot_take_more_than_its_share() {
    let mut p = Pinata::start_with(
        TEST_WIF_KEY1,
        &[
            "--network",
            "regtest",
            "--max-connections",
            "10",
            "--max-connections-per-peer",
            "2",
        ],
        false,
    );
    // The limits in force are on the console at start.
    assert!(
        p.proc.out.lines().iter().any(|l| l.starts_with(
            "pinata: limits max_connections=10 max_connections_per_peer=2 handshake_timeout=10s"
        )),
        "{:?}",
        p.proc.out.lines()
    );
    let a = admitted_idle_connection(&p);
    let b = admitted_idle_connection(&p);
    // The third from 127.0.0.1 is refused at once: no ClientHello, closed.
    let reply = exchange(&p.addr("client"), b"");
    assert!(reply.is_empty(), "{reply:02x?}");
    let line = p.wait_outcome("client", 1);
    assert!(
        line.contains("outcome=failed reason=over_capacity"),
        "{line}"
    );
    // Room again once the two end (their slots go before their log lines).
    drop((a, b));
    p.wait_outcome("client", 3);
    let stats = p.stats();
    assert_eq!(
        stats["services"]["client"]["failures"]["over_capacity"].as_u64(),
        Some(1)
    );
    // Only the stats request itself is open now (one request: a previous
    // one's slot could still be on its way out when this one arrives).
    assert_eq!(stats["open_connections"].as_u64(), Some(1));
}

/// One RFC 5424 message, split into its fields, or why it is not one. A
/// strict reading of the ABNF for what the piñata sends: PRI, VERSION 1,
/// a `Z` timestamp or NILVALUE, PRINTUSASCII header fields within their
/// lengths, no structured data, and a MSG without control characters.
#[derive(Debug)]
struct Rfc5424<'a> {
    facility: u8,
    severity: u8,
    timestamp: &'a str,
    hostname: &'a str,
    app_name: &'a str,
    procid: &'a str,
    msgid: &'a str,
    msg: &'a str,
}

fn parse_rfc5424(datagram: &[u8]) -> Result<Rfc5424<'_>, String> {
    let text = std::str::from_utf8(datagram).map_err(|e| format!("not UTF-8: {e}"))?;
    let rest = text.strip_prefix('<').ok_or("no PRI")?;
    let (pri, rest) = rest.split_once('>').ok_or("no PRI")?;
    if pri.is_empty() || pri.len() > 3 || !pri.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad PRI {pri:?}"));
    }
    let pri: u8 = pri.parse().map_err(|_| "bad PRI")?;
    if pri > 191 {
        return Err(format!("PRI {pri} out of range"));
    }
    let mut fields = rest.splitn(8, ' ');
    let mut next = |name: &str| fields.next().ok_or(format!("no {name}"));
    if next("VERSION")? != "1" {
        return Err("VERSION is not 1".into());
    }
    let timestamp = next("TIMESTAMP")?;
    let header = |name: &str, value: &str, max: usize| {
        if value.is_empty() || value.len() > max || !value.bytes().all(|b| b.is_ascii_graphic()) {
            Err(format!("bad {name} {value:?}"))
        } else {
            Ok(())
        }
    };
    let hostname = next("HOSTNAME")?;
    let app_name = next("APP-NAME")?;
    let procid = next("PROCID")?;
    let msgid = next("MSGID")?;
    header("HOSTNAME", hostname, 255)?;
    header("APP-NAME", app_name, 48)?;
    header("PROCID", procid, 128)?;
    header("MSGID", msgid, 32)?;
    if next("STRUCTURED-DATA")? != "-" {
        return Err("structured data".into());
    }
    let msg = fields.next().unwrap_or("");
    if msg.chars().any(char::is_control) {
        return Err(format!("control character in MSG {msg:?}"));
    }
    if timestamp != "-" {
        // YYYY-MM-DDThh:mm:ssZ, as the piñata writes it (whole seconds).
        let shape = timestamp.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b'T',
            13 | 16 => b == b':',
            19 => b == b'Z',
            _ => b.is_ascii_digit(),
        });
        if !shape || timestamp.len() != 20 {
            return Err(format!("bad TIMESTAMP {timestamp:?}"));
        }
    }
    Ok(Rfc5424 {
        facility: pri / 8,
        severity: pri % 8,
        timestamp,
        hostname,
        app_name,
        procid,
        msgid,
        msg,
    })
}

#[test]
fn connection_lines_go_to_syslog_as_rfc5424_and_never_the_secret() {
    let collector = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    // A bound on each wait, not a synchronisation: datagrams are awaited.
    collector.set_read_timeout(Some(WAIT)).unwrap();
    let target = collector.local_addr().unwrap().to_string();
    let mut p = Pinata::start_with(
        TEST_WIF_KEY1,
        &["--network", "regtest", "--syslog", &target],
        true,
    );
    assert!(
        p.proc
            .out
            .lines()
            .iter()
            .any(|l| l == &format!("pinata: syslog to {target}")),
        "{:?}",
        p.proc.out.lines()
    );
    // A page, a handshake without a certificate, and one that takes the
    // secret: three connection lines.
    assert_eq!(p.get("/").0, 200);
    s_client(&p.addr("server"), &["-tls1_3"]);
    let (cert, key, ca) = (p.id("client.pem"), p.id("client.key"), p.id("ca.pem"));
    let out = s_client(
        &p.addr("server"),
        &[
            "-cert",
            cert.to_str().unwrap(),
            "-key",
            key.to_str().unwrap(),
            "-CAfile",
            ca.to_str().unwrap(),
        ],
    );
    assert!(out.lines().any(|l| l == p.wif), "no secret in:\n{out}");
    let mut lines = vec![
        p.wait_outcome("http", 1),
        p.wait_outcome("server", 1),
        p.wait_outcome("server", 2),
    ];
    assert!(lines[1].contains("outcome=failed reason=no_certificate"));
    assert!(lines[2].contains("outcome=secret_sent"));

    let mut datagrams = Vec::new();
    let mut buf = [0u8; 65536];
    for _ in 0..lines.len() {
        let (n, from) = collector.recv_from(&mut buf).expect("a syslog datagram");
        assert!(from.ip().is_loopback(), "{from}");
        datagrams.push(buf[..n].to_vec());
    }
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let this_year = {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        1970 + secs / 31_556_952 // the mean Gregorian year: right but for New Year's Eve
    };
    let mut messages = Vec::new();
    for datagram in &datagrams {
        let text = String::from_utf8_lossy(datagram);
        let message = parse_rfc5424(datagram).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(message.facility, 3, "daemon: {text}");
        assert_eq!(message.app_name, "pinata");
        assert_eq!(message.procid, "-");
        if hostname.bytes().all(|b| b.is_ascii_graphic()) && !hostname.is_empty() {
            assert_eq!(message.hostname, hostname);
        }
        let year: u64 = message.timestamp[..4].parse().unwrap();
        assert!(year.abs_diff(this_year) <= 1, "{text}");
        // The MSG is the console line, the MSGID its service.
        let line = format!("pinata: {}", message.msg);
        let service = message.msg["service=".len()..].split(' ').next().unwrap();
        assert_eq!(message.msgid, service, "{text}");
        let expected_severity = if message.msg.contains("outcome=secret_sent") {
            5 // notice
        } else {
            6 // informational
        };
        assert_eq!(message.severity, expected_severity, "{text}");
        messages.push(line);
    }
    lines.sort();
    messages.sort();
    assert_eq!(messages, lines);

    // Never the prize, never a key: the exported identities' PEM bodies
    // appear in no datagram.
    let mut secrets = vec![p.wif.clone(), "PRIVATE KEY".to_string()];
    for name in ["server.key", "client.key", "web.key"] {
        let pem = std::fs::read_to_string(p.id(name)).unwrap();
        secrets.extend(
            pem.lines()
                .filter(|l| !l.starts_with("-----") && l.len() >= 16)
                .map(str::to_string),
        );
    }
    for datagram in &datagrams {
        let text = String::from_utf8_lossy(datagram);
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "leaked into syslog: {text}"
            );
        }
    }
}

#[test]
fn bad_syslog_targets_are_refused_with_clear_errors() {
    for (target, expected) in [
        ("127.0.0.1", "no port"),
        ("127.0.0.1:0", "port 0"),
        ("localhost:514", "not an IP address"),
        ("127.0.0.1:99999", "not a number from 1 to 65535"),
    ] {
        let out = run(
            Command::new(env!("CARGO_BIN_EXE_pinata")).args(["--syslog", target]),
            b"",
        );
        assert!(
            out.contains("--syslog") && out.contains(expected) && !out.contains("pinata: ready"),
            "{target}: {out}"
        );
    }
}
