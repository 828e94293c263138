//! `promote` end to end against real git: bare repositories over file:// and the real
//! smart-HTTP server (`git http-backend`), trailers, SSH signatures, review branches, no-ops,
//! concurrent promotions (non-fast-forward retries) and refused pushes.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};

use shipgate_gitops::GitopsError;
use shipgate_gitops::git::Credential;
use shipgate_gitops::promote::{PromoteRequest, promote};
use shipgate_gitops::yamledit::PinnedImage;
use shipgate_testenv::{GitFixture, GitHttpServer, git};

fn digest(n: u8) -> String {
    format!("{:02x}", n).repeat(32)
}

fn image(name: &str, n: u8) -> PinnedImage {
    PinnedImage::parse(&format!("{name}@sha256:{}", digest(n))).unwrap()
}

fn deployment(containers: &[(&str, &str)]) -> String {
    let mut s = String::from(
        "# managed by CI; comments stay\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n",
    );
    for (name, image) in containers {
        s.push_str(&format!(
            "        - name: {name}\n          image: {image}   # {name}\n"
        ));
    }
    s
}

struct Repo {
    _root: tempfile::TempDir,
    fixture: GitFixture,
}

impl Repo {
    fn new(files: &[(&str, &str)]) -> Repo {
        let root = tempfile::Builder::new()
            .prefix("shipgate-promote-test-")
            .tempdir()
            .unwrap();
        let mut fixture = GitFixture::new(root.path(), "manifests.git").unwrap();
        for (path, text) in files {
            fixture.write(path, text).unwrap();
        }
        fixture.commit("initial manifests").unwrap();
        fixture.push().unwrap();
        Repo {
            _root: root,
            fixture,
        }
    }

    fn bare(&self) -> &Path {
        self.fixture.bare_dir()
    }

    fn url(&self) -> String {
        format!("file://{}", self.bare().display())
    }

    fn show(&self, rev_path: &str) -> String {
        git(self.bare(), &["show", rev_path]).unwrap()
    }

    fn head(&self, branch: &str) -> String {
        git(self.bare(), &["rev-parse", &format!("refs/heads/{branch}")]).unwrap()
    }
}

#[test]
fn promote_over_file_url_commits_with_trailers() {
    let before = deployment(&[("api", "ghcr.io/acme/api:1.0"), ("db", "postgres:16")]);
    let repo = Repo::new(&[("deploy/app.yaml", &before)]);
    let old_head = repo.head("main");
    let mut req = PromoteRequest::new(repo.url(), "deploy/app.yaml", image("ghcr.io/acme/api", 1));
    req.source_commit = Some("0123456789abcdef0123456789abcdef01234567".into());
    req.run_id = Some("run-42".into());
    let out = promote(&req).unwrap();
    assert!(!out.up_to_date);
    assert_eq!(out.attempts, 1);
    assert_eq!(out.branch, "main");
    assert_eq!(out.files, vec!["deploy/app.yaml".to_string()]);
    assert_eq!(out.changes.len(), 1);
    assert_eq!(out.changes[0].old, "ghcr.io/acme/api:1.0");
    let commit = out.commit.unwrap();
    assert_eq!(repo.head("main"), commit);
    assert_eq!(
        git(repo.bare(), &["rev-parse", &format!("{commit}^")]).unwrap(),
        old_head
    );
    // Only the value changed.
    let after = repo.show("main:deploy/app.yaml");
    assert_eq!(
        after,
        before
            .replace(
                "ghcr.io/acme/api:1.0",
                &format!("ghcr.io/acme/api@sha256:{}", digest(1))
            )
            .trim_end()
    );
    let body = git(repo.bare(), &["log", "-1", "--format=%B", "main"]).unwrap();
    assert_eq!(
        body,
        format!(
            "promote ghcr.io/acme/api to sha256:{}\n\nShipgate-Image: ghcr.io/acme/api@sha256:{}\nShipgate-Source-Commit: 0123456789abcdef0123456789abcdef01234567\nShipgate-Pipeline-Run: run-42",
            &digest(1)[..12],
            digest(1)
        )
    );
    let trailers = git(
        repo.bare(),
        &[
            "log",
            "-1",
            "--format=%(trailers:key=Shipgate-Image,valueonly)",
            "main",
        ],
    )
    .unwrap();
    assert_eq!(
        trailers.trim(),
        format!("ghcr.io/acme/api@sha256:{}", digest(1))
    );
    let who = git(
        repo.bare(),
        &["log", "-1", "--format=%an <%ae>|%cn <%ce>", "main"],
    )
    .unwrap();
    assert_eq!(
        who,
        "shipgate <shipgate@localhost>|shipgate <shipgate@localhost>"
    );
    // One file changed in the commit.
    let files = git(repo.bare(), &["show", "--name-only", "--format=", "main"]).unwrap();
    assert_eq!(files, "deploy/app.yaml");
}

#[test]
fn promote_already_up_to_date_is_a_no_op() {
    let pinned = format!("ghcr.io/acme/api@sha256:{}", digest(7));
    let repo = Repo::new(&[("app.yaml", &deployment(&[("api", &pinned)]))]);
    let head = repo.head("main");
    let out = promote(&PromoteRequest::new(
        repo.url(),
        "app.yaml",
        image("ghcr.io/acme/api", 7),
    ))
    .unwrap();
    assert!(out.up_to_date);
    assert!(out.commit.is_none());
    assert_eq!(out.attempts, 0);
    assert_eq!(repo.head("main"), head);
}

fn ssh_key(dir: &Path, name: &str) -> (PathBuf, String) {
    let key = dir.join(name);
    let st = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(st.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    (key, public.trim().to_string())
}

#[test]
fn promote_over_http_to_a_signed_review_branch() {
    let values = "# chart values\nimage:\n  repository: ghcr.io/acme/api\n  tag: \"1.0\"\n";
    let repo = Repo::new(&[("chart/values.yaml", values)]);
    let root = repo.bare().parent().unwrap().to_path_buf();
    let server = GitHttpServer::start(&root, Some(("ci".into(), "s3cret-token".into()))).unwrap();
    let keys = tempfile::tempdir().unwrap();
    let (key, public) = ssh_key(keys.path(), "release");
    let main_head = repo.head("main");

    let mut req = PromoteRequest::new(
        server.url("manifests.git"),
        "chart/values.yaml",
        image("ghcr.io/acme/api", 2),
    );
    req.credential = Some(Credential::Basic {
        username: "ci".into(),
        password: "s3cret-token".into(),
    });
    req.review_branch = Some("promote/api-2".into());
    req.sign_key = Some(key.clone());
    req.author = Some("Release Bot <release@example.com>".into());
    let out = promote(&req).unwrap();
    assert_eq!(out.branch, "promote/api-2");
    let commit = out.commit.unwrap();
    // main is untouched; the review branch has the commit on top of it.
    assert_eq!(repo.head("main"), main_head);
    assert_eq!(repo.head("promote/api-2"), commit);
    assert_eq!(
        repo.show("promote/api-2:chart/values.yaml"),
        format!("{values}  digest: sha256:{}", digest(2))
    );
    let who = git(repo.bare(), &["log", "-1", "--format=%an <%ae>", &commit]).unwrap();
    assert_eq!(who, "Release Bot <release@example.com>");
    // The signature verifies against the allowed signers file.
    let allowed = keys.path().join("allowed_signers");
    std::fs::write(&allowed, format!("release@example.com {public}\n")).unwrap();
    let cfg = format!("gpg.ssh.allowedSignersFile={}", allowed.display());
    let verified = git(repo.bare(), &["-c", &cfg, "verify-commit", &commit]);
    assert!(verified.is_ok(), "{verified:?}");
    // A stranger's allowed-signers file does not verify it.
    let (_, stranger) = ssh_key(keys.path(), "stranger");
    std::fs::write(&allowed, format!("release@example.com {stranger}\n")).unwrap();
    assert!(git(repo.bare(), &["-c", &cfg, "verify-commit", &commit]).is_err());

    // The same review branch again: refused, nothing changed.
    let e = promote(&req).unwrap_err();
    assert!(
        e.to_string()
            .contains("review branch promote/api-2 already exists"),
        "{e}"
    );
    assert_eq!(repo.head("promote/api-2"), commit);

    // Without credentials the server refuses; with credentials in the URL the message hides
    // them.
    let mut anon = PromoteRequest::new(
        server.url("manifests.git"),
        "chart/values.yaml",
        image("ghcr.io/acme/api", 3),
    );
    anon.branch = "no-such-branch".into();
    let e = promote(&anon).unwrap_err().to_string();
    assert!(e.contains("cloning branch no-such-branch"), "{e}");
    anon.repo = server.url_with_credentials("manifests.git");
    let e = promote(&anon).unwrap_err().to_string();
    assert!(e.contains("***@127.0.0.1") && !e.contains("s3cret"), "{e}");
}

#[test]
fn promote_concurrent_promotions_lose_nothing_over_http() {
    concurrent_promotions(true);
}

#[test]
fn promote_concurrent_promotions_lose_nothing_over_file_url() {
    concurrent_promotions(false);
}

/// Six images in two files, promoted at the same time by six threads.
fn concurrent_promotions(http: bool) {
    let a: Vec<(String, String)> = (0..3)
        .map(|i| (format!("a{i}"), format!("ghcr.io/acme/a{i}:1.0")))
        .collect();
    let b: Vec<(String, String)> = (0..3)
        .map(|i| (format!("b{i}"), format!("ghcr.io/acme/b{i}:1.0")))
        .collect();
    let as_refs = |v: &[(String, String)]| -> String {
        let pairs: Vec<(&str, &str)> = v.iter().map(|(n, i)| (n.as_str(), i.as_str())).collect();
        deployment(&pairs)
    };
    let repo = Repo::new(&[("a.yaml", &as_refs(&a)), ("b.yaml", &as_refs(&b))]);
    let root = repo.bare().parent().unwrap().to_path_buf();
    let server = GitHttpServer::start(&root, None).unwrap();
    let url = if http {
        server.url("manifests.git")
    } else {
        repo.url()
    };
    let barrier = Arc::new(Barrier::new(6));
    let handles: Vec<_> = (0..6u8)
        .map(|i| {
            let (file, name) = if i < 3 {
                ("a.yaml", format!("ghcr.io/acme/a{i}"))
            } else {
                ("b.yaml", format!("ghcr.io/acme/b{}", i - 3))
            };
            let mut req = PromoteRequest::new(url.clone(), file, image(&name, 10 + i));
            req.run_id = Some(format!("run-{i}"));
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                promote(&req)
            })
        })
        .collect();
    let outcomes: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let mut attempts = 0;
    for o in &outcomes {
        let o = o
            .as_ref()
            .unwrap_or_else(|e| panic!("a promotion failed: {e}"));
        assert!(o.commit.is_some());
        attempts += o.attempts;
    }
    // Every update is in the final tree and in the history: one commit each.
    let tree = format!("{}{}", repo.show("main:a.yaml"), repo.show("main:b.yaml"));
    for i in 0..6u8 {
        assert!(
            tree.contains(&format!("@sha256:{}", digest(10 + i))),
            "update {i} lost:\n{tree}"
        );
    }
    assert!(!tree.contains(":1.0"), "{tree}");
    let log = git(repo.bare(), &["log", "--format=%s", "main"]).unwrap();
    assert_eq!(
        log.lines().filter(|l| l.starts_with("promote ")).count(),
        6,
        "{log}"
    );
    assert_eq!(log.lines().count(), 7);
    // The commits form one line (no merges) and attempts were counted.
    let merges = git(repo.bare(), &["rev-list", "--merges", "--count", "main"]).unwrap();
    assert_eq!(merges, "0");
    assert!(attempts >= 6);
}

#[test]
fn promote_refused_push_reports_the_hook_and_leaves_nothing() {
    let repo = Repo::new(&[("app.yaml", &deployment(&[("api", "ghcr.io/acme/api:1.0")]))]);
    let hook = repo.bare().join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho 'policy: pushes to main need a review' >&2\nexit 1\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let head = repo.head("main");
    let e = promote(&PromoteRequest::new(
        repo.url(),
        "app.yaml",
        image("ghcr.io/acme/api", 4),
    ))
    .unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, GitopsError::Promote(_)), "{msg}");
    assert!(msg.contains("pre-receive hook declined"), "{msg}");
    assert!(
        msg.contains("policy: pushes to main need a review"),
        "{msg}"
    );
    assert!(msg.contains("nothing was pushed"), "{msg}");
    assert_eq!(repo.head("main"), head);
    let branches = git(repo.bare(), &["for-each-ref", "--format=%(refname)"]).unwrap();
    assert_eq!(branches, "refs/heads/main");
}

#[test]
fn promote_errors_name_the_problem() {
    let repo = Repo::new(&[
        ("app.yaml", &deployment(&[("api", "ghcr.io/acme/api:1.0")])),
        ("broken.yaml", "apiVersion: v1\nkind: Pod\nspec: [\n"),
    ]);
    let head = repo.head("main");
    let e = promote(&PromoteRequest::new(
        repo.url(),
        "app.yaml",
        image("ghcr.io/acme/other", 1),
    ))
    .unwrap_err();
    assert!(matches!(e, GitopsError::NoMatch { .. }), "{e}");
    assert!(
        e.to_string()
            .starts_with("app.yaml: image ghcr.io/acme/other is not referenced"),
        "{e}"
    );
    let e = promote(&PromoteRequest::new(
        repo.url(),
        "broken.yaml",
        image("ghcr.io/acme/api", 1),
    ))
    .unwrap_err();
    assert!(
        matches!(
            e,
            GitopsError::Edit {
                line: 3,
                column: 7,
                ..
            }
        ),
        "{e}"
    );
    let e = promote(&PromoteRequest::new(
        repo.url(),
        "missing.yaml",
        image("ghcr.io/acme/api", 1),
    ))
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("missing.yaml does not exist on branch main"),
        "{e}"
    );
    let e = promote(&PromoteRequest::new(
        repo.url(),
        "../x.yaml",
        image("ghcr.io/acme/api", 1),
    ))
    .unwrap_err();
    assert!(
        e.to_string().contains("relative to the repository root"),
        "{e}"
    );
    let gone = format!(
        "file://{}/nothing-here.git",
        repo.bare().parent().unwrap().display()
    );
    let e = promote(&PromoteRequest::new(
        gone,
        "app.yaml",
        image("ghcr.io/acme/api", 1),
    ))
    .unwrap_err();
    assert!(e.to_string().contains("cloning branch main"), "{e}");
    assert_eq!(repo.head("main"), head);
}
