//! `shipgate scan deps`: lockfiles -> inventory -> vulnerability matches -> report.

use std::path::{Path, PathBuf};

use shipgate_deps::scan::{MatchOptions, match_inventory};
use shipgate_deps::vex::{VexSet, parse_vex};
use shipgate_deps::{Inventory, WalkOptions};
use shipgate_report::{ScanError, ScanOutput};
use shipgate_vulndb::{Database, Freshness};

use crate::cli::{DbArgs, ScanDepsArgs};
use crate::output::{ScanContext, finish};
use crate::settings::{LoadedConfig, parse_duration};

/// Run `scan deps`.
pub fn run(args: ScanDepsArgs) -> anyhow::Result<i32> {
    let ctx = ScanContext::new(&args.report, &args.path);
    let target = args.path.display().to_string();
    let output = scan(
        &args.path,
        &args.vex,
        args.ignore_unfixed,
        &args.db,
        &ctx.config,
        true,
    );
    finish("deps", &target, &args.report, ctx, output)
}

/// Parse the lockfiles under `root` (a directory or one file).
pub fn inventory(root: &Path) -> Result<Inventory, ScanError> {
    let opts = WalkOptions::default();
    if root.is_file() {
        let base = root.parent().unwrap_or(Path::new("."));
        let mut inv = Inventory::default();
        match shipgate_deps::parse_file(base, root, &opts) {
            Some(lf) => inv.lockfiles.push(lf),
            None => {
                return Err(ScanError::at(
                    root.display().to_string(),
                    None,
                    None,
                    "not a supported lockfile or manifest (see `shipgate scan deps --help`)",
                ));
            }
        }
        Ok(inv)
    } else if root.is_dir() {
        Ok(shipgate_deps::scan_dir(root, &opts))
    } else {
        Err(ScanError::at(
            root.display().to_string(),
            None,
            None,
            "path does not exist",
        ))
    }
}

/// Open the database with the freshness rules of flags and configuration.
pub fn open_db(
    db: &DbArgs,
    config: &LoadedConfig,
) -> Result<(Database, Option<String>), ScanError> {
    let path = db
        .db
        .clone()
        .or_else(|| config.file.db.path.clone())
        .unwrap_or_else(|| super::db::db_path(None));
    let mut freshness = Freshness {
        offline: db.offline || config.file.db.offline,
        ..Freshness::default()
    };
    if let Some(age) = db
        .db_max_age
        .as_deref()
        .or(config.file.db.max_age.as_deref())
    {
        freshness.max_age =
            parse_duration(age).map_err(|e| ScanError::new(format!("--db-max-age: {e}")))?;
    }
    Database::open_checked(&path, freshness).map_err(|e| {
        ScanError::at(
            path.display().to_string(),
            None,
            None,
            format!(
                "{e}; update it with `shipgate db update` (or `shipgate db import PATH` offline)"
            ),
        )
    })
}

/// The deps scan, shared by `scan deps` and `scan all`. With `require_db` false, a tree without
/// lockfiles does not need a database (scan all on a repository with no dependencies).
pub fn scan(
    root: &Path,
    vex_files: &[PathBuf],
    ignore_unfixed: bool,
    db: &DbArgs,
    config: &LoadedConfig,
    require_db: bool,
) -> ScanOutput {
    let mut out = ScanOutput::default();
    let inv = match inventory(root) {
        Ok(i) => i,
        Err(e) => {
            out.errors.push(e);
            return out;
        }
    };
    if inv.lockfiles.is_empty() && inv.errors.is_empty() {
        if require_db {
            out.notes.push("no lockfiles or manifests found".into());
        }
        return out;
    }
    let config_dir = config
        .path
        .as_ref()
        .and_then(|p| p.parent())
        .map(Path::to_path_buf);
    let mut vex = VexSet::default();
    let from_config = config.file.deps.vex.iter().map(|p| {
        config_dir
            .as_ref()
            .map(|d| d.join(p))
            .unwrap_or_else(|| p.clone())
    });
    for path in vex_files.iter().cloned().chain(from_config) {
        let shown = path.display().to_string();
        match std::fs::read(&path) {
            Ok(bytes) => match parse_vex(&shown, &bytes) {
                Ok((doc, errs)) => {
                    out.errors
                        .extend(errs.iter().map(shipgate_deps::scan::scan_error));
                    vex.push(doc);
                }
                Err(e) => out.errors.push(shipgate_deps::scan::scan_error(&e)),
            },
            Err(e) => out.errors.push(ScanError::at(
                shown,
                None,
                None,
                format!("cannot read VEX document: {e}"),
            )),
        }
    }
    let (database, note) = match open_db(db, config) {
        Ok(d) => d,
        Err(e) => {
            out.errors.push(e);
            out.errors
                .extend(inv.errors().map(shipgate_deps::scan::scan_error));
            return out;
        }
    };
    out.notes.extend(note);
    let opts = MatchOptions {
        ignore_unfixed: ignore_unfixed || config.file.deps.ignore_unfixed,
    };
    out.merge(match_inventory(&inv, &database, &vex, &opts));
    let n: usize = inv.lockfiles.iter().map(|l| l.packages.len()).sum();
    out.notes.push(format!(
        "matched {n} package(s) from {} file(s)",
        inv.lockfiles.len()
    ));
    out
}
