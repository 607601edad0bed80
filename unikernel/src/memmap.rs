//! Which physical memory the heap may use (pure logic, unit tested).
//!
//! Input: the firmware's memory map (E820-style entries from PVH
//! start_info) and the ranges that are already in use (the image with its
//! page tables and stack, boot modules, the start info and what it points
//! to). Output: page-aligned free ranges below a limit (the identity map's
//! 4 GiB). Anything not typed RAM is never used, even where entries
//! overlap.

/// A half-open physical address range `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Range {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

impl Range {
    /// `[start, start + len)`, saturating.
    pub const fn sized(start: u64, len: u64) -> Range {
        Range {
            start,
            end: start.saturating_add(len),
        }
    }

    /// Length in bytes.
    pub const fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// Whether the range holds no byte.
    pub const fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// At most this many free ranges are returned (more would mean a strange
/// map; the remainder is ignored and the heap is only smaller).
pub const MAX_RANGES: usize = 64;

/// A fixed-capacity list (the heap does not exist yet when this runs).
#[derive(Debug, Clone, Copy)]
pub struct Ranges {
    items: [Range; MAX_RANGES],
    len: usize,
}

impl Default for Ranges {
    fn default() -> Self {
        Ranges {
            items: [Range::default(); MAX_RANGES],
            len: 0,
        }
    }
}

impl Ranges {
    /// The ranges, sorted by start.
    pub fn as_slice(&self) -> &[Range] {
        &self.items[..self.len]
    }

    /// Appends `range` (empty ranges are dropped). Returns false if the
    /// list is full and `range` was dropped.
    pub fn push(&mut self, range: Range) -> bool {
        if range.is_empty() {
            return true;
        }
        if self.len == MAX_RANGES {
            return false;
        }
        self.items[self.len] = range;
        self.len += 1;
        true
    }

    fn sort(&mut self) {
        sort_by_key(&mut self.items[..self.len], |r| r.start);
    }

    /// Total bytes.
    #[cfg(test)]
    pub fn total(&self) -> u64 {
        self.as_slice().iter().map(Range::len).sum()
    }
}

/// Sorts `items` by `key` (stable): an insertion sort. The lists sorted
/// here hold at most [`MAX_RANGES`] ranges and are sorted a few times at
/// boot; core's `sort_unstable` linked about 7 KB of pattern-defeating
/// quicksort (two instances) into the image for them.
pub fn sort_by_key<T, K: Ord>(items: &mut [T], key: impl Fn(&T) -> K) {
    for i in 1..items.len() {
        let mut j = i;
        while j > 0 && key(&items[j - 1]) > key(&items[j]) {
            items.swap(j - 1, j);
            j -= 1;
        }
    }
}

const PAGE: u64 = 4096;

const fn align_up(x: u64) -> u64 {
    x.saturating_add(PAGE - 1) & !(PAGE - 1)
}

const fn align_down(x: u64) -> u64 {
    x & !(PAGE - 1)
}

/// Free memory: `ram` minus `reserved`, clipped to `[floor, ceiling)`, each
/// range page-aligned inwards (reserved ranges outwards). If the result
/// would exceed [`MAX_RANGES`], the excess free ranges are dropped (a
/// smaller heap, never an overlap).
pub fn free_ranges(ram: &[Range], reserved: &[Range], floor: u64, ceiling: u64) -> Ranges {
    let mut free = Ranges::default();
    for r in ram {
        let start = align_up(r.start.max(floor));
        let end = align_down(r.end.min(ceiling));
        free.push(Range { start, end });
    }
    // Merge overlapping RAM entries so no byte is handed out twice.
    free.sort();
    let mut merged = Ranges::default();
    for &r in free.as_slice() {
        match merged.len.checked_sub(1).map(|i| &mut merged.items[i]) {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => {
                let _ = merged.push(r);
            }
        }
    }
    let mut current = merged;
    for hole in reserved {
        let hole = Range {
            start: align_down(hole.start),
            end: align_up(hole.end),
        };
        if hole.is_empty() {
            continue;
        }
        let mut next = Ranges::default();
        for &r in current.as_slice() {
            if hole.end <= r.start || hole.start >= r.end {
                next.push(r);
                continue;
            }
            next.push(Range {
                start: r.start,
                end: hole.start.max(r.start),
            });
            next.push(Range {
                start: hole.end.min(r.end),
                end: r.end,
            });
        }
        current = next;
    }
    current.sort();
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_by_key_sorts_and_keeps_equal_keys_in_order() {
        let mut items = [(5, 'a'), (1, 'b'), (5, 'c'), (0, 'd'), (3, 'e'), (1, 'f')];
        sort_by_key(&mut items, |&(key, _)| key);
        assert_eq!(
            items,
            [(0, 'd'), (1, 'b'), (1, 'f'), (3, 'e'), (5, 'a'), (5, 'c')]
        );
        let mut descending: [u64; MAX_RANGES] = core::array::from_fn(|i| (MAX_RANGES - i) as u64);
        sort_by_key(&mut descending, |&x| x);
        assert!(descending.windows(2).all(|w| w[0] < w[1]));
        sort_by_key(&mut [] as &mut [u8], |&x| x);
    }

    const MIB: u64 = 1 << 20;

    fn r(start: u64, end: u64) -> Range {
        Range { start, end }
    }

    #[test]
    fn qemu_like_map() {
        // 128 MiB guest: low RAM, high RAM up to 0x7fe0000; the image at
        // 1–3 MiB, an initrd near the top.
        let ram = [r(0, 0x9fc00), r(MIB, 0x7fe_0000)];
        let reserved = [r(MIB, 3 * MIB + 123), r(0x7f0_0000, 0x7f0_0034)];
        let free = free_ranges(&ram, &reserved, MIB, 4 << 30);
        assert_eq!(
            free.as_slice(),
            &[r(3 * MIB + 4096, 0x7f0_0000), r(0x7f0_1000, 0x7fe_0000)]
        );
    }

    #[test]
    fn overlapping_and_unaligned_ram() {
        let ram = [r(0x10_0800, 0x20_0000), r(0x18_0000, 0x30_0100)];
        let free = free_ranges(&ram, &[], 0, u64::MAX);
        assert_eq!(free.as_slice(), &[r(0x10_1000, 0x30_0000)]);
    }

    #[test]
    fn ceiling_and_floor() {
        let ram = [r(0, 8 << 30)];
        let free = free_ranges(&ram, &[], MIB, 4 << 30);
        assert_eq!(free.as_slice(), &[r(MIB, 4 << 30)]);
        assert_eq!(free.total(), (4 << 30) - MIB);
    }

    #[test]
    fn reserved_covering_everything() {
        let ram = [r(MIB, 2 * MIB)];
        let free = free_ranges(&ram, &[r(0, 16 * MIB)], 0, u64::MAX);
        assert!(free.as_slice().is_empty());
    }

    #[test]
    fn full_list_refuses() {
        let mut list = Ranges::default();
        for i in 0..MAX_RANGES as u64 {
            assert!(list.push(r(i * 8192, i * 8192 + 4096)));
        }
        assert!(
            list.push(r(0, 0)),
            "empty ranges are always accepted (dropped)"
        );
        assert!(!list.push(r(1 << 40, (1 << 40) + 4096)));
        assert_eq!(list.as_slice().len(), MAX_RANGES);
    }

    #[test]
    fn hole_in_the_middle_splits() {
        let ram = [r(0, 16 * MIB)];
        let free = free_ranges(
            &ram,
            &[r(4 * MIB, 5 * MIB), r(8 * MIB, 9 * MIB)],
            0,
            u64::MAX,
        );
        assert_eq!(
            free.as_slice(),
            &[r(0, 4 * MIB), r(5 * MIB, 8 * MIB), r(9 * MIB, 16 * MIB)]
        );
    }
}
