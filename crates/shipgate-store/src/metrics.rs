//! Delivery and security metrics computed from the store (what `shipgate report` prints).
//!
//! Definitions (also in docs/store.md):
//! * **build success rate**: pipeline runs with status `passed` / all runs;
//! * **vulnerability counts over time**: per UTC day, the summary counts of the *latest* report
//!   of each (scanner, target) that day, summed over targets;
//! * reports are ordered by time, then by recording order (row id): of two scans within the
//!   same second, the one recorded second is the later one;
//! * **MTTR** per severity: for each unsuppressed finding (scanner, target, fingerprint), from
//!   the first report that has it to the first later report of the same scanner and target that
//!   does not; findings never absent since are counted as open;
//! * **drift events**: events of kind `drift`; **policy denials**: events of kind `admission`
//!   whose body has `"allowed": false`, plus failed gate decisions of pipeline runs;
//!   **runtime alerts**: events of kind `runtime-alert`.
//!
//! Only records at or after `since` count.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::Store;
use crate::db::{Db, params};
use crate::error::StoreError;

/// Everything `shipgate report` shows.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Metrics {
    /// Lower bound applied (RFC 3339), if any.
    pub since: Option<String>,
    /// Pipeline runs counted.
    pub runs_total: u64,
    /// Of which passed.
    pub runs_passed: u64,
    /// `runs_passed / runs_total` (None without runs).
    pub build_success_rate: Option<f64>,
    /// Vulnerability (finding) counts per day.
    pub findings_by_day: Vec<DayCounts>,
    /// Mean time to remediation per severity.
    pub mttr: Vec<Mttr>,
    /// `drift` events.
    pub drift_events: u64,
    /// Denied admission requests.
    pub admission_denials: u64,
    /// Failed gate decisions in pipeline runs.
    pub gate_failures: u64,
    /// Runtime alerts (`runtime-alert` events from `shipgate runtime watch --store`).
    pub runtime_alerts: u64,
}

/// Counts of one day.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DayCounts {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Critical.
    pub critical: u64,
    /// High.
    pub high: u64,
    /// Medium.
    pub medium: u64,
    /// Low.
    pub low: u64,
    /// Info.
    pub info: u64,
}

/// Remediation time of one severity.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Mttr {
    /// Severity.
    pub severity: String,
    /// Findings fixed.
    pub fixed: u64,
    /// Findings still open.
    pub open: u64,
    /// Mean seconds from first seen to fixed (None when none was fixed).
    pub mean_seconds: Option<f64>,
}

/// Severities in report order; others sort after them by name.
const SEVERITY_ORDER: [&str; 5] = ["critical", "high", "medium", "low", "info"];

/// Per (scanner, target, fingerprint) of an unsuppressed finding: its severity, when it was
/// first seen and when it was first absent from a later report of the same target (NULL:
/// still open). Reports are ordered by (time, row id): of two reports with the same time, the
/// one recorded later is the later one. The mean is taken in Rust: RFC 3339 text has no
/// portable SQL arithmetic.
const MTTR_SQL: &str = "WITH occ AS (
       SELECT r.scanner, r.target, f.fingerprint, MIN(f.severity) AS severity, MIN(r.time) AS first_seen
       FROM findings f JOIN scan_reports r ON r.id = f.report_id
       WHERE f.suppressed = 0 AND r.time >= ?1
       GROUP BY r.scanner, r.target, f.fingerprint),
     firsts AS (
       SELECT o.scanner, o.target, o.fingerprint, o.severity, o.first_seen,
         (SELECT MIN(r1.id) FROM scan_reports r1 JOIN findings f1 ON f1.report_id = r1.id
          WHERE r1.scanner = o.scanner AND r1.target = o.target AND r1.time = o.first_seen
            AND f1.fingerprint = o.fingerprint AND f1.suppressed = 0) AS first_id
       FROM occ o)
     SELECT o.severity, o.first_seen,
       (SELECT MIN(r2.time) FROM scan_reports r2
        WHERE r2.scanner = o.scanner AND r2.target = o.target
          AND (r2.time > o.first_seen OR (r2.time = o.first_seen AND r2.id > o.first_id))
          AND NOT EXISTS (SELECT 1 FROM findings f2
                          WHERE f2.report_id = r2.id AND f2.fingerprint = o.fingerprint)) AS fixed_at
     FROM firsts o";

/// Per UTC day from `from_day` on (`YYYY-MM-DD` or any RFC 3339 prefix; `""`: everything), the
/// summary counts of the latest report of each (scanner, target) that day — latest by time,
/// then by row id — summed over targets.
pub(crate) fn daily_counts(db: &mut Db, from_day: &str) -> Result<Vec<DayCounts>, StoreError> {
    db.query(
        "reading the daily counts",
        "WITH daily AS (
           SELECT substr(time, 1, 10) AS day, scanner, target, MAX(time) AS t
           FROM scan_reports WHERE time >= ?1 GROUP BY substr(time, 1, 10), scanner, target),
         picked AS (
           SELECT d.day, MAX(r.id) AS id FROM daily d JOIN scan_reports r
             ON r.scanner = d.scanner AND r.target = d.target AND r.time = d.t
           GROUP BY d.day, d.scanner, d.target)
         SELECT p.day, CAST(SUM(r.critical) AS BIGINT), CAST(SUM(r.high) AS BIGINT),
                CAST(SUM(r.medium) AS BIGINT), CAST(SUM(r.low) AS BIGINT),
                CAST(SUM(r.info) AS BIGINT)
         FROM picked p JOIN scan_reports r ON r.id = p.id
         GROUP BY p.day ORDER BY p.day",
        params![from_day],
    )?
    .iter()
    .map(|r| {
        Ok(DayCounts {
            day: r.string(0)?,
            critical: r.u64(1)?,
            high: r.u64(2)?,
            medium: r.u64(3)?,
            low: r.u64(4)?,
            info: r.u64(5)?,
        })
    })
    .collect()
}

impl Store {
    /// Computes [`Metrics`] over records at or after `since` (RFC 3339; None: everything).
    pub fn metrics(&mut self, since: Option<jiff::Timestamp>) -> Result<Metrics, StoreError> {
        let db = &mut self.db;
        let since_s = since.map(crate::fmt_time);
        let lower = since_s.clone().unwrap_or_default();
        let r = db.query_one(
            "counting pipeline runs",
            "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN status = 'passed' THEN 1 ELSE 0 END), 0) AS BIGINT)
             FROM pipeline_runs WHERE started_at >= ?1",
            params![&lower],
        )?;
        let (runs_total, runs_passed) = (r.u64(0)?, r.u64(1)?);
        let findings_by_day = daily_counts(db, &lower)?;
        // severity -> (fixed, open, sum of seconds)
        let mut by: BTreeMap<(usize, String), (u64, u64, f64)> = BTreeMap::new();
        db.for_each("computing MTTR", MTTR_SQL, params![&lower], |r| {
            let severity = r.string(0)?;
            let order = SEVERITY_ORDER
                .iter()
                .position(|s| *s == severity)
                .unwrap_or(SEVERITY_ORDER.len());
            let e = by.entry((order, severity)).or_insert((0, 0, 0.0));
            match r.opt_string(2)? {
                Some(fixed) => {
                    let first = crate::parse_time(r.str(1)?)?;
                    let fixed = crate::parse_time(&fixed)?;
                    e.0 += 1;
                    e.2 += fixed.duration_since(first).as_secs_f64();
                }
                None => e.1 += 1,
            }
            Ok(())
        })?;
        let mttr = by
            .into_iter()
            .map(|((_, severity), (fixed, open, sum))| Mttr {
                severity,
                fixed,
                open,
                mean_seconds: (fixed > 0).then(|| sum / fixed as f64),
            })
            .collect();
        let mut count = |sql: &str| -> Result<u64, StoreError> {
            db.query_one("counting events", sql, params![&lower])?
                .u64(0)
        };
        let drift_events =
            count("SELECT COUNT(*) FROM events WHERE kind = 'drift' AND time >= ?1")?;
        let gate_failures = count(
            "SELECT COUNT(*) FROM gate_decisions g JOIN pipeline_steps s ON s.id = g.step_id
               JOIN pipeline_runs p ON p.id = s.run_id WHERE g.passed = 0 AND p.started_at >= ?1",
        )?;
        let runtime_alerts =
            count("SELECT COUNT(*) FROM events WHERE kind = 'runtime-alert' AND time >= ?1")?;
        // `"allowed": false` inside the event's body object: JSON paths are not portable SQL,
        // so the (canonical JSON) bodies are read here.
        let mut admission_denials = 0;
        db.for_each(
            "counting admission denials",
            "SELECT body FROM events WHERE kind = 'admission' AND time >= ?1",
            params![&lower],
            |r| {
                let v: serde_json::Value =
                    serde_json::from_str(r.str(0)?).unwrap_or(serde_json::Value::Null);
                if v.pointer("/body/allowed") == Some(&serde_json::Value::Bool(false)) {
                    admission_denials += 1;
                }
                Ok(())
            },
        )?;
        Ok(Metrics {
            since: since_s,
            runs_total,
            runs_passed,
            build_success_rate: (runs_total > 0).then(|| runs_passed as f64 / runs_total as f64),
            findings_by_day,
            mttr,
            drift_events,
            admission_denials,
            gate_failures,
            runtime_alerts,
        })
    }
}

/// A duration for people (MTTR in `shipgate report` and the dashboard): `90s`, `12m`, `3.5h`,
/// `2.1d`.
pub fn human_duration(secs: f64) -> String {
    let s = secs.max(0.0);
    if s >= 86_400.0 {
        format!("{:.1}d", s / 86_400.0)
    } else if s >= 3_600.0 {
        format!("{:.1}h", s / 3_600.0)
    } else if s >= 60.0 {
        format!("{:.0}m", s / 60.0)
    } else {
        format!("{s:.0}s")
    }
}
