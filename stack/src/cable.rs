//! An in-memory Ethernet cable: NICs made of frame queues, for tests,
//! fuzzing and simulations on the host (the way smoltcp's `phy::Loopback`
//! is a device made of one queue).
//!
//! [`cable`] returns two [`End`]s plugged into each other: what one
//! transmits, the other receives at its next poll. An [`End::loose`] end is
//! plugged into nothing: the harness holding it delivers frames itself
//! (pushes into [`End::rx`], drains [`End::tx`]), to drop, delay, record,
//! inspect or forge them on the way. Either way a [`Stack`](crate::Stack)
//! sees a plain [`Nic`].
//!
//! ```
//! use stack::cable::cable;
//!
//! let (a, b) = cable([0x02, 0, 0, 0, 0, 1], [0x02, 0, 0, 0, 0, 2]);
//! // `Stack::new(a, …)` and `Stack::new(b, …)` now share one wire; the
//! // frames in flight from A to B are `a.tx()` (the same queue as `b.rx()`).
//! assert!(a.tx().is_empty() && b.rx().is_empty());
//! ```
//!
//! Single-threaded (`Rc`): the clock is the caller's, and nothing here
//! waits.

use alloc::collections::VecDeque;
use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::RefCell;

use crate::Nic;

/// Frames in flight in one direction, oldest first. Clones share the
/// queue: a harness keeps one to watch or feed a direction.
#[derive(Clone, Default)]
pub struct Queue(Rc<RefCell<VecDeque<Vec<u8>>>>);

impl Queue {
    /// Appends a frame.
    pub fn push(&self, frame: Vec<u8>) {
        self.0.borrow_mut().push_back(frame);
    }

    /// Takes the oldest frame.
    pub fn pop(&self) -> Option<Vec<u8>> {
        self.0.borrow_mut().pop_front()
    }

    /// Frames waiting.
    pub fn len(&self) -> usize {
        self.0.borrow().len()
    }

    /// True when no frame is waiting.
    pub fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }

    /// Drops every waiting frame.
    pub fn clear(&self) {
        self.0.borrow_mut().clear();
    }

    /// Takes every waiting frame, oldest first.
    pub fn drain(&self) -> Vec<Vec<u8>> {
        self.0.borrow_mut().drain(..).collect()
    }

    /// A copy of every waiting frame, oldest first; the queue is unchanged.
    pub fn frames(&self) -> Vec<Vec<u8>> {
        self.0.borrow().iter().cloned().collect()
    }
}

/// Frames an end's transmit queue holds by default before it refuses more
/// (see [`End::tx_capacity`]).
pub const DEFAULT_TX_CAPACITY: usize = 4096;

/// One end of the cable: a NIC whose receive and transmit sides are
/// [`Queue`]s.
pub struct End {
    mac: [u8; 6],
    rx: Queue,
    tx: Queue,
    /// Frames the transmit queue holds before [`Nic::transmit`] drops one
    /// (and [`Nic::can_transmit`] says no): a full NIC queue, as a real
    /// driver has.
    pub tx_capacity: usize,
    /// Frames dropped because the transmit queue was full.
    pub dropped: usize,
    /// Frames that this returns true for are lost on the way in: e.g. a
    /// port that never answers, not even with a reset.
    pub deaf_to: Option<fn(&[u8]) -> bool>,
    /// A copy of every frame transmitted, when set (see [`End::record`]).
    recorded: Option<Queue>,
}

/// Two ends plugged into each other: what `a` transmits `b` receives, and
/// the other way round.
pub fn cable(mac_a: [u8; 6], mac_b: [u8; 6]) -> (End, End) {
    let (ab, ba) = (Queue::default(), Queue::default());
    (
        End::with_queues(mac_a, ba.clone(), ab.clone()),
        End::with_queues(mac_b, ab, ba),
    )
}

impl End {
    /// An end plugged into nothing: its queues are its own, for a harness
    /// to feed and drain.
    pub fn loose(mac: [u8; 6]) -> End {
        End::with_queues(mac, Queue::default(), Queue::default())
    }

    fn with_queues(mac: [u8; 6], rx: Queue, tx: Queue) -> End {
        End {
            mac,
            rx,
            tx,
            tx_capacity: DEFAULT_TX_CAPACITY,
            dropped: 0,
            deaf_to: None,
            recorded: None,
        }
    }

    /// Frames arriving at this end, not yet received.
    pub fn rx(&self) -> &Queue {
        &self.rx
    }

    /// Frames this end transmitted, not yet received by the other end (or
    /// taken by the harness).
    pub fn tx(&self) -> &Queue {
        &self.tx
    }

    /// From now on keeps a copy of every frame transmitted, in the queue
    /// returned (for tests that read what went on the wire after the other
    /// end has consumed it).
    pub fn record(&mut self) -> Queue {
        self.recorded.get_or_insert_with(Queue::default).clone()
    }
}

impl Nic for End {
    fn mac_address(&self) -> [u8; 6] {
        self.mac
    }

    fn receive(&mut self, buf: &mut [u8]) -> Option<usize> {
        let mut frame = self.rx.pop()?;
        while self.deaf_to.is_some_and(|deaf| deaf(&frame)) {
            frame = self.rx.pop()?;
        }
        // A real driver drops an oversized frame: hand over an empty one,
        // which the stack discards as malformed.
        if frame.len() > buf.len() {
            return Some(0);
        }
        buf[..frame.len()].copy_from_slice(&frame);
        Some(frame.len())
    }

    fn transmit(&mut self, frame: &[u8]) -> bool {
        if self.tx.len() >= self.tx_capacity {
            self.dropped += 1;
            return false;
        }
        if let Some(recorded) = &self.recorded {
            recorded.push(frame.to_vec());
        }
        self.tx.push(frame.to_vec());
        true
    }

    fn can_transmit(&self) -> bool {
        self.tx.len() < self.tx_capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugged_ends_carry_frames_both_ways_in_order() {
        let (mut a, mut b) = cable([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        assert!(a.transmit(b"one") && a.transmit(b"two") && b.transmit(b"back"));
        let mut buf = [0u8; 16];
        assert_eq!(b.receive(&mut buf), Some(3));
        assert_eq!(&buf[..3], b"one");
        assert_eq!(b.receive(&mut buf), Some(3));
        assert_eq!(&buf[..3], b"two");
        assert_eq!(b.receive(&mut buf), None);
        assert_eq!(a.receive(&mut buf), Some(4));
        assert_eq!(&buf[..4], b"back");
    }

    #[test]
    fn a_full_transmit_queue_drops_and_says_so() {
        let mut end = End::loose([2, 0, 0, 0, 0, 1]);
        end.tx_capacity = 1;
        assert!(end.can_transmit() && end.transmit(b"a"));
        assert!(!end.can_transmit() && !end.transmit(b"b"));
        assert_eq!((end.dropped, end.tx().len()), (1, 1));
    }

    #[test]
    fn deaf_ends_lose_frames_and_recorded_ends_keep_copies() {
        let (mut a, mut b) = cable([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
        let recorded = a.record();
        b.deaf_to = Some(|frame| frame.starts_with(b"x"));
        assert!(a.transmit(b"xy") && a.transmit(b"ok"));
        let mut buf = [0u8; 1];
        // Oversized for the buffer: an empty frame.
        assert_eq!(b.receive(&mut buf), Some(0));
        assert_eq!(b.receive(&mut buf), None);
        assert_eq!(recorded.frames(), [b"xy".to_vec(), b"ok".to_vec()]);
    }
}
