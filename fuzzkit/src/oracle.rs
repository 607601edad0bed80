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
//! A run fails ([`check`] panics, which libFuzzer reports as a crash) when:
//! - the secret is in the output but the session does not report
//!   `SecretSent` (a leak on some other path);
//! - the session reports `SecretSent` but the secret is not in the output
//!   (the session lied; with pass-through records this cannot be legitimate);
//! - the secret went out and the peer is not authenticated as defined above.
//!
//! Panics, and allocations beyond the fuzz harness's limits, are crashes too.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

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

/// Whether `output` holds any 16-byte piece of [`MARKER_WIF`].
pub fn contains_secret(output: &[u8]) -> bool {
    let wif = MARKER_WIF.as_bytes();
    // A piece of a WIF is a run of base58 characters: skip everything else,
    // so the scan stays linear in the output.
    output
        .split(|b| !BASE58[usize::from(*b)])
        .filter(|run| run.len() >= WINDOW)
        .any(|run| {
            run.windows(WINDOW)
                .any(|w| wif.windows(WINDOW).any(|piece| piece == w))
        })
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
    check_leaked(session, contains_secret(output), ids, role);
}

/// [`check`] for a caller that scans the output itself as it grows
/// ([`Scanner`]): `leaked` is whether the secret is anywhere in it.
pub fn check_leaked(session: &Session, leaked: bool, ids: &Identities, role: Role) {
    let outcome = session.outcome(NOW).map(|o| o.result);
    let sent = matches!(outcome, Some(OutcomeKind::SecretSent));
    if !leaked && !sent {
        return;
    }
    assert!(
        sent,
        "ORACLE: the secret is in the output but the session reports {outcome:?} (role {role:?})"
    );
    assert!(
        leaked,
        "ORACLE: the session reports SecretSent but the secret is not in its output (role {role:?})"
    );
    assert!(
        authenticated(session, ids, role),
        "ORACLE: the secret went to an unauthenticated peer (role {role:?}, handshake complete: {}, {})",
        session.handshake_complete(),
        describe_peer(session)
    );
}

/// Whether a growing output holds the secret, scanning each byte about once:
/// the new bytes and the [`WINDOW`]` - 1` before them (a piece may straddle
/// two writes), instead of the whole output after every step.
#[derive(Debug, Default)]
pub struct Scanner {
    /// The last `WINDOW - 1` bytes seen.
    tail: Vec<u8>,
    leaked: bool,
}

impl Scanner {
    /// Takes the next bytes of the output; returns whether the secret is
    /// anywhere in the output so far.
    pub fn push(&mut self, bytes: &[u8]) -> bool {
        if self.leaked || bytes.is_empty() {
            return self.leaked;
        }
        self.tail.extend_from_slice(bytes);
        self.leaked = contains_secret(&self.tail);
        let keep = self.tail.len().saturating_sub(WINDOW - 1);
        self.tail.drain(..keep);
        self.leaked
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
            assert!(!scanner.push(b"\x16\x03\x03 record"));
            scanner.push(&piece[..split]);
            assert!(scanner.push(&piece[split..]), "split at {split}");
            // Once found, always found.
            assert!(scanner.push(b"more"));
        }
        let mut scanner = Scanner::default();
        for byte in &MARKER_WIF.as_bytes()[..WINDOW - 1] {
            assert!(!scanner.push(&[*byte]));
        }
    }
}
