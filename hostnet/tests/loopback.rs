//! The hosted transport over real sockets on 127.0.0.1: accept, bytes both
//! ways, the lingering close and its absolute deadline, the socket limit,
//! dials, resets and datagrams. The test's clients are std sockets; the
//! transport is polled in the test's own thread (it never blocks), and
//! every wait is on a readiness condition, bounded by [`LIMIT`].

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use hostnet::{Config, ConnId, ConnState, Event, HostNet, Transport};

/// The longest any condition may take before the test fails.
const LIMIT: Duration = Duration::from_secs(10);
const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// The transport and its clock.
struct Net {
    net: HostNet,
    start: Instant,
    events: Vec<Event>,
}

impl Net {
    fn new(listeners: usize, adjust: impl FnOnce(&mut Config)) -> Net {
        let mut config = Config::new(LOCALHOST, &vec![0; listeners]);
        adjust(&mut config);
        Net {
            net: HostNet::bind(config).expect("bind"),
            start: Instant::now(),
            events: Vec::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn addr(&self, listener: usize) -> SocketAddr {
        self.net.listen_addr(listener).expect("bound")
    }

    /// Polls (sleeping in the poller between polls) until `done`.
    fn until(&mut self, what: &str, mut done: impl FnMut(&mut Net) -> bool) {
        let deadline = Instant::now() + LIMIT;
        loop {
            let now = self.now_ms();
            self.net.poll(now);
            while let Some(event) = self.net.next_event() {
                self.events.push(event);
            }
            if done(self) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            self.net.wait(Duration::from_millis(20));
        }
    }

    fn accepted(&mut self) -> (ConnId, usize, SocketAddr) {
        self.until("a connection", |n| {
            n.events.iter().any(|e| matches!(e, Event::Accepted { .. }))
        });
        let at = self
            .events
            .iter()
            .position(|e| matches!(e, Event::Accepted { .. }))
            .unwrap();
        match self.events.remove(at) {
            Event::Accepted {
                conn,
                listener,
                peer,
            } => (conn, listener, peer),
            _ => unreachable!(),
        }
    }

    /// Receives until `len` bytes have come.
    fn recv_exactly(&mut self, conn: ConnId, len: usize) -> Vec<u8> {
        let mut got = Vec::new();
        self.until("bytes", |n| {
            let mut buf = [0u8; 256];
            while let Ok(k @ 1..) = n.net.recv(conn, &mut buf) {
                got.extend_from_slice(&buf[..k]);
            }
            got.len() >= len
        });
        got
    }
}

fn client(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(LIMIT)).unwrap();
    stream
}

#[test]
fn connections_name_their_listener_and_move_bytes_both_ways() {
    let mut n = Net::new(2, |_| {});
    assert_ne!(n.addr(0), n.addr(1), "free ports were picked");
    let mut c = client(n.addr(1));
    let (conn, listener, peer) = n.accepted();
    assert_eq!((listener, peer), (1, c.local_addr().unwrap()));
    c.write_all(b"ping").unwrap();
    assert_eq!(n.recv_exactly(conn, 4), b"ping");
    assert_eq!(n.net.send(conn, b"pong"), Ok(4));
    let mut reply = [0u8; 4];
    c.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"pong");
    // The peer's FIN: end of stream, and we may still send.
    c.shutdown(Shutdown::Write).unwrap();
    n.until("end of stream", |n| {
        let _ = n.net.recv(conn, &mut [0u8; 16]);
        n.net.state(conn) == ConnState::PeerClosed
    });
    assert_eq!(n.net.send(conn, b"bye"), Ok(3));
    n.net.close(conn);
    n.net.release(conn);
    let mut rest = Vec::new();
    c.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"bye");
    // Released: the id is dead.
    assert_eq!(n.net.state(conn), ConnState::Closed);
    assert!(n.net.send(conn, b"x").is_err());
}

#[test]
fn a_released_connection_lingers_until_the_peer_closes() {
    let mut n = Net::new(1, |_| {});
    let mut c = client(n.addr(0));
    let (conn, _, _) = n.accepted();
    assert_eq!(n.net.send(conn, b"the last bytes"), Ok(14));
    n.net.close(conn);
    n.net.release(conn);
    assert_eq!(n.net.counts().lingering, 1);
    // The peer gets every byte and the FIN, sends more (read and dropped,
    // so closing cannot reset the peer), then closes: the socket goes.
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"the last bytes");
    c.write_all(&[7u8; 3000]).unwrap();
    n.until("the peer's bytes to be drained", |n| {
        n.net.counts().lingering == 1
    });
    drop(c);
    n.until("the lingering close to end", |n| {
        n.net.counts().total() == 0
    });
}

#[test]
fn a_trickling_peer_cannot_hold_a_lingering_socket_past_its_deadline() {
    let mut n = Net::new(1, |config| config.linger_ms = 300);
    let c = client(n.addr(0));
    let (conn, _, _) = n.accepted();
    n.net.close(conn);
    n.net.release(conn);
    let released = Instant::now();
    // A byte every 50 ms, for far longer than the deadline: each one
    // would restart an idle timeout, never an absolute deadline.
    let trickle = thread::spawn(move || {
        let mut c = c;
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end {
            if c.write_all(b".").is_err() {
                return true;
            }
            thread::sleep(Duration::from_millis(50));
        }
        false
    });
    // Until its deadline it holds its socket, and counts.
    assert_eq!(n.net.counts().lingering, 1);
    assert_eq!(n.net.counts_of(LOCALHOST).total(), 1);
    n.until("the deadline to end the linger", |n| {
        n.net.counts().lingering == 0
    });
    let held = released.elapsed();
    assert!(held < Duration::from_secs(5), "held for {held:?}");
    println!("lingering close ended after {held:?} (deadline 300 ms)");
    // The peer finds its socket gone before it stops trickling.
    assert!(trickle.join().unwrap(), "the trickler never noticed");
}

/// A client connected from `from` (any 127/8 address is this host's).
fn client_from(from: Ipv4Addr, addr: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&SocketAddr::new(IpAddr::V4(from), 0).into())
        .unwrap();
    socket.connect(&addr.into()).unwrap();
    socket.into()
}

#[test]
fn lingering_closes_are_capped_per_address_and_in_all() {
    let mut n = Net::new(1, |config| {
        config.max_lingering_per_peer = 2;
        config.max_lingering = 3;
    });
    let (one, two) = (Ipv4Addr::new(127, 0, 0, 1), Ipv4Addr::new(127, 0, 0, 2));
    // Clients that never close: every released connection lingers until
    // its deadline, unless a cap drops it first.
    let mut clients = Vec::new();
    let mut linger = |n: &mut Net, from: Ipv4Addr| {
        clients.push(client_from(from, n.addr(0)));
        let (conn, _, peer) = n.accepted();
        assert_eq!(peer.ip(), IpAddr::V4(from));
        n.net.close(conn);
        n.net.release(conn);
    };
    for _ in 0..3 {
        linger(&mut n, one);
    }
    // The first address's oldest went: two left.
    assert_eq!(n.net.counts_of(IpAddr::V4(one)).lingering, 2);
    for _ in 0..2 {
        linger(&mut n, two);
    }
    // Four would linger, three may: the oldest of all went.
    assert_eq!(n.net.counts().lingering, 3);
    assert_eq!(n.net.counts_of(IpAddr::V4(one)).lingering, 1);
    assert_eq!(n.net.counts_of(IpAddr::V4(two)).lingering, 2);
}

#[test]
fn at_capacity_new_connections_wait_and_lingering_closes_make_room_first() {
    let mut n = Net::new(1, |config| config.max_sockets = 2);
    let _a = client(n.addr(0));
    let (first, _, _) = n.accepted();
    let _b = client(n.addr(0));
    let (second, _, _) = n.accepted();
    // A third waits in the kernel's queue: the caller must make room.
    let _c = client(n.addr(0));
    n.until("the transport to say it is full", |n| n.net.at_capacity());
    assert!(n.events.is_empty(), "{:?}", n.events);
    n.net.abort(first);
    n.net.release(first);
    let (third, _, _) = n.accepted();
    assert_eq!(n.net.counts().connections, 2);
    // A lingering close is the first to go when a socket is needed.
    n.net.close(second);
    n.net.release(second);
    assert_eq!(n.net.counts().lingering, 1);
    let _d = client(n.addr(0));
    n.accepted();
    assert!(!n.net.at_capacity());
    assert_eq!(n.net.counts().lingering, 0);
    assert_eq!(n.net.counts().total(), 2);
    n.net.abort(third);
    n.net.release(third);
}

#[test]
fn an_aborted_connection_is_reset() {
    let mut n = Net::new(1, |_| {});
    let mut c = client(n.addr(0));
    let (conn, _, _) = n.accepted();
    n.net.abort(conn);
    assert_eq!(n.net.state(conn), ConnState::Closed);
    n.net.release(conn);
    assert_eq!(n.net.counts().total(), 0);
    let error = c
        .read(&mut [0u8; 8])
        .expect_err("a reset, not an end of stream");
    assert_eq!(error.kind(), ErrorKind::ConnectionReset);
}

#[test]
fn dials_report_connected_or_failed() {
    let mut n = Net::new(1, |_| {});
    let server = TcpListener::bind((LOCALHOST, 0)).unwrap();
    let open = n.net.connect(server.local_addr().unwrap(), 0).unwrap();
    assert_eq!(n.net.state(open), ConnState::Connecting);
    assert!(
        n.net.send(open, b"early").is_err(),
        "nothing before connected"
    );
    n.until("the dial to connect", |n| {
        n.events.contains(&Event::Connected(open))
    });
    assert_eq!(n.net.state(open), ConnState::Established);
    let (mut accepted, _) = server.accept().unwrap();
    assert_eq!(n.net.send(open, b"hello"), Ok(5));
    let mut got = [0u8; 5];
    accepted.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"hello");

    // Nobody listens here any more: refused.
    let closed = {
        let gone = TcpListener::bind((LOCALHOST, 0)).unwrap();
        gone.local_addr().unwrap()
    };
    let refused = n.net.connect(closed, 0).unwrap();
    n.until("the dial to fail", |n| {
        n.events.contains(&Event::ConnectFailed(refused))
    });
    assert_eq!(n.net.state(refused), ConnState::Closed);
    n.net.release(refused);
    let unaddressable = SocketAddr::new(LOCALHOST, 0);
    assert!(n.net.connect(unaddressable, 0).is_err());
}

#[test]
fn datagrams_reach_their_target() {
    let mut n = Net::new(1, |_| {});
    let collector = UdpSocket::bind((LOCALHOST, 0)).unwrap();
    collector.set_read_timeout(Some(LIMIT)).unwrap();
    let target = collector.local_addr().unwrap();
    n.net.send_datagram(target, b"<30>1 a line").unwrap();
    let mut buf = [0u8; 64];
    let (len, _) = collector.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..len], b"<30>1 a line");
    assert!(
        n.net
            .send_datagram(SocketAddr::new(LOCALHOST, 0), b"x")
            .is_err()
    );
    assert_eq!(n.net.datagrams_dropped(), 1);
}

#[test]
fn a_taken_port_is_a_clear_error() {
    let taken = TcpListener::bind((LOCALHOST, 0)).unwrap();
    let port = taken.local_addr().unwrap().port();
    let error = HostNet::bind(Config::new(LOCALHOST, &[0, port]))
        .err()
        .expect("refused");
    assert_eq!(error.listener, 1);
    assert!(
        error.to_string().contains(&format!("127.0.0.1:{port}")),
        "{error}"
    );
}
