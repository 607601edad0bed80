//! The piñata itself: configuration, TLS contexts, the prize, the counters,
//! and the routing of new connections to their [`Session`]s.
//!
//! Built once at start from the boot-time [`Pki`] and the loaded prize, then
//! shared (`Arc<Pinata>`) by every session. Building it consumes the `Pki`:
//! the private keys move into rustls's signing keys and nothing else keeps a
//! copy (the CA key was already zeroized inside [`crate::pki::bootstrap`]).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::{self, Write as _};
use core::net::{IpAddr, SocketAddr};

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::{ClientConfig, ServerConfig};
use wallet::PrizeKey;
use zeroize::Zeroizing;

use crate::http::{Request, Response, Status as HttpStatus};
pub use crate::limits::Limits;
use crate::memory::{self, ConnectionMemory, MemoryGauge, MemoryUsage};
use crate::metrics;
use crate::page;
use crate::pki::{self, Pki};
use crate::session::{Outcome, OutcomeKind, Session};
use crate::stats::{FailureReason, Service, Stats};
use crate::time::{Instant, TimeProvider};
use crate::tls::TlsStream;

/// What the operator chooses at start.
pub struct Config {
    /// The prize; `None` runs the appliance without one (the page says so).
    pub prize: Option<PrizeKey>,
    /// Limits for every service.
    pub limits: Limits,
    /// An operator-supplied certificate chain and key for the HTTPS page;
    /// otherwise the boot-time web certificate is used.
    pub web_identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
}

/// Why the piñata could not be set up.
#[derive(Debug)]
pub struct SetupError(String);

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::error::Error for SetupError {}

impl SetupError {
    /// An error saying `what`.
    pub fn new(what: impl Into<String>) -> SetupError {
        SetupError(what.into())
    }
}

fn setup_error(what: &str, error: impl fmt::Display) -> SetupError {
    SetupError(alloc::format!("{what}: {error}"))
}

/// The port connect-back dials on the caller unless the operator says
/// otherwise (the original piñata's).
pub const DEFAULT_CONNECT_BACK_PORT: u16 = 40001;

/// What to do with a connection just accepted on a service's port.
pub enum Accepted {
    /// Run this session over the connection.
    Session(Box<Session>),
    /// Close the connection, then dial `target` and run
    /// [`Pinata::connect_back_session`] over the new connection.
    ConnectBack {
        /// The caller's address, port replaced by the connect-back port.
        target: SocketAddr,
    },
    /// Close the connection; nothing runs. The outcome is counted already:
    /// log it.
    Closed(Outcome),
}

/// The application state shared by all sessions.
pub struct Pinata {
    prize: Option<PrizeKey>,
    wire_secret: Option<Zeroizing<Vec<u8>>>,
    address: Option<String>,
    ca_pem: String,
    limits: Limits,
    stats: Stats,
    started: Instant,
    connect_back_port: u16,
    https: Arc<ServerConfig>,
    bounty_server: Arc<ServerConfig>,
    bounty_client: Arc<ClientConfig>,
    memory_gauge: Option<MemoryGauge>,
    page_frame: page::Frame,
    connection_memory: ConnectionMemory,
}

impl fmt::Debug for Pinata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secret.
        f.debug_struct("Pinata")
            .field("address", &self.address)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Pinata {
    /// Builds the TLS contexts from the boot-time PKI and takes the prize.
    pub fn new(
        pki: Pki,
        config: Config,
        provider: Arc<CryptoProvider>,
        time: Arc<dyn TimeProvider>,
        now: Instant,
    ) -> Result<Pinata, SetupError> {
        let versions = [&rustls::version::TLS13, &rustls::version::TLS12];
        let mut roots = RootCertStore::empty();
        roots
            .add(pki.ca_cert.clone())
            .map_err(|e| setup_error("CA certificate rejected", e))?;
        let roots = Arc::new(roots);

        let (web_chain, web_key) = match config.web_identity {
            Some(identity) => identity,
            None => (pki.web.cert_chain.clone(), pki.web.key_der()),
        };
        let mut https = ServerConfig::builder_with_details(provider.clone(), time.clone())
            .with_protocol_versions(&versions)
            .map_err(|e| setup_error("HTTPS TLS versions", e))?
            .with_no_client_auth()
            .with_single_cert(web_chain, web_key)
            .map_err(|e| setup_error("web certificate and key", e))?;
        https.alpn_protocols = alloc::vec![b"http/1.1".to_vec()];
        harden_server(&mut https);

        let client_verifier =
            WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
                .build()
                .map_err(|e| setup_error("client certificate verifier", e))?;
        let mut bounty_server = ServerConfig::builder_with_details(provider.clone(), time.clone())
            .with_protocol_versions(&versions)
            .map_err(|e| setup_error("bounty server TLS versions", e))?
            .with_client_cert_verifier(client_verifier)
            .with_single_cert(pki.server.cert_chain.clone(), pki.server.key_der())
            .map_err(|e| setup_error("bounty server certificate", e))?;
        harden_server(&mut bounty_server);

        let mut bounty_client = ClientConfig::builder_with_details(provider, time)
            .with_protocol_versions(&versions)
            .map_err(|e| setup_error("bounty client TLS versions", e))?
            .with_root_certificates(roots)
            .with_client_auth_cert(pki.client.cert_chain.clone(), pki.client.key_der())
            .map_err(|e| setup_error("bounty client certificate", e))?;
        // Every connection is a full handshake: nothing carries over.
        bounty_client.resumption = rustls::client::Resumption::disabled();
        bounty_client.enable_early_data = false;

        let (wire_secret, address) = match &config.prize {
            Some(prize) => (Some(prize.wire_secret()), Some(prize.p2wpkh_address())),
            None => (None, None),
        };
        let ca_pem = pki.ca_pem();
        drop(pki);
        let page_frame = page::Frame::new(config.prize.as_ref(), &ca_pem);
        Ok(Pinata {
            prize: config.prize,
            wire_secret,
            address,
            ca_pem,
            limits: config.limits,
            stats: Stats::new(),
            started: now,
            connect_back_port: DEFAULT_CONNECT_BACK_PORT,
            https: Arc::new(https),
            bounty_server: Arc::new(bounty_server),
            bounty_client: Arc::new(bounty_client),
            memory_gauge: None,
            page_frame,
            connection_memory: ConnectionMemory::default(),
        })
    }

    /// Sets the port that connect-back dials on the caller (default
    /// [`DEFAULT_CONNECT_BACK_PORT`]).
    pub fn with_connect_back_port(mut self, port: u16) -> Pinata {
        self.connect_back_port = port;
        self
    }

    /// Sets the platform's memory gauge, read for `/stats.json` and the page.
    pub fn with_memory_gauge(mut self, gauge: MemoryGauge) -> Pinata {
        self.memory_gauge = Some(gauge);
        self
    }

    /// The parts of the page that never change (see [`page::Frame`]).
    pub(crate) fn page_frame(&self) -> &page::Frame {
        &self.page_frame
    }

    /// The platform's memory figures, if it has a gauge.
    pub fn memory(&self) -> Option<MemoryUsage> {
        self.memory_gauge.and_then(|gauge| gauge())
    }

    /// What the event loop's connections hold and their budget (the loop
    /// sets it; `/stats.json` shows it).
    pub fn connection_memory(&self) -> &ConnectionMemory {
        &self.connection_memory
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The prize, if one is loaded.
    pub fn prize(&self) -> Option<&PrizeKey> {
        self.prize.as_ref()
    }

    /// The prize's P2WPKH address, if one is loaded.
    pub fn address(&self) -> Option<&str> {
        self.address.as_deref()
    }

    /// The CA certificate in PEM, as published on the page.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Seconds since start.
    pub fn uptime_secs(&self, now: Instant) -> u64 {
        now.saturating_since(self.started).as_secs()
    }

    pub(crate) fn wire_secret(&self) -> Option<&[u8]> {
        self.wire_secret.as_deref().map(|v| v.as_slice())
    }

    /// A connection was accepted on `service`'s port from `peer` (and
    /// admitted under the limits): what to run over it. Connect-back is
    /// only a request to dial the caller, and only a caller whose address
    /// may be dialled ([`Accepted::Closed`] otherwise).
    pub fn accept(self: &Arc<Self>, service: Service, peer: SocketAddr, now: Instant) -> Accepted {
        let session = match service {
            Service::Http => Session::http(self.clone(), service, peer, now),
            Service::Https => Session::tls(
                self.clone(),
                service,
                peer,
                now,
                TlsStream::server(self.https.clone()),
            ),
            Service::Server => Session::tls(
                self.clone(),
                service,
                peer,
                now,
                TlsStream::server(self.bounty_server.clone()),
            ),
            Service::Client => self.client_session(service, peer, now),
            Service::ConnectBack => {
                let target = SocketAddr::new(peer.ip(), self.connect_back_port);
                if !connect_back_allowed(target.ip()) {
                    return Accepted::Closed(self.dial_failed(
                        target,
                        Some("address not allowed"),
                        0,
                    ));
                }
                return Accepted::ConnectBack { target };
            }
        };
        Accepted::Session(Box::new(session))
    }

    /// The TLS client session run over a connect-back connection that the
    /// glue dialled to `target`.
    pub fn connect_back_session(self: &Arc<Self>, target: SocketAddr, now: Instant) -> Session {
        self.client_session(Service::ConnectBack, target, now)
    }

    fn client_session(
        self: &Arc<Self>,
        service: Service,
        peer: SocketAddr,
        now: Instant,
    ) -> Session {
        let name = ServerName::try_from(pki::BOUNTY_SERVER_NAME)
            .map(|n| n.to_owned())
            .map_err(|_| rustls::Error::General("bad bounty server name".into()));
        let tls = name.and_then(|name| TlsStream::client(self.bounty_client.clone(), name));
        Session::tls(self.clone(), service, peer, now, tls)
    }

    /// A connection refused before a session existed (the limits): counted
    /// under `reason`; the outcome is the line to log.
    pub fn refuse(&self, service: Service, peer: SocketAddr, reason: FailureReason) -> Outcome {
        self.stats.connection(service);
        self.stats.failure(service, reason);
        Outcome {
            service,
            peer,
            result: OutcomeKind::Failed(reason, None),
            tls_version: None,
            duration_ms: 0,
        }
    }

    /// A connect-back dial to `target` that failed (refused, unanswered,
    /// not allowed) after `duration_ms`: counted as the service's
    /// connection and a `connect_failed`; the outcome is the line to log.
    pub fn dial_failed(
        &self,
        target: SocketAddr,
        detail: Option<&str>,
        duration_ms: u64,
    ) -> Outcome {
        let reason = FailureReason::ConnectFailed;
        self.stats.connection(Service::ConnectBack);
        self.stats.failure(Service::ConnectBack, reason);
        Outcome {
            service: Service::ConnectBack,
            peer: target,
            result: OutcomeKind::Failed(reason, detail.map(String::from)),
            tls_version: None,
            duration_ms,
        }
    }

    /// Answers an HTTP request.
    pub(crate) fn respond(&self, request: &Request, now: Instant) -> Response {
        match request.path.as_str() {
            "/" | "/index.html" => Response {
                status: HttpStatus::Ok,
                content_type: "text/html; charset=utf-8",
                cacheable: false,
                body: page::render(self, now).into_bytes(),
            },
            "/ca.pem" => Response {
                status: HttpStatus::Ok,
                content_type: "application/x-pem-file",
                cacheable: true,
                body: self.ca_pem.clone().into_bytes(),
            },
            "/stats.json" => Response {
                status: HttpStatus::Ok,
                content_type: "application/json",
                cacheable: false,
                body: self.stats_json(now).into_bytes(),
            },
            "/metrics" => Response {
                status: HttpStatus::Ok,
                content_type: metrics::CONTENT_TYPE,
                cacheable: false,
                body: metrics::render(self, now).into_bytes(),
            },
            _ => Response::error(HttpStatus::NotFound),
        }
    }

    /// The `/stats.json` document.
    pub fn stats_json(&self, now: Instant) -> String {
        let mut out = String::new();
        out.push_str("{\"address\":");
        match &self.address {
            Some(address) => {
                let _ = write!(out, "\"{address}\"");
            }
            None => out.push_str("null"),
        }
        out.push_str(",\"network\":");
        match &self.prize {
            Some(prize) => {
                let _ = write!(out, "\"{}\"", prize.network());
            }
            None => out.push_str("null"),
        }
        let _ = write!(
            out,
            ",\"uptime_s\":{},\"open_connections\":{},",
            self.uptime_secs(now),
            self.stats.open_connections()
        );
        memory::write_json(self.memory(), &mut out);
        out.push(',');
        memory::write_connections_json(&self.connection_memory, &mut out);
        out.push_str(",\"limits\":");
        self.limits.write_json(&mut out);
        out.push_str(",\"failures\":");
        self.stats.write_failure_totals_json(&mut out);
        out.push_str(",\"services\":");
        self.stats.write_services_json(&mut out);
        out.push('}');
        out
    }
}

/// Whether `ip` is an address connect-back may dial: never the unspecified
/// or a multicast/broadcast address.
fn connect_back_allowed(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !(v4.is_unspecified() || v4.is_multicast() || v4.is_broadcast()),
        IpAddr::V6(v6) => !(v6.is_unspecified() || v6.is_multicast()),
    }
}

/// Settings shared by every server config: no resumption state kept, no
/// tickets, no early data — each connection is a full, fresh handshake —
/// and the server's cipher suite order.
fn harden_server(config: &mut ServerConfig) {
    config.session_storage = Arc::new(NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    config.max_early_data_size = 0;
    config.send_half_rtt_data = false;
    // The provider's order picks the suite (AES-128-GCM-SHA256 first), not
    // the client's: OpenSSL and rustls + aws-lc-rs clients list
    // AES-256-GCM-SHA384 first, and SHA-384's key schedule and transcript
    // cost about a tenth of a handshake here (DECISIONS.md).
    config.ignore_client_order = true;
}
