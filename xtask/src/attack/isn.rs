//! `isn_prediction`: can an attacker who has seen a few of the piñata's
//! TCP initial sequence numbers predict the next one?
//!
//! If so, an off-path attacker who can spoof source addresses completes
//! connections from addresses it does not own (getting around the
//! per-address limits, forging the `peer=` of the log, making connect-back
//! dial where it likes) and resets other visitors' connections. smoltcp
//! upstream draws ISNs from its sPCG32 generator; the attack on it is in
//! `pcg32.rs`.
//!
//! The case opens [`OBSERVED`] connections one after the other, reads every
//! ISN the guest sends (SYN-ACKs, and the SYNs of any dial) from QEMU's dump
//! of the guest's frames (`pcap.rs`), recovers the generator's state from
//! them, predicts the next [`GUESSES`] ISNs, and then opens one more
//! connection: its SYN-ACK's ISN must not be among the predictions. The
//! other draws in between (the page prober's connections) are in the dump
//! too, so the attacker sees everything a host on the link would.
//!
//! Against the hosted runner the ISNs are Linux's (RFC 6528 already) and
//! QEMU's dump does not exist: the case says so and passes.

use std::net::{Ipv4Addr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use super::cases::{Ctx, Exchange};
use super::net::target_addr;
use super::pcap::{PcapReader, Syn};
use super::pcg32;
use super::*;

/// Connections whose ISNs the attacker collects.
const OBSERVED: usize = 8;
/// ISNs predicted after the last observation: the attacker would try each
/// (a spoofed handshake's ACK); the page prober may draw a few first.
const GUESSES: usize = 16;
/// The guest service the case connects to (the prober uses the page's).
const SERVICE: &str = "server";
/// The guest's own port for [`SERVICE`].
const GUEST_PORT: u16 = 10000;
/// How long to wait for one SYN-ACK to show up in the dump.
const SYN_ACK_WAIT: Duration = Duration::from_secs(10);

pub(super) fn c_isn_prediction(ctx: &Ctx) -> Exchange {
    let Some(pcap) = &ctx.target.pcap else {
        return Exchange {
            sent: "nothing".into(),
            reply: "not applicable: hosted ISNs are Linux's (RFC 6528)".into(),
            ..Default::default()
        };
    };
    let sent = format!(
        "{} connections to :{GUEST_PORT}, ISNs read from QEMU's dump",
        OBSERVED + 1
    );
    match attack(ctx, pcap) {
        Ok(verdict) => verdict.exchange(sent),
        Err(e) => Exchange {
            sent,
            reply: format!("could not observe: {e}"),
            problems: vec![format!("the ISN attack could not run: {e}")],
            ..Default::default()
        },
    }
}

/// What the attack saw and concluded.
struct Verdict {
    /// Every ISN the guest drew while the attacker watched, in order.
    observed: Vec<u32>,
    /// The attacker's own connections among them.
    own: usize,
    recovered: Option<pcg32::Recovered>,
    predictions: Vec<u32>,
    /// The fresh connection's ISN, and the other draws just before it.
    fresh: u32,
    others_before_fresh: usize,
}

impl Verdict {
    fn exchange(self, sent: String) -> Exchange {
        let hit = self.predictions.iter().position(|&p| p == self.fresh);
        let mut details = vec![format!(
            "{} ISNs observed ({} the attacker's, {} the page prober's): {}",
            self.observed.len(),
            self.own,
            self.observed.len() - self.own,
            hex_list(&self.observed)
        )];
        let mut problems = Vec::new();
        let reply = match (&self.recovered, hit) {
            (Some(found), Some(at)) => {
                details.push(format!(
                    "sPCG32 state {:#018x} explains the last {} of them; predicted {} next ISNs, the fresh SYN-ACK's {:#010x} is draw {} ({} drawn by others first)",
                    found.state,
                    found.explained,
                    GUESSES,
                    self.fresh,
                    at + 1,
                    self.others_before_fresh
                ));
                problems.push(format!(
                    "ISN predicted: the next SYN-ACK's sequence number {:#010x} was guess {} of {GUESSES}",
                    self.fresh,
                    at + 1
                ));
                format!("PREDICTED the next ISN (guess {})", at + 1)
            }
            (Some(found), None) => {
                // A state that explains every observation yet misses the
                // next one: the draws are not this generator's after all.
                details.push(format!(
                    "a state ({:#018x}) fit the {} ISNs by chance; the fresh {:#010x} is not among its {GUESSES} predictions",
                    found.state, found.explained, self.fresh
                ));
                "not predicted (a chance fit missed)".into()
            }
            (None, _) => {
                details.push(format!(
                    "no sPCG32 state produces them (gaps up to {}); the fresh ISN {:#010x} unpredicted",
                    pcg32::MAX_GAP,
                    self.fresh
                ));
                "not predicted: no generator state fits".into()
            }
        };
        Exchange {
            sent,
            reply,
            details,
            problems,
            ..Default::default()
        }
    }
}

fn hex_list(values: &[u32]) -> String {
    values
        .iter()
        .map(|v| format!("{v:08x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn attack(ctx: &Ctx, pcap: &std::path::Path) -> Result<Verdict, String> {
    let mut dump = Watcher {
        reader: PcapReader::at_end(pcap)?,
        guest: None,
        seen: Vec::new(),
        draws: Vec::new(),
    };
    let port = ctx.port(SERVICE);
    for _ in 0..OBSERVED {
        dump.connect_and_see_syn_ack(port)?;
    }
    let observed = dump.draws.clone();
    let recovered = pcg32::recover(&observed);
    let predictions = recovered.map(|r| r.predict(GUESSES)).unwrap_or_default();
    let before = dump.draws.len();
    let fresh = dump.connect_and_see_syn_ack(port)?;
    Ok(Verdict {
        own: OBSERVED,
        others_before_fresh: dump.draws.len() - before - 1,
        observed,
        recovered,
        predictions,
        fresh,
    })
}

/// The dump as the attacker reads it: the guest's ISN draws, in order.
struct Watcher {
    reader: PcapReader,
    /// The guest's address, learnt from the first SYN-ACK of the case.
    guest: Option<Ipv4Addr>,
    /// Segments seen, to drop retransmissions.
    seen: Vec<Syn>,
    draws: Vec<u32>,
}

impl Watcher {
    /// Connects to `port` (forwarded to [`GUEST_PORT`]), waits until the
    /// guest's SYN-ACK to QEMU's connection shows up in the dump, closes,
    /// and returns that SYN-ACK's ISN.
    fn connect_and_see_syn_ack(&mut self, port: u16) -> Result<u32, String> {
        let stream = TcpStream::connect_timeout(&target_addr(port), REPLY_WAIT)
            .map_err(|e| format!("connect: {e}"))?;
        let deadline = Instant::now() + SYN_ACK_WAIT;
        let isn = loop {
            if let Some(isn) = self.read()? {
                break isn;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no SYN-ACK from guest port {GUEST_PORT} in the dump within {} s",
                    SYN_ACK_WAIT.as_secs()
                ));
            }
            // Polling a file QEMU appends to: no readiness signal exists.
            thread::sleep(Duration::from_millis(20));
        };
        drop(stream);
        Ok(isn)
    }

    /// Reads what is new in the dump; returns the ISN of a new SYN-ACK
    /// from [`GUEST_PORT`] if one came.
    fn read(&mut self) -> Result<Option<u32>, String> {
        let mut ours = None;
        for syn in self.reader.read_new()? {
            if syn.ack && syn.src.1 == GUEST_PORT && self.guest.is_none() {
                self.guest = Some(syn.src.0);
            }
            // Draws count from the case's first SYN-ACK on: anything the
            // guest sends with SYN set (SYN-ACKs, a dial's SYN).
            if self.guest != Some(syn.src.0) || self.seen.contains(&syn) {
                continue;
            }
            self.seen.push(syn);
            self.draws.push(syn.seq);
            if syn.ack && syn.src.1 == GUEST_PORT {
                ours = Some(syn.seq);
            }
        }
        Ok(ours)
    }
}
