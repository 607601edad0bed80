//! `syn_flood`: SYNs from forged addresses, never completed, while the page
//! is probed.
//!
//! A raw socket (`IPPROTO_RAW`: this process writes the IPv4 header) sends
//! TCP SYNs to the page's port and the bounty server's, from random
//! addresses and ports of a range configured nowhere (`netns::SPOOFED`
//! over tap; 127.3.0.0/16 on loopback, whose SYN-ACKs the host's own TCP
//! answers with a reset), at each rate of [`STEPS`] in turn. The guest
//! keeps a quarter of its sockets as pending handshakes and answers the
//! SYNs beyond with SYN cookies, keeping nothing for them
//! (docs/DECISIONS.md, "SYN cookies"): the flood fills the table once but
//! cannot push a visitor's handshake out of it; what is left to measure is
//! whether the guest keeps up with the frames at all. QEMU's
//! dump (with `--net tap`) gives the SYNs that reached the guest and the
//! SYN-ACKs it sent back, and the page probe (from the visitor's address)
//! whether a visitor still gets in. Each step's page latency is a figure;
//! in the full battery the case fails if the page stops answering within
//! 1 s at any of them (20,000 SYNs a second is about 10 Mbit/s: a small
//! flood), in a quick run only if it never answers, and always if the
//! appliance dies. Under TCG on a two-core host the guest keeps up with
//! 20,000/s because at most 64 handshakes are pending
//! (`stack::HALF_OPEN_CEILING`): with a quarter of a 128 MiB guest's
//! sockets pending it answered 94 % and lost probes (docs/TESTING.md, "A
//! ceiling on pending handshakes").

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::thread;
use std::time::{Duration, Instant};

use super::cases::{Ctx, Exchange};
use super::net::{many_sources, target_ip, visitor_source};
use super::pcap::{PcapReader, Segment};
use super::probe::Prober;
use super::*;

/// SYNs a second, and for how long each.
const STEPS: [u32; 3] = [1_000, 5_000, 20_000];
const STEP_TIME: Duration = Duration::from_secs(5);

pub(super) fn c_syn_flood(ctx: &Ctx) -> Exchange {
    if !many_sources() {
        return Exchange {
            sent: "nothing".into(),
            reply: "not applicable: behind QEMU's user networking no forged SYN reaches the guest"
                .into(),
            ..Default::default()
        };
    }
    let socket = match raw_socket() {
        Ok(s) => s,
        Err(e) => {
            return Exchange {
                sent: "nothing".into(),
                reply: format!("no raw socket: {e}"),
                problems: vec![format!("the SYN flood needs a raw socket (root): {e}")],
                ..Default::default()
            };
        }
    };
    let (forged, prefix) = match ctx.target.kind {
        TargetKind::Vm => crate::netns::SPOOFED,
        _ => (Ipv4Addr::new(127, 3, 0, 0), 16),
    };
    let ports = [ctx.port("http"), ctx.port("server")];
    // Over tap, QEMU's dump of every frame to and from the guest; an
    // external target's capture (`--pcap`: Xen's dom0 takes only what the
    // guest sends) may hold one direction.
    let capture = match ctx.target.kind {
        TargetKind::Vm => "QEMU's dump",
        _ => "the capture",
    };
    let mut random = Xorshift(0x9e37_79b9_7f4a_7c15 ^ u64::from(std::process::id()));
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let mut total = 0u64;
    for rate in STEPS {
        let mut dump = ctx.target.pcap.as_deref().map(PcapReader::at_end);
        let prober = Prober::start(ctx.target.kind, ctx.target.visitor_port);
        let (sent, errors) = flood(&socket, rate, &ports, (forged, prefix), &mut random);
        let page = prober.finish_figures();
        total += sent;
        let achieved = sent as f64 / STEP_TIME.as_secs_f64();
        let answers = match dump.as_mut() {
            None => String::new(),
            Some(Err(e)) => format!("; {capture} unreadable: {e}"),
            Some(Ok(reader)) => {
                // The guest's last answers to the step's SYNs.
                thread::sleep(Duration::from_millis(500));
                match reader.read_new_segments() {
                    Ok(segments) => answers(&segments, sent, (forged, prefix), capture),
                    Err(e) => format!("; {capture} unreadable: {e}"),
                }
            }
        };
        rows.push(format!(
            "{rate}/s asked, {achieved:.0}/s sent ({errors} send errors): page {} probes, median {} ms, max {} ms, {} unanswered{answers}",
            page.probes,
            page.median.as_millis(),
            page.max.as_millis(),
            page.failures.len()
        ));
        ctx.page_failures(
            &format!("at {rate} SYN/s the page"),
            &page,
            &mut problems,
            &mut notes,
        );
    }
    let mut details = vec![format!(
        "SYNs from random addresses of {forged}/{prefix} to {}:{:?}, each rate for {} s:",
        target_ip(),
        ports,
        STEP_TIME.as_secs()
    )];
    details.extend(rows.iter().map(|r| format!("  {r}")));
    details.extend(notes);
    Exchange {
        sent: format!(
            "{total} forged SYNs, {}…{}/s",
            STEPS[0],
            STEPS[STEPS.len() - 1]
        ),
        reply: "see the rates below".into(),
        seen: Vec::new(),
        settle: Duration::from_millis(500),
        details,
        problems,
    }
}

/// What a capture of the guest's frames (`capture` names it) shows of a
/// step: the forged SYNs that reached the guest's host and the guest's
/// SYN-ACKs to them, and the visitor's (the page probe's) SYNs, the
/// guest's SYN-ACKs and resets to it — a reset after a SYN-ACK is a
/// pending handshake replaced before the visitor's ACK was read. A capture
/// with no frame to the guest at all holds only what the guest sent, and
/// says so rather than count the SYNs as lost.
fn answers(
    segments: &[Segment],
    sent: u64,
    (forged, prefix): (Ipv4Addr, u8),
    capture: &str,
) -> String {
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    let is_forged = |ip: Ipv4Addr| u32::from(ip) & mask == u32::from(forged) & mask;
    let guest = target_ip();
    let visitor = visitor_source();
    let count = |test: &dyn Fn(&Segment) -> bool| segments.iter().filter(|s| test(s)).count();
    let syns_in = count(&|s| s.dst.0 == guest && s.is_syn() && is_forged(s.src.0));
    let syn_acks = count(&|s| s.src.0 == guest && s.is_syn_ack() && is_forged(s.dst.0));
    let from_visitor = |s: &Segment| Some(s.src.0) == visitor && s.dst.0 == guest;
    let to_visitor = |s: &Segment| s.src.0 == guest && Some(s.dst.0) == visitor;
    let answered = 100.0 * syn_acks as f64 / sent.max(1) as f64;
    let (visitor_acks, visitor_resets) = (
        count(&|s| to_visitor(s) && s.is_syn_ack()),
        count(&|s| to_visitor(s) && s.is_rst()),
    );
    if count(&|s| s.dst.0 == guest) == 0 {
        return format!(
            "; {capture} (the guest's frames only): the guest sent {syn_acks} SYN-ACKs to forged addresses ({answered:.0} % of the SYNs sent), {visitor_acks} SYN-ACKs and {visitor_resets} resets to the visitor"
        );
    }
    format!(
        "; {capture}: {syns_in} of the {sent} forged SYNs reached the guest's host, the guest sent {syn_acks} SYN-ACKs to them ({answered:.0} %); the visitor sent {} SYNs, the guest {visitor_acks} SYN-ACKs and {visitor_resets} resets to it",
        count(&|s| from_visitor(s) && s.is_syn()),
    )
}

/// A tiny generator for forged addresses, ports and sequence numbers (no
/// secrecy needed).
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn raw_socket() -> io::Result<OwnedFd> {
    // SAFETY: socket() with constant arguments; the descriptor is owned by
    // the OwnedFd from here on.
    let fd = unsafe {
        libc::socket(
            libc::AF_INET,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::IPPROTO_RAW,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by socket() and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Sends SYNs at `rate` a second for [`STEP_TIME`]: how many went out, and
/// how many sends failed (a full queue: the flood outran the host).
fn flood(
    socket: &OwnedFd,
    rate: u32,
    ports: &[u16],
    (forged, prefix): (Ipv4Addr, u8),
    random: &mut Xorshift,
) -> (u64, u64) {
    let destination = target_ip();
    let to = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from(destination).to_be(),
        },
        sin_zero: [0; 8],
    };
    let host_bits = 32 - u32::from(prefix);
    let started = Instant::now();
    let (mut sent, mut errors) = (0u64, 0u64);
    while started.elapsed() < STEP_TIME {
        // Due by now at this rate; sent in bursts of at most a millisecond's.
        let due = (started.elapsed().as_secs_f64() * f64::from(rate)) as u64;
        if sent + errors >= due {
            thread::sleep(Duration::from_micros(500));
            continue;
        }
        let r = random.next();
        let source =
            Ipv4Addr::from(u32::from(forged) | (r as u32 & ((1u32 << host_bits) - 1)).max(1));
        let port = ports[(r >> 40) as usize % ports.len()];
        let packet = syn(
            source,
            (r >> 32) as u16 | 1024,
            destination,
            port,
            (r >> 8) as u32,
        );
        // SAFETY: sendto reads `packet` and `to`, both alive across the call.
        let n = unsafe {
            libc::sendto(
                socket.as_raw_fd(),
                packet.as_ptr().cast(),
                packet.len(),
                0,
                (&to as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        if n < 0 {
            errors += 1;
        } else {
            sent += 1;
        }
    }
    (sent, errors)
}

/// An IPv4 packet carrying a TCP SYN with an MSS option. The kernel fills
/// the IP checksum, total length and identification (`IPPROTO_RAW`).
fn syn(source: Ipv4Addr, source_port: u16, destination: Ipv4Addr, port: u16, seq: u32) -> [u8; 44] {
    let mut p = [0u8; 44];
    p[0] = 0x45;
    p[6] = 0x40; // don't fragment
    p[8] = 64; // TTL
    p[9] = 6; // TCP
    p[12..16].copy_from_slice(&source.octets());
    p[16..20].copy_from_slice(&destination.octets());
    let tcp = &mut p[20..];
    tcp[0..2].copy_from_slice(&source_port.to_be_bytes());
    tcp[2..4].copy_from_slice(&port.to_be_bytes());
    tcp[4..8].copy_from_slice(&seq.to_be_bytes());
    tcp[12] = 6 << 4; // 24-byte header
    tcp[13] = 0x02; // SYN
    tcp[14..16].copy_from_slice(&64_240u16.to_be_bytes());
    tcp[20..24].copy_from_slice(&[2, 4, 0x05, 0xb4]); // MSS 1460
    let checksum = tcp_checksum(source, destination, tcp);
    tcp[16..18].copy_from_slice(&checksum.to_be_bytes());
    p
}

/// The TCP checksum over the IPv4 pseudo-header and `segment` (whose
/// checksum field is zero).
fn tcp_checksum(source: Ipv4Addr, destination: Ipv4Addr, segment: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |bytes: &[u8]| {
        for pair in bytes.chunks(2) {
            let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
            sum += u32::from(word);
        }
    };
    add(&source.octets());
    add(&destination.octets());
    add(&[0, 6]);
    add(&u16::try_from(segment.len()).expect("a SYN").to_be_bytes());
    add(segment);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capture_of_one_direction_is_not_read_as_lost_syns() {
        let guest = target_ip();
        let forged = (Ipv4Addr::new(198, 19, 0, 0), 16);
        let syn_ack = |to: Ipv4Addr| Segment {
            src: (guest, 80),
            dst: (to, 40_000),
            seq: 1,
            flags: Segment::SYN | Segment::ACK,
        };
        let syn = |from: Ipv4Addr| Segment {
            src: (from, 40_000),
            dst: (guest, 80),
            seq: 1,
            flags: Segment::SYN,
        };
        let a = Ipv4Addr::new(198, 19, 1, 2);
        let b = Ipv4Addr::new(198, 19, 3, 4);
        // Only the guest's frames: two SYN-ACKs of four SYNs sent.
        let one_way = answers(&[syn_ack(a), syn_ack(b)], 4, forged, "the capture");
        assert!(one_way.contains("the guest's frames only"), "{one_way}");
        assert!(one_way.contains("sent 2 SYN-ACKs"), "{one_way}");
        assert!(one_way.contains("(50 %"), "{one_way}");
        assert!(!one_way.contains("reached"), "{one_way}");
        // Both directions: the SYNs that arrived are counted.
        let both = answers(&[syn(a), syn_ack(a), syn(b)], 4, forged, "QEMU's dump");
        assert!(both.contains("2 of the 4 forged SYNs reached"), "{both}");
        assert!(both.contains("sent 1 SYN-ACKs to them (25 %)"), "{both}");
    }

    #[test]
    fn the_syn_checksums_to_zero() {
        let source = Ipv4Addr::new(198, 19, 1, 2);
        let destination = Ipv4Addr::new(198, 18, 0, 2);
        let packet = syn(source, 40_000, destination, 80, 0x1234_5678);
        // Summed with its own checksum, a segment sums to all ones.
        assert_eq!(tcp_checksum(source, destination, &packet[20..]), 0);
        assert_eq!(packet[20 + 13], 0x02);
        assert_eq!(u16::from_be_bytes([packet[22], packet[23]]), 80);
    }
}
