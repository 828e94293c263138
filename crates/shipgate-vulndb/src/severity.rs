//! Severity of an advisory: CVSS vectors turned into scores and levels, with
//! fallbacks.
//!
//! Order of preference:
//! 1. the highest-version CVSS vector in the record's `severity` (v4, then
//!    v3.1/v3.0, then v2), else the same in the matched package's
//!    `affected[].severity`; the score maps to a level by the CVSS
//!    qualitative scale (v3/v4: 0.1-3.9 low, 4.0-6.9 medium, 7.0-8.9 high,
//!    9.0-10 critical, 0.0 info; v2 has no critical: 7.0-10 is high);
//! 2. a word in a non-CVSS severity entry (e.g. `type: Ubuntu`, `score: high`);
//! 3. `database_specific.severity` of the record, then of the affected entry
//!    (`CRITICAL`, `HIGH`, `MODERATE`/`MEDIUM`, `LOW`), then
//!    `ecosystem_specific.severity` of the affected entry;
//! 4. otherwise [`DEFAULT_LEVEL`] (medium): an advisory with no severity is
//!    still a known vulnerability, and medium keeps it visible under the usual
//!    `--fail-on high` gate without claiming more than we know.

use crate::osv::{Affected, OsvRecord, OsvSeverity};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// The report levels: `shipgate_report::Severity` (info, low, medium, high, critical).
pub use shipgate_report::Severity as Level;

/// The level used when an advisory carries no usable severity.
pub const DEFAULT_LEVEL: Level = Level::Medium;

/// Where the level came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LevelSource {
    /// A CVSS vector's base score.
    Cvss,
    /// A severity word from the database.
    Database,
    /// Nothing usable: [`DEFAULT_LEVEL`].
    Default,
}

/// The severity of one advisory (for one affected package).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeverityInfo {
    /// The report level.
    pub level: Level,
    /// Where `level` came from.
    pub source: LevelSource,
    /// CVSS base score, when a vector was present and valid.
    pub score: Option<f64>,
    /// The CVSS vector the score came from.
    pub vector: Option<String>,
}

/// Level of a CVSS v3/v4 base score.
pub fn level_of_score(score: f64) -> Level {
    if score >= 9.0 {
        Level::Critical
    } else if score >= 7.0 {
        Level::High
    } else if score >= 4.0 {
        Level::Medium
    } else if score > 0.0 {
        Level::Low
    } else {
        Level::Info
    }
}

/// Level of a CVSS v2 base score (v2 has no "critical").
pub fn level_of_v2_score(score: f64) -> Level {
    if score >= 7.0 {
        Level::High
    } else {
        level_of_score(score)
    }
}

/// Maps a severity word (`HIGH`, `moderate`, `negligible`, `important`, ...).
pub fn level_of_word(word: &str) -> Option<Level> {
    Some(match word.trim().to_ascii_lowercase().as_str() {
        "critical" => Level::Critical,
        "high" | "important" | "severe" => Level::High,
        "moderate" | "medium" => Level::Medium,
        "low" | "minor" => Level::Low,
        "negligible" | "none" | "info" | "informational" | "unimportant" => Level::Info,
        _ => return None,
    })
}

/// Scores one CVSS vector: `(rank, score, level)`; rank prefers v4 > v3 > v2.
pub fn score_vector(kind: &str, vector: &str) -> Option<(u8, f64, Level)> {
    let vector = vector.trim();
    match kind {
        "CVSS_V2" => {
            let v = cvss::v2::Vector::from_str(vector).ok()?;
            let s = v.score().value();
            Some((1, s, level_of_v2_score(s)))
        }
        "CVSS_V3" | "CVSS_V4" => {
            let v = cvss::Cvss::from_str(vector).ok()?;
            let s = v.score();
            let rank = if matches!(v, cvss::Cvss::CvssV40(_)) {
                3
            } else {
                2
            };
            Some((rank, s, level_of_score(s)))
        }
        _ => None,
    }
}

fn best_cvss(entries: &[OsvSeverity]) -> Option<SeverityInfo> {
    let mut best: Option<(u8, f64, Level, &str)> = None;
    for e in entries {
        if let Some((rank, score, level)) = score_vector(&e.kind, &e.score)
            && best.is_none_or(|b| rank > b.0)
        {
            best = Some((rank, score, level, e.score.as_str()));
        }
    }
    best.map(|(_, score, level, vector)| SeverityInfo {
        level,
        source: LevelSource::Cvss,
        score: Some(score),
        vector: Some(vector.trim().to_owned()),
    })
}

fn word_in(entries: &[OsvSeverity]) -> Option<Level> {
    entries
        .iter()
        .filter(|e| !e.kind.starts_with("CVSS"))
        .find_map(|e| level_of_word(&e.score))
}

fn word_at(value: Option<&serde_json::Value>) -> Option<Level> {
    let v = value?.get("severity")?;
    match v {
        serde_json::Value::String(s) => level_of_word(s),
        _ => None,
    }
}

/// The severity of `record` as it applies to `affected` (if known).
pub fn severity_of(record: &OsvRecord, affected: Option<&Affected>) -> SeverityInfo {
    let cvss =
        best_cvss(&record.severity).or_else(|| affected.and_then(|a| best_cvss(&a.severity)));
    if let Some(s) = cvss {
        return s;
    }
    let word = word_in(&record.severity)
        .or_else(|| affected.and_then(|a| word_in(&a.severity)))
        .or_else(|| word_at(record.database_specific.as_ref()))
        .or_else(|| affected.and_then(|a| word_at(a.database_specific.as_ref())))
        .or_else(|| affected.and_then(|a| word_at(a.ecosystem_specific.as_ref())));
    match word {
        Some(level) => SeverityInfo {
            level,
            source: LevelSource::Database,
            score: None,
            vector: None,
        },
        None => SeverityInfo {
            level: DEFAULT_LEVEL,
            source: LevelSource::Default,
            score: None,
            vector: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sev(kind: &str, score: &str) -> OsvSeverity {
        OsvSeverity {
            kind: kind.into(),
            score: score.into(),
        }
    }

    #[test]
    fn cvss_scores_and_levels() {
        let r = OsvRecord {
            severity: vec![
                sev("CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:P/A:P"),
                sev("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            ],
            ..Default::default()
        };
        let s = severity_of(&r, None);
        assert_eq!(s.level, Level::Critical);
        assert_eq!(s.score, Some(9.8));
        let v2 = OsvRecord {
            severity: vec![sev("CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:P/A:P")],
            ..Default::default()
        };
        let s = severity_of(&v2, None);
        assert_eq!((s.level, s.score), (Level::High, Some(7.5)));
        let v4 = OsvRecord {
            severity: vec![sev(
                "CVSS_V4",
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            )],
            ..Default::default()
        };
        assert_eq!(severity_of(&v4, None).score, Some(9.3));
    }

    #[test]
    fn fallbacks() {
        let r = OsvRecord {
            database_specific: Some(serde_json::json!({"severity": "MODERATE"})),
            ..Default::default()
        };
        let s = severity_of(&r, None);
        assert_eq!((s.level, s.source), (Level::Medium, LevelSource::Database));
        let bad = OsvRecord {
            severity: vec![sev("CVSS_V3", "garbage")],
            ..Default::default()
        };
        assert_eq!(severity_of(&bad, None).source, LevelSource::Default);
        let ubuntu = OsvRecord {
            severity: vec![sev("Ubuntu", "high")],
            ..Default::default()
        };
        assert_eq!(severity_of(&ubuntu, None).level, Level::High);
    }
}
