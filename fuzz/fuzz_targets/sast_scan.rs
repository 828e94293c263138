#![no_main]
//! A source file of any supported language, parsed and matched with the built-in rules.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    shipgate_sast::fuzz_scan(data);
});
