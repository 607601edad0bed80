//! Which connections the piñata takes: the operator's connection limits,
//! and eviction of the oldest idle connection under pressure.
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
//! told to.
//!
//! # The rules
//!
//! - At most [`Limits::max_connections_per_peer`] connections from one IP
//!   address: beyond it, refused. One address cannot push out everybody
//!   else's connections.
//! - At most [`Limits::max_connections`] in all: beyond it, the connection
//!   that has gone longest without moving a byte is evicted to make room —
//!   so a flood of idle connections from many addresses cannot keep the page
//!   (or a real attempt) out: the flood's oldest connection goes first. With
//!   nothing to evict (a limit of 0), refused.
//!
//! The key `K` names a connection in the caller's terms (the transport's
//! connection id in the event loop).

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

#[derive(Debug, Clone, Copy)]
struct Entry<K> {
    key: K,
    peer: IpAddr,
    last_active: Instant,
}

/// The connections admitted and not yet released. See the module docs.
#[derive(Debug, Clone)]
pub struct Admission<K> {
    max_total: usize,
    max_per_peer: usize,
    entries: Vec<Entry<K>>,
}

impl<K: Copy + PartialEq> Admission<K> {
    /// No connections yet, under `limits`.
    pub fn new(limits: &Limits) -> Self {
        Self::with_capacity(limits.max_connections, limits.max_connections_per_peer)
    }

    /// No connections yet, at most `max_total` in all and `max_per_peer`
    /// from one address.
    pub fn with_capacity(max_total: usize, max_per_peer: usize) -> Self {
        Admission {
            max_total,
            max_per_peer,
            entries: Vec::new(),
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
        if self.entries.len() >= self.max_total {
            match self.evict_oldest_idle() {
                Some(evicted) => decision = Admit::AdmitEvicting(evicted),
                None => return Admit::Refuse(FailureReason::OverCapacity),
            }
        }
        self.entries.push(Entry {
            key,
            peer,
            last_active: now,
        });
        decision
    }

    /// Connection `key` moved bytes at `now` (either way).
    pub fn touch(&mut self, key: K, now: Instant) {
        if let Some(entry) = self.entries.iter_mut().find(|e| e.key == key) {
            entry.last_active = now;
        }
    }

    /// Connection `key` ended. Unknown keys (already evicted) are ignored.
    pub fn release(&mut self, key: K) {
        if let Some(index) = self.entries.iter().position(|e| e.key == key) {
            self.entries.swap_remove(index);
        }
    }

    /// Forgets the connection that has gone longest without moving a byte,
    /// and returns it for the caller to end: for when room is needed for a
    /// reason the limits cannot see (the unikernel's TCP sockets running out).
    pub fn evict_oldest_idle(&mut self) -> Option<K> {
        let index = self
            .entries
            .iter()
            .enumerate()
            .min_by_key(|(_, e)| e.last_active)
            .map(|(i, _)| i)?;
        Some(self.entries.swap_remove(index).key)
    }

    /// Connections admitted and not released.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no connection is admitted.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Connections admitted from `peer`.
    pub fn from_peer(&self, peer: IpAddr) -> usize {
        self.entries.iter().filter(|e| e.peer == peer).count()
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
        assert_eq!(admission.admit(5, ip(5), at(50)), Admit::AdmitEvicting(3));
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
        assert_eq!(admission.evict_oldest_idle(), None);
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
