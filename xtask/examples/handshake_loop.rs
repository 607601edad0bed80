//! Handshakes per CPU-second in memory, through the piñata's crypto provider
//! and the certificates its boot-time PKI issues: the speed guard for build
//! profile changes (per-crate opt-levels, features), without sockets, so a
//! loaded machine changes the figures less than `cargo xtask bench` does.
//!
//! ```sh
//! cargo run --release -p xtask --example handshake_loop -- [--seconds S] [--rounds R] [--only TEXT]
//! ```
//!
//! Built with `--release`, the workspace's `[profile.release]` (and its
//! per-package opt-levels) applies to the provider as it does to the image.
//! For the image's soft back ends on the host, add the bare-metal target's
//! `--cfg` flags (`.cargo/config.toml`) to `RUSTFLAGS` and use another
//! `CARGO_TARGET_DIR`.
//!
//! Both ends run the piñata's provider on this thread, so one handshake costs
//! the client's and the server's crypto; the figure is for comparing builds,
//! not for comparing with other TLS stacks (that is `cargo xtask bench`).

use std::sync::Arc;
use std::time::Duration;

use pinata::pki::{self, KeyType, PkiOptions};
use pinata::provider;
use pinata::random::OS_RANDOM;
use rustls::client::Resumption;
use rustls::pki_types::{ServerName, UnixTime};
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};

/// One kind of handshake: a server and a client configuration that trust
/// each other, and the name the client asks for.
struct Case {
    name: String,
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
    server_name: ServerName<'static>,
}

fn main() {
    let mut seconds = 1.0;
    let mut rounds = 5;
    let mut only = String::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_default();
        match arg.as_str() {
            "--seconds" => seconds = value().parse().expect("--seconds: a number"),
            "--rounds" => rounds = value().parse().expect("--rounds: a number"),
            "--only" => only = value(),
            _ => {
                eprintln!("usage: handshake_loop [--seconds S] [--rounds R] [--only TEXT]");
                std::process::exit(2);
            }
        }
    }
    let cases: Vec<Case> = [bounty(KeyType::EcdsaP256), bounty(KeyType::Ed25519), page()]
        .into_iter()
        .filter(|case| case.name.contains(&only))
        .collect();
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    // The cases take turns, so drift on the machine hits them alike.
    for _ in 0..rounds.max(1) {
        for (case, rates) in cases.iter().zip(&mut rates) {
            rates.push(measure(case, Duration::from_secs_f64(seconds)));
        }
    }
    for (case, mut rates) in cases.iter().zip(rates) {
        rates.sort_by(f64::total_cmp);
        println!(
            "{:<32} median {:>8.1} handshakes per CPU-second (min {:.1}, max {:.1}, {} rounds)",
            case.name,
            rates[rates.len() / 2],
            rates[0],
            rates[rates.len() - 1],
            rates.len()
        );
    }
}

fn issue(key_type: KeyType) -> pki::Pki {
    let mut options = PkiOptions::new(UnixTime::now());
    options.bounty_key_type = key_type;
    pki::bootstrap(&OS_RANDOM, &options).expect("PKI")
}

/// The bounty server (port 10000) and a client with the bounty client
/// identity: mutual TLS 1.3 under the one CA.
fn bounty(key_type: KeyType) -> Case {
    let pki = issue(key_type);
    let provider = Arc::new(provider::provider(&OS_RANDOM));
    let mut roots = RootCertStore::empty();
    roots.add(pki.ca_cert.clone()).expect("CA");
    let roots = Arc::new(roots);
    let verifier = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
        .build()
        .expect("client verifier");
    let server = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_client_cert_verifier(verifier)
        .with_single_cert(pki.server.cert_chain.clone(), pki.server.key_der())
        .expect("server identity");
    let client = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_root_certificates(roots)
        .with_client_auth_cert(pki.client.cert_chain.clone(), pki.client.key_der())
        .expect("client identity");
    Case {
        name: format!("bounty mTLS 1.3, {key_type}"),
        server: fresh_server(server),
        client: fresh_client(client),
        server_name: ServerName::try_from(pki::BOUNTY_SERVER_NAME).expect("name"),
    }
}

/// The HTTPS page: TLS 1.3, the web certificate (P-256), no client
/// certificate.
fn page() -> Case {
    let pki = issue(KeyType::EcdsaP256);
    let provider = Arc::new(provider::provider(&OS_RANDOM));
    let mut roots = RootCertStore::empty();
    roots.add(pki.ca_cert.clone()).expect("CA");
    let server = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_no_client_auth()
        .with_single_cert(pki.web.cert_chain.clone(), pki.web.key_der())
        .expect("web identity");
    let client = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Case {
        name: "HTTPS page, TLS 1.3, P-256".into(),
        server: fresh_server(server),
        client: fresh_client(client),
        server_name: ServerName::try_from("localhost").expect("name"),
    }
}

/// As the piñata's servers are: no resumption state, no tickets.
fn fresh_server(mut config: ServerConfig) -> Arc<ServerConfig> {
    config.session_storage = Arc::new(NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Arc::new(config)
}

/// Every handshake a full one.
fn fresh_client(mut config: ClientConfig) -> Arc<ClientConfig> {
    config.resumption = Resumption::disabled();
    Arc::new(config)
}

/// Handshakes per CPU-second of this thread over one window of `window`.
fn measure(case: &Case, window: Duration) -> f64 {
    let start = thread_cpu_time();
    let mut count = 0u64;
    loop {
        handshake(case);
        count += 1;
        let spent = thread_cpu_time() - start;
        if spent >= window {
            return count as f64 / spent.as_secs_f64();
        }
    }
}

/// One full handshake, records moved in memory until both sides are done.
fn handshake(case: &Case) {
    let mut client =
        ClientConnection::new(case.client.clone(), case.server_name.clone()).expect("client");
    let mut server = ServerConnection::new(case.server.clone()).expect("server");
    let mut buffer = Vec::with_capacity(16 * 1024);
    while client.is_handshaking() || server.is_handshaking() {
        buffer.clear();
        while client.wants_write() {
            client.write_tls(&mut buffer).expect("client write");
        }
        let mut input = &buffer[..];
        while !input.is_empty() {
            server.read_tls(&mut input).expect("server read");
            server.process_new_packets().expect("server handshake");
        }
        buffer.clear();
        while server.wants_write() {
            server.write_tls(&mut buffer).expect("server write");
        }
        let mut input = &buffer[..];
        while !input.is_empty() {
            client.read_tls(&mut input).expect("client read");
            client.process_new_packets().expect("client handshake");
        }
    }
}

/// CPU time this thread has used (`CLOCK_THREAD_CPUTIME_ID`).
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant
    // Linux supports.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
