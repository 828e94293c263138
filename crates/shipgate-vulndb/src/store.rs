//! The on-disk database: one file, written once, read with positioned reads.
//!
//! Layout (all integers little-endian):
//!
//! ```text
//! [blobs ...]                         postcard-encoded advisories and per-package entry lists
//! [header JSON]                       Metadata (build time, sources, counts, HTTP validators)
//! [keys]                              concatenated "ecosystem\0normalized-name" keys, sorted
//! [slots]     24 bytes per package    key offset u32, key len u32, blob offset u64, blob len u32, blob crc32 u32
//! [advisory table] 16 bytes each      blob offset u64, blob len u32, blob crc32 u32
//! [footer]    88 bytes                offsets/lengths of the four sections (u64 x 8),
//!                                     crc32 of header+keys+slots+table, format u32, magic 16 bytes
//! ```
//!
//! Why a home-made file rather than SQLite: a lookup is one binary search
//! over an in-memory key array plus one positioned read and a postcard decode
//! (about a microsecond), opening reads only the index (no parsing), the
//! build is a single sequential write (fast import, trivially atomic with
//! write-then-rename), and it avoids adding `libsqlite3-sys` to a workspace
//! where its version is already constrained by `rpmdb`. The file is
//! immutable once written, so readers need no locking; every section and
//! blob is checksummed, so a damaged file is reported, never misread.

use crate::error::{Error, ImportError, Result};
use crate::osv::Reference;
use crate::range::PreparedRange;
use crate::severity::SeverityInfo;
use crate::version::Scheme;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 16] = b"SHIPGATE-VULNDB\x01";
/// Version of the file layout; bumped on incompatible changes.
pub const FORMAT: u32 = 1;
const FOOTER_LEN: u64 = 8 * 8 + 4 + 4 + 16;
const SLOT_LEN: usize = 24;
const ADV_LEN: usize = 16;

/// One source the database was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// URL or local path.
    pub location: String,
    /// The ecosystem when the source is one ecosystem's archive.
    #[serde(default)]
    pub ecosystem: Option<String>,
    /// HTTP `ETag` of the archive, for conditional updates.
    #[serde(default)]
    pub etag: Option<String>,
    /// HTTP `Last-Modified` of the archive, for conditional updates.
    #[serde(default)]
    pub last_modified: Option<String>,
    /// When it was downloaded (updates only).
    #[serde(default)]
    pub fetched_at: Option<jiff::Timestamp>,
    /// Records read from it.
    pub records: u64,
}

/// Per-ecosystem counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcosystemStats {
    /// Advisories with at least one package in this ecosystem.
    pub advisories: u64,
    /// Distinct packages.
    pub packages: u64,
}

/// What the database knows about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// File layout version.
    pub format: u32,
    /// When the file was written.
    pub built_at: jiff::Timestamp,
    /// Where the data came from.
    pub sources: Vec<SourceInfo>,
    /// Counts per exact OSV ecosystem string.
    pub ecosystems: BTreeMap<String, EcosystemStats>,
    /// Advisories stored (withdrawn ones excluded).
    pub advisories: u64,
    /// Withdrawn advisories skipped at import.
    pub withdrawn: u64,
    /// Distinct (ecosystem, package) keys.
    pub packages: u64,
}

/// Advisory data returned with matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredAdvisory {
    pub id: String,
    pub aliases: Vec<String>,
    pub summary: Option<String>,
    pub details: Option<String>,
    pub published: Option<String>,
    pub modified: Option<String>,
    pub references: Vec<Reference>,
}

/// One affected-package entry of one advisory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StoredAffected {
    pub advisory: u32,
    pub ecosystem: String,
    pub name: String,
    pub purl: Option<String>,
    pub scheme: Option<Scheme>,
    pub ranges: Vec<PreparedRange>,
    pub versions: Vec<String>,
    /// Some range could not be evaluated at import (bad version): the entry
    /// is kept for its `versions` list only.
    pub degraded: bool,
    pub severity: SeverityInfo,
}

pub(crate) fn key_of(ecosystem: &str, normalized: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(ecosystem.len() + normalized.len() + 1);
    k.extend_from_slice(ecosystem.as_bytes());
    k.push(0);
    k.extend_from_slice(normalized.as_bytes());
    k
}

/// Writes a database file beside its final path and renames it into place.
pub(crate) struct Writer {
    tmp: PathBuf,
    dest: PathBuf,
    out: BufWriter<File>,
    offset: u64,
    advisories: Vec<(u64, u32, u32)>,
    /// concatenated package keys, in order
    keys: Vec<u8>,
    /// one `SLOT_LEN` record per package
    slots: Vec<u8>,
    last_key: Option<Vec<u8>>,
    finished: bool,
}

/// A hidden path beside `dest` for temporary data of kind `what`
/// (`.osv-vulndb.bin.tmp-<pid>-<n>`), unique per process and per call: two
/// builds into one folder never share temporary files.
pub(crate) fn temp_beside(dest: &Path, what: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    folder_of(dest).join(format!(
        "{}{what}-{}-{n}",
        temp_prefix(dest),
        std::process::id()
    ))
}

/// The folder `dest` is in (`.` for a bare file name).
fn folder_of(dest: &Path) -> &Path {
    dest.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// What every temporary name of `dest` starts with: `.<file name>.`.
fn temp_prefix(dest: &Path) -> String {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "vulndb".into());
    format!(".{name}.")
}

/// Removes temporary files and run folders that earlier builds of `dest`
/// left behind when they were killed (no destructor ran): those whose
/// process is gone. Only where `/proc` tells which processes exist; a
/// failure to remove is ignored (the next build tries again).
pub(crate) fn remove_stale_temps(dest: &Path) {
    let proc_root = Path::new("/proc");
    if !proc_root.join("self").exists() {
        return;
    }
    let prefix = temp_prefix(dest);
    let Ok(entries) = std::fs::read_dir(folder_of(dest)) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        // "<what>-<pid>-<n>"
        let mut parts = rest.rsplitn(3, '-');
        let (Some(_n), Some(pid), Some(what)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if !matches!(what, "tmp" | "spill") || pid.parse::<u32>().is_err() {
            continue;
        }
        if proc_root.join(pid).exists() {
            continue;
        }
        let path = entry.path();
        let _ = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
    }
}

impl Writer {
    pub fn create(dest: &Path) -> Result<Writer> {
        let tmp = temp_beside(dest, "tmp");
        if let Some(dir) = tmp.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create folder", dir, e))?;
        }
        remove_stale_temps(dest);
        let file = File::create(&tmp).map_err(|e| Error::io("cannot create", &tmp, e))?;
        Ok(Writer {
            tmp,
            dest: dest.to_owned(),
            out: BufWriter::with_capacity(1 << 20, file),
            offset: 0,
            advisories: Vec::new(),
            keys: Vec::new(),
            slots: Vec::new(),
            last_key: None,
            finished: false,
        })
    }

    fn write_raw(&mut self, bytes: &[u8]) -> Result<(u64, u32, u32)> {
        let at = self.offset;
        self.out
            .write_all(bytes)
            .map_err(|e| Error::io("cannot write", &self.tmp, e))?;
        self.offset += bytes.len() as u64;
        let len = u32::try_from(bytes.len()).map_err(|_| Error::Corrupt {
            path: self.tmp.clone(),
            reason: "a record is larger than 4 GiB".into(),
        })?;
        Ok((at, len, crc32fast::hash(bytes)))
    }

    /// Appends an advisory; returns its index.
    pub fn add_advisory(&mut self, adv: &StoredAdvisory) -> Result<u32> {
        let bytes = postcard::to_stdvec(adv).map_err(|e| Error::Corrupt {
            path: self.tmp.clone(),
            reason: format!("cannot encode advisory: {e}"),
        })?;
        let slot = self.write_raw(&bytes)?;
        self.advisories.push(slot);
        Ok(u32::try_from(self.advisories.len() - 1).unwrap_or(u32::MAX))
    }

    /// Advisories appended so far.
    pub fn advisory_count(&self) -> usize {
        self.advisories.len()
    }

    /// Appends the entry list of one package. `blob` is the postcard
    /// encoding of a `Vec<StoredAffected>`; keys must come in ascending
    /// order (the reader binary-searches them).
    pub fn add_package(&mut self, key: &[u8], blob: &[u8]) -> Result<()> {
        if self.last_key.as_deref().is_some_and(|last| last >= key) {
            return Err(Error::Corrupt {
                path: self.tmp.clone(),
                reason: "package keys out of order".into(),
            });
        }
        let (off, len, crc) = self.write_raw(blob)?;
        let too_big = || Error::Corrupt {
            path: self.tmp.clone(),
            reason: "the package index is larger than 4 GiB".into(),
        };
        let key_off = u32::try_from(self.keys.len()).map_err(|_| too_big())?;
        let key_len = u32::try_from(key.len()).map_err(|_| too_big())?;
        self.slots.extend_from_slice(&key_off.to_le_bytes());
        self.slots.extend_from_slice(&key_len.to_le_bytes());
        self.slots.extend_from_slice(&off.to_le_bytes());
        self.slots.extend_from_slice(&len.to_le_bytes());
        self.slots.extend_from_slice(&crc.to_le_bytes());
        self.keys.extend_from_slice(key);
        self.last_key = Some(key.to_vec());
        Ok(())
    }

    /// Writes the index and the footer after the package entries, syncs,
    /// and atomically renames the file over the destination.
    pub fn finish(mut self, meta: &Metadata) -> Result<()> {
        let keys = std::mem::take(&mut self.keys);
        let slots = std::mem::take(&mut self.slots);
        let mut table = Vec::with_capacity(self.advisories.len() * ADV_LEN);
        for (off, len, crc) in &self.advisories {
            table.extend_from_slice(&off.to_le_bytes());
            table.extend_from_slice(&len.to_le_bytes());
            table.extend_from_slice(&crc.to_le_bytes());
        }
        let header = serde_json::to_vec(meta).map_err(|e| Error::Corrupt {
            path: self.tmp.clone(),
            reason: format!("cannot encode metadata: {e}"),
        })?;
        let mut crc = crc32fast::Hasher::new();
        let mut footer = Vec::with_capacity(FOOTER_LEN as usize);
        for section in [&header, &keys, &slots, &table] {
            let (off, _, _) = self.write_raw(section)?;
            crc.update(section);
            footer.extend_from_slice(&off.to_le_bytes());
            footer.extend_from_slice(&(section.len() as u64).to_le_bytes());
        }
        footer.extend_from_slice(&crc.finalize().to_le_bytes());
        footer.extend_from_slice(&FORMAT.to_le_bytes());
        footer.extend_from_slice(MAGIC);
        self.write_raw(&footer)?;
        self.out
            .flush()
            .map_err(|e| Error::io("cannot write", &self.tmp, e))?;
        self.out
            .get_ref()
            .sync_all()
            .map_err(|e| Error::io("cannot sync", &self.tmp, e))?;
        std::fs::rename(&self.tmp, &self.dest)
            .map_err(|e| Error::io("cannot move the new database into place at", &self.dest, e))?;
        self.finished = true;
        if let Some(dir) = self.dest.parent().filter(|p| !p.as_os_str().is_empty()) {
            // make the rename durable; failure here is not fatal (not all filesystems allow it)
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// A read-only view of a database file.
pub(crate) struct Reader {
    path: PathBuf,
    file: std::sync::Mutex<File>,
    pub meta: Metadata,
    keys: Vec<u8>,
    slots: Vec<u8>,
    table: Vec<u8>,
}

/// Little-endian integers at a byte offset (callers check the length).
pub(crate) fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

pub(crate) fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

impl Reader {
    pub fn open(path: &Path) -> Result<Reader> {
        let mut file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NoDatabase {
                    path: path.to_owned(),
                });
            }
            Err(e) => return Err(Error::io("cannot open", path, e)),
        };
        let corrupt = |reason: &str| Error::Corrupt {
            path: path.to_owned(),
            reason: reason.to_owned(),
        };
        let size = file
            .metadata()
            .map_err(|e| Error::io("cannot stat", path, e))?
            .len();
        if size < FOOTER_LEN {
            return Err(corrupt("file too short"));
        }
        let mut footer = vec![0u8; FOOTER_LEN as usize];
        read_at(&mut file, path, size - FOOTER_LEN, &mut footer)?;
        if &footer[footer.len() - 16..] != MAGIC {
            return Err(corrupt("wrong magic bytes"));
        }
        let format = u32_at(&footer, 68);
        if format != FORMAT {
            return Err(corrupt(&format!(
                "file format {format}, this shipgate reads format {FORMAT}"
            )));
        }
        let mut sections = Vec::with_capacity(4);
        let mut crc = crc32fast::Hasher::new();
        for i in 0..4 {
            let off = u64_at(&footer, i * 16);
            let len = u64_at(&footer, i * 16 + 8);
            if off
                .checked_add(len)
                .is_none_or(|end| end > size - FOOTER_LEN)
                || len > (1 << 34)
            {
                return Err(corrupt("section outside the file"));
            }
            let mut buf =
                vec![0u8; usize::try_from(len).map_err(|_| corrupt("section too large"))?];
            read_at(&mut file, path, off, &mut buf)?;
            crc.update(&buf);
            sections.push(buf);
        }
        if crc.finalize() != u32_at(&footer, 64) {
            return Err(corrupt("index checksum mismatch"));
        }
        let table = sections.pop().unwrap_or_default();
        let slots = sections.pop().unwrap_or_default();
        let keys = sections.pop().unwrap_or_default();
        let header = sections.pop().unwrap_or_default();
        if slots.len() % SLOT_LEN != 0 || table.len() % ADV_LEN != 0 {
            return Err(corrupt("index size is not a whole number of entries"));
        }
        let meta: Metadata =
            serde_json::from_slice(&header).map_err(|e| corrupt(&format!("metadata: {e}")))?;
        Ok(Reader {
            path: path.to_owned(),
            file: std::sync::Mutex::new(file),
            meta,
            keys,
            slots,
            table,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of packages in the index.
    #[cfg(test)]
    pub fn package_count(&self) -> usize {
        self.slots.len() / SLOT_LEN
    }

    /// Number of advisories in the table.
    #[cfg(test)]
    pub fn advisory_count(&self) -> usize {
        self.table.len() / ADV_LEN
    }

    pub(crate) fn key(&self, slot: usize) -> Option<&[u8]> {
        let at = slot * SLOT_LEN;
        let off = u32_at(&self.slots, at) as usize;
        let len = u32_at(&self.slots, at + 4) as usize;
        self.keys.get(off..off.checked_add(len)?)
    }

    /// Index of the slot holding `key`, if any.
    pub fn find(&self, key: &[u8]) -> Option<usize> {
        let (mut lo, mut hi) = (0usize, self.slots.len() / SLOT_LEN);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.key(mid)?.cmp(key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    fn blob(&self, off: u64, len: u32, crc: u32) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; len as usize];
        {
            let mut f = self
                .file
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            read_at(&mut f, &self.path, off, &mut buf)?;
        }
        if crc32fast::hash(&buf) != crc {
            return Err(Error::Corrupt {
                path: self.path.clone(),
                reason: format!("checksum mismatch in record at offset {off}"),
            });
        }
        Ok(buf)
    }

    pub fn entries(&self, slot: usize) -> Result<Vec<StoredAffected>> {
        let at = slot * SLOT_LEN;
        let buf = self.blob(
            u64_at(&self.slots, at + 8),
            u32_at(&self.slots, at + 16),
            u32_at(&self.slots, at + 20),
        )?;
        postcard::from_bytes(&buf).map_err(|e| Error::Corrupt {
            path: self.path.clone(),
            reason: format!("package entry: {e}"),
        })
    }

    pub fn advisory(&self, idx: u32) -> Result<StoredAdvisory> {
        let at = idx as usize * ADV_LEN;
        if at + ADV_LEN > self.table.len() {
            return Err(Error::Corrupt {
                path: self.path.clone(),
                reason: format!("advisory {idx} out of range"),
            });
        }
        let buf = self.blob(
            u64_at(&self.table, at),
            u32_at(&self.table, at + 8),
            u32_at(&self.table, at + 12),
        )?;
        postcard::from_bytes(&buf).map_err(|e| Error::Corrupt {
            path: self.path.clone(),
            reason: format!("advisory: {e}"),
        })
    }
}

fn read_at(file: &mut File, path: &Path, off: u64, buf: &mut [u8]) -> Result<()> {
    file.seek(SeekFrom::Start(off))
        .map_err(|e| Error::io("cannot read", path, e))?;
    file.read_exact(buf)
        .map_err(|e| Error::io("cannot read", path, e))
}

/// Errors reported by the builder carry the origin of the record.
pub(crate) fn record_error(origin: &str, message: String) -> ImportError {
    ImportError {
        path: origin.to_owned(),
        line: None,
        column: None,
        message,
    }
}
