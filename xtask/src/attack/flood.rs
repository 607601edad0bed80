//! The idle flood: 10,000 TCP connections opened and left idle while the
//! page is probed, then closed.
//!
//! The piñata holds a bounded number of connections (hosted: 512 in all, 64
//! per peer address; the unikernel's stack: 256 sockets) and, under
//! pressure, evicts the connection idle longest; so most of the flood must
//! be refused or evicted while the page keeps answering within 1 s. The case
//! reports what became of the connections from the attacker's side —
//! connected or not, and at the end of the hold still open, closed by the
//! piñata (FIN) or reset — and the piñata's own count (`over_capacity`,
//! `evicted`, and `timeout` for idle ones, on `/stats.json`).
//!
//! Hosted, one address would only test the per-peer limit, so the flood
//! comes from 200 loopback addresses (127.1.0.1 onwards: not 127.0.0.1,
//! the other cases' attacker, nor 127.0.0.2, the visitor), fewer connections each
//! than the per-peer limit, and reaches the total limit and eviction. Under
//! QEMU's user networking every host connection reaches the guest from
//! 10.0.2.2 with the host socket's port, so there the flood comes from
//! 127.0.0.1 only: a second host address would hand the guest two
//! connections with the same address and port. Against an external
//! target (`--target external:IP --sources S`) the flood comes, as hosted,
//! from 200 addresses, the ones after S, which the caller has configured.

use std::io::{self, Read};
use std::net::{Ipv4Addr, TcpStream};
use std::time::{Duration, Instant};

use super::cases::{Ctx, Exchange};
use super::net::{bound_connect, flood_first, many_sources, target_addr};
use super::probe::{stats, wait_settled};
use super::*;

/// Connections the flood opens.
pub(super) const FLOOD_CONNECTIONS: usize = 10_000;

/// Hosted: connections from each source address, below the default
/// per-peer limit (64), so the flood is stopped by the total limit.
const PER_SOURCE: usize = 50;

/// File descriptors kept back from the flood for everything else this
/// process opens meanwhile (page probes, stats reads, QEMU's pipes).
const FD_RESERVE: u64 = 256;

/// How long the connections are held idle once opened: below the piñata's
/// idle timeout (5 s), so what is still open at the end was admitted and
/// kept, not yet timed out.
const HOLD: Duration = Duration::from_secs(3);
/// Longest wait for the piñata to be done with the flood after it is
/// closed (QEMU's user network delivers and tears down the connections it
/// queued, a few dozen a second under TCG).
const SETTLE_LIMIT: Duration = Duration::from_secs(120);

/// The most the opening may take before the flood stops short (and says
/// so): keeps the quick battery within minutes when a target accepts
/// slowly (QEMU's user networking under TCG).
fn open_budget(kind: TargetKind) -> Duration {
    match (kind, many_sources()) {
        (TargetKind::Hosted, _) => Duration::from_secs(60),
        // A guest behind a real backend (a tap device, Xen's netback): all
        // 10,000, at the pace the network allows (a Xen domU inside QEMU's
        // TCG accepts some 45 a second), within reason.
        (TargetKind::External | TargetKind::Vm, true) => Duration::from_secs(300),
        // Short: QEMU's user network delivers what it accepted to the
        // guest at its own slow pace long after the host side is closed
        // (2,000 connections took minutes to drain under TCG and slowed
        // the cases after this one); the case waits for that drain.
        (TargetKind::External | TargetKind::Vm, false) => Duration::from_secs(20),
    }
}

/// Why the VM flood falls short of 10,000 within its budget.
const SLIRP_ACCEPT_RATE: &str = "QEMU's user networking (libslirp) listens on a forwarded port with a backlog of 1 and accepts one connection per turn of QEMU's main loop, so further SYNs wait for their retransmission (1 s, 3 s, …); under TCG here that is about 20 connections a second, some 8 minutes for 10,000";

/// The i-th flood connection's source address (hosted and external).
fn source_address(i: usize) -> Ipv4Addr {
    let index = u32::try_from(i / PER_SOURCE).expect("flood sources fit in u32");
    Ipv4Addr::from(u32::from(flood_first()) + index)
}

/// How many connections this process can hold: the flood's size, or less
/// when the open-file limit (raised to the hard limit at start) is lower.
fn flood_size(open_files: u64) -> usize {
    let room = open_files.saturating_sub(FD_RESERVE);
    FLOOD_CONNECTIONS.min(usize::try_from(room).unwrap_or(usize::MAX))
}

/// What became of the flood's connections, from the attacker's side.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    connected: usize,
    connect_refused: usize,
    connect_timed_out: usize,
    connect_other: usize,
    first_connect_error: Option<String>,
    still_open: usize,
    closed_by_pinata: usize,
    reset_by_pinata: usize,
    bytes_received: usize,
    /// Connects that took over a second: the target's accept queue was
    /// full and the SYN had to be sent again.
    slow_connects: usize,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.connected += other.connected;
        self.connect_refused += other.connect_refused;
        self.connect_timed_out += other.connect_timed_out;
        self.connect_other += other.connect_other;
        if self.first_connect_error.is_none() {
            self.first_connect_error = other.first_connect_error;
        }
        self.still_open += other.still_open;
        self.closed_by_pinata += other.closed_by_pinata;
        self.reset_by_pinata += other.reset_by_pinata;
        self.bytes_received += other.bytes_received;
        self.slow_connects += other.slow_connects;
    }

    fn connect_failed(&mut self, e: &io::Error) {
        match e.kind() {
            io::ErrorKind::ConnectionRefused => self.connect_refused += 1,
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => self.connect_timed_out += 1,
            _ => self.connect_other += 1,
        }
        if self.first_connect_error.is_none() {
            self.first_connect_error = Some(e.to_string());
        }
    }

    /// Classifies a held connection without waiting: data or FIN queued,
    /// reset, or nothing (still open).
    fn check(&mut self, stream: &TcpStream, seen: &mut Vec<u8>) {
        let _ = stream.set_nonblocking(true);
        let mut buf = [0u8; 4096];
        let mut reader = stream;
        // Bounded: a peer cannot keep more than its window queued here, and
        // the piñata sends nothing unasked; 16 reads is far beyond that.
        for _ in 0..16 {
            match reader.read(&mut buf) {
                Ok(0) => {
                    self.closed_by_pinata += 1;
                    return;
                }
                Ok(n) => {
                    self.bytes_received += n;
                    seen.extend_from_slice(&buf[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.still_open += 1;
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                    self.reset_by_pinata += 1;
                    return;
                }
                Err(_) => {
                    self.reset_by_pinata += 1;
                    return;
                }
            }
        }
        self.still_open += 1;
    }
}

/// Threads opening the flood's connections. A connect that meets a full
/// accept queue waits a second for its SYN to be sent again; with several
/// openers those waits overlap instead of adding up.
const OPENERS: usize = 16;

/// How long one connect may wait (two SYN retransmissions) before it
/// counts as timed out.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(3500);

/// Opens `n` connections to `port` with [`OPENERS`] threads, each owning
/// whole source addresses, stopping at `deadline`. Returns the streams,
/// the tally of the opening, and whether the deadline cut it short.
fn open_connections(port: u16, n: usize, deadline: Instant) -> (Vec<TcpStream>, Tally, bool) {
    let results: Vec<(Vec<TcpStream>, Tally, bool)> = std::thread::scope(|scope| {
        let openers: Vec<_> = (0..OPENERS)
            .map(|opener| {
                scope.spawn(move || {
                    let mut streams = Vec::new();
                    let mut tally = Tally::default();
                    let mine = (0..n).filter(|i| (i / PER_SOURCE) % OPENERS == opener);
                    for i in mine {
                        if Instant::now() > deadline {
                            return (streams, tally, true);
                        }
                        let connect_started = Instant::now();
                        let attempt = if many_sources() {
                            bound_connect(source_address(i), port, CONNECT_TIMEOUT)
                        } else {
                            TcpStream::connect_timeout(&target_addr(port), CONNECT_TIMEOUT)
                        };
                        if connect_started.elapsed() > Duration::from_secs(1) {
                            tally.slow_connects += 1;
                        }
                        match attempt {
                            Ok(stream) => {
                                tally.connected += 1;
                                streams.push(stream);
                            }
                            Err(e) => tally.connect_failed(&e),
                        }
                    }
                    (streams, tally, false)
                })
            })
            .collect();
        openers
            .into_iter()
            .map(|opener| {
                opener
                    .join()
                    .unwrap_or_else(|_| (Vec::new(), Tally::default(), true))
            })
            .collect()
    });
    let mut all = Vec::with_capacity(n);
    let mut tally = Tally::default();
    let mut stopped_short = false;
    for (streams, part, short) in results {
        all.extend(streams);
        tally.merge(part);
        stopped_short |= short;
    }
    (all, tally, stopped_short)
}

/// The piñata's failure counters for `service` that a flood moves.
const FLOOD_REASONS: [&str; 3] = ["over_capacity", "evicted", "timeout"];

pub(super) fn c_flood_idle(ctx: &Ctx) -> Exchange {
    flood_idle(ctx, "server")
}

fn flood_idle(ctx: &Ctx, service: &str) -> Exchange {
    let kind = ctx.target.kind;
    let port = ctx.port(service);
    let n = flood_size(ctx.open_files);
    let mut limit_note = String::new();
    if n < FLOOD_CONNECTIONS {
        limit_note = format!(
            " (only {n} of {FLOOD_CONNECTIONS}: the open-file limit is {} and {FD_RESERVE} are kept back)",
            ctx.open_files
        );
    }
    let counters_before = stats(kind, ctx.target.visitor_port).ok();
    let started = Instant::now();
    let budget = open_budget(kind);
    let (streams, mut tally, stopped_short) = open_connections(port, n, started + budget);
    let attempted =
        tally.connected + tally.connect_refused + tally.connect_timed_out + tally.connect_other;
    let open_time = started.elapsed();
    // Held idle while the prober keeps asking for the page.
    std::thread::sleep(HOLD);
    let mut seen = Vec::new();
    for stream in &streams {
        tally.check(stream, &mut seen);
    }
    let counters_after = stats(kind, ctx.target.visitor_port).ok();
    drop(streams);
    // The case is over when the piñata has dealt with its aftermath, so
    // the next case does not pay for this one.
    let settled = match wait_settled(kind, ctx.target.visitor_port, SETTLE_LIMIT) {
        Ok(took) => format!("settled {} ms after closing", took.as_millis()),
        Err(e) => format!("not settled: {e}"),
    };

    let counters = match (&counters_before, &counters_after) {
        (Some(before), Some(after)) => FLOOD_REASONS
            .iter()
            .map(|reason| {
                let key = format!("{service}.{reason}");
                let moved = after
                    .get(&key)
                    .copied()
                    .unwrap_or(0)
                    .saturating_sub(before.get(&key).copied().unwrap_or(0));
                format!("{reason} {moved}")
            })
            .collect::<Vec<_>>()
            .join(", "),
        _ => "counters unreadable".into(),
    };
    let from = if many_sources() {
        format!(
            "from {} addresses {}…, {PER_SOURCE} each",
            attempted.div_ceil(PER_SOURCE),
            flood_first()
        )
    } else {
        "from 127.0.0.1 (all reach the guest as 10.0.2.2)".into()
    };
    let rate = attempted as f64 / open_time.as_secs_f64().max(0.001);
    let short = match (stopped_short, many_sources()) {
        (false, _) => String::new(),
        (true, false) => format!(
            "; stopped after {attempted} of {n} when the {} s opening budget ran out ({rate:.0}/s): {SLIRP_ACCEPT_RATE}",
            budget.as_secs()
        ),
        (true, true) => format!(
            "; stopped after {attempted} of {n} when the {} s opening budget ran out ({rate:.0}/s)",
            budget.as_secs()
        ),
    };
    let connect_failures = if tally.connected == attempted {
        String::new()
    } else {
        format!(
            " ({} refused, {} timed out, {} other; first: {})",
            tally.connect_refused,
            tally.connect_timed_out,
            tally.connect_other,
            tally.first_connect_error.as_deref().unwrap_or("?")
        )
    };
    let sent = format!(
        "{attempted} idle connections to {service} {from}, opened in {} ms ({rate:.0}/s), held {} s{limit_note}{short}",
        open_time.as_millis(),
        HOLD.as_secs()
    );
    let reply = format!(
        "{} of {attempted} connected{connect_failures}, {} after over 1 s; after the hold {} still open, {} closed by the piñata (FIN), {} reset, {} B received; piñata counted: {counters}; {settled}",
        tally.connected,
        tally.slow_connects,
        tally.still_open,
        tally.closed_by_pinata,
        tally.reset_by_pinata,
        tally.bytes_received
    );
    Exchange {
        sent: format!("{attempted} idle connections, held {} s", HOLD.as_secs()),
        reply: format!(
            "{} connected: {} open, {} FIN, {} RST",
            tally.connected, tally.still_open, tally.closed_by_pinata, tally.reset_by_pinata
        ),
        seen,
        settle: Duration::from_secs(1),
        details: vec![format!("sent: {sent}"), format!("came back: {reply}")],
        problems: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_stay_below_the_per_peer_limit_and_off_the_other_addresses() {
        assert_eq!(source_address(0), Ipv4Addr::new(127, 1, 0, 1));
        assert_eq!(source_address(PER_SOURCE - 1), Ipv4Addr::new(127, 1, 0, 1));
        assert_eq!(source_address(PER_SOURCE), Ipv4Addr::new(127, 1, 0, 2));
        let last = source_address(FLOOD_CONNECTIONS - 1);
        assert_eq!(
            u32::from(last) - u32::from(Ipv4Addr::new(127, 1, 0, 0)),
            FLOOD_CONNECTIONS.div_ceil(PER_SOURCE) as u32
        );
        assert!(last.is_loopback());
        const { assert!(PER_SOURCE < 64) };
    }

    #[test]
    fn the_flood_shrinks_to_the_open_file_limit() {
        assert_eq!(flood_size(20_000), FLOOD_CONNECTIONS);
        assert_eq!(flood_size(1024), 1024 - FD_RESERVE as usize);
        assert_eq!(flood_size(100), 0);
        assert_eq!(flood_size(u64::MAX), FLOOD_CONNECTIONS);
    }
}
