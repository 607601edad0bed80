//! A look at a ClientHello before rustls sees it: does a TLS 1.2 client
//! indicate secure renegotiation (RFC 5746)?
//!
//! # Why
//!
//! rustls never renegotiates, so a client that does not indicate RFC 5746
//! support is no danger to it; rustls accepts such hellos. The original
//! piñata (ocaml-tls) refused them and counted them apart, and this piñata
//! keeps that rule and that counter (`no_renegotiation_extension`) so the
//! two appliances' figures compare. [`crate::tls::TlsStream`] asks
//! [`renegotiation_indication`] once, on a server connection's first input,
//! and refuses with a `handshake_failure` alert on [`Indication::Missing`].
//!
//! # What is checked, and what is left to rustls
//!
//! Only a hello that fits whole in the first record, with legacy version
//! TLS 1.2 and not offering TLS 1.3 (`supported_versions` with 0x0304 —
//! renegotiation does not exist in TLS 1.3). Anything else —
//! SSLv2-format or older hellos, fragmented hellos, malformed ones — is
//! [`Indication::NotChecked`] and goes to rustls unchanged, which rejects
//! what is wrong with it under its own reason (so `sslv3` and
//! `bad_record_version` keep counting what they counted). The parser reads
//! lengths only within the record it was given and allocates nothing.

/// What the first record says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indication {
    /// The first record is not complete yet: ask again with more input.
    NeedMore,
    /// Not a hello this check applies to (see the module docs).
    NotChecked,
    /// The TLS 1.3 `supported_versions`, the `renegotiation_info`
    /// extension or the `TLS_EMPTY_RENEGOTIATION_INFO_SCSV` suite is there.
    Indicated,
    /// A TLS 1.2-only hello with neither the extension nor the suite.
    Missing,
}

const CONTENT_HANDSHAKE: u8 = 0x16;
const HANDSHAKE_CLIENT_HELLO: u8 = 1;
const TLS12: u16 = 0x0303;
const TLS13: u16 = 0x0304;
const SCSV: u16 = 0x00ff;
const EXT_SUPPORTED_VERSIONS: u16 = 0x002b;
const EXT_RENEGOTIATION_INFO: u16 = 0xff01;
/// Largest record rustls accepts (2^14 plus expansion); a bigger length is
/// rustls's to refuse.
const MAX_RECORD: usize = 16_384 + 2_048;

/// Reads `input` (a server connection's first bytes) as described in the
/// module docs.
pub fn renegotiation_indication(input: &[u8]) -> Indication {
    let Some(header) = input.get(..5) else {
        return if input.first().is_some_and(|&b| b != CONTENT_HANDSHAKE) {
            Indication::NotChecked
        } else {
            Indication::NeedMore
        };
    };
    if header[0] != CONTENT_HANDSHAKE {
        return Indication::NotChecked;
    }
    let length = usize::from(u16::from_be_bytes([header[3], header[4]]));
    if length > MAX_RECORD {
        return Indication::NotChecked;
    }
    let Some(record) = input.get(5..5 + length) else {
        return Indication::NeedMore;
    };
    inspect_record(record).unwrap_or(Indication::NotChecked)
}

/// `None` for anything not shaped like a whole TLS 1.2 ClientHello.
fn inspect_record(record: &[u8]) -> Option<Indication> {
    let mut r = Reader(record);
    if r.u8()? != HANDSHAKE_CLIENT_HELLO {
        return None;
    }
    let body_len = r.u24()?;
    // A hello split over several records is left to rustls.
    let mut hello = Reader(r.take(body_len)?);
    if hello.u16()? != TLS12 {
        return None;
    }
    hello.take(32)?; // random
    let session_id = usize::from(hello.u8()?);
    hello.take(session_id)?;
    let suites_len = usize::from(hello.u16()?);
    let mut suites = Reader(hello.take(suites_len)?);
    let mut indicated = false;
    while !suites.is_empty() {
        indicated |= suites.u16()? == SCSV;
    }
    let compression = usize::from(hello.u8()?);
    hello.take(compression)?;
    if hello.is_empty() {
        // No extensions at all.
        return Some(verdict(indicated));
    }
    let extensions_len = usize::from(hello.u16()?);
    let mut extensions = Reader(hello.take(extensions_len)?);
    while !extensions.is_empty() {
        let kind = extensions.u16()?;
        let len = usize::from(extensions.u16()?);
        let mut data = Reader(extensions.take(len)?);
        match kind {
            EXT_RENEGOTIATION_INFO => indicated = true,
            EXT_SUPPORTED_VERSIONS => {
                let list_len = usize::from(data.u8()?);
                let mut versions = Reader(data.take(list_len)?);
                while !versions.is_empty() {
                    if versions.u16()? == TLS13 {
                        return Some(Indication::Indicated);
                    }
                }
            }
            _ => {}
        }
    }
    Some(verdict(indicated))
}

fn verdict(indicated: bool) -> Indication {
    if indicated {
        Indication::Indicated
    } else {
        Indication::Missing
    }
}

/// Bounds-checked big-endian reads from a slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u24(&mut self) -> Option<usize> {
        let b = self.take(3)?;
        Some(usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]))
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    /// A ClientHello record: `version`, cipher `suites`, and `extensions`
    /// as (type, data) pairs (`None`: no extensions block at all).
    fn hello(version: u16, suites: &[u16], extensions: Option<&[(u16, Vec<u8>)]>) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&version.to_be_bytes());
        body.extend_from_slice(&[7; 32]);
        body.push(0); // no session id
        body.extend_from_slice(&((suites.len() * 2) as u16).to_be_bytes());
        for s in suites {
            body.extend_from_slice(&s.to_be_bytes());
        }
        body.extend_from_slice(&[1, 0]); // null compression
        if let Some(extensions) = extensions {
            let mut block = Vec::new();
            for (kind, data) in extensions {
                block.extend_from_slice(&kind.to_be_bytes());
                block.extend_from_slice(&(data.len() as u16).to_be_bytes());
                block.extend_from_slice(data);
            }
            body.extend_from_slice(&(block.len() as u16).to_be_bytes());
            body.extend_from_slice(&block);
        }
        let mut handshake = alloc::vec![HANDSHAKE_CLIENT_HELLO];
        handshake.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        handshake.extend_from_slice(&body);
        let mut record = alloc::vec![CONTENT_HANDSHAKE, 3, 1];
        record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
        record.extend_from_slice(&handshake);
        record
    }

    const GCM: u16 = 0xc02b;

    #[test]
    fn tls12_hello_without_indication_is_missing() {
        assert_eq!(
            renegotiation_indication(&hello(
                TLS12,
                &[GCM],
                Some(&[(0x000a, alloc::vec![0, 2, 0, 23])])
            )),
            Indication::Missing
        );
        assert_eq!(
            renegotiation_indication(&hello(TLS12, &[GCM], None)),
            Indication::Missing
        );
    }

    #[test]
    fn scsv_extension_or_tls13_indicate() {
        let scsv = hello(TLS12, &[GCM, SCSV], None);
        assert_eq!(renegotiation_indication(&scsv), Indication::Indicated);
        let ext = hello(
            TLS12,
            &[GCM],
            Some(&[(EXT_RENEGOTIATION_INFO, alloc::vec![0])]),
        );
        assert_eq!(renegotiation_indication(&ext), Indication::Indicated);
        let tls13 = hello(
            TLS12,
            &[0x1301],
            Some(&[(
                EXT_SUPPORTED_VERSIONS,
                alloc::vec![4, 0x03, 0x04, 0x03, 0x03],
            )]),
        );
        assert_eq!(renegotiation_indication(&tls13), Indication::Indicated);
        // supported_versions with TLS 1.2 only is still a TLS 1.2 hello.
        let tls12_only = hello(
            TLS12,
            &[GCM],
            Some(&[(EXT_SUPPORTED_VERSIONS, alloc::vec![2, 0x03, 0x03])]),
        );
        assert_eq!(renegotiation_indication(&tls12_only), Indication::Missing);
    }

    #[test]
    fn partial_input_needs_more() {
        let record = hello(TLS12, &[GCM], None);
        for cut in [0, 1, 4, 5, record.len() - 1] {
            assert_eq!(
                renegotiation_indication(&record[..cut]),
                Indication::NeedMore,
                "cut at {cut}"
            );
        }
        // Trailing bytes (the next record) do not matter.
        let mut two = record.clone();
        two.extend_from_slice(&[0x16, 3, 3]);
        assert_eq!(renegotiation_indication(&two), Indication::Missing);
    }

    #[test]
    fn what_is_left_to_rustls() {
        // Old versions keep their own counters (sslv3, bad_record_version).
        assert_eq!(
            renegotiation_indication(&hello(0x0300, &[GCM], None)),
            Indication::NotChecked
        );
        assert_eq!(
            renegotiation_indication(&hello(0x0301, &[GCM], None)),
            Indication::NotChecked
        );
        // SSLv2-format hello, other content types, Heartbeat.
        assert_eq!(
            renegotiation_indication(&[0x80, 0x2e, 1]),
            Indication::NotChecked
        );
        assert_eq!(
            renegotiation_indication(&[24, 3, 3, 0, 3, 1, 0, 0]),
            Indication::NotChecked
        );
        // A hello fragmented over two records.
        let mut record = hello(TLS12, &[GCM], None);
        let short = (record.len() - 5 - 10) as u16;
        record[3..5].copy_from_slice(&short.to_be_bytes());
        record.truncate(record.len() - 10);
        assert_eq!(renegotiation_indication(&record), Indication::NotChecked);
        // Lengths that point past the end are malformed: rustls decides.
        let mut bad = hello(TLS12, &[GCM], None);
        bad[5 + 4 + 2 + 32 + 1 + 1] = 0xff; // cipher suites length
        assert_eq!(renegotiation_indication(&bad), Indication::NotChecked);
        // Over-long record length.
        assert_eq!(
            renegotiation_indication(&[0x16, 3, 3, 0xff, 0xff]),
            Indication::NotChecked
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // Every prefix and every single-byte corruption of a real hello.
        let record = hello(
            TLS12,
            &[GCM, SCSV],
            Some(&[
                (EXT_SUPPORTED_VERSIONS, alloc::vec![2, 3, 3]),
                (0, alloc::vec![]),
            ]),
        );
        for cut in 0..=record.len() {
            let _ = renegotiation_indication(&record[..cut]);
        }
        for i in 0..record.len() {
            for v in [0u8, 1, 0x7f, 0xff] {
                let mut r = record.clone();
                r[i] = v;
                let _ = renegotiation_indication(&r);
            }
        }
    }
}
