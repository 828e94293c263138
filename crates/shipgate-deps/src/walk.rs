//! Finding dependency files under a directory and reading them.

use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use crate::DepsError;
use crate::kind::{LockfileKind, ParseContext, parse_lockfile_with};
use crate::model::{Inventory, Lockfile};

/// Options for [`scan_dir`].
#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// Directory names never descended into.
    pub skip_dirs: Vec<String>,
    /// Files larger than this are reported as errors instead of being read.
    pub max_file_bytes: u64,
}

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions {
            skip_dirs: ["node_modules", "vendor", "target", ".git"]
                .into_iter()
                .map(String::from)
                .collect(),
            max_file_bytes: 256 * 1024 * 1024,
        }
    }
}

/// Walks `root` (a directory, or a single dependency file) and parses every recognised
/// dependency file ([`LockfileKind::detect`]). Symlinks are not followed. Paths in the result
/// are relative to `root` with `/` separators. Unreadable entries become errors; the walk goes
/// on.
pub fn scan_dir(root: &Path, options: &WalkOptions) -> Inventory {
    let mut inventory = Inventory::default();
    let meta = match fs::metadata(root) {
        Ok(m) => m,
        Err(source) => {
            inventory.errors.push(DepsError::Io {
                path: root.display().to_string(),
                source,
            });
            return inventory;
        }
    };
    if meta.is_file() {
        let base = root.parent().unwrap_or(Path::new(""));
        match parse_file(base, root, options) {
            Some(l) => inventory.lockfiles.push(l),
            None => inventory.errors.push(DepsError::syntax(
                &root.display().to_string(),
                None,
                "not a supported dependency file name (see `shipgate scan deps --help` for the list)",
            )),
        }
        return inventory;
    }
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(source) => {
                inventory.errors.push(DepsError::Io {
                    path: display(root, &dir),
                    source,
                });
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(source) => {
                    inventory.errors.push(DepsError::Io {
                        path: display(root, &dir),
                        source,
                    });
                    continue;
                }
            };
            let Ok(ft) = entry.file_type() else { continue };
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if ft.is_dir() {
                if !options.skip_dirs.iter().any(|s| s == name.as_ref()) {
                    stack.push(entry.path());
                }
            } else if ft.is_file() && LockfileKind::detect(&name).is_some() {
                found.push(entry.path());
            }
        }
    }
    found.sort();
    for file in found {
        if let Some(l) = parse_file(root, &file, options) {
            inventory.lockfiles.push(l);
        }
    }
    inventory
}

/// Parses one file whose kind is recognised from its name; `None` if the name is not a
/// supported dependency file. `root` is the directory display paths are relative to and the
/// boundary for following references (`-r`, `go.sum`).
pub fn parse_file(root: &Path, file: &Path, options: &WalkOptions) -> Option<Lockfile> {
    let name = file.file_name()?.to_string_lossy().into_owned();
    let kind = LockfileKind::detect(&name)?;
    Some(parse_file_as(root, file, kind, options))
}

/// Parses one file as `kind` whatever its name (for files named unusually, e.g.
/// `requirements/prod.txt` or test fixtures). See [`parse_file`] for `root`.
pub fn parse_file_as(
    root: &Path,
    file: &Path,
    kind: LockfileKind,
    options: &WalkOptions,
) -> Lockfile {
    let shown = display(root, file);
    let mut ctx = FsContext {
        root: root.to_path_buf(),
        max: options.max_file_bytes,
    };
    match read_limited(file, options.max_file_bytes, &shown) {
        Ok(data) => parse_lockfile_with(kind, &shown, &data, &mut ctx),
        Err(e) => {
            let mut l = parse_lockfile_with(kind, &shown, b"", &mut crate::kind::NoSiblings);
            l.packages.clear();
            l.dependencies.clear();
            l.notes.clear();
            l.errors = vec![e];
            l
        }
    }
}

fn read_limited(path: &Path, max: u64, shown: &str) -> Result<Vec<u8>, DepsError> {
    let io = |source| DepsError::Io {
        path: shown.to_owned(),
        source,
    };
    let file = fs::File::open(path).map_err(io)?;
    let mut data = Vec::new();
    file.take(max + 1).read_to_end(&mut data).map_err(io)?;
    if data.len() as u64 > max {
        return Err(DepsError::syntax(
            shown,
            None,
            format!(
                "file is larger than {max} bytes; not read (raise the limit if this is intended)"
            ),
        ));
    }
    Ok(data)
}

fn display(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let s = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/");
    if s.is_empty() {
        path.display().to_string()
    } else {
        s
    }
}

/// Reads sibling files from disk, confined to the scan root.
struct FsContext {
    root: PathBuf,
    max: u64,
}

impl ParseContext for FsContext {
    fn read_relative(
        &mut self,
        from_path: &str,
        relative: &str,
    ) -> Option<Result<(String, Vec<u8>), DepsError>> {
        if Path::new(relative).is_absolute() {
            return None;
        }
        // Resolve lexically against the display path, refusing to leave the root.
        let mut parts: Vec<String> = from_path.split('/').map(str::to_owned).collect();
        parts.pop();
        for c in Path::new(relative).components() {
            match c {
                Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
                Component::ParentDir => {
                    parts.pop()?;
                }
                Component::CurDir => {}
                Component::RootDir | Component::Prefix(_) => return None,
            }
        }
        let shown = parts.join("/");
        let full = self.root.join(&shown);
        let meta = fs::symlink_metadata(&full).ok()?;
        if !meta.is_file() {
            return None;
        }
        Some(read_limited(&full, self.max, &shown).map(|d| (shown, d)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_skips_and_follows_includes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("app/node_modules/x")).unwrap();
        fs::create_dir_all(root.join("svc")).unwrap();
        fs::write(root.join("app/node_modules/x/package-lock.json"), "{}").unwrap();
        fs::write(
            root.join("app/requirements.txt"),
            "-r ../svc/base-requirements.txt\nflask==2.0.0\n-r ../../outside.txt\n",
        )
        .unwrap();
        fs::write(root.join("svc/base-requirements.txt"), "jinja2==3.0.0\n").unwrap();
        fs::write(root.join("svc/Cargo.lock"), "[[package]]\nname = \"x\"\n").unwrap();
        let inv = scan_dir(root, &WalkOptions::default());
        let paths: Vec<_> = inv.lockfiles.iter().map(|l| l.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "app/requirements.txt",
                "svc/Cargo.lock",
                "svc/base-requirements.txt"
            ]
        );
        let req = &inv.lockfiles[0];
        let got: Vec<_> = req
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.path.as_str(), p.line))
            .collect();
        assert_eq!(
            got,
            vec![
                ("jinja2", "svc/base-requirements.txt", Some(1)),
                ("flask", "app/requirements.txt", Some(2))
            ]
        );
        // Escaping the root is not followed.
        assert!(req.notes.iter().any(|n| n.line == Some(3)));
        // The broken Cargo.lock has an error with its path; the rest still parsed.
        let errs: Vec<_> = inv.errors().map(|e| e.path().to_owned()).collect();
        assert_eq!(errs, vec!["svc/Cargo.lock"]);
        // A single file works as a root too.
        let single = scan_dir(
            &root.join("svc/base-requirements.txt"),
            &WalkOptions::default(),
        );
        assert_eq!(single.packages().count(), 1);
        let missing = scan_dir(&root.join("nope"), &WalkOptions::default());
        assert_eq!(missing.errors().count(), 1);
    }
}
