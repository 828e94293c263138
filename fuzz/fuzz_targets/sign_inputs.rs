#![no_main]
//! Key files, signature payloads and DSSE envelopes fetched from registries.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    shipgate_sign::fuzz_inputs(data);
});
