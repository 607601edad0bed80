//! The reference server for `cargo xtask bench`: what a user would run
//! instead of the piñata — plain rustls with its default aws-lc-rs provider,
//! a thread per connection (like the hosted piñata), the same certificates.
//!
//! ```text
//! refserver --mode server|https|client --listen 127.0.0.1:0 \
//!     --cert CHAIN.pem --key KEY.pem --ca CA.pem [--page FILE] [--secret TEXT]
//!     [--groups G1,G2…]
//! ```
//!
//! - `server`: the bounty server's job (port 10000): requires a client
//!   certificate chaining to `--ca`, writes the secret, close_notify, close.
//! - `https`: the page (port 443): no client authentication, reads one
//!   request, writes `--page` (a whole HTTP response), closes.
//! - `client`: the port-10002 job: on an accepted TCP connection, acts as the
//!   TLS client (server name `bounty.pinata`, server certificate must chain
//!   to `--ca`, presents `--cert`), writes the secret, closes.
//!
//! `--groups` sets the key-exchange groups (see `loadgen`): as a server,
//! rustls takes the client's first group it also has; as a client, the
//! first gets the key share.
//!
//! Prints `refserver: listening ADDR`, then `refserver: outcome=secret_sent
//! group=G version=V [hello_retry]` (or `outcome=failed …`) per connection.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use pinata_bench::{Flags, certs, key, negotiated, provider, roots};
use rustls::pki_types::ServerName;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, ClientConnection, ServerConfig, ServerConnection};

enum Mode {
    Server(Arc<ServerConfig>),
    Https(Arc<ServerConfig>, Arc<Vec<u8>>),
    Client(Arc<ClientConfig>),
}

fn main() {
    if let Err(e) = run() {
        eprintln!("refserver: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let flags = Flags::parse(&[])?;
    let chain = certs(flags.need("cert")?)?;
    let key = key(flags.need("key")?)?;
    let roots = roots(flags.need("ca")?)?;
    let secret: Arc<Vec<u8>> = Arc::new(
        format!(
            "{}\n",
            flags.get("secret").unwrap_or("reference-secret-not-a-wif")
        )
        .into_bytes(),
    );
    let provider = provider(flags.get("groups"))?;
    let mode = match flags.need("mode")? {
        "server" => {
            let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| e.to_string())?;
            let config = ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_client_cert_verifier(verifier)
                .with_single_cert(chain, key)
                .map_err(|e| e.to_string())?;
            Mode::Server(Arc::new(config))
        }
        "https" => {
            let page = std::fs::read(flags.need("page")?).map_err(|e| e.to_string())?;
            let config = ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .map_err(|e| e.to_string())?;
            Mode::Https(Arc::new(config), Arc::new(page))
        }
        "client" => {
            let config = ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots)
                .with_client_auth_cert(chain, key)
                .map_err(|e| e.to_string())?;
            Mode::Client(Arc::new(config))
        }
        other => return Err(format!("--mode: `{other}` is not server, https or client")),
    };
    let mode = Arc::new(mode);
    let listener = TcpListener::bind(flags.get("listen").unwrap_or("127.0.0.1:0"))
        .map_err(|e| e.to_string())?;
    println!(
        "refserver: listening {}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let mode = mode.clone();
        let secret = secret.clone();
        std::thread::spawn(move || match serve(&mode, stream, &secret) {
            Ok(agreed) => println!("refserver: outcome=secret_sent {agreed}"),
            Err(e) => println!("refserver: outcome=failed reason={e:?}"),
        });
    }
    Ok(())
}

/// Serves one connection; what the handshake agreed on, if it completed.
fn serve(mode: &Mode, mut tcp: TcpStream, secret: &[u8]) -> Result<String, String> {
    let _ = tcp.set_nodelay(true);
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
    let result = match mode {
        Mode::Server(config) => {
            let mut conn = ServerConnection::new(config.clone()).map_err(|e| e.to_string())?;
            let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
            tls.write_all(secret).map_err(|e| e.to_string())?;
            tls.conn.send_close_notify();
            tls.flush().map_err(|e| e.to_string())?;
            Ok(negotiated(tls.conn))
        }
        Mode::Https(config, page) => {
            let mut conn = ServerConnection::new(config.clone()).map_err(|e| e.to_string())?;
            let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
            let mut request = Vec::new();
            let mut buf = [0u8; 2048];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = tls.read(&mut buf).map_err(|e| e.to_string())?;
                if n == 0 || request.len() > 8192 {
                    return Err("no complete request".into());
                }
                request.extend_from_slice(&buf[..n]);
            }
            tls.write_all(page).map_err(|e| e.to_string())?;
            tls.conn.send_close_notify();
            tls.flush().map_err(|e| e.to_string())?;
            Ok(negotiated(tls.conn))
        }
        Mode::Client(config) => {
            let name = ServerName::try_from("bounty.pinata").expect("a DNS name");
            let mut conn =
                ClientConnection::new(config.clone(), name).map_err(|e| e.to_string())?;
            let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
            tls.write_all(secret).map_err(|e| e.to_string())?;
            tls.conn.send_close_notify();
            tls.flush().map_err(|e| e.to_string())?;
            // Wait for the server's side of the close before dropping.
            let mut sink = [0u8; 1024];
            while matches!(tls.read(&mut sink), Ok(n) if n > 0) {}
            Ok(negotiated(tls.conn))
        }
    };
    let _ = tcp.shutdown(Shutdown::Write);
    // Drain until the peer closes, so the close is orderly.
    let mut sink = [0u8; 1024];
    while matches!(tcp.read(&mut sink), Ok(n) if n > 0) {}
    result
}
