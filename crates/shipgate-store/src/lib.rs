//! The shipgate store: scan reports and their findings, pipeline runs (steps and gate
//! decisions) and events (GitOps sync, drift, admission decisions) in one database — a SQLite
//! file or a PostgreSQL server, with the same schema and the same queries — with an
//! append-only hash-chained audit ledger.
//!
//! * [`Store::open`] creates or opens a SQLite file: WAL journal, a busy timeout so that
//!   several processes can write at once, foreign keys on. [`Store::connect`] takes a path,
//!   `sqlite:PATH` or a `postgres://` URL (see [`pg`] for the URL forms and TLS). Either way
//!   the versioned migrations of `schema_migrations` are applied, under the write lock.
//! * [`Store::ingest_json`] recognises a document by its `schema` (`shipgate.report/v1`,
//!   `shipgate.pipeline-run/v1`, `shipgate.event/v1`) and records it; each record and its
//!   ledger entry are written in one transaction that excludes other writers (SQLite
//!   `BEGIN IMMEDIATE`, PostgreSQL an advisory lock), so a record is either complete and
//!   chained or absent, and the chain stays linear.
//! * [`Store::verify`] recomputes the chain and the record hashes (see [`ledger`]).
//!
//! Not here: an ORM or a query builder (the SQL is written out, once, in the dialect both
//! backends read: see the `db` module), connection pools, reconnecting (a lost connection is
//! an error for the caller).
//!
//! A store is synchronous. With PostgreSQL, open, use and drop it on a thread outside any
//! async runtime: the `postgres` client blocks on a runtime of its own, and tokio panics when
//! a runtime is started from within another. Async callers (the dashboard, the GitOps agent,
//! the webhook) keep their stores on plain threads.
//!
//! See docs/store.md for the schema and the ledger format.

#![warn(clippy::print_stdout, clippy::print_stderr)]

mod canonical;
mod db;
mod error;
pub mod evidence;
pub mod export;
pub mod ledger;
pub mod metrics;
pub mod pg;
pub mod query;
mod schema;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use serde::Serialize;
use serde_json::Value;

pub use canonical::{canonical_json, sha256_hex};
use db::{Db, params};
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
    db: Db,
    /// The SQLite file (None for PostgreSQL).
    path: Option<PathBuf>,
    /// The file path, or the PostgreSQL URL with its password redacted.
    name: String,
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

/// Where a store lives, as parsed by [`Location::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL (`postgres://` or `postgresql://`).
    Postgres(String),
}

impl Location {
    /// `postgres://...` / `postgresql://...` is PostgreSQL; `sqlite:PATH`, `sqlite://PATH` or
    /// anything else without `://` is a SQLite file. Errors name the argument with its
    /// password redacted.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        if pg::is_postgres_url(s) {
            return Ok(Location::Postgres(s.to_owned()));
        }
        let p = s
            .strip_prefix("sqlite://")
            .or_else(|| s.strip_prefix("sqlite:"))
            .unwrap_or(s);
        let bad = |message: &str| StoreError::Url {
            database: pg::redact(s),
            message: message.to_owned(),
        };
        if s.contains("://") && !s.starts_with("sqlite:") {
            return Err(bad(
                "unsupported database URL (expected PATH, sqlite:PATH or postgres://...)",
            ));
        }
        if p.is_empty() {
            return Err(bad("no path"));
        }
        Ok(Location::Sqlite(PathBuf::from(p)))
    }

    /// The file path, or the URL with its password redacted (for messages).
    pub fn display_name(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres(u) => pg::redact(u),
        }
    }
}

impl Store {
    /// Open (creating if needed) the SQLite database at `path` and migrate it.
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
            db: Db::Sqlite(conn),
            path: Some(path.to_path_buf()),
            name: path.display().to_string(),
        };
        store.migrate().map_err(|e| match e {
            // A file that is not a database (or is locked) is an open error, as before.
            StoreError::Sql { source, .. } => StoreError::Open {
                path: path.to_path_buf(),
                source,
            },
            e => e,
        })?;
        Ok(store)
    }

    /// Open the store at `location`: a SQLite path, `sqlite:PATH`, or a `postgres://` /
    /// `postgresql://` URL (see [`pg`]). Migrates it.
    pub fn connect(location: &str) -> Result<Self, StoreError> {
        Self::connect_to(&Location::parse(location)?)
    }

    /// [`Store::connect`] with a parsed [`Location`].
    pub fn connect_to(location: &Location) -> Result<Self, StoreError> {
        match location {
            Location::Sqlite(p) => Self::open(p),
            Location::Postgres(url) => {
                let db = pg::connect(url)?;
                let mut store = Store {
                    db,
                    path: None,
                    name: pg::redact(url),
                };
                store.migrate()?;
                Ok(store)
            }
        }
    }

    /// The SQLite database file (`None` for PostgreSQL).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The database for messages: the file path, or the URL with its password redacted.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match self.db.backend() {
            db::Backend::Sqlite => "sqlite",
            db::Backend::Postgres => "postgres",
        }
    }

    /// The schema version (highest applied migration).
    pub fn schema_version(&mut self) -> Result<i64, StoreError> {
        self.db
            .query_one(
                "reading schema_migrations",
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                params![],
            )?
            .i64(0)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let backend = self.db.backend();
        let name = self.name.clone();
        self.db.write_tx("migrations", |db| {
            db.batch(
                "creating schema_migrations",
                &schema::ddl(schema::MIGRATIONS_TABLE, backend),
            )?;
            let current = db
                .query_one(
                    "reading schema_migrations",
                    "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                    params![],
                )?
                .i64(0)?;
            let known = schema::MIGRATIONS.last().map_or(0, |m| m.0);
            if current > known {
                return Err(StoreError::TooNew {
                    path: PathBuf::from(name),
                    found: current,
                    known,
                });
            }
            for (version, sql) in schema::MIGRATIONS.iter().filter(|m| m.0 > current) {
                db.batch(
                    &format!("applying migration {version}"),
                    &schema::ddl(sql, backend),
                )?;
                db.execute(
                    "recording a migration",
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                    params![*version, &now()],
                )?;
            }
            Ok(())
        })
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
        let s = &report.summary;
        let n = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
        let fail_on = enum_text(&report.gate.fail_on);
        let id = self.db.write_tx("a scan report", |db| {
            let id = db
                .query_one(
                    "inserting a scan report",
                    "INSERT INTO scan_reports (scanner, target, time, critical, high, medium, low,
                         info, suppressed, fail_on, gate_passed, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) RETURNING id",
                    params![
                        &report.scanner,
                        &report.target,
                        &time,
                        n(s.critical),
                        n(s.high),
                        n(s.medium),
                        n(s.low),
                        n(s.info),
                        n(s.suppressed),
                        &fail_on,
                        report.gate.passed,
                        &body
                    ],
                )?
                .i64(0)?;
            for f in &report.findings {
                let seen = db
                    .query_one(
                        "reading first_seen",
                        "SELECT MIN(f.first_seen) FROM findings f JOIN scan_reports r ON r.id = f.report_id
                         WHERE r.scanner = ?1 AND r.target = ?2 AND f.fingerprint = ?3",
                        params![&report.scanner, &report.target, &f.fingerprint],
                    )?
                    .opt_string(0)?;
                let first_seen = match seen {
                    Some(s) if s < time => s,
                    _ => time.clone(),
                };
                let package = f
                    .package
                    .as_ref()
                    .map(|p| format!("{}/{}@{}", p.ecosystem, p.name, p.version));
                db.execute(
                    "inserting a finding",
                    "INSERT INTO findings (report_id, fingerprint, rule_id, severity, package,
                         advisory_id, suppressed, first_seen, last_seen)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        id,
                        &f.fingerprint,
                        &f.rule_id,
                        &enum_text(&f.severity),
                        package.as_ref(),
                        f.advisory.as_ref().map(|a| &a.id),
                        f.suppressed.is_some(),
                        &first_seen,
                        &time
                    ],
                )?;
            }
            ledger::append(
                db,
                &time,
                KIND_SCAN_REPORT,
                id,
                &sha256_hex(body.as_bytes()),
            )
            .map(|seq| (id, seq))
        })?;
        Ok(Ingested {
            kind: KIND_SCAN_REPORT,
            record_id: id.0,
            seq: Some(id.1),
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
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let (id, seq) = self.db.write_tx("a pipeline run", |db| {
            let existing = db.query_opt(
                "looking up the run id",
                "SELECT id FROM pipeline_runs WHERE run_id = ?1",
                params![&run.id],
            )?;
            if let Some(r) = existing {
                return Ok((r.i64(0)?, None));
            }
            let id = db
                .query_one(
                    "inserting a pipeline run",
                    "INSERT INTO pipeline_runs (run_id, pipeline, source_commit, started_at,
                         duration_ms, isolation, status, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
                    params![
                        &run.id,
                        &run.pipeline,
                        run.source_commit.as_ref(),
                        &time,
                        n(run.duration_ms),
                        &run.isolation,
                        &enum_text(&run.status),
                        &body
                    ],
                )?
                .i64(0)?;
            for (i, s) in run.steps.iter().enumerate() {
                let step_id = db
                    .query_one(
                        "inserting a pipeline step",
                        "INSERT INTO pipeline_steps (run_id, position, name, kind, status,
                             duration_ms, exit_code, message)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
                        params![
                            id,
                            i64::try_from(i).unwrap_or(i64::MAX),
                            &s.name,
                            &s.kind,
                            &enum_text(&s.status),
                            n(s.duration_ms),
                            s.exit_code.map(i64::from),
                            s.message.as_ref()
                        ],
                    )?
                    .i64(0)?;
                if let Some(g) = &s.gate {
                    db.execute(
                        "inserting a gate decision",
                        "INSERT INTO gate_decisions (step_id, scanner, fail_on, passed, summary, report)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![
                            step_id,
                            &g.scanner,
                            &g.fail_on,
                            g.passed,
                            &canonical_json(&g.summary),
                            &g.report
                        ],
                    )?;
                }
            }
            let seq = ledger::append(
                db,
                &time,
                KIND_PIPELINE_RUN,
                id,
                &sha256_hex(body.as_bytes()),
            )?;
            Ok((id, Some(seq)))
        })?;
        Ok(Ingested {
            kind: KIND_PIPELINE_RUN,
            record_id: id,
            seq,
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
        let (id, seq) = self.db.write_tx("an event", |db| {
            let id = db
                .query_one(
                    "inserting an event",
                    "INSERT INTO events (kind, time, body) VALUES (?1, ?2, ?3) RETURNING id",
                    params![kind, &time, &body],
                )?
                .i64(0)?;
            let seq = ledger::append(db, &time, KIND_EVENT, id, &sha256_hex(body.as_bytes()))?;
            Ok((id, seq))
        })?;
        Ok(Ingested {
            kind: KIND_EVENT,
            record_id: id,
            seq: Some(seq),
        })
    }

    /// Recompute the ledger chain and every record hash; reports the first problem.
    pub fn verify(&mut self) -> Result<Verification, StoreError> {
        ledger::verify(&mut self.db)
    }

    /// The hash of ledger entry `seq`, if there is one (for `audit verify --anchor`).
    pub fn ledger_hash(&mut self, seq: i64) -> Result<Option<String>, StoreError> {
        self.db
            .query_opt(
                "reading a ledger entry",
                "SELECT hash FROM ledger WHERE seq = ?1",
                params![seq],
            )?
            .map(|r| r.string(0))
            .transpose()
    }

    /// Run raw SQL (one or more `;`-separated statements, no parameters) on either backend.
    /// For tests (tampering with rows to check that [`Store::verify`] notices) and manual
    /// maintenance only: it bypasses the ledger, and anything it changes in recorded rows
    /// shows up as tampering.
    pub fn execute_raw(&mut self, sql: &str) -> Result<(), StoreError> {
        self.db.batch("running raw SQL", sql)
    }

    /// The first column of the first row of a raw query as an integer (`None` without rows or
    /// for NULL). For tests and maintenance, like [`Store::execute_raw`].
    pub fn query_raw_i64(&mut self, sql: &str) -> Result<Option<i64>, StoreError> {
        match self.db.query_opt("running a raw query", sql, params![])? {
            Some(r) => r.opt_i64(0),
            None => Ok(None),
        }
    }

    /// The first column of every row of a raw query as text (NULL as `None`). For tests and
    /// maintenance, like [`Store::execute_raw`].
    pub fn query_raw_strings(&mut self, sql: &str) -> Result<Vec<Option<String>>, StoreError> {
        self.db
            .query("running a raw query", sql, params![])?
            .iter()
            .map(|r| r.opt_string(0))
            .collect()
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
