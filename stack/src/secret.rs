//! The stack's secret: what keeps its TCP initial sequence numbers and its
//! ephemeral ports unknown to anyone who watches its traffic.
//!
//! - Initial sequence numbers are RFC 6528's: a 4 µs clock plus SipHash-2-4
//!   of the connection's 4-tuple under the first half of the secret
//!   (computed inside the patched smoltcp, `Config::tcp_isn_key`).
//! - Ephemeral ports (outgoing connections, the datagram socket) are RFC
//!   6056's "simple port randomization" with SipHash-2-4 of a counter under
//!   the second half as the generator, so one port tells nothing of the
//!   next.
//!
//! Both need a key an attacker cannot guess: 32 bytes from the appliance's
//! cryptographic generator at boot ([`StackSecret::new`]).
//!
//! Without a secret the stack behaves as it did before it had one: smoltcp's
//! own generator (sPCG32, seeded with [`Stack::new`](crate::Stack::new)'s
//! seed) draws the sequence numbers and splitmix64 the ports. Both can be
//! predicted from a few observed values, which is what tests and the fuzz
//! targets need — the inputs the fuzzer saved carry sequence numbers that
//! acknowledge exactly those — and what a public appliance must not do.

use core::fmt;
use core::hash::Hasher;

use siphasher::sip::SipHasher24;

/// 32 secret random bytes: half keys the TCP initial sequence numbers,
/// half the choice of ephemeral ports. Never printed (`Debug` shows none
/// of it).
#[derive(Clone, PartialEq, Eq)]
pub struct StackSecret([u8; 32]);

impl StackSecret {
    /// The secret, from 32 bytes of a cryptographic random generator.
    pub fn new(bytes: [u8; 32]) -> StackSecret {
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

    fn half(&self, which: usize) -> [u8; 16] {
        let mut half = [0u8; 16];
        half.copy_from_slice(&self.0[which * 16..(which + 1) * 16]);
        half
    }
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
    fn the_halves_and_the_draws_differ() {
        let bytes: [u8; 32] = core::array::from_fn(|i| i as u8);
        let secret = StackSecret::new(bytes);
        assert_eq!(secret.isn_key()[..], bytes[..16]);
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
            format!("{:?}", StackSecret::new([0xab; 32])),
            "StackSecret(..)"
        );
    }
}
