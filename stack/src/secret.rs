//! The stack's secret: what keeps its TCP initial sequence numbers, its
//! SYN cookies and its ephemeral ports unknown to anyone who watches its
//! traffic.
//!
//! - Initial sequence numbers are RFC 6528's: a 4 µs clock plus SipHash-2-4
//!   of the connection's 4-tuple under the first half of the secret
//!   (computed inside the patched smoltcp, `Config::tcp_isn_key`).
//! - Ephemeral ports (outgoing connections, the datagram socket) are RFC
//!   6056's "simple port randomization" with SipHash-2-4 of a counter under
//!   the second part as the generator, so one port tells nothing of the
//!   next.
//! - SYN cookies (the sequence numbers of SYN-ACKs sent without keeping
//!   state, see "Bounds" in the crate docs) are SipHash-2-4 of the
//!   connection, the client's sequence number and a coarse clock under the
//!   third part (computed inside the patched smoltcp,
//!   `Config::tcp_syn_cookie_key`): whoever could compute them could open
//!   connections from addresses it does not own.
//!
//! All need keys an attacker cannot guess: 48 bytes from the appliance's
//! cryptographic generator at boot ([`StackSecret::new`]), 16 for each.
//!
//! Without a secret the stack behaves as it did before it had one: smoltcp's
//! own generator (sPCG32, seeded with [`Stack::new`](crate::Stack::new)'s
//! seed) draws the sequence numbers and splitmix64 the ports, and the
//! cookie key is derived from the seed. All can be predicted from the seed
//! or a few observed values, which is what tests and the fuzz targets need
//! — the inputs the fuzzer saved carry sequence numbers that acknowledge
//! exactly those — and what a public appliance must not do.

use core::fmt;
use core::hash::Hasher;

use siphasher::sip::SipHasher24;

/// [`StackSecret::LEN`] secret random bytes: a third keys the TCP initial
/// sequence numbers, a third the choice of ephemeral ports, a third the
/// SYN cookies. Never printed (`Debug` shows none of it).
#[derive(Clone, PartialEq, Eq)]
pub struct StackSecret([u8; StackSecret::LEN]);

impl StackSecret {
    /// Bytes in a secret: three 16-byte keys.
    pub const LEN: usize = 48;

    /// The secret, from [`StackSecret::LEN`] bytes of a cryptographic
    /// random generator.
    pub fn new(bytes: [u8; StackSecret::LEN]) -> StackSecret {
        StackSecret(bytes)
    }

    /// The key of TCP initial sequence numbers (smoltcp's
    /// `Config::tcp_isn_key`).
    pub(crate) fn isn_key(&self) -> [u8; 16] {
        self.half(0)
    }

    /// The generator of ephemeral port numbers.
    pub(crate) fn port_draws(&self) -> PortDraws {
        PortDraws::Keyed {
            key: self.half(1),
            counter: 0,
        }
    }

    /// The key of SYN cookies (smoltcp's `Config::tcp_syn_cookie_key`).
    pub(crate) fn cookie_key(&self) -> [u8; 16] {
        self.half(2)
    }

    /// Key number `which` (0, 1 or 2).
    fn half(&self, which: usize) -> [u8; 16] {
        let mut half = [0u8; 16];
        half.copy_from_slice(&self.0[which * 16..(which + 1) * 16]);
        half
    }
}

/// The SYN-cookie key without a secret: derived from the seed, so that
/// tests and fuzzing exercise cookies too (predictable, like the rest).
pub(crate) fn seeded_cookie_key(seed: u64) -> [u8; 16] {
    let mut draws = PortDraws::Seeded(seed ^ 0x243f_6a88_85a3_08d3);
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&draws.next().to_le_bytes());
    key[8..].copy_from_slice(&draws.next().to_le_bytes());
    key
}

impl fmt::Debug for StackSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StackSecret(..)")
    }
}

/// 64-bit numbers for port choice.
pub(crate) enum PortDraws {
    /// Unpredictable: SipHash-2-4 of a counter (a pseudorandom function in
    /// counter mode).
    Keyed { key: [u8; 16], counter: u64 },
    /// Without a secret: splitmix64 from the seed (predictable).
    Seeded(u64),
}

impl PortDraws {
    /// The draws without a secret; kept apart from smoltcp's generator,
    /// which gets `seed` itself.
    pub(crate) fn seeded(seed: u64) -> PortDraws {
        PortDraws::Seeded(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    pub(crate) fn next(&mut self) -> u64 {
        match self {
            PortDraws::Keyed { key, counter } => {
                *counter = counter.wrapping_add(1);
                let mut hash = SipHasher24::new_with_key(key);
                hash.write(&counter.to_le_bytes());
                hash.finish()
            }
            PortDraws::Seeded(state) => {
                *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = *state;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                z ^ (z >> 31)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use alloc::format;

    use super::*;

    #[test]
    fn the_keys_and_the_draws_differ() {
        let bytes: [u8; StackSecret::LEN] = core::array::from_fn(|i| i as u8);
        let secret = StackSecret::new(bytes);
        assert_eq!(secret.isn_key()[..], bytes[..16]);
        assert_eq!(secret.cookie_key()[..], bytes[32..]);
        assert_ne!(seeded_cookie_key(1), seeded_cookie_key(2));
        let mut draws = secret.port_draws();
        let (a, b) = (draws.next(), draws.next());
        assert_ne!(a, b);
        assert_eq!(secret.port_draws().next(), a, "a fresh generator restarts");
        let mut other = bytes;
        other[31] ^= 1;
        assert_ne!(StackSecret::new(other).port_draws().next(), a);
    }

    #[test]
    fn debug_shows_nothing_of_the_secret() {
        assert_eq!(
            format!("{:?}", StackSecret::new([0xab; StackSecret::LEN])),
            "StackSecret(..)"
        );
    }
}
