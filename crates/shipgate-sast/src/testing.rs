//! Rule tests in Semgrep's format: a rule file `name.yaml` next to a target file with the
//! same stem (`name.py`, `name.dockerfile`, `name.test.yaml`...) whose comments say which
//! lines must match:
//!
//! - `ruleid: <id>` (on a line of its own) — the next code line must match rule `<id>`;
//! - `ok: <id>` — the next code line must not match it;
//! - `todoruleid:` / `todook:` — known gaps: recorded, not checked.
//!
//! An annotation written after code on the same line applies to that line. Several ids may
//! be listed, separated by commas.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::error::{Error, RuleProblem};
use crate::lang::Lang;
use crate::{RuleSet, scan_text};

/// One rule file and its annotated target.
#[derive(Debug, Clone)]
pub struct TestCase {
    /// The rule file.
    pub rules: PathBuf,
    /// The annotated file.
    pub target: PathBuf,
}

/// The result of one test case.
#[derive(Debug)]
pub struct TestOutcome {
    /// The case.
    pub case: TestCase,
    /// Rules loaded from the rule file.
    pub rules: usize,
    /// Lines checked (`ruleid` and `ok` annotations).
    pub checked: usize,
    /// What went wrong; empty when the case passes.
    pub failures: Vec<String>,
}

impl TestOutcome {
    /// Whether every annotation held and the rules loaded.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The test cases under `dir`: every rule file with a sibling target of the same stem.
/// Rule files without a target are returned in the second list.
pub fn discover(dir: &Path) -> Result<(Vec<TestCase>, Vec<PathBuf>), Error> {
    let mut files = Vec::new();
    for e in ignore::WalkBuilder::new(dir)
        .standard_filters(false)
        .build()
    {
        let e = e.map_err(|e| Error::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?;
        if e.file_type().is_some_and(|t| t.is_file()) {
            files.push(e.into_path());
        }
    }
    files.sort();
    let mut cases = Vec::new();
    let mut lonely = Vec::new();
    for f in &files {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let Some(stem) = name
            .strip_suffix(".yaml")
            .or_else(|| name.strip_suffix(".yml"))
        else {
            continue;
        };
        if stem.ends_with(".test") {
            continue;
        }
        let target = files.iter().find(|t| {
            let tn = t.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            t.parent() == f.parent()
                && *t != f
                && tn.strip_prefix(stem).is_some_and(|rest| {
                    rest.starts_with('.') && !rest[1..].contains('.')
                        || rest == ".test.yaml"
                        || rest == ".test.yml"
                })
        });
        match target {
            Some(t) => cases.push(TestCase {
                rules: f.clone(),
                target: t.clone(),
            }),
            None => lonely.push(f.clone()),
        }
    }
    Ok((cases, lonely))
}

/// The annotations of a target: rule id → (lines that must match, lines that must not).
pub fn annotations(text: &str) -> BTreeMap<String, (BTreeSet<u32>, BTreeSet<u32>)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: BTreeMap<String, (BTreeSet<u32>, BTreeSet<u32>)> = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        for (marker, positive) in [("ruleid:", true), ("ok:", false)] {
            let Some(at) = find_marker(line, marker) else {
                continue;
            };
            let ids = &line[at + marker.len()..];
            let before = line[..at].trim_end();
            // Only inside a comment: `ok: true` in a YAML target is data.
            let Some(opener) = OPENERS.iter().find(|o| before.ends_with(**o)) else {
                continue;
            };
            let own_line = before[..before.len() - opener.len()].trim().is_empty();
            let target = if own_line {
                // The next line that is not itself an annotation.
                (i + 1..lines.len())
                    .find(|&j| !is_annotation(lines[j]))
                    .map(|j| j as u32 + 1)
            } else {
                Some(i as u32 + 1)
            };
            let Some(target) = target else { continue };
            for id in ids.split(',') {
                let id = id
                    .trim()
                    .trim_end_matches("*/")
                    .trim_end_matches("-->")
                    .trim();
                if id.is_empty() {
                    continue;
                }
                let e = out.entry(id.to_string()).or_default();
                if positive {
                    e.0.insert(target);
                } else {
                    e.1.insert(target);
                }
            }
        }
    }
    out
}

/// Where a marker starts as a whole word (`ruleid:` but not `todoruleid:`).
fn find_marker(line: &str, marker: &str) -> Option<usize> {
    line.match_indices(marker).map(|(i, _)| i).find(|&i| {
        let prev = line[..i].chars().next_back();
        prev.is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
    })
}

/// Comment openers an annotation may follow.
const OPENERS: [&str; 5] = ["#", "//", "/*", "<!--", "--"];

fn is_annotation(line: &str) -> bool {
    let t = line.trim_start();
    let comment = OPENERS.iter().any(|c| t.starts_with(c));
    comment
        && ["ruleid:", "ok:", "todoruleid:", "todook:"]
            .iter()
            .any(|m| find_marker(t, m).is_some())
}

/// Run one case: load the rules, scan the target, compare the lines.
pub fn run_case(case: &TestCase) -> Result<TestOutcome, Error> {
    let mut problems: Vec<RuleProblem> = Vec::new();
    let rules = RuleSet::from_path(&case.rules, &mut problems)?;
    let text = std::fs::read_to_string(&case.target).map_err(|source| Error::Io {
        path: case.target.clone(),
        source,
    })?;
    let mut failures: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let name = case.target.display().to_string();
    let lang = Lang::from_path(&case.target).or_else(|| {
        // `x.test.yaml` and the like are covered by from_path; scripts may be shebang-only.
        Lang::from_shebang(text.lines().next().unwrap_or_default().as_bytes())
    });
    let mut found: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    match lang {
        Some(lang) => {
            let (matches, _) = scan_text(&rules, &name, lang, &text);
            for m in matches {
                found
                    .entry(m.rule.id.clone())
                    .or_default()
                    .insert(m.start.0);
            }
        }
        None => failures.push(format!("{name}: no language for this file")),
    }
    let expected = annotations(&text);
    let mut checked = 0;
    for meta in rules.rules() {
        let (want, not) = expected.get(&meta.id).cloned().unwrap_or_default();
        let got = found.get(&meta.id).cloned().unwrap_or_default();
        checked += want.len() + not.len();
        if want.is_empty() {
            failures.push(format!(
                "{name}: rule {} has no `ruleid:` annotation",
                meta.id
            ));
        }
        for l in want.difference(&got) {
            failures.push(format!(
                "{name}:{l}: rule {} should match here and does not",
                meta.id
            ));
        }
        for l in got.difference(&want) {
            let why = if not.contains(l) { " (marked ok)" } else { "" };
            failures.push(format!(
                "{name}:{l}: rule {} matches here unexpectedly{why}",
                meta.id
            ));
        }
    }
    Ok(TestOutcome {
        case: case.clone(),
        rules: rules.len(),
        checked,
        failures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_point_at_the_next_code_line() {
        let text = "# ruleid: a, b\n# ok: c\nx = 1\ny = 2  # ruleid: d\n// todoruleid: e\nz\n";
        let a = annotations(text);
        assert_eq!(a["a"].0, BTreeSet::from([3]));
        assert_eq!(a["b"].0, BTreeSet::from([3]));
        assert_eq!(a["c"].1, BTreeSet::from([3]));
        assert_eq!(a["d"].0, BTreeSet::from([4]));
        assert!(!a.contains_key("e"));
    }
}
