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

/// Reads a scalar as text. YAML plain scalars (`fixed: 1.10`, `introduced: 0`)
/// are asked for as strings, so the deserializer hands over the text as
/// written instead of a float that would turn `1.10` into `1.1`; numbers and
/// booleans from formats that only offer typed values are printed back.
struct ScalarText;

impl serde::de::Visitor<'_> for ScalarText {
    type Value = Option<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a version string")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_owned()))
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// One scalar read with [`ScalarText`].
struct Scalar(Option<String>);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_string(ScalarText).map(Scalar)
    }
}

fn scalar_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<Scalar>::deserialize(d)?
        .and_then(|s| s.0)
        .unwrap_or_default())
}

fn opt_scalar_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Scalar>::deserialize(d)?.and_then(|s| s.0))
}

fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<Scalar>>::deserialize(d)?
        .unwrap_or_default()
        .into_iter()
        .filter_map(|s| s.0)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_plain_scalars_keep_their_text() {
        let y = "id: X\naffected:\n- package: {ecosystem: PyPI, name: p}\n  ranges:\n  - type: ECOSYSTEM\n    events:\n    - introduced: 0\n    - fixed: 1.10\n  versions: [1.0, 2, '3.0']\n";
        let r: OsvRecord = serde_saphyr::from_str(y).expect("parses");
        let a = &r.affected[0];
        assert_eq!(a.ranges[0].events[0].introduced.as_deref(), Some("0"));
        assert_eq!(a.ranges[0].events[1].fixed.as_deref(), Some("1.10"));
        assert_eq!(a.versions, vec!["1.0", "2", "3.0"]);
        let j: OsvRecord = serde_json::from_str(r#"{"id":"J","affected":[{"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.0"}]}],"versions":null}],"aliases":null}"#).expect("json");
        assert_eq!(
            j.affected[0].ranges[0].events[1].fixed.as_deref(),
            Some("1.2.0")
        );
    }
}
