//! `sweep` and `sign-psbt`: load the key, call `wallet::spend`, and print
//! what was signed so that the operator can check it before broadcasting.

use std::path::Path;

use bitcoin::{Address, Amount, Denomination};
use wallet::Network;
use wallet::spend::{self, SweepRequest};

use crate::files;
use crate::load_key;

/// `sweep`: sign one transaction that spends every listed output.
pub fn sweep(
    key_path: &Path,
    network: Network,
    request: SweepRequest,
    out: Option<&Path>,
) -> Result<(), String> {
    let key = load_key(key_path, Some(network))?;
    if request.fee_rate < spend::FeeRate::from_sat_per_vb(1) {
        eprintln!(
            "note: {} is below 1 sat/vB, which many nodes still refuse to relay",
            request.fee_rate
        );
    }
    let sweep = spend::sweep(&key, &request).map_err(|e| e.to_string())?;
    drop(key);

    let vsize = sweep.vsize();
    println!("network: {network}");
    println!(
        "inputs:  {}, {}",
        request.utxos.len(),
        amount(sweep.input_total)
    );
    println!("to:      {}", sweep.to);
    println!("amount:  {}", amount(sweep.sent));
    println!(
        "fee:     {} sat ({} sat/vB asked, {} paid)",
        sweep.fee.to_sat(),
        request.fee_rate.to_string().trim_end_matches(" sat/vB"),
        rate(sweep.fee, vsize)
    );
    println!("vsize:   {vsize} vB");
    println!("txid:    {}", sweep.txid());
    match out {
        Some(path) => {
            files::write_new_file(path, format!("{}\n", sweep.hex()).as_bytes(), false)?;
            println!("wrote the transaction hex to {}", path.display());
        }
        None => println!("tx:      {}", sweep.hex()),
    }
    Ok(())
}

/// `sign-psbt`: add the prize key's signatures to a PSBT.
pub fn sign_psbt(
    key_path: &Path,
    psbt_path: &Path,
    out: Option<&Path>,
    network: Option<Network>,
) -> Result<(), String> {
    let key = load_key(key_path, network)?;
    let network = key.network();
    let (mut psbt, encoding) = files::read_psbt_file(psbt_path)?;
    let signed = psbt.sign(&key).map_err(|e| e.to_string())?;
    drop(key);

    println!("network: {network}");
    println!(
        "version: {} (BIP {})",
        psbt.version(),
        if psbt.version() == 2 { 370 } else { 174 }
    );
    for input in &signed.signed {
        println!(
            "signed:  input {} ({}, {})",
            input.index,
            input.script,
            amount(input.amount)
        );
    }
    let others = signed.inputs - signed.signed.len() - signed.finalized;
    if others > 0 || signed.finalized > 0 {
        println!(
            "left:    {others} input(s) for other keys, {} already finalized",
            signed.finalized
        );
    }
    let v0 = psbt.as_v0();
    for (index, output) in v0.unsigned_tx.output.iter().enumerate() {
        let to = Address::from_script(&output.script_pubkey, network.to_bitcoin())
            .map(|a| a.to_string())
            .unwrap_or_else(|_| format!("script {}", output.script_pubkey.to_hex_string()));
        println!("output {index}: {to} {}", amount(output.value));
    }
    match v0.fee() {
        Ok(fee) => println!("fee:     {}", amount(fee)),
        Err(_) => println!("fee:     unknown (the PSBT lacks some inputs' amounts)"),
    }
    match out {
        Some(path) => {
            files::write_new_file(path, &files::encode_psbt(&psbt, encoding), false)?;
            println!("wrote the signed PSBT to {}", path.display());
        }
        None => println!("psbt:    {}", files::base64(&psbt.serialize())),
    }
    println!(
        "next:    finalize and broadcast it with the wallet that made it \
         (bitcoin-cli finalizepsbt, then sendrawtransaction)"
    );
    Ok(())
}

/// `150000 sat (0.0015 BTC)`.
fn amount(a: Amount) -> String {
    format!(
        "{} sat ({} BTC)",
        a.to_sat(),
        a.display_in(Denomination::Bitcoin)
    )
}

/// `fee / vsize` as `1.23 sat/vB`.
fn rate(fee: Amount, vsize: u64) -> String {
    if vsize == 0 {
        return "? sat/vB".into();
    }
    let centi = u128::from(fee.to_sat()) * 100 / u128::from(vsize);
    format!("{}.{:02} sat/vB", centi / 100, centi % 100)
}
