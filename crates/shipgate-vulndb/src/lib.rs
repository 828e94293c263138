//! shipgate-vulndb: the OSV vulnerability database behind `shipgate scan
//! deps`, `shipgate scan image` and `shipgate db ...`.
//!
//! What it does:
//! - reads OSV advisories ([`osv`]) from JSON and YAML files, folder trees
//!   and the OSV export's per-ecosystem `all.zip` archives ([`import`]),
//!   reporting bad files by name (and line/column) while importing the rest;
//! - downloads those archives from a mirror with conditional requests,
//!   timeouts and retries ([`update`]);
//! - stores everything in one indexed file, replaced atomically ([`db`]);
//! - orders versions the way each ecosystem's own tooling does ([`version`],
//!   checked against the osv-scalibr version vectors) and evaluates OSV
//!   ranges exactly as the OSV spec describes ([`range`]);
//! - answers "which advisories affect this package version?" with severity
//!   (CVSS v2/v3/v4 scores and levels, [`severity`]) and fixed versions
//!   ([`db::Database::matches`]);
//! - refuses to work from a missing or stale database unless told it is
//!   offline ([`db::Database::open_checked`]).
//!
//! What it deliberately does not do: parse lockfiles or images (that is
//! `shipgate-deps` / `shipgate-image`), decide pass/fail or write reports
//! (`shipgate-report`), print anything, pick the cache folder (the caller
//! passes the database path), or evaluate `GIT` ranges (commits cannot be
//! ordered without cloning the repository; only explicit `versions` lists
//! apply to them).
//!
//! Storage choice: a purpose-built immutable file (see the `store` module
//! docs for the layout) instead of SQLite: opening reads only the index,
//! a lookup is a binary search plus one positioned read, the build is one
//! sequential write made atomic by write-then-rename, and the workspace's
//! `libsqlite3-sys` version (constrained by `rpmdb`) stays someone else's
//! concern.
#![warn(clippy::print_stdout, clippy::print_stderr)]

mod build;
pub mod db;
pub mod ecosystem;
pub mod error;
pub mod fuzz;
pub mod import;
pub mod osv;
pub mod range;
pub mod severity;
mod spill;
mod store;
pub mod update;
pub mod version;
mod zipread;

pub use db::{
    DB_FILE_NAME, DEFAULT_MAX_AGE, Database, Freshness, ImportReport, Status, VulnMatch, import,
};
pub use error::{Error, ImportError, Result};
pub use fuzz::{fuzz_osv_record, fuzz_osv_zip};
pub use severity::{Level, SeverityInfo};
pub use store::{EcosystemStats, Metadata, SourceInfo};
pub use update::{
    DEFAULT_ECOSYSTEMS, DEFAULT_MIRROR, UpdateOptions, UpdateReport, UpdateSource, update,
};
