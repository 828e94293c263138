//! The database API used by the scanners and the CLI.

use crate::build::Builder;
use crate::ecosystem;
use crate::error::{Error, ImportError, Result};
use crate::import::visit_path;
use crate::osv::Reference;
use crate::range::{EventVersion, RangeResult, evaluate_parsed, parse_events};
use crate::severity::SeverityInfo;
use crate::store::{Metadata, Reader, SourceInfo, StoredAdvisory, StoredAffected, key_of};
use crate::version::{Scheme, Version};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// File name of the database inside the cache folder.
pub const DB_FILE_NAME: &str = "osv-vulndb.bin";

/// Default maximum age before a database counts as stale.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// One advisory that affects a queried package version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VulnMatch {
    /// Advisory id (`GHSA-...`, `PYSEC-...`).
    pub id: String,
    /// Other ids (`CVE-...`).
    pub aliases: Vec<String>,
    /// One-line summary, when the advisory has one.
    pub summary: Option<String>,
    /// Long description (Markdown), when present.
    pub details: Option<String>,
    /// Severity level, with CVSS score and vector when known.
    pub severity: SeverityInfo,
    /// Versions that fix it (empty: no fix known).
    pub fixed: Vec<String>,
    /// The ecosystem as written in the advisory.
    pub ecosystem: String,
    /// The package name as written in the advisory.
    pub package: String,
    /// Package URL from the advisory.
    pub purl: Option<String>,
    /// Best link: the first `ADVISORY` reference, else `https://osv.dev/vulnerability/<id>`.
    pub url: String,
    /// All references.
    pub references: Vec<Reference>,
    /// Publication time.
    pub published: Option<String>,
    /// Last modification time.
    pub modified: Option<String>,
}

/// What `shipgate db status` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The database file.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// Build time, sources and counts.
    pub metadata: Metadata,
    /// Age at the time of the call, in seconds.
    pub age_seconds: u64,
}

/// How old a database may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    /// Maximum age; older is an error unless `offline`.
    pub max_age: Duration,
    /// Accept any age (air-gapped use); a note says how old the data is.
    pub offline: bool,
}

impl Default for Freshness {
    fn default() -> Self {
        Freshness {
            max_age: DEFAULT_MAX_AGE,
            offline: false,
        }
    }
}

/// An open vulnerability database.
///
/// Expected flow: [`Database::open_checked`] once per run, then
/// [`Database::matches`] per package. Guarantees: the file is never
/// modified through this handle; lookups are thread-safe. Caveats: an update
/// that swaps the file does not affect an already open handle (it keeps
/// reading the old, unlinked file on Unix).
pub struct Database {
    reader: Reader,
    cache: Mutex<HashMap<usize, Arc<PackageEntries>>>,
    advisories: Mutex<HashMap<u32, Arc<StoredAdvisory>>>,
}

/// The entries of one package with their event versions parsed once.
struct PackageEntries {
    entries: Vec<StoredAffected>,
    /// per entry, per range, per event
    parsed: Vec<Vec<Vec<EventVersion>>>,
    /// per entry: its explicit `versions`, parsed and sorted for binary search
    listed: Vec<Vec<Version>>,
}

const CACHE_LIMIT: usize = 65_536;

impl Database {
    /// Opens the database file at `path` (reads only the index).
    pub fn open(path: &Path) -> Result<Database> {
        Ok(Database {
            reader: Reader::open(path)?,
            cache: Mutex::new(HashMap::new()),
            advisories: Mutex::new(HashMap::new()),
        })
    }

    /// Opens and checks freshness: no database or a stale one is an error
    /// saying how to update; with `offline`, any age is accepted and the
    /// returned note (for the report) says how old the data is.
    pub fn open_checked(path: &Path, freshness: Freshness) -> Result<(Database, Option<String>)> {
        let db = Database::open(path)?;
        let note = db.check_freshness(freshness, jiff::Timestamp::now())?;
        Ok((db, note))
    }

    /// Freshness check against `now` (see [`Database::open_checked`]).
    pub fn check_freshness(
        &self,
        freshness: Freshness,
        now: jiff::Timestamp,
    ) -> Result<Option<String>> {
        let age = age_seconds(self.reader.meta.built_at, now);
        if freshness.offline {
            return Ok(Some(format!(
                "offline mode: vulnerability database built {} ({} old); newer advisories are not considered",
                self.reader.meta.built_at,
                human_age(age)
            )));
        }
        if age > freshness.max_age.as_secs() {
            return Err(Error::Stale {
                path: self.reader.path().to_owned(),
                age_hours: age / 3600,
                max_age_hours: freshness.max_age.as_secs() / 3600,
            });
        }
        Ok(None)
    }

    /// Build time, sources and counts.
    pub fn metadata(&self) -> &Metadata {
        &self.reader.meta
    }

    /// Status for `shipgate db status`.
    pub fn status(&self) -> Status {
        let size_bytes = std::fs::metadata(self.reader.path())
            .map(|m| m.len())
            .unwrap_or(0);
        Status {
            path: self.reader.path().to_owned(),
            size_bytes,
            metadata: self.reader.meta.clone(),
            age_seconds: age_seconds(self.reader.meta.built_at, jiff::Timestamp::now()),
        }
    }

    fn entries_for(&self, ecosystem: &str, name: &str) -> Result<Option<Arc<PackageEntries>>> {
        let key = key_of(ecosystem, &ecosystem::normalize_name(ecosystem, name));
        let Some(slot) = self.reader.find(&key) else {
            return Ok(None);
        };
        if let Some(hit) = lock(&self.cache).get(&slot) {
            return Ok(Some(Arc::clone(hit)));
        }
        let entries = self.reader.entries(slot)?;
        let parsed = entries
            .iter()
            .map(|e| {
                e.ranges
                    .iter()
                    .map(|r| {
                        parse_events(
                            if r.semver {
                                Scheme::SemVer
                            } else {
                                e.scheme.unwrap_or(Scheme::SemVer)
                            },
                            r,
                        )
                    })
                    .collect()
            })
            .collect();
        let listed = entries
            .iter()
            .map(|e| {
                let Some(scheme) = e.scheme else {
                    return Vec::new();
                };
                let mut v: Vec<Version> = e
                    .versions
                    .iter()
                    .filter_map(|s| scheme.parse(s).ok())
                    .collect();
                v.sort_by(Version::cmp_same);
                v
            })
            .collect();
        let loaded = Arc::new(PackageEntries {
            entries,
            parsed,
            listed,
        });
        let mut cache = lock(&self.cache);
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(slot, Arc::clone(&loaded));
        Ok(Some(loaded))
    }

    fn advisory(&self, idx: u32) -> Result<Arc<StoredAdvisory>> {
        if let Some(hit) = lock(&self.advisories).get(&idx) {
            return Ok(Arc::clone(hit));
        }
        let adv = Arc::new(self.reader.advisory(idx)?);
        let mut cache = lock(&self.advisories);
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(idx, Arc::clone(&adv));
        Ok(adv)
    }

    /// The advisories affecting `name` at `version` in `ecosystem` (OSV
    /// spelling, e.g. `PyPI`, `Debian:12`), ordered by id. Withdrawn
    /// advisories were dropped at import; `GIT` ranges are not evaluated.
    pub fn matches(&self, ecosystem: &str, name: &str, version: &str) -> Result<Vec<VulnMatch>> {
        let scheme = ecosystem::scheme_for(ecosystem);
        let Some(entries) = self.entries_for(ecosystem, name)? else {
            if scheme.is_none() {
                return Err(Error::UnsupportedEcosystem(ecosystem.to_owned()));
            }
            return Ok(Vec::new());
        };
        let invalid = |source| Error::InvalidVersion {
            ecosystem: ecosystem.to_owned(),
            name: name.to_owned(),
            source,
        };
        let parsed: Option<Version> = match scheme {
            Some(s) => Some(s.parse(version).map_err(invalid)?),
            None => None,
        };
        let mut semver_parsed: Option<Option<Version>> = None;
        let mut hits: Vec<(u32, &StoredAffected, Vec<String>)> = Vec::new();
        for ((e, parsed_ranges), listed) in entries
            .entries
            .iter()
            .zip(&entries.parsed)
            .zip(&entries.listed)
        {
            let mut affected = false;
            let mut fixed: Vec<String> = Vec::new();
            for (r, events) in e.ranges.iter().zip(parsed_ranges) {
                let v = if r.semver || parsed.is_none() {
                    semver_parsed
                        .get_or_insert_with(|| Scheme::SemVer.parse(version).ok())
                        .as_ref()
                } else {
                    parsed.as_ref()
                };
                let Some(v) = v else { continue };
                if let RangeResult::Affected(f) = evaluate_parsed(v, r, events) {
                    affected = true;
                    if let Some(f) = f
                        && !fixed.contains(&f)
                    {
                        fixed.push(f);
                    }
                }
            }
            if !affected {
                affected = e.versions.iter().any(|l| l == version)
                    || parsed.as_ref().is_some_and(|p| {
                        e.scheme == scheme && listed.binary_search_by(|l| l.cmp_same(p)).is_ok()
                    });
            }
            if affected {
                hits.push((e.advisory, e, fixed));
            }
        }
        let mut out: Vec<(u32, VulnMatch)> = Vec::with_capacity(hits.len());
        for (idx, e, fixed) in hits {
            if let Some((_, existing)) = out.iter_mut().find(|(i, _)| *i == idx) {
                for f in fixed {
                    if !existing.fixed.contains(&f) {
                        existing.fixed.push(f);
                    }
                }
                continue;
            }
            let adv = self.advisory(idx)?;
            let url = adv
                .references
                .iter()
                .find(|r| r.kind == "ADVISORY")
                .map(|r| r.url.clone())
                .unwrap_or_else(|| format!("https://osv.dev/vulnerability/{}", adv.id));
            out.push((
                idx,
                VulnMatch {
                    id: adv.id.clone(),
                    aliases: adv.aliases.clone(),
                    summary: adv.summary.clone(),
                    details: adv.details.clone(),
                    severity: e.severity.clone(),
                    fixed,
                    ecosystem: e.ecosystem.clone(),
                    package: e.name.clone(),
                    purl: e.purl.clone(),
                    url,
                    references: adv.references.clone(),
                    published: adv.published.clone(),
                    modified: adv.modified.clone(),
                },
            ));
        }
        let mut out: Vec<VulnMatch> = out.into_iter().map(|(_, m)| m).collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn age_seconds(built: jiff::Timestamp, now: jiff::Timestamp) -> u64 {
    u64::try_from(now.as_second().saturating_sub(built.as_second())).unwrap_or(0)
}

fn human_age(secs: u64) -> String {
    match secs {
        s if s < 3600 => format!("{} minutes", s / 60),
        s if s < 48 * 3600 => format!("{} hours", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

/// The outcome of an import or update.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportReport {
    /// Metadata of the database written.
    pub metadata: Metadata,
    /// Records read (including withdrawn and duplicates).
    pub records_read: u64,
    /// Files and archive members looked at.
    pub files: u64,
    /// Problems with individual files, records or versions; the rest was imported.
    pub errors: Vec<ImportError>,
    /// Informational notes.
    pub notes: Vec<String>,
}

/// Builds a new database at `db_path` from OSV files, folders and `all.zip`
/// archives, replacing any previous one atomically (written beside it,
/// synced, renamed). The database holds exactly these inputs.
///
/// Errors: an input that does not exist or has an unknown type fails the
/// whole import (nothing is written); problems inside inputs are returned in
/// [`ImportReport::errors`]; if no record at all could be read, nothing is
/// written and [`Error::NothingImported`] is returned.
pub fn import(db_path: &Path, inputs: &[PathBuf]) -> Result<ImportReport> {
    for input in inputs {
        if !input.exists() {
            return Err(Error::Source {
                path: input.clone(),
                reason: "no such file or folder".into(),
            });
        }
    }
    let sources = inputs
        .iter()
        .map(|p| (p.display().to_string(), None, p.clone(), None, None, None))
        .collect();
    build_from(db_path, sources)
}

/// (location, ecosystem, file, etag, last_modified, fetched_at)
pub(crate) type SourceSpec = (
    String,
    Option<String>,
    PathBuf,
    Option<String>,
    Option<String>,
    Option<jiff::Timestamp>,
);

pub(crate) fn build_from(db_path: &Path, sources: Vec<SourceSpec>) -> Result<ImportReport> {
    let mut builder = Builder::new(db_path)?;
    let mut infos = Vec::new();
    let mut errors = Vec::new();
    let mut files = 0u64;
    for (location, eco, path, etag, last_modified, fetched_at) in sources {
        let before = builder.records;
        let mut failure: Option<Error> = None;
        let visited = visit_path(&path, &mut |r| {
            if failure.is_none()
                && let Err(e) = builder.add(r)
            {
                failure = Some(e);
            }
        })?;
        if let Some(e) = failure {
            return Err(e);
        }
        files += visited.files as u64;
        errors.extend(visited.errors);
        infos.push(SourceInfo {
            location,
            ecosystem: eco,
            etag,
            last_modified,
            fetched_at,
            records: builder.records - before,
        });
    }
    if builder.records == 0 {
        errors.append(&mut builder.errors);
        return Err(Error::NothingImported { errors });
    }
    errors.append(&mut builder.errors);
    let notes = builder.notes();
    let records_read = builder.records;
    let metadata = builder.finish(infos)?;
    Ok(ImportReport {
        metadata,
        records_read,
        files,
        errors,
        notes,
    })
}

impl VulnMatch {
    /// The finding for this match in the shared report model. `location`
    /// says where the package was found (lockfile path, image layer...);
    /// `version` is the installed version that matched. The fingerprint is
    /// stable across runs: scanner, advisory, ecosystem, package, version
    /// and location path/layer.
    pub fn to_finding(
        &self,
        scanner: &str,
        location: shipgate_report::Location,
        version: &str,
    ) -> shipgate_report::Finding {
        use shipgate_report::{Advisory, Finding, Package};
        let title = self
            .summary
            .clone()
            .unwrap_or_else(|| format!("{} in {}", self.id, self.package));
        let also = if self.aliases.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.aliases.join(", "))
        };
        let message = format!(
            "{} {} ({}) is affected by {}{}{}",
            self.package,
            version,
            self.ecosystem,
            self.id,
            also,
            self.summary
                .as_deref()
                .map(|s| format!(": {s}"))
                .unwrap_or_default()
        );
        let mut f = Finding::new(
            scanner,
            &self.id,
            self.severity.level,
            title,
            message,
            location,
        );
        f.fingerprint = Finding::fingerprint_of(&[
            scanner,
            &self.id,
            &self.ecosystem,
            &self.package,
            version,
            f.location.path.as_deref().unwrap_or(""),
            f.location.layer.as_deref().unwrap_or(""),
        ]);
        f.remediation = Some(if self.fixed.is_empty() {
            format!(
                "No fixed version of {} is known; consider removing or replacing it, or suppress with a reason.",
                self.package
            )
        } else {
            format!("Upgrade {} to {}.", self.package, self.fixed.join(" or "))
        });
        f.package = Some(Package {
            ecosystem: self.ecosystem.clone(),
            name: self.package.clone(),
            version: version.to_owned(),
            purl: self.purl.clone(),
            fixed: self.fixed.clone(),
        });
        f.advisory = Some(Advisory {
            id: self.id.clone(),
            aliases: self.aliases.clone(),
            url: Some(self.url.clone()),
        });
        if let Some(score) = self.severity.score {
            f.properties
                .insert("cvss_score".into(), serde_json::json!(score));
        }
        if let Some(v) = &self.severity.vector {
            f.properties
                .insert("cvss_vector".into(), serde_json::json!(v));
        }
        let source = match self.severity.source {
            crate::severity::LevelSource::Cvss => "cvss",
            crate::severity::LevelSource::Database => "database",
            crate::severity::LevelSource::Default => "default",
        };
        f.properties
            .insert("severity_source".into(), serde_json::json!(source));
        f
    }
}
