//! `shipgate scan secrets` and `shipgate hook` end to end.

use std::path::PathBuf;

use crate::kit::run_in;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shipgate-secrets/tests/fixtures")
}

#[test]
fn secrets_in_fixture_tree_fail_the_gate_redacted() {
    let dir = fixtures().join("positive");
    let run = run_in(&dir, &["scan", "secrets", ".", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let json = run.json();
    let findings = json["findings"].as_array().expect("findings");
    assert!(findings.len() >= 20, "{}", findings.len());
    for f in findings {
        assert_eq!(f["scanner"], "secrets");
        assert!(
            f["properties"]["secret"].is_null(),
            "full secret leaked: {f}"
        );
        assert!(
            f["properties"]["secret_redacted"]
                .as_str()
                .is_some_and(|s| s.ends_with('…'))
        );
    }
    // The full values are nowhere in the output.
    let env = std::fs::read_to_string(dir.join(".env")).expect("fixture");
    let token = env
        .lines()
        .find_map(|l| l.strip_prefix("GITHUB_TOKEN="))
        .expect("token line");
    assert!(!run.stdout.contains(token));
    let shown = run_in(
        &dir,
        &["scan", "secrets", ".", "--format", "json", "--show-secrets"],
    );
    assert!(shown.stdout.contains(token));
}

#[test]
fn decoy_tree_passes() {
    let run = run_in(&fixtures().join("decoy"), &["scan", "secrets", "."]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

#[test]
fn broken_gitleaks_config_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("gl.toml"), "[[rules]\n").expect("write");
    let run = run_in(
        dir.path(),
        &["scan", "secrets", ".", "--gitleaks-config", "gl.toml"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("gl.toml:1:"), "{}", run.stderr);
}

#[test]
fn config_file_secrets_settings_apply() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("app.env"),
        "TOKEN=dop_v1_1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a7988\n",
    )
    .expect("write");
    let run = run_in(dir.path(), &["scan", "secrets", "."]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    std::fs::write(
        dir.path().join("shipgate.yaml"),
        "secrets:\n  allow_paths: ['\\.env$']\n",
    )
    .expect("write");
    let run = run_in(dir.path(), &["scan", "secrets", "."]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    std::fs::write(
        dir.path().join("shipgate.yaml"),
        "secrets:\n  allow_pathz: []\n",
    )
    .expect("write");
    let run = run_in(dir.path(), &["scan", "secrets", "."]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}
