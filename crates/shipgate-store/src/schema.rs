//! Versioned migrations, applied in order; each version is recorded in `schema_migrations`.

/// `(version, SQL)`; append new versions, never edit an applied one.
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        r#"
CREATE TABLE scan_reports (
    id          INTEGER PRIMARY KEY,
    scanner     TEXT NOT NULL,
    target      TEXT NOT NULL,
    time        TEXT NOT NULL,
    critical    INTEGER NOT NULL,
    high        INTEGER NOT NULL,
    medium      INTEGER NOT NULL,
    low         INTEGER NOT NULL,
    info        INTEGER NOT NULL,
    suppressed  INTEGER NOT NULL,
    fail_on     TEXT NOT NULL,
    gate_passed INTEGER NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX scan_reports_target_time ON scan_reports (scanner, target, time);
CREATE TABLE findings (
    id          INTEGER PRIMARY KEY,
    report_id   INTEGER NOT NULL REFERENCES scan_reports (id),
    fingerprint TEXT NOT NULL,
    rule_id     TEXT NOT NULL,
    severity    TEXT NOT NULL,
    package     TEXT,
    advisory_id TEXT,
    suppressed  INTEGER NOT NULL,
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL
);
CREATE INDEX findings_report ON findings (report_id);
CREATE INDEX findings_fingerprint ON findings (fingerprint);
CREATE TABLE pipeline_runs (
    id            INTEGER PRIMARY KEY,
    run_id        TEXT NOT NULL UNIQUE,
    pipeline      TEXT NOT NULL,
    source_commit TEXT,
    started_at    TEXT NOT NULL,
    duration_ms   INTEGER NOT NULL,
    isolation     TEXT NOT NULL,
    status        TEXT NOT NULL,
    body          TEXT NOT NULL
);
CREATE TABLE pipeline_steps (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES pipeline_runs (id),
    position    INTEGER NOT NULL,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    exit_code   INTEGER,
    message     TEXT
);
CREATE TABLE gate_decisions (
    id       INTEGER PRIMARY KEY,
    step_id  INTEGER NOT NULL REFERENCES pipeline_steps (id),
    scanner  TEXT NOT NULL,
    fail_on  TEXT NOT NULL,
    passed   INTEGER NOT NULL,
    summary  TEXT NOT NULL,
    report   TEXT NOT NULL
);
CREATE TABLE events (
    id    INTEGER PRIMARY KEY,
    kind  TEXT NOT NULL,
    time  TEXT NOT NULL,
    body  TEXT NOT NULL
);
CREATE INDEX events_kind_time ON events (kind, time);
CREATE TABLE ledger (
    seq         INTEGER PRIMARY KEY,
    time        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    record_id   INTEGER NOT NULL,
    record_hash TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
"#,
    ),
    // 2: indexes for the dashboard's keyset pages (runs by status, steps and gates of a run,
    // events of one kind by id) and its time-bounded trend (reports by time).
    (
        2,
        r#"
CREATE INDEX IF NOT EXISTS pipeline_runs_status_id ON pipeline_runs (status, id);
CREATE INDEX IF NOT EXISTS pipeline_steps_run ON pipeline_steps (run_id, position);
CREATE INDEX IF NOT EXISTS gate_decisions_step ON gate_decisions (step_id);
CREATE INDEX IF NOT EXISTS events_kind_id ON events (kind, id);
CREATE INDEX IF NOT EXISTS scan_reports_time ON scan_reports (time);
"#,
    ),
];
