//! `bounty_server`: see `fuzzkit::targets::bounty_server` (the body, shared with the
//! regression test) and docs/TESTING.md "Fuzzing".
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pinata_fuzz::targets::bounty_server(data));
