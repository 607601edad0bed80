//! `pinata-wallet`: make a prize key for the piñata, show its addresses, and
//! end the bounty by sweeping the prize or signing a watch-only wallet's PSBT.
//!
//! The key is written only to a new file with mode 0600 and is never printed
//! unless `show --reveal` asks for it, so the tool can run in a terminal that
//! is recorded or shared. Spending is offline: nothing here touches a network.
//!
//! Exit status: 0 success, 1 error (I/O, invalid key, a refused spend), 2 bad
//! usage (reported by clap).

mod args;
mod files;
mod spend;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use wallet::{Network, PrizeKey};

use args::{Cli, Command};

/// The name completions are generated for (and the one the scripts
/// register with the shell).
const BIN_NAME: &str = "pinata-wallet";

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::New { network, out } => new(network.into(), &out),
        Command::Show {
            file,
            network,
            reveal,
        } => show(&file, network.map(Network::from), reveal),
        Command::Sweep {
            key,
            network,
            utxos,
            to,
            fee_rate,
            out,
            force,
        } => spend::sweep(
            &key,
            network.into(),
            wallet::spend::SweepRequest {
                utxos,
                to,
                fee_rate,
                force,
            },
            out.as_deref(),
        ),
        Command::SignPsbt {
            key,
            psbt,
            out,
            network,
        } => spend::sign_psbt(&key, &psbt, out.as_deref(), network.map(Network::from)),
        Command::Completions { shell } => completions(shell),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("pinata-wallet: error: {msg}");
            ExitCode::from(1)
        }
    }
}

/// `completions`: print clap_complete's script for `shell`.
fn completions(shell: clap_complete::Shell) -> Result<(), String> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), BIN_NAME, &mut script);
    if shell == clap_complete::Shell::Bash {
        // clap_complete 4.6 spells the state of a hyphenated binary's
        // subcommands two ways in its bash script (`pinata__wallet__…` in
        // the loop, `pinata__subcmd__wallet__…` in the case arms), so no
        // subcommand option ever completes (clap-rs/clap#6421, open). Use
        // the loop's spelling throughout; once fixed upstream this matches
        // nothing.
        let text =
            String::from_utf8_lossy(&script).replace("pinata__subcmd__wallet", "pinata__wallet");
        script = text.into_bytes();
    }
    std::io::stdout()
        .write_all(&script)
        .map_err(|e| format!("cannot write the completion script: {e}"))
}

/// `new`: generate, write 0600 with create_new, print addresses.
fn new(network: Network, out: &Path) -> Result<(), String> {
    let key = PrizeKey::generate(network, &mut |buf: &mut [u8]| getrandom::fill(buf))
        .map_err(|e| format!("cannot generate a key: {e}"))?;
    files::write_new_file(out, &key.wire_secret(), true)?;
    println!("wrote a new {network} private key to {}", out.display());
    print_addresses(&key);
    Ok(())
}

/// `show`: read a key file and print what may be published about it.
fn show(path: &Path, network: Option<Network>, reveal: bool) -> Result<(), String> {
    let key = load_key(path, network)?;
    print_addresses(&key);
    if reveal {
        println!("wif:     {}", key.to_wif().as_str());
    }
    Ok(())
}

/// Reads a WIF key file for `network` (or for what the WIF says).
pub(crate) fn load_key(path: &Path, network: Option<Network>) -> Result<PrizeKey, String> {
    let text = files::read_key_file(path)?;
    let key = match network {
        Some(n) => PrizeKey::from_wif_for(&text, n),
        None => PrizeKey::from_wif(&text),
    }
    .map_err(|e| format!("{}: {e}", path.display()))?;
    if network.is_none() && key.network() == Network::Testnet {
        eprintln!(
            "note: testnet, signet and regtest keys look the same; using testnet \
             (pass --network signet or --network regtest for those)"
        );
    }
    Ok(key)
}

fn print_addresses(key: &PrizeKey) {
    let network = key.network();
    let p2wpkh = key.p2wpkh_address();
    println!("network: {network}");
    println!("p2wpkh:  {p2wpkh}");
    println!("p2pkh:   {}", key.p2pkh_address());
    // Public, and what a watch-only wallet needs to build PSBTs for
    // sign-psbt (descriptors wpkh(PUBKEY) and pkh(PUBKEY)).
    let public: String = key
        .public_key_compressed()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    println!("pubkey:  {public}");
    if let Some(url) = network.explorer_address_url(&p2wpkh) {
        println!("explorer: {url}");
    }
}
