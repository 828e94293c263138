#![no_main]
//! One image layer (compressed or plain tar) through extraction and whiteouts.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    shipgate_image::fuzz_layer(data);
});
