//! `/metrics`: the counters in the Prometheus text exposition format
//! (version 0.0.4), for Prometheus, Grafana and whatever else scrapes it.
//!
//! The same figures as `/stats.json` ([`crate::stats`], [`crate::memory`],
//! uptime and limits), rendered per scrape from the shared [`Pinata`], so
//! both backends serve it from the same code over ports 80 and 443. The
//! format is a few lines of text per sample and the label sets are closed
//! (services, failure reasons, groups, versions), so it is written here
//! rather than through a metrics library: the Rust ones keep their own
//! registries and need `std` (see "Prometheus metrics" in
//! `docs/DECISIONS.md`).
//!
//! Every series of a closed label set is present from the first scrape,
//! zeros included, so `rate()` and alerts see a counter start at 0 rather
//! than appear on its first event. The families:
//!
//! | family | type | labels |
//! |---|---|---|
//! | `pinata_connections_total` | counter | `service` |
//! | `pinata_http_requests_total` | counter | `service` (`http`, `https`) |
//! | `pinata_handshakes_total` | counter | `service`, `outcome` (`ok`; `failed` with `reason`) |
//! | `pinata_failures_total` | counter | `service`, `reason` (handshake failures included) |
//! | `pinata_secrets_sent_total` | counter | `service` |
//! | `pinata_handshakes_by_group_total` | counter | `service`, `group` |
//! | `pinata_handshakes_by_version_total` | counter | `service`, `version` |
//! | `pinata_open_connections` | gauge | |
//! | `pinata_max_connections`, `pinata_max_connections_per_peer` | gauge | |
//! | `pinata_memory_used_bytes`, `pinata_memory_high_water_bytes`, `pinata_memory_capacity_bytes` | gauge | `source` (`heap`, `process`) |
//! | `pinata_uptime_seconds` | gauge | |
//! | `pinata_prize_info` | gauge (1) | `network`, `address` |
//!
//! The memory families are left out when the platform has no gauge (and
//! the capacity when it is unknown); `pinata_prize_info` when no prize is
//! loaded.

use alloc::string::String;
use core::fmt::Write as _;

use crate::app::Pinata;
use crate::stats::{FailureReason, KxGroup, Service, ServiceStats, TlsVersion};
use crate::time::Instant;

/// The `Content-Type` of the text exposition format, version 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The services that run TLS handshakes (all but plain HTTP).
const TLS_SERVICES: [Service; 4] = [
    Service::Https,
    Service::Server,
    Service::ConnectBack,
    Service::Client,
];

/// The services that answer HTTP requests.
const HTTP_SERVICES: [Service; 2] = [Service::Http, Service::Https];

/// Renders the `/metrics` document at `now`.
pub fn render(app: &Pinata, now: Instant) -> String {
    let mut out = Exposition::with_capacity(24 * 1024);
    let stats = app.stats();
    let per_service = |out: &mut Exposition,
                       services: &[Service],
                       name: &'static str,
                       help: &str,
                       value: fn(&ServiceStats) -> u64| {
        let mut family = out.family(name, MetricType::Counter, help);
        for service in services {
            family.sample(
                &[("service", service.name())],
                value(stats.service(*service)),
            );
        }
    };

    per_service(
        &mut out,
        &Service::ALL,
        "pinata_connections_total",
        "Connections accepted (connect_back: dialled), refused ones included.",
        ServiceStats::connections,
    );
    per_service(
        &mut out,
        &HTTP_SERVICES,
        "pinata_http_requests_total",
        "HTTP requests answered, malformed ones included.",
        ServiceStats::requests,
    );

    let mut handshakes = out.family(
        "pinata_handshakes_total",
        MetricType::Counter,
        "TLS handshakes by outcome: ok (completed, with a CA-signed peer where the service demands one) or failed, by reason.",
    );
    for service in TLS_SERVICES {
        let s = stats.service(service);
        let name = service.name();
        handshakes.sample(&[("service", name), ("outcome", "ok")], s.handshakes_ok());
        for reason in FailureReason::ALL {
            handshakes.sample(
                &[
                    ("service", name),
                    ("outcome", "failed"),
                    ("reason", reason.name()),
                ],
                s.handshake_failures(*reason),
            );
        }
    }

    let mut failures = out.family(
        "pinata_failures_total",
        MetricType::Counter,
        "Connections that did not end in success, by reason: failed handshakes, refusals, timeouts, HTTP errors, connect-back dials.",
    );
    for service in Service::ALL {
        let s = stats.service(service);
        for reason in FailureReason::ALL {
            failures.sample(
                &[("service", service.name()), ("reason", reason.name())],
                s.failures(*reason),
            );
        }
    }

    per_service(
        &mut out,
        &Service::ALL,
        "pinata_secrets_sent_total",
        "Times the prize was written to a peer (after a handshake with a CA-signed certificate).",
        ServiceStats::secrets_sent,
    );

    let mut groups = out.family(
        "pinata_handshakes_by_group_total",
        MetricType::Counter,
        "Completed TLS handshakes by the key-exchange group agreed (X25519MLKEM768: hybrid post-quantum).",
    );
    for service in TLS_SERVICES {
        for group in KxGroup::ALL {
            groups.sample(
                &[("service", service.name()), ("group", group.name())],
                stats.service(service).group(group),
            );
        }
    }
    let mut versions = out.family(
        "pinata_handshakes_by_version_total",
        MetricType::Counter,
        "Completed TLS handshakes by protocol version.",
    );
    for service in TLS_SERVICES {
        for version in TlsVersion::ALL {
            versions.sample(
                &[("service", service.name()), ("version", version.name())],
                stats.service(service).version(version),
            );
        }
    }

    out.family(
        "pinata_open_connections",
        MetricType::Gauge,
        "Connections admitted and not yet ended.",
    )
    .sample(&[], stats.open_connections());
    let limits = app.limits();
    out.family(
        "pinata_max_connections",
        MetricType::Gauge,
        "Most connections open at once, all services (beyond it the longest idle one is evicted).",
    )
    .sample(&[], limits.max_connections as u64);
    out.family(
        "pinata_max_connections_per_peer",
        MetricType::Gauge,
        "Most connections open at once from one IP address (beyond it: refused, over_capacity).",
    )
    .sample(&[], limits.max_connections_per_peer as u64);

    if let Some(memory) = app.memory() {
        let source = [("source", memory.source.name())];
        out.family(
            "pinata_memory_used_bytes",
            MetricType::Gauge,
            "Memory in use: the heap's allocated bytes (unikernel) or the resident set (hosted process).",
        )
        .sample(&source, memory.used_bytes);
        out.family(
            "pinata_memory_high_water_bytes",
            MetricType::Gauge,
            "The most memory ever in use since start (same source as pinata_memory_used_bytes).",
        )
        .sample(&source, memory.high_water_bytes);
        if let Some(capacity) = memory.capacity_bytes {
            out.family(
                "pinata_memory_capacity_bytes",
                MetricType::Gauge,
                "All the memory there is to use (the heap's size).",
            )
            .sample(&source, capacity);
        }
    }

    out.family(
        "pinata_uptime_seconds",
        MetricType::Gauge,
        "Seconds since the piñata started serving.",
    )
    .sample(&[], app.uptime_secs(now));

    if let (Some(prize), Some(address)) = (app.prize(), app.address()) {
        let network = alloc::format!("{}", prize.network());
        out.family(
            "pinata_prize_info",
            MetricType::Gauge,
            "The prize's network and P2WPKH address (always 1).",
        )
        .sample(&[("network", &network), ("address", address)], 1);
    }
    out.text
}

/// A metric family's type, as its `# TYPE` line says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    /// Only ever goes up (until a restart); names end in `_total`.
    Counter,
    /// Goes up and down.
    Gauge,
}

impl MetricType {
    const fn name(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
        }
    }
}

/// A document in the text exposition format, family by family.
#[derive(Debug, Default)]
pub struct Exposition {
    text: String,
}

impl Exposition {
    /// An empty document with room for `bytes`.
    pub fn with_capacity(bytes: usize) -> Exposition {
        Exposition {
            text: String::with_capacity(bytes),
        }
    }

    /// Starts the family `name` with its `# HELP` and `# TYPE` lines; its
    /// samples follow through the returned [`Family`]. `name` is one of
    /// this module's constants (a valid metric name; checked in debug
    /// builds and by the tests).
    pub fn family(&mut self, name: &'static str, kind: MetricType, help: &str) -> Family<'_> {
        debug_assert!(is_metric_name(name), "bad metric name {name}");
        debug_assert!(
            (kind == MetricType::Counter) == name.ends_with("_total"),
            "counters, and only counters, end in _total: {name}"
        );
        let _ = write!(self.text, "# HELP {name} ");
        escape_help(help, &mut self.text);
        let _ = writeln!(self.text, "\n# TYPE {name} {}", kind.name());
        Family {
            text: &mut self.text,
            name,
        }
    }

    /// The document so far.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// The samples of one family (see [`Exposition::family`]).
#[derive(Debug)]
pub struct Family<'a> {
    text: &'a mut String,
    name: &'static str,
}

impl Family<'_> {
    /// Appends `name{labels} value`. Label names are this module's
    /// constants; label values are escaped.
    pub fn sample(&mut self, labels: &[(&str, &str)], value: u64) {
        self.text.push_str(self.name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (name, value)) in labels.iter().enumerate() {
                debug_assert!(is_label_name(name), "bad label name {name}");
                if i > 0 {
                    self.text.push(',');
                }
                self.text.push_str(name);
                self.text.push_str("=\"");
                escape_label_value(value, self.text);
                self.text.push('"');
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {value}");
    }
}

/// Escapes a label value: backslash, double quote and line feed.
fn escape_label_value(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Escapes `# HELP` text: backslash and line feed (quotes stay as they are).
fn escape_help(help: &str, out: &mut String) {
    for c in help.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, and not `__`-prefixed (reserved).
fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    !name.starts_with("__")
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_have_help_type_and_samples() {
        let mut out = Exposition::default();
        out.family("x_total", MetricType::Counter, "Things.")
            .sample(&[("service", "server"), ("reason", "unknown_ca")], 3);
        out.family("y", MetricType::Gauge, "Level.").sample(&[], 0);
        assert_eq!(
            out.as_str(),
            "# HELP x_total Things.\n# TYPE x_total counter\n\
             x_total{service=\"server\",reason=\"unknown_ca\"} 3\n\
             # HELP y Level.\n# TYPE y gauge\ny 0\n"
        );
    }

    #[test]
    fn escapes_label_values_and_help() {
        let mut out = Exposition::default();
        out.family("z", MetricType::Gauge, "a \\ b\nc \"d\"")
            .sample(&[("v", "q\"x\\y\nz")], 1);
        assert_eq!(
            out.as_str(),
            "# HELP z a \\\\ b\\nc \"d\"\n# TYPE z gauge\nz{v=\"q\\\"x\\\\y\\nz\"} 1\n"
        );
    }

    #[test]
    fn names_are_checked() {
        assert!(is_metric_name("pinata_handshakes_total"));
        assert!(is_metric_name("a:b_c9"));
        assert!(!is_metric_name("9a"));
        assert!(!is_metric_name("a-b"));
        assert!(!is_metric_name(""));
        assert!(is_label_name("service"));
        assert!(!is_label_name("__name__"));
        assert!(!is_label_name("a:b"));
        assert!(!is_label_name(""));
    }

    #[cfg(feature = "std")]
    mod rendered {
        use alloc::string::{String, ToString};
        use alloc::sync::Arc;
        use alloc::vec::Vec;

        use rustls::{NamedGroup, ProtocolVersion};

        use super::super::render;
        use crate::memory::{MemorySource, MemoryUsage};
        use crate::pki::{self, PkiOptions};
        use crate::random::OS_RANDOM;
        use crate::stats::{FailureReason, Service};
        use crate::time::{Instant, SystemClock, UnixTime};
        use crate::{Config, Limits, Pinata};

        fn pinata() -> Pinata {
            let pki = pki::bootstrap(&OS_RANDOM, &PkiOptions::new(UnixTime::now())).expect("PKI");
            let config = Config {
                prize: None,
                limits: Limits::default(),
                web_identity: None,
            };
            let provider = Arc::new(crate::provider::provider(&OS_RANDOM));
            Pinata::new(
                pki,
                config,
                provider,
                Arc::new(SystemClock),
                Instant::from_millis(1_000),
            )
            .expect("piñata")
        }

        fn heap() -> Option<MemoryUsage> {
            Some(MemoryUsage {
                source: MemorySource::Heap,
                used_bytes: 4096,
                high_water_bytes: 8192,
                capacity_bytes: Some(1 << 20),
            })
        }

        /// The value of the sample written exactly as `series`.
        fn value(text: &str, series: &str) -> u64 {
            let found: Vec<&str> = text
                .lines()
                .filter_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
                .collect();
            assert_eq!(found.len(), 1, "{series} in:\n{text}");
            found[0].parse().expect("integer value")
        }

        #[test]
        fn counters_gauges_and_memory_from_the_piñata() {
            let app = pinata().with_memory_gauge(heap);
            let stats = app.stats();
            stats.connection(Service::Server);
            stats.connection(Service::Server);
            stats.handshake_failed(Service::Server, FailureReason::UnknownCa);
            stats.handshake_ok(Service::Server);
            stats.negotiated(
                Service::Server,
                Some(NamedGroup::X25519MLKEM768),
                Some(ProtocolVersion::TLSv1_3),
            );
            stats.secret_sent(Service::Server);
            stats.failure(Service::Http, FailureReason::BadRequest);
            stats.set_open_connections(3);
            let text = render(&app, Instant::from_millis(43_500));

            assert_eq!(
                value(&text, "pinata_connections_total{service=\"server\"}"),
                2
            );
            assert_eq!(
                value(
                    &text,
                    "pinata_handshakes_total{service=\"server\",outcome=\"failed\",reason=\"unknown_ca\"}"
                ),
                1
            );
            assert_eq!(
                value(
                    &text,
                    "pinata_handshakes_total{service=\"server\",outcome=\"ok\"}"
                ),
                1
            );
            assert_eq!(
                value(
                    &text,
                    "pinata_failures_total{service=\"http\",reason=\"bad_request\"}"
                ),
                1
            );
            assert_eq!(
                value(
                    &text,
                    "pinata_handshakes_by_group_total{service=\"server\",group=\"X25519MLKEM768\"}"
                ),
                1
            );
            assert_eq!(
                value(
                    &text,
                    "pinata_handshakes_by_version_total{service=\"server\",version=\"TLSv1.3\"}"
                ),
                1
            );
            assert_eq!(
                value(&text, "pinata_secrets_sent_total{service=\"server\"}"),
                1
            );
            assert_eq!(value(&text, "pinata_open_connections"), 3);
            assert_eq!(value(&text, "pinata_max_connections"), 512);
            assert_eq!(value(&text, "pinata_uptime_seconds"), 42);
            assert_eq!(
                value(&text, "pinata_memory_high_water_bytes{source=\"heap\"}"),
                8192
            );
            assert_eq!(
                value(&text, "pinata_memory_capacity_bytes{source=\"heap\"}"),
                1 << 20
            );
            // Plain HTTP has no handshakes; no prize, no info.
            assert!(!text.contains("pinata_handshakes_total{service=\"http\""));
            assert!(!text.contains("pinata_prize_info"), "{text}");
        }

        #[test]
        fn every_family_once_with_help_and_type_and_every_series_present() {
            let app = pinata();
            let text = render(&app, Instant::from_millis(1_000));
            let mut families: Vec<String> = Vec::new();
            for line in text.lines() {
                if let Some(rest) = line.strip_prefix("# HELP ") {
                    let name = rest.split(' ').next().unwrap().to_string();
                    assert!(!families.contains(&name), "{name} twice");
                    families.push(name);
                } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                    assert!(
                        rest.starts_with(families.last().unwrap().as_str()),
                        "{line}"
                    );
                } else {
                    let name = line.split(['{', ' ']).next().unwrap();
                    assert_eq!(Some(&name.to_string()), families.last(), "{line}");
                }
            }
            // No gauge: no memory families.
            assert!(!text.contains("pinata_memory"), "{text}");
            let series = |prefix: &str| text.lines().filter(|l| l.starts_with(prefix)).count();
            let reasons = FailureReason::ALL.len();
            // ok + every reason, for the four TLS services.
            assert_eq!(series("pinata_handshakes_total{"), 4 * (1 + reasons));
            assert_eq!(series("pinata_failures_total{"), 5 * reasons);
            assert!(text.ends_with('\n'));
        }
    }
}
