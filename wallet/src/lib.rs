//! The piñata's prize: a bitcoin secp256k1 private key, its WIF encoding,
//! its addresses, and the secret exactly as it is sent on the wire.
//!
//! # Where it sits
//!
//! The appliance image is public and holds no secret. At boot the prize key
//! arrives as a WIF string (a boot module — QEMU `-initrd`, Xen `ramdisk=` —
//! or, for the hosted runner, a file) and is loaded with
//! [`PrizeKey::from_wif_for`]. The piñata then
//!
//! * shows [`PrizeKey::p2wpkh_address`] (and [`PrizeKey::p2pkh_address`]) on
//!   its web page, linked to [`Network::explorer_address_url`], so anyone can
//!   check on-chain that the bounty is still there;
//! * writes [`PrizeKey::wire_secret`] (the WIF and a newline) to a peer that
//!   passes mutual TLS, and to nobody else.
//!
//! The `pinata-wallet` command-line tool (feature `cli`) makes such keys
//! ([`PrizeKey::generate`] with the OS RNG), shows their addresses, and ends
//! the bounty: `spend` (also feature `cli`) sweeps the prize to another
//! address or signs a watch-only wallet's PSBT, with rust-bitcoin and
//! libsecp256k1. Neither is linked into the piñata itself.
//!
//! # Choices
//!
//! * `no_std` + `alloc`, no `unsafe`: the same code runs in the unikernel
//!   (`x86_64-unknown-none`) and in the hosted runner.
//! * Pure Rust, no C, in everything the piñata links. Only public-key
//!   derivation is needed there — the piñata never signs — so libsecp256k1's
//!   C code (and its SSE build trouble on the soft-float target) is not worth
//!   carrying; only the CLI's `spend` module signs, with it. [`k256`] (RustCrypto) does the
//!   scalar check and point multiplication in constant time, from the same
//!   RustCrypto generation as the TLS provider, so the workspace builds one
//!   copy of `sha2`/`digest`/`elliptic-curve`.
//! * Base58 via `bs58` into fixed buffers; the base58check checksum is
//!   double SHA-256 computed here. Bech32 via rust-bitcoin's `bech32`.
//! * Only compressed keys: P2WPKH needs one, and an uncompressed key's
//!   addresses differ from the ones shown here (see
//!   [`WifError::UncompressedKey`]).
//! * Secret hygiene: the key and every temporary copy (decode buffers, WIF
//!   text, wire bytes) are zeroized on drop; `Debug` never prints the key; no
//!   error carries key material. WIF decoding is not constant-time (base58 is
//!   a bignum conversion), which is acceptable for a key parsed once at boot
//!   from a local source.
//!
//! # Networks
//!
//! A WIF says only "mainnet" (0x80) or "some test network" (0xEF): testnet,
//! signet and regtest keys are identical. [`PrizeKey::from_wif`] maps 0xEF to
//! [`Network::Testnet`]; callers that know better (the hosted runner's
//! `--network`, the unikernel's configuration) use [`PrizeKey::from_wif_for`],
//! which also refuses a key from the wrong side (mainnet vs test).
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

mod error;
mod key;
mod network;
#[cfg(feature = "cli")]
pub mod spend;

pub use error::{GenerateError, WifError};
pub use key::PrizeKey;
pub use network::{Network, ParseNetworkError};
/// Re-exported so callers can hold [`PrizeKey::to_wif`] and
/// [`PrizeKey::wire_secret`] results without depending on `zeroize`.
pub use zeroize::Zeroizing;
