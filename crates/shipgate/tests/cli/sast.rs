//! `shipgate scan sast`, SAST in `scan all` and in the pre-commit hook, end to end.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::kit::run_in;

fn write(dir: &Path, rel: &str, text: impl AsRef<[u8]>) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// A small polyglot project with one known problem per file and one suppressed match.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "app/load.py",
        "import pickle\n\ndef load(blob):\n    return pickle.loads(blob)\n\ndef trusted(blob):\n    return pickle.loads(blob)  # nosemgrep: python.pickle-loads\n",
    );
    write(
        d,
        "Dockerfile",
        "FROM debian:12-slim\nRUN curl -fsSL https://get.example.com/install.sh | sh\nUSER app\n",
    );
    write(
        d,
        ".github/workflows/triage.yml",
        "on: issues\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo \"${{ github.event.issue.title }}\"\n",
    );
    write(
        d,
        "web/server.js",
        "const https = require('https');\nconst agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });\n",
    );
    dir
}

fn rule_ids(json: &serde_json::Value) -> Vec<String> {
    let mut ids: Vec<String> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["suppressed"].is_null())
        .map(|f| f["rule_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn findings_across_languages_gate_the_build() {
    let dir = project();
    let run = run_in(dir.path(), &["scan", "sast", ".", "--format", "json"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let json = run.json();
    assert_eq!(json["scanner"], "sast");
    assert_eq!(
        rule_ids(&json),
        [
            "dockerfile.curl-pipe-shell",
            "github-actions.script-injection",
            "javascript.tls-reject-unauthorized-false",
            "python.pickle-loads",
        ]
    );
    let findings = json["findings"].as_array().unwrap();
    let pickle: Vec<_> = findings
        .iter()
        .filter(|f| f["rule_id"] == "python.pickle-loads")
        .collect();
    assert_eq!(pickle.len(), 2);
    assert_eq!(pickle[0]["location"]["path"], "app/load.py");
    assert_eq!(pickle[0]["location"]["start_line"], 4);
    assert_eq!(pickle[0]["properties"]["cwe"][0], "CWE-502");
    assert!(
        pickle[0]["properties"]["owasp"][0]
            .as_str()
            .unwrap()
            .starts_with("A08:2021")
    );
    assert_eq!(pickle[1]["suppressed"]["kind"], "inline", "{}", pickle[1]);
    assert!(json["errors"].as_array().unwrap().is_empty());
}

#[test]
fn sarif_carries_cwe_tags() {
    let dir = project();
    let run = run_in(dir.path(), &["scan", "sast", ".", "--format", "sarif"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let sarif = run.json();
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let pickle = rules
        .iter()
        .find(|r| r["id"] == "python.pickle-loads")
        .expect("rule in SARIF");
    let tags: Vec<&str> = pickle["properties"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(tags.contains(&"external/cwe/cwe-502"), "{tags:?}");
}

#[test]
fn clean_code_passes() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "ok.py",
        "import json\n\ndef load(b):\n    return json.loads(b)\n",
    );
    let run = run_in(dir.path(), &["scan", "sast", "."]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

#[test]
fn broken_and_unsupported_rules_fail_closed_with_positions() {
    let dir = project();
    write(
        dir.path(),
        "rules/broken.yaml",
        "rules:\n  - id: broken\n    message: [oops\n",
    );
    write(
        dir.path(),
        "rules/taint.yaml",
        "rules:\n  - id: my.taint\n    mode: taint\n    message: tainted\n    severity: ERROR\n    languages: [python]\n    pattern-sources:\n      - pattern: input()\n    pattern-sinks:\n      - pattern: eval(...)\n",
    );
    write(
        dir.path(),
        "rules/good.yaml",
        "rules:\n  - id: my.no-eval\n    message: eval of $X\n    severity: WARNING\n    languages: [python]\n    metadata:\n      cwe: [\"CWE-95: Eval Injection\"]\n    pattern: eval($X)\n",
    );
    write(dir.path(), "app/e.py", "eval(user_input)\n");
    let run = run_in(
        dir.path(),
        &["scan", "sast", ".", "--rules", "rules", "--format", "json"],
    );
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    let json = run.json();
    let errors = json["errors"].as_array().unwrap();
    let broken = errors
        .iter()
        .find(|e| e["path"].as_str().unwrap().ends_with("broken.yaml"))
        .expect("syntax error reported");
    assert_eq!(broken["line"], 3, "{broken}");
    let unsupported: Vec<_> = errors
        .iter()
        .filter(|e| e["message"].as_str().unwrap().contains("unsupported"))
        .collect();
    assert!(unsupported.len() >= 2, "{errors:?}");
    assert!(unsupported.iter().all(|e| e["line"].as_u64().unwrap() > 0));
    // The good user rule and the built-in rules still ran.
    let ids = rule_ids(&json);
    assert!(ids.contains(&"my.no-eval".to_string()), "{ids:?}");
    assert!(ids.contains(&"python.pickle-loads".to_string()), "{ids:?}");
    let eval = &json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "my.no-eval")
        .unwrap()["message"];
    assert_eq!(eval, "eval of user_input");
    assert!(run.stderr.contains("broken.yaml:3:"), "{}", run.stderr);
}

#[test]
fn bad_source_files_are_noted_and_still_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A syntax error before the finding.
    write(
        d,
        "partial.py",
        "def broken(:\n    pass\n\nimport pickle\npickle.loads(x)\n",
    );
    // Invalid UTF-8.
    write(
        d,
        "latin1.py",
        b"# caf\xe9\nimport pickle\npickle.loads(x)\n",
    );
    // Deeply nested code must not overflow a stack.
    let deep = format!("x = {}1{}\n", "[".repeat(100_000), "]".repeat(100_000));
    write(d, "deep.py", deep);
    let deep_js = format!("let y = {}0{};\n", "(".repeat(50_000), ")".repeat(50_000));
    write(d, "deep.js", deep_js);
    // A huge file is skipped with a note.
    write(d, "huge.py", "pickle.loads(x)\n".repeat(100_000));
    // A minified one-line bundle under the limit is scanned.
    let bundle = format!("{}eval(a);\n", "var a=1;".repeat(60_000));
    write(d, "bundle.min.js", bundle);
    let run = run_in(d, &["scan", "sast", ".", "--format", "json"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let json = run.json();
    let notes: Vec<&str> = json["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes.iter().any(|n| n.starts_with("partial.py:1:")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("latin1.py:1: invalid UTF-8")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("skipped 1 file") && n.contains("huge.py")),
        "{notes:?}"
    );
    let at: Vec<String> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}:{}:{}",
                f["location"]["path"].as_str().unwrap(),
                f["location"]["start_line"],
                f["rule_id"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        at.contains(&"partial.py:5:python.pickle-loads".to_string()),
        "{at:?}"
    );
    assert!(
        at.contains(&"latin1.py:3:python.pickle-loads".to_string()),
        "{at:?}"
    );
    assert!(
        at.contains(&"bundle.min.js:1:javascript.eval-dynamic".to_string()),
        "{at:?}"
    );
    assert!(!at.iter().any(|a| a.starts_with("huge.py")), "{at:?}");
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn staged_scan_reads_the_index_and_the_hook_runs_sast() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q"]);
    write(d, "a.py", "import pickle\npickle.loads(blob)\n");
    write(d, "clean.py", "print('hi')\n");
    git(d, &["add", "a.py", "clean.py"]);
    // The working tree copy no longer has the problem; the staged one does.
    write(d, "a.py", "import json\njson.loads(blob)\n");
    let staged = run_in(d, &["scan", "sast", "--staged", ".", "--format", "json"]);
    assert_eq!(staged.code, 1, "{}\n{}", staged.stdout, staged.stderr);
    assert_eq!(rule_ids(&staged.json()), ["python.pickle-loads"]);
    let tree = run_in(d, &["scan", "sast", "."]);
    assert_eq!(tree.code, 0, "{}", tree.stdout);
    let hook = run_in(
        d,
        &[
            "hook",
            "run",
            "pre-commit",
            "--repo",
            ".",
            "--format",
            "json",
        ],
    );
    assert_eq!(hook.code, 1, "{}\n{}", hook.stdout, hook.stderr);
    assert_eq!(rule_ids(&hook.json()), ["python.pickle-loads"]);
}

#[test]
fn scan_all_includes_sast() {
    let dir = project();
    let run = run_in(dir.path(), &["scan", "all", ".", "--format", "json"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let ids = rule_ids(&run.json());
    assert!(ids.contains(&"python.pickle-loads".to_string()), "{ids:?}");
}

fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shipgate-sast/rules")
}

#[test]
fn rule_tests_run_from_the_cli() {
    let run = run_in(&rules_dir(), &["scan", "sast", "--test", "."]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("0 failed"), "{}", run.stderr);
    // A wrong expectation fails the run.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "no-eval.yaml",
        "rules:\n  - id: no-eval\n    message: eval\n    severity: ERROR\n    languages: [python]\n    pattern: eval(...)\n",
    );
    write(
        dir.path(),
        "no-eval.py",
        "# ruleid: no-eval\neval(x)\n# ruleid: no-eval\nexec(x)\n",
    );
    let run = run_in(dir.path(), &["scan", "sast", "--test", "."]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("no-eval.py:4: rule no-eval should match"),
        "{}",
        run.stderr
    );
}
