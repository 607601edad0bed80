//! `concurrent_capacity_64mib`: the most connections a 64 MiB VM holds open
//! at once while its page is still served. The goal is 1,000 or more.
//!
//! The case boots a VM of its own with 64 MiB, admission's total raised out
//! of the way (`max_connections=4096`; 64 per address as by default) and
//! the handshake and idle deadlines at 60 s, so what is measured is what
//! the stack and the memory hold, not how fast this host can open
//! connections. Then, for each size of [`STEPS`], it opens that many idle
//! connections, spread over the page's ports and the bounty server's (the
//! ports where the piñata sends nothing unasked), from the flood's 200
//! addresses (40 each at most), waits a second, and counts those still open from this side
//! (neither refused, reset nor closed), reads `open_connections` on
//! `/stats.json` and probes the page; then it closes them and lets the VM
//! settle. The capacity is the most held at once with the page answered
//! within 1 s. The steps stop once a step holds fewer than it asked for.

use std::io::{self, Read};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use super::cases::{Ctx, Exchange};
use super::net::{bound_connect_to, flood_first};
use super::side_vm::SideVm;
use super::*;

/// Connections asked for at once, in turn.
const STEPS: [usize; 8] = [128, 192, 256, 384, 512, 1024, 1536, 2048];
/// The goal.
pub(super) const GOAL: usize = 1_000;
/// Connections from one address (below the per-address limit of 64).
const PER_SOURCE: usize = 40;
/// Opening threads.
const OPENERS: usize = 16;
/// The VM's limits for the measurement (see the module docs).
const LIMITS: &str = "max_connections=4096 handshake_timeout=60 idle_timeout=60 request_timeout=60";

pub(super) fn c_concurrent_capacity(ctx: &Ctx) -> Exchange {
    if ctx.target.kind != TargetKind::Vm {
        return Exchange {
            sent: "nothing".into(),
            reply: "not applicable: a measure of the unikernel at 64 MiB".into(),
            ..Default::default()
        };
    }
    let mut vm = match SideVm::boot(ctx, 64, LIMITS) {
        Ok(vm) => vm,
        Err(e) if ctx.side_vm.is_none() => {
            return Exchange {
                sent: "nothing".into(),
                reply: format!("not applicable: {e}"),
                ..Default::default()
            };
        }
        Err(e) => {
            return Exchange {
                sent: "nothing".into(),
                reply: "could not boot a VM of 64 MiB".into(),
                problems: vec![format!("the 64 MiB VM did not boot: {e}")],
                ..Default::default()
            };
        }
    };
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    let mut capacity = 0;
    let mut peak_heap = 0u64;
    for n in STEPS {
        let step = hold(&vm, n);
        if let Ok(memory) = vm.memory() {
            peak_heap = peak_heap.max(memory.high_water_bytes);
        }
        lines.push(format!(
            "{n} asked: {} connected in {} ms, {} held at once (the VM counts {}), page {}",
            step.connected,
            step.open_time.as_millis(),
            step.held,
            step.counted.map_or("?".into(), |c| c.to_string()),
            match &step.page {
                Ok(t) => format!("{} ms", t.as_millis()),
                Err(e) => format!("NOT SERVED ({e})"),
            }
        ));
        if step.page.is_ok() {
            capacity = capacity.max(step.held);
        }
        if let Err(e) = vm.wait_settled(Duration::from_secs(90)) {
            lines.push(format!("  not settled: {e}"));
        }
        if let Err(e) = vm.alive() {
            problems.push(format!("CRASH: the 64 MiB VM died holding {n}: {e}"));
            break;
        }
        if step.held < n {
            break;
        }
    }
    if capacity < GOAL {
        problems.push(format!(
            "concurrent capacity {capacity} at 64 MiB, below the goal of {GOAL}"
        ));
    }
    lines.push(format!(
        "heap high-water {:.1} MiB of the VM's 64 MiB",
        peak_heap as f64 / (1024.0 * 1024.0)
    ));
    Exchange {
        sent: format!(
            "idle connections to 80, 443, 10000: {} … {}",
            STEPS[0],
            STEPS[STEPS.len() - 1]
        ),
        reply: format!("capacity {capacity} connections at once (goal {GOAL})"),
        seen: vm.log_since(0).join("\n").into_bytes(),
        settle: Duration::ZERO,
        details: std::iter::once(format!("a VM of 64 MiB with {LIMITS}:"))
            .chain(lines.into_iter().map(|l| format!("  {l}")))
            .collect(),
        problems,
    }
}

/// One step's figures.
struct Step {
    connected: usize,
    open_time: Duration,
    held: usize,
    counted: Option<u64>,
    page: Result<Duration, String>,
}

/// The ports the connections are spread over.
const PORTS: [u16; 3] = [80, 443, 10000];

/// Opens `n` idle connections to the VM, then counts.
fn hold(vm: &SideVm, n: usize) -> Step {
    let started = Instant::now();
    let streams: Vec<TcpStream> = thread::scope(|scope| {
        let openers: Vec<_> = (0..OPENERS)
            .map(|opener| {
                scope.spawn(move || {
                    (0..n)
                        .filter(|i| (i / PER_SOURCE) % OPENERS == opener)
                        .filter_map(|i| {
                            let index = u32::try_from(i / PER_SOURCE).ok()?;
                            let source = std::net::Ipv4Addr::from(u32::from(flood_first()) + index);
                            let to = vm.addr(PORTS[i % PORTS.len()]);
                            bound_connect_to(source, to, Duration::from_secs(3)).ok()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        openers
            .into_iter()
            .flat_map(|o| o.join().unwrap_or_default())
            .collect()
    });
    let open_time = started.elapsed();
    thread::sleep(Duration::from_secs(1));
    let held = streams.iter().filter(|s| still_open(s)).count();
    let counted = vm
        .stats()
        .ok()
        .and_then(|j| j["open_connections"].as_u64())
        .map(|c| c.saturating_sub(1));
    let page = vm.probe();
    Step {
        connected: streams.len(),
        open_time,
        held,
        counted,
        page,
    }
}

/// Whether the piñata has neither closed nor reset `stream` (it sends
/// nothing unasked on [`PORTS`]).
fn still_open(stream: &TcpStream) -> bool {
    let _ = stream.set_nonblocking(true);
    let mut buf = [0u8; 1];
    let mut reader = stream;
    matches!(reader.read(&mut buf), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
}
