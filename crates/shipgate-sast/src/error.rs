//! The crate's single error type.

use std::fmt;
use std::path::PathBuf;

/// Everything that stops a `shipgate-sast` operation. A bad source file never does: its
/// problem is reported as a [`FileProblem`] next to the findings of the other files.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A rule file does not load; every problem is listed with its position.
    #[error("{}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Rules {
        /// One entry per problem.
        problems: Vec<RuleProblem>,
    },
}

/// A problem with one rule or rule file, at a position in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleProblem {
    /// The rule file (or the embedded name of a built-in one).
    pub file: String,
    /// 1-based line, 0 when unknown.
    pub line: u32,
    /// 1-based column, 0 when unknown.
    pub column: u32,
    /// The rule's id, when the problem is inside one rule.
    pub rule: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RuleProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if let Some(rule) = &self.rule {
            write!(f, "rule {rule}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// A problem with one scanned file; the file's other findings (if any) are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    /// The file.
    pub path: String,
    /// 1-based line, when the problem has one.
    pub line: Option<u32>,
    /// 1-based column, when the problem has one.
    pub column: Option<u32>,
    /// What happened.
    pub message: String,
    /// Whether the file was still scanned (a partial parse, lossy UTF-8): then the problem is
    /// a note; otherwise (unreadable) it is an error that fails the gate.
    pub scanned: bool,
}
