//! The bitcoin piñata: a bounty appliance that hands out a bitcoin private key
//! to any peer that completes a TLS handshake with a certificate signed by a
//! certificate authority whose private key no longer exists.
//!
//! This crate is the whole application, as sans-IO state machines over byte
//! streams, `no_std + alloc`, so the same code runs as a Linux process (the
//! `std` feature's [`hosted`] runner, for development, tests and fuzzing) and
//! as the unikernel. Data flow:
//!
//! ```text
//! socket / smoltcp ──bytes──▶ Session (session.rs) ──▶ TlsStream (tls.rs) ──▶ rustls unbuffered
//!                                 │                         ▲
//!                                 ├─ http.rs / page.rs       └─ provider/ (RustCrypto CryptoProvider)
//!                                 └─ app.rs: Pinata (configs from pki.rs, prize from `wallet`, stats.rs)
//! ```
//!
//! - [`pki`] makes the CA and the piñata's certificates at start, then erases
//!   the CA key;
//! - [`provider`] is the rustls `CryptoProvider` over pure-Rust crypto;
//! - [`app`] builds the TLS contexts and routes a new connection to its
//!   [`session::Session`];
//! - [`session`] holds every rule of the bounty (when the secret is sent);
//! - [`tls`] drives rustls's unbuffered API with bounded buffers;
//!   [`client_hello`] is the one look it takes at a hello before rustls
//!   (the original's secure-renegotiation rule);
//! - [`http`] and [`page`] serve the page; [`stats`] counts;
//! - [`random`] and [`time`] are the platform seams (entropy, clocks);
//! - [`admission`] decides which connections are taken, refused or evicted
//!   under the operator's [`Limits`], for both backends;
//! - [`memory`] is what `/stats.json` says of memory (the platform's gauge);
//! - [`syslog`] formats the connection log lines as RFC 5424 datagrams;
//! - `netloop` (feature `netstack`) is the appliance's event loop: the
//!   sessions over the `stack` crate's TCP connections, as the unikernel
//!   runs it.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod admission;
pub mod app;
pub mod client_hello;
#[cfg(feature = "std")]
pub mod hosted;
pub mod http;
pub mod memory;
// The appliance's event loop over `stack` (the unikernel's, and the one the
// `stack_ingress` fuzz target drives); always in test builds, for its tests.
#[cfg(any(feature = "netstack", test))]
pub mod netloop;
pub mod page;
pub mod pki;
pub mod provider;
pub mod random;
pub mod session;
pub mod stats;
pub mod syslog;
pub mod time;
pub mod tls;

pub use app::{Accepted, Config, Limits, Pinata};
pub use session::{Outcome, Session, Status};
pub use stats::{FailureReason, Service};
