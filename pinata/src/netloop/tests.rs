//! The event loop on the host: the piñata's [`EventLoop`] on one end of an
//! in-memory Ethernet cable, a bare `stack::Stack` playing the peer on the
//! other, one simulated clock (time jumps to the next wake-up: no sleeps).
//! The piñata is an ordinary one — production crypto provider, a fresh PKI,
//! no prize (a test-vector prize where the secret must be watched).

use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::thread_local;

use stack::cable::{self, End, Queue};
use stack::{ConnState, IpConfig, Stack, StackConfig};

use super::{CLOSE_GRACE_MS, ConnId, EventLoop, Observer, listen_ports};
use crate::app::{Config, Limits, Pinata};
use crate::budget::{MemoryBudget, STEP_RESERVE};
use crate::pki::{self, PkiOptions};
use crate::random::OS_RANDOM;
use crate::session::{Outcome, OutcomeKind, Session};
use crate::stats::{FailureReason, Service};
use crate::syslog::Syslog;
use crate::time::{Instant, SystemClock, TimeProvider, UnixTime};

const PINATA_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const PEER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PINATA_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];

/// The TCP destination port of an Ethernet/IPv4 frame, if it is one.
fn tcp_destination_port(frame: &[u8]) -> Option<u16> {
    let ip = frame.get(14..)?;
    if frame.get(12..14)? != [0x08, 0x00] || *ip.get(9)? != 6 {
        return None;
    }
    let tcp = ip.get(usize::from(ip[0] & 0x0f) * 4..)?;
    Some(u16::from_be_bytes([*tcp.get(2)?, *tcp.get(3)?]))
}

/// Frames to the connect-back port: the peer never hears a dial.
fn to_connect_back_port(frame: &[u8]) -> bool {
    tcp_destination_port(frame) == Some(crate::DEFAULT_CONNECT_BACK_PORT)
}

fn config(address: Ipv4Addr, mac: [u8; 6], ports: &[u16]) -> StackConfig {
    let ip = IpConfig::Static {
        address,
        prefix_len: 24,
        gateway: None,
    };
    let mut config = StackConfig::new(ip, ports);
    config.mac = Some(mac);
    config
}

thread_local! {
    /// The loop's log lines, per test thread.
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn log(line: core::fmt::Arguments<'_>) {
    LOG.with(|log| log.borrow_mut().push(line.to_string()));
}

fn logged(needle: &str) -> bool {
    LOG.with(|log| log.borrow().iter().any(|line| line.contains(needle)))
}

/// Everything the hooks report.
#[derive(Default)]
struct Recorder {
    started: Vec<(Service, SocketAddr)>,
    /// Bytes taken from each session, per connection.
    sent: Vec<(ConnId, Vec<u8>)>,
    finished: Vec<(ConnId, Outcome)>,
    /// Released connections, with what their session could not send.
    released: Vec<(ConnId, usize)>,
}

impl Observer for Recorder {
    fn session_starting(&mut self, service: Service, peer: SocketAddr) {
        self.started.push((service, peer));
    }

    fn on_sent(&mut self, conn: ConnId, session: &Session, bytes: &[u8]) {
        assert!(session.outgoing().starts_with(bytes));
        match self.sent.iter_mut().find(|(c, _)| *c == conn) {
            Some((_, sent)) => sent.extend_from_slice(bytes),
            None => self.sent.push((conn, bytes.to_vec())),
        }
    }

    fn on_finished(&mut self, conn: ConnId, _session: &Session, outcome: &Outcome) {
        assert!(
            self.finished.iter().all(|(c, _)| *c != conn),
            "finished twice"
        );
        self.finished.push((conn, outcome.clone()));
    }

    fn on_released(&mut self, conn: ConnId, session: &Session) {
        assert!(
            self.finished.iter().any(|(c, _)| *c == conn),
            "released before it finished"
        );
        self.released.push((conn, session.outgoing().len()));
    }
}

fn pinata() -> Arc<Pinata> {
    pinata_with(None)
}

fn pinata_with(prize: Option<wallet::PrizeKey>) -> Arc<Pinata> {
    pinata_limited(prize, Limits::default())
}

fn pinata_limited(prize: Option<wallet::PrizeKey>, limits: Limits) -> Arc<Pinata> {
    let pki = pki::bootstrap(&OS_RANDOM, &PkiOptions::new(UnixTime::now())).expect("PKI");
    let config = Config {
        prize,
        limits,
        web_identity: None,
    };
    let provider = Arc::new(crate::provider::provider(&OS_RANDOM));
    let app = Pinata::new(
        pki,
        config,
        provider,
        Arc::new(SystemClock),
        Instant::from_millis(0),
    )
    .expect("piñata");
    Arc::new(app)
}

/// The piñata's loop and a peer stack on one cable.
struct Net {
    pinata: EventLoop<Stack<End>, Recorder>,
    peer: Stack<End>,
    /// Every frame the piñata sent, for tests that read the wire.
    sent_by_pinata: Queue,
    now: u64,
    /// Turns of the piñata's loop so far.
    turns: usize,
}

impl Net {
    fn new() -> Net {
        Net::with(|_| {}, |_| {})
    }

    /// With the stacks' configurations adjusted (the piñata's listens on
    /// [`listen_ports`], the peer's on nothing).
    fn with(pinata: impl FnOnce(&mut StackConfig), peer: impl FnOnce(&mut StackConfig)) -> Net {
        Net::serving(self::pinata(), pinata, peer)
    }

    /// As [`Net::with`], serving `app`.
    fn serving(
        app: Arc<Pinata>,
        pinata: impl FnOnce(&mut StackConfig),
        peer: impl FnOnce(&mut StackConfig),
    ) -> Net {
        Net::within(MemoryBudget::UNLIMITED, app, pinata, peer)
    }

    /// As [`Net::serving`], the loop within `budget`.
    fn within(
        budget: MemoryBudget,
        app: Arc<Pinata>,
        pinata: impl FnOnce(&mut StackConfig),
        peer: impl FnOnce(&mut StackConfig),
    ) -> Net {
        let mut pinata_config = config(PINATA_IP, PINATA_MAC, &listen_ports());
        pinata(&mut pinata_config);
        let mut peer_config = config(PEER_IP, PEER_MAC, &[]);
        peer(&mut peer_config);
        let (mut pinata_end, peer_end) = cable::cable(PINATA_MAC, PEER_MAC);
        let sent_by_pinata = pinata_end.record();
        let pinata_stack = Stack::new(pinata_end, pinata_config, 0, 2).unwrap();
        let peer = Stack::new(peer_end, peer_config, 0, 1).unwrap();
        let pinata = EventLoop::with_observer(pinata_stack, app, log, Recorder::default())
            .with_memory_budget(budget);
        let mut net = Net {
            pinata,
            peer,
            sent_by_pinata,
            now: 0,
            turns: 0,
        };
        // The static address is configured at the first turn.
        net.run_until(1_000, |_| false);
        assert!(logged("pinata: ready;"));
        net
    }

    /// Runs both ends until `done` (checked after each exchange) or for
    /// `max_ms` of simulated time; whether `done` came true. The clock jumps
    /// to the next instant either end has work, 1 ms at least.
    fn run_until(&mut self, max_ms: u64, mut done: impl FnMut(&mut Net) -> bool) -> bool {
        let end = self.now + max_ms;
        loop {
            let wake = self.pinata.turn(Instant::from_millis(self.now));
            self.turns += 1;
            self.peer.poll(self.now);
            while self.peer.next_event().is_some() {}
            if done(self) {
                return true;
            }
            if self.now >= end {
                return false;
            }
            let peer_wake = self
                .peer
                .poll_delay(self.now)
                .map_or(u64::MAX, |d| self.now.saturating_add(d));
            let next = wake.as_millis().min(peer_wake).max(self.now + 1);
            self.now = next.min(end);
        }
    }

    fn connect(&mut self, port: u16) -> ConnId {
        let target = SocketAddr::new(IpAddr::V4(PINATA_IP), port);
        self.peer.connect(target, self.now).expect("peer connect")
    }

    fn recorder(&self) -> &Recorder {
        self.pinata.observer()
    }

    fn outcome(&self, service: Service) -> Option<&Outcome> {
        let finished = &self.recorder().finished;
        finished
            .iter()
            .map(|(_, o)| o)
            .find(|o| o.service == service)
    }
}

/// Sends what is left of `data` on `conn`.
fn send_some(stack: &mut Stack<End>, conn: ConnId, data: &mut Vec<u8>) {
    if let Ok(n @ 1..) = stack.send(conn, data) {
        data.drain(..n);
    }
}

/// Appends what `conn` has received to `out`.
fn recv_all(stack: &mut Stack<End>, conn: ConnId, out: &mut Vec<u8>) {
    let mut buf = [0u8; 2048];
    while let Ok(n @ 1..) = stack.recv(conn, &mut buf) {
        out.extend_from_slice(&buf[..n]);
    }
}

fn closed(state: ConnState) -> bool {
    matches!(state, ConnState::PeerClosed | ConnState::Closed)
}

#[test]
fn http_get_is_answered_and_the_connection_released() {
    let mut net = Net::new();
    let conn = net.connect(80);
    let mut request = b"GET / HTTP/1.1\r\nHost: pinata\r\n\r\n".to_vec();
    let mut response = Vec::new();
    let done = net.run_until(5_000, |net| {
        send_some(&mut net.peer, conn, &mut request);
        recv_all(&mut net.peer, conn, &mut response);
        closed(net.peer.state(conn))
    });
    assert!(done, "no answer and FIN within 5 s");
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 200 "), "{text}");
    assert!(
        text.contains("No prize is loaded"),
        "the page says no prize is loaded"
    );

    let outcome = net.outcome(Service::Http).expect("the session finished");
    assert_eq!(outcome.result, OutcomeKind::Served(200));
    assert_eq!(outcome.peer.ip(), IpAddr::V4(PEER_IP));
    let recorder = net.recorder();
    assert_eq!(recorder.started.len(), 1);
    assert_eq!(recorder.started[0].0, Service::Http);
    // The observer saw exactly the bytes the peer received.
    assert_eq!(recorder.sent.len(), 1);
    assert_eq!(recorder.sent[0].1, response);
    assert_eq!(recorder.released, [(recorder.sent[0].0, 0)]);
    assert_eq!(net.pinata.connections(), 0);
    assert_eq!(
        net.pinata.app().stats().service(Service::Http).requests(),
        1
    );
    assert!(logged("pinata: service=http peer=10.0.0.1:"));
    assert!(logged("outcome=served status=200"));
}

#[test]
fn garbage_client_hello_on_the_bounty_port_fails_and_is_released() {
    let mut net = Net::new();
    let conn = net.connect(Service::Server.standard_port());
    // A TLS handshake record whose body is no ClientHello.
    let mut hello = b"\x16\x03\x01\x00\x10this is garbage!".to_vec();
    let mut reply = Vec::new();
    let done = net.run_until(5_000, |net| {
        send_some(&mut net.peer, conn, &mut hello);
        recv_all(&mut net.peer, conn, &mut reply);
        closed(net.peer.state(conn)) && net.pinata.connections() == 0
    });
    assert!(done, "the piñata did not close the connection within 5 s");

    let outcome = net.outcome(Service::Server).expect("the session finished");
    assert!(
        matches!(outcome.result, OutcomeKind::Failed(..)),
        "{:?}",
        outcome.result
    );
    // No handshake answered it (at most an alert came back before the FIN).
    assert!(reply.first() != Some(&22), "a handshake reply: {reply:?}");
    let stats = net.pinata.app().stats().service(Service::Server);
    assert_eq!((stats.handshakes_failed(), stats.secrets_sent()), (1, 0));
    assert_eq!(net.recorder().released.len(), 1);
    assert!(logged("pinata: service=server peer=10.0.0.1:"));
    assert!(logged("outcome=failed reason="));
}

#[test]
fn connect_back_to_a_closed_port_counts_connect_failed() {
    let mut net = Net::new();
    let request = net.connect(Service::ConnectBack.standard_port());
    let app = net.pinata.app().clone();
    let failed = |app: &Pinata| {
        app.stats()
            .service(Service::ConnectBack)
            .failures(FailureReason::ConnectFailed)
    };
    // The peer listens on nothing: its stack answers the dial with a reset.
    let done = net.run_until(5_000, |_| failed(&app) == 1);
    assert!(done, "the failed dial was not counted within 5 s");
    // The request connection was closed by the piñata, not given a session.
    assert!(closed(net.peer.state(request)));
    assert_eq!((net.pinata.connections(), net.pinata.dials()), (0, 0));
    assert_eq!(
        app.stats().service(Service::ConnectBack).connections(),
        1,
        "the failed dial counts as the service's connection"
    );
    let target = SocketAddr::new(IpAddr::V4(PEER_IP), 40001);
    let started = &net.recorder().started;
    assert!(
        started.len() == 1 && started[0].0 == Service::ConnectBack,
        "{started:?}"
    );
    assert!(net.recorder().finished.is_empty(), "no session was created");
    assert!(logged(&alloc::format!(
        "pinata: service=connect_back peer={target} outcome=failed reason=connect_failed"
    )));
}

#[test]
fn a_silent_peer_is_timed_out_in_simulated_time() {
    let mut net = Net::new();
    let conn = net.connect(80);
    let start = net.now;
    let turns = net.turns;
    let done = net.run_until(60_000, |net| closed(net.peer.state(conn)));
    assert!(done);
    let outcome = net.outcome(Service::Http).expect("the session finished");
    assert_eq!(outcome.result, OutcomeKind::Idle);
    // The idle timeout (5 s, before the 10 s request deadline), reached by
    // jumping from wake-up to wake-up, not by ticking every millisecond.
    let elapsed = net.now - start;
    let idle = crate::Limits::default().idle_timeout.as_millis() as u64;
    assert!((idle..idle + 1_000).contains(&elapsed), "{elapsed} ms");
    assert!(net.turns - turns < 400, "{} turns", net.turns - turns);
    assert_eq!(net.pinata.connections(), 0);
}

#[test]
fn a_peer_that_stops_reading_is_reset_after_the_close_grace() {
    // Small buffers on both sides, and a peer that never reads: the page
    // cannot all leave the session.
    let mut net = Net::with(|p| p.tx_buffer = 1024, |p| p.rx_buffer = 1024);
    let conn = net.connect(80);
    let mut request = b"GET / HTTP/1.1\r\n\r\n".to_vec();
    let served = net.run_until(5_000, |net| {
        send_some(&mut net.peer, conn, &mut request);
        net.outcome(Service::Http).is_some()
    });
    assert!(served);
    let finished_at = net.now;
    // Still held (bytes waiting) just before the grace runs out...
    net.run_until(CLOSE_GRACE_MS - 100, |_| false);
    assert_eq!(net.pinata.connections(), 1);
    assert!(net.recorder().released.is_empty());
    // ...then reset, with the rest of the page dropped.
    let done = net.run_until(1_000, |net| net.peer.state(conn) == ConnState::Closed);
    assert!(done, "not reset within the grace");
    assert!(net.now >= finished_at + CLOSE_GRACE_MS);
    assert_eq!(net.pinata.connections(), 0);
    let released = &net.recorder().released;
    assert!(
        released.len() == 1 && released[0].1 > 0,
        "released with the page's rest unsent: {released:?}"
    );
}

/// The syslog collector the tests name: the peer, which does not listen
/// (the datagrams are read off the wire).
const COLLECTOR: SocketAddr = SocketAddr::new(IpAddr::V4(PEER_IP), 514);

/// A wall clock stopped at 2025-01-01T00:00:00Z.
#[derive(Debug)]
struct NewYear2025;

impl TimeProvider for NewYear2025 {
    fn current_time(&self) -> Option<UnixTime> {
        Some(UnixTime::since_unix_epoch(core::time::Duration::from_secs(
            1_735_689_600,
        )))
    }
}

fn syslog() -> Syslog {
    Syslog::new(COLLECTOR, "pinata")
        .unwrap()
        .with_clock(Arc::new(NewYear2025))
}

/// The payloads of the UDP datagrams the piñata sent to `to`, read from
/// its end of the cable (Ethernet II, IPv4 without options, UDP).
fn datagrams_to(net: &Net, to: SocketAddr) -> Vec<String> {
    let frames = net.sent_by_pinata.frames();
    frames
        .iter()
        .filter_map(|frame| {
            let ip = frame.get(14..)?;
            if frame.get(12..14)? != [0x08, 0x00] || ip.first()? & 0x0f != 5 || ip[9] != 17 {
                return None;
            }
            let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
            let udp = ip.get(20..)?;
            let dst_port = u16::from_be_bytes([*udp.get(2)?, *udp.get(3)?]);
            let len = usize::from(u16::from_be_bytes([*udp.get(4)?, *udp.get(5)?]));
            if SocketAddr::new(IpAddr::V4(dst), dst_port) != to {
                return None;
            }
            String::from_utf8(udp.get(8..len)?.to_vec()).ok()
        })
        .collect()
}

#[test]
fn session_outcomes_go_to_syslog_as_rfc5424_and_never_the_secret() {
    // The short-circuit, over the cable: the peer joins its connections to
    // 10000 and 10002, so the piñata's bounty client and server complete a
    // real mutual-TLS handshake and each sends the other the secret.
    const WIF: &str = "cMahea7zqjxrtgAbB7LSGbcQUr1uX1ojuat9jZodMN87JcbXMTcA";
    let prize = wallet::PrizeKey::from_wif_for(WIF, wallet::Network::Regtest).unwrap();
    let mut net = Net::serving(pinata_with(Some(prize)), |_| {}, |_| {});
    net.pinata.set_syslog(syslog());
    let to_server = net.connect(Service::Server.standard_port());
    let to_client = net.connect(Service::Client.standard_port());
    let (mut server_to_client, mut client_to_server) = (Vec::new(), Vec::new());
    let done = net.run_until(30_000, |net| {
        recv_all(&mut net.peer, to_server, &mut server_to_client);
        send_some(&mut net.peer, to_client, &mut server_to_client);
        recv_all(&mut net.peer, to_client, &mut client_to_server);
        send_some(&mut net.peer, to_server, &mut client_to_server);
        net.recorder().finished.len() == 2
    });
    assert!(done, "the short-circuit did not finish");
    for service in [Service::Server, Service::Client] {
        let outcome = net.outcome(service).expect("finished");
        assert_eq!(outcome.result, OutcomeKind::SecretSent, "{outcome}");
    }

    let datagrams = datagrams_to(&net, COLLECTOR);
    assert_eq!(datagrams.len(), 2, "{datagrams:?}");
    for service in [Service::Server, Service::Client] {
        // The console line, and the same line as an RFC 5424 message:
        // facility daemon (3) and severity notice (5) make PRI 29; the
        // clock's time; HOSTNAME and APP-NAME pinata; no PROCID; the
        // service as MSGID; no structured data; the line as MSG.
        let line = net.outcome(service).unwrap().to_string();
        assert!(logged(&alloc::format!("pinata: {line}")), "{line}");
        assert!(line.contains("outcome=secret_sent"), "{line}");
        let expected =
            alloc::format!("<29>1 2025-01-01T00:00:00Z pinata pinata - {service} - {line}");
        assert!(
            datagrams.contains(&expected),
            "{expected:?} not in {datagrams:?}"
        );
    }
    // The secret crossed the cable (encrypted) twice; no log datagram
    // carries it, nor any key.
    for datagram in &datagrams {
        assert!(!datagram.contains(WIF), "{datagram}");
        assert!(!datagram.contains("PRIVATE KEY"), "{datagram}");
    }
    assert_eq!(net.pinata.transport().datagrams_dropped(), 0);
}

#[test]
fn failed_connect_back_goes_to_syslog() {
    let mut net = Net::new();
    net.pinata.set_syslog(syslog());
    net.connect(Service::ConnectBack.standard_port());
    // The peer listens on nothing: the dial is refused.
    let done = net.run_until(5_000, |net| !datagrams_to(net, COLLECTOR).is_empty());
    assert!(done, "no datagram within 5 s");
    let target = SocketAddr::new(IpAddr::V4(PEER_IP), 40001);
    let datagrams = datagrams_to(&net, COLLECTOR);
    let expected = alloc::format!(
        "<30>1 2025-01-01T00:00:00Z pinata pinata - connect_back - \
         service=connect_back peer={target} outcome=failed reason=connect_failed duration_ms="
    );
    // The same line as a session's outcome: how long the dial took last.
    assert!(
        datagrams.len() == 1
            && datagrams[0]
                .strip_prefix(&expected)
                .is_some_and(|ms| ms.parse::<u64>().is_ok()),
        "{datagrams:?}"
    );
}

#[test]
fn without_a_collector_no_datagram_is_sent() {
    let mut net = Net::new();
    let conn = net.connect(80);
    let mut request = b"GET / HTTP/1.1\r\n\r\n".to_vec();
    let served = net.run_until(5_000, |net| {
        send_some(&mut net.peer, conn, &mut request);
        net.outcome(Service::Http).is_some()
    });
    assert!(served);
    net.run_until(100, |_| false);
    assert!(datagrams_to(&net, COLLECTOR).is_empty());
    let frames = net.sent_by_pinata.frames();
    assert!(frames.iter().all(|f| f.get(23) != Some(&17)), "a UDP frame");
}

/// Connects to the bounty client port and runs until the piñata's
/// ClientHello arrives: the connection has a session.
fn admitted_idle_connection(net: &mut Net) -> ConnId {
    let conn = net.connect(Service::Client.standard_port());
    let mut hello = Vec::new();
    let done = net.run_until(5_000, |net| {
        recv_all(&mut net.peer, conn, &mut hello);
        !hello.is_empty()
    });
    assert!(done, "no ClientHello within 5 s");
    assert_eq!(hello[0], 0x16);
    conn
}

/// Sends a GET for the page on a new connection; the response.
fn get_page(net: &mut Net) -> String {
    let conn = net.connect(80);
    let mut request = b"GET / HTTP/1.1\r\nHost: pinata\r\n\r\n".to_vec();
    let mut response = Vec::new();
    let done = net.run_until(5_000, |net| {
        send_some(&mut net.peer, conn, &mut request);
        recv_all(&mut net.peer, conn, &mut response);
        closed(net.peer.state(conn))
    });
    assert!(done, "no answer and FIN within 5 s");
    String::from_utf8_lossy(&response).into_owned()
}

fn failures(net: &Net, service: Service, reason: FailureReason) -> u64 {
    net.pinata.app().stats().service(service).failures(reason)
}

#[test]
fn one_address_cannot_take_more_than_its_share() {
    let limits = Limits {
        max_connections_per_peer: 2,
        ..Limits::default()
    };
    let mut net = Net::serving(pinata_limited(None, limits), |_| {}, |_| {});
    admitted_idle_connection(&mut net);
    admitted_idle_connection(&mut net);
    // The third from the same address is reset at once, without a session.
    let third = net.connect(Service::Client.standard_port());
    let done = net.run_until(5_000, |net| closed(net.peer.state(third)));
    assert!(done, "the third connection was not refused within 5 s");
    assert_eq!(
        failures(&net, Service::Client, FailureReason::OverCapacity),
        1
    );
    assert_eq!(net.pinata.connections(), 2);
    assert_eq!(net.recorder().started.len(), 2, "no session for the third");
    assert!(logged("outcome=failed reason=over_capacity"));
}

#[test]
fn a_full_table_evicts_the_longest_idle_connection_and_the_page_is_served() {
    let limits = Limits {
        max_connections: 2,
        ..Limits::default()
    };
    let mut net = Net::serving(pinata_limited(None, limits), |_| {}, |_| {});
    let oldest = admitted_idle_connection(&mut net);
    let newer = admitted_idle_connection(&mut net);
    let page = get_page(&mut net);
    assert!(page.starts_with("HTTP/1.1 200 "), "{page}");
    // The oldest idle connection made the room, and was reset at once.
    assert!(closed(net.peer.state(oldest)));
    assert!(!closed(net.peer.state(newer)));
    // The page's connection is done too: only the newer one is open.
    assert_eq!(net.pinata.app().stats().open_connections(), 1);
    assert_eq!(failures(&net, Service::Client, FailureReason::Evicted), 1);
    let evicted = net.outcome(Service::Client).expect("the evicted session");
    assert!(
        matches!(
            evicted.result,
            OutcomeKind::Failed(FailureReason::Evicted, _)
        ),
        "{:?}",
        evicted.result
    );
}

#[test]
fn running_out_of_sockets_evicts_rather_than_refusing_newcomers() {
    // Room for the listeners (4 per port) and two connections: the second
    // connection takes a listener's socket that cannot be replaced, so the
    // longest idle connection is evicted to re-arm the listener.
    let listeners = 4 * listen_ports().len();
    let mut net = Net::with(
        |config| {
            config.backlog = 4;
            config.max_connections = listeners + 2;
        },
        |_| {},
    );
    let oldest = admitted_idle_connection(&mut net);
    admitted_idle_connection(&mut net);
    admitted_idle_connection(&mut net);
    let page = get_page(&mut net);
    assert!(page.starts_with("HTTP/1.1 200 "), "{page}");
    assert!(closed(net.peer.state(oldest)));
    assert!(failures(&net, Service::Client, FailureReason::Evicted) >= 1);
}

#[test]
fn a_connect_back_dial_that_is_never_answered_times_out() {
    // The peer never hears the dial's SYNs (port 40001): unanswered, and the loop gives up after the connect timeout (5 s),
    // before the stack's own 10 s handshake deadline.
    let mut net = Net::new();
    net.peer.nic_mut().deaf_to = Some(to_connect_back_port);
    let request = net.connect(Service::ConnectBack.standard_port());
    let done = net.run_until(2_000, |net| closed(net.peer.state(request)));
    assert!(done, "the request was not closed");
    assert_eq!(net.pinata.dials(), 1, "dialling back");
    let started = net.now;
    let app = net.pinata.app().clone();
    let failed = |app: &Pinata| {
        app.stats()
            .service(Service::ConnectBack)
            .failures(FailureReason::ConnectFailed)
    };
    let done = net.run_until(20_000, |_| failed(&app) == 1);
    assert!(done, "the dial was not given up within 20 s");
    let waited = net.now - started;
    let timeout = Limits::default().connect_timeout.as_millis() as u64;
    assert!(waited <= timeout + 1_000, "{waited} ms");
    assert_eq!(net.pinata.dials(), 0);
    assert!(logged("reason=connect_failed detail=\"timeout\""));
}

/// A ClientHello's first `sent` bytes, in 16 KiB records, declaring a
/// ~64 KiB message: the piñata keeps them, waiting for the rest (the most
/// a connection can pin is [`crate::tls::MAX_INCOMING`]).
fn pinning_hello(sent: usize) -> Vec<u8> {
    const DECLARED: usize = 65_000;
    let mut message = alloc::vec![1u8];
    message.extend_from_slice(&(DECLARED as u32).to_be_bytes()[1..]);
    message.extend_from_slice(&[3, 3]);
    message.resize(4 + DECLARED, 0);
    let mut wire = Vec::new();
    for chunk in message.chunks(16 * 1024) {
        wire.extend_from_slice(&[0x16, 3, 1]);
        wire.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
        wire.extend_from_slice(chunk);
    }
    wire.truncate(sent);
    wire
}

/// A budget with room for about `connections` pinning connections beside
/// its reserve.
fn budget_for(connections: usize) -> MemoryBudget {
    MemoryBudget::of(STEP_RESERVE + connections * (crate::tls::MAX_INCOMING + 8 * 1024))
}

#[test]
fn the_memory_budget_ends_the_largest_connections_and_the_page_is_served() {
    let limits = Limits {
        max_connections_per_peer: 512,
        ..Limits::default()
    };
    let budget = budget_for(4);
    let mut net = Net::within(
        budget,
        pinata_limited(None, limits),
        |_| {},
        |p| {
            p.tx_buffer = 64 * 1024;
        },
    );
    // Ten connections that pin all they can, one at a time so that each
    // is the largest when it fills.
    let mut pinned = Vec::new();
    let mut most = 0;
    for _ in 0..10 {
        let conn = net.connect(Service::Server.standard_port());
        let mut hello = pinning_hello(crate::tls::MAX_INCOMING);
        net.run_until(2_000, |net| {
            send_some(&mut net.peer, conn, &mut hello);
            most = most.max(net.pinata.memory_held());
            hello.is_empty() && net.pinata.memory_held() > 0
        });
        net.run_until(200, |net| {
            most = most.max(net.pinata.memory_held());
            false
        });
        pinned.push(conn);
    }
    assert!(most <= budget.steady(), "{most} > {}", budget.steady());
    let evicted = net
        .recorder()
        .finished
        .iter()
        .filter(|(_, o)| {
            o.result == OutcomeKind::Failed(FailureReason::Evicted, Some("memory".into()))
        })
        .count();
    assert!(evicted >= 5, "{evicted} evicted for memory");
    assert!(logged("reason=evicted detail=\"memory\""));
    // The oldest went first (each was the largest when it was ended); the
    // newest are still held, and the page is served beside them.
    assert!(closed(net.peer.state(pinned[0])));
    assert!(!closed(net.peer.state(pinned[9])));
    let page = get_page(&mut net);
    assert!(page.starts_with("HTTP/1.1 200 "), "{page}");
    assert_eq!(
        net.pinata.app().connection_memory().budget(),
        Some(budget.sessions)
    );
}

// ------------------------------------------------ over the host's sockets
//
// The same loop over `hostnet` on 127.0.0.1: real sockets, the real clock.
// The clients are std sockets in threads of their own; the loop runs in
// the test's thread, sleeping in the poller between turns as the hosted
// runner does.

mod hosted {
    use std::io::{ErrorKind, Read, Write};
    use std::net::TcpStream;
    use std::thread::{self, JoinHandle};
    use std::time::Duration;

    use hostnet::HostNet;
    use transport::Transport as _;

    use super::*;

    /// The longest a test waits for a condition.
    const LIMIT: Duration = Duration::from_secs(20);

    struct Hosted {
        pinata: EventLoop<HostNet, Recorder>,
        start: std::time::Instant,
    }

    impl Hosted {
        fn new(app: Arc<Pinata>) -> Hosted {
            Hosted::within(MemoryBudget::UNLIMITED, app)
        }

        fn within(budget: MemoryBudget, app: Arc<Pinata>) -> Hosted {
            let ports = [0u16; 5];
            let transport =
                HostNet::bind(hostnet::Config::new(IpAddr::from([127, 0, 0, 1]), &ports))
                    .expect("listeners on free ports");
            let pinata = EventLoop::with_observer(transport, app, log, Recorder::default())
                .with_memory_budget(budget);
            let mut hosted = Hosted {
                pinata,
                start: std::time::Instant::now(),
            };
            hosted.run_until(|_| logged("pinata: ready;"));
            hosted
        }

        fn addr(&self, service: Service) -> SocketAddr {
            let listener = Service::ALL.iter().position(|s| *s == service).unwrap();
            self.pinata.transport().listen_addr(listener).unwrap()
        }

        /// Turns the loop until `done`, sleeping in the poller between turns.
        fn run_until(&mut self, mut done: impl FnMut(&mut Hosted) -> bool) {
            let limit = std::time::Instant::now() + LIMIT;
            loop {
                let now = Instant::from_millis(self.start.elapsed().as_millis() as u64);
                let wake = self.pinata.turn(now);
                if done(self) {
                    return;
                }
                assert!(std::time::Instant::now() < limit, "timed out");
                let now = Instant::from_millis(self.start.elapsed().as_millis() as u64);
                let timeout = wake.saturating_since(now);
                self.pinata.transport_mut().wait(timeout);
            }
        }

        /// Turns the loop until `client` has finished; its result.
        fn serve<T>(&mut self, client: JoinHandle<T>) -> T {
            self.run_until(|_| client.is_finished());
            client.join().expect("the client panicked")
        }
    }

    fn get_page(addr: SocketAddr) -> JoinHandle<String> {
        thread::spawn(move || {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream.set_read_timeout(Some(LIMIT)).unwrap();
            stream
                .write_all(b"GET / HTTP/1.1\r\nHost: pinata\r\n\r\n")
                .unwrap();
            let mut response = Vec::new();
            stream.read_to_end(&mut response).unwrap();
            String::from_utf8_lossy(&response).into_owned()
        })
    }

    #[test]
    fn the_page_is_served_over_loopback_and_the_connection_released() {
        let mut hosted = Hosted::new(pinata());
        // The loop logged where every service listens, then ready.
        for service in Service::ALL {
            let line = alloc::format!(
                "pinata: listening service={service} addr={}",
                hosted.addr(service)
            );
            assert!(logged(&line), "{line}");
        }
        let page = alloc::format!("page at http://{}/ ;", hosted.addr(Service::Http));
        assert!(logged(&page), "{page}");
        let response = hosted.serve(get_page(hosted.addr(Service::Http)));
        assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
        hosted.run_until(|h| h.pinata.connections() == 0);
        let finished = &hosted.pinata.observer().finished;
        assert_eq!(finished.len(), 1);
        assert_eq!(finished[0].1.result, OutcomeKind::Served(200));
        assert!(logged("pinata: service=http peer=127.0.0.1:"));
        // The client read to the end: the lingering close ended with it.
        hosted.run_until(|h| h.pinata.transport().counts().total() == 0);
    }

    #[test]
    fn a_full_table_evicts_the_longest_idle_connection_with_a_reset() {
        let limits = Limits {
            max_connections: 1,
            ..Limits::default()
        };
        let mut hosted = Hosted::new(pinata_limited(None, limits));
        // An idle connection to the bounty client port: admitted, it gets
        // the piñata's ClientHello and then sends nothing.
        let client_port = hosted.addr(Service::Client);
        let idle = thread::spawn(move || {
            let mut stream = TcpStream::connect(client_port).unwrap();
            stream.set_read_timeout(Some(LIMIT)).unwrap();
            let mut hello = [0u8; 5];
            stream.read_exact(&mut hello).unwrap();
            assert_eq!(hello[0], 0x16, "a TLS handshake record");
            stream
        });
        let mut idle = hosted.serve(idle);
        // The table is full; the page is served in its place...
        let response = hosted.serve(get_page(hosted.addr(Service::Http)));
        assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
        // ...and the idle connection was reset, as on the appliance.
        let mut rest = Vec::new();
        let error = loop {
            match idle.read_to_end(&mut rest) {
                Ok(_) => panic!("closed with a FIN, not a reset"),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => break e,
            }
        };
        assert_eq!(error.kind(), ErrorKind::ConnectionReset, "{error}");
        let evicted = &hosted.pinata.observer().finished;
        assert!(
            evicted.iter().any(|(_, o)| o.service == Service::Client
                && matches!(o.result, OutcomeKind::Failed(FailureReason::Evicted, _))),
            "{evicted:?}"
        );
    }

    #[test]
    fn the_memory_budget_holds_over_the_hosts_sockets() {
        let limits = Limits {
            max_connections_per_peer: 512,
            ..Limits::default()
        };
        let budget = budget_for(4);
        let mut hosted = Hosted::within(budget, pinata_limited(None, limits));
        let server = hosted.addr(Service::Server);
        let evicted = |h: &Hosted| {
            h.pinata
                .observer()
                .finished
                .iter()
                .filter(|(_, o)| {
                    o.result == OutcomeKind::Failed(FailureReason::Evicted, Some("memory".into()))
                })
                .count()
        };
        // Ten clients that pin all they can, then wait to be dropped.
        let mut pinners = Vec::new();
        let mut most = 0;
        for _ in 0..10 {
            let pinner = thread::spawn(move || {
                let mut stream = TcpStream::connect(server).unwrap();
                stream.set_read_timeout(Some(LIMIT)).unwrap();
                stream
                    .write_all(&pinning_hello(crate::tls::MAX_INCOMING))
                    .unwrap();
                // Held until the piñata ends it (a reset, or EOF).
                let mut rest = Vec::new();
                let _ = stream.read_to_end(&mut rest);
            });
            let before = (hosted.pinata.memory_held(), evicted(&hosted));
            // Until its hello is held, or something was ended for it.
            hosted.run_until(|h| {
                most = most.max(h.pinata.memory_held());
                h.pinata.memory_held() >= before.0 + crate::tls::MAX_INCOMING
                    || evicted(h) > before.1
            });
            pinners.push(pinner);
        }
        assert!(most <= budget.steady(), "{most} > {}", budget.steady());
        let response = hosted.serve(get_page(hosted.addr(Service::Http)));
        assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
        assert!(
            evicted(&hosted) >= 5,
            "{} evicted for memory",
            evicted(&hosted)
        );
        // The evicted clients were reset: their threads end.
        hosted.run_until(|_| pinners.iter().filter(|p| p.is_finished()).count() >= 5);
    }
}
