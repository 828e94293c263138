//! `.gitleaksignore`: gitleaks finding fingerprints, one a line, whose findings are suppressed.
//!
//! Entry forms (as gitleaks writes fingerprints):
//! - `file:rule-id:line` matches the finding of that rule whose match starts on that line of
//!   that file, in any scan (working tree, staged, or any commit of a history scan);
//! - `commit:file:rule-id:line` matches only a history finding at that commit. The commit may
//!   be abbreviated to 7 or more hex digits (gitleaks writes full or short ids depending on the
//!   version).
//!
//! `file` is relative to the scan root with `/` separators (`\` is read as `/`, a leading
//! `./` is dropped). Blank lines and lines starting with `#` are skipped. A line that is not an
//! entry is reported with its file and line number; the other entries still apply.

use std::path::Path;

use shipgate_report::{Suppression, SuppressionKind};

use crate::Error;
use crate::finding::{SecretFinding, SecretsOutput, SourceError};

/// The file name gitleaks reads at the scan root.
pub const GITLEAKSIGNORE: &str = ".gitleaksignore";

/// The entries of a `.gitleaksignore` file.
#[derive(Debug, Clone, Default)]
pub struct GitleaksIgnore {
    /// How the file is named in suppressions and errors.
    file: String,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// Lowercase hex, 7 to 40 digits.
    commit: Option<String>,
    path: String,
    rule: String,
    line: u32,
    /// 1-based line of the entry in the ignore file.
    at: u32,
}

impl GitleaksIgnore {
    /// Read and parse a `.gitleaksignore` file. The file is named in messages as `display`.
    /// Lines that are not entries come back as errors; the valid entries are kept.
    pub fn load(path: &Path, display: &str) -> Result<(GitleaksIgnore, Vec<SourceError>), Error> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Ok(GitleaksIgnore::parse(
            display,
            &String::from_utf8_lossy(&bytes),
        ))
    }

    /// Parse the text of a `.gitleaksignore` file named `file`.
    pub fn parse(file: &str, text: &str) -> (GitleaksIgnore, Vec<SourceError>) {
        let mut out = GitleaksIgnore {
            file: file.to_owned(),
            entries: Vec::new(),
        };
        let mut problems = Vec::new();
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (i, raw) in text.lines().enumerate() {
            let at = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match parse_entry(line, at) {
                Ok(e) => out.entries.push(e),
                Err(why) => problems.push(SourceError {
                    path: Some(file.to_owned()),
                    line: Some(at),
                    message: format!(
                        "{line:?} is not a gitleaks fingerprint: {why} (expected `file:rule-id:line` or `commit:file:rule-id:line`; comments go on lines of their own, starting with `#`)"
                    ),
                }),
            }
        }
        (out, problems)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the file has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Mark the findings an entry lists as suppressed (the report keeps them, with the reason
    /// and the entry's line). Findings already suppressed are left alone. Returns the entries
    /// that matched no finding, which may be stale.
    pub fn apply(&self, out: &mut SecretsOutput) -> Vec<Unmatched> {
        let mut used = vec![false; self.entries.len()];
        for f in out.findings.iter_mut().filter(|f| f.suppressed.is_none()) {
            if let Some(i) = self.entries.iter().position(|e| e.matches(f)) {
                used[i] = true;
                f.suppressed = Some(Suppression {
                    kind: SuppressionKind::Ignore,
                    reason: format!("listed in {GITLEAKSIGNORE}"),
                    source: Some(format!("{}:{}", self.file, self.entries[i].at)),
                    expires: None,
                });
            }
        }
        self.entries
            .iter()
            .zip(used)
            .filter(|(_, u)| !u)
            .map(|(e, _)| Unmatched {
                line: e.at,
                rule_id: e.rule.clone(),
            })
            .collect()
    }
}

/// An entry that matched no finding of a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmatched {
    /// Its 1-based line in the ignore file.
    pub line: u32,
    /// The rule id it names.
    pub rule_id: String,
}

impl Entry {
    fn matches(&self, f: &SecretFinding) -> bool {
        if self.line != f.match_line || self.rule != f.rule_id || self.path != f.path {
            return false;
        }
        match (&self.commit, &f.commit) {
            (None, _) => true,
            (Some(want), Some(c)) => {
                c.id.as_bytes()
                    .get(..want.len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(want.as_bytes()))
            }
            (Some(_), None) => false,
        }
    }
}

/// Parse one entry, from the right: the line number, the rule id, then the file, preceded by
/// a commit id when the first field is 7 to 40 hex digits.
fn parse_entry(line: &str, at: u32) -> Result<Entry, String> {
    let mut fields = line.rsplitn(3, ':');
    let number = fields.next().unwrap_or_default();
    let (Some(rule), Some(rest)) = (fields.next(), fields.next()) else {
        return Err("too few `:`-separated fields".into());
    };
    let number = number.trim();
    let line_no: u32 = number
        .parse()
        .map_err(|_| format!("the line number {number:?} is not a number"))?;
    let rule = rule.trim();
    if rule.is_empty() || rule.contains(char::is_whitespace) {
        return Err(format!("the rule id {rule:?} is not valid"));
    }
    let (commit, path) = match rest.split_once(':') {
        Some((c, p)) if is_commit(c) => (Some(c.to_ascii_lowercase()), p),
        _ => (None, rest),
    };
    let path = path.trim().replace('\\', "/");
    let path = path.strip_prefix("./").unwrap_or(&path).to_owned();
    if path.is_empty() {
        return Err("the file is empty".into());
    }
    Ok(Entry {
        commit,
        path,
        rule: rule.to_owned(),
        line: line_no,
        at,
    })
}

fn is_commit(s: &str) -> bool {
    (7..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::CommitInfo;

    fn finding(path: &str, rule: &str, line: u32, commit: Option<&str>) -> SecretFinding {
        SecretFinding {
            rule_id: rule.into(),
            description: "d".into(),
            severity: crate::Severity::High,
            path: path.into(),
            start_line: line,
            start_column: 1,
            end_line: line,
            end_column: 2,
            redacted: "…".into(),
            secret: None,
            secret_sha256: String::new(),
            entropy: 0.0,
            commit: commit.map(|c| CommitInfo {
                id: c.into(),
                author: "a".into(),
                email: "e".into(),
                date: "2024-01-01".into(),
            }),
            fingerprint: String::new(),
            match_line: line,
            required: Vec::new(),
            suppressed: None,
        }
    }

    const SHA: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567";

    #[test]
    fn parses_both_forms_comments_and_windows_paths() {
        let text = format!(
            "\u{feff}# known test keys\n\n  config/app.env:generic-api-key:12  \n{SHA}:src\\main.go:aws-access-token:3\n./a/b.txt:x:0\r\n"
        );
        let (ig, problems) = GitleaksIgnore::parse(".gitleaksignore", &text);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            ig.entries,
            vec![
                Entry {
                    commit: None,
                    path: "config/app.env".into(),
                    rule: "generic-api-key".into(),
                    line: 12,
                    at: 3
                },
                Entry {
                    commit: Some(SHA.into()),
                    path: "src/main.go".into(),
                    rule: "aws-access-token".into(),
                    line: 3,
                    at: 4
                },
                Entry {
                    commit: None,
                    path: "a/b.txt".into(),
                    rule: "x".into(),
                    line: 0,
                    at: 5
                },
            ]
        );
    }

    #[test]
    fn malformed_lines_are_reported_with_their_line_and_the_rest_still_applies() {
        let text = "a.txt:rule:1\nnot a fingerprint\na.txt:rule:twelve\na.txt:rule:3 # why\n:rule:4\na.txt:ru le:5\nb.txt:rule:6\n";
        let (ig, problems) = GitleaksIgnore::parse("x/.gitleaksignore", text);
        let lines: Vec<_> = problems.iter().map(|p| p.line).collect();
        assert_eq!(
            lines,
            vec![Some(2), Some(3), Some(4), Some(5), Some(6)],
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .all(|p| p.path.as_deref() == Some("x/.gitleaksignore"))
        );
        assert!(problems[1].message.contains("\"twelve\" is not a number"));
        assert_eq!(ig.len(), 2);
    }

    #[test]
    fn global_entries_match_any_commit_and_commit_entries_only_theirs() {
        let text = format!("a.env:r:2\n{}:b.env:r:5\n", &SHA[..7]);
        let (ig, _) = GitleaksIgnore::parse(".gitleaksignore", &text);
        let other = "ffffffffffffffffffffffffffffffffffffffff";
        let mut out = SecretsOutput {
            findings: vec![
                finding("a.env", "r", 2, None),
                finding("a.env", "r", 2, Some(other)),
                finding("a.env", "r", 3, None),
                finding("a.env", "s", 2, None),
                finding("b.env", "r", 5, Some(SHA)),
                finding("b.env", "r", 5, Some(other)),
                finding("b.env", "r", 5, None),
            ],
            ..SecretsOutput::default()
        };
        let unused = ig.apply(&mut out);
        assert!(unused.is_empty());
        let suppressed: Vec<bool> = out
            .findings
            .iter()
            .map(|f| f.suppressed.is_some())
            .collect();
        assert_eq!(
            suppressed,
            vec![true, true, false, false, true, false, false]
        );
        let s = out.findings[4].suppressed.as_ref().expect("suppressed");
        assert_eq!(s.reason, "listed in .gitleaksignore");
        assert_eq!(s.source.as_deref(), Some(".gitleaksignore:2"));
        assert_eq!(s.kind, SuppressionKind::Ignore);
    }

    #[test]
    fn entries_matching_nothing_are_returned() {
        let (ig, _) = GitleaksIgnore::parse("f", "# c\na:r:1\nb:r:2\n");
        let mut out = SecretsOutput {
            findings: vec![finding("b", "r", 2, None)],
            ..SecretsOutput::default()
        };
        assert_eq!(
            ig.apply(&mut out),
            vec![Unmatched {
                line: 2,
                rule_id: "r".into()
            }]
        );
    }
}
