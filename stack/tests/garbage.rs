//! Hostile frames into `poll`: random bytes, truncated and corrupted real
//! frames, well-formed headers over garbage, and checksum-valid TCP segments
//! with random fields aimed at live connections. Nothing may panic, and the
//! stack must still serve afterwards.

mod common;

use std::net::{Ipv4Addr, SocketAddr};

use common::{IP_A, IP_B, MAC_A, MAC_B, Pair, Queue, Rng, static_config};
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, IpAddress, IpProtocol,
    Ipv4Packet, TcpPacket, UdpPacket,
};
use stack::{ConnState, IpConfig, Stack, StackConfig, StackEvent};

fn ethernet(dst: [u8; 6], src: [u8; 6], ethertype: EthernetProtocol, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0u8; 14 + payload.len()];
    let mut f = EthernetFrame::new_unchecked(&mut frame[..]);
    EthernetRepr {
        src_addr: EthernetAddress(src),
        dst_addr: EthernetAddress(dst),
        ethertype,
    }
    .emit(&mut f);
    f.payload_mut().copy_from_slice(payload);
    frame
}

/// An IPv4 packet with a valid header checksum around `payload`; header
/// fields partly random.
fn ipv4(rng: &mut Rng, src: Ipv4Addr, dst: Ipv4Addr, proto: IpProtocol, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; 20 + payload.len()];
    let mut p = Ipv4Packet::new_unchecked(&mut buf[..]);
    p.set_version(4);
    p.set_header_len(20);
    p.set_total_len((20 + payload.len()) as u16);
    p.set_ident(rng.next() as u16);
    p.set_dont_frag(rng.below(2) == 0);
    p.set_more_frags(rng.below(16) == 0);
    p.set_frag_offset(if rng.below(16) == 0 { 8 } else { 0 });
    p.set_hop_limit(rng.next() as u8);
    p.set_next_header(proto);
    p.set_src_addr(src);
    p.set_dst_addr(dst);
    p.payload_mut().copy_from_slice(payload);
    // Now and then a lying length field (checksum still valid).
    if rng.below(8) == 0 {
        p.set_total_len(rng.next() as u16);
    }
    if rng.below(16) == 0 {
        // Within the buffer, so that the checksum can be computed.
        let max = (20 + payload.len()).min(60) as u64;
        p.set_header_len((rng.below(max / 4 + 1) * 4) as u8);
    }
    p.fill_checksum();
    buf
}

/// A TCP segment with a valid checksum and random everything else
/// (flags, sequence numbers, window, options, payload).
fn tcp(
    rng: &mut Rng,
    src: (Ipv4Addr, u16),
    dst: (Ipv4Addr, u16),
    seq_near: Option<(u32, u32)>,
) -> Vec<u8> {
    let options_len = (rng.below(11) * 4) as usize;
    let payload_len = if rng.below(3) == 0 {
        rng.below(1400) as usize
    } else {
        0
    };
    let mut buf = vec![0u8; 20 + options_len + payload_len];
    for b in &mut buf[20..] {
        *b = rng.next() as u8;
    }
    // Options that look like options often: MSS, window scale, SACK, TS.
    if options_len >= 4 && rng.below(2) == 0 {
        let kinds: [&[u8]; 5] = [
            &[2, 4, 0, 0],
            &[3, 3, 14, 1],
            &[4, 2, 1, 1],
            &[5, 10, 0, 0],
            &[8, 10, 0, 0],
        ];
        let k = kinds[rng.below(5) as usize];
        buf[20..24].copy_from_slice(k);
    }
    let mut p = TcpPacket::new_unchecked(&mut buf[..]);
    p.set_src_port(src.1);
    p.set_dst_port(dst.1);
    let (seq, ack) = match seq_near {
        Some((s, a)) => (
            s.wrapping_add(rng.below(200_000) as u32)
                .wrapping_sub(100_000),
            a.wrapping_add(rng.below(200_000) as u32)
                .wrapping_sub(100_000),
        ),
        None => (rng.next() as u32, rng.next() as u32),
    };
    p.set_seq_number(smoltcp::wire::TcpSeqNumber(seq as i32));
    p.set_ack_number(smoltcp::wire::TcpSeqNumber(ack as i32));
    p.set_header_len((20 + options_len) as u8);
    let flags = rng.next() as u16;
    p.set_fin(flags & 1 != 0);
    p.set_syn(flags & 2 != 0 && rng.below(3) == 0);
    p.set_rst(flags & 4 != 0 && rng.below(3) == 0);
    p.set_psh(flags & 8 != 0);
    p.set_ack(flags & 16 != 0 || rng.below(2) == 0);
    p.set_urg(flags & 32 != 0);
    p.set_window_len(rng.next() as u16);
    p.set_urgent_at(rng.next() as u16);
    p.fill_checksum(&IpAddress::Ipv4(src.0), &IpAddress::Ipv4(dst.0));
    if rng.below(10) == 0 {
        // Bad checksum now and then.
        let c = p.checksum();
        p.set_checksum(c ^ 1);
    }
    buf
}

fn udp(rng: &mut Rng, src: (Ipv4Addr, u16), dst: (Ipv4Addr, u16), payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; 8 + payload.len()];
    let mut p = UdpPacket::new_unchecked(&mut buf[..]);
    p.set_src_port(src.1);
    p.set_dst_port(dst.1);
    p.set_len((8 + payload.len()) as u16);
    p.payload_mut().copy_from_slice(payload);
    p.fill_checksum(&IpAddress::Ipv4(src.0), &IpAddress::Ipv4(dst.0));
    if rng.below(8) == 0 {
        // A lying length; checksum 0 means "none" over IPv4.
        p.set_len(rng.next() as u16);
        p.set_checksum(0);
    }
    buf
}

/// Random frames of every kind, addressed to the owner of `mac`/`ip`.
fn garbage(rng: &mut Rng, mac: [u8; 6], ip: Ipv4Addr, peer: (Ipv4Addr, u16), port: u16) -> Vec<u8> {
    let dst_mac = if rng.below(4) == 0 { [0xff; 6] } else { mac };
    match rng.below(7) {
        // Pure noise, any length (some longer than the MTU).
        0 => {
            let len = rng.below(1700) as usize;
            rng.bytes(len)
        }
        // An Ethernet header over noise.
        1 => {
            let ethertype = [
                EthernetProtocol::Ipv4,
                EthernetProtocol::Arp,
                EthernetProtocol::Ipv6,
                EthernetProtocol::Unknown(rng.next() as u16),
            ][rng.below(4) as usize];
            let len = rng.below(1500) as usize;
            ethernet(dst_mac, MAC_A, ethertype, &rng.bytes(len))
        }
        // A valid IPv4 header over noise, any protocol.
        2 => {
            let proto = [
                IpProtocol::Tcp,
                IpProtocol::Udp,
                IpProtocol::Icmp,
                IpProtocol::Igmp,
                IpProtocol::Unknown(rng.next() as u8),
            ][rng.below(5) as usize];
            let len = rng.below(1480) as usize;
            let payload = rng.bytes(len);
            let ip_packet = ipv4(rng, peer.0, ip, proto, &payload);
            ethernet(dst_mac, MAC_A, EthernetProtocol::Ipv4, &ip_packet)
        }
        // Checksum-valid TCP at a listening port or at the live connection.
        3 | 4 => {
            let dst_port = if rng.below(2) == 0 {
                port
            } else {
                rng.next() as u16
            };
            let segment = tcp(rng, peer, (ip, dst_port), None);
            let ip_packet = ipv4(rng, peer.0, ip, IpProtocol::Tcp, &segment);
            ethernet(mac, MAC_A, EthernetProtocol::Ipv4, &ip_packet)
        }
        // UDP (DHCP ports included).
        5 => {
            let ports = [(67, 68), (68, 67), (rng.next() as u16, rng.next() as u16)];
            let (s, d) = ports[rng.below(3) as usize];
            let len = rng.below(600) as usize;
            let payload = rng.bytes(len);
            let dst_ip = if rng.below(2) == 0 {
                ip
            } else {
                Ipv4Addr::BROADCAST
            };
            let datagram = udp(rng, (peer.0, s), (dst_ip, d), &payload);
            let ip_packet = ipv4(rng, peer.0, dst_ip, IpProtocol::Udp, &datagram);
            ethernet(dst_mac, MAC_A, EthernetProtocol::Ipv4, &ip_packet)
        }
        // ARP with plausible fields.
        _ => {
            let mut arp = vec![0, 1, 8, 0, 6, 4, 0, rng.below(3) as u8];
            arp.extend_from_slice(&MAC_A);
            arp.extend_from_slice(&peer.0.octets());
            arp.extend_from_slice(&rng.bytes(6));
            arp.extend_from_slice(&ip.octets());
            let cut = rng.below(arp.len() as u64 + 1) as usize;
            if rng.below(4) == 0 {
                arp.truncate(cut);
            }
            ethernet(dst_mac, MAC_A, EthernetProtocol::Arp, &arp)
        }
    }
}

/// Echo check: a new connection from A to B:7 carries bytes both ways.
/// Corrupted ARP frames may have taught B a wrong MAC for A; that heals when
/// the neighbor entry expires (a minute), so a few attempts are allowed.
fn still_serves(p: &mut Pair) {
    p.cut = false;
    p.events_b.clear();
    let mut attempts = 0;
    let (conn_a, conn_b) = loop {
        attempts += 1;
        assert!(attempts <= 10, "B no longer serves");
        let conn_a = p.a.connect(SocketAddr::from((IP_B, 7)), p.now).unwrap();
        p.run_timers(15_000, 100, |p| p.a.state(conn_a) != ConnState::Connecting);
        if p.a.state(conn_a) == ConnState::Established {
            let a_local = p.a.local_addr(conn_a).unwrap();
            let accepted = |p: &Pair| {
                p.events_b.iter().find_map(|e| match *e {
                    StackEvent::Accepted { conn, peer, .. } if peer == a_local => Some(conn),
                    _ => None,
                })
            };
            p.run_until(100, |p| accepted(p).is_some());
            break (conn_a, accepted(p).expect("accepted on B"));
        }
        p.a.release(conn_a);
    };
    p.a.send(conn_a, b"are you ok").unwrap();
    let mut buf = [0u8; 64];
    let mut got = Vec::new();
    assert!(p.run_until(2000, |p| {
        let n = p.b.recv(conn_b, &mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
        got == b"are you ok"
    }));
}

#[test]
fn random_frames_never_panic() {
    let mut p = Pair::with_ports(&[7, 80]);
    let b_rx = p.b.nic().rx().clone();
    let mut rng = Rng(0x1234_5678);
    for round in 0..200 {
        for _ in 0..50 {
            let frame = garbage(&mut rng, MAC_B, IP_B, (IP_A, 40000), 7);
            b_rx.push(frame);
        }
        p.step(1 + rng.below(50));
        let counts = p.b.socket_counts();
        assert!(counts.total() <= 256, "round {round}: {counts:?}");
    }
    // Let handshakes from random SYNs expire, then serve a real client.
    p.run_timers(20_000, 1000, |p| p.b.socket_counts().half_open == 0);
    still_serves(&mut p);
}

#[test]
fn truncated_and_corrupted_real_frames_never_panic() {
    // Record a real exchange (ARP, handshake, data, FIN) from both sides.
    let mut p = Pair::with_ports(&[7]);
    let recorded = Queue::default();
    let (ab, ba) = (p.ab.clone(), p.ba.clone());
    let record = |p: &mut Pair| {
        p.now += 1;
        p.a.poll(p.now);
        p.b.poll(p.now);
        for q in [&ab, &ba] {
            for f in q.frames() {
                recorded.push(f);
            }
        }
        p.poll();
    };
    let conn_a = p.a.connect(SocketAddr::from((IP_B, 7)), p.now).unwrap();
    let conn_b = loop {
        record(&mut p);
        if let Some((conn_b, _, _)) = p.take_accepted_b() {
            break conn_b;
        }
        assert!(p.now < 1000, "no connection");
    };
    p.a.send(conn_a, &[0x42; 3000]).unwrap();
    p.b.send(conn_b, b"hello").unwrap();
    p.a.close(conn_a);
    for _ in 0..50 {
        record(&mut p);
    }
    let frames = recorded.drain();
    assert!(frames.len() >= 8, "recorded {}", frames.len());

    let mut p = Pair::with_ports(&[7]);
    let b_rx = p.b.nic().rx().clone();
    let mut rng = Rng(99);
    for frame in &frames {
        // Every truncation of every frame.
        for len in 0..frame.len().min(200) {
            b_rx.push(frame[..len].to_vec());
        }
        // Random bit flips and byte changes.
        for _ in 0..100 {
            let mut f = frame.clone();
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(f.len() as u64) as usize;
                f[i] ^= 1 << rng.below(8);
            }
            b_rx.push(f);
        }
        while !b_rx.is_empty() {
            p.step(1);
        }
    }
    p.run_timers(20_000, 1000, |p| p.b.socket_counts().half_open == 0);
    still_serves(&mut p);
}

#[test]
fn random_segments_aimed_at_a_live_connection_never_panic() {
    let mut rng = Rng(7);
    for _ in 0..20 {
        let mut p = Pair::with_ports(&[7]);
        let (conn_a, conn_b) = p.connect(7);
        let a_local = p.a.local_addr(conn_a).unwrap();
        let SocketAddr::V4(a_local) = a_local else {
            unreachable!()
        };
        let (b_rx, a_rx) = (p.b.nic().rx().clone(), p.a.nic().rx().clone());
        // Learn the sequence numbers in use from the handshake traffic
        // ... or guess near zero: the segments are random either way.
        for round in 0..50 {
            p.a.send(conn_a, &rng.bytes(500)).ok();
            p.b.send(conn_b, &rng.bytes(500)).ok();
            let mut buf = [0u8; 2048];
            p.a.recv(conn_a, &mut buf).unwrap();
            p.b.recv(conn_b, &mut buf).unwrap();
            for _ in 0..10 {
                let seg = tcp(&mut rng, (*a_local.ip(), a_local.port()), (IP_B, 7), None);
                let pkt = ipv4(&mut rng, *a_local.ip(), IP_B, IpProtocol::Tcp, &seg);
                b_rx.push(ethernet(MAC_B, MAC_A, EthernetProtocol::Ipv4, &pkt));
                let seg = tcp(&mut rng, (IP_B, 7), (*a_local.ip(), a_local.port()), None);
                let pkt = ipv4(&mut rng, IP_B, *a_local.ip(), IpProtocol::Tcp, &seg);
                a_rx.push(ethernet(MAC_A, MAC_B, EthernetProtocol::Ipv4, &pkt));
            }
            p.step(1 + rng.below(300));
            if round % 10 == 9 && rng.below(2) == 0 {
                p.b.close(conn_b);
            }
        }
        // Whatever state the connection is in, the caller can end it.
        p.b.abort(conn_b);
        p.b.release(conn_b);
        p.a.release(conn_a);
        p.run_timers(20_000, 1000, |p| p.b.socket_counts().half_open == 0);
        assert_eq!(p.b.state(conn_b), ConnState::Closed);
        still_serves(&mut p);
    }
}

#[test]
fn dhcp_client_survives_garbage() {
    let config = StackConfig::new(IpConfig::Dhcp, &[7]);
    let nic = common::wire(MAC_A);
    let rx = nic.rx().clone();
    let mut stack = Stack::new(nic, config, 0, 3).unwrap();
    let mut rng = Rng(5);
    for now in 0..2000u64 {
        for _ in 0..5 {
            let frame = garbage(&mut rng, MAC_A, Ipv4Addr::UNSPECIFIED, (IP_B, 67), 68);
            rx.push(frame);
        }
        stack.poll(now * 10);
        stack.nic().tx().clear();
        while let Some(event) = stack.next_event() {
            assert!(!matches!(event, StackEvent::Accepted { .. }));
        }
    }
    assert_eq!(stack.ipv4(), None);
}

#[test]
fn a_stack_with_a_tiny_configuration_survives_garbage() {
    let mut config_b = static_config(IP_B, &[7]);
    config_b.max_connections = 1;
    config_b.backlog = 1;
    config_b.max_half_open = 1;
    config_b.rx_buffer = 1;
    config_b.tx_buffer = 1;
    let mut p = Pair::new(static_config(IP_A, &[]), config_b);
    let b_rx = p.b.nic().rx().clone();
    let mut rng = Rng(11);
    for _ in 0..100 {
        for _ in 0..20 {
            b_rx.push(garbage(&mut rng, MAC_B, IP_B, (IP_A, 40000), 7));
        }
        p.step(1 + rng.below(100));
        assert!(p.b.socket_counts().total() <= 1);
    }
}

#[test]
fn a_flood_is_read_at_most_64_frames_per_poll() {
    let mut p = Pair::with_ports(&[7]);
    let b_rx = p.b.nic().rx().clone();
    let mut rng = Rng(3);
    for _ in 0..200 {
        b_rx.push(garbage(&mut rng, MAC_B, IP_B, (IP_A, 40000), 7));
    }
    p.b.poll(1);
    assert_eq!(b_rx.len(), 136);
    // More is waiting: poll again at once.
    assert_eq!(p.b.poll_delay(1), Some(0));
    p.b.poll(1);
    p.b.poll(1);
    assert_eq!(b_rx.len(), 8);
    p.b.poll(1);
    assert_eq!(b_rx.len(), 0);
    assert_ne!(p.b.poll_delay(1), Some(0));
}
