//! Secret scanning for shipgate.
//!
//! What it does:
//! - **Rules are data.** The built-in rule set ([`RuleSet::builtin`]) is YAML embedded in the
//!   binary (`rules/builtin.yaml`); each rule has an id, description, severity, keywords (case-insensitive
//!   unless the rule asks for exact case), a regex, an optional entropy threshold and checksum validator, and positive and
//!   negative examples that the test suite checks. Gitleaks TOML configurations load too
//!   ([`RuleSet::from_gitleaks_toml`]), with Go RE2 syntax translated.
//! - **Engine.** One keyword pass over the input (a cache-sized prefix automaton walked in
//!   four lock-step lanes, see `keywords.rs`) finds rule keywords; each rule's regex
//!   (ASCII classes, `unicode(false)`) then runs only on the lines around its keyword hits.
//!   Candidates go through entropy, checksum (GitHub/npm CRC32, JWT shape) and decoy filters
//!   (documented example keys, placeholders, templating, environment lookups, masked values,
//!   digests), allowlists and inline `shipgate:allow` comments.
//! - **Sources.** A working tree (parallel walk honouring `.gitignore`), the whole git history
//!   (each distinct blob once, reported at the commit that introduced it), `--since REV`, the
//!   staged index (what a pre-commit hook needs), and any reader (stdin). Large or minified
//!   files are streamed in overlapping chunks, so memory stays bounded.
//! - **Findings** are [`SecretFinding`]s with a redacted secret and a fingerprint that does not
//!   depend on the line number; [`SecretFinding::to_finding`] converts to the shared report model.
//!
//! - **`.gitleaksignore`** ([`GitleaksIgnore`]): findings whose gitleaks fingerprint is listed
//!   are marked suppressed (kept in the report, with the entry that suppressed them).
//!
//! What it deliberately does not do: it never prints (the binary renders), never talks to a
//! provider to check whether a credential is live, never applies `ignore:` entries or baselines
//! (the report layer does), and never writes to the scanned repository except
//! [`hook::install`], which writes `.git/hooks/pre-commit` when asked.
#![warn(clippy::print_stdout, clippy::print_stderr)]

mod engine;
mod error;
mod finding;
mod fuzz;
mod git;
mod gitleaks;
mod gitleaksignore;
pub mod hook;
mod keywords;
mod rules;
mod settings;
mod sources;
mod validate;

pub use engine::Scanner;
pub use error::Error;
pub use finding::{CommitInfo, RequiredMatch, SecretFinding, SecretsOutput, SourceError, redact};
pub use fuzz::fuzz_scan;
pub use git::{GitOptions, scan_git, scan_staged};
pub use gitleaksignore::{GITLEAKSIGNORE, GitleaksIgnore, Unmatched};
pub use rules::{Rule, RuleSet, Severity, Validator};
pub use settings::SecretsSettings;
pub use sources::{ScanOptions, scan_path, scan_reader};
pub use validate::shannon_entropy;
