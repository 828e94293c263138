//! Suppressions the report layer applies: `ignore:` entries and baselines.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use globset::{Glob, GlobMatcher};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::{Finding, ReportError, Suppression, SuppressionKind};

/// The schema tag of a baseline file.
pub const BASELINE_SCHEMA: &str = "shipgate.baseline/v1";

/// One `ignore:` entry of `shipgate.yaml`.
///
/// `id` matches a rule id, an advisory id or any of the advisory's aliases; `rule` matches the
/// rule id only. At least one of them is required, and so is `reason`. `path` is a glob over the
/// finding's path; `package` matches the package name (or `name@version`). After `expires` the
/// entry stops applying and the report says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IgnoreEntry {
    /// Rule id, advisory id or alias.
    #[serde(default)]
    pub id: Option<String>,
    /// Rule id.
    #[serde(default)]
    pub rule: Option<String>,
    /// Glob over the finding's path (e.g. `tests/**`).
    #[serde(default)]
    pub path: Option<String>,
    /// Package name, or `name@version`.
    #[serde(default)]
    pub package: Option<String>,
    /// Why the finding is accepted. Required.
    pub reason: String,
    /// Last day the entry applies (`YYYY-MM-DD`).
    #[serde(default)]
    pub expires: Option<String>,
}

/// A baseline: fingerprints of findings that were known when the gate was adopted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    /// Always [`BASELINE_SCHEMA`].
    pub schema: String,
    /// Known findings.
    pub findings: Vec<BaselineEntry>,
}

/// One known finding of a baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineEntry {
    /// The finding's fingerprint: this is what matches.
    pub fingerprint: String,
    /// For humans reading the file.
    pub rule_id: String,
    /// For humans reading the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl Baseline {
    /// A baseline of every finding given (suppressed or not, so re-writing is stable).
    pub fn from_findings<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Baseline {
        let mut by_fp = BTreeMap::new();
        for f in findings {
            by_fp
                .entry(f.fingerprint.clone())
                .or_insert_with(|| BaselineEntry {
                    fingerprint: f.fingerprint.clone(),
                    rule_id: f.rule_id.clone(),
                    path: f.location.path.clone(),
                });
        }
        Baseline {
            schema: BASELINE_SCHEMA.to_string(),
            findings: by_fp.into_values().collect(),
        }
    }

    /// Read a baseline file written by [`Baseline::write`].
    pub fn load(path: &Path) -> Result<Baseline, ReportError> {
        let text = std::fs::read_to_string(path).map_err(|source| ReportError::BaselineRead {
            path: path.to_path_buf(),
            source,
        })?;
        Baseline::parse(path, &text)
    }

    /// Parse baseline text; `path` is only used in error messages.
    pub fn parse(path: &Path, text: &str) -> Result<Baseline, ReportError> {
        let b: Baseline = serde_json::from_str(text).map_err(|e| ReportError::BaselineParse {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        if b.schema != BASELINE_SCHEMA {
            return Err(ReportError::BaselineParse {
                path: path.to_path_buf(),
                line: 1,
                column: 1,
                message: format!("schema is `{}`, expected `{BASELINE_SCHEMA}`", b.schema),
            });
        }
        Ok(b)
    }

    /// Write the baseline as pretty JSON.
    pub fn write(&self, mut w: impl std::io::Write) -> Result<(), ReportError> {
        serde_json::to_writer_pretty(&mut w, self)?;
        w.write_all(b"\n")?;
        Ok(())
    }
}

struct CompiledIgnore {
    entry: IgnoreEntry,
    index: usize,
    path: Option<GlobMatcher>,
}

/// The suppressions of one run, ready to apply to findings.
#[derive(Default)]
pub struct Suppressions {
    ignores: Vec<CompiledIgnore>,
    baseline: HashSet<String>,
    baseline_source: Option<String>,
    notes: Vec<String>,
}

impl Suppressions {
    /// Compile `ignore:` entries as of `today`. Expired entries are dropped with a note; invalid
    /// entries (no `id`/`rule`, empty reason, bad glob or date) are errors.
    pub fn new(ignores: &[IgnoreEntry], today: Date) -> Result<Suppressions, Vec<ReportError>> {
        let mut out = Suppressions::default();
        let mut errors = Vec::new();
        for (index, entry) in ignores.iter().enumerate() {
            let invalid = |message: String| ReportError::InvalidIgnore { index, message };
            if entry.id.is_none() && entry.rule.is_none() {
                errors.push(invalid("needs `id` or `rule`".into()));
                continue;
            }
            if entry.reason.trim().is_empty() {
                errors.push(invalid("needs a non-empty `reason`".into()));
                continue;
            }
            if let Some(exp) = &entry.expires {
                match exp.parse::<Date>() {
                    Ok(d) if d < today => {
                        out.notes.push(format!(
                            "ignore entry {index} ({}) expired on {d} and no longer applies",
                            entry.id.as_deref().or(entry.rule.as_deref()).unwrap_or("?")
                        ));
                        continue;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        errors.push(invalid(format!(
                            "`expires: {exp}` is not a YYYY-MM-DD date: {e}"
                        )));
                        continue;
                    }
                }
            }
            let path = match &entry.path {
                None => None,
                Some(p) => match Glob::new(p) {
                    Ok(g) => Some(g.compile_matcher()),
                    Err(e) => {
                        errors.push(invalid(format!("`path: {p}` is not a valid glob: {e}")));
                        continue;
                    }
                },
            };
            out.ignores.push(CompiledIgnore {
                entry: entry.clone(),
                index,
                path,
            });
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    /// Also suppress every finding whose fingerprint is in `baseline`.
    pub fn with_baseline(mut self, baseline: &Baseline, source: impl Into<String>) -> Suppressions {
        self.baseline
            .extend(baseline.findings.iter().map(|e| e.fingerprint.clone()));
        self.baseline_source = Some(source.into());
        self
    }

    /// Notes about the suppressions themselves (expired entries).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Mark the findings these suppressions cover. A suppression a scanner already set (inline,
    /// VEX) is kept.
    pub fn apply(&self, findings: &mut [Finding]) {
        for f in findings.iter_mut().filter(|f| f.suppressed.is_none()) {
            if let Some(ig) = self.ignores.iter().find(|ig| ignore_matches(ig, f)) {
                f.suppressed = Some(Suppression {
                    kind: SuppressionKind::Ignore,
                    reason: ig.entry.reason.clone(),
                    source: Some(format!("shipgate.yaml ignore[{}]", ig.index)),
                    expires: ig.entry.expires.clone(),
                });
            } else if self.baseline.contains(&f.fingerprint) {
                f.suppressed = Some(Suppression {
                    kind: SuppressionKind::Baseline,
                    reason: "known finding recorded in the baseline".into(),
                    source: self.baseline_source.clone(),
                    expires: None,
                });
            }
        }
    }
}

fn ignore_matches(ig: &CompiledIgnore, f: &Finding) -> bool {
    let e = &ig.entry;
    if let Some(rule) = &e.rule
        && !rule.eq_ignore_ascii_case(&f.rule_id)
    {
        return false;
    }
    if let Some(id) = &e.id {
        let by_rule = id.eq_ignore_ascii_case(&f.rule_id);
        let by_advisory = f.advisory.as_ref().is_some_and(|a| {
            a.id.eq_ignore_ascii_case(id) || a.aliases.iter().any(|al| al.eq_ignore_ascii_case(id))
        });
        if !by_rule && !by_advisory {
            return false;
        }
    }
    if let Some(glob) = &ig.path {
        match &f.location.path {
            Some(p) if glob.is_match(p) => {}
            _ => return false,
        }
    }
    if let Some(pkg) = &e.package {
        let Some(p) = &f.package else { return false };
        let (name, version) = match pkg.rsplit_once('@') {
            Some((n, v)) if !n.is_empty() => (n, Some(v)),
            _ => (pkg.as_str(), None),
        };
        if !name.eq_ignore_ascii_case(&p.name) {
            return false;
        }
        if let Some(v) = version
            && v != p.version
        {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Advisory, Location, Package, Severity};

    fn today() -> Date {
        "2026-06-01".parse().unwrap()
    }

    fn vuln() -> Finding {
        let mut f = Finding::new(
            "deps",
            "PYSEC-2023-100",
            Severity::High,
            "django",
            "vulnerable",
            Location::file("app/requirements.txt").with_line(3),
        );
        f.advisory = Some(Advisory {
            id: "PYSEC-2023-100".into(),
            aliases: vec!["CVE-2023-31047".into()],
            url: None,
        });
        f.package = Some(Package {
            ecosystem: "PyPI".into(),
            name: "django".into(),
            version: "3.2.0".into(),
            purl: None,
            fixed: vec![],
        });
        f
    }

    fn entry(id: &str) -> IgnoreEntry {
        IgnoreEntry {
            id: Some(id.into()),
            rule: None,
            path: None,
            package: None,
            reason: "accepted".into(),
            expires: None,
        }
    }

    #[test]
    fn ignore_by_alias_path_and_package() {
        let mut e = entry("CVE-2023-31047");
        e.path = Some("app/**".into());
        e.package = Some("Django@3.2.0".into());
        let s = Suppressions::new(&[e], today()).unwrap();
        let mut fs = vec![vuln()];
        s.apply(&mut fs);
        let sup = fs[0].suppressed.as_ref().expect("suppressed");
        assert_eq!(sup.kind, SuppressionKind::Ignore);
        assert_eq!(sup.source.as_deref(), Some("shipgate.yaml ignore[0]"));
    }

    #[test]
    fn ignore_not_matching_path_or_version() {
        let mut e = entry("CVE-2023-31047");
        e.path = Some("other/**".into());
        let mut e2 = entry("PYSEC-2023-100");
        e2.package = Some("django@4.0".into());
        let s = Suppressions::new(&[e, e2], today()).unwrap();
        let mut fs = vec![vuln()];
        s.apply(&mut fs);
        assert!(fs[0].suppressed.is_none());
    }

    #[test]
    fn expired_entry_stops_applying_with_note() {
        let mut e = entry("PYSEC-2023-100");
        e.expires = Some("2026-05-31".into());
        let s = Suppressions::new(&[e], today()).unwrap();
        assert_eq!(s.notes().len(), 1);
        assert!(s.notes()[0].contains("expired on 2026-05-31"));
        let mut fs = vec![vuln()];
        s.apply(&mut fs);
        assert!(fs[0].suppressed.is_none());
        // the last day still applies
        let mut e = entry("PYSEC-2023-100");
        e.expires = Some("2026-06-01".into());
        let s = Suppressions::new(&[e], today()).unwrap();
        s.apply(&mut fs);
        assert!(fs[0].suppressed.is_some());
    }

    #[test]
    fn invalid_entries_are_errors() {
        let mut no_id = entry("x");
        no_id.id = None;
        let mut no_reason = entry("x");
        no_reason.reason = " ".into();
        let mut bad_date = entry("x");
        bad_date.expires = Some("next week".into());
        let errs = Suppressions::new(&[no_id, no_reason, bad_date], today())
            .err()
            .expect("errors");
        assert_eq!(errs.len(), 3);
    }

    #[test]
    fn baseline_round_trip_and_apply() {
        let f = vuln();
        let b = Baseline::from_findings([&f]);
        let mut buf = Vec::new();
        b.write(&mut buf).unwrap();
        let parsed =
            Baseline::parse(Path::new("b.json"), std::str::from_utf8(&buf).unwrap()).unwrap();
        assert_eq!(parsed, b);
        let s = Suppressions::new(&[], today())
            .unwrap()
            .with_baseline(&parsed, "b.json");
        let mut fs = vec![f];
        s.apply(&mut fs);
        assert_eq!(
            fs[0].suppressed.as_ref().unwrap().kind,
            SuppressionKind::Baseline
        );
    }

    #[test]
    fn baseline_errors_name_line() {
        let e = Baseline::parse(Path::new("b.json"), "{\n  \"schema\": 3\n}").unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with("b.json:2:"), "{msg}");
        let e = Baseline::parse(Path::new("b.json"), r#"{"schema":"other","findings":[]}"#)
            .unwrap_err();
        assert!(e.to_string().contains("expected `shipgate.baseline/v1`"));
    }
}
