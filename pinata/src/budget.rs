//! The memory budget: how many bytes the connections may hold, and — where
//! the heap is all there is, as in the unikernel — how a heap is shared
//! between the fixed costs, the transport's sockets and the connections.
//!
//! # Why
//!
//! In the unikernel an allocation that fails is a panic, and a panic stops
//! the appliance. Every connection holds memory a peer controls (what it
//! sent and rustls has not consumed yet, what the piñata has for it and it
//! does not read, the TLS handshake's state), so without a budget a few
//! hundred connections that each send most of a large handshake message
//! and then stall fill any heap (measured: 128 KiB each before the bound
//! on handshake messages, 200 from one address powered a 16 MiB guest off
//! in 1.2 s).
//!
//! # How
//!
//! The event loop ([`crate::netloop`]) counts what every connection holds
//! ([`crate::Session::footprint`], plus its own bookkeeping) and keeps the
//! sum at most [`MemoryBudget::sessions`] − [`MemoryBudget::reserve`]
//! after every step of every session: the reserve is the room the next
//! step may take before the loop sees it (a page rendered, a handshake
//! flight, one chunk of input). Beyond it the loop ends connections — the
//! largest of the address that holds the most, freed at once — and a new
//! connection that does not fit after that is refused. Where the platform's
//! gauge knows the heap's size, the loop also ends connections while less
//! than [`MemoryBudget::heap_floor`] of the heap is free, whatever the
//! count says (a backstop for what the count cannot see).
//!
//! [`HeapPlan`] splits a heap: what the piñata uses once set up, a
//! headroom (the transient peak of one handshake's cryptography, a page,
//! the allocator's fragmentation), the transport's sockets (each a fixed
//! cost, created on demand, so their most is reserved), and the rest for
//! the connections.

use core::fmt;

/// Room kept free in the connections' budget after every step: a page
/// (about 12 KiB, once rendered and once framed), a server's handshake
/// flight, one 4 KiB chunk of input and rustls's growth on it, twice over.
pub const STEP_RESERVE: usize = 64 * 1024;

/// What the connections may hold. See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryBudget {
    /// Bytes all connections together may hold, [`reserve`](Self::reserve)
    /// included.
    pub sessions: usize,
    /// Kept free of [`sessions`](Self::sessions) after every step.
    pub reserve: usize,
    /// With a gauge that knows the heap's size: the heap bytes that must
    /// stay free; 0 ignores the gauge.
    pub heap_floor: usize,
}

impl MemoryBudget {
    /// No limit (and the gauge ignored).
    pub const UNLIMITED: MemoryBudget = MemoryBudget {
        sessions: usize::MAX,
        reserve: 0,
        heap_floor: 0,
    };

    /// `bytes` for the connections, [`STEP_RESERVE`] of it kept free, the
    /// gauge ignored: the hosted runner's budget, where memory is the
    /// operating system's.
    pub const fn of(bytes: usize) -> MemoryBudget {
        MemoryBudget {
            sessions: bytes,
            reserve: STEP_RESERVE,
            heap_floor: 0,
        }
    }

    /// The most the connections may hold after a step.
    pub const fn steady(&self) -> usize {
        self.sessions.saturating_sub(self.reserve)
    }
}

impl fmt::Display for MemoryBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.sessions == usize::MAX {
            return f.write_str("unlimited");
        }
        write!(f, "{} KiB for connections", self.sessions / 1024)?;
        if self.heap_floor > 0 {
            write!(f, ", {} KiB of heap kept free", self.heap_floor / 1024)?;
        }
        Ok(())
    }
}

/// Headroom of a heap beyond the budgets: the transient peak of one
/// handshake's cryptography and certificate checks, the page being
/// rendered, the allocator's fragmentation (see [`HeapPlan::headroom`]).
pub const HEADROOM_BYTES: usize = 512 * 1024;
/// The least the connections' budget may be: the page and a bounty
/// handshake at once, with a few connections beside them.
pub const MIN_SESSIONS_BYTES: usize = 512 * 1024;

/// How a heap is shared. See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapPlan {
    /// The heap's size.
    pub capacity: usize,
    /// In use once the piñata is set up, before any socket.
    pub fixed: usize,
    /// Kept free for transients and fragmentation.
    pub headroom: usize,
    /// Sockets the transport may hold (listeners included).
    pub sockets: usize,
    /// What one socket costs at most.
    pub socket_bytes: usize,
    /// What the connections may hold.
    pub budget: MemoryBudget,
}

/// A heap too small for the piñata: what it would need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapTooSmall {
    /// The heap's size.
    pub capacity: usize,
    /// The least heap that would do, with the same fixed costs.
    pub needed: usize,
}

impl fmt::Display for HeapTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a heap of {} KiB is too small: at least {} KiB needed",
            self.capacity / 1024,
            self.needed / 1024
        )
    }
}

impl core::error::Error for HeapTooSmall {}

impl HeapPlan {
    /// Shares a heap of `capacity` bytes, `fixed` of them in use: a
    /// headroom of [`HEADROOM_BYTES`] plus 1/16 of the heap; the
    /// transport's sockets (`socket_bytes` each) get at most half of what
    /// is left, between `min_sockets` (one per listener, and a few) and
    /// `max_sockets`; the connections the rest, at least
    /// [`MIN_SESSIONS_BYTES`]. Half the headroom is the gauge's floor.
    pub fn new(
        capacity: usize,
        fixed: usize,
        socket_bytes: usize,
        min_sockets: usize,
        max_sockets: usize,
    ) -> Result<HeapPlan, HeapTooSmall> {
        let headroom = HEADROOM_BYTES + capacity / 16;
        let socket_bytes = socket_bytes.max(1);
        let min_sockets = min_sockets.min(max_sockets);
        let too_small = HeapTooSmall {
            capacity,
            needed: (fixed + HEADROOM_BYTES + min_sockets * socket_bytes + MIN_SESSIONS_BYTES)
                .saturating_mul(16)
                .div_ceil(15),
        };
        let free = capacity.checked_sub(fixed + headroom).ok_or(too_small)?;
        let sockets = (free / 2 / socket_bytes).clamp(min_sockets, max_sockets);
        let sessions = free
            .checked_sub(sockets * socket_bytes)
            .filter(|&s| s >= MIN_SESSIONS_BYTES)
            .ok_or(too_small)?;
        Ok(HeapPlan {
            capacity,
            fixed,
            headroom,
            sockets,
            socket_bytes,
            budget: MemoryBudget {
                sessions,
                reserve: STEP_RESERVE,
                heap_floor: headroom / 2,
            },
        })
    }
}

impl fmt::Display for HeapPlan {
    /// The console line: `heap 21 MiB: 1,010 KiB set up, 1,868 KiB
    /// headroom, 256 sockets × 33 KiB, 10,923 KiB for connections`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "heap {} KiB: {} KiB set up, {} KiB headroom, {} sockets × {} KiB, {} KiB for connections",
            self.capacity / 1024,
            self.fixed / 1024,
            self.headroom / 1024,
            self.sockets,
            self.socket_bytes / 1024,
            self.budget.sessions / 1024
        )
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::ToString;

    use super::*;

    const KIB: usize = 1024;
    const MIB: usize = 1024 * KIB;

    #[test]
    fn a_large_heap_keeps_every_socket_and_gives_the_rest_to_connections() {
        let plan = HeapPlan::new(64 * MIB, MIB, 33 * KIB, 24, 256).unwrap();
        assert_eq!(plan.sockets, 256);
        let used = plan.fixed + plan.headroom + plan.sockets * plan.socket_bytes;
        assert_eq!(used + plan.budget.sessions, plan.capacity);
        assert_eq!(plan.budget.heap_floor, plan.headroom / 2);
        assert!(plan.budget.sessions > 40 * MIB, "{plan}");
    }

    #[test]
    fn a_small_heap_has_fewer_sockets_and_never_overcommits() {
        for capacity in [4 * MIB, 6 * MIB, 8 * MIB, 13 * MIB, 21 * MIB] {
            let Ok(plan) = HeapPlan::new(capacity, 900 * KIB, 33 * KIB, 24, 256) else {
                continue;
            };
            let used = plan.fixed + plan.headroom + plan.sockets * plan.socket_bytes;
            assert!(used + plan.budget.sessions <= capacity, "{plan}");
            assert!(plan.sockets >= 24 && plan.sockets <= 256, "{plan}");
            // The sockets take at most half of what is shared, unless
            // their least needs more.
            assert!(
                plan.sockets == 24 || plan.sockets * plan.socket_bytes <= plan.budget.sessions,
                "{plan}"
            );
        }
        let small = HeapPlan::new(6 * MIB, 900 * KIB, 33 * KIB, 24, 256).unwrap();
        assert!(small.sockets < 256, "{small}");
    }

    #[test]
    fn a_heap_too_small_says_what_would_do() {
        let error = HeapPlan::new(MIB, 900 * KIB, 33 * KIB, 24, 256).unwrap_err();
        assert!(error.needed > MIB);
        // What it says is enough, is.
        let plan = HeapPlan::new(error.needed + 16 * KIB, 900 * KIB, 33 * KIB, 24, 256);
        assert!(plan.is_ok(), "{error}: {plan:?}");
    }

    #[test]
    fn the_hosted_budget_keeps_its_reserve() {
        let budget = MemoryBudget::of(MIB);
        assert_eq!(budget.steady(), MIB - STEP_RESERVE);
        assert_eq!(budget.heap_floor, 0);
        assert_eq!(MemoryBudget::UNLIMITED.steady(), usize::MAX);
        assert_eq!(MemoryBudget::UNLIMITED.to_string(), "unlimited");
    }
}
