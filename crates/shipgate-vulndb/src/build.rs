//! Turning OSV records into a database file.

use crate::ecosystem;
use crate::error::{Error, ImportError, Result};
use crate::import::LoadedRecord;
use crate::osv::OsvRecord;
use crate::range::prepare_range;
use crate::severity::severity_of;
use crate::spill::{Item, Limits, Sorter};
use crate::store::{
    EcosystemStats, Metadata, SourceInfo, StoredAdvisory, StoredAffected, Writer, key_of,
    record_error,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// `modified` as a sortable value (`None` sorts first).
fn modified_time(record: &OsvRecord) -> Option<(i64, i32)> {
    let t: jiff::Timestamp = record.modified.as_deref()?.trim().parse().ok()?;
    Some((t.as_second(), t.subsec_nanosecond()))
}

fn encode_modified(m: Option<(i64, i32)>) -> Vec<u8> {
    m.map(|(s, n)| [s.to_le_bytes().as_slice(), &n.to_le_bytes()].concat())
        .unwrap_or_default()
}

fn decode_modified(b: &[u8]) -> Option<(i64, i32)> {
    let s = i64::from_le_bytes(b.get(..8)?.try_into().ok()?);
    let n = i32::from_le_bytes(b.get(8..12)?.try_into().ok()?);
    Some((s, n))
}

/// Collects records and writes the database when finished.
///
/// Memory does not grow with the input beyond the file's own index (16
/// bytes per advisory, which readers load too) and one bit per advisory:
/// each advisory is written to the file as it comes, under a provisional
/// index; its package entries and its (id, `modified`) pair go through two
/// external sorts ([`Sorter`]). At the end, the id sort finds, for every id
/// that came more than once (overlapping inputs), the copy to keep: the
/// newest `modified`, the first one read on a tie. The entry sort then
/// writes each package's entries, leaving out those of superseded copies.
pub(crate) struct Builder {
    writer: Writer,
    entries: Sorter,
    ids: Sorter,
    pub errors: Vec<ImportError>,
    pub withdrawn: u64,
    pub records: u64,
    unsupported: BTreeSet<String>,
}

impl Builder {
    pub fn new(dest: &Path) -> Result<Builder> {
        Builder::with_limits(dest, Limits::default())
    }

    pub fn with_limits(dest: &Path, limits: Limits) -> Result<Builder> {
        Ok(Builder {
            writer: Writer::create(dest)?,
            entries: Sorter::new(dest, limits),
            ids: Sorter::new(
                dest,
                Limits {
                    buffer_bytes: limits.buffer_bytes / 4,
                    ..limits
                },
            ),
            errors: Vec::new(),
            withdrawn: 0,
            records: 0,
            unsupported: BTreeSet::new(),
        })
    }

    /// Adds one record. Problems are collected in `errors`; the database
    /// error (I/O) is returned.
    pub fn add(&mut self, loaded: LoadedRecord) -> Result<()> {
        let LoadedRecord { origin, mut record } = loaded;
        self.records += 1;
        if record.withdrawn.is_some() {
            self.withdrawn += 1;
            return Ok(());
        }
        let modified = encode_modified(modified_time(&record));
        // the advisory's text moves into the file; the rest of the record
        // (id, severity, affected) is what the entries are built from
        let adv = StoredAdvisory {
            id: record.id.trim().to_owned(),
            aliases: std::mem::take(&mut record.aliases),
            summary: record.summary.take().filter(|s| !s.trim().is_empty()),
            details: record.details.take().filter(|s| !s.trim().is_empty()),
            published: record.published.take(),
            modified: record.modified.take(),
            references: std::mem::take(&mut record.references),
        };
        let idx = self.writer.add_advisory(&adv)?;
        self.ids.push(adv.id.into_bytes(), idx, modified)?;
        self.file_affected(&origin, &record, idx)
    }

    fn file_affected(&mut self, origin: &str, record: &OsvRecord, idx: u32) -> Result<()> {
        for (n, affected) in record.affected.iter().enumerate() {
            let Some(pkg) = &affected.package else {
                self.errors.push(record_error(
                    origin,
                    format!("{}: affected[{n}] has no package; entry skipped", record.id),
                ));
                continue;
            };
            if pkg.ecosystem.trim().is_empty() || pkg.name.trim().is_empty() {
                self.errors.push(record_error(
                    origin,
                    format!(
                        "{}: affected[{n}] lacks an ecosystem or name; entry skipped",
                        record.id
                    ),
                ));
                continue;
            }
            let eco = pkg.ecosystem.trim();
            let scheme = ecosystem::scheme_for(eco);
            if scheme.is_none() {
                self.unsupported.insert(ecosystem::base(eco).to_owned());
            }
            let mut ranges = Vec::new();
            let mut degraded = false;
            for (r, range) in affected.ranges.iter().enumerate() {
                let Some(s) = scheme.or(if range.kind == "SEMVER" {
                    Some(crate::version::Scheme::SemVer)
                } else {
                    None
                }) else {
                    continue;
                };
                match prepare_range(s, range) {
                    Ok(Some(p)) => ranges.push(p),
                    Ok(None) => {}
                    Err(e) => {
                        degraded = true;
                        self.errors.push(record_error(
                            origin,
                            format!(
                                "{}: affected[{n}].ranges[{r}] ({} {}): {e}; this range is ignored",
                                record.id, eco, pkg.name
                            ),
                        ));
                    }
                }
            }
            let key = key_of(eco, &ecosystem::normalize_name(eco, &pkg.name));
            let entry = StoredAffected {
                advisory: idx,
                ecosystem: eco.to_owned(),
                name: pkg.name.clone(),
                purl: pkg.purl.clone(),
                scheme,
                ranges,
                versions: affected.versions.clone(),
                degraded,
                severity: severity_of(record, Some(affected)),
            };
            let bytes = postcard::to_stdvec(&entry).map_err(|e| Error::Corrupt {
                path: origin.into(),
                reason: format!("cannot encode an entry of {}: {e}", record.id),
            })?;
            self.entries.push(key, idx, bytes)?;
        }
        Ok(())
    }

    /// Notes worth showing (unsupported ecosystems).
    pub fn notes(&self) -> Vec<String> {
        self.unsupported
            .iter()
            .map(|e| format!("ecosystem {e:?} has no version ordering: only its explicit `versions` lists match"))
            .collect()
    }

    /// Merges the package entries into the file, writes the index and
    /// returns the metadata.
    pub fn finish(self, sources: Vec<SourceInfo>) -> Result<Metadata> {
        let Builder {
            mut writer,
            entries,
            ids,
            withdrawn,
            ..
        } = self;
        let total = writer.advisory_count();
        let bits = vec![0u64; total.div_ceil(64)];
        let set = |bits: &mut [u64], i: u32| {
            if let Some(w) = bits.get_mut(i as usize / 64) {
                *w |= 1 << (i % 64);
            }
        };
        let is_set = |bits: &[u64], i: u32| {
            bits.get(i as usize / 64)
                .is_some_and(|w| w & (1 << (i % 64)) != 0)
        };
        // older copies of an id: their entries are left out
        let mut superseded = bits.clone();
        let mut distinct = 0u64;
        ids.for_each_group(|_, copies| {
            distinct += 1;
            let keep = copies
                .iter()
                .reduce(|best, c| {
                    if decode_modified(&c.bytes) > decode_modified(&best.bytes) {
                        c
                    } else {
                        best
                    }
                })
                .map(|c| c.advisory);
            for c in copies.iter().filter(|c| Some(c.advisory) != keep) {
                set(&mut superseded, c.advisory);
            }
            Ok(())
        })?;
        let mut ecosystems: BTreeMap<String, EcosystemStats> = BTreeMap::new();
        let mut packages = 0u64;
        // advisories seen in the current ecosystem: keys are sorted and
        // start with the ecosystem, so each ecosystem's packages are contiguous
        let mut in_ecosystem = bits;
        let mut current: Option<(String, EcosystemStats)> = None;
        let mut close = |current: &mut Option<(String, EcosystemStats)>, seen: &mut [u64]| {
            if let Some((eco, stats)) = current.take() {
                // added, not replaced: an ecosystem string holding a NUL byte
                // (hostile input) could split one ecosystem's run of keys
                let total = ecosystems.entry(eco).or_default();
                total.packages += stats.packages;
                total.advisories += seen.iter().map(|w| u64::from(w.count_ones())).sum::<u64>();
                seen.fill(0);
            }
        };
        let mut blob = Vec::new();
        entries.for_each_group(|key, items| {
            let live: Vec<&Item> = items
                .iter()
                .filter(|i| !is_set(&superseded, i.advisory))
                .collect();
            if live.is_empty() {
                return Ok(());
            }
            let eco = key.split(|b| *b == 0).next().unwrap_or_default();
            if current.as_ref().is_none_or(|(c, _)| c.as_bytes() != eco) {
                close(&mut current, &mut in_ecosystem);
                current = Some((
                    String::from_utf8_lossy(eco).into_owned(),
                    EcosystemStats::default(),
                ));
            }
            if let Some((_, stats)) = current.as_mut() {
                stats.packages += 1;
            }
            for i in &live {
                set(&mut in_ecosystem, i.advisory);
            }
            // postcard encodes a Vec as its length (varint) and the elements
            // one after another, so the list is assembled without decoding
            blob.clear();
            push_varint(&mut blob, live.len() as u64);
            for i in &live {
                blob.extend_from_slice(&i.bytes);
            }
            packages += 1;
            writer.add_package(key, &blob)
        })?;
        close(&mut current, &mut in_ecosystem);
        let meta = Metadata {
            format: crate::store::FORMAT,
            built_at: jiff::Timestamp::now(),
            sources,
            ecosystems,
            advisories: distinct,
            withdrawn,
            packages,
        };
        writer.finish(&meta)?;
        Ok(meta)
    }
}

/// Unsigned LEB128, as postcard writes lengths.
fn push_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Reader;

    fn record(v: serde_json::Value) -> LoadedRecord {
        LoadedRecord {
            origin: "test".into(),
            record: serde_json::from_value(v).expect("record"),
        }
    }

    /// Records with several ecosystems, packages shared between advisories,
    /// newer and older copies of the same ids, and withdrawn ones.
    fn records() -> Vec<LoadedRecord> {
        let ecosystems = ["PyPI", "npm", "Go", "Debian:12", "crates.io"];
        let mut out = Vec::new();
        for i in 0..600u32 {
            let eco = ecosystems[(i % 5) as usize];
            let mut affected = vec![serde_json::json!({
                "package": {"ecosystem": eco, "name": format!("Pkg_{}", i % 37)},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": format!("1.{}", i % 11)}]}],
                "versions": [format!("0.{i}")]
            })];
            if i % 7 == 0 {
                affected.push(serde_json::json!({
                    "package": {"ecosystem": ecosystems[((i + 2) % 5) as usize], "name": format!("other-{}", i % 5)},
                    "ranges": [{"type": "SEMVER", "events": [{"introduced": "2.0.0"}, {"last_affected": "2.3.0"}]}]
                }));
            }
            let mut r = serde_json::json!({
                "id": format!("ADV-{i}"),
                "modified": "2024-01-01T00:00:00Z",
                "summary": format!("advisory {i}"),
                "affected": affected,
            });
            if i % 53 == 0 {
                r["withdrawn"] = serde_json::json!("2024-02-01T00:00:00Z");
            }
            out.push(record(r));
        }
        // newer copies (replace) and older copies (ignored) of some ids
        for i in (0..600u32).step_by(9) {
            let (modified, fixed) = if i % 2 == 0 {
                ("2024-06-01T00:00:00Z", "9.9")
            } else {
                ("2023-01-01T00:00:00Z", "0.0.1")
            };
            out.push(record(serde_json::json!({
                "id": format!("ADV-{i}"),
                "modified": modified,
                "affected": [{
                    "package": {"ecosystem": "PyPI", "name": format!("moved-{}", i % 4)},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]
                }],
            })));
        }
        // same `modified` (spelled differently): the copy read first stays
        for i in (1..600u32).step_by(50) {
            out.push(record(serde_json::json!({
                "id": format!("ADV-{i}"),
                "modified": "2024-01-01T00:00:00.000+00:00",
                "affected": [{"package": {"ecosystem": "PyPI", "name": "tie"}, "versions": ["1"]}],
            })));
        }
        out
    }

    fn build(dir: &Path, limits: Limits) -> (Metadata, Reader, u64) {
        let dest = dir.join("db.bin");
        let mut b = Builder::with_limits(&dest, limits).expect("builder");
        for r in records() {
            b.add(r).expect("add");
        }
        let runs = b.entries.runs_written();
        let meta = b.finish(Vec::new()).expect("finish");
        (meta, Reader::open(&dest).expect("open"), runs)
    }

    #[test]
    fn spilled_import_writes_the_same_database() {
        let (a, b) = (
            tempfile::tempdir().expect("tmp"),
            tempfile::tempdir().expect("tmp"),
        );
        let (meta_mem, mem, runs_mem) = build(a.path(), Limits::default());
        let (meta_disk, disk, runs_disk) = build(
            b.path(),
            Limits {
                buffer_bytes: 2048,
                fan_in: 3,
            },
        );
        assert_eq!(runs_mem, 0);
        assert!(runs_disk > 20, "{runs_disk} runs");
        let strip = |m: &Metadata| Metadata {
            built_at: jiff::Timestamp::UNIX_EPOCH,
            ..m.clone()
        };
        assert_eq!(strip(&meta_mem), strip(&meta_disk));
        // 12 withdrawn; ADV-0 and ADV-477 come back through their second copies
        assert_eq!(meta_mem.advisories, 600 - 12 + 2);
        assert_eq!(meta_mem.withdrawn, 12);
        assert_eq!(meta_mem.packages, mem.package_count() as u64);
        assert_eq!(mem.package_count(), disk.package_count());
        for slot in 0..mem.package_count() {
            assert_eq!(mem.key(slot), disk.key(slot));
            let (x, y) = (
                mem.entries(slot).expect("entries"),
                disk.entries(slot).expect("entries"),
            );
            assert!(!x.is_empty());
            assert_eq!(x, y);
        }
        for idx in 0..mem.advisory_count() as u32 {
            assert_eq!(
                mem.advisory(idx).expect("adv"),
                disk.advisory(idx).expect("adv")
            );
        }
        // only the database is left behind: the run folder is gone
        let left: Vec<_> = std::fs::read_dir(b.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("db.bin")]);
        // a replaced advisory keeps only its newer entries; an older copy changes nothing
        let key = |eco: &str, name: &str| key_of(eco, &crate::ecosystem::normalize_name(eco, name));
        let moved = mem.find(&key("PyPI", "moved-0")).expect("moved-0");
        let entries = mem.entries(moved).expect("entries");
        assert!(entries.iter().all(|e| e.versions.is_empty()));
        let ids: Vec<String> = entries
            .iter()
            .map(|e| mem.advisory(e.advisory).expect("adv").id)
            .collect();
        assert!(ids.contains(&"ADV-36".to_owned()), "{ids:?}");
        let adv0 = mem.find(&key("PyPI", "pkg_0")).expect("pkg_0");
        let ids: Vec<String> = mem
            .entries(adv0)
            .expect("e")
            .iter()
            .map(|e| mem.advisory(e.advisory).expect("adv").id)
            .collect();
        assert!(
            !ids.contains(&"ADV-36".to_owned()) && !ids.contains(&"ADV-0".to_owned()),
            "{ids:?}"
        );
        // older copies are ignored, except ADV-477's: its first copy was withdrawn
        let moved = mem.find(&key("PyPI", "moved-1")).expect("moved-1");
        let ids: Vec<String> = mem
            .entries(moved)
            .expect("e")
            .iter()
            .map(|e| mem.advisory(e.advisory).expect("adv").id)
            .collect();
        assert_eq!(ids, vec!["ADV-477".to_owned()]);
        assert!(
            mem.find(&key("PyPI", "tie")).is_none(),
            "a tie keeps the first copy"
        );
    }

    #[test]
    fn assembled_lists_decode_as_postcard_vectors() {
        for n in [0usize, 1, 127, 128, 300, 20_000] {
            let items: Vec<u16> = (0..n).map(|i| i as u16).collect();
            let mut blob = Vec::new();
            push_varint(&mut blob, n as u64);
            for i in &items {
                blob.extend_from_slice(&postcard::to_stdvec(i).expect("encode"));
            }
            assert_eq!(
                blob,
                postcard::to_stdvec(&items).expect("encode"),
                "n = {n}"
            );
        }
    }
}
