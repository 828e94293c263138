#![no_main]
//! The secret-scanning engine over arbitrary bytes (chunking, decoding, validators).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    shipgate_secrets::fuzz_scan(data);
});
