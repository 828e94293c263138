//! The crate's single error type.

use std::fmt::Write as _;

/// Formats `path[:line[:column]]` the way compilers and linters do.
pub(crate) fn location(path: &str, line: Option<u32>, column: Option<u32>) -> String {
    let mut out = path.to_owned();
    if let Some(line) = line {
        let _ = write!(out, ":{line}");
        if let Some(column) = column {
            let _ = write!(out, ":{column}");
        }
    }
    out
}

/// Everything that can go wrong while finding and parsing dependency files or VEX documents.
///
/// Every variant names the file, and the line and column where they are known. Parsers return
/// these next to the packages they could read; one bad entry never hides the rest of the file.
#[derive(Debug, thiserror::Error)]
pub enum DepsError {
    /// A file or directory could not be read.
    #[error("{path}: cannot read: {source}; check that it exists and is readable")]
    Io {
        /// The file or directory, as displayed to the user.
        path: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file is not valid JSON.
    #[error("{}: invalid JSON: {source}; fix the syntax or regenerate the file with its package manager", location(path, Some(*line), Some(*column)))]
    Json {
        /// The file, as displayed to the user.
        path: String,
        /// 1-based line of the syntax error.
        line: u32,
        /// 1-based column of the syntax error.
        column: u32,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A TOML file is not valid TOML or does not have the expected shape.
    #[error("{}: invalid TOML: {}; fix the syntax or regenerate the file with its package manager", location(path, *line, *column), source.message())]
    Toml {
        /// The file, as displayed to the user.
        path: String,
        /// 1-based line, when the parser reported a position.
        line: Option<u32>,
        /// 1-based column, when the parser reported a position.
        column: Option<u32>,
        /// The parser's error.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// A YAML file is not valid YAML or does not have the expected shape.
    #[error("{}: invalid YAML: {source}; fix the syntax or regenerate the file with its package manager", location(path, *line, *column))]
    Yaml {
        /// The file, as displayed to the user.
        path: String,
        /// 1-based line, when the parser reported a position.
        line: Option<u32>,
        /// 1-based column, when the parser reported a position.
        column: Option<u32>,
        /// The parser's error.
        #[source]
        source: Box<serde_saphyr::Error>,
    },
    /// An XML file (pom.xml) is not well-formed.
    #[error("{}: invalid XML: {source}; fix the markup", location(path, Some(*line), Some(*column)))]
    Xml {
        /// The file, as displayed to the user.
        path: String,
        /// 1-based line of the error.
        line: u32,
        /// 1-based column of the error.
        column: u32,
        /// The parser's error.
        #[source]
        source: Box<roxmltree::Error>,
    },
    /// The file parsed but an entry (or the whole file) is not what this format allows.
    #[error("{}: {message}", location(path, *line, *column))]
    Syntax {
        /// The file, as displayed to the user.
        path: String,
        /// 1-based line, when known.
        line: Option<u32>,
        /// 1-based column, when known.
        column: Option<u32>,
        /// What is wrong and what to do about it.
        message: String,
    },
}

impl DepsError {
    /// A [`DepsError::Syntax`] at `path:line`.
    pub(crate) fn syntax(path: &str, line: Option<u32>, message: impl Into<String>) -> Self {
        DepsError::Syntax {
            path: path.to_owned(),
            line,
            column: None,
            message: message.into(),
        }
    }

    /// The file the error is about, as displayed to the user.
    pub fn path(&self) -> &str {
        match self {
            DepsError::Io { path, .. }
            | DepsError::Json { path, .. }
            | DepsError::Toml { path, .. }
            | DepsError::Yaml { path, .. }
            | DepsError::Xml { path, .. }
            | DepsError::Syntax { path, .. } => path,
        }
    }

    /// The 1-based line the error is at, when known.
    pub fn line(&self) -> Option<u32> {
        match self {
            DepsError::Io { .. } => None,
            DepsError::Json { line, .. } | DepsError::Xml { line, .. } => Some(*line),
            DepsError::Toml { line, .. }
            | DepsError::Yaml { line, .. }
            | DepsError::Syntax { line, .. } => *line,
        }
    }

    /// The 1-based column the error is at, when known.
    pub fn column(&self) -> Option<u32> {
        match self {
            DepsError::Io { .. } => None,
            DepsError::Json { column, .. } | DepsError::Xml { column, .. } => Some(*column),
            DepsError::Toml { column, .. }
            | DepsError::Yaml { column, .. }
            | DepsError::Syntax { column, .. } => *column,
        }
    }

    /// Wraps a serde_json error with the file name.
    pub(crate) fn json(path: &str, source: serde_json::Error) -> Self {
        DepsError::Json {
            path: path.to_owned(),
            line: u32::try_from(source.line()).unwrap_or(u32::MAX),
            column: u32::try_from(source.column()).unwrap_or(u32::MAX),
            source,
        }
    }

    /// Wraps a toml error with the file name, turning its byte span into line and column.
    pub(crate) fn toml(path: &str, text: &str, source: toml::de::Error) -> Self {
        let (line, column) = match source.span() {
            Some(span) => {
                let (l, c) = crate::text::line_col(text, span.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        DepsError::Toml {
            path: path.to_owned(),
            line,
            column,
            source: Box::new(source),
        }
    }

    /// Wraps a YAML error with the file name.
    pub(crate) fn yaml(path: &str, source: serde_saphyr::Error) -> Self {
        let loc = source.location();
        DepsError::Yaml {
            path: path.to_owned(),
            line: loc.and_then(|l| u32::try_from(l.line()).ok()),
            column: loc.and_then(|l| u32::try_from(l.column()).ok()),
            source: Box::new(source),
        }
    }

    /// Wraps an XML error with the file name.
    pub(crate) fn xml(path: &str, source: roxmltree::Error) -> Self {
        let pos = source.pos();
        DepsError::Xml {
            path: path.to_owned(),
            line: pos.row,
            column: pos.col,
            source: Box::new(source),
        }
    }
}
