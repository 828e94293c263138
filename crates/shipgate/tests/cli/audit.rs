//! `shipgate audit export | checkpoint | verify-export` and `audit verify --checkpoint`
//! against real SQLite stores and real cosign-format keys.

use std::path::Path;

use crate::kit::{run_in, run_with_env};

const PASSWORD: (&str, &str) = ("COSIGN_PASSWORD", "correct horse");

fn scan(scanner: &str, target: &str, findings: &str, high: u32, passed: bool) -> String {
    format!(
        r#"{{"schema":"shipgate.report/v1","tool":{{"name":"shipgate","version":"0.1.0"}},
"scanner":"{scanner}","target":"{target}","findings":[{findings}],"errors":[],
"summary":{{"critical":0,"high":{high},"medium":0,"low":0,"info":0,"suppressed":0}},
"gate":{{"fail_on":"high","passed":{passed}}}}}"#
    )
}

fn event(kind: &str, time: &str, body: &str) -> String {
    format!(r#"{{"schema":"shipgate.event/v1","kind":"{kind}","time":"{time}","body":{body}}}"#)
}

/// A store with records on 2026-03-01..05; returns the database path argument.
fn populate(dir: &Path) -> &'static str {
    let finding = r#"{"fingerprint":"f1","rule_id":"GHSA-aaaa","scanner":"deps","severity":"high","title":"t","message":"m","location":{"path":"Cargo.lock","start_line":3},"package":{"ecosystem":"crates.io","name":"=cmd|' /C calc'!A0","version":"1.0.0"}}"#;
    let docs = [
        (
            "a.json",
            scan("deps", "web", finding, 1, false),
            Some("2026-03-01T10:00:00Z"),
        ),
        (
            "b.json",
            scan("config", "deploy/", "", 0, true),
            Some("2026-03-02T10:00:00Z"),
        ),
        (
            "c.json",
            event(
                "admission",
                "2026-03-03T10:00:00Z",
                r#"{"allowed":false,"operation":"CREATE","kind":"Pod","namespace":"prod","name":"<b>x</b>","user":"alice"}"#,
            ),
            None,
        ),
        (
            "d.json",
            event(
                "drift",
                "2026-03-04T10:00:00Z",
                r#"{"app":"web","object":"apps/v1/Deployment/prod/web","kind":"changed","healed":true}"#,
            ),
            None,
        ),
        (
            "e.json",
            scan("deps", "web", "", 0, true),
            Some("2026-03-05T10:00:00Z"),
        ),
    ];
    for (file, text, time) in &docs {
        std::fs::write(dir.join(file), text).unwrap();
        let mut args = vec!["store", "ingest", file, "--database", "s.db"];
        if let Some(t) = time {
            args.extend(["--time", t]);
        }
        let r = run_in(dir, &args);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    "s.db"
}

fn keypair(dir: &Path) {
    let r = run_with_env(
        dir,
        &["key", "generate", "--output-key-prefix", "k"],
        &[PASSWORD],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn export_writes_every_record_of_the_period_with_controls() {
    let dir = tempfile::tempdir().unwrap();
    let db = populate(dir.path());
    let r = run_in(
        dir.path(),
        &[
            "audit",
            "export",
            "--database",
            db,
            "--from",
            "2026-03-02",
            "--to",
            "2026-03-05",
            "--output",
            "out",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let m = r.json();
    let out = dir.path().join("out");
    // 03-02 config scan, 03-03 admission, 03-04 drift; not 03-01 nor 03-05 (exclusive).
    assert_eq!(m["period_entries"], serde_json::json!([2, 4]), "{m}");
    assert_eq!(m["counts"]["scan-report"], 1);
    assert_eq!(m["counts"]["event:admission"], 1);
    assert_eq!(m["counts"]["event:drift"], 1);
    assert_eq!(m["ledger"]["intact"], true);
    assert_eq!(m["ledger"]["entries"], 5, "the whole chain is verified");
    let control = |id: &str| {
        m["controls"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("{id} missing"))["records"]
            .as_u64()
            .unwrap()
    };
    // config scan + drift; denial + drift; admission; config + drift; denial; admission.
    assert_eq!(control("SOC2-CC7.1"), 2);
    assert_eq!(control("SOC2-CC7.2"), 2);
    assert_eq!(control("SOC2-CC8.1"), 1);
    assert_eq!(control("ISO27001-A.8.8"), 0);
    assert_eq!(control("ISO27001-A.8.9"), 2);
    assert_eq!(control("ISO27001-A.8.16"), 1);
    assert_eq!(control("ISO27001-A.8.32"), 1);

    // JSON Lines: one per entry, in seq order, with the record.
    let lines: Vec<serde_json::Value> = read(&out.join("records.jsonl"))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["entry"]["seq"], 2);
    assert_eq!(lines[0]["record"]["scanner"], "config");
    assert_eq!(lines[1]["record"]["body"]["user"], "alice");
    // CSV: header + rows; the ledger hashes match `audit verify`'s chain.
    let ledger = read(&out.join("ledger.csv"));
    assert!(ledger.starts_with("seq,time,kind,record_id,record_hash,prev_hash,hash,controls\r\n"));
    assert_eq!(ledger.lines().count(), 4);
    let events = read(&out.join("events.csv"));
    assert!(events.contains("admission"), "{events}");
    // Every file is listed with its digest, and the digests are right.
    for f in m["files"].as_array().unwrap() {
        let bytes = std::fs::read(out.join(f["name"].as_str().unwrap())).unwrap();
        assert_eq!(f["bytes"], bytes.len());
        assert_eq!(
            f["sha256"].as_str().unwrap(),
            shipgate_store::sha256_hex(&bytes)
        );
    }
    let report = read(&out.join("report.md"));
    assert!(report.contains("### SOC2-CC8.1"), "{report}");
    assert!(
        report.contains("admission CREATE Pod prod/\\<b\\>x\\</b\\> by alice: denied"),
        "{report}"
    );
    assert!(report.contains("verified intact"), "{report}");
    // A second export into the same directory is refused and leaves the first alone.
    let again = run_in(
        dir.path(),
        &["audit", "export", "--database", db, "--output", "out"],
    );
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("not empty"), "{}", again.stderr);
    assert_eq!(read(&out.join("report.md")), report);
}

#[test]
fn export_csv_neutralises_formulas_from_records() {
    let dir = tempfile::tempdir().unwrap();
    let db = populate(dir.path());
    let r = run_in(
        dir.path(),
        &["audit", "export", "--database", db, "--output", "all"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let findings = read(&dir.path().join("all/findings.csv"));
    assert!(
        findings.contains(",crates.io/=cmd|' /C calc'!A0@1.0.0,"),
        "{findings}"
    );
    // The cell starts with the ecosystem, so it is not a formula; a target that is one is
    // guarded. Ingest one and export again.
    std::fs::write(
        dir.path().join("f.json"),
        scan("deps", "=HYPERLINK(\\\"http://evil\\\")", "", 0, true),
    )
    .unwrap();
    let r = run_in(dir.path(), &["store", "ingest", "f.json", "--database", db]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run_in(
        dir.path(),
        &["audit", "export", "--database", db, "--output", "all2"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let scans = read(&dir.path().join("all2/scans.csv"));
    assert!(
        scans.contains(r#","'=HYPERLINK(""http://evil"")","#),
        "{scans}"
    );
    assert!(!scans.contains(",=HYPERLINK"), "{scans}");
}

#[test]
fn signed_export_verifies_and_any_change_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let db = populate(dir.path());
    keypair(dir.path());
    let r = run_with_env(
        dir.path(),
        &[
            "audit",
            "export",
            "--database",
            db,
            "--output",
            "ev",
            "--key",
            "k.key",
        ],
        &[PASSWORD],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("signed"), "{}", r.stdout);
    let ok = run_in(
        dir.path(),
        &["audit", "verify-export", "ev", "--key", "k.pub"],
    );
    assert_eq!(ok.code, 0, "{}\n{}", ok.stdout, ok.stderr);
    assert!(
        ok.stdout.contains("bundle verified: 9 file(s)"),
        "{}",
        ok.stdout
    );

    // Another key does not verify it.
    let r = run_with_env(
        dir.path(),
        &["key", "generate", "--output-key-prefix", "other"],
        &[PASSWORD],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let bad = run_in(
        dir.path(),
        &["audit", "verify-export", "ev", "--key", "other.pub"],
    );
    assert_eq!(bad.code, 1, "{}", bad.stdout);
    assert!(bad.stdout.contains("signature invalid"), "{}", bad.stdout);

    // An edited CSV, a removed file and an added file are each reported.
    let csv = dir.path().join("ev/scans.csv");
    let text = read(&csv).replace("false", "true");
    std::fs::write(&csv, text).unwrap();
    std::fs::remove_file(dir.path().join("ev/events.csv")).unwrap();
    std::fs::write(dir.path().join("ev/extra.csv"), "x").unwrap();
    let bad = run_in(
        dir.path(),
        &["audit", "verify-export", "ev", "--key", "k.pub"],
    );
    assert_eq!(bad.code, 1, "{}", bad.stdout);
    assert!(bad.stdout.contains("scans.csv: changed"), "{}", bad.stdout);
    assert!(bad.stdout.contains("events.csv: missing"), "{}", bad.stdout);
    assert!(
        bad.stdout
            .contains("extra.csv: not part of the signed bundle"),
        "{}",
        bad.stdout
    );

    // A wrong password fails before anything is written.
    let r = run_with_env(
        dir.path(),
        &[
            "audit",
            "export",
            "--database",
            db,
            "--output",
            "ev2",
            "--key",
            "k.key",
        ],
        &[("COSIGN_PASSWORD", "wrong")],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("wrong passphrase"), "{}", r.stderr);
    assert!(!dir.path().join("ev2").exists());
}

#[test]
fn a_signed_checkpoint_detects_a_rewritten_chain() {
    let dir = tempfile::tempdir().unwrap();
    let db = populate(dir.path());
    keypair(dir.path());
    let r = run_with_env(
        dir.path(),
        &[
            "audit",
            "checkpoint",
            "--database",
            db,
            "--key",
            "k.key",
            "-o",
            "head.dsse.json",
        ],
        &[PASSWORD],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("signed checkpoint of seq 5"),
        "{}",
        r.stderr
    );
    let verify = |extra: &[&str]| {
        let mut args = vec!["audit", "verify", "--database", db];
        args.extend_from_slice(extra);
        run_in(dir.path(), &args)
    };
    let ok = verify(&["--checkpoint", "head.dsse.json", "--key", "k.pub"]);
    assert_eq!(ok.code, 0, "{}\n{}", ok.stdout, ok.stderr);

    // A forged checkpoint (payload edited, signature kept) is an error, exit 2.
    let env: serde_json::Value =
        serde_json::from_str(&read(&dir.path().join("head.dsse.json"))).unwrap();
    let mut forged = env.clone();
    forged["payload"] =
        serde_json::Value::String(env["payload"].as_str().unwrap().replacen('e', "f", 1));
    std::fs::write(dir.path().join("forged.json"), forged.to_string()).unwrap();
    let bad = verify(&["--checkpoint", "forged.json", "--key", "k.pub"]);
    assert_eq!(bad.code, 2, "{}\n{}", bad.stdout, bad.stderr);

    // Rewrite the whole chain consistently after removing the last record: the chain alone
    // verifies, the signed checkpoint does not.
    let c = rusqlite::Connection::open(dir.path().join(db)).unwrap();
    c.execute("DELETE FROM ledger WHERE seq = 5", []).unwrap();
    c.execute("DELETE FROM findings WHERE report_id = 3", [])
        .unwrap();
    c.execute("DELETE FROM scan_reports WHERE id = 3", [])
        .unwrap();
    drop(c);
    let plain = verify(&[]);
    assert_eq!(plain.code, 0, "{}", plain.stdout);
    let caught = verify(&["--checkpoint", "head.dsse.json", "--key", "k.pub"]);
    assert_eq!(caught.code, 1, "{}\n{}", caught.stdout, caught.stderr);
    assert!(
        caught.stdout.contains("anchored entry 5 is missing"),
        "{}",
        caught.stdout
    );
    // --checkpoint without --key is a usage error.
    let usage = verify(&["--checkpoint", "head.dsse.json"]);
    assert_eq!(usage.code, 2);
}

#[test]
fn export_of_a_tampered_ledger_says_so_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let db = populate(dir.path());
    let c = rusqlite::Connection::open(dir.path().join(db)).unwrap();
    c.execute(
        "UPDATE events SET body = replace(body, 'alice', 'mallory')",
        [],
    )
    .unwrap();
    drop(c);
    let r = run_in(
        dir.path(),
        &["audit", "export", "--database", db, "--output", "t"],
    );
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("failed verification at seq 3"),
        "{}",
        r.stderr
    );
    let report = read(&dir.path().join("t/report.md"));
    assert!(
        report.contains("THE LEDGER FAILED VERIFICATION"),
        "{report}"
    );
    let m: serde_json::Value =
        serde_json::from_str(&read(&dir.path().join("t/evidence.json"))).unwrap();
    assert_eq!(m["ledger"]["intact"], false);
    // A store that does not exist is an error, and nothing is created.
    let r = run_in(
        dir.path(),
        &["audit", "export", "--database", "nope.db", "--output", "n"],
    );
    assert_eq!(r.code, 2);
    assert!(!dir.path().join("nope.db").exists());
    assert!(!dir.path().join("n").exists());
}

#[test]
fn cosign_verifies_the_files_of_a_signed_bundle() {
    let Some(cosign) = crate::sign::cosign_or_skip("cosign_verifies_the_files_of_a_signed_bundle")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = populate(dir.path());
    keypair(dir.path());
    let r = run_with_env(
        dir.path(),
        &[
            "audit",
            "export",
            "--database",
            db,
            "-o",
            "ev",
            "--key",
            "k.key",
        ],
        &[PASSWORD],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let cosign_check = |file: &str| {
        std::process::Command::new(&cosign)
            .current_dir(dir.path())
            .env("HOME", dir.path())
            .args([
                "verify-blob-attestation",
                "--key",
                "k.pub",
                "--signature",
                "ev/evidence.dsse.json",
                "--type",
                "https://shipgate.dev/attestation/evidence/v1",
                "--insecure-ignore-tlog=true",
                file,
            ])
            .output()
            .unwrap()
    };
    for f in ["ev/evidence.json", "ev/ledger.csv", "ev/report.md"] {
        let out = cosign_check(f);
        assert!(
            out.status.success(),
            "cosign rejected {f}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::write(dir.path().join("ev/ledger.csv"), "edited").unwrap();
    let out = cosign_check("ev/ledger.csv");
    assert!(!out.status.success(), "cosign accepted an edited file");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no matching subject digest"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
