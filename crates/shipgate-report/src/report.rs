//! The report: findings after suppression, errors, summary and gate.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Finding, ReportError, ScanError, ScanOutput, Severity, Suppressions};

/// The schema tag of the JSON report.
pub const REPORT_SCHEMA: &str = "shipgate.report/v1";

/// The gate threshold: fail on findings at or above a severity, or never.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    /// Fail when an active finding has at least this severity.
    AtLeast(Severity),
    /// Never fail on findings (errors still fail).
    None,
}

impl Default for FailOn {
    fn default() -> Self {
        FailOn::AtLeast(Severity::High)
    }
}

impl FailOn {
    /// Whether a finding of this severity fails the gate.
    pub fn fails(self, severity: Severity) -> bool {
        match self {
            FailOn::AtLeast(t) => severity >= t,
            FailOn::None => false,
        }
    }
}

impl fmt::Display for FailOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailOn::AtLeast(s) => s.fmt(f),
            FailOn::None => f.write_str("none"),
        }
    }
}

impl FromStr for FailOn {
    type Err = ReportError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim().eq_ignore_ascii_case("none") {
            Ok(FailOn::None)
        } else {
            s.parse().map(FailOn::AtLeast)
        }
    }
}

impl Serialize for FailOn {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FailOn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The tool that wrote the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    /// Always `shipgate`.
    pub name: String,
    /// shipgate's version.
    pub version: String,
}

/// Counts of active findings by severity, plus the number of suppressed findings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Active critical findings.
    pub critical: usize,
    /// Active high findings.
    pub high: usize,
    /// Active medium findings.
    pub medium: usize,
    /// Active low findings.
    pub low: usize,
    /// Active info findings.
    pub info: usize,
    /// Findings suppressed by any means.
    pub suppressed: usize,
}

impl Summary {
    fn count(findings: &[Finding]) -> Summary {
        let mut s = Summary::default();
        for f in findings {
            if !f.is_active() {
                s.suppressed += 1;
                continue;
            }
            match f.severity {
                Severity::Critical => s.critical += 1,
                Severity::High => s.high += 1,
                Severity::Medium => s.medium += 1,
                Severity::Low => s.low += 1,
                Severity::Info => s.info += 1,
            }
        }
        s
    }

    /// Active findings of one severity.
    pub fn of(&self, severity: Severity) -> usize {
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Info => self.info,
        }
    }

    /// All active findings.
    pub fn active(&self) -> usize {
        self.critical + self.high + self.medium + self.low + self.info
    }
}

/// The gate decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gate {
    /// The threshold.
    pub fail_on: FailOn,
    /// True when there is no error and no active finding at or above the threshold.
    pub passed: bool,
}

/// The process exit code a report maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// 0: the gate passed.
    Passed = 0,
    /// 1: findings at or above the threshold.
    Failed = 1,
    /// 2: an error happened (the gate fails closed).
    Error = 2,
}

/// A finished report (`shipgate.report/v1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`REPORT_SCHEMA`].
    pub schema: String,
    /// The tool.
    pub tool: Tool,
    /// `secrets`, `deps`, `image`, `config`, or `all` for a merged report.
    pub scanner: String,
    /// Path or image reference that was scanned.
    pub target: String,
    /// Every finding, suppressed ones included (with `suppressed` set).
    pub findings: Vec<Finding>,
    /// Every error met; any error fails the gate.
    pub errors: Vec<ScanError>,
    /// Notes for the reader (expired suppressions, offline database...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Counts.
    pub summary: Summary,
    /// The decision.
    pub gate: Gate,
}

impl Report {
    /// Build a report from a scanner's output: apply suppressions, sort findings (most severe
    /// first, then by place), count, and evaluate the gate.
    pub fn build(
        scanner: &str,
        target: &str,
        tool_version: &str,
        mut output: ScanOutput,
        suppressions: &Suppressions,
        fail_on: FailOn,
    ) -> Report {
        suppressions.apply(&mut output.findings);
        let mut notes: Vec<String> = suppressions.notes().to_vec();
        notes.extend(output.notes);
        let mut findings = output.findings;
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.location.path.cmp(&b.location.path))
                .then_with(|| a.location.object.cmp(&b.location.object))
                .then_with(|| a.location.start_line.cmp(&b.location.start_line))
                .then_with(|| a.location.start_column.cmp(&b.location.start_column))
                .then_with(|| a.rule_id.cmp(&b.rule_id))
                .then_with(|| a.fingerprint.cmp(&b.fingerprint))
        });
        let summary = Summary::count(&findings);
        let passed = output.errors.is_empty()
            && !findings
                .iter()
                .any(|f| f.is_active() && fail_on.fails(f.severity));
        Report {
            schema: REPORT_SCHEMA.to_string(),
            tool: Tool {
                name: "shipgate".to_string(),
                version: tool_version.to_string(),
            },
            scanner: scanner.to_string(),
            target: target.to_string(),
            findings,
            errors: output.errors,
            notes,
            summary,
            gate: Gate { fail_on, passed },
        }
    }

    /// The exit code: 2 on any error, 1 when findings fail the gate, 0 otherwise.
    pub fn exit_code(&self) -> ExitCode {
        if !self.errors.is_empty() {
            ExitCode::Error
        } else if !self.gate.passed {
            ExitCode::Failed
        } else {
            ExitCode::Passed
        }
    }

    /// Active (unsuppressed) findings.
    pub fn active_findings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.is_active())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{IgnoreEntry, Location};

    fn finding(sev: Severity, rule: &str) -> Finding {
        Finding::new(
            "secrets",
            rule,
            sev,
            "t",
            "m",
            Location::file("a.txt").with_line(1),
        )
    }

    fn today() -> jiff::civil::Date {
        "2026-01-01".parse().unwrap()
    }

    #[test]
    fn gate_thresholds() {
        let none = Suppressions::default();
        let out = ScanOutput {
            findings: vec![finding(Severity::Medium, "a")],
            ..Default::default()
        };
        let r = Report::build(
            "secrets",
            ".",
            "0.1.0",
            out.clone(),
            &none,
            FailOn::default(),
        );
        assert!(r.gate.passed);
        assert_eq!(r.exit_code(), ExitCode::Passed);
        let r = Report::build(
            "secrets",
            ".",
            "0.1.0",
            out.clone(),
            &none,
            "medium".parse().unwrap(),
        );
        assert!(!r.gate.passed);
        assert_eq!(r.exit_code(), ExitCode::Failed);
        let r = Report::build("secrets", ".", "0.1.0", out, &none, FailOn::None);
        assert_eq!(r.exit_code(), ExitCode::Passed);
    }

    #[test]
    fn errors_fail_closed_even_with_fail_on_none() {
        let out = ScanOutput {
            errors: vec![ScanError::new("boom")],
            ..Default::default()
        };
        let r = Report::build(
            "deps",
            ".",
            "0.1.0",
            out,
            &Suppressions::default(),
            FailOn::None,
        );
        assert!(!r.gate.passed);
        assert_eq!(r.exit_code(), ExitCode::Error);
    }

    #[test]
    fn suppressed_findings_do_not_fail_and_are_counted() {
        let s = Suppressions::new(
            &[IgnoreEntry {
                id: None,
                rule: Some("a".into()),
                path: None,
                package: None,
                reason: "test fixture".into(),
                expires: None,
            }],
            today(),
        )
        .unwrap();
        let out = ScanOutput {
            findings: vec![
                finding(Severity::Critical, "a"),
                finding(Severity::Low, "b"),
            ],
            ..Default::default()
        };
        let r = Report::build("secrets", ".", "0.1.0", out, &s, FailOn::default());
        assert!(r.gate.passed);
        assert_eq!(r.summary.suppressed, 1);
        assert_eq!(r.summary.low, 1);
        assert_eq!(r.summary.critical, 0);
        // sorted most severe first, suppressed included
        assert_eq!(r.findings[0].rule_id, "a");
    }

    #[test]
    fn fail_on_parses_none() {
        assert_eq!("none".parse::<FailOn>().unwrap(), FailOn::None);
        assert_eq!(
            "critical".parse::<FailOn>().unwrap(),
            FailOn::AtLeast(Severity::Critical)
        );
        assert!("bogus".parse::<FailOn>().is_err());
    }
}
