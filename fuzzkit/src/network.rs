//! `stack_ingress`: raw Ethernet frames into the appliance's network stack
//! (`stack::Stack` over smoltcp, production configuration) with every piñata
//! service listening behind it, the leak oracle on every session and on
//! every frame the appliance transmits.
//!
//! The glue between the stack and the sessions is the appliance's own event
//! loop, [`pinata::netloop::EventLoop`] — the code the unikernel ships, not a
//! copy — with the oracle watching every connection through its
//! [`Observer`] hooks (the bytes each session sends, its end, its release)
//! and a no-op log.
//!
//! # Input
//!
//! A sequence of records `[flags][length: u16 BE][frame]`: the clock
//! advances by `flags & 0x3f` × 50 ms, then the frame (if not empty) is
//! received, then one turn of the loop runs. Unless `flags & 0x80`, the
//! frame's IPv4, TCP, UDP and ICMP checksums are recomputed first, so byte
//! mutations reach the protocol logic instead of dying at a checksum (set
//! the bit to fuzz the checksum checks themselves). After the last record
//! the clock jumps ahead in a few steps (1 s, 15 s, 60 s, 120 s) so that
//! handshake deadlines, session timeouts, keep-alives and reaping run.
//!
//! # Seeds
//!
//! [`seeds`] records real conversations with a second `stack::Stack` as the
//! peer (10.0.0.1 talking to the piñata at 10.0.0.2): an HTTP request, TLS
//! 1.3 and 1.2 bounty handshakes on 10000, the piñata as TLS client on
//! 10002, and connect-back (10001, then the piñata dials 40001). Every step
//! is deterministic (seeded smoltcp, seeded TLS, reset random stream), so the
//! peer's recorded frames — sequence numbers included — replay exactly.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::net::{IpAddr, Ipv4Addr, SocketAddr};

use stack::cable::End;
use stack::{ConnId, ConnState, IpConfig, Stack, StackConfig, StackEvent};

use crate::provider::{Stream, reset};
use crate::transcript::{self, Role};
use crate::{World, oracle, world};
use pinata::netloop::{self, EventLoop, Observer};
use pinata::session::{Outcome, OutcomeKind, Session};
use pinata::stats::Service;
use pinata::time::Instant;
use pinata::tls::TlsStream;

/// The piñata's address on the simulated link.
pub const PINATA_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// The peer's address (connect-back dials it).
pub const PEER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PINATA_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
/// smoltcp's random seed (TCP initial sequence numbers, ports): fixed, so a
/// recorded peer's sequence numbers stay valid.
const PINATA_STACK_SEED: u64 = 0x5eed_0000_0000_0002;
const PEER_STACK_SEED: u64 = 0x5eed_0000_0000_0001;
/// Clock step of one unit of a record's delay.
const TICK_MS: u64 = 50;
/// Most records read from one input.
const MAX_RECORDS: usize = 256;
/// The clock jumps after the last record (ms).
const FINAL_JUMPS: [u64; 4] = [1_000, 15_000, 60_000, 120_000];
/// Frames a NIC's transmit queue holds between takes (then it is full:
/// the stack waits, as with a real driver).
const TX_FRAMES: usize = 4096;

/// A NIC made of two queues: a loose end of the in-memory cable.
fn wire_nic(mac: [u8; 6]) -> End {
    let mut end = End::loose(mac);
    end.tx_capacity = TX_FRAMES;
    end
}

/// The leak oracle, watching the shipped event loop's connections.
struct Oracle {
    world: &'static World,
    /// Per live connection: every byte its session produced that the loop
    /// took (sent, or dropped on a broken connection).
    outputs: Vec<(ConnId, Vec<u8>)>,
    /// Some session sent the secret to an authenticated peer.
    legitimate_secret: bool,
}

impl Oracle {
    fn new(world: &'static World) -> Oracle {
        Oracle {
            world,
            outputs: Vec::new(),
            legitimate_secret: false,
        }
    }

    fn output(&self, conn: ConnId) -> &[u8] {
        self.outputs
            .iter()
            .find(|(c, _)| *c == conn)
            .map_or(&[], |(_, output)| output)
    }

    /// Everything the session has produced so far (taken by the loop, and
    /// still queued), judged by its service's rule.
    fn check(&self, conn: ConnId, session: &Session) {
        let mut all = self.output(conn).to_vec();
        all.extend_from_slice(session.outgoing());
        match role(session.service()) {
            Some(role) => oracle::check(session, &all, &self.world.ids, role),
            None => oracle::check_never(&all, "an HTTP(S) session"),
        }
    }
}

impl Observer for Oracle {
    fn session_starting(&mut self, _service: Service, _peer: SocketAddr) {
        // Same random draws as when the seeds were recorded.
        reset(Stream::Pinata);
    }

    fn on_sent(&mut self, conn: ConnId, session: &Session, bytes: &[u8]) {
        // `bytes` are still at the front of `session.outgoing()`.
        self.check(conn, session);
        match self.outputs.iter_mut().find(|(c, _)| *c == conn) {
            Some((_, output)) => output.extend_from_slice(bytes),
            None => self.outputs.push((conn, bytes.to_vec())),
        }
    }

    fn on_finished(&mut self, conn: ConnId, session: &Session, outcome: &Outcome) {
        self.check(conn, session);
        if role(session.service()).is_some() && outcome.result == OutcomeKind::SecretSent {
            self.legitimate_secret = true;
        }
    }

    fn on_released(&mut self, conn: ConnId, session: &Session) {
        self.check(conn, session);
        self.outputs.retain(|(c, _)| *c != conn);
    }
}

/// The appliance: the stack and the services under the shipped event loop,
/// with the oracle watching.
pub(crate) struct Node {
    event_loop: EventLoop<Stack<End>, Oracle>,
    now: u64,
}

fn role(service: Service) -> Option<Role> {
    match service {
        Service::Server => Some(Role::Server),
        Service::Client | Service::ConnectBack => Some(Role::Client),
        Service::Http | Service::Https => None,
    }
}

impl Node {
    pub(crate) fn new() -> Node {
        let ip = IpConfig::Static {
            address: PINATA_IP,
            prefix_len: 24,
            gateway: None,
        };
        // The production configuration (as the unikernel builds it), with a
        // fixed MAC address.
        let mut config = StackConfig::new(ip, &netloop::listen_ports());
        config.mac = Some(PINATA_MAC);
        let stack = Stack::new(wire_nic(PINATA_MAC), config, 0, PINATA_STACK_SEED)
            .expect("fuzzing stack configuration");
        let world = world();
        let event_loop = EventLoop::with_observer(
            stack,
            world.pinata.clone(),
            netloop::no_log,
            Oracle::new(world),
        );
        Node { event_loop, now: 0 }
    }

    /// Advances the clock by `delay_ms`, receives `frame`, runs one turn.
    pub(crate) fn step(&mut self, delay_ms: u64, frame: Option<&[u8]>) {
        self.now = self.now.saturating_add(delay_ms);
        if let Some(frame) = frame {
            let nic = self.event_loop.transport_mut().nic();
            nic.rx().push(frame.to_vec());
        }
        self.event_loop.turn(Instant::from_millis(self.now));
    }

    /// Whether some session sent the secret to an authenticated peer.
    fn legitimate_secret(&self) -> bool {
        self.event_loop.observer().legitimate_secret
    }

    /// The frames transmitted since the last take, after the wire oracle:
    /// the secret on the wire is a bug unless a session sent it to an
    /// authenticated peer (the per-session oracle has checked that).
    pub(crate) fn take_tx(&mut self) -> Vec<Vec<u8>> {
        let legitimate = self.legitimate_secret();
        let frames = self.event_loop.transport_mut().nic().tx().drain();
        if !legitimate {
            let all: Vec<u8> = frames.concat();
            assert!(
                !oracle::contains_secret(&all),
                "ORACLE: the secret is on the wire but no session sent it to an authenticated peer"
            );
        }
        frames
    }
}

/// The `stack_ingress` target (see the module docs for the input).
pub fn stack_ingress(data: &[u8]) {
    run(data);
}

/// Whether `data`, run as [`stack_ingress`], gets the secret to an
/// authenticated peer: lets tests check that recorded seeds replay all the
/// way through TCP and TLS.
pub fn delivers_secret(data: &[u8]) -> bool {
    run(data).legitimate_secret()
}

fn run(data: &[u8]) -> Node {
    let mut node = Node::new();
    let mut rest = data;
    for _ in 0..MAX_RECORDS {
        let [flags, hi, lo, tail @ ..] = rest else {
            break;
        };
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (frame, next) = tail.split_at(len);
        rest = next;
        let mut frame = frame.to_vec();
        if flags & 0x80 == 0 {
            fix_checksums(&mut frame);
        }
        let delay = u64::from(flags & 0x3f) * TICK_MS;
        node.step(delay, (!frame.is_empty()).then_some(&frame[..]));
        node.take_tx();
    }
    for jump in FINAL_JUMPS {
        node.step(jump, None);
        node.take_tx();
    }
    node
}

// ---------------------------------------------------------------- checksums

fn sum16(data: &[u8], mut acc: u32) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// Recomputes the IPv4 header checksum and the TCP/UDP/ICMP checksum of an
/// Ethernet frame carrying IPv4, where the lengths make sense; leaves
/// anything else untouched.
fn fix_checksums(frame: &mut [u8]) {
    if frame.len() < 14 + 20 || frame[12..14] != [0x08, 0x00] {
        return;
    }
    let ip = &mut frame[14..];
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]])).min(ip.len());
    if ihl < 20 || total < ihl {
        return;
    }
    ip[10..12].fill(0);
    let checksum = fold(sum16(&ip[..ihl], 0));
    ip[10..12].copy_from_slice(&checksum.to_be_bytes());
    let protocol = ip[9];
    let mut pseudo = [0u8; 12];
    pseudo[..8].copy_from_slice(&ip[12..20]);
    pseudo[9] = protocol;
    pseudo[10..12].copy_from_slice(&((total - ihl) as u16).to_be_bytes());
    let payload = &mut ip[ihl..total];
    let at = match protocol {
        1 if payload.len() >= 4 => 2,
        6 if payload.len() >= 20 => 16,
        17 if payload.len() >= 8 => 6,
        _ => return,
    };
    payload[at..at + 2].fill(0);
    let acc = if protocol == 1 { 0 } else { sum16(&pseudo, 0) };
    let mut checksum = fold(sum16(payload, acc));
    if protocol == 17 && checksum == 0 {
        checksum = 0xffff;
    }
    payload[at..at + 2].copy_from_slice(&checksum.to_be_bytes());
}

// ---------------------------------------------------------------- seeds

/// What the recording peer does.
#[derive(Debug, Clone, Copy)]
enum Scenario {
    /// `GET /` on port 80.
    Http,
    /// TLS client on 10000, like this transcript's peer.
    BountyServer(&'static str),
    /// TLS server on the connection to 10002, like this transcript's peer.
    BountyClient(&'static str),
    /// Connect to 10001, then serve TLS on 40001 when the piñata dials back.
    ConnectBack(&'static str),
}

const SCENARIOS: [(&str, Scenario); 6] = [
    ("http-get", Scenario::Http),
    ("server-tls13", Scenario::BountyServer("s13-aes128-x25519")),
    ("server-tls12", Scenario::BountyServer("s12-chacha-p256")),
    ("client-tls13", Scenario::BountyClient("c13-aes128-mtls")),
    ("client-tls12", Scenario::BountyClient("c12-aes128-mtls")),
    (
        "connect-back-tls13",
        Scenario::ConnectBack("c13-aes256-noauth"),
    ),
];

/// The recording peer: a second stack and one TLS or HTTP conversation.
struct Peer {
    stack: Stack<End>,
    scenario: Scenario,
    conn: Option<ConnId>,
    tls: Option<TlsStream>,
    request: Vec<u8>,
    received: Vec<u8>,
    done: bool,
}

impl Peer {
    fn new(scenario: Scenario) -> Peer {
        let ip = IpConfig::Static {
            address: PEER_IP,
            prefix_len: 24,
            gateway: None,
        };
        let mut config = StackConfig::new(ip, &[40001]);
        config.mac = Some(PEER_MAC);
        let stack = Stack::new(wire_nic(PEER_MAC), config, 0, PEER_STACK_SEED)
            .expect("peer stack configuration");
        Peer {
            stack,
            scenario,
            conn: None,
            tls: None,
            request: Vec::new(),
            received: Vec::new(),
            done: false,
        }
    }

    fn start(&mut self, now: u64) {
        reset(Stream::Peer);
        let w = world();
        let port = match self.scenario {
            Scenario::Http => {
                self.request = b"GET / HTTP/1.1\r\nHost: pinata\r\n\r\n".to_vec();
                80
            }
            Scenario::BountyServer(name) => {
                let mut tls = transcript::peer_for(name, &w.ids, &w.peer_keys).expect("spec");
                tls.process().expect("peer client start");
                self.tls = Some(tls);
                10000
            }
            Scenario::BountyClient(name) => {
                self.tls = transcript::peer_for(name, &w.ids, &w.peer_keys);
                10002
            }
            Scenario::ConnectBack(_) => 10001,
        };
        let target = SocketAddr::new(IpAddr::V4(PINATA_IP), port);
        self.conn = Some(self.stack.connect(target, now).expect("peer connect"));
    }

    fn turn(&mut self, now: u64) {
        self.stack.poll(now);
        while let Some(event) = self.stack.next_event() {
            if let (StackEvent::Accepted { conn, .. }, Scenario::ConnectBack(name)) =
                (event, self.scenario)
            {
                let w = world();
                self.tls = transcript::peer_for(name, &w.ids, &w.peer_keys);
                self.conn = Some(conn);
            }
        }
        if let Some(conn) = self.conn {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = self.stack.recv(conn, &mut buf) {
                match &mut self.tls {
                    Some(tls) => {
                        let _ = tls.receive(&buf[..n]);
                        self.received.extend(tls.take_plaintext());
                    }
                    None => self.received.extend_from_slice(&buf[..n]),
                }
            }
            if let Some(tls) = &mut self.tls {
                self.request.extend_from_slice(tls.outgoing());
                let n = tls.outgoing().len();
                tls.consume_outgoing(n);
            }
            // `request` holds what is not sent yet (nothing is accepted
            // before the connection is established).
            while !self.request.is_empty() {
                match self.stack.send(conn, &self.request) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        self.request.drain(..n);
                    }
                }
            }
            match self.stack.state(conn) {
                ConnState::PeerClosed | ConnState::Closed => {
                    let connect_back_request =
                        matches!(self.scenario, Scenario::ConnectBack(_)) && self.tls.is_none();
                    self.stack.close(conn);
                    self.stack.release(conn);
                    self.conn = None;
                    self.done = !connect_back_request;
                }
                _ => {}
            }
        }
        self.stack.poll(now);
    }
}

fn record(scenario: Scenario) -> (Vec<u8>, Vec<u8>) {
    let mut node = Node::new();
    let mut peer = Peer::new(scenario);
    peer.start(0);
    let mut seed = Vec::new();
    let push = |seed: &mut Vec<u8>, delay: u8, frame: &[u8]| {
        seed.push(delay);
        seed.extend_from_slice(&(frame.len() as u16).to_be_bytes());
        seed.extend_from_slice(frame);
    };
    let mut idle = 0;
    for _ in 0..400 {
        for frame in node.take_tx() {
            peer.stack.nic().rx().push(frame);
        }
        peer.turn(node.now);
        let frames = peer.stack.nic().tx().drain();
        if frames.is_empty() {
            if peer.done || idle > 40 {
                break;
            }
            idle += 1;
            // Time passes on both sides: a record without a frame.
            push(&mut seed, 1, &[]);
            node.step(TICK_MS, None);
            continue;
        }
        idle = 0;
        for (i, frame) in frames.iter().enumerate() {
            let delay = u8::from(i == 0);
            push(&mut seed, delay, frame);
            node.step(u64::from(delay) * TICK_MS, Some(frame));
        }
    }
    (seed, peer.received)
}

/// Seed inputs for `stack_ingress`: `(name, bytes)`. Panics if a recorded
/// conversation did not reach its end (the secret read by the peer, or the
/// page served): the seeds would be worthless.
pub fn seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds = Vec::new();
    for (name, scenario) in SCENARIOS {
        let (seed, received) = record(scenario);
        let ok = match scenario {
            Scenario::Http => received.starts_with(b"HTTP/1.1 200"),
            _ => oracle::contains_secret(&received),
        };
        assert!(
            ok,
            "stack_ingress seed {name}: the recorded conversation did not complete"
        );
        seeds.push((String::from(name), seed));
    }
    // A bare ARP request for the piñata's address.
    let mut arp = vec![0xff; 6];
    arp.extend_from_slice(&PEER_MAC);
    arp.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
    arp.extend_from_slice(&PEER_MAC);
    arp.extend_from_slice(&PEER_IP.octets());
    arp.extend_from_slice(&[0; 6]);
    arp.extend_from_slice(&PINATA_IP.octets());
    let mut input = vec![0, 0, arp.len() as u8];
    input.extend_from_slice(&arp);
    seeds.push((String::from("arp-request"), input));
    seeds
}
