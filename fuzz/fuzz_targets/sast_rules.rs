#![no_main]
//! A user rule file (Semgrep YAML) as `shipgate scan sast --rules` loads it.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    shipgate_sast::fuzz_rules(data);
});
