//! Certificates that must not pass: other CAs, expired, not yet valid,
//! wrong usage, long chains, oversized and malformed; on every bounty port.

use std::io::{self, Read};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::cases::{Ctx, Exchange, sent};
use super::net::{callback_ip, connect_from, read_until_close};
use super::records::describe;
use super::*;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

/// Identities the piñata must refuse, made once per run.
pub(super) struct Certs {
    pub(super) other: pinata::pki::Pki,
    pub(super) expired: pinata::pki::Pki,
    pub(super) not_yet: pinata::pki::Pki,
    /// CA certificates of ten more piñatas (for a long chain).
    pub(super) more_cas: Vec<CertificateDer<'static>>,
    pub(super) self_signed: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>,
}

pub(super) fn make_certs(dir: &Path) -> Result<Certs, String> {
    use pinata::pki::{PkiOptions, bootstrap};
    let random = &pinata::random::OS_RANDOM;
    let now = UnixTime::now().as_secs();
    let at = |secs: u64, days: u32| {
        let mut o = PkiOptions::new(UnixTime::since_unix_epoch(Duration::from_secs(secs)));
        o.validity_days = days;
        o
    };
    let pki = |o: &PkiOptions| bootstrap(random, o).map_err(|e| format!("PKI: {e:?}"));
    let day = 86_400;
    let other = pki(&at(now, 30))?;
    let expired = pki(&at(now - 400 * day, 30))?;
    let not_yet = pki(&at(now + 400 * day, 30))?;
    let mut more_cas = Vec::new();
    for _ in 0..10 {
        more_cas.push(pki(&at(now, 30))?.ca_cert);
    }
    Ok(Certs {
        other,
        expired,
        not_yet,
        more_cas,
        self_signed: openssl_self_signed(dir),
    })
}

/// A self-signed P-256 client certificate made by `openssl` (DER), if
/// openssl is there.
pub(super) fn openssl_self_signed(
    dir: &Path,
) -> Option<(CertificateDer<'static>, PrivateKeyDer<'static>)> {
    let key_pem = dir.join("self.key");
    let cert = dir.join("self.der");
    let key = dir.join("self.key.der");
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args([
            "-days",
            "30",
            "-subj",
            "/CN=Piñata bounty client",
            "-outform",
            "DER",
        ])
        .arg("-keyout")
        .arg(&key_pem)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?
        .success()
        && Command::new("openssl")
            .args(["pkcs8", "-topk8", "-nocrypt", "-outform", "DER"])
            .arg("-in")
            .arg(&key_pem)
            .arg("-out")
            .arg(&key)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()?
            .success();
    if !ok {
        return None;
    }
    let cert = std::fs::read(&cert).ok()?;
    let key = std::fs::read(&key).ok()?;
    Some((CertificateDer::from(cert), PrivateKeyDer::Pkcs8(key.into())))
}

pub(super) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    static PROVIDER: std::sync::OnceLock<Arc<rustls::crypto::CryptoProvider>> =
        std::sync::OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(pinata::provider::provider(&pinata::random::OS_RANDOM)))
        .clone()
}

/// Accepts any server certificate: the attacker does not care who answers.
#[derive(Debug)]
pub(super) struct AnyServer;

impl rustls::client::danger::ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Presents an arbitrary chain (any bytes) with a real signing key.
#[derive(Debug)]
pub(super) struct Present(Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for Present {
    fn resolve(
        &self,
        _: &[&[u8]],
        _: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
    fn has_certs(&self) -> bool {
        true
    }
}

/// A rustls client against `service`, presenting `chain` signed with `key`
/// (or no certificate); reads whatever plaintext arrives.
pub(super) fn rustls_client(
    ctx: &Ctx,
    service: &str,
    tls12: bool,
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> Exchange {
    let provider = provider();
    let versions: &[&'static rustls::SupportedProtocolVersion] = if tls12 {
        &[&rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13]
    };
    let builder = match rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
    {
        Ok(b) => b
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyServer)),
        Err(e) => {
            return Exchange {
                reply: format!("client config: {e}"),
                ..Default::default()
            };
        }
    };
    let (config, what) = match identity {
        None => (builder.with_no_client_auth(), "no certificate".to_string()),
        Some((chain, key)) => {
            let key = match provider.key_provider.load_private_key(key) {
                Ok(k) => k,
                Err(e) => {
                    return Exchange {
                        reply: format!("key: {e}"),
                        ..Default::default()
                    };
                }
            };
            let size: usize = chain.iter().map(|c| c.len()).sum();
            let what = format!("{} cert(s), {size} B", chain.len());
            let certified = rustls::sign::CertifiedKey::new(chain, key);
            (
                builder.with_client_cert_resolver(Arc::new(Present(Arc::new(certified)))),
                what,
            )
        }
    };
    let name = ServerName::try_from(pinata::pki::BOUNTY_SERVER_NAME).expect("name");
    let mut conn = match rustls::ClientConnection::new(Arc::new(config), name) {
        Ok(c) => c,
        Err(e) => {
            return Exchange {
                reply: format!("client: {e}"),
                ..Default::default()
            };
        }
    };
    let mut sock = match connect_from(None, ctx.port(service), Duration::from_secs(3)) {
        Ok(s) => s,
        Err(e) => {
            return Exchange {
                reply: format!("connect failed: {e}"),
                ..Default::default()
            };
        }
    };
    let version = if tls12 { "TLS 1.2" } else { "TLS 1.3" };
    let mut plaintext = Vec::new();
    let deadline = Instant::now() + REPLY_WAIT;
    let mut end = String::from("closed");
    let mut handshake = "handshake incomplete";
    loop {
        if Instant::now() > deadline {
            end = "still open".into();
            break;
        }
        match conn.complete_io(&mut sock) {
            Ok((0, 0)) if !conn.wants_write() => {
                if !conn.is_handshaking() {
                    handshake = "client finished its handshake";
                }
                // Nothing moved: try to read application data.
                let mut buf = [0u8; 4096];
                match conn.reader().read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => plaintext.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        // complete_io returned without progress: peer closed
                        end = "closed".into();
                        break;
                    }
                    Err(e) => {
                        end = format!("{e}");
                        break;
                    }
                }
            }
            Ok(_) => {
                if !conn.is_handshaking() {
                    handshake = "client finished its handshake";
                }
                let mut buf = [0u8; 4096];
                while let Ok(n) = conn.reader().read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    plaintext.extend_from_slice(&buf[..n]);
                }
            }
            Err(e) => {
                if !conn.is_handshaking() {
                    handshake = "client finished its handshake";
                }
                end = short_error(&e.to_string());
                break;
            }
        }
    }
    let reply = if plaintext.is_empty() {
        format!("{handshake}; {end}")
    } else {
        format!("{handshake}; {} B of plaintext; {end}", plaintext.len())
    };
    Exchange {
        sent: format!("rustls {version} client, {what}"),
        reply,
        seen: plaintext,
        settle: Duration::ZERO,
        details: Vec::new(),
        problems: Vec::new(),
    }
}

pub(super) fn short_error(e: &str) -> String {
    let e = e.trim();
    let e = e
        .strip_prefix("received fatal alert: ")
        .map(|a| format!("alert {a}"))
        .unwrap_or(e.to_string());
    e.chars().take(60).collect()
}

pub(super) fn client_identity(
    pki: &pinata::pki::Pki,
) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    (pki.client.cert_chain.clone(), pki.client.key_der())
}

pub(super) fn c_cert_none(ctx: &Ctx) -> Exchange {
    rustls_client(ctx, "server", false, None)
}
pub(super) fn c_cert_none_tls12(ctx: &Ctx) -> Exchange {
    rustls_client(ctx, "server", true, None)
}
pub(super) fn c_cert_self_signed(ctx: &Ctx) -> Exchange {
    match &ctx.pki.self_signed {
        Some((cert, key)) => {
            let x = rustls_client(
                ctx,
                "server",
                false,
                Some((vec![cert.clone()], key.clone_key())),
            );
            sent(x, "self-signed")
        }
        None => Exchange {
            sent: "self-signed".into(),
            reply: "skipped: no openssl".into(),
            ..Default::default()
        },
    }
}
pub(super) fn c_cert_other_ca(ctx: &Ctx) -> Exchange {
    sent(
        rustls_client(ctx, "server", false, Some(client_identity(&ctx.pki.other))),
        "another piñata's client cert",
    )
}
pub(super) fn c_cert_other_ca_tls12(ctx: &Ctx) -> Exchange {
    sent(
        rustls_client(ctx, "server", true, Some(client_identity(&ctx.pki.other))),
        "another piñata's client cert",
    )
}
pub(super) fn c_cert_lookalike_ca(ctx: &Ctx) -> Exchange {
    // [leaf, CA named "Piñata CA" with another key]: same names as the real chain.
    let (mut chain, key) = client_identity(&ctx.pki.other);
    chain.truncate(1);
    chain.push(ctx.pki.other.ca_cert.clone());
    chain.push(ctx.pki.other.ca_cert.clone());
    sent(
        rustls_client(ctx, "server", false, Some((chain, key))),
        "chain claiming the piñata CA's subject, other key",
    )
}
pub(super) fn c_cert_expired(ctx: &Ctx) -> Exchange {
    sent(
        rustls_client(
            ctx,
            "server",
            false,
            Some(client_identity(&ctx.pki.expired)),
        ),
        "expired (other CA)",
    )
}
pub(super) fn c_cert_not_yet_valid(ctx: &Ctx) -> Exchange {
    sent(
        rustls_client(ctx, "server", true, Some(client_identity(&ctx.pki.not_yet))),
        "not yet valid (other CA)",
    )
}
pub(super) fn c_cert_server_eku(ctx: &Ctx) -> Exchange {
    let identity = (
        ctx.pki.other.server.cert_chain.clone(),
        ctx.pki.other.server.key_der(),
    );
    sent(
        rustls_client(ctx, "server", false, Some(identity)),
        "serverAuth-only certificate as client cert",
    )
}
pub(super) fn c_cert_long_chain(ctx: &Ctx) -> Exchange {
    let (mut chain, key) = client_identity(&ctx.pki.other);
    chain.extend(ctx.pki.more_cas.iter().cloned());
    chain.extend(ctx.pki.more_cas.iter().cloned());
    sent(
        rustls_client(ctx, "server", false, Some((chain, key))),
        "chain of 22 certificates",
    )
}
pub(super) fn c_cert_oversized(ctx: &Ctx) -> Exchange {
    // A 60 KB DER SEQUENCE.
    let len = 60 * 1024;
    let mut der = vec![0x30, 0x82, (len >> 8) as u8, len as u8];
    der.extend((0..len).map(|i| (i * 7) as u8));
    let (_, key) = client_identity(&ctx.pki.other);
    sent(
        rustls_client(
            ctx,
            "server",
            false,
            Some((vec![CertificateDer::from(der)], key)),
        ),
        "one 60 KB certificate",
    )
}
pub(super) fn c_cert_malformed(ctx: &Ctx) -> Exchange {
    let (chain, key) = client_identity(&ctx.pki.other);
    let mut truncated = chain[0].to_vec();
    truncated.truncate(truncated.len() / 2);
    let bad = vec![
        CertificateDer::from(vec![0x30, 0x82, 0xff, 0xff, 0x01, 0x02]),
        CertificateDer::from(truncated),
        CertificateDer::from(Vec::new()),
    ];
    sent(
        rustls_client(ctx, "server", true, Some((bad, key))),
        "malformed DER (bad length, truncated, empty)",
    )
}

/// A rustls server on `stream` presenting `identity` to the piñata's client.
pub(super) fn rustls_server(
    stream: &mut TcpStream,
    identity: (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>),
) -> (Vec<u8>, String) {
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| e.to_string())
        .and_then(|b| {
            b.with_no_client_auth()
                .with_single_cert(identity.0, identity.1)
                .map_err(|e| e.to_string())
        });
    let config = match config {
        Ok(c) => c,
        Err(e) => return (Vec::new(), format!("server config: {e}")),
    };
    let mut conn = match rustls::ServerConnection::new(Arc::new(config)) {
        Ok(c) => c,
        Err(e) => return (Vec::new(), format!("server: {e}")),
    };
    let mut plaintext = Vec::new();
    let deadline = Instant::now() + REPLY_WAIT;
    let end = loop {
        if Instant::now() > deadline {
            break "still open".to_string();
        }
        match conn.complete_io(stream) {
            Ok((0, 0)) => break "closed".to_string(),
            Ok(_) => {
                let mut buf = [0u8; 4096];
                while let Ok(n) = conn.reader().read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    plaintext.extend_from_slice(&buf[..n]);
                }
            }
            Err(e) => break short_error(&e.to_string()),
        }
    };
    (plaintext, end)
}

pub(super) fn c_client_port_other_ca(ctx: &Ctx) -> Exchange {
    let mut stream = match connect_from(None, ctx.port("client"), Duration::from_secs(3)) {
        Ok(s) => s,
        Err(e) => {
            return Exchange {
                reply: format!("connect failed: {e}"),
                ..Default::default()
            };
        }
    };
    let identity = (
        ctx.pki.other.server.cert_chain.clone(),
        ctx.pki.other.server.key_der(),
    );
    let (plaintext, end) = rustls_server(&mut stream, identity);
    Exchange {
        sent: "as TLS server on 10002: another piñata's server cert".into(),
        reply: format!("{} B of plaintext; {end}", plaintext.len()),
        seen: plaintext,
        settle: Duration::ZERO,
        details: Vec::new(),
        problems: Vec::new(),
    }
}

/// Connect-back: listen on the caller's port with `identity`, trigger.
pub(super) fn connect_back_with(
    ctx: &Ctx,
    identity: (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>),
    what: &str,
) -> Exchange {
    let listener = match TcpListener::bind((callback_ip(), ctx.target.cb_port)) {
        Ok(l) => l,
        Err(e) => {
            return Exchange {
                reply: format!("cannot listen: {e}"),
                ..Default::default()
            };
        }
    };
    let _ = exchange_closed(ctx, "connect_back");
    let _ = listener.set_nonblocking(true);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut stream = loop {
        match listener.accept() {
            Ok((s, _)) => break s,
            Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                return Exchange {
                    sent: what.into(),
                    reply: format!("the piñata did not dial back: {e}"),
                    ..Default::default()
                };
            }
        }
    };
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(REPLY_WAIT));
    let (plaintext, end) = rustls_server(&mut stream, identity);
    Exchange {
        sent: what.into(),
        reply: format!("dialled back; {} B of plaintext; {end}", plaintext.len()),
        seen: plaintext,
        settle: Duration::from_millis(300),
        details: Vec::new(),
        problems: Vec::new(),
    }
}

/// Connects to `service`, sends nothing, closes.
pub(super) fn exchange_closed(ctx: &Ctx, service: &str) -> io::Result<()> {
    let stream = connect_from(None, ctx.port(service), Duration::from_secs(3))?;
    stream.shutdown(Shutdown::Both)
}

pub(super) fn c_connect_back_other_ca(ctx: &Ctx) -> Exchange {
    let identity = (
        ctx.pki.other.server.cert_chain.clone(),
        ctx.pki.other.server.key_der(),
    );
    connect_back_with(
        ctx,
        identity,
        "connect-back to a server with another piñata's cert",
    )
}
pub(super) fn c_connect_back_expired(ctx: &Ctx) -> Exchange {
    let identity = (
        ctx.pki.expired.server.cert_chain.clone(),
        ctx.pki.expired.server.key_der(),
    );
    connect_back_with(
        ctx,
        identity,
        "connect-back to a server with an expired cert",
    )
}
pub(super) fn c_connect_back_closed(ctx: &Ctx) -> Exchange {
    // Nothing listens on the caller's port.
    let r = exchange_closed(ctx, "connect_back");
    Exchange {
        sent: "connect-back, nothing listening on the caller's port".into(),
        reply: match r {
            Ok(()) => "accepted and closed".into(),
            Err(e) => format!("error: {e}"),
        },
        seen: Vec::new(),
        settle: Duration::from_secs(2),
        details: Vec::new(),
        problems: Vec::new(),
    }
}
pub(super) fn c_connect_back_silent(ctx: &Ctx) -> Exchange {
    // Accepts the dial, reads the hello, never answers; the piñata's
    // handshake deadline must end it while the page keeps answering.
    let listener = match TcpListener::bind((callback_ip(), ctx.target.cb_port)) {
        Ok(l) => l,
        Err(e) => {
            return Exchange {
                reply: format!("cannot listen: {e}"),
                ..Default::default()
            };
        }
    };
    let _ = exchange_closed(ctx, "connect_back");
    let _ = listener.set_nonblocking(true);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut stream = loop {
        match listener.accept() {
            Ok((s, _)) => break s,
            Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                return Exchange {
                    reply: format!("the piñata did not dial back: {e}"),
                    ..Default::default()
                };
            }
        }
    };
    let _ = stream.set_nonblocking(false);
    let started = Instant::now();
    let (bytes, end) = read_until_close(&mut stream, Duration::from_secs(15));
    Exchange {
        sent: "connect-back to a port that accepts and never answers".into(),
        reply: format!(
            "{} after {} s",
            describe(&bytes, &end),
            started.elapsed().as_secs()
        ),
        seen: bytes,
        settle: Duration::from_millis(300),
        details: Vec::new(),
        problems: Vec::new(),
    }
}
