//! The bitcoin piñata: a bounty appliance that hands out a bitcoin private key
//! to any peer that completes a TLS handshake with a certificate signed by a
//! certificate authority whose private key no longer exists.
//!
//! This crate is the whole application, as sans-IO state machines over byte
//! streams, `no_std + alloc`, so the same code runs as a Linux process (the
//! `std` feature's [`hosted`] runner, for development, tests and fuzzing) and
//! as the unikernel. Where it sits in the data flow, from NIC or socket to
//! the [`Pinata`]: see "Layout" in `docs/DESIGN.md`.
//!
//! - [`pki`] makes the CA and the piñata's certificates at start, then erases
//!   the CA key;
//! - [`provider`] is the rustls `CryptoProvider` over pure-Rust crypto (the
//!   `provider` crate, re-exported);
//! - [`app`] builds the TLS contexts and routes a new connection to its
//!   [`session::Session`];
//! - [`session`] holds every rule of the bounty (when the secret is sent);
//! - [`tls`] drives rustls's unbuffered API with bounded buffers;
//!   [`client_hello`] is the one look it takes at a hello before rustls
//!   (the original's secure-renegotiation rule);
//! - [`http`] and [`page`] serve the page; [`stats`] counts;
//! - [`random`] and [`time`] are the platform seams (entropy, clocks);
//! - [`admission`] decides which connections are taken, refused or evicted
//!   under the operator's [`Limits`] ([`limits`]: one parser for flags and
//!   command line);
//! - [`setup`] builds the [`Pinata`] at start, the same way on both
//!   backends;
//! - [`memory`] is what `/stats.json` says of memory (the platform's gauge);
//! - [`metrics`] renders the counters for Prometheus (`/metrics`);
//!   [`budget`] is the memory the connections may hold, and how a heap is
//!   shared;
//! - [`syslog`] formats the connection log lines as RFC 5424 datagrams;
//! - [`netloop`] is the event loop: the sessions over a TCP
//!   [`transport::Transport`] — the unikernel's `stack`, or the hosted
//!   runner's `hostnet` — the same loop on both backends.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod admission;
pub mod app;
pub mod budget;
pub mod client_hello;
#[cfg(feature = "std")]
pub mod hosted;
pub mod http;
pub mod limits;
pub mod memory;
pub mod metrics;
pub mod netloop;
pub mod page;
pub mod pki;
pub mod random;
pub mod session;
pub mod setup;
pub mod stats;
pub mod syslog;
pub mod time;
pub mod tls;

/// The rustls `CryptoProvider` (a crate of its own for its build profile).
pub use provider;

pub use app::{Accepted, Config, DEFAULT_CONNECT_BACK_PORT, Pinata};
pub use limits::Limits;
pub use session::{Outcome, Session, Status};
pub use stats::{FailureReason, Service};
