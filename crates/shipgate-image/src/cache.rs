//! Per-layer analysis cache, keyed by layer digest.
//!
//! Layout: `<cache dir>/image-layers/v<N>/<alg>-<hex>.json`. Writes go to a
//! temporary file in the same directory and are renamed into place, so
//! concurrent runs never see a half-written entry. The directory is bounded:
//! after each write the least recently used entries (by modification time,
//! refreshed on every hit) are removed until the total is under the budget.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::error::{Error, Result};
use crate::model::LayerAnalysis;

/// Bumped whenever the analysis changes shape or content, so old entries are ignored.
pub const ANALYZER_VERSION: u32 = 3;

/// The layer cache.
#[derive(Debug, Clone)]
pub struct LayerCache {
    dir: PathBuf,
    max_bytes: u64,
}

/// True for `sha256:<64 hex>` (the only digests used as cache keys).
pub(crate) fn valid_sha256(digest: &str) -> bool {
    digest
        .strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl LayerCache {
    /// A cache under `cache_dir` holding at most `max_bytes` of entries.
    pub fn new(cache_dir: &Path, max_bytes: u64) -> Self {
        LayerCache {
            dir: cache_dir
                .join("image-layers")
                .join(format!("v{ANALYZER_VERSION}")),
            max_bytes,
        }
    }

    /// The directory entries live in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn entry_path(&self, digest: &str) -> Option<PathBuf> {
        valid_sha256(digest).then(|| self.dir.join(format!("{}.json", digest.replace(':', "-"))))
    }

    /// The cached analysis of a layer, if present and readable. A corrupt
    /// entry counts as a miss (and is replaced by the next write).
    pub fn get(&self, digest: &str) -> Option<LayerAnalysis> {
        let path = self.entry_path(digest)?;
        let bytes = fs::read(&path).ok()?;
        let analysis = serde_json::from_slice(&bytes).ok()?;
        // Refresh the LRU clock; failure only makes eviction less precise.
        if let Ok(f) = fs::File::options().append(true).open(&path) {
            let _ = f.set_modified(SystemTime::now());
        }
        Some(analysis)
    }

    /// Stores an analysis (temp file + rename), then trims the cache.
    pub fn put(&self, digest: &str, analysis: &LayerAnalysis) -> Result<()> {
        let Some(path) = self.entry_path(digest) else {
            return Ok(());
        };
        let cache_err = |source| Error::Cache {
            path: self.dir.clone(),
            source,
        };
        fs::create_dir_all(&self.dir).map_err(cache_err)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&self.dir)
            .map_err(cache_err)?;
        let json = serde_json::to_vec(analysis).map_err(|e| cache_err(std::io::Error::other(e)))?;
        tmp.write_all(&json).map_err(cache_err)?;
        tmp.persist(&path).map_err(|e| cache_err(e.error))?;
        self.evict();
        Ok(())
    }

    /// Removes least recently used entries until the total size fits.
    fn evict(&self) {
        let Ok(read) = fs::read_dir(&self.dir) else {
            return;
        };
        let mut entries: Vec<(SystemTime, u64, PathBuf)> = read
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .filter_map(|e| {
                let md = e.metadata().ok()?;
                Some((md.modified().ok()?, md.len(), e.path()))
            })
            .collect();
        let mut total: u64 = entries.iter().map(|(_, len, _)| len).sum();
        if total <= self.max_bytes {
            return;
        }
        entries.sort();
        for (_, len, path) in entries {
            if total <= self.max_bytes {
                break;
            }
            // Another run may have removed it already.
            if fs::remove_file(&path).is_ok() {
                total = total.saturating_sub(len);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_eviction() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = LayerCache::new(dir.path(), 1500);
        let d = |i: u8| format!("sha256:{}", hex::encode([i; 32]));
        let a = LayerAnalysis {
            problems: vec!["x".repeat(600)],
            ..Default::default()
        };
        assert!(cache.get(&d(1)).is_none());
        cache.put(&d(1), &a).expect("put");
        assert_eq!(cache.get(&d(1)), Some(a.clone()));
        // Make entry 1 old, then add two more: 1 is evicted first.
        let p1 = cache.entry_path(&d(1)).expect("valid");
        let f = fs::File::options().append(true).open(&p1).expect("open");
        f.set_modified(SystemTime::UNIX_EPOCH).expect("mtime");
        cache.put(&d(2), &a).expect("put");
        cache.put(&d(3), &a).expect("put");
        assert!(cache.get(&d(1)).is_none());
        assert!(cache.get(&d(3)).is_some());
        // Invalid digests are never used as file names.
        cache.put("sha256:../../etc", &a).expect("ignored");
        assert!(cache.get("sha256:../../etc").is_none());
    }
}
