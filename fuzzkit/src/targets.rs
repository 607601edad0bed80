//! The bodies of the fuzz targets. `fuzz/fuzz_targets/*.rs` are one-line
//! wrappers around these, and `tests/fuzz_regressions.rs` replays saved
//! inputs through the same functions, so a crash found by libFuzzer is
//! reproduced by `cargo test` with exactly this code.
//!
//! | target | input | drives |
//! |---|---|---|
//! | `bounty_server` | the TLS client's bytes | the port-10000 session (mutual TLS, piñata as server) |
//! | `bounty_client` | the TLS server's bytes | the port-10002 / connect-back session (piñata as client) |
//! | `handshake_transcript` | transcript index + mutation program ([`crate::transcript`]) | either, flight by flight |
//! | `http_request` | request bytes | the port-80 session, whole and segmented |
//! | `stack_ingress` | Ethernet frames ([`crate::network`]) | the appliance's network stack with every service listening |
//!
//! Every bounty session is checked by [`crate::oracle::check`] after each
//! step; a violation, or any panic, is a crash.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

pub use crate::network::stack_ingress;
use crate::oracle;
use crate::transcript::{self, MAX_OPS, Program, Role};
use crate::{NOW, World, world};
use pinata::app::Accepted;
use pinata::session::{OutcomeKind, Session};
use pinata::stats::Service;

/// The fuzz targets, by their fixed names.
pub const TARGETS: &[&str] = &[
    "bounty_server",
    "bounty_client",
    "handshake_transcript",
    "http_request",
    "stack_ingress",
];

/// Runs the target `name` on `data`. Returns `false` for an unknown name.
pub fn run(name: &str, data: &[u8]) -> bool {
    match name {
        "bounty_server" => bounty_server(data),
        "bounty_client" => bounty_client(data),
        "handshake_transcript" => handshake_transcript(data),
        "http_request" => http_request(data),
        "stack_ingress" => stack_ingress(data),
        _ => return false,
    }
    true
}

/// One bounty session, its output so far, and the oracle after every step.
struct Bounty {
    world: &'static World,
    role: Role,
    session: Box<Session>,
    /// The session's input and output, scanned for the secret as they come.
    scanner: oracle::Scanner,
}

impl Bounty {
    fn new(role: Role) -> Bounty {
        let world = world();
        let session = transcript::session(&world.pinata, role);
        let mut bounty = Bounty {
            world,
            role,
            session,
            scanner: oracle::Scanner::default(),
        };
        // The client role has its ClientHello out already.
        bounty.collect();
        bounty
    }

    fn collect(&mut self) {
        let out = self.session.outgoing();
        let n = out.len();
        let leak = self.scanner.output(out);
        self.session.consume_outgoing(n);
        oracle::check_leak(&self.session, leak, &self.world.ids, self.role);
    }

    fn receive(&mut self, data: &[u8]) {
        self.scanner.input(data);
        self.session.receive(data, NOW);
        self.collect();
    }

    fn peer_closed(&mut self) {
        self.session.peer_closed(NOW);
        self.collect();
    }
}

/// `bounty_server`: arbitrary client bytes into the mutual-TLS server, then
/// the peer closes.
pub fn bounty_server(data: &[u8]) {
    let mut bounty = Bounty::new(Role::Server);
    bounty.receive(data);
    bounty.peer_closed();
}

/// `bounty_client`: arbitrary server bytes into the piñata's TLS client
/// (after its ClientHello), then the peer closes.
pub fn bounty_client(data: &[u8]) {
    let mut bounty = Bounty::new(Role::Client);
    bounty.receive(data);
    bounty.peer_closed();
}

/// `handshake_transcript`: a recorded handshake, mutated by the program in
/// `data` (see [`crate::transcript`]), replayed flight by flight.
pub fn handshake_transcript(data: &[u8]) {
    let Some((&first, program)) = data.split_first() else {
        return;
    };
    let world = world();
    let t = &world.transcripts[usize::from(first) % world.transcripts.len()];
    let mut model = t.model.clone();
    let mut program = Program::new(program);
    for _ in 0..MAX_OPS {
        if program.done() {
            break;
        }
        transcript::apply(&mut model, &mut program, &world.transcripts, &world.ids);
    }
    let mut bounty = Bounty::new(t.role);
    for (f, flight) in model.flights.iter().enumerate() {
        let bytes = model.render(f);
        match flight.split_at {
            Some(at) => {
                let at = at % (bytes.len() + 1);
                bounty.receive(&bytes[..at]);
                bounty.receive(&bytes[at..]);
            }
            None => bounty.receive(&bytes),
        }
        if flight.close_after {
            break;
        }
    }
    bounty.peer_closed();
}

/// What an HTTP exchange came to, in a form two runs can be compared by.
#[derive(Debug, PartialEq, Eq)]
enum HttpEnd {
    Served(u16),
    Idle,
    Failed(pinata::stats::FailureReason),
    Other,
}

fn http_exchange(chunks: &[&[u8]]) -> HttpEnd {
    let world = world();
    let peer = "192.0.2.2:40000".parse().expect("documentation address");
    let Accepted::Session(mut session) = world.pinata.accept(Service::Http, peer, NOW) else {
        unreachable!("HTTP is a plain session");
    };
    let mut output = Vec::new();
    for chunk in chunks {
        session.receive(chunk, NOW);
        output.extend_from_slice(session.outgoing());
        let n = session.outgoing().len();
        session.consume_outgoing(n);
    }
    session.peer_closed(NOW);
    output.extend_from_slice(session.outgoing());
    oracle::check_never(&output, "the HTTP service");
    if !output.is_empty() {
        check_response(&output);
    }
    match session.outcome(NOW).map(|o| o.result) {
        Some(OutcomeKind::Served(code)) => HttpEnd::Served(code),
        Some(OutcomeKind::Idle) => HttpEnd::Idle,
        Some(OutcomeKind::Failed(reason, _)) => HttpEnd::Failed(reason),
        _ => HttpEnd::Other,
    }
}

/// A response is one well-formed HTTP/1.1 message whose Content-Length is
/// its body's (or whose body is absent: HEAD).
fn check_response(output: &[u8]) {
    let text = String::from_utf8_lossy(output);
    assert!(
        text.starts_with("HTTP/1.1 "),
        "HTTP: response without a status line: {text:?}"
    );
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("HTTP: response without the end of its head: {text:?}"));
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("HTTP: response without Content-Length: {head:?}"));
    // Lossy decoding could only lengthen a body, and the page is UTF-8.
    assert!(
        body.is_empty() || body.len() == length,
        "HTTP: Content-Length {length} but a body of {} bytes",
        body.len()
    );
    assert!(head.contains("\r\nConnection: close"), "HTTP: {head:?}");
}

/// `http_request`: the request in one read and in two; the answers must
/// agree (TCP segmentation is the peer's to choose) and be well-formed, and
/// never contain the secret.
pub fn http_request(data: &[u8]) {
    let whole = http_exchange(&[data]);
    let (a, b) = data.split_at(data.len() / 2);
    let split = http_exchange(&[a, b]);
    assert_eq!(
        whole, split,
        "HTTP: the answer depends on how the request was segmented"
    );
    // A deadline that passes before the request completes.
    let world = world();
    let peer = "192.0.2.3:40000".parse().expect("documentation address");
    if let Accepted::Session(mut session) = world.pinata.accept(Service::Http, peer, NOW) {
        session.receive(&data[..data.len().min(16)], NOW);
        session.timeout(NOW + Duration::from_secs(3600));
        oracle::check_never(session.outgoing(), "the HTTP service");
    }
}

/// Seed inputs, generated from the world: `(target, name, bytes)`.
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let world = world();
    let mut seeds = Vec::new();
    for (i, t) in world.transcripts.iter().enumerate() {
        let target = match t.role {
            Role::Server => "bounty_server",
            Role::Client => "bounty_client",
        };
        seeds.push((target, String::from(t.name), t.flights.concat()));
        // Each transcript untouched, and with its certificate chain swapped
        // for each of the alternatives.
        let index = i as u8;
        seeds.push((
            "handshake_transcript",
            alloc::format!("{}-replay", t.name),
            vec![index],
        ));
        for which in 0..12u8 {
            seeds.push((
                "handshake_transcript",
                alloc::format!("{}-chain{which}", t.name),
                vec![index, transcript::Op::SwapCertificate as u8, 0, which],
            ));
        }
    }
    let requests: [&[u8]; 8] = [
        b"GET / HTTP/1.1\r\nHost: pinata\r\n\r\n",
        b"HEAD /ca.pem HTTP/1.0\r\n\r\n",
        b"GET /stats.json?x=1 HTTP/1.1\r\nHost: a\r\nUser-Agent: b\r\n\r\n",
        b"GET /nope HTTP/1.1\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
        b"GET http://evil/ HTTP/1.1\r\n\r\n",
        b"\x16\x03\x01\x00\x05hello",
        b"GET /index.html HTTP/1.1\nHost: x\n\n",
    ];
    for (i, r) in requests.iter().enumerate() {
        seeds.push(("http_request", alloc::format!("request{i}"), r.to_vec()));
    }
    for (name, data) in crate::network::seeds() {
        seeds.push(("stack_ingress", name, data));
    }
    seeds
}

/// An input that presents the look-alike CA's client chain in an otherwise
/// valid TLS 1.3 handshake: a chain the production verifier must reject,
/// and that the planted bug (`planted-bug`) lets through.
pub fn self_made_ca_input() -> Vec<u8> {
    // Transcript 0 (server role, TLS 1.3), swap the Certificate for chain 3.
    vec![0, transcript::Op::SwapCertificate as u8, 0, 3]
}
