#![no_main]
//! A pipeline file (`shipgate.yaml` `pipeline:` or `.shipgate/pipeline.yaml`).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    shipgate_pipeline::fuzz_spec(data);
});
