//! `bounty_client`: see `fuzzkit::targets::bounty_client` (the body, shared with the
//! regression test) and docs/TESTING.md "Fuzzing".
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pinata_fuzz::targets::bounty_client(data));
