//! `--soak N`: does the piñata's memory come back after many connections?
//!
//! 1. Warm-up: [`warm_up_count`] connections of the same mix as below, so
//!    buffers, caches and allocator arenas that are allocated once reach
//!    their size before the baseline is taken.
//! 2. Baseline: `"memory"` from `/stats.json` once it has stopped moving.
//! 3. N connections in a loop, cycling through [`MIX`]: the page over HTTP
//!    and over HTTPS (a successful TLS 1.3 handshake), the bounty server
//!    without a certificate (a failed handshake), the short-circuit (the
//!    piñata's bounty server and bounty client joined through this process:
//!    a successful mutual-TLS handshake on both, on either target, the
//!    secret crossing encrypted end to end), garbage on the HTTPS port, and
//!    connect-back to a port where nothing listens.
//! 4. `"memory"` again, once the piñata has closed its side.
//!
//! It passes when the memory in use after the loop is back within
//! [`tolerance`] of the baseline and the high-water mark has not grown past
//! the baseline's by more than the same tolerance. Meanwhile it reads the
//! memory every twentieth of the loop and prints the curve (connections
//! done, in use, high-water): the high-water mark must stop rising — over
//! the second half of the loop it may not grow by more than the tolerance.
//!
//! `--soak-workers W` runs the loop in W threads (default 1), each taking
//! every W-th round, so the client's work overlaps the piñata's. Without the `"memory"`
//! object on `/stats.json` (`{"source": "heap"|"process", "used_bytes",
//! "high_water_bytes", "capacity_bytes"}`) it cannot tell, and says so as a
//! problem: never a pass.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;

use super::cases::{Ctx, Exchange, NO_GAP};
use super::certs::{AnyServer, provider, rustls_client};
use super::net::connect_from;
use super::probe::{Prober, probe_page, stats, stats_json};
use super::transport::garbage;
use super::*;

/// One reading of the piñata's memory gauge (`"memory"` on `/stats.json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Memory {
    /// "heap": the unikernel's allocator, exact; "process": the hosted
    /// runner's resident set (VmRSS, VmHWM).
    pub(super) source: String,
    pub(super) used_bytes: u64,
    pub(super) high_water_bytes: u64,
    pub(super) capacity_bytes: Option<u64>,
}

/// The `"memory"` object of a `/stats.json` document.
pub(super) fn parse_memory(stats: &serde_json::Value) -> Result<Memory, String> {
    let memory = match stats.get("memory") {
        None => {
            return Err("/stats.json has no \"memory\" object: this piñata does not report memory, so the soak cannot tell whether it grows".into());
        }
        Some(serde_json::Value::Null) => {
            return Err("/stats.json says \"memory\": null: the platform has no memory gauge, so the soak cannot tell whether memory grows".into());
        }
        Some(memory) => memory,
    };
    let number = |key: &str| {
        memory[key]
            .as_u64()
            .ok_or_else(|| format!("/stats.json memory.{key} is not a number: {}", memory[key]))
    };
    let source = memory["source"]
        .as_str()
        .ok_or_else(|| format!("/stats.json memory.source is not a string: {memory}"))?;
    let capacity_bytes = match &memory["capacity_bytes"] {
        serde_json::Value::Null => None,
        _ => Some(number("capacity_bytes")?),
    };
    Ok(Memory {
        source: source.to_string(),
        used_bytes: number("used_bytes")?,
        high_water_bytes: number("high_water_bytes")?,
        capacity_bytes,
    })
}

/// How far memory may sit above the baseline after the loop.
///
/// - heap: the allocator's exact count of bytes handed out. Everything a
///   connection allocates is freed when it ends; what may stay is state
///   sized by the busiest moment (a table's capacity, a buffer pool), so
///   64 KiB — four of the stack's 16 KiB socket buffers — or 10 % of the
///   baseline, whichever is more. (Not a share of the heap's capacity:
///   that is most of the guest's RAM, about 150 times what is in use.)
/// - process: the resident set moves in pages, and glibc keeps freed memory
///   in per-thread arenas (one thread per connection hosted), so 8 MiB or
///   10 % of the baseline, whichever is more.
pub(super) fn tolerance(baseline: &Memory) -> u64 {
    match baseline.source.as_str() {
        "heap" => (64 * 1024).max(baseline.used_bytes / 10),
        _ => (8 * 1024 * 1024).max(baseline.used_bytes / 10),
    }
}

/// The soak's verdict: `Ok` with the figures, or `Err` with what grew.
pub(super) fn judge(baseline: &Memory, after: &Memory) -> Result<String, String> {
    let slack = tolerance(baseline);
    let figures = format!(
        "{} memory: used {} → {} KiB, high-water {} → {} KiB (tolerance {} KiB{})",
        baseline.source,
        baseline.used_bytes / 1024,
        after.used_bytes / 1024,
        baseline.high_water_bytes / 1024,
        after.high_water_bytes / 1024,
        slack / 1024,
        match baseline.capacity_bytes {
            Some(capacity) => format!(", capacity {} KiB", capacity / 1024),
            None => String::new(),
        }
    );
    if after.source != baseline.source {
        return Err(format!(
            "the memory source changed from {} to {}",
            baseline.source, after.source
        ));
    }
    let mut grew = Vec::new();
    if after.used_bytes > baseline.used_bytes + slack {
        grew.push("used memory did not come back");
    }
    if after.high_water_bytes > baseline.high_water_bytes + slack {
        grew.push("the high-water mark grew");
    }
    if grew.is_empty() {
        Ok(figures)
    } else {
        Err(format!("{}: {figures}", grew.join(" and ")))
    }
}

/// Warm-up connections before the baseline: a fifth of the soak, at least
/// 20 and at most 500.
pub(super) fn warm_up_count(n: usize) -> usize {
    (n / 5).clamp(20, 500)
}

/// What one soak connection does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Visit {
    Page,
    PageOverTls,
    NoCertificate,
    ShortCircuit,
    Garbage,
    ConnectBack,
}

/// The soak's cycle of connections.
const MIX: [Visit; 6] = [
    Visit::Page,
    Visit::PageOverTls,
    Visit::NoCertificate,
    Visit::ShortCircuit,
    Visit::Garbage,
    Visit::ConnectBack,
];

impl Visit {
    fn name(self) -> &'static str {
        match self {
            Visit::Page => "page",
            Visit::PageOverTls => "page over TLS",
            Visit::NoCertificate => "server without certificate",
            Visit::ShortCircuit => "short-circuit",
            Visit::Garbage => "garbage on https",
            Visit::ConnectBack => "connect-back",
        }
    }

    /// Runs the visit: what was seen, and whether the piñata answered as it
    /// should (a page, a refused handshake, a completed relay, a close).
    fn run(self, ctx: &Ctx, round: usize) -> (Vec<u8>, bool) {
        match self {
            Visit::Page => {
                let x = ctx.raw(
                    "http",
                    &[b"GET / HTTP/1.1\r\nHost: pinata\r\n\r\n".to_vec()],
                    NO_GAP,
                    false,
                );
                let ok = x.seen.starts_with(b"HTTP/1.1 200");
                (x.seen, ok)
            }
            Visit::PageOverTls => page_over_tls(ctx),
            Visit::NoCertificate => {
                let x = rustls_client(ctx, "server", false, None);
                let ok = x.seen.is_empty();
                (x.seen, ok)
            }
            Visit::ShortCircuit => short_circuit(ctx),
            Visit::Garbage => {
                let seed = u32::try_from(round % 1_000_000).unwrap_or(1) + 1;
                let x = ctx.raw("https", &[garbage(512, seed)], NO_GAP, true);
                let ok = x.reply.contains("closed");
                (x.seen, ok)
            }
            Visit::ConnectBack => {
                let x: Exchange = ctx.raw("connect_back", &[], NO_GAP, true);
                let ok = x.seen.is_empty();
                (x.seen, ok)
            }
        }
    }
}

/// GET / over HTTPS with a full TLS handshake.
fn page_over_tls(ctx: &Ctx) -> (Vec<u8>, bool) {
    let Ok(builder) = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
    else {
        return (Vec::new(), false);
    };
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyServer))
        .with_no_client_auth();
    let name = ServerName::try_from("localhost").expect("a valid DNS name");
    let Ok(mut conn) = rustls::ClientConnection::new(Arc::new(config), name) else {
        return (Vec::new(), false);
    };
    let Ok(mut sock) = connect_from(None, ctx.port("https"), Duration::from_secs(3)) else {
        return (Vec::new(), false);
    };
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    if tls
        .write_all(b"GET / HTTP/1.1\r\nHost: pinata\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return (Vec::new(), false);
    }
    let mut page = Vec::new();
    // The piñata closes after the response; a close without close_notify
    // still leaves the page read so far in `page`.
    let _ = tls.read_to_end(&mut page);
    let ok = page.starts_with(b"HTTP/1.1 200");
    (page, ok)
}

/// Joins the piñata's bounty server (10000) and bounty client (10002)
/// through this process, as README's `socat` line does: the piñata
/// completes a mutual-TLS handshake with itself and sends itself the
/// secret, encrypted; this process only relays the records. Returns the
/// relayed bytes (which must not contain the secret in clear) and whether
/// both directions carried records and ended.
fn short_circuit(ctx: &Ctx) -> (Vec<u8>, bool) {
    let wait = Duration::from_secs(3);
    let (Ok(server), Ok(client)) = (
        connect_from(None, ctx.port("server"), wait),
        connect_from(None, ctx.port("client"), wait),
    ) else {
        return (Vec::new(), false);
    };
    let deadline = Instant::now() + REPLY_WAIT * 2;
    let (to_server, to_client) = std::thread::scope(|scope| {
        let up = scope.spawn(|| relay(&client, &server, deadline));
        let down = relay(&server, &client, deadline);
        (up.join().unwrap_or_default(), down)
    });
    let ok = !to_server.is_empty() && !to_client.is_empty();
    let mut seen = to_server;
    seen.extend(to_client);
    (seen, ok)
}

/// Copies `from` to `to` until `from` ends, an error, or `deadline`; then
/// half-closes `to`. Returns the bytes copied.
fn relay(mut from: &TcpStream, mut to: &TcpStream, deadline: Instant) -> Vec<u8> {
    let mut copied = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    while Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        let _ = from.set_read_timeout(Some(left.max(Duration::from_millis(1))));
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                copied.extend_from_slice(&buf[..n]);
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
    copied
}

/// Tallies of the loop.
#[derive(Default)]
struct Loop {
    done: usize,
    as_expected: [usize; MIX.len()],
    ran: [usize; MIX.len()],
    leak: bool,
}

fn run_rounds(
    ctx: &Ctx,
    rounds: impl Iterator<Item = usize>,
    tally: &mut Loop,
    done: &AtomicUsize,
) {
    for round in rounds {
        let slot = round % MIX.len();
        let (seen, ok) = MIX[slot].run(ctx, round);
        tally.done += 1;
        tally.ran[slot] += 1;
        tally.as_expected[slot] += usize::from(ok);
        tally.leak |= contains_secret(&seen);
        done.fetch_add(1, Ordering::Relaxed);
    }
}

impl Loop {
    fn merge(&mut self, other: Loop) {
        self.done += other.done;
        for slot in 0..MIX.len() {
            self.as_expected[slot] += other.as_expected[slot];
            self.ran[slot] += other.ran[slot];
        }
        self.leak |= other.leak;
    }
}

/// One point of the memory curve.
#[derive(Debug, Clone, Copy)]
pub(super) struct Point {
    pub(super) done: usize,
    pub(super) used: u64,
    pub(super) high_water: u64,
    pub(super) seconds: f64,
}

/// How many points the curve has.
const CURVE_POINTS: usize = 20;

/// The measured loop: `count` rounds over `workers` threads, the memory
/// read each time another twentieth is done (and said, when `progress`).
fn run_measured(
    ctx: &Ctx,
    count: usize,
    workers: usize,
    tally: &mut Loop,
    progress: bool,
) -> Vec<Point> {
    let kind = ctx.target.kind;
    let port = ctx.target.visitor_port;
    let done = AtomicUsize::new(0);
    let started = Instant::now();
    let workers = workers.max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let done = &done;
                scope.spawn(move || {
                    let mut mine = Loop::default();
                    run_rounds(ctx, (w..count).step_by(workers), &mut mine, done);
                    mine
                })
            })
            .collect();
        let mut curve = Vec::new();
        let step = count.div_ceil(CURVE_POINTS).max(1);
        let mut next = step;
        loop {
            let now = done.load(Ordering::Relaxed);
            let finished = handles.iter().all(|h| h.is_finished());
            if now >= next || finished {
                if let Ok(memory) = stats_json(kind, port).and_then(|j| parse_memory(&j)) {
                    let point = Point {
                        done: now,
                        used: memory.used_bytes,
                        high_water: memory.high_water_bytes,
                        seconds: started.elapsed().as_secs_f64(),
                    };
                    if progress {
                        println!(
                            "xtask attack: soak {} of {count} in {:.0} s: {} memory in use {} KiB, high-water {} KiB",
                            point.done,
                            point.seconds,
                            memory.source,
                            point.used / 1024,
                            point.high_water / 1024
                        );
                    }
                    curve.push(point);
                }
                while next <= now {
                    next += step;
                }
            }
            if finished {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        for handle in handles {
            if let Ok(part) = handle.join() {
                tally.merge(part);
            }
        }
        curve
    })
}

/// Whether the high-water mark stopped rising: over the second half of the
/// curve it grew by at most `slack`. `Err` says by how much it grew.
pub(super) fn high_water_settles(curve: &[Point], slack: u64) -> Result<(), String> {
    let (Some(middle), Some(last)) = (curve.get(curve.len() / 2), curve.last()) else {
        return Ok(());
    };
    let growth = last.high_water.saturating_sub(middle.high_water);
    if growth > slack {
        return Err(format!(
            "the high-water mark still rose by {} KiB between {} and {} connections",
            growth / 1024,
            middle.done,
            last.done
        ));
    }
    Ok(())
}

/// Reads the gauge until it stops moving (two readings 500 ms apart within
/// a sixteenth of the tolerance), at most 10 s: the piñata finishes
/// closing the last connections after this process has.
fn settled_memory(kind: TargetKind, port: u16) -> Result<Memory, String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = parse_memory(&stats_json(kind, port)?)?;
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        let now = parse_memory(&stats_json(kind, port)?)?;
        let still = now.used_bytes.abs_diff(last.used_bytes) <= tolerance(&now) / 16;
        last = now;
        if still {
            break;
        }
    }
    Ok(last)
}

/// `--soak N` (see the module docs): a table row with the figures.
pub(super) fn soak(ctx: &Ctx, n: usize, workers: usize) -> Row {
    let kind = ctx.target.kind;
    let http = ctx.target.visitor_port;
    let started = Instant::now();
    let counters_before = stats(kind, http).ok();
    let log_from = ctx.target.log_len();
    let prober = Prober::start(kind, http);
    let mut problems = Vec::new();

    let warm = warm_up_count(n);
    let mut warm_tally = Loop::default();
    // As many workers as the loop: the busiest moment's size is reached
    // before the baseline.
    run_measured(ctx, warm, workers, &mut warm_tally, false);
    let baseline = settled_memory(kind, http);
    let mut tally = Loop::default();
    let loop_started = Instant::now();
    let curve = run_measured(ctx, n, workers, &mut tally, true);
    let loop_time = loop_started.elapsed();
    let after = settled_memory(kind, http);

    let (during, prober_problems) = prober.finish();
    problems.extend(prober_problems);
    let after_page = probe_page(kind, http);
    if let Err(e) = &after_page {
        problems.push(format!("page after: {e}"));
    }
    let secrets_moved = match (&counters_before, &stats(kind, http).ok()) {
        (Some(before), Some(after)) => {
            let key = "server.secrets_sent";
            after
                .get(key)
                .copied()
                .unwrap_or(0)
                .saturating_sub(before.get(key).copied().unwrap_or(0))
        }
        _ => 0,
    };
    let log_leak = ctx
        .target
        .log_since(log_from)
        .iter()
        .any(|line| contains_secret(line.as_bytes()));
    let leak = tally.leak || warm_tally.leak || log_leak;
    if leak {
        problems.push("SECRET SEEN".into());
    }

    let verdict = match (&baseline, &after) {
        (Ok(baseline), Ok(after)) => judge(baseline, after),
        (Err(e), _) | (_, Err(e)) => Err(e.clone()),
    };
    if let Ok(baseline) = &baseline
        && let Err(e) = high_water_settles(&curve, tolerance(baseline))
    {
        problems.push(format!("memory: {e}"));
    }
    let memory = match &verdict {
        Ok(figures) => figures.clone(),
        Err(problem) => {
            problems.push(format!("memory: {problem}"));
            "memory: see the problem below".into()
        }
    };
    let per_visit = MIX
        .iter()
        .enumerate()
        .map(|(slot, visit)| {
            format!(
                "{} {}/{}",
                visit.name(),
                tally.as_expected[slot],
                tally.ran[slot]
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let short_circuit_slot = MIX
        .iter()
        .position(|v| *v == Visit::ShortCircuit)
        .expect("the mix has a short-circuit");
    let short_circuits = tally.ran[short_circuit_slot] + warm_tally.ran[short_circuit_slot];
    Row {
        name: format!("soak_{n}"),
        service: "*".into(),
        sent: format!("{warm} warm-up + {n} connections, mixed"),
        reply: memory.clone(),
        leak,
        during_ms: during.as_millis(),
        after_ms: after_page.as_ref().ok().map(|t| t.as_millis()),
        counters: String::new(),
        details: [
            format!(
                "{} connections in {} s; the loop's {n} in {} s ({:.0}/s, {} worker{}); answered as expected: {per_visit}",
                warm + n,
                started.elapsed().as_secs(),
                loop_time.as_secs(),
                n as f64 / loop_time.as_secs_f64().max(0.001),
                workers.max(1),
                if workers > 1 { "s" } else { "" }
            ),
            format!(
                "server.secrets_sent +{secrets_moved} for {short_circuits} short-circuits (the piñata to itself, encrypted end to end; never seen here)"
            ),
            memory,
            format!(
                "{} memory curve (connections done: in use / high-water KiB, at seconds):",
                baseline.as_ref().map_or("the", |b| b.source.as_str())
            ),
        ]
        .into_iter()
        .chain(curve.iter().map(|p| {
            format!(
                "  {:>9}: {:>7} / {:>7} KiB  {:>7.0} s",
                p.done,
                p.used / 1024,
                p.high_water / 1024,
                p.seconds
            )
        }))
        .collect(),
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory(source: &str, used: u64, high: u64, capacity: Option<u64>) -> Memory {
        Memory {
            source: source.into(),
            used_bytes: used,
            high_water_bytes: high,
            capacity_bytes: capacity,
        }
    }

    #[test]
    fn parses_the_memory_object() {
        let stats = serde_json::json!({
            "uptime_s": 3,
            "memory": {"source": "heap", "used_bytes": 1234, "high_water_bytes": 5678, "capacity_bytes": 9999},
        });
        assert_eq!(
            parse_memory(&stats),
            Ok(memory("heap", 1234, 5678, Some(9999)))
        );
        let hosted = serde_json::json!({
            "memory": {"source": "process", "used_bytes": 10, "high_water_bytes": 20, "capacity_bytes": null},
        });
        assert_eq!(parse_memory(&hosted), Ok(memory("process", 10, 20, None)));
    }

    #[test]
    fn no_memory_figures_is_an_error_not_a_pass() {
        let absent = serde_json::json!({"uptime_s": 3});
        assert!(parse_memory(&absent).unwrap_err().contains("no \"memory\""));
        let null = serde_json::json!({"memory": null});
        assert!(parse_memory(&null).unwrap_err().contains("null"));
        let broken = serde_json::json!({"memory": {"source": "heap", "used_bytes": "lots"}});
        assert!(parse_memory(&broken).unwrap_err().contains("used_bytes"));
    }

    #[test]
    fn memory_back_within_tolerance_passes_and_growth_fails() {
        let base = memory("heap", 1_000_000, 2_000_000, Some(128 << 20));
        // 10 % of the baseline is above 64 KiB; the capacity does not count.
        assert_eq!(tolerance(&base), 100_000);
        assert!(
            judge(
                &base,
                &memory("heap", 1_090_000, 2_090_000, Some(128 << 20))
            )
            .is_ok()
        );
        let small = memory("heap", 100_000, 200_000, None);
        assert_eq!(tolerance(&small), 64 * 1024);
        let leaked = judge(
            &base,
            &memory("heap", 1_400_000, 2_000_000, Some(128 << 20)),
        );
        assert!(
            leaked
                .unwrap_err()
                .starts_with("used memory did not come back")
        );
        let higher = judge(
            &base,
            &memory("heap", 1_000_000, 2_400_000, Some(128 << 20)),
        );
        assert!(higher.unwrap_err().starts_with("the high-water mark grew"));
    }

    #[test]
    fn process_memory_gets_page_and_arena_slack() {
        let base = memory("process", 20 << 20, 30 << 20, None);
        assert_eq!(tolerance(&base), 8 << 20);
        assert!(judge(&base, &memory("process", 27 << 20, 37 << 20, None)).is_ok());
        assert!(judge(&base, &memory("process", 29 << 20, 30 << 20, None)).is_err());
        assert!(judge(&base, &memory("heap", 20 << 20, 30 << 20, None)).is_err());
    }

    #[test]
    fn the_high_water_mark_must_settle_over_the_second_half() {
        let point = |done, high_water| Point {
            done,
            used: 0,
            high_water,
            seconds: 0.0,
        };
        let flat = [
            point(10, 100),
            point(20, 900),
            point(30, 1000),
            point(40, 1010),
        ];
        assert!(high_water_settles(&flat, 64).is_ok());
        let rising = [
            point(10, 100),
            point(20, 900),
            point(30, 1000),
            point(40, 2000),
        ];
        let error = high_water_settles(&rising, 64).unwrap_err();
        assert!(error.contains("between 30 and 40"), "{error}");
        assert!(high_water_settles(&[], 64).is_ok());
    }

    #[test]
    fn warm_up_is_a_fifth_within_bounds() {
        assert_eq!(warm_up_count(10), 20);
        assert_eq!(warm_up_count(1000), 200);
        assert_eq!(warm_up_count(100_000), 500);
    }
}
