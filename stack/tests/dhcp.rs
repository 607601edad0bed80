//! DHCPv4: the client's first DISCOVER, and a full lease from a minimal
//! scripted server on the other end of the cable (OFFER, ACK, renewals,
//! expiry).

mod common;

use std::cell::Cell;
use std::net::{Ipv4Addr, SocketAddr};
use std::rc::Rc;

use common::{IP_A, IP_B, MAC_A, MAC_B, Pair, static_config};
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::wire::{
    DhcpMessageType, DhcpPacket, DhcpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    EthernetRepr, IpAddress, IpProtocol, Ipv4Packet, Ipv4Repr, UdpPacket, UdpRepr,
};
use stack::{ConnState, IpConfig, Stack, StackConfig, StackError, StackEvent};

/// A client's DHCP message, as far as the server needs it.
struct ClientMessage {
    eth: EthernetRepr,
    ip: Ipv4Repr,
    message_type: DhcpMessageType,
    transaction_id: u32,
    chaddr: EthernetAddress,
}

/// The DHCP message in an Ethernet frame, if it is one (client → server).
fn parse_dhcp(frame: &[u8]) -> Option<ClientMessage> {
    let caps = ChecksumCapabilities::default();
    let eth = EthernetFrame::new_checked(frame).ok()?;
    let eth_repr = EthernetRepr::parse(&eth).ok()?;
    if eth_repr.ethertype != EthernetProtocol::Ipv4 {
        return None;
    }
    let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
    let ip_repr = Ipv4Repr::parse(&ip, &caps).ok()?;
    if ip_repr.next_header != IpProtocol::Udp {
        return None;
    }
    let udp = UdpPacket::new_checked(ip.payload()).ok()?;
    let udp_repr = UdpRepr::parse(
        &udp,
        &IpAddress::Ipv4(ip_repr.src_addr),
        &IpAddress::Ipv4(ip_repr.dst_addr),
        &caps,
    )
    .ok()?;
    if udp_repr.dst_port != 67 {
        return None;
    }
    let dhcp = DhcpPacket::new_checked(udp.payload()).ok()?;
    let dhcp_repr = DhcpRepr::parse(&dhcp).ok()?;
    Some(ClientMessage {
        eth: eth_repr,
        ip: ip_repr,
        message_type: dhcp_repr.message_type,
        transaction_id: dhcp_repr.transaction_id,
        chaddr: dhcp_repr.client_hardware_address,
    })
}

/// A server reply to `request` as a broadcast frame from B.
fn reply(request: &ClientMessage, message_type: DhcpMessageType, lease_s: u32) -> Vec<u8> {
    let repr = DhcpRepr {
        message_type,
        transaction_id: request.transaction_id,
        secs: 0,
        client_hardware_address: request.chaddr,
        client_ip: Ipv4Addr::UNSPECIFIED,
        your_ip: IP_A,
        server_ip: IP_B,
        router: Some(IP_B),
        subnet_mask: Some(Ipv4Addr::new(255, 255, 255, 0)),
        relay_agent_ip: Ipv4Addr::UNSPECIFIED,
        broadcast: false,
        requested_ip: None,
        client_identifier: None,
        server_identifier: Some(IP_B),
        parameter_request_list: None,
        dns_servers: None,
        max_size: None,
        lease_duration: Some(lease_s),
        renew_duration: None,
        rebind_duration: None,
        additional_options: &[],
    };
    let caps = ChecksumCapabilities::default();
    let dhcp_len = repr.buffer_len();
    let udp = UdpRepr {
        src_port: 67,
        dst_port: 68,
    };
    let ip = Ipv4Repr {
        src_addr: IP_B,
        dst_addr: Ipv4Addr::BROADCAST,
        next_header: IpProtocol::Udp,
        payload_len: 8 + dhcp_len,
        hop_limit: 64,
    };
    let mut frame = vec![0u8; 14 + ip.buffer_len() + 8 + dhcp_len];
    let mut eth = EthernetFrame::new_unchecked(&mut frame[..]);
    EthernetRepr {
        src_addr: EthernetAddress(MAC_B),
        dst_addr: EthernetAddress([0xff; 6]),
        ethertype: EthernetProtocol::Ipv4,
    }
    .emit(&mut eth);
    let mut ip_packet = Ipv4Packet::new_unchecked(eth.payload_mut());
    ip.emit(&mut ip_packet, &caps);
    let mut udp_packet = UdpPacket::new_unchecked(ip_packet.payload_mut());
    udp.emit(
        &mut udp_packet,
        &IpAddress::Ipv4(IP_B),
        &IpAddress::Ipv4(Ipv4Addr::BROADCAST),
        dhcp_len,
        |payload| {
            repr.emit(&mut DhcpPacket::new_unchecked(payload)).unwrap();
        },
        &caps,
    );
    frame
}

/// What the scripted server has seen; `serving` switches it off and on.
#[derive(Default)]
struct Server {
    serving: Cell<bool>,
    discovers: Cell<usize>,
    requests: Cell<usize>,
}

fn dhcp_pair(lease_s: u32) -> (Pair, Rc<Server>) {
    let config_a = StackConfig::new(IpConfig::Dhcp, &[7]);
    let mut p = Pair::new(config_a, static_config(IP_B, &[7]));
    let server = Rc::new(Server::default());
    server.serving.set(true);
    let s = server.clone();
    p.tap_ab = Some(Box::new(move |frame| {
        let Some(request) = parse_dhcp(frame) else {
            return Vec::new();
        };
        if !s.serving.get() {
            return Vec::new();
        }
        match request.message_type {
            DhcpMessageType::Discover => {
                s.discovers.set(s.discovers.get() + 1);
                vec![reply(&request, DhcpMessageType::Offer, lease_s)]
            }
            DhcpMessageType::Request => {
                s.requests.set(s.requests.get() + 1);
                vec![reply(&request, DhcpMessageType::Ack, lease_s)]
            }
            _ => Vec::new(),
        }
    }));
    (p, server)
}

#[test]
fn dhcp_mode_sends_a_discover() {
    let nic = common::wire(MAC_A);
    let tx = nic.tx().clone();
    let mut stack = Stack::new(nic, StackConfig::new(IpConfig::Dhcp, &[80]), 0, 1).unwrap();
    assert_eq!(stack.next_event(), None);
    assert_eq!(stack.ipv4(), None);
    assert_eq!(
        stack.connect(SocketAddr::from((IP_B, 80)), 0),
        Err(StackError::NoAddress)
    );
    stack.poll(0);
    // No lease yet is not news: no event.
    assert_eq!(stack.next_event(), None);
    let frames = tx.drain();
    let msg = frames
        .iter()
        .find_map(|f| parse_dhcp(f))
        .expect("a DHCP frame");
    assert_eq!(msg.eth.dst_addr, EthernetAddress([0xff; 6]));
    assert_eq!(msg.eth.src_addr, EthernetAddress(MAC_A));
    assert_eq!(msg.ip.src_addr, Ipv4Addr::UNSPECIFIED);
    assert_eq!(msg.ip.dst_addr, Ipv4Addr::BROADCAST);
    assert_eq!(msg.message_type, DhcpMessageType::Discover);
    assert_eq!(msg.chaddr, EthernetAddress(MAC_A));
    // The client retries on its own: there is a timer.
    assert!(stack.poll_delay(0).is_some());
    // Unanswered, it keeps discovering.
    stack.poll(11_000);
    assert!(tx.drain().iter().any(|f| parse_dhcp(f).is_some()));
}

#[test]
fn dhcp_lease_configures_the_interface_and_connections_work() {
    let (mut p, server) = dhcp_pair(3600);
    assert!(p.run_until(5_000, |p| p.a.ipv4().is_some()));
    assert_eq!(p.a.ipv4(), Some((IP_A, 24, Some(IP_B))));
    assert!(p.events_a.contains(&StackEvent::IpConfigured {
        address: IP_A,
        prefix_len: 24,
        gateway: Some(IP_B)
    }));
    assert_eq!(server.discovers.get(), 1);
    assert_eq!(server.requests.get(), 1);

    // A, now 10.0.2.15, connects out: B sees exactly that address.
    p.events_b.clear();
    let (conn_a, conn_b) = p.connect(7);
    assert_eq!(p.b.peer_addr(conn_b).unwrap().ip(), IP_A);
    assert_eq!(p.a.state(conn_a), ConnState::Established);
    // And A accepts on its listening port.
    let conn = p.b.connect(SocketAddr::from((IP_A, 7)), p.now).unwrap();
    assert!(p.run_until(1000, |p| p.events_a.iter().any(|e| matches!(
        e,
        StackEvent::Accepted { listener: 0, peer, .. } if peer.ip() == IP_B
    ))));
    assert_eq!(p.b.state(conn), ConnState::Established);
}

#[test]
fn dhcp_lease_is_renewed_then_lost_when_the_server_goes_away() {
    let (mut p, server) = dhcp_pair(120);
    assert!(p.run_until(5_000, |p| p.a.ipv4().is_some()));
    let (conn_a, _conn_b) = p.connect(7);
    // Renewals (T1 = 60 s) keep the address well past the lease time.
    let lost = p.run_timers(400_000, 5_000, |p| p.events_a.contains(&StackEvent::IpLost));
    assert!(!lost);
    assert!(
        server.requests.get() >= 3,
        "{} requests",
        server.requests.get()
    );
    assert_eq!(p.a.ipv4(), Some((IP_A, 24, Some(IP_B))));
    // No server: the lease runs out and the address is withdrawn.
    server.serving.set(false);
    assert!(p.run_timers(200_000, 5_000, |p| p.events_a.contains(&StackEvent::IpLost)));
    assert_eq!(p.a.ipv4(), None);
    assert_eq!(
        p.a.connect(SocketAddr::from((IP_B, 7)), p.now),
        Err(StackError::NoAddress)
    );
    // Connections on the old address are gone.
    p.step(1);
    assert_eq!(p.a.state(conn_a), ConnState::Closed);
    // The server returns: a new lease.
    p.events_a.clear();
    server.serving.set(true);
    assert!(p.run_timers(60_000, 1_000, |p| p.a.ipv4().is_some()));
    assert!(matches!(
        p.events_a.as_slice(),
        [StackEvent::IpConfigured { address, .. }] if *address == IP_A
    ));
}
