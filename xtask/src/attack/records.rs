//! TLS records and ClientHellos built by hand, and a reader for replies.

pub(super) fn record(content_type: u8, version: u16, payload: &[u8]) -> Vec<u8> {
    let mut r = vec![content_type];
    r.extend_from_slice(&version.to_be_bytes());
    r.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    r.extend_from_slice(payload);
    r
}

pub(super) fn u16s(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

pub(super) fn with_len16(body: &[u8]) -> Vec<u8> {
    let mut v = (body.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

/// A ClientHello handshake message (header included).
pub(super) struct Hello {
    pub(super) legacy_version: u16,
    /// supported_versions; empty leaves the extension out.
    pub(super) versions: Vec<u16>,
    pub(super) suites: Vec<u16>,
    pub(super) key_share: bool,
    pub(super) extra: Vec<(u16, Vec<u8>)>,
}

impl Hello {
    /// What a TLS 1.3 and 1.2 client offers.
    pub(super) fn modern() -> Hello {
        Hello {
            legacy_version: 0x0303,
            versions: vec![0x0304, 0x0303],
            suites: vec![0x1301, 0x1302, 0x1303, 0xc02b, 0xc02c, 0xcca9],
            key_share: true,
            extra: Vec::new(),
        }
    }

    /// A TLS 1.2-only client (no supported_versions, no key share).
    pub(super) fn tls12() -> Hello {
        Hello {
            versions: Vec::new(),
            suites: vec![0xc02b, 0xc02c, 0xcca9],
            key_share: false,
            extra: vec![(0xff01, vec![0])], // renegotiation_info, empty
            ..Hello::modern()
        }
    }

    pub(super) fn message(&self) -> Vec<u8> {
        let mut body = self.legacy_version.to_be_bytes().to_vec();
        body.extend_from_slice(&[0x42; 32]); // random
        body.push(32);
        body.extend_from_slice(&[0x24; 32]); // legacy session id
        body.extend_from_slice(&with_len16(&u16s(&self.suites)));
        body.extend_from_slice(&[1, 0]); // null compression
        let mut ext = Vec::new();
        let mut push = |kind: u16, data: &[u8]| {
            ext.extend_from_slice(&kind.to_be_bytes());
            ext.extend_from_slice(&with_len16(data));
        };
        push(10, &with_len16(&u16s(&[0x001d, 0x0017]))); // supported_groups
        push(11, &[1, 0]); // ec_point_formats
        push(13, &with_len16(&u16s(&[0x0403, 0x0807, 0x0804]))); // signature_algorithms
        if !self.versions.is_empty() {
            let list = u16s(&self.versions);
            let mut data = vec![list.len() as u8];
            data.extend_from_slice(&list);
            push(43, &data);
        }
        if self.key_share {
            // X25519 with the base point (9) as public key: a valid share.
            let mut share = u16s(&[0x001d, 32]);
            let mut point = [0u8; 32];
            point[0] = 9;
            share.extend_from_slice(&point);
            push(51, &with_len16(&share));
        }
        for (kind, data) in &self.extra {
            push(*kind, data);
        }
        body.extend_from_slice(&with_len16(&ext));
        let mut msg = vec![1, 0];
        msg.extend_from_slice(&(body.len() as u16).to_be_bytes());
        msg.extend_from_slice(&body);
        msg
    }

    pub(super) fn record(&self, record_version: u16) -> Vec<u8> {
        record(0x16, record_version, &self.message())
    }
}

/// SSLv2-format CLIENT-HELLO (RFC 6101 appendix E.2), as old scanners send.
pub(super) fn sslv2_hello(version: u16) -> Vec<u8> {
    let specs: &[u8] = &[
        0x07, 0x00, 0xc0, 0x05, 0x00, 0x80, 0x03, 0x00, 0x80, 0x00, 0x00, 0x2f, 0x00, 0xc0, 0x2b,
    ];
    let challenge = [0x5a; 16];
    let mut body = vec![1];
    body.extend_from_slice(&version.to_be_bytes());
    body.extend_from_slice(&(specs.len() as u16).to_be_bytes());
    body.extend_from_slice(&0u16.to_be_bytes());
    body.extend_from_slice(&(challenge.len() as u16).to_be_bytes());
    body.extend_from_slice(specs);
    body.extend_from_slice(&challenge);
    let mut out = vec![0x80 | (body.len() >> 8) as u8, body.len() as u8];
    out.extend_from_slice(&body);
    out
}

pub(super) fn alert_name(code: u8) -> String {
    let name = match code {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        22 => "record_overflow",
        40 => "handshake_failure",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        116 => "certificate_required",
        _ => return format!("alert#{code}"),
    };
    name.to_string()
}

pub(super) fn handshake_name(kind: u8) -> String {
    match kind {
        1 => "ClientHello".into(),
        2 => "ServerHello".into(),
        4 => "NewSessionTicket".into(),
        8 => "EncryptedExtensions".into(),
        11 => "Certificate".into(),
        12 => "ServerKeyExchange".into(),
        13 => "CertificateRequest".into(),
        14 => "ServerHelloDone".into(),
        other => format!("hs#{other}"),
    }
}

/// A one-line description of what came back: TLS records by name, an HTTP
/// status line, or the first bytes in hex.
pub(super) fn describe(bytes: &[u8], end: &str) -> String {
    if bytes.is_empty() {
        return format!("nothing; {end}");
    }
    if bytes.starts_with(b"HTTP/") {
        let line = bytes.split(|b| *b == b'\r').next().unwrap_or(bytes);
        let responses = bytes
            .windows(9)
            .filter(|w| w.starts_with(b"HTTP/1."))
            .count();
        return format!(
            "{} ({} B, {responses} response{}); {end}",
            String::from_utf8_lossy(&line[..line.len().min(40)]),
            bytes.len(),
            if responses == 1 { "" } else { "s" }
        );
    }
    if matches!(bytes[0], 0x14..=0x18) && bytes.len() >= 5 && bytes[1] == 3 {
        let mut parts: Vec<String> = Vec::new();
        let mut rest = bytes;
        while rest.len() >= 5 {
            let len = u16::from_be_bytes([rest[3], rest[4]]) as usize;
            let payload = &rest[5..(5 + len).min(rest.len())];
            let part = match rest[0] {
                0x15 if payload.len() >= 2 => format!(
                    "alert {} {}",
                    if payload[0] == 2 { "fatal" } else { "warning" },
                    alert_name(payload[1])
                ),
                0x16 => payload
                    .first()
                    .map(|k| handshake_name(*k))
                    .unwrap_or_else(|| "handshake".into()),
                0x14 => "CCS".into(),
                0x17 => "encrypted".into(),
                other => format!("record#{other}"),
            };
            if parts.last() != Some(&part) {
                parts.push(part);
            }
            rest = &rest[(5 + len).min(rest.len())..];
        }
        return format!("{} ({} B); {end}", parts.join(", "), bytes.len());
    }
    let hex: String = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{hex}… ({} B); {end}", bytes.len())
}
