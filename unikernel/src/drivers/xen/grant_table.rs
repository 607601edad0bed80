//! The grant table (version 1): which of our pages another domain may
//! access.
//!
//! The table is an array of 8-byte entries in frames that Xen maps into
//! our physical address space (`XENMEM_add_to_physmap`,
//! `XENMAPSPACE_grant_table`, one call per frame; see `guest.rs`):
//!
//! ```text
//! offset 0  u16 flags   GTF_permit_access (1) | GTF_readonly (4); Xen sets
//!                       GTF_reading (8) / GTF_writing (16) while the
//!                       grantee has the frame mapped or is copying
//!        2  u16 domid   who may access
//!        4  u32 frame   our guest frame number
//! ```
//!
//! A backend is told the entry's index, the *grant reference*. Granting
//! writes domid and frame first, then (after a write barrier) the flags, so
//! Xen never sees a half-written entry. Revoking must not race the
//! grantee: the flags are swapped to 0 with a compare-and-swap only while
//! neither `GTF_reading` nor `GTF_writing` is set; otherwise the revoke
//! fails ([`GrantError::InUse`]) and the caller must not reuse the page.
//! (Ignoring that failure was MirageOS advisory MSA-02.)
//!
//! Entries 0–7 are reserved (the toolstack uses 0 for the console and 1
//! for xenstore). The free list is bounded by the table's size and
//! exhaustion is an error the caller handles, never a panic.

use alloc::vec::Vec;
use core::fmt;

use super::DomId;
use super::shared_memory::{PAGE_SIZE, SharedMemory, write_barrier};

/// A grant reference: an index into the table.
pub type GrantRef = u32;

/// Bytes per v1 entry.
pub const ENTRY_SIZE: usize = 8;
/// Entries per table frame.
pub const ENTRIES_PER_FRAME: usize = PAGE_SIZE / ENTRY_SIZE;
/// Entries the toolstack and Xen reserve at the start of the table.
pub const RESERVED_ENTRIES: u32 = 8;

/// The grantee may map or copy the frame.
pub const GTF_PERMIT_ACCESS: u16 = 1;
/// ... but only read it.
pub const GTF_READONLY: u16 = 1 << 2;
/// Set by Xen while the grantee reads the frame.
pub const GTF_READING: u16 = 1 << 3;
/// Set by Xen while the grantee writes the frame.
pub const GTF_WRITING: u16 = 1 << 4;

/// Why a grant operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantError {
    /// Every entry is in use.
    Exhausted,
    /// The frame number does not fit a v1 entry (32 bits).
    FrameTooLarge(u64),
    /// The grantee still has the frame mapped: the page must not be reused.
    InUse(GrantRef),
    /// Not a reference this table handed out.
    NotGranted(GrantRef),
}

impl fmt::Display for GrantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GrantError::Exhausted => f.write_str("grant table exhausted"),
            GrantError::FrameTooLarge(frame) => {
                write!(f, "frame {frame:#x} does not fit a v1 grant entry")
            }
            GrantError::InUse(r) => write!(f, "grant {r} is still mapped by the backend"),
            GrantError::NotGranted(r) => write!(f, "grant {r} was not granted"),
        }
    }
}

/// The grant table over its mapped frames.
#[derive(Debug)]
pub struct GrantTable<M: SharedMemory> {
    frames: Vec<M>,
    /// Free references, popped from the end (lowest first).
    free: Vec<GrantRef>,
    /// Which references are granted (for [`GrantTable::revoke`]'s check).
    granted: Vec<bool>,
}

impl<M: SharedMemory> GrantTable<M> {
    /// A table over `frames` (each one page, in table order). Entries past
    /// the reserved ones start free; their contents are cleared.
    pub fn new(frames: Vec<M>) -> Self {
        let capacity = (frames.len() * ENTRIES_PER_FRAME) as u32;
        let table = GrantTable {
            frames,
            free: (RESERVED_ENTRIES..capacity).rev().collect(),
            granted: alloc::vec![false; capacity as usize],
        };
        for r in RESERVED_ENTRIES..capacity {
            let (frame, offset) = table.locate(r);
            table.frames[frame].store_u16(offset, 0);
            table.frames[frame].store_u16(offset + 2, 0);
            table.frames[frame].store_u32(offset + 4, 0);
        }
        table
    }

    /// Total entries (reserved ones included).
    #[cfg(test)]
    pub fn capacity(&self) -> u32 {
        self.granted.len() as u32
    }

    /// Entries free to grant.
    #[cfg(test)]
    pub fn available(&self) -> usize {
        self.free.len()
    }

    /// The table's frames (what a simulated Xen reads).
    #[cfg(test)]
    pub fn frames(&self) -> &[M] {
        &self.frames
    }

    fn locate(&self, r: GrantRef) -> (usize, usize) {
        let index = r as usize;
        (
            index / ENTRIES_PER_FRAME,
            (index % ENTRIES_PER_FRAME) * ENTRY_SIZE,
        )
    }

    /// Lets domain `domid` access our frame `frame` (read-only if asked);
    /// returns the reference to hand to it.
    pub fn grant(
        &mut self,
        domid: DomId,
        frame: u64,
        readonly: bool,
    ) -> Result<GrantRef, GrantError> {
        let frame32 = u32::try_from(frame).map_err(|_| GrantError::FrameTooLarge(frame))?;
        let r = self.free.pop().ok_or(GrantError::Exhausted)?;
        let (page, offset) = self.locate(r);
        let page = &self.frames[page];
        page.store_u16(offset + 2, domid);
        page.store_u32(offset + 4, frame32);
        // Xen must see domid and frame before the entry becomes valid.
        write_barrier();
        let flags = GTF_PERMIT_ACCESS | if readonly { GTF_READONLY } else { 0 };
        page.store_u16(offset, flags);
        self.granted[r as usize] = true;
        Ok(r)
    }

    /// Ends access through `r` (`gnttab_end_foreign_access`). Fails with
    /// [`GrantError::InUse`] while the grantee still has the frame mapped:
    /// the entry then stays granted, and the caller keeps the page out of
    /// use and tries again later.
    pub fn revoke(&mut self, r: GrantRef) -> Result<(), GrantError> {
        if !self.granted.get(r as usize).copied().unwrap_or(false) {
            return Err(GrantError::NotGranted(r));
        }
        let (page, offset) = self.locate(r);
        let page = &self.frames[page];
        let mut flags = page.load_u16(offset);
        loop {
            if flags & (GTF_READING | GTF_WRITING) != 0 {
                return Err(GrantError::InUse(r));
            }
            match page.compare_exchange_u16(offset, flags, 0) {
                Ok(_) => break,
                Err(now) => flags = now,
            }
        }
        self.granted[r as usize] = false;
        self.free.push(r);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::xen::sim::SimPage;

    fn table(frames: usize) -> GrantTable<SimPage> {
        GrantTable::new(
            (0..frames)
                .map(|i| SimPage::new(0x900 + i as u64))
                .collect(),
        )
    }

    #[test]
    fn grant_writes_the_v1_entry() {
        let mut t = table(1);
        let r = t.grant(7, 0x1234, true).unwrap();
        assert_eq!(
            r, RESERVED_ENTRIES,
            "the first free entry follows the reserved ones"
        );
        let page = &t.frames()[0];
        let off = r as usize * ENTRY_SIZE;
        assert_eq!(page.load_u16(off), GTF_PERMIT_ACCESS | GTF_READONLY);
        assert_eq!(page.load_u16(off + 2), 7);
        assert_eq!(page.load_u32(off + 4), 0x1234);
        let w = t.grant(7, 0x1235, false).unwrap();
        assert_eq!(t.frames()[0].load_u16(w as usize * 8), GTF_PERMIT_ACCESS);
        t.revoke(r).unwrap();
        assert_eq!(t.frames()[0].load_u16(off), 0);
    }

    #[test]
    fn exhaustion_is_an_error_and_revoking_frees_an_entry() {
        let mut t = table(2);
        let usable = 2 * ENTRIES_PER_FRAME - RESERVED_ENTRIES as usize;
        assert_eq!(t.available(), usable);
        let refs: Vec<_> = (0..usable)
            .map(|i| t.grant(0, i as u64, false).unwrap())
            .collect();
        assert_eq!(t.grant(0, 1, false), Err(GrantError::Exhausted));
        assert_eq!(t.grant(0, 1, false), Err(GrantError::Exhausted));
        // Entries in the second frame were written there.
        let last = *refs.last().unwrap();
        assert_eq!(last, t.capacity() - 1);
        assert_eq!(
            t.frames()[1].load_u32((last as usize % ENTRIES_PER_FRAME) * 8 + 4),
            usable as u32 - 1
        );
        t.revoke(refs[10]).unwrap();
        assert_eq!(t.grant(0, 99, false), Ok(refs[10]));
        assert_eq!(t.grant(0, 1, false), Err(GrantError::Exhausted));
    }

    #[test]
    fn a_mapped_grant_cannot_be_revoked() {
        let mut t = table(1);
        let r = t.grant(0, 5, false).unwrap();
        let off = r as usize * 8;
        // Xen marks the entry while the backend has it mapped.
        t.frames()[0].store_u16(off, GTF_PERMIT_ACCESS | GTF_WRITING);
        assert_eq!(t.revoke(r), Err(GrantError::InUse(r)));
        assert_eq!(
            t.available(),
            ENTRIES_PER_FRAME - 9,
            "not returned to the free list"
        );
        t.frames()[0].store_u16(off, GTF_PERMIT_ACCESS | GTF_READING);
        assert_eq!(t.revoke(r), Err(GrantError::InUse(r)));
        // Unmapped: the revoke goes through.
        t.frames()[0].store_u16(off, GTF_PERMIT_ACCESS);
        assert_eq!(t.revoke(r), Ok(()));
        assert_eq!(t.revoke(r), Err(GrantError::NotGranted(r)));
        assert_eq!(t.revoke(3), Err(GrantError::NotGranted(3)));
        assert_eq!(t.revoke(100_000), Err(GrantError::NotGranted(100_000)));
    }

    #[test]
    fn frames_above_32_bits_are_refused() {
        let mut t = table(1);
        assert_eq!(
            t.grant(0, 1 << 32, false),
            Err(GrantError::FrameTooLarge(1 << 32))
        );
        assert_eq!(t.available(), ENTRIES_PER_FRAME - 8);
    }
}
