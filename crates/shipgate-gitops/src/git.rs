//! Git sources: resolve a revision to a commit SHA, fetch it shallowly into a cached bare
//! repository, materialise a read-only checkout, and verify commit signatures.
//!
//! The real `git` runs as a child process (the same choice as Argo CD's repo server: it speaks
//! every transport and credential scheme users have), hermetically: no system or user git
//! configuration is read (`GIT_CONFIG_NOSYSTEM`, `GIT_CONFIG_GLOBAL=/dev/null`), it never
//! prompts (`GIT_TERMINAL_PROMPT=0`), and every call is bounded in time and output.
//!
//! Credentials are handed to git through the environment (`http.<url>.extraHeader` for
//! HTTPS basic auth, `GIT_SSH_COMMAND` with a private key file that only this process can
//! read for SSH) and never appear on a command line, in a record or in an error message: URLs
//! are redacted (`https://***@host/...`) wherever they are shown.
//!
//! Layout under the cache root: `repos/<sha256(url)[..16]>.git` (bare, shallow) and
//! `checkouts/<commit>` (the tree at a commit, shared by every application on that commit).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use sha2::Digest as _;

use crate::app::VerifySpec;
use crate::error::GitopsError;
use crate::history::SignatureCheck;
use crate::process::{Limits, run_bounded};

/// Credentials for a repository. `Debug` never shows the secret parts.
#[derive(Clone)]
pub enum Credential {
    /// HTTPS basic auth (a token is usually the password).
    Basic {
        /// User name.
        username: String,
        /// Password or token.
        password: String,
    },
    /// SSH private key (OpenSSH format) and optional known_hosts lines.
    Ssh {
        /// The private key.
        private_key: String,
        /// `known_hosts` lines; without them the host must already be known.
        known_hosts: Option<String>,
    },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Credential::Ssh { .. } => f.write_str("Ssh { private_key: <redacted> }"),
        }
    }
}

impl Credential {
    /// From a map with `username` + `password`, or `sshPrivateKey` (+ `sshKnownHosts`).
    pub fn from_map(map: &HashMap<String, String>, what: &str) -> Result<Credential, GitopsError> {
        if let Some(key) = map.get("sshPrivateKey") {
            return Ok(Credential::Ssh {
                private_key: key.clone(),
                known_hosts: map.get("sshKnownHosts").cloned(),
            });
        }
        match (map.get("username"), map.get("password")) {
            (Some(u), Some(p)) => Ok(Credential::Basic {
                username: u.clone(),
                password: p.clone(),
            }),
            (None, Some(p)) => Ok(Credential::Basic {
                // Token-only credentials: any user name works with most forges.
                username: "git".into(),
                password: p.clone(),
            }),
            _ => Err(GitopsError::Other(format!(
                "{what}: credentials need `username` and `password`, or `sshPrivateKey`"
            ))),
        }
    }

    /// Reads a YAML credentials file.
    pub fn from_file(path: &Path) -> Result<Credential, GitopsError> {
        let text = std::fs::read_to_string(path).map_err(GitopsError::io(format!(
            "reading credentials {}",
            path.display()
        )))?;
        let map: HashMap<String, String> = serde_saphyr::from_str(&text).map_err(|e| {
            GitopsError::Other(format!(
                "credentials {}: {}",
                path.display(),
                e.to_string().lines().next().unwrap_or_default()
            ))
        })?;
        Credential::from_map(&map, &path.display().to_string())
    }
}

/// Hides the user-info part of a URL (`https://user:token@host` → `https://***@host`) in any
/// text.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '/' || c == '\'' || c == '"')
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(at) => {
                out.push_str("***");
                out.push_str(&tail[at..end]);
            }
            None => out.push_str(&tail[..end]),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// A resolved revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    /// The commit SHA.
    pub sha: String,
    /// `Name <email>`.
    pub author: String,
    /// Committer date, ISO 8601.
    pub date: String,
    /// Subject line.
    pub subject: String,
}

/// Bounds of one git call.
#[derive(Debug, Clone)]
pub struct GitLimits {
    /// Time for a network operation (ls-remote, fetch).
    pub network_timeout: Duration,
    /// Time for a local operation.
    pub local_timeout: Duration,
    /// How long an `ls-remote` answer (revision -> commit, per URL and credential) is reused.
    /// Zero (the default) asks the remote on every fetch, so a one-shot `gitops sync` always
    /// sees the newest commit; the agent sets a few seconds so that 100 applications on one
    /// repository and branch cost one round trip per sync round, not 100.
    pub resolve_memo: Duration,
}

impl Default for GitLimits {
    fn default() -> Self {
        GitLimits {
            network_timeout: Duration::from_secs(120),
            local_timeout: Duration::from_secs(60),
            resolve_memo: Duration::ZERO,
        }
    }
}

/// Checkouts kept on disk (the oldest are removed beyond this).
const MAX_CHECKOUTS: usize = 32;

/// (url, revision, credential fingerprint) of a remembered resolution.
type MemoKey = (String, String, String);

/// Cached bare repositories and checkouts.
#[derive(Debug)]
pub struct GitCache {
    root: PathBuf,
    limits: GitLimits,
    locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    memo: Mutex<HashMap<MemoKey, (String, Instant)>>,
}

/// The environment of one hermetic git call (see the module docs), shared with
/// [`crate::promote`].
pub(crate) struct Env {
    pub(crate) vars: Vec<(String, String)>,
    // Keeps the SSH key and known_hosts files alive for the duration of the call.
    _files: Option<tempfile::TempDir>,
}

/// A `git` command with a cleared environment plus `env` (only PATH, HOME, TMPDIR and the
/// TLS trust variables are passed through).
pub(crate) fn hermetic_command(env: &Env) -> Command {
    let mut cmd = Command::new("git");
    cmd.env_clear();
    for key in ["PATH", "HOME", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR"] {
        if let Some(v) = std::env::var_os(key) {
            cmd.env(key, v);
        }
    }
    cmd.envs(env.vars.iter().map(|(k, v)| (k, v)));
    cmd
}

/// A digest naming the credential (not revealing it), so that answers obtained with one
/// credential are never reused for a caller with another (or none).
fn credential_fingerprint(cred: Option<&Credential>) -> String {
    let mut h = sha2::Sha256::new();
    match cred {
        None => h.update(b"none"),
        Some(Credential::Basic { username, password }) => {
            h.update(b"basic\0");
            h.update(username.as_bytes());
            h.update(b"\0");
            h.update(password.as_bytes());
        }
        Some(Credential::Ssh {
            private_key,
            known_hosts,
        }) => {
            h.update(b"ssh\0");
            h.update(private_key.as_bytes());
            h.update(b"\0");
            h.update(known_hosts.as_deref().unwrap_or_default().as_bytes());
        }
    }
    hex::encode(h.finalize())
}

fn is_sha(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl GitCache {
    /// A cache under `root` (created on first use, mode 0700).
    pub fn new(root: impl Into<PathBuf>, limits: GitLimits) -> Self {
        GitCache {
            root: root.into(),
            limits,
            locks: Mutex::new(HashMap::new()),
            memo: Mutex::new(HashMap::new()),
        }
    }

    /// The cache root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn repo_dir(&self, url: &str) -> PathBuf {
        let h = hex::encode(sha2::Sha256::digest(url.as_bytes()));
        self.root.join("repos").join(format!("{}.git", &h[..16]))
    }

    fn lock_for(&self, url: &str) -> Arc<Mutex<()>> {
        let mut m = self.locks.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(url.to_string()).or_default().clone()
    }

    fn env(&self, url: &str, cred: Option<&Credential>) -> Result<Env, GitopsError> {
        hermetic_env(url, cred)
    }
}

/// The hermetic environment for talking to `url` with `cred` (see the module docs).
pub(crate) fn hermetic_env(url: &str, cred: Option<&Credential>) -> Result<Env, GitopsError> {
    let mut vars: Vec<(String, String)> = vec![
        ("GIT_CONFIG_NOSYSTEM".into(), "1".into()),
        ("GIT_CONFIG_GLOBAL".into(), "/dev/null".into()),
        ("GIT_TERMINAL_PROMPT".into(), "0".into()),
        ("GIT_ASKPASS".into(), "/bin/false".into()),
        ("SSH_ASKPASS".into(), "/bin/false".into()),
        ("LC_ALL".into(), "C".into()),
    ];
    let mut files = None;
    let mut config: Vec<(String, String)> = vec![
        // Never run credential helpers the machine may have configured.
        ("credential.helper".into(), String::new()),
        ("protocol.version".into(), "2".into()),
        ("core.hooksPath".into(), "/dev/null".into()),
    ];
    match cred {
        Some(Credential::Basic { username, password }) => {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
            config.push((
                format!("http.{url}.extraHeader"),
                format!("Authorization: Basic {token}"),
            ));
        }
        Some(Credential::Ssh {
            private_key,
            known_hosts,
        }) => {
            let dir = tempfile::Builder::new()
                .prefix("shipgate-ssh-")
                .tempdir()
                .map_err(GitopsError::io("creating a directory for the SSH key"))?;
            let key = dir.path().join("id");
            write_private(&key, private_key.trim_end().to_string() + "\n")?;
            let mut cmd = format!(
                "ssh -i {} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes",
                key.display()
            );
            if let Some(kh) = known_hosts {
                let path = dir.path().join("known_hosts");
                write_private(&path, kh.clone())?;
                cmd.push_str(&format!(" -o UserKnownHostsFile={}", path.display()));
            }
            vars.push(("GIT_SSH_COMMAND".into(), cmd));
            files = Some(dir);
        }
        None => {}
    }
    vars.push(("GIT_CONFIG_COUNT".into(), config.len().to_string()));
    for (i, (k, v)) in config.into_iter().enumerate() {
        vars.push((format!("GIT_CONFIG_KEY_{i}"), k));
        vars.push((format!("GIT_CONFIG_VALUE_{i}"), v));
    }
    Ok(Env {
        vars,
        _files: files,
    })
}

impl GitCache {
    fn git(
        &self,
        env: &Env,
        dir: Option<&Path>,
        args: &[&str],
        timeout: Duration,
    ) -> Result<String, String> {
        let mut cmd = hermetic_command(env);
        if let Some(d) = dir {
            cmd.arg("--git-dir").arg(d);
        }
        cmd.args(args);
        let limits = Limits {
            timeout,
            max_stdout: 64 * 1024 * 1024,
            max_stderr: 1024 * 1024,
        };
        let what = format!("git {}", args.first().copied().unwrap_or_default());
        let out = run_bounded(cmd, &limits).map_err(|e| redact(&format!("{what}: {e}")))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let msg: Vec<&str> = stderr
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("hint:"))
                .collect();
            Err(redact(&format!("{what} failed: {}", msg.join("; "))))
        }
    }

    /// Resolves `revision` of `url` to a commit and makes sure the commit is in the cache
    /// (shallow fetch when it is not). Blocking; run it off the async runtime.
    pub fn fetch(
        &self,
        app: &str,
        url: &str,
        revision: &str,
        cred: Option<&Credential>,
    ) -> Result<Commit, GitopsError> {
        let err = |message: String| GitopsError::Git {
            app: app.to_string(),
            message,
        };
        let shown = redact(url);
        let lock = self.lock_for(url);
        let _guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        let env = self.env(url, cred).map_err(|e| err(e.to_string()))?;
        let dir = self.repo_dir(url);
        if !dir.join("HEAD").exists() {
            create_private_dir(dir.parent().unwrap_or(&self.root))
                .map_err(|e| err(e.to_string()))?;
            self.git(
                &env,
                None,
                &["init", "--bare", "--quiet", &dir.to_string_lossy()],
                self.limits.local_timeout,
            )
            .map_err(err)?;
        }
        let net = self.limits.network_timeout;
        let fp = credential_fingerprint(cred);
        let sha = if is_sha(revision) {
            let sha = revision.to_ascii_lowercase();
            if self.has_commit(&env, &dir, &sha) {
                // The cache is shared by every application on this URL: a caller must show
                // that it can read the repository before it is given a cached commit.
                self.check_access(&env, url, &fp).map_err(err)?;
            } else {
                let shallow = self.git(
                    &env,
                    Some(&dir),
                    &["fetch", "--quiet", "--no-tags", "--depth=1", url, &sha],
                    net,
                );
                if shallow.is_err() || !self.has_commit(&env, &dir, &sha) {
                    // Servers that refuse unadvertised objects: fetch the branches and tags
                    // and look for it there.
                    self.git(
                        &env,
                        Some(&dir),
                        &[
                            "fetch",
                            "--quiet",
                            url,
                            "+refs/heads/*:refs/remotes/origin/*",
                            "+refs/tags/*:refs/tags/*",
                        ],
                        net,
                    )
                    .map_err(err)?;
                    if !self.has_commit(&env, &dir, &sha) {
                        return Err(err(format!(
                            "revision {revision} does not exist in {shown} (not reachable from any branch or tag)"
                        )));
                    }
                }
            }
            sha
        } else {
            let (sha, refname) = self.resolve_remote(&env, url, revision, &fp).map_err(err)?;
            if !self.has_commit(&env, &dir, &sha) {
                self.git(
                    &env,
                    Some(&dir),
                    &["fetch", "--quiet", "--no-tags", "--depth=1", url, &refname],
                    net,
                )
                .map_err(err)?;
                // The branch may have moved between ls-remote and fetch: take what was fetched.
                let fetched = self
                    .git(
                        &env,
                        Some(&dir),
                        &["rev-parse", "--verify", "--quiet", "FETCH_HEAD^{commit}"],
                        self.limits.local_timeout,
                    )
                    .map_err(err)?;
                let fetched = fetched.trim().to_string();
                if fetched != sha {
                    self.remember(url, revision, &fp, &fetched);
                }
                fetched
            } else {
                sha
            }
        };
        let info = self
            .git(
                &env,
                Some(&dir),
                &["show", "-s", "--format=%H%x00%an <%ae>%x00%cI%x00%s", &sha],
                self.limits.local_timeout,
            )
            .map_err(err)?;
        let mut parts = info.trim_end_matches('\n').splitn(4, '\0');
        Ok(Commit {
            sha: parts.next().unwrap_or(&sha).to_string(),
            author: parts.next().unwrap_or_default().to_string(),
            date: parts.next().unwrap_or_default().to_string(),
            subject: parts.next().unwrap_or_default().to_string(),
        })
    }

    fn remember(&self, url: &str, revision: &str, fp: &str, sha: &str) {
        if self.limits.resolve_memo.is_zero() {
            return;
        }
        if let Ok(mut m) = self.memo.lock() {
            m.insert(
                (url.to_string(), revision.to_string(), fp.to_string()),
                (sha.to_string(), Instant::now()),
            );
        }
    }

    fn recall(&self, url: &str, revision: &str, fp: &str) -> Option<String> {
        let m = self.memo.lock().ok()?;
        let key = (url.to_string(), revision.to_string(), fp.to_string());
        m.get(&key)
            .filter(|(_, at)| at.elapsed() < self.limits.resolve_memo)
            .map(|(sha, _)| sha.clone())
    }

    /// Can this credential read `url`? (`ls-remote` of HEAD, remembered like a resolution.)
    fn check_access(&self, env: &Env, url: &str, fp: &str) -> Result<(), String> {
        const ACCESS: &str = "\0access";
        if self.recall(url, ACCESS, fp).is_some() {
            return Ok(());
        }
        self.git(
            env,
            None,
            &["ls-remote", url, "HEAD"],
            self.limits.network_timeout,
        )?;
        self.remember(url, ACCESS, fp, "");
        Ok(())
    }

    /// `ls-remote` the revision: branch, tag (peeled), full ref, or HEAD.
    fn resolve_remote(
        &self,
        env: &Env,
        url: &str,
        revision: &str,
        fp: &str,
    ) -> Result<(String, String), String> {
        if let Some(sha) = self.recall(url, revision, fp) {
            return Ok((sha, revision_ref(revision)));
        }
        let out = self.git(
            env,
            None,
            &["ls-remote", url, revision],
            self.limits.network_timeout,
        )?;
        let refs: Vec<(&str, &str)> = out.lines().filter_map(|l| l.split_once('\t')).collect();
        let find = |name: &str| refs.iter().find(|(_, r)| *r == name).map(|(s, _)| *s);
        let candidates = [
            (
                format!("refs/tags/{revision}^{{}}"),
                format!("refs/tags/{revision}"),
            ),
            (
                format!("refs/tags/{revision}"),
                format!("refs/tags/{revision}"),
            ),
            (
                format!("refs/heads/{revision}"),
                format!("refs/heads/{revision}"),
            ),
            (format!("{revision}^{{}}"), revision.to_string()),
            (revision.to_string(), revision.to_string()),
        ];
        for (lookup, fetch_ref) in candidates {
            if let Some(sha) = find(&lookup) {
                self.remember(url, revision, fp, sha);
                return Ok((sha.to_string(), fetch_ref));
            }
        }
        Err(format!(
            "revision {revision} does not exist in {} (no branch, tag or ref of that name)",
            redact(url)
        ))
    }

    fn has_commit(&self, env: &Env, dir: &Path, sha: &str) -> bool {
        self.git(
            env,
            Some(dir),
            &["cat-file", "-e", &format!("{sha}^{{commit}}")],
            self.limits.local_timeout,
        )
        .is_ok()
    }

    /// The tree of `commit` as a directory (created once per commit, then shared). Blocking.
    pub fn checkout(&self, app: &str, url: &str, commit: &str) -> Result<PathBuf, GitopsError> {
        let err = |message: String| GitopsError::Git {
            app: app.to_string(),
            message,
        };
        if !is_sha(commit) {
            return Err(err(format!("{commit:?} is not a commit SHA")));
        }
        let base = self.root.join("checkouts");
        let target = base.join(commit);
        if target.is_dir() {
            return Ok(target);
        }
        create_private_dir(&base).map_err(|e| err(e.to_string()))?;
        let tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempdir_in(&base)
            .map_err(|e| err(format!("creating a checkout directory: {e}")))?;
        let work = tmp.path().join("tree");
        std::fs::create_dir(&work).map_err(|e| err(format!("creating {}: {e}", work.display())))?;
        let env = self.env(url, None).map_err(|e| err(e.to_string()))?;
        let mut env_index = env;
        env_index.vars.push((
            "GIT_INDEX_FILE".into(),
            tmp.path().join("index").to_string_lossy().into_owned(),
        ));
        let dir = self.repo_dir(url);
        let work_s = work.to_string_lossy().into_owned();
        self.git(
            &env_index,
            Some(&dir),
            &["--work-tree", &work_s, "read-tree", commit],
            self.limits.local_timeout,
        )
        .map_err(err)?;
        self.git(
            &env_index,
            Some(&dir),
            &["--work-tree", &work_s, "checkout-index", "--all", "--force"],
            self.limits.local_timeout,
        )
        .map_err(err)?;
        match std::fs::rename(&work, &target) {
            Ok(()) => {}
            // Another process finished the same checkout first: use theirs.
            Err(_) if target.is_dir() => {}
            Err(e) => return Err(err(format!("moving the checkout into place: {e}"))),
        }
        drop(tmp);
        self.prune_checkouts(&base);
        Ok(target)
    }

    fn prune_checkouts(&self, base: &Path) {
        let Ok(entries) = std::fs::read_dir(base) else {
            return;
        };
        let mut dirs: Vec<(std::time::SystemTime, PathBuf)> = entries
            .flatten()
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        if dirs.len() <= MAX_CHECKOUTS {
            return;
        }
        dirs.sort();
        for (_, p) in dirs.iter().take(dirs.len() - MAX_CHECKOUTS) {
            let _ = std::fs::remove_dir_all(p);
        }
    }

    /// Verifies that `commit` is signed by a key `spec` allows (SSH allowed signers and/or
    /// OpenPGP public keys), with `git verify-commit`. Blocking.
    pub fn verify(&self, url: &str, commit: &str, spec: &VerifySpec) -> SignatureCheck {
        match self.verify_inner(url, commit, spec) {
            Ok(check) => check,
            Err(message) => SignatureCheck {
                verified: false,
                signer: None,
                message,
            },
        }
    }

    fn verify_inner(
        &self,
        url: &str,
        commit: &str,
        spec: &VerifySpec,
    ) -> Result<SignatureCheck, String> {
        let dir = self.repo_dir(url);
        let mut env = self.env(url, None).map_err(|e| e.to_string())?;
        let raw = self.git(
            &env,
            Some(&dir),
            &["cat-file", "commit", commit],
            self.limits.local_timeout,
        )?;
        let header_end = raw.find("\n\n").unwrap_or(raw.len());
        let sig_header = raw[..header_end]
            .lines()
            .find(|l| l.starts_with("gpgsig ") || l.starts_with("gpgsig-sha256 "));
        let Some(sig_header) = sig_header else {
            return Ok(SignatureCheck {
                verified: false,
                signer: None,
                message: "the commit is not signed".into(),
            });
        };
        let is_ssh = sig_header.contains("BEGIN SSH SIGNATURE");
        let _gnupg_home;
        let mut config: Vec<(String, String)> = Vec::new();
        if is_ssh {
            let Some(signers) = &spec.allowed_signers else {
                return Ok(SignatureCheck {
                    verified: false,
                    signer: None,
                    message:
                        "the commit has an SSH signature, but no allowedSigners are configured"
                            .into(),
                });
            };
            config.push((
                "gpg.ssh.allowedSignersFile".into(),
                signers.to_string_lossy().into_owned(),
            ));
        } else {
            let Some(keys) = &spec.gpg_keys else {
                return Ok(SignatureCheck {
                    verified: false,
                    signer: None,
                    message: "the commit has an OpenPGP signature, but no gpgKeys are configured"
                        .into(),
                });
            };
            // A keyring with only the allowed keys: a good signature by anything else is
            // "no public key", which git treats as bad.
            let home = tempfile::Builder::new()
                .prefix("shipgate-gnupg-")
                .tempdir()
                .map_err(|e| format!("creating a GnuPG home: {e}"))?;
            let import = Command::new("gpg")
                .arg("--homedir")
                .arg(home.path())
                .args(["--batch", "--quiet", "--import"])
                .arg(keys)
                .output()
                .map_err(|e| format!("running gpg (is GnuPG installed?): {e}"))?;
            if !import.status.success() {
                return Err(format!(
                    "importing {}: {}",
                    keys.display(),
                    String::from_utf8_lossy(&import.stderr).trim()
                ));
            }
            env.vars.push((
                "GNUPGHOME".into(),
                home.path().to_string_lossy().into_owned(),
            ));
            _gnupg_home = home;
        }
        // Replace the count: the environment already carries the base configuration.
        let base = env
            .vars
            .iter()
            .find(|(k, _)| k == "GIT_CONFIG_COUNT")
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        for (i, (k, v)) in config.into_iter().enumerate() {
            env.vars.push((format!("GIT_CONFIG_KEY_{}", base + i), k));
            env.vars.push((format!("GIT_CONFIG_VALUE_{}", base + i), v));
            env.vars.retain(|(k, _)| k != "GIT_CONFIG_COUNT");
            env.vars
                .push(("GIT_CONFIG_COUNT".into(), (base + i + 1).to_string()));
        }
        let mut cmd = Command::new("git");
        cmd.arg("--git-dir").arg(&dir);
        cmd.args(["verify-commit", "--raw", commit]);
        cmd.env_clear();
        for key in ["PATH", "HOME", "TMPDIR"] {
            if let Some(v) = std::env::var_os(key) {
                cmd.env(key, v);
            }
        }
        cmd.envs(env.vars.iter().map(|(k, v)| (k, v)));
        let out = run_bounded(
            cmd,
            &Limits {
                timeout: self.limits.local_timeout,
                max_stdout: 1024 * 1024,
                max_stderr: 1024 * 1024,
            },
        )
        .map_err(|e| e.to_string())?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let signer = if is_ssh {
            // `Good "git" signature for alice@example.com with ED25519 key SHA256:...`
            text.lines()
                .find_map(|l| l.strip_prefix("Good \"git\" signature for "))
                .map(|s| s.trim().to_string())
        } else {
            text.lines()
                .find_map(|l| l.strip_prefix("[GNUPG:] VALIDSIG "))
                .and_then(|s| s.split_whitespace().next())
                .map(|fpr| format!("OpenPGP key {fpr}"))
        };
        let verified = out.status.success() && signer.is_some();
        let message = if verified {
            "good signature from an allowed key".to_string()
        } else {
            let detail: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .filter(|l| !l.starts_with("[GNUPG:] KEY_CONSIDERED"))
                .take(3)
                .collect();
            format!("bad or untrusted signature: {}", detail.join("; "))
        };
        Ok(SignatureCheck {
            verified,
            signer,
            message,
        })
    }
}

fn revision_ref(revision: &str) -> String {
    revision.to_string()
}

fn create_private_dir(dir: &Path) -> Result<(), GitopsError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(GitopsError::io(format!("creating {}", dir.display())))
}

fn write_private(path: &Path, contents: String) -> Result<(), GitopsError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(GitopsError::io(format!("writing {}", path.display())))?;
    f.write_all(contents.as_bytes())
        .map_err(GitopsError::io(format!("writing {}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_user_info() {
        assert_eq!(
            redact("fatal: unable to access 'https://bob:s3cret@git.example.com/r.git/': 403"),
            "fatal: unable to access 'https://***@git.example.com/r.git/': 403"
        );
        assert_eq!(redact("ssh://git@host/x"), "ssh://***@host/x");
        assert_eq!(redact("https://host/x and more"), "https://host/x and more");
    }

    #[test]
    fn credential_debug_hides_secrets() {
        let c = Credential::Basic {
            username: "bob".into(),
            password: "s3cret".into(),
        };
        assert!(!format!("{c:?}").contains("s3cret"));
        let m = HashMap::from([("sshPrivateKey".to_string(), "KEY".to_string())]);
        let c = Credential::from_map(&m, "t").expect("ssh");
        assert!(!format!("{c:?}").contains("KEY"));
        assert!(Credential::from_map(&HashMap::new(), "t").is_err());
    }
}
