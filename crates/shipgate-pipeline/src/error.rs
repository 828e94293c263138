//! The one error type of this crate.

use std::path::{Path, PathBuf};

/// A problem in the pipeline file, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line (0 when unknown).
    pub line: u32,
    /// 1-based column (0 when unknown).
    pub column: u32,
    /// What is wrong.
    pub message: String,
}

/// Everything that can go wrong in the pipeline runner. Each variant names what it is about.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The pipeline definition is invalid; every problem is listed.
    #[error("{}", render_problems(.path, .problems))]
    Spec {
        /// The file.
        path: PathBuf,
        /// All problems found.
        problems: Vec<Problem>,
    },
    /// A file or directory could not be read or written.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The sandbox could not be set up (bubblewrap missing, namespaces refused).
    #[error("sandbox: {0}")]
    Sandbox(String),
    /// Image assembly failed (bad layer source, bad base image).
    #[error("image: {0}")]
    Image(String),
    /// A registry operation failed.
    #[error(transparent)]
    Registry(#[from] shipgate_image::Error),
}

fn render_problems(path: &Path, problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("{}:{}:{}: {}", path.display(), p.line, p.column, p.message))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Error {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
