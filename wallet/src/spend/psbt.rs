//! `sign-psbt`: the BIP 174 Signer role for the prize key (see [`sign_psbt`]).

use alloc::borrow::ToOwned;
use alloc::vec::Vec;
use core::fmt;

use bitcoin::opcodes::all::OP_CODESEPARATOR;
use bitcoin::psbt::Psbt;
use bitcoin::script::Instruction;
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::{Amount, Script, ScriptBuf, TxOut, Txid, ecdsa};

use super::signer::{SighashScript, Signer, SignerError, sighash_all};
use crate::PrizeKey;

/// What kind of script an input the prize key signed spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpentScript {
    /// Native segwit v0 pay-to-pubkey-hash.
    P2wpkh,
    /// P2WPKH wrapped in P2SH.
    P2shP2wpkh,
    /// Legacy pay-to-pubkey-hash.
    P2pkh,
    /// Native segwit v0 pay-to-script-hash (the key is in the witness script).
    P2wsh,
    /// P2WSH wrapped in P2SH.
    P2shP2wsh,
    /// Legacy pay-to-script-hash (the key is in the redeem script).
    P2sh,
    /// A bare script that pushes the key (P2PK, bare multisig).
    Bare,
}

impl SpentScript {
    /// A short name for messages.
    pub const fn name(self) -> &'static str {
        match self {
            SpentScript::P2wpkh => "p2wpkh",
            SpentScript::P2shP2wpkh => "p2sh-p2wpkh",
            SpentScript::P2pkh => "p2pkh",
            SpentScript::P2wsh => "p2wsh",
            SpentScript::P2shP2wsh => "p2sh-p2wsh",
            SpentScript::P2sh => "p2sh",
            SpentScript::Bare => "bare script",
        }
    }

    const fn is_segwit(self) -> bool {
        matches!(
            self,
            SpentScript::P2wpkh
                | SpentScript::P2shP2wpkh
                | SpentScript::P2wsh
                | SpentScript::P2shP2wsh
        )
    }
}

impl fmt::Display for SpentScript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One input the prize key signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedInput {
    /// Its index in the transaction.
    pub index: usize,
    /// What it spends.
    pub script: SpentScript,
    /// The value of the output it spends, as the PSBT states it.
    pub amount: Amount,
}

/// What [`sign_psbt`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPsbt {
    /// The inputs that got a signature from the prize key (at least one).
    pub signed: Vec<SignedInput>,
    /// Inputs in the PSBT.
    pub inputs: usize,
    /// Inputs that were already finalized and were left alone.
    pub finalized: usize,
}

/// Why one input of the prize key cannot be signed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputProblem {
    /// Neither a witness nor a non-witness UTXO: nothing says what is spent.
    MissingUtxo,
    /// The non-witness UTXO is not the transaction the input spends.
    NonWitnessUtxoMismatch {
        /// The txid the input spends.
        spends: Txid,
        /// The txid of the transaction given as non-witness UTXO.
        given: Txid,
    },
    /// The input spends an output index the non-witness UTXO does not have.
    VoutOutOfRange {
        /// The output index spent.
        vout: u32,
        /// Outputs in the non-witness UTXO.
        outputs: usize,
    },
    /// The witness UTXO and the non-witness UTXO's output disagree.
    UtxoConflict,
    /// A legacy input with only a witness UTXO (BIP 174: no non-witness
    /// signature may be made from one).
    WitnessUtxoForLegacyInput,
    /// The redeem script does not hash to the spent script.
    RedeemScriptMismatch,
    /// A P2WSH input without its witness script.
    MissingWitnessScript,
    /// The witness script does not hash to the spent or redeem script.
    WitnessScriptMismatch,
    /// A sighash type that is not one of the six standard ones.
    NonStandardSighash(u32),
    /// A standard sighash type other than SIGHASH_ALL.
    SighashNotAll(EcdsaSighashType),
    /// The script uses OP_CODESEPARATOR, which this signer does not handle.
    CodeSeparator,
    /// The input's BIP 32 derivations list the prize key but its script
    /// does not use it (or is a kind this signer does not sign, such as
    /// taproot).
    KeyNotInScript,
}

impl fmt::Display for InputProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputProblem::MissingUtxo => {
                f.write_str("the PSBT does not say what it spends (no witness or non-witness UTXO)")
            }
            InputProblem::NonWitnessUtxoMismatch { spends, given } => write!(
                f,
                "the non-witness UTXO is transaction {given}, but the input spends {spends}"
            ),
            InputProblem::VoutOutOfRange { vout, outputs } => write!(
                f,
                "the input spends output {vout} of a transaction with {outputs} outputs"
            ),
            InputProblem::UtxoConflict => {
                f.write_str("the witness UTXO and the non-witness UTXO disagree")
            }
            InputProblem::WitnessUtxoForLegacyInput => f.write_str(
                "a witness UTXO is given for a non-witness input (BIP 174 forbids signing it; \
                 the previous transaction is needed)",
            ),
            InputProblem::RedeemScriptMismatch => {
                f.write_str("the redeem script does not match the spent output's script")
            }
            InputProblem::MissingWitnessScript => {
                f.write_str("the witness script of this P2WSH input is missing")
            }
            InputProblem::WitnessScriptMismatch => f.write_str(
                "the witness script does not match the spent output's or the redeem script",
            ),
            InputProblem::NonStandardSighash(t) => {
                write!(f, "non-standard sighash type {t:#x}")
            }
            InputProblem::SighashNotAll(t) => write!(
                f,
                "sighash type {t} requested; the prize key signs only SIGHASH_ALL (anything \
                 else would let the PSBT's holder change where the coins go)"
            ),
            InputProblem::CodeSeparator => {
                f.write_str("the script uses OP_CODESEPARATOR, which this signer does not support")
            }
            InputProblem::KeyNotInScript => f.write_str(
                "its key derivations list the prize key, but its script does not use the key \
                 in a way this signer supports (P2WPKH, P2PKH, P2SH, P2WSH)",
            ),
        }
    }
}

/// Why [`sign_psbt`] added no signature.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PsbtSignError {
    /// No input (that is not already finalized) needs the prize key.
    NothingToSign {
        /// Inputs in the PSBT.
        inputs: usize,
        /// Of those, already finalized.
        finalized: usize,
    },
    /// An input of the prize key fails a BIP 174 signer check.
    Input {
        /// Its index.
        index: usize,
        /// What is wrong.
        problem: InputProblem,
    },
    /// The signer could not sign.
    Signer(SignerError),
}

impl fmt::Display for PsbtSignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PsbtSignError::NothingToSign { inputs, finalized } => write!(
                f,
                "nothing to sign: none of the PSBT's {inputs} inputs ({finalized} already \
                 finalized) spends an output of the prize key"
            ),
            PsbtSignError::Input { index, problem } => {
                write!(f, "refusing to sign: input {index}: {problem}")
            }
            PsbtSignError::Signer(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for PsbtSignError {}

/// The prize key's public key and scripts, to recognise its inputs.
struct Ours {
    public: bitcoin::secp256k1::PublicKey,
    public_bytes: [u8; 33],
    p2wpkh: ScriptBuf,
    p2pkh: ScriptBuf,
}

/// One input to sign: what to hash and how.
struct Plan {
    index: usize,
    script: SpentScript,
    amount: Amount,
    /// The script code (legacy, P2WSH) or the P2WPKH program (P2WPKH,
    /// from which rust-bitcoin derives the BIP 143 script code).
    code: ScriptBuf,
}

/// Adds the prize key's partial signature to every input that needs it:
/// the BIP 174 Signer role.
///
/// A watch-only wallet that tracks the prize address (Bitcoin Core with a
/// `wpkh(PUBKEY)` descriptor, Sparrow, …) creates and updates a PSBT; this
/// adds a partial signature for every input the prize key can sign and
/// leaves finalizing and broadcasting to the wallet.
///
/// An input is the prize key's when its script needs the key: the spent
/// output (or its P2SH redeem script) is the key's P2WPKH or P2PKH script,
/// or the redeem or witness script pushes the key (a multisig, say). An
/// input whose BIP 32 derivations list the key must be one of those, or the
/// PSBT is refused as inconsistent. Inputs of other keys are left alone, and
/// so are inputs already finalized.
///
/// Following BIP 174's "Data Signers Check For", an input of the key is
/// signed only if:
///
/// * a non-witness UTXO, when given, hashes to the txid the input spends
///   (and agrees with the witness UTXO when both are given);
/// * no non-witness (legacy) signature is made from a witness UTXO alone;
/// * a redeem script hashes to the spent script, a witness script to the
///   spent script or the redeem script;
/// * the sighash type is SIGHASH_ALL (or unset). The prize key signs nothing
///   else: SIGHASH_NONE or SINGLE would let whoever holds the PSBT redirect
///   the coins.
///
/// Any failing check refuses the whole PSBT: no signature is added anywhere.
///
/// Segwit inputs given only a witness UTXO are signed (BIP 174 allows it);
/// the amount they claim is committed to by the BIP 143 signature itself.
///
/// On error the PSBT is unchanged.
pub fn sign_psbt(key: &PrizeKey, psbt: &mut Psbt) -> Result<SignedPsbt, PsbtSignError> {
    let signer = Signer::new(key).map_err(PsbtSignError::Signer)?;
    let public = signer.public_key();
    let ours = Ours {
        public: public.0,
        public_bytes: public.to_bytes(),
        p2wpkh: ScriptBuf::new_p2wpkh(&public.wpubkey_hash()),
        p2pkh: ScriptBuf::new_p2pkh(&public.pubkey_hash()),
    };

    let mut plans = Vec::new();
    let mut finalized = 0;
    for index in 0..psbt.inputs.len() {
        let input = &psbt.inputs[index];
        if input.final_script_sig.is_some() || input.final_script_witness.is_some() {
            finalized += 1;
            continue;
        }
        if let Some(plan) = plan_input(psbt, index, &ours)
            .map_err(|problem| PsbtSignError::Input { index, problem })?
        {
            plans.push(plan);
        }
    }
    if plans.is_empty() {
        return Err(PsbtSignError::NothingToSign {
            inputs: psbt.inputs.len(),
            finalized,
        });
    }

    // Every sighash and signature first, then the PSBT is changed: an error
    // on the way leaves it as it was.
    let mut signatures = Vec::with_capacity(plans.len());
    {
        let mut cache = SighashCache::new(&psbt.unsigned_tx);
        for plan in &plans {
            let script = if plan.script.is_segwit() && plan.code.is_p2wpkh() {
                SighashScript::P2wpkh(&plan.code)
            } else if plan.script.is_segwit() {
                SighashScript::P2wsh(&plan.code)
            } else {
                SighashScript::Legacy(&plan.code)
            };
            let digest = sighash_all(&mut cache, plan.index, script, plan.amount)
                .map_err(PsbtSignError::Signer)?;
            signatures.push(signer.sign(digest).map_err(PsbtSignError::Signer)?);
        }
    }
    let mut signed = Vec::with_capacity(plans.len());
    for (plan, signature) in plans.iter().zip(signatures) {
        psbt.inputs[plan.index].partial_sigs.insert(
            bitcoin::PublicKey::new(ours.public),
            ecdsa::Signature {
                signature,
                sighash_type: EcdsaSighashType::All,
            },
        );
        signed.push(SignedInput {
            index: plan.index,
            script: plan.script,
            amount: plan.amount,
        });
    }
    Ok(SignedPsbt {
        signed,
        inputs: psbt.inputs.len(),
        finalized,
    })
}

/// Decides whether input `index` is the prize key's and, if so, checks it
/// and says how to sign it. `Ok(None)`: not the prize key's.
fn plan_input(psbt: &Psbt, index: usize, ours: &Ours) -> Result<Option<Plan>, InputProblem> {
    let input = &psbt.inputs[index];
    let Some(txin) = psbt.unsigned_tx.input.get(index) else {
        // rust-bitcoin's decoder gives one input map per transaction input.
        return Ok(None);
    };
    let listed = input.bip32_derivation.contains_key(&ours.public);

    // What is spent, leniently at first: which input is ours is decided on
    // the scripts; the checks below then hold ours to BIP 174.
    let from_non_witness: Option<&TxOut> = input
        .non_witness_utxo
        .as_ref()
        .and_then(|tx| tx.output.get(txin.previous_output.vout as usize));
    let Some(spent) = input.witness_utxo.as_ref().or(from_non_witness) else {
        return match (listed, &input.non_witness_utxo) {
            (false, _) => Ok(None),
            (true, None) => Err(InputProblem::MissingUtxo),
            (true, Some(tx)) => Err(InputProblem::VoutOutOfRange {
                vout: txin.previous_output.vout,
                outputs: tx.output.len(),
            }),
        };
    };

    let wrapped = input.redeem_script.is_some();
    let inner: &Script = input
        .redeem_script
        .as_deref()
        .unwrap_or(&spent.script_pubkey);
    let (script, code, uses_key) = if inner.is_p2wpkh() {
        let kind = if wrapped {
            SpentScript::P2shP2wpkh
        } else {
            SpentScript::P2wpkh
        };
        (kind, inner.to_owned(), inner == ours.p2wpkh.as_script())
    } else if inner.is_p2wsh() {
        let kind = if wrapped {
            SpentScript::P2shP2wsh
        } else {
            SpentScript::P2wsh
        };
        match &input.witness_script {
            Some(ws) => (kind, ws.clone(), pushes_key(ws, &ours.public_bytes)),
            None if listed => return Err(InputProblem::MissingWitnessScript),
            None => return Ok(None),
        }
    } else if inner.is_witness_program() {
        // Taproot or a future witness version: not signed here.
        return if listed {
            Err(InputProblem::KeyNotInScript)
        } else {
            Ok(None)
        };
    } else {
        let kind = if wrapped {
            SpentScript::P2sh
        } else if inner.is_p2pkh() {
            SpentScript::P2pkh
        } else {
            SpentScript::Bare
        };
        let uses = inner == ours.p2pkh.as_script() || pushes_key(inner, &ours.public_bytes);
        (kind, inner.to_owned(), uses)
    };
    // A witness script that is of no use to the scripts above still names
    // the key when it pushes it (BIP 174's invalid-witness-script vector).
    let named_in_witness_script = input
        .witness_script
        .as_ref()
        .is_some_and(|ws| pushes_key(ws, &ours.public_bytes));
    if !uses_key && !listed && !named_in_witness_script {
        return Ok(None);
    }

    // From here on the input is the prize key's: BIP 174's signer checks.
    if let Some(tx) = &input.non_witness_utxo {
        let given = tx.compute_txid();
        if given != txin.previous_output.txid {
            return Err(InputProblem::NonWitnessUtxoMismatch {
                spends: txin.previous_output.txid,
                given,
            });
        }
        let Some(output) = from_non_witness else {
            return Err(InputProblem::VoutOutOfRange {
                vout: txin.previous_output.vout,
                outputs: tx.output.len(),
            });
        };
        if input.witness_utxo.as_ref().is_some_and(|w| w != output) {
            return Err(InputProblem::UtxoConflict);
        }
    }
    if let Some(redeem) = &input.redeem_script
        && spent.script_pubkey != redeem.to_p2sh()
    {
        return Err(InputProblem::RedeemScriptMismatch);
    }
    if let Some(ws) = &input.witness_script
        && *inner != ws.to_p2wsh()
    {
        return Err(InputProblem::WitnessScriptMismatch);
    }
    if !script.is_segwit() && input.witness_utxo.is_some() {
        return Err(InputProblem::WitnessUtxoForLegacyInput);
    }
    if !uses_key {
        return Err(InputProblem::KeyNotInScript);
    }
    match input.sighash_type {
        None => {}
        Some(t) => match t.ecdsa_hash_ty() {
            Ok(EcdsaSighashType::All) => {}
            Ok(other) => return Err(InputProblem::SighashNotAll(other)),
            Err(_) => return Err(InputProblem::NonStandardSighash(t.to_u32())),
        },
    }
    if code
        .instructions()
        .any(|i| matches!(i, Ok(Instruction::Op(op)) if op == OP_CODESEPARATOR))
    {
        return Err(InputProblem::CodeSeparator);
    }
    Ok(Some(Plan {
        index,
        script,
        amount: spent.value,
        code,
    }))
}

/// Whether `script` pushes the 33-byte compressed public key anywhere.
fn pushes_key(script: &Script, public: &[u8; 33]) -> bool {
    script
        .instructions()
        .any(|i| matches!(i, Ok(Instruction::PushBytes(b)) if b.as_bytes() == public))
}
