//! SPDX 2.3 JSON (<https://spdx.github.io/spdx-spec/v2.3/>).
//!
//! Each component becomes a package with `SPDXRef-Package-<n>` ids, its purl as a
//! `PACKAGE-MANAGER`/`purl` external reference, and `DEPENDS_ON` relationships; the document
//! `DESCRIBES` the subject. Free-text licenses are not SPDX expressions, so they go to
//! `licenseComments` and `licenseDeclared` stays `NOASSERTION`.

use std::collections::HashMap;
use std::io::Write;

use serde::Serialize;

use crate::input::{Component, ComponentType, License, SbomInput, SbomOptions};
use crate::{SbomError, TOOL_NAME};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: String,
    document_namespace: String,
    creation_info: CreationInfo,
    packages: Vec<Package<'a>>,
    relationships: Vec<SpdxRelationship>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreationInfo {
    created: String,
    creators: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Package<'a> {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    version_info: &'a str,
    supplier: String,
    download_location: &'static str,
    files_analyzed: bool,
    license_concluded: &'static str,
    license_declared: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    license_comments: Option<String>,
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef<'a>>,
    primary_package_purpose: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef<'a> {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SpdxRelationship {
    spdx_element_id: String,
    relationship_type: &'static str,
    related_spdx_element: String,
}

fn purpose(t: ComponentType) -> &'static str {
    match t {
        ComponentType::Application => "APPLICATION",
        ComponentType::Library => "LIBRARY",
        ComponentType::Framework => "FRAMEWORK",
        ComponentType::Container => "CONTAINER",
        ComponentType::OperatingSystem => "OPERATING_SYSTEM",
        ComponentType::File => "FILE",
    }
}

/// SPDX idstring: letters, digits, `.` and `-` only.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn package(c: &Component, spdx_id: String) -> Package<'_> {
    let spdx: Vec<&str> = c
        .licenses
        .iter()
        .filter_map(|l| match l {
            License::SpdxId(s) | License::Expression(s) => Some(s.as_str()),
            License::Name(_) => None,
        })
        .collect();
    let names: Vec<&str> = c
        .licenses
        .iter()
        .filter_map(|l| match l {
            License::Name(n) => Some(n.as_str()),
            _ => None,
        })
        .collect();
    let license_declared = match spdx.as_slice() {
        [] => "NOASSERTION".to_owned(),
        [one] => (*one).to_owned(),
        many => many
            .iter()
            .map(|l| format!("({l})"))
            .collect::<Vec<_>>()
            .join(" AND "),
    };
    let comment = (!c.properties.is_empty()).then(|| {
        c.properties
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("\n")
    });
    Package {
        spdx_id,
        name: &c.name,
        version_info: &c.version,
        supplier: c.supplier.as_deref().map_or_else(
            || "NOASSERTION".to_owned(),
            |s| format!("Organization: {s}"),
        ),
        download_location: "NOASSERTION",
        files_analyzed: false,
        license_concluded: "NOASSERTION",
        license_declared,
        license_comments: (!names.is_empty()).then(|| {
            format!(
                "Declared license (not an SPDX expression): {}",
                names.join("; ")
            )
        }),
        copyright_text: "NOASSERTION",
        external_refs: c
            .purl
            .as_deref()
            .map(|p| ExternalRef {
                reference_category: "PACKAGE-MANAGER",
                reference_type: "purl",
                reference_locator: p,
            })
            .into_iter()
            .collect(),
        primary_package_purpose: purpose(c.kind),
        comment,
    }
}

/// The SPDX 2.3 document as a JSON value.
pub fn spdx_value(
    input: &SbomInput,
    options: &SbomOptions,
) -> Result<serde_json::Value, SbomError> {
    input.validate()?;
    let mut ids: HashMap<&str, String> = HashMap::new();
    let subject_id = format!(
        "SPDXRef-{}",
        sanitize(&format!("Subject-{}", input.subject.name))
    );
    ids.insert(input.subject.id.as_str(), subject_id.clone());
    let mut packages = vec![package(&input.subject, subject_id.clone())];
    for (i, c) in input.components.iter().enumerate() {
        let id = format!("SPDXRef-Package-{}", i + 1);
        ids.insert(c.id.as_str(), id.clone());
        packages.push(package(c, id));
    }
    let mut relationships = vec![SpdxRelationship {
        spdx_element_id: "SPDXRef-DOCUMENT".into(),
        relationship_type: "DESCRIBES",
        related_spdx_element: subject_id,
    }];
    for (from, tos) in input.depends_on() {
        for to in tos {
            if let (Some(f), Some(t)) = (ids.get(from), ids.get(to)) {
                relationships.push(SpdxRelationship {
                    spdx_element_id: f.clone(),
                    relationship_type: "DEPENDS_ON",
                    related_spdx_element: t.clone(),
                });
            }
        }
    }
    let doc = Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: "SPDXRef-DOCUMENT",
        name: input.subject.name.clone(),
        document_namespace: format!(
            "https://spdx.org/spdxdocs/{TOOL_NAME}/{}-{}",
            sanitize(&input.subject.name),
            options.serial
        ),
        creation_info: CreationInfo {
            created: options.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            creators: vec![format!("Tool: {TOOL_NAME}-{}", options.tool_version)],
        },
        packages,
        relationships,
    };
    serde_json::to_value(doc).map_err(|source| SbomError::Write { source })
}

/// Writes the SPDX 2.3 JSON document (pretty-printed, trailing newline).
pub fn write_spdx(
    mut out: impl Write,
    input: &SbomInput,
    options: &SbomOptions,
) -> Result<(), SbomError> {
    let value = spdx_value(input, options)?;
    serde_json::to_writer_pretty(&mut out, &value).map_err(|source| SbomError::Write { source })?;
    out.write_all(b"\n").map_err(|e| SbomError::Write {
        source: serde_json::Error::io(e),
    })
}
