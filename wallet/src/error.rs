//! Errors of loading and generating a prize key.
//!
//! No variant carries secret material: at most one offending character (which
//! is, by definition, not part of a valid key), a length or a version byte.

use core::fmt;

use crate::Network;

/// Why a WIF string (or 32 raw bytes) is not a usable prize key.
///
/// Checks run in this order, so a mistyped key reports the problem a person
/// needs to fix first: empty, too long, alphabet, minimum length and
/// checksum (nothing inside the payload is trusted before the checksum
/// matches), version byte, layout (length and compression flag), network
/// (for [`PrizeKey::from_wif_for`](crate::PrizeKey::from_wif_for)), scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WifError {
    /// Nothing but whitespace (an empty key file or boot module).
    Empty,
    /// Longer than any WIF: refused before decoding, which is quadratic in
    /// the input length and would otherwise let a huge boot module stall boot.
    TooLong {
        /// Length of the input in bytes, surrounding whitespace removed.
        chars: usize,
    },
    /// A character outside the bitcoin base58 alphabet (which has no `0`, `O`,
    /// `I` or `l`, and no whitespace inside a key).
    InvalidBase58 {
        /// Byte offset of the character, counted from the first
        /// non-whitespace byte of the input.
        index: usize,
        /// The offending character.
        character: char,
    },
    /// Decodes to the wrong number of bytes for a WIF key.
    WrongLength {
        /// Number of bytes the base58 string decodes to (version and checksum
        /// included); a compressed-key WIF decodes to 38.
        length: usize,
    },
    /// The 4-byte double-SHA256 checksum does not match: a typo or a
    /// truncated copy.
    BadChecksum,
    /// The version byte is neither 0x80 (mainnet) nor 0xEF (test networks):
    /// this is not a WIF private key (perhaps an address or an extended key).
    UnknownVersion {
        /// The first decoded byte.
        version: u8,
    },
    /// A valid WIF, but for another network than the one the caller asked for
    /// (for example a mainnet key given to a regtest piñata).
    NetworkMismatch {
        /// The network the caller asked for.
        expected: Network,
        /// The version byte found in the WIF.
        version: u8,
    },
    /// A WIF for an uncompressed public key. The piñata publishes only
    /// compressed-key addresses (P2WPKH requires a compressed key, and every
    /// wallet since 2012 makes compressed keys), so an uncompressed key would
    /// show addresses that are not the ones its owner funded: refused.
    UncompressedKey,
    /// The byte after the 32 key bytes is not the compressed-key marker 0x01.
    InvalidCompressionFlag {
        /// The byte found instead of 0x01.
        flag: u8,
    },
    /// The 32 bytes are zero or not below the secp256k1 group order, so they
    /// are not a private key.
    InvalidScalar,
}

impl fmt::Display for WifError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WifError::Empty => f.write_str("no WIF key: the input is empty"),
            WifError::TooLong { chars } => write!(
                f,
                "not a WIF key: {chars} bytes long, a compressed-key WIF is 52 characters"
            ),
            WifError::InvalidBase58 { index, character } => write!(
                f,
                "not a WIF key: {character:?} at position {index} is not a base58 character"
            ),
            WifError::WrongLength { length } => write!(
                f,
                "not a WIF key: decodes to {length} bytes, a compressed-key WIF decodes to 38 \
                 (version, 32-byte key, 0x01 flag, 4-byte checksum)"
            ),
            WifError::BadChecksum => {
                f.write_str("WIF checksum mismatch: the key is mistyped or truncated")
            }
            WifError::UnknownVersion { version } => write!(
                f,
                "not a WIF private key: version byte {version:#04x}, expected 0x80 (mainnet) \
                 or 0xef (testnet, signet, regtest)"
            ),
            WifError::NetworkMismatch { expected, version } => write!(
                f,
                "this is a {} key (WIF version byte {version:#04x}) but network {expected} \
                 was requested",
                if *version == Network::Bitcoin.wif_version() {
                    "mainnet"
                } else {
                    "test-network (testnet, signet or regtest)"
                }
            ),
            WifError::UncompressedKey => f.write_str(
                "uncompressed-key WIF is not supported: the piñata derives only \
                 compressed-key addresses (P2WPKH, P2PKH), which would not match the \
                 addresses of an uncompressed key; export the key in compressed form",
            ),
            WifError::InvalidCompressionFlag { flag } => write!(
                f,
                "not a WIF key: compression flag is {flag:#04x}, expected 0x01"
            ),
            WifError::InvalidScalar => {
                f.write_str("invalid secp256k1 private key: zero or not below the curve order")
            }
        }
    }
}

impl core::error::Error for WifError {}

/// Why [`PrizeKey::generate`](crate::PrizeKey::generate) made no key.
///
/// Generation fails closed: no key is ever made from data the entropy source
/// did not vouch for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GenerateError<E> {
    /// The entropy source reported an error; it is passed on unchanged.
    Entropy(E),
    /// The source succeeded yet, attempt after attempt, gave bytes that are
    /// not a private key (zero or at least the curve order). A working source
    /// does that with probability about 2^-128 per attempt, so the source is
    /// broken (for example it never writes the buffer).
    BrokenEntropy,
}

impl<E: fmt::Display> fmt::Display for GenerateError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GenerateError::Entropy(e) => write!(f, "entropy source failed: {e}"),
            GenerateError::BrokenEntropy => f.write_str(
                "entropy source looks broken: it repeatedly produced bytes that are \
                 not a valid private key; refusing to generate a key",
            ),
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for GenerateError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            GenerateError::Entropy(e) => Some(e),
            GenerateError::BrokenEntropy => None,
        }
    }
}
