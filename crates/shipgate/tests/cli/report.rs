//! The report contract through the binary: formats, exit codes, configuration errors.

use crate::kit::{run_in, run_with_env};

#[test]
fn empty_directory_passes_with_a_v1_report() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_in(dir.path(), &["scan", "all", ".", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["schema"], "shipgate.report/v1");
    assert_eq!(v["tool"]["name"], "shipgate");
    assert_eq!(v["scanner"], "all");
    assert_eq!(v["gate"]["fail_on"], "high");
    assert_eq!(v["gate"]["passed"], true);
    assert_eq!(v["errors"].as_array().unwrap().len(), 0);
    for k in ["critical", "high", "medium", "low", "info", "suppressed"] {
        assert_eq!(v["summary"][k], 0, "{k}");
    }
}

#[test]
fn missing_path_is_an_error_in_stderr_json_and_sarif() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_in(
        dir.path(),
        &["scan", "all", "does-not-exist", "--format", "json"],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("error: does-not-exist: path does not exist"),
        "{}",
        run.stderr
    );
    assert_eq!(run.json()["errors"][0]["path"], "does-not-exist");
    assert_eq!(run.json()["gate"]["passed"], false);

    let run = run_in(
        dir.path(),
        &["scan", "all", "does-not-exist", "--format", "sarif"],
    );
    assert_eq!(run.code, 2);
    let v = run.json();
    assert_eq!(v["version"], "2.1.0");
    let inv = &v["runs"][0]["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    assert!(
        inv["toolExecutionNotifications"][0]["message"]["text"]
            .as_str()
            .unwrap()
            .contains("path does not exist")
    );
}

#[test]
fn bad_config_names_file_and_line_and_fails_closed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("shipgate.yaml"),
        "fail_on: high\nignore:\n  - id: X\n    reason: ok\n    bogus: 1\n",
    )
    .unwrap();
    let run = run_in(
        dir.path(),
        &["scan", "all", ".", "--format", "json", "--fail-on", "none"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let err = &run.json()["errors"][0];
    assert!(
        err["path"].as_str().unwrap().ends_with("shipgate.yaml"),
        "{err}"
    );
    assert_eq!(err["line"], 5, "{err}");
    assert!(run.stderr.contains("shipgate.yaml:5:"), "{}", run.stderr);
    insta::assert_snapshot!(
        run.snapshot(Some(dir.path()))
            .lines()
            .filter(|l| l.starts_with("error:") || l.starts_with("exit:"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn config_flag_env_and_precedence() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("custom.yaml"), "fail_on: critical\n").unwrap();
    let run = run_in(
        dir.path(),
        &[
            "scan",
            "all",
            ".",
            "--format",
            "json",
            "--config",
            "custom.yaml",
        ],
    );
    assert_eq!(run.json()["gate"]["fail_on"], "critical");
    // environment beats the file, the flag beats the environment
    let run = run_with_env(
        dir.path(),
        &[
            "scan",
            "all",
            ".",
            "--format",
            "json",
            "--config",
            "custom.yaml",
        ],
        &[("SHIPGATE_FAIL_ON", "low")],
    );
    assert_eq!(run.json()["gate"]["fail_on"], "low");
    let run = run_with_env(
        dir.path(),
        &[
            "scan",
            "all",
            ".",
            "--format",
            "json",
            "--config",
            "custom.yaml",
            "--fail-on",
            "none",
        ],
        &[("SHIPGATE_FAIL_ON", "low")],
    );
    assert_eq!(run.json()["gate"]["fail_on"], "none");
    // an unreadable explicit config is an error
    let run = run_in(
        dir.path(),
        &["scan", "all", ".", "--config", "missing.yaml"],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("missing.yaml: cannot read configuration"),
        "{}",
        run.stderr
    );
}

#[test]
fn output_file_and_table() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_in(
        dir.path(),
        &[
            "scan",
            "all",
            ".",
            "--output",
            "out.sarif",
            "--format",
            "sarif",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    let text = std::fs::read_to_string(dir.path().join("out.sarif")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["runs"][0]["tool"]["driver"]["name"], "shipgate");
    let run = run_in(dir.path(), &["scan", "all", "."]);
    insta::assert_snapshot!(run.snapshot(Some(dir.path())));
}

#[test]
fn expired_ignore_entry_is_noted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("shipgate.yaml"),
        "ignore:\n  - rule: some-rule\n    reason: old\n    expires: 2001-01-01\n",
    )
    .unwrap();
    let run = run_in(dir.path(), &["scan", "all", ".", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.json()["notes"][0]
            .as_str()
            .unwrap()
            .contains("expired on 2001-01-01")
    );
    assert!(
        run.stderr
            .contains("note: ignore entry 0 (some-rule) expired"),
        "{}",
        run.stderr
    );
}
