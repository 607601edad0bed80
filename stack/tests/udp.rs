//! Outgoing UDP datagrams (`Stack::send_datagram`, the piñata's remote
//! syslog): sent once ARP resolves the target, in order, from one ephemeral
//! port; refused and counted when there is no address, no room or no IPv4
//! target; datagrams arriving on that port are dropped unread.

mod common;

use std::cell::RefCell;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV6};
use std::rc::Rc;

use common::{IP_A, IP_B, Pair, static_config, wire};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    EthernetFrame, EthernetProtocol, IpAddress, IpProtocol, Ipv4Packet, Ipv4Repr, UdpPacket,
    UdpRepr,
};
use stack::{DATAGRAM_QUEUE, IpConfig, MAX_DATAGRAM, Stack, StackConfig, StackError};

const SYSLOG_PORT: u16 = 514;

/// A UDP datagram seen on the cable.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Datagram {
    src: SocketAddr,
    dst: SocketAddr,
    payload: Vec<u8>,
}

/// The UDP datagram in an Ethernet frame, if it is one (checksums checked).
fn parse_udp(frame: &[u8]) -> Option<Datagram> {
    let caps = ChecksumCapabilities::default();
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EthernetProtocol::Ipv4 {
        return None;
    }
    let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
    let ip_repr = Ipv4Repr::parse(&ip, &caps).ok()?;
    if ip_repr.next_header != IpProtocol::Udp {
        return None;
    }
    let udp = UdpPacket::new_checked(ip.payload()).ok()?;
    let src = IpAddress::Ipv4(ip_repr.src_addr);
    let dst = IpAddress::Ipv4(ip_repr.dst_addr);
    let udp_repr = UdpRepr::parse(&udp, &src, &dst, &caps).ok()?;
    Some(Datagram {
        src: SocketAddr::from((ip_repr.src_addr, udp_repr.src_port)),
        dst: SocketAddr::from((ip_repr.dst_addr, udp_repr.dst_port)),
        payload: udp.payload().to_vec(),
    })
}

/// Every frame A sends, as B receives it: a tap on the cable.
type Frames = Rc<RefCell<Vec<Vec<u8>>>>;

fn tap(p: &mut Pair) -> Frames {
    let seen = Frames::default();
    let sink = seen.clone();
    p.tap_ab = Some(Box::new(move |frame| {
        sink.borrow_mut().push(frame.to_vec());
        Vec::new()
    }));
    seen
}

/// The UDP datagrams among `frames`.
fn datagrams(frames: &Frames) -> Vec<Datagram> {
    frames
        .borrow()
        .iter()
        .filter_map(|f| parse_udp(f))
        .collect()
}

/// Whether a frame is an IPv4 packet of `protocol`.
fn is_ipv4(frame: &[u8], protocol: IpProtocol) -> bool {
    EthernetFrame::new_checked(frame)
        .ok()
        .filter(|eth| eth.ethertype() == EthernetProtocol::Ipv4)
        .and_then(|eth| Some(Ipv4Packet::new_checked(eth.payload()).ok()?.next_header()))
        == Some(protocol)
}

fn collector() -> SocketAddr {
    SocketAddr::from((IP_B, SYSLOG_PORT))
}

#[test]
fn datagrams_wait_for_arp_then_leave_in_order_from_one_ephemeral_port() {
    let mut p = Pair::with_ports(&[]);
    let frames = tap(&mut p);
    // A has never heard from B: its MAC is unknown when the datagrams are
    // queued.
    for n in 0..3 {
        let payload = format!("message {n}");
        p.a.send_datagram(collector(), payload.as_bytes()).unwrap();
    }
    assert!(
        p.run_until(2_000, |_| datagrams(&frames).len() == 3),
        "datagrams not sent: {:?}",
        datagrams(&frames)
    );
    let seen = datagrams(&frames);
    let payloads: Vec<&[u8]> = seen.iter().map(|d| &d.payload[..]).collect();
    assert_eq!(
        payloads,
        [&b"message 0"[..], &b"message 1"[..], &b"message 2"[..]]
    );
    for datagram in seen.iter() {
        assert_eq!(datagram.dst, collector());
        assert_eq!(datagram.src.ip(), IP_A);
        assert!(datagram.src.port() >= 49152, "{datagram:?}");
        assert_eq!(datagram.src.port(), seen[0].src.port());
    }
    assert_eq!(p.a.datagrams_dropped(), 0);
    // Nothing queued: the stack does not ask to be polled for them.
    assert_eq!(p.a.poll_delay(p.now), None);
}

#[test]
fn a_full_queue_drops_and_counts_until_arp_answers() {
    let mut p = Pair::with_ports(&[]);
    let frames = tap(&mut p);
    // Nobody answers ARP: the queue fills.
    p.cut = true;
    for n in 0..DATAGRAM_QUEUE {
        p.a.send_datagram(collector(), &[n as u8; 100]).unwrap();
        p.step(10);
    }
    assert_eq!(
        p.a.send_datagram(collector(), b"one too many"),
        Err(StackError::QueueFull)
    );
    assert_eq!(p.a.datagrams_dropped(), 1);
    // While waiting for ARP the stack does not spin: it asks to be polled
    // again later, not now.
    assert!(p.a.poll_delay(p.now).is_some_and(|d| d > 0));
    // B comes back: the queued datagrams go out, and there is room again.
    p.cut = false;
    assert!(
        p.run_until(5_000, |_| datagrams(&frames).len() == DATAGRAM_QUEUE),
        "{} of {DATAGRAM_QUEUE} sent",
        datagrams(&frames).len()
    );
    p.a.send_datagram(collector(), b"after").unwrap();
    assert!(p.run_until(100, |_| datagrams(&frames).len() == DATAGRAM_QUEUE + 1));
    assert_eq!(datagrams(&frames).last().unwrap().payload, b"after");
    assert_eq!(p.a.datagrams_dropped(), 1);
}

#[test]
fn refused_datagrams_are_counted() {
    let mut p = Pair::with_ports(&[]);
    let v6 = SocketAddr::V6(SocketAddrV6::new(std::net::Ipv6Addr::LOCALHOST, 514, 0, 0));
    let cases = [
        (v6, 10, StackError::Unaddressable),
        (
            SocketAddr::from((Ipv4Addr::UNSPECIFIED, 514)),
            10,
            StackError::Unaddressable,
        ),
        (SocketAddr::from((IP_B, 0)), 10, StackError::Unaddressable),
        (collector(), MAX_DATAGRAM + 1, StackError::TooLarge),
    ];
    for (n, (target, len, error)) in cases.into_iter().enumerate() {
        assert_eq!(p.a.send_datagram(target, &vec![b'x'; len]), Err(error));
        assert_eq!(p.a.datagrams_dropped(), n as u64 + 1);
    }
    // The largest datagram fits one frame and arrives whole.
    let frames = tap(&mut p);
    p.a.send_datagram(collector(), &[7; MAX_DATAGRAM]).unwrap();
    assert!(p.run_until(2_000, |_| !datagrams(&frames).is_empty()));
    assert_eq!(datagrams(&frames)[0].payload.len(), MAX_DATAGRAM);
}

#[test]
fn no_address_yet_means_dropped() {
    let mut stack = Stack::new(
        wire([0x02, 0, 0, 0, 0, 0x0c]),
        StackConfig::new(IpConfig::Dhcp, &[]),
        0,
        1,
    )
    .unwrap();
    stack.poll(0);
    assert_eq!(
        stack.send_datagram(collector(), b"too early"),
        Err(StackError::NoAddress)
    );
    assert_eq!(stack.datagrams_dropped(), 1);
}

#[test]
fn datagrams_to_the_sending_port_are_dropped_unread() {
    let mut p = Pair::new(static_config(IP_A, &[]), static_config(IP_B, &[]));
    let frames = tap(&mut p);
    p.a.send_datagram(collector(), b"hello").unwrap();
    assert!(p.run_until(2_000, |_| !datagrams(&frames).is_empty()));
    let a_port = datagrams(&frames)[0].src.port();
    // B writes back to A's datagram port, many times over.
    let back = SocketAddr::from((IP_A, a_port));
    let before = p.carried;
    for _ in 0..20 {
        p.b.send_datagram(back, &[0xAA; 1000]).unwrap();
        p.step(1);
    }
    p.step(10);
    assert!(p.carried - before >= 20, "B's datagrams crossed the cable");
    // A drops them without answering (no ICMP port unreachable back to B)
    // and goes on sending.
    assert!(
        !frames.borrow().iter().any(|f| is_ipv4(f, IpProtocol::Icmp)),
        "A answered a datagram"
    );
    p.a.send_datagram(collector(), b"still here").unwrap();
    assert!(p.run_until(100, |_| datagrams(&frames).len() == 2));
    assert_eq!(datagrams(&frames)[1].payload, b"still here");
    // The control: a port nobody bound is answered with port unreachable.
    p.b.send_datagram(SocketAddr::from((IP_A, a_port ^ 1)), b"anyone?")
        .unwrap();
    assert!(p.run_until(100, |_| {
        frames.borrow().iter().any(|f| is_ipv4(f, IpProtocol::Icmp))
    }));
}
