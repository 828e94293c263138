//! Git sources: the whole history (each distinct blob once), a commit range, the staged index.
//!
//! Shells out to the `git` CLI: `git log --raw -z` lists the blobs each commit introduced and
//! `git cat-file --batch` streams their contents, so each blob is read once whatever the
//! number of commits and paths that share it.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use crate::Error;
use crate::engine::{CHUNK, Origin, Scanner};
use crate::finding::{CommitInfo, SecretsOutput, SourceError};

/// Options for [`scan_git`].
#[derive(Debug, Clone, Default)]
pub struct GitOptions {
    /// Only commits not reachable from this revision (`--since REV`).
    pub since: Option<String>,
    /// Worker threads (0: one per CPU).
    pub threads: usize,
}

/// A blob to scan and where it was first seen.
struct BlobRef {
    sha: String,
    path: String,
    commit: Option<usize>,
}

fn git(repo: &Path) -> Command {
    let mut c = Command::new("git");
    c.arg("-C")
        .arg(repo)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("LC_ALL", "C");
    c
}

fn run_git(repo: &Path, args: &[&str]) -> Result<Vec<u8>, Error> {
    let out = git(repo)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| Error::GitSpawn { source })?;
    if !out.status.success() {
        return Err(Error::Git {
            repo: repo.to_path_buf(),
            command: args.join(" "),
            message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(out.stdout)
}

/// Scan the history of the repository at `repo`: every blob added or modified by any commit
/// of any ref (or of the commits after `opts.since`), each distinct blob once, each finding
/// reported at the first commit (in topological order) that introduced the blob, with the
/// commit's author and date.
pub fn scan_git(scanner: &Scanner, repo: &Path, opts: &GitOptions) -> Result<SecretsOutput, Error> {
    // Fail early and clearly when this is not a repository.
    run_git(repo, &["rev-parse", "--git-dir"])?;
    let mut args: Vec<String> = vec![
        "log".into(),
        "--all".into(),
        "--reverse".into(),
        "--topo-order".into(),
        "--no-renames".into(),
        "--raw".into(),
        "--no-abbrev".into(),
        "-z".into(),
        "--diff-merges=first-parent".into(),
        "--format=%x01%H%x02%an%x02%ae%x02%aI".into(),
    ];
    if let Some(since) = &opts.since {
        if since.starts_with('-') {
            return Err(Error::Git {
                repo: repo.to_path_buf(),
                command: "log".into(),
                message: format!("invalid revision {since:?}"),
            });
        }
        run_git(
            repo,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{since}^{{commit}}"),
            ],
        )
        .map_err(|_| Error::Git {
            repo: repo.to_path_buf(),
            command: format!("rev-parse {since}"),
            message: format!("unknown revision {since:?} (give a commit, tag or branch)"),
        })?;
        args.push(format!("^{since}"));
    }
    let mut child = git(repo)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| Error::GitSpawn { source })?;
    let stdout = child.stdout.take().expect("stdout was piped");
    let mut commits: Vec<CommitInfo> = Vec::new();
    let mut blobs: Vec<BlobRef> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut reader = BufReader::with_capacity(256 * 1024, stdout);
    let mut tok = Vec::new();
    // After a raw entry comes its path token: `Some(Some(sha))` to scan it, `Some(None)` to skip.
    let mut pending: Option<Option<String>> = None;
    loop {
        tok.clear();
        let n = reader
            .read_until(0, &mut tok)
            .map_err(|e| Error::io(repo, e))?;
        if n == 0 {
            break;
        }
        if tok.last() == Some(&0) {
            tok.pop();
        }
        let t: &[u8] = tok.strip_prefix(b"\n").unwrap_or(&tok);
        if let Some(wanted) = pending.take() {
            if let Some(sha) = wanted {
                let path = String::from_utf8_lossy(t).into_owned();
                if !scanner.path_allowed(&path) && seen.insert(sha.clone()) {
                    blobs.push(BlobRef {
                        sha,
                        path,
                        commit: commits.len().checked_sub(1),
                    });
                }
            }
            continue;
        }
        if let Some(h) = t.strip_prefix(b"\x01") {
            let s = String::from_utf8_lossy(h);
            let mut f = s.split('\x02');
            commits.push(CommitInfo {
                id: f.next().unwrap_or_default().to_owned(),
                author: f.next().unwrap_or_default().to_owned(),
                email: f.next().unwrap_or_default().to_owned(),
                date: f.next().unwrap_or_default().trim().to_owned(),
            });
        } else if let Some(raw) = t.strip_prefix(b":") {
            // ":<old mode> <new mode> <old sha> <new sha> <status>", then the path token.
            let s = String::from_utf8_lossy(raw);
            let f: Vec<&str> = s.split(' ').collect();
            let wanted = (f.len() >= 5
                && !f[4].starts_with('D')
                && f[1].starts_with("100")
                && f[3].bytes().any(|b| b != b'0'))
            .then(|| f[3].to_owned());
            pending = Some(wanted);
        }
    }
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let status = child.wait().map_err(|e| Error::io(repo, e))?;
    if !status.success() {
        return Err(Error::Git {
            repo: repo.to_path_buf(),
            command: "log".into(),
            message: stderr.trim().to_owned(),
        });
    }
    let mut out = scan_blobs(scanner, repo, &blobs, &commits, opts.threads)?;
    out.notes.push(format!(
        "git history: {} commits, {} distinct blobs",
        commits.len(),
        blobs.len()
    ));
    Ok(out)
}

/// Scan what is staged in the index of `repo` (added, copied, modified, renamed or
/// type-changed files, read from the index: unstaged edits in the working tree are ignored).
/// This is what a pre-commit hook needs.
pub fn scan_staged(scanner: &Scanner, repo: &Path) -> Result<SecretsOutput, Error> {
    let raw = run_git(
        repo,
        &[
            "diff",
            "--cached",
            "--raw",
            "-z",
            "--no-renames",
            "--no-abbrev",
            "--diff-filter=ACMRT",
        ],
    )?;
    let mut blobs = Vec::new();
    let mut it = raw.split(|&b| b == 0);
    while let Some(meta) = it.next() {
        let meta = meta.strip_prefix(b"\n").unwrap_or(meta);
        let Some(meta) = meta.strip_prefix(b":") else {
            continue;
        };
        let Some(path) = it.next() else { break };
        let s = String::from_utf8_lossy(meta);
        let f: Vec<&str> = s.split(' ').collect();
        if f.len() < 5 || !f[1].starts_with("100") {
            continue;
        }
        let path = String::from_utf8_lossy(path).into_owned();
        if scanner.path_allowed(&path) {
            continue;
        }
        blobs.push(BlobRef {
            sha: f[3].to_owned(),
            path,
            commit: None,
        });
    }
    scan_blobs(scanner, repo, &blobs, &[], 0)
}

/// Stream blobs through `git cat-file --batch` into worker threads.
fn scan_blobs(
    scanner: &Scanner,
    repo: &Path,
    blobs: &[BlobRef],
    commits: &[CommitInfo],
    threads: usize,
) -> Result<SecretsOutput, Error> {
    let out = Mutex::new(SecretsOutput::default());
    if blobs.is_empty() {
        return Ok(out.into_inner().unwrap_or_else(|p| p.into_inner()));
    }
    let mut child = git(repo)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|source| Error::GitSpawn { source })?;
    let mut stdin = child.stdin.take().expect("stdin was piped");
    let stdout = child.stdout.take().expect("stdout was piped");
    let workers = if threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        threads
    };
    let result: Result<(), Error> = std::thread::scope(|s| {
        // Feed the blob ids.
        s.spawn(move || {
            let mut w = std::io::BufWriter::new(&mut stdin);
            for b in blobs {
                if writeln!(w, "{}", b.sha).is_err() {
                    break;
                }
            }
            let _ = w.flush();
            drop(w);
            drop(stdin);
        });
        let (tx, rx) = crossbeam_channel::bounded::<(usize, Vec<u8>)>(workers * 4);
        for _ in 0..workers {
            let rx = rx.clone();
            let out = &out;
            s.spawn(move || {
                for (i, data) in rx {
                    let b = &blobs[i];
                    let origin = Origin {
                        path: &b.path,
                        commit: b.commit.map(|c| &commits[c]),
                    };
                    let size = data.len() as u64;
                    let r = scanner.scan_stream(origin, &mut data.as_slice(), Some(size), true);
                    record(&mut lock(out), b, r);
                }
            });
        }
        drop(rx);
        let mut reader = BufReader::with_capacity(256 * 1024, stdout);
        let mut header = String::new();
        for (i, b) in blobs.iter().enumerate() {
            header.clear();
            reader
                .read_line(&mut header)
                .map_err(|e| Error::io(repo, e))?;
            let h: Vec<&str> = header.trim_end().split(' ').collect();
            if h.len() != 3 {
                lock(&out).errors.push(SourceError::new(
                    &b.path,
                    format!("git blob {} unreadable: {}", b.sha, header.trim_end()),
                ));
                if header.is_empty() {
                    break;
                }
                continue;
            }
            let size: u64 = h[2].parse().unwrap_or(0);
            let mut body = (&mut reader).take(size);
            if size as usize > CHUNK {
                // Large blob: stream it here, bounded memory.
                let origin = Origin {
                    path: &b.path,
                    commit: b.commit.map(|c| &commits[c]),
                };
                let r = scanner.scan_stream(origin, &mut body, Some(size), true);
                std::io::copy(&mut body, &mut std::io::sink()).map_err(|e| Error::io(repo, e))?;
                record(&mut lock(&out), b, r);
            } else {
                let mut data = Vec::with_capacity(size as usize);
                body.read_to_end(&mut data)
                    .map_err(|e| Error::io(repo, e))?;
                if tx.send((i, data)).is_err() {
                    break;
                }
            }
            let mut nl = [0u8; 1];
            let _ = reader.read_exact(&mut nl);
        }
        drop(tx);
        Ok(())
    });
    let _ = child.wait();
    result?;
    let mut o = out.into_inner().unwrap_or_else(|p| p.into_inner());
    o.sort();
    Ok(o)
}

fn record(o: &mut SecretsOutput, b: &BlobRef, r: std::io::Result<crate::engine::StreamResult>) {
    match r {
        Ok(r) if r.binary => o.skipped_binary += 1,
        Ok(r) => {
            o.scanned += 1;
            o.bytes += r.bytes;
            o.findings.extend(r.findings);
        }
        Err(e) => o.errors.push(SourceError::new(
            &b.path,
            format!("git blob {} read failed: {e}", b.sha),
        )),
    }
}

fn lock(m: &Mutex<SecretsOutput>) -> std::sync::MutexGuard<'_, SecretsOutput> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
