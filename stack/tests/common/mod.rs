//! A virtual Ethernet cable between two [`Stack`]s, and a simulated clock.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr};

use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    EthernetRepr,
};
use stack::cable::End;
pub use stack::cable::Queue;
use stack::{ConnId, IpConfig, Stack, StackConfig, StackEvent};

pub const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
pub const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];
pub const IP_A: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 15);
pub const IP_B: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);

/// The NIC of these tests: a loose end of the in-memory cable, whose
/// frames [`Pair`] carries across itself.
pub type Wire = End;

pub fn wire(mac: [u8; 6]) -> Wire {
    End::loose(mac)
}

pub fn static_config(ip: Ipv4Addr, ports: &[u16]) -> StackConfig {
    StackConfig::new(
        IpConfig::Static {
            address: ip,
            prefix_len: 24,
            gateway: None,
        },
        ports,
    )
}

/// Looks at a frame on the cable; returns frames to send back.
pub type Tap = Box<dyn FnMut(&[u8]) -> Vec<Vec<u8>>>;

/// Two stacks, A and B, on one cable, with one clock.
pub struct Pair {
    pub a: Stack<Wire>,
    pub b: Stack<Wire>,
    pub now: u64,
    pub events_a: Vec<StackEvent>,
    pub events_b: Vec<StackEvent>,
    /// Frames A→B and B→A: the ends' tx queues, moved across by `step`.
    pub ab: Queue,
    pub ba: Queue,
    /// When set, frames on the cable are lost.
    pub cut: bool,
    /// Frames carried across, both ways.
    pub carried: usize,
    /// Sees every frame A sends (before B does); what it returns is
    /// delivered to A. A scripted DHCP server lives here.
    pub tap_ab: Option<Tap>,
}

impl Pair {
    pub fn new(config_a: StackConfig, config_b: StackConfig) -> Pair {
        let wa = wire(MAC_A);
        let wb = wire(MAC_B);
        let (ab, ba) = (wa.tx().clone(), wb.tx().clone());
        let a = Stack::new(wa, config_a, 0, 0xa).expect("config A");
        let b = Stack::new(wb, config_b, 0, 0xb).expect("config B");
        let mut pair = Pair {
            a,
            b,
            now: 0,
            events_a: Vec::new(),
            events_b: Vec::new(),
            ab,
            ba,
            cut: false,
            carried: 0,
            tap_ab: None,
        };
        pair.drain_events();
        pair
    }

    /// A (client side, no ports) and B listening on `ports`.
    pub fn with_ports(ports: &[u16]) -> Pair {
        Pair::new(static_config(IP_A, &[]), static_config(IP_B, ports))
    }

    fn drain_events(&mut self) {
        while let Some(e) = self.a.next_event() {
            self.events_a.push(e);
        }
        while let Some(e) = self.b.next_event() {
            self.events_b.push(e);
        }
    }

    /// Polls both stacks at the current time and carries the frames over.
    pub fn poll(&mut self) {
        self.a.poll(self.now);
        self.b.poll(self.now);
        self.carry();
        self.drain_events();
    }

    fn carry(&mut self) {
        let (a_rx, b_rx) = (self.a.nic().rx().clone(), self.b.nic().rx().clone());
        for frame in self.ab.drain() {
            self.carried += 1;
            if self.cut {
                continue;
            }
            if let Some(tap) = self.tap_ab.as_mut() {
                for reply in tap(&frame) {
                    a_rx.push(reply);
                }
            }
            b_rx.push(frame);
        }
        for frame in self.ba.drain() {
            self.carried += 1;
            if !self.cut {
                a_rx.push(frame);
            }
        }
    }

    /// Advances the clock by `ms` and polls.
    pub fn step(&mut self, ms: u64) {
        self.now += ms;
        self.poll();
    }

    /// Steps 1 ms at a time until `done` holds; false after `max_ms`.
    pub fn run_until(&mut self, max_ms: u64, mut done: impl FnMut(&mut Pair) -> bool) -> bool {
        let end = self.now + max_ms;
        self.poll();
        while self.now < end {
            if done(self) {
                return true;
            }
            self.step(1);
        }
        done(self)
    }

    /// Steps to each next deadline the stacks ask for (at most `max_step`
    /// ms, at least 1), until `done` or `max_ms` have passed.
    pub fn run_timers(
        &mut self,
        max_ms: u64,
        max_step: u64,
        mut done: impl FnMut(&mut Pair) -> bool,
    ) -> bool {
        let end = self.now + max_ms;
        self.poll();
        while self.now < end {
            if done(self) {
                return true;
            }
            let now = self.now;
            let delay = [self.a.poll_delay(now), self.b.poll_delay(now)]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(max_step)
                .clamp(1, max_step);
            self.step(delay);
        }
        done(self)
    }

    /// Takes the first `Accepted` event of B: the connection, the port it
    /// arrived on, the peer.
    pub fn take_accepted_b(&mut self) -> Option<(ConnId, u16, SocketAddr)> {
        let i = self
            .events_b
            .iter()
            .position(|e| matches!(e, StackEvent::Accepted { .. }))?;
        match self.events_b.remove(i) {
            StackEvent::Accepted {
                conn,
                listener,
                peer,
            } => Some((conn, self.b.config().listen_ports[listener], peer)),
            _ => unreachable!(),
        }
    }

    pub fn has_event_a(&self, event: StackEvent) -> bool {
        self.events_a.contains(&event)
    }

    /// A connects to B:port; returns (A's id, B's id) once both sides see it.
    pub fn connect(&mut self, port: u16) -> (ConnId, ConnId) {
        let conn_a = self
            .a
            .connect(SocketAddr::from((IP_B, port)), self.now)
            .expect("connect");
        assert!(
            self.run_until(2_000, |p| p.has_event_a(StackEvent::Connected(conn_a))
                && p.events_b
                    .iter()
                    .any(|e| matches!(e, StackEvent::Accepted { .. }))),
            "connection not established; events A {:?} B {:?}",
            self.events_a,
            self.events_b
        );
        self.events_a
            .retain(|e| *e != StackEvent::Connected(conn_a));
        let (conn_b, _, _) = self.take_accepted_b().unwrap();
        (conn_a, conn_b)
    }
}

/// xorshift64*: deterministic test randomness.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// An Ethernet frame from `src` to `dst` carrying `payload`.
pub fn ethernet_frame(
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

/// A broadcast ARP request from (`ip`, `mac`) for [`IP_B`]: B answers it
/// and learns `ip`'s MAC address from it, so no ARP of B's own is needed.
pub fn arp_request(ip: Ipv4Addr, mac: [u8; 6]) -> Vec<u8> {
    let mut payload = vec![0u8; 28];
    ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: EthernetAddress(mac),
        source_protocol_addr: ip,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: IP_B,
    }
    .emit(&mut ArpPacket::new_unchecked(&mut payload[..]));
    ethernet_frame(
        mac,
        EthernetAddress::BROADCAST,
        EthernetProtocol::Arp,
        &payload,
    )
}
