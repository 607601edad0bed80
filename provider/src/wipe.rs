//! Erasing what the crypto crates leave behind on the stack.
//!
//! Our own secrets live in types that wipe themselves (`Zeroizing`, the key
//! types' `ZeroizeOnDrop`). But the crates underneath compute on stack
//! temporaries they do not wipe: the RFC 6979 HMAC-DRBG state and the nonce
//! of an ECDSA signature, an Ed25519 key's expanded scalar and nonce, the
//! moved-from copy of a key returned by value, a PKCS#8 decoder's scratch.
//! A stack frame is not cleared when it is popped, so those bytes stay
//! until something else happens to write over them — and an ECDSA nonce
//! next to its public signature gives away the key.
//!
//! [`scrub_stack`] writes zeros over the stack below its caller, where the
//! frames of the functions the caller just returned from were. Callers run
//! it right after the work that handled a secret: the PKI bootstrap (the
//! CA's key), loading a private key, each handshake signature. Safe Rust
//! cannot name the stack, so this is the portable way: a frame of
//! [`SCRUB_BYTES`] of its own, written with volatile stores (which the
//! compiler may not drop), laid over the dead frames.

use zeroize::Zeroize;

/// How much stack [`scrub_stack`] overwrites. The deepest secret-handling
/// call measured (an x509-cert build signed with ECDSA P-256, in a debug
/// build) stays well within it; `tests/key_erasure.rs` finds every copy of
/// the CA's and the leaves' keys if it ever does not.
pub const SCRUB_BYTES: usize = 32 * 1024;

/// Overwrites [`SCRUB_BYTES`] of stack below the caller's frame with zeros.
///
/// Cheap (a few microseconds: 4,096 eight-byte volatile stores), so it can
/// follow every signature.
#[inline(never)]
pub fn scrub_stack() {
    let mut scratch = [0u64; SCRUB_BYTES / 8];
    scratch.zeroize();
    // Keep the frame (and so its size) even if the optimiser could see
    // through the volatile writes.
    core::hint::black_box(&scratch);
}
