//! The guest's frames as QEMU's `filter-dump` writes them: a classic pcap
//! file (microsecond timestamps, Ethernet link type), read while QEMU is
//! still appending to it.
//!
//! Under user networking QEMU terminates every host connection itself and
//! opens its own to the guest, so the host never sees the guest's TCP
//! headers; the dump is the only place where the guest's SYN-ACKs (and
//! their initial sequence numbers) can be read. The battery's VM target
//! attaches the filter (`target.rs`). The initial-sequence-number case
//! reads the segments with SYN set; the SYN flood counts the guest's
//! answers (SYN-ACKs, resets).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// Bytes kept of each frame (`filter-dump`'s `maxlen`): Ethernet, IPv4 and
/// TCP headers with options fit.
pub(super) const SNAP_LEN: usize = 128;

const FILE_HEADER: u64 = 24;
const RECORD_HEADER: usize = 16;
/// Little-endian magic of a microsecond pcap file (what QEMU writes on x86).
const MAGIC: u32 = 0xa1b2_c3d4;

/// A TCP segment with SYN set (a SYN, or a SYN-ACK when `ack`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Syn {
    pub(super) src: (Ipv4Addr, u16),
    pub(super) dst: (Ipv4Addr, u16),
    pub(super) seq: u32,
    pub(super) ack: bool,
}

/// Any IPv4 TCP segment's addresses and flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Segment {
    pub(super) src: (Ipv4Addr, u16),
    pub(super) dst: (Ipv4Addr, u16),
    pub(super) seq: u32,
    /// TCP's flags byte (FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10).
    pub(super) flags: u8,
}

impl Segment {
    pub(super) const SYN: u8 = 0x02;
    pub(super) const RST: u8 = 0x04;
    pub(super) const ACK: u8 = 0x10;

    /// A SYN-ACK.
    pub(super) fn is_syn_ack(&self) -> bool {
        self.flags & (Self::SYN | Self::ACK) == Self::SYN | Self::ACK
    }

    /// A bare SYN.
    pub(super) fn is_syn(&self) -> bool {
        self.flags & (Self::SYN | Self::ACK) == Self::SYN
    }

    /// A reset.
    pub(super) fn is_rst(&self) -> bool {
        self.flags & Self::RST != 0
    }
}

/// Reads a growing pcap file record by record, each record once.
pub(super) struct PcapReader {
    path: PathBuf,
    /// Where the next unread record starts.
    offset: u64,
}

impl PcapReader {
    /// A reader that starts after the records already in the file: what
    /// the case causes is what it reads.
    pub(super) fn at_end(path: &Path) -> Result<PcapReader, String> {
        let mut reader = PcapReader {
            path: path.to_path_buf(),
            offset: FILE_HEADER,
        };
        let mut header = [0u8; FILE_HEADER as usize];
        File::open(path)
            .and_then(|mut f| f.read_exact(&mut header))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) != MAGIC {
            return Err(format!("{}: not a little-endian pcap file", path.display()));
        }
        reader.read_new()?;
        Ok(reader)
    }

    /// The SYN segments in the records written since the last call. A
    /// record QEMU is still writing is left for the next call.
    pub(super) fn read_new(&mut self) -> Result<Vec<Syn>, String> {
        Ok(self
            .read_new_segments()?
            .into_iter()
            .filter(|s| s.flags & Segment::SYN != 0)
            .map(|s| Syn {
                src: s.src,
                dst: s.dst,
                seq: s.seq,
                ack: s.flags & Segment::ACK != 0,
            })
            .collect())
    }

    /// Every TCP segment in the records written since the last call.
    pub(super) fn read_new_segments(&mut self) -> Result<Vec<Segment>, String> {
        let mut file = File::open(&self.path).map_err(|e| e.to_string())?;
        file.seek(SeekFrom::Start(self.offset))
            .map_err(|e| e.to_string())?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
        let mut segments = Vec::new();
        let mut at = 0;
        while bytes.len() - at >= RECORD_HEADER {
            let header = &bytes[at..at + RECORD_HEADER];
            let captured = u32::from_le_bytes(header[8..12].try_into().expect("4 bytes")) as usize;
            if captured > 1 << 16 {
                return Err(format!(
                    "{}: record at byte {} claims {captured} B: not a pcap file QEMU wrote",
                    self.path.display(),
                    self.offset as usize + at
                ));
            }
            let end = at + RECORD_HEADER + captured;
            if end > bytes.len() {
                break;
            }
            if let Some(segment) = tcp_segment(&bytes[at + RECORD_HEADER..end]) {
                segments.push(segment);
            }
            at = end;
        }
        self.offset += at as u64;
        Ok(segments)
    }
}

/// The TCP segment in an Ethernet frame, if it carries IPv4 TCP (and is
/// long enough to read).
fn tcp_segment(frame: &[u8]) -> Option<Segment> {
    const ETHERNET: usize = 14;
    if frame.len() < ETHERNET + 20 || frame[12..14] != [0x08, 0x00] {
        return None;
    }
    let ip = &frame[ETHERNET..];
    let header_len = usize::from(ip[0] & 0x0f) * 4;
    if ip[0] >> 4 != 4 || ip[9] != 6 || header_len < 20 || ip.len() < header_len + 14 {
        return None;
    }
    let address = |at: usize| Ipv4Addr::new(ip[at], ip[at + 1], ip[at + 2], ip[at + 3]);
    let tcp = &ip[header_len..];
    let port = |at: usize| u16::from_be_bytes([tcp[at], tcp[at + 1]]);
    Some(Segment {
        src: (address(12), port(0)),
        dst: (address(16), port(2)),
        seq: u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]),
        flags: tcp[13],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Ethernet frame with an IPv4 TCP header (no options).
    fn frame(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, seq: u32, flags: u8) -> Vec<u8> {
        let mut f = vec![0u8; 14];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        let mut ip = vec![0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0];
        ip.extend_from_slice(&src);
        ip.extend_from_slice(&dst);
        f.extend_from_slice(&ip);
        f.extend_from_slice(&sport.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&seq.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        f
    }

    fn record(frame: &[u8]) -> Vec<u8> {
        let mut r = vec![0u8; 8];
        r.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        r.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        r.extend_from_slice(frame);
        r
    }

    #[test]
    fn syns_are_read_once_and_partial_records_wait() {
        let dir = std::env::temp_dir().join(format!("pinata-pcap-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("dump.pcap");
        let mut file = MAGIC.to_le_bytes().to_vec();
        file.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        file.extend_from_slice(&(SNAP_LEN as u32).to_le_bytes());
        file.extend_from_slice(&1u32.to_le_bytes());
        // Before the reader starts: skipped.
        file.extend(record(&frame(
            [10, 0, 2, 15],
            80,
            [10, 0, 2, 2],
            5000,
            7,
            0x12,
        )));
        std::fs::write(&path, &file).unwrap();
        let mut reader = PcapReader::at_end(&path).unwrap();
        assert_eq!(reader.read_new().unwrap(), vec![]);

        let syn_ack = frame(
            [10, 0, 2, 15],
            10000,
            [10, 0, 2, 2],
            6000,
            0xdead_beef,
            0x12,
        );
        let plain_ack = frame([10, 0, 2, 15], 10000, [10, 0, 2, 2], 6000, 1, 0x10);
        file.extend(record(&plain_ack));
        file.extend(record(&syn_ack));
        let dial = record(&frame(
            [10, 0, 2, 15],
            50000,
            [10, 0, 2, 2],
            40001,
            42,
            0x02,
        ));
        file.extend_from_slice(&dial[..20]);
        std::fs::write(&path, &file).unwrap();
        let got = reader.read_new().unwrap();
        assert_eq!(
            got,
            vec![Syn {
                src: (Ipv4Addr::new(10, 0, 2, 15), 10000),
                dst: (Ipv4Addr::new(10, 0, 2, 2), 6000),
                seq: 0xdead_beef,
                ack: true,
            }]
        );
        file.extend_from_slice(&dial[20..]);
        std::fs::write(&path, &file).unwrap();
        let got = reader.read_new().unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].seq, got[0].ack), (42, false));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
