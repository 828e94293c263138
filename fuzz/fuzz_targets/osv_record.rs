#![no_main]
//! One OSV advisory (JSON or YAML) through the model, import and range evaluation.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    shipgate_vulndb::fuzz_osv_record(data);
});
