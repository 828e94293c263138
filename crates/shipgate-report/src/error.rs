use std::path::PathBuf;

/// Errors of the report layer: reading a baseline, parsing a severity, writing output.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A severity or fail-on level that is not one of the known names.
    #[error(
        "unknown severity `{0}`: expected one of critical, high, medium, low, info (or none for --fail-on)"
    )]
    UnknownSeverity(String),
    /// The baseline file could not be read.
    #[error("cannot read baseline {path}: {source}")]
    BaselineRead {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The baseline file is not a shipgate baseline.
    #[error(
        "{path}:{line}:{column}: not a shipgate baseline: {message} (write one with --write-baseline)"
    )]
    BaselineParse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What the JSON parser said.
        message: String,
    },
    /// An `ignore:` entry is not usable.
    #[error("ignore entry {index}: {message}")]
    InvalidIgnore {
        /// 0-based position in the `ignore:` list.
        index: usize,
        /// What is wrong.
        message: String,
    },
    /// Writing the report failed (closed pipe, full disk...).
    #[error("cannot write report: {0}")]
    Write(#[from] std::io::Error),
    /// Serialising JSON failed.
    #[error("cannot serialise report: {0}")]
    Json(#[from] serde_json::Error),
}
