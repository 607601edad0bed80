//! The command line, declared with clap's derive API.
//!
//! clap prints `--help` and `--version`, reports bad usage (unknown flags,
//! missing or malformed values) with exit status 2, and generates the shell
//! completions of `pinata-wallet completions SHELL`. Values are parsed here,
//! with the library's own parsers, so a malformed txid or fee rate is a
//! usage error named against its flag.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use clap_complete::Shell;
use wallet::Network;
use wallet::spend::{FeeRate, Utxo};

const AFTER_HELP: &str = "\
Examples:
    pinata-wallet new --network regtest --out prize.wif
    pinata-wallet show prize.wif --network regtest [--reveal]
    pinata-wallet sweep prize.wif --network regtest \\
        --utxo TXID:0:150000 --utxo TXID:1:5000:p2pkh \\
        --to bcrt1q... --fee-rate 2 --out sweep.hex
    pinata-wallet sign-psbt prize.wif unsigned.psbt --out signed.psbt
    pinata-wallet completions bash > /etc/bash_completion.d/pinata-wallet

The key is written only to a new file with mode 0600 and is printed only by
`show --reveal`, so the tool can run in a terminal that is recorded or shared.

Exit status: 0 success, 1 error (I/O, invalid key, a refused spend), 2 bad usage.";

/// The bitcoin piñata's prize key: make it, show its addresses, and end the
/// bounty by sweeping it or signing a PSBT.
#[derive(Debug, Parser)]
#[command(name = "pinata-wallet", version, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a prize key and write it to a new file.
    ///
    /// The key comes from the operating system's RNG and is written as WIF
    /// and a newline to a new file with mode 0600 (an existing file is never
    /// overwritten). Prints the network and addresses, never the key.
    New {
        /// The network the key is for.
        #[arg(long, env = "PINATA_NETWORK", value_enum, ignore_case = true)]
        network: NetworkArg,
        /// Where to write the key.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Print a key file's network and addresses.
    ///
    /// Reads a WIF key file and prints its network and addresses (P2WPKH,
    /// P2PKH). The key itself is printed only with --reveal.
    Show {
        /// The WIF key file.
        file: PathBuf,
        /// A WIF only says mainnet or test network: pass signet or regtest to
        /// see those addresses (default: what the WIF says, testnet for test
        /// keys). A key of the other kind is an error.
        #[arg(long, env = "PINATA_NETWORK", value_enum, ignore_case = true)]
        network: Option<NetworkArg>,
        /// Also print the WIF private key.
        #[arg(long)]
        reveal: bool,
    },
    /// Spend every listed output of the prize key to one address.
    ///
    /// Offline: prints the signed transaction's hex, txid, vsize and fee.
    /// Broadcasting is up to you.
    #[command(after_help = SWEEP_AFTER_HELP)]
    Sweep {
        /// The prize's WIF key file.
        #[arg(value_name = "PRIZE.wif")]
        key: PathBuf,
        /// The network of the key, the outputs and the destination.
        #[arg(long, env = "PINATA_NETWORK", value_enum, ignore_case = true)]
        network: NetworkArg,
        /// An unspent output of the prize key; repeat for each. KIND is
        /// p2wpkh (default) or p2pkh: which of the prize's addresses it pays.
        #[arg(
            long = "utxo",
            value_name = "TXID:VOUT:AMOUNT_SAT[:KIND]",
            required = true
        )]
        utxos: Vec<Utxo>,
        /// Where everything goes, less the fee.
        #[arg(long, value_name = "ADDRESS", value_parser = parse_address)]
        to: bitcoin::Address<bitcoin::address::NetworkUnchecked>,
        /// Fee rate in sat/vB (up to three decimals, such as 1.5).
        #[arg(long, value_name = "SAT_PER_VB")]
        fee_rate: FeeRate,
        /// Write the transaction hex to this new file instead of printing it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Accept a fee rate above 1,000 sat/vB or a fee above 2 % of the
        /// amount.
        #[arg(long)]
        force: bool,
    },
    /// Sign a watch-only wallet's PSBT with the prize key.
    ///
    /// Adds the prize key's signatures to a PSBT (version 0, BIP 174, or
    /// version 2, BIP 370) made by a watch-only wallet; the wallet then
    /// finalizes and broadcasts it.
    #[command(name = "sign-psbt", after_help = SIGN_PSBT_AFTER_HELP)]
    SignPsbt {
        /// The prize's WIF key file.
        #[arg(value_name = "PRIZE.wif")]
        key: PathBuf,
        /// The PSBT (version 0 or 2): binary, base64 or hex.
        #[arg(value_name = "IN.psbt")]
        psbt: PathBuf,
        /// Write the signed PSBT to this new file, in the input's encoding
        /// and version (default: print it as base64).
        #[arg(long, value_name = "OUT.psbt")]
        out: Option<PathBuf>,
        /// The key's network, for the addresses shown (default: what the
        /// WIF says, testnet for test keys). A key of the other kind is an
        /// error.
        #[arg(long, env = "PINATA_NETWORK", value_enum, ignore_case = true)]
        network: Option<NetworkArg>,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum, ignore_case = true)]
        shell: Shell,
    },
}

const SWEEP_AFTER_HELP: &str = "\
Refuses (exit status 1) a destination on another network, an amount below dust
after the fee, a duplicate output, and, unless --force, a fee rate above
1,000 sat/vB or a fee above 2 % of the amount. Every input signals
replace-by-fee: to bump a stuck sweep, run it again with a higher --fee-rate.";

const SIGN_PSBT_AFTER_HELP: &str = "\
Signs every input whose script needs the prize key (P2WPKH, P2PKH, and P2SH or
P2WSH scripts that use the key), after BIP 174's signer checks, with
SIGHASH_ALL only. Refuses (exit status 1) a PSBT with nothing to sign and any
input that fails a check; then nothing is signed. The PSBT is not finalized:
finalize and broadcast it with the wallet that made it (for Bitcoin Core:
bitcoin-cli finalizepsbt, then sendrawtransaction).";

/// `--network` values, with the alias `mainnet` for `bitcoin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NetworkArg {
    /// Bitcoin mainnet: real coins.
    #[value(alias = "mainnet")]
    Bitcoin,
    /// The public test network.
    Testnet,
    /// The signet test network.
    Signet,
    /// A local regression-test chain.
    Regtest,
}

impl From<NetworkArg> for Network {
    fn from(n: NetworkArg) -> Network {
        match n {
            NetworkArg::Bitcoin => Network::Bitcoin,
            NetworkArg::Testnet => Network::Testnet,
            NetworkArg::Signet => Network::Signet,
            NetworkArg::Regtest => Network::Regtest,
        }
    }
}

fn parse_address(s: &str) -> Result<bitcoin::Address<bitcoin::address::NetworkUnchecked>, String> {
    s.parse()
        .map_err(|e| format!("not a bitcoin address ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        // clap's own checks (duplicate flags, bad defaults, …), which
        // otherwise run only in debug builds when the command is parsed.
        Cli::command().debug_assert();
    }

    #[test]
    fn every_network_converts() {
        for (arg, network) in [
            (NetworkArg::Bitcoin, Network::Bitcoin),
            (NetworkArg::Testnet, Network::Testnet),
            (NetworkArg::Signet, Network::Signet),
            (NetworkArg::Regtest, Network::Regtest),
        ] {
            assert_eq!(Network::from(arg), network);
            // The clap value name is the library's name for the network.
            let name = arg.to_possible_value().unwrap().get_name().to_owned();
            assert_eq!(name, network.name());
        }
    }
}
