//! Which connections the piñata takes: the operator's connection limits,
//! the connect-back dials, and eviction under pressure.
//!
//! # Where it sits
//!
//! ```text
//! accept ──▶ Admission::admit ──▶ Pinata::accept ──▶ Session
//!               │  (limits)
//!               ├─ Admit            take it
//!               ├─ AdmitEvicting(k) take it, and end connection k first
//!               └─ Refuse(reason)   close it at once; counted `over_capacity`
//! ```
//!
//! The event loop ([`crate::netloop`], the same on both backends) keeps one
//! [`Admission`] beside its connections and tells it when each connection
//! moved bytes ([`Admission::touch`]) and when it ended
//! ([`Admission::release`]). It only decides; the loop closes what it is
//! told to. Nothing of a connection (no session, no TLS state) exists
//! before it is admitted.
//!
//! # The rules
//!
//! - At most [`Limits::max_connections_per_peer`] connections from one IP
//!   address, connect-back dials to it included: beyond it, refused. One
//!   address cannot push out everybody else's connections.
//! - At most [`Limits::max_connections`] connections in all: beyond it, one
//!   is evicted to make room — the one that has gone longest without
//!   moving a byte, among the connections of the address that holds the
//!   most ([`Admission::evict`]). A flood of idle connections from many
//!   addresses cannot keep the page (or a real attempt) out: the flood's
//!   oldest connection goes first; and one busy address is thinned before
//!   anybody else. With nothing to evict (a limit of 0), refused.
//! - Connect-back dials are counted per address (above) and in all: at
//!   most [`max_dials`] at once, beyond which a dial is refused. A dial
//!   that connects becomes a connection like any other.
//!
//! The key `K` names a connection in the caller's terms (the transport's
//! connection id in the event loop).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::net::IpAddr;

use crate::app::Limits;
use crate::stats::FailureReason;
use crate::time::Instant;

/// What to do with a connection just accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit<K> {
    /// Take it.
    Admit,
    /// Take it; end connection `K` (already forgotten here) to make room.
    AdmitEvicting(K),
    /// Close it at once, counting this reason.
    Refuse(FailureReason),
}

/// Connect-back dials in flight at once under `limits`: one for every
/// eight connections the table may hold, at least one.
pub fn max_dials(limits: &Limits) -> usize {
    (limits.max_connections / 8).max(1)
}

#[derive(Debug, Clone, Copy)]
struct Entry<K> {
    key: K,
    peer: IpAddr,
    last_active: Instant,
    /// A connect-back dial not yet connected: counted for its address and
    /// against [`max_dials`], never evicted.
    dialling: bool,
}

/// The connections admitted and not yet released. See the module docs.
#[derive(Debug, Clone)]
pub struct Admission<K> {
    max_total: usize,
    max_per_peer: usize,
    max_dials: usize,
    entries: Vec<Entry<K>>,
    /// Entries per address, dials included.
    per_peer: BTreeMap<IpAddr, usize>,
    dials: usize,
}

impl<K: Copy + PartialEq> Admission<K> {
    /// No connections yet, under `limits`.
    pub fn new(limits: &Limits) -> Self {
        let mut admission =
            Self::with_capacity(limits.max_connections, limits.max_connections_per_peer);
        admission.max_dials = max_dials(limits);
        admission
    }

    /// No connections yet, at most `max_total` in all and `max_per_peer`
    /// from one address (dials: one per eight connections).
    pub fn with_capacity(max_total: usize, max_per_peer: usize) -> Self {
        Admission {
            max_total,
            max_per_peer,
            max_dials: (max_total / 8).max(1),
            entries: Vec::new(),
            per_peer: BTreeMap::new(),
            dials: 0,
        }
    }

    /// Decides on a connection `key` from `peer` accepted at `now`, and
    /// records it unless refused. An evicted connection is forgotten here at
    /// once; the caller must end it (and need not release it).
    pub fn admit(&mut self, key: K, peer: IpAddr, now: Instant) -> Admit<K> {
        if self.from_peer(peer) >= self.max_per_peer {
            return Admit::Refuse(FailureReason::OverCapacity);
        }
        let mut decision = Admit::Admit;
        if self.len() >= self.max_total {
            match self.evict() {
                Some(evicted) => decision = Admit::AdmitEvicting(evicted),
                None => return Admit::Refuse(FailureReason::OverCapacity),
            }
        }
        self.insert(Entry {
            key,
            peer,
            last_active: now,
            dialling: false,
        });
        decision
    }

    /// Whether a connect-back dial to `peer` may start: not when the
    /// address is at its limit or [`max_dials`] are in flight. Asked
    /// before the transport makes the dial's socket.
    pub fn may_dial(&self, peer: IpAddr) -> bool {
        self.from_peer(peer) < self.max_per_peer && self.dials < self.max_dials
    }

    /// Records a connect-back dial `key` to `peer` (see
    /// [`Admission::may_dial`]): true, or false if it may not start.
    pub fn admit_dial(&mut self, key: K, peer: IpAddr, now: Instant) -> bool {
        if !self.may_dial(peer) {
            return false;
        }
        self.dials += 1;
        self.insert(Entry {
            key,
            peer,
            last_active: now,
            dialling: true,
        });
        true
    }

    /// Dial `key` connected at `now`: it is a connection from here on,
    /// under the total limit like any other (see [`Admission::admit`]).
    /// An unknown key is admitted afresh.
    pub fn dial_connected(&mut self, key: K, peer: IpAddr, now: Instant) -> Admit<K> {
        let Some(index) = self.entries.iter().position(|e| e.key == key && e.dialling) else {
            return self.admit(key, peer, now);
        };
        self.entries[index].dialling = false;
        self.entries[index].last_active = now;
        self.dials -= 1;
        if self.len() <= self.max_total {
            return Admit::Admit;
        }
        // Evict someone else: take the dial out of the candidates first.
        let entry = self.entries.swap_remove(index);
        let decision = match self.evict() {
            Some(evicted) => Admit::AdmitEvicting(evicted),
            None => {
                self.forget(entry.peer);
                return Admit::Refuse(FailureReason::OverCapacity);
            }
        };
        self.entries.push(entry);
        decision
    }

    fn insert(&mut self, entry: Entry<K>) {
        *self.per_peer.entry(entry.peer).or_insert(0) += 1;
        self.entries.push(entry);
    }

    fn forget(&mut self, peer: IpAddr) {
        if let Some(count) = self.per_peer.get_mut(&peer) {
            *count -= 1;
            if *count == 0 {
                self.per_peer.remove(&peer);
            }
        }
    }

    fn remove(&mut self, index: usize) -> Entry<K> {
        let entry = self.entries.swap_remove(index);
        self.forget(entry.peer);
        if entry.dialling {
            self.dials -= 1;
        }
        entry
    }

    /// Connection `key` moved bytes at `now` (either way).
    pub fn touch(&mut self, key: K, now: Instant) {
        if let Some(entry) = self.entries.iter_mut().find(|e| e.key == key) {
            entry.last_active = now;
        }
    }

    /// Connection or dial `key` ended. Unknown keys (already evicted) are
    /// ignored.
    pub fn release(&mut self, key: K) {
        if let Some(index) = self.entries.iter().position(|e| e.key == key) {
            self.remove(index);
        }
    }

    /// Forgets a connection to make room and returns it for the caller to
    /// end: among the connections of the address that holds the most, the
    /// one that has gone longest without moving a byte. Dials are not
    /// candidates. Also for when room is needed for a reason the limits
    /// cannot see (the transport's sockets running out).
    pub fn evict(&mut self) -> Option<K> {
        let busiest = self
            .entries
            .iter()
            .filter(|e| !e.dialling)
            .map(|e| self.per_peer.get(&e.peer).copied().unwrap_or(0))
            .max()?;
        let index = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                !e.dialling && self.per_peer.get(&e.peer).copied().unwrap_or(0) == busiest
            })
            .min_by_key(|(_, e)| e.last_active)
            .map(|(i, _)| i)?;
        Some(self.remove(index).key)
    }

    /// Connections admitted and not released (dials not counted).
    pub fn len(&self) -> usize {
        self.entries.len() - self.dials
    }

    /// True when no connection or dial is admitted.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Dials in flight.
    pub fn dials(&self) -> usize {
        self.dials
    }

    /// Connections admitted from `peer`, dials to it included.
    pub fn from_peer(&self, peer: IpAddr) -> usize {
        self.per_peer.get(&peer).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn per_peer_limit_refuses_and_frees_on_release() {
        let mut admission = Admission::with_capacity(10, 2);
        assert_eq!(admission.admit(1, ip(1), at(0)), Admit::Admit);
        assert_eq!(admission.admit(2, ip(1), at(1)), Admit::Admit);
        assert_eq!(
            admission.admit(3, ip(1), at(2)),
            Admit::Refuse(FailureReason::OverCapacity)
        );
        // Another address is not affected.
        assert_eq!(admission.admit(4, ip(2), at(3)), Admit::Admit);
        admission.release(1);
        assert_eq!(admission.admit(5, ip(1), at(4)), Admit::Admit);
        assert_eq!(admission.from_peer(ip(1)), 2);
        assert_eq!(admission.len(), 3);
    }

    #[test]
    fn full_table_evicts_the_longest_idle() {
        let mut admission = Admission::with_capacity(3, 3);
        assert_eq!(admission.admit(1, ip(1), at(0)), Admit::Admit);
        assert_eq!(admission.admit(2, ip(2), at(10)), Admit::Admit);
        assert_eq!(admission.admit(3, ip(3), at(20)), Admit::Admit);
        // Connection 1 is the oldest but has just moved bytes: 2 is the
        // longest idle now.
        admission.touch(1, at(30));
        assert_eq!(admission.admit(4, ip(4), at(40)), Admit::AdmitEvicting(2));
        assert_eq!(admission.len(), 3);
        // The evicted connection is forgotten: releasing it changes nothing.
        admission.release(2);
        assert_eq!(admission.len(), 3);
        assert_eq!(admission.from_peer(ip(2)), 0);
        assert_eq!(admission.admit(5, ip(5), at(50)), Admit::AdmitEvicting(3));
    }

    #[test]
    fn the_busiest_address_is_thinned_first() {
        // Address 1 holds three connections, the others one each; address
        // 2's connection is the longest idle of all, yet address 1 loses
        // its own longest idle.
        let mut admission = Admission::with_capacity(5, 5);
        assert_eq!(admission.admit(20, ip(2), at(0)), Admit::Admit);
        assert_eq!(admission.admit(10, ip(1), at(10)), Admit::Admit);
        assert_eq!(admission.admit(11, ip(1), at(20)), Admit::Admit);
        assert_eq!(admission.admit(12, ip(1), at(30)), Admit::Admit);
        assert_eq!(admission.admit(30, ip(3), at(40)), Admit::Admit);
        admission.touch(10, at(50));
        assert_eq!(admission.admit(40, ip(4), at(60)), Admit::AdmitEvicting(11));
        assert_eq!(admission.admit(41, ip(4), at(70)), Admit::AdmitEvicting(12));
        // Address 4 now holds two, every other one: address 4 is the
        // busiest, its longest idle goes.
        assert_eq!(admission.from_peer(ip(1)), 1);
        assert_eq!(admission.admit(50, ip(5), at(80)), Admit::AdmitEvicting(40));
    }

    #[test]
    fn per_peer_limit_is_checked_before_evicting() {
        // A peer at its own limit cannot push out anybody else's connection.
        let mut admission = Admission::with_capacity(2, 1);
        assert_eq!(admission.admit(1, ip(1), at(0)), Admit::Admit);
        assert_eq!(admission.admit(2, ip(2), at(1)), Admit::Admit);
        assert_eq!(
            admission.admit(3, ip(2), at(2)),
            Admit::Refuse(FailureReason::OverCapacity)
        );
        assert_eq!(admission.len(), 2);
    }

    #[test]
    fn zero_capacity_refuses() {
        let mut admission = Admission::<u32>::with_capacity(0, 5);
        assert_eq!(
            admission.admit(1, ip(1), at(0)),
            Admit::Refuse(FailureReason::OverCapacity)
        );
        assert!(admission.is_empty());
        assert_eq!(admission.evict(), None);
    }

    #[test]
    fn dials_count_for_their_address_and_in_all() {
        let limits = Limits {
            max_connections: 16,
            max_connections_per_peer: 3,
            ..Limits::default()
        };
        assert_eq!(max_dials(&limits), 2);
        let mut admission = Admission::new(&limits);
        assert_eq!(admission.admit(1, ip(1), at(0)), Admit::Admit);
        assert!(admission.admit_dial(2, ip(1), at(1)));
        assert!(admission.admit_dial(3, ip(1), at(2)));
        // The address is at its limit, dials included.
        assert!(!admission.admit_dial(4, ip(1), at(3)));
        assert_eq!(
            admission.admit(5, ip(1), at(3)),
            Admit::Refuse(FailureReason::OverCapacity)
        );
        // Another address: the total of dials is reached.
        assert!(!admission.admit_dial(6, ip(2), at(4)));
        assert_eq!((admission.len(), admission.dials()), (1, 2));
        // Dials are never evicted.
        assert_eq!(admission.evict(), Some(1));
        assert_eq!(admission.evict(), None);
        // A dial that connects is a connection; one that fails frees its
        // place.
        assert_eq!(admission.dial_connected(2, ip(1), at(5)), Admit::Admit);
        admission.release(3);
        assert_eq!((admission.len(), admission.dials()), (1, 0));
        assert_eq!(admission.from_peer(ip(1)), 1);
        assert!(admission.admit_dial(7, ip(2), at(6)));
    }

    #[test]
    fn a_dial_that_connects_to_a_full_table_evicts() {
        let mut admission = Admission::with_capacity(2, 4);
        assert_eq!(admission.admit(1, ip(1), at(0)), Admit::Admit);
        assert!(admission.admit_dial(2, ip(2), at(1)));
        assert_eq!(admission.admit(3, ip(3), at(2)), Admit::Admit);
        assert_eq!(
            admission.dial_connected(2, ip(2), at(3)),
            Admit::AdmitEvicting(1)
        );
        assert_eq!(admission.len(), 2);
    }

    #[test]
    fn a_flood_from_many_addresses_churns_through_its_own_oldest() {
        // 10 slots, a flood of idle connections from 1,000 addresses, and a
        // page request every 100 connections: every page request is
        // admitted, and no entry ever exceeds the limits.
        let mut admission = Admission::with_capacity(10, 2);
        let mut key = 0u32;
        for i in 0..1_000u32 {
            key += 1;
            let peer = IpAddr::from([127, 0, (i / 250) as u8, (i % 250) as u8]);
            let decision = admission.admit(key, peer, at(u64::from(i)));
            assert_ne!(decision, Admit::Refuse(FailureReason::OverCapacity));
            if i % 100 == 0 {
                key += 1;
                let page = admission.admit(key, ip(200), at(u64::from(i)));
                assert!(matches!(page, Admit::Admit | Admit::AdmitEvicting(_)));
                admission.release(key);
            }
            assert!(admission.len() <= 10);
        }
    }
}
