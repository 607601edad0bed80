//! What the fuzz targets share: the target bodies (re-exported from the
//! fuzz kit, `fuzzkit::targets`, where the regression test uses them too)
//! and an allocation limit.
//!
//! # Why a counting allocator
//!
//! libFuzzer's `-malloc_limit_mb` works through sanitizer malloc hooks, which
//! exist only in sanitizer builds; the stable build (`-s none`) would
//! silently ignore it, and `-rss_limit_mb` only notices once the process is
//! already big. The piñata promises a bound on every buffer, so an input that
//! makes it allocate without bound is a bug: this allocator aborts (a crash
//! libFuzzer records, with the input) on any single allocation above
//! [`MAX_ALLOCATION`] or when live heap exceeds [`MAX_LIVE`]. Both are far
//! above what any bounded path needs — the largest buffer is the TLS input
//! bound, about 97 KiB; the world built at start-up takes a few MiB.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use fuzzkit::targets;

/// Largest single allocation allowed, in bytes.
pub const MAX_ALLOCATION: usize = 32 << 20;
/// Most heap allowed live at once, in bytes.
pub const MAX_LIVE: usize = 1 << 30;

static LIVE: AtomicUsize = AtomicUsize::new(0);

struct Limited;

#[global_allocator]
static ALLOCATOR: Limited = Limited;

fn admit(size: usize) {
    let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    if size > MAX_ALLOCATION || live > MAX_LIVE {
        // No formatting: this runs inside the allocator. Stderr is
        // unbuffered and its lock is static, so this does not allocate.
        let _ = std::io::stderr().write_all(
            b"==pinata-fuzz== allocation limit exceeded (single allocation above \
              MAX_ALLOCATION or live heap above MAX_LIVE): unbounded allocation\n",
        );
        std::process::abort();
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged; the counting around the calls touches no memory it returns.
unsafe impl GlobalAlloc for Limited {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        admit(layout.size());
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        admit(layout.size());
        // SAFETY: forwarded as received.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        admit(new_size);
        // SAFETY: forwarded as received.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if new.is_null() {
            // The old block is still live; only the admitted size goes.
            LIVE.fetch_sub(new_size, Ordering::Relaxed);
        } else {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        new
    }
}
