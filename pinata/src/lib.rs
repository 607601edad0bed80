//! The piñata application (work in progress; see issue 2).
#![no_std]
#![forbid(unsafe_code)]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod pki;
pub mod provider;
pub mod random;
