//! In-process stand-ins for Xen and dom0, for the host tests.
//!
//! [`SimPage`] is a page of atomics that a driver and a simulated backend
//! share, exactly as a real guest and dom0 share a granted page; [`SimXen`]
//! implements [`Hypervisor`]: ports are numbers, pages come with made-up
//! frame numbers (and can be looked up by frame, as Xen does when a
//! backend maps a grant), the clock is simulated, and every
//! [`Hypervisor::wait`] lets each registered backend run one step and
//! advances the clock by [`STEP_NS`]. A driver that waits for a backend
//! therefore makes progress, and one that waits for a backend that never
//! answers reaches its deadline after deadline/[`STEP_NS`] steps.
//!
//! The backends (`xenstored`, `netback`, `console`) speak the real wire
//! formats and are written from the protocol headers, not from the
//! drivers, so a test fails when the driver and the protocol disagree.

pub mod console;
pub mod netback;
pub mod xenstored;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::shared_memory::{PAGE_SIZE, SharedMemory, check_range};
use super::{DomId, Hypervisor, MS, Port, XenError};

/// Simulated time per [`Hypervisor::wait`].
pub const STEP_NS: u64 = MS;

struct PageInner {
    words: Box<[AtomicU64]>,
    frame: u64,
}

/// A page of simulated guest memory, shared by cloning.
#[derive(Clone)]
pub struct SimPage(Rc<PageInner>);

impl core::fmt::Debug for SimPage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SimPage(frame {:#x})", self.0.frame)
    }
}

impl SimPage {
    /// A zeroed page with frame number `frame`.
    pub fn new(frame: u64) -> SimPage {
        SimPage(Rc::new(PageInner {
            words: (0..PAGE_SIZE / 8).map(|_| AtomicU64::new(0)).collect(),
            frame,
        }))
    }

    fn word(&self, offset: usize) -> &AtomicU64 {
        &self.0.words[offset / 8]
    }

    fn load_bits(&self, offset: usize, bytes: usize) -> u64 {
        check_range(PAGE_SIZE, offset, bytes, bytes);
        let word = self.word(offset).load(Ordering::SeqCst);
        let shift = (offset % 8) * 8;
        let mask = if bytes == 8 {
            u64::MAX
        } else {
            (1u64 << (bytes * 8)) - 1
        };
        (word >> shift) & mask
    }

    fn store_bits(&self, offset: usize, bytes: usize, value: u64) {
        check_range(PAGE_SIZE, offset, bytes, bytes);
        let shift = (offset % 8) * 8;
        let mask = if bytes == 8 {
            u64::MAX
        } else {
            ((1u64 << (bytes * 8)) - 1) << shift
        };
        let _ = self
            .word(offset)
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |w| {
                Some((w & !mask) | ((value << shift) & mask))
            });
    }

    /// Stores an aligned u64 (what Xen does to shared info).
    pub fn store_u64(&self, offset: usize, value: u64) {
        self.store_bits(offset, 8, value)
    }

    /// A copy of `len` bytes at `offset` (tests and backends).
    pub fn bytes(&self, offset: usize, len: usize) -> Vec<u8> {
        let mut out = vec![0; len];
        self.read(offset, &mut out);
        out
    }
}

impl SharedMemory for SimPage {
    fn size(&self) -> usize {
        PAGE_SIZE
    }
    fn frame(&self) -> u64 {
        self.0.frame
    }
    fn load_u8(&self, offset: usize) -> u8 {
        self.load_bits(offset, 1) as u8
    }
    fn load_u16(&self, offset: usize) -> u16 {
        self.load_bits(offset, 2) as u16
    }
    fn load_u32(&self, offset: usize) -> u32 {
        self.load_bits(offset, 4) as u32
    }
    fn load_u64(&self, offset: usize) -> u64 {
        self.load_bits(offset, 8)
    }
    fn store_u8(&self, offset: usize, value: u8) {
        self.store_bits(offset, 1, value.into())
    }
    fn store_u16(&self, offset: usize, value: u16) {
        self.store_bits(offset, 2, value.into())
    }
    fn store_u32(&self, offset: usize, value: u32) {
        self.store_bits(offset, 4, value.into())
    }
    fn compare_exchange_u16(&self, offset: usize, current: u16, new: u16) -> Result<u16, u16> {
        check_range(PAGE_SIZE, offset, 2, 2);
        let shift = (offset % 8) * 8;
        let mask = 0xFFFFu64 << shift;
        self.word(offset)
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |w| {
                (((w & mask) >> shift) as u16 == current)
                    .then(|| (w & !mask) | (u64::from(new) << shift))
            })
            .map(|w| ((w & mask) >> shift) as u16)
            .map_err(|w| ((w & mask) >> shift) as u16)
    }
    fn fetch_and_u64(&self, offset: usize, mask: u64) -> u64 {
        check_range(PAGE_SIZE, offset, 8, 8);
        self.word(offset).fetch_and(mask, Ordering::SeqCst)
    }
}

/// A simulated dom0 process: runs one step per [`Hypervisor::wait`].
pub trait Backend {
    /// Does whatever is ready (read rings, answer, change state).
    fn step(&mut self, xen: &SimXen);
}

struct State {
    clock: Cell<u64>,
    next_port: Cell<Port>,
    next_frame: Cell<u64>,
    /// Pages still to hand out; `None` = unlimited.
    page_budget: Cell<Option<usize>>,
    pages: RefCell<HashMap<u64, SimPage>>,
    backends: RefCell<Vec<Rc<RefCell<dyn Backend>>>>,
    kicks: RefCell<HashMap<Port, u64>>,
    /// `alloc_unbound` fails with this error when set.
    alloc_error: Cell<Option<XenError>>,
}

/// The simulated hypervisor (cheap to clone: all clones are one machine).
#[derive(Clone)]
pub struct SimXen(Rc<State>);

impl SimXen {
    /// A machine with no backends, the clock at 1 s.
    pub fn new() -> SimXen {
        SimXen(Rc::new(State {
            clock: Cell::new(1_000 * MS),
            next_port: Cell::new(10),
            next_frame: Cell::new(0x10_000),
            page_budget: Cell::new(None),
            pages: RefCell::new(HashMap::new()),
            backends: RefCell::new(Vec::new()),
            kicks: RefCell::new(HashMap::new()),
            alloc_error: Cell::new(None),
        }))
    }

    /// Registers a backend to run on every wait.
    pub fn add_backend<B: Backend + 'static>(&self, backend: Rc<RefCell<B>>) {
        self.0.backends.borrow_mut().push(backend);
    }

    /// Runs every backend once and advances the clock by one step.
    pub fn step(&self) {
        let backends: Vec<_> = self.0.backends.borrow().clone();
        for backend in backends {
            backend.borrow_mut().step(self);
        }
        self.0.clock.set(self.0.clock.get() + STEP_NS);
    }

    /// A page now (tests), registered so backends can find it by frame.
    pub fn alloc_page_now(&self) -> SimPage {
        let frame = self.0.next_frame.get();
        self.0.next_frame.set(frame + 1);
        let page = SimPage::new(frame);
        self.0.pages.borrow_mut().insert(frame, page.clone());
        page
    }

    /// The page with guest frame number `frame` (what Xen finds behind a
    /// grant entry).
    pub fn page(&self, frame: u64) -> Option<SimPage> {
        self.0.pages.borrow().get(&frame).cloned()
    }

    /// Limits how many more pages [`Hypervisor::alloc_page`] hands out.
    pub fn set_page_budget(&self, pages: Option<usize>) {
        self.0.page_budget.set(pages);
    }

    /// Makes `alloc_unbound` fail (or succeed again with `None`).
    pub fn fail_alloc_unbound(&self, error: Option<XenError>) {
        self.0.alloc_error.set(error);
    }

    /// How often `port` was rung.
    pub fn kicks(&self, port: Port) -> u64 {
        self.0.kicks.borrow().get(&port).copied().unwrap_or(0)
    }
}

impl Hypervisor for SimXen {
    type Page = SimPage;

    fn notify(&self, port: Port) {
        *self.0.kicks.borrow_mut().entry(port).or_default() += 1;
    }

    fn alloc_unbound(&self, _remote: DomId) -> Result<Port, XenError> {
        if let Some(error) = self.0.alloc_error.get() {
            return Err(error);
        }
        let port = self.0.next_port.get();
        self.0.next_port.set(port + 1);
        Ok(port)
    }

    fn now_ns(&self) -> u64 {
        self.0.clock.get()
    }

    fn wait(&self, _port: Port, _deadline_ns: u64) {
        self.step();
    }

    /// Pages come back full of 0xA5, like a recycled heap page: a driver
    /// that shares one without zeroing it is caught by the backends.
    fn alloc_page(&self) -> Option<SimPage> {
        match self.0.page_budget.get() {
            Some(0) => return None,
            Some(n) => self.0.page_budget.set(Some(n - 1)),
            None => {}
        }
        let page = self.alloc_page_now();
        page.write(0, &[0xA5; PAGE_SIZE]);
        Some(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_page_sub_word_access_is_little_endian_and_isolated() {
        let p = SimPage::new(1);
        p.store_u64(8, 0x1122_3344_5566_7788);
        assert_eq!(p.load_u8(8), 0x88);
        assert_eq!(p.load_u16(10), 0x5566);
        assert_eq!(p.load_u32(12), 0x1122_3344);
        p.store_u16(10, 0xABCD);
        assert_eq!(p.load_u64(8), 0x1122_3344_ABCD_7788);
        assert_eq!(p.compare_exchange_u16(10, 1, 2), Err(0xABCD));
        assert_eq!(p.compare_exchange_u16(10, 0xABCD, 2), Ok(0xABCD));
        assert_eq!(p.load_u64(8), 0x1122_3344_0002_7788);
        p.write(4094, b"zz");
        assert_eq!(p.bytes(4094, 2), b"zz");
    }

    #[test]
    #[should_panic(expected = "driver bug")]
    fn out_of_page_access_is_a_loud_bug() {
        SimPage::new(1).load_u32(4094);
    }
}
