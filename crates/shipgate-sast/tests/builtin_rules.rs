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

/// The fuzz entry points on hostile inputs (the cargo-fuzz targets run them for longer).
#[test]
fn fuzz_entry_points_survive_hostile_inputs() {
    let inputs: Vec<Vec<u8>> = vec![
        b"rules: [{id: x, message: m, severity: ERROR, languages: [python], pattern: \"$X(\"}]".to_vec(),
        b"rules:\n  - id: x\n    message: m\n    severity: ERROR\n    languages: [go]\n    patterns: [{pattern-either: []}]\n".to_vec(),
        b"rules: &a [*a]".to_vec(),
        vec![0xff, 0xfe, 0x00, 0x01],
        b"\x00def f(:\n\tpickle.loads(x".to_vec(),
        [&[7u8][..], "{".repeat(20_000).as_bytes()].concat(),
        [&[11u8][..], b"RUN curl \\\n".repeat(1000).as_slice()].concat(),
        [&[12u8][..], b"FROM \"unterminated\nENV A=\nUSER".as_slice()].concat(),
    ];
    for i in &inputs {
        shipgate_sast::fuzz_rules(i);
        shipgate_sast::fuzz_scan(i);
    }
}
