//! The load generator of `cargo xtask bench`: full TLS handshakes against a
//! server on loopback, from `--concurrency` threads for `--seconds`, with
//! rustls + aws-lc-rs as the client (the fastest client at hand, so that the
//! server is what is measured). No session resumption: every connection is a
//! full handshake.
//!
//! ```text
//! loadgen --mode bounty|https|short --target ADDR [--target2 ADDR] --ca CA.pem
//!     [--cert CHAIN.pem --key KEY.pem] [--tls 12|13] [--server-name NAME]
//!     [--request TEXT] [--groups G1,G2…] [--concurrency N] [--seconds S] [--max N]
//! ```
//!
//! `\r\n` in `--request` is read as CR LF.
//!
//! ```text
//! ```
//!
//! - `bounty`: mutual TLS (`--cert`/`--key`), then read until the server
//!   closes; a success is a completed handshake followed by application data.
//! - `https`: no client certificate; writes `--request` (default `GET /`),
//!   reads the whole response; a success is a response starting `HTTP/1.1 200`.
//! - `short`: the short-circuit — connects to `--target` (a bounty server)
//!   and `--target2` (a bounty client role) and relays bytes both ways until
//!   both close; the servers' logs tell whether the secret crossed, so a
//!   "success" here is only a relay that ended in orderly closes.
//!
//! `--groups` sets the client's key-exchange groups in order of preference
//! (the first gets a key share; `x25519mlkem768` first also shares its
//! X25519 half), else aws-lc-rs's defaults, X25519 first.
//!
//! Prints `loadgen: completed N failed M seconds S rate R` (R = completed/S),
//! for each outcome of the `bounty` and `https` modes a line
//! `loadgen: negotiated group=G version=V [hello_retry] count N`, and, for
//! failures, the first error.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use std::collections::BTreeMap;

use pinata_bench::{Flags, certs, key, negotiated, provider, roots, versions};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Bounty,
    Https,
    Short,
}

struct Job {
    mode: Mode,
    target: String,
    target2: Option<String>,
    config: Option<Arc<ClientConfig>>,
    name: ServerName<'static>,
    /// Written after the handshake (`https` always; `bounty` if given, for
    /// servers that answer only a request, like `openssl s_server -www`).
    request: Option<Vec<u8>>,
    /// Completed handshakes by what they agreed on.
    negotiated: Mutex<BTreeMap<String, u64>>,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("loadgen: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let flags = Flags::parse(&[])?;
    let mode = match flags.need("mode")? {
        "bounty" => Mode::Bounty,
        "https" => Mode::Https,
        "short" => Mode::Short,
        other => return Err(format!("--mode: `{other}` is not bounty, https or short")),
    };
    let config = if mode == Mode::Short {
        None
    } else {
        let builder = ClientConfig::builder_with_provider(provider(flags.get("groups"))?)
            .with_protocol_versions(versions(flags.get("tls"))?)
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots(flags.need("ca")?)?);
        let mut config = match mode {
            Mode::Bounty => builder
                .with_client_auth_cert(certs(flags.need("cert")?)?, key(flags.need("key")?)?)
                .map_err(|e| e.to_string())?,
            _ => builder.with_no_client_auth(),
        };
        // Full handshakes only.
        config.resumption = rustls::client::Resumption::disabled();
        Some(Arc::new(config))
    };
    let default_name = if mode == Mode::Https {
        "localhost"
    } else {
        "bounty.pinata"
    };
    let name = ServerName::try_from(flags.get("server-name").unwrap_or(default_name).to_string())
        .map_err(|e| e.to_string())?;
    let job = Arc::new(Job {
        mode,
        target: flags.need("target")?.to_string(),
        target2: flags.get("target2").map(str::to_string),
        config,
        name,
        request: match (flags.get("request"), mode) {
            (Some(r), _) => Some(r.replace("\\r\\n", "\r\n").into_bytes()),
            (None, Mode::Https) => Some(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec()),
            (None, _) => None,
        },
        negotiated: Mutex::new(BTreeMap::new()),
    });
    if mode == Mode::Short && job.target2.is_none() {
        return Err("--mode short needs --target2".into());
    }
    let concurrency: usize = flags.num("concurrency", 4)?;
    let seconds: f64 = flags.num("seconds", 5.0)?;
    let max: u64 = flags.num("max", u64::MAX)?;
    let completed = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let threads: Vec<_> = (0..concurrency)
        .map(|_| {
            let (job, completed, failed, first_error) = (
                job.clone(),
                completed.clone(),
                failed.clone(),
                first_error.clone(),
            );
            std::thread::spawn(move || {
                while Instant::now() < deadline
                    && completed.load(Ordering::Relaxed) + failed.load(Ordering::Relaxed) < max
                {
                    let result = once(&job);
                    // Only work finished within the window counts.
                    if Instant::now() > deadline {
                        break;
                    }
                    match result {
                        Ok(()) => completed.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            first_error.lock().unwrap().get_or_insert(e);
                            failed.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    let elapsed = started.elapsed().as_secs_f64().min(seconds.max(0.001));
    let elapsed = if max != u64::MAX {
        started.elapsed().as_secs_f64()
    } else {
        elapsed
    };
    let done = completed.load(Ordering::Relaxed);
    println!(
        "loadgen: completed {done} failed {} seconds {elapsed:.3} rate {:.2}",
        failed.load(Ordering::Relaxed),
        done as f64 / elapsed
    );
    for (what, count) in job.negotiated.lock().unwrap().iter() {
        println!("loadgen: negotiated {what} count {count}");
    }
    if let Some(e) = first_error.lock().unwrap().take() {
        println!("loadgen: first error: {e}");
    }
    Ok(())
}

fn connect(addr: &str) -> Result<TcpStream, String> {
    let tcp = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    tcp.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    Ok(tcp)
}

fn once(job: &Job) -> Result<(), String> {
    match job.mode {
        Mode::Short => relay(&job.target, job.target2.as_deref().unwrap_or_default()),
        Mode::Bounty | Mode::Https => {
            let config = job.config.clone().ok_or("no client config")?;
            let mut tcp = connect(&job.target)?;
            let mut conn =
                ClientConnection::new(config, job.name.clone()).map_err(|e| e.to_string())?;
            let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
            if let Some(request) = &job.request {
                tls.write_all(request).map_err(|e| e.to_string())?;
            }
            let mut received = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                match tls.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => received.extend_from_slice(&buf[..n]),
                    // A server that closes without close_notify after its
                    // data (HTTP/1.1 servers may) still delivered it.
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                    Err(e) => return Err(e.to_string()),
                }
            }
            let _ = tcp.shutdown(Shutdown::Both);
            if !conn.is_handshaking() {
                *job.negotiated
                    .lock()
                    .unwrap()
                    .entry(negotiated(&conn))
                    .or_default() += 1;
            }
            match job.mode {
                Mode::Https
                    if !received.starts_with(b"HTTP/1.1 200")
                        && !received.starts_with(b"HTTP/1.0 200") =>
                {
                    Err(format!(
                        "no 200 response: {:?}",
                        String::from_utf8_lossy(&received[..received.len().min(40)])
                    ))
                }
                _ if received.is_empty() => Err("handshake done but no data".into()),
                _ => Ok(()),
            }
        }
    }
}

/// Relays between two connections until both directions are closed.
fn relay(a: &str, b: &str) -> Result<(), String> {
    let first = connect(a)?;
    let second = connect(b)?;
    let pump = |mut from: TcpStream, mut to: TcpStream| {
        std::thread::spawn(move || {
            let mut buf = [0u8; 16384];
            let mut total = 0u64;
            loop {
                match from.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        total += n as u64;
                        if to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                }
            }
            let _ = to.shutdown(Shutdown::Write);
            total
        })
    };
    let there = pump(
        first.try_clone().map_err(|e| e.to_string())?,
        second.try_clone().map_err(|e| e.to_string())?,
    );
    let back = pump(second, first);
    let (x, y) = (there.join().unwrap_or(0), back.join().unwrap_or(0));
    if x > 0 && y > 0 {
        Ok(())
    } else {
        Err(format!("relay carried {x} / {y} bytes"))
    }
}
