//! The stack answers ICMP echo requests (operators ping the appliance).

mod common;

use common::{IP_A, IP_B, MAC_A, MAC_B, Pair};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    EthernetAddress, EthernetFrame, EthernetProtocol, EthernetRepr, Icmpv4Packet, Icmpv4Repr,
    IpProtocol, Ipv4Packet, Ipv4Repr,
};

fn echo_request(data: &[u8]) -> Vec<u8> {
    let caps = ChecksumCapabilities::default();
    let icmp = Icmpv4Repr::EchoRequest {
        ident: 0x1234,
        seq_no: 7,
        data,
    };
    let ip = Ipv4Repr {
        src_addr: IP_A,
        dst_addr: IP_B,
        next_header: IpProtocol::Icmp,
        payload_len: icmp.buffer_len(),
        hop_limit: 64,
    };
    let mut frame = vec![0u8; 14 + ip.buffer_len() + icmp.buffer_len()];
    let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
    EthernetRepr {
        src_addr: EthernetAddress(MAC_A),
        dst_addr: EthernetAddress(MAC_B),
        ethertype: EthernetProtocol::Ipv4,
    }
    .emit(&mut eth);
    let mut ip_packet = Ipv4Packet::new_unchecked(eth.payload_mut());
    ip.emit(&mut ip_packet, &caps);
    icmp.emit(
        &mut Icmpv4Packet::new_unchecked(ip_packet.payload_mut()),
        &caps,
    );
    frame
}

#[test]
fn answers_ping() {
    let mut p = Pair::with_ports(&[80]);
    // B learns A's MAC from A's ARP request, as with a real pinger.
    p.connect(80);
    p.b.nic().rx().push(echo_request(b"are you there"));
    p.b.poll(p.now);
    let caps = ChecksumCapabilities::default();
    let replies: Vec<Vec<u8>> = p.ba.drain();
    let reply = replies
        .iter()
        .find_map(|f| {
            let eth = EthernetFrame::new_checked(&f[..]).ok()?;
            let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
            let ip_repr = Ipv4Repr::parse(&ip, &caps).ok()?;
            let icmp = Icmpv4Packet::new_checked(ip.payload()).ok()?;
            match Icmpv4Repr::parse(&icmp, &caps).ok()? {
                Icmpv4Repr::EchoReply {
                    ident,
                    seq_no,
                    data,
                } => Some((ip_repr.dst_addr, ident, seq_no, data.to_vec())),
                _ => None,
            }
        })
        .expect("an echo reply");
    assert_eq!(reply, (IP_A, 0x1234, 7, b"are you there".to_vec()));
}
