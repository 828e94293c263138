//! `shipgate promote` through the binary, against real bare repositories over file://: the
//! table and JSON output, the no-op, errors with exit 2 and nothing left behind, and upstream
//! changes that land between the clone and the push (a `git` wrapper on PATH pushes them).

use std::path::{Path, PathBuf};

use shipgate_testenv::{GitFixture, git};

use crate::kit::{Run, run_with_env};

const DIGEST: &str = "abababababababababababababababababababababababababababababababab";

struct World {
    tmp: tempfile::TempDir,
    repo: GitFixture,
}

impl World {
    fn new(files: &[(&str, &str)]) -> World {
        let tmp = tempfile::Builder::new()
            .prefix("shipgate-cli-promote-")
            .tempdir()
            .unwrap();
        std::fs::create_dir_all(tmp.path().join("srv")).unwrap();
        std::fs::create_dir_all(tmp.path().join("tmp")).unwrap();
        let mut repo = GitFixture::new(&tmp.path().join("srv"), "manifests.git").unwrap();
        for (p, t) in files {
            repo.write(p, t).unwrap();
        }
        repo.commit("initial").unwrap();
        repo.push().unwrap();
        World { tmp, repo }
    }

    fn url(&self) -> String {
        format!("file://{}", self.repo.bare_dir().display())
    }

    fn head(&self) -> String {
        git(self.repo.bare_dir(), &["rev-parse", "refs/heads/main"]).unwrap()
    }

    /// Runs `shipgate promote --repo URL ARGS` with a private TMPDIR (checked empty after:
    /// the temporary clone never stays behind) and optionally a PATH with a git wrapper first.
    fn promote(&self, args: &[&str], path_prefix: Option<&Path>) -> Run {
        let url = self.url();
        let mut all = vec!["promote", "--repo", &url];
        all.extend_from_slice(args);
        let tmpdir = self.tmp.path().join("tmp");
        let path = match path_prefix {
            Some(p) => format!(
                "{}:{}",
                p.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
            None => std::env::var("PATH").unwrap_or_default(),
        };
        let run = run_with_env(
            self.tmp.path(),
            &all,
            &[("TMPDIR", tmpdir.to_str().unwrap()), ("PATH", &path)],
        );
        let left: Vec<_> = std::fs::read_dir(&tmpdir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(left.is_empty(), "left behind: {left:?}");
        run
    }
}

const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n      - name: api\n        image: ghcr.io/acme/api:1.0 # pinned by CI\n";

fn image() -> String {
    format!("ghcr.io/acme/api@sha256:{DIGEST}")
}

#[test]
fn promote_cli_json_then_up_to_date() {
    let w = World::new(&[("deploy/api.yaml", DEPLOY)]);
    let img = image();
    let run = w.promote(
        &[
            "--path",
            "deploy/api.yaml",
            "--image",
            &img,
            "--run-id",
            "7",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let j = run.json();
    assert_eq!(j["commit"].as_str().unwrap(), w.head());
    assert_eq!(j["branch"], "main");
    assert_eq!(j["kind"], "manifest");
    assert_eq!(j["upToDate"], false);
    assert_eq!(j["attempts"], 1);
    assert_eq!(j["files"][0], "deploy/api.yaml");
    assert_eq!(j["changes"][0]["line"], 10);
    assert_eq!(j["changes"][0]["old"], "ghcr.io/acme/api:1.0");
    assert_eq!(j["changes"][0]["new"], img.as_str());
    let body = git(w.repo.bare_dir(), &["log", "-1", "--format=%B", "main"]).unwrap();
    assert!(body.contains("Shipgate-Pipeline-Run: 7"), "{body}");

    let head = w.head();
    let run = w.promote(&["--path", "deploy/api.yaml", "--image", &img], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("already up to date"), "{}", run.stdout);
    assert_eq!(w.head(), head);
}

#[test]
fn promote_cli_table_output_for_a_review_branch() {
    let kust = "resources:\n- api.yaml\nimages:\n- name: ghcr.io/acme/api\n  newTag: \"1.0\"\n";
    let w = World::new(&[("overlays/prod/kustomization.yaml", kust)]);
    let img = image();
    let run = w.promote(
        &[
            "--path",
            "overlays/prod/kustomization.yaml",
            "--image",
            &img,
            "--review-branch",
            "promote/api",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let sha = git(w.repo.bare_dir(), &["rev-parse", "refs/heads/promote/api"]).unwrap();
    let out = run.stdout.replace(&sha, "[SHA]").replace(&w.url(), "[URL]");
    assert_eq!(
        out,
        format!(
            "repo      [URL]\nbranch    promote/api (review branch from main; open the pull request on your forge)\ncommit    [SHA]\nkind      kustomization\nattempts  1\nfiles     overlays/prod/kustomization.yaml\n  overlays/prod/kustomization.yaml:5  newTag: 1.0 -> digest: sha256:{DIGEST}\n"
        )
    );
    let text = git(
        w.repo.bare_dir(),
        &["show", "promote/api:overlays/prod/kustomization.yaml"],
    )
    .unwrap();
    assert_eq!(
        text,
        kust.replace("newTag: \"1.0\"", &format!("digest: \"sha256:{DIGEST}\""))
            .trim_end()
    );
}

#[test]
fn promote_cli_errors_exit_2_and_push_nothing() {
    let w = World::new(&[("app.yaml", DEPLOY), ("bad.yaml", "a: b\n  c: d\n")]);
    let head = w.head();
    let img = image();
    let run = w.promote(&["--path", "bad.yaml", "--image", &img], None);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr.starts_with("error: bad.yaml:2:"),
        "{}",
        run.stderr
    );
    let run = w.promote(
        &[
            "--path",
            "app.yaml",
            "--image",
            "ghcr.io/acme/web@sha256:1234",
        ],
        None,
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("64 lowercase hex"), "{}", run.stderr);
    let other = format!("ghcr.io/acme/web@sha256:{DIGEST}");
    let run = w.promote(&["--path", "app.yaml", "--image", &other], None);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("app.yaml: image ghcr.io/acme/web is not referenced"),
        "{}",
        run.stderr
    );
    let run = w.promote(
        &["--path", "app.yaml", "--image", &img, "--author", "nobody"],
        None,
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("Name <email>"), "{}", run.stderr);
    assert_eq!(w.head(), head);
    assert!(run.stdout.is_empty());
}

/// A `git` wrapper that, on the first `push`, runs `race.sh` (which pushes an upstream commit
/// prepared in the fixture's work clone) and then the real push, so the real push is refused
/// as non-fast-forward.
fn race_wrapper(w: &World) -> PathBuf {
    let bin = w.tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let real = std::process::Command::new("sh")
        .args(["-c", "command -v git"])
        .output()
        .unwrap();
    let real = String::from_utf8(real.stdout).unwrap().trim().to_string();
    let race = w.tmp.path().join("race.sh");
    std::fs::write(
        &race,
        format!(
            "cd '{}' && '{real}' push --quiet origin main\n",
            w.repo.work_dir().display()
        ),
    )
    .unwrap();
    let script = format!(
        "#!/bin/sh\nfor a in \"$@\"; do\n  if [ \"$a\" = push ] && [ -f '{race}' ]; then\n    sh '{race}' >&2 && rm -f '{race}'\n  fi\ndone\nexec '{real}' \"$@\"\n",
        race = race.display()
    );
    let wrapper = bin.join("git");
    std::fs::write(&wrapper, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

#[test]
fn promote_cli_retries_after_an_upstream_change() {
    let mut w = World::new(&[("app.yaml", DEPLOY), ("README.md", "manifests\n")]);
    // Someone else's change, pushed while the promotion runs.
    w.repo
        .write("README.md", "manifests, edited upstream\n")
        .unwrap();
    let upstream = w.repo.commit("upstream edit").unwrap();
    let bin = race_wrapper(&w);
    let img = image();
    let run = w.promote(
        &["--path", "app.yaml", "--image", &img, "--format", "json"],
        Some(&bin),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let j = run.json();
    assert_eq!(j["attempts"], 2, "{j}");
    let parent = git(w.repo.bare_dir(), &["rev-parse", "main^"]).unwrap();
    assert_eq!(
        parent, upstream,
        "the promotion was re-applied on the upstream head"
    );
    let readme = git(w.repo.bare_dir(), &["show", "main:README.md"]).unwrap();
    assert_eq!(readme, "manifests, edited upstream");
    let app = git(w.repo.bare_dir(), &["show", "main:app.yaml"]).unwrap();
    assert!(app.contains(&img), "{app}");
}

#[test]
fn promote_cli_upstream_removed_the_image() {
    let mut w = World::new(&[("app.yaml", DEPLOY)]);
    w.repo
        .write(
            "app.yaml",
            &DEPLOY.replace("ghcr.io/acme/api:1.0", "ghcr.io/acme/web:2.0"),
        )
        .unwrap();
    let upstream = w.repo.commit("switch to web").unwrap();
    let bin = race_wrapper(&w);
    let img = image();
    let run = w.promote(&["--path", "app.yaml", "--image", &img], Some(&bin));
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr
            .contains("after an upstream change to main (attempt 2)")
            && run
                .stderr
                .contains("image ghcr.io/acme/api is not referenced"),
        "{}",
        run.stderr
    );
    assert_eq!(
        w.head(),
        upstream,
        "nothing was pushed on top of the upstream change"
    );
    assert!(run.stdout.is_empty());
}
