//! The test harness: starts a piñata, waits until it serves, and stops it.
//!
//! Three users start the real piñata from outside and talk to it over
//! loopback: pinata's integration tests (`pinata/tests/`), the attack
//! battery (`cargo xtask attack`) and the benchmark (`cargo xtask bench`).
//! They share what this crate does, once:
//!
//! - [`ports`]: free loopback ports, for QEMU's `hostfwd` and for
//!   connect-back listeners;
//! - [`process`] and [`output`]: a child process killed when dropped, its
//!   stdout and stderr collected line by line (a serial console's CRs and
//!   the unikernel's timestamps taken off) and waited on;
//! - [`listening`]: the piñata's `pinata: listening service=… addr=…` and
//!   `pinata: ready; …` lines, its readiness signal;
//! - [`hosted`]: the hosted `pinata` binary on ports the kernel picks,
//!   ready once it has printed where it listens;
//! - [`vm`]: the unikernel under QEMU with its services forwarded to free
//!   host ports, ready once its console says so (and booted again when a
//!   port was taken before QEMU bound it);
//! - [`http`]: a minimal HTTP/1.1 GET with a time limit;
//! - [`prize`]: the worthless test prize and its file.
//!
//! How a binary is built and how a QEMU command line is put together stay
//! with the caller (cargo, `xtask/src/qemu.rs`): the harness takes a
//! [`std::process::Command`] and runs the protocol around it. Errors are
//! [`Error`]s carrying the output seen so far, for a test to panic with
//! or a tool to report. std only; never part of the image.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
pub mod hosted;
pub mod http;
pub mod listening;
pub mod output;
pub mod ports;
pub mod prize;
pub mod process;
pub mod vm;

pub use error::{Error, Result};
pub use hosted::Hosted;
pub use listening::Services;
pub use output::Output;
pub use process::Process;
pub use vm::Vm;
