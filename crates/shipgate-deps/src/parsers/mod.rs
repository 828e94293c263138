//! One module per file format. Each exposes `parse(path, data) -> Lockfile` (some take a
//! [`crate::ParseContext`] for sibling files); [`crate::parse_lockfile`] dispatches to them.
//!
//! Shared rules: never panic; a file that cannot be decoded at all yields one error and no
//! packages; a bad entry yields an error naming its line and the rest of the file is still read.

pub(crate) mod cargo;
pub(crate) mod composer;
pub(crate) mod gemfile;
pub(crate) mod gomod;
pub(crate) mod maven;
pub(crate) mod npm;
pub(crate) mod nuget;
pub(crate) mod pnpm;
pub(crate) mod pubspec;
pub(crate) mod python;
pub(crate) mod requirements;
pub(crate) mod yarn;

use serde::de::DeserializeOwned;

use crate::DepsError;
use crate::model::Builder;

/// Decodes the file as UTF-8 (BOM allowed) or records an error.
pub(crate) fn text<'a>(b: &mut Builder, data: &'a [u8]) -> Option<&'a str> {
    match crate::text::utf8(data) {
        Ok(t) => Some(t),
        Err(e) => {
            let (line, _) = crate::text::line_col(
                &String::from_utf8_lossy(&data[..e.valid_up_to()]),
                e.valid_up_to(),
            );
            b.error(
                Some(line),
                format!("file is not valid UTF-8 ({e}); dependency files must be UTF-8 text"),
            );
            None
        }
    }
}

/// Parses JSON or records an error with line and column.
pub(crate) fn json<T: DeserializeOwned>(b: &mut Builder, text: &str) -> Option<T> {
    match serde_json::from_str(text) {
        Ok(v) => Some(v),
        Err(e) => {
            b.errors.push(DepsError::json(&b.path, e));
            None
        }
    }
}

/// Parses TOML or records an error with line and column.
pub(crate) fn toml<T: DeserializeOwned>(b: &mut Builder, text: &str) -> Option<T> {
    match toml::from_str(text) {
        Ok(v) => Some(v),
        Err(e) => {
            b.errors.push(DepsError::toml(&b.path, text, e));
            None
        }
    }
}

/// Parses YAML or records an error with line and column.
pub(crate) fn yaml<T: DeserializeOwned>(b: &mut Builder, text: &str) -> Option<T> {
    match serde_saphyr::from_str(text) {
        Ok(v) => Some(v),
        Err(e) => {
            b.errors.push(DepsError::yaml(&b.path, e));
            None
        }
    }
}

/// Line of a `toml::Spanned` value.
pub(crate) fn span_line<T>(index: &crate::text::LineIndex, s: &toml::Spanned<T>) -> Option<u32> {
    Some(index.line(s.span().start))
}
