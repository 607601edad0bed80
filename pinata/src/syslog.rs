//! The connection log as RFC 5424 syslog messages, for a remote collector
//! over UDP (RFC 5426).
//!
//! # Where it sits
//!
//! ```text
//! Outcome ──▶ netloop ─┬─▶ console line   `pinata: service=… outcome=…`
//!                      └─▶ Syslog::format ──datagram──▶ Transport::send_datagram
//!                                                       (stack::Stack, or hostnet's UDP socket)
//! ```
//!
//! Both backends print each connection outcome (and each refusal) as one
//! console line; when the operator names a collector (`syslog=IP:PORT` on
//! the unikernel's command line, `--syslog IP:PORT` hosted) the same line
//! also leaves as one datagram:
//!
//! ```text
//! <30>1 2025-01-02T03:04:05Z pinata pinata - http - service=http peer=192.0.2.7:51000 outcome=served status=200 duration_ms=3
//! ```
//!
//! that is `<PRI>VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID
//! STRUCTURED-DATA MSG`: facility `daemon`, the [`Severity`] of the outcome
//! ([`Severity::of_outcome`]), the wall clock in UTC (`-`, the NILVALUE,
//! when the platform has none), the service as MSGID, no structured data
//! (the MSG is already `key=value` pairs, the console's format), and the
//! line without its `pinata: ` prefix.
//!
//! This module is the formatter, `no_std + alloc`; the event loop sends the
//! datagrams through its transport. It only ever formats what it is given — the
//! outcome lines, which never hold the secret or key material — and
//! sanitises it: control characters become `?` (one line per datagram,
//! nothing a relay could split), and a datagram never exceeds
//! [`MAX_DATAGRAM`] bytes.
//!
//! UDP delivery is best effort, as RFC 5426 syslog is: a datagram the
//! network or a full buffer drops is gone; the console keeps every line.
#![forbid(unsafe_code)]

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::{self, Write as _};
use core::net::{IpAddr, SocketAddr};

use crate::session::{Outcome, OutcomeKind};
use crate::stats::FailureReason;
use crate::time::{TimeProvider, UnixTime};

/// The largest datagram [`Syslog::format`] produces, in bytes: the UDP
/// payload of one Ethernet frame (1500 − 20 IPv4 − 8 UDP). RFC 5426 asks
/// receivers to take 2048 bytes, but the appliance's stack does not fragment,
/// and an unfragmented datagram is the one most likely to arrive.
pub const MAX_DATAGRAM: usize = 1472;

/// RFC 5424 facility 3, `daemon` ("system daemons").
const FACILITY_DAEMON: u8 = 3;
/// APP-NAME of every message.
const APP_NAME: &str = "pinata";
/// RFC 5424's NILVALUE: "no value" for a header field.
const NIL: &str = "-";
/// HOSTNAME is at most 255 PRINTUSASCII characters.
const MAX_HOSTNAME: usize = 255;
/// MSGID is at most 32 PRINTUSASCII characters.
const MAX_MSGID: usize = 32;
/// The last year RFC 3339's four-digit DATE-FULLYEAR can write.
const MAX_YEAR: u64 = 9999;

/// RFC 5424 severities (numerical codes 0–7, most severe first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// 0: the system is unusable.
    Emergency = 0,
    /// 1: action must be taken immediately.
    Alert = 1,
    /// 2: critical conditions.
    Critical = 2,
    /// 3: error conditions.
    Error = 3,
    /// 4: warning conditions.
    Warning = 4,
    /// 5: normal but significant condition.
    Notice = 5,
    /// 6: informational messages.
    Informational = 6,
    /// 7: debug-level messages.
    Debug = 7,
}

impl Severity {
    /// The severity of a finished session's log line.
    ///
    /// A bounty that pays out (or would, with a prize loaded) is `Notice`:
    /// significant, but also what the socat short-circuit demonstrates on
    /// purpose. Failed handshakes are a bounty's everyday traffic and are
    /// `Informational`, like pages served; see [`Severity::of_failure`]
    /// for the exceptions.
    pub fn of_outcome(outcome: &Outcome) -> Severity {
        match &outcome.result {
            OutcomeKind::SecretSent | OutcomeKind::NoPrize => Severity::Notice,
            OutcomeKind::Served(_) | OutcomeKind::Idle => Severity::Informational,
            OutcomeKind::Failed(reason, _) => Severity::of_failure(*reason),
        }
    }

    /// The severity of a failed or refused connection: `Warning` when the
    /// piñata turned it away or closed it for lack of room, `Error` for a
    /// fault on its own side, `Informational` for everything a peer can
    /// cause.
    pub fn of_failure(reason: FailureReason) -> Severity {
        match reason {
            FailureReason::OverCapacity | FailureReason::Evicted => Severity::Warning,
            FailureReason::Internal => Severity::Error,
            _ => Severity::Informational,
        }
    }

    /// The numerical code, 0–7.
    pub const fn code(self) -> u8 {
        self as u8
    }
}

/// Why a syslog target was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyslogError {
    /// No `:PORT` after the address.
    MissingPort,
    /// The port is not a number from 0 to 65535.
    BadPort,
    /// Port 0, which no collector listens on.
    PortZero,
    /// The host part is not an IP address (names are not resolved).
    NotAnIp,
    /// An IPv6 address with a port but without brackets.
    UnbracketedIpv6,
    /// `0.0.0.0` or `::`, which names no destination.
    UnspecifiedAddress,
}

impl fmt::Display for SyslogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SyslogError::MissingPort => {
                "no port: expected IP:PORT or [IPv6]:PORT, such as 192.0.2.1:514"
            }
            SyslogError::BadPort => "the port is not a number from 1 to 65535",
            SyslogError::PortZero => "port 0 is not a destination",
            SyslogError::NotAnIp => {
                "not an IP address (names are not resolved): expected IP:PORT or [IPv6]:PORT"
            }
            SyslogError::UnbracketedIpv6 => "an IPv6 address needs brackets: [ADDRESS]:PORT",
            SyslogError::UnspecifiedAddress => "the unspecified address is not a destination",
        })
    }
}

impl core::error::Error for SyslogError {}

/// Parses a collector's address: `IP:PORT` or `[IPv6]:PORT`, such as
/// `192.0.2.1:514` or `[2001:db8::1]:514`. Every part is required: there
/// is no default port, and names are not resolved (neither backend has a
/// resolver it could trust at boot).
pub fn parse_target(text: &str) -> Result<SocketAddr, SyslogError> {
    let text = text.trim();
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or(SyslogError::NotAnIp)?;
        if after.is_empty() {
            return Err(SyslogError::MissingPort);
        }
        let port = after.strip_prefix(':').ok_or(SyslogError::NotAnIp)?;
        let host: core::net::Ipv6Addr = host.parse().map_err(|_| SyslogError::NotAnIp)?;
        (IpAddr::V6(host), port)
    } else {
        if text.parse::<IpAddr>().is_ok() {
            // A bare address, IPv6 included ("::1" would otherwise read
            // as address "::" and port 1).
            return Err(SyslogError::MissingPort);
        }
        let (host, port) = text.rsplit_once(':').ok_or(SyslogError::MissingPort)?;
        if host.contains(':') {
            return Err(if host.parse::<IpAddr>().is_ok() {
                SyslogError::UnbracketedIpv6
            } else {
                SyslogError::NotAnIp
            });
        }
        (
            host.parse::<IpAddr>().map_err(|_| SyslogError::NotAnIp)?,
            port,
        )
    };
    if port.is_empty() {
        return Err(SyslogError::MissingPort);
    }
    // `u16::from_str` takes a leading '+': a port is digits only.
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SyslogError::BadPort);
    }
    let port: u16 = port.parse().map_err(|_| SyslogError::BadPort)?;
    let target = SocketAddr::new(host, port);
    check_target(target)?;
    Ok(target)
}

fn check_target(target: SocketAddr) -> Result<(), SyslogError> {
    if target.port() == 0 {
        return Err(SyslogError::PortZero);
    }
    if target.ip().is_unspecified() {
        return Err(SyslogError::UnspecifiedAddress);
    }
    Ok(())
}

/// A syslog collector and how to address it: the target, this machine's
/// HOSTNAME, and the wall clock that dates each message. Formats; sending
/// is the backend's (see the module docs).
#[derive(Debug, Clone)]
pub struct Syslog {
    target: SocketAddr,
    hostname: String,
    clock: Option<Arc<dyn TimeProvider>>,
}

impl Syslog {
    /// A collector at `target` (port and address must be set), messages
    /// from `hostname`. The hostname is made a valid RFC 5424 HOSTNAME:
    /// characters outside printable ASCII become `_`, it is cut to 255
    /// characters, and an empty one is sent as `-`. Without
    /// [`with_clock`](Syslog::with_clock) messages carry no timestamp.
    pub fn new(target: SocketAddr, hostname: &str) -> Result<Syslog, SyslogError> {
        check_target(target)?;
        Ok(Syslog {
            target,
            hostname: header_field(hostname, MAX_HOSTNAME),
            clock: None,
        })
    }

    /// Dates messages with `clock` (the same wall clock rustls checks
    /// certificates with); a clock that answers `None` gives `-`.
    pub fn with_clock(mut self, clock: Arc<dyn TimeProvider>) -> Syslog {
        self.clock = Some(clock);
        self
    }

    /// Where the datagrams go.
    pub fn target(&self) -> SocketAddr {
        self.target
    }

    /// The HOSTNAME field, as sent.
    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    /// The wall clock now, if there is one and it knows the time.
    pub fn now(&self) -> Option<UnixTime> {
        self.clock.as_ref()?.current_time()
    }

    /// Replaces `out` with one RFC 5424 message: `message` at `severity`,
    /// dated `time` (`None`: the NILVALUE), with `msgid` (sanitised like
    /// the hostname, at most 32 characters). Control characters in the
    /// message become `?`, and it is cut (at a character boundary) so that
    /// `out` holds at most [`MAX_DATAGRAM`] bytes.
    pub fn format(
        &self,
        severity: Severity,
        time: Option<UnixTime>,
        msgid: &str,
        message: impl fmt::Display,
        out: &mut Vec<u8>,
    ) {
        out.clear();
        let pri = FACILITY_DAEMON * 8 + severity.code();
        let mut header = String::new();
        // Writing to a String cannot fail.
        let _ = write!(header, "<{pri}>1 ");
        match time.and_then(Rfc3339::from_unix) {
            Some(stamp) => {
                let _ = write!(header, "{stamp}");
            }
            None => header.push_str(NIL),
        }
        let _ = write!(
            header,
            " {} {APP_NAME} {NIL} {} {NIL}",
            self.hostname,
            header_field(msgid, MAX_MSGID)
        );
        out.extend_from_slice(header.as_bytes());
        let header_len = out.len();
        out.push(b' ');
        let mut writer = MessageWriter {
            out: &mut *out,
            limit: MAX_DATAGRAM,
            full: false,
        };
        // The writer never fails; it stops taking characters at the limit.
        let _ = write!(writer, "{message}");
        if out.len() == header_len + 1 {
            // An empty MSG goes without its separating space (RFC 5424:
            // `HEADER SP STRUCTURED-DATA [SP MSG]`).
            out.pop();
        }
    }

    /// [`format`](Syslog::format) dated by the clock.
    pub fn format_now(
        &self,
        severity: Severity,
        msgid: &str,
        message: impl fmt::Display,
        out: &mut Vec<u8>,
    ) {
        self.format(severity, self.now(), msgid, message, out);
    }
}

/// A header field (HOSTNAME, MSGID): PRINTUSASCII (33–126) only, other
/// characters as `_`, at most `max` characters, `-` when empty.
fn header_field(text: &str, max: usize) -> String {
    let field: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    if field.is_empty() {
        String::from(NIL)
    } else {
        field
    }
}

/// Appends a message's characters to a datagram: control characters as
/// `?`, and nothing past `limit` bytes (never half a character).
struct MessageWriter<'a> {
    out: &'a mut Vec<u8>,
    limit: usize,
    full: bool,
}

impl fmt::Write for MessageWriter<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for c in text.chars() {
            if self.full {
                break;
            }
            let c = if c.is_control() { '?' } else { c };
            let mut utf8 = [0u8; 4];
            let bytes = c.encode_utf8(&mut utf8).as_bytes();
            if self.out.len() + bytes.len() > self.limit {
                self.full = true;
                break;
            }
            self.out.extend_from_slice(bytes);
        }
        Ok(())
    }
}

/// A UTC time as RFC 3339 `YYYY-MM-DDThh:mm:ssZ` (RFC 5424 TIMESTAMP; the
/// clock gives whole seconds, so no fraction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rfc3339 {
    year: u64,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
}

impl Rfc3339 {
    /// `None` past the year 9999, which four digits cannot write.
    fn from_unix(time: UnixTime) -> Option<Rfc3339> {
        let secs = time.as_secs();
        let (year, month, day) = civil_from_days(secs / 86_400);
        if year > MAX_YEAR {
            return None;
        }
        let of_day = secs % 86_400;
        Some(Rfc3339 {
            year,
            month,
            day,
            // Each below 24 or 60: the casts cannot truncate.
            hour: (of_day / 3_600) as u8,
            minute: (of_day / 60 % 60) as u8,
            second: (of_day % 60) as u8,
        })
    }
}

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// The proleptic Gregorian (year, month, day) of the day `days` after
/// 1970-01-01: Howard Hinnant's `civil_from_days`, for days on or after
/// the epoch (unsigned arithmetic throughout).
fn civil_from_days(days: u64) -> (u64, u8, u8) {
    // Count from 0000-03-01, so that a leap day is the last of its year.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097; // [0, 146096]
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365; // [0, 399]
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100); // [0, 365]
    let month_from_march = (5 * day_of_year + 2) / 153; // [0, 11]
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1; // [1, 31]
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    }; // [1, 12]
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month as u8, day as u8)
}

/// The kernel's host name (Linux), for the HOSTNAME field; empty when it
/// cannot be read, which [`Syslog::new`] sends as `-`.
#[cfg(feature = "std")]
pub fn local_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| String::from(name.trim()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use alloc::string::ToString;
    use core::net::{Ipv4Addr, Ipv6Addr};
    use core::time::Duration;

    use super::*;

    fn at(secs: u64) -> Option<UnixTime> {
        Some(UnixTime::since_unix_epoch(Duration::from_secs(secs)))
    }

    fn collector() -> SocketAddr {
        SocketAddr::from((Ipv4Addr::new(192, 0, 2, 1), 514))
    }

    fn text(out: &[u8]) -> &str {
        core::str::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn message_matches_a_hand_checked_rfc5424_line() {
        let syslog = Syslog::new(collector(), "mymachine.example.com").unwrap();
        let mut out = Vec::new();
        // 1065910455 = 2003-10-11T22:14:15Z (RFC 5424 §6.5 example 1's
        // time, without its fraction).
        syslog.format(
            Severity::Critical,
            at(1_065_910_455),
            "ID47",
            "'su root' failed for lonvick on /dev/pts/8",
            &mut out,
        );
        assert_eq!(
            text(&out),
            "<26>1 2003-10-11T22:14:15Z mymachine.example.com pinata - ID47 - \
             'su root' failed for lonvick on /dev/pts/8"
        );
    }

    #[test]
    fn pri_is_facility_daemon_times_eight_plus_severity() {
        let syslog = Syslog::new(collector(), "h").unwrap();
        let mut out = Vec::new();
        for (severity, pri) in [
            (Severity::Emergency, "<24>"),
            (Severity::Warning, "<28>"),
            (Severity::Notice, "<29>"),
            (Severity::Informational, "<30>"),
            (Severity::Debug, "<31>"),
        ] {
            syslog.format(severity, None, "m", "x", &mut out);
            assert!(text(&out).starts_with(pri), "{}", text(&out));
        }
    }

    #[test]
    fn unknown_time_and_empty_fields_are_nilvalues() {
        let syslog = Syslog::new(collector(), "").unwrap();
        let mut out = Vec::new();
        syslog.format(Severity::Informational, None, "", "", &mut out);
        // No MSG: no space after STRUCTURED-DATA.
        assert_eq!(text(&out), "<30>1 - - pinata - - -");
        assert_eq!(syslog.hostname(), "-");
    }

    #[test]
    fn header_fields_are_printable_ascii_and_bounded() {
        let long = "h".repeat(300);
        let syslog = Syslog::new(collector(), &long).unwrap();
        assert_eq!(syslog.hostname().len(), 255);
        let syslog = Syslog::new(collector(), "pi ñata\n").unwrap();
        assert_eq!(syslog.hostname(), "pi__ata_");
        let mut out = Vec::new();
        syslog.format(Severity::Notice, None, &"m".repeat(40), "x", &mut out);
        let fields: Vec<&str> = text(&out).split(' ').collect();
        assert_eq!(fields[5], "m".repeat(32));
    }

    #[test]
    fn control_characters_in_the_message_become_question_marks() {
        let syslog = Syslog::new(collector(), "h").unwrap();
        let mut out = Vec::new();
        syslog.format(
            Severity::Notice,
            None,
            "m",
            "a\nb\r\0c\u{7f}d\u{85}e é",
            &mut out,
        );
        assert_eq!(text(&out), "<29>1 - h pinata - m - a?b??c?d?e é");
    }

    #[test]
    fn a_long_message_is_cut_at_the_datagram_limit_on_a_character_boundary() {
        let syslog = Syslog::new(collector(), "h").unwrap();
        let mut out = Vec::new();
        let message = "é".repeat(MAX_DATAGRAM);
        syslog.format(Severity::Notice, at(0), "m", &message, &mut out);
        assert!(out.len() <= MAX_DATAGRAM && out.len() >= MAX_DATAGRAM - 1);
        let text = text(&out); // still UTF-8: no half character
        assert!(text.starts_with("<29>1 1970-01-01T00:00:00Z h pinata - m - éé"));
        // A message that fits is whole.
        syslog.format(Severity::Notice, at(0), "m", "short", &mut out);
        assert!(self::text(&out).ends_with(" - short"));
    }

    #[test]
    fn display_arguments_are_formatted_in_place() {
        let syslog = Syslog::new(collector(), "h").unwrap();
        let mut out = Vec::new();
        let port = 514;
        syslog.format(
            Severity::Notice,
            None,
            "m",
            format_args!("port={port}"),
            &mut out,
        );
        assert!(text(&out).ends_with(" - port=514"));
    }

    #[test]
    fn civil_dates_at_the_edges() {
        // (unix seconds, RFC 3339), checked against `date -u -d @SECS`.
        for (secs, expected) in [
            (0, "1970-01-01T00:00:00Z"),
            (86_399, "1970-01-01T23:59:59Z"),
            (68_169_600, "1972-02-29T00:00:00Z"), // first leap day after the epoch
            (68_256_000, "1972-03-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"), // 2000: divisible by 400, leap
            (978_220_800, "2000-12-31T00:00:00Z"), // day 366 of a leap year
            (4_107_542_400, "2100-03-01T00:00:00Z"), // 2100: divisible by 100, not leap
            (4_107_542_399, "2100-02-28T23:59:59Z"),
            (1_735_689_599, "2024-12-31T23:59:59Z"),
            (1_735_689_600, "2025-01-01T00:00:00Z"),
            (253_402_300_799, "9999-12-31T23:59:59Z"),
        ] {
            let stamp = Rfc3339::from_unix(UnixTime::since_unix_epoch(Duration::from_secs(secs)))
                .expect("in range");
            assert_eq!(stamp.to_string(), expected, "{secs}");
        }
        // Year 10000 has no four-digit form: the message says "-".
        let syslog = Syslog::new(collector(), "h").unwrap();
        let mut out = Vec::new();
        syslog.format(Severity::Notice, at(253_402_300_800), "m", "x", &mut out);
        assert_eq!(text(&out), "<29>1 - h pinata - m - x");
        syslog.format(Severity::Notice, at(u64::MAX), "m", "x", &mut out);
        assert_eq!(text(&out), "<29>1 - h pinata - m - x");
    }

    #[test]
    fn every_day_of_four_centuries_follows_the_previous_one() {
        // From 1970 to 2370: each day is the next day of the calendar.
        let days_in = |year: u64, month: u8| match month {
            2 if (year.is_multiple_of(4) && !year.is_multiple_of(100))
                || year.is_multiple_of(400) =>
            {
                29
            }
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let mut previous = civil_from_days(0);
        assert_eq!(previous, (1970, 1, 1));
        for days in 1..146_097 {
            let (year, month, day) = previous;
            let expected = if day < days_in(year, month) {
                (year, month, day + 1)
            } else if month < 12 {
                (year, month + 1, 1)
            } else {
                (year + 1, 1, 1)
            };
            let got = civil_from_days(days);
            assert_eq!(got, expected, "day {days}");
            previous = got;
        }
    }

    #[test]
    fn the_clock_dates_messages() {
        #[derive(Debug)]
        struct Fixed;
        impl TimeProvider for Fixed {
            fn current_time(&self) -> Option<UnixTime> {
                at(1_735_689_600)
            }
        }
        let syslog = Syslog::new(collector(), "h")
            .unwrap()
            .with_clock(Arc::new(Fixed));
        let mut out = Vec::new();
        syslog.format_now(Severity::Notice, "m", "x", &mut out);
        assert_eq!(text(&out), "<29>1 2025-01-01T00:00:00Z h pinata - m - x");
    }

    #[test]
    fn targets_parse_with_clear_errors() {
        assert_eq!(parse_target("192.0.2.1:514"), Ok(collector()));
        assert_eq!(
            parse_target("[2001:db8::1]:6514"),
            Ok(SocketAddr::from((
                Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
                6514
            )))
        );
        for (text, error) in [
            ("192.0.2.1", SyslogError::MissingPort),
            ("192.0.2.1:", SyslogError::MissingPort),
            ("::1", SyslogError::MissingPort),
            ("[::1]", SyslogError::MissingPort),
            ("[::1]:", SyslogError::MissingPort),
            ("", SyslogError::MissingPort),
            ("192.0.2.1:0", SyslogError::PortZero),
            ("192.0.2.1:65536", SyslogError::BadPort),
            ("192.0.2.1:+514", SyslogError::BadPort),
            ("192.0.2.1:syslog", SyslogError::BadPort),
            ("logs.example.com:514", SyslogError::NotAnIp),
            ("[logs]:514", SyslogError::NotAnIp),
            ("[::1]514", SyslogError::NotAnIp),
            // Itself an IPv6 address: no port.
            ("2001:db8::1:514", SyslogError::MissingPort),
            ("2001:db8:0:0:0:0:0:1:514", SyslogError::UnbracketedIpv6),
            ("0.0.0.0:514", SyslogError::UnspecifiedAddress),
            ("[::]:514", SyslogError::UnspecifiedAddress),
        ] {
            assert_eq!(parse_target(text), Err(error), "{text:?}");
        }
        assert!(SyslogError::MissingPort.to_string().contains("IP:PORT"));
        assert_eq!(
            Syslog::new(SocketAddr::from((Ipv4Addr::new(192, 0, 2, 1), 0)), "h").err(),
            Some(SyslogError::PortZero)
        );
    }

    #[test]
    fn outcome_severities() {
        let outcome = |result| Outcome {
            service: crate::Service::Server,
            peer: collector(),
            result,
            tls_version: None,
            duration_ms: 1,
        };
        let of = |result| Severity::of_outcome(&outcome(result));
        assert_eq!(of(OutcomeKind::SecretSent), Severity::Notice);
        assert_eq!(of(OutcomeKind::NoPrize), Severity::Notice);
        assert_eq!(of(OutcomeKind::Served(200)), Severity::Informational);
        assert_eq!(
            of(OutcomeKind::Failed(FailureReason::UnknownCa, None)),
            Severity::Informational
        );
        assert_eq!(
            of(OutcomeKind::Failed(FailureReason::OverCapacity, None)),
            Severity::Warning
        );
        assert_eq!(
            of(OutcomeKind::Failed(FailureReason::Evicted, None)),
            Severity::Warning
        );
        assert_eq!(
            of(OutcomeKind::Failed(FailureReason::Internal, None)),
            Severity::Error
        );
    }
}
