//! On-link visitors and smoltcp's neighbour (ARP) cache: the stack learns a
//! visitor's MAC address from its ARP request, and must ask for it itself
//! (one ARP request a second at most, for all addresses together) when the
//! entry was evicted by newer visitors. The cache holds `NEIGHBORS`
//! entries (`iface-neighbor-cache-count-*` in stack/Cargo.toml).

mod common;

use std::net::Ipv4Addr;

use common::{IP_B, MAC_B, static_config, wire};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    EthernetRepr, IpAddress, IpProtocol, Ipv4Packet, Ipv4Repr, TcpControl, TcpPacket, TcpRepr,
    TcpSeqNumber,
};
use stack::{Stack, SynCookies};

const PORT: u16 = 80;
/// How many on-link visitors the cache holds at once.
const NEIGHBORS: u8 = 64;

fn visitor(n: u8) -> (Ipv4Addr, [u8; 6]) {
    (Ipv4Addr::new(10, 0, 2, 100 + n), [0x02, 1, 1, 1, 1, n])
}

fn ethernet(
    src: [u8; 6],
    dst: EthernetAddress,
    ethertype: EthernetProtocol,
    payload: &[u8],
) -> Vec<u8> {
    let mut frame = vec![0u8; 14 + payload.len()];
    let mut f = EthernetFrame::new_unchecked(&mut frame[..]);
    EthernetRepr {
        src_addr: EthernetAddress(src),
        dst_addr: dst,
        ethertype,
    }
    .emit(&mut f);
    f.payload_mut().copy_from_slice(payload);
    frame
}

fn arp_request((ip, mac): (Ipv4Addr, [u8; 6])) -> Vec<u8> {
    let mut payload = vec![0u8; 28];
    ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: EthernetAddress(mac),
        source_protocol_addr: ip,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: IP_B,
    }
    .emit(&mut ArpPacket::new_unchecked(&mut payload[..]));
    ethernet(
        mac,
        EthernetAddress::BROADCAST,
        EthernetProtocol::Arp,
        &payload,
    )
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
    ethernet(mac, EthernetAddress(MAC_B), EthernetProtocol::Ipv4, &packet)
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
        b.nic().rx().push(arp_request(visitor(n)));
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
