//! Git history, `--since` and staged scans against real repositories made with the git CLI.

use std::path::Path;
use std::process::Command;

use shipgate_secrets::hook::{self, HookInstall};
use shipgate_secrets::{GitOptions, scan_git, scan_staged};

use crate::builtin_scanner;

const TOKEN_A: &str = "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";
const TOKEN_B: &str = "dop_v1_1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a7988";
const TOKEN_C: &str = "pul-8d7c6b5a49382716a5b4c3d2e1f0a9b8c7d6e5f4";

fn git(repo: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .env("GIT_AUTHOR_DATE", "2026-01-02T03:04:05Z")
        .env("GIT_COMMITTER_DATE", "2026-01-02T03:04:05Z")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn init(dir: &Path) {
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["config", "user.name", "Dana Dev"]);
    git(dir, &["config", "user.email", "dana@corp.test"]);
    git(dir, &["config", "commit.gpgsign", "false"]);
}

fn commit_file(dir: &Path, rel: &str, content: &str, msg: &str) -> String {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(&p, content).expect("write");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", msg]);
    git(dir, &["rev-parse", "HEAD"])
}

#[test]
fn history_reports_each_secret_at_the_introducing_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    init(d);
    let c1 = commit_file(d, "app/.env", &format!("MAIL_KEY={TOKEN_A}\n"), "add env");
    commit_file(d, "README.md", "# app\n", "docs");
    // Same content at a second path: the same blob, scanned once, reported once.
    let c3 = commit_file(d, "backup/.env", &format!("MAIL_KEY={TOKEN_A}\n"), "backup");
    // Remove the secret: history still has it.
    commit_file(d, "app/.env", "MAIL_KEY=${MAIL_KEY}\n", "use env");
    let c5 = commit_file(
        d,
        "infra/do.tf",
        &format!("token = \"{TOKEN_B}\"\n"),
        "infra",
    );
    // A secret only on another branch.
    git(d, &["checkout", "-q", "-b", "feature"]);
    let c6 = commit_file(
        d,
        "ci/publish.sh",
        &format!("export PULUMI_ACCESS_TOKEN={TOKEN_C}\n"),
        "ci",
    );
    git(d, &["checkout", "-q", "main"]);
    assert_ne!(c1, c3);

    let s = builtin_scanner();
    let out = scan_git(&s, d, &GitOptions::default()).expect("scan");
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    let got: Vec<(String, String, String)> = out
        .findings
        .iter()
        .map(|f| {
            let c = f.commit.as_ref().expect("commit info");
            assert_eq!(c.author, "Dana Dev");
            assert_eq!(c.email, "dana@corp.test");
            assert!(c.date.starts_with("2026-01-02T03:04:05"), "{}", c.date);
            (f.path.clone(), f.rule_id.clone(), c.id.clone())
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "app/.env".to_owned(),
                "sendgrid-api-key".to_owned(),
                c1.clone()
            ),
            (
                "ci/publish.sh".to_owned(),
                "pulumi-access-token".to_owned(),
                c6.clone()
            ),
            (
                "infra/do.tf".to_owned(),
                "digitalocean-pat".to_owned(),
                c5.clone()
            ),
        ]
    );
    // Distinct blobs: env-with-secret, README, env-without, do.tf, publish.sh.
    assert_eq!(out.scanned, 5, "each distinct blob is scanned once");

    // --since: only commits after c3 on any ref.
    let since = scan_git(
        &s,
        d,
        &GitOptions {
            since: Some(c3.clone()),
            threads: 1,
        },
    )
    .expect("scan since");
    let rules: Vec<&str> = since.findings.iter().map(|f| f.rule_id.as_str()).collect();
    assert_eq!(rules, vec!["pulumi-access-token", "digitalocean-pat"]);

    let bad = scan_git(
        &s,
        d,
        &GitOptions {
            since: Some("no-such-rev".into()),
            threads: 1,
        },
    )
    .expect_err("unknown revision");
    assert!(bad.to_string().contains("no-such-rev"), "{bad}");
}

#[test]
fn not_a_repository_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = builtin_scanner();
    let err = scan_git(&s, dir.path(), &GitOptions::default()).expect_err("not a repo");
    assert!(err.to_string().contains("git"), "{err}");
    assert!(scan_staged(&s, dir.path()).is_err());
}

#[test]
fn staged_scan_reads_the_index_not_the_working_tree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    init(d);
    // Works before the first commit too.
    std::fs::write(d.join("a.env"), format!("K={TOKEN_B}\n")).expect("write");
    git(d, &["add", "a.env"]);
    // Unstaged edit removes the secret from the working tree: the index still has it.
    std::fs::write(d.join("a.env"), "K=${K}\n").expect("write");
    // An unstaged new file with a secret is not part of the commit.
    std::fs::write(d.join("untracked.env"), format!("K={TOKEN_C}\n")).expect("write");
    let s = builtin_scanner();
    let out = scan_staged(&s, d).expect("staged");
    let got: Vec<(&str, &str)> = out
        .findings
        .iter()
        .map(|f| (f.path.as_str(), f.rule_id.as_str()))
        .collect();
    assert_eq!(got, vec![("a.env", "digitalocean-pat")]);
    assert!(out.findings[0].commit.is_none());

    // After committing, nothing is staged.
    git(d, &["commit", "-q", "-m", "x"]);
    let out = scan_staged(&s, d).expect("staged");
    assert!(out.findings.is_empty() && out.scanned == 0);
}

#[test]
fn hook_install_is_idempotent_and_chains_an_existing_hook() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    init(d);
    let hooks = d.join(".git/hooks");
    std::fs::create_dir_all(&hooks).expect("mkdir");
    std::fs::write(hooks.join("pre-commit"), "#!/bin/sh\necho previous hook\n").expect("write");
    match hook::install(d, "shipgate").expect("install") {
        HookInstall::Chained { hook, previous } => {
            assert_eq!(hook, hooks.join("pre-commit"));
            assert_eq!(previous, hooks.join("pre-commit.pre-shipgate"));
        }
        other => panic!("expected Chained, got {other:?}"),
    }
    let script = std::fs::read_to_string(hooks.join("pre-commit")).expect("read");
    assert!(script.contains(hook::HOOK_MARKER));
    assert!(script.contains("shipgate hook run pre-commit"));
    assert_eq!(
        std::fs::read_to_string(hooks.join("pre-commit.pre-shipgate")).expect("read"),
        "#!/bin/sh\necho previous hook\n"
    );
    assert!(matches!(
        hook::install(d, "shipgate").expect("again"),
        HookInstall::AlreadyInstalled(_)
    ));
    // The hook really runs the chained hook first and then shipgate: use a stand-in command.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let prev = hooks.join("pre-commit.pre-shipgate");
        std::fs::set_permissions(&prev, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let fresh = tempfile::tempdir().expect("tempdir");
        init(fresh.path());
        let stub = fresh.path().join("stub.sh");
        std::fs::write(&stub, "#!/bin/sh\necho \"stub $*\"\nexit 1\n").expect("write");
        std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        hook::install(fresh.path(), &stub.display().to_string()).expect("install");
        let out = Command::new(fresh.path().join(".git/hooks/pre-commit"))
            .current_dir(fresh.path())
            .output()
            .expect("run hook");
        assert_eq!(
            out.status.code(),
            Some(1),
            "the gate's exit code blocks the commit"
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "stub hook run pre-commit\n"
        );
    }
}
