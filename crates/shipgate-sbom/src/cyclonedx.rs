//! CycloneDX 1.6 JSON (<https://cyclonedx.org/docs/1.6/json/>).

use std::io::Write;

use serde::Serialize;

use crate::input::{Component, ComponentType, License, SbomInput, SbomOptions, Scope};
use crate::{SbomError, TOOL_NAME};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Bom<'a> {
    bom_format: &'static str,
    spec_version: &'static str,
    serial_number: String,
    version: u32,
    metadata: Metadata<'a>,
    components: Vec<CdxComponent<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dependencies: Vec<CdxDependency<'a>>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    timestamp: String,
    tools: Tools,
    component: CdxComponent<'a>,
}

#[derive(Serialize)]
struct Tools {
    components: Vec<ToolComponent>,
}

#[derive(Serialize)]
struct ToolComponent {
    #[serde(rename = "type")]
    ty: &'static str,
    name: &'static str,
    version: String,
}

#[derive(Serialize)]
struct CdxComponent<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    #[serde(rename = "bom-ref")]
    bom_ref: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    supplier: Option<Supplier<'a>>,
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    licenses: Vec<LicenseChoice<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property<'a>>,
}

#[derive(Serialize)]
struct Supplier<'a> {
    name: &'a str,
}

#[derive(Serialize)]
#[serde(untagged)]
enum LicenseChoice<'a> {
    License { license: LicenseBody<'a> },
    Expression { expression: &'a str },
}

#[derive(Serialize)]
#[serde(untagged)]
enum LicenseBody<'a> {
    Id { id: &'a str },
    Name { name: &'a str },
}

#[derive(Serialize)]
struct Property<'a> {
    name: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CdxDependency<'a> {
    #[serde(rename = "ref")]
    reference: &'a str,
    depends_on: Vec<&'a str>,
}

fn component_type(t: ComponentType) -> &'static str {
    match t {
        ComponentType::Application => "application",
        ComponentType::Library => "library",
        ComponentType::Framework => "framework",
        ComponentType::Container => "container",
        ComponentType::OperatingSystem => "operating-system",
        ComponentType::File => "file",
    }
}

fn component(c: &Component) -> CdxComponent<'_> {
    // CycloneDX allows either license entries or exactly one expression.
    let expressions: Vec<&str> = c
        .licenses
        .iter()
        .filter_map(|l| match l {
            License::Expression(e) => Some(e.as_str()),
            _ => None,
        })
        .collect();
    let licenses = if expressions.len() == 1 && c.licenses.len() == 1 {
        vec![LicenseChoice::Expression {
            expression: expressions[0],
        }]
    } else {
        c.licenses
            .iter()
            .map(|l| match l {
                License::SpdxId(id) => LicenseChoice::License {
                    license: LicenseBody::Id { id },
                },
                License::Expression(n) | License::Name(n) => LicenseChoice::License {
                    license: LicenseBody::Name { name: n },
                },
            })
            .collect()
    };
    CdxComponent {
        ty: component_type(c.kind),
        bom_ref: &c.id,
        supplier: c.supplier.as_deref().map(|name| Supplier { name }),
        name: &c.name,
        version: &c.version,
        scope: c.scope.map(|s| match s {
            Scope::Required => "required",
            Scope::Optional => "optional",
            Scope::Excluded => "excluded",
        }),
        licenses,
        purl: c.purl.as_deref(),
        properties: c
            .properties
            .iter()
            .map(|(name, value)| Property { name, value })
            .collect(),
    }
}

/// The CycloneDX 1.6 document as a JSON value.
pub fn cyclonedx_value(
    input: &SbomInput,
    options: &SbomOptions,
) -> Result<serde_json::Value, SbomError> {
    input.validate()?;
    let bom = Bom {
        bom_format: "CycloneDX",
        spec_version: "1.6",
        serial_number: format!("urn:uuid:{}", options.serial),
        version: 1,
        metadata: Metadata {
            timestamp: options.timestamp.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            tools: Tools {
                components: vec![ToolComponent {
                    ty: "application",
                    name: TOOL_NAME,
                    version: options.tool_version.clone(),
                }],
            },
            component: component(&input.subject),
        },
        components: input.components.iter().map(component).collect(),
        dependencies: input
            .depends_on()
            .into_iter()
            .map(|(reference, depends_on)| CdxDependency {
                reference,
                depends_on,
            })
            .collect(),
    };
    serde_json::to_value(bom).map_err(|source| SbomError::Write { source })
}

/// Writes the CycloneDX 1.6 JSON document (pretty-printed, trailing newline).
pub fn write_cyclonedx(
    mut out: impl Write,
    input: &SbomInput,
    options: &SbomOptions,
) -> Result<(), SbomError> {
    let value = cyclonedx_value(input, options)?;
    serde_json::to_writer_pretty(&mut out, &value).map_err(|source| SbomError::Write { source })?;
    out.write_all(b"\n").map_err(|e| SbomError::Write {
        source: serde_json::Error::io(e),
    })
}
