//! Turning OSV records into a database file.

use crate::ecosystem;
use crate::error::{ImportError, Result};
use crate::import::LoadedRecord;
use crate::osv::OsvRecord;
use crate::range::prepare_range;
use crate::severity::severity_of;
use crate::store::{
    EcosystemStats, Metadata, SourceInfo, StoredAdvisory, StoredAffected, Writer, key_of,
    record_error,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// An advisory already added: its index, `modified` and the keys it was filed under.
struct Seen {
    idx: u32,
    modified: Option<String>,
    keys: Vec<Vec<u8>>,
}

/// Collects records and writes the database when finished.
pub(crate) struct Builder {
    writer: Writer,
    packages: BTreeMap<Vec<u8>, Vec<StoredAffected>>,
    /// id -> where that advisory went
    ids: HashMap<String, Seen>,
    pub errors: Vec<ImportError>,
    pub withdrawn: u64,
    pub records: u64,
    unsupported: BTreeSet<String>,
}

impl Builder {
    pub fn new(dest: &Path) -> Result<Builder> {
        Ok(Builder {
            writer: Writer::create(dest)?,
            packages: BTreeMap::new(),
            ids: HashMap::new(),
            errors: Vec::new(),
            withdrawn: 0,
            records: 0,
            unsupported: BTreeSet::new(),
        })
    }

    /// Adds one record. Problems are collected in `errors`; the database
    /// error (I/O) is returned.
    pub fn add(&mut self, loaded: LoadedRecord) -> Result<()> {
        let LoadedRecord { origin, record } = loaded;
        self.records += 1;
        if record.withdrawn.is_some() {
            self.withdrawn += 1;
            return Ok(());
        }
        let id = record.id.trim().to_owned();
        let adv = StoredAdvisory {
            id: id.clone(),
            aliases: record.aliases.clone(),
            summary: record.summary.clone().filter(|s| !s.trim().is_empty()),
            details: record.details.clone().filter(|s| !s.trim().is_empty()),
            published: record.published.clone(),
            modified: record.modified.clone(),
            references: record.references.clone(),
        };
        let idx = match self.ids.get(&id) {
            Some(seen) => {
                // the same advisory twice (overlapping inputs): keep the newer copy
                if record.modified <= seen.modified {
                    return Ok(());
                }
                let (idx, keys) = (seen.idx, seen.keys.clone());
                for k in &keys {
                    if let Some(list) = self.packages.get_mut(k) {
                        list.retain(|e| e.advisory != idx);
                    }
                }
                self.writer.replace_advisory(idx, &adv)?;
                idx
            }
            None => self.writer.add_advisory(&adv)?,
        };
        let keys = self.file_affected(&origin, &record, idx);
        self.ids.insert(
            id,
            Seen {
                idx,
                modified: record.modified.clone(),
                keys,
            },
        );
        Ok(())
    }

    fn file_affected(&mut self, origin: &str, record: &OsvRecord, idx: u32) -> Vec<Vec<u8>> {
        let mut keys = Vec::new();
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
            self.packages.entry(key.clone()).or_default().push(entry);
            keys.push(key);
        }
        keys
    }

    /// Notes worth showing (unsupported ecosystems).
    pub fn notes(&self) -> Vec<String> {
        self.unsupported
            .iter()
            .map(|e| format!("ecosystem {e:?} has no version ordering: only its explicit `versions` lists match"))
            .collect()
    }

    /// Writes the file; returns its metadata.
    pub fn finish(mut self, sources: Vec<SourceInfo>) -> Result<Metadata> {
        self.packages.retain(|_, v| !v.is_empty());
        let mut ecosystems: BTreeMap<String, EcosystemStats> = BTreeMap::new();
        let mut seen: BTreeSet<(String, u32)> = BTreeSet::new();
        for entries in self.packages.values() {
            let mut counted_pkg = BTreeSet::new();
            for e in entries {
                let stats = ecosystems.entry(e.ecosystem.clone()).or_default();
                if counted_pkg.insert(e.ecosystem.clone()) {
                    stats.packages += 1;
                }
                if seen.insert((e.ecosystem.clone(), e.advisory)) {
                    stats.advisories += 1;
                }
            }
        }
        let meta = Metadata {
            format: crate::store::FORMAT,
            built_at: jiff::Timestamp::now(),
            sources,
            ecosystems,
            advisories: self.ids.len() as u64,
            withdrawn: self.withdrawn,
            packages: self.packages.len() as u64,
        };
        self.writer.finish(&meta, self.packages)?;
        Ok(meta)
    }
}
