//! The check for MirageOS advisory 00 on a real backend: did the guest
//! send any byte it did not mean to send?
//!
//! In that advisory a netfront handed the backend frames whose padding
//! (below Ethernet's 60-byte minimum) came from stale memory, so secrets
//! could leave in the padding of small frames. Here dom0 captures every
//! frame on the guest's backend interface (`tcpdump -i vifN.0 -w`), and
//! [`check`] reads the capture (classic pcap, Ethernet) and, for every
//! frame the guest sent, asserts:
//!
//! - its length is what its header says — IPv4: 14 + the IP total length,
//!   ARP: 14 + 28 — or, for a frame shorter than 60 bytes, exactly 60
//!   with zero bytes after that length;
//! - no 16-byte piece of the prize's WIF occurs anywhere in it;
//! - no 16-byte piece of the heap canary (`test_heap_canary=`, which the
//!   guest wrote over its free heap before serving) occurs in it.
//!
//! It also counts small (under 60 bytes before padding) and large (over
//! 1000 bytes) frames: a capture without both proves nothing, and the
//! caller fails it.

/// What a capture showed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Frames in the capture, both directions.
    pub frames: usize,
    /// Frames whose source MAC is the guest's.
    pub from_guest: usize,
    /// Of those: under 60 bytes by their header (padded or not).
    pub small: usize,
    /// Of the small ones: padded to 60 bytes (with zeros).
    pub padded: usize,
    /// Of the guest's: over 1000 bytes.
    pub large: usize,
    /// The largest frame the guest sent.
    pub largest: usize,
    /// Everything wrong, one line each (at most a few per kind).
    pub problems: Vec<String>,
}

impl Report {
    /// Records a problem (the first 20: one broken driver makes many).
    fn note(&mut self, line: String) {
        if self.problems.len() < 20 {
            self.problems.push(line);
        }
    }
}

/// The 16-byte pieces a frame must not contain, indexed by their first
/// two bytes so that a frame is scanned with one table look-up per byte
/// (the capture of a whole battery run holds some 40,000 guest frames, and
/// dom0 runs inside TCG).
struct Pieces {
    /// Whether any piece starts with these two bytes.
    starts: Vec<bool>,
    pieces: Vec<[u8; 16]>,
}

impl Pieces {
    /// Every 16-byte window of `text` — or, `repeated`, of `text` three
    /// times over (the canary fills memory back to back, so its pieces
    /// also straddle two copies).
    fn of(text: &[u8], repeated: bool) -> Pieces {
        let source: Vec<u8> = if repeated {
            text.iter().copied().cycle().take(text.len() * 3).collect()
        } else {
            text.to_vec()
        };
        let mut pieces: Vec<[u8; 16]> = source
            .windows(16)
            .map(|w| w.try_into().expect("16-byte window"))
            .collect();
        pieces.sort_unstable();
        pieces.dedup();
        let mut starts = vec![false; 1 << 16];
        for piece in &pieces {
            starts[usize::from(u16::from_be_bytes([piece[0], piece[1]]))] = true;
        }
        Pieces { starts, pieces }
    }

    fn found_in(&self, frame: &[u8]) -> bool {
        frame.windows(16).any(|w| {
            self.starts[usize::from(u16::from_be_bytes([w[0], w[1]]))]
                && self.pieces.iter().any(|p| p[..] == *w)
        })
    }
}

/// The length the frame's own headers give it, if they say.
fn header_length(frame: &[u8]) -> Result<usize, String> {
    if frame.len() < 14 {
        return Err(format!(
            "{} bytes: shorter than an Ethernet header",
            frame.len()
        ));
    }
    match u16::from_be_bytes([frame[12], frame[13]]) {
        0x0800 => {
            if frame.len() < 34 {
                return Err(format!(
                    "IPv4 frame of {} bytes: no room for the IP header",
                    frame.len()
                ));
            }
            Ok(14 + usize::from(u16::from_be_bytes([frame[16], frame[17]])))
        }
        0x0806 => Ok(14 + 28),
        0x86dd => {
            if frame.len() < 54 {
                return Err(format!(
                    "IPv6 frame of {} bytes: no room for the IP header",
                    frame.len()
                ));
            }
            Ok(14 + 40 + usize::from(u16::from_be_bytes([frame[18], frame[19]])))
        }
        other => Err(format!(
            "ethertype {other:#06x}, which the guest never sends"
        )),
    }
}

/// Reads a classic pcap capture of Ethernet frames and checks the guest's
/// (source MAC `guest_mac`). `Err` only when the file is not such a
/// capture.
pub fn check(pcap: &[u8], guest_mac: [u8; 6], wif: &str, canary: &str) -> Result<Report, String> {
    if pcap.len() < 24 {
        return Err(format!("capture of {} bytes: no pcap header", pcap.len()));
    }
    let magic = u32::from_le_bytes(pcap[0..4].try_into().expect("4 bytes"));
    let little = match magic {
        0xa1b2_c3d4 | 0xa1b2_3c4d => true,
        0xd4c3_b2a1 | 0x4d3c_b2a1 => false,
        other => return Err(format!("not a pcap file (magic {other:#010x})")),
    };
    let word = |at: usize| -> u32 {
        let bytes: [u8; 4] = pcap[at..at + 4].try_into().expect("4 bytes");
        if little {
            u32::from_le_bytes(bytes)
        } else {
            u32::from_be_bytes(bytes)
        }
    };
    if word(20) != 1 {
        return Err(format!("link type {} is not Ethernet", word(20)));
    }
    let secret = Pieces::of(wif.as_bytes(), false);
    let marker = Pieces::of(canary.as_bytes(), true);
    let mut report = Report::default();
    let mut at = 24;
    while at < pcap.len() {
        if at + 16 > pcap.len() {
            report.note(format!("capture ends inside a record header at byte {at}"));
            break;
        }
        let captured = word(at + 8) as usize;
        let on_wire = word(at + 12) as usize;
        let start = at + 16;
        let Some(frame) = pcap.get(start..start + captured) else {
            report.note(format!("capture ends inside frame {}", report.frames + 1));
            break;
        };
        at = start + captured;
        report.frames += 1;
        let n = report.frames;
        if frame.len() < 12 || frame[6..12] != guest_mac {
            continue;
        }
        report.from_guest += 1;
        report.largest = report.largest.max(on_wire);
        if captured != on_wire {
            report.note(format!(
                "frame {n}: only {captured} of {on_wire} bytes captured"
            ));
            continue;
        }
        if secret.found_in(frame) {
            report.note(format!("frame {n}: carries a piece of the prize's WIF"));
        }
        if marker.found_in(frame) {
            report.note(format!("frame {n}: carries a piece of the heap canary"));
        }
        let meant = match header_length(frame) {
            Ok(meant) => meant,
            Err(e) => {
                report.note(format!("frame {n}: {e}"));
                continue;
            }
        };
        if meant > 1000 {
            report.large += 1;
        }
        if meant < 60 {
            report.small += 1;
        }
        if frame.len() == meant {
            continue;
        }
        if meant < 60 && frame.len() == 60 {
            report.padded += 1;
            if frame[meant..].iter().any(|&b| b != 0) {
                report.note(format!(
                    "frame {n}: padding after byte {meant} is not all zeros"
                ));
            }
        } else {
            report.note(format!(
                "frame {n}: {} bytes where its headers say {meant}",
                frame.len()
            ));
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUEST: [u8; 6] = [0x00, 0x16, 0x3e, 1, 2, 3];
    const DOM0: [u8; 6] = [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff];
    const WIF: &str = "cMahea7zqjxrtgAbB7LSGbcQUr1uX1ojuat9jZodMN87JcbXMTcA";
    const CANARY: &str = "PINATA-CANARY-TEST";

    fn ipv4_frame(src: [u8; 6], payload: &[u8], pad_to: usize, pad: u8) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&DOM0);
        f.extend_from_slice(&src);
        f.extend_from_slice(&[0x08, 0x00]);
        let total = (20 + payload.len()) as u16;
        f.extend_from_slice(&[0x45, 0, (total >> 8) as u8, total as u8]);
        f.extend_from_slice(&[0; 16]);
        f.extend_from_slice(payload);
        while f.len() < pad_to {
            f.push(pad);
        }
        f
    }

    fn pcap(frames: &[Vec<u8>]) -> Vec<u8> {
        // Classic pcap, little-endian, version 2.4, Ethernet.
        let mut header = Vec::new();
        header.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        header.extend_from_slice(&2u16.to_le_bytes());
        header.extend_from_slice(&4u16.to_le_bytes());
        header.extend_from_slice(&0u32.to_le_bytes());
        header.extend_from_slice(&0u32.to_le_bytes());
        header.extend_from_slice(&262_144u32.to_le_bytes());
        header.extend_from_slice(&1u32.to_le_bytes());
        let mut out = header;
        for f in frames {
            out.extend_from_slice(&[0; 8]);
            out.extend_from_slice(&(f.len() as u32).to_le_bytes());
            out.extend_from_slice(&(f.len() as u32).to_le_bytes());
            out.extend_from_slice(f);
        }
        out
    }

    #[test]
    fn honest_frames_pass_and_are_counted() {
        let frames = [
            ipv4_frame(GUEST, &[1; 20], 0, 0),      // 54 bytes, unpadded
            ipv4_frame(GUEST, &[1; 20], 60, 0),     // padded with zeros
            ipv4_frame(GUEST, &[b'x'; 1400], 0, 0), // large
            ipv4_frame(DOM0, WIF.as_bytes(), 0, 0), // dom0's frames are not checked
        ];
        let report = check(&pcap(&frames), GUEST, WIF, CANARY).unwrap();
        assert_eq!(report.frames, 4);
        assert_eq!(report.from_guest, 3);
        assert_eq!((report.small, report.padded, report.large), (2, 1, 1));
        assert_eq!(report.largest, 1434);
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    }

    #[test]
    fn stale_padding_secrets_and_canary_are_caught() {
        let mut leaky_padding = ipv4_frame(GUEST, &[1; 20], 0, 0);
        leaky_padding.extend_from_slice(&[0xAA; 6]);
        let mut wif_in_padding = ipv4_frame(GUEST, &[1; 4], 0, 0);
        wif_in_padding.extend_from_slice(&WIF.as_bytes()[3..25]);
        let canary_fill: Vec<u8> = CANARY.bytes().cycle().skip(5).take(40).collect();
        let frames = [
            leaky_padding,
            ipv4_frame(GUEST, &canary_fill, 0, 0),
            wif_in_padding,
            ipv4_frame(GUEST, &[1; 20], 80, 0), // longer than meant, not padding
        ];
        let report = check(&pcap(&frames), GUEST, WIF, CANARY).unwrap();
        let text = report.problems.join("\n");
        assert!(
            text.contains("frame 1: padding after byte 54 is not all zeros"),
            "{text}"
        );
        assert!(
            text.contains("frame 2: carries a piece of the heap canary"),
            "{text}"
        );
        assert!(
            text.contains("frame 3: carries a piece of the prize's WIF"),
            "{text}"
        );
        assert!(
            text.contains("frame 4: 80 bytes where its headers say 54"),
            "{text}"
        );
    }

    #[test]
    fn not_a_capture_is_an_error() {
        assert!(check(b"hello", GUEST, WIF, CANARY).is_err());
        assert!(check(&[0u8; 24], GUEST, WIF, CANARY).is_err());
    }
}
