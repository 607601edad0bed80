//! ML-KEM-768 (FIPS 203) behind a four-function seam: the post-quantum half
//! of [`crate::hybrid`].
//!
//! The crate that does the arithmetic is chosen here and nowhere else, so a
//! change of implementation is a change of this file (see
//! `docs/DECISIONS.md`, "ML-KEM").
//!
//! Randomness is always passed in (a 64-byte key-generation seed, a 32-byte
//! encapsulation message): the caller draws it from the provider's one
//! [`SecureRandom`](rustls::crypto::SecureRandom), so a failing source fails
//! the handshake instead of being replaced by another generator.

use ml_kem::{B32, Decapsulate, EncapsulationKey, KeyExport, MlKem768, Seed};
use zeroize::{Zeroize, Zeroizing};

/// Bytes of an encapsulation key (the client's ML-KEM share).
pub const ENCAPSULATION_KEY_LEN: usize = 1184;
/// Bytes of a ciphertext (the server's ML-KEM share).
pub const CIPHERTEXT_LEN: usize = 1088;
/// Bytes of the shared secret.
pub const SHARED_SECRET_LEN: usize = 32;
/// Bytes of randomness for one key pair (FIPS 203 `d || z`).
pub const KEY_GENERATION_SEED_LEN: usize = 64;
/// Bytes of randomness for one encapsulation (FIPS 203 `m`).
pub const ENCAPSULATION_SEED_LEN: usize = 32;

/// A shared secret, wiped on drop.
pub type SharedSecret = Zeroizing<[u8; SHARED_SECRET_LEN]>;

/// An ML-KEM-768 decapsulation key (the client's secret for one
/// handshake); `ml-kem` wipes it on drop.
pub struct DecapsulationKey(ml_kem::DecapsulationKey<MlKem768>);

/// A fresh key pair from `seed`: the decapsulation key is returned, the
/// encapsulation key written to `encapsulation_key`.
pub fn generate(
    seed: &[u8; KEY_GENERATION_SEED_LEN],
    encapsulation_key: &mut [u8; ENCAPSULATION_KEY_LEN],
) -> DecapsulationKey {
    let mut seed = Zeroizing::new(Seed::from(*seed));
    let key = ml_kem::DecapsulationKey::<MlKem768>::from_seed(*seed);
    seed.zeroize();
    encapsulation_key.copy_from_slice(&key.encapsulation_key().to_bytes());
    DecapsulationKey(key)
}

/// Encapsulates to a peer's `encapsulation_key` with the randomness `seed`,
/// writing the ciphertext; `None` if the key has the wrong length or fails
/// FIPS 203's encapsulation key check (coefficients not reduced mod q).
pub fn encapsulate(
    encapsulation_key: &[u8],
    seed: &[u8; ENCAPSULATION_SEED_LEN],
    ciphertext: &mut [u8; CIPHERTEXT_LEN],
) -> Option<SharedSecret> {
    let key = ml_kem::Key::<EncapsulationKey<MlKem768>>::try_from(encapsulation_key).ok()?;
    let key = EncapsulationKey::<MlKem768>::new(&key).ok()?;
    let mut message = Zeroizing::new(B32::from(*seed));
    let (ct, shared) = key.encapsulate_deterministic(&message);
    message.zeroize();
    ciphertext.copy_from_slice(&ct);
    Some(Zeroizing::new(shared.into()))
}

/// Decapsulates a peer's `ciphertext`; `None` if it has the wrong length.
/// (A well-formed but wrong ciphertext yields an unrelated secret, as
/// FIPS 203's implicit rejection specifies, and the handshake then fails on
/// its Finished message.)
pub fn decapsulate(key: &DecapsulationKey, ciphertext: &[u8]) -> Option<SharedSecret> {
    let shared = key.0.decapsulate_slice(ciphertext).ok()?;
    Some(Zeroizing::new(shared.into()))
}
