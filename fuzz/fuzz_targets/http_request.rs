//! `http_request`: see `fuzzkit::targets::http_request` (the body, shared with the
//! regression test) and docs/TESTING.md "Fuzzing".
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pinata_fuzz::targets::http_request(data));
