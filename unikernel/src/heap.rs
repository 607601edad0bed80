//! The heap: talc over every free RAM range below 4 GiB (the identity
//! map), as computed by [`crate::memmap::free_ranges`].

use talc::TalcLock;
use talc::source::Manual;

use crate::memmap::Ranges;

/// `Manual`: the heap is exactly the ranges claimed at boot; an allocation
/// that does not fit fails (and the panic handler reports it).
#[global_allocator]
static ALLOCATOR: TalcLock<spin::Mutex<()>, Manual> = TalcLock::new(Manual);

/// Hands `ranges` to the allocator, largest first (talc's first heap holds
/// its metadata). Returns the bytes claimed.
pub fn init(ranges: &Ranges) -> u64 {
    let mut order: [usize; crate::memmap::MAX_RANGES] = core::array::from_fn(|i| i);
    let ranges = ranges.as_slice();
    let order = &mut order[..ranges.len()];
    order.sort_unstable_by_key(|&i| core::cmp::Reverse(ranges[i].len()));
    let mut talc = ALLOCATOR.lock();
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
    total
}
