//! Helpers shared by the spending tests: test-vector files, and checking
//! signatures with Bitcoin Core's own script interpreter.
//!
//! libbitcoinconsensus (rust-bitcoin's `bitcoinconsensus` feature, built
//! from Bitcoin Core's sources) is the independent verifier: a transaction
//! this crate signs is valid only if Core's interpreter says so.

#![allow(dead_code)] // Each test binary uses its own subset.

use bitcoin::hex::FromHex;
use bitcoin::psbt::Psbt;
use bitcoin::{Amount, ScriptBuf, Transaction, TxOut, Witness};

/// Reads `tests/vectors/FILE`: `NAME VALUE...` lines, `#` comments.
pub fn vectors(file: &str) -> Vec<(String, Vec<String>)> {
    let path = format!("{}/tests/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut words = l.split_whitespace().map(str::to_owned);
            let name = words.next().unwrap();
            (name, words.collect())
        })
        .collect()
}

/// The single value of vector `name`.
pub fn one(vectors: &[(String, Vec<String>)], name: &str) -> String {
    let found: Vec<_> = vectors.iter().filter(|(n, _)| n == name).collect();
    assert_eq!(found.len(), 1, "vector {name}");
    assert_eq!(found[0].1.len(), 1, "vector {name}");
    found[0].1[0].clone()
}

/// Every value of the (repeated) vector `name`.
pub fn all(vectors: &[(String, Vec<String>)], name: &str) -> Vec<Vec<String>> {
    vectors
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
        .collect()
}

pub fn hex(s: &str) -> Vec<u8> {
    Vec::<u8>::from_hex(s).unwrap_or_else(|e| panic!("hex {s}: {e}"))
}

pub fn hex32(s: &str) -> [u8; 32] {
    hex(s).try_into().unwrap()
}

pub fn script(s: &str) -> ScriptBuf {
    ScriptBuf::from_bytes(hex(s))
}

/// Checks input `index` of `tx` against the output it spends with Bitcoin
/// Core's interpreter (all consensus flags: P2SH, DERSIG, NULLDUMMY, CLTV,
/// CSV, WITNESS).
pub fn consensus_verify(tx: &Transaction, index: usize, spent: &TxOut) {
    let bytes = bitcoin::consensus::encode::serialize(tx);
    spent
        .script_pubkey
        .verify(index, spent.value, &bytes)
        .unwrap_or_else(|e| panic!("input {index} fails libbitcoinconsensus: {e:?}"));
}

/// The same check, expected to fail (to show that the verifier is live).
pub fn consensus_rejects(tx: &Transaction, index: usize, spent: &TxOut) {
    let bytes = bitcoin::consensus::encode::serialize(tx);
    assert!(
        spent
            .script_pubkey
            .verify(index, spent.value, &bytes)
            .is_err(),
        "input {index} unexpectedly verifies"
    );
}

/// A minimal BIP 174 finalizer for single-key inputs (P2WPKH, P2SH-P2WPKH,
/// P2PKH): turns the one partial signature into a witness or scriptSig and
/// returns the transaction with those inputs filled in. Inputs without a
/// partial signature are left empty.
pub fn finalize_single_key(psbt: &Psbt) -> Transaction {
    let mut tx = psbt.unsigned_tx.clone();
    for (index, input) in psbt.inputs.iter().enumerate() {
        let Some((public, signature)) = input.partial_sigs.iter().next() else {
            continue;
        };
        assert_eq!(input.partial_sigs.len(), 1, "input {index}: one key only");
        let spent = spent_output(psbt, index);
        let txin = &mut tx.input[index];
        if spent.script_pubkey.is_p2wpkh() {
            txin.witness = Witness::p2wpkh(signature, &public.inner);
        } else if let Some(redeem) = &input.redeem_script {
            assert!(redeem.is_p2wpkh(), "input {index}: only P2SH-P2WPKH");
            txin.witness = Witness::p2wpkh(signature, &public.inner);
            txin.script_sig = ScriptBuf::builder()
                .push_slice(<&bitcoin::script::PushBytes>::try_from(redeem.as_bytes()).unwrap())
                .into_script();
        } else {
            assert!(spent.script_pubkey.is_p2pkh(), "input {index}");
            txin.script_sig = ScriptBuf::builder()
                .push_slice(signature.serialize())
                .push_key(public)
                .into_script();
        }
    }
    tx
}

/// The output input `index` of `psbt` spends, from its witness or
/// non-witness UTXO.
pub fn spent_output(psbt: &Psbt, index: usize) -> TxOut {
    let input = &psbt.inputs[index];
    if let Some(w) = &input.witness_utxo {
        return w.clone();
    }
    let vout = psbt.unsigned_tx.input[index].previous_output.vout as usize;
    input.non_witness_utxo.as_ref().expect("a UTXO").output[vout].clone()
}

pub fn sat(n: u64) -> Amount {
    Amount::from_sat(n)
}
