//! Every built-in rule loads and passes its annotated test file.

use std::path::Path;

use shipgate_sast::RuleSet;
use shipgate_sast::testing::{discover, run_case};

#[test]
fn every_builtin_rule_passes_its_tests() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let (cases, lonely) = discover(&dir).expect("rules dir");
    assert!(
        lonely.is_empty(),
        "rule files without a test file: {lonely:?}"
    );
    assert!(cases.len() >= 80, "only {} built-in rules", cases.len());
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in &cases {
        let out = run_case(case).expect("readable case");
        checked += out.checked;
        failures.extend(out.failures);
    }
    assert!(
        failures.is_empty(),
        "{} failures in {} cases:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(checked >= cases.len() * 2, "too few annotations: {checked}");
}

#[test]
fn builtin_rules_load_without_problems() {
    let mut problems = Vec::new();
    let rules = RuleSet::builtin(&mut problems);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(rules.len(), RuleSet::builtin_count());
    for r in rules.rules() {
        assert!(!r.cwe.is_empty(), "rule {} has no CWE", r.id);
        assert!(!r.owasp.is_empty(), "rule {} has no OWASP id", r.id);
    }
}
