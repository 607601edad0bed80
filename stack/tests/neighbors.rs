//! On-link visitors and smoltcp's neighbour (ARP) cache: the stack learns a
//! visitor's MAC address from its ARP request, and must ask for it itself
//! (one ARP request a second at most, for all addresses together) when the
//! entry was evicted by newer visitors. The cache holds `NEIGHBORS`
//! entries (`iface-neighbor-cache-count-*` in stack/Cargo.toml).

mod common;

use std::net::Ipv4Addr;

use common::{IP_B, MAC_B, arp_request, ethernet_frame, static_config, wire};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, IpAddress, IpProtocol, Ipv4Packet, Ipv4Repr,
    TcpControl, TcpPacket, TcpRepr, TcpSeqNumber,
};
use stack::{Stack, SynCookies};

const PORT: u16 = 80;
/// How many on-link visitors the cache holds at once.
const NEIGHBORS: u8 = 64;

fn visitor(n: u8) -> (Ipv4Addr, [u8; 6]) {
    (Ipv4Addr::new(10, 0, 2, 100 + n), [0x02, 1, 1, 1, 1, n])
}

fn syn((ip, mac): (Ipv4Addr, [u8; 6])) -> Vec<u8> {
    let tcp = TcpRepr {
        src_port: 40000,
        dst_port: PORT,
        control: TcpControl::Syn,
        seq_number: TcpSeqNumber(1000),
        ack_number: None,
        window_len: 4096,
        window_scale: None,
        max_seg_size: Some(1460),
        sack_permitted: false,
        sack_ranges: [None; 3],
        timestamp: None,
        payload: &[],
    };
    let ip_repr = Ipv4Repr {
        src_addr: ip,
        dst_addr: IP_B,
        next_header: IpProtocol::Tcp,
        payload_len: tcp.buffer_len(),
        hop_limit: 64,
    };
    let mut packet = vec![0u8; ip_repr.buffer_len() + tcp.buffer_len()];
    let mut p = Ipv4Packet::new_unchecked(&mut packet[..]);
    ip_repr.emit(&mut p, &ChecksumCapabilities::default());
    tcp.emit(
        &mut TcpPacket::new_unchecked(p.payload_mut()),
        &IpAddress::Ipv4(ip),
        &IpAddress::Ipv4(IP_B),
        &ChecksumCapabilities::default(),
    );
    ethernet_frame(mac, EthernetAddress(MAC_B), EthernetProtocol::Ipv4, &packet)
}

/// SYN-ACKs among the frames B sent.
fn syn_acks(frames: &[Vec<u8>]) -> usize {
    frames
        .iter()
        .filter(|f| {
            let Ok(eth) = EthernetFrame::new_checked(&f[..]) else {
                return false;
            };
            let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
                return false;
            };
            TcpPacket::new_checked(ip.payload()).is_ok_and(|t| t.syn() && t.ack())
        })
        .count()
}

#[test]
fn as_many_on_link_visitors_as_the_cache_holds_need_no_arp_of_ours() {
    let mut config = static_config(IP_B, &[PORT]);
    config.syn_cookies = SynCookies::Always;
    let mut b = Stack::new(wire(MAC_B), config, 0, 1).unwrap();
    // Every visitor asks for B's address first (so B learns its MAC) ...
    for n in 0..NEIGHBORS {
        b.nic().rx().push({
            let (ip, mac) = visitor(n);
            arp_request(ip, mac)
        });
        b.poll(1);
    }
    b.nic().tx().drain();
    // ... and sends its SYN only later, as a browser opening a second
    // connection does: with every visitor still in the cache, B answers
    // them all at once, without an ARP request of its own (it may send
    // one a second: a visitor beyond the cache waits up to a second).
    for n in 0..NEIGHBORS {
        b.nic().rx().push(syn(visitor(n)));
    }
    b.poll(2);
    b.poll(3);
    assert_eq!(syn_acks(&b.nic().tx().drain()), usize::from(NEIGHBORS));
}
