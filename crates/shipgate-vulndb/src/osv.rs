//! The OSV schema (<https://ossf.github.io/osv-schema/>), as serde types.
//!
//! Every field the matcher or the report needs is typed; unknown fields are
//! ignored, so newer schema versions still load. Fields that vary in shape
//! across databases (`database_specific`, `ecosystem_specific`) stay as JSON
//! values.

use serde::{Deserialize, Deserializer, Serialize};

/// One OSV advisory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OsvRecord {
    /// The advisory id (`GHSA-...`, `PYSEC-...`, `GO-...`, `RUSTSEC-...`).
    pub id: String,
    /// OSV schema version the record claims.
    #[serde(default)]
    pub schema_version: Option<String>,
    /// Last modification time (RFC 3339).
    #[serde(default)]
    pub modified: Option<String>,
    /// Publication time (RFC 3339).
    #[serde(default)]
    pub published: Option<String>,
    /// Set when the advisory was withdrawn; withdrawn advisories never match.
    #[serde(default)]
    pub withdrawn: Option<String>,
    /// Other ids for the same vulnerability (`CVE-...`, `GHSA-...`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub aliases: Vec<String>,
    /// Related but distinct advisories.
    #[serde(default, deserialize_with = "null_as_default")]
    pub related: Vec<String>,
    /// Upstream advisories this one derives from.
    #[serde(default, deserialize_with = "null_as_default")]
    pub upstream: Vec<String>,
    /// One-line summary.
    #[serde(default)]
    pub summary: Option<String>,
    /// Full description (Markdown).
    #[serde(default)]
    pub details: Option<String>,
    /// Severity scores (CVSS vectors or ecosystem words).
    #[serde(default, deserialize_with = "null_as_default")]
    pub severity: Vec<OsvSeverity>,
    /// Affected packages.
    #[serde(default, deserialize_with = "null_as_default")]
    pub affected: Vec<Affected>,
    /// Links.
    #[serde(default, deserialize_with = "null_as_default")]
    pub references: Vec<Reference>,
    /// Database-specific data; `severity` in it is used as a fallback.
    #[serde(default)]
    pub database_specific: Option<serde_json::Value>,
}

/// A severity entry: `type` is `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`, ...
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsvSeverity {
    /// Scoring system.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The vector or value.
    #[serde(default, deserialize_with = "scalar_string")]
    pub score: String,
}

/// One affected package with its ranges and explicit versions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    /// The package; absent only in malformed records.
    #[serde(default)]
    pub package: Option<Package>,
    /// Per-package severity (schema 1.4+).
    #[serde(default, deserialize_with = "null_as_default")]
    pub severity: Vec<OsvSeverity>,
    /// Version ranges.
    #[serde(default, deserialize_with = "null_as_default")]
    pub ranges: Vec<Range>,
    /// Explicitly enumerated affected versions.
    #[serde(default, deserialize_with = "string_list")]
    pub versions: Vec<String>,
    /// Ecosystem-specific data.
    #[serde(default)]
    pub ecosystem_specific: Option<serde_json::Value>,
    /// Database-specific data.
    #[serde(default)]
    pub database_specific: Option<serde_json::Value>,
}

/// A package coordinate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    /// OSV ecosystem (`PyPI`, `Debian:12`, ...).
    #[serde(default)]
    pub ecosystem: String,
    /// Package name as the ecosystem spells it.
    #[serde(default)]
    pub name: String,
    /// Package URL, when given.
    #[serde(default)]
    pub purl: Option<String>,
}

/// A version range.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    /// `ECOSYSTEM`, `SEMVER` or `GIT`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Repository URL for `GIT` ranges.
    #[serde(default)]
    pub repo: Option<String>,
    /// Events, in any order.
    #[serde(default, deserialize_with = "null_as_default")]
    pub events: Vec<Event>,
}

/// A range event; exactly one field is normally set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Start of an affected span (inclusive); `"0"` means "from the beginning".
    #[serde(
        default,
        deserialize_with = "opt_scalar_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub introduced: Option<String>,
    /// First unaffected version (exclusive end).
    #[serde(
        default,
        deserialize_with = "opt_scalar_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub fixed: Option<String>,
    /// Last affected version (inclusive end).
    #[serde(
        default,
        deserialize_with = "opt_scalar_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_affected: Option<String>,
    /// Upper limit: nothing at or above it is affected by this range.
    #[serde(
        default,
        deserialize_with = "opt_scalar_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub limit: Option<String>,
}

/// A reference link.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    /// `ADVISORY`, `WEB`, `FIX`, `PACKAGE`, `REPORT`, ...
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The URL.
    #[serde(default)]
    pub url: String,
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A scalar that should be text even when a YAML writer left it unquoted
/// (`fixed: 1.0` or `introduced: 0`).
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Int(i64),
    UInt(u64),
    Float(f64),
    Bool(bool),
}

impl Scalar {
    fn into_string(self) -> String {
        match self {
            Scalar::Text(s) => s,
            Scalar::Int(i) => i.to_string(),
            Scalar::UInt(u) => u.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

fn scalar_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<Scalar>::deserialize(d)?
        .map(Scalar::into_string)
        .unwrap_or_default())
}

fn opt_scalar_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Scalar>::deserialize(d)?.map(Scalar::into_string))
}

fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<Scalar>>::deserialize(d)?
        .unwrap_or_default()
        .into_iter()
        .map(Scalar::into_string)
        .collect())
}
