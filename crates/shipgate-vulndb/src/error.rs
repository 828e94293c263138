//! The crate's error type.

use std::path::PathBuf;

/// Everything that can go wrong in shipgate-vulndb.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No database file exists yet.
    #[error(
        "no vulnerability database at {path}: run `shipgate db update` (downloads the OSV export) \
         or `shipgate db import PATH` (OSV JSON/YAML files, folders or all.zip archives)"
    )]
    NoDatabase {
        /// Where it was expected.
        path: PathBuf,
    },
    /// The database is older than the allowed maximum age.
    #[error(
        "the vulnerability database at {path} is stale: built {age_hours} hours ago, the limit is \
         {max_age_hours} hours; run `shipgate db update` or `shipgate db import PATH`, or pass \
         --offline to accept an old database"
    )]
    Stale {
        /// The database file.
        path: PathBuf,
        /// Age in hours.
        age_hours: u64,
        /// The configured maximum in hours.
        max_age_hours: u64,
    },
    /// The file is not a shipgate vulnerability database or is damaged.
    #[error(
        "{path} is not a usable shipgate vulnerability database ({reason}); delete it and run \
         `shipgate db update` or `shipgate db import PATH`"
    )]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done ("cannot read", "cannot write", ...).
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A version that cannot be ordered was passed to the matcher.
    #[error("cannot match {ecosystem} package {name}: {source}")]
    InvalidVersion {
        /// Ecosystem of the query.
        ecosystem: String,
        /// Package name of the query.
        name: String,
        /// The cause.
        #[source]
        source: crate::version::VersionError,
    },
    /// The query's ecosystem has no version ordering.
    #[error(
        "ecosystem {0:?} is not supported for version matching (expected an OSV ecosystem such as \
         PyPI, npm, Go, crates.io, Maven, Debian:12, Alpine:v3.19)"
    )]
    UnsupportedEcosystem(String),
    /// An import source is unusable as a whole (not found, unknown type).
    #[error("cannot import {path}: {reason}")]
    Source {
        /// The source path.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Downloading from the mirror failed for good (after retries).
    #[error("cannot download {url}: {reason}")]
    Download {
        /// The URL.
        url: String,
        /// Why (the last attempt's error).
        reason: String,
    },
    /// Nothing could be imported: every source failed.
    #[error(
        "nothing was imported ({} problems{}); the existing database was left unchanged",
        errors.len(),
        errors.first().map(|e| format!(", first: {e}")).unwrap_or_default()
    )]
    NothingImported {
        /// The problems met.
        errors: Vec<ImportError>,
    },
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Error {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// A problem with one input file (or one record in it) during import. The
/// rest of the input is still imported.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImportError {
    /// The file (for archives: `archive.zip!member.json`).
    pub path: String,
    /// 1-based line, when the parser knows it.
    pub line: Option<u32>,
    /// 1-based column, when the parser knows it.
    pub column: Option<u32>,
    /// What is wrong and what was done about it.
    pub message: String,
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.path)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}
