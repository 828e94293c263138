#![no_main]
//! GitOps application files (`shipgate.gitops/v1`): YAML streams, validation, the dependsOn
//! graph; the same bytes also as an `Application` custom resource's JSON.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    shipgate_gitops::app::fuzz_parse(data);
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = shipgate_gitops::crd::from_object(&v);
    }
});
