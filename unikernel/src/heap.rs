//! The heap: talc over every free RAM range below 4 GiB (the identity
//! map), as computed by [`crate::memmap::free_ranges`].

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicUsize, Ordering};

use pinata::memory::{MemorySource, MemoryUsage};
use talc::TalcLock;
use talc::source::Manual;

use crate::memmap::Ranges;

/// `Manual`: the heap is exactly the ranges claimed at boot; an allocation
/// that does not fit fails (and the panic handler reports it). Wrapped in a
/// counter so `/stats.json` can say how much is in use and the most ever
/// used (the soak test watches that it does not grow with connections).
#[global_allocator]
static ALLOCATOR: CountingHeap = CountingHeap {
    talc: TalcLock::new(Manual),
    used: AtomicUsize::new(0),
    high_water: AtomicUsize::new(0),
    claimed: AtomicUsize::new(0),
};

/// talc, plus the bytes handed out (by layout size) and their high-water
/// mark. Relaxed atomics: the figures are for reporting only.
struct CountingHeap {
    talc: TalcLock<spin::Mutex<()>, Manual>,
    used: AtomicUsize,
    high_water: AtomicUsize,
    claimed: AtomicUsize,
}

impl CountingHeap {
    fn grew(&self, bytes: usize) {
        let used = self.used.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.high_water.fetch_max(used, Ordering::Relaxed);
    }

    fn shrank(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to talc's own `GlobalAlloc` with the
// caller's arguments unchanged, so talc's guarantees are the wrapper's; the
// counters only observe sizes and never touch the memory.
unsafe impl GlobalAlloc for CountingHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        let ptr = unsafe { self.talc.alloc(layout) };
        if !ptr.is_null() {
            self.grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `alloc_zeroed`'s contract.
        let ptr = unsafe { self.talc.alloc_zeroed(layout) };
        if !ptr.is_null() {
            self.grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from this allocator with `layout`.
        unsafe { self.talc.dealloc(ptr, layout) };
        self.shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `realloc`'s contract.
        let new = unsafe { self.talc.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            // On failure the old block is still allocated: nothing changed.
            if new_size >= layout.size() {
                self.grew(new_size - layout.size());
            } else {
                self.shrank(layout.size() - new_size);
            }
        }
        new
    }
}

/// The heap's figures for `/stats.json` (`pinata::memory`).
pub fn usage() -> Option<MemoryUsage> {
    Some(MemoryUsage {
        source: MemorySource::Heap,
        used_bytes: ALLOCATOR.used.load(Ordering::Relaxed) as u64,
        high_water_bytes: ALLOCATOR.high_water.load(Ordering::Relaxed) as u64,
        capacity_bytes: Some(ALLOCATOR.claimed.load(Ordering::Relaxed) as u64),
    })
}

/// Hands `ranges` to the allocator, largest first (talc's first heap holds
/// its metadata). Returns the bytes claimed.
pub fn init(ranges: &Ranges) -> u64 {
    let mut order: [usize; crate::memmap::MAX_RANGES] = core::array::from_fn(|i| i);
    let ranges = ranges.as_slice();
    let order = &mut order[..ranges.len()];
    crate::memmap::sort_by_key(order, |&i| core::cmp::Reverse(ranges[i].len()));
    let mut talc = ALLOCATOR.talc.lock();
    let mut total = 0;
    for &i in order.iter() {
        let range = ranges[i];
        // SAFETY: the range is RAM from the firmware's map, outside the image,
        // the page tables, the stack, the start info and the modules
        // (memmap::free_ranges), identity-mapped, and claimed only once.
        if unsafe { talc.claim(range.start as *mut u8, range.len() as usize) }.is_some() {
            total += range.len();
        }
    }
    ALLOCATOR.claimed.store(total as usize, Ordering::Relaxed);
    total
}
