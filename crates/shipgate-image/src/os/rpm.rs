//! RPM package databases: `rpmdb.sqlite` (SQLite, rpm 4.16 and later: Fedora,
//! RHEL/Rocky/AlmaLinux 9), `Packages.db` (NDB, SUSE) and `Packages` (Berkeley
//! DB hash, rpm up to 4.15: CentOS/RHEL 7 and 8, Amazon Linux 2).
//!
//! All three hold one RPM header blob per installed package; the format is
//! recognised from the file's first bytes, not its name. Everything is read
//! from memory (the image content is never written to disk), every offset is
//! bounds-checked, chains of pages are followed at most once and the bytes
//! gathered from one file never exceed that file's size, so a hostile
//! database costs at most linear time and memory. The SQLite database is
//! opened read-only from memory by the bundled SQLite (defensive mode, no
//! triggers or views), and only the `Packages` table is read.
//!
//! Not the `rpmdb` crate (the design notes' pick): it takes a file path, it
//! rejects big-endian Berkeley DB files, and on crafted input it loops forever
//! (tried: a Berkeley DB overflow entry that points at a non-overflow page;
//! and, reading its code, a string-length loop driven by an untrusted count),
//! which `catch_unwind` cannot stop.
//! [`read_database`] still wraps the readers in `catch_unwind` in case one of
//! them has a bug, turning a panic into a problem message.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::model::{PackageKind, RawPackage};

/// The on-disk formats of an RPM database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbFormat {
    /// `rpmdb.sqlite`: table `Packages(hnum, blob)`.
    Sqlite,
    /// `Packages.db`: rpm's own "new database" format (slots and blobs).
    Ndb,
    /// `Packages`: a Berkeley DB hash database keyed by header number.
    Bdb,
}

const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";
const NDB_MAGIC: &[u8; 4] = b"RpmP";
const BDB_HASH_MAGIC: u32 = 0x0006_1561;
const BDB_BTREE_MAGIC: u32 = 0x0005_3162;

impl DbFormat {
    /// Recognises the format from the first bytes.
    pub fn detect(data: &[u8]) -> Option<DbFormat> {
        if data.starts_with(SQLITE_MAGIC) {
            return Some(DbFormat::Sqlite);
        }
        if data.starts_with(NDB_MAGIC) {
            return Some(DbFormat::Ndb);
        }
        // Hash (what rpm writes) or btree (reported as such by the reader).
        let magic = u32_at(data, 12, false)?;
        [BDB_HASH_MAGIC, BDB_BTREE_MAGIC]
            .iter()
            .any(|m| magic == *m || magic == m.swap_bytes())
            .then_some(DbFormat::Bdb)
    }

    /// How messages name it.
    pub fn label(self) -> &'static str {
        match self {
            DbFormat::Sqlite => "SQLite",
            DbFormat::Ndb => "NDB",
            DbFormat::Bdb => "Berkeley DB",
        }
    }
}

/// What one header says about its package.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpmHeader {
    /// `NAME`.
    pub name: String,
    /// `EPOCH`, when the header has one.
    pub epoch: Option<u32>,
    /// `VERSION`.
    pub version: String,
    /// `RELEASE`.
    pub release: String,
    /// `ARCH` (absent on `gpg-pubkey` entries).
    pub arch: Option<String>,
    /// `SOURCERPM`, e.g. `bash-5.1-2.el9.src.rpm`.
    pub source_rpm: Option<String>,
    /// `LICENSE`.
    pub license: Option<String>,
}

impl RpmHeader {
    /// `[epoch:]version-release`; an epoch of 0 is left out (it compares equal
    /// to none).
    pub fn evr(&self) -> String {
        match self.epoch {
            Some(e) if e > 0 => format!("{e}:{}-{}", self.version, self.release),
            _ => format!("{}-{}", self.version, self.release),
        }
    }

    /// The package, or `None` for the `gpg-pubkey` pseudo-packages rpm keeps
    /// for imported signing keys (they are not software).
    pub fn to_package(&self) -> Option<RawPackage> {
        if self.name == "gpg-pubkey" {
            return None;
        }
        let mut p = RawPackage::new(PackageKind::Rpm, self.name.clone(), self.evr());
        p.arch = self.arch.clone().filter(|a| !a.is_empty());
        if let Some((name, vr)) = self.source_rpm.as_deref().and_then(source_package) {
            p.source_name = Some(name.to_string());
            if vr != format!("{}-{}", self.version, self.release) {
                p.source_version = Some(vr);
            }
        }
        Some(p)
    }
}

/// Splits a source rpm file name, `bash-5.1-2.el9.src.rpm`, into the source
/// package name and its `version-release`: (`bash`, `5.1-2.el9`).
pub fn source_package(srpm: &str) -> Option<(&str, String)> {
    let stem = srpm
        .strip_suffix(".src.rpm")
        .or_else(|| srpm.strip_suffix(".nosrc.rpm"))?;
    let (rest, release) = stem.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    (!name.is_empty() && !version.is_empty() && !release.is_empty())
        .then(|| (name, format!("{version}-{release}")))
}

// ---------------------------------------------------------------------------
// Header blobs (rpm's lib/header.c, without the 8-byte magic of package files):
// il (u32 BE), dl (u32 BE), il index entries of 16 bytes (tag, type, offset,
// count; all BE), then dl bytes of data. Entries after the immutable region
// ("dribbles" rpm adds at install time) override earlier ones with the same
// tag, so the last entry of a tag wins.

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_LICENSE: u32 = 1014;
const TAG_ARCH: u32 = 1022;
const TAG_SOURCERPM: u32 = 1044;
const WANTED: [u32; 7] = [
    TAG_NAME,
    TAG_VERSION,
    TAG_RELEASE,
    TAG_EPOCH,
    TAG_LICENSE,
    TAG_ARCH,
    TAG_SOURCERPM,
];

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// rpm's limits (`hdrchkTags`, `HEADER_DATA_MAX`).
const MAX_INDEX_ENTRIES: usize = 0xffff;
const MAX_DATA_BYTES: usize = 0x0fff_ffff;

/// Reads the fields shipgate uses from one header blob.
pub fn parse_header(blob: &[u8]) -> Result<RpmHeader, String> {
    let (Some(il), Some(dl)) = (u32_at(blob, 0, true), u32_at(blob, 4, true)) else {
        return Err(format!("{} bytes, too short for a header", blob.len()));
    };
    let (il, dl) = (il as usize, dl as usize);
    if il == 0 || il > MAX_INDEX_ENTRIES {
        return Err(format!("{il} index entries (a header has 1 to 65535)"));
    }
    if dl > MAX_DATA_BYTES {
        return Err(format!("{dl} bytes of data (more than rpm allows)"));
    }
    let data_start = 8 + il * 16;
    let data_end = data_start + dl;
    let Some(store) = blob.get(data_start..data_end) else {
        return Err(format!(
            "truncated: the index says {data_end} bytes, the blob has {}",
            blob.len()
        ));
    };
    // The last index entry of each wanted tag (a header may repeat a tag).
    let mut last: [Option<usize>; WANTED.len()] = [None; WANTED.len()];
    for i in 0..il {
        let tag = u32_at(blob, 8 + i * 16, true).unwrap_or_default();
        if let Some(slot) = WANTED.iter().position(|t| *t == tag) {
            last[slot] = Some(8 + i * 16);
        }
    }
    let mut header = RpmHeader::default();
    for (slot, entry) in last.iter().enumerate() {
        let Some(e) = *entry else { continue };
        let tag = WANTED[slot];
        let ty = u32_at(blob, e + 4, true).unwrap_or_default();
        let offset = u32_at(blob, e + 8, true).unwrap_or_default() as usize;
        let count = u32_at(blob, e + 12, true).unwrap_or_default();
        if tag == TAG_EPOCH {
            if ty != TYPE_INT32 || count == 0 {
                return Err(format!("EPOCH has type {ty} and count {count}"));
            }
            header.epoch = Some(
                u32_at(store, offset, true)
                    .ok_or_else(|| format!("EPOCH at offset {offset} is outside the data"))?,
            );
            continue;
        }
        if !matches!(ty, TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING) {
            return Err(format!("tag {tag} has type {ty}, not a string"));
        }
        let value = string_at(store, offset).map_err(|e| format!("tag {tag}: {e}"))?;
        match tag {
            TAG_NAME => header.name = value,
            TAG_VERSION => header.version = value,
            TAG_RELEASE => header.release = value,
            TAG_LICENSE => header.license = Some(value),
            TAG_ARCH => header.arch = Some(value),
            _ => header.source_rpm = Some(value).filter(|s| s != "(none)"),
        }
    }
    for (what, value) in [
        ("NAME", &header.name),
        ("VERSION", &header.version),
        ("RELEASE", &header.release),
    ] {
        if value.is_empty() {
            return Err(format!("no {what}"));
        }
    }
    Ok(header)
}

fn string_at(store: &[u8], offset: usize) -> Result<String, String> {
    let rest = store
        .get(offset..)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| format!("offset {offset} is outside the data"))?;
    let end = memchr::memchr(0, rest).ok_or("string is not NUL-terminated")?;
    Ok(String::from_utf8_lossy(&rest[..end]).into_owned())
}

fn u32_at(b: &[u8], off: usize, big_endian: bool) -> Option<u32> {
    let bytes: [u8; 4] = b.get(off..off.checked_add(4)?)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(bytes)
    } else {
        u32::from_le_bytes(bytes)
    })
}

fn u16_at(b: &[u8], off: usize, big_endian: bool) -> Option<u16> {
    let bytes: [u8; 2] = b.get(off..off.checked_add(2)?)?.try_into().ok()?;
    Some(if big_endian {
        u16::from_be_bytes(bytes)
    } else {
        u16::from_le_bytes(bytes)
    })
}

// ---------------------------------------------------------------------------
// The three containers. Each returns the header blobs it found, labelled for
// messages, plus problems about parts it had to skip; `Err` when nothing
// could be read at all.

/// Header blobs and the problems met while collecting them.
type Blobs = (Vec<(String, Vec<u8>)>, Vec<String>);

/// Bytes gathered from a database never exceed its size: in a sound database
/// every header is stored once, so more means entries share storage (a
/// crafted file trying to multiply its size).
struct Budget(usize);

impl Budget {
    fn take(&mut self, n: usize) -> Result<(), String> {
        self.0 = self.0.checked_sub(n).ok_or(OVER_BUDGET)?;
        Ok(())
    }
}

const OVER_BUDGET: &str =
    "entries share storage (more header bytes than the file holds); stopped reading";

/// A running SQLite statement stops after this long (a crafted schema cannot
/// make it spin; a real 100 MB database reads in well under a second).
const SQLITE_TIME_LIMIT: std::time::Duration = std::time::Duration::from_secs(30);

fn sqlite_blobs(data: &[u8]) -> Result<Blobs, String> {
    use rusqlite::config::DbConfig;
    use rusqlite::types::ValueRef;
    use rusqlite::{Connection, MAIN_DB};

    if data.len() > i32::MAX as usize {
        return Err("larger than 2 GiB".into());
    }
    let sql_err = |e: rusqlite::Error| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::OperationInterrupted) => format!(
            "reading took longer than {} s; stopped",
            SQLITE_TIME_LIMIT.as_secs()
        ),
        _ => e.to_string(),
    };
    let mut conn = Connection::open_in_memory().map_err(sql_err)?;
    for (option, on) in [
        (DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true),
        (DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false),
        (DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, false),
        (DbConfig::SQLITE_DBCONFIG_ENABLE_VIEW, false),
    ] {
        conn.set_db_config(option, on).map_err(sql_err)?;
    }
    // rpm keeps its database in WAL mode (header bytes 18-19 = 2). There is no
    // WAL file here, and an in-memory database cannot be in WAL mode, so the
    // copy is marked as a rollback-journal database (1).
    let mut head = [0u8; 100];
    let n = data.len().min(head.len());
    head[..n].copy_from_slice(&data[..n]);
    for b in &mut head[18..20] {
        if *b == 2 {
            *b = 1;
        }
    }
    let reader = std::io::Read::chain(&head[..n], &data[n..]);
    conn.deserialize_read_exact(MAIN_DB, reader, data.len(), true)
        .map_err(sql_err)?;
    let deadline = std::time::Instant::now() + SQLITE_TIME_LIMIT;
    conn.progress_handler(10_000, Some(move || std::time::Instant::now() > deadline));

    let mut stmt = conn
        .prepare("SELECT hnum, blob FROM Packages")
        .map_err(sql_err)?;
    let mut rows = stmt.query([]).map_err(sql_err)?;
    let mut blobs = Vec::new();
    let mut problems = Vec::new();
    let mut budget = Budget(data.len());
    loop {
        let row = match rows.next() {
            Ok(Some(row)) => row,
            Ok(None) => break,
            Err(e) => {
                let e = sql_err(e);
                if blobs.is_empty() && problems.is_empty() {
                    return Err(e);
                }
                problems.push(format!("stopped after {} rows: {e}", blobs.len()));
                break;
            }
        };
        let id = match row.get_ref(0) {
            Ok(ValueRef::Integer(h)) => format!("{h}"),
            _ => format!("in row {}", blobs.len() + 1),
        };
        match row.get_ref(1) {
            Ok(ValueRef::Blob(b)) => {
                budget.take(b.len())?;
                blobs.push((id, b.to_vec()));
            }
            Ok(other) => problems.push(format!(
                "header {id}: the blob column holds {:?}, not a blob; skipped",
                other.data_type()
            )),
            Err(e) => problems.push(format!("header {id}: {e}; skipped")),
        }
    }
    Ok((blobs, problems))
}

/// NDB (rpm's lib/backend/ndb/rpmpkg.c): a 32-byte header (`RpmP`, version,
/// generation, number of 4096-byte slot pages), 16-byte slots (`Slot`,
/// package index, block offset, block count; blocks are 16 bytes), and at each
/// slot's blocks a blob: `BlbS`, package index, timestamp, length, the header,
/// padding, then adler32, length, `BlbE`. All little-endian.
fn ndb_blobs(data: &[u8]) -> Result<Blobs, String> {
    const PAGE: usize = 4096;
    const SLOT: usize = 16;
    const BLK: usize = 16;
    const HEAD: usize = 16;
    const TAIL: usize = 12;
    let le = |off: usize| u32_at(data, off, false);
    let version = le(4).ok_or("truncated header")?;
    if version != 0 {
        return Err(format!("NDB version {version} (only version 0 exists)"));
    }
    let pages = le(12).ok_or("truncated header")? as usize;
    if pages == 0 || pages > 2048 {
        return Err(format!("{pages} slot pages (expected 1 to 2048)"));
    }
    let slots_end = pages * PAGE;
    if slots_end > data.len() {
        return Err(format!(
            "truncated: {pages} slot pages need {slots_end} bytes, the file has {}",
            data.len()
        ));
    }
    let file_blocks = data.len() / BLK;
    let min_block = slots_end / BLK;
    let mut blobs = Vec::new();
    let mut problems = Vec::new();
    let mut budget = Budget(data.len());
    // The first two slots hold the file header.
    for slotno in 2..slots_end / SLOT {
        let o = slotno * SLOT;
        if &data[o..o + 4] != b"Slot" {
            problems.push(format!(
                "slot {slotno} is damaged (no slot magic); stopped reading slots"
            ));
            break;
        }
        let (pkg, blkoff, blkcnt) = (
            le(o + 4).unwrap_or_default(),
            le(o + 8).unwrap_or_default() as usize,
            le(o + 12).unwrap_or_default() as usize,
        );
        if blkoff == 0 {
            continue; // free slot
        }
        let Some(region) = (pkg != 0 && blkcnt != 0 && blkoff >= min_block)
            .then_some(())
            .and_then(|()| blkoff.checked_add(blkcnt))
            .filter(|end| *end <= file_blocks)
            .map(|end| &data[blkoff * BLK..end * BLK])
        else {
            problems.push(format!(
                "package {pkg}: slot {slotno} points outside the file (block {blkoff}, {blkcnt} blocks); skipped"
            ));
            continue;
        };
        let rle = |off: usize| u32_at(region, off, false);
        let len = rle(12).unwrap_or_default() as usize;
        // Length consistent with the block count (so the blob fits), and the
        // tail's copy of the length and its magic where the blocks end.
        let sound = region.starts_with(b"BlbS")
            && rle(4) == Some(pkg)
            && (HEAD + len + TAIL).div_ceil(BLK) == blkcnt
            && rle(region.len() - TAIL + 4) == Some(len as u32)
            && region.ends_with(b"BlbE");
        if !sound {
            problems.push(format!(
                "package {pkg}: the blob at block {blkoff} is damaged (bad magic, index or length); skipped"
            ));
            continue;
        }
        budget.take(len)?;
        blobs.push((format!("{pkg}"), region[HEAD..HEAD + len].to_vec()));
    }
    Ok((blobs, problems))
}

/// Berkeley DB hash database (the layout rpm's own read-only reader,
/// lib/backend/bdb_ro.c, relies on): a metadata page, then pages of 26-byte
/// header plus an index of item offsets; items alternate key and value. A
/// value too big for the page is stored on a chain of overflow pages. Byte
/// order is the writing machine's, told by the magic number. Key 0 holds
/// rpm's next header number, not a header.
fn bdb_blobs(data: &[u8]) -> Result<Blobs, String> {
    const PAGE_HEADER: usize = 26;
    let big = match u32_at(data, 12, false) {
        Some(BDB_HASH_MAGIC) => false,
        Some(m) if m == BDB_HASH_MAGIC.swap_bytes() => true,
        Some(m) if m == BDB_BTREE_MAGIC || m == BDB_BTREE_MAGIC.swap_bytes() => {
            return Err("a Berkeley DB btree, not the hash database rpm uses".into());
        }
        _ => return Err("no Berkeley DB hash magic".into()),
    };
    let meta = |off: usize| u32_at(data, off, big);
    let version = meta(16).ok_or("truncated metadata page")?;
    if !(8..=10).contains(&version) {
        return Err(format!(
            "hash version {version} (rpm databases use 8 to 10)"
        ));
    }
    let page_size = meta(20).ok_or("truncated metadata page")? as usize;
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(format!("page size {page_size}"));
    }
    if data.len() < 224 {
        return Err("truncated metadata page".into());
    }
    let max_bucket = meta(72).unwrap_or_default() as usize;
    let spares: Vec<usize> = (0..32)
        .map(|i| meta(96 + 4 * i).unwrap_or_default() as usize)
        .collect();
    let npages = data.len() / page_size;
    let mut problems = Vec::new();
    let last = meta(32).unwrap_or_default() as usize;
    if last >= npages {
        problems.push(format!(
            "truncated: the database has {} pages, the file {npages}",
            last.saturating_add(1)
        ));
    }
    if max_bucket >= npages {
        return Err(format!(
            "{} hash buckets in a file of {npages} pages",
            max_bucket.saturating_add(1)
        ));
    }
    let page = |pg: usize| &data[pg * page_size..(pg + 1) * page_size];
    let mut visited = vec![false; npages];
    let mut blobs = Vec::new();
    let mut budget = Budget(data.len());

    // One item: on-page (type 1) or on overflow pages (type 3).
    let item = |p: &[u8], off: usize, len: usize, budget: &mut Budget| -> Result<Vec<u8>, String> {
        match (p.get(off), len) {
            (Some(1), 1..) if off + len <= p.len() => Ok(p[off + 1..off + len].to_vec()),
            (Some(3), 12) if off + len <= p.len() => {
                let mut pg = u32_at(p, off + 4, big).unwrap_or_default() as usize;
                let total = u32_at(p, off + 8, big).unwrap_or_default() as usize;
                if total == 0 || total > data.len() {
                    return Err(format!("overflow item of {total} bytes"));
                }
                budget.take(total)?;
                let mut out = Vec::with_capacity(total);
                while out.len() < total {
                    if pg == 0 || pg >= npages {
                        return Err(format!(
                            "overflow chain leads to page {pg}, outside the file"
                        ));
                    }
                    let o = page(pg);
                    let n = u16_at(o, 22, big).unwrap_or_default() as usize;
                    if o[25] != 7 || n == 0 || PAGE_HEADER + n > page_size || out.len() + n > total
                    {
                        return Err(format!("overflow page {pg} is damaged"));
                    }
                    out.extend_from_slice(&o[PAGE_HEADER..PAGE_HEADER + n]);
                    pg = u32_at(o, 16, big).unwrap_or_default() as usize;
                }
                Ok(out)
            }
            (t, _) => Err(format!(
                "item of type {t:?} and length {len} at offset {off}"
            )),
        }
    };

    for bucket in 0..=max_bucket {
        let bits = (usize::BITS - bucket.leading_zeros()) as usize;
        let mut pg = bucket.saturating_add(spares.get(bits).copied().unwrap_or_default());
        while pg != 0 {
            if pg >= npages || visited[pg] {
                problems.push(format!(
                    "bucket {bucket} leads to page {pg}, outside the file or seen before; rest of the bucket skipped"
                ));
                break;
            }
            visited[pg] = true;
            let p = page(pg);
            let ty = p[25];
            if (u32_at(p, 8, big) != Some(pg as u32)) || !(ty == 2 || ty == 13) {
                problems.push(format!(
                    "page {pg} (bucket {bucket}) is not a hash page; rest of the bucket skipped"
                ));
                break;
            }
            let entries = u16_at(p, 20, big).unwrap_or_default() as usize;
            let inp = |i: usize| u16_at(p, PAGE_HEADER + 2 * i, big).map(usize::from);
            let mut idx = 0;
            while idx + 1 < entries {
                let pair = (inp(idx), inp(idx + 1));
                let key_end = if idx == 0 {
                    Some(page_size)
                } else {
                    inp(idx - 1)
                };
                idx += 2;
                let (Some(koff), Some(voff), Some(kend)) = (pair.0, pair.1, key_end) else {
                    problems.push(format!("page {pg}: item index runs off the page"));
                    break;
                };
                let (Some(klen), Some(vlen)) = (kend.checked_sub(koff), koff.checked_sub(voff))
                else {
                    problems.push(format!("page {pg}: item offsets out of order; skipped"));
                    continue;
                };
                let key = match item(p, koff, klen, &mut budget) {
                    Ok(k) => k,
                    Err(e) if e == OVER_BUDGET => return Err(e),
                    Err(e) => {
                        problems.push(format!("page {pg}: key: {e}; skipped"));
                        continue;
                    }
                };
                if key.iter().all(|b| *b == 0) {
                    continue; // rpm's "next header number" record
                }
                let id = match key.as_slice().try_into() {
                    Ok(k) => format!(
                        "{}",
                        if big {
                            u32::from_be_bytes(k)
                        } else {
                            u32::from_le_bytes(k)
                        }
                    ),
                    Err(_) => format!("on page {pg}"),
                };
                match item(p, voff, vlen, &mut budget) {
                    Ok(v) => blobs.push((id, v)),
                    Err(e) if e == OVER_BUDGET => return Err(e),
                    Err(e) => problems.push(format!("header {id}: {e}; skipped")),
                }
            }
            pg = u32_at(p, 16, big).unwrap_or_default() as usize;
        }
    }
    Ok((blobs, problems))
}

/// At most this many problems are listed for one database; the rest are counted.
const MAX_PROBLEMS: usize = 20;

/// Reads an RPM database of any of the three formats and returns its
/// packages and the problems met. A header that cannot be read is skipped
/// with a problem; the others are still returned. Never panics: a bug in a
/// reader becomes a problem too.
pub fn read_database(data: &[u8]) -> (Vec<RawPackage>, Vec<String>) {
    match catch_unwind(AssertUnwindSafe(|| read_unguarded(data))) {
        Ok(result) => result,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            (
                Vec::new(),
                vec![format!(
                    "RPM database: internal error while reading ({what}); its packages are not listed"
                )],
            )
        }
    }
}

fn read_unguarded(data: &[u8]) -> (Vec<RawPackage>, Vec<String>) {
    let Some(format) = DbFormat::detect(data) else {
        let why = if data.is_empty() {
            "empty file".to_string()
        } else {
            "not an RPM database in a known format (SQLite, NDB or Berkeley DB hash)".to_string()
        };
        return (
            Vec::new(),
            vec![format!("RPM database: {why}; its packages are not listed")],
        );
    };
    let label = format.label();
    let read = match format {
        DbFormat::Sqlite => sqlite_blobs(data),
        DbFormat::Ndb => ndb_blobs(data),
        DbFormat::Bdb => bdb_blobs(data),
    };
    let (blobs, found) = match read {
        Ok(r) => r,
        Err(e) => {
            return (
                Vec::new(),
                vec![format!(
                    "RPM database ({label}): {e}; its packages are not listed"
                )],
            );
        }
    };
    let mut problems: Vec<String> = found
        .into_iter()
        .map(|p| format!("RPM database ({label}): {p}"))
        .collect();
    let mut packages = Vec::new();
    for (id, blob) in &blobs {
        match parse_header(blob) {
            Ok(h) => packages.extend(h.to_package()),
            Err(e) => problems.push(format!("RPM database ({label}): header {id}: {e}; skipped")),
        }
    }
    if problems.len() > MAX_PROBLEMS {
        let more = problems.len() - MAX_PROBLEMS;
        problems.truncate(MAX_PROBLEMS);
        problems.push(format!("RPM database ({label}): {more} more problems"));
    }
    (packages, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header blob with the given (tag, type, data) entries, laid out as rpm
    /// does (no region tag; shipgate does not need one).
    fn blob(entries: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut store = Vec::new();
        for (tag, ty, value) in entries {
            index.extend_from_slice(&tag.to_be_bytes());
            index.extend_from_slice(&ty.to_be_bytes());
            index.extend_from_slice(&(store.len() as u32).to_be_bytes());
            index.extend_from_slice(&1u32.to_be_bytes());
            store.extend_from_slice(value);
        }
        let mut out = Vec::new();
        out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        out.extend_from_slice(&(store.len() as u32).to_be_bytes());
        out.extend(index);
        out.extend(store);
        out
    }

    #[test]
    fn header_fields_and_last_entry_wins() {
        let b = blob(&[
            (TAG_NAME, TYPE_STRING, b"bash\0"),
            (TAG_VERSION, TYPE_STRING, b"5.1\0"),
            (TAG_RELEASE, TYPE_STRING, b"2.el9\0"),
            (TAG_EPOCH, TYPE_INT32, &1u32.to_be_bytes()),
            (TAG_ARCH, TYPE_STRING, b"x86_64\0"),
            (TAG_SOURCERPM, TYPE_STRING, b"bash-5.1-2.el9.src.rpm\0"),
            (TAG_LICENSE, TYPE_STRING, b"GPLv3+\0"),
            (TAG_RELEASE, TYPE_STRING, b"3.el9\0"),
        ]);
        let h = parse_header(&b).expect("header");
        assert_eq!(h.evr(), "1:5.1-3.el9");
        assert_eq!(h.license.as_deref(), Some("GPLv3+"));
        let p = h.to_package().expect("package");
        assert_eq!(p.kind, PackageKind::Rpm);
        assert_eq!(p.arch.as_deref(), Some("x86_64"));
        assert_eq!(p.source_name.as_deref(), Some("bash"));
        // The source rpm says release 2, the package 3.
        assert_eq!(p.source_version.as_deref(), Some("5.1-2.el9"));
    }

    #[test]
    fn bad_headers_are_errors() {
        assert!(parse_header(b"").is_err());
        assert!(parse_header(&[0, 0, 0, 0, 0, 0, 0, 0]).is_err());
        // Claims more data than it has.
        let mut b = blob(&[(TAG_NAME, TYPE_STRING, b"x\0")]);
        b.truncate(b.len() - 1);
        assert!(parse_header(&b).unwrap_err().contains("truncated"));
        // String without its NUL, offset outside the data, wrong type.
        let b = blob(&[(TAG_NAME, TYPE_STRING, b"x")]);
        assert!(parse_header(&b).unwrap_err().contains("NUL"));
        let mut b = blob(&[(TAG_NAME, TYPE_STRING, b"x\0")]);
        b[16..20].copy_from_slice(&99u32.to_be_bytes());
        assert!(parse_header(&b).unwrap_err().contains("outside"));
        let b = blob(&[(TAG_NAME, TYPE_INT32, b"abcd")]);
        assert!(parse_header(&b).unwrap_err().contains("not a string"));
        let b = blob(&[(TAG_NAME, TYPE_STRING, b"x\0")]);
        assert_eq!(parse_header(&b).unwrap_err(), "no VERSION");
        let b = blob(&[(TAG_EPOCH, TYPE_INT32, b"ab")]);
        assert!(parse_header(&b).unwrap_err().contains("EPOCH"));
    }

    #[test]
    fn source_rpm_names() {
        assert_eq!(
            source_package("bash-5.1-2.el9.src.rpm"),
            Some(("bash", "5.1-2.el9".to_string()))
        );
        assert_eq!(
            source_package("python3-pip-21.2.3-7.el9.nosrc.rpm"),
            Some(("python3-pip", "21.2.3-7.el9".to_string()))
        );
        assert_eq!(source_package("bash.src.rpm"), None);
        assert_eq!(source_package("(none)"), None);
        assert_eq!(source_package("-1-2.src.rpm"), None);
    }

    #[test]
    fn gpg_pubkey_is_not_a_package() {
        let h = RpmHeader {
            name: "gpg-pubkey".into(),
            version: "fd431d51".into(),
            release: "4ae0493b".into(),
            ..RpmHeader::default()
        };
        assert!(h.to_package().is_none());
    }

    fn assert_problem(data: &[u8], label: &str, needle: &str) {
        let (packages, problems) = read_database(data);
        assert!(packages.is_empty());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with(&format!("RPM database ({label}): ")),
            "{problems:?}"
        );
        assert!(problems[0].contains(needle), "{problems:?}");
        assert!(!problems[0].contains("internal error"), "{problems:?}");
    }

    #[test]
    fn garbage_in_each_format_is_a_problem() {
        let noise: Vec<u8> = (0..20_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        // SQLite magic, then noise.
        let mut d = SQLITE_MAGIC.to_vec();
        d.extend_from_slice(&noise);
        assert_problem(&d, "SQLite", "not a database");
        // NDB magic, then noise: version check.
        let mut d = NDB_MAGIC.to_vec();
        d.extend_from_slice(&noise);
        assert_problem(&d, "NDB", "version");
        // NDB with sane header but truncated slot pages.
        let mut d = NDB_MAGIC.to_vec();
        d.extend_from_slice(&[0; 4]);
        d.extend_from_slice(&[0; 4]);
        d.extend_from_slice(&1u32.to_le_bytes());
        d.extend_from_slice(&[0; 16]);
        assert_problem(&d, "NDB", "truncated");
        // Berkeley DB hash magic in a page of noise.
        let mut d = noise.clone();
        d[12..16].copy_from_slice(&BDB_HASH_MAGIC.to_le_bytes());
        assert_problem(&d, "Berkeley DB", "hash version");
        d[16..20].copy_from_slice(&9u32.to_le_bytes());
        d[20..24].copy_from_slice(&4096u32.to_le_bytes());
        let (packages, problems) = read_database(&d);
        assert!(packages.is_empty());
        assert!(!problems.is_empty());
        assert!(problems.iter().all(|p| !p.contains("internal error")));
        // A Berkeley DB btree is named as such.
        let mut d = noise.clone();
        d[12..16].copy_from_slice(&BDB_BTREE_MAGIC.to_le_bytes());
        assert_problem(&d, "Berkeley DB", "btree");
        // Unknown and empty.
        let (_, problems) = read_database(&noise);
        assert!(problems[0].contains("not an RPM database"), "{problems:?}");
        let (_, problems) = read_database(b"");
        assert!(problems[0].contains("empty file"), "{problems:?}");
    }

    #[test]
    fn ndb_slots_sharing_one_blob_stop_at_the_file_size() {
        // 254 slots all pointing at the same 1 KiB blob: 254 KiB from a 5 KiB file.
        let header = blob(&[(TAG_NAME, TYPE_STRING, &[b'x'; 1000])]);
        let mut d = vec![0u8; 4096];
        d[0..4].copy_from_slice(NDB_MAGIC);
        d[12..16].copy_from_slice(&1u32.to_le_bytes());
        let count = (16 + header.len() + 12).div_ceil(16);
        for slot in 2..256 {
            let s = slot * 16;
            d[s..s + 4].copy_from_slice(b"Slot");
            d[s + 4..s + 8].copy_from_slice(&7u32.to_le_bytes());
            d[s + 8..s + 12].copy_from_slice(&256u32.to_le_bytes());
            d[s + 12..s + 16].copy_from_slice(&(count as u32).to_le_bytes());
        }
        d.extend_from_slice(b"BlbS");
        d.extend_from_slice(&7u32.to_le_bytes());
        d.extend_from_slice(&0u32.to_le_bytes());
        d.extend_from_slice(&(header.len() as u32).to_le_bytes());
        d.extend_from_slice(&header);
        d.resize(4096 + count * 16 - 8, 0);
        d.extend_from_slice(&(header.len() as u32).to_le_bytes());
        d.extend_from_slice(b"BlbE");
        assert_problem(&d, "NDB", "share storage");
    }

    #[test]
    fn bdb_overflow_entry_pointing_at_a_hash_page_stops() {
        // The input that makes go-rpmdb-style readers loop forever: an
        // overflow item whose chain starts at a page that is not an overflow
        // page. Page 0 metadata, page 1 = bucket 0 with one key/value pair,
        // the value "stored" on page 1 itself.
        let ps = 512;
        let mut d = vec![0u8; 2 * ps];
        d[12..16].copy_from_slice(&BDB_HASH_MAGIC.to_le_bytes());
        d[16..20].copy_from_slice(&9u32.to_le_bytes());
        d[20..24].copy_from_slice(&(ps as u32).to_le_bytes());
        d[32..36].copy_from_slice(&1u32.to_le_bytes()); // last page
        d[96..100].copy_from_slice(&1u32.to_le_bytes()); // spares[0]: bucket 0 -> page 1
        let p = &mut d[ps..];
        p[8..12].copy_from_slice(&1u32.to_le_bytes());
        p[20..22].copy_from_slice(&2u16.to_le_bytes());
        p[25] = 13;
        // key at 500 (5 bytes: type 1 + u32 1), value at 488 (12-byte overflow item).
        p[26..28].copy_from_slice(&500u16.to_le_bytes());
        p[28..30].copy_from_slice(&488u16.to_le_bytes());
        p[500] = 1;
        p[501..505].copy_from_slice(&1u32.to_le_bytes());
        p[488] = 3;
        p[492..496].copy_from_slice(&1u32.to_le_bytes()); // chain starts at page 1
        p[496..500].copy_from_slice(&100u32.to_le_bytes());
        let (packages, problems) = read_database(&d);
        assert!(packages.is_empty());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("overflow page 1 is damaged"),
            "{problems:?}"
        );
    }
}
