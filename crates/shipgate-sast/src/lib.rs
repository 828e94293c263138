//! Static application security testing for shipgate.
//!
//! Rules are data, in Semgrep's YAML format (see [`rule`] for the supported keys). Tree
//! languages (Python, JavaScript/TypeScript, Go, Java, Ruby, PHP, Rust, C#, YAML) are parsed
//! with tree-sitter and matched structurally by ast-grep-core; shell scripts and Dockerfiles
//! are split into commands and matched token by token ([`shell`]). Findings use the shared
//! report model, with CWE and OWASP ids from the rule's metadata.
//!
//! ```no_run
//! use shipgate_sast::{RuleSet, ScanOptions, scan_path};
//! let mut problems = Vec::new();
//! let rules = RuleSet::builtin(&mut problems);
//! let result = scan_path(&rules, std::path::Path::new("src"), &ScanOptions::default());
//! let output = result.into_scan_output();
//! # let _ = output;
//! ```
//!
//! Contract: a bad source file never stops a scan (its problem is returned next to the other
//! files' findings); a bad rule never stops the other rules (its problem is returned with file,
//! line and column); nothing here prints.
#![warn(clippy::print_stdout, clippy::print_stderr)]

mod error;
mod eval;
pub mod lang;
mod pattern;
pub mod rule;
mod scan;
pub mod shell;
mod staged;
pub mod testing;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use error::{Error, FileProblem, RuleProblem};
pub use lang::Lang;
pub use rule::RuleMeta;
pub use scan::{
    DEFAULT_MAX_FILE_SIZE, Match, SCANNER, ScanOptions, ScanResult, scan_files, scan_path,
    scan_text,
};
pub use staged::scan_staged;

use rule::CompiledRule;

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// A set of compiled rules, indexed by language.
pub struct RuleSet {
    rules: Vec<CompiledRule>,
    by_lang: BTreeMap<Lang, scan::LangRules>,
}

impl RuleSet {
    /// The built-in rules. Problems are pushed to `problems` (none, unless a built-in rule
    /// is broken, which the test suite checks).
    pub fn builtin(problems: &mut Vec<RuleProblem>) -> RuleSet {
        let mut rules = Vec::new();
        for (name, text) in BUILTIN_RULES {
            rules.extend(rule::load_rules(name, text, problems));
        }
        RuleSet::from_compiled(rules)
    }

    /// The number of built-in rule files.
    pub fn builtin_count() -> usize {
        BUILTIN_RULES.len()
    }

    /// Rules from YAML text (`name` is used in problems).
    pub fn from_yaml(name: &str, text: &str, problems: &mut Vec<RuleProblem>) -> RuleSet {
        RuleSet::from_compiled(rule::load_rules(name, text, problems))
    }

    /// Rules from a file, or from every `*.yaml` / `*.yml` rule file under a directory
    /// (test files `*.test.yaml` and YAML files without a top-level `rules:` are skipped).
    pub fn from_path(path: &Path, problems: &mut Vec<RuleProblem>) -> Result<RuleSet, Error> {
        let mut rules = Vec::new();
        for file in rule_files(path)? {
            let text = std::fs::read_to_string(&file).map_err(|source| Error::Io {
                path: file.clone(),
                source,
            })?;
            rules.extend(rule::load_rules(
                &file.display().to_string(),
                &text,
                problems,
            ));
        }
        Ok(RuleSet::from_compiled(rules))
    }

    /// Add another set's rules.
    pub fn extend(&mut self, other: RuleSet) {
        let mut rules = std::mem::take(&mut self.rules);
        rules.extend(other.rules);
        *self = RuleSet::from_compiled(rules);
    }

    fn from_compiled(rules: Vec<CompiledRule>) -> RuleSet {
        let by_lang = scan::index(&rules);
        RuleSet { rules, by_lang }
    }

    /// The distinct rules (one entry per rule, whatever its number of languages).
    pub fn rules(&self) -> Vec<&RuleMeta> {
        let mut seen = std::collections::BTreeSet::new();
        self.rules
            .iter()
            .filter(|r| seen.insert((r.meta.origin.as_str(), r.meta.id.as_str())))
            .map(|r| r.meta.as_ref())
            .collect()
    }

    /// The number of distinct rules.
    pub fn len(&self) -> usize {
        self.rules().len()
    }

    /// Whether there is no rule.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// The rule files under `path` (or `path` itself), sorted.
fn rule_files(path: &Path) -> Result<Vec<PathBuf>, Error> {
    let meta = std::fs::metadata(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    for entry in ignore::WalkBuilder::new(path)
        .standard_filters(false)
        .build()
    {
        let entry = entry.map_err(|e| Error::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?;
        let p = entry.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let yaml = name.ends_with(".yaml") || name.ends_with(".yml");
        let test = name.contains(".test.");
        if entry.file_type().is_some_and(|t| t.is_file()) && yaml && !test && is_rule_file(p) {
            out.push(p.to_path_buf());
        }
    }
    out.sort();
    Ok(out)
}

fn is_rule_file(p: &Path) -> bool {
    std::fs::read_to_string(p).is_ok_and(|t| t.lines().any(|l| l.starts_with("rules:")))
}

/// `sast:` in `shipgate.yaml`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SastSettings {
    /// Extra rule files or directories, relative to the config file.
    #[serde(default)]
    pub rules: Vec<PathBuf>,
    /// Load the built-in rules (default true).
    #[serde(default = "yes")]
    pub builtin: bool,
    /// Rule ids not to run.
    #[serde(default)]
    pub disable: Vec<String>,
    /// Skip files larger than this many bytes (default 1 MiB).
    #[serde(default)]
    pub max_file_size: Option<u64>,
}

fn yes() -> bool {
    true
}

impl Default for SastSettings {
    fn default() -> Self {
        SastSettings {
            rules: Vec::new(),
            builtin: true,
            disable: Vec::new(),
            max_file_size: None,
        }
    }
}

impl RuleSet {
    /// Keep only the rules for which `keep` is true.
    pub fn retain(&mut self, keep: impl Fn(&RuleMeta) -> bool) {
        let mut rules = std::mem::take(&mut self.rules);
        rules.retain(|r| keep(&r.meta));
        *self = RuleSet::from_compiled(rules);
    }
}

/// Fuzzing entry point for the rule loader: arbitrary bytes as a rule file. Must never panic.
pub fn fuzz_rules(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut problems = Vec::new();
    let rules = RuleSet::from_yaml("fuzz.yaml", &text, &mut problems);
    // Whatever loaded must also run.
    let _ = scan_text(&rules, "fuzz.py", Lang::Python, "import os\nos.system(x)\n");
}

/// Fuzzing entry point for the parsers and matchers: the first byte picks a language, the
/// rest is the source file, scanned with the built-in rules. Must never panic.
pub fn fuzz_scan(data: &[u8]) {
    use std::sync::OnceLock;
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    let rules = RULES.get_or_init(|| RuleSet::builtin(&mut Vec::new()));
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let lang = Lang::ALL[pick as usize % Lang::ALL.len()];
    let text = String::from_utf8_lossy(rest);
    let _ = scan_text(rules, "fuzz", lang, &text);
}
