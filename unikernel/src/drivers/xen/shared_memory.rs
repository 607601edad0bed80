//! Memory shared with Xen or with another domain, behind one small trait.
//!
//! Every Xen PV protocol is a structure in a page that two parties change
//! at the same time: the console and xenstore rings, the shared-info page
//! (event bits, clocks), the grant table, netfront's rings and buffers. The
//! drivers never touch such a page through a Rust reference (the other side
//! may change it under us, which a `&`/`&mut` forbids); they go through
//! [`SharedMemory`]: loads and stores of naturally aligned integers at byte
//! offsets, bulk copies, and the two atomic read-modify-writes the
//! protocols need (clearing an event's pending bit, revoking a grant).
//!
//! Two implementations:
//! - `RawPage` (image only): a page of identity-mapped guest memory — a
//!   page the toolstack set aside (console, xenstore), a page Xen mapped
//!   into our physical address space (shared info, grant frames), or a
//!   heap page we grant to a backend;
//! - `sim::SimPage` (host tests): an in-process page of atomics that a
//!   simulated backend (xenstored, netback, xenconsoled) shares with the
//!   very same driver code.
//!
//! Ordering. x86 keeps stores in order and loads in order (TSO), so the
//! ring protocols' `wmb`/`rmb` are compiler barriers and `mb` is a full
//! fence (`mfence`): [`write_barrier`], [`read_barrier`], [`full_barrier`].
//! Offsets are the driver's own arithmetic (ring indices are always masked
//! first), so an offset outside the page is a driver bug: it panics with a
//! clear message rather than touching memory it must not.

use core::sync::atomic::{Ordering, compiler_fence, fence};

/// Bytes in a page (x86: 4 KiB), the unit of sharing.
pub const PAGE_SIZE: usize = 4096;

/// A page (or pages) of memory shared with the hypervisor or a backend.
///
/// All accessors take `&self`: the memory changes behind our back anyway,
/// and the trait's implementations use atomics or volatile accesses.
pub trait SharedMemory {
    /// Size in bytes.
    fn size(&self) -> usize;
    /// The guest frame number (physical address / 4096) of the first page:
    /// what goes into a grant entry.
    fn frame(&self) -> u64;
    /// Loads a byte.
    fn load_u8(&self, offset: usize) -> u8;
    /// Loads an aligned little-endian u16.
    fn load_u16(&self, offset: usize) -> u16;
    /// Loads an aligned u32.
    fn load_u32(&self, offset: usize) -> u32;
    /// Loads an aligned u64.
    fn load_u64(&self, offset: usize) -> u64;
    /// Stores a byte.
    fn store_u8(&self, offset: usize, value: u8);
    /// Stores an aligned u16.
    fn store_u16(&self, offset: usize, value: u16);
    /// Stores an aligned u32.
    fn store_u32(&self, offset: usize, value: u32);
    /// Copies `buf.len()` bytes out, starting at `offset`.
    fn read(&self, offset: usize, buf: &mut [u8]) {
        for (i, byte) in buf.iter_mut().enumerate() {
            *byte = self.load_u8(offset + i);
        }
    }
    /// Copies `data` in, starting at `offset`.
    fn write(&self, offset: usize, data: &[u8]) {
        for (i, &byte) in data.iter().enumerate() {
            self.store_u8(offset + i, byte);
        }
    }
    /// Sets `len` bytes from `offset` to zero.
    fn zero(&self, offset: usize, len: usize) {
        for i in 0..len {
            self.store_u8(offset + i, 0);
        }
    }
    /// Atomically replaces the u16 at `offset` with `new` if it is still
    /// `current`; returns the value found (`Ok` when replaced).
    fn compare_exchange_u16(&self, offset: usize, current: u16, new: u16) -> Result<u16, u16>;
    /// Atomically ANDs `mask` into the u64 at `offset`; returns the old value.
    fn fetch_and_u64(&self, offset: usize, mask: u64) -> u64;
}

/// The other side sees our earlier stores before our later ones
/// (`wmb`): a compiler barrier on x86.
pub fn write_barrier() {
    compiler_fence(Ordering::Release);
}

/// Our later loads see what the other side stored before the index we just
/// read (`rmb`): a compiler barrier on x86.
pub fn read_barrier() {
    compiler_fence(Ordering::Acquire);
}

/// Everything before is visible before anything after is done (`mb`):
/// `mfence` on x86. Needed where a store (our producer index) must be seen
/// before a load (the other side's event threshold).
pub fn full_barrier() {
    fence(Ordering::SeqCst);
}

/// Panics unless `[offset, offset + len)` lies inside `size` bytes and
/// `offset` is a multiple of `align`: the driver's arithmetic is wrong.
#[track_caller]
pub fn check_range(size: usize, offset: usize, len: usize, align: usize) {
    assert!(
        offset.checked_add(len).is_some_and(|end| end <= size) && offset.is_multiple_of(align),
        "xen shared memory: access of {len} bytes at offset {offset} outside a {size}-byte area (driver bug)"
    );
}

#[cfg(target_os = "none")]
pub use raw::RawPage;

#[cfg(target_os = "none")]
mod raw {
    use core::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, Ordering};

    use super::{SharedMemory, check_range};

    /// Identity-mapped guest memory shared with Xen or a backend.
    #[derive(Debug)]
    pub struct RawPage {
        base: usize,
        size: usize,
    }

    impl RawPage {
        /// The `size` bytes at physical (= virtual) address `base`.
        ///
        /// # Safety
        /// `[base, base + size)` is mapped, page-aligned, stays valid for
        /// the rest of the program, and Rust code reaches it only through
        /// this value (or copies of its address handed to the same kind of
        /// accessor): no references into it exist.
        pub unsafe fn new(base: usize, size: usize) -> RawPage {
            RawPage { base, size }
        }

        fn at<T>(&self, offset: usize) -> *mut T {
            check_range(self.size, offset, size_of::<T>(), align_of::<T>());
            (self.base + offset) as *mut T
        }
    }

    // The accessors below all rest on the same argument:
    // SAFETY (shared by every block in this impl): `at` checked that the
    // access is inside the area promised by `RawPage::new`'s contract and
    // naturally aligned; the area is only accessed atomically or
    // volatilely, so concurrent changes by the other side are not a data
    // race on our part.
    impl SharedMemory for RawPage {
        fn size(&self) -> usize {
            self.size
        }
        fn frame(&self) -> u64 {
            self.base as u64 >> 12
        }
        fn load_u8(&self, offset: usize) -> u8 {
            // SAFETY: see the impl's note.
            unsafe { self.at::<u8>(offset).read_volatile() }
        }
        fn load_u16(&self, offset: usize) -> u16 {
            // SAFETY: see the impl's note.
            unsafe { AtomicU16::from_ptr(self.at(offset)).load(Ordering::Relaxed) }
        }
        fn load_u32(&self, offset: usize) -> u32 {
            // SAFETY: see the impl's note.
            unsafe { AtomicU32::from_ptr(self.at(offset)).load(Ordering::Relaxed) }
        }
        fn load_u64(&self, offset: usize) -> u64 {
            // SAFETY: see the impl's note.
            unsafe { AtomicU64::from_ptr(self.at(offset)).load(Ordering::Relaxed) }
        }
        fn store_u8(&self, offset: usize, value: u8) {
            // SAFETY: see the impl's note.
            unsafe { self.at::<u8>(offset).write_volatile(value) }
        }
        fn store_u16(&self, offset: usize, value: u16) {
            // SAFETY: see the impl's note.
            unsafe { AtomicU16::from_ptr(self.at(offset)).store(value, Ordering::Relaxed) }
        }
        fn store_u32(&self, offset: usize, value: u32) {
            // SAFETY: see the impl's note.
            unsafe { AtomicU32::from_ptr(self.at(offset)).store(value, Ordering::Relaxed) }
        }
        fn read(&self, offset: usize, buf: &mut [u8]) {
            check_range(self.size, offset, buf.len(), 1);
            for (i, byte) in buf.iter_mut().enumerate() {
                // SAFETY: inside the checked range; volatile, see the note.
                *byte = unsafe { ((self.base + offset + i) as *const u8).read_volatile() };
            }
        }
        fn write(&self, offset: usize, data: &[u8]) {
            check_range(self.size, offset, data.len(), 1);
            for (i, &byte) in data.iter().enumerate() {
                // SAFETY: inside the checked range; volatile, see the note.
                unsafe { ((self.base + offset + i) as *mut u8).write_volatile(byte) };
            }
        }
        fn zero(&self, offset: usize, len: usize) {
            check_range(self.size, offset, len, 1);
            for i in 0..len {
                // SAFETY: inside the checked range; volatile, see the note.
                unsafe { ((self.base + offset + i) as *mut u8).write_volatile(0) };
            }
        }
        fn compare_exchange_u16(&self, offset: usize, current: u16, new: u16) -> Result<u16, u16> {
            // SAFETY: see the impl's note.
            unsafe {
                AtomicU16::from_ptr(self.at(offset)).compare_exchange(
                    current,
                    new,
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                )
            }
        }
        fn fetch_and_u64(&self, offset: usize, mask: u64) -> u64 {
            // SAFETY: see the impl's note.
            unsafe { AtomicU64::from_ptr(self.at(offset)).fetch_and(mask, Ordering::SeqCst) }
        }
    }
}
