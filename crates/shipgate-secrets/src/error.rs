//! The crate's single error type.

use std::path::PathBuf;

/// Everything that can go wrong in `shipgate-secrets`.
///
/// Scans never fail as a whole because of one bad file: per-file problems are
/// returned as [`crate::SourceError`] values next to the findings. This enum is
/// for failures that stop an operation (a rule file that does not load, a git
/// repository that cannot be read, a hook that cannot be written).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A rule file (shipgate YAML or gitleaks TOML) is not valid syntax.
    #[error("{file}:{line}:{column}: {message} (fix the rule file syntax)")]
    RuleFileSyntax {
        /// The file (or embedded name) that failed.
        file: String,
        /// 1-based line, 0 when unknown.
        line: u32,
        /// 1-based column, 0 when unknown.
        column: u32,
        /// What the parser said.
        message: String,
    },
    /// One or more rules of a rule file failed to compile; every failure is listed.
    #[error("{file}: {} rule(s) failed to load:\n{}", .problems.len(), .problems.join("\n"))]
    InvalidRules {
        /// The rule file.
        file: String,
        /// One line per failing rule: `rule <id>: <why>`.
        problems: Vec<String>,
    },
    /// A composite rule requires a rule that is not loaded.
    #[error(
        "rule {rule} requires rule {required:?}, which is not loaded (define it, usually with `skipReport = true`)"
    )]
    UnknownRequiredRule {
        /// The composite rule.
        rule: String,
        /// The id it names in `[[rules.required]]`.
        required: String,
    },
    /// A regex in the settings (`secrets.allow_paths`/`allow_regexes`) does not compile.
    #[error("secrets settings: invalid regex {pattern:?}: {source}")]
    SettingsRegex {
        /// The pattern as written.
        pattern: String,
        /// The compile error.
        #[source]
        source: Box<regex::Error>,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The `git` program could not be started.
    #[error("could not run `git` (is git installed and on PATH?): {source}")]
    GitSpawn {
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A `git` command failed.
    #[error("{}: `git {command}` failed: {message}", .repo.display())]
    Git {
        /// The repository.
        repo: PathBuf,
        /// The git sub-command that failed.
        command: String,
        /// Its stderr (trimmed) or a description.
        message: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
