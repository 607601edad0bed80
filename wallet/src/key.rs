//! The prize key: WIF decoding and encoding, generation, addresses.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use k256::SecretKey;
use k256::elliptic_curve::sec1::ToSec1Point;
use ripemd::Ripemd160;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::{GenerateError, Network, WifError};

/// Bytes a compressed-key WIF decodes to: version, key, 0x01 flag, checksum.
const WIF_COMPRESSED_LEN: usize = 1 + 32 + 1 + 4;
/// Bytes an uncompressed-key WIF decodes to (no flag byte).
const WIF_UNCOMPRESSED_LEN: usize = 1 + 32 + 4;
/// The byte after the key that marks "use the compressed public key".
const COMPRESSED_FLAG: u8 = 0x01;
/// Longest input decoded at all. A WIF is 51 or 52 characters; the bound keeps
/// base58 decoding (quadratic) cheap and its buffer on the stack whatever the
/// boot module holds. Each base58 character yields at most one byte, so the
/// decode buffer below never overflows.
const MAX_WIF_CHARS: usize = 100;
/// Base58 text of 38 bytes is at most 52 characters; 64 leaves room.
const MAX_ENCODED_WIF: usize = 64;
/// Attempts [`PrizeKey::generate`] makes before calling the source broken.
const GENERATE_ATTEMPTS: usize = 8;

const BASE58_ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// The piñata's prize: a secp256k1 private key on a given [`Network`].
///
/// Only compressed public keys are used (see [`WifError::UncompressedKey`]).
/// The secret scalar is wiped from memory when the key is dropped (k256's
/// `SecretKey` zeroizes on drop), and every temporary copy this crate makes
/// (decode buffers, WIF text, the wire secret) is wrapped in [`Zeroizing`].
/// The type is deliberately not `Clone`, so the secret exists once.
///
/// [`Debug`](fmt::Debug) shows the network and address only, so logging a
/// `PrizeKey` by mistake does not leak it.
pub struct PrizeKey {
    network: Network,
    secret: SecretKey,
    /// Derived once at construction; public, so it needs no wiping.
    public: [u8; 33],
}

impl PrizeKey {
    /// Decodes a compressed-key WIF string.
    ///
    /// Surrounding ASCII whitespace is ignored (key files end in a newline).
    /// A mainnet WIF (version 0x80) gives [`Network::Bitcoin`]; a test WIF
    /// (0xEF) gives [`Network::Testnet`], because testnet, signet and regtest
    /// keys are byte-for-byte identical. A caller that knows it runs on signet
    /// or regtest uses [`PrizeKey::from_wif_for`] instead.
    pub fn from_wif(wif: &str) -> Result<PrizeKey, WifError> {
        let (version, key) = decode_wif(wif)?;
        let network = if version == Network::Bitcoin.wif_version() {
            Network::Bitcoin
        } else {
            Network::Testnet
        };
        PrizeKey::from_secret(network, &key)
    }

    /// Decodes a compressed-key WIF string for a network the caller names
    /// (the hosted runner's `--network`, or the unikernel's configuration).
    ///
    /// The WIF's version byte must belong to `network`, otherwise
    /// [`WifError::NetworkMismatch`]: a mainnet key on a regtest piñata, or the
    /// reverse, is a configuration mistake worth stopping for.
    pub fn from_wif_for(wif: &str, network: Network) -> Result<PrizeKey, WifError> {
        let (version, key) = decode_wif(wif)?;
        if version != network.wif_version() {
            return Err(WifError::NetworkMismatch {
                expected: network,
                version,
            });
        }
        PrizeKey::from_secret(network, &key)
    }

    /// Makes a key from 32 big-endian secret bytes.
    ///
    /// Rejects zero and values not below the secp256k1 group order with
    /// [`WifError::InvalidScalar`]. This function's own copy of `bytes` is
    /// wiped; the caller's copy is the caller's to wipe.
    pub fn from_secret_bytes(network: Network, bytes: [u8; 32]) -> Result<PrizeKey, WifError> {
        let bytes = Zeroizing::new(bytes);
        PrizeKey::from_secret(network, &bytes)
    }

    /// Generates a fresh key from the caller's entropy source.
    ///
    /// `fill` must fill the whole slice with uniformly random bytes (the
    /// appliance's DRBG, or the OS RNG in the CLI). A value that is not a valid
    /// scalar (probability about 2^-128) is drawn again. Generation fails
    /// closed: an error from `fill` is returned as [`GenerateError::Entropy`],
    /// and a source that keeps producing invalid scalars (e.g. one that never
    /// writes the buffer, leaving it zero) gives [`GenerateError::BrokenEntropy`].
    pub fn generate<E>(
        network: Network,
        fill: &mut dyn FnMut(&mut [u8]) -> Result<(), E>,
    ) -> Result<PrizeKey, GenerateError<E>> {
        let mut buf = Zeroizing::new([0u8; 32]);
        for _ in 0..GENERATE_ATTEMPTS {
            // Start from zero each time so a source that writes nothing is
            // caught (zero is not a valid key) rather than reusing old bytes.
            buf.zeroize();
            fill(&mut buf[..]).map_err(GenerateError::Entropy)?;
            if let Ok(key) = PrizeKey::from_secret(network, &buf) {
                return Ok(key);
            }
        }
        Err(GenerateError::BrokenEntropy)
    }

    fn from_secret(network: Network, bytes: &[u8; 32]) -> Result<PrizeKey, WifError> {
        // `from_slice` with exactly 32 bytes reinterprets the slice in place
        // (no extra copy) and checks 0 < k < n in constant time.
        let secret = SecretKey::from_slice(bytes).map_err(|_| WifError::InvalidScalar)?;
        let mut public = [0u8; 33];
        public.copy_from_slice(secret.public_key().to_sec1_point(true).as_bytes());
        Ok(PrizeKey {
            network,
            secret,
            public,
        })
    }

    /// The network this key's addresses and WIF are for.
    pub fn network(&self) -> Network {
        self.network
    }

    /// The key as a compressed-key WIF string (52 characters).
    pub fn to_wif(&self) -> Zeroizing<String> {
        let mut payload = Zeroizing::new([0u8; WIF_COMPRESSED_LEN]);
        payload[0] = self.network.wif_version();
        let secret = Zeroizing::new(self.secret.to_bytes());
        payload[1..33].copy_from_slice(&secret);
        payload[33] = COMPRESSED_FLAG;
        let checksum = checksum(&payload[..34]);
        payload[34..].copy_from_slice(&checksum);

        let mut text = Zeroizing::new([0u8; MAX_ENCODED_WIF]);
        // Cannot fail: 38 bytes need at most 52 base58 characters. Should it
        // ever fail, an empty string fails safe (the caller has nothing to leak).
        let len = bs58::encode(&payload[..])
            .onto(&mut text[..])
            .unwrap_or_default();
        // Exact capacity first so no reallocation leaves a stray copy behind.
        let mut wif = Zeroizing::new(String::with_capacity(len));
        for &b in &text[..len] {
            // base58 output is ASCII, so byte == char.
            wif.push(char::from(b));
        }
        wif
    }

    /// Exactly the bytes the piñata writes to a peer that passes mutual TLS:
    /// the WIF followed by a newline.
    pub fn wire_secret(&self) -> Zeroizing<Vec<u8>> {
        let wif = self.to_wif();
        let mut out = Zeroizing::new(Vec::with_capacity(wif.len() + 1));
        out.extend_from_slice(wif.as_bytes());
        out.push(b'\n');
        out
    }

    /// The 32 secret bytes, for the `spend` module's signer only (the CLI's
    /// `sweep` and `sign-psbt`). Wiped on drop; never part of the public API.
    #[cfg(feature = "cli")]
    pub(crate) fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        let secret = Zeroizing::new(self.secret.to_bytes());
        out.copy_from_slice(&secret);
        out
    }

    /// The SEC1 compressed public key (0x02/0x03 prefix and X coordinate).
    pub fn public_key_compressed(&self) -> [u8; 33] {
        self.public
    }

    /// HASH160 (RIPEMD-160 of SHA-256) of the compressed public key: the
    /// payload of both P2WPKH and P2PKH addresses.
    fn pubkey_hash(&self) -> [u8; 20] {
        Ripemd160::digest(Sha256::digest(self.public)).into()
    }

    /// The native segwit v0 (P2WPKH, BIP-173 bech32) address: `bc1q…` on
    /// mainnet, `tb1q…` on testnet and signet, `bcrt1q…` on regtest. This is
    /// the address the piñata shows on its page.
    pub fn p2wpkh_address(&self) -> String {
        let mut s = String::with_capacity(self.network.bech32_hrp().len() + 40);
        // Writing to a String cannot fail, and a 20-byte v0 program is always
        // valid, so the "unchecked" encoder is exact here.
        let _ = bech32::segwit::encode_lower_to_fmt_unchecked(
            &mut s,
            self.network.hrp(),
            bech32::segwit::VERSION_0,
            &self.pubkey_hash(),
        );
        s
    }

    /// The legacy base58check (P2PKH) address of the compressed key: `1…` on
    /// mainnet, `m…`/`n…` elsewhere. Shown because older wallets and explorers
    /// know it; it holds the same key.
    pub fn p2pkh_address(&self) -> String {
        let mut payload = [0u8; 25];
        payload[0] = self.network.p2pkh_version();
        payload[1..21].copy_from_slice(&self.pubkey_hash());
        let checksum = checksum(&payload[..21]);
        payload[21..].copy_from_slice(&checksum);
        let mut text = [0u8; 40];
        // 25 bytes need at most 35 characters: cannot fail.
        let len = bs58::encode(&payload[..])
            .onto(&mut text[..])
            .unwrap_or_default();
        text[..len].iter().map(|&b| char::from(b)).collect()
    }
}

impl fmt::Debug for PrizeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrizeKey")
            .field("network", &self.network)
            .field("address", &self.p2wpkh_address())
            .finish_non_exhaustive()
    }
}

/// First four bytes of SHA-256(SHA-256(data)), the base58check checksum.
fn checksum(data: &[u8]) -> [u8; 4] {
    // The inner digest of a WIF payload is secret-derived: wipe it.
    let inner = Zeroizing::new(Sha256::digest(data));
    let outer = Sha256::digest(&inner[..]);
    let mut out = [0u8; 4];
    out.copy_from_slice(&outer[..4]);
    out
}

/// Decodes and checks a compressed-key WIF, returning its version byte and
/// the 32 secret bytes (wiped on drop). The order of checks is documented on
/// [`WifError`].
fn decode_wif(wif: &str) -> Result<(u8, Zeroizing<[u8; 32]>), WifError> {
    let wif = wif.trim_ascii();
    if wif.is_empty() {
        return Err(WifError::Empty);
    }
    if wif.len() > MAX_WIF_CHARS {
        return Err(WifError::TooLong { chars: wif.len() });
    }
    // Check the alphabet ourselves so the error names the character even
    // when it is not ASCII (bs58 reports only an index for those).
    if let Some((index, character)) = wif
        .char_indices()
        .find(|&(_, c)| !u8::try_from(c).is_ok_and(|b| BASE58_ALPHABET.contains(&b)))
    {
        return Err(WifError::InvalidBase58 { index, character });
    }

    let mut buf = Zeroizing::new([0u8; MAX_WIF_CHARS]);
    // The alphabet is checked and the buffer is as long as the input, so
    // bs58 has nothing left to reject; map defensively all the same.
    let length = bs58::decode(wif)
        .onto(&mut buf[..])
        .map_err(|_| WifError::TooLong { chars: wif.len() })?;
    let decoded = &buf[..length];

    // Checksum first: a typo is the likeliest mistake, and it can turn any
    // other field into nonsense.
    if length < 5 {
        return Err(WifError::WrongLength { length });
    }
    let (body, check) = decoded.split_at(length - 4);
    if checksum(body) != check {
        return Err(WifError::BadChecksum);
    }

    let version = body[0];
    if version != Network::Bitcoin.wif_version() && version != Network::Testnet.wif_version() {
        return Err(WifError::UnknownVersion { version });
    }
    match length {
        WIF_COMPRESSED_LEN if body[33] == COMPRESSED_FLAG => {}
        WIF_COMPRESSED_LEN => return Err(WifError::InvalidCompressionFlag { flag: body[33] }),
        WIF_UNCOMPRESSED_LEN => return Err(WifError::UncompressedKey),
        _ => return Err(WifError::WrongLength { length }),
    }
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&body[1..33]);
    Ok((version, key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;

    // Well-known public test vectors only. Each was recomputed independently
    // (Python: `cryptography` for the point, hashlib for SHA-256/RIPEMD-160,
    // BIP-173 reference bech32) and matched against published sources.
    const KEY1_WIF_MAIN: &str = "KwDiBf89QgGbjEhKnhXJuH7LrciVrZi3qYjgd9M7rFU73sVHnoWn";
    const KEY1_WIF_TEST: &str = "cMahea7zqjxrtgAbB7LSGbcQUr1uX1ojuat9jZodMN87JcbXMTcA";
    const KEY1_PUB: &str = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
    // Bitcoin wiki "Wallet import format" key.
    const WIKI_SECRET: &str = "0c28fca386c7a227600b2fe50b7cae11ec86d3bf1fbe471be89827e19d72aa1d";
    const WIKI_WIF_COMPRESSED: &str = "KwdMAjGmerYanjeui5SHS7JkmpZvVipYvB2LJGU1ZxJwYvP98617";
    const WIKI_WIF_UNCOMPRESSED: &str = "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ";
    // n - 1, the largest valid scalar; its public key is -G (odd Y, 0x03).
    const N_MINUS_1_WIF: &str = "L5oLkpV3aqBjhki6LmvChTCV6odsp4SXM6FfU2Gppt5kFLaHLuZ9";

    fn hex32(s: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn key1(network: Network) -> PrizeKey {
        let mut b = [0u8; 32];
        b[31] = 1;
        PrizeKey::from_secret_bytes(network, b).unwrap()
    }

    /// Base58check-encodes arbitrary bytes, to build malformed WIFs whose
    /// checksum is right so that the check under test is the one that fires.
    fn b58check(body: &[u8]) -> String {
        let mut v = body.to_vec();
        v.extend_from_slice(&checksum(body));
        let mut buf = [0u8; 200];
        let n = bs58::encode(&v[..]).onto(&mut buf[..]).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn bip173_and_p2pkh_of_key_one() {
        let k = key1(Network::Bitcoin);
        assert_eq!(hex(&k.public_key_compressed()), KEY1_PUB);
        assert_eq!(
            k.p2wpkh_address(),
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
        );
        assert_eq!(k.p2pkh_address(), "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH");
    }

    #[test]
    fn test_network_addresses_of_key_one() {
        // tb1q… is BIP-173's own testnet vector; bcrt1q… and mrCD… are the
        // regtest/testnet encodings found in rust-bitcoin, libwally and
        // bitcoinjs test suites.
        for n in [Network::Testnet, Network::Signet] {
            let k = key1(n);
            assert_eq!(
                k.p2wpkh_address(),
                "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx"
            );
            assert_eq!(k.p2pkh_address(), "mrCDrCybB6J1vRfbwM5hemdJz73FwDBC8r");
        }
        let k = key1(Network::Regtest);
        assert_eq!(
            k.p2wpkh_address(),
            "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"
        );
        assert_eq!(k.p2pkh_address(), "mrCDrCybB6J1vRfbwM5hemdJz73FwDBC8r");
    }

    #[test]
    fn wif_round_trip_key_one() {
        let k = PrizeKey::from_wif(KEY1_WIF_MAIN).unwrap();
        assert_eq!(k.network(), Network::Bitcoin);
        assert_eq!(hex(&k.public_key_compressed()), KEY1_PUB);
        assert_eq!(k.to_wif().as_str(), KEY1_WIF_MAIN);
        assert_eq!(key1(Network::Bitcoin).to_wif().as_str(), KEY1_WIF_MAIN);

        let k = PrizeKey::from_wif(KEY1_WIF_TEST).unwrap();
        assert_eq!(k.network(), Network::Testnet);
        assert_eq!(hex(&k.public_key_compressed()), KEY1_PUB);
        assert_eq!(k.to_wif().as_str(), KEY1_WIF_TEST);
        for n in [Network::Testnet, Network::Signet, Network::Regtest] {
            assert_eq!(key1(n).to_wif().as_str(), KEY1_WIF_TEST);
        }
    }

    #[test]
    fn wif_round_trip_wiki_key() {
        let k = PrizeKey::from_wif(WIKI_WIF_COMPRESSED).unwrap();
        let expected = PrizeKey::from_secret_bytes(Network::Bitcoin, hex32(WIKI_SECRET)).unwrap();
        assert_eq!(k.public_key_compressed(), expected.public_key_compressed());
        assert_eq!(expected.to_wif().as_str(), WIKI_WIF_COMPRESSED);
        assert_eq!(k.to_wif().as_str(), WIKI_WIF_COMPRESSED);
        assert_eq!(
            hex(&k.public_key_compressed()),
            "02d0de0aaeaefad02b8bdc8a01a1b8b11c696bd3d66a2c5f10780d95b7df42645c"
        );
        assert_eq!(k.p2pkh_address(), "1LoVGDgRs9hTfTNJNuXKSpywcbdvwRXpmK");
        assert_eq!(
            k.p2wpkh_address(),
            "bc1qmy63mjadtw8nhzl69ukdepwzsyvv4yex5qlmkd"
        );
    }

    #[test]
    fn largest_scalar_is_valid() {
        let k = PrizeKey::from_wif(N_MINUS_1_WIF).unwrap();
        // -G: same X as G, odd Y.
        assert_eq!(
            hex(&k.public_key_compressed()),
            "0379be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
        );
        assert_eq!(k.p2pkh_address(), "1GrLCmVQXoyJXaPJQdqssNqwxvha1eUo2E");
        assert_eq!(k.to_wif().as_str(), N_MINUS_1_WIF);
    }

    #[test]
    fn whitespace_is_trimmed() {
        let k = PrizeKey::from_wif(&format!(" \t{KEY1_WIF_TEST}\r\n")).unwrap();
        assert_eq!(k.to_wif().as_str(), KEY1_WIF_TEST);
    }

    #[test]
    fn wire_secret_is_wif_and_newline() {
        let k = PrizeKey::from_wif(KEY1_WIF_TEST).unwrap();
        let wire = k.wire_secret();
        assert_eq!(&wire[..], format!("{KEY1_WIF_TEST}\n").as_bytes());
        assert_eq!(wire.len(), 53);
    }

    #[test]
    fn debug_does_not_print_the_key() {
        let k = PrizeKey::from_wif(KEY1_WIF_MAIN).unwrap();
        let d = format!("{k:?}");
        assert!(!d.contains(KEY1_WIF_MAIN), "{d}");
        assert!(!d.contains(&"0".repeat(63)), "{d}");
        assert!(d.contains("bitcoin") || d.contains("Bitcoin"), "{d}");
        assert!(
            d.contains("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"),
            "{d}"
        );
        let d = format!("{k:#?}");
        assert!(!d.contains(KEY1_WIF_MAIN), "{d}");
    }

    #[test]
    fn network_choice_for_test_wifs() {
        for n in [Network::Testnet, Network::Signet, Network::Regtest] {
            let k = PrizeKey::from_wif_for(KEY1_WIF_TEST, n).unwrap();
            assert_eq!(k.network(), n);
        }
        assert_eq!(
            PrizeKey::from_wif_for(KEY1_WIF_MAIN, Network::Bitcoin)
                .unwrap()
                .network(),
            Network::Bitcoin
        );
        assert_eq!(
            PrizeKey::from_wif_for(KEY1_WIF_MAIN, Network::Regtest).unwrap_err(),
            WifError::NetworkMismatch {
                expected: Network::Regtest,
                version: 0x80
            }
        );
        assert_eq!(
            PrizeKey::from_wif_for(KEY1_WIF_TEST, Network::Bitcoin).unwrap_err(),
            WifError::NetworkMismatch {
                expected: Network::Bitcoin,
                version: 0xEF
            }
        );
    }

    #[test]
    fn bad_checksum() {
        // Last character changed: still base58, same length, checksum broken.
        let mut s = KEY1_WIF_MAIN.to_string();
        s.pop();
        s.push('o');
        assert_eq!(PrizeKey::from_wif(&s).unwrap_err(), WifError::BadChecksum);
        // A character swapped in the middle.
        let s = KEY1_WIF_MAIN.replacen("Qg", "gQ", 1);
        assert_eq!(PrizeKey::from_wif(&s).unwrap_err(), WifError::BadChecksum);
    }

    #[test]
    fn bad_base58_character() {
        // '0' is not in the base58 alphabet.
        let s = KEY1_WIF_MAIN.replacen('D', "0", 1);
        assert_eq!(
            PrizeKey::from_wif(&s).unwrap_err(),
            WifError::InvalidBase58 {
                index: 2,
                character: '0'
            }
        );
        // Whitespace inside the key, and non-ASCII input, name the character.
        assert_eq!(
            PrizeKey::from_wif("Kw Di").unwrap_err(),
            WifError::InvalidBase58 {
                index: 2,
                character: ' '
            }
        );
        assert_eq!(
            PrizeKey::from_wif("Kwé").unwrap_err(),
            WifError::InvalidBase58 {
                index: 2,
                character: 'é'
            }
        );
        let e = PrizeKey::from_wif("Kwl").unwrap_err();
        assert!(e.to_string().contains("'l' at position 2"), "{e}");
    }

    #[test]
    fn wrong_length() {
        // Valid base58check, version 0x80, but a 30-byte key (36 bytes in all).
        let mut body = alloc::vec![0x80u8];
        body.extend_from_slice(&[0u8; 29]);
        body.extend_from_slice(&[1, COMPRESSED_FLAG]);
        assert_eq!(
            PrizeKey::from_wif(&b58check(&body)).unwrap_err(),
            WifError::WrongLength { length: 36 }
        );
        // One byte too many after the flag (39 bytes).
        let mut body = alloc::vec![0x80u8];
        body.extend_from_slice(&hex32(WIKI_SECRET));
        body.extend_from_slice(&[COMPRESSED_FLAG, 0]);
        assert_eq!(
            PrizeKey::from_wif(&b58check(&body)).unwrap_err(),
            WifError::WrongLength { length: 39 }
        );
        // Truncated key: checksum cannot be found, or is wrong.
        assert_eq!(
            PrizeKey::from_wif("Kw").unwrap_err(),
            WifError::WrongLength { length: 2 }
        );
        assert_eq!(
            PrizeKey::from_wif(&KEY1_WIF_MAIN[..40]).unwrap_err(),
            WifError::BadChecksum
        );
        // A bitcoin address is base58check with a different version.
        assert_eq!(
            PrizeKey::from_wif("1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH").unwrap_err(),
            WifError::UnknownVersion { version: 0x00 }
        );
        // Too long to be worth decoding.
        let long = "K".repeat(MAX_WIF_CHARS + 1);
        assert_eq!(
            PrizeKey::from_wif(&long).unwrap_err(),
            WifError::TooLong {
                chars: MAX_WIF_CHARS + 1
            }
        );
    }

    #[test]
    fn empty_input() {
        assert_eq!(PrizeKey::from_wif("").unwrap_err(), WifError::Empty);
        assert_eq!(PrizeKey::from_wif(" \n\t").unwrap_err(), WifError::Empty);
    }

    #[test]
    fn unknown_version() {
        let mut body = alloc::vec![0x81u8];
        body.extend_from_slice(&hex32(WIKI_SECRET));
        body.push(COMPRESSED_FLAG);
        assert_eq!(
            PrizeKey::from_wif(&b58check(&body)).unwrap_err(),
            WifError::UnknownVersion { version: 0x81 }
        );
    }

    #[test]
    fn uncompressed_key_is_refused() {
        let e = PrizeKey::from_wif(WIKI_WIF_UNCOMPRESSED).unwrap_err();
        assert_eq!(e, WifError::UncompressedKey);
        assert!(e.to_string().contains("uncompressed"), "{e}");
        // Testnet uncompressed too (built, since '9…' vectors vary by source).
        let mut body = alloc::vec![0xEFu8];
        body.extend_from_slice(&hex32(WIKI_SECRET));
        assert_eq!(
            PrizeKey::from_wif(&b58check(&body)).unwrap_err(),
            WifError::UncompressedKey
        );
    }

    #[test]
    fn bad_compression_flag() {
        let mut body = alloc::vec![0x80u8];
        body.extend_from_slice(&hex32(WIKI_SECRET));
        body.push(0x02);
        assert_eq!(
            PrizeKey::from_wif(&b58check(&body)).unwrap_err(),
            WifError::InvalidCompressionFlag { flag: 0x02 }
        );
    }

    #[test]
    fn zero_and_out_of_range_scalars() {
        let n = hex32("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
        for bad in [[0u8; 32], n, [0xFF; 32]] {
            assert_eq!(
                PrizeKey::from_secret_bytes(Network::Bitcoin, bad).unwrap_err(),
                WifError::InvalidScalar
            );
            let mut body = alloc::vec![0x80u8];
            body.extend_from_slice(&bad);
            body.push(COMPRESSED_FLAG);
            assert_eq!(
                PrizeKey::from_wif(&b58check(&body)).unwrap_err(),
                WifError::InvalidScalar
            );
        }
        // The literal WIF of key zero, as printed by other tools.
        assert_eq!(
            PrizeKey::from_wif("KwDiBf89QgGbjEhKnhXJuH7LrciVrZi3qYjgd9M7rFU73Nd2Mcv1").unwrap_err(),
            WifError::InvalidScalar
        );
    }

    #[test]
    fn generate_uses_the_source_and_retries() {
        // Source hands out 0 (invalid), then n (invalid), then key 1.
        let mut calls = 0;
        let mut fill = |buf: &mut [u8]| -> Result<(), ()> {
            calls += 1;
            match calls {
                1 => buf.fill(0),
                2 => buf.copy_from_slice(&hex32(
                    "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
                )),
                _ => {
                    buf.fill(0);
                    buf[31] = 1;
                }
            }
            Ok(())
        };
        let k = PrizeKey::generate(Network::Regtest, &mut fill).unwrap();
        assert_eq!(calls, 3);
        assert_eq!(k.network(), Network::Regtest);
        assert_eq!(
            k.p2wpkh_address(),
            "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"
        );
    }

    #[test]
    fn generate_fails_closed() {
        let mut failing = |_: &mut [u8]| -> Result<(), &'static str> { Err("no entropy") };
        assert_eq!(
            PrizeKey::generate(Network::Bitcoin, &mut failing).unwrap_err(),
            GenerateError::Entropy("no entropy")
        );
        // A source that "succeeds" without writing anything.
        let mut lazy = |_: &mut [u8]| -> Result<(), &str> { Ok(()) };
        let e = PrizeKey::generate(Network::Bitcoin, &mut lazy).unwrap_err();
        assert_eq!(e, GenerateError::BrokenEntropy);
        assert!(e.to_string().contains("refusing"), "{e}");
    }

    #[test]
    fn generate_with_varied_bytes_round_trips() {
        // A deterministic stand-in for an RNG (xorshift), to exercise
        // generate → WIF → parse on many keys.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut fill = |buf: &mut [u8]| -> Result<(), ()> {
            for b in buf.iter_mut() {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *b = state as u8;
            }
            Ok(())
        };
        for n in Network::ALL {
            for _ in 0..8 {
                let k = PrizeKey::generate(n, &mut fill).unwrap();
                let back = PrizeKey::from_wif_for(&k.to_wif(), n).unwrap();
                assert_eq!(back.public_key_compressed(), k.public_key_compressed());
                assert_eq!(back.p2wpkh_address(), k.p2wpkh_address());
                assert_eq!(k.to_wif().len(), 52);
            }
        }
    }

    #[test]
    fn error_messages_are_distinct_and_secret_free() {
        let errors = [
            WifError::Empty,
            WifError::TooLong { chars: 101 },
            WifError::InvalidBase58 {
                index: 3,
                character: 'O',
            },
            WifError::WrongLength { length: 30 },
            WifError::BadChecksum,
            WifError::UnknownVersion { version: 0 },
            WifError::NetworkMismatch {
                expected: Network::Regtest,
                version: 0x80,
            },
            WifError::UncompressedKey,
            WifError::InvalidCompressionFlag { flag: 2 },
            WifError::InvalidScalar,
        ];
        let msgs: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        for (i, a) in msgs.iter().enumerate() {
            assert!(!a.is_empty());
            for b in &msgs[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert!(msgs[6].contains("mainnet") && msgs[6].contains("regtest"));
    }
}
