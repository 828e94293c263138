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

const DO_TOKEN: &str = "dop_v1_1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a7988";

/// A tree with one secret on line 2 of `app.env`; returns its gitleaks fingerprint.
fn tree_with_secret(dir: &std::path::Path) -> String {
    std::fs::write(
        dir.join("app.env"),
        format!("# settings\nTOKEN={DO_TOKEN}\n"),
    )
    .expect("write");
    let run = run_in(dir, &["scan", "secrets", ".", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let json = run.json();
    let f = &json["findings"][0];
    let fp = f["properties"]["gitleaks_fingerprint"]
        .as_str()
        .expect("gitleaks fingerprint")
        .to_owned();
    assert_eq!(
        fp,
        format!("app.env:{}:2", f["rule_id"].as_str().expect("rule"))
    );
    fp
}

fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn gitleaksignore_at_the_scan_root_suppresses_listed_findings_in_the_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fp = tree_with_secret(dir.path());
    std::fs::write(
        dir.path().join(".gitleaksignore"),
        format!("# rotated on 2024-05-01, kept for the migration test\n{fp}\n"),
    )
    .expect("write");
    let run = run_in(dir.path(), &["scan", "secrets", ".", "--format", "json"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let json = run.json();
    let f = &json["findings"][0];
    assert_eq!(f["suppressed"]["kind"], "ignore", "{f}");
    assert_eq!(f["suppressed"]["reason"], "listed in .gitleaksignore");
    assert!(
        f["suppressed"]["source"]
            .as_str()
            .is_some_and(|s| s.ends_with(".gitleaksignore:2")),
        "{f}"
    );
    // The table says so too.
    let table = run_in(dir.path(), &["scan", "secrets", ".", "--show-suppressed"]);
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(
        table
            .stdout
            .contains("suppressed: listed in .gitleaksignore"),
        "{}",
        table.stdout
    );
}

#[test]
fn malformed_gitleaksignore_lines_exit_2_naming_file_and_line_but_valid_entries_apply() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fp = tree_with_secret(dir.path());
    std::fs::write(
        dir.path().join(".gitleaksignore"),
        format!("{fp}\napp.env generic-api-key 2\n"),
    )
    .expect("write");
    let run = run_in(dir.path(), &["scan", "secrets", ".", "--format", "json"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    let json = run.json();
    assert_eq!(json["findings"][0]["suppressed"]["kind"], "ignore");
    let errors = json["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0]["path"]
            .as_str()
            .is_some_and(|p| p.ends_with(".gitleaksignore")),
        "{errors:?}"
    );
    assert_eq!(errors[0]["line"], 2);
    assert!(
        errors[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not a gitleaks fingerprint")),
        "{errors:?}"
    );
}

#[test]
fn gitleaks_ignore_flag_names_the_file_and_a_missing_one_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fp = tree_with_secret(dir.path());
    std::fs::create_dir(dir.path().join("ci")).expect("mkdir");
    std::fs::write(dir.path().join("ci/leaks.ignore"), format!("{fp}\n")).expect("write");
    let run = run_in(
        dir.path(),
        &[
            "scan",
            "secrets",
            ".",
            "--gitleaks-ignore",
            "ci/leaks.ignore",
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // The flag replaces the root file: an empty file turns suppression off.
    std::fs::write(dir.path().join(".gitleaksignore"), format!("{fp}\n")).expect("write");
    std::fs::write(dir.path().join("ci/empty"), "").expect("write");
    let run = run_in(
        dir.path(),
        &["scan", "secrets", ".", "--gitleaks-ignore", "ci/empty"],
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let run = run_in(
        dir.path(),
        &["scan", "secrets", ".", "--gitleaks-ignore", "ci/nope"],
    );
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("ci/nope")
            && run.stderr.contains("cannot read the gitleaks ignore file"),
        "{}",
        run.stderr
    );
}

#[test]
fn stale_gitleaksignore_entries_are_noted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fp = tree_with_secret(dir.path());
    std::fs::write(
        dir.path().join(".gitleaksignore"),
        format!("{fp}\nold/config.yml:aws-access-token:9\n"),
    )
    .expect("write");
    let run = run_in(dir.path(), &["scan", "secrets", ".", "--format", "json"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(
            ".gitleaksignore: 1 entry matched no finding (line 2): fixed, or stale fingerprints; no loaded rule has the id aws-access-token (gitleaks' rule ids need --gitleaks-config)"
        ),
        "{}",
        run.stdout
    );
    // A scan of one file covers too little to call entries stale: no such note.
    let run = run_in(
        dir.path(),
        &[
            "scan",
            "secrets",
            "app.env",
            "--gitleaks-ignore",
            ".gitleaksignore",
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("matched no finding"), "{}", run.stdout);
}

#[test]
fn gitleaksignore_commit_fingerprints_apply_to_history_scans() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    git(d, &["config", "user.name", "Dana Dev"]);
    git(d, &["config", "user.email", "dana@corp.test"]);
    git(d, &["config", "commit.gpgsign", "false"]);
    std::fs::create_dir(d.join("deploy")).expect("mkdir");
    std::fs::write(d.join("deploy/app.env"), format!("TOKEN={DO_TOKEN}\n")).expect("write");
    git(d, &["add", "-A"]);
    git(d, &["commit", "-q", "-m", "add env"]);
    let sha = git(d, &["rev-parse", "HEAD"]);
    let run = run_in(d, &["scan", "secrets", ".", "--git", "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let json = run.json();
    let f = &json["findings"][0];
    let rule = f["rule_id"].as_str().expect("rule");
    assert_eq!(
        f["properties"]["gitleaks_fingerprint"],
        format!("{sha}:deploy/app.env:{rule}:1")
    );
    // Another commit's fingerprint does not apply.
    let other = "0123456789abcdef0123456789abcdef01234567";
    std::fs::write(
        d.join(".gitleaksignore"),
        format!("{other}:deploy/app.env:{rule}:1\n"),
    )
    .expect("write");
    let run = run_in(d, &["scan", "secrets", ".", "--git"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    // The short commit id form (newer gitleaks) does.
    std::fs::write(
        d.join(".gitleaksignore"),
        format!("{}:deploy/app.env:{rule}:1\n", &sha[..7]),
    )
    .expect("write");
    let run = run_in(d, &["scan", "secrets", ".", "--git"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // A fingerprint without a commit applies to every commit, and to the staged scan.
    std::fs::write(
        d.join(".gitleaksignore"),
        format!("deploy/app.env:{rule}:1\n"),
    )
    .expect("write");
    let run = run_in(d, &["scan", "secrets", ".", "--git"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    std::fs::write(
        d.join("deploy/app.env"),
        format!("TOKEN={DO_TOKEN}\n# more\n"),
    )
    .expect("write");
    git(d, &["add", "deploy/app.env"]);
    let run = run_in(d, &["scan", "secrets", ".", "--staged"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}
