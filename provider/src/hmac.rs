//! HMAC-SHA256 and HMAC-SHA384 behind rustls's [`Hmac`] interface.
//!
//! rustls builds both key schedules from this one primitive: the TLS 1.3
//! HKDF ([`rustls::crypto::tls13::HkdfUsingHmac`]) and the TLS 1.2 PRF
//! ([`rustls::crypto::tls12::PrfUsingHmac`]). Reusing rustls's generic HKDF
//! and PRF keeps the piñata's own key-derivation code to this file, and
//! spares a separate `hkdf` dependency.

use alloc::boxed::Box;

use hmac::{KeyInit, Mac};
use rustls::crypto::hmac::{Hmac, Key, Tag};

/// HMAC with SHA-256 (RFC 2104).
pub static HMAC_SHA256: HmacSha2<sha2::Sha256> = HmacSha2(core::marker::PhantomData);
/// HMAC with SHA-384 (RFC 2104).
pub static HMAC_SHA384: HmacSha2<sha2::Sha384> = HmacSha2(core::marker::PhantomData);

/// HMAC over the SHA-2 function `D`.
pub struct HmacSha2<D>(core::marker::PhantomData<fn() -> D>);

impl<D> Hmac for HmacSha2<D>
where
    D: hmac::EagerHash + Send + Sync + 'static,
    hmac::Hmac<D>: Clone + Send + Sync,
{
    fn with_key(&self, key: &[u8]) -> Box<dyn Key> {
        // HMAC takes keys of any length (long ones are hashed first), so
        // this cannot fail; the `Result` comes from the generic `KeyInit`
        // trait. It does not depend on peer input: keys here are outputs
        // of our own key schedule.
        let mac = <hmac::Hmac<D> as KeyInit>::new_from_slice(key)
            .expect("HMAC accepts keys of any length");
        Box::new(HmacKey(mac))
    }

    fn hash_output_len(&self) -> usize {
        <hmac::Hmac<D> as hmac::digest::OutputSizeUser>::output_size()
    }
}

/// A keyed HMAC state. It holds the inner and outer hash states after the
/// key block, which are key-equivalent: the `zeroize` feature of `sha2`
/// wipes them on drop.
struct HmacKey<D: hmac::EagerHash>(hmac::Hmac<D>);

impl<D> Key for HmacKey<D>
where
    D: hmac::EagerHash + Send + Sync + 'static,
    hmac::Hmac<D>: Clone + Send + Sync,
{
    fn sign_concat(&self, first: &[u8], middle: &[&[u8]], last: &[u8]) -> Tag {
        let mut mac = self.0.clone();
        mac.update(first);
        for m in middle {
            mac.update(m);
        }
        mac.update(last);
        Tag::new(&mac.finalize().into_bytes()[..])
    }

    fn tag_len(&self) -> usize {
        <hmac::Hmac<D> as hmac::digest::OutputSizeUser>::output_size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::crypto::tls13::{Hkdf, HkdfUsingHmac};

    // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
    #[test]
    fn rfc4231_case2() {
        let key = HMAC_SHA256.with_key(b"Jefe");
        let tag = key.sign(&[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            tag.as_ref(),
            &[
                0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08, 0x95,
                0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9,
                0x64, 0xec, 0x38, 0x43
            ][..]
        );
        let tag384 = HMAC_SHA384
            .with_key(b"Jefe")
            .sign(&[b"what do ya want for nothing?"]);
        assert_eq!(
            tag384.as_ref()[..8],
            [0xaf, 0x45, 0xd2, 0xe3, 0x76, 0x48, 0x40, 0x31]
        );
        assert_eq!(HMAC_SHA384.hash_output_len(), 48);
    }

    // RFC 5869 test case 1, through rustls's HKDF built on our HMAC: this is
    // exactly how the TLS 1.3 suites derive their keys.
    #[test]
    fn rfc5869_case1_through_hkdf_using_hmac() {
        let ikm = [0x0b_u8; 22];
        let salt: [u8; 13] = core::array::from_fn(|i| i as u8);
        let info: [u8; 10] = core::array::from_fn(|i| 0xf0 + i as u8);
        let expander = HkdfUsingHmac(&HMAC_SHA256).extract_from_secret(Some(&salt), &ikm);
        let mut okm = [0u8; 42];
        expander.expand_slice(&[&info], &mut okm).unwrap();
        assert_eq!(
            okm,
            [
                0x3c, 0xb2, 0x5f, 0x25, 0xfa, 0xac, 0xd5, 0x7a, 0x90, 0x43, 0x4f, 0x64, 0xd0, 0x36,
                0x2f, 0x2a, 0x2d, 0x2d, 0x0a, 0x90, 0xcf, 0x1a, 0x5a, 0x4c, 0x5d, 0xb0, 0x2d, 0x56,
                0xec, 0xc4, 0xc5, 0xbf, 0x34, 0x00, 0x72, 0x08, 0xd5, 0xb8, 0x87, 0x18, 0x58, 0x65
            ]
        );
    }
}
