//! Every example of every built-in rule is checked against the whole rule set.

use crate::builtin_scanner;

#[test]
fn every_rule_example_and_negative_example_holds() {
    let scanner = builtin_scanner();
    let mut failures = Vec::new();
    for rule in scanner.rules() {
        for ex in &rule.examples {
            let found = scanner.scan_bytes("example.txt", ex.as_bytes());
            if !found.iter().any(|f| f.rule_id == rule.id) {
                failures.push(format!(
                    "{}: positive example not detected (got {:?}): {ex}",
                    rule.id,
                    found.iter().map(|f| &f.rule_id).collect::<Vec<_>>()
                ));
            }
        }
        for ex in &rule.negative_examples {
            let found = scanner.scan_bytes("example.txt", ex.as_bytes());
            if found.iter().any(|f| f.rule_id == rule.id) {
                failures.push(format!("{}: negative example detected: {ex}", rule.id));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
