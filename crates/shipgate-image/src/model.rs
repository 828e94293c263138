//! Data types: what one layer yields (cached) and what a whole image yields.

use serde::{Deserialize, Serialize};

/// The kind of package database or manifest a package was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageKind {
    /// dpkg (`/var/lib/dpkg/status`, `status.d/`).
    Deb,
    /// apk (`/lib/apk/db/installed`).
    Apk,
    /// RPM database.
    Rpm,
    /// Python distribution (`*.dist-info/METADATA`, `*.egg-info/PKG-INFO`).
    Python,
    /// npm package (`node_modules/**/package.json`).
    Npm,
    /// Maven artifact inside a jar (`META-INF/maven/**/pom.properties`).
    Maven,
    /// Go module from the build info of a Go binary.
    Go,
    /// Rust crate from a cargo-auditable binary.
    Cargo,
    /// RubyGems specification.
    Gem,
    /// A package from a lockfile found in the image (ecosystem given by the lockfile).
    Lockfile,
}

impl PackageKind {
    /// True for distribution packages (matched with the distro ecosystem).
    pub fn is_os(self) -> bool {
        matches!(self, PackageKind::Deb | PackageKind::Apk | PackageKind::Rpm)
    }
}

/// A package as read from one file, before the image's OS is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawPackage {
    /// Which reader produced it.
    pub kind: PackageKind,
    /// Package name (Maven: `group:artifact`; npm: `@scope/name`; PyPI: normalised).
    pub name: String,
    /// Version as the package database states it (RPM: `[epoch:]version-release`).
    pub version: String,
    /// Source package name (dpkg `Source:`, apk origin, RPM source rpm name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    /// Source package version when it differs from the binary version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    /// Architecture, where the database says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// Explicit OSV ecosystem (lockfile packages), otherwise derived from `kind`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem: Option<String>,
    /// Path inside an archive (`app.jar!BOOT-INF/lib/x.jar`), when not the file itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inner_path: Option<String>,
    /// purl given by the reader (lockfile packages); otherwise built at merge time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

impl RawPackage {
    pub(crate) fn new(
        kind: PackageKind,
        name: impl Into<String>,
        version: impl Into<String>,
    ) -> Self {
        RawPackage {
            kind,
            name: name.into(),
            version: version.into(),
            source_name: None,
            source_version: None,
            arch: None,
            ecosystem: None,
            inner_path: None,
            purl: None,
        }
    }
}

/// Which OS identification file a layer entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OsFileKind {
    /// `/etc/os-release` or `/usr/lib/os-release`.
    OsRelease,
    /// `/etc/debian_version`.
    DebianVersion,
    /// `/etc/alpine-release`.
    AlpineRelease,
    /// `/etc/redhat-release` (and `/etc/centos-release`, `/etc/rocky-release`...).
    RedhatRelease,
}

/// What one file of interest in one layer produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum FileResult {
    /// An OS identification file, kept verbatim (it is small).
    OsFile {
        /// Which one.
        kind: OsFileKind,
        /// Its text.
        content: String,
    },
    /// A symbolic link at an OS identification path (os-release usually is one).
    Symlink {
        /// The link target as stored.
        target: String,
    },
    /// Packages read from the file (possibly none).
    Packages {
        /// The packages.
        packages: Vec<RawPackage>,
        /// Problems met while reading this file (the packages read are still kept).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        problems: Vec<String>,
    },
    /// A hard link to another path; resolved when layers are merged.
    HardLink {
        /// The link target (root-relative).
        target: String,
    },
}

/// One file of interest found in a layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Root-relative path, `/`-separated, no leading slash.
    pub path: String,
    /// What it yielded.
    pub result: FileResult,
}

/// The analysis of one layer: what the cache stores, keyed by layer digest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerAnalysis {
    /// Files of interest, in archive order.
    pub entries: Vec<FileEntry>,
    /// Paths removed by whiteouts (`.wh.<name>`).
    pub whiteouts: Vec<String>,
    /// Directories made opaque (`.wh..wh..opq`): lower layers' content hidden.
    pub opaque_dirs: Vec<String>,
    /// Entries skipped for safety (`../` escapes and the like), with the reason.
    pub problems: Vec<String>,
    /// Number of tar entries seen.
    pub entry_count: u64,
    /// Uncompressed size of the layer tar.
    pub uncompressed_bytes: u64,
}

/// The layer a package came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRef {
    /// Position in the image, 0 = base.
    pub index: usize,
    /// Layer (blob) digest, `sha256:...`; `None` for a root filesystem directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Uncompressed layer digest from the image config (`rootfs.diff_ids`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff_id: Option<String>,
    /// The history entry (`created_by`) that created the layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

/// The operating system of an image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsInfo {
    /// os-release `ID` (`debian`, `ubuntu`, `alpine`, `rocky`...).
    pub id: String,
    /// os-release `VERSION_ID` (or the version from a release file).
    pub version_id: Option<String>,
    /// `PRETTY_NAME`, if any.
    pub pretty_name: Option<String>,
    /// The OSV ecosystem its packages are matched in (`Debian:12`, `Alpine:v3.19`...),
    /// `None` when OSV has none for it.
    pub ecosystem: Option<String>,
    /// Which file identified it.
    pub source_file: String,
}

/// A package found in an image, ready for matching and for an SBOM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImagePackage {
    /// Reader that produced it.
    pub kind: PackageKind,
    /// OSV ecosystem (`Debian:12`, `Alpine:v3.19`, `PyPI`, `Go`, ...); `None` when
    /// the OS could not be identified or OSV has no ecosystem for it.
    pub ecosystem: Option<String>,
    /// Package name.
    pub name: String,
    /// Installed version.
    pub version: String,
    /// Source package name (dpkg/apk/rpm), used for Debian/Ubuntu matching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    /// Source package version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    /// Architecture, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// Package URL.
    pub purl: String,
    /// The file it was read from (root-relative), with `!inner/path` for archives.
    pub path: String,
    /// The layer that last wrote that file.
    pub layer: LayerRef,
}

/// A problem met while scanning that did not stop the scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    /// The file inside the image (or the layer) concerned.
    pub path: Option<String>,
    /// Layer digest, if any.
    pub layer: Option<String>,
    /// What happened.
    pub message: String,
}

/// Everything a scan of one image found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageScan {
    /// The image as given.
    pub target: String,
    /// Manifest digest, when the image has one.
    pub manifest_digest: Option<String>,
    /// The platform scanned (`linux/amd64`...), when known.
    pub platform: Option<String>,
    /// The layers, base first.
    pub layers: Vec<LayerRef>,
    /// The operating system, if identified.
    pub os: Option<OsInfo>,
    /// All packages, sorted by ecosystem, name, version, path.
    pub packages: Vec<ImagePackage>,
    /// Problems that did not stop the scan (the CLI exits 2 if any).
    pub issues: Vec<Issue>,
    /// Informational notes (platform chosen, cache hits, unidentified OS...).
    pub notes: Vec<String>,
}
