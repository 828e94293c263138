//! SBOM output validated against the official JSON schemas (CycloneDX 1.6, SPDX 2.3).
//!
//! Schemas come from `scripts/test-deps/sbom-schemas.sh` (PyPI packages installed into a
//! venv), or from `SHIPGATE_CYCLONEDX_SCHEMA_DIR` / `SHIPGATE_SPDX_SCHEMA`. With `CI=true` a
//! missing schema fails the test; locally it skips with a message.

// Test helpers outside #[test] fns: a failed unwrap is a failed test here.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use jsonschema::{Retrieve, Uri};
use serde_json::Value;
use shipgate_deps::{WalkOptions, scan_dir};
use shipgate_sbom::{
    Component, ComponentType, License, Relationship, SbomInput, SbomOptions, Scope,
    cyclonedx_value, spdx_value, write_cyclonedx, write_spdx,
};

struct Schemas {
    cyclonedx_dir: PathBuf,
    spdx: PathBuf,
}

fn schemas() -> Option<Schemas> {
    let from_env = (
        std::env::var_os("SHIPGATE_CYCLONEDX_SCHEMA_DIR"),
        std::env::var_os("SHIPGATE_SPDX_SCHEMA"),
    );
    let (cdx, spdx) = match from_env {
        (Some(c), Some(s)) => (PathBuf::from(c), PathBuf::from(s)),
        _ => {
            let script = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../scripts/test-deps/sbom-schemas.sh");
            let out = Command::new("bash").arg(&script).output();
            let mut cdx = None;
            let mut spdx = None;
            if let Ok(out) = &out
                && out.status.success()
            {
                for line in String::from_utf8_lossy(&out.stdout).lines() {
                    if let Some(v) = line.strip_prefix("SHIPGATE_CYCLONEDX_SCHEMA_DIR=") {
                        cdx = Some(PathBuf::from(v));
                    }
                    if let Some(v) = line.strip_prefix("SHIPGATE_SPDX_SCHEMA=") {
                        spdx = Some(PathBuf::from(v));
                    }
                }
            }
            match (cdx, spdx) {
                (Some(c), Some(s)) => (c, s),
                _ => {
                    let why = match out {
                        Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                        Err(e) => e.to_string(),
                    };
                    assert!(
                        std::env::var("CI").as_deref() != Ok("true"),
                        "CI=true but the SBOM schemas could not be installed by {}: {why}",
                        script.display()
                    );
                    eprintln!(
                        "SKIP: SBOM schemas unavailable ({why}); run scripts/test-deps/sbom-schemas.sh"
                    );
                    return None;
                }
            }
        }
    };
    Some(Schemas {
        cyclonedx_dir: cdx,
        spdx,
    })
}

/// Resolves `$ref`s of the CycloneDX schema to the files beside it (the PyPI package names
/// them `*.SNAPSHOT.schema.json`).
struct DirRetriever(PathBuf);

impl Retrieve for DirRetriever {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri.as_str().rsplit('/').next().unwrap_or_default();
        let name = name.split('#').next().unwrap_or_default();
        let candidates = [
            name.to_owned(),
            name.replace(".SNAPSHOT", "")
                .replace(".schema.json", ".SNAPSHOT.schema.json"),
        ];
        for c in candidates {
            let p = self.0.join(&c);
            if p.is_file() {
                return Ok(serde_json::from_slice(&std::fs::read(p)?)?);
            }
        }
        Err(format!("schema {uri} not found in {}", self.0.display()).into())
    }
}

fn validate(schema_path: &Path, retriever_dir: &Path, doc: &Value) {
    let schema: Value = serde_json::from_slice(&std::fs::read(schema_path).unwrap()).unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .with_retriever(DirRetriever(retriever_dir.to_path_buf()))
        .build(&schema)
        .unwrap_or_else(|e| panic!("cannot compile {}: {e}", schema_path.display()));
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{} schema errors:\n{}\n{}",
        errors.len(),
        errors.join("\n"),
        serde_json::to_string_pretty(doc).unwrap()
    );
}

fn cyclonedx_schema(s: &Schemas) -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir(&s.cyclonedx_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with("bom-1.6") && n.ends_with(".schema.json")
        })
        .collect();
    found.sort();
    found
        .pop()
        .expect("bom-1.6 schema in the CycloneDX schema dir")
}

fn fixed_options() -> SbomOptions {
    SbomOptions {
        timestamp: "2025-01-02T03:04:05Z".parse().unwrap(),
        serial: uuid::Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0),
        tool_version: "0.1.0".into(),
    }
}

/// An inventory from real parsers over a small project written by the test.
fn project_input() -> SbomInput {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("package-lock.json"),
        r#"{"lockfileVersion": 3, "packages": {
  "": {"dependencies": {"@scope/a": "^1"}, "devDependencies": {"b": "^2"}},
  "node_modules/@scope/a": {"version": "1.0.0", "dependencies": {"c": "^3"}},
  "node_modules/b": {"version": "2.0.0", "dev": true},
  "node_modules/c": {"version": "3.0.0+build.1"}
}}"#,
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("py")).unwrap();
    std::fs::write(
        dir.path().join("py/requirements.txt"),
        "Django==4.2.1\nrequests\n",
    )
    .unwrap();
    let inv = scan_dir(dir.path(), &WalkOptions::default());
    assert_eq!(inv.errors().count(), 0);
    SbomInput::from_inventory("my project", &inv)
}

/// What an image scan produces: OS packages with licenses and suppliers.
fn image_input() -> SbomInput {
    let mut bash = Component::library(
        "bash",
        "5.2.15-2+b2",
        "pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12",
    );
    bash.licenses = vec![License::SpdxId("GPL-3.0-or-later".into())];
    bash.supplier = Some("Matthias Klose <doko@debian.org>".into());
    let mut musl = Component::library(
        "musl",
        "1.2.4-r2",
        "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.18.4",
    );
    musl.licenses = vec![License::Expression("MIT OR Apache-2.0".into())];
    let mut openssl = Component::library(
        "openssl-libs",
        "1:3.0.7-24.el9",
        "pkg:rpm/redhat/openssl-libs@3.0.7-24.el9?arch=x86_64&epoch=1",
    );
    openssl.licenses = vec![
        License::Name("ASL 2.0 and some vendor text".into()),
        License::SpdxId("Apache-2.0".into()),
    ];
    openssl.scope = Some(Scope::Required);
    let os = Component {
        id: "os:debian-12".into(),
        kind: ComponentType::OperatingSystem,
        name: "debian".into(),
        version: "12".into(),
        purl: None,
        licenses: vec![],
        supplier: None,
        scope: None,
        properties: vec![("shipgate:layer".into(), "sha256:abc".into())],
    };
    let subject = Component {
        id: "image".into(),
        kind: ComponentType::Container,
        name: "registry.example/app:1.0".into(),
        version: "sha256:0123".into(),
        purl: Some("pkg:oci/app@sha256%3A0123?repository_url=registry.example/app".into()),
        licenses: vec![],
        supplier: None,
        scope: None,
        properties: vec![],
    };
    SbomInput {
        subject,
        relationships: vec![
            Relationship {
                from: "image".into(),
                to: bash.id.clone(),
            },
            Relationship {
                from: bash.id.clone(),
                to: musl.id.clone(),
            },
        ],
        components: vec![os, bash, musl, openssl],
    }
}

#[test]
fn outputs_are_valid_against_official_schemas() {
    let Some(s) = schemas() else { return };
    let cdx_schema = cyclonedx_schema(&s);
    let spdx_dir = s.spdx.parent().unwrap().to_path_buf();
    for input in [project_input(), image_input()] {
        let cdx = cyclonedx_value(&input, &fixed_options()).unwrap();
        validate(&cdx_schema, &s.cyclonedx_dir, &cdx);
        let spdx = spdx_value(&input, &fixed_options()).unwrap();
        validate(&s.spdx, &spdx_dir, &spdx);
    }
}

#[test]
fn schema_validation_catches_a_broken_document() {
    // The validation above must be able to fail: a document without the required fields.
    let Some(s) = schemas() else { return };
    let mut cdx = cyclonedx_value(&image_input(), &fixed_options()).unwrap();
    cdx["components"][0]["type"] = Value::String("not-a-type".into());
    let schema: Value =
        serde_json::from_slice(&std::fs::read(cyclonedx_schema(&s)).unwrap()).unwrap();
    let v = jsonschema::options()
        .with_retriever(DirRetriever(s.cyclonedx_dir.clone()))
        .build(&schema)
        .unwrap();
    assert!(!v.is_valid(&cdx));
    let mut spdx = spdx_value(&image_input(), &fixed_options()).unwrap();
    spdx.as_object_mut().unwrap().remove("creationInfo");
    let schema: Value = serde_json::from_slice(&std::fs::read(&s.spdx).unwrap()).unwrap();
    let v = jsonschema::options().build(&schema).unwrap();
    assert!(!v.is_valid(&spdx));
}

#[test]
fn cyclonedx_content_from_inventory() {
    let cdx = cyclonedx_value(&project_input(), &fixed_options()).unwrap();
    assert_eq!(cdx["specVersion"], "1.6");
    assert_eq!(
        cdx["serialNumber"],
        "urn:uuid:12345678-9abc-def0-1234-56789abcdef0"
    );
    assert_eq!(cdx["metadata"]["timestamp"], "2025-01-02T03:04:05Z");
    assert_eq!(
        cdx["metadata"]["tools"]["components"][0]["name"],
        "shipgate"
    );
    let comps = cdx["components"].as_array().unwrap();
    let purls: Vec<&str> = comps.iter().map(|c| c["purl"].as_str().unwrap()).collect();
    assert_eq!(
        purls,
        vec![
            "pkg:npm/%40scope/a@1.0.0",
            "pkg:npm/b@2.0.0",
            "pkg:npm/c@3.0.0%2Bbuild.1",
            "pkg:pypi/django@4.2.1"
        ]
    );
    let b = &comps[1];
    assert_eq!(b["scope"], "excluded");
    assert!(
        b["properties"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["value"] == "package-lock.json:4")
    );
    let deps = cdx["dependencies"].as_array().unwrap();
    let subject_deps = deps
        .iter()
        .find(|d| d["ref"] == "shipgate:subject:my project")
        .unwrap();
    assert_eq!(
        subject_deps["dependsOn"],
        serde_json::json!(["pkg:npm/%40scope/a@1.0.0", "pkg:npm/b@2.0.0"])
    );
    let a_deps = deps
        .iter()
        .find(|d| d["ref"] == "pkg:npm/%40scope/a@1.0.0")
        .unwrap();
    assert_eq!(
        a_deps["dependsOn"],
        serde_json::json!(["pkg:npm/c@3.0.0%2Bbuild.1"])
    );
}

#[test]
fn spdx_content_and_writers() {
    let input = image_input();
    let spdx = spdx_value(&input, &fixed_options()).unwrap();
    assert_eq!(spdx["spdxVersion"], "SPDX-2.3");
    assert_eq!(
        spdx["documentNamespace"],
        "https://spdx.org/spdxdocs/shipgate/registry.example-app-1.0-12345678-9abc-def0-1234-56789abcdef0"
    );
    assert_eq!(spdx["creationInfo"]["creators"][0], "Tool: shipgate-0.1.0");
    let pkgs = spdx["packages"].as_array().unwrap();
    assert_eq!(pkgs.len(), 5);
    let openssl = pkgs.iter().find(|p| p["name"] == "openssl-libs").unwrap();
    assert_eq!(openssl["licenseDeclared"], "Apache-2.0");
    assert!(
        openssl["licenseComments"]
            .as_str()
            .unwrap()
            .contains("ASL 2.0")
    );
    assert_eq!(openssl["externalRefs"][0]["referenceType"], "purl");
    let rels: Vec<(String, String, String)> = spdx["relationships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["spdxElementId"].as_str().unwrap().to_owned(),
                r["relationshipType"].as_str().unwrap().to_owned(),
                r["relatedSpdxElement"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(rels.len(), 3);
    assert_eq!(rels[0].1, "DESCRIBES");
    assert!(
        rels.iter()
            .all(|r| r.0.starts_with("SPDXRef-") && r.2.starts_with("SPDXRef-"))
    );
    let mut buf = Vec::new();
    write_spdx(&mut buf, &input, &fixed_options()).unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&buf).unwrap(), spdx);
    let mut buf = Vec::new();
    write_cyclonedx(&mut buf, &input, &fixed_options()).unwrap();
    assert!(buf.ends_with(b"}\n"));
}

#[test]
fn invalid_inputs_are_errors() {
    let mut input = image_input();
    input.relationships.push(Relationship {
        from: "image".into(),
        to: "missing".into(),
    });
    let e = cyclonedx_value(&input, &fixed_options()).unwrap_err();
    assert!(e.to_string().contains("missing"));
    let mut input = image_input();
    let dup = input.components[1].clone();
    input.components.push(dup);
    assert!(spdx_value(&input, &fixed_options()).is_err());
}
