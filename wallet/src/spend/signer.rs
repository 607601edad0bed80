//! The prize key as a libsecp256k1 signing key.
//!
//! Signatures are made by libsecp256k1 (through rust-bitcoin's `secp256k1`),
//! Bitcoin Core's own signing library: deterministic RFC 6979 nonces and
//! low-S, so a signature is at most 72 bytes with its sighash byte. There is
//! no low-R grinding (Bitcoin Core's habit since 0.17, which saves a byte
//! half the time): the BIP 174 signer test vectors are plain RFC 6979, and
//! matching them byte for byte is worth more than a quarter vbyte.
//! Each signature is verified against the public key before it is used, and
//! the public key libsecp256k1 derives is checked against the one `k256`
//! derived when the WIF was loaded: two independent implementations must
//! agree before anything is signed.

use core::borrow::Borrow;
use core::fmt;

use bitcoin::hashes::Hash as _;
use bitcoin::secp256k1::{All, Message, Secp256k1, SecretKey, ecdsa};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::{Amount, CompressedPublicKey, Script, Transaction};
use zeroize::Zeroizing;

use crate::PrizeKey;

/// The prize key, ready to sign. Not `Clone`: the secret exists once.
///
/// `secp256k1::SecretKey` is `Copy` and cannot wipe itself on drop, so this
/// wrapper erases it when dropped; the bytes it was made from live in a
/// [`Zeroizing`] buffer only for the duration of [`Signer::new`].
pub(crate) struct Signer {
    secp: Secp256k1<All>,
    secret: SecretKey,
    public: CompressedPublicKey,
}

/// Why the signer could not be set up or refused to hand out a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignerError {
    /// The OS RNG failed while seeding libsecp256k1's side-channel blinding.
    Entropy,
    /// libsecp256k1 and `k256` disagree about the public key, or a fresh
    /// signature did not verify: nothing is signed with a key or library
    /// that misbehaves.
    SelfCheck,
}

impl fmt::Display for SignerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignerError::Entropy => {
                f.write_str("the operating system's random number generator failed")
            }
            SignerError::SelfCheck => f.write_str(
                "signing self-check failed (libsecp256k1 and k256 disagree, or a signature \
                 did not verify); nothing was signed",
            ),
        }
    }
}

impl core::error::Error for SignerError {}

impl Signer {
    pub(crate) fn new(key: &PrizeKey) -> Result<Signer, SignerError> {
        let bytes = key.secret_bytes();
        // Cannot fail for a PrizeKey (k256 already checked 0 < k < n); a
        // disagreement is reported as a self-check failure, not a panic.
        let secret = SecretKey::from_slice(&bytes[..]).map_err(|_| SignerError::SelfCheck)?;
        drop(bytes);

        let mut secp = Secp256k1::new();
        // Blinding against timing and power side channels; the signatures
        // themselves stay deterministic (RFC 6979).
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut seed[..]).map_err(|_| SignerError::Entropy)?;
        secp.seeded_randomize(&seed);

        let signer = Signer {
            public: CompressedPublicKey(secret.public_key(&secp)),
            secp,
            secret,
        };
        if signer.public.to_bytes() != key.public_key_compressed() {
            // Dropping `signer` erases the secret.
            return Err(SignerError::SelfCheck);
        }
        Ok(signer)
    }

    /// The compressed public key (the one the piñata's addresses hash).
    pub(crate) fn public_key(&self) -> CompressedPublicKey {
        self.public
    }

    /// Signs a 32-byte sighash (RFC 6979) and verifies the result.
    pub(crate) fn sign(&self, sighash: [u8; 32]) -> Result<ecdsa::Signature, SignerError> {
        let message = Message::from_digest(sighash);
        let signature = self.secp.sign_ecdsa(&message, &self.secret);
        self.secp
            .verify_ecdsa(&message, &signature, &self.public.0)
            .map_err(|_| SignerError::SelfCheck)?;
        Ok(signature)
    }
}

impl Drop for Signer {
    fn drop(&mut self) {
        self.secret.non_secure_erase();
    }
}

/// Which of the three ECDSA sighash algorithms an input needs, with the
/// script it hashes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SighashScript<'a> {
    /// BIP 143 for P2WPKH: the witness program (native, or the P2SH redeem
    /// script); rust-bitcoin derives the script code from it.
    P2wpkh(&'a Script),
    /// BIP 143 for P2WSH: the witness script.
    P2wsh(&'a Script),
    /// The original algorithm: the script code (P2PKH script, redeem script
    /// or bare script).
    Legacy(&'a Script),
}

/// The SIGHASH_ALL digest of input `index` spending `amount` (BIP 143
/// commits to it; the legacy algorithm ignores it).
pub(crate) fn sighash_all<T: Borrow<Transaction>>(
    cache: &mut SighashCache<T>,
    index: usize,
    script: SighashScript<'_>,
    amount: Amount,
) -> Result<[u8; 32], SignerError> {
    let all = EcdsaSighashType::All;
    // The errors are "index out of range" and "not a P2WPKH program", which
    // the callers rule out: a self-check failure if they ever happen.
    match script {
        SighashScript::P2wpkh(program) => cache
            .p2wpkh_signature_hash(index, program, amount, all)
            .map(|h| h.to_byte_array())
            .map_err(|_| SignerError::SelfCheck),
        SighashScript::P2wsh(witness_script) => cache
            .p2wsh_signature_hash(index, witness_script, amount, all)
            .map(|h| h.to_byte_array())
            .map_err(|_| SignerError::SelfCheck),
        SighashScript::Legacy(code) => cache
            .legacy_signature_hash(index, code, all.to_u32())
            .map(|h| h.to_byte_array())
            .map_err(|_| SignerError::SelfCheck),
    }
}
