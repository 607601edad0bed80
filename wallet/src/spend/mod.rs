//! Spending the prize: how an operator ends the bounty (feature `cli`).
//!
//! # Where it sits
//!
//! Everything else in this crate is about *showing* the prize; this module
//! *moves* it, and only the `pinata-wallet` command-line tool calls it. It
//! is built with rust-bitcoin (transactions, BIP 143 sighashes, PSBT,
//! address parsing) and signs with libsecp256k1, which is C: that is why it
//! lives behind the `cli` feature, which neither the unikernel image nor the
//! hosted piñata enables. The image keeps its pure-Rust `k256` key code.
//!
//! Two ways to end a bounty, both offline (nothing here touches a network):
//!
//! * [`sweep`]: the operator lists the prize's unspent outputs and a
//!   destination; one signed transaction moves everything, less the fee.
//! * [`sign_psbt`]: a watch-only wallet (Bitcoin Core, Sparrow, …) that
//!   knows the prize address builds a PSBT (BIP 174); this adds the prize
//!   key's signatures and the wallet finalizes and broadcasts. This is the
//!   ecosystem's usual path for offline signing, and the wallet does the
//!   coin selection and fee estimation. [`VersionedPsbt`] reads and writes
//!   both PSBT versions, 0 (BIP 174) and 2 (BIP 370), around it.
//!
//! # Refusals
//!
//! Both refuse rather than sign something the operator probably did not
//! mean: a destination on another network, an output below dust after the
//! fee, a fee above 2 % of the amount or above 1,000 sat/vB (unless forced),
//! a PSBT with nothing for this key to sign, a sighash type other than
//! SIGHASH_ALL, and every check BIP 174 asks of a signer. Errors name the
//! problem and never carry key material.
//!
//! # Secret hygiene
//!
//! The key reaches libsecp256k1 through a [`Zeroizing`](zeroize::Zeroizing)
//! buffer, and the libsecp256k1 key is erased when the signer is dropped,
//! at the end of each call.

mod psbt;
mod psbt_raw;
mod psbt_v2;
mod signer;
mod sweep;

use alloc::string::{String, ToString};
use core::fmt;

use bitcoin::Address;
use bitcoin::address::NetworkUnchecked;

pub use psbt::{InputProblem, PsbtSignError, SignedInput, SignedPsbt, SpentScript, sign_psbt};
pub use psbt_v2::{PsbtReadError, VersionedPsbt};
pub use signer::SignerError;
pub use sweep::{
    FeeRate, FeeRateParseError, MAX_FEE_PERCENT, MAX_FEE_RATE_SAT_PER_VB, OutputKind, Sweep,
    SweepError, SweepRequest, Utxo, UtxoParseError, sweep,
};

use crate::Network;

impl Network {
    /// The same network as rust-bitcoin names it.
    pub fn to_bitcoin(self) -> bitcoin::Network {
        match self {
            Network::Bitcoin => bitcoin::Network::Bitcoin,
            Network::Testnet => bitcoin::Network::Testnet,
            Network::Signet => bitcoin::Network::Signet,
            Network::Regtest => bitcoin::Network::Regtest,
        }
    }
}

/// A destination address for another network than the prize key's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrongNetwork {
    /// The address as given.
    pub address: String,
    /// Which networks such an address belongs to, in words.
    pub address_network: &'static str,
    /// The prize key's network.
    pub expected: Network,
}

impl fmt::Display for WrongNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "destination {} is a {} address, but the prize key is on {}",
            self.address, self.address_network, self.expected
        )
    }
}

impl core::error::Error for WrongNetwork {}

/// Checks that `address` belongs to `network`.
///
/// Testnet and signet addresses are identical, and regtest shares their
/// base58 prefixes (only its bech32 prefix, `bcrt`, differs), so a `tb1…`
/// address passes for signet and an `m…` address for regtest: that is how
/// those networks are, not a gap in the check.
pub fn require_network(
    address: Address<NetworkUnchecked>,
    network: Network,
) -> Result<Address, WrongNetwork> {
    if address.is_valid_for_network(network.to_bitcoin()) {
        return Ok(address.assume_checked());
    }
    Err(WrongNetwork {
        address_network: describe_address_network(&address),
        address: address.assume_checked_ref().to_string(),
        expected: network,
    })
}

/// Which networks' addresses look like `address`, in words.
fn describe_address_network(address: &Address<NetworkUnchecked>) -> &'static str {
    use bitcoin::Network as N;
    let main = address.is_valid_for_network(N::Bitcoin);
    let test = address.is_valid_for_network(N::Testnet);
    let regtest = address.is_valid_for_network(N::Regtest);
    match (main, test, regtest) {
        (true, _, _) => "bitcoin (mainnet)",
        (false, true, true) => "test-network (testnet, signet or regtest)",
        (false, true, false) => "testnet or signet",
        (false, false, true) => "regtest",
        (false, false, false) => "unknown-network",
    }
}
