//! The one error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong while loading manifests, policies or suites.
///
/// Errors about a file carry the file and, where known, the line and column. Loading never stops
/// at the first error: loaders return every error alongside what could be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A file or directory could not be read.
    #[error("{path}: cannot read: {source} (check the path and permissions)")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Invalid YAML/JSON, or a document that is not a usable Kubernetes object.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// The file (or `-` for stdin).
        path: String,
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// What is wrong and what to do.
        message: String,
    },
    /// A ConstraintTemplate or Constraint that cannot be used (bad Rego, missing template, ...).
    #[error("{path}:{line}: {message}")]
    Policy {
        /// The file the template or constraint came from.
        path: String,
        /// 1-based line of the object (or the offending field).
        line: u32,
        /// What is wrong and what to do.
        message: String,
    },
    /// A Rego evaluation failed at run time.
    #[error("template {template}: evaluation failed: {message}")]
    Eval {
        /// The template name.
        template: String,
        /// The engine's message.
        message: String,
    },
    /// A malformed AdmissionReview or request.
    #[error("invalid admission request: {0}")]
    Request(String),
    /// Invalid policy settings.
    #[error("invalid policy settings: {0}")]
    Settings(String),
    /// A gator suite that cannot be run.
    #[error("{path}: {message}")]
    Suite {
        /// The suite file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl PolicyError {
    /// The file this error is about, if any.
    pub fn path(&self) -> Option<String> {
        match self {
            PolicyError::Io { path, .. } => Some(path.display().to_string()),
            PolicyError::Parse { path, .. }
            | PolicyError::Policy { path, .. }
            | PolicyError::Suite { path, .. } => Some(path.clone()),
            _ => None,
        }
    }

    /// The 1-based line this error is about, if known.
    pub fn line(&self) -> Option<u32> {
        match self {
            PolicyError::Parse { line, .. } | PolicyError::Policy { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// The 1-based column this error is about, if known.
    pub fn column(&self) -> Option<u32> {
        match self {
            PolicyError::Parse { column, .. } => Some(*column),
            _ => None,
        }
    }

    /// The message without the file/line/column prefix (for reports, which print the
    /// location themselves).
    pub fn detail(&self) -> String {
        match self {
            PolicyError::Io { source, .. } => {
                format!("cannot read: {source} (check the path and permissions)")
            }
            PolicyError::Parse { message, .. }
            | PolicyError::Policy { message, .. }
            | PolicyError::Suite { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }
}
