//! Working-tree and stream sources.

use std::io::Read;
use std::path::Path;
use std::sync::Mutex;

use crate::engine::{Origin, Scanner};
use crate::finding::{SecretsOutput, SourceError};

/// Options for [`scan_path`].
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Also scan files excluded by `.gitignore`, `.ignore` and git's exclude files.
    pub no_ignore: bool,
    /// Worker threads (0: one per CPU).
    pub threads: usize,
}

/// Scan a file or a directory tree. Directories are walked in parallel, honouring
/// `.gitignore` unless `opts.no_ignore`; hidden files (`.env`) are scanned, `.git/` is not,
/// symlinks are not followed. Unreadable files become [`SourceError`]s; the rest of the tree
/// is still scanned.
pub fn scan_path(scanner: &Scanner, root: &Path, opts: &ScanOptions) -> SecretsOutput {
    let out = Mutex::new(SecretsOutput::default());
    let meta = match std::fs::metadata(root) {
        Ok(m) => m,
        Err(e) => {
            let mut o = SecretsOutput::default();
            o.errors.push(SourceError::new(
                root.display().to_string(),
                format!("cannot read: {e}"),
            ));
            return o;
        }
    };
    if meta.is_file() {
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| root.display().to_string());
        scan_file(scanner, root, &name, &out);
        let mut o = out.into_inner().unwrap_or_else(|p| p.into_inner());
        o.sort();
        return o;
    }
    let mut wb = ignore::WalkBuilder::new(root);
    wb.hidden(false)
        .follow_links(false)
        .git_ignore(!opts.no_ignore)
        .git_global(!opts.no_ignore)
        .git_exclude(!opts.no_ignore)
        .ignore(!opts.no_ignore)
        .parents(!opts.no_ignore)
        .require_git(false)
        .threads(opts.threads)
        .filter_entry(|e| e.file_name() != ".git");
    wb.build_parallel().run(|| {
        let out = &out;
        Box::new(move |entry| {
            match entry {
                Ok(e) => {
                    if e.file_type().is_some_and(|t| t.is_file()) {
                        let rel = relative(root, e.path());
                        if !scanner.path_allowed(&rel) {
                            scan_file(scanner, e.path(), &rel, out);
                        }
                    }
                }
                Err(err) => {
                    let path = walk_error_path(&err)
                        .map(|p| relative(root, p))
                        .unwrap_or_else(|| root.display().to_string());
                    lock(out)
                        .errors
                        .push(SourceError::new(path, err.to_string()));
                }
            }
            ignore::WalkState::Continue
        })
    });
    let mut o = out.into_inner().unwrap_or_else(|p| p.into_inner());
    o.sort();
    o
}

fn lock(m: &Mutex<SecretsOutput>) -> std::sync::MutexGuard<'_, SecretsOutput> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn walk_error_path(err: &ignore::Error) -> Option<&Path> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            walk_error_path(err)
        }
        ignore::Error::Loop { child, .. } => Some(child),
        _ => None,
    }
}

/// `path` relative to `root`, `/`-separated.
fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let s = rel.to_string_lossy();
    if std::path::MAIN_SEPARATOR == '/' {
        s.into_owned()
    } else {
        s.replace(std::path::MAIN_SEPARATOR, "/")
    }
}

fn scan_file(scanner: &Scanner, path: &Path, rel: &str, out: &Mutex<SecretsOutput>) {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            lock(out).errors.push(SourceError::new(
                rel,
                format!("cannot open: {e} (check permissions, or exclude the path)"),
            ));
            return;
        }
    };
    let size = file.metadata().ok().map(|m| m.len());
    let origin = Origin {
        path: rel,
        commit: None,
    };
    match scanner.scan_stream(origin, &mut file, size, true) {
        Ok(r) => {
            let mut o = lock(out);
            if r.binary {
                o.skipped_binary += 1;
            } else {
                o.scanned += 1;
                o.bytes += r.bytes;
                o.findings.extend(r.findings);
            }
        }
        Err(e) => lock(out).errors.push(SourceError::new(
            rel,
            format!("read failed: {e} (the file may have changed or vanished during the scan)"),
        )),
    }
}

/// Scan one stream (stdin: pass `"-"` or a display name). The stream is read in chunks;
/// binary content is not skipped (the caller asked for this input explicitly).
pub fn scan_reader(scanner: &Scanner, name: &str, reader: &mut dyn Read) -> SecretsOutput {
    let mut o = SecretsOutput::default();
    let origin = Origin {
        path: name,
        commit: None,
    };
    match scanner.scan_stream(origin, reader, None, false) {
        Ok(r) => {
            o.scanned = 1;
            o.bytes = r.bytes;
            o.findings = r.findings;
        }
        Err(e) => o
            .errors
            .push(SourceError::new(name, format!("read failed: {e}"))),
    }
    o.sort();
    o
}
