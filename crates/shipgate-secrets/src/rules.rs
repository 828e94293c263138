//! Rule definitions, the built-in rule set and compilation.

use regex::bytes::{Regex, RegexBuilder};
use serde::Deserialize;

use crate::Error;

/// The built-in rules, embedded at compile time.
const BUILTIN_YAML: &str = include_str!("../rules/builtin.yaml");
/// The name the embedded rules report in errors.
const BUILTIN_FILE: &str = "builtin.yaml";

/// Key-name tail, quotes and an assignment operator, for context rules (`${ASSIGN}`).
const ASSIGN: &str = r#"[\w.-]{0,25}?[\s'"]{0,3}(?:=|>|:{1,3}=?|\|\||=>|\?=|,)[\x60'"\s=]{0,5}"#;
/// The end of a value (`${END}`).
const END: &str = r#"(?:[\x60'"\s;,)\]}<]|\\[nrt]|$)"#;

/// Regex compile budget: large enough for every gitleaks rule with ASCII classes.
const REGEX_SIZE_LIMIT: usize = 64 * 1024 * 1024;

/// Severities are the shared report model's (`info`..`critical` in rule files).
pub use shipgate_report::Severity;

/// A structural check a candidate secret must pass, beyond its regex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Validator {
    /// GitHub token: the last 6 chars are base62(crc32(random part)).
    GithubCrc32,
    /// npm token: same scheme as GitHub's.
    NpmCrc32,
    /// JWT: header and payload are base64url JSON objects, header has `alg`.
    Jwt,
    /// Base64 of `user:password` (Docker `auth`).
    Base64Userpass,
    /// Base64 of a PEM private key (kubeconfig `client-key-data`).
    Base64Pem,
    /// Generic assignment: key name and value shape must look like a real secret.
    Generic,
}

/// Where an allowlist regex is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RegexTarget {
    /// The extracted secret (default).
    Secret,
    /// The whole regex match.
    Match,
    /// The whole line(s) of the match.
    Line,
}

/// An allowlist (gitleaks semantics): a candidate is dropped when it matches.
#[derive(Debug, Clone)]
pub(crate) struct Allowlist {
    /// `AND`: every non-empty criterion must match; otherwise any one.
    pub and: bool,
    pub target: RegexTarget,
    pub regexes: Vec<Regex>,
    pub paths: Vec<Regex>,
    /// Lowercased.
    pub stopwords: Vec<String>,
    pub commits: Vec<String>,
}

impl Allowlist {
    /// Whether the allowlist drops a candidate.
    pub(crate) fn allows(
        &self,
        secret: &[u8],
        whole: &[u8],
        line: &[u8],
        path: &str,
        commit: Option<&str>,
    ) -> bool {
        let mut checks: Vec<bool> = Vec::with_capacity(4);
        if !self.commits.is_empty() {
            checks.push(commit.is_some_and(|c| self.commits.iter().any(|x| x == c)));
        }
        if !self.paths.is_empty() {
            checks.push(self.paths.iter().any(|r| r.is_match(path.as_bytes())));
        }
        if !self.regexes.is_empty() {
            let hay = match self.target {
                RegexTarget::Secret => secret,
                RegexTarget::Match => whole,
                RegexTarget::Line => line,
            };
            checks.push(self.regexes.iter().any(|r| r.is_match(hay)));
        }
        if !self.stopwords.is_empty() {
            let lower = String::from_utf8_lossy(secret).to_ascii_lowercase();
            checks.push(self.stopwords.iter().any(|w| lower.contains(w.as_str())));
        }
        if checks.is_empty() {
            return false;
        }
        if self.and {
            checks.iter().all(|c| *c)
        } else {
            checks.iter().any(|c| *c)
        }
    }

    /// Whether the allowlist drops the whole file by path alone: with `OR` a path match is
    /// enough; with `AND` only when paths are the sole criterion.
    pub(crate) fn allows_path(&self, path: &str) -> bool {
        let path_only =
            self.regexes.is_empty() && self.stopwords.is_empty() && self.commits.is_empty();
        !self.paths.is_empty()
            && (!self.and || path_only)
            && self.paths.iter().any(|r| r.is_match(path.as_bytes()))
    }
}

/// One compiled detection rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Stable identifier (`github-pat`).
    pub id: String,
    /// One-line description, used as the finding title.
    pub description: String,
    /// Severity of a finding.
    pub severity: Severity,
    /// Keywords that must occur near a match; empty means "always run". They match in any
    /// ASCII case unless `exact_keywords` is set.
    pub keywords: Vec<String>,
    /// Keywords match only in the case written (`keyword_case: exact` in a rule file): for
    /// token prefixes whose case is part of the format (`AKIA`, `SK`, `eyJ`), so that ordinary
    /// words (`task`, `path`) do not send text to the regex.
    pub exact_keywords: bool,
    /// Minimum Shannon entropy (bits/char) of the secret.
    pub entropy: Option<f64>,
    /// Structural validator.
    pub validator: Option<Validator>,
    /// Matches may span lines (private keys): the regex runs on a 16 KiB window.
    pub multiline: bool,
    /// A fallback rule: it yields to a specific rule that finds the same secret.
    pub generic: bool,
    /// Examples that must produce a finding of this rule.
    pub examples: Vec<String>,
    /// Examples that must not.
    pub negative_examples: Vec<String>,
    pub(crate) regex: Option<RuleRegex>,
    pub(crate) secret_group: Option<usize>,
    pub(crate) path: Option<Regex>,
    pub(crate) allowlists: Vec<Allowlist>,
    pub(crate) skip_report: bool,
    /// Composite rule (gitleaks `[[rules.required]]`): a match is reported only when each of
    /// these rules also matches near it.
    pub(crate) required: Vec<Required>,
}

/// One requirement of a composite rule (gitleaks `[[rules.required]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Required {
    /// The id of the rule that must also match.
    pub id: String,
    /// At most this many lines between the two match starts.
    pub within_lines: Option<u32>,
    /// At most this many columns between the two match starts (on the same line unless
    /// `within_lines` is given too).
    pub within_columns: Option<u32>,
}

impl Required {
    /// Whether a match of the required rule starting at `other` (1-based line, column) is close
    /// enough to the primary match starting at `primary`. Without bounds, anywhere in the same
    /// file is close enough. A column bound alone means the same line: columns restart on
    /// every line, so comparing them across lines would be meaningless.
    pub(crate) fn accepts(&self, primary: (u32, u32), other: (u32, u32)) -> bool {
        let lines_ok = match (self.within_lines, self.within_columns) {
            (Some(n), _) => primary.0.abs_diff(other.0) <= n,
            (None, Some(_)) => primary.0 == other.0,
            (None, None) => true,
        };
        let cols_ok = self
            .within_columns
            .is_none_or(|m| primary.1.abs_diff(other.1) <= m);
        lines_ok && cols_ok
    }
}

impl Rule {
    /// Generic rules yield to a specific rule that finds the same secret.
    pub fn is_generic(&self) -> bool {
        self.generic
    }

    /// The regex source as compiled (after shorthand expansion / RE2 translation).
    pub fn pattern(&self) -> Option<&str> {
        self.regex.as_ref().map(RuleRegex::as_str)
    }
}

/// A set of compiled rules plus global allowlists.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub(crate) rules: Vec<Rule>,
    pub(crate) allowlists: Vec<Allowlist>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFileDef {
    rules: Vec<RuleDef>,
}

/// How a rule's keywords match.
#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum KeywordCase {
    /// Any ASCII case (gitleaks semantics).
    #[default]
    Ignore,
    /// Exactly as written.
    Exact,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDef {
    id: String,
    description: String,
    severity: Severity,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    keyword_case: KeywordCase,
    pattern: String,
    #[serde(default)]
    secret_group: Option<String>,
    #[serde(default)]
    entropy: Option<f64>,
    #[serde(default)]
    validator: Option<Validator>,
    #[serde(default)]
    multiline: bool,
    #[serde(default)]
    generic: bool,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    negative_examples: Vec<String>,
}

/// A rule's detection regex. User rules (rule files, gitleaks configs) are compiled when loaded,
/// so a bad pattern is reported there. The embedded set is only parsed at start-up (syntax and
/// capture groups) and each pattern compiled the first time the prefilter sends it text: a
/// pre-commit run over a few files compiles the handful of rules whose keywords occur instead of
/// all of them (compiling every built-in pattern cost ~200 ms per process).
#[derive(Debug, Clone)]
pub(crate) struct RuleRegex {
    pattern: String,
    /// Capture group names by group index (index 0 is the whole match).
    names: Vec<Option<String>>,
    compiled: std::sync::OnceLock<Regex>,
}

impl RuleRegex {
    /// Wrap a compiled regex.
    pub(crate) fn compiled(re: Regex) -> RuleRegex {
        RuleRegex {
            pattern: re.as_str().to_owned(),
            names: re.capture_names().map(|n| n.map(str::to_owned)).collect(),
            compiled: std::sync::OnceLock::from(re),
        }
    }

    /// Parse now, compile on first use. Only for patterns the test suite compiles (the
    /// embedded set): parsing catches syntax errors but not the compiled-size budget.
    fn lazy(pattern: String) -> Result<RuleRegex, String> {
        let parse = |unicode: bool| {
            regex_syntax::ParserBuilder::new()
                .unicode(unicode)
                .utf8(false)
                .build()
                .parse(&pattern)
                .map_err(|e| e.to_string())
        };
        let hir = parse(false).or_else(|first| parse(true).map_err(|_| first))?;
        let mut names = vec![None];
        collect_captures(&hir, &mut names);
        Ok(RuleRegex {
            pattern,
            names,
            compiled: std::sync::OnceLock::new(),
        })
    }

    /// The compiled regex (compiled now if this is the first use).
    pub(crate) fn get(&self) -> &Regex {
        self.compiled.get_or_init(|| {
            compile_regex(&self.pattern)
                .expect("lazily compiled patterns are built-in ones, which the test suite compiles")
        })
    }

    /// The pattern source.
    pub(crate) fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Number of groups, the whole match included.
    pub(crate) fn captures_len(&self) -> usize {
        self.names.len()
    }

    /// Index of the group called `name`.
    pub(crate) fn group_index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n.as_deref() == Some(name))
    }
}

/// Record capture group names by index.
fn collect_captures(hir: &regex_syntax::hir::Hir, names: &mut Vec<Option<String>>) {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Capture(c) => {
            let i = c.index as usize;
            if names.len() <= i {
                names.resize(i + 1, None);
            }
            names[i] = c.name.as_deref().map(str::to_owned);
            collect_captures(&c.sub, names);
        }
        HirKind::Repetition(r) => collect_captures(&r.sub, names),
        HirKind::Concat(v) | HirKind::Alternation(v) => {
            for h in v {
                collect_captures(h, names);
            }
        }
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) | HirKind::Look(_) => {}
    }
}

/// Compile a rule regex the way every rule is compiled: bytes, ASCII classes, large size limit.
/// Falls back to Unicode mode for patterns that need it (`\p{..}`).
pub(crate) fn compile_regex(pattern: &str) -> Result<Regex, regex::Error> {
    match RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
    {
        Ok(r) => Ok(r),
        Err(first) => RegexBuilder::new(pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|_| first),
    }
}

/// Resolve which capture group holds the secret: an explicit group, else a group named
/// `secret`, else the first group, else the whole match (`None`).
pub(crate) fn resolve_secret_group(re: &RuleRegex, explicit: Option<usize>) -> Option<usize> {
    if let Some(g) = explicit {
        return (g > 0 && g < re.captures_len()).then_some(g);
    }
    if let Some(i) = re.group_index("secret") {
        return Some(i);
    }
    (re.captures_len() > 1).then_some(1)
}

/// Expand `${ASSIGN}` and `${END}` shorthands.
fn expand_shorthands(pattern: &str) -> String {
    pattern.replace("${ASSIGN}", ASSIGN).replace("${END}", END)
}

impl RuleSet {
    /// The built-in rule set (embedded YAML).
    pub fn builtin() -> RuleSet {
        RuleSet::from_yaml(BUILTIN_FILE, BUILTIN_YAML, true)
            .expect("the embedded builtin.yaml is checked by the test suite and always loads")
    }

    /// Load rules in shipgate's YAML format (the format of `rules/builtin.yaml`).
    pub fn from_yaml_str(file: &str, text: &str) -> Result<RuleSet, Error> {
        RuleSet::from_yaml(file, text, false)
    }

    fn from_yaml(file: &str, text: &str, lazy: bool) -> Result<RuleSet, Error> {
        let def: RuleFileDef = serde_saphyr::from_str(text).map_err(|e| {
            let (line, column) = yaml_error_location(&e);
            Error::RuleFileSyntax {
                file: file.to_owned(),
                line,
                column,
                message: e.to_string(),
            }
        })?;
        let mut rules = Vec::with_capacity(def.rules.len());
        let mut problems = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for d in def.rules {
            if !seen.insert(d.id.clone()) {
                problems.push(format!("rule {}: duplicate id", d.id));
                continue;
            }
            let pattern = expand_shorthands(&d.pattern);
            let compiled = if lazy {
                RuleRegex::lazy(pattern)
            } else {
                compile_regex(&pattern)
                    .map(RuleRegex::compiled)
                    .map_err(|e| e.to_string())
            };
            let regex = match compiled {
                Ok(r) => r,
                Err(e) => {
                    problems.push(format!("rule {}: invalid pattern: {e}", d.id));
                    continue;
                }
            };
            let explicit = match d.secret_group.as_deref() {
                None => None,
                Some(g) => match g.parse::<usize>() {
                    Ok(n) => Some(n),
                    Err(_) => match regex.group_index(g) {
                        Some(i) => Some(i),
                        None => {
                            problems.push(format!("rule {}: no capture group {g:?}", d.id));
                            continue;
                        }
                    },
                },
            };
            let secret_group = resolve_secret_group(&regex, explicit);
            let generic = d.generic || d.id.starts_with("generic");
            rules.push(Rule {
                id: d.id,
                description: d.description,
                severity: d.severity,
                keywords: d.keywords,
                exact_keywords: d.keyword_case == KeywordCase::Exact,
                entropy: d.entropy,
                validator: d.validator,
                multiline: d.multiline,
                generic,
                examples: d.examples,
                negative_examples: d.negative_examples,
                regex: Some(regex),
                secret_group,
                path: None,
                allowlists: Vec::new(),
                skip_report: false,
                required: Vec::new(),
            });
        }
        if !problems.is_empty() {
            return Err(Error::InvalidRules {
                file: file.to_owned(),
                problems,
            });
        }
        Ok(RuleSet {
            rules,
            allowlists: Vec::new(),
        })
    }

    /// Load a shipgate YAML rule file from disk.
    pub fn from_yaml_file(path: &std::path::Path) -> Result<RuleSet, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        RuleSet::from_yaml_str(&path.display().to_string(), &text)
    }

    /// Add every rule of `other` (a rule with an id already present replaces it) and its
    /// global allowlists.
    pub fn extend(&mut self, other: RuleSet) {
        for r in other.rules {
            if let Some(existing) = self.rules.iter_mut().find(|x| x.id == r.id) {
                *existing = r;
            } else {
                self.rules.push(r);
            }
        }
        self.allowlists.extend(other.allowlists);
    }

    /// Drop the rules with these ids. A disabled rule that a remaining composite rule requires
    /// (gitleaks `[[rules.required]]`) stays loaded as a helper that never reports on its own,
    /// so the composite rule keeps working.
    pub fn disable(&mut self, ids: &[String]) {
        let disabled = |id: &str| ids.iter().any(|i| i == id);
        let needed: std::collections::HashSet<String> = self
            .rules
            .iter()
            .filter(|r| !disabled(&r.id))
            .flat_map(|r| r.required.iter().map(|q| q.id.clone()))
            .collect();
        self.rules.retain_mut(|r| {
            if !disabled(&r.id) {
                return true;
            }
            if needed.contains(&r.id) {
                r.skip_report = true;
                return true;
            }
            false
        });
    }

    /// The rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// Line and column of a serde-saphyr error, 0 when unknown.
pub(crate) fn yaml_error_location(e: &serde_saphyr::Error) -> (u32, u32) {
    e.location().map_or((0, 0), |l| {
        (
            u32::try_from(l.line()).unwrap_or(0),
            u32::try_from(l.column()).unwrap_or(0),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lazily_compiled_builtin_pattern_compiles_with_the_groups_it_was_parsed_with() {
        let rules = RuleSet::builtin();
        for r in &rules.rules {
            let Some(lazy) = &r.regex else { continue };
            let re = compile_regex(lazy.as_str())
                .unwrap_or_else(|e| panic!("rule {}: pattern does not compile: {e}", r.id));
            let eager = RuleRegex::compiled(re);
            assert_eq!(lazy.names, eager.names, "rule {}: capture groups", r.id);
            assert_eq!(
                lazy.get().as_str(),
                eager.as_str(),
                "rule {}: compiled pattern",
                r.id
            );
        }
    }

    #[test]
    fn required_proximity() {
        let q = |l: Option<u32>, c: Option<u32>| Required {
            id: "x".into(),
            within_lines: l,
            within_columns: c,
        };
        // No bounds: anywhere.
        assert!(q(None, None).accepts((1, 1), (900, 70)));
        // Lines: distance between starts, either direction, inclusive.
        assert!(q(Some(5), None).accepts((10, 1), (5, 80)));
        assert!(q(Some(5), None).accepts((10, 1), (15, 1)));
        assert!(!q(Some(5), None).accepts((10, 1), (16, 1)));
        // Columns alone: the same line only.
        assert!(q(None, Some(5)).accepts((1, 5), (1, 10)));
        assert!(!q(None, Some(5)).accepts((1, 5), (1, 11)));
        assert!(!q(None, Some(5)).accepts((1, 5), (2, 6)));
        // Both: a box.
        assert!(q(Some(1), Some(3)).accepts((4, 10), (5, 7)));
        assert!(!q(Some(1), Some(3)).accepts((4, 10), (5, 6)));
        assert!(!q(Some(1), Some(3)).accepts((4, 10), (6, 10)));
        // Zero: the same place.
        assert!(q(Some(0), Some(0)).accepts((3, 3), (3, 3)));
    }

    #[test]
    fn builtin_loads_at_least_120_rules() {
        let rs = RuleSet::builtin();
        assert!(rs.len() >= 120, "only {} rules", rs.len());
        for r in rs.rules() {
            assert!(!r.examples.is_empty(), "rule {} has no example", r.id);
            assert!(
                !r.negative_examples.is_empty(),
                "rule {} has no negative example",
                r.id
            );
            assert!(!r.keywords.is_empty(), "rule {} has no keyword", r.id);
        }
    }

    #[test]
    fn bad_yaml_names_file_and_line() {
        let err = RuleSet::from_yaml_str("x.yaml", "rules:\n  - id: a\n    bogus: [\n")
            .expect_err("must fail");
        let msg = err.to_string();
        assert!(msg.starts_with("x.yaml:"), "{msg}");
    }

    #[test]
    fn bad_regex_is_reported_per_rule() {
        let y = "rules:\n  - id: a\n    description: d\n    severity: high\n    pattern: '(('\n    keywords: [x]\n  - id: b\n    description: d\n    severity: low\n    pattern: '[z'\n    keywords: [x]\n";
        match RuleSet::from_yaml_str("x.yaml", y) {
            Err(Error::InvalidRules { problems, .. }) => assert_eq!(problems.len(), 2),
            other => panic!("unexpected {other:?}"),
        }
    }
}
