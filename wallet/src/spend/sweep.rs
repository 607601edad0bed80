//! `sweep`: spend every listed output of the prize key to one address
//! (see [`sweep`]).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;

use bitcoin::address::NetworkUnchecked;
use bitcoin::consensus::encode::serialize_hex;
use bitcoin::policy::MAX_STANDARD_TX_WEIGHT;
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::transaction::{InputWeightPrediction, Version, predict_weight};
use bitcoin::{
    Address, Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness,
    absolute, ecdsa,
};

use super::signer::{SighashScript, Signer, SignerError, sighash_all};
use super::{WrongNetwork, require_network};
use crate::PrizeKey;

/// Highest fee rate `sweep` accepts without `--force`, in sat/vB. Far above
/// any fee market so far; a higher figure is almost surely a typo (sat/kvB
/// for sat/vB, say).
pub const MAX_FEE_RATE_SAT_PER_VB: u64 = 1_000;
/// Highest fee, as a share of the amount swept, `sweep` accepts without
/// `--force`: 2 %, that is one fiftieth.
pub const MAX_FEE_PERCENT: u64 = 2;

/// Which of the prize key's two output types an unspent output is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// Native segwit v0 (`bc1q…`/`tb1q…`/`bcrt1q…`): the address the piñata
    /// shows first, and the default.
    P2wpkh,
    /// Legacy pay-to-pubkey-hash (`1…`/`m…`/`n…`) of the compressed key.
    P2pkh,
}

impl OutputKind {
    /// The name used on the command line and in messages.
    pub const fn name(self) -> &'static str {
        match self {
            OutputKind::P2wpkh => "p2wpkh",
            OutputKind::P2pkh => "p2pkh",
        }
    }
}

impl fmt::Display for OutputKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One unspent output of the prize key: `TXID:VOUT:AMOUNT_SAT[:KIND]`.
///
/// `TXID` is the transaction id as explorers and `bitcoin-cli` show it (64
/// hex digits), `VOUT` the output index, `AMOUNT_SAT` the value in satoshis
/// and `KIND` `p2wpkh` (the default) or `p2pkh`: which of the prize's two
/// addresses the output pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utxo {
    /// The transaction and output index being spent.
    pub outpoint: OutPoint,
    /// Its value; BIP 143 signatures commit to it, so a wrong amount makes
    /// the P2WPKH signature invalid.
    pub amount: Amount,
    /// Which address of the prize key it pays.
    pub kind: OutputKind,
}

/// Why a `TXID:VOUT:AMOUNT_SAT[:KIND]` string is not an unspent output.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UtxoParseError {
    /// Not three or four `:`-separated fields.
    Shape,
    /// The txid is not 64 hex digits.
    Txid,
    /// The output index is not a number from 0 to 4294967295.
    Vout,
    /// The amount is not a whole number of satoshis.
    Amount,
    /// The amount is zero.
    ZeroAmount,
    /// The amount is above the 21 million bitcoin that can ever exist.
    TooMuchMoney,
    /// The fourth field is neither `p2wpkh` nor `p2pkh`.
    Kind,
}

impl fmt::Display for UtxoParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UtxoParseError::Shape => "expected TXID:VOUT:AMOUNT_SAT or TXID:VOUT:AMOUNT_SAT:KIND",
            UtxoParseError::Txid => "malformed txid: expected 64 hexadecimal digits",
            UtxoParseError::Vout => {
                "malformed output index: expected a number from 0 to 4294967295"
            }
            UtxoParseError::Amount => "malformed amount: expected a whole number of satoshis",
            UtxoParseError::ZeroAmount => "amount is zero",
            UtxoParseError::TooMuchMoney => "amount is above 21 million bitcoin",
            UtxoParseError::Kind => "unknown output kind: expected p2wpkh or p2pkh",
        })
    }
}

impl core::error::Error for UtxoParseError {}

impl FromStr for Utxo {
    type Err = UtxoParseError;

    fn from_str(s: &str) -> Result<Utxo, UtxoParseError> {
        let fields: Vec<&str> = s.split(':').collect();
        let (txid, vout, amount, kind) = match fields.as_slice() {
            [t, v, a] => (*t, *v, *a, None),
            [t, v, a, k] => (*t, *v, *a, Some(*k)),
            _ => return Err(UtxoParseError::Shape),
        };
        // Txid::from_str accepts exactly 64 hex digits; check the shape here
        // anyway so that the error is ours whatever the library accepts.
        if txid.len() != 64 || !txid.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(UtxoParseError::Txid);
        }
        let txid = Txid::from_str(txid).map_err(|_| UtxoParseError::Txid)?;
        if vout.is_empty() || !vout.bytes().all(|b| b.is_ascii_digit()) {
            return Err(UtxoParseError::Vout);
        }
        let vout = vout.parse::<u32>().map_err(|_| UtxoParseError::Vout)?;
        if amount.is_empty() || !amount.bytes().all(|b| b.is_ascii_digit()) {
            return Err(UtxoParseError::Amount);
        }
        let sat = amount
            .parse::<u64>()
            .map_err(|_| UtxoParseError::TooMuchMoney)?;
        if sat == 0 {
            return Err(UtxoParseError::ZeroAmount);
        }
        let amount = Amount::from_sat(sat);
        if amount > Amount::MAX_MONEY {
            return Err(UtxoParseError::TooMuchMoney);
        }
        let kind = match kind {
            None => OutputKind::P2wpkh,
            Some(k) if k.eq_ignore_ascii_case("p2wpkh") => OutputKind::P2wpkh,
            Some(k) if k.eq_ignore_ascii_case("p2pkh") => OutputKind::P2pkh,
            Some(_) => return Err(UtxoParseError::Kind),
        };
        Ok(Utxo {
            outpoint: OutPoint { txid, vout },
            amount,
            kind,
        })
    }
}

impl fmt::Display for Utxo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}:{}",
            self.outpoint.txid,
            self.outpoint.vout,
            self.amount.to_sat(),
            self.kind
        )
    }
}

/// A fee rate in satoshis per virtual byte, with up to three decimals
/// (`2`, `1.5`, `0.25`), kept exactly as millisatoshis per vbyte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FeeRate {
    msat_per_vb: u64,
}

/// Why a string is not a fee rate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FeeRateParseError {
    /// Not digits with at most one `.` and three decimals.
    Malformed,
    /// Zero: no node relays a transaction that pays nothing.
    Zero,
    /// Too large to compute with (far beyond any `--force`d rate).
    TooLarge,
}

impl fmt::Display for FeeRateParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FeeRateParseError::Malformed => {
                "expected a fee rate in sat/vB such as 2 or 1.5 (at most three decimals)"
            }
            FeeRateParseError::Zero => "the fee rate must be above zero",
            FeeRateParseError::TooLarge => "the fee rate is absurdly large",
        })
    }
}

impl core::error::Error for FeeRateParseError {}

impl FeeRate {
    /// Largest rate accepted at all (with `--force`): 10 million sat/vB. The
    /// bound keeps every fee computation inside `u64` without a second thought.
    const MAX_MSAT_PER_VB: u64 = 10_000_000_000;

    /// A whole number of sat/vB.
    pub const fn from_sat_per_vb(sat: u64) -> FeeRate {
        FeeRate {
            msat_per_vb: sat.saturating_mul(1000),
        }
    }

    /// The fee for `vsize` virtual bytes, rounded up to a whole satoshi.
    pub fn fee_for(self, vsize: u64) -> Amount {
        let msat = u128::from(self.msat_per_vb) * u128::from(vsize);
        Amount::from_sat(u64::try_from(msat.div_ceil(1000)).unwrap_or(u64::MAX))
    }

    fn above_sat_per_vb(self, sat: u64) -> bool {
        self.msat_per_vb > sat.saturating_mul(1000)
    }
}

impl FromStr for FeeRate {
    type Err = FeeRateParseError;

    fn from_str(s: &str) -> Result<FeeRate, FeeRateParseError> {
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(frac) || frac.len() > 3 {
            return Err(FeeRateParseError::Malformed);
        }
        if s.ends_with('.') {
            return Err(FeeRateParseError::Malformed);
        }
        // At most 11 whole digits fit the bound below; more is "too large"
        // rather than an overflow.
        let whole: u64 = if whole.trim_start_matches('0').len() > 11 {
            return Err(FeeRateParseError::TooLarge);
        } else {
            whole.parse().map_err(|_| FeeRateParseError::Malformed)?
        };
        let mut frac_msat: u64 = 0;
        for (i, b) in frac.bytes().enumerate() {
            frac_msat += u64::from(b - b'0') * [100, 10, 1][i];
        }
        let msat_per_vb = whole * 1000 + frac_msat;
        if msat_per_vb == 0 {
            return Err(FeeRateParseError::Zero);
        }
        if msat_per_vb > FeeRate::MAX_MSAT_PER_VB {
            return Err(FeeRateParseError::TooLarge);
        }
        Ok(FeeRate { msat_per_vb })
    }
}

impl fmt::Display for FeeRate {
    /// `2`, `1.5`, `0.125`: as typed, without trailing zeros.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.msat_per_vb / 1000;
        let frac = self.msat_per_vb % 1000;
        if frac == 0 {
            write!(f, "{whole} sat/vB")
        } else {
            let text = alloc::format!("{frac:03}");
            write!(f, "{whole}.{} sat/vB", text.trim_end_matches('0'))
        }
    }
}

/// What to sweep, where to, and at what fee.
#[derive(Debug, Clone)]
pub struct SweepRequest {
    /// The prize key's unspent outputs to spend (all of them go).
    pub utxos: Vec<Utxo>,
    /// The destination, checked against the key's network.
    pub to: Address<NetworkUnchecked>,
    /// The fee rate to pay.
    pub fee_rate: FeeRate,
    /// Accept a fee rate above [`MAX_FEE_RATE_SAT_PER_VB`] or a fee above
    /// [`MAX_FEE_PERCENT`] of the amount.
    pub force: bool,
}

/// A signed sweep, ready to broadcast.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// The signed transaction.
    pub tx: Transaction,
    /// The destination, checked for the key's network.
    pub to: Address,
    /// Sum of the inputs.
    pub input_total: Amount,
    /// What the destination receives.
    pub sent: Amount,
    /// What the miner receives: `input_total - sent`.
    pub fee: Amount,
}

impl Sweep {
    /// The transaction id (what explorers show).
    pub fn txid(&self) -> Txid {
        self.tx.compute_txid()
    }

    /// The transaction's virtual size in vbytes (BIP 141).
    pub fn vsize(&self) -> u64 {
        self.tx.vsize() as u64
    }

    /// The transaction as consensus-encoded hex, what `sendrawtransaction`
    /// and explorers' broadcast forms take.
    pub fn hex(&self) -> String {
        serialize_hex(&self.tx)
    }
}

/// Why `sweep` made no transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SweepError {
    /// No unspent output was listed.
    NoUtxos,
    /// The same output is listed twice (the transaction would be invalid).
    DuplicateUtxo(OutPoint),
    /// The listed amounts add up to more than 21 million bitcoin.
    TooMuchMoney,
    /// The destination address belongs to another network.
    WrongNetwork(WrongNetwork),
    /// So many inputs that the transaction is above the standard weight
    /// limit and no node would relay it: sweep in several batches.
    TooHeavy {
        /// The predicted weight in weight units.
        weight: u64,
    },
    /// The fee rate is above [`MAX_FEE_RATE_SAT_PER_VB`] and `force` is off.
    FeeRateTooHigh(FeeRate),
    /// The fee is above [`MAX_FEE_PERCENT`] of the amount and `force` is off.
    FeeTooHigh {
        /// The fee the rate gives.
        fee: Amount,
        /// The amount swept.
        amount: Amount,
    },
    /// What is left after the fee is below the destination's dust limit (or
    /// nothing is left at all): the output would not be relayed.
    BelowDust {
        /// The amount swept.
        amount: Amount,
        /// The fee the rate gives.
        fee: Amount,
        /// The smallest output the destination's script may carry.
        dust_limit: Amount,
    },
    /// The signer could not sign.
    Signer(SignerError),
}

impl fmt::Display for SweepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SweepError::NoUtxos => f.write_str("nothing to sweep: no --utxo given"),
            SweepError::DuplicateUtxo(o) => write!(f, "output {o} is listed twice"),
            SweepError::TooMuchMoney => {
                f.write_str("the listed amounts add up to more than 21 million bitcoin")
            }
            SweepError::WrongNetwork(w) => w.fmt(f),
            SweepError::TooHeavy { weight } => write!(
                f,
                "too many outputs for one transaction: {weight} weight units is above the \
                 standard limit of {MAX_STANDARD_TX_WEIGHT}; sweep them in several batches"
            ),
            SweepError::FeeRateTooHigh(rate) => write!(
                f,
                "fee rate {rate} is above {MAX_FEE_RATE_SAT_PER_VB} sat/vB (did you mean \
                 sat/kvB?); pass --force if you really mean it"
            ),
            SweepError::FeeTooHigh { fee, amount } => write!(
                f,
                "the fee, {} sat, is more than {MAX_FEE_PERCENT} % of the {} sat swept; pass \
                 --force if you really mean it",
                fee.to_sat(),
                amount.to_sat()
            ),
            SweepError::BelowDust {
                amount,
                fee,
                dust_limit,
            } => match amount.checked_sub(*fee) {
                Some(left) => write!(
                    f,
                    "amount below dust after the fee: {} sat swept - {} sat fee leaves {} sat, \
                     below the destination's dust limit of {} sat",
                    amount.to_sat(),
                    fee.to_sat(),
                    left.to_sat(),
                    dust_limit.to_sat()
                ),
                None => write!(
                    f,
                    "amount below dust after the fee: the fee, {} sat, is more than the {} sat \
                     swept",
                    fee.to_sat(),
                    amount.to_sat()
                ),
            },
            SweepError::Signer(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for SweepError {}

/// Builds and signs the sweep transaction: every listed output of the
/// prize key, to one address.
///
/// The operator lists the prize's unspent outputs (from a block explorer or
/// their own node) as `TXID:VOUT:AMOUNT_SAT`, names a destination and a fee
/// rate, and gets back one signed transaction that moves everything, less the
/// fee, to the destination. Nothing is broadcast: that is the operator's
/// business, with whatever node or service they trust.
///
/// The transaction is version 2, lock time 0, and every input signals
/// replace-by-fee (BIP 125), so a sweep stuck at too low a fee is replaced by
/// running `sweep` again with a higher rate.
///
/// Checks, in order: at least one output, no duplicates, a total within 21
/// million bitcoin, the destination's network, the fee rate limit, the
/// standard weight limit, dust after the fee, and the fee share. The fee is
/// the rate times the transaction's predicted size, rounded up; the
/// prediction assumes the largest signatures (72 bytes), so the real rate is
/// never below the one asked for.
pub fn sweep(key: &PrizeKey, request: &SweepRequest) -> Result<Sweep, SweepError> {
    if request.utxos.is_empty() {
        return Err(SweepError::NoUtxos);
    }
    for (i, u) in request.utxos.iter().enumerate() {
        if request.utxos[..i].iter().any(|v| v.outpoint == u.outpoint) {
            return Err(SweepError::DuplicateUtxo(u.outpoint));
        }
    }
    let input_total = request
        .utxos
        .iter()
        .try_fold(Amount::ZERO, |sum, u| sum.checked_add(u.amount))
        .filter(|sum| *sum <= Amount::MAX_MONEY)
        .ok_or(SweepError::TooMuchMoney)?;
    let to =
        require_network(request.to.clone(), key.network()).map_err(SweepError::WrongNetwork)?;
    if !request.force && request.fee_rate.above_sat_per_vb(MAX_FEE_RATE_SAT_PER_VB) {
        return Err(SweepError::FeeRateTooHigh(request.fee_rate));
    }

    let destination = to.script_pubkey();
    let weight = predict_weight(
        request.utxos.iter().map(|u| match u.kind {
            // Signatures of at most 72 bytes (sighash byte included).
            OutputKind::P2wpkh => InputWeightPrediction::P2WPKH_MAX,
            OutputKind::P2pkh => InputWeightPrediction::P2PKH_COMPRESSED_MAX,
        }),
        [destination.len()],
    );
    if weight.to_wu() > u64::from(MAX_STANDARD_TX_WEIGHT) {
        return Err(SweepError::TooHeavy {
            weight: weight.to_wu(),
        });
    }
    let fee = request.fee_rate.fee_for(weight.to_vbytes_ceil());
    let dust_limit = destination.minimal_non_dust();
    let sent = match input_total.checked_sub(fee) {
        Some(sent) if sent >= dust_limit => sent,
        _ => {
            return Err(SweepError::BelowDust {
                amount: input_total,
                fee,
                dust_limit,
            });
        }
    };
    // fee / amount > 2 %, in integers: fee * 100 > amount * 2.
    if !request.force
        && u128::from(fee.to_sat()) * 100
            > u128::from(input_total.to_sat()) * u128::from(MAX_FEE_PERCENT)
    {
        return Err(SweepError::FeeTooHigh {
            fee,
            amount: input_total,
        });
    }

    let mut tx = Transaction {
        version: Version::TWO,
        lock_time: absolute::LockTime::ZERO,
        input: request
            .utxos
            .iter()
            .map(|u| TxIn {
                previous_output: u.outpoint,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                witness: Witness::new(),
            })
            .collect(),
        output: alloc::vec![TxOut {
            value: sent,
            script_pubkey: destination,
        }],
    };
    sign_inputs(key, &mut tx, &request.utxos).map_err(SweepError::Signer)?;
    Ok(Sweep {
        tx,
        to,
        input_total,
        sent,
        fee,
    })
}

/// Signs every input of `tx` (which spends `utxos`, in order) with the prize
/// key, SIGHASH_ALL.
fn sign_inputs(key: &PrizeKey, tx: &mut Transaction, utxos: &[Utxo]) -> Result<(), SignerError> {
    let signer = Signer::new(key)?;
    let public = signer.public_key();
    let p2wpkh = ScriptBuf::new_p2wpkh(&public.wpubkey_hash());
    let p2pkh = ScriptBuf::new_p2pkh(&public.pubkey_hash());

    // All sighashes first (the cache borrows the unsigned transaction),
    // then the scripts and witnesses.
    let mut signatures = Vec::with_capacity(utxos.len());
    {
        let mut cache = SighashCache::new(&*tx);
        for (index, utxo) in utxos.iter().enumerate() {
            let script = match utxo.kind {
                OutputKind::P2wpkh => SighashScript::P2wpkh(&p2wpkh),
                OutputKind::P2pkh => SighashScript::Legacy(&p2pkh),
            };
            let digest = sighash_all(&mut cache, index, script, utxo.amount)?;
            signatures.push(ecdsa::Signature {
                signature: signer.sign(digest)?,
                sighash_type: EcdsaSighashType::All,
            });
        }
    }
    for ((input, utxo), signature) in tx.input.iter_mut().zip(utxos).zip(&signatures) {
        match utxo.kind {
            OutputKind::P2wpkh => input.witness = Witness::p2wpkh(signature, &public.0),
            OutputKind::P2pkh => {
                input.script_sig = ScriptBuf::builder()
                    .push_slice(signature.serialize())
                    .push_key(&bitcoin::PublicKey::new(public.0))
                    .into_script();
            }
        }
    }
    Ok(())
}
