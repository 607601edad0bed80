//! Building the piñata at start, the same way on both backends: the
//! prize, the boot-time PKI, the TLS contexts and the limits → one
//! [`Pinata`].
//!
//! What differs between the unikernel and the hosted runner is only where
//! things come from — the secret (boot module or a file), the entropy
//! (the DRBG or the OS), the wall clock (RTC or system), the memory gauge
//! (heap or RSS), the names on the web certificate — so the platform fills
//! in a [`Setup`] and calls [`build`]. The order of the steps is the
//! security argument and lives here once: nothing is keyed before the
//! configuration is checked, the CA key is erased inside the bootstrap, and
//! the identities' private keys move into rustls when [`Pinata::new`]
//! consumes the [`Pki`].

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use wallet::PrizeKey;

use crate::app::{Config, DEFAULT_CONNECT_BACK_PORT, Pinata, SetupError};
use crate::limits::Limits;
use crate::memory::MemoryGauge;
use crate::pki::{self, KeyType, Pki, PkiOptions};
use crate::random::SecureRandom;
use crate::time::{Instant, TimeProvider};

/// Everything the piñata is built from. [`Setup::new`] gives the
/// defaults; the platform sets what the operator chose.
pub struct Setup {
    /// The prize; `None` serves without one (the page says so).
    pub prize: Option<PrizeKey>,
    /// Key type of the bounty certificates.
    pub bounty_key_type: KeyType,
    /// Names on the generated web certificate besides
    /// [`PkiOptions::DEFAULT_WEB_NAMES`] (the address the piñata is
    /// reached at, the operator's names).
    pub web_names: Vec<String>,
    /// The operator's certificate chain and key for HTTPS, instead of the
    /// generated one.
    pub web_identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    /// The connection limits.
    pub limits: Limits,
    /// The port connect-back dials on the caller.
    pub connect_back_port: u16,
    /// The platform's memory gauge, for `/stats.json`.
    pub memory_gauge: Option<MemoryGauge>,
}

impl Setup {
    /// No prize, P-256 bounty keys, the default web names, no operator
    /// certificate, the default limits and connect-back port, no gauge.
    pub fn new() -> Setup {
        Setup {
            prize: None,
            bounty_key_type: KeyType::EcdsaP256,
            web_names: Vec::new(),
            web_identity: None,
            limits: Limits::default(),
            connect_back_port: DEFAULT_CONNECT_BACK_PORT,
            memory_gauge: None,
        }
    }
}

impl Default for Setup {
    fn default() -> Self {
        Setup::new()
    }
}

/// What the platform supplies: entropy, the wall clock (rustls's, also
/// dating the certificates), and the monotonic clock's reading now.
pub struct Platform {
    /// The entropy source for keys and TLS.
    pub random: &'static dyn SecureRandom,
    /// The wall clock.
    pub wall_clock: Arc<dyn TimeProvider>,
    /// The monotonic clock now (uptime counts from here).
    pub now: Instant,
}

/// Builds the piñata: the PKI (CA made, certificates issued, CA key
/// erased), then `before_keys_move(&pki)` — the hosted runner's test-only
/// export of the identities; it may refuse — then the TLS contexts over
/// the crypto provider, the prize, the limits and the gauge.
pub fn build(
    setup: Setup,
    platform: &Platform,
    before_keys_move: impl FnOnce(&Pki) -> Result<(), String>,
) -> Result<Pinata, SetupError> {
    let Some(now) = platform.wall_clock.current_time() else {
        return Err(SetupError::new(
            "no wall clock: cannot date the certificates",
        ));
    };
    let mut web_names: Vec<String> = PkiOptions::DEFAULT_WEB_NAMES
        .iter()
        .map(|name| String::from(*name))
        .collect();
    for name in setup.web_names {
        if !web_names.contains(&name) {
            web_names.push(name);
        }
    }
    let options = PkiOptions {
        bounty_key_type: setup.bounty_key_type,
        web_names,
        now,
        validity_days: PkiOptions::DEFAULT_VALIDITY_DAYS,
    };
    let pki = pki::bootstrap(platform.random, &options)
        .map_err(|error| SetupError::new(alloc::format!("PKI bootstrap failed: {error}")))?;
    before_keys_move(&pki).map_err(SetupError::new)?;
    let provider = Arc::new(crate::provider::provider(platform.random));
    let config = Config {
        prize: setup.prize,
        limits: setup.limits,
        web_identity: setup.web_identity,
    };
    let pinata = Pinata::new(
        pki,
        config,
        provider,
        platform.wall_clock.clone(),
        platform.now,
    )?
    .with_connect_back_port(setup.connect_back_port);
    Ok(match setup.memory_gauge {
        Some(gauge) => pinata.with_memory_gauge(gauge),
        None => pinata,
    })
}
