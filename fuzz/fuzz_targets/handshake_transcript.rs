//! `handshake_transcript`: see `fuzzkit::targets::handshake_transcript` (the body, shared with the
//! regression test) and docs/TESTING.md "Fuzzing".
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pinata_fuzz::targets::handshake_transcript(data));
