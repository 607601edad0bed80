//! The oracle: when is a secret in the output a bug?
//!
//! The rule of the bounty: the secret goes only to a peer that completed the
//! handshake with a certificate chaining to the piñata CA. In the fuzzing
//! mode the record layer is pass-through, so whatever the piñata sends to the
//! peer, the secret included, is in the session's output in clear; the
//! oracle scans every output byte for it.
//!
//! # "Authenticated", in the fuzzing mode
//!
//! Handshake signatures are constant in this mode (see [`crate::provider`]),
//! so "the peer proved possession of the key" cannot be checked; the fuzzer
//! may present the piñata's own leaf certificate (public, in every seed) with
//! the constant signature, and that stands in for possessing its key.
//! Certificate *chain* signatures are verified for real, so the only
//! certificates that chain to this process's CA are the three the CA signed.
//! Hence the definition the oracle uses:
//!
//! > the peer is authenticated iff the session's TLS handshake completed and
//! > the peer's end-entity certificate is byte-for-byte the piñata identity
//! > generated in this process for the peer's role — the bounty *client*
//! > leaf when the piñata is the server, the bounty *server* leaf when it is
//! > the client.
//!
//! The role matters: the server leaf presented as a client certificate lacks
//! the clientAuth usage, and accepting it would be a verifier bug. Extra
//! certificates after the leaf do not matter (path building ignores what it
//! does not need).
//!
//! # What counts as the secret in the output
//!
//! Any 16-byte piece of the marker WIF ([`WINDOW`]), so splitting it over
//! records does not hide it — except a piece the peer itself sent before:
//! the piñata echoes some peer bytes by design (a TLS 1.3 ServerHello
//! repeats the client's 32-byte session id), and echoing what the peer
//! already holds discloses nothing. The fuzzer found exactly that under
//! AddressSanitizer, after learning the marker from the oracle's own byte
//! comparisons (libFuzzer traces `memcmp`); so the scan compares hashes of
//! the pieces and confirms bytes only on a matching hash, which leaves the
//! fuzzer nothing to learn the marker from.
//!
//! A run fails ([`check`] panics, which libFuzzer reports as a crash) when:
//! - a piece of the secret the peer did not send is in the output but the
//!   session does not report `SecretSent` (a leak on some other path);
//! - the session reports `SecretSent` but the secret is not in the output
//!   (the session lied; with pass-through records this cannot be legitimate);
//! - the secret went out and the peer is not authenticated as defined above.
//!
//! Panics, and allocations beyond the fuzz harness's limits, are crashes too.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::hash::Hasher;
use std::hash::DefaultHasher;
use std::sync::LazyLock;

use rustls::pki_types::CertificateDer;

use crate::transcript::Role;
use crate::{Identities, MARKER_WIF, NOW};
use pinata::session::{OutcomeKind, Session};

/// Length of the pieces of the WIF looked for: any contiguous piece of the
/// secret at least this long is found, so splitting the secret over records
/// does not hide it.
pub const WINDOW: usize = 16;

/// Which byte values are base58 characters (alphanumerics but `0`, `O`,
/// `I`, `l`). A table rather than comparisons: the scan runs over every
/// output byte, and in a fuzz build each comparison is also traced.
const BASE58: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = b.is_ascii_alphanumeric() && !matches!(b, b'0' | b'O' | b'I' | b'l');
        i += 1;
    }
    table
};

/// The hash a piece is compared by (std's SipHash with fixed keys: no
/// comparison in it involves the marker's bytes).
fn piece_hash(piece: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    hasher.write(piece);
    hasher.finish()
}

/// The hash of each piece of [`MARKER_WIF`], by its offset.
static PIECES: LazyLock<Vec<u64>> = LazyLock::new(|| {
    MARKER_WIF
        .as_bytes()
        .windows(WINDOW)
        .map(piece_hash)
        .collect()
});

/// The pieces of [`MARKER_WIF`] in `bytes`, as a set of offsets (bit *i*:
/// the piece at offset *i*; a 52-character WIF has 37).
fn pieces_in(bytes: &[u8]) -> u64 {
    let wif = MARKER_WIF.as_bytes();
    let mut found = 0;
    // A piece of a WIF is a run of base58 characters: skip everything else,
    // so the scan stays linear in the output.
    for run in bytes
        .split(|b| !BASE58[usize::from(*b)])
        .filter(|run| run.len() >= WINDOW)
    {
        for window in run.windows(WINDOW) {
            let hash = piece_hash(window);
            if let Some(at) = PIECES.iter().position(|p| *p == hash) {
                // Bytes compared only once the hash matched.
                if window == &wif[at..at + WINDOW] {
                    found |= 1 << at;
                }
            }
        }
    }
    found
}

/// Whether `output` holds any 16-byte piece of [`MARKER_WIF`].
pub fn contains_secret(output: &[u8]) -> bool {
    pieces_in(output) != 0
}

/// The leaf the peer must present to be authenticated, for the piñata's `role`.
pub fn expected_leaf(ids: &Identities, role: Role) -> Option<&CertificateDer<'static>> {
    match role {
        Role::Server => ids.client.first(),
        Role::Client => ids.server.first(),
    }
}

/// Whether the session's peer is authenticated, as defined in the module docs.
pub fn authenticated(session: &Session, ids: &Identities, role: Role) -> bool {
    let leaf = session.peer_certificates().and_then(|chain| chain.first());
    session.handshake_complete() && leaf.is_some() && leaf == expected_leaf(ids, role)
}

fn describe_peer(session: &Session) -> String {
    match session.peer_certificates() {
        None => "no certificate".into(),
        Some(chain) => format!(
            "{} certificate(s), leaf of {} bytes",
            chain.len(),
            chain.first().map_or(0, |c| c.len())
        ),
    }
}

/// Checks a bounty session and everything it has output so far. Panics with
/// a message starting `ORACLE:` on a violation.
pub fn check(session: &Session, output: &[u8], ids: &Identities, role: Role) {
    let present = contains_secret(output);
    check_leak(
        session,
        Leak {
            present,
            unexplained: present,
        },
        ids,
        role,
    );
}

/// What a [`Scanner`] saw of the secret in a session's output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Leak {
    /// Some piece of the secret is in the output.
    pub present: bool,
    /// Some piece the peer had not sent before is in the output.
    pub unexplained: bool,
}

/// [`check`] for a caller that scans input and output itself as they grow
/// ([`Scanner`]).
pub fn check_leak(session: &Session, leak: Leak, ids: &Identities, role: Role) {
    let outcome = session.outcome(NOW).map(|o| o.result);
    let sent = matches!(outcome, Some(OutcomeKind::SecretSent));
    if !leak.present && !sent {
        return;
    }
    assert!(
        sent || !leak.unexplained,
        "ORACLE: the secret is in the output but the session reports {outcome:?} (role {role:?})"
    );
    if !sent {
        // Only pieces the peer sent itself, echoed: nothing disclosed.
        return;
    }
    assert!(
        leak.present,
        "ORACLE: the session reports SecretSent but the secret is not in its output (role {role:?})"
    );
    assert!(
        authenticated(session, ids, role),
        "ORACLE: the secret went to an unauthenticated peer (role {role:?}, handshake complete: {}, {})",
        session.handshake_complete(),
        describe_peer(session)
    );
}

/// Follows one session's input and output as they grow, each byte scanned
/// about once (the new bytes and the [`WINDOW`]` - 1` before them, since a
/// piece may straddle two writes), instead of the whole output after every
/// step.
#[derive(Debug, Default)]
pub struct Scanner {
    /// The last `WINDOW - 1` bytes of the input and of the output.
    input_tail: Vec<u8>,
    output_tail: Vec<u8>,
    /// Pieces of the secret the peer sent.
    sent_by_peer: u64,
    leak: Leak,
}

/// Scans `tail` followed by `bytes` and keeps the last `WINDOW - 1` bytes.
fn scan(tail: &mut Vec<u8>, bytes: &[u8]) -> u64 {
    tail.extend_from_slice(bytes);
    let found = pieces_in(tail);
    let keep = tail.len().saturating_sub(WINDOW - 1);
    tail.drain(..keep);
    found
}

impl Scanner {
    /// Takes the next bytes the peer sent (before the session reads them).
    pub fn input(&mut self, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.sent_by_peer |= scan(&mut self.input_tail, bytes);
        }
    }

    /// Takes the next bytes of the output; returns what the output so far
    /// holds of the secret.
    pub fn output(&mut self, bytes: &[u8]) -> Leak {
        if !bytes.is_empty() {
            let found = scan(&mut self.output_tail, bytes);
            self.leak.present |= found != 0;
            self.leak.unexplained |= found & !self.sent_by_peer != 0;
        }
        self.leak
    }
}

/// For sessions that must never send the secret at all (HTTP).
pub fn check_never(output: &[u8], what: &str) {
    assert!(
        !contains_secret(output),
        "ORACLE: the secret is in the output of {what}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_secret_whole_or_in_pieces() {
        assert!(contains_secret(MARKER_WIF.as_bytes()));
        let mut framed = b"\x17\x03\x03\x00\x40".to_vec();
        framed.extend_from_slice(&MARKER_WIF.as_bytes()[10..30]);
        framed.push(0x16);
        assert!(contains_secret(&framed));
        assert!(!contains_secret(&MARKER_WIF.as_bytes()[..WINDOW - 1]));
        assert!(!contains_secret(b"GET / HTTP/1.1\r\nHost: example\r\n\r\n"));
    }

    #[test]
    fn the_scanner_finds_a_piece_split_over_writes() {
        let piece = &MARKER_WIF.as_bytes()[5..5 + WINDOW];
        for split in 0..=piece.len() {
            let mut scanner = Scanner::default();
            assert_eq!(scanner.output(b"\x16\x03\x03 record"), Leak::default());
            scanner.output(&piece[..split]);
            let found = Leak {
                present: true,
                unexplained: true,
            };
            assert_eq!(scanner.output(&piece[split..]), found, "split at {split}");
            // Once found, always found.
            assert_eq!(scanner.output(b"more"), found);
        }
        let mut scanner = Scanner::default();
        for byte in &MARKER_WIF.as_bytes()[..WINDOW - 1] {
            assert_eq!(scanner.output(&[*byte]), Leak::default());
        }
    }

    #[test]
    fn a_piece_the_peer_sent_is_explained_and_a_new_one_is_not() {
        let wif = MARKER_WIF.as_bytes();
        let mut scanner = Scanner::default();
        // The peer's session id carries a piece; the piñata echoes it.
        scanner.input(&[b"\x20".as_slice(), &wif[29..29 + WINDOW]].concat());
        let echoed =
            scanner.output(&[b"\x16\x03\x03\x20".as_slice(), &wif[29..29 + WINDOW]].concat());
        assert_eq!(
            echoed,
            Leak {
                present: true,
                unexplained: false
            }
        );
        // A piece the peer never sent.
        let leaked = scanner.output(&[b" ".as_slice(), &wif[..WINDOW]].concat());
        assert!(leaked.unexplained);
    }
}
