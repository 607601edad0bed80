//! A test-only heap canary, planted when the command line asks for it
//! (`test_heap_canary=WORD`) and never otherwise.
//!
//! Before the appliance starts serving, [`plant`] allocates as much of the
//! free heap as it can get, fills it with `WORD` repeated, and frees it
//! again. Memory handed out afterwards — socket buffers, TLS state, frames
//! being built — then starts out holding the marker instead of zeros or old
//! data. A test that captures every frame the guest sends (the Xen domU
//! smoke test's check for MirageOS advisory 00, where a netfront sent stale
//! memory in its padding) looks for `WORD` on the wire: any code that
//! transmits bytes it never wrote shows it.
//!
//! The marker is not secret (the test chose it); it only stands for
//! "memory the guest did not mean to send". Side effect while it is in
//! use: `/stats.json`'s heap high-water mark is the whole heap.

use alloc::vec::Vec;

/// Allocation sizes tried in turn, largest first: big blocks cover most of
/// the heap quickly, the smaller ones fill what is left between them.
const CHUNK_SIZES: [usize; 3] = [1 << 20, 64 << 10, 4 << 10];

/// At most this many blocks are held at once (the list itself is
/// allocated first, so filling never needs to grow it).
const MAX_CHUNKS: usize = 4096;

/// A marker is 8 to 64 printable ASCII characters without spaces.
pub fn valid_marker(word: &str) -> bool {
    (8..=64).contains(&word.len()) && word.bytes().all(|b| b.is_ascii_graphic())
}

/// Fills up to `limit` bytes of free heap with `word` repeated, frees it
/// all, and returns how many bytes were filled. Allocation failures end
/// the filling (they are expected: the point is to reach them).
pub fn plant(word: &[u8], limit: usize) -> usize {
    if word.is_empty() {
        return 0;
    }
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    if chunks.try_reserve_exact(MAX_CHUNKS).is_err() {
        return 0;
    }
    let mut filled = 0;
    for size in CHUNK_SIZES {
        while chunks.len() < MAX_CHUNKS && filled + size <= limit {
            let mut chunk = Vec::new();
            if chunk.try_reserve_exact(size).is_err() {
                break;
            }
            chunk.extend(word.iter().cycle().take(size));
            // The bytes must really be written, although nothing reads
            // them before they are freed.
            core::hint::black_box(chunk.as_slice());
            filled += size;
            chunks.push(chunk);
        }
    }
    drop(chunks);
    filled
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_are_printable_words_of_reasonable_length() {
        assert!(valid_marker("CANARY-0123456789"));
        assert!(!valid_marker("short"));
        assert!(!valid_marker("has space in it"));
        assert!(!valid_marker(&"x".repeat(65)));
    }

    #[test]
    fn plants_up_to_the_limit_in_whole_chunks() {
        assert_eq!(plant(b"MARKER-12345", 3 << 20), 3 << 20);
        assert_eq!(
            plant(b"MARKER-12345", (1 << 20) + (8 << 10)),
            (1 << 20) + (8 << 10)
        );
        assert_eq!(plant(b"", 1 << 20), 0);
    }
}
