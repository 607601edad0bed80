//! With a secret (`StackConfig::secret`), TCP initial sequence numbers are
//! RFC 6528's — a 4 µs clock plus a keyed hash of the 4-tuple — and
//! ephemeral ports come from a keyed generator. Hand-made SYNs go into a
//! listening stack; its SYN-ACKs are read off the wire.

mod common;

use std::net::Ipv4Addr;

use common::{IP_A, IP_B, MAC_A, MAC_B, Pair, arp_request, ethernet_frame, static_config, wire};
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, IpAddress, IpProtocol, Ipv4Packet, TcpPacket,
    TcpSeqNumber,
};
use stack::{Stack, StackEvent, StackSecret};

const PORT: u16 = 80;

fn secret(last: u8) -> StackSecret {
    let mut bytes: [u8; StackSecret::LEN] = core::array::from_fn(|i| (i * 7) as u8);
    // One byte in each key: sequence numbers, ports, SYN cookies.
    bytes[0] = last;
    bytes[31] = last;
    bytes[47] = last;
    StackSecret::new(bytes)
}

/// A listening stack (B's address, port 80) and its clock.
struct Listener {
    stack: Stack<common::Wire>,
    now: u64,
}

impl Listener {
    fn new(secret: Option<StackSecret>) -> Listener {
        let mut config = static_config(IP_B, &[PORT]);
        config.secret = secret;
        let stack = Stack::new(wire(MAC_B), config, 0, 0x5eed).expect("config");
        Listener { stack, now: 0 }
    }

    /// Sends a segment from `peer` (a SYN, or an RST) and returns the
    /// SYN-ACK's sequence number if one comes back. An ARP request from the
    /// peer goes first, so that the stack knows its MAC address (smoltcp
    /// sends one ARP request a second, and this clock stands still).
    fn segment(&mut self, peer: (Ipv4Addr, u16), seq: u32, rst: bool) -> Option<u32> {
        self.stack.nic().rx().push(arp_request(peer.0, MAC_A));
        self.stack.nic().rx().push(tcp_frame(peer, seq, rst));
        self.stack.poll(self.now);
        self.stack.nic().tx().drain().iter().find_map(|frame| {
            let eth = EthernetFrame::new_checked(&frame[..]).ok()?;
            let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
            let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
            (tcp.syn() && tcp.ack() && tcp.dst_port() == peer.1).then(|| tcp.seq_number().0 as u32)
        })
    }

    fn syn_ack(&mut self, peer: (Ipv4Addr, u16)) -> u32 {
        self.segment(peer, 1000, false)
            .unwrap_or_else(|| panic!("no SYN-ACK to {peer:?}"))
    }

    /// Ends the handshake `peer` started (RST), so that the same 4-tuple
    /// can start a new one.
    fn reset(&mut self, peer: (Ipv4Addr, u16)) {
        assert_eq!(self.segment(peer, 1001, true), None);
    }
}

fn tcp_frame(peer: (Ipv4Addr, u16), seq: u32, rst: bool) -> Vec<u8> {
    let mut segment = vec![0u8; 20];
    let mut p = TcpPacket::new_unchecked(&mut segment[..]);
    p.set_src_port(peer.1);
    p.set_dst_port(PORT);
    p.set_seq_number(TcpSeqNumber(seq as i32));
    p.set_header_len(20);
    p.set_syn(!rst);
    p.set_rst(rst);
    p.set_window_len(65535);
    p.fill_checksum(&IpAddress::Ipv4(peer.0), &IpAddress::Ipv4(IP_B));
    let mut packet = vec![0u8; 20 + segment.len()];
    let mut ip = Ipv4Packet::new_unchecked(&mut packet[..]);
    ip.set_version(4);
    ip.set_header_len(20);
    ip.set_total_len(20 + segment.len() as u16);
    ip.set_hop_limit(64);
    ip.set_next_header(IpProtocol::Tcp);
    ip.set_src_addr(peer.0);
    ip.set_dst_addr(IP_B);
    ip.payload_mut().copy_from_slice(&segment);
    ip.fill_checksum();
    ethernet_frame(
        MAC_A,
        EthernetAddress(MAC_B),
        EthernetProtocol::Ipv4,
        &packet,
    )
}

#[test]
fn each_4_tuple_has_its_own_unrelated_offset() {
    let mut listener = Listener::new(Some(secret(1)));
    let isns: Vec<u32> = (0..32)
        .map(|i| listener.syn_ack((IP_A, 40000 + i)))
        .collect();
    // At one instant, the ISNs differ only by the keyed hash of the tuple:
    // neither equal nor a progression (what a counter or clock would give).
    let mut sorted = isns.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), isns.len(), "{isns:x?}");
    let steps: Vec<u32> = isns.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
    assert!(steps.windows(2).any(|s| s[0] != s[1]), "{isns:x?}");
    // Spread over the whole 32-bit space, not clustered.
    assert!(isns.iter().any(|&i| i < 1 << 31) && isns.iter().any(|&i| i >= 1 << 31));

    // Another address, the same port: another offset.
    let other = listener.syn_ack((Ipv4Addr::new(10, 0, 2, 3), 40000));
    assert!(!isns.contains(&other));

    // Another secret, the same tuple and time: another offset.
    let mut rekeyed = Listener::new(Some(secret(2)));
    assert_ne!(rekeyed.syn_ack((IP_A, 40000)), isns[0]);
}

#[test]
fn a_4_tuples_isn_advances_with_the_clock() {
    let mut listener = Listener::new(Some(secret(1)));
    let peer = (IP_A, 40000);
    let first = listener.syn_ack(peer);
    listener.reset(peer);
    listener.now += 1_000;
    let second = listener.syn_ack(peer);
    // One tick every 4 µs: 1 s is 250,000.
    assert_eq!(second.wrapping_sub(first), 250_000);
    listener.reset(peer);
    listener.now += 7;
    assert_eq!(listener.syn_ack(peer).wrapping_sub(second), 1_750);
}

#[test]
fn without_a_secret_the_seeded_generator_repeats_itself() {
    // What tests and fuzzing rely on (and a public appliance must avoid):
    // the same seed gives the same numbers, whatever the tuple.
    let mut a = Listener::new(None);
    let mut b = Listener::new(None);
    assert_eq!(a.syn_ack((IP_A, 40000)), b.syn_ack((IP_A, 50000)));
    // With a secret, the tuple decides.
    let mut c = Listener::new(Some(secret(1)));
    let mut d = Listener::new(Some(secret(1)));
    assert_ne!(c.syn_ack((IP_A, 40000)), d.syn_ack((IP_A, 50000)));
}

/// The ports a client stack with `secret` (and a fixed seed) dials from.
fn dial_ports(secret: Option<StackSecret>) -> Vec<u16> {
    let mut client = static_config(IP_A, &[]);
    client.secret = secret;
    let mut pair = Pair::new(client, static_config(IP_B, &[PORT]));
    let mut ports = Vec::new();
    for _ in 0..8 {
        pair.a
            .connect((IP_B, PORT).into(), pair.now)
            .expect("connect");
        assert!(pair.run_until(1_000, |p| {
            p.events_b
                .iter()
                .any(|e| matches!(e, StackEvent::Accepted { .. }))
        }));
        let peer = pair
            .events_b
            .drain(..)
            .find_map(|e| match e {
                StackEvent::Accepted { peer, .. } => Some(peer.port()),
                _ => None,
            })
            .expect("accepted");
        ports.push(peer);
    }
    ports
}

#[test]
fn ephemeral_ports_follow_the_secret() {
    let keyed = dial_ports(Some(secret(1)));
    assert!(keyed.iter().all(|&p| p >= 49152));
    let mut distinct = keyed.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), keyed.len(), "{keyed:?}");
    // The same secret, the same ports (a deterministic function of it) ...
    assert_eq!(dial_ports(Some(secret(1))), keyed);
    // ... another secret, other ports, although the seed is the same.
    assert_ne!(dial_ports(Some(secret(2))), keyed);
    assert_ne!(dial_ports(None), keyed);
}
