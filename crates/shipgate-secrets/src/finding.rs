//! Scanner output: findings with redacted secrets, per-source errors, conversion to the
//! shared report model.

use sha2::{Digest, Sha256};
use shipgate_report::{Finding, Location, ScanError, ScanOutput, Suppression};

use crate::engine::Origin;
use crate::rules::{Rule, Severity};

/// The commit that introduced a secret (git history scans).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    /// Full commit id.
    pub id: String,
    /// Author name.
    pub author: String,
    /// Author e-mail.
    pub email: String,
    /// Author date, ISO 8601 (`git log %aI`).
    pub date: String,
}

/// One detected secret.
#[derive(Debug, Clone, PartialEq)]
pub struct SecretFinding {
    /// Rule id.
    pub rule_id: String,
    /// Rule description (the finding title).
    pub description: String,
    /// Severity from the rule.
    pub severity: Severity,
    /// Path relative to the scan root, `/` separators (or the name given for a stream).
    pub path: String,
    /// 1-based line of the first byte of the secret.
    pub start_line: u32,
    /// 1-based byte column of the first byte of the secret.
    pub start_column: u32,
    /// 1-based line of the last byte of the secret.
    pub end_line: u32,
    /// 1-based byte column just past the secret (SARIF convention).
    pub end_column: u32,
    /// Redacted secret: the first 4 characters and `…` (never the full value).
    pub redacted: String,
    /// The full secret, only when the scanner was built with `show_secrets`.
    pub secret: Option<String>,
    /// SHA-256 (hex) of the secret: compare secrets without holding them.
    pub secret_sha256: String,
    /// Shannon entropy of the secret.
    pub entropy: f64,
    /// The introducing commit, for git history scans.
    pub commit: Option<CommitInfo>,
    /// Stable id: rule + path + secret hash (independent of the line number).
    pub fingerprint: String,
    /// 1-based line where the rule's whole match starts (gitleaks' `StartLine`, the line of
    /// its fingerprints); usually the secret's line; 0 for a path-only rule's finding about a
    /// whole file, as in gitleaks.
    pub match_line: u32,
    /// For a composite rule (gitleaks `[[rules.required]]`): the match of each required rule
    /// that satisfied it (the nearest one).
    pub required: Vec<RequiredMatch>,
    /// Set when the scan decided the finding is suppressed (a `.gitleaksignore` entry).
    pub suppressed: Option<Suppression>,
}

/// A match of a required rule next to a composite rule's finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredMatch {
    /// The required rule.
    pub rule_id: String,
    /// 1-based line where its match starts.
    pub line: u32,
    /// 1-based byte column where its match starts.
    pub column: u32,
}

/// Redact a secret for display: its first 4 characters (fewer for short secrets) and `…`.
pub fn redact(secret: &str) -> String {
    let n = secret.chars().count();
    let keep = if n >= 16 {
        4
    } else if n >= 8 {
        2
    } else {
        0
    };
    let mut s: String = secret.chars().take(keep).collect();
    s.push('…');
    s
}

/// The fingerprint scheme of the shared report model.
pub(crate) fn fingerprint_of(parts: &[&str]) -> String {
    shipgate_report::Finding::fingerprint_of(parts)
}

/// What to do about any leaked credential.
const REMEDIATION: &str = "Revoke or rotate this credential at its provider now (treat it as compromised: it is in the repository), remove it from the code and, if it was committed, from the history; load it at run time from a secret store or the environment.";

impl SecretFinding {
    pub(crate) fn new(
        rule: &Rule,
        origin: Origin<'_>,
        pos: (u32, u32, u32, u32),
        secret: &[u8],
        entropy: f64,
        show: bool,
    ) -> SecretFinding {
        let text = String::from_utf8_lossy(secret);
        let secret_sha256 = hex::encode(Sha256::digest(secret));
        let fingerprint = fingerprint_of(&["secrets", &rule.id, origin.path, &secret_sha256]);
        SecretFinding {
            rule_id: rule.id.clone(),
            description: rule.description.clone(),
            severity: rule.severity,
            path: origin.path.to_owned(),
            start_line: pos.0,
            start_column: pos.1,
            end_line: pos.2,
            end_column: pos.3,
            redacted: redact(&text),
            secret: show.then(|| text.into_owned()),
            secret_sha256,
            entropy,
            commit: origin.commit.cloned(),
            fingerprint,
            match_line: pos.0,
            required: Vec::new(),
            suppressed: None,
        }
    }

    /// The finding's gitleaks fingerprint, as gitleaks reports it and `.gitleaksignore` lists
    /// it: `commit:file:rule-id:line` for history findings, `file:rule-id:line` otherwise.
    pub fn gitleaks_fingerprint(&self) -> String {
        match &self.commit {
            Some(c) => format!(
                "{}:{}:{}:{}",
                c.id, self.path, self.rule_id, self.match_line
            ),
            None => format!("{}:{}:{}", self.path, self.rule_id, self.match_line),
        }
    }

    /// The message shown to users: what was found and where it starts, never the full secret
    /// unless the scanner was built with `show_secrets`.
    pub fn message(&self) -> String {
        let shown = self.secret.as_deref().unwrap_or(&self.redacted);
        let mut m = format!("{} found: {shown}", self.description);
        for (i, q) in self.required.iter().enumerate() {
            m.push_str(if i == 0 { " with " } else { ", " });
            m.push_str(&format!("{} at line {}", q.rule_id, q.line));
        }
        if let Some(c) = &self.commit {
            m.push_str(&format!(
                " (introduced in commit {} by {} on {})",
                short(&c.id),
                c.author,
                c.date
            ));
        }
        m
    }
}

impl SecretFinding {
    /// Convert to the shared report model (scanner `"secrets"`). The secret appears only in
    /// redacted form unless the scanner was built with `show_secrets`; properties carry the
    /// redacted value, its SHA-256, the entropy and, for history scans, the commit's author,
    /// e-mail and date.
    pub fn to_finding(&self) -> Finding {
        let mut location = Location::file(&self.path).with_span(
            self.start_line,
            self.start_column,
            self.end_line,
            self.end_column,
        );
        location.commit = self.commit.as_ref().map(|c| c.id.clone());
        let mut f = Finding::new(
            "secrets",
            &self.rule_id,
            self.severity,
            self.description.clone(),
            self.message(),
            location,
        );
        f.fingerprint = self.fingerprint.clone();
        f.remediation = Some(REMEDIATION.to_owned());
        f.suppressed = self.suppressed.clone();
        let p = &mut f.properties;
        p.insert(
            "gitleaks_fingerprint".into(),
            self.gitleaks_fingerprint().into(),
        );
        if !self.required.is_empty() {
            let list = self
                .required
                .iter()
                .map(|q| serde_json::json!({"rule": q.rule_id, "line": q.line, "column": q.column}))
                .collect();
            p.insert("required".into(), serde_json::Value::Array(list));
        }
        p.insert("secret_redacted".into(), self.redacted.clone().into());
        p.insert("secret_sha256".into(), self.secret_sha256.clone().into());
        if let Some(s) = &self.secret {
            p.insert("secret".into(), s.clone().into());
        }
        if let Some(e) = serde_json::Number::from_f64((self.entropy * 100.0).round() / 100.0) {
            p.insert("entropy".into(), serde_json::Value::Number(e));
        }
        if let Some(c) = &self.commit {
            p.insert("author".into(), c.author.clone().into());
            p.insert("email".into(), c.email.clone().into());
            p.insert("date".into(), c.date.clone().into());
        }
        f
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// A problem with one source (file, blob, stream): the scan carried on without it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    /// The file (relative path) or blob name, when known.
    pub path: Option<String>,
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// What went wrong and what to do.
    pub message: String,
}

impl SourceError {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        SourceError {
            path: Some(path.into()),
            line: None,
            message: message.into(),
        }
    }
}

/// What a scan returns: findings, per-source errors (the CLI exits 2 when non-empty), notes
/// and counters.
#[derive(Debug, Default)]
pub struct SecretsOutput {
    /// Findings, sorted by path, line, rule.
    pub findings: Vec<SecretFinding>,
    /// Sources that could not be scanned.
    pub errors: Vec<SourceError>,
    /// Human notes (skipped binaries, counts).
    pub notes: Vec<String>,
    /// Files or blobs scanned.
    pub scanned: u64,
    /// Bytes scanned.
    pub bytes: u64,
    /// Files or blobs skipped as binary.
    pub skipped_binary: u64,
}

impl SecretsOutput {
    /// Convert to the shared report model; counters become a note.
    pub fn into_scan_output(self) -> ScanOutput {
        let mut notes = self.notes;
        notes.push(format!(
            "secrets: scanned {} file(s), {} byte(s); skipped {} binary file(s)",
            self.scanned, self.bytes, self.skipped_binary
        ));
        ScanOutput {
            findings: self
                .findings
                .iter()
                .map(SecretFinding::to_finding)
                .collect(),
            errors: self
                .errors
                .into_iter()
                .map(|e| ScanError {
                    path: e.path,
                    line: e.line,
                    column: None,
                    message: e.message,
                })
                .collect(),
            notes,
        }
    }

    pub(crate) fn sort(&mut self) {
        self.findings.sort_by(|a, b| {
            (&a.path, a.start_line, a.start_column, &a.rule_id).cmp(&(
                &b.path,
                b.start_line,
                b.start_column,
                &b.rule_id,
            ))
        });
        self.findings.dedup_by(|a, b| {
            a.path == b.path
                && a.rule_id == b.rule_id
                && a.start_line == b.start_line
                && a.start_column == b.start_column
                && a.commit == b.commit
        });
        self.errors
            .sort_by(|a, b| (&a.path, a.line, &a.message).cmp(&(&b.path, b.line, &b.message)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_never_shows_the_whole_secret() {
        assert_eq!(redact("ghp_abcdefghijklmnopqrstuvwxyz"), "ghp_…");
        assert_eq!(redact("short123"), "sh…");
        assert_eq!(redact("abc"), "…");
    }

    #[test]
    fn fingerprint_is_32_hex() {
        let f = fingerprint_of(&["a", "b"]);
        assert_eq!(f.len(), 32);
        assert_ne!(f, fingerprint_of(&["ab"]));
    }
}
