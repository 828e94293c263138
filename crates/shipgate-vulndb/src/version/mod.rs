//! Per-ecosystem version ordering.
//!
//! Each OSV ecosystem maps to one [`Scheme`]; [`Scheme::parse`] turns a
//! version string into a [`Version`] that compares with others of the same
//! scheme. Parsing is lenient the way the ecosystems' own tools are (so real
//! data compares the way the package manager would), never panics, and fails
//! only on versions that cannot be ordered at all (empty, whitespace or
//! control characters, a Debian epoch that is not a number, ...).
//!
//! The orderings are checked against the osv-scalibr version vectors (see
//! `tests/conformance.rs`), which encode the native tools' behaviour:
//! `packaging` for PyPI, Maven's `ComparableVersion`, `Gem::Version`, PHP's
//! `version_compare`, dpkg, rpm, apk, R's `package_version`, ...

mod alpine;
mod debian;
mod maven;
mod num;
mod packagist;
mod pep440;
mod rpm;
mod rubygems;
mod semverlike;

pub use alpine::AlpineVersion;
pub use debian::DebianVersion;
pub use maven::MavenVersion;
pub use pep440::Pep440;
pub use rpm::RpmVersion;
pub use semverlike::SemverLike;

use std::cmp::Ordering;

/// A version ordering scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Scheme {
    /// SemVer 2.0 (crates.io, npm, Go, Hex, SwiftURL, ConanCenter, Bitnami, ...).
    SemVer,
    /// NuGet (four numeric parts, case-insensitive pre-release).
    NuGet,
    /// Dart Pub (SemVer where build metadata also orders).
    Pub,
    /// Hackage (Haskell PVP).
    Hackage,
    /// CRAN / Bioconductor (R `package_version`).
    Cran,
    /// PEP 440 (PyPI).
    Pep440,
    /// Maven `ComparableVersion`.
    Maven,
    /// RubyGems `Gem::Version`.
    RubyGems,
    /// Composer / PHP `version_compare` (Packagist).
    Packagist,
    /// dpkg (Debian, Ubuntu).
    Debian,
    /// rpm EVR (Red Hat, AlmaLinux, Rocky Linux, SUSE, openSUSE, ...).
    Rpm,
    /// apk (Alpine, Wolfi, Chainguard, MinimOS).
    Alpine,
}

/// A parsed version of some [`Scheme`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Version {
    /// SemVer 2.0.
    SemVer(SemverLike),
    /// NuGet.
    NuGet(SemverLike),
    /// Pub.
    Pub(SemverLike),
    /// Hackage.
    Hackage(SemverLike),
    /// CRAN: numeric components.
    Cran(Vec<String>),
    /// PEP 440 (or legacy).
    Pep440(Pep440),
    /// Maven.
    Maven(MavenVersion),
    /// RubyGems canonical segments.
    RubyGems(Vec<String>),
    /// Packagist canonical components.
    Packagist(Vec<String>),
    /// Debian.
    Debian(DebianVersion),
    /// RPM.
    Rpm(RpmVersion),
    /// Alpine.
    Alpine(AlpineVersion),
}

/// Why a version string cannot be ordered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {scheme:?} version {version:?}: {reason}")]
pub struct VersionError {
    /// The scheme the version was parsed with.
    pub scheme: Scheme,
    /// The offending version (truncated to 200 characters).
    pub version: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Scheme {
    /// Parses `s` under this scheme.
    pub fn parse(self, s: &str) -> Result<Version, VersionError> {
        let err = |reason: &str| VersionError {
            scheme: self,
            version: s.chars().take(200).collect(),
            reason: reason.to_owned(),
        };
        if s.is_empty() {
            return Err(err("the version is empty"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err("the version contains whitespace or control characters"));
        }
        Ok(match self {
            Scheme::SemVer => {
                let v = SemverLike::parse(s, Some(3));
                if v.components.is_empty() {
                    return Err(err("a SemVer version must start with a number"));
                }
                Version::SemVer(v)
            }
            Scheme::NuGet => {
                let v = SemverLike::parse(s, Some(4));
                if v.components.is_empty() {
                    return Err(err("a NuGet version must start with a number"));
                }
                Version::NuGet(v)
            }
            Scheme::Pub => {
                let v = SemverLike::parse(s, Some(3));
                if v.components.is_empty() {
                    return Err(err("a Pub version must start with a number"));
                }
                Version::Pub(v)
            }
            Scheme::Hackage => {
                let v = SemverLike::parse(s, None);
                if v.components.is_empty() || !v.build.is_empty() {
                    return Err(err("a Hackage version is numbers separated by dots"));
                }
                Version::Hackage(v)
            }
            Scheme::Cran => {
                let v = semverlike::parse_cran(s);
                if v.is_empty() {
                    return Err(err("a CRAN version is numbers separated by '.' or '-'"));
                }
                Version::Cran(v)
            }
            Scheme::Pep440 => Version::Pep440(Pep440::parse(s)),
            Scheme::Maven => Version::Maven(MavenVersion::parse(s)),
            Scheme::RubyGems => Version::RubyGems(rubygems::parse(s)),
            Scheme::Packagist => Version::Packagist(packagist::parse(s)),
            Scheme::Debian => Version::Debian(DebianVersion::parse(s).map_err(|r| err(&r))?),
            Scheme::Rpm => Version::Rpm(RpmVersion::parse(s)),
            Scheme::Alpine => Version::Alpine(AlpineVersion::parse(s)),
        })
    }

    /// Compares two version strings under this scheme.
    pub fn compare(self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        Ok(self.parse(a)?.cmp_same(&self.parse(b)?))
    }
}

impl Version {
    /// Compares two versions. Versions of different schemes never meet in
    /// practice (they come from one ecosystem); they compare as equal.
    pub fn cmp_same(&self, other: &Version) -> Ordering {
        use Version as V;
        match (self, other) {
            (V::SemVer(a), V::SemVer(b)) => semverlike::cmp_semver_parsed(a, b),
            (V::NuGet(a), V::NuGet(b)) => semverlike::cmp_nuget_parsed(a, b),
            (V::Pub(a), V::Pub(b)) => semverlike::cmp_pub_parsed(a, b),
            (V::Hackage(a), V::Hackage(b)) => semverlike::cmp_hackage_parsed(a, b),
            (V::Cran(a), V::Cran(b)) => semverlike::cmp_cran_parsed(a, b),
            (V::Pep440(a), V::Pep440(b)) => a.cmp(b),
            (V::Maven(a), V::Maven(b)) => a.cmp(b),
            (V::RubyGems(a), V::RubyGems(b)) => rubygems::cmp_parsed(a, b),
            (V::Packagist(a), V::Packagist(b)) => packagist::cmp_parsed(a, b),
            (V::Debian(a), V::Debian(b)) => a.cmp(b),
            (V::Rpm(a), V::Rpm(b)) => a.cmp(b),
            (V::Alpine(a), V::Alpine(b)) => a.cmp(b),
            _ => Ordering::Equal,
        }
    }
}
