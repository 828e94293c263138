#![no_main]
//! Bytes as an OSV `all.zip` archive: the streaming zip reader, then every member as a record.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    shipgate_vulndb::fuzz_osv_zip(data);
});
