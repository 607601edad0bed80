//! Helpers shared by the spending tests: test-vector files, and checking
//! signatures with Bitcoin Core's own script interpreter.
//!
//! libbitcoinconsensus (rust-bitcoin's `bitcoinconsensus` feature, built
//! from Bitcoin Core's sources) is the independent verifier: a transaction
//! this crate signs is valid only if Core's interpreter says so.

#![allow(dead_code)] // Each test binary uses its own subset.

use std::str::FromStr;

use bitcoin::hashes::Hash as _;
use bitcoin::hex::FromHex;
use bitcoin::psbt::Psbt;
use bitcoin::{
    Amount, CompressedPublicKey, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid,
    Witness,
};

/// Private key 1, compressed, test-network WIF (a public test vector).
pub const KEY1_WIF_TEST: &str = "cMahea7zqjxrtgAbB7LSGbcQUr1uX1ojuat9jZodMN87JcbXMTcA";
/// The same key as a mainnet WIF (a public test vector).
pub const KEY1_WIF_MAIN: &str = "KwDiBf89QgGbjEhKnhXJuH7LrciVrZi3qYjgd9M7rFU73sVHnoWn";
/// G, the public key of private key 1.
pub const KEY1_PUBLIC: &str = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";

/// A made-up txid: the byte `n` 32 times.
pub fn txid(n: u8) -> Txid {
    Txid::from_str(&format!("{n:02x}").repeat(32)).unwrap()
}

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

// ------------------------------------------ a watch-only wallet's PSBT

/// A previous transaction paying `outputs`, to serve as a non-witness UTXO.
pub fn previous_tx(outputs: Vec<TxOut>) -> Transaction {
    Transaction {
        version: bitcoin::transaction::Version::TWO,
        lock_time: bitcoin::absolute::LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::new(txid(0xee), 7),
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: outputs,
    }
}

pub fn spend_of(prevouts: &[OutPoint], to: &ScriptBuf, value: Amount) -> Transaction {
    Transaction {
        version: bitcoin::transaction::Version::TWO,
        lock_time: bitcoin::absolute::LockTime::ZERO,
        input: prevouts
            .iter()
            .map(|o| TxIn {
                previous_output: *o,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                witness: Witness::new(),
            })
            .collect(),
        output: vec![TxOut {
            value,
            script_pubkey: to.clone(),
        }],
    }
}

pub fn key1_scripts() -> (ScriptBuf, ScriptBuf, CompressedPublicKey) {
    let public = CompressedPublicKey::from_slice(&hex(KEY1_PUBLIC)).unwrap();
    (
        ScriptBuf::new_p2wpkh(&public.wpubkey_hash()),
        ScriptBuf::new_p2pkh(&public.pubkey_hash()),
        public,
    )
}

/// A watch-only wallet's PSBT: input 0 the prize's P2WPKH (witness UTXO
/// and previous transaction), input 1 its P2PKH (previous transaction),
/// input 2 another key's P2WPKH.
pub fn watch_only_psbt() -> Psbt {
    let (p2wpkh, p2pkh, _) = key1_scripts();
    // BIP 143's example public key, as "someone else".
    let other = CompressedPublicKey::from_slice(&hex(
        "025476c2e83188368da1ff3e292e7acafcdb3566bb0ad253f62fc70f07aeee6357",
    ))
    .unwrap();
    let other_p2wpkh = ScriptBuf::new_p2wpkh(&other.wpubkey_hash());
    let prev = previous_tx(vec![
        TxOut {
            value: sat(70_000),
            script_pubkey: p2wpkh.clone(),
        },
        TxOut {
            value: sat(30_000),
            script_pubkey: p2pkh.clone(),
        },
    ]);
    let prev_txid = prev.compute_txid();
    let tx = spend_of(
        &[
            OutPoint::new(prev_txid, 0),
            OutPoint::new(prev_txid, 1),
            OutPoint::new(txid(0x33), 0),
        ],
        &ScriptBuf::new_p2wpkh(&other.wpubkey_hash()),
        sat(109_000),
    );
    let mut psbt = Psbt::from_unsigned_tx(tx).unwrap();
    psbt.inputs[0].witness_utxo = Some(prev.output[0].clone());
    psbt.inputs[0].non_witness_utxo = Some(prev.clone());
    psbt.inputs[1].non_witness_utxo = Some(prev);
    psbt.inputs[2].witness_utxo = Some(TxOut {
        value: sat(10_000),
        script_pubkey: other_p2wpkh,
    });
    psbt
}

// ------------------------------------------- PSBT version 2, written by hand

/// Writes `psbt` as a version 2 PSBT (BIP 370), independently of the
/// crate's own reader and writer: the transaction's fields go to their
/// version 2 keys, each input's UTXOs and partial signatures follow (in
/// that order), and `modifiable` becomes PSBT_GLOBAL_TX_MODIFIABLE. Covers
/// what the tests' PSBTs hold, nothing more.
pub fn to_v2_by_hand(psbt: &Psbt, modifiable: Option<u8>) -> Vec<u8> {
    fn compact(out: &mut Vec<u8>, n: usize) {
        assert!(n < 0xfd, "test PSBTs stay small");
        out.push(n as u8);
    }
    fn pair(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
        compact(out, key.len());
        out.extend_from_slice(key);
        compact(out, value.len());
        out.extend_from_slice(value);
    }
    use bitcoin::consensus::encode::serialize;
    let tx = &psbt.unsigned_tx;
    let mut out = b"psbt\xff".to_vec();
    pair(&mut out, &[0x02], &tx.version.0.to_le_bytes());
    pair(
        &mut out,
        &[0x03],
        &tx.lock_time.to_consensus_u32().to_le_bytes(),
    );
    pair(&mut out, &[0x04], &[tx.input.len() as u8]);
    pair(&mut out, &[0x05], &[tx.output.len() as u8]);
    if let Some(flags) = modifiable {
        pair(&mut out, &[0x06], &[flags]);
    }
    pair(&mut out, &[0xfb], &2u32.to_le_bytes());
    out.push(0);
    for (txin, input) in tx.input.iter().zip(&psbt.inputs) {
        if let Some(prev) = &input.non_witness_utxo {
            pair(&mut out, &[0x00], &serialize(prev));
        }
        if let Some(utxo) = &input.witness_utxo {
            pair(&mut out, &[0x01], &serialize(utxo));
        }
        pair(
            &mut out,
            &[0x0e],
            &txin.previous_output.txid.to_byte_array(),
        );
        pair(&mut out, &[0x0f], &txin.previous_output.vout.to_le_bytes());
        pair(&mut out, &[0x10], &txin.sequence.0.to_le_bytes());
        for (public, signature) in &input.partial_sigs {
            let mut key = vec![0x02];
            key.extend_from_slice(&public.to_bytes());
            pair(&mut out, &key, &signature.to_vec());
        }
        out.push(0);
    }
    for output in &tx.output {
        pair(&mut out, &[0x03], &output.value.to_sat().to_le_bytes());
        pair(&mut out, &[0x04], output.script_pubkey.as_bytes());
        out.push(0);
    }
    out
}
