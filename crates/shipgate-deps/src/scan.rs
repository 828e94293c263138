//! SCA matching: an [`Inventory`] against the vulnerability database, as report findings.
//!
//! Expected flow: [`crate::scan_dir`] builds the inventory, the caller opens the database
//! (freshness is the caller's decision), then [`match_inventory`] queries each distinct
//! `(ecosystem, name, version)` once and turns every match into a finding at every place the
//! package is declared. VEX statements that say `not_affected` or `fixed` suppress the finding
//! and the suppression names the statement.
//!
//! Guarantees: every parse error of the inventory and every database error becomes a
//! [`ScanError`]; nothing is dropped silently (`--ignore-unfixed` leaves a note with the count).

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use shipgate_report::{Location, ScanError, ScanOutput, Suppression, SuppressionKind};
use shipgate_vulndb::{Database, VulnMatch};

use crate::vex::VexSet;
use crate::{DepsError, Inventory};

/// What [`match_inventory`] should do besides matching.
#[derive(Debug, Clone, Default)]
pub struct MatchOptions {
    /// Leave out advisories that have no fixed version.
    pub ignore_unfixed: bool,
}

/// Turn a parse error into a report error (file, line and column kept apart).
pub fn scan_error(e: &DepsError) -> ScanError {
    let msg = e.to_string();
    let prefix = crate::error::location(e.path(), e.line(), e.column());
    let message = msg
        .strip_prefix(&prefix)
        .and_then(|m| m.strip_prefix(": "))
        .unwrap_or(&msg)
        .to_string();
    ScanError {
        path: Some(e.path().to_string()),
        line: e.line(),
        column: e.column(),
        message,
    }
}

/// Match every package of `inventory` against `db`.
pub fn match_inventory(
    inventory: &Inventory,
    db: &Database,
    vex: &VexSet,
    opts: &MatchOptions,
) -> ScanOutput {
    let mut out = ScanOutput::default();
    out.errors.extend(inventory.errors().map(scan_error));
    for note in inventory.notes() {
        let at = crate::error::location(&note.path, note.line, None);
        out.notes.push(format!("{at}: {}", note.message));
    }
    let mut cache: HashMap<(&str, &str, &str), Vec<VulnMatch>> = HashMap::new();
    let mut unfixed_skipped = 0usize;
    for pkg in inventory.packages() {
        let key = (
            pkg.ecosystem.osv_name(),
            pkg.name.as_str(),
            pkg.version.as_str(),
        );
        let matches = match cache.entry(key) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(slot) => match db.matches(key.0, key.1, key.2) {
                Ok(m) => slot.insert(m),
                Err(e) => {
                    out.errors.push(ScanError::at(
                        pkg.path.clone(),
                        pkg.line,
                        None,
                        format!(
                            "cannot look up {} {} in the vulnerability database: {e}",
                            pkg.name, pkg.version
                        ),
                    ));
                    slot.insert(Vec::new());
                    continue;
                }
            },
        };
        for m in matches.iter() {
            if opts.ignore_unfixed && m.fixed.is_empty() {
                unfixed_skipped += 1;
                continue;
            }
            let mut location = Location::file(pkg.path.clone());
            location.start_line = pkg.line;
            let mut f = m.to_finding("deps", location, &pkg.version);
            if let Some(p) = f.package.as_mut() {
                p.purl = Some(pkg.purl.clone());
                p.name = pkg.name.clone();
            }
            f.properties
                .insert("relationship".into(), serde_json::json!(pkg.relationship));
            if pkg.dev {
                f.properties
                    .insert("dev".into(), serde_json::Value::Bool(true));
            }
            out.findings.push(f);
        }
    }
    apply_vex(&mut out.findings, vex);
    if unfixed_skipped > 0 {
        out.notes.push(format!(
            "--ignore-unfixed: left out {unfixed_skipped} match(es) with no fixed version"
        ));
    }
    out
}

/// Mark findings that a `not_affected`/`fixed` VEX statement covers (for scanners that match
/// packages themselves, such as the image scanner). Findings need an advisory and a package
/// purl; a suppression already set is kept.
pub fn apply_vex(findings: &mut [shipgate_report::Finding], vex: &VexSet) {
    if vex.documents.is_empty() {
        return;
    }
    for f in findings.iter_mut().filter(|f| f.suppressed.is_none()) {
        let (Some(adv), Some(purl)) = (
            f.advisory.as_ref(),
            f.package.as_ref().and_then(|p| p.purl.as_deref()),
        ) else {
            continue;
        };
        let ids: Vec<&str> = std::iter::once(adv.id.as_str())
            .chain(adv.aliases.iter().map(String::as_str))
            .collect();
        if let Some(stmt) = vex.suppressing(&ids, purl) {
            f.suppressed = Some(Suppression {
                kind: SuppressionKind::Vex,
                reason: stmt.describe(),
                source: Some(stmt.path.clone()),
                expires: None,
            });
        }
    }
}
