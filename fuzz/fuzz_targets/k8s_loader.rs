#![no_main]
//! The Kubernetes manifest loader (YAML/JSON streams, positions, scalar typing).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    shipgate_policy::fuzz_load(data);
});
