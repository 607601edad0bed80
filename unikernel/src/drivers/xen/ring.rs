//! The front end of an `io/ring.h` shared ring: one page holding four
//! indices and a power-of-two array of slots, each slot a request (written
//! by us) or, later, its response (written by the backend).
//!
//! ```text
//! offset 0   req_prod   our requests published so far (free-running u32)
//!        4   req_event  the backend wants a kick when req_prod passes this
//!        8   rsp_prod   responses published by the backend
//!        12  rsp_event  we want a kick when rsp_prod passes this
//!        16  padding to 64
//!        64  slot[0], slot[1], … slot[size-1]   (size = largest power of two that fits)
//! ```
//!
//! Indices only grow (wrapping at 2³²) and are masked with `size - 1` to
//! find a slot, so "how many" is always a wrapping subtraction. Private
//! copies (`req_prod_pvt`, `rsp_cons`) batch work: requests are written,
//! then published at once (write barrier, then the index); after
//! publishing, a full barrier and a look at `req_event` decide whether the
//! backend must be kicked. Before sleeping, [`FrontRing::final_check`]
//! asks for a kick on the next response and looks once more, so a
//! response that lands in between is not missed.
//!
//! The backend is not trusted to keep its indices sane: a `rsp_prod` more
//! than `size` ahead of what we consumed is reported, never followed.

use super::shared_memory::{SharedMemory, full_barrier, read_barrier, write_barrier};

const REQ_PROD: usize = 0;
const REQ_EVENT: usize = 4;
const RSP_PROD: usize = 8;
const RSP_EVENT: usize = 12;
/// Bytes before the first slot.
pub const HEADER: usize = 64;

/// The backend published more responses than there can be requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingOverflow {
    /// The backend's `rsp_prod`.
    pub rsp_prod: u32,
    /// Our `rsp_cons`.
    pub rsp_cons: u32,
}

/// Slots of `entry_size` bytes that fit in a ring of `bytes` bytes,
/// rounded down to a power of two (`__CONST_RING_SIZE`).
pub const fn ring_size(bytes: usize, entry_size: usize) -> u32 {
    let fit = (bytes - HEADER) / entry_size;
    if fit == 0 {
        0
    } else {
        1 << (usize::BITS - 1 - fit.leading_zeros())
    }
}

/// Our end of a shared ring in page `M`.
#[derive(Debug)]
pub struct FrontRing<M: SharedMemory> {
    page: M,
    entry_size: usize,
    size: u32,
    req_prod_pvt: u32,
    rsp_cons: u32,
}

impl<M: SharedMemory> FrontRing<M> {
    /// Zeroes the page, initialises the shared header (`SHARED_RING_INIT`)
    /// and our private indices (`FRONT_RING_INIT`).
    pub fn new(page: M, entry_size: usize) -> Self {
        Self::attach(page, entry_size, 0)
    }

    /// As [`FrontRing::new`] with every index starting at `start`
    /// (`FRONT_RING_ATTACH`); tests use it to cross the 2³² wrap.
    pub fn attach(page: M, entry_size: usize, start: u32) -> Self {
        let size = ring_size(page.size(), entry_size);
        // Nothing of the page's earlier life may reach the backend.
        page.zero(0, page.size());
        page.store_u32(REQ_PROD, start);
        page.store_u32(RSP_PROD, start);
        page.store_u32(REQ_EVENT, start.wrapping_add(1));
        page.store_u32(RSP_EVENT, start.wrapping_add(1));
        FrontRing {
            page,
            entry_size,
            size,
            req_prod_pvt: start,
            rsp_cons: start,
        }
    }

    /// Slots in the ring.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// The shared page.
    pub fn page(&self) -> &M {
        &self.page
    }

    /// Requests we may still queue (`RING_FREE_REQUESTS`).
    pub fn free_requests(&self) -> u32 {
        self.size - self.req_prod_pvt.wrapping_sub(self.rsp_cons)
    }

    /// Index of the next response to consume.
    pub fn rsp_cons(&self) -> u32 {
        self.rsp_cons
    }

    /// Byte offset of ring index `index`'s slot.
    pub fn slot_offset(&self, index: u32) -> usize {
        HEADER + (index & (self.size - 1)) as usize * self.entry_size
    }

    /// Slot number (0..size) of ring index `index`.
    pub fn slot(&self, index: u32) -> usize {
        (index & (self.size - 1)) as usize
    }

    /// Offset of the next request's slot; call [`FrontRing::queue`] once
    /// it is written. `None` if the ring is full.
    pub fn next_request(&self) -> Option<usize> {
        (self.free_requests() > 0).then(|| self.slot_offset(self.req_prod_pvt))
    }

    /// Counts the request written at [`FrontRing::next_request`]'s slot.
    pub fn queue(&mut self) {
        self.req_prod_pvt = self.req_prod_pvt.wrapping_add(1);
    }

    /// Publishes queued requests; true if the backend asked to be kicked
    /// (`RING_PUSH_REQUESTS_AND_CHECK_NOTIFY`).
    pub fn push_requests(&mut self) -> bool {
        let old = self.page.load_u32(REQ_PROD);
        let new = self.req_prod_pvt;
        write_barrier();
        self.page.store_u32(REQ_PROD, new);
        full_barrier();
        let event = self.page.load_u32(REQ_EVENT);
        new.wrapping_sub(event) < new.wrapping_sub(old)
    }

    /// Responses published and not yet consumed.
    pub fn unconsumed_responses(&self) -> Result<u32, RingOverflow> {
        let rsp_prod = self.page.load_u32(RSP_PROD);
        read_barrier();
        let pending = rsp_prod.wrapping_sub(self.rsp_cons);
        // A backend may not answer more requests than we made.
        if pending > self.req_prod_pvt.wrapping_sub(self.rsp_cons) {
            return Err(RingOverflow {
                rsp_prod,
                rsp_cons: self.rsp_cons,
            });
        }
        Ok(pending)
    }

    /// Offset of the next unconsumed response's slot; call
    /// [`FrontRing::consume`] once it is read.
    pub fn next_response(&self) -> usize {
        self.slot_offset(self.rsp_cons)
    }

    /// Counts one response as consumed.
    pub fn consume(&mut self) {
        self.rsp_cons = self.rsp_cons.wrapping_add(1);
    }

    /// Asks for a kick on the next response and reports whether some
    /// arrived meanwhile (`RING_FINAL_CHECK_FOR_RESPONSES`).
    pub fn final_check(&mut self) -> Result<bool, RingOverflow> {
        if self.unconsumed_responses()? > 0 {
            return Ok(true);
        }
        self.page
            .store_u32(RSP_EVENT, self.rsp_cons.wrapping_add(1));
        full_barrier();
        Ok(self.unconsumed_responses()? > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::xen::sim::SimPage;

    #[test]
    fn sizes_match_the_c_macros() {
        // netif: tx slot 12 bytes, rx slot 8 bytes: both 256 per page.
        assert_eq!(ring_size(4096, 12), 256);
        assert_eq!(ring_size(4096, 8), 256);
        assert_eq!(ring_size(4096, 64), 32);
        assert_eq!(ring_size(4096, 4096), 0);
    }

    /// A minimal back end over the same page: consume requests, answer.
    fn answer_all(page: &SimPage, entry: usize, size: u32, rsp_prod: &mut u32) -> u32 {
        let req_prod = page.load_u32(REQ_PROD);
        let mut n = 0;
        while *rsp_prod != req_prod {
            let off = HEADER + (*rsp_prod & (size - 1)) as usize * entry;
            let v = page.load_u32(off);
            page.store_u32(off, v + 1000);
            *rsp_prod = rsp_prod.wrapping_add(1);
            n += 1;
        }
        page.store_u32(RSP_PROD, *rsp_prod);
        n
    }

    #[test]
    fn indices_cross_the_u32_wrap_and_slots_wrap() {
        let page = SimPage::new(1);
        let start = u32::MAX - 300;
        let mut ring = FrontRing::attach(page.clone(), 8, start);
        let mut back_prod = start;
        let size = ring.size();
        let mut sent = 0u32;
        let mut received = 0u32;
        for round in 0..5 {
            // Fill the ring completely, then answer everything.
            while let Some(off) = ring.next_request() {
                page.store_u32(off, sent);
                ring.queue();
                sent += 1;
            }
            assert_eq!(ring.free_requests(), 0, "round {round}");
            ring.push_requests();
            assert_eq!(answer_all(&page, 8, size, &mut back_prod), size);
            let n = ring.unconsumed_responses().unwrap();
            assert_eq!(n, size);
            for _ in 0..n {
                assert_eq!(page.load_u32(ring.next_response()), received + 1000);
                ring.consume();
                received += 1;
            }
            assert!(!ring.final_check().unwrap());
        }
        assert_eq!(sent, 5 * size);
        // The private indices wrapped past zero.
        assert!(ring.rsp_cons() < start);
    }

    #[test]
    fn a_backend_claiming_too_many_responses_is_refused() {
        let page = SimPage::new(1);
        let mut ring = FrontRing::new(page.clone(), 8);
        let off = ring.next_request().unwrap();
        page.store_u32(off, 1);
        ring.queue();
        ring.push_requests();
        page.store_u32(RSP_PROD, 2);
        assert_eq!(
            ring.unconsumed_responses(),
            Err(RingOverflow {
                rsp_prod: 2,
                rsp_cons: 0
            })
        );
        page.store_u32(RSP_PROD, 1);
        assert_eq!(ring.unconsumed_responses(), Ok(1));
    }

    #[test]
    fn kicks_follow_the_event_thresholds() {
        let page = SimPage::new(1);
        let mut ring = FrontRing::new(page.clone(), 8);
        // req_event starts at 1: the first request needs a kick.
        ring.next_request().unwrap();
        ring.queue();
        assert!(ring.push_requests());
        // The backend moves its threshold far ahead: no kick.
        page.store_u32(REQ_EVENT, 100);
        ring.next_request().unwrap();
        ring.queue();
        assert!(!ring.push_requests());
        // final_check arms rsp_event at rsp_cons + 1.
        assert_eq!(ring.final_check(), Ok(false));
        assert_eq!(page.load_u32(RSP_EVENT), 1);
    }
}
