//! The data every scanner produces: findings, errors and notes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ReportError;

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, not a risk by itself.
    Info,
    /// Low risk.
    Low,
    /// Medium risk.
    Medium,
    /// High risk: the default gate threshold.
    High,
    /// Critical risk.
    Critical,
}

impl Severity {
    /// All levels, most severe first.
    pub const ALL_DESCENDING: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    /// The lower-case name used in files and flags.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// The level implied by a CVSS base score (the CVSS v3/v4 qualitative scale; 0.0 is info).
    pub fn from_cvss_score(score: f64) -> Severity {
        if score >= 9.0 {
            Severity::Critical
        } else if score >= 7.0 {
            Severity::High
        } else if score >= 4.0 {
            Severity::Medium
        } else if score > 0.0 {
            Severity::Low
        } else {
            Severity::Info
        }
    }

    /// A representative score for SARIF `security-severity` when no CVSS score is known.
    pub fn representative_score(self) -> f64 {
        match self {
            Severity::Critical => 9.5,
            Severity::High => 8.0,
            Severity::Medium => 5.5,
            Severity::Low => 2.0,
            Severity::Info => 0.0,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = ReportError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "critical" => Ok(Severity::Critical),
            "high" => Ok(Severity::High),
            "medium" | "moderate" => Ok(Severity::Medium),
            "low" => Ok(Severity::Low),
            "info" | "informational" | "none" => Ok(Severity::Info),
            _ => Err(ReportError::UnknownSeverity(s.to_string())),
        }
    }
}

/// Where a finding is. Every field is optional; fields that do not apply are absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// Path relative to the scan root, with `/` separators.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// 1-based first line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_line: Option<u32>,
    /// 1-based first column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_column: Option<u32>,
    /// 1-based last line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_line: Option<u32>,
    /// 1-based column just after the match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_column: Option<u32>,
    /// Commit that introduced the finding (git history scans).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Image layer digest (image scans).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// Kubernetes object: `"<apiVersion> <Kind> <namespace>/<name>"` (cluster-scoped: no namespace).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
}

impl Location {
    /// A location in a file.
    pub fn file(path: impl Into<String>) -> Location {
        Location {
            path: Some(path.into()),
            ..Location::default()
        }
    }

    /// The same location with a 1-based line.
    pub fn with_line(mut self, line: u32) -> Location {
        self.start_line = Some(line);
        self
    }

    /// The same location with a 1-based span `(start_line, start_column, end_line, end_column)`.
    pub fn with_span(
        mut self,
        start_line: u32,
        start_column: u32,
        end_line: u32,
        end_column: u32,
    ) -> Location {
        self.start_line = Some(start_line);
        self.start_column = Some(start_column);
        self.end_line = Some(end_line);
        self.end_column = Some(end_column);
        self
    }

    /// `path:line:column` for humans, with whatever parts are known.
    pub fn display_short(&self) -> String {
        let mut s = String::new();
        if let Some(p) = &self.path {
            s.push_str(p);
            if let Some(l) = self.start_line {
                s.push_str(&format!(":{l}"));
                if let Some(c) = self.start_column {
                    s.push_str(&format!(":{c}"));
                }
            }
        }
        if let Some(o) = &self.object {
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(o);
        }
        if let Some(layer) = &self.layer {
            if !s.is_empty() {
                s.push(' ');
            }
            let short = layer.strip_prefix("sha256:").unwrap_or(layer);
            s.push_str(&format!("(layer {})", &short[..short.len().min(12)]));
        }
        if let Some(c) = &self.commit {
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(&format!("@{}", &c[..c.len().min(10)]));
        }
        s
    }
}

/// The package a finding is about (dependency and image scans).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// OSV ecosystem name, e.g. `PyPI`, `crates.io`, `Debian:12`.
    pub ecosystem: String,
    /// Package name as the ecosystem spells it.
    pub name: String,
    /// Installed version.
    pub version: String,
    /// Package URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// Versions that would resolve the finding.
    #[serde(default)]
    pub fixed: Vec<String>,
}

/// The advisory a finding is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advisory {
    /// Advisory id, e.g. `GHSA-xxxx`, `PYSEC-2023-100`.
    pub id: String,
    /// Other ids of the same advisory (CVE...).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Where to read more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Why a finding does not count against the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SuppressionKind {
    /// An ignore entry: `ignore:` in `shipgate.yaml`, or a `.gitleaksignore` line.
    Ignore,
    /// A baseline file of known fingerprints.
    Baseline,
    /// An inline comment or annotation at the finding (e.g. `shipgate:allow`).
    Inline,
    /// A VEX statement (`not_affected` / `fixed`).
    Vex,
}

/// A decision that a finding is suppressed, and on what authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    /// What suppressed it.
    pub kind: SuppressionKind,
    /// The reason given by whoever suppressed it.
    pub reason: String,
    /// Where the suppression is written (file and entry, VEX statement...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Date after which an `ignore:` entry stops applying.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// One problem found by a scanner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable id of the finding; survives line moves where the scanner can make it so.
    pub fingerprint: String,
    /// Rule or advisory id.
    pub rule_id: String,
    /// Which scanner found it: `secrets`, `deps`, `image`, `config`.
    pub scanner: String,
    /// How bad it is.
    pub severity: Severity,
    /// Short title.
    pub title: String,
    /// What was found and why it matters.
    pub message: String,
    /// Where.
    pub location: Location,
    /// The package, for dependency and image findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<Package>,
    /// The advisory, for vulnerability findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advisory: Option<Advisory>,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<String>,
    /// Scanner-specific extras (commit author and date, redacted secret, CVSS score...).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub properties: serde_json::Map<String, serde_json::Value>,
    /// Set when the finding does not count against the gate.
    pub suppressed: Option<Suppression>,
}

impl Finding {
    /// A new finding; its fingerprint is derived from scanner, rule, path and line until the
    /// scanner sets a better one (see [`Finding::fingerprint_of`]).
    pub fn new(
        scanner: &str,
        rule_id: &str,
        severity: Severity,
        title: impl Into<String>,
        message: impl Into<String>,
        location: Location,
    ) -> Finding {
        let line = location
            .start_line
            .map(|l| l.to_string())
            .unwrap_or_default();
        let fingerprint = Finding::fingerprint_of(&[
            scanner,
            rule_id,
            location.path.as_deref().unwrap_or(""),
            location.object.as_deref().unwrap_or(""),
            &line,
        ]);
        Finding::with_fingerprint(
            fingerprint,
            scanner,
            rule_id,
            severity,
            title,
            message,
            location,
        )
    }

    /// A new finding with a fingerprint the scanner computed (see
    /// [`Finding::fingerprint_of`]); no default fingerprint is hashed.
    pub fn with_fingerprint(
        fingerprint: String,
        scanner: &str,
        rule_id: &str,
        severity: Severity,
        title: impl Into<String>,
        message: impl Into<String>,
        location: Location,
    ) -> Finding {
        Finding {
            fingerprint,
            rule_id: rule_id.to_string(),
            scanner: scanner.to_string(),
            severity,
            title: title.into(),
            message: message.into(),
            location,
            package: None,
            advisory: None,
            remediation: None,
            properties: serde_json::Map::new(),
            suppressed: None,
        }
    }

    /// A stable fingerprint of the given parts: the first 32 hex characters of the SHA-256 of
    /// the parts joined by NUL bytes.
    pub fn fingerprint_of(parts: &[&str]) -> String {
        let mut h = Sha256::new();
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                h.update([0u8]);
            }
            h.update(p.as_bytes());
        }
        let digest = h.finalize();
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = String::with_capacity(32);
        for b in &digest[..16] {
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        out
    }

    /// The CVSS base score a scanner attached (property `cvss_score`), if any.
    pub fn cvss_score(&self) -> Option<f64> {
        self.properties.get("cvss_score").and_then(|v| v.as_f64())
    }

    /// Whether the finding counts against the gate.
    pub fn is_active(&self) -> bool {
        self.suppressed.is_none()
    }
}

/// An error met while scanning: the scan went on, but the gate fails closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanError {
    /// The file (or image, object...) concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// 1-based line, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// What went wrong and, where possible, what to do.
    pub message: String,
}

impl ScanError {
    /// An error not tied to a file.
    pub fn new(message: impl Into<String>) -> ScanError {
        ScanError {
            path: None,
            line: None,
            column: None,
            message: message.into(),
        }
    }

    /// An error at a place in a file.
    pub fn at(
        path: impl Into<String>,
        line: Option<u32>,
        column: Option<u32>,
        message: impl Into<String>,
    ) -> ScanError {
        ScanError {
            path: Some(path.into()),
            line,
            column,
            message: message.into(),
        }
    }
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.path {
            write!(f, "{p}")?;
            if let Some(l) = self.line {
                write!(f, ":{l}")?;
                if let Some(c) = self.column {
                    write!(f, ":{c}")?;
                }
            }
            write!(f, ": ")?;
        }
        f.write_str(&self.message)
    }
}

/// What one scanner returns: everything it found, everything that went wrong, and notes a
/// reader of the report should see (e.g. "database is 9 days old; --offline accepted it").
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanOutput {
    /// Findings, suppressed or not.
    pub findings: Vec<Finding>,
    /// Errors; any error fails the gate.
    pub errors: Vec<ScanError>,
    /// Informational notes.
    pub notes: Vec<String>,
}

impl ScanOutput {
    /// Append another output to this one.
    pub fn merge(&mut self, other: ScanOutput) {
        self.findings.extend(other.findings);
        self.errors.extend(other.errors);
        self.notes.extend(other.notes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_orders_and_parses() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Low > Severity::Info);
        assert_eq!("HIGH".parse::<Severity>().unwrap(), Severity::High);
        assert_eq!("moderate".parse::<Severity>().unwrap(), Severity::Medium);
        assert!("severe".parse::<Severity>().is_err());
    }

    #[test]
    fn cvss_scale() {
        assert_eq!(Severity::from_cvss_score(9.8), Severity::Critical);
        assert_eq!(Severity::from_cvss_score(7.0), Severity::High);
        assert_eq!(Severity::from_cvss_score(6.9), Severity::Medium);
        assert_eq!(Severity::from_cvss_score(0.1), Severity::Low);
        assert_eq!(Severity::from_cvss_score(0.0), Severity::Info);
    }

    #[test]
    fn fingerprint_is_stable_and_separates_parts() {
        let a = Finding::fingerprint_of(&["ab", "c"]);
        let b = Finding::fingerprint_of(&["a", "bc"]);
        assert_ne!(a, b);
        assert_eq!(a, Finding::fingerprint_of(&["ab", "c"]));
        assert_eq!(a.len(), 32);
    }

    #[test]
    fn location_display() {
        let l = Location::file("src/a.rs").with_span(3, 5, 3, 9);
        assert_eq!(l.display_short(), "src/a.rs:3:5");
        let e = ScanError::at("x.json", Some(2), Some(7), "bad");
        assert_eq!(e.to_string(), "x.json:2:7: bad");
    }
}
