//! Integration tests of shipgate-secrets: rule examples, fixture trees, git sources,
//! gitleaks configs, hooks, bad input and fuzzing.

mod composite;
mod examples;
mod fuzz;
mod git;
mod gitleaks;
mod tree;

use shipgate_secrets::{RuleSet, Scanner, SecretsSettings};

/// A scanner with the built-in rules and default settings.
pub fn builtin_scanner() -> Scanner {
    Scanner::new(RuleSet::builtin(), &SecretsSettings::default()).expect("builtin scanner")
}
