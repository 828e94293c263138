//! The generic SBOM input model and its construction from a dependency inventory.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use shipgate_deps::{Inventory, Relationship as DepRelationship};

use crate::SbomError;

/// What kind of thing a component is (CycloneDX component types; mapped to SPDX
/// `primaryPackagePurpose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ComponentType {
    /// A software project or service being described.
    Application,
    /// A library or package (language and OS packages).
    Library,
    /// A framework.
    Framework,
    /// A container image.
    Container,
    /// An operating system (the distro of an image).
    OperatingSystem,
    /// A file.
    File,
}

/// Whether a component is needed at run time (CycloneDX `scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Needed at run time.
    Required,
    /// Optional at run time.
    Optional,
    /// Not part of the runtime (development and test dependencies).
    Excluded,
}

/// A license as known to the producer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum License {
    /// A single SPDX license identifier (`MIT`).
    SpdxId(String),
    /// An SPDX license expression (`MIT OR Apache-2.0`).
    Expression(String),
    /// Free text that is not an SPDX identifier (e.g. from a Debian copyright file).
    Name(String),
}

/// One component of the SBOM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// Unique id within the document (used as CycloneDX `bom-ref`); usually the purl.
    pub id: String,
    /// The component type.
    pub kind: ComponentType,
    /// The name as the ecosystem spells it.
    pub name: String,
    /// The version (may be empty when unknown).
    pub version: String,
    /// Package URL, e.g. `pkg:deb/debian/bash@5.2-2?arch=amd64&distro=debian-12`.
    pub purl: Option<String>,
    /// Declared licenses.
    pub licenses: Vec<License>,
    /// The supplier (organisation or person), when known.
    pub supplier: Option<String>,
    /// Runtime scope, when known.
    pub scope: Option<Scope>,
    /// Extra `name = value` properties (CycloneDX `properties`; SPDX package comment).
    pub properties: Vec<(String, String)>,
}

impl Component {
    /// A library component whose id is its purl.
    pub fn library(name: &str, version: &str, purl: &str) -> Component {
        Component {
            id: purl.to_owned(),
            kind: ComponentType::Library,
            name: name.to_owned(),
            version: version.to_owned(),
            purl: Some(purl.to_owned()),
            licenses: Vec::new(),
            supplier: None,
            scope: None,
            properties: Vec::new(),
        }
    }
}

/// "`from` depends on `to`", by component id (the subject's id is allowed as `from`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Relationship {
    /// The depending component id.
    pub from: String,
    /// The depended-upon component id.
    pub to: String,
}

/// Everything an SBOM is made from.
#[derive(Debug, Clone)]
pub struct SbomInput {
    /// What the SBOM describes (a project directory, an image). Its id must differ from every
    /// component id.
    pub subject: Component,
    /// The components.
    pub components: Vec<Component>,
    /// Known dependency relationships.
    pub relationships: Vec<Relationship>,
}

/// Per-document values; [`SbomOptions::new`] uses the current time and a random UUID.
#[derive(Debug, Clone)]
pub struct SbomOptions {
    /// Creation time.
    pub timestamp: jiff::Timestamp,
    /// Serial number (CycloneDX `serialNumber`, part of the SPDX `documentNamespace`).
    pub serial: uuid::Uuid,
    /// The producing tool's version.
    pub tool_version: String,
}

impl SbomOptions {
    /// Now, a random v4 UUID, and this crate's version as the tool version.
    pub fn new() -> Self {
        SbomOptions {
            timestamp: jiff::Timestamp::now(),
            serial: uuid::Uuid::new_v4(),
            tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

impl Default for SbomOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl SbomInput {
    /// Builds the input from a dependency inventory.
    ///
    /// Components are deduplicated by purl across files (each keeps a `shipgate:location`
    /// property per place it was declared) and sorted by purl. Dev-only packages get scope
    /// `excluded`, optional ones `optional`, others `required`. Direct dependencies become
    /// relationships of the subject; lockfile edges become relationships between components.
    pub fn from_inventory(subject_name: &str, inventory: &Inventory) -> SbomInput {
        let mut by_purl: BTreeMap<String, Component> = BTreeMap::new();
        let mut all_dev: BTreeMap<String, (bool, bool)> = BTreeMap::new();
        let mut relationships = BTreeSet::new();
        let subject_id = format!("shipgate:subject:{subject_name}");
        for lock in &inventory.lockfiles {
            for p in &lock.packages {
                let c = by_purl.entry(p.purl.clone()).or_insert_with(|| {
                    let mut c = Component::library(&p.name, &p.version, &p.purl);
                    c.properties
                        .push(("shipgate:ecosystem".into(), p.ecosystem.osv_name().into()));
                    c
                });
                let location = match p.line {
                    Some(l) => format!("{}:{l}", p.path),
                    None => p.path.clone(),
                };
                let prop = ("shipgate:location".to_owned(), location);
                if !c.properties.contains(&prop) {
                    c.properties.push(prop);
                }
                let flags = all_dev.entry(p.purl.clone()).or_insert((true, true));
                flags.0 &= p.dev;
                flags.1 &= p.optional;
                if p.relationship == DepRelationship::Direct {
                    relationships.insert(Relationship {
                        from: subject_id.clone(),
                        to: p.purl.clone(),
                    });
                }
            }
            for d in &lock.dependencies {
                let (Some(from), Some(to)) = (lock.packages.get(d.from), lock.packages.get(d.to))
                else {
                    continue;
                };
                if from.purl != to.purl {
                    relationships.insert(Relationship {
                        from: from.purl.clone(),
                        to: to.purl.clone(),
                    });
                }
            }
        }
        for (purl, (dev, optional)) in all_dev {
            if let Some(c) = by_purl.get_mut(&purl) {
                c.scope = Some(if dev {
                    Scope::Excluded
                } else if optional {
                    Scope::Optional
                } else {
                    Scope::Required
                });
            }
        }
        SbomInput {
            subject: Component {
                id: subject_id,
                kind: ComponentType::Application,
                name: subject_name.to_owned(),
                version: String::new(),
                purl: None,
                licenses: Vec::new(),
                supplier: None,
                scope: None,
                properties: Vec::new(),
            },
            components: by_purl.into_values().collect(),
            relationships: relationships.into_iter().collect(),
        }
    }

    /// Checks that ids are unique and relationships refer to known ids.
    pub fn validate(&self) -> Result<(), SbomError> {
        let mut ids = HashSet::new();
        for c in std::iter::once(&self.subject).chain(&self.components) {
            if !ids.insert(c.id.as_str()) {
                return Err(SbomError::DuplicateId { id: c.id.clone() });
            }
        }
        for r in &self.relationships {
            if !ids.contains(r.from.as_str()) || !ids.contains(r.to.as_str()) {
                return Err(SbomError::UnknownReference {
                    from: r.from.clone(),
                    to: r.to.clone(),
                });
            }
        }
        Ok(())
    }

    /// Relationships grouped by source id, sorted, for writers.
    pub(crate) fn depends_on(&self) -> BTreeMap<&str, Vec<&str>> {
        let mut map: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for r in &self.relationships {
            map.entry(r.from.as_str()).or_default().push(r.to.as_str());
        }
        for v in map.values_mut() {
            v.sort_unstable();
            v.dedup();
        }
        map
    }
}
