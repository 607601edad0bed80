//! The BIP 174 framing: a PSBT as raw key-value maps, version-agnostic.
//!
//! `magic, global map, one map per input, one map per output`, each map a
//! list of `<keylen><key><valuelen><value>` pairs ended by a 0x00 byte, all
//! lengths compact-size integers. rust-bitcoin parses version 0 PSBTs into
//! types; this layer exists to read and write version 2 (BIP 370), whose
//! input and output counts live in the global map rather than in an
//! unsigned transaction, and to check which fields a PSBT of either version
//! carries. Values are not interpreted here.

use alloc::vec::Vec;

/// The five bytes every PSBT starts with.
pub(crate) const MAGIC: &[u8; 5] = b"psbt\xff";

/// One key-value pair. `key` is the whole key: its type and its key data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pair {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
}

impl Pair {
    /// The key type (a compact-size integer at the start of the key).
    pub fn key_type(&self) -> u64 {
        read_compact(&mut &self.key[..]).unwrap_or(u64::MAX)
    }

    /// Whether the key is the type alone, without key data.
    pub fn key_is_bare(&self) -> bool {
        let mut rest = &self.key[..];
        read_compact(&mut rest).is_some() && rest.is_empty()
    }
}

/// A key-value map, in the order it was read.
pub(crate) type Map = Vec<Pair>;

/// Why bytes are not a well-framed PSBT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FramingError {
    /// Does not start with `psbt\xff`.
    Magic,
    /// Ends in the middle of a map.
    Truncated,
    /// A length is not a minimal compact-size integer.
    NonMinimalLength,
    /// A key appears twice in one map.
    DuplicateKey,
    /// Bytes after the last map.
    TrailingData,
}

impl FramingError {
    /// What is wrong, for messages ("not a PSBT: …").
    pub fn message(self) -> &'static str {
        match self {
            FramingError::Magic => "it does not start with the PSBT magic bytes",
            FramingError::Truncated => "it is truncated",
            FramingError::NonMinimalLength => "a length is not minimally encoded",
            FramingError::DuplicateKey => "a key appears twice in one map",
            FramingError::TrailingData => "there are bytes after the last map",
        }
    }
}

/// Reads a compact-size integer (Bitcoin's variable-length encoding),
/// refusing non-minimal encodings.
pub(crate) fn read_compact(bytes: &mut &[u8]) -> Option<u64> {
    let (&first, rest) = bytes.split_first()?;
    let (value, used, min) = match first {
        0xfd => (
            u64::from(u16::from_le_bytes(rest.get(..2)?.try_into().ok()?)),
            2,
            0xfd,
        ),
        0xfe => (
            u64::from(u32::from_le_bytes(rest.get(..4)?.try_into().ok()?)),
            4,
            0x1_0000,
        ),
        0xff => (
            u64::from_le_bytes(rest.get(..8)?.try_into().ok()?),
            8,
            0x1_0000_0000,
        ),
        n => (u64::from(n), 0, 0),
    };
    if value < min {
        return None;
    }
    *bytes = &rest[used..];
    Some(value)
}

pub(crate) fn write_compact(out: &mut Vec<u8>, n: u64) {
    match n {
        0..=0xfc => out.push(n as u8),
        0xfd..=0xffff => {
            out.push(0xfd);
            out.extend_from_slice(&(n as u16).to_le_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xfe);
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
        _ => {
            out.push(0xff);
            out.extend_from_slice(&n.to_le_bytes());
        }
    }
}

/// A reader over the bytes after the magic.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Checks the magic and starts after it.
    pub fn new(bytes: &'a [u8]) -> Result<Reader<'a>, FramingError> {
        match bytes.strip_prefix(MAGIC.as_slice()) {
            Some(rest) => Ok(Reader { rest }),
            None => Err(FramingError::Magic),
        }
    }

    /// Reads one map, up to and including its 0x00 separator.
    pub fn map(&mut self) -> Result<Map, FramingError> {
        let mut map: Map = Vec::new();
        loop {
            let key_len = self.length()?;
            if key_len == 0 {
                return Ok(map);
            }
            let key = self.take(key_len)?.to_vec();
            let value_len = self.length()?;
            let value = self.take(value_len)?.to_vec();
            if map.iter().any(|p| p.key == key) {
                return Err(FramingError::DuplicateKey);
            }
            map.push(Pair { key, value });
        }
    }

    /// Checks that nothing follows the last map.
    pub fn finish(self) -> Result<(), FramingError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(FramingError::TrailingData)
        }
    }

    fn length(&mut self) -> Result<usize, FramingError> {
        let before = self.rest;
        match read_compact(&mut self.rest) {
            Some(n) => usize::try_from(n).map_err(|_| FramingError::Truncated),
            None if before.is_empty() || truncated_compact(before) => Err(FramingError::Truncated),
            None => Err(FramingError::NonMinimalLength),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], FramingError> {
        if self.rest.len() < n {
            return Err(FramingError::Truncated);
        }
        let (taken, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(taken)
    }
}

/// Whether `bytes` starts with a compact-size prefix whose payload is cut off.
fn truncated_compact(bytes: &[u8]) -> bool {
    let need = match bytes.first() {
        Some(0xfd) => 3,
        Some(0xfe) => 5,
        Some(0xff) => 9,
        _ => 1,
    };
    bytes.len() < need
}

/// Writes `maps` (global first) as a PSBT.
pub(crate) fn write<'a>(maps: impl IntoIterator<Item = &'a Map>) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    for map in maps {
        for pair in map {
            write_compact(&mut out, pair.key.len() as u64);
            out.extend_from_slice(&pair.key);
            write_compact(&mut out, pair.value.len() as u64);
            out.extend_from_slice(&pair.value);
        }
        out.push(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_sizes_round_trip_and_must_be_minimal() {
        for n in [
            0u64,
            1,
            0xfc,
            0xfd,
            0xffff,
            0x1_0000,
            0xffff_ffff,
            0x1_0000_0000,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            write_compact(&mut out, n);
            let mut slice = &out[..];
            assert_eq!(read_compact(&mut slice), Some(n));
            assert!(slice.is_empty());
        }
        for non_minimal in [
            &[0xfd, 0xfc, 0x00][..],
            &[0xfe, 0xff, 0xff, 0, 0],
            &[0xff, 1, 0, 0, 0, 0, 0, 0, 0],
        ] {
            assert_eq!(read_compact(&mut &non_minimal[..]), None, "{non_minimal:?}");
        }
        assert_eq!(read_compact(&mut &[0xfd, 0x01][..]), None);
    }

    #[test]
    fn framing_errors() {
        let ok = [MAGIC.as_slice(), &[1, 0x42, 1, 7, 0]].concat();
        let mut r = Reader::new(&ok).unwrap();
        assert_eq!(
            r.map().unwrap(),
            [Pair {
                key: alloc::vec![0x42],
                value: alloc::vec![7]
            }]
        );
        r.finish().unwrap();
        assert_eq!(
            write([&alloc::vec![Pair {
                key: alloc::vec![0x42],
                value: alloc::vec![7]
            }]]),
            ok
        );

        assert_eq!(Reader::new(b"psbt\x00").err(), Some(FramingError::Magic));
        for (bytes, error) in [
            (&[1, 0x42, 1][..], FramingError::Truncated),
            (&[1, 0x42][..], FramingError::Truncated),
            (&[][..], FramingError::Truncated),
            (&[0xfd, 1, 0][..], FramingError::NonMinimalLength),
            (&[1, 0x42, 0, 1, 0x42, 0, 0][..], FramingError::DuplicateKey),
        ] {
            let all = [MAGIC.as_slice(), bytes].concat();
            assert_eq!(
                Reader::new(&all).unwrap().map().err(),
                Some(error),
                "{bytes:?}"
            );
        }
        let trailing = [MAGIC.as_slice(), &[0, 9]].concat();
        let mut r = Reader::new(&trailing).unwrap();
        r.map().unwrap();
        assert_eq!(r.finish(), Err(FramingError::TrailingData));
    }
}
