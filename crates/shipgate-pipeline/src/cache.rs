//! The step cache.
//!
//! A step's key is SHA-256 over: its definition (kind, command, environment, outputs,
//! limits), the path and content hash of every input file, the keys of the steps it needs
//! and an extra string from the caller (the shipgate binary's identity for gates). Content
//! hashes are remembered per file by (size, mtime, inode) in `stat.json`, so an unchanged
//! tree is not read again.
//!
//! A cache entry (`steps/<key>/entry.json`) keeps the step's record and a fingerprint of its
//! outputs (each file's path, size, mode and mtime); `steps/<key>/out/<n>/` holds hard links
//! to the output files. On a hit: outputs in the workspace that still match the fingerprint
//! are left alone (the no-op case); otherwise they are restored from the links, provided
//! those still match; otherwise the step runs again.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;

/// Remembered content hashes, by workspace-relative path.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct StatCache {
    files: HashMap<PathBuf, StatEntry>,
    #[serde(skip)]
    dirty: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct StatEntry {
    size: u64,
    mtime_ns: i128,
    ino: u64,
    sha256: String,
}

impl StatCache {
    /// Reads `path`; a missing or unreadable cache is empty (it is only an accelerator).
    pub fn load(path: &Path) -> StatCache {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Writes the cache if it changed (atomically).
    pub fn save(&self, path: &Path) -> Result<(), Error> {
        if !self.dirty {
            return Ok(());
        }
        let bytes =
            serde_json::to_vec(self).map_err(|e| Error::io(path, std::io::Error::other(e)))?;
        write_atomic(path, &bytes)
    }

    /// The SHA-256 of `root/rel`, from the cache when its stat is unchanged.
    pub fn hash(&mut self, root: &Path, rel: &Path) -> Result<String, Error> {
        let path = root.join(rel);
        let meta = std::fs::symlink_metadata(&path).map_err(|e| Error::io(&path, e))?;
        let stat = (meta.len(), mtime_ns(&meta), meta.ino());
        if let Some(e) = self.files.get(rel)
            && (e.size, e.mtime_ns, e.ino) == stat
        {
            return Ok(e.sha256.clone());
        }
        let sha256 = if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).map_err(|e| Error::io(&path, e))?;
            hex::encode(Sha256::digest(target.as_os_str().as_encoded_bytes()))
        } else {
            hash_file(&path)?
        };
        self.files.insert(
            rel.to_path_buf(),
            StatEntry {
                size: stat.0,
                mtime_ns: stat.1,
                ino: stat.2,
                sha256: sha256.clone(),
            },
        );
        self.dirty = true;
        Ok(sha256)
    }
}

fn mtime_ns(meta: &std::fs::Metadata) -> i128 {
    meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128
}

/// SHA-256 of a file's contents, streamed.
pub fn hash_file(path: &Path) -> Result<String, Error> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Every file of the workspace (`.gitignore`-aware, hidden files included, `.git` and
/// `.shipgate` left out), as sorted relative paths.
pub fn workspace_files(root: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    let walk = ignore::WalkBuilder::new(root)
        .hidden(false)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(false)
        .require_git(false)
        .filter_entry(|e| {
            let n = e.file_name();
            !(e.depth() == 1 && (n == ".git" || n == ".shipgate"))
        })
        .build();
    for entry in walk {
        let entry = entry.map_err(|e| Error::io(root, std::io::Error::other(e.to_string())))?;
        if entry.file_type().is_some_and(|t| !t.is_dir())
            && let Ok(rel) = entry.path().strip_prefix(root)
        {
            out.push(rel.to_path_buf());
        }
    }
    out.sort();
    Ok(out)
}

/// A cache key builder.
#[derive(Default)]
pub struct KeyBuilder(Sha256);

impl KeyBuilder {
    /// Adds a labelled field (length-prefixed, so fields cannot run into each other).
    pub fn field(&mut self, label: &str, value: &[u8]) -> &mut Self {
        self.0.update((label.len() as u64).to_le_bytes());
        self.0.update(label.as_bytes());
        self.0.update((value.len() as u64).to_le_bytes());
        self.0.update(value);
        self
    }

    /// The key, as hex.
    pub fn finish(self) -> String {
        hex::encode(self.0.finalize())
    }
}

/// Fingerprint of output trees: path, type, size, mode and mtime of every entry.
pub fn fingerprint(dirs: &[PathBuf]) -> Result<String, Error> {
    fingerprint_as(dirs, dirs)
}

fn walk_all(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) -> Result<(), Error> {
    let meta = std::fs::symlink_metadata(dir).map_err(|e| Error::io(dir, e))?;
    if !meta.is_dir() {
        let rel = dir.strip_prefix(root).unwrap_or(dir).display().to_string();
        out.push((
            rel,
            format!("{} {} {}", meta.len(), meta.mode(), mtime_ns(&meta)),
        ));
        return Ok(());
    }
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let e = e.map_err(|e| Error::io(dir, e))?;
        let p = e.path();
        let m = std::fs::symlink_metadata(&p).map_err(|e| Error::io(&p, e))?;
        let rel = p.strip_prefix(root).unwrap_or(&p).display().to_string();
        if m.is_dir() {
            out.push((rel, format!("dir {}", m.mode())));
            walk_all(root, &p, out)?;
        } else {
            out.push((rel, format!("{} {} {}", m.len(), m.mode(), mtime_ns(&m))));
        }
    }
    Ok(())
}

/// A stored cache entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// Fingerprint of the outputs as the step produced them.
    pub outputs: String,
    /// Free-form data the runner keeps (the step's record).
    pub data: serde_json::Value,
}

/// The cache directory.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// A cache rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache { root: root.into() }
    }

    /// Where `stat.json` lives.
    pub fn stat_path(&self) -> PathBuf {
        self.root.join("stat.json")
    }

    fn entry_dir(&self, key: &str) -> PathBuf {
        self.root.join("steps").join(key)
    }

    /// The entry for `key`, if any.
    pub fn get(&self, key: &str) -> Option<Entry> {
        let b = std::fs::read(self.entry_dir(key).join("entry.json")).ok()?;
        serde_json::from_slice(&b).ok()
    }

    /// Makes `outputs` (absolute paths) what the entry recorded: `true` when they already
    /// are or were restored from the stored links, `false` when the entry is unusable.
    pub fn restore(&self, key: &str, entry: &Entry, outputs: &[PathBuf]) -> Result<bool, Error> {
        if fingerprint(outputs)? == entry.outputs {
            return Ok(true);
        }
        let stored: Vec<PathBuf> = (0..outputs.len())
            .map(|i| self.entry_dir(key).join("out").join(i.to_string()))
            .collect();
        // The stored copies have the same metadata but live elsewhere: compare them under the
        // output names.
        let stored_fp = fingerprint_as(&stored, outputs)?;
        if stored_fp != entry.outputs {
            return Ok(false);
        }
        for (src, dst) in stored.iter().zip(outputs) {
            remove_path(dst)?;
            if src.exists() {
                link_tree(src, dst)?;
            }
        }
        Ok(fingerprint(outputs)? == entry.outputs)
    }

    /// Stores an entry for `key` with hard links to `outputs`.
    pub fn put(
        &self,
        key: &str,
        outputs: &[PathBuf],
        data: serde_json::Value,
    ) -> Result<(), Error> {
        let dir = self.entry_dir(key);
        let tmp = self
            .root
            .join("steps")
            .join(format!(".tmp-{key}-{}", std::process::id()));
        remove_path(&tmp)?;
        std::fs::create_dir_all(tmp.join("out")).map_err(|e| Error::io(&tmp, e))?;
        for (i, o) in outputs.iter().enumerate() {
            if o.exists() {
                link_tree(o, &tmp.join("out").join(i.to_string()))?;
            }
        }
        let entry = Entry {
            outputs: fingerprint(outputs)?,
            data,
        };
        let bytes = serde_json::to_vec_pretty(&entry)
            .map_err(|e| Error::io(&tmp, std::io::Error::other(e)))?;
        std::fs::write(tmp.join("entry.json"), bytes).map_err(|e| Error::io(&tmp, e))?;
        remove_path(&dir)?;
        std::fs::rename(&tmp, &dir).map_err(|e| Error::io(&dir, e))?;
        Ok(())
    }
}

/// The fingerprint `outputs` would have if they had the contents of `stored` (the trees are
/// walked under `stored`, named by `outputs`).
fn fingerprint_as(stored: &[PathBuf], outputs: &[PathBuf]) -> Result<String, Error> {
    let mut h = KeyBuilder::default();
    for (s, o) in stored.iter().zip(outputs) {
        h.field("root", o.as_os_str().as_encoded_bytes());
        if !s.exists() {
            h.field("missing", b"");
            continue;
        }
        let mut entries = Vec::new();
        walk_all(s, s, &mut entries)?;
        entries.sort();
        for (rel, line) in entries {
            h.field(&rel, line.as_bytes());
        }
    }
    Ok(h.finish())
}

/// Removes a file or directory tree if it exists.
pub fn remove_path(p: &Path) -> Result<(), Error> {
    match std::fs::symlink_metadata(p) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(p, e)),
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p).map_err(|e| Error::io(p, e)),
        Ok(_) => std::fs::remove_file(p).map_err(|e| Error::io(p, e)),
    }
}

/// Recreates `src` at `dst` with hard links for files (same metadata), symlinks copied.
fn link_tree(src: &Path, dst: &Path) -> Result<(), Error> {
    let m = std::fs::symlink_metadata(src).map_err(|e| Error::io(src, e))?;
    if m.is_dir() {
        std::fs::create_dir_all(dst).map_err(|e| Error::io(dst, e))?;
        std::fs::set_permissions(dst, m.permissions()).map_err(|e| Error::io(dst, e))?;
        let mut names: BTreeMap<_, _> = BTreeMap::new();
        for e in std::fs::read_dir(src).map_err(|e| Error::io(src, e))? {
            let e = e.map_err(|e| Error::io(src, e))?;
            names.insert(e.file_name(), e.path());
        }
        for (name, p) in names {
            link_tree(&p, &dst.join(name))?;
        }
    } else if m.file_type().is_symlink() {
        let t = std::fs::read_link(src).map_err(|e| Error::io(src, e))?;
        std::os::unix::fs::symlink(t, dst).map_err(|e| Error::io(dst, e))?;
    } else {
        std::fs::hard_link(src, dst).map_err(|e| Error::io(dst, e))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| Error::io(dir, e))?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_cache_rehashes_only_changed_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), "one").unwrap();
        let mut c = StatCache::default();
        let h1 = c.hash(dir.path(), Path::new("a")).unwrap();
        assert_eq!(h1, hex::encode(Sha256::digest(b"one")));
        std::fs::write(dir.path().join("a"), "two!").unwrap();
        let h2 = c.hash(dir.path(), Path::new("a")).unwrap();
        assert_ne!(h1, h2);
    }

    #[test]
    fn put_and_restore_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir_all(out.join("sub")).unwrap();
        std::fs::write(out.join("sub/f"), "data").unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        cache
            .put("k", std::slice::from_ref(&out), serde_json::json!({"x": 1}))
            .unwrap();
        let e = cache.get("k").unwrap();
        assert!(cache.restore("k", &e, std::slice::from_ref(&out)).unwrap());
        std::fs::remove_dir_all(&out).unwrap();
        assert!(cache.restore("k", &e, std::slice::from_ref(&out)).unwrap());
        assert_eq!(std::fs::read_to_string(out.join("sub/f")).unwrap(), "data");
        assert!(cache.get("other").is_none());
    }
}
