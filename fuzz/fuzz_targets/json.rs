#![no_main]
//! See `connect_core_fuzz::json` (fuzz/src/lib.rs) for what is checked.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| connect_core_fuzz::json(data));
