//! TCP between two stacks on a virtual cable: accept, echo, transfers,
//! closing, refusals, limits, id reuse.

mod common;

use std::net::SocketAddr;

use common::{IP_A, IP_B, Pair, static_config};
use stack::{ConnId, ConnState, StackError, StackEvent};

fn pattern(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add((i >> 8) as u8) ^ salt)
        .collect()
}

fn recv_all(p: &mut Pair, side_b: bool, conn: ConnId, out: &mut Vec<u8>) {
    let mut buf = [0u8; 4096];
    loop {
        let stack = if side_b { &mut p.b } else { &mut p.a };
        let n = stack.recv(conn, &mut buf).unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

#[test]
fn static_address_is_reported_at_start() {
    let p = Pair::with_ports(&[7]);
    assert_eq!(p.a.ipv4(), Some((IP_A, 24, None)));
    assert_eq!(
        p.events_b,
        vec![StackEvent::IpConfigured {
            address: IP_B,
            prefix_len: 24,
            gateway: None
        }]
    );
    assert_eq!(p.b.socket_counts().listening, 4);
    assert_eq!(p.b.open_connections(), 0);
}

#[test]
fn accept_reports_exact_peer_and_echoes_both_ways() {
    let mut p = Pair::with_ports(&[7, 80]);
    p.events_b.clear();
    let conn_a = p.a.connect(SocketAddr::from((IP_B, 80)), p.now).unwrap();
    assert_eq!(p.a.state(conn_a), ConnState::Connecting);
    assert_eq!(p.a.send(conn_a, b"early"), Err(StackError::InvalidState));
    assert!(p.run_until(1000, |p| p.has_event_a(StackEvent::Connected(conn_a))));
    assert!(p.run_until(1000, |p| !p.events_b.is_empty()));
    let (conn_b, local_port, peer) = p.take_accepted_b().expect("accepted");
    assert_eq!(local_port, 80);
    // The peer address is exactly A's end of the connection.
    let a_local = p.a.local_addr(conn_a).unwrap();
    assert_eq!(peer, a_local);
    assert_eq!(peer.ip(), IP_A);
    assert!(peer.port() >= 49152);
    assert_eq!(p.b.peer_addr(conn_b), Some(a_local));
    assert_eq!(p.b.local_addr(conn_b), Some(SocketAddr::from((IP_B, 80))));
    assert_eq!(p.a.peer_addr(conn_a), Some(SocketAddr::from((IP_B, 80))));
    assert_eq!(p.a.state(conn_a), ConnState::Established);
    assert_eq!(p.b.state(conn_b), ConnState::Established);
    assert_eq!(p.b.open_connections(), 1);
    assert_eq!(p.a.open_connections(), 1);

    assert_eq!(p.a.send(conn_a, b"ping").unwrap(), 4);
    let mut got = Vec::new();
    assert!(p.run_until(1000, |p| {
        recv_all(p, true, conn_b, &mut got);
        got == b"ping"
    }));
    assert_eq!(p.b.send(conn_b, b"pong: ping").unwrap(), 10);
    let mut back = Vec::new();
    assert!(p.run_until(1000, |p| {
        recv_all(p, false, conn_a, &mut back);
        back == b"pong: ping"
    }));
    assert!(p.run_until(1000, |p| p.a.send_queue_empty(conn_a)
        && p.b.send_queue_empty(conn_b)));
    // The listeners were refilled: still 4 on each port.
    assert_eq!(p.b.socket_counts().listening, 8);
}

#[test]
fn large_transfer_both_ways_through_small_buffers() {
    let mut config_a = static_config(IP_A, &[]);
    let mut config_b = static_config(IP_B, &[5000]);
    for c in [&mut config_a, &mut config_b] {
        c.rx_buffer = 4096;
        c.tx_buffer = 2048;
    }
    let mut p = Pair::new(config_a, config_b);
    // Backpressure: few frames fit in each NIC's transmit queue.
    p.a.nic_mut().tx_capacity = 3;
    p.b.nic_mut().tx_capacity = 3;
    let (conn_a, conn_b) = p.connect(5000);

    const LEN: usize = 300_000;
    let up = pattern(LEN, 0x11);
    let down = pattern(LEN, 0x22);
    let (mut sent_up, mut sent_down) = (0, 0);
    let (mut got_up, mut got_down) = (Vec::new(), Vec::new());
    let done = p.run_until(600_000, |p| {
        if sent_up < LEN {
            sent_up += p.a.send(conn_a, &up[sent_up..]).unwrap();
        }
        if sent_down < LEN {
            sent_down += p.b.send(conn_b, &down[sent_down..]).unwrap();
        }
        recv_all(p, true, conn_b, &mut got_up);
        recv_all(p, false, conn_a, &mut got_down);
        got_up.len() == LEN && got_down.len() == LEN
    });
    assert!(done, "transferred {} / {}", got_up.len(), got_down.len());
    assert!(got_up == up, "A→B data corrupted");
    assert!(got_down == down, "B→A data corrupted");
    assert!(p.a.nic().dropped == 0 && p.b.nic().dropped == 0);
}

#[test]
fn peer_close_then_close_then_release() {
    let mut p = Pair::with_ports(&[7]);
    let (conn_a, conn_b) = p.connect(7);
    p.a.send(conn_a, b"last words").unwrap();
    p.a.close(conn_a);
    assert!(p.run_until(1000, |p| p.b.state(conn_b) == ConnState::PeerClosed));
    // Everything the peer sent is readable; then recv gives 0: end of stream.
    let mut got = Vec::new();
    recv_all(&mut p, true, conn_b, &mut got);
    assert_eq!(got, b"last words");
    assert_eq!(p.b.recv(conn_b, &mut [0; 16]), Ok(0));
    // A closed its sending half only: it still receives.
    assert_eq!(p.a.state(conn_a), ConnState::Established);
    assert_eq!(p.a.send(conn_a, b"more"), Err(StackError::InvalidState));
    assert_eq!(p.b.send(conn_b, b"reply").unwrap(), 5);
    let mut back = Vec::new();
    assert!(p.run_until(1000, |p| {
        recv_all(p, false, conn_a, &mut back);
        back == b"reply"
    }));
    p.b.close(conn_b);
    assert!(p.run_until(1000, |p| p.b.state(conn_b) == ConnState::Closed
        && p.a.state(conn_a) == ConnState::Closed));
    assert_eq!(p.a.recv(conn_a, &mut [0; 16]), Ok(0));
    p.b.release(conn_b);
    p.a.release(conn_a);
    p.b.release(conn_b); // idempotent
    p.step(1);
    assert_eq!(p.b.open_connections(), 0);
    assert_eq!(p.a.open_connections(), 0);
    assert_eq!(p.b.socket_counts().total(), 4, "{:?}", p.b.socket_counts());
    assert_eq!(p.a.socket_counts().total(), 0, "{:?}", p.a.socket_counts());
    assert_eq!(p.b.state(conn_b), ConnState::Closed);
    assert_eq!(
        p.b.recv(conn_b, &mut [0; 4]),
        Err(StackError::UnknownConnection)
    );
}

#[test]
fn connect_to_a_closed_port_fails_with_rst() {
    let mut p = Pair::with_ports(&[7]);
    let conn = p.a.connect(SocketAddr::from((IP_B, 9)), p.now).unwrap();
    assert!(p.run_until(1000, |p| p.has_event_a(StackEvent::ConnectFailed(conn))));
    assert!(
        p.now < 100,
        "refusal should be immediate, took {} ms",
        p.now
    );
    assert_eq!(p.a.state(conn), ConnState::Closed);
    p.a.release(conn);
    p.step(1);
    assert_eq!(p.a.socket_counts().total(), 0);
}

#[test]
fn connect_to_nobody_times_out() {
    let mut p = Pair::with_ports(&[7]);
    // In the subnet, but nobody answers ARP for it.
    let nobody = SocketAddr::from(([10, 0, 2, 99], 7));
    let conn = p.a.connect(nobody, p.now).unwrap();
    assert!(p.run_timers(60_000, 1000, |p| {
        p.has_event_a(StackEvent::ConnectFailed(conn))
    }));
    let timeout = p.a.socket_counts();
    assert_eq!(timeout.connections, 1);
    assert!(
        p.now >= 10_000 && p.now <= 11_000,
        "gave up at {} ms",
        p.now
    );
    // And to a host that answers ARP but drops the SYNs.
    let mut p = Pair::with_ports(&[7]);
    let conn = p.a.connect(SocketAddr::from((IP_B, 7)), p.now).unwrap();
    p.cut = true;
    assert!(p.run_timers(60_000, 1000, |p| {
        p.has_event_a(StackEvent::ConnectFailed(conn))
    }));
    assert!(p.now <= 11_000, "gave up at {} ms", p.now);
}

#[test]
fn connect_errors() {
    let mut p = Pair::with_ports(&[7]);
    let v6: SocketAddr = "[::1]:80".parse().unwrap();
    assert_eq!(p.a.connect(v6, 0), Err(StackError::Unaddressable));
    assert_eq!(
        p.a.connect(SocketAddr::from((IP_B, 0)), 0),
        Err(StackError::Unaddressable)
    );
    assert_eq!(
        p.a.connect(SocketAddr::from(([0, 0, 0, 0], 80)), 0),
        Err(StackError::Unaddressable)
    );
}

#[test]
fn many_concurrent_connects_are_all_accepted() {
    let mut config_b = static_config(IP_B, &[7]);
    config_b.max_half_open = 128;
    config_b.max_half_open_per_peer = 128;
    let mut p = Pair::new(static_config(IP_A, &[]), config_b);
    // 100 SYNs reach B in the same poll; 4 listeners are refilled between
    // frames, so all are served.
    let conns: Vec<ConnId> = (0..100)
        .map(|_| p.a.connect(SocketAddr::from((IP_B, 7)), p.now).unwrap())
        .collect();
    assert!(p.run_until(2000, |p| {
        conns
            .iter()
            .all(|&c| p.events_a.contains(&StackEvent::Connected(c)))
    }));
    // B sees the last ACKs a poll or two later (64 frames per poll).
    assert!(p.run_until(100, |p| p.b.open_connections() == 100));
    let mut accepted = Vec::new();
    while let Some((conn, port, peer)) = p.take_accepted_b() {
        assert_eq!(port, 7);
        accepted.push((conn, peer));
    }
    assert_eq!(accepted.len(), 100);
    // Each accepted peer is a distinct A connection.
    let mut peers: Vec<SocketAddr> = accepted.iter().map(|&(_, peer)| peer).collect();
    peers.sort();
    peers.dedup();
    assert_eq!(peers.len(), 100);
    for &c in &conns {
        assert!(peers.contains(&p.a.local_addr(c).unwrap()));
    }
    assert_eq!(p.b.open_connections(), 100);
    assert_eq!(p.b.socket_counts().listening, 4);
}

#[test]
fn half_open_overflow_drops_the_oldest_handshakes_without_cookies() {
    let mut config_b = static_config(IP_B, &[7]);
    config_b.max_half_open_per_peer = 64;
    // With cookies (the default) all would get in: see syn_cookies.rs.
    config_b.syn_cookies = stack::SynCookies::Off;
    let mut p = Pair::new(static_config(IP_A, &[]), config_b);
    // 100 SYNs at once against max_half_open = 64: the 36 oldest
    // handshakes are dropped when the newest arrive; their clients are
    // reset when their ACK reaches a listener that forgot them.
    let conns: Vec<ConnId> = (0..100)
        .map(|_| p.a.connect(SocketAddr::from((IP_B, 7)), p.now).unwrap())
        .collect();
    assert!(p.run_until(5000, |p| conns.iter().all(|&c| matches!(
        p.a.state(c),
        ConnState::Established | ConnState::Closed
    )) && p.b.socket_counts().half_open == 0));
    let open = conns
        .iter()
        .filter(|&&c| p.a.state(c) == ConnState::Established)
        .count();
    assert_eq!(open, 64);
    assert_eq!(p.b.open_connections(), 64);
}

#[test]
fn one_address_keeps_at_most_its_share_of_half_open_handshakes() {
    // 100 SYNs from one address at once: it holds at most
    // max_half_open_per_peer (16) handshakes; its oldest are dropped, not
    // anybody else's.
    let mut p = Pair::with_ports(&[7]);
    let peer = std::net::IpAddr::V4(IP_A);
    let conns: Vec<ConnId> = (0..100)
        .map(|_| p.a.connect(SocketAddr::from((IP_B, 7)), p.now).unwrap())
        .collect();
    let mut most = 0;
    p.run_until(3000, |p| {
        most = most.max(p.b.socket_counts_of(peer).half_open);
        false
    });
    assert_eq!(most, 16);
    // The dropped handshakes' SYNs come again and get in, 16 at a time.
    let open = conns
        .iter()
        .filter(|&&c| p.a.state(c) == ConnState::Established)
        .count();
    assert!(open >= 16, "{open}");
}

/// B accepts `n` connections from A, sends each a byte, closes and
/// releases it; the cable is then cut, so none finishes closing.
fn orphans(p: &mut Pair, n: usize) -> Vec<ConnId> {
    let mut released = Vec::new();
    for _ in 0..n {
        let (_, b) = p.connect(7);
        released.push(b);
    }
    p.cut = true;
    for &b in &released {
        p.b.send(b, b"x").unwrap();
        p.b.close(b);
        p.b.release(b);
    }
    p.step(1);
    released
}

#[test]
fn released_connections_still_closing_are_capped_per_address() {
    let mut p = Pair::with_ports(&[7]);
    let peer = std::net::IpAddr::V4(IP_A);
    orphans(&mut p, 12);
    // 12 released, the 4 oldest dropped: 8 (max_orphans_per_peer) linger.
    assert_eq!(p.b.socket_counts_of(peer).closing, 8);
    assert_eq!(p.b.socket_counts().closing, 8);
    assert_eq!(
        p.b.socket_counts_of(std::net::IpAddr::V4(IP_B)),
        Default::default()
    );
}

#[test]
fn released_connections_still_closing_are_capped_in_all() {
    let mut config_b = static_config(IP_B, &[7]);
    config_b.max_orphans = 5;
    let mut p = Pair::new(static_config(IP_A, &[]), config_b);
    orphans(&mut p, 8);
    assert_eq!(p.b.socket_counts().closing, 5);
}

#[test]
fn a_socket_needed_is_taken_from_the_oldest_closing_connection_first() {
    // 4 listeners and 6 more sockets: 3 live connections, then 3 released
    // ones still closing (the cable cut under them). A new handshake takes
    // a listener's socket; re-arming it needs a socket, which one of the
    // closing connections gives up: at no point is a live connection to be
    // evicted.
    let mut config_b = static_config(IP_B, &[7]);
    config_b.max_connections = 10;
    let mut p = Pair::new(static_config(IP_A, &[]), config_b);
    let live: Vec<ConnId> = (0..3).map(|_| p.connect(7).1).collect();
    orphans(&mut p, 3);
    p.cut = false;
    // Within their grace (1 s) they are left alone: a live connection
    // would have to go.
    let (_, young) = p.connect(7);
    assert!(p.b.at_capacity());
    assert_eq!(p.b.socket_counts().closing, 3);
    p.b.abort(young);
    p.b.release(young);
    p.step(1_000);
    assert!(!p.b.at_capacity());
    let counts = p.b.socket_counts();
    assert_eq!(
        (counts.connections, counts.closing, counts.listening),
        (3, 3, 4)
    );
    assert_eq!(counts.total(), 10);
    assert!(!p.b.at_capacity());
    let mut newer = Vec::new();
    for expected_closing in [2, 1, 0] {
        newer.push(p.connect(7).1);
        let counts = p.b.socket_counts();
        assert_eq!(counts.closing, expected_closing, "{counts:?}");
        assert_eq!(counts.listening, 4, "{counts:?}");
        assert!(!p.b.at_capacity());
    }
    for &conn in live.iter().chain(&newer) {
        assert_eq!(p.b.state(conn), ConnState::Established);
    }
    // With no closing connection left, a new one leaves a listener short:
    // now, and only now, the caller is told to evict.
    p.connect(7);
    assert!(p.b.at_capacity());
}

#[test]
fn beyond_max_connections_connects_are_refused_then_served_again() {
    let mut config_b = static_config(IP_B, &[7, 8]);
    config_b.max_connections = 16;
    config_b.backlog = 2;
    let mut p = Pair::new(static_config(IP_A, &[]), config_b);
    assert_eq!(p.b.socket_counts().listening, 4);
    let conns: Vec<ConnId> = (0..30)
        .map(|_| p.a.connect(SocketAddr::from((IP_B, 7)), p.now).unwrap())
        .collect();
    assert!(p.run_until(20_000, |p| conns.iter().all(|&c| {
        p.events_a.contains(&StackEvent::Connected(c))
            || p.events_a.contains(&StackEvent::ConnectFailed(c))
    })));
    let ok = conns
        .iter()
        .filter(|&&c| p.events_a.contains(&StackEvent::Connected(c)))
        .count();
    p.step(1);
    let mut accepted = Vec::new();
    while let Some((conn, _, _)) = p.take_accepted_b() {
        accepted.push(conn);
    }
    assert_eq!(ok, accepted.len());
    // Port 8's listeners are not taken by port 7's connections.
    assert_eq!(
        ok, 14,
        "the sockets not kept for port 8 end up as connections"
    );
    let counts = p.b.socket_counts();
    assert_eq!(counts.total(), 16, "{counts:?}");
    assert_eq!(counts.listening, 2);
    assert!(p.b.at_capacity());
    // Port 8 still serves, with its last listeners.
    let (_, on_8) = p.connect(8);
    accepted.push(on_8);
    let (_, on_8) = p.connect(8);
    accepted.push(on_8);
    assert_eq!(p.b.socket_counts().listening, 0);
    // Now nothing listens: refused.
    let refused = p.a.connect(SocketAddr::from((IP_B, 8)), p.now).unwrap();
    assert!(p.run_until(1000, |p| p.has_event_a(StackEvent::ConnectFailed(refused))));

    // Evict the oldest idle connection: a listener comes back on each port
    // in turn, and a new connection is served.
    p.step(5);
    p.b.send(accepted[3], b"x").unwrap();
    let (oldest, _) = p.b.oldest_idle().unwrap();
    assert_ne!(oldest, accepted[3]);
    p.b.abort(oldest);
    p.b.release(oldest);
    p.step(1);
    // One socket free: one listener, on the first port short of them.
    assert_eq!(p.b.socket_counts().listening, 1);
    assert!(p.b.at_capacity());
    let again = p.a.connect(SocketAddr::from((IP_B, 7)), p.now).unwrap();
    assert!(p.run_until(1000, |p| p.has_event_a(StackEvent::Connected(again))));
    assert!(p.run_until(100, |p| p.take_accepted_b().is_some()));
}

#[test]
fn released_conn_ids_never_reach_a_new_connection() {
    let mut p = Pair::with_ports(&[7]);
    let (_, old_b) = p.connect(7);
    p.b.abort(old_b);
    p.b.release(old_b);
    p.step(1);
    // Connections until one reuses the old socket slot.
    let mut reused = None;
    for _ in 0..8 {
        let (_, new_b) = p.connect(7);
        assert_ne!(new_b, old_b);
        if new_b.to_string().split('.').next() == old_b.to_string().split('.').next() {
            reused = Some(new_b);
            break;
        }
    }
    let new_b = reused.expect("slot reused");
    assert_eq!(p.b.state(old_b), ConnState::Closed);
    assert_eq!(p.b.state(new_b), ConnState::Established);
    assert_eq!(p.b.send(old_b, b"x"), Err(StackError::UnknownConnection));
    assert_eq!(
        p.b.recv(old_b, &mut [0; 4]),
        Err(StackError::UnknownConnection)
    );
    p.b.close(old_b);
    p.b.abort(old_b);
    p.b.release(old_b);
    p.step(10);
    assert_eq!(p.b.state(new_b), ConnState::Established);
    assert_eq!(p.b.send(new_b, b"still mine").unwrap(), 10);
}

#[test]
fn release_of_an_open_connection_resets_it() {
    let mut p = Pair::with_ports(&[7]);
    let (conn_a, conn_b) = p.connect(7);
    p.b.release(conn_b);
    assert_eq!(p.b.state(conn_b), ConnState::Closed);
    assert!(p.run_until(1000, |p| p.a.state(conn_a) == ConnState::Closed));
    p.step(1);
    assert_eq!(p.b.socket_counts().total(), 4);
}

#[test]
fn release_after_close_delivers_the_queued_data() {
    let mut p = Pair::with_ports(&[7]);
    let (conn_a, conn_b) = p.connect(7);
    let data = pattern(12_000, 7);
    assert_eq!(p.b.send(conn_b, &data).unwrap(), data.len());
    p.b.close(conn_b);
    p.b.release(conn_b);
    assert_eq!(p.b.socket_counts().closing, 1);
    let mut got = Vec::new();
    assert!(p.run_until(5000, |p| {
        recv_all(p, false, conn_a, &mut got);
        p.a.state(conn_a) == ConnState::PeerClosed
    }));
    recv_all(&mut p, false, conn_a, &mut got);
    assert!(got == data);
    p.a.close(conn_a);
    assert!(p.run_until(5000, |p| p.b.socket_counts().closing == 0));
    assert_eq!(p.b.socket_counts().total(), 4);
}

#[test]
fn released_socket_is_freed_after_linger_when_the_peer_vanishes() {
    let mut p = Pair::with_ports(&[7]);
    let (_conn_a, conn_b) = p.connect(7);
    p.cut = true;
    p.b.send(conn_b, &pattern(8000, 1)).unwrap();
    p.b.close(conn_b);
    p.b.release(conn_b);
    assert!(p.run_timers(30_000, 1000, |p| p.b.socket_counts().closing == 0));
    assert!(p.now >= 10_000 && p.now < 12_000, "freed at {} ms", p.now);
}

#[test]
fn dead_peer_is_reaped_by_keep_alive_timeout() {
    let mut p = Pair::with_ports(&[7]);
    let (conn_a, conn_b) = p.connect(7);
    // Idle but alive: keep-alives are answered, nothing closes.
    assert!(!p.run_timers(200_000, 10_000, |p| p.b.state(conn_b) == ConnState::Closed));
    assert_eq!(p.a.state(conn_a), ConnState::Established);
    // The peer vanishes: B notices within tcp_timeout (90 s) + a keep-alive.
    p.cut = true;
    let start = p.now;
    assert!(p.run_timers(300_000, 10_000, |p| p.b.state(conn_b) == ConnState::Closed));
    assert!(p.now - start <= 130_000, "took {} ms", p.now - start);
}

#[test]
fn poll_delay_reports_timers() {
    let mut p = Pair::with_ports(&[7]);
    p.poll();
    // Nothing to do: listeners wait for frames.
    assert_eq!(p.b.poll_delay(p.now), None);
    let (_conn_a, conn_b) = p.connect(7);
    p.step(100);
    let delay = p.b.poll_delay(p.now).expect("keep-alive timer");
    assert!(delay <= 30_000, "{delay}");
    p.b.send(conn_b, b"data").unwrap();
    assert_eq!(p.b.poll_delay(p.now), Some(0));
}

#[test]
fn syn_flood_is_bounded_and_legit_clients_still_get_in() {
    use smoltcp::phy::ChecksumCapabilities;
    use smoltcp::wire::{
        EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, IpAddress, IpProtocol,
        Ipv4Packet, Ipv4Repr, TcpControl, TcpPacket, TcpRepr, TcpSeqNumber,
    };
    let mut config_b = static_config(IP_B, &[7]);
    config_b.max_half_open = 8;
    config_b.max_connections = 32;
    let mut p = Pair::new(static_config(IP_A, &[]), config_b);
    let b_rx = p.b.nic().rx().clone();
    let mut rng = common::Rng(42);
    let syn = |src: [u8; 4], port: u16, seq: u32| {
        let tcp = TcpRepr {
            src_port: port,
            dst_port: 7,
            control: TcpControl::Syn,
            seq_number: TcpSeqNumber(seq as i32),
            ack_number: None,
            window_len: 1024,
            window_scale: None,
            max_seg_size: Some(1460),
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload: &[],
        };
        let ip = Ipv4Repr {
            src_addr: src.into(),
            dst_addr: IP_B,
            next_header: IpProtocol::Tcp,
            payload_len: tcp.buffer_len(),
            hop_limit: 64,
        };
        let eth = EthernetRepr {
            src_addr: EthernetAddress([0x02, 9, 9, 9, 9, 9]),
            dst_addr: EthernetAddress(common::MAC_B),
            ethertype: EthernetProtocol::Ipv4,
        };
        let mut frame = vec![0u8; 14 + ip.buffer_len() + tcp.buffer_len()];
        let mut f = EthernetFrame::new_unchecked(&mut frame[..]);
        eth.emit(&mut f);
        let mut ipp = Ipv4Packet::new_unchecked(f.payload_mut());
        ip.emit(&mut ipp, &ChecksumCapabilities::default());
        tcp.emit(
            &mut TcpPacket::new_unchecked(ipp.payload_mut()),
            &IpAddress::Ipv4(src.into()),
            &IpAddress::Ipv4(IP_B),
            &ChecksumCapabilities::default(),
        );
        frame
    };
    for round in 0..20 {
        for _ in 0..50 {
            let src = [10, 0, 2, 100 + rng.below(100) as u8];
            b_rx.push(syn(src, 1024 + rng.below(60000) as u16, rng.next() as u32));
        }
        p.step(1);
        let counts = p.b.socket_counts();
        assert!(counts.half_open <= 8, "round {round}: {counts:?}");
        assert!(counts.total() <= 32, "round {round}: {counts:?}");
        assert_eq!(counts.listening, 4, "round {round}: {counts:?}");
    }
    // A real client still gets in during the flood.
    for _ in 0..20 {
        b_rx.push(syn([10, 0, 2, 200], 4000 + rng.below(1000) as u16, 1));
    }
    let (_conn_a, _conn_b) = p.connect(7);
    // The handshake deadline empties the half-open set.
    assert!(p.run_timers(30_000, 1000, |p| p.b.socket_counts().half_open == 0));
    assert_eq!(p.b.socket_counts().connections, 1);
}

#[test]
fn config_errors_are_reported() {
    use stack::{ConfigError, IpConfig, Stack, StackConfig};
    let ip = IpConfig::parse_static("10.0.2.15/24", Some("10.0.2.2")).unwrap();
    assert_eq!(
        ip,
        IpConfig::Static {
            address: IP_A,
            prefix_len: 24,
            gateway: Some(IP_B)
        }
    );
    assert_eq!(
        IpConfig::parse_static("10.0.2.15", None).unwrap(),
        IpConfig::Static {
            address: IP_A,
            prefix_len: 32,
            gateway: None
        }
    );
    for bad in [
        "10.0.2.15/33",
        "10.0.2/24",
        "0.0.0.0/0",
        "224.0.0.1/4",
        "10.0.2.15/",
        "",
    ] {
        assert_eq!(
            IpConfig::parse_static(bad, None),
            Err(ConfigError::Address),
            "{bad}"
        );
    }
    assert_eq!(
        IpConfig::parse_static("10.0.2.15/24", Some("nope")),
        Err(ConfigError::Gateway)
    );
    let new = |config: StackConfig, mac: [u8; 6]| Stack::new(common::wire(mac), config, 0, 1).err();
    let good = static_config(IP_A, &[80]);
    assert_eq!(new(good.clone(), common::MAC_A), None);
    assert_eq!(
        new(good.clone(), [0x01, 0, 0x5e, 0, 0, 1]),
        Some(ConfigError::Mac)
    );
    let mut c = good.clone();
    c.mac = Some([0xff; 6]);
    assert_eq!(new(c, common::MAC_A), Some(ConfigError::Mac));
    assert_eq!(
        new(static_config(IP_A, &[80, 0]), common::MAC_A),
        Some(ConfigError::Port)
    );
    let mut c = good.clone();
    c.max_connections = 0;
    assert_eq!(new(c, common::MAC_A), Some(ConfigError::Limits));
    let mut c = good.clone();
    c.rx_buffer = 0;
    assert_eq!(new(c, common::MAC_A), Some(ConfigError::Buffer));
    let mut c = good.clone();
    c.ip = IpConfig::Static {
        address: IP_A,
        prefix_len: 40,
        gateway: None,
    };
    assert_eq!(new(c, common::MAC_A), Some(ConfigError::Address));
}

#[test]
fn events_print_as_log_lines() {
    let mut p = Pair::with_ports(&[80]);
    assert_eq!(
        p.events_a[0].to_string(),
        "ip configured 10.0.2.15/24 no gateway"
    );
    p.events_b.clear();
    let (conn_a, _) = p.connect(80);
    let peer = p.a.local_addr(conn_a).unwrap();
    let conn = p.a.connect(SocketAddr::from((IP_B, 80)), p.now).unwrap();
    assert!(p.run_until(100, |p| p.take_accepted_b().is_some()));
    let line = StackEvent::Accepted {
        conn: conn_a,
        listener: 0,
        peer,
    }
    .to_string();
    assert_eq!(line, format!("accepted {conn_a} on listener 0 from {peer}"));
    assert!(line.starts_with("accepted #"));
    assert!(
        StackEvent::Connected(conn)
            .to_string()
            .starts_with("connected #")
    );
}

#[test]
fn an_absurd_clock_does_not_panic() {
    let mut p = Pair::with_ports(&[7]);
    let (conn_a, conn_b) = p.connect(7);
    for now in [u64::MAX / 2, u64::MAX - 1, u64::MAX] {
        p.a.send(conn_a, b"x").unwrap();
        p.a.poll(now);
        p.b.poll(now);
        let _ = p.a.poll_delay(now);
        let _ = p.b.poll_delay(now);
        let _ = p.b.recv(conn_b, &mut [0; 8]);
    }
}
