//! `shipgate db update | import | status`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use shipgate_vulndb::{Database, ImportReport, UpdateOptions, UpdateSource};

use crate::cli::{DbCommand, DbImportArgs, DbStatusArgs, DbUpdateArgs, SummaryFormat};
use crate::env;

/// The database file: an explicit path, else the cache dir's default file.
pub fn db_path(explicit: Option<&Path>) -> PathBuf {
    explicit
        .map(Path::to_path_buf)
        .unwrap_or_else(|| env::cache_dir().join(shipgate_vulndb::DB_FILE_NAME))
}

/// Run a `db` subcommand.
pub fn run(cmd: DbCommand) -> anyhow::Result<i32> {
    match cmd {
        DbCommand::Update(a) => update(a),
        DbCommand::Import(a) => import(a),
        DbCommand::Status(a) => status(a),
    }
}

fn ensure_parent(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    Ok(())
}

/// Print the problems of an import on stderr; returns the exit code (2 if any).
fn report_import(r: &ImportReport, format: SummaryFormat, db: &Path) -> anyhow::Result<i32> {
    for e in &r.errors {
        eprintln!("error: {e}");
    }
    for n in &r.notes {
        eprintln!("note: {n}");
    }
    match format {
        SummaryFormat::Json => {
            let v = serde_json::json!({"database": db, "report": r});
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        SummaryFormat::Table => {
            println!(
                "imported {} advisories ({} withdrawn skipped, {} packages) from {} file(s) into {}",
                r.metadata.advisories,
                r.metadata.withdrawn,
                r.metadata.packages,
                r.files,
                db.display()
            );
            for (eco, s) in &r.metadata.ecosystems {
                println!(
                    "  {eco:<28} {:>7} advisories {:>7} packages",
                    s.advisories, s.packages
                );
            }
            if !r.errors.is_empty() {
                println!("{} problem(s); the rest was imported", r.errors.len());
            }
        }
    }
    Ok(if r.errors.is_empty() { 0 } else { 2 })
}

fn import(a: DbImportArgs) -> anyhow::Result<i32> {
    let db = db_path(a.db.as_deref());
    ensure_parent(&db)?;
    let r = shipgate_vulndb::import(&db, &a.paths)
        .context("import failed; the previous database (if any) is unchanged")?;
    report_import(&r, a.format, &db)
}

fn update(a: DbUpdateArgs) -> anyhow::Result<i32> {
    let db = db_path(a.db.as_deref());
    ensure_parent(&db)?;
    let mut opts = UpdateOptions::default();
    if let Some(s) = &a.source {
        opts.source = UpdateSource::parse(s);
    }
    if !a.ecosystems.is_empty() {
        opts.ecosystems = a.ecosystems.clone();
    }
    let r = shipgate_vulndb::update(&db, &opts)
        .context("update failed; the previous database (if any) is unchanged")?;
    for (eco, why) in &r.failed {
        eprintln!("error: {eco}: {why}");
    }
    eprintln!(
        "downloaded: {}; unchanged: {}",
        if r.downloaded.is_empty() {
            "none".to_string()
        } else {
            r.downloaded.join(", ")
        },
        if r.not_modified.is_empty() {
            "none".to_string()
        } else {
            r.not_modified.join(", ")
        }
    );
    let code = report_import(&r.import, SummaryFormat::Table, &db)?;
    Ok(if r.failed.is_empty() { code } else { 2 })
}

fn status(a: DbStatusArgs) -> anyhow::Result<i32> {
    let db = db_path(a.db.as_deref());
    let database = Database::open(&db).with_context(|| {
        format!(
            "no usable vulnerability database at {}; run `shipgate db update` (or `shipgate db import PATH` offline)",
            db.display()
        )
    })?;
    let st = database.status();
    match a.format {
        SummaryFormat::Json => println!("{}", serde_json::to_string_pretty(&st)?),
        SummaryFormat::Table => {
            let m = &st.metadata;
            println!(
                "database:   {} ({} bytes)",
                st.path.display(),
                st.size_bytes
            );
            println!(
                "built:      {} ({} hours ago)",
                m.built_at,
                st.age_seconds / 3600
            );
            println!(
                "advisories: {} ({} withdrawn skipped), packages: {}",
                m.advisories, m.withdrawn, m.packages
            );
            println!("sources:");
            for s in &m.sources {
                println!(
                    "  {} ({} records{})",
                    s.location,
                    s.records,
                    s.etag
                        .as_deref()
                        .map(|e| format!(", etag {e}"))
                        .unwrap_or_default()
                );
            }
            println!("ecosystems:");
            for (eco, s) in &m.ecosystems {
                println!(
                    "  {eco:<28} {:>7} advisories {:>7} packages",
                    s.advisories, s.packages
                );
            }
        }
    }
    Ok(0)
}
