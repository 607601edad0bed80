//! PSBTs of either version: 0 (BIP 174) and 2 (BIP 370).
//!
//! rust-bitcoin 0.32 reads and writes version 0 only. A version 2 PSBT
//! carries the same per-input and per-output data, but instead of an
//! unsigned transaction it has the transaction's fields spread over its maps
//! (version, input and output counts, each input's outpoint and sequence,
//! each output's amount and script, and lock-time requirements). BIP 370
//! says how to build the transaction from those; with it, a version 2 PSBT
//! becomes a version 0 one that rust-bitcoin and [`sign_psbt`] handle. The
//! signatures made there are then added to the original version 2 maps,
//! which are otherwise written back byte for byte, and the
//! transaction-modifiable flags are updated as BIP 370 asks of a signer.
//!
//! Both versions are held to their own field rules: a version 0 PSBT with
//! version 2 fields, or a version 2 PSBT with an unsigned transaction or
//! without a required field, is refused (BIP 370's invalid test vectors).

use alloc::borrow::ToOwned;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use bitcoin::consensus::encode::serialize;
use bitcoin::hashes::Hash as _;
use bitcoin::psbt::Psbt;
use bitcoin::transaction::Version;
use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness};

use super::psbt::{PsbtSignError, SignedPsbt, sign_psbt};
use super::psbt_raw::{self, FramingError, Map, Pair};
use crate::PrizeKey;

// Key types (BIP 174, BIP 370).
const GLOBAL_UNSIGNED_TX: u64 = 0x00;
const GLOBAL_TX_VERSION: u64 = 0x02;
const GLOBAL_FALLBACK_LOCKTIME: u64 = 0x03;
const GLOBAL_INPUT_COUNT: u64 = 0x04;
const GLOBAL_OUTPUT_COUNT: u64 = 0x05;
const GLOBAL_TX_MODIFIABLE: u64 = 0x06;
const GLOBAL_VERSION: u64 = 0xfb;
const IN_PARTIAL_SIG: u8 = 0x02;
const IN_PREVIOUS_TXID: u64 = 0x0e;
const IN_OUTPUT_INDEX: u64 = 0x0f;
const IN_SEQUENCE: u64 = 0x10;
const IN_REQUIRED_TIME_LOCKTIME: u64 = 0x11;
const IN_REQUIRED_HEIGHT_LOCKTIME: u64 = 0x12;
const OUT_AMOUNT: u64 = 0x03;
const OUT_SCRIPT: u64 = 0x04;

/// Fields only a version 2 PSBT may have.
const V2_ONLY_GLOBAL: [u64; 5] = [
    GLOBAL_TX_VERSION,
    GLOBAL_FALLBACK_LOCKTIME,
    GLOBAL_INPUT_COUNT,
    GLOBAL_OUTPUT_COUNT,
    GLOBAL_TX_MODIFIABLE,
];
const V2_ONLY_INPUT: [u64; 5] = [
    IN_PREVIOUS_TXID,
    IN_OUTPUT_INDEX,
    IN_SEQUENCE,
    IN_REQUIRED_TIME_LOCKTIME,
    IN_REQUIRED_HEIGHT_LOCKTIME,
];
const V2_ONLY_OUTPUT: [u64; 2] = [OUT_AMOUNT, OUT_SCRIPT];

/// Lock times below this are block heights, from it on Unix times.
const LOCKTIME_THRESHOLD: u32 = 500_000_000;
/// TX_MODIFIABLE bits: inputs may be added, outputs may be added.
const INPUTS_MODIFIABLE: u8 = 1 << 0;
const OUTPUTS_MODIFIABLE: u8 = 1 << 1;

/// A PSBT of version 0 or 2, ready to sign with [`VersionedPsbt::sign`].
#[derive(Debug, Clone, PartialEq)]
pub struct VersionedPsbt {
    /// The PSBT as version 0 (for version 2: converted).
    psbt: Psbt,
    /// For version 2, the maps as read, to be written back.
    v2: Option<V2Maps>,
}

#[derive(Debug, Clone, PartialEq)]
struct V2Maps {
    global: Map,
    inputs: Vec<Map>,
    outputs: Vec<Map>,
}

/// Why bytes are not a PSBT this tool can sign.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PsbtReadError {
    /// Not a well-framed PSBT (magic, maps, lengths).
    Framing(&'static str),
    /// PSBT_GLOBAL_VERSION is neither 0 nor 2.
    UnsupportedVersion(u32),
    /// A version 0 PSBT with a field only version 2 may have.
    V2FieldInV0 {
        /// Where: `global`, `input N` or `output N`.
        map: String,
        /// The key type.
        key_type: u64,
    },
    /// A version 2 PSBT with an unsigned transaction (version 0's field).
    UnsignedTxInV2,
    /// A version 2 PSBT without a field BIP 370 requires.
    Missing {
        /// The field's BIP name.
        field: &'static str,
        /// Where: `global`, `input N` or `output N`.
        map: String,
    },
    /// A version 2 field with a malformed value.
    Malformed {
        /// The field's BIP name.
        field: &'static str,
        /// Where: `global`, `input N` or `output N`.
        map: String,
    },
    /// The inputs require both a height and a time lock time, which no
    /// transaction can satisfy (BIP 370, "Determining Lock Time").
    LockTimeConflict,
    /// rust-bitcoin refused the (converted) version 0 PSBT.
    Invalid(String),
}

impl fmt::Display for PsbtReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PsbtReadError::Framing(why) => write!(f, "not a PSBT: {why}"),
            PsbtReadError::UnsupportedVersion(v) => {
                write!(f, "PSBT version {v} is not supported (only 0 and 2 exist)")
            }
            PsbtReadError::V2FieldInV0 { map, key_type } => write!(
                f,
                "invalid version 0 PSBT: its {map} map has field type {key_type:#04x}, which \
                 only version 2 PSBTs may have"
            ),
            PsbtReadError::UnsignedTxInV2 => f.write_str(
                "invalid version 2 PSBT: it has an unsigned transaction (a version 0 field)",
            ),
            PsbtReadError::Missing { field, map } => {
                write!(f, "invalid version 2 PSBT: {map} map lacks {field}")
            }
            PsbtReadError::Malformed { field, map } => {
                write!(
                    f,
                    "invalid version 2 PSBT: {field} in the {map} map is malformed"
                )
            }
            PsbtReadError::LockTimeConflict => f.write_str(
                "invalid version 2 PSBT: some inputs require a block-height lock time and \
                 others a time lock time",
            ),
            PsbtReadError::Invalid(why) => write!(f, "not a valid PSBT: {why}"),
        }
    }
}

impl core::error::Error for PsbtReadError {}

impl From<FramingError> for PsbtReadError {
    fn from(e: FramingError) -> Self {
        PsbtReadError::Framing(e.message())
    }
}

impl VersionedPsbt {
    /// Reads a serialized PSBT of version 0 or 2.
    pub fn deserialize(bytes: &[u8]) -> Result<VersionedPsbt, PsbtReadError> {
        let mut reader = psbt_raw::Reader::new(bytes)?;
        let global = reader.map()?;
        let version = match find(&global, GLOBAL_VERSION) {
            None => 0,
            Some(v) => u32::from_le_bytes(fixed(v, "PSBT_GLOBAL_VERSION", "global")?),
        };
        match version {
            0 => read_v0(bytes),
            2 => read_v2(global, reader),
            v => Err(PsbtReadError::UnsupportedVersion(v)),
        }
    }

    /// The PSBT version: 0 or 2.
    pub fn version(&self) -> u32 {
        if self.v2.is_some() { 2 } else { 0 }
    }

    /// The PSBT in version 0 form: the unsigned transaction, its inputs'
    /// and outputs' data. For version 2, converted as BIP 370 says.
    pub fn as_v0(&self) -> &Psbt {
        &self.psbt
    }

    /// Signs with [`sign_psbt`]; for version 2, adds the new signatures to
    /// the original maps and clears the inputs- and outputs-modifiable
    /// flags (the signatures are SIGHASH_ALL). On error nothing changes.
    pub fn sign(&mut self, key: &PrizeKey) -> Result<SignedPsbt, PsbtSignError> {
        let before = self.psbt.clone();
        let signed = sign_psbt(key, &mut self.psbt)?;
        if let Some(v2) = &mut self.v2 {
            for (index, input) in self.psbt.inputs.iter().enumerate() {
                for (public, signature) in &input.partial_sigs {
                    if before.inputs[index].partial_sigs.get(public) == Some(signature) {
                        continue;
                    }
                    let mut key = alloc::vec![IN_PARTIAL_SIG];
                    key.extend_from_slice(&public.to_bytes());
                    let value = signature.to_vec();
                    let map = &mut v2.inputs[index];
                    match map.iter_mut().find(|p| p.key == key) {
                        Some(pair) => pair.value = value,
                        None => map.push(Pair { key, value }),
                    }
                }
            }
            if let Some(flags) = v2
                .global
                .iter_mut()
                .find(|p| p.key_type() == GLOBAL_TX_MODIFIABLE && p.key_is_bare())
                && let Some(bits) = flags.value.first_mut()
            {
                *bits &= !(INPUTS_MODIFIABLE | OUTPUTS_MODIFIABLE);
            }
        }
        Ok(signed)
    }

    /// The PSBT serialized in its own version.
    pub fn serialize(&self) -> Vec<u8> {
        match &self.v2 {
            None => self.psbt.serialize(),
            Some(v2) => psbt_raw::write(
                core::iter::once(&v2.global)
                    .chain(&v2.inputs)
                    .chain(&v2.outputs),
            ),
        }
    }
}

fn read_v0(bytes: &[u8]) -> Result<VersionedPsbt, PsbtReadError> {
    let psbt = Psbt::deserialize(bytes).map_err(|e| PsbtReadError::Invalid(e.to_string()))?;
    // rust-bitcoin keeps fields it does not know as "unknown": version 2's
    // fields among them, which a version 0 PSBT must not have.
    let v2_field = |unknown: &alloc::collections::BTreeMap<bitcoin::psbt::raw::Key, Vec<u8>>,
                    types: &[u64]| {
        unknown
            .keys()
            .map(|k| u64::from(k.type_value))
            .find(|t| types.contains(t))
    };
    if let Some(key_type) = v2_field(&psbt.unknown, &V2_ONLY_GLOBAL) {
        return Err(PsbtReadError::V2FieldInV0 {
            map: "global".to_owned(),
            key_type,
        });
    }
    for (i, input) in psbt.inputs.iter().enumerate() {
        if let Some(key_type) = v2_field(&input.unknown, &V2_ONLY_INPUT) {
            return Err(PsbtReadError::V2FieldInV0 {
                map: alloc::format!("input {i}"),
                key_type,
            });
        }
    }
    for (i, output) in psbt.outputs.iter().enumerate() {
        if let Some(key_type) = v2_field(&output.unknown, &V2_ONLY_OUTPUT) {
            return Err(PsbtReadError::V2FieldInV0 {
                map: alloc::format!("output {i}"),
                key_type,
            });
        }
    }
    Ok(VersionedPsbt { psbt, v2: None })
}

fn read_v2(global: Map, mut reader: psbt_raw::Reader<'_>) -> Result<VersionedPsbt, PsbtReadError> {
    let g = "global";
    if find(&global, GLOBAL_UNSIGNED_TX).is_some() {
        return Err(PsbtReadError::UnsignedTxInV2);
    }
    let tx_version = i32::from_le_bytes(fixed(
        required(&global, GLOBAL_TX_VERSION, "PSBT_GLOBAL_TX_VERSION", g)?,
        "PSBT_GLOBAL_TX_VERSION",
        g,
    )?);
    let fallback = find(&global, GLOBAL_FALLBACK_LOCKTIME)
        .map(|v| fixed(v, "PSBT_GLOBAL_FALLBACK_LOCKTIME", g).map(u32::from_le_bytes))
        .transpose()?;
    let input_count = count(&global, GLOBAL_INPUT_COUNT, "PSBT_GLOBAL_INPUT_COUNT")?;
    let output_count = count(&global, GLOBAL_OUTPUT_COUNT, "PSBT_GLOBAL_OUTPUT_COUNT")?;
    if let Some(flags) = find(&global, GLOBAL_TX_MODIFIABLE) {
        fixed::<1>(flags, "PSBT_GLOBAL_TX_MODIFIABLE", g)?;
    }
    // Each map takes at least one byte, so a huge count fails as truncated
    // long before memory is a concern.
    let inputs = (0..input_count)
        .map(|_| reader.map())
        .collect::<Result<Vec<_>, _>>()?;
    let outputs = (0..output_count)
        .map(|_| reader.map())
        .collect::<Result<Vec<_>, _>>()?;
    reader.finish()?;

    let mut tx_inputs = Vec::with_capacity(inputs.len());
    let mut lock_requirements = Vec::with_capacity(inputs.len());
    for (i, map) in inputs.iter().enumerate() {
        let m = alloc::format!("input {i}");
        let txid = fixed::<32>(
            required(map, IN_PREVIOUS_TXID, "PSBT_IN_PREVIOUS_TXID", &m)?,
            "PSBT_IN_PREVIOUS_TXID",
            &m,
        )?;
        let vout = u32::from_le_bytes(fixed(
            required(map, IN_OUTPUT_INDEX, "PSBT_IN_OUTPUT_INDEX", &m)?,
            "PSBT_IN_OUTPUT_INDEX",
            &m,
        )?);
        let sequence = find(map, IN_SEQUENCE)
            .map(|v| fixed(v, "PSBT_IN_SEQUENCE", &m).map(u32::from_le_bytes))
            .transpose()?
            .unwrap_or(u32::MAX);
        let time = find(map, IN_REQUIRED_TIME_LOCKTIME)
            .map(|v| fixed(v, "PSBT_IN_REQUIRED_TIME_LOCKTIME", &m).map(u32::from_le_bytes))
            .transpose()?;
        if time.is_some_and(|t| t < LOCKTIME_THRESHOLD) {
            return Err(malformed("PSBT_IN_REQUIRED_TIME_LOCKTIME", &m));
        }
        let height = find(map, IN_REQUIRED_HEIGHT_LOCKTIME)
            .map(|v| fixed(v, "PSBT_IN_REQUIRED_HEIGHT_LOCKTIME", &m).map(u32::from_le_bytes))
            .transpose()?;
        if height.is_some_and(|h| h == 0 || h >= LOCKTIME_THRESHOLD) {
            return Err(malformed("PSBT_IN_REQUIRED_HEIGHT_LOCKTIME", &m));
        }
        lock_requirements.push((time, height));
        tx_inputs.push(TxIn {
            previous_output: OutPoint::new(Txid::from_byte_array(txid), vout),
            script_sig: ScriptBuf::new(),
            sequence: Sequence(sequence),
            witness: Witness::new(),
        });
    }
    let mut tx_outputs = Vec::with_capacity(outputs.len());
    for (i, map) in outputs.iter().enumerate() {
        let m = alloc::format!("output {i}");
        let amount = i64::from_le_bytes(fixed(
            required(map, OUT_AMOUNT, "PSBT_OUT_AMOUNT", &m)?,
            "PSBT_OUT_AMOUNT",
            &m,
        )?);
        let amount = u64::try_from(amount).map_err(|_| malformed("PSBT_OUT_AMOUNT", &m))?;
        let script = required(map, OUT_SCRIPT, "PSBT_OUT_SCRIPT", &m)?;
        tx_outputs.push(TxOut {
            value: Amount::from_sat(amount),
            script_pubkey: ScriptBuf::from_bytes(script.to_vec()),
        });
    }
    let tx = Transaction {
        version: Version(tx_version),
        lock_time: bitcoin::absolute::LockTime::from_consensus(lock_time(
            fallback,
            &lock_requirements,
        )?),
        input: tx_inputs,
        output: tx_outputs,
    };

    // The same PSBT as version 0: the unsigned transaction instead of
    // version 2's fields, everything else as it was.
    let keep = |map: &Map, drop: &[u64]| -> Map {
        map.iter()
            .filter(|p| !drop.contains(&p.key_type()))
            .cloned()
            .collect()
    };
    let mut v0_global = alloc::vec![Pair {
        key: alloc::vec![GLOBAL_UNSIGNED_TX as u8],
        value: serialize(&tx),
    }];
    let mut v2_global_fields = V2_ONLY_GLOBAL.to_vec();
    v2_global_fields.push(GLOBAL_VERSION);
    v0_global.extend(keep(&global, &v2_global_fields));
    let v0_inputs: Vec<Map> = inputs.iter().map(|m| keep(m, &V2_ONLY_INPUT)).collect();
    let v0_outputs: Vec<Map> = outputs.iter().map(|m| keep(m, &V2_ONLY_OUTPUT)).collect();
    let v0 = psbt_raw::write(
        core::iter::once(&v0_global)
            .chain(&v0_inputs)
            .chain(&v0_outputs),
    );
    let psbt = Psbt::deserialize(&v0).map_err(|e| PsbtReadError::Invalid(e.to_string()))?;
    Ok(VersionedPsbt {
        psbt,
        v2: Some(V2Maps {
            global,
            inputs,
            outputs,
        }),
    })
}

/// BIP 370's lock time: the fallback (default 0) when no input requires
/// one; otherwise the largest required height if every input that requires
/// a lock time accepts a height, else the largest required time if they all
/// accept a time, else no lock time works.
fn lock_time(
    fallback: Option<u32>,
    inputs: &[(Option<u32>, Option<u32>)],
) -> Result<u32, PsbtReadError> {
    let requiring: Vec<_> = inputs
        .iter()
        .filter(|(time, height)| time.is_some() || height.is_some())
        .collect();
    if requiring.is_empty() {
        return Ok(fallback.unwrap_or(0));
    }
    if requiring.iter().all(|(_, height)| height.is_some()) {
        return Ok(requiring.iter().filter_map(|(_, h)| *h).max().unwrap_or(0));
    }
    if requiring.iter().all(|(time, _)| time.is_some()) {
        return Ok(requiring.iter().filter_map(|(t, _)| *t).max().unwrap_or(0));
    }
    Err(PsbtReadError::LockTimeConflict)
}

/// The value of the bare-keyed field `key_type`, if present.
fn find(map: &Map, key_type: u64) -> Option<&[u8]> {
    map.iter()
        .find(|p| p.key_type() == key_type && p.key_is_bare())
        .map(|p| p.value.as_slice())
}

fn required<'a>(
    map: &'a Map,
    key_type: u64,
    field: &'static str,
    where_: &str,
) -> Result<&'a [u8], PsbtReadError> {
    find(map, key_type).ok_or_else(|| PsbtReadError::Missing {
        field,
        map: where_.to_owned(),
    })
}

fn fixed<const N: usize>(
    value: &[u8],
    field: &'static str,
    where_: &str,
) -> Result<[u8; N], PsbtReadError> {
    value.try_into().map_err(|_| malformed(field, where_))
}

fn count(global: &Map, key_type: u64, field: &'static str) -> Result<u64, PsbtReadError> {
    let mut value = required(global, key_type, field, "global")?;
    match psbt_raw::read_compact(&mut value) {
        Some(n) if value.is_empty() => Ok(n),
        _ => Err(malformed(field, "global")),
    }
}

fn malformed(field: &'static str, where_: &str) -> PsbtReadError {
    PsbtReadError::Malformed {
        field,
        map: where_.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_time_determination() {
        let t = |v: u32| Some(v);
        // No requirement: the fallback, or 0.
        assert_eq!(lock_time(None, &[(None, None)]), Ok(0));
        assert_eq!(lock_time(Some(77), &[(None, None), (None, None)]), Ok(77));
        // Heights win when every requiring input accepts a height.
        assert_eq!(
            lock_time(Some(77), &[(None, t(10_000)), (None, None)]),
            Ok(10_000)
        );
        assert_eq!(
            lock_time(
                None,
                &[(t(1_657_048_459), t(10_000)), (t(1_657_048_460), t(9_000))]
            ),
            Ok(10_000)
        );
        // Times when some requiring input accepts only a time.
        assert_eq!(
            lock_time(
                None,
                &[(t(1_657_048_459), None), (t(1_657_048_460), t(9_000))]
            ),
            Ok(1_657_048_460)
        );
        assert_eq!(
            lock_time(None, &[(None, t(10_000)), (t(1_657_048_460), None)]),
            Err(PsbtReadError::LockTimeConflict)
        );
    }
}
