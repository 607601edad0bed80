//! Released connections still closing ("orphans"): counted per address and
//! in all, capped, and the first sockets given up when one is needed.
//!
//! A connection the caller released after `close` keeps its socket while
//! its last bytes and FIN go out (at most [`StackConfig::linger_ms`]). A
//! peer that stops acknowledging keeps it the whole time, outside the
//! caller's limits: left alone, one address could fill every socket with
//! its closing connections, and the caller would then evict other
//! visitors' live connections to re-arm the listeners. So:
//!
//! - at most [`StackConfig::max_orphans_per_peer`] per address and
//!   [`StackConfig::max_orphans`] in all: beyond either, the oldest (of
//!   that address, then of all) is dropped;
//! - when a socket is needed and none is free (a listener to re-arm, a
//!   dial), the oldest orphan that has lingered more than
//!   [`StackConfig::orphan_grace_ms`] is dropped first;
//!   [`Stack::at_capacity`] says "evict a live connection" only when none
//!   is left. A younger one is most likely a page on its way to a peer
//!   that acknowledges within a round trip: under a flood of new
//!   connections, dropping it would keep the page from ever arriving.
//!
//! Dropping an orphan frees its socket at once, without a segment: the
//! peer's next segment is answered with a reset. A released socket that
//! was reset (aborted) is not an orphan in this sense: it is freed at the
//! next poll, once its RST has gone out, and never dropped before.
//!
//! [`StackConfig::linger_ms`]: crate::StackConfig::linger_ms
//! [`StackConfig::max_orphans_per_peer`]: crate::StackConfig::max_orphans_per_peer
//! [`StackConfig::max_orphans`]: crate::StackConfig::max_orphans
//! [`StackConfig::orphan_grace_ms`]: crate::StackConfig::orphan_grace_ms

use core::net::IpAddr;

use smoltcp::socket::tcp;

use crate::slots::Role;
use crate::{Nic, Stack};

impl<N: Nic> Stack<N> {
    /// Released sockets: (still closing, reset and about to be freed). A
    /// reset one goes at the next poll, once its RST is out; it is never
    /// dropped early (the peer would not hear the reset).
    pub(crate) fn orphans(&self) -> (usize, usize) {
        let mut counts = (0, 0);
        for entry in self.slots.iter().filter_map(|s| s.entry.as_ref()) {
            if let Role::Orphan { .. } = entry.role {
                if self.is_reset(entry.handle) {
                    counts.1 += 1;
                } else {
                    counts.0 += 1;
                }
            }
        }
        counts
    }

    /// The latest deadline an orphan past its grace can have.
    fn graced_deadline(&self) -> u64 {
        (self.now_ms + self.config.linger_ms).saturating_sub(self.config.orphan_grace_ms)
    }

    /// Whether an orphan can give its socket to a listener or a dial:
    /// one past its grace, or one already reset.
    pub(crate) fn orphan_to_reclaim(&self) -> bool {
        let graced = self.graced_deadline();
        self.slots.iter().filter_map(|s| s.entry.as_ref()).any(|e| {
            matches!(e.role, Role::Orphan { deadline_ms, .. } if deadline_ms <= graced)
                || (matches!(e.role, Role::Orphan { .. }) && self.is_reset(e.handle))
        })
    }

    /// Drops the oldest orphan past its grace, for a socket needed now.
    pub(crate) fn reclaim_orphan(&mut self) -> bool {
        self.drop_orphan(None, self.graced_deadline())
    }

    fn is_reset(&self, handle: smoltcp::iface::SocketHandle) -> bool {
        self.sockets.get::<tcp::Socket>(handle).state() == tcp::State::Closed
    }

    /// Drops the oldest released connection still closing — of `peer` if
    /// given, of all otherwise — freeing its socket at once; false if
    /// there was none.
    pub(crate) fn drop_oldest_orphan(&mut self, peer: Option<IpAddr>) -> bool {
        self.drop_orphan(peer, u64::MAX)
    }

    /// As [`Self::drop_oldest_orphan`], among those whose deadline is at
    /// most `latest`.
    fn drop_orphan(&mut self, peer: Option<IpAddr>, latest: u64) -> bool {
        let oldest = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let entry = s.entry.as_ref()?;
                match entry.role {
                    Role::Orphan {
                        deadline_ms,
                        peer: p,
                        order,
                    } if (peer.is_none() || p == peer)
                        && deadline_ms <= latest
                        && !self.is_reset(entry.handle) =>
                    {
                        Some((i, order))
                    }
                    _ => None,
                }
            })
            .min_by_key(|&(_, order)| order);
        match oldest {
            Some((index, _)) => {
                self.remove(index);
                true
            }
            None => false,
        }
    }

    /// Released connections of `peer` still closing.
    fn orphans_of(&self, peer: IpAddr) -> usize {
        self.slots
            .iter()
            .filter_map(|s| s.entry.as_ref())
            .filter(|e| {
                matches!(e.role, Role::Orphan { peer: Some(p), .. } if p == peer)
                    && !self.is_reset(e.handle)
            })
            .count()
    }

    /// Applies the caps after a connection of `peer` became an orphan.
    pub(crate) fn limit_orphans(&mut self, peer: Option<IpAddr>) {
        if let Some(peer) = peer {
            while self.orphans_of(peer) > self.config.max_orphans_per_peer {
                if !self.drop_oldest_orphan(Some(peer)) {
                    break;
                }
            }
        }
        while self.orphans().0 > self.config.max_orphans {
            if !self.drop_oldest_orphan(None) {
                break;
            }
        }
    }
}
