//! The identity map: virtual address == physical address, always.
//!
//! The entry code maps 0–4 GiB with 2 MiB pages (write-back). This module
//! then
//! - splits the 2 MiB pages holding the stack's guard page and page 0 into
//!   4 KiB pages and unmaps those two, so a stack overflow or (after boot) a
//!   null-pointer access faults instead of corrupting or reading memory;
//! - maps device memory on demand ([`map_mmio`]): BARs below 4 GiB get their
//!   2 MiB pages marked uncached, BARs above 4 GiB (QEMU's q35 puts 64-bit
//!   BARs there when they do not fit low) get new uncached 2 MiB mappings,
//!   with page-table pages taken from the heap.
//!
//! Identity mapping keeps DMA simple: a buffer's address is what the device
//! is given (see `drivers::virtio_hal`).

// `&mut *(&raw mut STATIC)` is the 2024-edition way to borrow a `static mut`
// (a plain `&mut STATIC` is rejected); clippy's suggestion would not compile.
#![allow(clippy::deref_addrof)]

use core::arch::asm;

use alloc::alloc::{Layout, alloc_zeroed};
use spin::Mutex;

use super::boot::{boot_pd, boot_pml4, boot_stack_guard};

const PRESENT: u64 = 1;
const WRITABLE: u64 = 1 << 1;
const WRITE_THROUGH: u64 = 1 << 3;
const CACHE_DISABLE: u64 = 1 << 4;
const HUGE: u64 = 1 << 7;
const ADDRESS_MASK: u64 = 0x000F_FFFF_FFFF_F000;

const PAGE_2M: u64 = 2 * 1024 * 1024;
const FOUR_GIB: u64 = 4 * 1024 * 1024 * 1024;

/// Serialises page-table edits (single core; the lock documents ownership).
static LOCK: Mutex<()> = Mutex::new(());

#[repr(C, align(4096))]
struct Table([u64; 512]);

fn flush_tlb() {
    // SAFETY: rewriting CR3 with its own value only flushes the TLB.
    unsafe {
        asm!("mov {tmp}, cr3", "mov cr3, {tmp}", tmp = out(reg) _, options(nostack, preserves_flags));
    }
}

/// 4 KiB page tables replacing the 2 MiB pages that hold the stack guard
/// and page 0 (one table if both are in the first 2 MiB).
static mut SPLIT_TABLES: [Table; 2] = [Table([0; 512]), Table([0; 512])];

/// Unmaps the 4 KiB page at `hole`, splitting its 2 MiB page into a 4 KiB
/// table (`SPLIT_TABLES[slot]`) unless that is done already.
///
/// # Safety
/// Single core, interrupts off, LOCK held; nothing may use the page at
/// `hole` any more.
unsafe fn unmap_4k(hole: u64, slot: usize) {
    let region = hole & !(PAGE_2M - 1);
    // SAFETY: the live boot tables, edited in place under the caller's
    // guarantees: the new table maps the same 2 MiB identically (minus the
    // hole) before the PD entry points to it.
    unsafe {
        let pd = &mut *(&raw mut boot_pd);
        let entry = &mut pd[(region / PAGE_2M) as usize];
        let table: &mut [u64; 512] = if *entry & HUGE != 0 {
            let table = &mut (*(&raw mut SPLIT_TABLES))[slot];
            for (i, e) in table.0.iter_mut().enumerate() {
                *e = (region + (i as u64) * 4096) | PRESENT | WRITABLE;
            }
            *entry = (table as *const Table as u64) | PRESENT | WRITABLE;
            &mut table.0
        } else {
            &mut *((*entry & ADDRESS_MASK) as *mut [u64; 512])
        };
        table[((hole - region) / 4096) as usize] = 0;
    }
    flush_tlb();
}

/// Unmaps the stack guard page, so an overflow faults. Called once at
/// boot, before the heap.
pub fn init() {
    let _lock = LOCK.lock();
    // SAFETY: the guard page is never used; boot is single-threaded.
    unsafe { unmap_4k((&raw const boot_stack_guard) as u64, 0) };
}

/// Unmaps page 0, so null-pointer accesses fault. Called at the end of
/// boot: loaders put PVH data there (QEMU's start info tables sit at
/// 0x500+), which is read until then.
pub fn unmap_null_page() {
    let _lock = LOCK.lock();
    // SAFETY: everything read from page 0 (start info) has been copied.
    unsafe { unmap_4k(0, 1) };
}

/// Makes `[phys, phys + size)` accessible, uncached, at the same virtual
/// address. Returns false if a page table could not be allocated.
pub fn map_mmio(phys: u64, size: u64) -> bool {
    let _lock = LOCK.lock();
    let start = phys & !(PAGE_2M - 1);
    let end = phys.saturating_add(size.max(1));
    let mut page = start;
    let mut ok = true;
    while page < end {
        ok &= map_uncached_2m(page);
        page += PAGE_2M;
    }
    flush_tlb();
    ok
}

fn map_uncached_2m(page: u64) -> bool {
    // SAFETY: the caller holds LOCK; single core. Entries are edited in the
    // live tables; the caller flushes the TLB afterwards.
    unsafe {
        if page < FOUR_GIB {
            let pd = &mut *(&raw mut boot_pd);
            let entry = &mut pd[(page / PAGE_2M) as usize];
            // Leave the split (4 KiB) region holding the kernel alone: no
            // device lives there.
            if *entry & HUGE != 0 {
                *entry |= WRITE_THROUGH | CACHE_DISABLE;
            }
            return true;
        }
        let pml4 = &mut *(&raw mut boot_pml4);
        let Some(pdpt) = next_table(&mut pml4[((page >> 39) & 511) as usize]) else {
            return false;
        };
        let Some(pd) = next_table(&mut pdpt[((page >> 30) & 511) as usize]) else {
            return false;
        };
        pd[((page >> 21) & 511) as usize] =
            page | PRESENT | WRITABLE | HUGE | WRITE_THROUGH | CACHE_DISABLE;
        true
    }
}

/// The table `entry` points to, allocating a zeroed one if it is empty.
///
/// # Safety
/// `entry` is a live non-leaf page-table entry; the caller holds LOCK.
unsafe fn next_table(entry: &mut u64) -> Option<&'static mut [u64; 512]> {
    if *entry & PRESENT == 0 {
        let layout = Layout::from_size_align(4096, 4096).ok()?;
        // SAFETY: non-zero size; the page is leaked into the page tables.
        let table = unsafe { alloc_zeroed(layout) };
        if table.is_null() {
            return None;
        }
        *entry = (table as u64) | PRESENT | WRITABLE;
    }
    let table = (*entry & ADDRESS_MASK) as *mut [u64; 512];
    // SAFETY: identity map: the table's physical address is its address; it
    // is only reached through this entry while LOCK is held.
    Some(unsafe { &mut *table })
}
