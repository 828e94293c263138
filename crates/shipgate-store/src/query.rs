//! Read queries for the dashboard (`shipgate serve`): keyset-paginated lists of runs, open
//! findings, events and ledger entries, one run with its steps and gate decisions, daily
//! finding counts and the counts of the latest scans.
//!
//! Every list is newest first and paginated by key (row id or ledger seq), never by offset, so
//! a deep page costs what the first page costs: see [`PageRequest`] and [`Page`].
//!
//! The SQL is kept portable (it must also run on PostgreSQL): no date functions (times are
//! fixed-format RFC 3339 text, so text comparison is time order and `substr(time, 1, 10)` is
//! the UTC day), no JSON functions (bodies are parsed here, in Rust), booleans tested with
//! `NOT column`, and `?N` placeholders only.

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;
use serde_json::Value;

use crate::Store;
use crate::error::SqlContext as _;
use crate::error::StoreError;
use crate::metrics::DayCounts;

/// Largest page a caller may ask for.
pub const MAX_PAGE_SIZE: u32 = 500;

/// Which page of a newest-first list: at most one of `before` (older than this key) and
/// `after` (newer than this key); neither is the newest page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PageRequest {
    /// Items with a key lower than this (the next, older page).
    pub before: Option<i64>,
    /// Items with a key higher than this (the previous, newer page).
    pub after: Option<i64>,
    /// Page size, clamped to `1..=MAX_PAGE_SIZE`.
    pub limit: u32,
}

impl PageRequest {
    /// The newest `limit` items.
    pub fn first(limit: u32) -> Self {
        Self {
            before: None,
            after: None,
            limit,
        }
    }

    fn size(&self) -> usize {
        self.limit.clamp(1, MAX_PAGE_SIZE) as usize
    }
}

/// One page of a newest-first list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    /// The items, newest first.
    pub items: Vec<T>,
    /// Pass as `before` for the next (older) page; `None` on the last page.
    pub older: Option<i64>,
    /// Pass as `after` for the previous (newer) page; `None` on the first page.
    pub newer: Option<i64>,
}

/// A pipeline run as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunRow {
    /// Row id (the page key and the dashboard's `/runs/{id}`).
    pub id: i64,
    /// The run id of the record.
    pub run_id: String,
    /// Pipeline file.
    pub pipeline: String,
    /// Commit the run built, if known.
    pub source_commit: Option<String>,
    /// RFC 3339.
    pub started_at: String,
    /// Wall time.
    pub duration_ms: i64,
    /// Step isolation.
    pub isolation: String,
    /// `passed`, `failed` or `error`.
    pub status: String,
    /// Number of steps.
    pub steps: i64,
    /// Gate decisions of this run that did not pass.
    pub gate_failures: i64,
}

/// A gate decision of a step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateRow {
    /// Scanner.
    pub scanner: String,
    /// Threshold.
    pub fail_on: String,
    /// Whether the gate passed.
    pub passed: bool,
    /// Summary counts (JSON object).
    pub summary: Value,
    /// Where the report was written.
    pub report: String,
}

/// A step of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepRow {
    /// Order in the run.
    pub position: i64,
    /// Step name.
    pub name: String,
    /// `run`, `gate`, `image`...
    pub kind: String,
    /// Step status.
    pub status: String,
    /// Wall time.
    pub duration_ms: i64,
    /// Exit code of a process step.
    pub exit_code: Option<i64>,
    /// Why it failed, if it did.
    pub message: Option<String>,
    /// The gate decision of a gate step.
    pub gate: Option<GateRow>,
}

/// A run with its steps and gate decisions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunDetail {
    /// The run.
    pub run: RunRow,
    /// Its steps in order.
    pub steps: Vec<StepRow>,
}

/// A finding of the latest report of its (scanner, target).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingRow {
    /// Row id (page key).
    pub id: i64,
    /// Scanner of the report.
    pub scanner: String,
    /// Target of the report.
    pub target: String,
    /// Stable fingerprint.
    pub fingerprint: String,
    /// Rule or advisory rule id.
    pub rule_id: String,
    /// Severity.
    pub severity: String,
    /// `ecosystem/name@version`.
    pub package: Option<String>,
    /// Advisory id.
    pub advisory_id: Option<String>,
    /// First report of the target that had it.
    pub first_seen: String,
    /// Time of the latest report.
    pub last_seen: String,
}

/// An event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRow {
    /// Row id (page key).
    pub id: i64,
    /// `drift`, `gitops-sync`, `admission`, `runtime-alert`...
    pub kind: String,
    /// RFC 3339.
    pub time: String,
    /// The event's body (`null` when the stored record cannot be read).
    pub body: Value,
}

/// A ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerRow {
    /// Position in the chain (page key).
    pub seq: i64,
    /// RFC 3339.
    pub time: String,
    /// Record kind.
    pub kind: String,
    /// Row id in the kind's table.
    pub record_id: i64,
    /// sha256 of the record.
    pub record_hash: String,
    /// Hash of the previous entry.
    pub prev_hash: String,
    /// Hash of this entry.
    pub hash: String,
}

/// Summary counts by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct SeverityCounts {
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

/// Filter of [`Store::runs_page`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFilter {
    /// Only runs with this status.
    pub status: Option<String>,
}

/// Filter of [`Store::open_findings_page`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingFilter {
    /// Only findings of this severity.
    pub severity: Option<String>,
}

/// The id of the latest report of each (scanner, target): latest time, then highest id.
const LATEST_REPORTS: &str = "latest AS (
       SELECT scanner, target, MAX(time) AS t FROM scan_reports GROUP BY scanner, target),
     latest_ids AS (
       SELECT MAX(r.id) AS id FROM scan_reports r
       JOIN latest l ON r.scanner = l.scanner AND r.target = l.target AND r.time = l.t
       GROUP BY r.scanner, r.target)";

const RUN_COLUMNS: &str =
    "p.id, p.run_id, p.pipeline, p.source_commit, p.started_at, p.duration_ms,
       p.isolation, p.status,
       (SELECT COUNT(*) FROM pipeline_steps s WHERE s.run_id = p.id),
       (SELECT COUNT(*) FROM gate_decisions g JOIN pipeline_steps s ON s.id = g.step_id
        WHERE s.run_id = p.id AND NOT g.passed)";

fn run_row(r: &Row<'_>) -> rusqlite::Result<RunRow> {
    Ok(RunRow {
        id: r.get(0)?,
        run_id: r.get(1)?,
        pipeline: r.get(2)?,
        source_commit: r.get(3)?,
        started_at: r.get(4)?,
        duration_ms: r.get(5)?,
        isolation: r.get(6)?,
        status: r.get(7)?,
        steps: r.get(8)?,
        gate_failures: r.get(9)?,
    })
}

/// Where a keyset query is positioned.
enum Direction {
    /// Newest first, keys below the bound (if any).
    Older(Option<i64>),
    /// Oldest first, keys above the bound.
    Newer(i64),
}

impl Store {
    /// Runs `fetch(direction, limit + 1)` (which returns items with their keys, in the
    /// direction's order) and `exists(key, newer?)`, and assembles the page.
    fn keyset_page<T>(
        &self,
        page: PageRequest,
        fetch: impl Fn(&Direction, usize) -> Result<Vec<(i64, T)>, StoreError>,
        exists: impl Fn(i64, bool) -> Result<bool, StoreError>,
    ) -> Result<Page<T>, StoreError> {
        let n = page.size();
        let dir = match (page.before, page.after) {
            (_, Some(a)) => Direction::Newer(a),
            (b, None) => Direction::Older(b),
        };
        let mut rows = fetch(&dir, n + 1)?;
        let more = rows.len() > n;
        rows.truncate(n);
        if let Direction::Newer(_) = dir {
            rows.reverse();
        }
        let (first, last) = match (rows.first(), rows.last()) {
            (Some(f), Some(l)) => (f.0, l.0),
            _ => {
                // An empty page: offer the way back, if there is anything that way.
                return Ok(match dir {
                    Direction::Older(Some(b)) => Page {
                        items: Vec::new(),
                        older: None,
                        newer: exists(b - 1, true)?.then_some(b - 1),
                    },
                    Direction::Newer(a) => Page {
                        items: Vec::new(),
                        older: exists(a + 1, false)?.then_some(a + 1),
                        newer: None,
                    },
                    Direction::Older(None) => Page {
                        items: Vec::new(),
                        older: None,
                        newer: None,
                    },
                });
            }
        };
        let (older, newer) = match dir {
            Direction::Older(None) => (more.then_some(last), None),
            Direction::Older(Some(_)) => {
                (more.then_some(last), exists(first, true)?.then_some(first))
            }
            Direction::Newer(_) => (exists(last, false)?.then_some(last), more.then_some(first)),
        };
        Ok(Page {
            items: rows.into_iter().map(|(_, t)| t).collect(),
            older,
            newer,
        })
    }

    /// Pipeline runs, newest first (by row id), optionally of one status.
    pub fn runs_page(
        &self,
        filter: &RunFilter,
        page: PageRequest,
    ) -> Result<Page<RunRow>, StoreError> {
        let conn = self.connection();
        let status_clause = if filter.status.is_some() {
            "p.status = ?3 AND "
        } else {
            ""
        };
        let status = filter.status.clone().unwrap_or_default();
        let fetch = |dir: &Direction, limit: usize| -> Result<Vec<(i64, RunRow)>, StoreError> {
            let (cmp, order, key) = match dir {
                Direction::Older(b) => ("<", "DESC", b.unwrap_or(i64::MAX)),
                Direction::Newer(a) => (">", "ASC", *a),
            };
            let sql = format!(
                "SELECT {RUN_COLUMNS} FROM pipeline_runs p
                 WHERE {status_clause}p.id {cmp} ?1 ORDER BY p.id {order} LIMIT ?2"
            );
            let mut stmt = conn.prepare_cached(&sql).ctx("preparing the runs page")?;
            let limit = limit as i64;
            let rows = if filter.status.is_some() {
                stmt.query_map(params![key, limit, status], run_row)
            } else {
                stmt.query_map(params![key, limit], run_row)
            }
            .ctx("reading runs")?
            .map(|r| r.map(|run| (run.id, run)))
            .collect::<Result<Vec<_>, _>>()
            .ctx("reading runs")?;
            Ok(rows)
        };
        let exists = |key: i64, newer: bool| -> Result<bool, StoreError> {
            let cmp = if newer { ">" } else { "<" };
            let sql = format!(
                "SELECT 1 FROM pipeline_runs p WHERE {status_clause}p.id {cmp} ?1 LIMIT ?2"
            );
            let mut stmt = conn.prepare_cached(&sql).ctx("preparing the runs page")?;
            let found = if filter.status.is_some() {
                stmt.query_row(params![key, 1, status], |_| Ok(()))
            } else {
                stmt.query_row(params![key, 1], |_| Ok(()))
            }
            .optional()
            .ctx("reading runs")?;
            Ok(found.is_some())
        };
        self.keyset_page(page, fetch, exists)
    }

    /// One run (by row id) with its steps and gate decisions; `None` if there is no such run.
    pub fn run_detail(&self, id: i64) -> Result<Option<RunDetail>, StoreError> {
        let conn = self.connection();
        let run = conn
            .query_row(
                &format!("SELECT {RUN_COLUMNS} FROM pipeline_runs p WHERE p.id = ?1"),
                params![id],
                run_row,
            )
            .optional()
            .ctx("reading a run")?;
        let Some(run) = run else {
            return Ok(None);
        };
        let mut stmt = conn
            .prepare_cached(
                "SELECT s.position, s.name, s.kind, s.status, s.duration_ms, s.exit_code,
                        s.message, g.id, g.scanner, g.fail_on, g.passed, g.summary, g.report
                 FROM pipeline_steps s LEFT JOIN gate_decisions g ON g.step_id = s.id
                 WHERE s.run_id = ?1 ORDER BY s.position, s.id",
            )
            .ctx("preparing the steps query")?;
        let steps = stmt
            .query_map(params![id], |r| {
                let gate_id: Option<i64> = r.get(7)?;
                let gate = match gate_id {
                    None => None,
                    Some(_) => {
                        let summary: String = r.get(11)?;
                        Some(GateRow {
                            scanner: r.get(8)?,
                            fail_on: r.get(9)?,
                            passed: r.get(10)?,
                            summary: serde_json::from_str(&summary).unwrap_or(Value::Null),
                            report: r.get(12)?,
                        })
                    }
                };
                Ok(StepRow {
                    position: r.get(0)?,
                    name: r.get(1)?,
                    kind: r.get(2)?,
                    status: r.get(3)?,
                    duration_ms: r.get(4)?,
                    exit_code: r.get(5)?,
                    message: r.get(6)?,
                    gate,
                })
            })
            .ctx("reading steps")?
            .collect::<Result<Vec<_>, _>>()
            .ctx("reading steps")?;
        Ok(Some(RunDetail { run, steps }))
    }

    /// Unsuppressed findings of the latest report of each (scanner, target) — what is open
    /// now — newest first (by finding row id), optionally of one severity.
    pub fn open_findings_page(
        &self,
        filter: &FindingFilter,
        page: PageRequest,
    ) -> Result<Page<FindingRow>, StoreError> {
        let conn = self.connection();
        let sev_clause = if filter.severity.is_some() {
            "f.severity = ?3 AND "
        } else {
            ""
        };
        let sev = filter.severity.clone().unwrap_or_default();
        let fetch = |dir: &Direction, limit: usize| -> Result<Vec<(i64, FindingRow)>, StoreError> {
            let (cmp, order, key) = match dir {
                Direction::Older(b) => ("<", "DESC", b.unwrap_or(i64::MAX)),
                Direction::Newer(a) => (">", "ASC", *a),
            };
            let sql = format!(
                "WITH {LATEST_REPORTS}
                 SELECT f.id, r.scanner, r.target, f.fingerprint, f.rule_id, f.severity,
                        f.package, f.advisory_id, f.first_seen, f.last_seen
                 FROM latest_ids li JOIN findings f ON f.report_id = li.id
                 JOIN scan_reports r ON r.id = f.report_id
                 WHERE {sev_clause}NOT f.suppressed AND f.id {cmp} ?1
                 ORDER BY f.id {order} LIMIT ?2"
            );
            let mut stmt = conn
                .prepare_cached(&sql)
                .ctx("preparing the findings page")?;
            let map = |r: &Row<'_>| {
                Ok(FindingRow {
                    id: r.get(0)?,
                    scanner: r.get(1)?,
                    target: r.get(2)?,
                    fingerprint: r.get(3)?,
                    rule_id: r.get(4)?,
                    severity: r.get(5)?,
                    package: r.get(6)?,
                    advisory_id: r.get(7)?,
                    first_seen: r.get(8)?,
                    last_seen: r.get(9)?,
                })
            };
            let limit = limit as i64;
            let rows = if filter.severity.is_some() {
                stmt.query_map(params![key, limit, sev], map)
            } else {
                stmt.query_map(params![key, limit], map)
            }
            .ctx("reading findings")?
            .map(|r| r.map(|f| (f.id, f)))
            .collect::<Result<Vec<_>, _>>()
            .ctx("reading findings")?;
            Ok(rows)
        };
        let exists = |key: i64, newer: bool| -> Result<bool, StoreError> {
            let cmp = if newer { ">" } else { "<" };
            let sql = format!(
                "WITH {LATEST_REPORTS}
                 SELECT 1 FROM latest_ids li JOIN findings f ON f.report_id = li.id
                 WHERE {sev_clause}NOT f.suppressed AND f.id {cmp} ?1 LIMIT ?2"
            );
            let mut stmt = conn
                .prepare_cached(&sql)
                .ctx("preparing the findings page")?;
            let found = if filter.severity.is_some() {
                stmt.query_row(params![key, 1, sev], |_| Ok(()))
            } else {
                stmt.query_row(params![key, 1], |_| Ok(()))
            }
            .optional()
            .ctx("reading findings")?;
            Ok(found.is_some())
        };
        self.keyset_page(page, fetch, exists)
    }

    /// Summary counts of the latest report of each (scanner, target), summed: the findings
    /// open now, by severity.
    pub fn latest_counts(&self) -> Result<SeverityCounts, StoreError> {
        self.connection()
            .query_row(
                &format!(
                    "WITH {LATEST_REPORTS}
                     SELECT COALESCE(SUM(r.critical), 0), COALESCE(SUM(r.high), 0),
                            COALESCE(SUM(r.medium), 0), COALESCE(SUM(r.low), 0),
                            COALESCE(SUM(r.info), 0)
                     FROM latest_ids li JOIN scan_reports r ON r.id = li.id"
                ),
                [],
                |r| {
                    Ok(SeverityCounts {
                        critical: r.get(0)?,
                        high: r.get(1)?,
                        medium: r.get(2)?,
                        low: r.get(3)?,
                        info: r.get(4)?,
                    })
                },
            )
            .ctx("counting the latest findings")
    }

    /// Per UTC day from `from_day` (`YYYY-MM-DD`, inclusive) on, the summary counts of the
    /// latest report of each (scanner, target) that day, summed over targets (the same
    /// definition as [`Store::metrics`]' `findings_by_day`, over a bounded range).
    pub fn findings_trend(&self, from_day: &str) -> Result<Vec<DayCounts>, StoreError> {
        let mut stmt = self
            .connection()
            .prepare_cached(
                "WITH daily AS (
                   SELECT substr(time, 1, 10) AS day, scanner, target, MAX(time) AS t
                   FROM scan_reports WHERE time >= ?1 GROUP BY substr(time, 1, 10), scanner, target),
                 picked AS (
                   SELECT d.day, MAX(r.id) AS id FROM daily d JOIN scan_reports r
                     ON r.scanner = d.scanner AND r.target = d.target AND r.time = d.t
                   GROUP BY d.day, d.scanner, d.target)
                 SELECT p.day, SUM(r.critical), SUM(r.high), SUM(r.medium), SUM(r.low), SUM(r.info)
                 FROM picked p JOIN scan_reports r ON r.id = p.id
                 GROUP BY p.day ORDER BY p.day",
            )
            .ctx("preparing the findings trend")?;
        stmt.query_map(params![from_day], |r| {
            Ok(DayCounts {
                day: r.get(0)?,
                critical: r.get(1)?,
                high: r.get(2)?,
                medium: r.get(3)?,
                low: r.get(4)?,
                info: r.get(5)?,
            })
        })
        .ctx("reading the findings trend")?
        .collect::<Result<Vec<_>, _>>()
        .ctx("reading the findings trend")
    }

    /// Events of the given kinds (all kinds when empty), newest first (by row id).
    ///
    /// With several kinds, each kind is read by its own `(kind, id)` index range and the
    /// results merged, so the cost does not depend on how rare a kind is.
    pub fn events_page(
        &self,
        kinds: &[&str],
        page: PageRequest,
    ) -> Result<Page<EventRow>, StoreError> {
        let conn = self.connection();
        let map = |r: &Row<'_>| {
            let body: String = r.get(3)?;
            Ok(EventRow {
                id: r.get(0)?,
                kind: r.get(1)?,
                time: r.get(2)?,
                body: serde_json::from_str::<Value>(&body)
                    .ok()
                    .and_then(|mut v| v.get_mut("body").map(Value::take))
                    .unwrap_or(Value::Null),
            })
        };
        let one_kind = |kind: Option<&str>,
                        dir: &Direction,
                        limit: usize|
         -> Result<Vec<(i64, EventRow)>, StoreError> {
            let (cmp, order, key) = match dir {
                Direction::Older(b) => ("<", "DESC", b.unwrap_or(i64::MAX)),
                Direction::Newer(a) => (">", "ASC", *a),
            };
            let kind_clause = if kind.is_some() { "kind = ?3 AND " } else { "" };
            let sql = format!(
                "SELECT id, kind, time, body FROM events WHERE {kind_clause}id {cmp} ?1
                 ORDER BY id {order} LIMIT ?2"
            );
            let mut stmt = conn.prepare_cached(&sql).ctx("preparing the events page")?;
            let limit = limit as i64;
            let rows = match kind {
                Some(k) => stmt.query_map(params![key, limit, k], map),
                None => stmt.query_map(params![key, limit], map),
            }
            .ctx("reading events")?
            .map(|r| r.map(|e| (e.id, e)))
            .collect::<Result<Vec<_>, _>>()
            .ctx("reading events")?;
            Ok(rows)
        };
        let fetch = |dir: &Direction, limit: usize| -> Result<Vec<(i64, EventRow)>, StoreError> {
            if kinds.is_empty() {
                return one_kind(None, dir, limit);
            }
            let mut all = Vec::new();
            for k in kinds {
                all.extend(one_kind(Some(k), dir, limit)?);
            }
            match dir {
                Direction::Older(_) => all.sort_by_key(|e| std::cmp::Reverse(e.0)),
                Direction::Newer(_) => all.sort_by_key(|e| e.0),
            }
            all.truncate(limit);
            Ok(all)
        };
        let exists = |key: i64, newer: bool| -> Result<bool, StoreError> {
            let cmp = if newer { ">" } else { "<" };
            if kinds.is_empty() {
                let sql = format!("SELECT 1 FROM events WHERE id {cmp} ?1 LIMIT 1");
                return conn
                    .query_row(&sql, params![key], |_| Ok(()))
                    .optional()
                    .map(|f| f.is_some())
                    .ctx("reading events");
            }
            let sql = format!("SELECT 1 FROM events WHERE kind = ?2 AND id {cmp} ?1 LIMIT 1");
            let mut stmt = conn.prepare_cached(&sql).ctx("preparing the events page")?;
            for k in kinds {
                if stmt
                    .query_row(params![key, k], |_| Ok(()))
                    .optional()
                    .ctx("reading events")?
                    .is_some()
                {
                    return Ok(true);
                }
            }
            Ok(false)
        };
        self.keyset_page(page, fetch, exists)
    }

    /// Ledger entries, newest first (by seq).
    pub fn ledger_page(&self, page: PageRequest) -> Result<Page<LedgerRow>, StoreError> {
        let conn = self.connection();
        let fetch = |dir: &Direction, limit: usize| -> Result<Vec<(i64, LedgerRow)>, StoreError> {
            let (cmp, order, key) = match dir {
                Direction::Older(b) => ("<", "DESC", b.unwrap_or(i64::MAX)),
                Direction::Newer(a) => (">", "ASC", *a),
            };
            let sql = format!(
                "SELECT seq, time, kind, record_id, record_hash, prev_hash, hash FROM ledger
                 WHERE seq {cmp} ?1 ORDER BY seq {order} LIMIT ?2"
            );
            let mut stmt = conn.prepare_cached(&sql).ctx("preparing the ledger page")?;
            let rows = stmt
                .query_map(params![key, limit as i64], |r| {
                    Ok(LedgerRow {
                        seq: r.get(0)?,
                        time: r.get(1)?,
                        kind: r.get(2)?,
                        record_id: r.get(3)?,
                        record_hash: r.get(4)?,
                        prev_hash: r.get(5)?,
                        hash: r.get(6)?,
                    })
                })
                .ctx("reading the ledger")?
                .map(|r| r.map(|e| (e.seq, e)))
                .collect::<Result<Vec<_>, _>>()
                .ctx("reading the ledger")?;
            Ok(rows)
        };
        let exists = |key: i64, newer: bool| -> Result<bool, StoreError> {
            let cmp = if newer { ">" } else { "<" };
            let sql = format!("SELECT 1 FROM ledger WHERE seq {cmp} ?1 LIMIT 1");
            conn.query_row(&sql, params![key], |_| Ok(()))
                .optional()
                .map(|f| f.is_some())
                .ctx("reading the ledger")
        };
        self.keyset_page(page, fetch, exists)
    }

    /// The ledger's head: (seq, hash) of the last entry, `None` when it is empty.
    pub fn ledger_head(&self) -> Result<Option<(i64, String)>, StoreError> {
        self.connection()
            .query_row(
                "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .ctx("reading the ledger head")
    }

    /// Number of events per kind (for the given kinds), in the order given.
    pub fn event_counts(&self, kinds: &[&str]) -> Result<Vec<(String, u64)>, StoreError> {
        let mut stmt = self
            .connection()
            .prepare_cached("SELECT COUNT(*) FROM events WHERE kind = ?1")
            .ctx("preparing the event counts")?;
        kinds
            .iter()
            .map(|k| {
                stmt.query_row(params![k], |r| r.get(0))
                    .map(|n| ((*k).to_owned(), n))
                    .ctx("counting events")
            })
            .collect()
    }
}
