//! Read queries for the dashboard (`shipgate serve`): keyset-paginated lists of runs, open
//! findings, events and ledger entries, one run with its steps and gate decisions, daily
//! finding counts and the counts of the latest scans.
//!
//! Every list is newest first and paginated by key (row id or ledger seq), never by offset, so
//! a deep page costs what the first page costs: see [`PageRequest`] and [`Page`].
//!
//! The SQL is kept portable (it must also run on PostgreSQL): no date functions (times are
//! fixed-format RFC 3339 text, so text comparison is time order and `substr(time, 1, 10)` is
//! the UTC day), no JSON functions (bodies are parsed here, in Rust), booleans stored and tested
//! as `0`/`1`, sums cast to `BIGINT`, and `?N` placeholders only (see [`crate::db`]).

use serde::Serialize;
use serde_json::Value;

use crate::Store;
use crate::db::{Db, Param, Row, params};
use crate::error::StoreError;
use crate::export::{LedgerEntry, entry_of};
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
        WHERE s.run_id = p.id AND g.passed = 0)";

fn run_row(r: &Row) -> Result<RunRow, StoreError> {
    Ok(RunRow {
        id: r.i64(0)?,
        run_id: r.string(1)?,
        pipeline: r.string(2)?,
        source_commit: r.opt_string(3)?,
        started_at: r.string(4)?,
        duration_ms: r.i64(5)?,
        isolation: r.string(6)?,
        status: r.string(7)?,
        steps: r.i64(8)?,
        gate_failures: r.i64(9)?,
    })
}

/// Where a keyset query is positioned.
enum Direction {
    /// Newest first, keys below the bound (if any).
    Older(Option<i64>),
    /// Oldest first, keys above the bound.
    Newer(i64),
}

impl Direction {
    /// The key comparison, the sort order and the bound of this direction's query.
    fn sql(&self) -> (&'static str, &'static str, i64) {
        match self {
            Direction::Older(b) => ("<", "DESC", b.unwrap_or(i64::MAX)),
            Direction::Newer(a) => (">", "ASC", *a),
        }
    }
}

/// `[key, limit]` followed by the optional filter value (bound to `?3`).
fn keyset_params<'a>(key: i64, limit: usize, filter: Option<&'a String>) -> Vec<Param<'a>> {
    let mut p = vec![Param::from(key), Param::from(limit as i64)];
    p.extend(filter.map(Param::from));
    p
}

/// Runs `fetch(db, direction, limit + 1)` (which returns items with their keys, in the
/// direction's order) and `exists(db, key, newer?)`, and assembles the page.
fn keyset_page<T>(
    db: &mut Db,
    page: PageRequest,
    mut fetch: impl FnMut(&mut Db, &Direction, usize) -> Result<Vec<(i64, T)>, StoreError>,
    mut exists: impl FnMut(&mut Db, i64, bool) -> Result<bool, StoreError>,
) -> Result<Page<T>, StoreError> {
    let n = page.size();
    let dir = match (page.before, page.after) {
        (_, Some(a)) => Direction::Newer(a),
        (b, None) => Direction::Older(b),
    };
    let mut rows = fetch(db, &dir, n + 1)?;
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
                    newer: exists(db, b - 1, true)?.then_some(b - 1),
                },
                Direction::Newer(a) => Page {
                    items: Vec::new(),
                    older: exists(db, a + 1, false)?.then_some(a + 1),
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
        Direction::Older(Some(_)) => (
            more.then_some(last),
            exists(db, first, true)?.then_some(first),
        ),
        Direction::Newer(_) => (
            exists(db, last, false)?.then_some(last),
            more.then_some(first),
        ),
    };
    Ok(Page {
        items: rows.into_iter().map(|(_, t)| t).collect(),
        older,
        newer,
    })
}

/// Whether `sql` returns a row.
fn any_row(db: &mut Db, what: &str, sql: &str, params: &[Param<'_>]) -> Result<bool, StoreError> {
    Ok(db.query_opt(what, sql, params)?.is_some())
}

impl Store {
    /// Pipeline runs, newest first (by row id), optionally of one status.
    pub fn runs_page(
        &mut self,
        filter: &RunFilter,
        page: PageRequest,
    ) -> Result<Page<RunRow>, StoreError> {
        let status = filter.status.as_ref();
        let status_clause = if status.is_some() {
            "p.status = ?3 AND "
        } else {
            ""
        };
        let fetch = |db: &mut Db, dir: &Direction, limit: usize| {
            let (cmp, order, key) = dir.sql();
            let sql = format!(
                "SELECT {RUN_COLUMNS} FROM pipeline_runs p
                 WHERE {status_clause}p.id {cmp} ?1 ORDER BY p.id {order} LIMIT ?2"
            );
            db.query("reading runs", &sql, &keyset_params(key, limit, status))?
                .iter()
                .map(|r| run_row(r).map(|run| (run.id, run)))
                .collect()
        };
        let exists = |db: &mut Db, key: i64, newer: bool| {
            let cmp = if newer { ">" } else { "<" };
            let sql = format!(
                "SELECT 1 FROM pipeline_runs p WHERE {status_clause}p.id {cmp} ?1 LIMIT ?2"
            );
            any_row(db, "reading runs", &sql, &keyset_params(key, 1, status))
        };
        keyset_page(&mut self.db, page, fetch, exists)
    }

    /// One run (by row id) with its steps and gate decisions; `None` if there is no such run.
    pub fn run_detail(&mut self, id: i64) -> Result<Option<RunDetail>, StoreError> {
        let run = self.db.query_opt(
            "reading a run",
            &format!("SELECT {RUN_COLUMNS} FROM pipeline_runs p WHERE p.id = ?1"),
            params![id],
        )?;
        let Some(run) = run.as_ref().map(run_row).transpose()? else {
            return Ok(None);
        };
        let steps = self
            .db
            .query(
                "reading steps",
                "SELECT s.position, s.name, s.kind, s.status, s.duration_ms, s.exit_code,
                        s.message, g.id, g.scanner, g.fail_on, g.passed, g.summary, g.report
                 FROM pipeline_steps s LEFT JOIN gate_decisions g ON g.step_id = s.id
                 WHERE s.run_id = ?1 ORDER BY s.position, s.id",
                params![id],
            )?
            .iter()
            .map(|r| {
                let gate = match r.opt_i64(7)? {
                    None => None,
                    Some(_) => Some(GateRow {
                        scanner: r.string(8)?,
                        fail_on: r.string(9)?,
                        passed: r.i64(10)? != 0,
                        summary: serde_json::from_str(r.str(11)?).unwrap_or(Value::Null),
                        report: r.string(12)?,
                    }),
                };
                Ok(StepRow {
                    position: r.i64(0)?,
                    name: r.string(1)?,
                    kind: r.string(2)?,
                    status: r.string(3)?,
                    duration_ms: r.i64(4)?,
                    exit_code: r.opt_i64(5)?,
                    message: r.opt_string(6)?,
                    gate,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Some(RunDetail { run, steps }))
    }

    /// Unsuppressed findings of the latest report of each (scanner, target) — what is open
    /// now — newest first (by finding row id), optionally of one severity.
    pub fn open_findings_page(
        &mut self,
        filter: &FindingFilter,
        page: PageRequest,
    ) -> Result<Page<FindingRow>, StoreError> {
        let sev = filter.severity.as_ref();
        let sev_clause = if sev.is_some() {
            "f.severity = ?3 AND "
        } else {
            ""
        };
        let fetch = |db: &mut Db, dir: &Direction, limit: usize| {
            let (cmp, order, key) = dir.sql();
            let sql = format!(
                "WITH {LATEST_REPORTS}
                 SELECT f.id, r.scanner, r.target, f.fingerprint, f.rule_id, f.severity,
                        f.package, f.advisory_id, f.first_seen, f.last_seen
                 FROM latest_ids li JOIN findings f ON f.report_id = li.id
                 JOIN scan_reports r ON r.id = f.report_id
                 WHERE {sev_clause}f.suppressed = 0 AND f.id {cmp} ?1
                 ORDER BY f.id {order} LIMIT ?2"
            );
            db.query("reading findings", &sql, &keyset_params(key, limit, sev))?
                .iter()
                .map(|r| {
                    let f = FindingRow {
                        id: r.i64(0)?,
                        scanner: r.string(1)?,
                        target: r.string(2)?,
                        fingerprint: r.string(3)?,
                        rule_id: r.string(4)?,
                        severity: r.string(5)?,
                        package: r.opt_string(6)?,
                        advisory_id: r.opt_string(7)?,
                        first_seen: r.string(8)?,
                        last_seen: r.string(9)?,
                    };
                    Ok((f.id, f))
                })
                .collect()
        };
        let exists = |db: &mut Db, key: i64, newer: bool| {
            let cmp = if newer { ">" } else { "<" };
            let sql = format!(
                "WITH {LATEST_REPORTS}
                 SELECT 1 FROM latest_ids li JOIN findings f ON f.report_id = li.id
                 WHERE {sev_clause}f.suppressed = 0 AND f.id {cmp} ?1 LIMIT ?2"
            );
            any_row(db, "reading findings", &sql, &keyset_params(key, 1, sev))
        };
        keyset_page(&mut self.db, page, fetch, exists)
    }

    /// Summary counts of the latest report of each (scanner, target), summed: the findings
    /// open now, by severity.
    pub fn latest_counts(&mut self) -> Result<SeverityCounts, StoreError> {
        let r = self.db.query_one(
            "counting the latest findings",
            &format!(
                "WITH {LATEST_REPORTS}
                 SELECT CAST(COALESCE(SUM(r.critical), 0) AS BIGINT),
                        CAST(COALESCE(SUM(r.high), 0) AS BIGINT),
                        CAST(COALESCE(SUM(r.medium), 0) AS BIGINT),
                        CAST(COALESCE(SUM(r.low), 0) AS BIGINT),
                        CAST(COALESCE(SUM(r.info), 0) AS BIGINT)
                 FROM latest_ids li JOIN scan_reports r ON r.id = li.id"
            ),
            params![],
        )?;
        Ok(SeverityCounts {
            critical: r.u64(0)?,
            high: r.u64(1)?,
            medium: r.u64(2)?,
            low: r.u64(3)?,
            info: r.u64(4)?,
        })
    }

    /// Per UTC day from `from_day` (`YYYY-MM-DD`, inclusive) on, the summary counts of the
    /// latest report of each (scanner, target) that day, summed over targets (the same
    /// definition as [`Store::metrics`]' `findings_by_day`, over a bounded range).
    pub fn findings_trend(&mut self, from_day: &str) -> Result<Vec<DayCounts>, StoreError> {
        crate::metrics::daily_counts(&mut self.db, from_day)
    }

    /// Events of the given kinds (all kinds when empty), newest first (by row id).
    ///
    /// With several kinds, each kind is read by its own `(kind, id)` index range and the
    /// results merged, so the cost does not depend on how rare a kind is.
    pub fn events_page(
        &mut self,
        kinds: &[&str],
        page: PageRequest,
    ) -> Result<Page<EventRow>, StoreError> {
        let kinds: Vec<String> = kinds.iter().map(|k| (*k).to_owned()).collect();
        let one_kind = |db: &mut Db, kind: Option<&String>, dir: &Direction, limit: usize| {
            let (cmp, order, key) = dir.sql();
            let kind_clause = if kind.is_some() { "kind = ?3 AND " } else { "" };
            let sql = format!(
                "SELECT id, kind, time, body FROM events WHERE {kind_clause}id {cmp} ?1
                 ORDER BY id {order} LIMIT ?2"
            );
            db.query("reading events", &sql, &keyset_params(key, limit, kind))?
                .iter()
                .map(|r| {
                    let e = EventRow {
                        id: r.i64(0)?,
                        kind: r.string(1)?,
                        time: r.string(2)?,
                        body: serde_json::from_str::<Value>(r.str(3)?)
                            .ok()
                            .and_then(|mut v| v.get_mut("body").map(Value::take))
                            .unwrap_or(Value::Null),
                    };
                    Ok((e.id, e))
                })
                .collect::<Result<Vec<_>, StoreError>>()
        };
        let fetch = |db: &mut Db, dir: &Direction, limit: usize| {
            if kinds.is_empty() {
                return one_kind(db, None, dir, limit);
            }
            let mut all = Vec::new();
            for k in &kinds {
                all.extend(one_kind(db, Some(k), dir, limit)?);
            }
            match dir {
                Direction::Older(_) => all.sort_by_key(|e| std::cmp::Reverse(e.0)),
                Direction::Newer(_) => all.sort_by_key(|e| e.0),
            }
            all.truncate(limit);
            Ok(all)
        };
        let exists = |db: &mut Db, key: i64, newer: bool| {
            let cmp = if newer { ">" } else { "<" };
            if kinds.is_empty() {
                let sql = format!("SELECT 1 FROM events WHERE id {cmp} ?1 LIMIT ?2");
                return any_row(db, "reading events", &sql, &keyset_params(key, 1, None));
            }
            let sql = format!("SELECT 1 FROM events WHERE kind = ?3 AND id {cmp} ?1 LIMIT ?2");
            for k in &kinds {
                if any_row(db, "reading events", &sql, &keyset_params(key, 1, Some(k)))? {
                    return Ok(true);
                }
            }
            Ok(false)
        };
        keyset_page(&mut self.db, page, fetch, exists)
    }

    /// Ledger entries, newest first (by seq).
    pub fn ledger_page(&mut self, page: PageRequest) -> Result<Page<LedgerEntry>, StoreError> {
        let fetch = |db: &mut Db, dir: &Direction, limit: usize| {
            let (cmp, order, key) = dir.sql();
            let sql = format!(
                "SELECT seq, time, kind, record_id, record_hash, prev_hash, hash FROM ledger
                 WHERE seq {cmp} ?1 ORDER BY seq {order} LIMIT ?2"
            );
            db.query("reading the ledger", &sql, &keyset_params(key, limit, None))?
                .iter()
                .map(|r| entry_of(r).map(|e| (e.seq, e)))
                .collect()
        };
        let exists = |db: &mut Db, key: i64, newer: bool| {
            let cmp = if newer { ">" } else { "<" };
            let sql = format!("SELECT 1 FROM ledger WHERE seq {cmp} ?1 LIMIT ?2");
            any_row(db, "reading the ledger", &sql, &keyset_params(key, 1, None))
        };
        keyset_page(&mut self.db, page, fetch, exists)
    }

    /// The ledger's head: (seq, hash) of the last entry, `None` when it is empty.
    pub fn ledger_head(&mut self) -> Result<Option<(i64, String)>, StoreError> {
        self.db
            .query_opt(
                "reading the ledger head",
                "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1",
                params![],
            )?
            .map(|r| Ok((r.i64(0)?, r.string(1)?)))
            .transpose()
    }

    /// Number of events per kind (for the given kinds), in the order given.
    pub fn event_counts(&mut self, kinds: &[&str]) -> Result<Vec<(String, u64)>, StoreError> {
        kinds
            .iter()
            .map(|k| {
                let n = self
                    .db
                    .query_one(
                        "counting events",
                        "SELECT COUNT(*) FROM events WHERE kind = ?1",
                        params![*k],
                    )?
                    .u64(0)?;
                Ok(((*k).to_owned(), n))
            })
            .collect()
    }
}
