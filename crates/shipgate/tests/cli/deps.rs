//! `scan deps` and `db` through the binary, against a database built from the demo advisory.

use std::path::{Path, PathBuf};

use crate::kit::{Run, run_with_env};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    cache: PathBuf,
    app: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        let app = dir.path().join("app");
        std::fs::create_dir_all(&app).unwrap();
        std::fs::write(
            app.join("requirements.txt"),
            "# pinned\ndjango==3.2.18\nrequests==2.32.3\n",
        )
        .unwrap();
        let f = Fixture {
            _dir: dir,
            cache,
            app,
        };
        let adv = repo_root().join("examples/demo/advisories");
        let r = f.run(&["db", "import", adv.to_str().unwrap()]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        f
    }

    fn run(&self, args: &[&str]) -> Run {
        run_with_env(
            &self.app,
            args,
            &[("SHIPGATE_CACHE_DIR", self.cache.to_str().unwrap())],
        )
    }
}

#[test]
fn vulnerable_pin_fails_the_gate_with_fix() {
    let f = Fixture::new();
    let r = f.run(&["scan", "deps", ".", "--format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v = r.json();
    let finding = &v["findings"][0];
    assert_eq!(finding["rule_id"], "SHIPGATE-DEMO-2023-0001");
    assert_eq!(finding["location"]["path"], "requirements.txt");
    assert_eq!(finding["location"]["start_line"], 2);
    assert_eq!(finding["package"]["fixed"][0], "3.2.19");
    assert_eq!(finding["package"]["purl"], "pkg:pypi/django@3.2.18");
    assert_eq!(finding["advisory"]["aliases"][0], "CVE-2023-31047");
    // a fixed version does not match
    std::fs::write(f.app.join("requirements.txt"), "django==3.2.19\n").unwrap();
    let r = f.run(&["scan", "deps", ".", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn ignore_entry_vex_and_baseline_suppress() {
    let f = Fixture::new();
    std::fs::write(
        f.app.join("shipgate.yaml"),
        "ignore:\n  - id: CVE-2023-31047\n    package: django\n    reason: uploads disabled\n",
    )
    .unwrap();
    let r = f.run(&["scan", "deps", ".", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["summary"]["suppressed"], 1);
    assert_eq!(r.json()["findings"][0]["suppressed"]["kind"], "ignore");
    std::fs::remove_file(f.app.join("shipgate.yaml")).unwrap();

    std::fs::write(
        f.app.join("vex.json"),
        r#"{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex/1","author":"sec team","timestamp":"2024-01-01T00:00:00Z","version":1,
            "statements":[{"vulnerability":{"name":"CVE-2023-31047"},"products":[{"@id":"pkg:pypi/django@3.2.18"}],"status":"not_affected","justification":"vulnerable_code_not_in_execute_path"}]}"#,
    )
    .unwrap();
    let r = f.run(&["scan", "deps", ".", "--format", "json", "--vex", "vex.json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let sup = &r.json()["findings"][0]["suppressed"];
    assert_eq!(sup["kind"], "vex");
    assert!(
        sup["reason"].as_str().unwrap().contains("not_affected"),
        "{sup}"
    );
    std::fs::remove_file(f.app.join("vex.json")).unwrap();

    let r = f.run(&["scan", "deps", ".", "--write-baseline", "baseline.json"]);
    assert_eq!(r.code, 1);
    let r = f.run(&[
        "scan",
        "deps",
        ".",
        "--baseline",
        "baseline.json",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["findings"][0]["suppressed"]["kind"], "baseline");
}

#[test]
fn missing_or_stale_database_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("requirements.txt"), "django==3.2.18\n").unwrap();
    let r = run_with_env(
        dir.path(),
        &["scan", "deps", "."],
        &[(
            "SHIPGATE_CACHE_DIR",
            dir.path().join("none").to_str().unwrap(),
        )],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("shipgate db update"), "{}", r.stderr);

    let f = Fixture::new();
    // Ages are whole seconds: after a second the fresh database is older than 0s.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let r = f.run(&["scan", "deps", ".", "--db-max-age", "0s"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("shipgate db update"), "{}", r.stderr);
    let r = f.run(&[
        "scan",
        "deps",
        ".",
        "--db-max-age",
        "0s",
        "--offline",
        "--format",
        "json",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.json()["notes"][0].as_str().unwrap().contains("offline"),
        "{}",
        r.stdout
    );
}

#[test]
fn broken_lockfile_is_reported_and_the_rest_scanned() {
    let f = Fixture::new();
    std::fs::create_dir_all(f.app.join("web")).unwrap();
    std::fs::write(
        f.app.join("web/package-lock.json"),
        "{\n  \"lockfileVersion\": 3,\n  \"packages\": {\n",
    )
    .unwrap();
    let r = f.run(&["scan", "deps", ".", "--format", "json"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["errors"][0]["path"], "web/package-lock.json");
    assert!(v["errors"][0]["line"].as_u64().is_some(), "{}", v["errors"]);
    assert_eq!(v["findings"][0]["location"]["path"], "requirements.txt");
}

#[test]
fn db_status_reports_counts() {
    let f = Fixture::new();
    let r = f.run(&["db", "status", "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["metadata"]["advisories"], 1);
    let r = f.run(&["db", "import", "no-such-dir"]);
    assert_eq!(r.code, 2);
}

#[test]
fn sbom_of_a_directory_in_both_formats() {
    let f = Fixture::new();
    let r = f.run(&["sbom", ".", "--format", "cyclonedx"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["bomFormat"], "CycloneDX");
    assert_eq!(v["specVersion"], "1.6");
    let purls: Vec<&str> = v["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["purl"].as_str())
        .collect();
    assert!(purls.contains(&"pkg:pypi/django@3.2.18"), "{purls:?}");
    let r = f.run(&[
        "sbom",
        ".",
        "--format",
        "spdx",
        "--output",
        "sbom.spdx.json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.app.join("sbom.spdx.json")).unwrap())
            .unwrap();
    assert_eq!(v["spdxVersion"], "SPDX-2.3");
}
