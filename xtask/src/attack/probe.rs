//! The visitor's view during a case: the page's latency and `/stats.json`.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use harness::http;

use super::net::{bound_connect_to, target_addr, visitor_source};
use super::*;

/// One GET / from the visitor's address: the latency, or why it failed.
pub(super) fn probe_page(_target_kind: TargetKind, port: u16) -> Result<Duration, String> {
    probe_page_at(visitor_source(), target_addr(port), PAGE_LIMIT)
}

/// One GET / from `source` (or any) to `to`, given `limit` to answer.
pub(super) fn probe_page_at(
    source: Option<Ipv4Addr>,
    to: SocketAddr,
    limit: Duration,
) -> Result<Duration, String> {
    let start = Instant::now();
    let mut stream = match source {
        Some(source) => bound_connect_to(source, to, limit),
        None => TcpStream::connect_timeout(&to, limit),
    }
    .map_err(|e| format!("connect: {e}"))?;
    let response =
        http::get_over(&mut stream, "/", start + limit).map_err(|e| format!("GET: {e}"))?;
    let elapsed = start.elapsed();
    if response.status != 200 {
        let bytes = &response.raw;
        let got = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).to_string();
        return Err(format!(
            "no 200 within {} ms ({got:?})",
            elapsed.as_millis()
        ));
    }
    Ok(elapsed)
}

/// What the prober saw: the page's latency over a case.
#[derive(Debug, Clone, Default)]
pub(super) struct PageFigures {
    /// Probes made (answered or not).
    pub(super) probes: usize,
    /// The slowest answer; [`PAGE_LIMIT`] if any probe failed.
    pub(super) max: Duration,
    /// The median of the answered probes.
    pub(super) median: Duration,
    /// Why probes failed, in order.
    pub(super) failures: Vec<String>,
    /// Every answered probe's latency, sorted.
    pub(super) latencies: Vec<Duration>,
}

impl PageFigures {
    pub(super) fn of(mut latencies: Vec<Duration>, failures: Vec<String>) -> PageFigures {
        latencies.sort();
        let mut max = latencies.last().copied().unwrap_or_default();
        if !failures.is_empty() {
            max = max.max(PAGE_LIMIT);
        }
        PageFigures {
            probes: latencies.len() + failures.len(),
            max,
            median: latencies
                .get(latencies.len() / 2)
                .copied()
                .unwrap_or_default(),
            failures,
            latencies,
        }
    }

    /// Several cases' probes together.
    pub(super) fn merged<'a>(all: impl IntoIterator<Item = &'a PageFigures>) -> PageFigures {
        let (mut latencies, mut failures) = (Vec::new(), Vec::new());
        for figures in all {
            latencies.extend_from_slice(&figures.latencies);
            failures.extend(figures.failures.iter().cloned());
        }
        PageFigures::of(latencies, failures)
    }

    /// The answered probes' 99th percentile.
    pub(super) fn p99(&self) -> Duration {
        let index = (self.latencies.len() * 99).div_ceil(100).saturating_sub(1);
        self.latencies.get(index).copied().unwrap_or_default()
    }

    /// One line for a run's summary: probes, median, 99th percentile, max,
    /// unanswered.
    pub(super) fn summarize(&self) -> String {
        format!(
            "{} probes, median {} ms, p99 {} ms, max {} ms, {} not answered within {} ms",
            self.probes,
            self.median.as_millis(),
            self.p99().as_millis(),
            self.max.as_millis(),
            self.failures.len(),
            PAGE_LIMIT.as_millis()
        )
    }

    /// One line for a row's details.
    pub(super) fn describe(&self) -> String {
        let mut text = format!(
            "page during the case: {} probes, median {} ms, max {} ms",
            self.probes,
            self.median.as_millis(),
            self.max.as_millis()
        );
        if let Some(first) = self.failures.first() {
            text.push_str(&format!(
                ", {} not answered within {} ms (first: {first})",
                self.failures.len(),
                PAGE_LIMIT.as_millis()
            ));
        }
        text
    }
}

/// Probes the page every 200 ms in the background until stopped.
pub(super) struct Prober {
    pub(super) stop: Arc<AtomicBool>,
    pub(super) handle: thread::JoinHandle<PageFigures>,
}

impl Prober {
    pub(super) fn start(kind: TargetKind, port: u16) -> Prober {
        let _ = kind;
        Prober::start_at(visitor_source(), target_addr(port))
    }

    /// Probes `to` from `source` (a second VM's page).
    pub(super) fn start_at(source: Option<Ipv4Addr>, to: SocketAddr) -> Prober {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = thread::spawn(move || {
            let mut latencies = Vec::new();
            let mut failures = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                match probe_page_at(source, to, PAGE_LIMIT) {
                    Ok(t) => latencies.push(t),
                    Err(e) => failures.push(e),
                }
                thread::sleep(Duration::from_millis(200));
            }
            PageFigures::of(latencies, failures)
        });
        Prober { stop, handle }
    }

    pub(super) fn finish(self) -> (Duration, Vec<String>) {
        let figures = self.finish_figures();
        (figures.max, figures.failures)
    }

    pub(super) fn finish_figures(self) -> PageFigures {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or_else(|_| PageFigures {
            max: PAGE_LIMIT,
            failures: vec!["prober panicked".into()],
            ..PageFigures::default()
        })
    }
}

/// Probes the page until it answers, for at most `limit` (each probe given
/// up to 5 s): its latency then, and how long it took to come back.
pub(super) fn page_back(
    kind: TargetKind,
    port: u16,
    limit: Duration,
) -> Result<(Duration, Duration), String> {
    let _ = kind;
    let started = Instant::now();
    loop {
        let error = match probe_page_at(visitor_source(), target_addr(port), Duration::from_secs(5))
        {
            Ok(latency) => {
                let waited = started.elapsed().saturating_sub(latency);
                return Ok((latency, waited));
            }
            Err(e) => e,
        };
        if started.elapsed() >= limit {
            return Err(format!(
                "not served again within {} s: {error}",
                limit.as_secs()
            ));
        }
        thread::sleep(Duration::from_millis(500));
    }
}

/// `/stats.json`, parsed, fetched from the visitor's address.
pub(super) fn stats_json(_kind: TargetKind, port: u16) -> Result<serde_json::Value, String> {
    stats_json_at(visitor_source(), target_addr(port))
}

/// `/stats.json` from `to`, asked from `source` (or any).
pub(super) fn stats_json_at(
    source: Option<Ipv4Addr>,
    to: SocketAddr,
) -> Result<serde_json::Value, String> {
    let wait = Duration::from_secs(2);
    let mut stream = match source {
        Some(source) => bound_connect_to(source, to, wait),
        None => TcpStream::connect_timeout(&to, wait),
    }
    .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(3);
    let response =
        http::get_over(&mut stream, "/stats.json", deadline).map_err(|e| e.to_string())?;
    let body = response.body();
    if body.is_empty() {
        return Err("no /stats.json body".into());
    }
    serde_json::from_slice(body).map_err(|e| format!("bad /stats.json: {e}"))
}

/// Waits until the piñata has finished with what a case threw at it: no
/// connection open but the stats request itself, and no new connection
/// counted on the TLS services since the previous look (QEMU's user network may still be
/// delivering connections the case already closed). Polls `/stats.json`
/// — the readiness signal — every 250 ms, for at most `limit`; how long it
/// took, or why it gave up.
pub(super) fn wait_settled(
    kind: TargetKind,
    port: u16,
    limit: Duration,
) -> Result<Duration, String> {
    let started = Instant::now();
    let mut last_total = None;
    loop {
        let json = stats_json(kind, port)?;
        let open = json["open_connections"]
            .as_u64()
            .ok_or("no open_connections")?;
        // Not `http`: this poll and the prober's page requests count there.
        let total: u64 = json["services"]
            .as_object()
            .map(|s| {
                s.iter()
                    .filter(|(service, _)| *service != "http")
                    .filter_map(|(_, c)| c["connections"].as_u64())
                    .sum()
            })
            .unwrap_or(0);
        if open <= 1 && last_total == Some(total) {
            return Ok(started.elapsed());
        }
        if started.elapsed() >= limit {
            return Err(format!(
                "still {open} connection(s) open after {} s",
                limit.as_secs()
            ));
        }
        last_total = Some(total);
        thread::sleep(Duration::from_millis(250));
    }
}

/// `/stats.json` flattened to `service.counter` and `service.reason`.
pub(super) fn stats(kind: TargetKind, port: u16) -> Result<BTreeMap<String, u64>, String> {
    let json = stats_json(kind, port)?;
    let mut out = BTreeMap::new();
    if let Some(services) = json["services"].as_object() {
        for (service, counters) in services {
            let Some(counters) = counters.as_object() else {
                continue;
            };
            for (key, value) in counters {
                if let Some(n) = value.as_u64() {
                    out.insert(format!("{service}.{key}"), n);
                } else if let Some(reasons) = value.as_object() {
                    for (reason, n) in reasons {
                        out.insert(format!("{service}.{reason}"), n.as_u64().unwrap_or(0));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// A case's row text for the counters that moved between two readings
/// (`name+n`, connection counts left out), and whether `secrets_sent`
/// moved; an unreadable reading is a problem.
pub(super) fn counters_moved(
    before: &Result<BTreeMap<String, u64>, String>,
    after: &Result<BTreeMap<String, u64>, String>,
    problems: &mut Vec<String>,
) -> (String, bool) {
    match (before, after) {
        (Ok(b), Ok(a)) => {
            let d = delta(b, a);
            let moved = d.iter().any(|(k, _)| k.ends_with(".secrets_sent"));
            let text = d
                .iter()
                .filter(|(k, _)| !k.ends_with(".connections"))
                .map(|(k, v)| format!("{k}+{v}"))
                .collect::<Vec<_>>()
                .join(" ");
            (text, moved)
        }
        (Err(e), _) | (_, Err(e)) => {
            problems.push(format!("stats: {e}"));
            (String::new(), false)
        }
    }
}

/// The counters that moved, without the probes' own http requests.
pub(super) fn delta(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
) -> Vec<(String, u64)> {
    after
        .iter()
        .filter(|(k, _)| *k != "http.connections" && *k != "http.requests")
        .filter_map(|(k, v)| {
            let d = v.saturating_sub(before.get(k).copied().unwrap_or(0));
            (d > 0).then(|| (k.clone(), d))
        })
        .collect()
}
