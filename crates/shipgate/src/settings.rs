//! Settings in three layers: built-in defaults < `shipgate.yaml` < environment < flags.
//!
//! Clap handles the last two (every flag that has an environment variable declares it, see
//! [`crate::env`]); this module reads the file and resolves one [`Settings`] value per run.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use shipgate_report::{FailOn, IgnoreEntry, ScanError};

/// The name looked for at the repository root.
pub const CONFIG_FILE_NAME: &str = "shipgate.yaml";

/// `shipgate.yaml` as written by users. Unknown keys are errors (a typo must not silently
/// disable a setting).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    /// Gate threshold.
    #[serde(default)]
    pub fail_on: Option<FailOn>,
    /// Accepted findings.
    #[serde(default)]
    pub ignore: Vec<IgnoreEntry>,
    /// Baseline file, relative to the config file.
    #[serde(default)]
    pub baseline: Option<PathBuf>,
    /// Secret scanner settings (`secrets:`).
    #[serde(default)]
    pub secrets: shipgate_secrets::SecretsSettings,
    /// Vulnerability database settings.
    #[serde(default)]
    pub db: DbSettings,
    /// Dependency scanning settings.
    #[serde(default)]
    pub deps: DepsSettings,
    /// Static analysis settings (`sast:`).
    #[serde(default)]
    pub sast: shipgate_sast::SastSettings,
    /// Kubernetes manifest policy settings (`scan config`, admission).
    #[serde(default)]
    pub config: shipgate_policy::PolicySettings,
    /// Runtime detection rules (`runtime:`: allow-lists, disabled rules).
    #[serde(default)]
    pub runtime: shipgate_runtime::RuntimeSettings,
    /// The pipeline (`pipeline:`): read and validated by `shipgate pipeline`, with positions.
    #[serde(default)]
    pub pipeline: Option<serde::de::IgnoredAny>,
}

/// `db:` in `shipgate.yaml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbSettings {
    /// Database file (default: in the cache dir).
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Maximum age, e.g. `7d`, `36h`.
    #[serde(default)]
    pub max_age: Option<String>,
    /// Accept any age.
    #[serde(default)]
    pub offline: bool,
}

/// `deps:` in `shipgate.yaml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepsSettings {
    /// OpenVEX documents, relative to the config file.
    #[serde(default)]
    pub vex: Vec<PathBuf>,
    /// Leave out advisories with no fixed version.
    #[serde(default)]
    pub ignore_unfixed: bool,
}

/// Parse a duration like `7d`, `36h`, `90m`, `45s` or plain seconds.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let (num, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&t[..i], t[i..].trim()),
        None => (t, "s"),
    };
    let n: u64 = num.parse().map_err(|_| {
        format!("`{s}` is not a duration: expected a number and a unit, e.g. 7d, 36h, 90m")
    })?;
    let mult = match unit {
        "d" | "day" | "days" => 86_400,
        "h" | "hour" | "hours" => 3_600,
        "m" | "min" | "minutes" => 60,
        "s" | "sec" | "seconds" => 1,
        "w" | "week" | "weeks" => 7 * 86_400,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (use d, h, m or s)")),
    };
    Ok(std::time::Duration::from_secs(n.saturating_mul(mult)))
}

/// Where the configuration came from and what it says.
#[derive(Debug, Default)]
pub struct LoadedConfig {
    /// The file read, if any.
    pub path: Option<PathBuf>,
    /// Its contents (defaults when absent or broken).
    pub file: FileSettings,
    /// Problems with the file: they go into the report and fail the gate closed.
    pub errors: Vec<ScanError>,
}

impl LoadedConfig {
    /// Resolve a path written in the configuration file: relative to the file's directory.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        match self.path.as_ref().and_then(|c| c.parent()) {
            Some(dir) => dir.join(p),
            None => p.to_path_buf(),
        }
    }

    /// The Gatekeeper policy paths of `config.policies`, resolved, followed by `extra`.
    pub fn policy_paths(&self, extra: &[PathBuf]) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = self
            .file
            .config
            .policies
            .iter()
            .map(|p| self.resolve(Path::new(p)))
            .collect();
        paths.extend(extra.iter().cloned());
        paths
    }
}

/// Find the configuration: an explicit path, else `shipgate.yaml` in the scan root or the
/// nearest parent up to the repository root (the first directory holding `.git`).
pub fn discover(explicit: Option<&Path>, scan_root: &Path) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    let start = if scan_root.is_dir() {
        scan_root.to_path_buf()
    } else {
        scan_root
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    };
    let start = std::fs::canonicalize(&start).unwrap_or(start);
    for dir in start.ancestors() {
        let candidate = dir.join(CONFIG_FILE_NAME);
        if candidate.is_file() {
            return Some(candidate);
        }
        if dir.join(".git").exists() {
            break;
        }
    }
    None
}

/// Read and parse a configuration file. Never fails: problems are returned as errors with
/// the file, line and column, and defaults are used.
pub fn load(path: Option<PathBuf>) -> LoadedConfig {
    let Some(path) = path else {
        return LoadedConfig::default();
    };
    let display = path.display().to_string();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            return LoadedConfig {
                path: Some(path),
                file: FileSettings::default(),
                errors: vec![ScanError::at(
                    display,
                    None,
                    None,
                    format!("cannot read configuration: {e}"),
                )],
            };
        }
    };
    match parse(&text) {
        Ok(file) => LoadedConfig {
            path: Some(path),
            file,
            errors: vec![],
        },
        Err((line, column, message)) => LoadedConfig {
            path: Some(path),
            file: FileSettings::default(),
            errors: vec![ScanError::at(
                display,
                line,
                column,
                format!("invalid configuration, using defaults: {message}"),
            )],
        },
    }
}

/// Parse configuration text; an empty document means all defaults.
pub fn parse(text: &str) -> Result<FileSettings, (Option<u32>, Option<u32>, String)> {
    if text.trim().is_empty() {
        return Ok(FileSettings::default());
    }
    serde_saphyr::from_str::<FileSettings>(text).map_err(|e| {
        let loc = e.location();
        let line = loc.as_ref().map(|l| l.line() as u32).filter(|l| *l > 0);
        let column = loc.as_ref().map(|l| l.column() as u32).filter(|c| *c > 0);
        // The first line of the message is the useful part; the rest is a snippet.
        let first = e.to_string().lines().next().unwrap_or_default().to_string();
        (line, column, strip_location_prefix(&first).to_string())
    })
}

/// serde-saphyr starts messages with `error: line N column M: `; we report the position
/// ourselves, so keep only what follows.
fn strip_location_prefix(msg: &str) -> &str {
    let m = msg.strip_prefix("error: ").unwrap_or(msg);
    if let Some(rest) = m.strip_prefix("line ")
        && let Some(idx) = rest.find(": ")
        && rest[..idx]
            .split(' ')
            .all(|w| w == "column" || w.chars().all(|c| c.is_ascii_digit()))
    {
        return &rest[idx + 2..];
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("7d").unwrap().as_secs(), 7 * 86_400);
        assert_eq!(parse_duration("36h").unwrap().as_secs(), 36 * 3_600);
        assert_eq!(parse_duration("120").unwrap().as_secs(), 120);
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("3y").is_err());
    }

    #[test]
    fn parses_full_file() {
        let f = parse(
            "fail_on: critical\nignore:\n  - id: CVE-2023-1\n    reason: not reachable\n    expires: 2030-01-01\n",
        )
        .unwrap();
        assert_eq!(f.fail_on, Some("critical".parse().unwrap()));
        assert_eq!(f.ignore.len(), 1);
        assert_eq!(f.ignore[0].expires.as_deref(), Some("2030-01-01"));
    }

    #[test]
    fn unknown_key_is_an_error_with_line() {
        let (line, _col, msg) = parse("fail_on: high\nfail-on: low\n").unwrap_err();
        assert_eq!(line, Some(2), "{msg}");
        assert!(msg.contains("fail-on"), "{msg}");
    }

    #[test]
    fn bad_severity_is_an_error() {
        let (line, _, msg) = parse("fail_on: severe\n").unwrap_err();
        assert_eq!(line, Some(1));
        assert!(msg.contains("unknown severity"), "{msg}");
    }

    #[test]
    fn missing_reason_is_an_error() {
        let (line, _, msg) = parse("ignore:\n  - id: X\n").unwrap_err();
        assert!(line.is_some(), "{msg}");
        assert!(msg.contains("reason"), "{msg}");
    }
}
