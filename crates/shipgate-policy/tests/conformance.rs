//! Conformance against the Gatekeeper library's `gator verify` suites (real upstream data).
//!
//! Reads `$SHIPGATE_SHARED_DATA/gatekeeper-library/library` (default `<repo>/../shared/data`).
//! Every Rego-based case must pass; CEL-only cases pass or count as unsupported.

use std::path::PathBuf;

fn shared_data() -> PathBuf {
    std::env::var_os("SHIPGATE_SHARED_DATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
        PathBuf::from,
    )
}

#[test]
fn gatekeeper_library_suites() {
    let lib = shared_data().join("gatekeeper-library/library");
    if !lib.is_dir() {
        eprintln!(
            "SKIP: {} is absent (set SHIPGATE_SHARED_DATA to the shared data folder)",
            lib.display()
        );
        return;
    }
    let (report, errors) = shipgate_policy::verify(&lib);
    assert!(errors.is_empty(), "errors: {errors:?}");
    for f in &report.failures {
        eprintln!(
            "{}: {} / {}: {}: {}",
            f.suite, f.test, f.case, f.status, f.message
        );
    }
    eprintln!(
        "suites {} tests {} cases {} passed {} failed {} unsupported {}",
        report.suites, report.tests, report.cases, report.passed, report.failed, report.unsupported
    );
    assert_eq!(report.suites, 49);
    assert!(report.cases >= 270, "{} cases", report.cases);
    assert_eq!(report.failed, 0, "failures: {:#?}", report.failures);
    assert_eq!(report.passed + report.unsupported, report.cases);
}
