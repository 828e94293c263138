//! The inventory model: packages, edges, lockfiles.

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

use crate::DepsError;
use crate::kind::LockfileKind;

/// A package ecosystem, named as in OSV advisories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Ecosystem {
    /// Rust crates (`crates.io`).
    #[serde(rename = "crates.io")]
    CratesIo,
    /// npm, yarn and pnpm packages (`npm`).
    #[serde(rename = "npm")]
    Npm,
    /// Python packages (`PyPI`).
    #[serde(rename = "PyPI")]
    PyPI,
    /// Go modules (`Go`).
    #[serde(rename = "Go")]
    Go,
    /// Ruby gems (`RubyGems`).
    #[serde(rename = "RubyGems")]
    RubyGems,
    /// PHP Composer packages (`Packagist`).
    #[serde(rename = "Packagist")]
    Packagist,
    /// Maven artifacts, `group:artifact` (`Maven`).
    #[serde(rename = "Maven")]
    Maven,
    /// .NET packages (`NuGet`).
    #[serde(rename = "NuGet")]
    NuGet,
    /// Dart and Flutter packages (`Pub`).
    #[serde(rename = "Pub")]
    Pub,
}

impl Ecosystem {
    /// Every ecosystem, in a stable order.
    pub const ALL: [Ecosystem; 9] = [
        Ecosystem::CratesIo,
        Ecosystem::Npm,
        Ecosystem::PyPI,
        Ecosystem::Go,
        Ecosystem::RubyGems,
        Ecosystem::Packagist,
        Ecosystem::Maven,
        Ecosystem::NuGet,
        Ecosystem::Pub,
    ];

    /// The OSV ecosystem name (`crates.io`, `npm`, `PyPI`, ...), as used by the vulnerability DB.
    pub fn osv_name(self) -> &'static str {
        match self {
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::Npm => "npm",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Go => "Go",
            Ecosystem::RubyGems => "RubyGems",
            Ecosystem::Packagist => "Packagist",
            Ecosystem::Maven => "Maven",
            Ecosystem::NuGet => "NuGet",
            Ecosystem::Pub => "Pub",
        }
    }

    /// Looks an ecosystem up by its OSV name (exact match).
    pub fn from_osv_name(name: &str) -> Option<Ecosystem> {
        Ecosystem::ALL.into_iter().find(|e| e.osv_name() == name)
    }

    /// The purl type (`cargo`, `npm`, `pypi`, `golang`, `gem`, `composer`, `maven`, `nuget`, `pub`).
    pub fn purl_type(self) -> &'static str {
        match self {
            Ecosystem::CratesIo => "cargo",
            Ecosystem::Npm => "npm",
            Ecosystem::PyPI => "pypi",
            Ecosystem::Go => "golang",
            Ecosystem::RubyGems => "gem",
            Ecosystem::Packagist => "composer",
            Ecosystem::Maven => "maven",
            Ecosystem::NuGet => "nuget",
            Ecosystem::Pub => "pub",
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.osv_name())
    }
}

/// Whether the project asks for a package itself or gets it through another package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Relationship {
    /// Declared by the project itself.
    Direct,
    /// Pulled in by another package.
    Transitive,
    /// The file does not say.
    #[default]
    Unknown,
}

/// One package version found in a dependency file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Package {
    /// The OSV ecosystem.
    pub ecosystem: Ecosystem,
    /// The name as the ecosystem spells it (`@scope/name`, `group:artifact`, `github.com/x/y`).
    pub name: String,
    /// The exact version (Go versions keep their `v` prefix, as OSV expects).
    pub version: String,
    /// Package URL, e.g. `pkg:npm/%40babel/core@7.0.0`.
    pub purl: String,
    /// Direct or transitive, where the file says.
    pub relationship: Relationship,
    /// Only needed for development (devDependencies, `category = "dev"`, `develop` section, ...).
    pub dev: bool,
    /// Optional dependency (npm/pnpm optional, poetry extras, ...).
    pub optional: bool,
    /// The file the package came from, as displayed to the user.
    pub path: String,
    /// The 1-based line where the package is declared, when it could be located.
    pub line: Option<u32>,
}

/// A dependency edge: `packages[from]` depends on `packages[to]` (indices into
/// [`Lockfile::packages`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Dependency {
    /// Index of the depending package.
    pub from: usize,
    /// Index of the package depended upon.
    pub to: usize,
}

/// Something the user should know that is not an error, e.g. an unpinned requirement that was
/// skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Note {
    /// The file, as displayed to the user.
    pub path: String,
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// The note text.
    pub message: String,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            crate::error::location(&self.path, self.line, None),
            self.message
        )
    }
}

/// The result of parsing one dependency file.
#[derive(Debug)]
pub struct Lockfile {
    /// The file, as displayed to the user (relative to the scan root with `/` separators when
    /// it came from [`crate::scan_dir`]).
    pub path: String,
    /// The format it was parsed as.
    pub kind: LockfileKind,
    /// Packages, one per distinct (name, version), in file order.
    pub packages: Vec<Package>,
    /// Dependency edges between `packages`, where the file records them. Sorted, no duplicates.
    pub dependencies: Vec<Dependency>,
    /// Problems found; the packages that could be read are still in `packages`.
    pub errors: Vec<DepsError>,
    /// Informational notes (skipped entries, files not followed, ...).
    pub notes: Vec<Note>,
}

impl Lockfile {
    /// Whether the file recorded edges at all (so an SBOM can tell "no deps" from "unknown").
    pub fn has_dependency_graph(&self) -> bool {
        !self.dependencies.is_empty()
    }
}

/// Everything found under a scan root.
#[derive(Debug, Default)]
pub struct Inventory {
    /// The parsed files, in path order.
    pub lockfiles: Vec<Lockfile>,
    /// Problems outside any one file (unreadable directories, ...).
    pub errors: Vec<DepsError>,
}

impl Inventory {
    /// Every package of every file.
    pub fn packages(&self) -> impl Iterator<Item = &Package> {
        self.lockfiles.iter().flat_map(|l| l.packages.iter())
    }

    /// Every error: walk errors, then each file's errors.
    pub fn errors(&self) -> impl Iterator<Item = &DepsError> {
        self.errors
            .iter()
            .chain(self.lockfiles.iter().flat_map(|l| l.errors.iter()))
    }

    /// Every note of every file.
    pub fn notes(&self) -> impl Iterator<Item = &Note> {
        self.lockfiles.iter().flat_map(|l| l.notes.iter())
    }
}

/// Accumulates packages for one file, merging repeats of the same (name, version).
pub(crate) struct Builder {
    pub(crate) path: String,
    kind: LockfileKind,
    ecosystem: Ecosystem,
    packages: Vec<Package>,
    index: HashMap<(String, String), usize>,
    edges: Vec<Dependency>,
    pub(crate) errors: Vec<DepsError>,
    pub(crate) notes: Vec<Note>,
}

/// Flags for a package being added.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Flags {
    pub(crate) relationship: Relationship,
    pub(crate) dev: bool,
    pub(crate) optional: bool,
}

impl Flags {
    pub(crate) fn direct() -> Self {
        Flags {
            relationship: Relationship::Direct,
            ..Flags::default()
        }
    }
    pub(crate) fn transitive() -> Self {
        Flags {
            relationship: Relationship::Transitive,
            ..Flags::default()
        }
    }
    pub(crate) fn with_dev(mut self, dev: bool) -> Self {
        self.dev = dev;
        self
    }
    pub(crate) fn with_optional(mut self, optional: bool) -> Self {
        self.optional = optional;
        self
    }
}

impl Builder {
    pub(crate) fn new(path: &str, kind: LockfileKind) -> Self {
        Builder {
            path: path.to_owned(),
            kind,
            ecosystem: kind.ecosystem(),
            packages: Vec::new(),
            index: HashMap::new(),
            edges: Vec::new(),
            errors: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Adds a package (or merges flags into an existing one) and returns its index.
    ///
    /// Merging: direct wins over transitive over unknown; a package is dev (optional) only if
    /// every occurrence is; the first line is kept.
    pub(crate) fn add(
        &mut self,
        name: &str,
        version: &str,
        line: Option<u32>,
        flags: Flags,
    ) -> usize {
        if let Some(&i) = self.index.get(&(name.to_owned(), version.to_owned())) {
            let p = &mut self.packages[i];
            p.relationship = match (p.relationship, flags.relationship) {
                (Relationship::Direct, _) | (_, Relationship::Direct) => Relationship::Direct,
                (Relationship::Transitive, _) | (_, Relationship::Transitive) => {
                    Relationship::Transitive
                }
                _ => Relationship::Unknown,
            };
            p.dev &= flags.dev;
            p.optional &= flags.optional;
            if p.line.is_none() {
                p.line = line;
            }
            return i;
        }
        let i = self.packages.len();
        self.packages.push(Package {
            ecosystem: self.ecosystem,
            name: name.to_owned(),
            version: version.to_owned(),
            purl: crate::purl::for_package(self.ecosystem, name, version),
            relationship: flags.relationship,
            dev: flags.dev,
            optional: flags.optional,
            path: self.path.clone(),
            line,
        });
        self.index.insert((name.to_owned(), version.to_owned()), i);
        i
    }

    pub(crate) fn package_mut(&mut self, index: usize) -> &mut Package {
        &mut self.packages[index]
    }

    pub(crate) fn len(&self) -> usize {
        self.packages.len()
    }

    /// Records `from -> to` (self-edges are dropped).
    pub(crate) fn edge(&mut self, from: usize, to: usize) {
        if from != to {
            self.edges.push(Dependency { from, to });
        }
    }

    pub(crate) fn error(&mut self, line: Option<u32>, message: impl Into<String>) {
        self.errors
            .push(DepsError::syntax(&self.path, line, message.into()));
    }

    pub(crate) fn note(&mut self, line: Option<u32>, message: impl Into<String>) {
        self.notes.push(Note {
            path: self.path.clone(),
            line,
            message: message.into(),
        });
    }

    pub(crate) fn finish(mut self) -> Lockfile {
        self.edges.sort_unstable();
        self.edges.dedup();
        Lockfile {
            path: self.path,
            kind: self.kind,
            packages: self.packages,
            dependencies: self.edges,
            errors: self.errors,
            notes: self.notes,
        }
    }
}
