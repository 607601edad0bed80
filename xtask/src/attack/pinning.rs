//! `heap_pinning_32mib`, `heap_pinning_64mib`: can stalled handshakes from
//! a few addresses exhaust the unikernel's heap?
//!
//! Each connection sends part of a handshake message and then stalls: the
//! TLS library keeps the partial message (and the buffers grown to hold it)
//! until the rest comes or the handshake deadline ends the connection.
//! Two kinds, one per port, each in two sizes:
//!
//! - HTTPS (443): the first 48 KiB of a ClientHello declaring ~64 KiB
//!   (three full records of a hello padded with a `padding` extension).
//! - The bounty server (10000): a whole TLS 1.2 ClientHello of ~64 KiB —
//!   which rustls keeps in full, with the rest of the transcript, while a
//!   client certificate is pending (its signature covers them) — then the
//!   first 48 KiB of a Certificate message declaring ~64 KiB.
//! - The same two just under the piñata's bound on a handshake message
//!   ([`AT_BOUND`], below 20 KiB, `pinata::tls::MAX_INCOMING`), all but the
//!   last [`HELD_BACK`] bytes sent: what an attacker who knows the bound
//!   sends to pin the most a connection is allowed (the 64 KiB kind is
//!   ended by the bound; this kind must be stopped by the memory budget).
//!
//! The case boots a VM of its own with the given RAM and the default limits
//! (`SideVm`: 512 connections in all, 64 per address), opens 64 connections
//! from each of [`ADDRESSES`] addresses — more than one address's limit
//! allows, so the total and the stack's sockets are what stop them — on
//! the HTTPS port and the bounty server alike, and holds them while the
//! handshake deadline runs. Meanwhile it reads the heap on `/stats.json`
//! every 250 ms and probes the page. A VM that powers off (an allocation
//! failed: the console says `PANIC … memory allocation … failed`, then
//! `power off`) or a page that stops answering fails the case; the figures
//! are the peak heap against the capacity and what became of the
//! connections.

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::cases::{Ctx, Exchange};
use super::net::{bound_connect_to, spare_source};
use super::records::{Hello, record};
use super::side_vm::SideVm;
use super::*;

/// Source addresses the connections come from (≥ 8: the default limit of
/// 64 per address times 8 is the 512 in all).
const ADDRESSES: usize = 12;
/// Connections from each address: the default per-address limit.
const PER_ADDRESS: usize = 64;
/// Bytes of the stalled message actually sent.
const SENT: usize = 48 * 1024;
/// What a stalled message declares: about 64 KiB, below TLS's 2^16 - 1
/// where a handshake message's length must stay for rustls.
const DECLARED: usize = 64 * 1024 - 512;
/// What a stalled message just under the piñata's bound declares: its
/// records (5 bytes each) and message header fit within 20 KiB.
const AT_BOUND: usize = 20 * 1024 - 512;
/// Bytes of the message under the bound kept back (the stall).
const HELD_BACK: usize = 64;
/// How long the connections are held: past the handshake deadline (10 s),
/// so the VM ends them itself.
const HOLD: Duration = Duration::from_secs(13);
/// The guest ports attacked: the HTTPS page and the bounty server.
const PORTS: [u16; 2] = [443, 10000];

pub(super) fn c_heap_pinning_32(ctx: &Ctx) -> Exchange {
    heap_pinning(ctx, 32)
}

pub(super) fn c_heap_pinning_64(ctx: &Ctx) -> Exchange {
    heap_pinning(ctx, 64)
}

/// `hello` grown to `declared` bytes by a `padding` extension (RFC 7685:
/// zeros).
fn padded(mut hello: Hello, declared: usize) -> Vec<u8> {
    let bare = hello.message().len();
    hello.extra.push((21, vec![0; declared - bare - 4]));
    hello.message()
}

/// Handshake bytes as records of 16 KiB at most.
fn in_records(message: &[u8]) -> Vec<u8> {
    message
        .chunks(16 * 1024)
        .flat_map(|fragment| record(0x16, 0x0301, fragment))
        .collect()
}

/// The first `sent` bytes of a ClientHello declaring `declared`.
fn partial_hello(declared: usize, sent: usize) -> Vec<u8> {
    in_records(&padded(Hello::modern(), declared)[..sent])
}

/// A whole TLS 1.2 ClientHello of `declared` bytes, then the first `sent`
/// bytes of a Certificate message declaring as many (an empty-looking
/// list: it is never finished).
fn hello_then_partial_certificate(declared: usize, sent: usize) -> Vec<u8> {
    let mut bytes = in_records(&padded(Hello::tls12(), declared));
    let body = declared - 4;
    let mut certificate = vec![11];
    certificate.extend_from_slice(&u32::try_from(body).expect("small").to_be_bytes()[1..]);
    certificate.extend_from_slice(&u32::try_from(body - 3).expect("small").to_be_bytes()[1..]);
    certificate.resize(sent, 0);
    bytes.extend(in_records(&certificate));
    bytes
}

/// What the i-th connection sends, to `PORTS[i % 2]`: the 64 KiB kinds and
/// the kinds under the bound, in turn.
fn payloads() -> [Vec<u8>; 4] {
    [
        partial_hello(DECLARED, SENT),
        hello_then_partial_certificate(DECLARED, SENT),
        partial_hello(AT_BOUND, AT_BOUND - HELD_BACK),
        hello_then_partial_certificate(AT_BOUND, AT_BOUND - HELD_BACK),
    ]
}

/// The heap as `/stats.json` showed it while the connections were held.
#[derive(Default)]
struct Watch {
    readings: usize,
    unreadable: usize,
    peak_used: u64,
    peak_open: u64,
    capacity: Option<u64>,
}

fn heap_pinning(ctx: &Ctx, memory_mib: u32) -> Exchange {
    let sent = format!(
        "{} connections ({PER_ADDRESS} from each of {ADDRESSES} addresses), half to 443 with a stalled ClientHello, half to 10000 with a whole TLS 1.2 ClientHello then a stalled Certificate; every other one 64 KiB (48 KiB sent), the rest {} B, just under the piñata's bound ({HELD_BACK} B held back); then silence for {} s, against a VM of {memory_mib} MiB",
        ADDRESSES * PER_ADDRESS,
        AT_BOUND,
        HOLD.as_secs()
    );
    if ctx.target.kind == TargetKind::Hosted {
        return Exchange {
            sent: "nothing".into(),
            reply: "not applicable: the hosted runner's memory is the OS's".into(),
            ..Default::default()
        };
    }
    let mut vm = match SideVm::boot(ctx, memory_mib, "") {
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
                sent,
                reply: format!("could not boot a VM of {memory_mib} MiB"),
                problems: vec![format!("the {memory_mib} MiB VM did not boot: {e}")],
                ..Default::default()
            };
        }
    };
    let baseline = vm.memory().ok();
    let prober = vm.prober();
    let payloads = payloads();
    let stop = AtomicBool::new(false);
    // Set when /stats.json has not answered for 2 s: the VM is gone, and
    // connecting on would only wait out timeouts.
    let gone = AtomicBool::new(false);
    let started = Instant::now();
    let (streams, refused, watch) = thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            let mut watch = Watch::default();
            let mut unanswered_in_a_row = 0;
            while !stop.load(Ordering::Relaxed) {
                match vm.stats() {
                    Ok(json) => {
                        unanswered_in_a_row = 0;
                        watch.readings += 1;
                        if let Ok(memory) = super::soak::parse_memory(&json) {
                            watch.peak_used = watch.peak_used.max(memory.used_bytes);
                            watch.capacity = memory.capacity_bytes;
                        }
                        let open = json["open_connections"].as_u64().unwrap_or(0);
                        watch.peak_open = watch.peak_open.max(open);
                    }
                    Err(_) => {
                        watch.unreadable += 1;
                        unanswered_in_a_row += 1;
                        if unanswered_in_a_row >= 8 {
                            gone.store(true, Ordering::Relaxed);
                        }
                    }
                }
                thread::sleep(Duration::from_millis(250));
            }
            watch
        });
        let openers: Vec<_> = (0..ADDRESSES)
            .map(|a| {
                let payloads = &payloads;
                let vm = &vm;
                let gone = &gone;
                scope.spawn(move || {
                    let mut streams = Vec::new();
                    let mut refused = 0;
                    let Some(source) = spare_source(a) else {
                        return (streams, PER_ADDRESS);
                    };
                    for i in 0..PER_ADDRESS {
                        if gone.load(Ordering::Relaxed) || started.elapsed() > HOLD {
                            refused += PER_ADDRESS - i;
                            break;
                        }
                        let to = vm.addr(PORTS[i % PORTS.len()]);
                        match bound_connect_to(source, to, Duration::from_secs(3)) {
                            Ok(mut stream) => {
                                let _ = stream.set_write_timeout(Some(Duration::from_secs(3)));
                                let payload = &payloads[i % payloads.len()];
                                if stream.write_all(payload).is_ok() {
                                    streams.push(stream);
                                } else {
                                    refused += 1;
                                }
                            }
                            Err(_) => refused += 1,
                        }
                    }
                    (streams, refused)
                })
            })
            .collect();
        let mut streams: Vec<TcpStream> = Vec::new();
        let mut refused = 0;
        for opener in openers {
            let (mine, no) = opener.join().unwrap_or_default();
            streams.extend(mine);
            refused += no;
        }
        let opened_in = started.elapsed();
        thread::sleep(HOLD.saturating_sub(started.elapsed()));
        stop.store(true, Ordering::Relaxed);
        let watch = watcher.join().unwrap_or_default();
        ((streams, opened_in), refused, watch)
    });
    let (streams, opened_in) = streams;
    let held = streams.len();
    drop(streams);
    let page = prober.finish_figures();
    let settled = if gone.load(Ordering::Relaxed) {
        Err("the VM stopped answering".to_string())
    } else {
        vm.wait_settled(Duration::from_secs(30))
    };
    let mut problems = Vec::new();
    let mut reply;
    match vm.alive() {
        Err(e) => {
            problems.push(format!("CRASH: the {memory_mib} MiB VM died: {e}"));
            reply = format!("the {memory_mib} MiB VM POWERED OFF");
        }
        Ok(()) => match vm.console_fault() {
            Some(line) => {
                problems.push(format!("CRASH: the {memory_mib} MiB VM's console: {line}"));
                reply = format!("the {memory_mib} MiB VM faulted");
            }
            None => reply = format!("the {memory_mib} MiB VM kept running"),
        },
    }
    let mut page_notes = Vec::new();
    ctx.page_failures(
        &format!("the {memory_mib} MiB VM's page during the attack"),
        &page,
        &mut problems,
        &mut page_notes,
    );
    let capacity = watch
        .capacity
        .or(baseline.as_ref().and_then(|b| b.capacity_bytes));
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let heap = match (&baseline, capacity) {
        (Some(base), Some(capacity)) => format!(
            "heap {:.1} MiB before, peak {:.1} MiB seen of {:.1} MiB ({} readings, {} unreadable)",
            mib(base.used_bytes),
            mib(watch.peak_used),
            mib(capacity),
            watch.readings,
            watch.unreadable
        ),
        _ => format!(
            "heap peak {:.1} MiB seen ({} readings, {} unreadable)",
            mib(watch.peak_used),
            watch.readings,
            watch.unreadable
        ),
    };
    reply.push_str(&format!("; {heap}"));
    let mut details = vec![
        format!("sent: {sent}"),
        format!(
            "{held} connections took their bytes in {} ms, {refused} refused or cut short; at most {} open at once on /stats.json",
            opened_in.as_millis(),
            watch.peak_open
        ),
        heap,
        format!(
            "the {memory_mib} MiB VM's {}",
            page.describe()
                .replace("page during the case", "page during the attack")
        ),
        match settled {
            Ok(t) => format!("settled {} ms after the connections closed", t.as_millis()),
            Err(e) => format!("not settled: {e}"),
        },
    ];
    details.extend(page_notes);
    let seen = vm.log_since(0).join("\n").into_bytes();
    Exchange {
        sent: format!(
            "{} stalled 64 and 20 KiB messages, {ADDRESSES} addresses",
            ADDRESSES * PER_ADDRESS
        ),
        reply,
        seen,
        settle: Duration::ZERO,
        details,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_follows_a_whole_hello() {
        let bytes = hello_then_partial_certificate(DECLARED, SENT);
        let hello = padded(Hello::tls12(), DECLARED);
        assert!((63 * 1024..65_536).contains(&hello.len()));
        let records = hello.len().div_ceil(16 * 1024);
        let (first, second) = bytes.split_at(hello.len() + 5 * records);
        assert_eq!(first[5], 1);
        assert_eq!(second[5], 11);
        let declared = u32::from_be_bytes([0, second[6], second[7], second[8]]);
        assert!((63 * 1024..65_536).contains(&declared), "{declared}");
        assert_eq!(second.len(), SENT + 3 * 5);
    }

    #[test]
    fn the_hello_declares_64_kib_and_sends_48() {
        let bytes = partial_hello(DECLARED, SENT);
        // Three full records of 16 KiB.
        assert_eq!(bytes.len(), SENT + 3 * 5);
        assert_eq!(&bytes[..3], &[0x16, 0x03, 0x01]);
        assert_eq!(u16::from_be_bytes([bytes[3], bytes[4]]), 16 * 1024);
        // The handshake header: ClientHello, 24-bit length near 64 KiB.
        assert_eq!(bytes[5], 1);
        let declared = u32::from_be_bytes([0, bytes[6], bytes[7], bytes[8]]);
        assert!((63 * 1024..65_536).contains(&declared), "{declared}");
    }

    #[test]
    fn the_messages_at_the_bound_fit_it_with_their_records() {
        for payload in &payloads()[2..] {
            // The last message's records, header included, within 20 KiB.
            let mut at = 0;
            let mut last_message = 0;
            while at < payload.len() {
                let len = usize::from(u16::from_be_bytes([payload[at + 3], payload[at + 4]]));
                if at + 5 < payload.len() && matches!(payload[at + 5], 1 | 11) {
                    last_message = 0;
                }
                last_message += 5 + len;
                at += 5 + len;
            }
            assert!(last_message <= 20 * 1024, "{last_message}");
            assert!(last_message >= AT_BOUND - HELD_BACK, "{last_message}");
        }
    }
}
