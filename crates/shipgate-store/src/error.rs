//! The one error type of the store.

use std::path::PathBuf;

/// Everything that can go wrong opening, writing or reading the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file cannot be opened or is not a SQLite database.
    #[error("{}: cannot open the store database: {source}", path.display())]
    Open {
        /// The database file.
        path: PathBuf,
        /// Why.
        source: rusqlite::Error,
    },
    /// The database was written by a newer shipgate (unknown migration).
    #[error("{}: schema version {found} is newer than this shipgate knows ({known})", path.display())]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// Highest version in `schema_migrations`.
        found: i64,
        /// Highest version this build knows.
        known: i64,
    },
    /// A SQL statement failed.
    #[error("store: {what}: {source}")]
    Sql {
        /// What was being done.
        what: String,
        /// Why.
        source: rusqlite::Error,
    },
    /// An input document is not JSON or not the shape its `schema` says.
    #[error("{name}: {message}")]
    Input {
        /// File name (or `-`).
        name: String,
        /// What is wrong.
        message: String,
    },
    /// An evidence bundle could not be written (nothing is left behind).
    #[error("{}: cannot write the evidence bundle: {message}", path.display())]
    Export {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A date or time argument that is not RFC 3339 or `YYYY-MM-DD`.
    #[error("invalid date or time {0:?} (expected RFC 3339 or YYYY-MM-DD)")]
    Time(String),
}

/// Attach what was being done to a SQL error.
pub(crate) trait SqlContext<T> {
    fn ctx(self, what: &str) -> Result<T, StoreError>;
}

impl<T> SqlContext<T> for Result<T, rusqlite::Error> {
    fn ctx(self, what: &str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Sql {
            what: what.to_owned(),
            source,
        })
    }
}
