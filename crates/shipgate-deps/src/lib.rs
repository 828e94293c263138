//! Lockfile and manifest parsers that turn dependency files into an [`Inventory`] of packages.
//!
//! What it does:
//! - Parses the lockfiles and manifests of nine ecosystems (see [`LockfileKind`]) from bytes,
//!   so the same parsers serve a checked-out repository and files found inside container images.
//! - Gives every package its OSV ecosystem name, a purl, whether it is a direct or transitive
//!   dependency and whether it is dev-only or optional (where the file says so), and the file
//!   and line it was declared on.
//! - Records dependency edges (who depends on whom) where the lockfile has them, for SBOMs.
//! - Walks a directory tree to find lockfiles, skipping `node_modules`, `vendor`, `target` and
//!   `.git` by default ([`scan_dir`]).
//! - Parses OpenVEX documents and answers "which statement suppresses this advisory for this
//!   package?" ([`vex`]).
//!
//! What it deliberately does not do:
//! - No version ordering or advisory storage: that is `shipgate-vulndb`; [`scan`] only asks the
//!   database about each inventory package and turns the answers into report findings.
//! - No network access and no dependency resolution: a manifest without a lockfile yields the
//!   versions it declares (pom.xml) or nothing with a note (unpinned requirements).
//! - No printing: problems are returned as [`DepsError`] values next to the packages that did
//!   parse, never written to a terminal.
#![warn(clippy::print_stdout, clippy::print_stderr)]

mod error;
mod fuzz;
mod kind;
mod model;
pub mod parsers;
pub mod purl;
pub mod scan;
mod text;
pub mod vex;
mod walk;

pub use error::DepsError;
pub use fuzz::fuzz_lockfile;
pub use kind::{LockfileKind, NoSiblings, ParseContext, parse_lockfile, parse_lockfile_with};
pub use model::{Dependency, Ecosystem, Inventory, Lockfile, Note, Package, Relationship};
pub use walk::{WalkOptions, parse_file, parse_file_as, scan_dir};
