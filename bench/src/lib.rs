//! Shared helpers of the bench binaries (`loadgen`, `refserver`): flag
//! parsing, PEM loading and the key-exchange groups. Both use rustls with
//! its aws-lc-rs provider.

use std::collections::HashMap;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::crypto::{CryptoProvider, SupportedKxGroup, aws_lc_rs};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// `--flag value` pairs and bare `--switch`es.
pub struct Flags(HashMap<String, Vec<String>>);

impl Flags {
    pub fn parse(switches: &[&str]) -> Result<Flags, String> {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let Some(name) = arg.strip_prefix("--") else {
                return Err(format!("unexpected argument `{arg}`"));
            };
            if switches.contains(&name) {
                map.entry(name.into()).or_default().push(String::new());
                continue;
            }
            let value = args
                .next()
                .ok_or_else(|| format!("--{name} needs a value"))?;
            map.entry(name.into()).or_default().push(value);
        }
        Ok(Flags(map))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.last()).map(String::as_str)
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    pub fn need(&self, name: &str) -> Result<&str, String> {
        self.get(name)
            .ok_or_else(|| format!("--{name} is required"))
    }

    pub fn num<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("--{name}: `{v}` is not a number")),
        }
    }
}

pub fn certs(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{path}: {e}"))
}

pub fn key(path: &str) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| format!("{path}: {e}"))
}

pub fn roots(path: &str) -> Result<Arc<RootCertStore>, String> {
    let mut roots = RootCertStore::empty();
    for cert in certs(path)? {
        roots
            .add(cert)
            .map_err(|e| format!("{path}: not a CA certificate: {e}"))?;
    }
    Ok(Arc::new(roots))
}

/// The protocol versions for `--tls 12|13` (both if absent).
pub fn versions(
    tls: Option<&str>,
) -> Result<&'static [&'static rustls::SupportedProtocolVersion], String> {
    static V12: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];
    static V13: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];
    static BOTH: &[&rustls::SupportedProtocolVersion] =
        &[&rustls::version::TLS13, &rustls::version::TLS12];
    match tls {
        None => Ok(BOTH),
        Some("12" | "1.2") => Ok(V12),
        Some("13" | "1.3") => Ok(V13),
        Some(other) => Err(format!("--tls: `{other}` is not 12 or 13")),
    }
}

/// The aws-lc-rs provider with the key-exchange groups `--groups` names
/// (comma-separated, in order of preference: `x25519mlkem768`, `x25519`,
/// `secp256r1`, `secp384r1`), or its defaults (X25519 first, the hybrid
/// last: this crate leaves out rustls's `prefer-post-quantum`) without it.
pub fn provider(groups: Option<&str>) -> Result<Arc<CryptoProvider>, String> {
    let mut provider = aws_lc_rs::default_provider();
    if let Some(groups) = groups {
        provider.kx_groups = groups
            .split(',')
            .map(|name| kx_group(name.trim()))
            .collect::<Result<_, _>>()?;
    }
    Ok(Arc::new(provider))
}

fn kx_group(name: &str) -> Result<&'static dyn SupportedKxGroup, String> {
    use aws_lc_rs::kx_group;
    Ok(match name.to_ascii_lowercase().as_str() {
        "x25519mlkem768" => kx_group::X25519MLKEM768,
        "x25519" => kx_group::X25519,
        "secp256r1" | "p256" => kx_group::SECP256R1,
        "secp384r1" | "p384" => kx_group::SECP384R1,
        _ => return Err(format!("--groups: unknown group `{name}`")),
    })
}

/// What a completed handshake agreed on, for the log: group, version and
/// whether a HelloRetryRequest was needed.
pub fn negotiated(conn: &rustls::CommonState) -> String {
    let group = conn
        .negotiated_key_exchange_group()
        .map(|g| format!("{:?}", g.name()))
        .unwrap_or_else(|| "none".into());
    let version = conn
        .protocol_version()
        .map(|v| format!("{v:?}"))
        .unwrap_or_else(|| "none".into());
    let retry = match conn.handshake_kind() {
        Some(rustls::HandshakeKind::FullWithHelloRetryRequest) => " hello_retry",
        _ => "",
    };
    format!("group={group} version={version}{retry}")
}
