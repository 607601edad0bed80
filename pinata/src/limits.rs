//! The operator's limits: how many connections, from whom, for how long.
//!
//! One set of [`Limits`] for both backends, and one way to write them:
//! `key=value`, the same keys on the unikernel's command line
//! (`max_connections=100`) and, as flags, for the hosted runner
//! (`--max-connections 100`). [`Limits::set`] parses one key with the same
//! validation everywhere: counts and seconds are positive whole numbers (a
//! limit of 0 would refuse every connection, a timeout of 0 would end each
//! one at once).
//!
//! [`crate::admission`] applies the connection counts; each
//! [`crate::Session`] keeps its own deadlines.

use core::fmt::{self, Write as _};
use core::time::Duration;

/// Bounds that keep one peer, or many, from exhausting the appliance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Most connections open at once, all services together. Beyond it the
    /// connection idle the longest is evicted (see [`crate::admission`]).
    pub max_connections: usize,
    /// Most connections open at once from one IP address; beyond it,
    /// refused (`over_capacity`).
    pub max_connections_per_peer: usize,
    /// Time allowed from accept to a completed TLS handshake.
    pub handshake_timeout: Duration,
    /// Time allowed for an HTTP request (or, after a handshake, for the rest
    /// of the exchange).
    pub request_timeout: Duration,
    /// Time allowed for a connect-back dial to be answered.
    pub connect_timeout: Duration,
    /// Time a connection may stay silent (no byte from the peer) before it
    /// is closed, whatever its phase's deadline.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 512,
            max_connections_per_peer: 64,
            handshake_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(5),
        }
    }
}

/// A value [`Limits::set`] refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitError<'a> {
    /// The key.
    pub key: &'a str,
    /// The value as given.
    pub value: &'a str,
    /// What the key takes.
    pub expected: &'static str,
}

impl fmt::Display for LimitError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}: not {}", self.key, self.value, self.expected)
    }
}

impl core::error::Error for LimitError<'_> {}

impl Limits {
    /// Every key [`Limits::set`] knows, in the order [`Limits`]'s `Display`
    /// shows them.
    pub const KEYS: [&'static str; 6] = [
        "max_connections",
        "max_connections_per_peer",
        "handshake_timeout",
        "request_timeout",
        "idle_timeout",
        "connect_timeout",
    ];

    /// Sets one limit from its `key=value` form. `Ok(false)` for a key
    /// that is not a limit (the caller's to handle); an error, naming the
    /// key and value, for a value that is not a positive whole number (of
    /// seconds, for the timeouts). Nothing changes on an error.
    pub fn set<'a>(&mut self, key: &'a str, value: &'a str) -> Result<bool, LimitError<'a>> {
        let error = |expected| LimitError {
            key,
            value,
            expected,
        };
        let count = || match value.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(error("a positive number")),
        };
        let seconds = || match value.parse::<u64>() {
            Ok(secs) if secs > 0 => Ok(Duration::from_secs(secs)),
            _ => Err(error("a positive number of seconds")),
        };
        match key {
            "max_connections" => self.max_connections = count()?,
            "max_connections_per_peer" => self.max_connections_per_peer = count()?,
            "handshake_timeout" => self.handshake_timeout = seconds()?,
            "request_timeout" => self.request_timeout = seconds()?,
            "idle_timeout" => self.idle_timeout = seconds()?,
            "connect_timeout" => self.connect_timeout = seconds()?,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

impl Limits {
    /// Each limit's key, value and unit (`s` for seconds), in
    /// [`Limits::KEYS`] order: what the console line and `/stats.json`
    /// show.
    fn values(&self) -> [(&'static str, u64, &'static str); 6] {
        let count = |n: usize| n as u64;
        [
            ("max_connections", count(self.max_connections), ""),
            (
                "max_connections_per_peer",
                count(self.max_connections_per_peer),
                "",
            ),
            ("handshake_timeout", self.handshake_timeout.as_secs(), "s"),
            ("request_timeout", self.request_timeout.as_secs(), "s"),
            ("idle_timeout", self.idle_timeout.as_secs(), "s"),
            ("connect_timeout", self.connect_timeout.as_secs(), "s"),
        ]
    }

    /// Appends the limits as a JSON object, the timeouts' keys with an
    /// `_s` suffix (for `/stats.json`).
    pub fn write_json(&self, out: &mut alloc::string::String) {
        out.push('{');
        for (i, (key, value, unit)) in self.values().into_iter().enumerate() {
            let comma = if i == 0 { "" } else { "," };
            let suffix = if unit.is_empty() { "" } else { "_" };
            let _ = write!(out, "{comma}\"{key}{suffix}{unit}\":{value}");
        }
        out.push('}');
    }
}

impl fmt::Display for Limits {
    /// The form the console shows at start: `key=value` words.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (key, value, unit)) in self.values().into_iter().enumerate() {
            let space = if i == 0 { "" } else { " " };
            write!(f, "{space}{key}={value}{unit}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::ToString;

    use super::*;

    #[test]
    fn every_key_parses_and_shows() {
        let mut limits = Limits::default();
        for (key, value) in Limits::KEYS.iter().zip(["100", "7", "20", "8", "3", "2"]) {
            assert_eq!(limits.set(key, value), Ok(true), "{key}");
        }
        assert_eq!(
            limits.to_string(),
            "max_connections=100 max_connections_per_peer=7 handshake_timeout=20s \
             request_timeout=8s idle_timeout=3s connect_timeout=2s"
        );
        let mut json = alloc::string::String::new();
        limits.write_json(&mut json);
        assert_eq!(
            json,
            "{\"max_connections\":100,\"max_connections_per_peer\":7,\"handshake_timeout_s\":20,\
             \"request_timeout_s\":8,\"idle_timeout_s\":3,\"connect_timeout_s\":2}"
        );
    }

    #[test]
    fn zero_and_garbage_are_refused_and_change_nothing() {
        let mut limits = Limits::default();
        for (key, value) in [
            ("max_connections", "0"),
            ("max_connections_per_peer", "-1"),
            ("idle_timeout", "0"),
            ("connect_timeout", "soon"),
            ("request_timeout", "1.5"),
        ] {
            let error = limits.set(key, value).unwrap_err();
            assert!(
                error
                    .to_string()
                    .starts_with(&alloc::format!("{key}={value}: not a positive number"))
            );
        }
        assert_eq!(limits, Limits::default());
        assert_eq!(limits.set("secret", "x"), Ok(false));
    }
}
