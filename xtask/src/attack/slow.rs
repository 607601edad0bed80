//! Slow peers: one that never reads the page (`slow_read`) and one that
//! trickles a byte every 400 ms, before the piñata's close and after it
//! (`trickle_after_close`).
//!
//! - **slow_read**: [`SLOW_READERS`] connections from four addresses ask
//!   for the page with a receive window of about 2 KiB and never read it,
//!   for [`SLOW_HOLD`]. The page (about 8 KiB) cannot leave; the piñata must
//!   give up on them (a peer that stops reading is reset after a grace, a
//!   released socket lingers a bounded time) while the page keeps
//!   answering everybody else.
//! - **trickle_after_close**: [`TRICKLERS`] connections from one address
//!   write a request a byte every 400 ms that never ends: the request
//!   deadline closes them (FIN). They go on writing a byte every 400 ms. The
//!   piñata's side must be gone — a write answered by a reset — within
//!   [`LINGER_LIMIT`] of its FIN: a linger that reads as long as the peer
//!   sends holds a thread and a file descriptor (hosted) for as long as the
//!   peer likes, outside `open_connections`. Against the hosted runner the
//!   row also shows the process's descriptors and threads next to
//!   `open_connections`.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use super::cases::{Ctx, Exchange};
use super::net::{bound_connect_with, spare_source, target_addr};
use super::probe::stats_json;
use super::*;

/// Connections that never read, and from how many addresses.
const SLOW_READERS: usize = 32;
const SLOW_ADDRESSES: usize = 4;
/// How long they are held: past the piñata's close grace (5 s) and its
/// linger (10 s).
const SLOW_HOLD: Duration = Duration::from_secs(20);
/// Spare source indices of the slow readers and the tricklers.
const SLOW_FIRST_SOURCE: usize = 40;
const TRICKLE_SOURCE: usize = 45;

/// Trickling connections, their pace, and the most the piñata may hold on
/// after its FIN.
const TRICKLERS: usize = 8;
const TRICKLE_EVERY: Duration = Duration::from_millis(400);
pub(super) const LINGER_LIMIT: Duration = Duration::from_secs(20);
/// The case's bound: the request deadline (10 s), the limit, and slack.
const TRICKLE_MAX: Duration = Duration::from_secs(45);

fn not_applicable() -> Exchange {
    Exchange {
        sent: "nothing".into(),
        reply: "not applicable: needs many source addresses (hosted, or --net tap)".into(),
        ..Default::default()
    }
}

pub(super) fn c_slow_read(ctx: &Ctx) -> Exchange {
    if spare_source(SLOW_FIRST_SOURCE + SLOW_ADDRESSES).is_none() {
        return not_applicable();
    }
    let to = target_addr(ctx.port("http"));
    let mut streams = Vec::new();
    let mut refused = 0;
    for i in 0..SLOW_READERS {
        let source = spare_source(SLOW_FIRST_SOURCE + i % SLOW_ADDRESSES).expect("checked");
        match bound_connect_with(source, to, Duration::from_secs(3), Some(1024)) {
            Ok(mut stream) => {
                let _ = stream.write_all(b"GET / HTTP/1.1\r\nHost: pinata\r\n\r\n");
                streams.push(stream);
            }
            Err(_) => refused += 1,
        }
    }
    // What the piñata counts open, every second of the hold.
    let started = Instant::now();
    let mut open_curve = Vec::new();
    while started.elapsed() < SLOW_HOLD {
        thread::sleep(Duration::from_secs(1));
        let open = stats_json(ctx.target.kind, ctx.target.visitor_port)
            .ok()
            .and_then(|j| j["open_connections"].as_u64());
        open_curve.push(open.map_or("?".into(), |n| n.saturating_sub(1).to_string()));
    }
    // Now read what came: how each connection ended.
    let (mut reset, mut closed, mut open, mut bytes) = (0, 0, 0, 0);
    let mut seen = Vec::new();
    for mut stream in streams {
        let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
        let mut got = Vec::new();
        let end = loop {
            let mut buf = [0u8; 4096];
            match stream.read(&mut buf) {
                Ok(0) => break "closed",
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    break "open";
                }
                Err(_) => break "reset",
            }
            if got.len() > 64 * 1024 {
                break "open";
            }
        };
        match end {
            "closed" => closed += 1,
            "reset" => reset += 1,
            _ => open += 1,
        }
        bytes += got.len();
        seen.extend(got);
    }
    let settled = probe::wait_settled(
        ctx.target.kind,
        ctx.target.visitor_port,
        Duration::from_secs(30),
    );
    let mut problems = Vec::new();
    if let Err(e) = &settled {
        problems.push(format!("after the slow readers: {e}"));
    }
    Exchange {
        sent: format!(
            "{} page requests from {SLOW_ADDRESSES} addresses, ~2 KiB window, never read, {} s",
            SLOW_READERS - refused,
            SLOW_HOLD.as_secs()
        ),
        reply: format!(
            "after {} s: {reset} reset, {closed} closed, {open} still open",
            SLOW_HOLD.as_secs()
        ),
        seen,
        settle: Duration::ZERO,
        details: vec![
            format!(
                "{} connected ({refused} refused); read after the hold: {bytes} B in all, {reset} reset by the piñata, {closed} closed after the page, {open} still open",
                SLOW_READERS - refused
            ),
            format!(
                "open_connections (without the stats request) each second of the hold: {}",
                open_curve.join(" ")
            ),
            match settled {
                Ok(t) => format!("settled {} ms after the readers closed", t.as_millis()),
                Err(e) => format!("not settled: {e}"),
            },
        ],
        problems,
    }
}

/// What became of one trickling connection.
#[derive(Debug, Default, Clone)]
struct Trickle {
    bytes_written: usize,
    /// When the piñata's FIN (or its answer and FIN) arrived.
    fin_at: Option<Duration>,
    /// When a write (or read) failed: the piñata's side is gone.
    gone_at: Option<Duration>,
    how: String,
}

fn trickle(source: Ipv4Addr, ctx_port: u16, started: Instant) -> Trickle {
    let mut t = Trickle::default();
    let mut stream: TcpStream =
        match bound_connect_with(source, target_addr(ctx_port), Duration::from_secs(3), None) {
            Ok(s) => s,
            Err(e) => {
                t.how = format!("connect: {e}");
                return t;
            }
        };
    let _ = stream.set_nonblocking(true);
    let mut request = b"GET / HTTP/1.1\r\nHost: p\r\nX: ".to_vec();
    request.reverse();
    loop {
        let now = started.elapsed();
        if now > TRICKLE_MAX
            || t.fin_at
                .is_some_and(|fin| now > fin + LINGER_LIMIT + TRICKLE_EVERY * 3)
        {
            t.how = "still accepted bytes at the end".into();
            return t;
        }
        let byte = request.pop().unwrap_or(b'a');
        match stream.write(&[byte]) {
            Ok(n) => t.bytes_written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => {
                t.gone_at = Some(now);
                t.how = format!("write: {}", e.kind());
                return t;
            }
        }
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => {
                    t.fin_at.get_or_insert(started.elapsed());
                    break;
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    t.gone_at = Some(started.elapsed());
                    t.how = format!("read: {}", e.kind());
                    return t;
                }
            }
        }
        thread::sleep(TRICKLE_EVERY);
    }
}

/// The hosted runner's descriptors and threads (from /proc).
fn process_figures(pid: u32) -> Option<(usize, usize)> {
    let count = |what: &str| {
        std::fs::read_dir(format!("/proc/{pid}/{what}"))
            .ok()
            .map(|d| d.count())
    };
    Some((count("fd")?, count("task")?))
}

pub(super) fn c_trickle_after_close(ctx: &Ctx) -> Exchange {
    let Some(source) = spare_source(TRICKLE_SOURCE) else {
        return not_applicable();
    };
    let hosted = ctx.target.kind == TargetKind::Hosted;
    let pid = ctx.target.process.child.id();
    let before = hosted.then(|| process_figures(pid)).flatten();
    let started = Instant::now();
    let port = ctx.port("http");
    let (results, lingering) = thread::scope(|scope| {
        let tricklers: Vec<_> = (0..TRICKLERS)
            .map(|_| scope.spawn(move || trickle(source, port, started)))
            .collect();
        // While the closed connections are being trickled at: what the
        // piñata counts, and (hosted) what the process holds.
        thread::sleep(Duration::from_secs(16));
        let open = stats_json(ctx.target.kind, ctx.target.visitor_port)
            .ok()
            .and_then(|j| j["open_connections"].as_u64());
        let figures = hosted.then(|| process_figures(pid)).flatten();
        let results: Vec<Trickle> = tricklers
            .into_iter()
            .map(|t| t.join().unwrap_or_default())
            .collect();
        (results, (open, figures))
    });
    let after = hosted.then(|| process_figures(pid)).flatten();
    let mut problems = Vec::new();
    let closed: Vec<&Trickle> = results.iter().filter(|t| t.fin_at.is_some()).collect();
    let held: Vec<&Trickle> = closed
        .iter()
        .copied()
        .filter(|t| match (t.fin_at, t.gone_at) {
            (Some(fin), Some(gone)) => gone.saturating_sub(fin) > LINGER_LIMIT,
            (Some(_), None) => true,
            _ => false,
        })
        .collect();
    if closed.len() < results.len() {
        problems.push(format!(
            "{} of {} trickling requests were never closed by the piñata within {} s",
            results.len() - closed.len(),
            results.len(),
            TRICKLE_MAX.as_secs()
        ));
    }
    if !held.is_empty() {
        problems.push(format!(
            "{} of {} connections still took bytes over {} s after the piñata's FIN (a byte every {} ms keeps the linger going)",
            held.len(),
            closed.len(),
            LINGER_LIMIT.as_secs(),
            TRICKLE_EVERY.as_millis()
        ));
    }
    let timeline = |t: &Trickle| match (t.fin_at, t.gone_at) {
        (Some(fin), Some(gone)) => format!(
            "FIN at {:.1} s, gone {:.1} s later ({})",
            fin.as_secs_f64(),
            gone.saturating_sub(fin).as_secs_f64(),
            t.how
        ),
        (Some(fin), None) => format!(
            "FIN at {:.1} s, {} after {:.1} s more",
            fin.as_secs_f64(),
            t.how,
            started.elapsed().saturating_sub(fin).as_secs_f64()
        ),
        (None, _) => format!("no FIN ({})", t.how),
    };
    let mut details = vec![format!(
        "{} connections from {source}, a request byte every {} ms, on after the close: {}",
        results.len(),
        TRICKLE_EVERY.as_millis(),
        results.iter().map(timeline).collect::<Vec<_>>().join("; ")
    )];
    let (open, figures) = lingering;
    let mut during = format!(
        "16 s in (after the request deadline): open_connections {}",
        open.map_or("?".into(), |n| n.saturating_sub(1).to_string())
    );
    if let (Some((fd0, th0)), Some((fd, th))) = (before, figures) {
        during.push_str(&format!(
            "; the process holds {fd} descriptors and {th} threads (before: {fd0} and {th0})"
        ));
    }
    if let Some((fd, th)) = after {
        during.push_str(&format!("; at the end {fd} and {th}"));
    }
    details.push(during);
    Exchange {
        sent: format!(
            "{} requests a byte every {} ms, on after the close",
            results.len(),
            TRICKLE_EVERY.as_millis()
        ),
        reply: format!(
            "{} closed by the piñata, {} held over {} s after",
            closed.len(),
            held.len(),
            LINGER_LIMIT.as_secs()
        ),
        seen: Vec::new(),
        settle: Duration::ZERO,
        details,
        problems,
    }
}
