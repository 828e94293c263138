//! The store against real SQLite files: ingest, transactions, concurrent writers, and the
//! ledger's detection of edited, deleted and reordered rows.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::path::Path;

use serde_json::{Value, json};
use shipgate_store::{Store, StoreError, parse_time};

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

fn count(store: &Store, sql: &str) -> i64 {
    store.connection().query_row(sql, [], |r| r.get(0)).unwrap()
}

/// A store with a report, a run and an event: ledger entries 1, 2, 3.
fn filled(path: &Path) -> Store {
    let mut s = Store::open(path).unwrap();
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

fn raw(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

#[test]
fn open_sets_wal_foreign_keys_and_records_migrations() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let s = Store::open(&db).unwrap();
    let mode: String = s
        .connection()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(count(&s, "PRAGMA foreign_keys"), 1);
    assert_eq!(s.schema_version().unwrap(), 2);
    drop(s);
    // Reopening applies nothing twice.
    let s = Store::open(&db).unwrap();
    assert_eq!(count(&s, "SELECT COUNT(*) FROM schema_migrations"), 2);
}

#[test]
fn ingest_fills_every_table_and_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let s = filled(&dir.path().join("s.db"));
    assert_eq!(count(&s, "SELECT COUNT(*) FROM scan_reports"), 1);
    assert_eq!(count(&s, "SELECT high FROM scan_reports"), 1);
    assert_eq!(count(&s, "SELECT gate_passed FROM scan_reports"), 0);
    assert_eq!(
        count(
            &s,
            "SELECT COUNT(*) FROM findings WHERE advisory_id = 'GHSA-f1' AND package = 'crates.io/foo@1.0.0'"
        ),
        1
    );
    assert_eq!(
        count(
            &s,
            "SELECT COUNT(*) FROM pipeline_runs WHERE status = 'passed'"
        ),
        1
    );
    assert_eq!(count(&s, "SELECT COUNT(*) FROM pipeline_steps"), 2);
    assert_eq!(
        count(
            &s,
            "SELECT COUNT(*) FROM gate_decisions WHERE scanner = 'deps' AND passed = 1"
        ),
        1
    );
    assert_eq!(
        count(&s, "SELECT COUNT(*) FROM events WHERE kind = 'drift'"),
        1
    );
    assert_eq!(count(&s, "SELECT MAX(seq) FROM ledger"), 3);
    let v = s.verify().unwrap();
    assert_eq!(v.entries, 3);
    assert_eq!(v.problem, None);
    assert_eq!(v.head.unwrap().0, 3);
}

#[test]
fn first_seen_is_kept_across_scans_of_the_same_target() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("s.db")).unwrap();
    s.ingest_json(
        "1",
        &report("app", vec![finding("f1", "high")]),
        t("2026-01-01"),
    )
    .unwrap();
    s.ingest_json(
        "2",
        &report("app", vec![finding("f1", "high")]),
        t("2026-01-05"),
    )
    .unwrap();
    s.ingest_json(
        "3",
        &report("other", vec![finding("f1", "high")]),
        t("2026-01-06"),
    )
    .unwrap();
    let firsts: Vec<(String, String)> = s
        .connection()
        .prepare("SELECT first_seen, last_seen FROM findings ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        firsts[1],
        ("2026-01-01T00:00:00Z".into(), "2026-01-05T00:00:00Z".into())
    );
    assert_eq!(
        firsts[2].0, "2026-01-06T00:00:00Z",
        "another target starts afresh"
    );
}

#[test]
fn a_run_recorded_twice_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("s.db")).unwrap();
    let r = run_record("r1", "2026-01-02T10:00:00Z", "failed");
    assert!(s.ingest_json("a", &r, None).unwrap().seq.is_some());
    assert_eq!(s.ingest_json("a", &r, None).unwrap().seq, None);
    assert_eq!(count(&s, "SELECT COUNT(*) FROM pipeline_runs"), 1);
    assert_eq!(count(&s, "SELECT COUNT(*) FROM ledger"), 1);
}

#[test]
fn bad_inputs_are_named_and_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("s.db")).unwrap();
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
    assert_eq!(count(&s, "SELECT COUNT(*) FROM ledger"), 0);
}

#[test]
fn a_failed_insert_rolls_back_the_whole_record() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let mut s = Store::open(&db).unwrap();
    // Make the ledger append fail after the report row was written.
    raw(&db)
        .execute_batch(
            "CREATE TRIGGER no_ledger BEFORE INSERT ON ledger BEGIN SELECT RAISE(ABORT, 'blocked'); END;",
        )
        .unwrap();
    let e = s
        .ingest_json("a", &report("app", vec![finding("f1", "low")]), None)
        .unwrap_err();
    assert!(e.to_string().contains("blocked"), "{e}");
    assert_eq!(count(&s, "SELECT COUNT(*) FROM scan_reports"), 0);
    assert_eq!(count(&s, "SELECT COUNT(*) FROM findings"), 0);
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
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    drop(Store::open(&db).unwrap());
    raw(&db)
        .execute(
            "INSERT INTO schema_migrations VALUES (99, '2030-01-01T00:00:00Z')",
            [],
        )
        .unwrap();
    let e = Store::open(&db).unwrap_err();
    assert!(e.to_string().contains("schema version 99 is newer"), "{e}");
}

#[test]
fn concurrent_writers_lose_nothing_and_the_chain_holds() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    drop(Store::open(&db).unwrap());
    let threads: Vec<_> = (0..6)
        .map(|w| {
            let db = db.clone();
            std::thread::spawn(move || {
                // Each writer has its own connection, as separate processes would.
                let mut s = Store::open(&db).unwrap();
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
    let s = Store::open(&db).unwrap();
    assert_eq!(count(&s, "SELECT COUNT(*) FROM scan_reports"), 120);
    assert_eq!(count(&s, "SELECT COUNT(*) FROM pipeline_runs"), 120);
    assert_eq!(count(&s, "SELECT COUNT(*) FROM ledger"), 240);
    let v = s.verify().unwrap();
    assert_eq!((v.entries, v.problem), (240, None));
}

fn problem(db: &Path) -> (i64, String) {
    let p = Store::open(db).unwrap().verify().unwrap().problem.unwrap();
    (p.seq, p.message)
}

#[test]
fn verify_detects_an_edited_record() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    drop(filled(&db));
    raw(&db)
        .execute("UPDATE events SET body = replace(body, 'web', 'api')", [])
        .unwrap();
    let (seq, msg) = problem(&db);
    assert_eq!(seq, 3);
    assert!(msg.contains("event record 1 was edited"), "{msg}");
}

#[test]
fn verify_detects_an_edited_record_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    drop(filled(&db));
    raw(&db)
        .execute("UPDATE scan_reports SET time = '2025-12-01T00:00:00Z'", [])
        .unwrap();
    let (seq, msg) = problem(&db);
    assert_eq!(seq, 1);
    assert!(msg.contains("scan-report record 1 time"), "{msg}");
}

#[test]
fn verify_detects_an_edited_ledger_entry() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    drop(filled(&db));
    raw(&db)
        .execute("UPDATE ledger SET kind = 'event' WHERE seq = 2", [])
        .unwrap();
    let (seq, msg) = problem(&db);
    assert_eq!(seq, 2);
    assert!(msg.contains("entry hash"), "{msg}");
}

#[test]
fn verify_detects_a_deleted_ledger_row() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    drop(filled(&db));
    raw(&db)
        .execute("DELETE FROM ledger WHERE seq = 2", [])
        .unwrap();
    let (seq, msg) = problem(&db);
    assert_eq!(seq, 2);
    assert!(msg.contains("entries 2..2 are missing"), "{msg}");
}

#[test]
fn verify_detects_a_deleted_record_row() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    drop(filled(&db));
    let c = raw(&db);
    c.execute("DELETE FROM gate_decisions", []).unwrap();
    c.execute("DELETE FROM pipeline_steps", []).unwrap();
    c.execute("DELETE FROM pipeline_runs", []).unwrap();
    let (seq, msg) = problem(&db);
    assert_eq!(seq, 2);
    assert!(msg.contains("pipeline-run record 1 is missing"), "{msg}");
}

#[test]
fn verify_detects_two_swapped_ledger_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    drop(filled(&db));
    raw(&db)
        .execute_batch(
            "UPDATE ledger SET seq = -1 WHERE seq = 2;
             UPDATE ledger SET seq = 2 WHERE seq = 3;
             UPDATE ledger SET seq = 3 WHERE seq = -1;",
        )
        .unwrap();
    let (seq, msg) = problem(&db);
    assert_eq!(seq, 2);
    assert!(msg.contains("prev_hash"), "{msg}");
}

#[test]
fn verify_detects_a_rewritten_chain_tail_only_through_the_head() {
    // Recomputing every hash after an edit yields a consistent chain: verify reports the new
    // head, which no longer matches the head hash exported earlier.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let s = filled(&db);
    let before = s.verify().unwrap().head.unwrap();
    drop(s);
    raw(&db)
        .execute("DELETE FROM ledger WHERE seq = 3", [])
        .unwrap();
    let after = Store::open(&db).unwrap().verify().unwrap();
    assert_eq!(after.problem, None);
    assert_ne!(after.head.unwrap(), before);
}

#[test]
fn metrics_from_known_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("m.db")).unwrap();
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
}
