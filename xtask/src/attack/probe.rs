//! The visitor's view during a case: the page's latency and `/stats.json`.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::net::{bound_connect, connect_from, read_until_close, target_addr, visitor};
use super::*;

/// One GET / from the visitor's address: the latency, or why it failed.
pub(super) fn probe_page(target_kind: TargetKind, port: u16) -> Result<Duration, String> {
    let start = Instant::now();
    let source = (target_kind != TargetKind::Vm).then(visitor);
    let mut stream = match source {
        Some(source) => bound_connect(source, port, PAGE_LIMIT),
        None => TcpStream::connect_timeout(&target_addr(port), PAGE_LIMIT),
    }
    .map_err(|e| format!("connect: {e}"))?;
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: pinata\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let (bytes, _) = read_until_close(&mut stream, PAGE_LIMIT.saturating_sub(start.elapsed()));
    let elapsed = start.elapsed();
    if !bytes.starts_with(b"HTTP/1.1 200") {
        let got = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).to_string();
        return Err(format!(
            "no 200 within {} ms ({got:?})",
            elapsed.as_millis()
        ));
    }
    Ok(elapsed)
}

/// Probes the page every 200 ms in the background until stopped.
pub(super) struct Prober {
    pub(super) stop: Arc<AtomicBool>,
    pub(super) handle: thread::JoinHandle<(Duration, Vec<String>)>,
}

impl Prober {
    pub(super) fn start(kind: TargetKind, port: u16) -> Prober {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = thread::spawn(move || {
            let mut max = Duration::ZERO;
            let mut failures = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                match probe_page(kind, port) {
                    Ok(t) => max = max.max(t),
                    Err(e) => {
                        max = max.max(PAGE_LIMIT);
                        failures.push(e);
                    }
                }
                thread::sleep(Duration::from_millis(200));
            }
            (max, failures)
        });
        Prober { stop, handle }
    }

    pub(super) fn finish(self) -> (Duration, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle
            .join()
            .unwrap_or((PAGE_LIMIT, vec!["prober panicked".into()]))
    }
}

/// `/stats.json`, parsed, fetched from the visitor's address.
pub(super) fn stats_json(kind: TargetKind, port: u16) -> Result<serde_json::Value, String> {
    let source = (kind != TargetKind::Vm).then(visitor);
    let mut stream =
        connect_from(source, port, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET /stats.json HTTP/1.1\r\nHost: pinata\r\n\r\n")
        .map_err(|e| e.to_string())?;
    let (bytes, _) = read_until_close(&mut stream, Duration::from_secs(3));
    let text = String::from_utf8_lossy(&bytes);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .ok_or("no /stats.json body")?;
    serde_json::from_str(body).map_err(|e| format!("bad /stats.json: {e}"))
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
