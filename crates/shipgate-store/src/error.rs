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
        /// The database file, or the PostgreSQL URL with its password redacted.
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
    /// A PostgreSQL connection could not be made (unreachable server, wrong password,
    /// TLS failure).
    #[error(
        "{database}: cannot connect to the store database: {}",
        pg_detail(source)
    )]
    Connect {
        /// The URL, password redacted.
        database: String,
        /// Why.
        #[source]
        source: postgres::Error,
    },
    /// A PostgreSQL URL that cannot be used as given.
    #[error("{database}: {message}")]
    Url {
        /// The URL, password redacted.
        database: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// A PostgreSQL statement failed, or the connection was lost.
    #[error("{database}: store: {what}: {}", pg_detail(source))]
    Postgres {
        /// The URL, password redacted.
        database: String,
        /// What was being done.
        what: String,
        /// Why.
        #[source]
        source: postgres::Error,
    },
    /// A result column is missing or not of the type the store reads.
    #[error("store: result column {index}: {message}")]
    Column {
        /// Column index (0-based).
        index: usize,
        /// What was expected and found.
        message: String,
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

impl StoreError {
    /// True when the error means the database could not be reached or the connection was
    /// lost (a PostgreSQL server down or restarting), as opposed to a bad input or a
    /// tampered database.
    pub fn is_connection(&self) -> bool {
        match self {
            StoreError::Connect { .. } => true,
            StoreError::Postgres { source, .. } => match source.as_db_error() {
                // Not a server's answer: the socket broke or was closed.
                None => true,
                // FATAL/PANIC end the session; class 08 is "connection exception", 57P
                // "operator intervention" (shutdown, crash of another backend).
                Some(db) => {
                    let code = db.code().code();
                    matches!(db.severity(), "FATAL" | "PANIC")
                        || code.starts_with("08")
                        || code.starts_with("57P")
                }
            },
            _ => false,
        }
    }
}

/// A PostgreSQL error with what the server said (the client's own `Display` of a server
/// error is only "db error"), and the cause chain of other errors.
fn pg_detail(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = format!(
            "{}: {} (SQLSTATE {})",
            db.severity(),
            db.message(),
            db.code().code()
        );
        if let Some(d) = db.detail() {
            s.push_str(&format!("; {d}"));
        }
        if let Some(h) = db.hint() {
            s.push_str(&format!("; hint: {h}"));
        }
        return s;
    }
    let mut s = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let c_s = c.to_string();
        if !s.contains(&c_s) {
            s.push_str(&format!(": {c_s}"));
        }
        cause = c.source();
    }
    s
}
