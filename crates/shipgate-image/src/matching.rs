//! Image packages matched against the OSV database, as report findings
//! (scanner `image`).
//!
//! Debian, Ubuntu and Alpine advisories name source packages, so those
//! packages are looked up by source name and source version; every binary
//! package built from an affected source gets its own finding. Language
//! packages are looked up as in SCA.

use std::collections::{BTreeSet, HashMap};

use shipgate_report::{Finding, Location, ScanError, ScanOutput};
use shipgate_vulndb::{Database, VulnMatch};

use crate::model::{ImagePackage, ImageScan, PackageKind};

/// The scanner name findings carry.
pub const SCANNER: &str = "image";

/// Matching options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MatchOptions {
    /// Leave out advisories with no fixed version (`--ignore-unfixed`).
    pub ignore_unfixed: bool,
}

/// The `(ecosystem, name, version)` an advisory lookup uses for a package.
pub fn lookup_key(p: &ImagePackage) -> Option<(&str, &str, &str)> {
    let ecosystem = p.ecosystem.as_deref()?;
    let by_source = matches!(p.kind, PackageKind::Deb | PackageKind::Apk);
    if by_source {
        let name = p.source_name.as_deref().unwrap_or(&p.name);
        let version = p.source_version.as_deref().unwrap_or(&p.version);
        Some((ecosystem, name, version))
    } else {
        Some((ecosystem, &p.name, &p.version))
    }
}

/// Matches every package of the scan and converts the scan's issues into
/// report errors; notes are carried over.
pub fn match_scan(scan: &ImageScan, db: &Database, opts: &MatchOptions) -> ScanOutput {
    let mut out = ScanOutput::default();
    let mut cache: HashMap<(String, String, String), Result<Vec<VulnMatch>, String>> =
        HashMap::new();
    let mut unsupported: BTreeSet<String> = BTreeSet::new();
    for p in &scan.packages {
        let Some((ecosystem, name, version)) = lookup_key(p) else {
            continue;
        };
        let key = (ecosystem.to_string(), name.to_string(), version.to_string());
        let result = cache.entry(key).or_insert_with(|| {
            db.matches(ecosystem, name, version)
                .map_err(|e| e.to_string())
        });
        let matches = match result {
            Ok(m) => m,
            Err(e) => {
                if e.contains("ecosystem") && !e.contains(name) {
                    // One error per unsupported ecosystem, not per package.
                    if unsupported.insert(ecosystem.to_string()) {
                        out.errors.push(ScanError::new(e.clone()));
                    }
                } else {
                    out.errors.push(ScanError::at(
                        p.path.clone(),
                        None,
                        None,
                        format!("{}: {e}", p.purl),
                    ));
                }
                continue;
            }
        };
        for m in matches.iter() {
            if opts.ignore_unfixed && m.fixed.is_empty() {
                continue;
            }
            out.findings.push(finding_for(p, m, version));
        }
    }
    for issue in &scan.issues {
        let message = match &issue.layer {
            Some(layer) => format!("layer {layer}: {}", issue.message),
            None => issue.message.clone(),
        };
        out.errors.push(match &issue.path {
            Some(path) => ScanError::at(path.clone(), None, None, message),
            None => ScanError::new(message),
        });
    }
    out.notes.extend(scan.notes.iter().cloned());
    out
}

fn finding_for(p: &ImagePackage, m: &VulnMatch, matched_version: &str) -> Finding {
    let mut location = Location::file(p.path.clone());
    location.layer = p.layer.digest.clone();
    let mut f = m.to_finding(SCANNER, location, matched_version);
    // Several binary packages come from one source package: each is its own finding.
    f.fingerprint =
        Finding::fingerprint_of(&[SCANNER, &m.id, &m.ecosystem, &p.name, &p.version, &p.path]);
    let layer_text = match (&p.layer.digest, &p.layer.created_by) {
        (Some(d), Some(c)) => format!("layer {} ({d}), created by `{}`", p.layer.index, c.trim()),
        (Some(d), None) => format!("layer {} ({d})", p.layer.index),
        _ => "the root filesystem".to_string(),
    };
    let installed = if p.name != m.package || p.version != matched_version {
        format!("installed as {} {} ", p.name, p.version)
    } else {
        String::new()
    };
    f.message = format!("{} {installed}from {} in {layer_text}", f.message, p.path);
    if let Some(pkg) = f.package.as_mut() {
        pkg.purl = Some(p.purl.clone());
    }
    let props = &mut f.properties;
    props.insert("installed_package".into(), serde_json::json!(p.name));
    props.insert("installed_version".into(), serde_json::json!(p.version));
    props.insert("layer_index".into(), serde_json::json!(p.layer.index));
    if let Some(c) = &p.layer.created_by {
        props.insert("layer_created_by".into(), serde_json::json!(c));
    }
    if let Some(d) = &p.layer.diff_id {
        props.insert("layer_diff_id".into(), serde_json::json!(d));
    }
    if let Some(s) = &p.source_name {
        props.insert("source_package".into(), serde_json::json!(s));
    }
    f
}
