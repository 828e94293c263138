//! The store against real databases — SQLite files and a real PostgreSQL server (started by
//! `shipgate-testenv`) — with the same behaviour tests run on both: ingest, transactions,
//! concurrent writers, metrics, and the ledger's detection of edited, deleted and reordered
//! rows. PostgreSQL-only: a server killed mid-write, wrong passwords, unreachable servers.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use serde_json::{Value, json};
use shipgate_store::{Store, StoreError, parse_time};

/// One database to run a test on: a SQLite file in a temp dir, or a fresh database on the
/// shared PostgreSQL server.
struct TestDb {
    location: String,
    backend: &'static str,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    fn open(&self) -> Store {
        Store::connect(&self.location).unwrap()
    }
}

/// Both backends (PostgreSQL skipped with a note outside CI when it cannot start).
fn backends(test: &str) -> Vec<TestDb> {
    let dir = tempfile::tempdir().unwrap();
    let mut v = vec![TestDb {
        location: dir.path().join("s.db").display().to_string(),
        backend: "sqlite",
        _dir: Some(dir),
    }];
    if let Some(url) = shipgate_testenv::shared_database_or_skip(test) {
        v.push(TestDb {
            location: url,
            backend: "postgres",
            _dir: None,
        });
    }
    v
}

fn finding(fp: &str, severity: &str) -> Value {
    json!({
        "fingerprint": fp, "rule_id": format!("rule-{fp}"), "scanner": "deps",
        "severity": severity, "title": "t", "message": "m", "location": {"path": "Cargo.lock"},
        "package": {"ecosystem": "crates.io", "name": "foo", "version": "1.0.0"},
        "advisory": {"id": format!("GHSA-{fp}")}
    })
}

fn report(target: &str, findings: Vec<Value>) -> String {
    let mut counts = json!({"critical":0,"high":0,"medium":0,"low":0,"info":0,"suppressed":0});
    for f in &findings {
        let s = f["severity"].as_str().unwrap().to_owned();
        counts[&s] = json!(counts[&s].as_u64().unwrap() + 1);
    }
    let passed = counts["critical"] == 0 && counts["high"] == 0;
    json!({
        "schema": "shipgate.report/v1", "tool": {"name": "shipgate", "version": "0.1.0"},
        "scanner": "deps", "target": target, "findings": findings, "errors": [],
        "summary": counts, "gate": {"fail_on": "high", "passed": passed}
    })
    .to_string()
}

fn run_record(id: &str, started: &str, status: &str) -> String {
    json!({
        "schema": "shipgate.pipeline-run/v1", "id": id, "pipeline": ".shipgate/pipeline.yaml",
        "source_commit": null, "started_at": started, "duration_ms": 1200, "isolation": "none",
        "status": status,
        "steps": [
            {"name": "test", "kind": "run", "status": "passed", "duration_ms": 800,
             "exit_code": 0, "cache_key": null, "message": null, "log": null, "gate": null, "image": null},
            {"name": "deps", "kind": "gate", "status": if status == "passed" {"passed"} else {"failed"},
             "duration_ms": 400, "exit_code": null, "cache_key": null, "message": null, "log": null,
             "gate": {"scanner": "deps", "fail_on": "high", "passed": status == "passed",
                      "summary": {"high": 1}, "report": "reports/deps.json"}, "image": null}
        ]
    })
    .to_string()
}

fn event(kind: &str, time: &str) -> String {
    json!({"schema": "shipgate.event/v1", "kind": kind, "time": time, "body": {"app": "web"}})
        .to_string()
}

fn t(s: &str) -> Option<jiff::Timestamp> {
    Some(parse_time(s).unwrap())
}

fn count(store: &mut Store, sql: &str) -> i64 {
    store.query_raw_i64(sql).unwrap().unwrap()
}

/// A store with a report, a run and an event: ledger entries 1, 2, 3.
fn filled(db: &TestDb) -> Store {
    let mut s = db.open();
    s.ingest_json(
        "a.json",
        &report("app", vec![finding("f1", "high")]),
        t("2026-01-01"),
    )
    .unwrap();
    s.ingest_json(
        "run.json",
        &run_record("r1", "2026-01-02T10:00:00Z", "passed"),
        None,
    )
    .unwrap();
    s.ingest_json("e.json", &event("drift", "2026-01-03T00:00:00Z"), None)
        .unwrap();
    s
}

fn raw(db: &TestDb, sql: &str) {
    db.open().execute_raw(sql).unwrap();
}

#[test]
fn open_sets_wal_foreign_keys_and_records_migrations() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let mut s = Store::open(&db).unwrap();
    let mode = s.query_raw_strings("PRAGMA journal_mode").unwrap();
    assert_eq!(mode, [Some("wal".to_owned())]);
    assert_eq!(count(&mut s, "PRAGMA foreign_keys"), 1);
    assert_eq!(s.schema_version().unwrap(), 2);
    assert_eq!(s.backend_name(), "sqlite");
}

#[test]
fn migrations_are_applied_once_on_both_backends() {
    for db in backends("migrations_are_applied_once_on_both_backends") {
        let mut s = db.open();
        assert_eq!(s.backend_name(), db.backend);
        assert_eq!(s.schema_version().unwrap(), 2, "{}", db.backend);
        drop(s);
        // Reopening applies nothing twice.
        let mut s = db.open();
        assert_eq!(count(&mut s, "SELECT COUNT(*) FROM schema_migrations"), 2);
        // Every table is there with its columns.
        for t in [
            "scan_reports",
            "findings",
            "pipeline_runs",
            "pipeline_steps",
            "gate_decisions",
            "events",
            "ledger",
        ] {
            let sql = format!("SELECT COUNT(*) FROM {t}");
            assert_eq!(count(&mut s, &sql), 0, "{}: {t}", db.backend);
        }
    }
}

#[test]
fn concurrent_opens_migrate_once() {
    for db in backends("concurrent_opens_migrate_once") {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let loc = db.location.clone();
                std::thread::spawn(move || {
                    Store::connect(&loc).map(|_| ()).map_err(|e| e.to_string())
                })
            })
            .collect();
        for th in threads {
            th.join().unwrap().unwrap();
        }
        let mut s = db.open();
        assert_eq!(
            count(&mut s, "SELECT COUNT(*) FROM schema_migrations"),
            2,
            "{}",
            db.backend
        );
    }
}

#[test]
fn ingest_fills_every_table_and_the_ledger() {
    for db in backends("ingest_fills_every_table_and_the_ledger") {
        let mut s = filled(&db);
        let b = db.backend;
        assert_eq!(count(&mut s, "SELECT COUNT(*) FROM scan_reports"), 1, "{b}");
        assert_eq!(count(&mut s, "SELECT high FROM scan_reports"), 1, "{b}");
        assert_eq!(
            count(&mut s, "SELECT gate_passed FROM scan_reports"),
            0,
            "{b}"
        );
        assert_eq!(
            count(
                &mut s,
                "SELECT COUNT(*) FROM findings WHERE advisory_id = 'GHSA-f1' AND package = 'crates.io/foo@1.0.0'"
            ),
            1,
            "{b}"
        );
        assert_eq!(
            count(
                &mut s,
                "SELECT COUNT(*) FROM pipeline_runs WHERE status = 'passed'"
            ),
            1,
            "{b}"
        );
        assert_eq!(
            count(&mut s, "SELECT COUNT(*) FROM pipeline_steps"),
            2,
            "{b}"
        );
        assert_eq!(
            count(
                &mut s,
                "SELECT COUNT(*) FROM gate_decisions WHERE scanner = 'deps' AND passed = 1"
            ),
            1,
            "{b}"
        );
        assert_eq!(
            count(&mut s, "SELECT COUNT(*) FROM events WHERE kind = 'drift'"),
            1,
            "{b}"
        );
        assert_eq!(count(&mut s, "SELECT MAX(seq) FROM ledger"), 3, "{b}");
        let v = s.verify().unwrap();
        assert_eq!(v.entries, 3, "{b}");
        assert_eq!(v.problem, None, "{b}");
        assert_eq!(v.head.clone().unwrap().0, 3, "{b}");
        assert_eq!(s.ledger_hash(3).unwrap(), v.head.map(|h| h.1), "{b}");
        assert_eq!(s.ledger_hash(4).unwrap(), None, "{b}");
    }
}

#[test]
fn both_backends_chain_the_same_hashes() {
    // Same inputs, same times: the ledger is byte-for-byte the same on both.
    let heads: Vec<_> = backends("both_backends_chain_the_same_hashes")
        .iter()
        .map(|db| filled(db).verify().unwrap().head)
        .collect();
    assert!(heads.windows(2).all(|w| w[0] == w[1]), "{heads:?}");
}

#[test]
fn first_seen_is_kept_across_scans_of_the_same_target() {
    for db in backends("first_seen_is_kept_across_scans_of_the_same_target") {
        let mut s = db.open();
        for (name, target, time) in [
            ("1", "app", "2026-01-01"),
            ("2", "app", "2026-01-05"),
            ("3", "other", "2026-01-06"),
        ] {
            s.ingest_json(name, &report(target, vec![finding("f1", "high")]), t(time))
                .unwrap();
        }
        let firsts = s
            .query_raw_strings("SELECT first_seen || ' ' || last_seen FROM findings ORDER BY id")
            .unwrap();
        assert_eq!(
            firsts[1].as_deref(),
            Some("2026-01-01T00:00:00Z 2026-01-05T00:00:00Z"),
            "{}",
            db.backend
        );
        assert_eq!(
            firsts[2].as_deref(),
            Some("2026-01-06T00:00:00Z 2026-01-06T00:00:00Z"),
            "another target starts afresh"
        );
    }
}

#[test]
fn a_run_recorded_twice_is_stored_once() {
    for db in backends("a_run_recorded_twice_is_stored_once") {
        let mut s = db.open();
        let r = run_record("r1", "2026-01-02T10:00:00Z", "failed");
        assert!(s.ingest_json("a", &r, None).unwrap().seq.is_some());
        assert_eq!(s.ingest_json("a", &r, None).unwrap().seq, None);
        assert_eq!(count(&mut s, "SELECT COUNT(*) FROM pipeline_runs"), 1);
        assert_eq!(count(&mut s, "SELECT COUNT(*) FROM ledger"), 1);
    }
}

#[test]
fn bad_inputs_are_named_and_leave_nothing_behind() {
    for db in backends("bad_inputs_are_named_and_leave_nothing_behind") {
        let mut s = db.open();
        for (text, want) in [
            ("{not json", "not valid JSON"),
            (r#"{"a":1}"#, "no \"schema\""),
            (
                r#"{"schema":"other/v1"}"#,
                "unsupported schema \"other/v1\"",
            ),
            (
                r#"{"schema":"shipgate.report/v1","scanner":"x"}"#,
                "not a valid shipgate.report/v1",
            ),
            (
                r#"{"schema":"shipgate.event/v1","kind":"drift","time":"yesterday"}"#,
                "is not RFC 3339",
            ),
        ] {
            let e = s.ingest_json("in.json", text, None).unwrap_err();
            assert!(matches!(e, StoreError::Input { .. }), "{e}");
            let msg = e.to_string();
            assert!(msg.starts_with("in.json: ") && msg.contains(want), "{msg}");
        }
        assert_eq!(count(&mut s, "SELECT COUNT(*) FROM ledger"), 0);
    }
}

#[test]
fn a_failed_insert_rolls_back_the_whole_record() {
    for db in backends("a_failed_insert_rolls_back_the_whole_record") {
        let mut s = db.open();
        // Make the ledger append fail after the report row was written.
        raw(
            &db,
            if db.backend == "sqlite" {
                "CREATE TRIGGER no_ledger BEFORE INSERT ON ledger BEGIN SELECT RAISE(ABORT, 'blocked'); END;"
            } else {
                "CREATE FUNCTION no_ledger() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'blocked'; END $$;
                 CREATE TRIGGER no_ledger BEFORE INSERT ON ledger FOR EACH ROW EXECUTE FUNCTION no_ledger();"
            },
        );
        let e = s
            .ingest_json("a", &report("app", vec![finding("f1", "low")]), None)
            .unwrap_err();
        assert!(e.to_string().contains("blocked"), "{e}");
        assert!(!e.is_connection(), "{e}");
        assert_eq!(count(&mut s, "SELECT COUNT(*) FROM scan_reports"), 0);
        assert_eq!(count(&mut s, "SELECT COUNT(*) FROM findings"), 0);
        // The connection is still usable after the rollback.
        s.execute_raw(if db.backend == "sqlite" {
            "DROP TRIGGER no_ledger"
        } else {
            "DROP TRIGGER no_ledger ON ledger"
        })
        .unwrap();
        s.ingest_json("e", &event("drift", "2026-01-01T00:00:00Z"), None)
            .unwrap();
    }
}

#[test]
fn a_corrupt_database_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("broken.db");
    std::fs::write(&db, b"this is not a sqlite database, just some text...........................................................").unwrap();
    let e = Store::open(&db).unwrap_err();
    assert!(matches!(e, StoreError::Open { .. }));
    let msg = e.to_string();
    assert!(
        msg.contains("broken.db: cannot open the store database"),
        "{msg}"
    );
    assert!(msg.contains("not a database"), "{msg}");
}

#[test]
fn a_newer_schema_is_refused() {
    for db in backends("a_newer_schema_is_refused") {
        drop(db.open());
        raw(
            &db,
            "INSERT INTO schema_migrations (version, applied_at) VALUES (99, '2030-01-01T00:00:00Z')",
        );
        let e = Store::connect(&db.location).unwrap_err();
        assert!(e.to_string().contains("schema version 99 is newer"), "{e}");
    }
}

#[test]
fn connect_parses_locations() {
    use shipgate_store::Location;
    assert_eq!(
        Location::parse("sqlite:/x/s.db").unwrap(),
        Location::Sqlite("/x/s.db".into())
    );
    assert_eq!(
        Location::parse("sqlite:///x/s.db").unwrap(),
        Location::Sqlite("/x/s.db".into())
    );
    assert_eq!(
        Location::parse("s.db").unwrap(),
        Location::Sqlite("s.db".into())
    );
    assert!(matches!(
        Location::parse("postgresql://u@h/db").unwrap(),
        Location::Postgres(_)
    ));
    let e = Location::parse("mysql://u:hunter2@h/db")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unsupported database URL") && !e.contains("hunter2"),
        "{e}"
    );
    assert!(Location::parse("sqlite:").is_err());
}

#[test]
fn concurrent_writers_lose_nothing_and_the_chain_holds() {
    for db in backends("concurrent_writers_lose_nothing_and_the_chain_holds") {
        drop(db.open());
        let threads: Vec<_> = (0..6)
            .map(|w| {
                let loc = db.location.clone();
                std::thread::spawn(move || {
                    // Each writer has its own connection, as separate processes would.
                    let mut s = Store::connect(&loc).unwrap();
                    for i in 0..40 {
                        let text = if i % 2 == 0 {
                            report(
                                &format!("t{w}"),
                                vec![finding(&format!("{w}-{i}"), "medium")],
                            )
                        } else {
                            run_record(&format!("w{w}-{i}"), "2026-02-01T00:00:00Z", "passed")
                        };
                        s.ingest_json("x", &text, None).unwrap();
                    }
                })
            })
            .collect();
        for th in threads {
            th.join().unwrap();
        }
        let mut s = db.open();
        let b = db.backend;
        assert_eq!(
            count(&mut s, "SELECT COUNT(*) FROM scan_reports"),
            120,
            "{b}"
        );
        assert_eq!(
            count(&mut s, "SELECT COUNT(*) FROM pipeline_runs"),
            120,
            "{b}"
        );
        assert_eq!(count(&mut s, "SELECT COUNT(*) FROM ledger"), 240, "{b}");
        let v = s.verify().unwrap();
        assert_eq!((v.entries, v.problem), (240, None), "{b}");
    }
}

/// For each backend: fill it, tamper with `sql` (SQLite form, PostgreSQL form), and return
/// the problem verify reports.
fn tampered(test: &str, sqlite: &str, postgres: &str) -> Vec<(&'static str, i64, String)> {
    backends(test)
        .iter()
        .map(|db| {
            drop(filled(db));
            raw(
                db,
                if db.backend == "sqlite" {
                    sqlite
                } else {
                    postgres
                },
            );
            let p = db.open().verify().unwrap().problem.unwrap();
            (db.backend, p.seq, p.message)
        })
        .collect()
}

#[test]
fn verify_detects_an_edited_record() {
    let sql = "UPDATE events SET body = replace(body, 'web', 'api')";
    for (b, seq, msg) in tampered("verify_detects_an_edited_record", sql, sql) {
        assert_eq!(seq, 3, "{b}");
        assert!(msg.contains("event record 1 was edited"), "{b}: {msg}");
    }
}

#[test]
fn verify_detects_an_edited_record_time() {
    let sql = "UPDATE scan_reports SET time = '2025-12-01T00:00:00Z'";
    for (b, seq, msg) in tampered("verify_detects_an_edited_record_time", sql, sql) {
        assert_eq!(seq, 1, "{b}");
        assert!(msg.contains("scan-report record 1 time"), "{b}: {msg}");
    }
}

#[test]
fn verify_detects_an_edited_ledger_entry() {
    let sql = "UPDATE ledger SET kind = 'event' WHERE seq = 2";
    for (b, seq, msg) in tampered("verify_detects_an_edited_ledger_entry", sql, sql) {
        assert_eq!(seq, 2, "{b}");
        assert!(msg.contains("entry hash"), "{b}: {msg}");
    }
}

#[test]
fn verify_detects_a_deleted_ledger_row() {
    let sql = "DELETE FROM ledger WHERE seq = 2";
    for (b, seq, msg) in tampered("verify_detects_a_deleted_ledger_row", sql, sql) {
        assert_eq!(seq, 2, "{b}");
        assert!(msg.contains("entries 2..2 are missing"), "{b}: {msg}");
    }
}

#[test]
fn verify_detects_a_deleted_record_row() {
    let sql = "DELETE FROM gate_decisions; DELETE FROM pipeline_steps; DELETE FROM pipeline_runs;";
    for (b, seq, msg) in tampered("verify_detects_a_deleted_record_row", sql, sql) {
        assert_eq!(seq, 2, "{b}");
        assert!(
            msg.contains("pipeline-run record 1 is missing"),
            "{b}: {msg}"
        );
    }
}

#[test]
fn verify_detects_two_swapped_ledger_rows() {
    let sql = "UPDATE ledger SET seq = -1 WHERE seq = 2;
               UPDATE ledger SET seq = 2 WHERE seq = 3;
               UPDATE ledger SET seq = 3 WHERE seq = -1;";
    for (b, seq, msg) in tampered("verify_detects_two_swapped_ledger_rows", sql, sql) {
        assert_eq!(seq, 2, "{b}");
        assert!(msg.contains("prev_hash"), "{b}: {msg}");
    }
}

#[test]
fn verify_detects_a_rewritten_chain_tail_only_through_the_head() {
    // Recomputing every hash after an edit yields a consistent chain: verify reports the new
    // head, which no longer matches the head hash exported earlier.
    for db in backends("verify_detects_a_rewritten_chain_tail_only_through_the_head") {
        let mut s = filled(&db);
        let before = s.verify().unwrap().head.unwrap();
        drop(s);
        raw(&db, "DELETE FROM ledger WHERE seq = 3");
        let after = db.open().verify().unwrap();
        assert_eq!(after.problem, None);
        assert_ne!(after.head.unwrap(), before);
    }
}

#[test]
fn verify_reads_long_ledgers_in_pages() {
    // More entries than one page of verify (5000), so that paging is exercised: an edit
    // past the first page is still found at its seq.
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("long.db")).unwrap();
    let t0 = parse_time("2026-01-01").unwrap();
    for i in 0..5200 {
        let at = t0.checked_add(jiff::SignedDuration::from_secs(i)).unwrap();
        s.insert_event("drift", at, &json!({"i": i})).unwrap();
    }
    let v = s.verify().unwrap();
    assert_eq!((v.entries, v.problem), (5200, None));
    s.execute_raw("UPDATE events SET body = replace(body, '5100', '5101') WHERE id = 5101")
        .unwrap();
    let p = s.verify().unwrap().problem.unwrap();
    assert_eq!(p.seq, 5101, "{}", p.message);
}

#[test]
fn metrics_from_known_records() {
    let all: Vec<_> = backends("metrics_from_known_records")
        .iter()
        .map(|db| metrics_of_known_records(db.open()))
        .collect();
    // The same figures from both backends.
    assert!(all.windows(2).all(|w| w[0] == w[1]), "{all:#?}");
}

fn metrics_of_known_records(
    mut s: Store,
) -> (
    shipgate_store::metrics::Metrics,
    shipgate_store::metrics::Metrics,
) {
    let ingest = |s: &mut Store, doc: String, time: &str| {
        s.ingest_json("doc.json", &doc, t(time)).unwrap();
    };
    // Day 1: a (high) and b (critical) in app; c (medium) in lib. Day 3: app has b only.
    // Day 4: app is clean. lib is never rescanned, so c stays open.
    ingest(
        &mut s,
        report("app", vec![finding("a", "high"), finding("b", "critical")]),
        "2026-01-01T10:00:00Z",
    );
    ingest(
        &mut s,
        report("lib", vec![finding("c", "medium")]),
        "2026-01-01T11:00:00Z",
    );
    ingest(
        &mut s,
        report("app", vec![finding("b", "critical")]),
        "2026-01-03T10:00:00Z",
    );
    // A second scan of app on day 3 with the same result: the day counts use the latest one.
    ingest(
        &mut s,
        report("app", vec![finding("b", "critical")]),
        "2026-01-03T12:00:00Z",
    );
    ingest(&mut s, report("app", vec![]), "2026-01-04T10:00:00Z");
    for (id, day, status) in [
        ("r1", "01", "passed"),
        ("r2", "02", "failed"),
        ("r3", "03", "passed"),
    ] {
        ingest(
            &mut s,
            run_record(id, &format!("2026-01-{day}T09:00:00Z"), status),
            "2026-01-05T00:00:00Z",
        );
    }
    ingest(
        &mut s,
        event("drift", "2026-01-02T00:00:00Z"),
        "2026-01-02T00:00:00Z",
    );
    let denial =
        json!({"schema": "shipgate.event/v1", "kind": "admission", "time": "2026-01-02T01:00:00Z",
                        "body": {"allowed": false, "uid": "x"}})
        .to_string();
    ingest(&mut s, denial, "2026-01-02T01:00:00Z");
    let admitted =
        json!({"schema": "shipgate.event/v1", "kind": "admission", "time": "2026-01-02T02:00:00Z",
                          "body": {"allowed": true, "uid": "y"}})
        .to_string();
    ingest(&mut s, admitted, "2026-01-02T02:00:00Z");

    let m = s.metrics(None).unwrap();
    assert_eq!((m.runs_total, m.runs_passed), (3, 2));
    assert!((m.build_success_rate.unwrap() - 2.0 / 3.0).abs() < 1e-9);
    let days: Vec<(&str, u64, u64, u64)> = m
        .findings_by_day
        .iter()
        .map(|d| (d.day.as_str(), d.critical, d.high, d.medium))
        .collect();
    assert_eq!(
        days,
        [
            ("2026-01-01", 1, 1, 1),
            ("2026-01-03", 1, 0, 0),
            ("2026-01-04", 0, 0, 0)
        ]
    );
    let by: std::collections::HashMap<&str, &shipgate_store::metrics::Mttr> =
        m.mttr.iter().map(|x| (x.severity.as_str(), x)).collect();
    assert_eq!(by["high"].fixed, 1);
    assert_eq!(
        by["high"].mean_seconds,
        Some(2.0 * 86400.0),
        "a: day 1 -> day 3"
    );
    assert_eq!(
        by["critical"].mean_seconds,
        Some(3.0 * 86400.0),
        "b: day 1 -> day 4"
    );
    assert_eq!(
        (
            by["medium"].fixed,
            by["medium"].open,
            by["medium"].mean_seconds
        ),
        (0, 1, None)
    );
    assert_eq!(m.drift_events, 1);
    assert_eq!(m.admission_denials, 1);
    assert_eq!(m.gate_failures, 1);
    // `since` drops what came before.
    let later = s.metrics(t("2026-01-03")).unwrap();
    assert_eq!(later.runs_total, 1);
    assert_eq!(later.drift_events, 0);
    assert_eq!(later.findings_by_day.len(), 2);
    (m, later)
}

#[test]
fn postgres_killed_mid_write_leaves_only_complete_chained_records() {
    let Some(mut pg) = shipgate_testenv::postgres_or_skip(
        "postgres_killed_mid_write_leaves_only_complete_chained_records",
    ) else {
        return;
    };
    let url = pg.url();
    drop(Store::connect(&url).unwrap());
    let writer = {
        let url = url.clone();
        std::thread::spawn(move || {
            let mut s = Store::connect(&url).unwrap();
            let mut ok = 0u64;
            for i in 0..100_000 {
                // Three findings per report: a half-written report would show fewer.
                let doc = report(
                    &format!("t{}", i % 7),
                    (0..3)
                        .map(|j| finding(&format!("{i}-{j}"), "low"))
                        .collect(),
                );
                match s.ingest_json("batch.json", &doc, None) {
                    Ok(_) => ok += 1,
                    Err(e) => return (ok, Some(e)),
                }
            }
            (ok, None)
        })
    };
    // Let it write for a while, then crash the server under it.
    let start = std::time::Instant::now();
    loop {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let n = Store::connect(&url).ok().and_then(|mut s| {
            s.query_raw_i64("SELECT COUNT(*) FROM ledger")
                .ok()
                .flatten()
        });
        if n.unwrap_or(0) >= 30 || start.elapsed().as_secs() > 60 {
            break;
        }
    }
    pg.kill();
    let (ok, err) = writer.join().unwrap();
    let err = err.expect("the writer must fail when the server dies");
    assert!(err.is_connection(), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&format!("127.0.0.1:{}", pg.port())), "{msg}");
    assert!(msg.contains("***") && !msg.contains(pg.password()), "{msg}");
    pg.restart().unwrap();
    let mut s = Store::connect(&url).unwrap();
    let reports = count(&mut s, "SELECT COUNT(*) FROM scan_reports");
    // Every acknowledged record is there; at most the one in flight may also have committed.
    assert!(
        reports == ok as i64 || reports == ok as i64 + 1,
        "{reports} vs {ok}"
    );
    assert_eq!(
        count(
            &mut s,
            "SELECT COUNT(*) FROM scan_reports r WHERE (SELECT COUNT(*) FROM findings f WHERE f.report_id = r.id) <> 3"
        ),
        0,
        "a half-written report"
    );
    assert_eq!(count(&mut s, "SELECT COUNT(*) FROM ledger"), reports);
    let v = s.verify().unwrap();
    assert_eq!((v.entries, v.problem), (reports as u64, None));
    // And the store takes writes again.
    s.ingest_json("after", &event("drift", "2026-03-01T00:00:00Z"), None)
        .unwrap();
    assert_eq!(s.verify().unwrap().problem, None);
}

#[test]
fn postgres_wrong_password_and_unreachable_server_are_clear_errors() {
    let Some(url) = shipgate_testenv::shared_database_or_skip(
        "postgres_wrong_password_and_unreachable_server_are_clear_errors",
    ) else {
        return;
    };
    let pg = shipgate_testenv::shared_postgres().unwrap();
    let wrong = url.replace(pg.password(), "not-the-password");
    let e = Store::connect(&wrong).unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(e, StoreError::Connect { .. }) && e.is_connection(),
        "{e:?}"
    );
    assert!(
        msg.contains("cannot connect to the store database"),
        "{msg}"
    );
    assert!(msg.contains("password authentication failed"), "{msg}");
    assert!(!msg.contains("not-the-password"), "{msg}");

    let port = shipgate_testenv::process::free_port().unwrap();
    let nowhere = format!("postgres://shipgate:secret-pw@127.0.0.1:{port}/db?sslmode=disable");
    let e = Store::connect(&nowhere).unwrap_err();
    let msg = e.to_string();
    assert!(e.is_connection(), "{e:?}");
    assert!(
        msg.starts_with(&format!("postgres://shipgate:***@127.0.0.1:{port}/db")),
        "{msg}"
    );
    assert!(!msg.contains("secret-pw"), "{msg}");
}

#[test]
fn postgres_over_the_unix_socket() {
    let Some(_) = shipgate_testenv::shared_database_or_skip("postgres_over_the_unix_socket") else {
        return;
    };
    let pg = shipgate_testenv::shared_postgres().unwrap();
    let mut s = Store::connect(&pg.socket_url()).unwrap();
    assert_eq!(s.backend_name(), "postgres");
    assert_eq!(s.verify().unwrap().problem, None);
}

/// Every dashboard read of `shipgate_store::query` on known records, as JSON: pages walked
/// older and back newer, a run's detail, open findings, counts, the trend and the ledger.
fn dashboard_reads(mut s: Store) -> Value {
    use shipgate_store::query::{FindingFilter, PageRequest, RunFilter};
    for i in 0..7 {
        let status = if i % 3 == 0 { "failed" } else { "passed" };
        s.ingest_json(
            &format!("run{i}.json"),
            &run_record(
                &format!("r{i}"),
                &format!("2026-02-0{}T10:00:00Z", i + 1),
                status,
            ),
            None,
        )
        .unwrap();
    }
    s.ingest_json(
        "a1.json",
        &report("app", vec![finding("f1", "high"), finding("f2", "low")]),
        t("2026-02-01T12:00:00Z"),
    )
    .unwrap();
    // The newer report of the same target is what is open now: f2 is fixed.
    s.ingest_json(
        "a2.json",
        &report(
            "app",
            vec![finding("f1", "high"), finding("f3", "critical")],
        ),
        t("2026-02-03T12:00:00Z"),
    )
    .unwrap();
    s.ingest_json(
        "b.json",
        &report("lib", vec![finding("g1", "medium")]),
        t("2026-02-02T12:00:00Z"),
    )
    .unwrap();
    for (i, kind) in ["drift", "gitops-sync", "drift", "admission", "drift"]
        .iter()
        .enumerate()
    {
        s.ingest_json(
            &format!("e{i}.json"),
            &event(kind, &format!("2026-02-0{}T00:00:00Z", i + 1)),
            None,
        )
        .unwrap();
    }

    // Walk the runs three at a time to the oldest page, then back to the newest.
    let mut older = Vec::new();
    let mut page = s
        .runs_page(&RunFilter::default(), PageRequest::first(3))
        .unwrap();
    assert_eq!(page.newer, None);
    loop {
        older.extend(page.items.iter().map(|r| r.id));
        let Some(before) = page.older else { break };
        page = s
            .runs_page(
                &RunFilter::default(),
                PageRequest {
                    before: Some(before),
                    after: None,
                    limit: 3,
                },
            )
            .unwrap();
    }
    let mut ids_desc = older.clone();
    ids_desc.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(older, ids_desc, "newest first, nothing skipped or repeated");
    assert_eq!(older.len(), 7);
    let mut newer = page.items.iter().map(|r| r.id).collect::<Vec<_>>();
    while let Some(after) = page.newer {
        page = s
            .runs_page(
                &RunFilter::default(),
                PageRequest {
                    before: None,
                    after: Some(after),
                    limit: 3,
                },
            )
            .unwrap();
        newer.splice(0..0, page.items.iter().map(|r| r.id));
    }
    assert_eq!(newer, older, "walking back newer reaches the first page");
    let failed = s
        .runs_page(
            &RunFilter {
                status: Some("failed".into()),
            },
            PageRequest::first(50),
        )
        .unwrap();
    assert_eq!(failed.items.len(), 3);
    assert!(
        failed
            .items
            .iter()
            .all(|r| r.status == "failed" && r.gate_failures == 1)
    );
    let detail = s.run_detail(older[0]).unwrap().unwrap();
    assert_eq!(detail.steps.len(), 2);
    assert!(detail.steps[1].gate.is_some());
    assert!(s.run_detail(9999).unwrap().is_none());

    let open = s
        .open_findings_page(&FindingFilter::default(), PageRequest::first(50))
        .unwrap();
    let mut open_fps: Vec<_> = open.items.iter().map(|f| f.fingerprint.as_str()).collect();
    open_fps.sort_unstable();
    assert_eq!(
        open_fps,
        ["f1", "f3", "g1"],
        "the latest report of each target"
    );
    let high = s
        .open_findings_page(
            &FindingFilter {
                severity: Some("high".into()),
            },
            PageRequest::first(50),
        )
        .unwrap();
    assert_eq!(high.items.len(), 1);
    assert_eq!(high.items[0].first_seen, "2026-02-01T12:00:00Z");
    let counts = s.latest_counts().unwrap();
    assert_eq!(
        (counts.critical, counts.high, counts.medium, counts.low),
        (1, 1, 1, 0)
    );
    let trend = s.findings_trend("2026-02-02").unwrap();
    assert_eq!(
        trend.iter().map(|d| d.day.as_str()).collect::<Vec<_>>(),
        ["2026-02-02", "2026-02-03"]
    );

    let drift = s
        .events_page(&["drift", "gitops-sync"], PageRequest::first(2))
        .unwrap();
    assert_eq!(drift.items.len(), 2);
    assert!(drift.older.is_some());
    let rest = s
        .events_page(
            &["drift", "gitops-sync"],
            PageRequest {
                before: drift.older,
                after: None,
                limit: 2,
            },
        )
        .unwrap();
    assert_eq!(rest.items.len(), 2);
    assert_eq!(rest.older, None);
    let ledger = s.ledger_page(PageRequest::first(5)).unwrap();
    let head = s.ledger_head().unwrap().unwrap();
    assert_eq!(ledger.items[0].seq, head.0);
    assert_eq!(ledger.items[0].hash, head.1);
    assert_eq!(head.0, 15);
    let kinds = s.event_counts(&["drift", "admission", "none"]).unwrap();
    assert_eq!(
        kinds,
        [
            ("drift".into(), 3),
            ("admission".into(), 1),
            ("none".into(), 0)
        ]
    );

    json!({
        "runs": older, "failed": failed, "detail": detail, "open": open, "counts": counts,
        "trend": trend, "drift": drift, "rest": rest, "ledger": ledger, "kinds": kinds,
    })
}

#[test]
fn dashboard_reads_page_correctly_and_agree_on_both_backends() {
    let all: Vec<_> = backends("dashboard_reads_page_correctly_and_agree_on_both_backends")
        .iter()
        .map(|db| dashboard_reads(db.open()))
        .collect();
    assert!(all.windows(2).all(|w| w[0] == w[1]), "{all:#?}");
}

#[test]
fn reports_with_the_same_time_count_in_recording_order() {
    for db in backends("reports_with_the_same_time_count_in_recording_order") {
        let mut s = db.open();
        // A finding, then its fix, scanned within the same second.
        for r in [
            report("app", vec![finding("f1", "high")]),
            report("app", vec![]),
        ] {
            s.ingest_json("r.json", &r, t("2026-03-01T10:00:00Z"))
                .unwrap();
        }
        let m = s.metrics(None).unwrap();
        assert_eq!(m.findings_by_day.len(), 1, "{}", db.backend);
        assert_eq!(
            m.findings_by_day[0].high, 0,
            "{}: the fix is the latest",
            db.backend
        );
        assert_eq!((m.mttr[0].fixed, m.mttr[0].open), (1, 0), "{}", db.backend);
        assert_eq!(m.mttr[0].mean_seconds, Some(0.0), "{}", db.backend);
        assert_eq!(s.latest_counts().unwrap().high, 0, "{}", db.backend);
        assert_eq!(s.findings_trend("2026-03-01").unwrap(), m.findings_by_day);
    }
}
