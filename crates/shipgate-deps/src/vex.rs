//! OpenVEX documents (<https://openvex.dev>, spec v0.2.0) and suppression lookup.
//!
//! A VEX statement says whether a product is affected by a vulnerability. shipgate uses them
//! to suppress findings: given an advisory (id + aliases) and a package purl,
//! [`VexSet::suppressing`] returns the statement that suppresses it, so the report can say
//! which statement suppressed what.
//!
//! Rules:
//! - A statement applies when its vulnerability name or one of its aliases equals the
//!   advisory id or one of its aliases (case-insensitive), and one of its products or
//!   subcomponents matches the package purl.
//! - purl matching compares type, namespace and name; the version must match if the
//!   statement's purl has one; qualifiers are ignored unless the statement's purl has them, in
//!   which case each must be present with the same value.
//! - When several statements apply, the latest (statement timestamp, else document timestamp,
//!   else document order) wins, as in OpenVEX. Only `not_affected` and `fixed` suppress; a
//!   later `affected` or `under_investigation` statement lifts an earlier suppression.
//! - Invalid statements (unknown status, `not_affected` without justification or impact
//!   statement, no vulnerability name, no product) are reported as errors and never suppress.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::DepsError;
use crate::purl::Purl;

/// The status of a VEX statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VexStatus {
    /// The product is not affected; a justification or impact statement says why.
    NotAffected,
    /// The product is affected.
    Affected,
    /// The product contains a fix.
    Fixed,
    /// Not yet known.
    UnderInvestigation,
}

impl VexStatus {
    fn parse(s: &str) -> Option<VexStatus> {
        Some(match s {
            "not_affected" => VexStatus::NotAffected,
            "affected" => VexStatus::Affected,
            "fixed" => VexStatus::Fixed,
            "under_investigation" => VexStatus::UnderInvestigation,
            _ => return None,
        })
    }

    /// Whether a statement with this status suppresses a finding.
    pub fn suppresses(self) -> bool {
        matches!(self, VexStatus::NotAffected | VexStatus::Fixed)
    }

    /// The OpenVEX spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            VexStatus::NotAffected => "not_affected",
            VexStatus::Affected => "affected",
            VexStatus::Fixed => "fixed",
            VexStatus::UnderInvestigation => "under_investigation",
        }
    }
}

impl fmt::Display for VexStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One valid statement.
#[derive(Debug, Clone, Serialize)]
pub struct VexStatement {
    /// The document it came from, as displayed to the user.
    pub path: String,
    /// Its index in the document's `statements` array.
    pub index: usize,
    /// 1-based line of the statement in the document.
    pub line: Option<u32>,
    /// The vulnerability name (`CVE-...`, `GHSA-...`).
    pub vulnerability: String,
    /// Other names of the vulnerability.
    pub aliases: Vec<String>,
    /// Product identifiers (purls or other IRIs) the statement is about.
    pub products: Vec<String>,
    /// Subcomponent identifiers.
    pub subcomponents: Vec<String>,
    /// The status.
    pub status: VexStatus,
    /// `not_affected` justification label.
    pub justification: Option<String>,
    /// Free-text impact statement.
    pub impact_statement: Option<String>,
    /// Free-text action statement (for `affected`).
    pub action_statement: Option<String>,
    /// Effective timestamp (statement, else document).
    pub timestamp: Option<String>,
}

impl VexStatement {
    /// Short human description: `<path>:<line> statement #i (<vuln> not_affected: <why>)`.
    pub fn describe(&self) -> String {
        let why = self
            .justification
            .as_deref()
            .or(self.impact_statement.as_deref())
            .unwrap_or("");
        format!(
            "{} statement #{} ({} {}{}{})",
            crate::error::location(&self.path, self.line, None),
            self.index,
            self.vulnerability,
            self.status,
            if why.is_empty() { "" } else { ": " },
            why
        )
    }

    fn names_match(&self, ids: &[&str]) -> bool {
        std::iter::once(&self.vulnerability)
            .chain(&self.aliases)
            .any(|n| ids.iter().any(|id| id.eq_ignore_ascii_case(n)))
    }

    fn product_matches(&self, purl: &Purl) -> bool {
        self.products
            .iter()
            .chain(&self.subcomponents)
            .filter_map(|p| Purl::parse(p))
            .any(|s| purl_matches(&s, purl))
    }
}

/// Whether the statement purl `stmt` covers the package purl `pkg`.
pub fn purl_matches(stmt: &Purl, pkg: &Purl) -> bool {
    if stmt.ty != pkg.ty || stmt.namespace != pkg.namespace || stmt.name != pkg.name {
        return false;
    }
    if let Some(v) = &stmt.version
        && pkg.version.as_ref() != Some(v)
    {
        return false;
    }
    if stmt.subpath.is_some() && stmt.subpath != pkg.subpath {
        return false;
    }
    stmt.qualifiers
        .iter()
        .all(|q| pkg.qualifiers.iter().any(|p| p == q))
}

/// A parsed OpenVEX document.
#[derive(Debug, Clone, Serialize)]
pub struct VexDocument {
    /// The file, as displayed to the user.
    pub path: String,
    /// `@id`.
    pub id: Option<String>,
    /// `author`.
    pub author: Option<String>,
    /// Document `timestamp`.
    pub timestamp: Option<String>,
    /// The valid statements.
    pub statements: Vec<VexStatement>,
}

#[derive(Deserialize)]
struct RawDoc {
    #[serde(rename = "@context")]
    context: Option<String>,
    #[serde(rename = "@id")]
    id: Option<String>,
    author: Option<String>,
    timestamp: Option<String>,
    #[serde(default)]
    statements: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawStatement {
    vulnerability: Option<serde_json::Value>,
    #[serde(default)]
    products: Vec<serde_json::Value>,
    status: Option<String>,
    justification: Option<String>,
    impact_statement: Option<String>,
    action_statement: Option<String>,
    timestamp: Option<String>,
}

fn component_ids(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Object(m) => {
            if let Some(id) = m.get("@id").and_then(|x| x.as_str()) {
                out.push(id.to_owned());
            }
            if let Some(p) = m
                .get("identifiers")
                .and_then(|i| i.get("purl"))
                .and_then(|x| x.as_str())
            {
                out.push(p.to_owned());
            }
        }
        _ => {}
    }
}

/// Parses an OpenVEX JSON document. Returns the document with its valid statements, and the
/// errors for invalid ones (each naming the file and the statement's line). `Err` only when
/// the file is not an OpenVEX document at all.
pub fn parse_vex(path: &str, data: &[u8]) -> Result<(VexDocument, Vec<DepsError>), DepsError> {
    let text = crate::text::utf8(data).map_err(|e| {
        DepsError::syntax(
            path,
            None,
            format!("not valid UTF-8 ({e}); VEX documents are JSON"),
        )
    })?;
    let raw: RawDoc = serde_json::from_str(text).map_err(|e| DepsError::json(path, e))?;
    if !raw
        .context
        .as_deref()
        .is_some_and(|c| c.starts_with("https://openvex.dev/ns"))
    {
        return Err(DepsError::syntax(
            path,
            Some(1),
            "missing or unknown \"@context\"; expected an OpenVEX document (https://openvex.dev/ns/v0.2.0)",
        ));
    }
    let lines = crate::text::json_value_lines(text, |p| p.len() == 2 && p[0] == "statements");
    let mut errors = Vec::new();
    let mut statements = Vec::new();
    for (index, value) in raw.statements.into_iter().enumerate() {
        let line = lines.get(&format!("statements\0{index}")).copied();
        let mut err = |msg: String| {
            errors.push(DepsError::syntax(
                path,
                line,
                format!("statement #{index}: {msg}"),
            ))
        };
        let s: RawStatement = match serde_json::from_value(value) {
            Ok(s) => s,
            Err(e) => {
                err(format!("{e}"));
                continue;
            }
        };
        let (vulnerability, aliases) = match &s.vulnerability {
            Some(serde_json::Value::String(n)) => (n.clone(), Vec::new()),
            Some(serde_json::Value::Object(m)) => (
                m.get("name")
                    .and_then(|x| x.as_str())
                    .unwrap_or_default()
                    .to_owned(),
                m.get("aliases")
                    .and_then(|x| x.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            _ => (String::new(), Vec::new()),
        };
        if vulnerability.is_empty() {
            err("no vulnerability name; add \"vulnerability\": {\"name\": \"CVE-...\"}".into());
            continue;
        }
        let Some(status) = s.status.as_deref().and_then(VexStatus::parse) else {
            err(format!(
                "status {:?} is not one of not_affected, affected, fixed, under_investigation",
                s.status.as_deref().unwrap_or("")
            ));
            continue;
        };
        if status == VexStatus::NotAffected
            && s.justification.is_none()
            && s.impact_statement.is_none()
        {
            err("not_affected needs a \"justification\" or an \"impact_statement\"".into());
            continue;
        }
        let mut products = Vec::new();
        let mut subcomponents = Vec::new();
        for p in &s.products {
            component_ids(p, &mut products);
            if let Some(subs) = p.get("subcomponents").and_then(|x| x.as_array()) {
                for sc in subs {
                    component_ids(sc, &mut subcomponents);
                }
            }
        }
        if products.is_empty() {
            err("no products; a statement must name the products it is about".into());
            continue;
        }
        statements.push(VexStatement {
            path: path.to_owned(),
            index,
            line,
            vulnerability,
            aliases,
            products,
            subcomponents,
            status,
            justification: s.justification,
            impact_statement: s.impact_statement,
            action_statement: s.action_statement,
            timestamp: s.timestamp.or_else(|| raw.timestamp.clone()),
        });
    }
    Ok((
        VexDocument {
            path: path.to_owned(),
            id: raw.id,
            author: raw.author,
            timestamp: raw.timestamp,
            statements,
        },
        errors,
    ))
}

/// Several VEX documents, queried together.
#[derive(Debug, Clone, Default)]
pub struct VexSet {
    /// The documents, in the order given.
    pub documents: Vec<VexDocument>,
}

fn timestamp_key(ts: Option<&str>) -> Option<jiff::Timestamp> {
    ts.and_then(|t| t.parse::<jiff::Timestamp>().ok())
}

impl VexSet {
    /// Adds a document.
    pub fn push(&mut self, doc: VexDocument) {
        self.documents.push(doc);
    }

    /// The statement that suppresses the advisory (`advisory_ids` = id and aliases) for the
    /// package `package_purl`, if any. See the module docs for the rules.
    pub fn suppressing(&self, advisory_ids: &[&str], package_purl: &str) -> Option<&VexStatement> {
        let purl = Purl::parse(package_purl)?;
        let mut best: Option<(Option<jiff::Timestamp>, usize, &VexStatement)> = None;
        let mut order = 0usize;
        for doc in &self.documents {
            for s in &doc.statements {
                order += 1;
                if !s.names_match(advisory_ids) || !s.product_matches(&purl) {
                    continue;
                }
                let key = (timestamp_key(s.timestamp.as_deref()), order);
                let later = match &best {
                    None => true,
                    // Timestamped statements outrank untimed ones; ties go to the later one.
                    Some((bt, bo, _)) => (key.0, key.1) >= (*bt, *bo),
                };
                if later {
                    best = Some((key.0, key.1, s));
                }
            }
        }
        best.map(|b| b.2).filter(|s| s.status.suppresses())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{
  "@context": "https://openvex.dev/ns/v0.2.0",
  "@id": "https://example.com/vex/1",
  "author": "Sec Team",
  "timestamp": "2024-01-01T00:00:00Z",
  "version": 1,
  "statements": [
    {
      "vulnerability": {"name": "CVE-2023-1", "aliases": ["GHSA-aaaa-bbbb-cccc"]},
      "products": [{"@id": "pkg:npm/lodash@4.17.20"}],
      "status": "not_affected",
      "justification": "vulnerable_code_not_in_execute_path"
    },
    {
      "vulnerability": {"name": "CVE-2023-2"},
      "products": [{"@id": "pkg:deb/debian/bash?arch=amd64"}],
      "status": "fixed"
    },
    {
      "vulnerability": {"name": "CVE-2023-3"},
      "products": [{"@id": "pkg:pypi/django"}],
      "status": "not_affected",
      "justification": "component_not_present",
      "timestamp": "2024-01-01T00:00:00Z"
    },
    {
      "vulnerability": {"name": "CVE-2023-3"},
      "products": [{"@id": "pkg:pypi/django"}],
      "status": "affected",
      "action_statement": "upgrade",
      "timestamp": "2024-02-01T00:00:00Z"
    },
    {
      "vulnerability": {"name": "CVE-2023-4"},
      "products": [{"@id": "pkg:npm/x"}],
      "status": "not_affected"
    },
    {
      "vulnerability": {"name": "CVE-2023-5"},
      "products": [{"@id": "pkg:npm/x"}],
      "status": "maybe"
    }
  ]
}"#;

    fn set() -> (VexSet, Vec<DepsError>) {
        let (doc, errors) = parse_vex("vex.json", DOC.as_bytes()).unwrap();
        let mut s = VexSet::default();
        s.push(doc);
        (s, errors)
    }

    #[test]
    fn invalid_statements_are_errors_with_lines() {
        let (s, errors) = set();
        assert_eq!(s.documents[0].statements.len(), 4);
        let lines: Vec<_> = errors.iter().map(|e| e.line()).collect();
        assert_eq!(lines, vec![Some(33), Some(38)]);
        assert!(errors[0].to_string().contains("justification"));
    }

    #[test]
    fn matching_rules() {
        let (s, _) = set();
        // Alias match, exact version.
        let hit = s
            .suppressing(&["GHSA-AAAA-BBBB-CCCC"], "pkg:npm/lodash@4.17.20")
            .unwrap();
        assert_eq!(hit.index, 0);
        assert!(hit.describe().starts_with("vex.json:8 statement #0"));
        // Version in the statement must match.
        assert!(
            s.suppressing(&["CVE-2023-1"], "pkg:npm/lodash@4.17.21")
                .is_none()
        );
        // Statement qualifiers must be present; extra package qualifiers are fine.
        assert!(
            s.suppressing(
                &["CVE-2023-2"],
                "pkg:deb/debian/bash@5.2-2?arch=amd64&distro=debian-12"
            )
            .is_some()
        );
        assert!(
            s.suppressing(&["CVE-2023-2"], "pkg:deb/debian/bash@5.2-2?arch=arm64")
                .is_none()
        );
        assert!(
            s.suppressing(&["CVE-2023-2"], "pkg:deb/debian/bash@5.2-2")
                .is_none()
        );
        // The later 'affected' statement lifts the earlier suppression.
        assert!(
            s.suppressing(&["CVE-2023-3"], "pkg:pypi/Django@4.0")
                .is_none()
        );
        // Unrelated advisory.
        assert!(
            s.suppressing(&["CVE-1999-0"], "pkg:npm/lodash@4.17.20")
                .is_none()
        );
    }

    #[test]
    fn not_vex() {
        assert!(parse_vex("x.json", b"{}").is_err());
        let e = parse_vex("x.json", b"{\n,").unwrap_err();
        assert_eq!(e.line(), Some(2));
    }
}
