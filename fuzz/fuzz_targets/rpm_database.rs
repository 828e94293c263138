#![no_main]
//! An RPM package database (SQLite, NDB or Berkeley DB) through the reader. The reader
//! catches panics itself, but libFuzzer's panic hook aborts first, so a panic is still found.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = shipgate_image::os::rpm::read_database(data);
});
