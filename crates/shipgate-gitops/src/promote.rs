//! Promotion: pin a new image digest in a manifests repository and push the commit — the
//! delivery step Argo CD Image Updater and Flux image automation perform.
//!
//! Expected flow ([`promote`]): shallow-clone the target branch into a private temporary
//! directory, rewrite the file with [`crate::yamledit`], commit (message `promote NAME to
//! sha256:<12 hex>` with `Shipgate-*` trailers, optionally SSH-signed), push. When the push is
//! refused as non-fast-forward (someone pushed in between), fetch the new head, reset to it,
//! re-apply the edit from scratch on the new contents and push again, up to
//! [`PromoteRequest::max_attempts`] times with a small jittered backoff. With a review branch
//! the commit goes to a new branch instead (it must not exist yet).
//!
//! Guarantees: git runs in the same hermetic environment as [`crate::git`] (no user or system
//! configuration, no prompts, no hooks, credentials never on a command line or in a message:
//! URLs are redacted); the temporary clone is removed whatever happens; nothing is pushed
//! unless the edit succeeded on the current remote head; a refused push leaves the remote as
//! it was.
//!
//! Errors: invalid YAML (file:line:column), the image not referenced in the file (also when an
//! upstream change removed it between attempts), a push refused for another reason (hook,
//! protected branch: git's reason is in the message), retries exhausted, an existing review
//! branch, an unreachable repository or missing branch.

use std::hash::{BuildHasher, Hasher};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::error::GitopsError;
use crate::git::{Credential, Env, hermetic_command, hermetic_env, redact};
use crate::process::{Limits, Output, run_bounded};
use crate::yamledit::{Change, EditOptions, FileKind, PinnedImage, edit};

/// Default author and committer of promotion commits.
pub const DEFAULT_AUTHOR: &str = "shipgate <shipgate@localhost>";
/// Largest file a promotion edits.
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// What to promote where.
#[derive(Debug, Clone)]
pub struct PromoteRequest {
    /// The manifests repository (any URL git understands).
    pub repo: String,
    /// The file to edit, relative to the repository root.
    pub path: String,
    /// The image and its new digest.
    pub image: PinnedImage,
    /// The branch to clone (and to push to, without a review branch).
    pub branch: String,
    /// Push the commit to this new branch instead of `branch`.
    pub review_branch: Option<String>,
    /// `Shipgate-Source-Commit` trailer.
    pub source_commit: Option<String>,
    /// `Shipgate-Pipeline-Run` trailer.
    pub run_id: Option<String>,
    /// SSH private key to sign the commit with.
    pub sign_key: Option<PathBuf>,
    /// `Name <email>` of author and committer (default [`DEFAULT_AUTHOR`]).
    pub author: Option<String>,
    /// How to edit the file.
    pub edit: EditOptions,
    /// Credentials for the repository.
    pub credential: Option<Credential>,
    /// Push attempts before giving up on non-fast-forward rejections (at least 1).
    pub max_attempts: u32,
    /// Time for one network operation (clone, fetch, push).
    pub network_timeout: Duration,
}

impl PromoteRequest {
    /// A request with the defaults: branch `main`, 10 attempts, 120 s per network operation.
    pub fn new(repo: impl Into<String>, path: impl Into<String>, image: PinnedImage) -> Self {
        PromoteRequest {
            repo: repo.into(),
            path: path.into(),
            image,
            branch: "main".into(),
            review_branch: None,
            source_commit: None,
            run_id: None,
            sign_key: None,
            author: None,
            edit: EditOptions::default(),
            credential: None,
            max_attempts: 10,
            network_timeout: Duration::from_secs(120),
        }
    }
}

/// What a promotion did.
#[derive(Debug, Clone)]
pub struct PromoteOutcome {
    /// The pushed commit (`None` when already up to date).
    pub commit: Option<String>,
    /// The branch pushed to (the review branch when given), or the target branch when nothing
    /// was pushed.
    pub branch: String,
    /// The repository, redacted.
    pub repo: String,
    /// The file kind the edit used.
    pub kind: FileKind,
    /// Files changed (empty when up to date).
    pub files: Vec<String>,
    /// Values changed.
    pub changes: Vec<Change>,
    /// Push attempts made (0 when up to date).
    pub attempts: u32,
    /// Every reference was already at the digest: nothing committed.
    pub up_to_date: bool,
}

/// Splits `Name <email>`.
pub fn parse_author(s: &str) -> Result<(String, String), GitopsError> {
    let bad = || GitopsError::Other(format!("--author {s:?}: expected \"Name <email>\""));
    let (name, rest) = s.split_once('<').ok_or_else(bad)?;
    let email = rest.strip_suffix('>').ok_or_else(bad)?;
    let name = name.trim();
    if name.is_empty()
        || email.is_empty()
        || email.contains(['<', '>'])
        || s.chars().any(char::is_control)
    {
        return Err(bad());
    }
    Ok((name.to_string(), email.trim().to_string()))
}

fn check_trailer(what: &str, v: &str) -> Result<(), GitopsError> {
    if v.is_empty() || v.len() > 256 || v.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(GitopsError::Other(format!(
            "{what} {v:?}: must be 1-256 characters without spaces or control characters"
        )));
    }
    Ok(())
}

fn check_path(p: &str) -> Result<(), GitopsError> {
    let ok = !p.is_empty()
        && !p.starts_with('/')
        && !p.contains('\\')
        && p.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
        && !p.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(GitopsError::Other(format!(
            "--path {p:?}: give a file path relative to the repository root, without `..`"
        )))
    }
}

/// The commit message: subject and trailers (only those given).
pub fn commit_message(req: &PromoteRequest) -> String {
    let mut m = format!(
        "promote {} to sha256:{}\n\nShipgate-Image: {}\n",
        req.image.name,
        req.image.short_digest(),
        req.image.reference()
    );
    if let Some(s) = &req.source_commit {
        m.push_str(&format!("Shipgate-Source-Commit: {s}\n"));
    }
    if let Some(r) = &req.run_id {
        m.push_str(&format!("Shipgate-Pipeline-Run: {r}\n"));
    }
    m
}

/// One promotion's git context: the hermetic environment and the temporary clone.
struct Work {
    env: Env,
    dir: tempfile::TempDir,
    author: (String, String),
    network_timeout: Duration,
}

impl Work {
    fn clone_dir(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = hermetic_command(&self.env);
        cmd.arg("-C").arg(self.clone_dir()).args(args);
        cmd.env("GIT_AUTHOR_NAME", &self.author.0)
            .env("GIT_AUTHOR_EMAIL", &self.author.1)
            .env("GIT_COMMITTER_NAME", &self.author.0)
            .env("GIT_COMMITTER_EMAIL", &self.author.1);
        cmd
    }

    fn run_raw(&self, cmd: Command, what: &str, network: bool) -> Result<Output, GitopsError> {
        let limits = Limits {
            timeout: if network {
                self.network_timeout
            } else {
                Duration::from_secs(60)
            },
            max_stdout: 16 * 1024 * 1024,
            max_stderr: 1024 * 1024,
        };
        run_bounded(cmd, &limits).map_err(|e| GitopsError::Promote(redact(&format!("{what}: {e}"))))
    }

    /// Runs `git ARGS` in the clone; stdout on success, git's stderr in the error.
    fn run(&self, args: &[&str], network: bool) -> Result<String, GitopsError> {
        let what = format!("git {}", args.first().copied().unwrap_or_default());
        let out = self.run_raw(self.command(args), &what, network)?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(GitopsError::Promote(redact(&format!(
                "{what} failed: {}",
                stderr_lines(&out.stderr)
            ))))
        }
    }
}

fn stderr_lines(stderr: &[u8]) -> String {
    let s = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = s
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("hint:"))
        .collect();
    lines.join("; ")
}

/// How a push ended.
enum Push {
    Done,
    /// Non-fast-forward: someone else pushed first.
    Behind,
}

/// A jittered pause before retry `attempt` (1-based): 40 ms × attempt plus up to 100 ms.
fn backoff(attempt: u32) -> Duration {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(attempt);
    h.write_u32(std::process::id());
    let jitter = h.finish() % 100;
    Duration::from_millis(40 * u64::from(attempt.min(10)) + jitter)
}

/// Runs one promotion (blocking). See the module docs for the flow and guarantees.
pub fn promote(req: &PromoteRequest) -> Result<PromoteOutcome, GitopsError> {
    check_path(&req.path)?;
    if let Some(s) = &req.source_commit {
        check_trailer("--source-commit", s)?;
        if !s.bytes().all(|b| b.is_ascii_hexdigit()) || s.len() < 7 || s.len() > 64 {
            return Err(GitopsError::Other(format!(
                "--source-commit {s:?}: expected a commit SHA (7-64 hex digits)"
            )));
        }
    }
    if let Some(r) = &req.run_id {
        check_trailer("--run-id", r)?;
    }
    let author = parse_author(req.author.as_deref().unwrap_or(DEFAULT_AUTHOR))?;
    let shown = redact(&req.repo);
    let dir = tempfile::Builder::new()
        .prefix("shipgate-promote-")
        .tempdir()
        .map_err(GitopsError::io(
            "creating a temporary directory for the clone",
        ))?;
    let work = Work {
        env: hermetic_env(&req.repo, req.credential.as_ref())?,
        dir,
        author,
        network_timeout: req.network_timeout,
    };
    for (what, name) in [
        ("--branch", Some(&req.branch)),
        ("--review-branch", req.review_branch.as_ref()),
    ] {
        if let Some(name) = name {
            let mut cmd = hermetic_command(&work.env);
            cmd.args(["check-ref-format", "--branch", name]);
            let ok = work
                .run_raw(cmd, "git check-ref-format", false)
                .is_ok_and(|o| o.status.success());
            if !ok || name.starts_with('-') {
                return Err(GitopsError::Other(format!(
                    "{what} {name:?} is not a valid branch name"
                )));
            }
        }
    }
    if req.review_branch.as_deref() == Some(req.branch.as_str()) {
        return Err(GitopsError::Other(
            "--review-branch must differ from --branch".into(),
        ));
    }

    // A review branch must be new: refuse before doing any work.
    if let Some(review) = &req.review_branch {
        let mut cmd = hermetic_command(&work.env);
        cmd.args(["ls-remote", "--heads", "--"])
            .arg(&req.repo)
            .arg(format!("refs/heads/{review}"));
        let out = work.run_raw(cmd, "git ls-remote", true)?;
        if !out.status.success() {
            return Err(GitopsError::Promote(redact(&format!(
                "reading the branches of {shown}: {}",
                stderr_lines(&out.stderr)
            ))));
        }
        if !out.stdout.is_empty() {
            return Err(GitopsError::Promote(format!(
                "review branch {review} already exists in {shown}; choose another name"
            )));
        }
    }

    // Clone the target branch, shallowly.
    let mut cmd = hermetic_command(&work.env);
    cmd.args([
        "clone",
        "--quiet",
        "--depth=1",
        "--single-branch",
        "--no-tags",
        "--branch",
    ])
    .arg(&req.branch)
    .arg("--")
    .arg(&req.repo)
    .arg(work.clone_dir());
    let out = work.run_raw(cmd, "git clone", true)?;
    if !out.status.success() {
        return Err(GitopsError::Promote(redact(&format!(
            "cloning branch {} of {shown}: {}",
            req.branch,
            stderr_lines(&out.stderr)
        ))));
    }
    let msg_file = work.dir.path().join("message");
    std::fs::write(&msg_file, commit_message(req))
        .map_err(GitopsError::io("writing the commit message"))?;
    let msg_s = msg_file.to_string_lossy().into_owned();

    let max = req.max_attempts.max(1);
    let target = req.review_branch.as_deref().unwrap_or(&req.branch);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let text = read_file(&work, req, &shown)?;
        let edited = edit(&req.path, &text, &req.image, &req.edit).map_err(|e| {
            if attempt > 1 {
                GitopsError::Promote(format!(
                    "after an upstream change to {} (attempt {attempt}): {e}",
                    req.branch
                ))
            } else {
                e
            }
        })?;
        if edited.changes.is_empty() || edited.text == text {
            return Ok(PromoteOutcome {
                commit: None,
                branch: req.branch.clone(),
                repo: shown,
                kind: edited.kind,
                files: Vec::new(),
                changes: Vec::new(),
                attempts: attempt - 1,
                up_to_date: true,
            });
        }
        let file = work.clone_dir().join(&req.path);
        std::fs::write(&file, &edited.text)
            .map_err(GitopsError::io(format!("writing {}", req.path)))?;
        work.run(&["add", "--", &req.path], false)?;
        let mut args: Vec<String> = Vec::new();
        if let Some(key) = &req.sign_key {
            args.extend([
                "-c".into(),
                "gpg.format=ssh".into(),
                "-c".into(),
                format!("user.signingkey={}", key.display()),
            ]);
        }
        args.extend(["commit".into(), "--quiet".into(), "--no-verify".into()]);
        if req.sign_key.is_some() {
            args.push("-S".into());
        }
        args.extend(["-F".into(), msg_s.clone()]);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        work.run(&argv, false)?;
        let commit = work.run(&["rev-parse", "HEAD"], false)?.trim().to_string();

        match push(&work, req, target, &shown)? {
            Push::Done => {
                return Ok(PromoteOutcome {
                    commit: Some(commit),
                    branch: target.to_string(),
                    repo: shown,
                    kind: edited.kind,
                    files: vec![req.path.clone()],
                    changes: edited.changes,
                    attempts: attempt,
                    up_to_date: false,
                });
            }
            Push::Behind if attempt < max => {
                std::thread::sleep(backoff(attempt));
                let refspec = format!("+refs/heads/{0}:refs/remotes/origin/{0}", req.branch);
                work.run(
                    &[
                        "fetch",
                        "--quiet",
                        "--depth=1",
                        "--no-tags",
                        "origin",
                        &refspec,
                    ],
                    true,
                )?;
                work.run(
                    &[
                        "reset",
                        "--quiet",
                        "--hard",
                        &format!("refs/remotes/origin/{}", req.branch),
                    ],
                    false,
                )?;
            }
            Push::Behind => {
                return Err(GitopsError::Promote(format!(
                    "push to {target} of {shown} still refused as non-fast-forward after {attempt} attempts (other promotions keep landing first); nothing was pushed"
                )));
            }
        }
    }
}

fn read_file(work: &Work, req: &PromoteRequest, shown: &str) -> Result<String, GitopsError> {
    let listing = work.run(&["ls-tree", "-l", "HEAD", "--", &req.path], false)?;
    let Some(line) = listing.lines().next() else {
        return Err(GitopsError::Promote(format!(
            "{} does not exist on branch {} of {shown}",
            req.path, req.branch
        )));
    };
    let mut f = line.split_whitespace();
    let (mode, kind, size) = (f.next(), f.next(), f.nth(1));
    if kind != Some("blob") || !matches!(mode, Some("100644" | "100755")) {
        return Err(GitopsError::Promote(format!(
            "{} on branch {} of {shown} is not a regular file",
            req.path, req.branch
        )));
    }
    if size
        .and_then(|s| s.parse::<u64>().ok())
        .is_none_or(|s| s > MAX_FILE_BYTES)
    {
        return Err(GitopsError::Promote(format!(
            "{} is larger than {} MiB",
            req.path,
            MAX_FILE_BYTES / 1024 / 1024
        )));
    }
    let bytes = std::fs::read(work.clone_dir().join(&req.path))
        .map_err(GitopsError::io(format!("reading {}", req.path)))?;
    String::from_utf8(bytes)
        .map_err(|_| GitopsError::Promote(format!("{} is not UTF-8 text", req.path)))
}

fn push(work: &Work, req: &PromoteRequest, target: &str, shown: &str) -> Result<Push, GitopsError> {
    let dst = format!("HEAD:refs/heads/{target}");
    let mut args = vec!["push", "--porcelain", "--no-verify"];
    let lease;
    if req.review_branch.is_some() {
        // An empty expected value: the branch must not exist yet.
        lease = format!("--force-with-lease=refs/heads/{target}:");
        args.push(&lease);
    }
    args.extend(["origin", &dst]);
    let out = work.run_raw(work.command(&args), "git push", true)?;
    if out.status.success() {
        return Ok(Push::Done);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let status = stdout
        .lines()
        .find(|l| l.starts_with('!'))
        .and_then(|l| l.split('\t').nth(2))
        .unwrap_or_default()
        .to_string();
    if req.review_branch.is_some() && status.contains("stale info") {
        return Err(GitopsError::Promote(format!(
            "review branch {target} already exists in {shown}; choose another name"
        )));
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Behind: refused as non-fast-forward, or another push won the race for the ref lock on
    // the server after our refs were advertised (`cannot lock ref ... but expected ...`).
    let lost_lock = status.starts_with("[remote rejected]")
        && status.contains("failed to update ref")
        && (stderr.contains("but expected") || stderr.contains("cannot lock ref"));
    let non_ff = status.starts_with("[rejected]")
        && (status.contains("fetch first") || status.contains("non-fast-forward"));
    if (non_ff || lost_lock) && req.review_branch.is_none() {
        return Ok(Push::Behind);
    }
    let remote: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("remote:"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let mut reason = if status.is_empty() {
        stderr_lines(&out.stderr)
    } else {
        status
    };
    if !remote.is_empty() {
        reason.push_str(&format!(" (remote: {})", remote.join("; ")));
    }
    Err(GitopsError::Promote(redact(&format!(
        "push to {target} of {shown} refused: {reason}; nothing was pushed"
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> PinnedImage {
        PinnedImage::parse(&format!("ghcr.io/acme/api@sha256:{}", "ab".repeat(32))).expect("image")
    }

    #[test]
    fn message_has_only_given_trailers() {
        let mut req = PromoteRequest::new("file:///r", "x.yaml", image());
        let m = commit_message(&req);
        assert!(m.starts_with("promote ghcr.io/acme/api to sha256:abababababab\n\n"));
        assert!(m.contains("Shipgate-Image: ghcr.io/acme/api@sha256:abab"));
        assert!(!m.contains("Shipgate-Source-Commit"));
        req.run_id = Some("42".into());
        req.source_commit = Some("deadbeef".into());
        let m = commit_message(&req);
        assert!(m.contains("Shipgate-Source-Commit: deadbeef\nShipgate-Pipeline-Run: 42\n"));
    }

    #[test]
    fn authors_and_paths_are_checked() {
        assert_eq!(
            parse_author("Release Bot <bot@example.com>").expect("ok"),
            ("Release Bot".to_string(), "bot@example.com".to_string())
        );
        assert!(parse_author("nobody").is_err());
        assert!(parse_author("<a@b>").is_err());
        assert!(parse_author("A <a@b>\nEvil: x").is_err());
        assert!(check_path("deploy/app.yaml").is_ok());
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a//b", "./a"] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
        assert!(check_trailer("--run-id", "a b").is_err());
        assert!(backoff(3) >= Duration::from_millis(120));
    }
}
