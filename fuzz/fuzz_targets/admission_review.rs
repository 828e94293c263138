#![no_main]
//! An AdmissionReview body as the webhook receives it.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    shipgate_admission::fuzz_admission_review(data);
});
