//! The piñata's prize (placeholder; see issue 2).
#![no_std]
#![forbid(unsafe_code)]
