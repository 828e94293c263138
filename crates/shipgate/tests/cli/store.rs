//! `shipgate store ingest` and `shipgate audit verify` against real SQLite files.

use std::path::Path;

use crate::kit::{run_in, run_with_env};

const REPORT: &str = r#"{"schema":"shipgate.report/v1","tool":{"name":"shipgate","version":"0.1.0"},
"scanner":"deps","target":"app","findings":[],"errors":[],
"summary":{"critical":0,"high":0,"medium":0,"low":0,"info":0,"suppressed":0},
"gate":{"fail_on":"high","passed":true}}"#;
const EVENT: &str =
    r#"{"schema":"shipgate.event/v1","kind":"drift","time":"2026-01-03T00:00:00Z","body":{}}"#;

fn write_inputs(dir: &Path) {
    std::fs::write(dir.join("report.json"), REPORT).unwrap();
    std::fs::write(dir.join("event.json"), EVENT).unwrap();
}

#[test]
fn ingest_then_verify_intact_then_tampered() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let run = run_in(
        dir.path(),
        &[
            "store",
            "ingest",
            "report.json",
            "event.json",
            "--database",
            "sqlite:s.db",
            "--time",
            "2026-01-01",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("report.json: scan-report 1 (ledger seq 1)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("event.json: event 1 (ledger seq 2)"),
        "{}",
        run.stdout
    );

    let run = run_in(
        dir.path(),
        &["audit", "verify", "--database", "s.db", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["intact"], true);
    assert_eq!(run.json()["entries"], 2);

    let c = rusqlite::Connection::open(dir.path().join("s.db")).unwrap();
    c.execute(
        "UPDATE scan_reports SET body = replace(body, '\"app\"', '\"web\"')",
        [],
    )
    .unwrap();
    drop(c);
    let run = run_in(dir.path(), &["audit", "verify", "--database", "s.db"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("ledger TAMPERED at seq 1: scan-report record 1 was edited"),
        "{}",
        run.stdout
    );
}

#[test]
fn data_dir_is_the_default_location() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let data = dir.path().join("data");
    let data_s = data.to_str().unwrap();
    let run = run_with_env(
        dir.path(),
        &["store", "ingest", "event.json"],
        &[("SHIPGATE_DATA_DIR", data_s)],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(data.join("shipgate.db").is_file());
    let run = run_with_env(
        dir.path(),
        &["audit", "verify"],
        &[("SHIPGATE_DATA_DIR", data_s)],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("ledger intact: 1 entries"),
        "{}",
        run.stdout
    );
}

#[test]
fn bad_files_exit_2_and_the_good_ones_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    std::fs::write(dir.path().join("junk.json"), "{\"schema\": \"nope/v1\"}").unwrap();
    let run = run_in(
        dir.path(),
        &[
            "store",
            "ingest",
            "junk.json",
            "missing.json",
            "event.json",
            "--database",
            "s.db",
        ],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("error: junk.json: unsupported schema \"nope/v1\""),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("error: missing.json: cannot read"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.contains("1 of 3 file(s) recorded"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_corrupt_database_is_exit_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    std::fs::write(dir.path().join("bad.db"), "x".repeat(4096)).unwrap();
    for args in [
        &["store", "ingest", "event.json", "--database", "bad.db"][..],
        &["audit", "verify", "--database", "bad.db"][..],
    ] {
        let run = run_in(dir.path(), args);
        assert_eq!(run.code, 2, "{args:?}");
        assert!(
            run.stderr
                .contains("bad.db: cannot open the store database: file is not a database"),
            "{}",
            run.stderr
        );
    }
    let run = run_in(dir.path(), &["audit", "verify", "--database", "none.db"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("none.db: no store database"),
        "{}",
        run.stderr
    );
}

#[test]
fn report_prints_metrics_from_recorded_scans() {
    let dir = tempfile::tempdir().unwrap();
    let finding = r#"{"fingerprint":"f1","rule_id":"GHSA-1","scanner":"deps","severity":"high","title":"t","message":"m","location":{"path":"Cargo.lock"}}"#;
    let dirty = REPORT
        .replace(r#""findings":[]"#, &format!(r#""findings":[{finding}]"#))
        .replace(r#""high":0"#, r#""high":1"#);
    std::fs::write(dir.path().join("dirty.json"), dirty).unwrap();
    write_inputs(dir.path());
    for (file, time) in [
        ("dirty.json", "2026-01-01T00:00:00Z"),
        ("report.json", "2026-01-01T06:00:00Z"),
        ("event.json", "2026-01-03"),
    ] {
        let r = run_in(
            dir.path(),
            &[
                "store",
                "ingest",
                file,
                "--database",
                "s.db",
                "--time",
                time,
            ],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let r = run_in(
        dir.path(),
        &["report", "--database", "s.db", "--format", "json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let m = r.json();
    assert_eq!(m["drift_events"], 1);
    assert_eq!(m["mttr"][0]["severity"], "high");
    assert_eq!(m["mttr"][0]["mean_seconds"], 6.0 * 3600.0, "{m}");
    assert_eq!(
        m["findings_by_day"][0]["high"], 0,
        "the latest scan of the day is clean"
    );
    let r = run_in(dir.path(), &["report", "--database", "s.db"]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("high            1      0         6.0h"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("build success rate: no pipeline runs recorded"),
        "{}",
        r.stdout
    );
    let r = run_in(
        dir.path(),
        &["report", "--database", "s.db", "--since", "yesterday"],
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--since"), "{}", r.stderr);
}

#[test]
fn an_anchor_catches_truncation() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let r = run_in(
        dir.path(),
        &[
            "store",
            "ingest",
            "report.json",
            "event.json",
            "--database",
            "s.db",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run_in(
        dir.path(),
        &["audit", "verify", "--database", "s.db", "--format", "json"],
    );
    let head = r.json()["head"].clone();
    let anchor = format!("{}:{}", head["seq"], head["hash"].as_str().unwrap());
    let ok = run_in(
        dir.path(),
        &["audit", "verify", "--database", "s.db", "--anchor", &anchor],
    );
    assert_eq!(ok.code, 0, "{}", ok.stdout);
    // Drop the newest record and its ledger entry: the remaining chain is consistent...
    let c = rusqlite::Connection::open(dir.path().join("s.db")).unwrap();
    c.execute("DELETE FROM ledger WHERE seq = 2", []).unwrap();
    c.execute("DELETE FROM events", []).unwrap();
    drop(c);
    let plain = run_in(dir.path(), &["audit", "verify", "--database", "s.db"]);
    assert_eq!(
        plain.code, 0,
        "a chain alone cannot see a cut tail: {}",
        plain.stdout
    );
    // ...but not with the anchor kept from before.
    let r = run_in(
        dir.path(),
        &["audit", "verify", "--database", "s.db", "--anchor", &anchor],
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("anchored entry 2 is missing"),
        "{}",
        r.stdout
    );
    let r = run_in(
        dir.path(),
        &["audit", "verify", "--database", "s.db", "--anchor", "two"],
    );
    assert_eq!(r.code, 2);
}

#[test]
fn scan_store_records_the_report_and_a_store_failure_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/app.py"), "print('hello')\n").unwrap();
    let r = run_in(
        dir.path(),
        &["scan", "secrets", "src", "--store", "--database", "s.db"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // `--record` is the same flag.
    let r = run_in(
        dir.path(),
        &["scan", "secrets", "src", "--record", "--database", "s.db"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = run_in(
        dir.path(),
        &["audit", "verify", "--database", "s.db", "--format", "json"],
    );
    assert_eq!(v.code, 0, "{}", v.stderr);
    assert_eq!(v.json()["entries"], 2);
    let c = rusqlite::Connection::open(dir.path().join("s.db")).unwrap();
    let (scanner, target): (String, String) = c
        .query_row(
            "SELECT scanner, target FROM scan_reports LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((scanner.as_str(), target.as_str()), ("secrets", "src"));
    drop(c);
    // A database that cannot be written fails the gate closed, and says so in the report.
    std::fs::write(
        dir.path().join("bad.db"),
        "not a database at all, just text",
    )
    .unwrap();
    let r = run_in(
        dir.path(),
        &[
            "scan",
            "secrets",
            "src",
            "--store",
            "--database",
            "bad.db",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("recording the report in the store") && r.stderr.contains("bad.db"),
        "{}",
        r.stderr
    );
    assert!(
        r.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("recording the report in the store"),
        "{}",
        r.stdout
    );
}

#[test]
fn the_same_commands_against_postgres() {
    let Some(url) = shipgate_testenv::shared_database_or_skip("the_same_commands_against_postgres")
    else {
        return;
    };
    let pg = shipgate_testenv::shared_postgres().unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let run = run_in(
        dir.path(),
        &[
            "store",
            "ingest",
            "report.json",
            "event.json",
            "--database",
            &url,
            "--time",
            "2026-01-01",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("event.json: event 1 (ledger seq 2)"),
        "{}",
        run.stdout
    );
    // The summary names the database without its password.
    assert!(!run.stdout.contains(pg.password()), "{}", run.stdout);
    assert!(
        run.stdout.contains("postgres://shipgate:***@127.0.0.1:"),
        "{}",
        run.stdout
    );
    // SHIPGATE_DATABASE is the same as --database.
    let run = run_with_env(
        dir.path(),
        &["audit", "verify", "--format", "json"],
        &[("SHIPGATE_DATABASE", &url)],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["intact"], true);
    assert_eq!(run.json()["entries"], 2);
    let run = run_in(
        dir.path(),
        &["report", "--database", &url, "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["drift_events"], 1);
    // Tampering through raw SQL is found.
    shipgate_store::Store::connect(&url)
        .unwrap()
        .execute_raw("UPDATE scan_reports SET body = replace(body, '\"app\"', '\"web\"')")
        .unwrap();
    let run = run_in(dir.path(), &["audit", "verify", "--database", &url]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("ledger TAMPERED at seq 1: scan-report record 1 was edited"),
        "{}",
        run.stdout
    );
}

#[test]
fn postgres_down_or_a_wrong_password_is_exit_2_with_the_password_redacted() {
    let Some(mut pg) = shipgate_testenv::postgres_or_skip(
        "postgres_down_or_a_wrong_password_is_exit_2_with_the_password_redacted",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let wrong = pg.url().replace(pg.password(), "wrong-pw");
    let run = run_in(dir.path(), &["audit", "verify", "--database", &wrong]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("cannot connect to the store database")
            && run.stderr.contains("password authentication failed")
            && run.stderr.contains("postgres://shipgate:***@127.0.0.1:")
            && !run.stderr.contains("wrong-pw"),
        "{}",
        run.stderr
    );
    let url = pg.url();
    pg.stop();
    let run = run_in(
        dir.path(),
        &["store", "ingest", "event.json", "--database", &url],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("cannot connect to the store database")
            && !run.stderr.contains(pg.password()),
        "{}",
        run.stderr
    );
    pg.restart().unwrap();
    let run = run_in(
        dir.path(),
        &["store", "ingest", "event.json", "--database", &url],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = run_in(dir.path(), &["audit", "verify", "--database", &url]);
    assert_eq!(run.code, 0, "{}", run.stdout);
}

/// Issue 14's chain on real scans: a leaked key is found and recorded, the fix is scanned and
/// recorded, `report` computes the remediation time from those two scans, the ledger verifies,
/// an evidence bundle is exported, and an edited record is then caught.
#[test]
fn real_scans_give_mttr_and_a_verified_then_tampered_ledger() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    let leak = dir.path().join("src/config.env");
    std::fs::write(
        &leak,
        "AWS_ACCESS_KEY_ID=AKIAZ7QW3RT5YU8IOP2L\nAWS_SECRET_ACCESS_KEY=Xq9vB3nL7tR2mK8pW4sY6hJ1fD5gC0aZ3eU7iO9k\n",
    )
    .unwrap();
    let scan = ["scan", "secrets", "src", "--store", "--database", "s.db"];
    let r = run_in(dir.path(), &scan);
    assert_eq!(r.code, 1, "the leak fails the gate: {}", r.stderr);
    std::fs::write(&leak, "AWS_REGION=eu-west-1\n").unwrap();
    let r = run_in(dir.path(), &scan);
    assert_eq!(r.code, 0, "{}", r.stderr);

    let r = run_in(
        dir.path(),
        &["report", "--database", "s.db", "--format", "json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let m = r.json();
    let mttr = m["mttr"].as_array().unwrap();
    assert!(!mttr.is_empty(), "{m}");
    for row in mttr {
        assert!(row["fixed"].as_u64().unwrap() >= 1, "{m}");
        let s = row["mean_seconds"].as_f64().unwrap();
        assert!(
            (0.0..600.0).contains(&s),
            "fixed between the two scans: {m}"
        );
    }
    let today = m["findings_by_day"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (today["critical"].as_u64(), today["high"].as_u64()),
        (Some(0), Some(0)),
        "the day's latest scan is clean: {m}"
    );

    let v = run_in(
        dir.path(),
        &["audit", "verify", "--database", "s.db", "--format", "json"],
    );
    assert_eq!(v.code, 0, "{}", v.stderr);
    assert_eq!(
        (v.json()["intact"].as_bool(), v.json()["entries"].as_u64()),
        (Some(true), Some(2))
    );
    let e = run_in(
        dir.path(),
        &[
            "audit",
            "export",
            "--database",
            "s.db",
            "--from",
            "2000-01-01",
            "--to",
            "2100-01-01",
            "--output",
            "evidence",
        ],
    );
    assert_eq!(e.code, 0, "{}", e.stderr);
    let findings_csv = std::fs::read_to_string(dir.path().join("evidence/findings.csv")).unwrap();
    assert!(findings_csv.lines().count() >= 2, "{findings_csv}");

    let c = rusqlite::Connection::open(dir.path().join("s.db")).unwrap();
    // Hide the leak from the record: the report now claims another scanner.
    let n = c
        .execute(
            r#"UPDATE scan_reports SET body = replace(body, '"secrets"', '"licenses"') WHERE id = 1"#,
            [],
        )
        .unwrap();
    assert_eq!(n, 1);
    drop(c);
    let v = run_in(dir.path(), &["audit", "verify", "--database", "s.db"]);
    assert_eq!(v.code, 1, "{}\n{}", v.stdout, v.stderr);
    assert!(v.stdout.contains("TAMPERED at seq 1"), "{}", v.stdout);
}
