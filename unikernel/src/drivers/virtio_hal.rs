//! virtio-drivers' `Hal`: DMA memory from the heap, identity-mapped.
//!
//! Physical address == virtual address everywhere (see `arch::paging`), so
//! sharing a buffer with a device is handing over its address, and no
//! bounce buffers are needed. The cache is coherent on x86 (and KVM/TCG DMA
//! is a memory copy in the host), so no flushes either. BAR regions are
//! mapped uncached on demand.

use core::ptr::NonNull;

use alloc::alloc::{Layout, alloc_zeroed, dealloc};
use virtio_drivers::{BufferDirection, Hal, PAGE_SIZE, PhysAddr};

use crate::arch::x86_64::paging;

/// The platform's `Hal`.
pub struct PlatformHal;

fn layout(pages: usize) -> Layout {
    // PAGE_SIZE is a power of two and the sizes are small: cannot fail.
    Layout::from_size_align(pages.max(1) * PAGE_SIZE, PAGE_SIZE).expect("DMA layout")
}

// SAFETY: dma_alloc returns zeroed, page-aligned heap memory owned by the
// caller until dma_dealloc; addresses are identity-mapped, so the physical
// address handed to the device is the pointer; mmio_phys_to_virt maps the
// region before returning it.
unsafe impl Hal for PlatformHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout(pages)) };
        match NonNull::new(ptr) {
            Some(ptr) => (ptr.as_ptr() as PhysAddr, ptr),
            // virtio-drivers treats physical address 0 as failure.
            None => (0, NonNull::dangling()),
        }
    }

    unsafe fn dma_dealloc(_paddr: PhysAddr, vaddr: NonNull<u8>, pages: usize) -> i32 {
        // SAFETY: the caller passes back what dma_alloc returned, with the
        // same page count, so the layout matches the allocation.
        unsafe { dealloc(vaddr.as_ptr(), layout(pages)) };
        0
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, size: usize) -> NonNull<u8> {
        if !paging::map_mmio(paddr, size as u64) {
            panic!(
                "cannot map device memory at {paddr:#x} (+{size:#x}): out of memory for page tables"
            );
        }
        NonNull::new(paddr as *mut u8).expect("BAR at address 0")
    }

    unsafe fn share(buffer: NonNull<[u8]>, _direction: BufferDirection) -> PhysAddr {
        buffer.as_ptr() as *mut u8 as PhysAddr
    }

    unsafe fn unshare(_paddr: PhysAddr, _buffer: NonNull<[u8]>, _direction: BufferDirection) {}
}
