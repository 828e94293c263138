//! CycloneDX 1.6 and SPDX 2.3 JSON software bills of materials.
//!
//! What it does:
//! - Takes a generic [`SbomInput`] — the subject (a project or an image), its components
//!   (name, version, purl, type, licenses, supplier, scope, properties) and "depends on"
//!   relationships — and writes it as CycloneDX 1.6 JSON ([`write_cyclonedx`]) or SPDX 2.3 JSON
//!   ([`write_spdx`]), with tool metadata, a serial number / document namespace and a timestamp.
//! - Builds that input from a `shipgate-deps` [`Inventory`] ([`SbomInput::from_inventory`]);
//!   the image scanner builds it from OS packages (deb/apk/rpm purls) the same way.
//!
//! What it deliberately does not do:
//! - No reading or merging of existing SBOMs, no XML or tag-value output, no signing.
//! - No license detection: licenses are passed in, already classified as SPDX ids,
//!   expressions or free text ([`License`]).
//! - No printing: writers take `impl Write`.
#![warn(clippy::print_stdout, clippy::print_stderr)]

mod cyclonedx;
mod input;
mod spdx;

pub use cyclonedx::{cyclonedx_value, write_cyclonedx};
pub use input::{Component, ComponentType, License, Relationship, SbomInput, SbomOptions, Scope};
pub use spdx::{spdx_value, write_spdx};

/// The tool name written into SBOM metadata.
pub const TOOL_NAME: &str = "shipgate";

/// Errors from building or writing an SBOM.
#[derive(Debug, thiserror::Error)]
pub enum SbomError {
    /// Two components share an id (`bom-ref`); ids must be unique within a document.
    #[error("duplicate component id {id:?}; every component needs a unique id")]
    DuplicateId {
        /// The repeated id.
        id: String,
    },
    /// A relationship names a component that is not in the input.
    #[error(
        "relationship {from:?} -> {to:?} refers to an unknown component id; add the component or drop the relationship"
    )]
    UnknownReference {
        /// The depending component id.
        from: String,
        /// The depended-upon component id.
        to: String,
    },
    /// Writing the output failed.
    #[error("cannot write the SBOM: {source}")]
    Write {
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
}
