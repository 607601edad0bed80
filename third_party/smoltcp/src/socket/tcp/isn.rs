//! PIÑATA PATCH: initial sequence numbers as RFC 6528 specifies them.
//!
//! `ISN = M + F(localip, localport, remoteip, remoteport, secretkey)`, with
//! `M` a timer that ticks every 4 microseconds and `F` a keyed hash:
//! SipHash-2-4, a pseudorandom function built for short inputs (Linux uses
//! it for the same purpose). Without the key, the sequence numbers of one
//! connection tell nothing about another's; the clock keeps a reused
//! 4-tuple's sequence numbers moving forward, as RFC 793 wants.
//!
//! Upstream draws them from the interface's `Rand` (sPCG32), whose state
//! two or three observed sequence numbers give away: an off-path attacker
//! could then complete connections from spoofed addresses and reset other
//! peers' connections.

use core::hash::Hasher;

use siphasher::sip::SipHasher24;

use crate::time::Instant;
use crate::wire::{IpAddress, IpEndpoint, TcpSeqNumber};

/// The initial sequence number of the connection between `local` and
/// `remote` at `now`.
pub(super) fn initial_seq_no(
    key: &[u8; 16],
    local: IpEndpoint,
    remote: IpEndpoint,
    now: Instant,
) -> TcpSeqNumber {
    let mut hash = SipHasher24::new_with_key(key);
    for endpoint in [local, remote] {
        match endpoint.addr {
            #[cfg(feature = "proto-ipv4")]
            IpAddress::Ipv4(address) => hash.write(&address.octets()),
            #[cfg(feature = "proto-ipv6")]
            IpAddress::Ipv6(address) => hash.write(&address.octets()),
        }
        hash.write(&endpoint.port.to_be_bytes());
    }
    let ticks = (now.total_micros() / 4) as u32;
    TcpSeqNumber(ticks.wrapping_add(hash.finish() as u32) as i32)
}

#[cfg(all(test, feature = "proto-ipv4"))]
mod tests {
    use super::*;
    use crate::wire::Ipv4Address;

    const KEY: [u8; 16] = *b"0123456789abcdef";

    fn endpoint(last: u8, port: u16) -> IpEndpoint {
        IpEndpoint::new(IpAddress::Ipv4(Ipv4Address::new(10, 0, 0, last)), port)
    }

    #[test]
    fn the_clock_moves_one_per_4_microseconds() {
        let (a, b) = (endpoint(2, 80), endpoint(1, 50000));
        let at = |us| initial_seq_no(&KEY, a, b, Instant::from_micros(us));
        assert_eq!(at(4_000) - at(0), 1_000);
        assert_eq!(at(1_000_000) - at(4_000), 249_000);
    }

    #[test]
    fn each_tuple_and_key_has_its_own_offset() {
        let now = Instant::from_secs(7);
        let base = initial_seq_no(&KEY, endpoint(2, 80), endpoint(1, 50000), now);
        let others = [
            initial_seq_no(&KEY, endpoint(2, 80), endpoint(1, 50001), now),
            initial_seq_no(&KEY, endpoint(2, 80), endpoint(3, 50000), now),
            initial_seq_no(&KEY, endpoint(2, 81), endpoint(1, 50000), now),
            initial_seq_no(&KEY, endpoint(1, 50000), endpoint(2, 80), now),
            initial_seq_no(b"0123456789abcdeF", endpoint(2, 80), endpoint(1, 50000), now),
        ];
        for other in others {
            assert_ne!(other, base);
        }
    }
}
