//! Live counters: what the page, `/stats.json` and `/metrics` show.
//!
//! Every counter is an atomic so that the hosted runner's connection threads
//! and the unikernel's single event loop share the same code without a lock.
//! Failure reasons are a closed set ([`FailureReason`]), and so are the
//! key-exchange groups ([`KxGroup`]) and TLS versions ([`TlsVersion`])
//! completed handshakes are counted by: a peer cannot make the appliance
//! allocate a new counter, and the JSON has a fixed shape.

use alloc::string::String;
use core::fmt::{self, Write as _};
use core::sync::atomic::{AtomicU64, Ordering};

use rustls::{
    AlertDescription, CertificateError, Error, InvalidMessage, NamedGroup, PeerIncompatible,
    ProtocolVersion,
};

/// The piñata's services, in the order they are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// Plain HTTP page (port 80; hosted default 8080).
    Http,
    /// The same page over TLS, no client authentication (443; hosted 8443).
    Https,
    /// Bounty TLS server demanding a client certificate (10000).
    Server,
    /// Connect-back: the piñata dials the caller's port 40001 as a TLS client (10001).
    ConnectBack,
    /// Bounty TLS client on the accepted connection (10002).
    Client,
}

impl Service {
    /// All services, in report order.
    pub const ALL: [Service; 5] = [
        Service::Http,
        Service::Https,
        Service::Server,
        Service::ConnectBack,
        Service::Client,
    ];

    /// The service's name in logs and in `/stats.json`.
    pub const fn name(self) -> &'static str {
        match self {
            Service::Http => "http",
            Service::Https => "https",
            Service::Server => "server",
            Service::ConnectBack => "connect_back",
            Service::Client => "client",
        }
    }

    /// The port the service listens on inside the appliance.
    pub const fn standard_port(self) -> u16 {
        match self {
            Service::Http => 80,
            Service::Https => 443,
            Service::Server => 10000,
            Service::ConnectBack => 10001,
            Service::Client => 10002,
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

macro_rules! failure_reasons {
    ($($variant:ident => $name:literal, $doc:literal;)*) => {
        /// Why a connection did not end in success. A closed set: see module docs.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum FailureReason {
            $(#[doc = $doc] $variant,)*
        }

        impl FailureReason {
            /// Every reason, in report order.
            pub const ALL: &'static [FailureReason] = &[$(FailureReason::$variant,)*];

            /// The reason's name in logs and in `/stats.json`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(FailureReason::$variant => $name,)*
                }
            }
        }

        const fn failure_description(reason: FailureReason) -> &'static str {
            match reason {
                $(FailureReason::$variant => $doc,)*
            }
        }
    };
}

failure_reasons! {
    NoCertificate => "no_certificate", "The client sent no certificate.";
    UnknownCa => "unknown_ca", "The peer's certificate does not chain to the piñata CA.";
    BadSignature => "bad_signature", "A certificate or handshake signature did not verify.";
    CertificateExpired => "certificate_expired", "The peer's certificate is expired or not yet valid.";
    BadCertificate => "bad_certificate", "The peer's certificate is otherwise unacceptable (name, usage, encoding).";
    BadRecordVersion => "bad_record_version", "A record or hello with a protocol version we do not speak (SSLv2/3, TLS 1.0/1.1, unknown).";
    UnsupportedVersion => "unsupported_version", "The peer offered no TLS version we support.";
    NoSharedCipher => "no_shared_cipher", "No cipher suite, group or signature scheme in common.";
    UnexpectedMessage => "unexpected_message", "A message arrived at the wrong time (e.g. ChangeCipherSpec, renegotiation).";
    DecodeError => "decode_error", "A malformed or truncated message.";
    DecryptError => "decrypt_error", "A record failed authentication.";
    PeerMisbehaved => "peer_misbehaved", "The peer broke a protocol rule rustls checks.";
    PeerAlert => "peer_alert", "The peer aborted the handshake with an alert.";
    RecordOverflow => "record_overflow", "A record or message over the size limit.";
    ClosedEarly => "closed_early", "The peer closed the connection before the handshake finished.";
    Timeout => "timeout", "The handshake or request deadline passed.";
    BufferFull => "buffer_full", "The peer sent more than a connection may buffer.";
    BadRequest => "bad_request", "A malformed HTTP request.";
    RequestTooLarge => "request_too_large", "An HTTP request over the size limit.";
    OverCapacity => "over_capacity", "Refused: the connection limit was reached.";
    ConnectFailed => "connect_failed", "Connect-back: the caller's port could not be reached.";
    Io => "io_error", "A transport error (reset, broken pipe).";
    Internal => "internal", "An error on our side (entropy, encoding); see the console.";
    Heartbeat => "heartbeat", "A Heartbeat record (content type 24): the piñata does not speak the extension.";
    Sslv3 => "sslv3", "An SSLv3 hello (record or hello version 3.0), as the original piñata counted apart.";
    UnexpectedHandshakeMessage => "unexpected_handshake_message", "A handshake message out of order (a second ClientHello, a message the state does not expect).";
    NoRenegotiationExtension => "no_renegotiation_extension", "A TLS 1.2-only ClientHello without the secure renegotiation indication (RFC 5746), refused as the original piñata did.";
    Evicted => "evicted", "Closed to make room: the connection limit was reached and this was the longest idle connection.";
}

impl FailureReason {
    /// The reasons the original piñata counted apart, shown on the page
    /// whether seen or not.
    pub const HEADLINE: &'static [FailureReason] = &[
        FailureReason::BadRecordVersion,
        FailureReason::Heartbeat,
        FailureReason::UnexpectedHandshakeMessage,
        FailureReason::NoRenegotiationExtension,
        FailureReason::NoSharedCipher,
        FailureReason::Sslv3,
        FailureReason::NoCertificate,
        FailureReason::UnknownCa,
    ];

    /// What the reason means, in a sentence (for the page).
    pub const fn description(self) -> &'static str {
        failure_description(self)
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FailureReason {
    /// Classifies a rustls error, whether raised by our side or reported by
    /// the peer in an alert.
    pub fn from_tls_error(error: &Error) -> FailureReason {
        match error {
            Error::NoCertificatesPresented => FailureReason::NoCertificate,
            Error::InvalidCertificate(cert) => match cert {
                CertificateError::UnknownIssuer => FailureReason::UnknownCa,
                CertificateError::BadSignature => FailureReason::BadSignature,
                CertificateError::Expired
                | CertificateError::ExpiredContext { .. }
                | CertificateError::NotValidYet
                | CertificateError::NotValidYetContext { .. } => FailureReason::CertificateExpired,
                _ => FailureReason::BadCertificate,
            },
            Error::InvalidMessage(message) => match message {
                InvalidMessage::UnknownProtocolVersion => FailureReason::BadRecordVersion,
                InvalidMessage::MessageTooLarge
                | InvalidMessage::HandshakePayloadTooLarge
                | InvalidMessage::CertificatePayloadTooLarge => FailureReason::RecordOverflow,
                InvalidMessage::UnexpectedMessage(_) | InvalidMessage::InvalidCcs => {
                    FailureReason::UnexpectedMessage
                }
                _ => FailureReason::DecodeError,
            },
            Error::PeerSentOversizedRecord => FailureReason::RecordOverflow,
            Error::InappropriateMessage { .. } => FailureReason::UnexpectedMessage,
            Error::InappropriateHandshakeMessage { .. } => {
                FailureReason::UnexpectedHandshakeMessage
            }
            Error::PeerIncompatible(incompatible) => match incompatible {
                PeerIncompatible::SupportedVersionsExtensionRequired
                | PeerIncompatible::ServerDoesNotSupportTls12Or13
                | PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig
                | PeerIncompatible::Tls12NotOffered
                | PeerIncompatible::Tls12NotOfferedOrEnabled
                | PeerIncompatible::Tls13RequiredForQuic => FailureReason::UnsupportedVersion,
                PeerIncompatible::NoCipherSuitesInCommon
                | PeerIncompatible::NoKxGroupsInCommon
                | PeerIncompatible::NoSignatureSchemesInCommon
                | PeerIncompatible::NoCertificateRequestSignatureSchemesInCommon
                | PeerIncompatible::NoEcPointFormatsInCommon => FailureReason::NoSharedCipher,
                _ => FailureReason::PeerMisbehaved,
            },
            Error::PeerMisbehaved(_) => FailureReason::PeerMisbehaved,
            Error::DecryptError => FailureReason::DecryptError,
            Error::AlertReceived(alert) => match alert {
                AlertDescription::UnknownCA => FailureReason::UnknownCa,
                AlertDescription::CertificateRequired => FailureReason::NoCertificate,
                AlertDescription::CertificateExpired => FailureReason::CertificateExpired,
                AlertDescription::BadCertificate
                | AlertDescription::UnsupportedCertificate
                | AlertDescription::CertificateUnknown => FailureReason::BadCertificate,
                AlertDescription::HandshakeFailure | AlertDescription::InsufficientSecurity => {
                    FailureReason::NoSharedCipher
                }
                AlertDescription::ProtocolVersion => FailureReason::UnsupportedVersion,
                _ => FailureReason::PeerAlert,
            },
            Error::FailedToGetRandomBytes
            | Error::FailedToGetCurrentTime
            | Error::EncryptError
            | Error::General(_)
            | Error::Other(_) => FailureReason::Internal,
            _ => FailureReason::PeerMisbehaved,
        }
    }
}

impl FailureReason {
    /// Refines a classified failure with the head of the record rustls
    /// rejected (its 5-byte header and the start of its payload, as
    /// [`crate::tls::TlsStream::rejected_record_head`] keeps it): Heartbeat
    /// and SSLv3 are told apart from other unknown content types and old
    /// versions, as the original piñata counted them.
    pub fn refine(self, head: &[u8]) -> FailureReason {
        let old_version = matches!(
            self,
            FailureReason::UnsupportedVersion | FailureReason::BadRecordVersion
        );
        match head {
            [24, ..] => FailureReason::Heartbeat,
            [0x16, 3, 0, ..] if old_version => FailureReason::Sslv3,
            [0x16, _, _, _, _, 1, _, _, _, 3, 0, ..] if old_version => FailureReason::Sslv3,
            _ => self,
        }
    }
}

const REASONS: usize = FailureReason::ALL.len();

/// The key-exchange groups a completed handshake is counted by: the
/// provider's, in its order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KxGroup {
    /// The hybrid post-quantum group (ML-KEM-768 with X25519), TLS 1.3.
    X25519MlKem768,
    /// X25519 alone.
    X25519,
    /// NIST P-256 ECDHE.
    Secp256r1,
}

impl KxGroup {
    /// All groups, in report order.
    pub const ALL: [KxGroup; 3] = [KxGroup::X25519MlKem768, KxGroup::X25519, KxGroup::Secp256r1];

    /// The group's IANA name, as in `/stats.json`.
    pub const fn name(self) -> &'static str {
        match self {
            KxGroup::X25519MlKem768 => "X25519MLKEM768",
            KxGroup::X25519 => "X25519",
            KxGroup::Secp256r1 => "secp256r1",
        }
    }

    /// The counted group for a rustls group, if it is one of the provider's.
    pub fn from_named_group(group: NamedGroup) -> Option<KxGroup> {
        match group {
            NamedGroup::X25519MLKEM768 => Some(KxGroup::X25519MlKem768),
            NamedGroup::X25519 => Some(KxGroup::X25519),
            NamedGroup::secp256r1 => Some(KxGroup::Secp256r1),
            _ => None,
        }
    }
}

/// The TLS versions a completed handshake is counted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlsVersion {
    /// TLS 1.3.
    Tls13,
    /// TLS 1.2.
    Tls12,
}

impl TlsVersion {
    /// All versions, in report order.
    pub const ALL: [TlsVersion; 2] = [TlsVersion::Tls13, TlsVersion::Tls12];

    /// The version's name, as in `/stats.json`.
    pub const fn name(self) -> &'static str {
        match self {
            TlsVersion::Tls13 => "TLSv1.3",
            TlsVersion::Tls12 => "TLSv1.2",
        }
    }

    /// The counted version for a rustls version, if it is one we speak.
    pub fn from_protocol_version(version: ProtocolVersion) -> Option<TlsVersion> {
        match version {
            ProtocolVersion::TLSv1_3 => Some(TlsVersion::Tls13),
            ProtocolVersion::TLSv1_2 => Some(TlsVersion::Tls12),
            _ => None,
        }
    }
}

/// One service's counters.
#[derive(Debug)]
pub struct ServiceStats {
    connections: AtomicU64,
    requests: AtomicU64,
    handshakes_ok: AtomicU64,
    handshakes_failed: AtomicU64,
    secrets_sent: AtomicU64,
    failures: [AtomicU64; REASONS],
    handshake_failures: [AtomicU64; REASONS],
    groups: [AtomicU64; KxGroup::ALL.len()],
    versions: [AtomicU64; TlsVersion::ALL.len()],
}

impl ServiceStats {
    const fn new() -> Self {
        Self {
            connections: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            handshakes_ok: AtomicU64::new(0),
            handshakes_failed: AtomicU64::new(0),
            secrets_sent: AtomicU64::new(0),
            failures: [const { AtomicU64::new(0) }; REASONS],
            handshake_failures: [const { AtomicU64::new(0) }; REASONS],
            groups: [const { AtomicU64::new(0) }; KxGroup::ALL.len()],
            versions: [const { AtomicU64::new(0) }; TlsVersion::ALL.len()],
        }
    }

    /// Connections accepted (or, for connect-back, dialled).
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }
    /// HTTP requests answered (http and https only).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
    /// TLS handshakes completed with an authenticated peer where required.
    pub fn handshakes_ok(&self) -> u64 {
        self.handshakes_ok.load(Ordering::Relaxed)
    }
    /// TLS handshakes that did not complete.
    pub fn handshakes_failed(&self) -> u64 {
        self.handshakes_failed.load(Ordering::Relaxed)
    }
    /// Times the secret was written to a peer.
    pub fn secrets_sent(&self) -> u64 {
        self.secrets_sent.load(Ordering::Relaxed)
    }
    /// Failures recorded for `reason`, handshake failures included.
    pub fn failures(&self, reason: FailureReason) -> u64 {
        self.failures[reason as usize].load(Ordering::Relaxed)
    }
    /// Handshakes that failed for `reason`: the part of
    /// [`Self::failures`] that [`Stats::handshake_failed`] recorded. Over
    /// all reasons they add up to [`Self::handshakes_failed`].
    pub fn handshake_failures(&self, reason: FailureReason) -> u64 {
        self.handshake_failures[reason as usize].load(Ordering::Relaxed)
    }
    /// Completed handshakes that agreed on `group`.
    pub fn group(&self, group: KxGroup) -> u64 {
        self.groups[group as usize].load(Ordering::Relaxed)
    }
    /// Completed handshakes in `version`.
    pub fn version(&self, version: TlsVersion) -> u64 {
        self.versions[version as usize].load(Ordering::Relaxed)
    }
}

/// All the piñata's counters.
#[derive(Debug)]
pub struct Stats {
    services: [ServiceStats; 5],
    /// Connections admitted and not yet ended, as the glue last reported.
    open_connections: AtomicU64,
}

impl Default for Stats {
    fn default() -> Self {
        Self::new()
    }
}

impl Stats {
    /// Zeroed counters.
    pub const fn new() -> Self {
        Self {
            services: [const { ServiceStats::new() }; 5],
            open_connections: AtomicU64::new(0),
        }
    }

    /// One service's counters.
    pub fn service(&self, service: Service) -> &ServiceStats {
        &self.services[service.index()]
    }

    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a new connection.
    pub fn connection(&self, service: Service) {
        Self::bump(&self.service(service).connections);
    }
    /// Records an answered HTTP request.
    pub fn request(&self, service: Service) {
        Self::bump(&self.service(service).requests);
    }
    /// Records a completed handshake.
    pub fn handshake_ok(&self, service: Service) {
        Self::bump(&self.service(service).handshakes_ok);
    }
    /// Records what a completed handshake agreed on (see
    /// [`crate::tls::TlsStream::negotiated_group`] and
    /// [`crate::tls::TlsStream::protocol_version`]). A group or version
    /// outside [`KxGroup`] or [`TlsVersion`] is not counted; the provider
    /// and the configurations allow no other.
    pub fn negotiated(
        &self,
        service: Service,
        group: Option<NamedGroup>,
        version: Option<ProtocolVersion>,
    ) {
        let s = self.service(service);
        if let Some(group) = group.and_then(KxGroup::from_named_group) {
            Self::bump(&s.groups[group as usize]);
        }
        if let Some(version) = version.and_then(TlsVersion::from_protocol_version) {
            Self::bump(&s.versions[version as usize]);
        }
    }
    /// Records a failed handshake and its reason.
    pub fn handshake_failed(&self, service: Service, reason: FailureReason) {
        let s = self.service(service);
        Self::bump(&s.handshakes_failed);
        Self::bump(&s.handshake_failures[reason as usize]);
        self.failure(service, reason);
    }
    /// Records a failure that is not a handshake failure (HTTP errors,
    /// refusals, connect-back dial errors).
    pub fn failure(&self, service: Service, reason: FailureReason) {
        Self::bump(&self.service(service).failures[reason as usize]);
    }
    /// Records that the secret was written to a peer.
    pub fn secret_sent(&self, service: Service) {
        Self::bump(&self.service(service).secrets_sent);
    }

    /// The glue's count of connections admitted and not yet ended.
    pub fn set_open_connections(&self, open: usize) {
        self.open_connections.store(open as u64, Ordering::Relaxed);
    }

    /// Connections open now (see [`Stats::set_open_connections`]).
    pub fn open_connections(&self) -> u64 {
        self.open_connections.load(Ordering::Relaxed)
    }

    /// Total of a counter over all services.
    pub fn total(&self, counter: impl Fn(&ServiceStats) -> u64) -> u64 {
        self.services.iter().map(counter).sum()
    }

    /// The `failures` object of `/stats.json`: every reason, all services
    /// together, zeros included (a fixed shape for monitoring).
    pub fn write_failure_totals_json(&self, out: &mut String) {
        out.push('{');
        for (i, reason) in FailureReason::ALL.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                "\"{}\":{}",
                reason.name(),
                self.total(|s| s.failures(*reason))
            );
        }
        out.push('}');
    }

    /// The `services` object of `/stats.json`: per service its counters,
    /// the failures seen, and completed handshakes by key-exchange group
    /// and TLS version (every group and version, zeros included).
    pub fn write_services_json(&self, out: &mut String) {
        out.push('{');
        for (i, service) in Service::ALL.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let s = self.service(*service);
            let _ = write!(
                out,
                "\"{}\":{{\"connections\":{},\"requests\":{},\"handshakes_ok\":{},\"handshakes_failed\":{},\"secrets_sent\":{},\"failures\":{{",
                service.name(),
                s.connections(),
                s.requests(),
                s.handshakes_ok(),
                s.handshakes_failed(),
                s.secrets_sent()
            );
            let mut first = true;
            for reason in FailureReason::ALL {
                let n = s.failures(*reason);
                if n > 0 {
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    let _ = write!(out, "\"{}\":{}", reason.name(), n);
                }
            }
            out.push_str("},\"groups\":{");
            for (i, group) in KxGroup::ALL.iter().enumerate() {
                let comma = if i > 0 { "," } else { "" };
                let _ = write!(out, "{comma}\"{}\":{}", group.name(), s.group(*group));
            }
            out.push_str("},\"versions\":{");
            for (i, version) in TlsVersion::ALL.iter().enumerate() {
                let comma = if i > 0 { "," } else { "" };
                let _ = write!(out, "{comma}\"{}\":{}", version.name(), s.version(*version));
            }
            out.push_str("}}");
        }
        out.push('}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lists_only_seen_reasons() {
        let stats = Stats::new();
        stats.connection(Service::Server);
        stats.handshake_failed(Service::Server, FailureReason::NoCertificate);
        stats.handshake_failed(Service::Server, FailureReason::NoCertificate);
        let mut json = String::new();
        stats.write_services_json(&mut json);
        assert!(json.contains(
            "\"server\":{\"connections\":1,\"requests\":0,\"handshakes_ok\":0,\"handshakes_failed\":2,\"secrets_sent\":0,\"failures\":{\"no_certificate\":2},"
        ), "{json}");
        assert!(json.contains("\"http\":{\"connections\":0,"));
    }

    #[test]
    fn handshake_failures_by_reason_are_a_part_of_failures() {
        let stats = Stats::new();
        stats.handshake_failed(Service::Server, FailureReason::UnknownCa);
        stats.handshake_failed(Service::Server, FailureReason::Timeout);
        stats.failure(Service::Server, FailureReason::Timeout);
        stats.failure(Service::Server, FailureReason::OverCapacity);
        let server = stats.service(Service::Server);
        assert_eq!(server.handshake_failures(FailureReason::UnknownCa), 1);
        assert_eq!(server.handshake_failures(FailureReason::Timeout), 1);
        assert_eq!(server.handshake_failures(FailureReason::OverCapacity), 0);
        assert_eq!(server.failures(FailureReason::Timeout), 2);
        assert_eq!(server.failures(FailureReason::OverCapacity), 1);
        let by_reason: u64 = FailureReason::ALL
            .iter()
            .map(|r| server.handshake_failures(*r))
            .sum();
        assert_eq!(by_reason, server.handshakes_failed());
    }

    #[test]
    fn handshakes_are_counted_by_group_and_version() {
        let stats = Stats::new();
        let tls13 = Some(ProtocolVersion::TLSv1_3);
        for _ in 0..3 {
            stats.negotiated(Service::Server, Some(NamedGroup::X25519MLKEM768), tls13);
        }
        stats.negotiated(Service::Server, Some(NamedGroup::X25519), tls13);
        stats.negotiated(
            Service::Client,
            Some(NamedGroup::secp256r1),
            Some(ProtocolVersion::TLSv1_2),
        );
        // Outside the closed sets: not counted, no new key in the JSON.
        stats.negotiated(
            Service::Server,
            Some(NamedGroup::secp384r1),
            Some(ProtocolVersion::TLSv1_1),
        );
        stats.negotiated(Service::Https, None, None);

        let server = stats.service(Service::Server);
        assert_eq!(server.group(KxGroup::X25519MlKem768), 3);
        assert_eq!(server.group(KxGroup::X25519), 1);
        assert_eq!(server.group(KxGroup::Secp256r1), 0);
        assert_eq!(server.version(TlsVersion::Tls13), 4);
        assert_eq!(server.version(TlsVersion::Tls12), 0);

        let mut json = String::new();
        stats.write_services_json(&mut json);
        assert!(
            json.contains(
                "\"failures\":{},\"groups\":{\"X25519MLKEM768\":3,\"X25519\":1,\"secp256r1\":0},\"versions\":{\"TLSv1.3\":4,\"TLSv1.2\":0}}"
            ),
            "{json}"
        );
        assert!(
            json.contains(
                "\"groups\":{\"X25519MLKEM768\":0,\"X25519\":0,\"secp256r1\":1},\"versions\":{\"TLSv1.3\":0,\"TLSv1.2\":1}"
            ),
            "{json}"
        );
        assert!(!json.contains("secp384r1"), "{json}");
    }

    #[test]
    fn refines_heartbeat_and_sslv3() {
        let decode = FailureReason::DecodeError;
        assert_eq!(
            decode.refine(&[24, 3, 3, 0, 3, 1, 0x40, 0]),
            FailureReason::Heartbeat
        );
        assert_eq!(decode.refine(&[99, 3, 3, 0, 1]), decode);
        let version = FailureReason::UnsupportedVersion;
        // Record version 3.0, or a 3.1 record carrying a 3.0 ClientHello.
        assert_eq!(
            version.refine(&[0x16, 3, 0, 0, 50, 1]),
            FailureReason::Sslv3
        );
        assert_eq!(
            version.refine(&[0x16, 3, 1, 0, 50, 1, 0, 0, 46, 3, 0]),
            FailureReason::Sslv3
        );
        assert_eq!(
            version.refine(&[0x16, 3, 1, 0, 50, 1, 0, 0, 46, 3, 1]),
            version
        );
        // Only a version failure becomes sslv3.
        assert_eq!(decode.refine(&[0x16, 3, 0, 0, 50, 1]), decode);
        assert_eq!(version.refine(&[]), version);
    }

    #[test]
    fn classifies_common_errors() {
        assert_eq!(
            FailureReason::from_tls_error(&Error::NoCertificatesPresented),
            FailureReason::NoCertificate
        );
        assert_eq!(
            FailureReason::from_tls_error(&Error::InvalidCertificate(
                CertificateError::UnknownIssuer
            )),
            FailureReason::UnknownCa
        );
        assert_eq!(
            FailureReason::from_tls_error(&Error::PeerIncompatible(
                PeerIncompatible::NoCipherSuitesInCommon
            )),
            FailureReason::NoSharedCipher
        );
    }
}
