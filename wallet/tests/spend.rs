//! `wallet::spend` against independent references: the BIP 143 and BIP 174
//! test vectors, the key-1 vectors, and Bitcoin Core's script interpreter
//! (libbitcoinconsensus) for every signature this crate makes.
//!
//! Keys here are public test vectors only: private key 1, the BIP 143
//! example keys, and the BIP 174 testnet test keys. None holds funds.

mod support;

use bitcoin::address::NetworkUnchecked;
use bitcoin::consensus::encode::{deserialize, serialize};
use bitcoin::psbt::{Psbt, PsbtSighashType};
use bitcoin::secp256k1::{Message, Secp256k1};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::{
    Address, CompressedPublicKey, OutPoint, ScriptBuf, Transaction, TxOut, Txid, Witness,
};
use support::{
    KEY1_PUBLIC, KEY1_WIF_MAIN, KEY1_WIF_TEST, all, consensus_rejects, consensus_verify, hex,
    hex32, key1_scripts, one, sat, script, txid, vectors, watch_only_psbt,
};
use wallet::spend::{
    FeeRate, InputProblem, OutputKind, PsbtReadError, PsbtSignError, SpentScript, SweepError,
    SweepRequest, Utxo, VersionedPsbt, sign_psbt, sweep,
};
use wallet::{Network, PrizeKey};

fn key1(network: Network) -> PrizeKey {
    let mut secret = [0u8; 32];
    secret[31] = 1;
    PrizeKey::from_secret_bytes(network, secret).unwrap()
}

fn bip143() -> Vec<(String, Vec<String>)> {
    vectors("bip143.txt")
}

fn bip174() -> Vec<(String, Vec<String>)> {
    vectors("bip174.txt")
}

// ---------------------------------------------------------------- key 1

#[test]
fn key_one_vectors_agree_with_rust_bitcoin() {
    // Our k256-based WIF and address code against rust-bitcoin's decoder
    // and address encoder, on the published key-1 vectors.
    let secp = Secp256k1::new();
    for (wif, network) in [
        (KEY1_WIF_MAIN, Network::Bitcoin),
        (KEY1_WIF_TEST, Network::Testnet),
        (KEY1_WIF_TEST, Network::Signet),
        (KEY1_WIF_TEST, Network::Regtest),
    ] {
        let ours = PrizeKey::from_wif_for(wif, network).unwrap();
        let theirs = bitcoin::PrivateKey::from_wif(wif).unwrap();
        let public = CompressedPublicKey::from_private_key(&secp, &theirs).unwrap();
        assert_eq!(public.to_bytes(), ours.public_key_compressed());
        assert_eq!(public.to_string(), KEY1_PUBLIC);
        assert_eq!(ours.to_wif().as_str(), wif);
        let n = network.to_bitcoin();
        assert_eq!(
            Address::p2wpkh(&public, n).to_string(),
            ours.p2wpkh_address()
        );
        assert_eq!(Address::p2pkh(public, n).to_string(), ours.p2pkh_address());
    }
    assert_eq!(
        key1(Network::Bitcoin).p2wpkh_address(),
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
    );
    assert_eq!(
        key1(Network::Bitcoin).p2pkh_address(),
        "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH"
    );
}

// ---------------------------------------------------------------- BIP 143

/// Signs the BIP 143 example's input with our signer through a PSBT and
/// returns the PSBT.
fn sign_bip143_example(
    unsigned: &str,
    index: usize,
    witness_utxo: TxOut,
    redeem: Option<ScriptBuf>,
    witness_script: Option<ScriptBuf>,
    key: &str,
) -> Result<Psbt, PsbtSignError> {
    let tx: Transaction = deserialize(&hex(unsigned)).unwrap();
    let mut psbt = Psbt::from_unsigned_tx(tx).unwrap();
    psbt.inputs[index].witness_utxo = Some(witness_utxo);
    psbt.inputs[index].redeem_script = redeem;
    psbt.inputs[index].witness_script = witness_script;
    let key = PrizeKey::from_secret_bytes(Network::Bitcoin, hex32(key)).unwrap();
    sign_psbt(&key, &mut psbt).map(|_| psbt)
}

/// The one partial signature of input `index`, checked against `sighash`.
fn only_signature(psbt: &Psbt, index: usize, sighash: &str) -> bitcoin::ecdsa::Signature {
    let sigs = &psbt.inputs[index].partial_sigs;
    assert_eq!(sigs.len(), 1);
    let (public, signature) = sigs.iter().next().unwrap();
    // The signature is over exactly the BIP's sighash, for the right key.
    Secp256k1::verification_only()
        .verify_ecdsa(
            &Message::from_digest(hex32(sighash)),
            &signature.signature,
            &public.inner,
        )
        .expect("signature over the BIP 143 sighash");
    assert_eq!(signature.sighash_type, EcdsaSighashType::All);
    *signature
}

#[test]
fn bip143_native_p2wpkh() {
    let v = bip143();
    let spent = TxOut {
        value: sat(one(&v, "p2wpkh_sat").parse().unwrap()),
        script_pubkey: script(&one(&v, "p2wpkh_spk")),
    };
    let psbt = sign_bip143_example(
        &one(&v, "p2wpkh_unsigned"),
        1,
        spent.clone(),
        None,
        None,
        &one(&v, "p2wpkh_key"),
    )
    .unwrap();
    // Input 0 (another key's P2PK, no UTXO in the PSBT) is left alone.
    assert!(psbt.inputs[0].partial_sigs.is_empty());
    let signature = only_signature(&psbt, 1, &one(&v, "p2wpkh_sighash"));
    // RFC 6979 makes the signature deterministic: it is the BIP's, byte for byte.
    assert_eq!(signature.to_vec(), hex(&one(&v, "p2wpkh_signature")));

    // Our witness in the BIP's signed transaction (whose input 0 the BIP
    // signed with the other key) is the BIP's transaction, and Core's
    // interpreter accepts both inputs.
    let expected: Transaction = deserialize(&hex(&one(&v, "p2wpkh_signed"))).unwrap();
    let mut tx = psbt.unsigned_tx.clone();
    tx.input[0].script_sig = expected.input[0].script_sig.clone();
    let public = psbt.inputs[1].partial_sigs.keys().next().unwrap().inner;
    tx.input[1].witness = Witness::p2wpkh(&signature, &public);
    assert_eq!(serialize(&tx), serialize(&expected));
    let input0 = TxOut {
        value: sat(one(&v, "p2wpkh_input0_sat").parse().unwrap()),
        script_pubkey: script(&one(&v, "p2wpkh_input0_spk")),
    };
    consensus_verify(&tx, 0, &input0);
    consensus_verify(&tx, 1, &spent);
    // And the verifier is live: the wrong amount breaks the BIP 143 signature.
    consensus_rejects(
        &tx,
        1,
        &TxOut {
            value: spent.value - sat(1),
            ..spent
        },
    );
}

#[test]
fn bip143_p2sh_p2wpkh() {
    let v = bip143();
    let spent = TxOut {
        value: sat(one(&v, "p2sh_p2wpkh_sat").parse().unwrap()),
        script_pubkey: script(&one(&v, "p2sh_p2wpkh_spk")),
    };
    let redeem = script(&one(&v, "p2sh_p2wpkh_redeem"));
    let psbt = sign_bip143_example(
        &one(&v, "p2sh_p2wpkh_unsigned"),
        0,
        spent.clone(),
        Some(redeem),
        None,
        &one(&v, "p2sh_p2wpkh_key"),
    )
    .unwrap();
    let signature = only_signature(&psbt, 0, &one(&v, "p2sh_p2wpkh_sighash"));
    assert_eq!(signature.to_vec(), hex(&one(&v, "p2sh_p2wpkh_signature")));
    let tx = support::finalize_single_key(&psbt);
    assert_eq!(serialize(&tx), hex(&one(&v, "p2sh_p2wpkh_signed")));
    consensus_verify(&tx, 0, &spent);
}

#[test]
fn bip143_p2sh_p2wsh_sighash_types() {
    let v = bip143();
    let unsigned: Transaction = deserialize(&hex(&one(&v, "p2sh_p2wsh_unsigned"))).unwrap();
    let spent = TxOut {
        value: sat(one(&v, "p2sh_p2wsh_sat").parse().unwrap()),
        script_pubkey: script(&one(&v, "p2sh_p2wsh_spk")),
    };
    let redeem = script(&one(&v, "p2sh_p2wsh_redeem"));
    let witness_script = script(&one(&v, "p2sh_p2wsh_witness_script"));
    let rows = all(&v, "p2sh_p2wsh_sig");
    assert_eq!(rows.len(), 6);
    for row in &rows {
        let [hash_type, sighash, key, signature] = &row[..] else {
            panic!("{row:?}")
        };
        let hash_type = u32::from_le_bytes(hex(hash_type).try_into().unwrap());
        let ty = EcdsaSighashType::from_standard(hash_type).unwrap();
        // The BIP 143 digest rust-bitcoin computes, which the signer uses.
        let digest = SighashCache::new(&unsigned)
            .p2wsh_signature_hash(0, &witness_script, spent.value, ty)
            .unwrap();
        assert_eq!(digest.to_string(), *sighash, "{ty}");

        let mut psbt = Psbt::from_unsigned_tx(unsigned.clone()).unwrap();
        psbt.inputs[0].witness_utxo = Some(spent.clone());
        psbt.inputs[0].redeem_script = Some(redeem.clone());
        psbt.inputs[0].witness_script = Some(witness_script.clone());
        psbt.inputs[0].sighash_type = Some(PsbtSighashType::from(ty));
        let prize = PrizeKey::from_secret_bytes(Network::Bitcoin, hex32(key)).unwrap();
        let before = psbt.clone();
        match sign_psbt(&prize, &mut psbt) {
            Ok(signed) => {
                // Only SIGHASH_ALL is signed, and then exactly as the BIP does.
                assert_eq!(ty, EcdsaSighashType::All);
                assert_eq!(signed.signed.len(), 1);
                assert_eq!(signed.signed[0].script, SpentScript::P2shP2wsh);
                let s = only_signature(&psbt, 0, sighash);
                assert_eq!(s.to_vec(), hex(signature));
            }
            Err(e) => {
                assert_ne!(ty, EcdsaSighashType::All);
                assert_eq!(
                    e,
                    PsbtSignError::Input {
                        index: 0,
                        problem: InputProblem::SighashNotAll(ty)
                    }
                );
                assert_eq!(psbt, before, "a refused PSBT is unchanged");
            }
        }
    }
    // The BIP's fully signed transaction, which carries our SIGHASH_ALL
    // signature, passes Core's interpreter.
    let signed: Transaction = deserialize(&hex(&one(&v, "p2sh_p2wsh_signed"))).unwrap();
    consensus_verify(&signed, 0, &spent);
}

// ---------------------------------------------------------------- BIP 174

#[test]
fn bip174_signers_produce_the_vectors() {
    let v = bip174();
    let updated = hex(&one(&v, "updated"));
    for signer in ["signer_a", "signer_b"] {
        let mut psbt = Psbt::deserialize(&updated).unwrap();
        let keys = all(&v, &format!("{signer}_key"));
        assert_eq!(keys.len(), 2);
        for key in &keys {
            let key = PrizeKey::from_wif_for(&key[0], Network::Testnet).unwrap();
            let signed = sign_psbt(&key, &mut psbt).unwrap();
            // Each key is in one of the two inputs.
            assert_eq!(signed.signed.len(), 1, "{signer}");
            assert_eq!(signed.inputs, 2);
        }
        assert_eq!(
            psbt.serialize(),
            hex(&one(&v, &format!("{signer}_out"))),
            "{signer}"
        );
    }
}

#[test]
fn bip174_extracted_transaction_passes_core_interpreter() {
    // The BIP's final transaction holds the four signatures the two
    // signers above produce (checked there byte for byte); Core's
    // interpreter accepts both inputs, a P2SH and a P2SH-P2WSH multisig.
    let v = bip174();
    let updated = Psbt::deserialize(&hex(&one(&v, "updated"))).unwrap();
    let tx: Transaction = deserialize(&hex(&one(&v, "extracted"))).unwrap();
    let tx_bytes = serialize(&tx);
    for signer in ["signer_a", "signer_b"] {
        let out = Psbt::deserialize(&hex(&one(&v, &format!("{signer}_out")))).unwrap();
        for input in &out.inputs {
            for signature in input.partial_sigs.values() {
                let sig = signature.to_vec();
                assert!(tx_bytes.windows(sig.len()).any(|w| w == sig));
            }
        }
    }
    for index in 0..2 {
        consensus_verify(&tx, index, &support::spent_output(&updated, index));
    }
}

#[test]
fn bip174_signer_checks_refuse_the_vectors_that_fail_them() {
    let v = bip174();
    for (name, key, index, problem) in [
        (
            "fails_redeem_non_witness",
            "cP53pDbR5WtAD8dYAW9hhTjuvvTVaEiQBdrz9XPrgLBeRFiyCbQr",
            0,
            InputProblem::RedeemScriptMismatch,
        ),
        (
            "fails_redeem_witness",
            "cR6SXDoyfQrcp4piaiHE97Rsgta9mNhGTen9XeonVgwsh4iSgw6d",
            1,
            InputProblem::RedeemScriptMismatch,
        ),
        (
            "fails_witness_script",
            "cR6SXDoyfQrcp4piaiHE97Rsgta9mNhGTen9XeonVgwsh4iSgw6d",
            1,
            InputProblem::WitnessScriptMismatch,
        ),
    ] {
        let mut psbt = Psbt::deserialize(&hex(&one(&v, name))).unwrap();
        let before = psbt.clone();
        let key = PrizeKey::from_wif_for(key, Network::Testnet).unwrap();
        assert_eq!(
            sign_psbt(&key, &mut psbt),
            Err(PsbtSignError::Input { index, problem }),
            "{name}"
        );
        assert_eq!(psbt, before, "{name}: unchanged");
    }
}

// ------------------------------------------------------- PSBT, our own cases

#[test]
fn psbt_signatures_pass_core_interpreter() {
    let mut psbt = watch_only_psbt();
    let signed = sign_psbt(&key1(Network::Regtest), &mut psbt).unwrap();
    let kinds: Vec<_> = signed.signed.iter().map(|s| (s.index, s.script)).collect();
    assert_eq!(kinds, [(0, SpentScript::P2wpkh), (1, SpentScript::P2pkh)]);
    assert_eq!(signed.signed[0].amount, sat(70_000));
    assert!(psbt.inputs[2].partial_sigs.is_empty(), "not the prize's");

    let tx = support::finalize_single_key(&psbt);
    for index in 0..2 {
        let sig = psbt.inputs[index].partial_sigs.values().next().unwrap();
        // Low-S (standardness, BIP 146), so at most 72 bytes with the
        // sighash byte.
        let mut normalized = sig.signature;
        normalized.normalize_s();
        assert_eq!(normalized, sig.signature, "high S");
        assert!(sig.to_vec().len() <= 72, "{}", sig.to_vec().len());
        consensus_verify(&tx, index, &support::spent_output(&psbt, index));
    }
    // Input 2 has no signature: Core's interpreter must say no.
    consensus_rejects(&tx, 2, &support::spent_output(&psbt, 2));
}

#[test]
fn psbt_with_nothing_to_sign_is_refused() {
    let mut psbt = watch_only_psbt();
    // A BIP 174 test key that has nothing in this PSBT.
    let stranger = PrizeKey::from_wif_for(
        "cT7J9YpCwY3AVRFSjN6ukeEeWY6mhpbJPxRaDaP5QTdygQRxP9Au",
        Network::Regtest,
    )
    .unwrap();
    let e = sign_psbt(&stranger, &mut psbt).unwrap_err();
    assert_eq!(
        e,
        PsbtSignError::NothingToSign {
            inputs: 3,
            finalized: 0
        }
    );
    assert!(e.to_string().contains("nothing to sign"), "{e}");

    // Already finalized inputs do not count as something to sign.
    let mut psbt = watch_only_psbt();
    for input in &mut psbt.inputs {
        input.final_script_witness = Some(Witness::from_slice(&[[1u8]]));
    }
    assert_eq!(
        sign_psbt(&key1(Network::Regtest), &mut psbt),
        Err(PsbtSignError::NothingToSign {
            inputs: 3,
            finalized: 3
        })
    );
}

#[test]
fn psbt_signer_checks_on_the_prize_inputs() {
    let key = key1(Network::Regtest);
    type Mutation = fn(&mut Psbt);
    let cases: [(&str, Mutation, usize, InputProblem); 7] = [
        (
            "witness UTXO only, for a P2PKH input",
            |p| {
                let prev = p.inputs[1].non_witness_utxo.take().unwrap();
                p.inputs[1].witness_utxo = Some(prev.output[1].clone());
            },
            1,
            InputProblem::WitnessUtxoForLegacyInput,
        ),
        (
            "previous transaction with another txid",
            |p| {
                let mut prev = p.inputs[1].non_witness_utxo.take().unwrap();
                prev.lock_time = bitcoin::absolute::LockTime::from_consensus(1);
                p.inputs[1].non_witness_utxo = Some(prev);
            },
            1,
            InputProblem::NonWitnessUtxoMismatch {
                spends: p_txid(),
                given: {
                    let mut prev = watch_only_psbt().inputs[1].non_witness_utxo.take().unwrap();
                    prev.lock_time = bitcoin::absolute::LockTime::from_consensus(1);
                    prev.compute_txid()
                },
            },
        ),
        (
            "witness and non-witness UTXO disagree",
            |p| p.inputs[0].witness_utxo.as_mut().unwrap().value = sat(69_999),
            0,
            InputProblem::UtxoConflict,
        ),
        (
            "SIGHASH_NONE",
            |p| p.inputs[0].sighash_type = Some(EcdsaSighashType::None.into()),
            0,
            InputProblem::SighashNotAll(EcdsaSighashType::None),
        ),
        (
            "non-standard sighash",
            |p| p.inputs[1].sighash_type = Some(PsbtSighashType::from_u32(0x45)),
            1,
            InputProblem::NonStandardSighash(0x45),
        ),
        (
            "derivation lists the key on another key's input",
            |p| {
                let (_, _, public) = key1_scripts();
                p.inputs[2].bip32_derivation.insert(
                    public.0,
                    (
                        bitcoin::bip32::Fingerprint::default(),
                        bitcoin::bip32::DerivationPath::master(),
                    ),
                );
            },
            2,
            InputProblem::KeyNotInScript,
        ),
        (
            "the spent output index is past the previous transaction's outputs",
            |p| {
                p.unsigned_tx.input[1].previous_output.vout = 9;
                let (_, _, public) = key1_scripts();
                p.inputs[1].bip32_derivation.insert(
                    public.0,
                    (
                        bitcoin::bip32::Fingerprint::default(),
                        bitcoin::bip32::DerivationPath::master(),
                    ),
                );
            },
            1,
            InputProblem::VoutOutOfRange {
                vout: 9,
                outputs: 2,
            },
        ),
    ];
    for (what, mutate, index, problem) in cases {
        let mut psbt = watch_only_psbt();
        mutate(&mut psbt);
        let before = psbt.clone();
        let e = sign_psbt(&key, &mut psbt).unwrap_err();
        assert_eq!(e, PsbtSignError::Input { index, problem }, "{what}");
        assert!(
            e.to_string().starts_with("refusing to sign: input"),
            "{what}: {e}"
        );
        assert_eq!(psbt, before, "{what}: no signature added anywhere");
    }
}

fn p_txid() -> Txid {
    watch_only_psbt().unsigned_tx.input[1].previous_output.txid
}

// ----------------------------------------------------- PSBT version 2

#[test]
fn bip370_vectors_are_read_or_refused_as_the_bip_says() {
    let v = vectors("bip370.txt");
    // Why each invalid vector is invalid, in the BIP's order (its "Case:"
    // lines, kept as comments in the vector file).
    let mut reasons = [
        "version 2 PSBT: it has an unsigned transaction",
        "global map has field type 0x02",
        "global map has field type 0x03",
        "global map has field type 0x04",
        "global map has field type 0x05",
        "global map has field type 0x06",
        "input 0 map has field type 0x0e",
        "input 0 map has field type 0x0f",
        "input 0 map has field type 0x10",
        "input 0 map has field type 0x11",
        "input 0 map has field type 0x12",
        "output 0 map has field type 0x03",
        "output 0 map has field type 0x04",
        "version 2 PSBT: it has an unsigned transaction",
        "lacks PSBT_GLOBAL_INPUT_COUNT",
        "lacks PSBT_GLOBAL_OUTPUT_COUNT",
        "lacks PSBT_GLOBAL_TX_VERSION",
        "lacks PSBT_IN_PREVIOUS_TXID",
        "lacks PSBT_IN_OUTPUT_INDEX",
        "lacks PSBT_OUT_AMOUNT",
        "lacks PSBT_OUT_SCRIPT",
        "PSBT_IN_REQUIRED_TIME_LOCKTIME in the input 0 map is malformed",
        "PSBT_IN_REQUIRED_HEIGHT_LOCKTIME in the input 0 map is malformed",
        "PSBT_IN_REQUIRED_HEIGHT_LOCKTIME in the input 0 map is malformed",
    ]
    .into_iter();
    let mut seen = std::collections::BTreeMap::new();
    for (name, values) in &v {
        *seen.entry(name.as_str()).or_insert(0) += 1;
        let bytes = hex(values.last().unwrap());
        let read = VersionedPsbt::deserialize(&bytes);
        match name.as_str() {
            "invalid" => {
                let e = read.unwrap_err().to_string();
                let reason = reasons.next().unwrap();
                assert!(e.contains(reason), "{e} / {reason}");
            }
            "valid" => {
                let psbt = read.unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(psbt.version(), 2);
                // Nothing signed, nothing changed: written back byte for byte.
                assert_eq!(psbt.serialize(), bytes);
            }
            "locktime" => {
                let psbt = read.unwrap_or_else(|e| panic!("{e}"));
                let expected: u32 = values[0].parse().unwrap();
                assert_eq!(
                    psbt.as_v0().unsigned_tx.lock_time.to_consensus_u32(),
                    expected
                );
            }
            "locktime_conflict" => {
                assert_eq!(read.unwrap_err(), PsbtReadError::LockTimeConflict);
            }
            other => panic!("unknown vector {other}"),
        }
    }
    assert_eq!(seen["invalid"], 24);
    assert_eq!(seen["valid"], 14);
    assert_eq!(seen["locktime"], 9);
    assert_eq!(seen["locktime_conflict"], 1);
}

#[test]
fn version_2_psbt_gets_the_same_signatures_as_version_0() {
    // Sign the watch-only PSBT as version 0 (checked under Core's
    // interpreter) and as version 2: the same deterministic signatures,
    // added to the version 2 maps and nothing else changed but the
    // modifiable flags (BIP 370's signer rule for SIGHASH_ALL).
    let key = key1(Network::Regtest);
    let mut v0 = watch_only_psbt();
    sign_psbt(&key, &mut v0).unwrap();
    let tx = support::finalize_single_key(&v0);
    for index in 0..2 {
        consensus_verify(&tx, index, &support::spent_output(&v0, index));
    }

    for (flags_in, flags_out) in [
        (None, None),
        (Some(0b011), Some(0b000)),
        (Some(0b111), Some(0b100)),
    ] {
        let unsigned = support::to_v2_by_hand(&watch_only_psbt(), flags_in);
        let mut v2 = VersionedPsbt::deserialize(&unsigned).unwrap();
        assert_eq!(v2.version(), 2);
        assert_eq!(v2.as_v0().unsigned_tx, watch_only_psbt().unsigned_tx);
        let signed = v2.sign(&key).unwrap();
        assert_eq!(signed.signed.len(), 2);
        assert_eq!(v2.serialize(), support::to_v2_by_hand(&v0, flags_out));
        assert_eq!(v2.as_v0().inputs, v0.inputs);
    }

    // A refused version 2 PSBT is left as it was.
    let stranger = PrizeKey::from_wif_for(
        "cT7J9YpCwY3AVRFSjN6ukeEeWY6mhpbJPxRaDaP5QTdygQRxP9Au",
        Network::Regtest,
    )
    .unwrap();
    let unsigned = support::to_v2_by_hand(&watch_only_psbt(), Some(0b011));
    let mut v2 = VersionedPsbt::deserialize(&unsigned).unwrap();
    assert!(matches!(
        v2.sign(&stranger),
        Err(PsbtSignError::NothingToSign { .. })
    ));
    assert_eq!(v2.serialize(), unsigned);
}

#[test]
fn version_0_psbts_read_through_versioned_psbt_unchanged() {
    let psbt = watch_only_psbt();
    let read = VersionedPsbt::deserialize(&psbt.serialize()).unwrap();
    assert_eq!(read.version(), 0);
    assert_eq!(read.as_v0(), &psbt);
    assert_eq!(read.serialize(), psbt.serialize());
    let mut v3 = psbt.clone();
    v3.version = 3;
    // rust-bitcoin writes the version field; reading it back is refused.
    assert_eq!(
        VersionedPsbt::deserialize(&v3.serialize()),
        Err(PsbtReadError::UnsupportedVersion(3))
    );
}

// ---------------------------------------------------------------- sweep

fn regtest(address: &str) -> Address<NetworkUnchecked> {
    address.parse().unwrap()
}

fn request(utxos: &[&str], to: &str, fee_rate: &str) -> SweepRequest {
    SweepRequest {
        utxos: utxos.iter().map(|u| u.parse().unwrap()).collect(),
        to: regtest(to),
        fee_rate: fee_rate.parse().unwrap(),
        force: false,
    }
}

/// BIP 173's regtest-style address of key 1 and a P2TR (BIP 350 vector).
const DEST_P2WPKH: &str = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";
const DEST_MAINNET: &str = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4";
const DEST_TESTNET: &str = "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx";
const DEST_TESTNET_P2PKH: &str = "mrCDrCybB6J1vRfbwM5hemdJz73FwDBC8r";

fn utxo(n: u8, vout: u32, sat: u64, kind: &str) -> String {
    format!("{}:{vout}:{sat}:{kind}", txid(n))
}

#[test]
fn sweep_passes_core_interpreter_and_pays_the_rate() {
    let key = key1(Network::Regtest);
    let (p2wpkh, p2pkh, _) = key1_scripts();
    for (utxos, rate) in [
        (vec![utxo(1, 0, 150_000, "p2wpkh")], "1"),
        (vec![utxo(2, 3, 80_000, "p2pkh")], "2.5"),
        (
            vec![
                utxo(3, 0, 1_000_000, "p2wpkh"),
                utxo(3, 1, 60_000, "p2pkh"),
                utxo(4, 7, 25_000, "p2wpkh"),
            ],
            "12.125",
        ),
    ] {
        let refs: Vec<&str> = utxos.iter().map(String::as_str).collect();
        let req = request(&refs, DEST_TESTNET_P2PKH, rate);
        let sweep = sweep(&key, &req).unwrap();
        let tx = &sweep.tx;
        assert_eq!(tx.version, bitcoin::transaction::Version::TWO);
        assert_eq!(tx.lock_time, bitcoin::absolute::LockTime::ZERO);
        assert_eq!(tx.output.len(), 1);
        assert_eq!(
            tx.output[0].script_pubkey,
            regtest(DEST_TESTNET_P2PKH).assume_checked().script_pubkey()
        );
        assert_eq!(tx.output[0].value, sweep.sent);
        assert_eq!(sweep.sent + sweep.fee, sweep.input_total);
        for (index, u) in req.utxos.iter().enumerate() {
            assert_eq!(tx.input[index].previous_output, u.outpoint);
            assert!(tx.input[index].sequence.is_rbf());
            let spent = TxOut {
                value: u.amount,
                script_pubkey: match u.kind {
                    OutputKind::P2wpkh => p2wpkh.clone(),
                    OutputKind::P2pkh => p2pkh.clone(),
                },
            };
            consensus_verify(tx, index, &spent);
            // The amount is committed to (P2WPKH) or the script is
            // (P2PKH): with another spent output the verifier says no.
            let wrong = match u.kind {
                OutputKind::P2wpkh => TxOut {
                    value: u.amount + sat(1),
                    ..spent
                },
                OutputKind::P2pkh => TxOut {
                    script_pubkey: p2wpkh.clone(),
                    ..spent
                },
            };
            consensus_rejects(tx, index, &wrong);
        }
        // The fee pays at least the asked rate on the real size, and the
        // size estimate is at most a few bytes over.
        let rate: FeeRate = rate.parse().unwrap();
        assert!(sweep.fee >= rate.fee_for(sweep.vsize()), "{rate}");
        assert!(sweep.fee <= rate.fee_for(sweep.vsize() + 2 * req.utxos.len() as u64));
        assert_eq!(sweep.hex(), bitcoin::consensus::encode::serialize_hex(tx));
        assert_eq!(sweep.txid(), tx.compute_txid());
    }
}

#[test]
fn sweep_refusals() {
    let key = key1(Network::Regtest);
    let big = utxo(1, 0, 1_000_000, "p2wpkh");
    type Case = (SweepRequest, fn(&SweepError) -> bool, &'static str);
    let cases: Vec<Case> = vec![
        (
            request(&[&big], DEST_MAINNET, "1"),
            |e| matches!(e, SweepError::WrongNetwork(w) if w.expected == Network::Regtest),
            "is a bitcoin (mainnet) address, but the prize key is on regtest",
        ),
        (
            // tb1 is testnet/signet, not regtest (whose bech32 prefix is bcrt).
            request(&[&big], DEST_TESTNET, "1"),
            |e| matches!(e, SweepError::WrongNetwork(_)),
            "testnet or signet address",
        ),
        (
            request(&[&utxo(1, 0, 400, "p2wpkh")], DEST_P2WPKH, "1"),
            |e| matches!(e, SweepError::BelowDust { .. }),
            "amount below dust after the fee",
        ),
        (
            request(&[&utxo(1, 0, 50, "p2wpkh")], DEST_P2WPKH, "1"),
            |e| matches!(e, SweepError::BelowDust { .. }),
            "is more than the 50 sat swept",
        ),
        (
            request(&[&utxo(1, 0, 5_000, "p2wpkh")], DEST_P2WPKH, "10"),
            |e| matches!(e, SweepError::FeeTooHigh { .. }),
            "more than 2 % of the 5000 sat swept",
        ),
        (
            request(&[&big], DEST_P2WPKH, "1000.001"),
            |e| matches!(e, SweepError::FeeRateTooHigh(_)),
            "above 1000 sat/vB",
        ),
        (
            request(&[&big, &big], DEST_P2WPKH, "1"),
            |e| matches!(e, SweepError::DuplicateUtxo(_)),
            "is listed twice",
        ),
        (
            request(&[], DEST_P2WPKH, "1"),
            |e| matches!(e, SweepError::NoUtxos),
            "no --utxo",
        ),
        (
            request(
                &[
                    &utxo(1, 0, 2_100_000_000_000_000, "p2wpkh"),
                    &utxo(2, 0, 1, "p2wpkh"),
                ],
                DEST_P2WPKH,
                "1",
            ),
            |e| matches!(e, SweepError::TooMuchMoney),
            "21 million",
        ),
    ];
    for (req, is, message) in cases {
        let e = sweep(&key, &req).unwrap_err();
        assert!(is(&e), "{e:?}");
        assert!(e.to_string().contains(message), "{e}");
    }

    // Too many inputs for a standard transaction: refused before signing.
    let many: Vec<String> = (0..1500).map(|i| utxo(9, i, 10_000, "p2wpkh")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let e = sweep(&key, &request(&refs, DEST_P2WPKH, "1")).unwrap_err();
    assert!(matches!(e, SweepError::TooHeavy { .. }), "{e:?}");
}

#[test]
fn sweep_force_allows_high_fees_but_never_dust() {
    let key = key1(Network::Regtest);
    let mut req = request(&[&utxo(1, 0, 5_000, "p2wpkh")], DEST_P2WPKH, "10");
    req.force = true;
    let s = sweep(&key, &req).unwrap();
    assert!(s.fee.to_sat() * 50 > 5_000);
    let mut req = request(&[&utxo(1, 0, 1_000_000, "p2wpkh")], DEST_P2WPKH, "2000");
    req.force = true;
    assert!(sweep(&key, &req).is_ok());
    let mut req = request(&[&utxo(1, 0, 400, "p2wpkh")], DEST_P2WPKH, "1");
    req.force = true;
    assert!(matches!(
        sweep(&key, &req),
        Err(SweepError::BelowDust { .. })
    ));
}

#[test]
fn sweep_accepts_each_networks_own_addresses() {
    for (network, to) in [
        (Network::Bitcoin, DEST_MAINNET),
        (Network::Testnet, DEST_TESTNET),
        (Network::Signet, DEST_TESTNET),
        (Network::Regtest, DEST_P2WPKH),
        // Regtest shares testnet's base58 prefixes.
        (Network::Regtest, DEST_TESTNET_P2PKH),
        (Network::Testnet, DEST_TESTNET_P2PKH),
    ] {
        let req = request(&[&utxo(1, 0, 100_000, "p2wpkh")], to, "1");
        let s = sweep(&key1(network), &req).unwrap_or_else(|e| panic!("{network} {to}: {e}"));
        assert_eq!(s.to.to_string(), to);
    }
}

#[test]
fn utxo_and_fee_rate_parsing() {
    let t = txid(0xab).to_string();
    let u: Utxo = format!("{t}:1:5000").parse().unwrap();
    assert_eq!(u.outpoint, OutPoint::new(txid(0xab), 1));
    assert_eq!(u.amount, sat(5000));
    assert_eq!(u.kind, OutputKind::P2wpkh);
    assert_eq!(
        format!("{t}:1:5000:P2PKH").parse::<Utxo>().unwrap().kind,
        OutputKind::P2pkh
    );
    assert_eq!(u.to_string(), format!("{t}:1:5000:p2wpkh"));
    for (bad, needle) in [
        ("", "expected TXID:VOUT:AMOUNT_SAT"),
        (&format!("{t}:1"), "expected TXID:VOUT:AMOUNT_SAT"),
        (
            &format!("{t}:1:2:p2wpkh:x"),
            "expected TXID:VOUT:AMOUNT_SAT",
        ),
        (&format!("{}:1:5000", &t[1..]), "malformed txid"),
        (&format!("{}g:1:5000", &t[1..]), "malformed txid"),
        (&format!("{t}0:1:5000"), "malformed txid"),
        (&format!("{t}:-1:5000"), "malformed output index"),
        (&format!("{t}:4294967296:5000"), "malformed output index"),
        (&format!("{t}:1:0.5"), "malformed amount"),
        (&format!("{t}:1:"), "malformed amount"),
        (&format!("{t}:1:0"), "amount is zero"),
        (&format!("{t}:1:2100000000000001"), "21 million"),
        (&format!("{t}:1:99999999999999999999999"), "21 million"),
        (&format!("{t}:1:5000:p2tr"), "unknown output kind"),
    ] {
        let e = bad.parse::<Utxo>().unwrap_err();
        assert!(e.to_string().contains(needle), "{bad:?}: {e}");
    }

    for (text, shown, fee_for_141) in [
        ("1", "1 sat/vB", 141),
        ("2.5", "2.5 sat/vB", 353),
        ("0.1", "0.1 sat/vB", 15),
        ("12.125", "12.125 sat/vB", 1710),
        ("007", "7 sat/vB", 987),
    ] {
        let r: FeeRate = text.parse().unwrap();
        assert_eq!(r.to_string(), shown);
        assert_eq!(r.fee_for(141), sat(fee_for_141), "{text}");
    }
    for bad in [
        "",
        "0",
        "0.000",
        "-1",
        "1.",
        ".5",
        "1.2345",
        "1e3",
        "one",
        "1,5",
        "99999999999999",
    ] {
        assert!(bad.parse::<FeeRate>().is_err(), "{bad:?}");
    }
}

// ------------------------------------------------------- hostile input

#[test]
fn mangled_psbts_are_refused_or_signed_never_a_panic() {
    // Deterministic mutations (xorshift) of every PSBT in the vectors and
    // of the watch-only PSBT in both versions: byte changes, truncations
    // and insertions. Reading must return an error or a PSBT, and signing
    // a PSBT that reads must return an error or signatures: never panic.
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    for file in ["bip174.txt", "bip370.txt"] {
        for (_, values) in vectors(file) {
            if let Some(last) = values.last()
                && last.starts_with("70736274ff")
            {
                seeds.push(hex(last));
            }
        }
    }
    seeds.push(watch_only_psbt().serialize());
    seeds.push(support::to_v2_by_hand(&watch_only_psbt(), Some(3)));
    let key = key1(Network::Regtest);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let (mut read, mut signed) = (0, 0);
    for seed in &seeds {
        for _ in 0..150 {
            let mut bytes = seed.clone();
            for _ in 0..=(next() % 3) {
                let at = (next() as usize) % bytes.len().max(1);
                match next() % 4 {
                    0 => bytes.truncate(at.max(5)),
                    1 => bytes.insert(at, next() as u8),
                    _ => {
                        if let Some(b) = bytes.get_mut(at) {
                            *b ^= 1 << (next() % 8);
                        }
                    }
                }
            }
            if let Ok(mut psbt) = VersionedPsbt::deserialize(&bytes) {
                read += 1;
                if psbt.sign(&key).is_ok() {
                    signed += 1;
                }
                let _ = psbt.serialize();
            }
        }
    }
    // The mutations reach past the framing: some still read, some sign.
    println!(
        "{} mutants, {read} read, {signed} signed",
        seeds.len() * 150
    );
    assert!(read > 0 && signed > 0, "{read} read, {signed} signed");
}
