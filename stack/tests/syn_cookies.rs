//! SYN cookies: beyond `max_half_open` pending handshakes (or always, or
//! never: `StackConfig::syn_cookies`) the listeners answer SYNs without
//! keeping state, and an ACK that returns a valid cookie opens the
//! connection. A flood of forged SYNs then no longer pushes real clients'
//! handshakes out.

mod common;

use std::net::{Ipv4Addr, SocketAddr};

use common::{IP_A, IP_B, MAC_A, MAC_B, Pair, arp_request, static_config, wire};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, IpAddress, IpProtocol,
    Ipv4Packet, Ipv4Repr, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber,
};
use stack::{ConnState, IpConfig, Stack, StackConfig, StackEvent, SynCookies};

const PORT: u16 = 7;

/// The forged sources' range (RFC 2544's benchmarking range, off B's /24).
fn forged(n: u64) -> Ipv4Addr {
    let host = (n % 65535 + 1) as u16;
    Ipv4Addr::new(198, 19, (host >> 8) as u8, host as u8)
}

fn is_forged(ip: Ipv4Addr) -> bool {
    ip.octets()[..2] == [198, 19]
}

/// A TCP segment from `src` to B:`PORT` in an Ethernet frame from A's MAC
/// (the gateway's, for off-link sources).
fn tcp_frame(
    src: (Ipv4Addr, u16),
    control: TcpControl,
    seq: u32,
    ack: Option<u32>,
    payload: &[u8],
) -> Vec<u8> {
    let tcp = TcpRepr {
        src_port: src.1,
        dst_port: PORT,
        control,
        seq_number: TcpSeqNumber(seq as i32),
        ack_number: ack.map(|a| TcpSeqNumber(a as i32)),
        window_len: 4096,
        window_scale: None,
        max_seg_size: (control == TcpControl::Syn).then_some(1460),
        sack_permitted: false,
        sack_ranges: [None; 3],
        timestamp: None,
        payload,
    };
    let ip = Ipv4Repr {
        src_addr: src.0,
        dst_addr: IP_B,
        next_header: IpProtocol::Tcp,
        payload_len: tcp.buffer_len(),
        hop_limit: 64,
    };
    let mut frame = vec![0u8; 14 + ip.buffer_len() + tcp.buffer_len()];
    let mut f = EthernetFrame::new_unchecked(&mut frame[..]);
    EthernetRepr {
        src_addr: EthernetAddress(MAC_A),
        dst_addr: EthernetAddress(MAC_B),
        ethertype: EthernetProtocol::Ipv4,
    }
    .emit(&mut f);
    let mut packet = Ipv4Packet::new_unchecked(f.payload_mut());
    ip.emit(&mut packet, &ChecksumCapabilities::default());
    tcp.emit(
        &mut TcpPacket::new_unchecked(packet.payload_mut()),
        &IpAddress::Ipv4(src.0),
        &IpAddress::Ipv4(IP_B),
        &ChecksumCapabilities::default(),
    );
    frame
}

/// A SYN to B:`PORT` from a random forged address and port.
fn forged_syn(rng: &mut common::Rng) -> Vec<u8> {
    let src = (forged(rng.below(65536)), 1024 + rng.below(60000) as u16);
    tcp_frame(src, TcpControl::Syn, rng.next() as u32, None, &[])
}

/// How many of `frames` (what B sent) are SYN-ACKs to forged addresses.
fn syn_acks_to_forged(frames: &[Vec<u8>]) -> u64 {
    frames
        .iter()
        .filter_map(|f| parse(f))
        .filter(|s| is_forged(s.dst.0) && s.syn && s.ack)
        .count() as u64
}

/// What a frame B sent is, if it is TCP: destination, SYN, ACK, RST flags,
/// sequence and acknowledgement numbers.
struct Sent {
    dst: (Ipv4Addr, u16),
    syn: bool,
    ack: bool,
    rst: bool,
    seq: u32,
    ack_number: u32,
}

fn parse(frame: &[u8]) -> Option<Sent> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
    let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
    Some(Sent {
        dst: (ip.dst_addr(), tcp.dst_port()),
        syn: tcp.syn(),
        ack: tcp.ack(),
        rst: tcp.rst(),
        seq: tcp.seq_number().0 as u32,
        ack_number: tcp.ack_number().0 as u32,
    })
}

/// B: listening on `PORT`, off-link sources reached through A (its
/// gateway), cookies as `mode` says.
fn config_b(mode: SynCookies) -> StackConfig {
    let mut config = StackConfig::new(
        IpConfig::Static {
            address: IP_B,
            prefix_len: 24,
            gateway: Some(IP_A),
        },
        &[PORT],
    );
    config.syn_cookies = mode;
    config
}

#[test]
fn beyond_max_half_open_the_handshakes_complete_with_cookies() {
    let mut b = static_config(IP_B, &[PORT]);
    b.max_half_open = 16;
    b.max_half_open_per_peer = 16;
    let mut p = Pair::new(static_config(IP_A, &[]), b);
    // 100 SYNs at once against 16 pending handshakes at most: the 84
    // beyond them are answered without state, and all get in at the first
    // try (without cookies each would replace the oldest, whose client is
    // reset: `half_open_overflow_drops_the_oldest_handshakes_without_cookies`
    // in tcp.rs).
    let conns: Vec<_> = (0..100)
        .map(|_| p.a.connect(SocketAddr::from((IP_B, PORT)), p.now).unwrap())
        .collect();
    let mut most = 0;
    // Within a second: before any retransmission (the first comes after
    // one second), so every handshake completed at its first try.
    assert!(p.run_until(999, |p| {
        most = most.max(p.b.socket_counts().half_open);
        p.b.open_connections() == 100
    }));
    assert!(
        conns
            .iter()
            .all(|&c| p.a.state(c) == ConnState::Established)
    );
    assert_eq!(most, 16);
}

#[test]
fn a_client_gets_in_and_talks_through_a_flood_far_beyond_max_half_open() {
    let mut p = Pair::new(static_config(IP_A, &[]), config_b(SynCookies::WhenFull));
    let b_rx = p.b.nic().rx().clone();
    let a_rx = p.a.nic().rx().clone();
    let mut rng = common::Rng(7);
    let (mut forged_syns, mut answered) = (0u64, 0u64);
    let mut client = None;
    let mut accepted = None;
    let (mut sent, mut done) = (false, false);
    // 50 forged SYNs a millisecond for 200 ms: 10,000, against 64 pending
    // handshakes at most. The client dials 20 ms in.
    for round in 0..200 {
        for _ in 0..50 {
            b_rx.push(forged_syn(&mut rng));
            forged_syns += 1;
        }
        if round == 20 {
            client = Some(p.a.connect(SocketAddr::from((IP_B, PORT)), p.now).unwrap());
        }
        p.step(1);
        // What B sent this step is now in A's queue.
        answered += syn_acks_to_forged(&a_rx.frames());
        let counts = p.b.socket_counts();
        assert!(counts.half_open <= 64, "round {round}: {counts:?}");
        assert!(counts.total() <= 256, "round {round}: {counts:?}");
        if let Some((conn, _, peer)) = p.take_accepted_b() {
            assert_eq!(peer.ip(), IP_A);
            accepted = Some(conn);
            p.b.send(conn, b"hello from B").unwrap();
        }
        let Some(client) = client else { continue };
        if p.a.state(client) == ConnState::Established && !sent {
            p.a.send(client, b"hello from A").unwrap();
            sent = true;
        }
        let mut buf = [0u8; 64];
        if let (Some(conn), false) = (accepted, done)
            && let Ok(n) = p.a.recv(client, &mut buf)
            && n > 0
        {
            assert_eq!(&buf[..n], b"hello from B");
            let n = p.b.recv(conn, &mut buf).unwrap();
            assert_eq!(&buf[..n], b"hello from A");
            done = true;
        }
    }
    assert!(done, "the client did not get in during the flood");
    // The flood was answered, statelessly: nearly every SYN got its
    // SYN-ACK (the first few waited for B's ARP request for its gateway),
    // and the client never held one of the pending handshakes.
    assert!(
        answered * 100 >= forged_syns * 95,
        "{answered} of {forged_syns}"
    );
    assert_eq!(p.b.socket_counts_of(IP_A.into()).half_open, 0);
    assert_eq!(p.b.open_connections(), 1);
}

#[test]
fn scaled_to_many_sockets_a_flood_keeps_at_most_the_ceiling_pending() {
    // B sized as a large guest is (the unikernel's memory plan gives a
    // 128 MiB guest about 3,300 sockets): a quarter of them would be 1,024
    // pending handshakes, each looked at for every frame.
    let mut b = config_b(SynCookies::WhenFull);
    b.max_connections = 4096;
    b.scale_to_sockets();
    assert_eq!(b.max_half_open, stack::HALF_OPEN_CEILING);
    assert_eq!(b.max_half_open_per_peer, stack::HALF_OPEN_CEILING / 4);
    let mut p = Pair::new(static_config(IP_A, &[]), b);
    let a_rx = p.a.nic().rx().clone();
    let b_rx = p.b.nic().rx().clone();
    let mut rng = common::Rng(11);
    let (mut forged_syns, mut answered, mut most) = (0u64, 0u64, 0);
    // 2,000 forged SYNs, 20 a millisecond.
    for _ in 0..100 {
        for _ in 0..20 {
            b_rx.push(forged_syn(&mut rng));
            forged_syns += 1;
        }
        p.step(1);
        answered += syn_acks_to_forged(&a_rx.frames());
        most = most.max(p.b.socket_counts().half_open);
    }
    assert_eq!(most, stack::HALF_OPEN_CEILING);
    // Every SYN beyond the ceiling was answered by cookie (the first few
    // waited for B's ARP request for its gateway).
    assert!(
        answered * 100 >= forged_syns * 95,
        "{answered} of {forged_syns}"
    );
}

/// Sends `frame` to a lone B and returns what B answered (TCP only).
fn exchange(b: &mut Stack<common::Wire>, now: &mut u64, frame: Vec<u8>) -> Vec<Sent> {
    b.nic().rx().push(frame);
    *now += 1;
    b.poll(*now);
    b.nic()
        .tx()
        .drain()
        .iter()
        .filter_map(|f| parse(f))
        .collect()
}

#[test]
fn an_ack_without_a_valid_cookie_is_refused() {
    let mut b = Stack::new(wire(MAC_B), config_b(SynCookies::Always), 0, 0x5eed).unwrap();
    let mut now = 0;
    b.nic().rx().push(arp_request(IP_A, MAC_A));
    b.poll(now);
    b.nic().tx().drain();
    while b.next_event().is_some() {}
    let peer = (IP_A, 40000);

    // A SYN gets a SYN-ACK and leaves nothing behind.
    let answer = exchange(
        &mut b,
        &mut now,
        tcp_frame(peer, TcpControl::Syn, 1000, None, &[]),
    );
    assert!(
        matches!(answer.as_slice(), [s] if s.syn && s.ack && s.ack_number == 1001),
        "{}",
        answer.len()
    );
    let cookie = answer[0].seq;
    assert_eq!(b.socket_counts().half_open, 0);
    assert_eq!(b.socket_counts().listening, 4);

    // ACKs that do not return the cookie, or return it for another
    // connection, are reset; nothing opens.
    let other_port = (IP_A, 40001);
    let other_address = (Ipv4Addr::new(198, 19, 0, 9), 40000);
    for (src, seq, ack) in [
        (peer, 1001, cookie.wrapping_add(2)),
        (peer, 1001, cookie),
        (peer, 1002, cookie.wrapping_add(1)),
        (other_port, 1001, cookie.wrapping_add(1)),
        (other_address, 1001, cookie.wrapping_add(1)),
        (peer, 1001, 0x1234_5678),
    ] {
        let answer = exchange(
            &mut b,
            &mut now,
            tcp_frame(src, TcpControl::None, seq, Some(ack), &[]),
        );
        assert!(
            matches!(answer.as_slice(), [s] if s.rst && s.dst == src && s.seq == ack),
            "ACK {ack:#x} from {src:?}"
        );
        assert!(b.next_event().is_none());
        assert_eq!(b.socket_counts().connections, 0);
    }

    // The ACK that returns it (with the request already) opens the
    // connection.
    let answer = exchange(
        &mut b,
        &mut now,
        tcp_frame(
            peer,
            TcpControl::Psh,
            1001,
            Some(cookie.wrapping_add(1)),
            b"GET /",
        ),
    );
    assert!(answer.iter().all(|s| !s.rst));
    let Some(StackEvent::Accepted {
        conn, peer: from, ..
    }) = b.next_event()
    else {
        panic!("not accepted");
    };
    assert_eq!(from, SocketAddr::from(peer));
    let mut buf = [0u8; 16];
    assert_eq!(b.recv(conn, &mut buf), Ok(5));
    assert_eq!(&buf[..5], b"GET /");
}

#[test]
fn a_new_client_is_stateful_again_once_the_flood_has_passed() {
    // With cookies on when full, a client arriving after the pending
    // handshakes have timed out is served statefully again: its SYN-ACK's
    // sequence number is the RFC 6528 one, retransmitted if lost.
    let mut config = config_b(SynCookies::WhenFull);
    config.max_half_open = 4;
    config.max_half_open_per_peer = 4;
    let mut b = Stack::new(wire(MAC_B), config, 0, 0x5eed).unwrap();
    let mut now = 0;
    b.nic().rx().push(arp_request(IP_A, MAC_A));
    b.poll(now);
    b.nic().tx().drain();
    while b.next_event().is_some() {}
    for n in 0..10 {
        let src = (forged(n), 2000);
        let answer = exchange(
            &mut b,
            &mut now,
            tcp_frame(src, TcpControl::Syn, 5, None, &[]),
        );
        assert!(
            matches!(answer.as_slice(), [s] if s.syn && s.ack),
            "SYN {n}: {:?}",
            answer
                .iter()
                .map(|s| (s.dst, s.syn, s.ack, s.rst))
                .collect::<Vec<_>>()
        );
        assert_eq!(b.socket_counts().half_open, (n as usize + 1).min(4));
    }
    // The handshake deadline (10 s) empties the table; cookies go off.
    now += 10_001;
    b.poll(now);
    b.nic().tx().drain();
    assert_eq!(b.socket_counts().half_open, 0);
    exchange(
        &mut b,
        &mut now,
        tcp_frame((IP_A, 40000), TcpControl::Syn, 1000, None, &[]),
    );
    assert_eq!(b.socket_counts().half_open, 1);
}
