//! One connection of one service, as a sans-IO state machine.
//!
//! The platform glue (hosted threads, or the unikernel's event loop) owns the
//! socket and does four things with a [`Session`]: hands it received bytes
//! ([`Session::receive`]) or end-of-stream ([`Session::peer_closed`]),
//! transmits what [`Session::outgoing`] holds, asks [`Session::status`] whether
//! to keep the connection open and until when, and at the end logs
//! [`Session::outcome`]. Every rule of the bounty lives here and in
//! [`crate::app`]; the glue decides nothing.
//!
//! The rule that matters: the secret is queued only after rustls reports the
//! handshake complete, which for the bounty server means a client certificate
//! verified against the piñata CA, and for the bounty clients a server
//! certificate verified against it. There is no other path to
//! `Session::send_secret` (private).

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::net::SocketAddr;

use crate::app::Pinata;
use crate::http::{self, Parsed, Response, Status as HttpStatus};
use crate::stats::{FailureReason, Service};
use crate::time::Instant;
use crate::tls::{StreamError, TlsStream};

/// What the glue should do with the connection next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Keep it open; call [`Session::timeout`] if nothing happens by `deadline`.
    Open {
        /// When the session gives up waiting for the peer.
        deadline: Instant,
    },
    /// Transmit what [`Session::outgoing`] still holds, then close.
    Close,
}

/// How a session ended, for the log line.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Which service.
    pub service: Service,
    /// The remote end.
    pub peer: SocketAddr,
    /// What happened.
    pub result: OutcomeKind,
    /// Negotiated TLS version, if the handshake got that far.
    pub tls_version: Option<&'static str>,
    /// How long the connection lasted, in milliseconds.
    pub duration_ms: u64,
}

/// The kinds of outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum OutcomeKind {
    /// HTTP(S): a response with this status was sent.
    Served(u16),
    /// Bounty: the peer authenticated and the secret was sent.
    SecretSent,
    /// Bounty: the peer authenticated but no prize is loaded.
    NoPrize,
    /// The peer went away without sending anything.
    Idle,
    /// Refused or failed, with the reason and rustls's description.
    Failed(FailureReason, Option<String>),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "service={} peer={} ", self.service, self.peer)?;
        match &self.result {
            OutcomeKind::Served(code) => write!(f, "outcome=served status={code}")?,
            OutcomeKind::SecretSent => f.write_str("outcome=secret_sent")?,
            OutcomeKind::NoPrize => f.write_str("outcome=authenticated_no_prize")?,
            OutcomeKind::Idle => f.write_str("outcome=idle")?,
            OutcomeKind::Failed(reason, detail) => {
                write!(f, "outcome=failed reason={reason}")?;
                if let Some(detail) = detail {
                    // Debug quoting keeps a peer-influenced string on one line.
                    write!(f, " detail={detail:?}")?;
                }
            }
        }
        if let Some(version) = self.tls_version {
            write!(f, " tls={version}")?;
        }
        write!(f, " duration_ms={}", self.duration_ms)
    }
}

enum Kind {
    Http {
        request: Vec<u8>,
        outgoing: Vec<u8>,
    },
    Https {
        tls: TlsStream,
        request: Vec<u8>,
    },
    /// The bounty roles: server (10000), client (10002), connect-back (10001).
    Bounty {
        tls: TlsStream,
    },
}

/// One connection's state machine. See the module docs.
pub struct Session {
    app: Arc<Pinata>,
    service: Service,
    peer: SocketAddr,
    started: Instant,
    deadline: Instant,
    kind: Kind,
    handshake_recorded: bool,
    received_any: bool,
    /// When the peer last sent a byte (or the session started): the idle
    /// timeout counts from here.
    last_received: Instant,
    outcome: Option<OutcomeKind>,
}

impl Session {
    pub(crate) fn http(
        app: Arc<Pinata>,
        service: Service,
        peer: SocketAddr,
        now: Instant,
    ) -> Session {
        let deadline = now + app.limits().request_timeout;
        Self::new(
            app,
            service,
            peer,
            now,
            deadline,
            Kind::Http {
                request: Vec::new(),
                outgoing: Vec::new(),
            },
        )
    }

    pub(crate) fn tls(
        app: Arc<Pinata>,
        service: Service,
        peer: SocketAddr,
        now: Instant,
        tls: Result<TlsStream, rustls::Error>,
    ) -> Session {
        let deadline = now + app.limits().handshake_timeout;
        let kind = |tls| match service {
            Service::Https => Kind::Https {
                tls,
                request: Vec::new(),
            },
            _ => Kind::Bounty { tls },
        };
        match tls {
            Ok(tls) => {
                let mut session = Self::new(app, service, peer, now, deadline, kind(tls));
                // A client speaks first: produce the ClientHello now.
                session.step();
                session
            }
            Err(error) => {
                // Only our own configuration can fail here; fail this
                // connection, not the appliance.
                let placeholder = Kind::Http {
                    request: Vec::new(),
                    outgoing: Vec::new(),
                };
                let mut session = Self::new(app, service, peer, now, deadline, placeholder);
                session.fail(FailureReason::Internal, Some(alloc::format!("{error}")));
                session
            }
        }
    }

    fn new(
        app: Arc<Pinata>,
        service: Service,
        peer: SocketAddr,
        now: Instant,
        deadline: Instant,
        kind: Kind,
    ) -> Session {
        app.stats().connection(service);
        Session {
            app,
            service,
            peer,
            started: now,
            deadline,
            kind,
            handshake_recorded: false,
            received_any: false,
            last_received: now,
            outcome: None,
        }
    }

    /// Which service this session belongs to.
    pub fn service(&self) -> Service {
        self.service
    }

    /// Feeds bytes received from the peer.
    pub fn receive(&mut self, data: &[u8], now: Instant) {
        if self.outcome.is_some() || data.is_empty() {
            return;
        }
        self.received_any = true;
        self.last_received = now;
        match &mut self.kind {
            Kind::Http { request, .. } => {
                let room = http::MAX_REQUEST_BYTES.saturating_sub(request.len());
                request.extend_from_slice(&data[..data.len().min(room)]);
                self.http_step(now);
            }
            Kind::Https { tls, .. } | Kind::Bounty { tls } => {
                let result = tls.receive(data);
                self.after_tls(result, now);
            }
        }
    }

    /// The peer closed its sending side (TCP FIN) or the connection.
    pub fn peer_closed(&mut self, _now: Instant) {
        if self.outcome.is_some() {
            return;
        }
        let truncated = match &self.kind {
            Kind::Http { request, .. } | Kind::Https { request, .. } => !request.is_empty(),
            Kind::Bounty { tls } => tls.has_unprocessed_input(),
        };
        let tls_in_handshake = match &self.kind {
            Kind::Http { .. } => false,
            Kind::Https { tls, .. } | Kind::Bounty { tls } => !tls.is_handshake_complete(),
        };
        if !self.received_any && !matches!(self.kind, Kind::Bounty { .. } if self.is_client()) {
            self.finish(OutcomeKind::Idle);
        } else if truncated {
            self.fail(FailureReason::DecodeError, Some("truncated message".into()));
        } else if tls_in_handshake {
            self.fail(FailureReason::ClosedEarly, None);
        } else {
            self.fail(
                FailureReason::ClosedEarly,
                Some("closed before the request".into()),
            );
        }
    }

    /// The deadline from [`Status::Open`] passed.
    pub fn timeout(&mut self, now: Instant) {
        if self.outcome.is_none() && now >= self.next_deadline() {
            if !self.received_any && !self.is_client() && matches!(self.kind, Kind::Http { .. }) {
                self.finish(OutcomeKind::Idle);
            } else if now < self.deadline {
                self.fail(FailureReason::Timeout, Some("idle".into()));
            } else {
                self.fail(FailureReason::Timeout, None);
            }
        }
    }

    /// The glue closed this connection to make room for a new one (see
    /// [`crate::admission`]).
    pub fn evict(&mut self) {
        if self.outcome.is_none() {
            self.fail(FailureReason::Evicted, None);
        }
    }

    /// The glue closed this connection to give its memory back (the event
    /// loop's memory budget): `evicted`, saying why.
    pub fn evict_for_memory(&mut self) {
        if self.outcome.is_none() {
            self.fail(FailureReason::Evicted, Some("memory".into()));
        }
    }

    /// What the session holds in memory, in bytes, as an upper estimate:
    /// itself (boxed), and its buffers and TLS state
    /// ([`TlsStream::footprint`]). The event loop's memory budget is kept
    /// in these terms.
    pub fn footprint(&self) -> usize {
        let held = match &self.kind {
            Kind::Http { request, outgoing } => request.capacity() + outgoing.capacity(),
            Kind::Https { tls, request } => tls.footprint() + request.capacity(),
            Kind::Bounty { tls } => tls.footprint(),
        };
        core::mem::size_of::<Session>() + held
    }

    /// The phase's deadline (handshake, then request), or earlier if the
    /// peer has been silent for the idle timeout.
    fn next_deadline(&self) -> Instant {
        self.deadline
            .min(self.last_received + self.app.limits().idle_timeout)
    }

    /// A transport error (reset, broken pipe) ended the connection.
    pub fn io_error(&mut self, description: &str) {
        if self.outcome.is_none() {
            self.fail(FailureReason::Io, Some(description.into()));
        }
    }

    /// What to do next.
    pub fn status(&self) -> Status {
        if self.outcome.is_some() {
            Status::Close
        } else {
            Status::Open {
                deadline: self.next_deadline(),
            }
        }
    }

    /// Bytes to transmit to the peer.
    pub fn outgoing(&self) -> &[u8] {
        match &self.kind {
            Kind::Http { outgoing, .. } => outgoing,
            Kind::Https { tls, .. } | Kind::Bounty { tls } => tls.outgoing(),
        }
    }

    /// The peer's certificate chain as rustls holds it (leaf first), once
    /// presented; `None` for plain HTTP. Read-only: the fuzz kit's leak
    /// oracle compares it with the identity the peer had to present.
    pub fn peer_certificates(&self) -> Option<&[rustls::pki_types::CertificateDer<'static>]> {
        match &self.kind {
            Kind::Http { .. } => None,
            Kind::Https { tls, .. } | Kind::Bounty { tls } => tls.peer_certificates(),
        }
    }

    /// Whether rustls reports the handshake complete, read from the TLS
    /// driver rather than from this session's own record (`false` for plain
    /// HTTP). Read-only, like [`Self::peer_certificates`].
    pub fn handshake_complete(&self) -> bool {
        match &self.kind {
            Kind::Http { .. } => false,
            Kind::Https { tls, .. } | Kind::Bounty { tls } => tls.is_handshake_complete(),
        }
    }

    /// Marks the first `n` bytes of [`Self::outgoing`] as transmitted.
    pub fn consume_outgoing(&mut self, n: usize) {
        match &mut self.kind {
            Kind::Http { outgoing, .. } => {
                outgoing.drain(..n.min(outgoing.len()));
                if outgoing.is_empty() {
                    // The page is out: give its memory back.
                    *outgoing = Vec::new();
                }
            }
            Kind::Https { tls, .. } | Kind::Bounty { tls } => tls.consume_outgoing(n),
        }
    }

    /// How the session ended, once [`Status::Close`] is reached; `now` gives
    /// the duration.
    pub fn outcome(&self, now: Instant) -> Option<Outcome> {
        let result = self.outcome.clone()?;
        Some(Outcome {
            service: self.service,
            peer: self.peer,
            result,
            tls_version: self.tls_version(),
            duration_ms: now.saturating_since(self.started).as_millis() as u64,
        })
    }

    fn tls_version(&self) -> Option<&'static str> {
        let tls = match &self.kind {
            Kind::Http { .. } => return None,
            Kind::Https { tls, .. } | Kind::Bounty { tls } => tls,
        };
        Some(match tls.protocol_version()? {
            rustls::ProtocolVersion::TLSv1_3 => "1.3",
            rustls::ProtocolVersion::TLSv1_2 => "1.2",
            _ => "other",
        })
    }

    fn is_client(&self) -> bool {
        matches!(self.service, Service::Client | Service::ConnectBack)
    }

    fn finish(&mut self, outcome: OutcomeKind) {
        if self.outcome.is_none() {
            self.outcome = Some(outcome);
        }
    }

    fn fail(&mut self, reason: FailureReason, detail: Option<String>) {
        if self.outcome.is_some() {
            return;
        }
        let in_handshake = match &self.kind {
            Kind::Http { .. } => false,
            Kind::Https { .. } | Kind::Bounty { .. } => !self.handshake_recorded,
        };
        if in_handshake {
            self.app.stats().handshake_failed(self.service, reason);
        } else {
            self.app.stats().failure(self.service, reason);
        }
        self.finish(OutcomeKind::Failed(reason, detail));
    }

    fn step(&mut self) {
        let result = match &mut self.kind {
            Kind::Https { tls, .. } | Kind::Bounty { tls } => tls.process(),
            Kind::Http { .. } => return,
        };
        // `step` runs at creation, before any deadline could matter.
        let now = self.started;
        self.after_tls(result, now);
    }

    fn after_tls(&mut self, result: Result<(), StreamError>, now: Instant) {
        if let Err(error) = result {
            let head: &[u8] = match &self.kind {
                Kind::Https { tls, .. } | Kind::Bounty { tls } => tls.rejected_record_head(),
                Kind::Http { .. } => &[],
            };
            let (reason, detail) = match error {
                StreamError::Tls(error) => (
                    FailureReason::from_tls_error(&error).refine(head),
                    Some(alloc::format!("{error}")),
                ),
                StreamError::BufferFull => (FailureReason::BufferFull, None),
                StreamError::NoRenegotiationIndication => (
                    FailureReason::NoRenegotiationExtension,
                    Some(alloc::format!("{error}")),
                ),
            };
            self.fail(reason, detail);
            return;
        }
        let complete = match &self.kind {
            Kind::Https { tls, .. } | Kind::Bounty { tls } => tls.is_handshake_complete(),
            Kind::Http { .. } => false,
        };
        if complete && !self.handshake_recorded {
            self.handshake_recorded = true;
            self.app.stats().handshake_ok(self.service);
            if let Kind::Https { tls, .. } | Kind::Bounty { tls } = &self.kind {
                self.app.stats().negotiated(
                    self.service,
                    tls.negotiated_group(),
                    tls.protocol_version(),
                );
            }
            // From here the peer has whatever the request/close timeout allows.
            self.deadline = now + self.app.limits().request_timeout;
            if let Kind::Bounty { .. } = self.kind {
                self.send_secret();
                return;
            }
        }
        match &mut self.kind {
            Kind::Https { tls, request } => {
                let data = tls.take_plaintext();
                let room = http::MAX_REQUEST_BYTES.saturating_sub(request.len());
                request.extend_from_slice(&data[..data.len().min(room)]);
                if tls.peer_closed() && self.outcome.is_none() && request.is_empty() {
                    self.finish(OutcomeKind::Idle);
                    return;
                }
                self.http_step(now);
            }
            Kind::Bounty { tls } => {
                // Whatever the peer says is not read: drop it so it cannot pile up.
                tls.discard_plaintext();
                if tls.peer_closed() && !self.handshake_recorded {
                    self.fail(FailureReason::ClosedEarly, None);
                }
            }
            Kind::Http { .. } => {}
        }
    }

    /// The only place the secret is queued. Reached once per session, only
    /// from `after_tls` when rustls reports the handshake complete.
    fn send_secret(&mut self) {
        let Kind::Bounty { tls } = &mut self.kind else {
            return;
        };
        // Defence in depth: the server role is configured to require a client
        // certificate, so a completed handshake without one means the
        // configuration is wrong; refuse rather than trust it.
        if self.service == Service::Server && tls.peer_certificates().is_none_or(|c| c.is_empty()) {
            self.app
                .stats()
                .failure(self.service, FailureReason::Internal);
            self.outcome = Some(OutcomeKind::Failed(
                FailureReason::Internal,
                Some("handshake completed without a client certificate".into()),
            ));
            return;
        }
        let outcome = match self.app.wire_secret() {
            Some(secret) => match tls.send(secret) {
                Ok(()) => {
                    self.app.stats().secret_sent(self.service);
                    OutcomeKind::SecretSent
                }
                Err(error) => {
                    self.fail(FailureReason::Internal, Some(alloc::format!("{error}")));
                    return;
                }
            },
            None => OutcomeKind::NoPrize,
        };
        let _ = tls.close();
        self.finish(outcome);
    }

    fn http_step(&mut self, now: Instant) {
        let request = match &mut self.kind {
            Kind::Http { request, .. } | Kind::Https { request, .. } => request,
            Kind::Bounty { .. } => return,
        };
        let (response, head_only) = match http::parse(request) {
            Parsed::Partial => return,
            Parsed::Request(request) => {
                // Counted before answering, so /stats.json includes itself.
                self.app.stats().request(self.service);
                (self.app.respond(&request, now), request.head_only)
            }
            Parsed::Error(status) => {
                let reason = if status == HttpStatus::HeadersTooLarge {
                    FailureReason::RequestTooLarge
                } else {
                    FailureReason::BadRequest
                };
                self.app.stats().request(self.service);
                self.app.stats().failure(self.service, reason);
                (Response::error(status), false)
            }
        };
        *request = Vec::new();
        let bytes = response.to_bytes(head_only);
        let code = response.status.code();
        match &mut self.kind {
            Kind::Http { outgoing, .. } => *outgoing = bytes,
            Kind::Https { tls, .. } => {
                if tls.send(&bytes).is_ok() {
                    let _ = tls.close();
                }
            }
            Kind::Bounty { .. } => {}
        }
        self.finish(OutcomeKind::Served(code));
    }
}
