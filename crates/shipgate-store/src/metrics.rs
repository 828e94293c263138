//! Delivery and security metrics computed from the store (what `shipgate report` prints).
//!
//! Definitions (also in docs/store.md):
//! * **build success rate**: pipeline runs with status `passed` / all runs;
//! * **vulnerability counts over time**: per UTC day, the summary counts of the *latest* report
//!   of each (scanner, target) that day, summed over targets;
//! * **MTTR** per severity: for each unsuppressed finding (scanner, target, fingerprint), from
//!   the first report that has it to the first later report of the same scanner and target that
//!   does not; findings never absent since are counted as open;
//! * **drift events**: events of kind `drift`; **policy denials**: events of kind `admission`
//!   whose body has `"allowed": false`, plus failed gate decisions of pipeline runs;
//!   **runtime alerts**: events of kind `runtime-alert`.
//!
//! Only records at or after `since` count.

use rusqlite::params;
use serde::Serialize;

use crate::Store;
use crate::error::SqlContext as _;
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

const SEVERITY_ORDER: &str = "CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END";

impl Store {
    /// Computes [`Metrics`] over records at or after `since` (RFC 3339; None: everything).
    pub fn metrics(&self, since: Option<jiff::Timestamp>) -> Result<Metrics, StoreError> {
        let conn = self.connection();
        let since_s = since.map(crate::fmt_time);
        let lower = since_s.clone().unwrap_or_default();
        let (runs_total, runs_passed): (u64, u64) = conn
            .query_row(
                "SELECT COUNT(*), COALESCE(SUM(status = 'passed'), 0) FROM pipeline_runs WHERE started_at >= ?1",
                params![lower],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .ctx("counting pipeline runs")?;
        let mut stmt = conn
            .prepare(
                "WITH latest AS (
                   SELECT substr(time, 1, 10) AS day, scanner, target, MAX(time) AS t
                   FROM scan_reports WHERE time >= ?1 GROUP BY day, scanner, target)
                 SELECT l.day, SUM(r.critical), SUM(r.high), SUM(r.medium), SUM(r.low), SUM(r.info)
                 FROM latest l JOIN scan_reports r
                   ON r.scanner = l.scanner AND r.target = l.target AND r.time = l.t
                 GROUP BY l.day ORDER BY l.day",
            )
            .ctx("preparing the daily counts")?;
        let findings_by_day = stmt
            .query_map(params![lower], |r| {
                Ok(DayCounts {
                    day: r.get(0)?,
                    critical: r.get(1)?,
                    high: r.get(2)?,
                    medium: r.get(3)?,
                    low: r.get(4)?,
                    info: r.get(5)?,
                })
            })
            .ctx("reading the daily counts")?
            .collect::<Result<Vec<_>, _>>()
            .ctx("reading the daily counts")?;
        let mut stmt = conn
            .prepare(&format!(
                "WITH occ AS (
                   SELECT r.scanner, r.target, f.fingerprint, MIN(f.severity) AS severity, MIN(r.time) AS first_seen
                   FROM findings f JOIN scan_reports r ON r.id = f.report_id
                   WHERE f.suppressed = 0 AND r.time >= ?1
                   GROUP BY r.scanner, r.target, f.fingerprint),
                 fix AS (
                   SELECT o.severity, o.first_seen,
                     (SELECT MIN(r2.time) FROM scan_reports r2
                      WHERE r2.scanner = o.scanner AND r2.target = o.target AND r2.time > o.first_seen
                        AND NOT EXISTS (SELECT 1 FROM findings f2
                                        WHERE f2.report_id = r2.id AND f2.fingerprint = o.fingerprint)) AS fixed_at
                   FROM occ o)
                 SELECT severity, COUNT(fixed_at), COUNT(*) - COUNT(fixed_at),
                        AVG(CASE WHEN fixed_at IS NOT NULL
                                 THEN unixepoch(fixed_at) - unixepoch(first_seen) END)
                 FROM fix GROUP BY severity ORDER BY {SEVERITY_ORDER}"
            ))
            .ctx("preparing MTTR")?;
        let mttr = stmt
            .query_map(params![lower], |r| {
                Ok(Mttr {
                    severity: r.get(0)?,
                    fixed: r.get(1)?,
                    open: r.get(2)?,
                    mean_seconds: r.get(3)?,
                })
            })
            .ctx("computing MTTR")?
            .collect::<Result<Vec<_>, _>>()
            .ctx("computing MTTR")?;
        let count = |sql: &str| -> Result<u64, StoreError> {
            conn.query_row(sql, params![lower], |r| r.get(0))
                .ctx("counting events")
        };
        let drift_events =
            count("SELECT COUNT(*) FROM events WHERE kind = 'drift' AND time >= ?1")?;
        let admission_denials = count(
            "SELECT COUNT(*) FROM events WHERE kind = 'admission' AND time >= ?1
               AND json_extract(body, '$.body.allowed') = 0",
        )?;
        let gate_failures = count(
            "SELECT COUNT(*) FROM gate_decisions g JOIN pipeline_steps s ON s.id = g.step_id
               JOIN pipeline_runs p ON p.id = s.run_id WHERE g.passed = 0 AND p.started_at >= ?1",
        )?;
        let runtime_alerts =
            count("SELECT COUNT(*) FROM events WHERE kind = 'runtime-alert' AND time >= ?1")?;
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
