//! `socket_exhaustion_one_address`: can one address take every socket of
//! the stack, so that the appliance evicts other visitors' live
//! connections to make room?
//!
//! Admission counts a connection from accept until the session ends. Two
//! things hold a stack socket outside that count:
//!
//! - a **lingering close**: a finished connection is handed back to the
//!   stack, which sends its last bytes and FIN and lingers (up to 10 s) —
//!   here, a page request from a peer that never reads the answer and
//!   never closes;
//! - a **connect-back dial**: a request on 10001 is closed at once (and
//!   lingers as above) and the appliance dials the caller back; here the
//!   caller's port drops the SYNs (a listener whose queue is full), so each
//!   dial waits out the connect timeout (5 s). Dials have no per-address
//!   cap.
//!
//! The case first connects [`VICTIMS`] visitors from other addresses, each
//! writing a page request a byte every 200 ms (live: never idle longer than
//! that), then, from one address, opens lingering closes and connect-back
//! requests as fast as they are accepted for [`ATTACK`]. The victims finish
//! their requests after the attack and must each get the page: a victim
//! reset or closed without it was evicted (counted `evicted` on
//! `/stats.json`), and the page probe from the visitor's address must keep
//! answering.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::cases::{Ctx, Exchange};
use super::net::{bound_connect_with, spare_source, target_addr};
use super::*;

/// Live visitors from other addresses than the attacker's.
const VICTIMS: usize = 16;
/// How long the attacker keeps opening connections.
const ATTACK: Duration = Duration::from_secs(8);
/// When the victims end their requests (after the attack, within the
/// request deadline of 10 s).
const VICTIM_FINISH: Duration = Duration::from_secs(9);
/// The victims' pace: a byte of the request this often.
const TRICKLE: Duration = Duration::from_millis(200);
/// Most attack connections per kind: bounds the case whatever the target.
const MAX_PER_KIND: usize = 3_000;
/// Spare source indices: the attacker, then the victims.
const ATTACKER_SOURCE: usize = 20;
const FIRST_VICTIM_SOURCE: usize = 21;

pub(super) fn c_socket_exhaustion(ctx: &Ctx) -> Exchange {
    let Some(attacker) = spare_source(ATTACKER_SOURCE) else {
        return Exchange {
            sent: "nothing".into(),
            reply: "not applicable: needs many source addresses (hosted, or --net tap)".into(),
            ..Default::default()
        };
    };
    let victims: Vec<Ipv4Addr> = (0..VICTIMS)
        .filter_map(|i| spare_source(FIRST_VICTIM_SOURCE + i))
        .collect();
    // Where the appliance dials back: the attacker's address, the port the
    // target was told. A queue of one, never accepted: further SYNs are
    // dropped, so each dial waits out its timeout.
    let silent = match silent_listener(attacker, ctx.target.cb_port) {
        Ok(l) => l,
        Err(e) => {
            return Exchange {
                sent: "nothing".into(),
                reply: format!("cannot listen on {attacker}:{}: {e}", ctx.target.cb_port),
                problems: vec![format!("the case could not set up: {e}")],
                ..Default::default()
            };
        }
    };
    let http = target_addr(ctx.port("http"));
    let connect_back = target_addr(ctx.port("connect_back"));
    let started = Instant::now();
    let lingering_open = AtomicUsize::new(0);
    let lingering_refused = AtomicUsize::new(0);
    let dials_open = AtomicUsize::new(0);
    let dials_refused = AtomicUsize::new(0);
    let (outcomes, held) = thread::scope(|scope| {
        let victims: Vec<_> = victims
            .iter()
            .map(|&source| scope.spawn(move || victim(source, http, started)))
            .collect();
        // Let every victim be connected and sending before the attack.
        thread::sleep(Duration::from_millis(500));
        let attackers: Vec<_> = (0..4)
            .map(|i| {
                let (to, open, refused, receive_buffer) = if i % 2 == 0 {
                    (http, &lingering_open, &lingering_refused, Some(2048))
                } else {
                    (connect_back, &dials_open, &dials_refused, None)
                };
                scope.spawn(move || {
                    let mut held = Vec::new();
                    while started.elapsed() < ATTACK
                        && open.load(Ordering::Relaxed) + refused.load(Ordering::Relaxed)
                            < MAX_PER_KIND
                    {
                        match bound_connect_with(
                            attacker,
                            to,
                            Duration::from_secs(2),
                            receive_buffer,
                        ) {
                            Ok(mut stream) => {
                                if to == http {
                                    let _ =
                                        stream.write_all(b"GET / HTTP/1.1\r\nHost: pinata\r\n\r\n");
                                }
                                open.fetch_add(1, Ordering::Relaxed);
                                held.push(stream);
                            }
                            Err(_) => {
                                refused.fetch_add(1, Ordering::Relaxed);
                                // Refused: the sockets are taken. Try again
                                // soon, as an attacker would.
                                thread::sleep(Duration::from_millis(20));
                            }
                        }
                    }
                    held
                })
            })
            .collect();
        let held: Vec<Vec<TcpStream>> = attackers
            .into_iter()
            .map(|a| a.join().unwrap_or_default())
            .collect();
        let outcomes: Vec<VictimOutcome> = victims
            .into_iter()
            .map(|v| v.join().unwrap_or(VictimOutcome::Other("panicked".into())))
            .collect();
        (outcomes, held)
    });
    let held_total: usize = held.iter().map(Vec::len).sum();
    drop(held);
    drop(silent);
    let served = outcomes
        .iter()
        .filter(|o| matches!(o, VictimOutcome::Served))
        .count();
    let cut: Vec<String> = outcomes
        .iter()
        .filter_map(|o| match o {
            VictimOutcome::Served => None,
            VictimOutcome::Cut(at, how) => Some(format!("{how} at {} ms", at.as_millis())),
            VictimOutcome::Other(what) => Some(what.clone()),
        })
        .collect();
    let mut problems = Vec::new();
    if served < outcomes.len() {
        problems.push(format!(
            "{} of {} live visitors lost their connection while one address held the sockets ({})",
            outcomes.len() - served,
            outcomes.len(),
            cut.iter().take(4).cloned().collect::<Vec<_>>().join("; ")
        ));
    }
    let settled = probe::wait_settled(
        ctx.target.kind,
        ctx.target.visitor_port,
        Duration::from_secs(30),
    );
    let details = vec![
        format!(
            "attacker {attacker}: {} lingering closes (page requests never read, never closed) and {} connect-back requests (dials to {attacker}:{} that are never answered) in {} s; {} and {} refused",
            lingering_open.load(Ordering::Relaxed),
            dials_open.load(Ordering::Relaxed),
            ctx.target.cb_port,
            ATTACK.as_secs(),
            lingering_refused.load(Ordering::Relaxed),
            dials_refused.load(Ordering::Relaxed)
        ),
        format!(
            "{} live visitors from {} addresses, a request byte every {} ms, finished at {} s: {served} served the page{}",
            outcomes.len(),
            outcomes.len(),
            TRICKLE.as_millis(),
            VICTIM_FINISH.as_secs(),
            if cut.is_empty() {
                String::new()
            } else {
                format!(", the others: {}", cut.join("; "))
            }
        ),
        match settled {
            Ok(t) => format!("settled {} ms after the attacker closed", t.as_millis()),
            Err(e) => format!("not settled: {e}"),
        },
    ];
    Exchange {
        sent: format!(
            "{held_total} lingering closes and dials from one address, {} live visitors",
            outcomes.len()
        ),
        reply: format!("{served} of {} visitors served", outcomes.len()),
        seen: Vec::new(),
        settle: Duration::ZERO,
        details,
        problems,
    }
}

/// What became of one live visitor.
enum VictimOutcome {
    Served,
    /// Reset or closed without the page, after this long, and how.
    Cut(Duration, String),
    Other(String),
}

/// A visitor writing its page request a byte at a time until
/// [`VICTIM_FINISH`], then reading the answer.
fn victim(source: Ipv4Addr, to: SocketAddr, started: Instant) -> VictimOutcome {
    let mut stream = match super::net::bound_connect_to(source, to, Duration::from_secs(3)) {
        Ok(s) => s,
        Err(e) => return VictimOutcome::Other(format!("{source}: connect: {e}")),
    };
    let _ = stream.set_write_timeout(Some(Duration::from_secs(3)));
    // Short, so it is whole well before the finish.
    let head = b"GET / HTTP/1.1\r\nHost: p\r\nX: ";
    let mut pending: Vec<u8> = head.to_vec();
    pending.reverse();
    while started.elapsed() < VICTIM_FINISH {
        let byte = pending.pop().unwrap_or(b'v');
        if let Err(e) = stream.write_all(&[byte]) {
            return VictimOutcome::Cut(started.elapsed(), format!("{source}: write {}", e.kind()));
        }
        thread::sleep(TRICKLE);
    }
    if let Err(e) = stream.write_all(b"\r\n\r\n") {
        return VictimOutcome::Cut(started.elapsed(), format!("{source}: write {}", e.kind()));
    }
    let mut answer = Vec::new();
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.take(64 * 1024).read_to_end(&mut answer);
    if answer.starts_with(b"HTTP/1.1 200") {
        VictimOutcome::Served
    } else if answer.is_empty() {
        VictimOutcome::Cut(
            started.elapsed(),
            format!("{source}: closed without an answer"),
        )
    } else {
        VictimOutcome::Other(format!(
            "{source}: {}",
            String::from_utf8_lossy(&answer[..answer.len().min(30)])
        ))
    }
}

/// A listener on `ip:port` with an accept queue of one that is never
/// accepted from: once one connection waits in it, SYNs are dropped.
fn silent_listener(ip: Ipv4Addr, port: u16) -> std::io::Result<TcpListener> {
    use std::os::fd::FromRawFd;
    let address = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(ip).to_be(),
        },
        sin_zero: [0; 8],
    };
    let one: libc::c_int = 1;
    // SAFETY: socket, setsockopt, bind and listen on a descriptor this
    // function owns; the values passed live across the calls, and the
    // descriptor is closed here or handed to TcpListener exactly once.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        ) != 0
            || libc::bind(
                fd,
                (&address as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            ) != 0
            || libc::listen(fd, 0) != 0
        {
            let e = std::io::Error::last_os_error();
            libc::close(fd);
            return Err(e);
        }
        Ok(TcpListener::from_raw_fd(fd))
    }
}
