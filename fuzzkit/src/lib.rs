//! The piñata's fuzz kit: the deterministic fuzzing mode, in which a
//! fuzzer can talk its way into a piñata, and an oracle that fails the run
//! the moment the secret reaches a peer that did not authenticate.
//!
//! Where it sits: beside the application, never inside it. `fuzz/` (the
//! cargo-fuzz targets, one line each), this crate's regression test
//! (`tests/fuzz_regressions.rs`) and its seed writer (`fuzz_seeds`) link
//! it; the appliance, the hosted binary and `pinata`'s own tests do not, so
//! the test-only crypto below can never reach an image. It is `std`-only
//! (per-thread random streams, a process-wide world), like rustls keeps its
//! fuzzing provider in its fuzz crate.
//!
//! Nothing here changes how the piñata behaves: it builds an ordinary
//! [`Pinata`] from ordinary parts — the boot-time PKI
//! ([`pinata::pki::bootstrap`]), the production TLS configuration
//! ([`Pinata::new`]), the production session state machines, the
//! appliance's event loop ([`pinata::netloop`]) — and feeds them a
//! deterministic world. Data flow of one fuzz input:
//!
//! ```text
//! fuzz input ──▶ targets (one body per fuzz target)
//!                  ├─ transcript: a recorded handshake, mutated ──▶ Session ──▶ oracle
//!                  └─ network: Ethernet frames ──▶ stack ──▶ netloop ──▶ Session ──▶ oracle
//!                                          all under provider: seeded, pass-through crypto
//! ```
//!
//! - [`provider`]: seeded randomness, a fixed clock, and crypto the fuzzer
//!   can get past (fixed key exchange, pass-through records, constant
//!   handshake signatures), certificate chains still verified for real;
//!   built from the production provider's own tables;
//! - [`World`]: the PKI, the piñata, a look-alike "evil" PKI and recorded
//!   handshake transcripts, built once per process ([`world`]);
//! - [`transcript`]: recording real handshakes in this mode (both roles,
//!   TLS 1.2 and 1.3) and mutating them at the record and handshake-message
//!   level;
//! - [`oracle`]: when a secret in the output is a bug;
//! - [`network`]: the appliance's network stack with the services behind
//!   it, for raw Ethernet frames;
//! - [`targets`]: the bodies of the fuzz targets, shared by `fuzz/` and the
//!   regression test, so there is one copy.
//!
//! Determinism matters twice: libFuzzer needs the same input to take the
//! same path, and recorded transcripts must replay. Certificates come from
//! a seeded PKI, so they are the same in every process; the piñata's random
//! stream is reset before every session, so its hello random and session
//! id — which a recorded server flight echoes — are the same as when the
//! transcript was recorded.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod network;
pub mod oracle;
pub mod provider;
pub mod targets;
pub mod transcript;

use alloc::sync::Arc;
use alloc::vec::Vec;
use std::sync::OnceLock;

use rustls::pki_types::{CertificateDer, UnixTime};
use wallet::{Network, PrizeKey};

use pinata::app::{Config, Limits, Pinata};
use pinata::pki::{self, Pki, PkiOptions};
use pinata::time::Instant;
use provider::{DeterministicRandom, FIXED_TIME, FixedClock, Stream, reset};
use transcript::Transcript;

/// The prize in the fuzzing mode: the well-known "private key 1" as a
/// testnet-family WIF, read as regtest. Worthless by construction; what
/// matters is that it is a known marker the oracle can look for.
pub const MARKER_WIF: &str = "cMahea7zqjxrtgAbB7LSGbcQUr1uX1ojuat9jZodMN87JcbXMTcA";

/// The monotonic instant every fuzzed session lives at: no deadline ever
/// passes unless a target calls [`pinata::Session::timeout`] on purpose.
pub const NOW: Instant = Instant::from_millis(1_000);

/// Certificate chains (leaf first) the fuzzer can present, and that the
/// oracle compares against.
#[derive(Debug, Clone)]
pub struct Identities {
    /// The piñata CA certificate.
    pub ca: CertificateDer<'static>,
    /// The bounty server identity (what the piñata's client roles expect).
    pub server: Vec<CertificateDer<'static>>,
    /// The bounty client identity (what the piñata's server role expects).
    pub client: Vec<CertificateDer<'static>>,
    /// The HTTPS identity.
    pub web: Vec<CertificateDer<'static>>,
    /// A look-alike PKI with the same names and other keys — the "self-made
    /// CA" attack of the original piñata's logs.
    pub evil_server: Vec<CertificateDer<'static>>,
    /// The look-alike client identity.
    pub evil_client: Vec<CertificateDer<'static>>,
}

/// Everything built once per process.
pub struct World {
    /// The piñata under test, with [`MARKER_WIF`] as its prize.
    pub pinata: Arc<Pinata>,
    /// The certificates.
    pub ids: Identities,
    /// Recorded valid handshakes, both roles, TLS 1.2 and 1.3.
    pub transcripts: Vec<Transcript>,
    /// The private keys of the piñata's own identities, for recording peers.
    peer_keys: transcript::PeerKeys,
}

impl core::fmt::Debug for World {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("World")
            .field("transcripts", &self.transcripts.len())
            .finish_non_exhaustive()
    }
}

/// The world of this process, built on first use.
pub fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(build)
}

fn pki_options() -> PkiOptions {
    PkiOptions::new(UnixTime::since_unix_epoch(core::time::Duration::from_secs(
        FIXED_TIME,
    )))
}

fn bootstrap(stream: Stream) -> Pki {
    // Reset so the PKI is the same whatever ran before on this thread.
    reset(stream);
    pki::bootstrap(DeterministicRandom::of(stream), &pki_options()).expect("fuzzing PKI bootstrap")
}

fn build() -> World {
    let pki = bootstrap(Stream::Pki);
    let evil = bootstrap(Stream::Evil);
    let ids = Identities {
        ca: pki.ca_cert.clone(),
        server: pki.server.cert_chain.clone(),
        client: pki.client.cert_chain.clone(),
        web: pki.web.cert_chain.clone(),
        evil_server: evil.server.cert_chain.clone(),
        evil_client: evil.client.cert_chain.clone(),
    };
    // The recording peers hold the piñata's own identities: in this mode
    // that is what an authenticated peer is.
    let peer_keys = transcript::PeerKeys {
        client: pki.client.key_der(),
        server: pki.server.key_der(),
    };
    let prize = PrizeKey::from_wif_for(MARKER_WIF, Network::Regtest).expect("marker WIF");
    let config = Config {
        prize: Some(prize),
        limits: Limits::default(),
        web_identity: None,
    };
    let pinata = Pinata::new(
        pki,
        config,
        Arc::new(provider::provider(Stream::Pinata)),
        Arc::new(FixedClock),
        Instant::from_millis(0),
    )
    .expect("fuzzing piñata");
    let pinata = Arc::new(pinata);
    let transcripts = transcript::record_all(&pinata, &ids, &peer_keys);
    World {
        pinata,
        ids,
        transcripts,
        peer_keys,
    }
}
