//! The staged changes of a git repository (what a pre-commit hook must check): the index
//! versions of added and modified files, read with one `git cat-file --batch` process.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::RuleSet;
use crate::error::{Error, FileProblem};
use crate::lang::Lang;
use crate::scan::{ScanOptions, ScanResult, parallel, scan_text};

fn git(repo: &Path) -> Command {
    let mut c = Command::new("git");
    c.arg("-C")
        .arg(repo)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("LC_ALL", "C");
    c
}

fn io(repo: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: repo.to_path_buf(),
        source: e,
    }
}

/// Scan the staged (index) content of files added, copied, modified or renamed in the index.
pub fn scan_staged(rules: &RuleSet, repo: &Path, opts: &ScanOptions) -> Result<ScanResult, Error> {
    let out = git(repo)
        .args([
            "diff",
            "--cached",
            "--raw",
            "-z",
            "--no-renames",
            "--no-abbrev",
            "--diff-filter=ACMRT",
        ])
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| io(repo, e))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(io(
            repo,
            std::io::Error::other(format!("git diff --cached: {msg}")),
        ));
    }
    // (blob sha, path, language)
    let mut blobs: Vec<(String, String, Lang)> = Vec::new();
    let mut it = out.stdout.split(|&b| b == 0);
    while let Some(meta) = it.next() {
        let meta = meta.strip_prefix(b"\n").unwrap_or(meta);
        let Some(meta) = meta.strip_prefix(b":") else {
            continue;
        };
        let Some(path) = it.next() else { break };
        let m = String::from_utf8_lossy(meta);
        let f: Vec<&str> = m.split(' ').collect();
        if f.len() < 5 || !f[1].starts_with("100") {
            continue; // not a regular file (symlink, submodule)
        }
        let path = String::from_utf8_lossy(path).into_owned();
        if let Some(lang) = Lang::from_path(Path::new(&path)).filter(|l| rules.targets(*l)) {
            blobs.push((f[3].to_string(), path, lang));
        }
    }
    let mut result = ScanResult::default();
    if blobs.is_empty() {
        return Ok(result);
    }
    let mut child = git(repo)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| io(repo, e))?;
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| io(repo, std::io::Error::other("no stdin")))?;
    let shas: Vec<String> = blobs.iter().map(|b| b.0.clone()).collect();
    let writer = std::thread::spawn(move || {
        for s in shas {
            if writeln!(stdin, "{s}").is_err() {
                break;
            }
        }
    });
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| io(repo, std::io::Error::other("no stdout")))?;
    let mut reader = BufReader::new(stdout);
    let mut texts: Vec<(String, Lang, String)> = Vec::new();
    for (_, path, lang) in &blobs {
        let mut header = String::new();
        reader.read_line(&mut header).map_err(|e| io(repo, e))?;
        let size: u64 = header
            .split_whitespace()
            .nth(2)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                io(
                    repo,
                    std::io::Error::other(format!("git cat-file: {}", header.trim())),
                )
            })?;
        let mut buf = Vec::with_capacity(size as usize);
        (&mut reader)
            .take(size + 1)
            .read_to_end(&mut buf)
            .map_err(|e| io(repo, e))?;
        buf.truncate(size as usize);
        if size > opts.max_file_size {
            result.skipped_large.push(path.clone());
            continue;
        }
        let text = match String::from_utf8(buf) {
            Ok(t) => t,
            Err(e) => {
                result.problems.push(FileProblem {
                    path: path.clone(),
                    line: None,
                    column: None,
                    message:
                        "invalid UTF-8; the bad bytes were replaced (U+FFFD) and the file scanned"
                            .into(),
                    scanned: true,
                });
                String::from_utf8_lossy(e.as_bytes()).into_owned()
            }
        };
        texts.push((path.clone(), *lang, text));
    }
    let _ = writer.join();
    let _ = child.wait();
    // Parse and match in parallel.
    let parts = parallel(&texts, opts.threads, |(path, lang, text), r| {
        let (mut m, mut p) = scan_text(rules, path, *lang, text);
        r.matches.append(&mut m);
        r.problems.append(&mut p);
        r.files_scanned += 1;
    });
    for mut p in parts {
        result.matches.append(&mut p.matches);
        result.problems.append(&mut p.problems);
        result.files_scanned += p.files_scanned;
    }
    result
        .matches
        .sort_by(|a, b| (&a.path, a.start, &a.rule.id).cmp(&(&b.path, b.start, &b.rule.id)));
    Ok(result)
}
