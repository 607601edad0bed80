//! PIÑATA PATCH: SYN cookies (RFC 4987 §3.6), as Linux makes them.
//!
//! A listening socket in cookie mode ([`Socket::set_syn_cookies`]) answers
//! a SYN with a SYN-ACK at once and stays in LISTEN: it keeps nothing. The
//! SYN-ACK's initial sequence number *is* the state, the cookie:
//!
//! ```text
//!  31                                        3    2    1 0
//! ┌──────────────────────────────────────────┬────┬──────┐
//! │ 29 bits of SipHash-2-4(key, local, remote,│ t  │ MSS  │
//! │   client ISN, t, MSS index)               │ &1 │ index│
//! └──────────────────────────────────────────┴────┴──────┘
//! ```
//!
//! `t` is a coarse clock (one tick every [`TICK_SECS`] seconds) and the MSS
//! index points into [`MSS_TABLE`] (the largest entry not above the MSS
//! the client offered). The client's ACK acknowledges `cookie + 1`: a bare
//! ACK (or one carrying data or FIN) reaching a listening socket while a
//! cookie sent by the interface may still be valid ([`LIFETIME`]; in cookie
//! mode or not, so that handshakes answered with cookies complete after
//! the mode is turned off) is checked by recomputing the hash for its
//! 4-tuple, its sequence number minus one (the client's ISN), and the tick
//! its parity bit names (now or the one before: a cookie is valid for one
//! to two ticks). A match makes the socket ESTABLISHED with the MSS from
//! the table; anything else gets the RST an unsolicited ACK always gets.
//!
//! What a cookie does not carry, and so a connection opened by one lacks:
//! window scaling (our window is at most 64 KiB, not scaled), selective
//! acknowledgements and timestamps (the SYN-ACK offers neither), the exact
//! MSS (rounded down to the table: 536, 1300, 1440 or 1460; 536 for a
//! client that offered less, as Linux does), any data sent with the SYN,
//! and the SYN-ACK's retransmission (if it is lost, the client's
//! retransmitted SYN gets a new one).
//!
//! The hash covers everything the ACK cannot change freely: guessing a
//! valid cookie for a 4-tuple (and the client ISN) takes about 2^29 tries.
//! It is keyed with a secret of its own (`Config::tcp_syn_cookie_key`),
//! drawn at boot; without the key the socket stays stateful.
//!
//! [`Socket::set_syn_cookies`]: super::Socket::set_syn_cookies

use core::hash::Hasher;

use siphasher::sip::SipHasher24;

use crate::time::{Duration, Instant};
use crate::wire::{IpAddress, IpEndpoint, TcpSeqNumber};

/// The MSS values a cookie can name (Linux's table for IPv4): 536 is the
/// default without an MSS option, 1460 the Ethernet maximum, 1300 and 1440
/// the usual tunnels (PPPoE, IPsec, VPNs).
pub(super) const MSS_TABLE: [u16; 4] = [536, 1300, 1440, 1460];

/// Seconds per tick of the cookie's clock. A cookie is accepted during the
/// tick it was made in and the next one: 64 to 128 s, long enough for any
/// client's ACK or first data segment, short enough that a cookie seen on
/// the wire soon stops opening connections (Linux: about 2 to 3 minutes).
pub(super) const TICK_SECS: i64 = 64;

/// The longest a cookie stays valid: two ticks.
pub const LIFETIME: Duration = Duration::from_secs(2 * TICK_SECS as u64);

const MSS_BITS: u32 = 2;
const TICK_BIT: u32 = 1 << MSS_BITS;
const HASH_MASK: u32 = !((TICK_BIT << 1) - 1);

/// The tick `now` falls in.
fn tick(now: Instant) -> u32 {
    (now.secs() / TICK_SECS) as u32
}

/// The index in [`MSS_TABLE`] for a client that offered `mss` (`None`: no
/// MSS option, RFC 9293's default 536).
fn mss_index(mss: Option<u16>) -> u32 {
    let mss = mss.unwrap_or(MSS_TABLE[0]);
    MSS_TABLE
        .iter()
        .rposition(|&entry| entry <= mss)
        .unwrap_or(0) as u32
}

fn hash(
    key: &[u8; 16],
    local: IpEndpoint,
    remote: IpEndpoint,
    client_isn: TcpSeqNumber,
    tick: u32,
    mss_index: u32,
) -> u32 {
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
    hash.write(&client_isn.0.to_be_bytes());
    hash.write(&tick.to_be_bytes());
    hash.write(&[mss_index as u8]);
    hash.finish() as u32
}

/// The cookie (our initial sequence number) for a SYN from `remote` to
/// `local` with sequence number `client_isn` and MSS option `client_mss`.
pub(super) fn make(
    key: &[u8; 16],
    local: IpEndpoint,
    remote: IpEndpoint,
    client_isn: TcpSeqNumber,
    client_mss: Option<u16>,
    now: Instant,
) -> TcpSeqNumber {
    let t = tick(now);
    let index = mss_index(client_mss);
    let cookie =
        (hash(key, local, remote, client_isn, t, index) & HASH_MASK) | (t & 1) * TICK_BIT | index;
    TcpSeqNumber(cookie as i32)
}

/// The MSS a valid `cookie` carries, if it is one we made for this
/// 4-tuple and `client_isn` during this tick or the one before.
pub(super) fn check(
    key: &[u8; 16],
    local: IpEndpoint,
    remote: IpEndpoint,
    client_isn: TcpSeqNumber,
    cookie: TcpSeqNumber,
    now: Instant,
) -> Option<u16> {
    let cookie = cookie.0 as u32;
    let now_tick = tick(now);
    let t = if (cookie & TICK_BIT != 0) == (now_tick & 1 != 0) {
        now_tick
    } else {
        now_tick.checked_sub(1)?
    };
    let index = cookie & (TICK_BIT - 1);
    let expected = hash(key, local, remote, client_isn, t, index) & HASH_MASK;
    (cookie & HASH_MASK == expected).then(|| MSS_TABLE[index as usize])
}

#[cfg(all(test, feature = "proto-ipv4"))]
mod tests {
    use super::*;
    use crate::wire::Ipv4Address;

    const KEY: [u8; 16] = *b"cookie key 12345";
    const CLIENT_ISN: TcpSeqNumber = TcpSeqNumber(0x1234_5678);

    fn endpoint(last: u8, port: u16) -> IpEndpoint {
        IpEndpoint::new(IpAddress::Ipv4(Ipv4Address::new(10, 0, 0, last)), port)
    }

    fn at(secs: i64) -> Instant {
        Instant::from_secs(secs)
    }

    #[test]
    fn a_cookie_checks_out_for_its_own_connection() {
        let (local, remote) = (endpoint(2, 80), endpoint(1, 50000));
        for (offered, carried) in [
            (Some(1460), 1460),
            (Some(9000), 1460),
            (Some(1452), 1440),
            (Some(1400), 1300),
            (Some(1299), 536),
            (Some(100), 536),
            (None, 536),
        ] {
            let cookie = make(&KEY, local, remote, CLIENT_ISN, offered, at(1_000));
            assert_eq!(
                check(&KEY, local, remote, CLIENT_ISN, cookie, at(1_000)),
                Some(carried),
                "MSS {offered:?}"
            );
        }
    }

    #[test]
    fn a_cookie_expires_after_the_next_tick() {
        let (local, remote) = (endpoint(2, 80), endpoint(1, 50000));
        // Made at the start of a tick: valid through the end of the next.
        let made = 10 * TICK_SECS;
        let cookie = make(&KEY, local, remote, CLIENT_ISN, Some(1460), at(made));
        for later in [0, 1, TICK_SECS - 1, TICK_SECS, 2 * TICK_SECS - 1] {
            assert_eq!(
                check(&KEY, local, remote, CLIENT_ISN, cookie, at(made + later)),
                Some(1460),
                "{later} s later"
            );
        }
        for later in [2 * TICK_SECS, 3 * TICK_SECS, 100 * TICK_SECS] {
            assert_eq!(
                check(&KEY, local, remote, CLIENT_ISN, cookie, at(made + later)),
                None,
                "{later} s later"
            );
        }
        // Nor is it valid before it was made (a clock's first tick too).
        assert_eq!(
            check(&KEY, local, remote, CLIENT_ISN, cookie, at(made - 1)),
            None
        );
        let first = make(&KEY, local, remote, CLIENT_ISN, None, at(0));
        assert_eq!(
            check(&KEY, local, remote, CLIENT_ISN, first, at(1)),
            Some(536)
        );
    }

    #[test]
    fn a_cookie_is_worth_nothing_for_another_connection() {
        let (local, remote) = (endpoint(2, 80), endpoint(1, 50000));
        let now = at(5_000);
        let cookie = make(&KEY, local, remote, CLIENT_ISN, Some(1460), now);
        let others = [
            (KEY, endpoint(2, 80), endpoint(1, 50001), CLIENT_ISN),
            (KEY, endpoint(2, 80), endpoint(3, 50000), CLIENT_ISN),
            (KEY, endpoint(2, 443), endpoint(1, 50000), CLIENT_ISN),
            (KEY, endpoint(4, 80), endpoint(1, 50000), CLIENT_ISN),
            (KEY, endpoint(1, 50000), endpoint(2, 80), CLIENT_ISN),
            (KEY, local, remote, CLIENT_ISN + 1),
            (*b"cookie key 12346", local, remote, CLIENT_ISN),
        ];
        for (key, local, remote, isn) in others {
            assert_eq!(check(&key, local, remote, isn, cookie, now), None);
        }
    }

    #[test]
    fn a_changed_bit_spoils_a_cookie() {
        let (local, remote) = (endpoint(2, 80), endpoint(1, 50000));
        let now = at(77);
        let cookie = make(&KEY, local, remote, CLIENT_ISN, Some(536), now);
        for bit in 0..32 {
            let forged = TcpSeqNumber(cookie.0 ^ (1 << bit));
            assert_eq!(
                check(&KEY, local, remote, CLIENT_ISN, forged, now),
                None,
                "bit {bit}"
            );
        }
    }
}
