//! The shipgate store: scan reports and their findings, pipeline runs (steps and gate
//! decisions) and events (GitOps sync, drift, admission decisions) in one SQLite file, with an
//! append-only hash-chained audit ledger.
//!
//! * [`Store::open`] creates or opens the file: WAL journal, a busy timeout so that several
//!   processes can write at once, foreign keys on, and the versioned migrations of
//!   `schema_migrations` applied.
//! * [`Store::ingest_json`] recognises a document by its `schema` (`shipgate.report/v1`,
//!   `shipgate.pipeline-run/v1`, `shipgate.event/v1`) and records it; each record and its
//!   ledger entry are written in one `BEGIN IMMEDIATE` transaction, so a record is either
//!   complete and chained or absent.
//! * [`Store::verify`] recomputes the chain and the record hashes (see [`ledger`]).
//!
//! See docs/store.md for the schema and the ledger format.

#![warn(clippy::print_stdout, clippy::print_stderr)]

mod canonical;
mod error;
pub mod ledger;
pub mod metrics;
pub mod query;
mod schema;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use serde_json::Value;

pub use canonical::{canonical_json, sha256_hex};
use error::SqlContext;
pub use error::StoreError;
pub use ledger::{Problem, Verification};

/// Ledger kind of a scan report.
pub const KIND_SCAN_REPORT: &str = "scan-report";
/// Ledger kind of a pipeline run.
pub const KIND_PIPELINE_RUN: &str = "pipeline-run";
/// Ledger kind of an event.
pub const KIND_EVENT: &str = "event";
/// Schema of an event document accepted by [`Store::ingest_json`].
pub const EVENT_SCHEMA: &str = "shipgate.event/v1";
/// File name of the database in the data directory.
pub const DB_FILE_NAME: &str = "shipgate.db";

/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// An open store.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// What [`Store::ingest_json`] did with one document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ingested {
    /// Ledger kind.
    pub kind: &'static str,
    /// Row id in the kind's table.
    pub record_id: i64,
    /// Ledger seq, or `None` when the record was already there (a pipeline run id seen before).
    pub seq: Option<i64>,
}

impl Store {
    /// Open (creating if needed) the database at `path` and migrate it.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        // The first statement reads the header: a file that is not SQLite fails here.
        let _mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(open_err)?;
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")
            .map_err(open_err)?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.migrate()?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version (highest applied migration).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                [],
                |r| r.get(0),
            )
            .ctx("reading schema_migrations")
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|source| StoreError::Open {
                path: path.clone(),
                source,
            })?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)",
        )
        .map_err(|source| StoreError::Open {
            path: path.clone(),
            source,
        })?;
        let current: i64 = tx
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                [],
                |r| r.get(0),
            )
            .ctx("reading schema_migrations")?;
        let known = schema::MIGRATIONS.last().map_or(0, |m| m.0);
        if current > known {
            return Err(StoreError::TooNew {
                path,
                found: current,
                known,
            });
        }
        for (version, sql) in schema::MIGRATIONS.iter().filter(|m| m.0 > current) {
            tx.execute_batch(sql)
                .ctx(&format!("applying migration {version}"))?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                params![version, now()],
            )
            .ctx("recording a migration")?;
        }
        tx.commit().ctx("committing migrations")
    }

    /// Record one JSON document, recognised by its `schema`. `time` is when a scan report was
    /// produced (reports carry no time of their own; default: now); pipeline runs and events
    /// use their own `started_at` / `time`. `name` names the input in errors.
    pub fn ingest_json(
        &mut self,
        name: &str,
        text: &str,
        time: Option<jiff::Timestamp>,
    ) -> Result<Ingested, StoreError> {
        let input = |message: String| StoreError::Input {
            name: name.to_owned(),
            message,
        };
        let v: Value =
            serde_json::from_str(text).map_err(|e| input(format!("not valid JSON: {e}")))?;
        let schema = v.get("schema").and_then(Value::as_str).unwrap_or("");
        match schema {
            shipgate_report::REPORT_SCHEMA => {
                let report: shipgate_report::Report = serde_json::from_value(v.clone())
                    .map_err(|e| input(format!("not a valid {schema} report: {e}")))?;
                let time = time.unwrap_or_else(jiff::Timestamp::now);
                self.insert_report(&report, &v, time)
            }
            shipgate_pipeline::record::SCHEMA => {
                let run: shipgate_pipeline::record::RunRecord =
                    serde_json::from_value(v.clone())
                        .map_err(|e| input(format!("not a valid {schema} record: {e}")))?;
                let started = parse_time(&run.started_at).map_err(|_| {
                    input(format!("started_at {:?} is not RFC 3339", run.started_at))
                })?;
                self.insert_run(&run, &v, started)
            }
            EVENT_SCHEMA => {
                let kind = v
                    .get("kind")
                    .and_then(Value::as_str)
                    .filter(|k| !k.is_empty())
                    .ok_or_else(|| input("event without a \"kind\" string".into()))?;
                let t = v
                    .get("time")
                    .and_then(Value::as_str)
                    .ok_or_else(|| input("event without a \"time\" string".into()))?;
                let t = parse_time(t).map_err(|_| input(format!("time {t:?} is not RFC 3339")))?;
                let body = v.get("body").cloned().unwrap_or(Value::Null);
                self.insert_event(kind, t, &body)
            }
            "" => Err(input(
                "no \"schema\" field; expected a shipgate report, pipeline run record or event"
                    .into(),
            )),
            other => Err(input(format!("unsupported schema {other:?}"))),
        }
    }

    /// Record a scan report made at `time`, with its findings.
    pub fn insert_report(
        &mut self,
        report: &shipgate_report::Report,
        original: &Value,
        time: jiff::Timestamp,
    ) -> Result<Ingested, StoreError> {
        let time = fmt_time(time);
        let body = canonical_json(original);
        let tx = self.write_tx()?;
        let s = &report.summary;
        tx.execute(
            "INSERT INTO scan_reports (scanner, target, time, critical, high, medium, low, info,
                 suppressed, fail_on, gate_passed, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                report.scanner,
                report.target,
                time,
                s.critical as i64,
                s.high as i64,
                s.medium as i64,
                s.low as i64,
                s.info as i64,
                s.suppressed as i64,
                enum_text(&report.gate.fail_on),
                report.gate.passed,
                body
            ],
        )
        .ctx("inserting a scan report")?;
        let id = tx.last_insert_rowid();
        {
            let mut first = tx
                .prepare_cached(
                    "SELECT MIN(f.first_seen) FROM findings f JOIN scan_reports r ON r.id = f.report_id
                     WHERE r.scanner = ?1 AND r.target = ?2 AND f.fingerprint = ?3",
                )
                .ctx("preparing the first-seen query")?;
            let mut ins = tx
                .prepare_cached(
                    "INSERT INTO findings (report_id, fingerprint, rule_id, severity, package,
                         advisory_id, suppressed, first_seen, last_seen)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .ctx("preparing the finding insert")?;
            for f in &report.findings {
                let seen: Option<String> = first
                    .query_row(params![report.scanner, report.target, f.fingerprint], |r| {
                        r.get(0)
                    })
                    .ctx("reading first_seen")?;
                let first_seen = match seen {
                    Some(s) if s < time => s,
                    _ => time.clone(),
                };
                let package = f
                    .package
                    .as_ref()
                    .map(|p| format!("{}/{}@{}", p.ecosystem, p.name, p.version));
                ins.execute(params![
                    id,
                    f.fingerprint,
                    f.rule_id,
                    enum_text(&f.severity),
                    package,
                    f.advisory.as_ref().map(|a| a.id.clone()),
                    f.suppressed.is_some(),
                    first_seen,
                    time
                ])
                .ctx("inserting a finding")?;
            }
        }
        let seq = ledger::append(
            &tx,
            &time,
            KIND_SCAN_REPORT,
            id,
            &sha256_hex(body.as_bytes()),
        )?;
        tx.commit().ctx("committing a scan report")?;
        Ok(Ingested {
            kind: KIND_SCAN_REPORT,
            record_id: id,
            seq: Some(seq),
        })
    }

    /// Record a pipeline run with its steps and gate decisions. A run id already recorded is
    /// left as it is (`seq: None`).
    pub fn insert_run(
        &mut self,
        run: &shipgate_pipeline::record::RunRecord,
        original: &Value,
        started: jiff::Timestamp,
    ) -> Result<Ingested, StoreError> {
        let time = fmt_time(started);
        let body = canonical_json(original);
        let tx = self.write_tx()?;
        let existing: Option<i64> = tx
            .query_row(
                "SELECT id FROM pipeline_runs WHERE run_id = ?1",
                [&run.id],
                |r| r.get(0),
            )
            .optional()
            .ctx("looking up the run id")?;
        if let Some(id) = existing {
            return Ok(Ingested {
                kind: KIND_PIPELINE_RUN,
                record_id: id,
                seq: None,
            });
        }
        tx.execute(
            "INSERT INTO pipeline_runs (run_id, pipeline, source_commit, started_at, duration_ms,
                 isolation, status, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                run.id,
                run.pipeline,
                run.source_commit,
                time,
                run.duration_ms as i64,
                run.isolation,
                enum_text(&run.status),
                body
            ],
        )
        .ctx("inserting a pipeline run")?;
        let id = tx.last_insert_rowid();
        for (i, s) in run.steps.iter().enumerate() {
            tx.execute(
                "INSERT INTO pipeline_steps (run_id, position, name, kind, status, duration_ms,
                     exit_code, message)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    id,
                    i as i64,
                    s.name,
                    s.kind,
                    enum_text(&s.status),
                    s.duration_ms as i64,
                    s.exit_code,
                    s.message
                ],
            )
            .ctx("inserting a pipeline step")?;
            if let Some(g) = &s.gate {
                let step_id = tx.last_insert_rowid();
                tx.execute(
                    "INSERT INTO gate_decisions (step_id, scanner, fail_on, passed, summary, report)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        step_id,
                        g.scanner,
                        g.fail_on,
                        g.passed,
                        canonical_json(&g.summary),
                        g.report
                    ],
                )
                .ctx("inserting a gate decision")?;
            }
        }
        let seq = ledger::append(
            &tx,
            &time,
            KIND_PIPELINE_RUN,
            id,
            &sha256_hex(body.as_bytes()),
        )?;
        tx.commit().ctx("committing a pipeline run")?;
        Ok(Ingested {
            kind: KIND_PIPELINE_RUN,
            record_id: id,
            seq: Some(seq),
        })
    }

    /// Record an event (`gitops-sync`, `drift`, `admission`...) with a JSON body.
    pub fn insert_event(
        &mut self,
        kind: &str,
        time: jiff::Timestamp,
        body: &Value,
    ) -> Result<Ingested, StoreError> {
        let time = fmt_time(time);
        // The hashed record holds the kind too, so that editing the kind is detected.
        let body = canonical_json(&serde_json::json!({"kind": kind, "body": body}));
        let tx = self.write_tx()?;
        tx.execute(
            "INSERT INTO events (kind, time, body) VALUES (?1, ?2, ?3)",
            params![kind, time, body],
        )
        .ctx("inserting an event")?;
        let id = tx.last_insert_rowid();
        let seq = ledger::append(&tx, &time, KIND_EVENT, id, &sha256_hex(body.as_bytes()))?;
        tx.commit().ctx("committing an event")?;
        Ok(Ingested {
            kind: KIND_EVENT,
            record_id: id,
            seq: Some(seq),
        })
    }

    /// Recompute the ledger chain and every record hash; reports the first problem.
    pub fn verify(&self) -> Result<Verification, StoreError> {
        ledger::verify(&self.conn)
    }

    /// The underlying connection, for read-only queries (metrics, export, tests).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    fn write_tx(&mut self) -> Result<rusqlite::Transaction<'_>, StoreError> {
        self.conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .ctx("starting a write transaction")
    }
}

/// Parse RFC 3339, or a `YYYY-MM-DD` date (midnight UTC).
pub fn parse_time(s: &str) -> Result<jiff::Timestamp, StoreError> {
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    s.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
        .ok_or_else(|| StoreError::Time(s.to_owned()))
}

/// Times are stored as RFC 3339 UTC with whole seconds, so that text order is time order.
fn fmt_time(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn now() -> String {
    fmt_time(jiff::Timestamp::now())
}

/// The serde name of a unit enum variant (`"high"`, `"passed"`).
fn enum_text<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}
