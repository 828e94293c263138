//! Which format a file is, and the dispatch from format to parser.

use serde::Serialize;

use crate::model::{Ecosystem, Lockfile};
use crate::{DepsError, parsers};

/// A supported dependency file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockfileKind {
    /// `Cargo.lock` (v1-v4).
    CargoLock,
    /// `package-lock.json` (v1, v2, v3) and `npm-shrinkwrap.json`.
    NpmLock,
    /// `yarn.lock`, classic (v1) and berry (v2+).
    YarnLock,
    /// `pnpm-lock.yaml`, lockfile versions 5.x to 9.
    PnpmLock,
    /// `requirements.txt` and friends (pinned `==` lines, `-r` includes).
    Requirements,
    /// `poetry.lock`.
    PoetryLock,
    /// `Pipfile.lock`.
    PipfileLock,
    /// `uv.lock`.
    UvLock,
    /// `pdm.lock`.
    PdmLock,
    /// `go.mod` (with `go.sum` beside it for Go < 1.17 modules).
    GoMod,
    /// `Gemfile.lock` / `gems.locked`.
    GemfileLock,
    /// `composer.lock`.
    ComposerLock,
    /// Maven `pom.xml` (declared versions, simple property substitution).
    PomXml,
    /// `gradle.lockfile`.
    GradleLockfile,
    /// NuGet `packages.lock.json`.
    NugetLock,
    /// `pubspec.lock`.
    PubspecLock,
}

impl LockfileKind {
    /// Every kind.
    pub const ALL: [LockfileKind; 16] = [
        LockfileKind::CargoLock,
        LockfileKind::NpmLock,
        LockfileKind::YarnLock,
        LockfileKind::PnpmLock,
        LockfileKind::Requirements,
        LockfileKind::PoetryLock,
        LockfileKind::PipfileLock,
        LockfileKind::UvLock,
        LockfileKind::PdmLock,
        LockfileKind::GoMod,
        LockfileKind::GemfileLock,
        LockfileKind::ComposerLock,
        LockfileKind::PomXml,
        LockfileKind::GradleLockfile,
        LockfileKind::NugetLock,
        LockfileKind::PubspecLock,
    ];

    /// Recognises a dependency file by its file name (the last path component).
    ///
    /// Requirements files are recognised as `requirements.txt`, `requirements-*.txt`,
    /// `requirements_*.txt`, `*-requirements.txt`, `*.requirements.txt` and `requirements.in`
    /// is not (it is an input to pip-compile, not pinned).
    pub fn detect(file_name: &str) -> Option<LockfileKind> {
        let kind = match file_name {
            "Cargo.lock" => LockfileKind::CargoLock,
            "package-lock.json" | "npm-shrinkwrap.json" => LockfileKind::NpmLock,
            "yarn.lock" => LockfileKind::YarnLock,
            "pnpm-lock.yaml" => LockfileKind::PnpmLock,
            "poetry.lock" => LockfileKind::PoetryLock,
            "Pipfile.lock" => LockfileKind::PipfileLock,
            "uv.lock" => LockfileKind::UvLock,
            "pdm.lock" => LockfileKind::PdmLock,
            "go.mod" => LockfileKind::GoMod,
            "Gemfile.lock" | "gems.locked" => LockfileKind::GemfileLock,
            "composer.lock" => LockfileKind::ComposerLock,
            "pom.xml" => LockfileKind::PomXml,
            "gradle.lockfile" | "buildscript-gradle.lockfile" => LockfileKind::GradleLockfile,
            "packages.lock.json" => LockfileKind::NugetLock,
            "pubspec.lock" => LockfileKind::PubspecLock,
            name if is_requirements_name(name) => LockfileKind::Requirements,
            _ => return None,
        };
        Some(kind)
    }

    /// The ecosystem of the packages in this kind of file.
    pub fn ecosystem(self) -> Ecosystem {
        match self {
            LockfileKind::CargoLock => Ecosystem::CratesIo,
            LockfileKind::NpmLock | LockfileKind::YarnLock | LockfileKind::PnpmLock => {
                Ecosystem::Npm
            }
            LockfileKind::Requirements
            | LockfileKind::PoetryLock
            | LockfileKind::PipfileLock
            | LockfileKind::UvLock
            | LockfileKind::PdmLock => Ecosystem::PyPI,
            LockfileKind::GoMod => Ecosystem::Go,
            LockfileKind::GemfileLock => Ecosystem::RubyGems,
            LockfileKind::ComposerLock => Ecosystem::Packagist,
            LockfileKind::PomXml | LockfileKind::GradleLockfile => Ecosystem::Maven,
            LockfileKind::NugetLock => Ecosystem::NuGet,
            LockfileKind::PubspecLock => Ecosystem::Pub,
        }
    }

    /// A short stable name (`cargo-lock`, `npm-lock`, ...), as serialised.
    pub fn name(self) -> &'static str {
        match self {
            LockfileKind::CargoLock => "cargo-lock",
            LockfileKind::NpmLock => "npm-lock",
            LockfileKind::YarnLock => "yarn-lock",
            LockfileKind::PnpmLock => "pnpm-lock",
            LockfileKind::Requirements => "requirements",
            LockfileKind::PoetryLock => "poetry-lock",
            LockfileKind::PipfileLock => "pipfile-lock",
            LockfileKind::UvLock => "uv-lock",
            LockfileKind::PdmLock => "pdm-lock",
            LockfileKind::GoMod => "go-mod",
            LockfileKind::GemfileLock => "gemfile-lock",
            LockfileKind::ComposerLock => "composer-lock",
            LockfileKind::PomXml => "pom-xml",
            LockfileKind::GradleLockfile => "gradle-lockfile",
            LockfileKind::NugetLock => "nuget-lock",
            LockfileKind::PubspecLock => "pubspec-lock",
        }
    }
}

fn is_requirements_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".txt") else {
        return false;
    };
    stem == "requirements"
        || stem.starts_with("requirements-")
        || stem.starts_with("requirements_")
        || stem.ends_with("-requirements")
        || stem.ends_with("_requirements")
        || stem.ends_with(".requirements")
}

/// Access to files next to the one being parsed, for formats that refer to other files
/// (`-r other.txt` in requirements files, `go.sum` beside `go.mod`).
///
/// The directory walk implements it over the filesystem (confined to the scan root); an image
/// scanner can implement it over a layer's files. [`NoSiblings`] refuses everything.
pub trait ParseContext {
    /// Reads `relative` (a path as written in the file, relative to the directory of
    /// `from_path`). Returns the display path and contents, `None` when the file does not
    /// exist or may not be read, or an error when reading failed.
    fn read_relative(
        &mut self,
        from_path: &str,
        relative: &str,
    ) -> Option<Result<(String, Vec<u8>), DepsError>>;
}

/// A [`ParseContext`] with no sibling files: references to other files are noted, not followed.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoSiblings;

impl ParseContext for NoSiblings {
    fn read_relative(
        &mut self,
        _from_path: &str,
        _relative: &str,
    ) -> Option<Result<(String, Vec<u8>), DepsError>> {
        None
    }
}

/// Parses `data` as `kind`. `path` is only used for display (errors, notes, package origins).
///
/// Never panics on any input; problems come back in [`Lockfile::errors`] next to whatever
/// packages could be read.
pub fn parse_lockfile(kind: LockfileKind, path: &str, data: &[u8]) -> Lockfile {
    parse_lockfile_with(kind, path, data, &mut NoSiblings)
}

/// Like [`parse_lockfile`], following references to sibling files through `ctx`.
pub fn parse_lockfile_with(
    kind: LockfileKind,
    path: &str,
    data: &[u8],
    ctx: &mut dyn ParseContext,
) -> Lockfile {
    match kind {
        LockfileKind::CargoLock => parsers::cargo::parse(path, data),
        LockfileKind::NpmLock => parsers::npm::parse(path, data),
        LockfileKind::YarnLock => parsers::yarn::parse(path, data),
        LockfileKind::PnpmLock => parsers::pnpm::parse(path, data),
        LockfileKind::Requirements => parsers::requirements::parse(path, data, ctx),
        LockfileKind::PoetryLock => parsers::python::parse_poetry(path, data),
        LockfileKind::PipfileLock => parsers::python::parse_pipfile(path, data),
        LockfileKind::UvLock => parsers::python::parse_uv(path, data),
        LockfileKind::PdmLock => parsers::python::parse_pdm(path, data),
        LockfileKind::GoMod => parsers::gomod::parse(path, data, ctx),
        LockfileKind::GemfileLock => parsers::gemfile::parse(path, data),
        LockfileKind::ComposerLock => parsers::composer::parse(path, data),
        LockfileKind::PomXml => parsers::maven::parse_pom(path, data),
        LockfileKind::GradleLockfile => parsers::maven::parse_gradle(path, data),
        LockfileKind::NugetLock => parsers::nuget::parse(path, data),
        LockfileKind::PubspecLock => parsers::pubspec::parse(path, data),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_names() {
        assert_eq!(
            LockfileKind::detect("Cargo.lock"),
            Some(LockfileKind::CargoLock)
        );
        assert_eq!(
            LockfileKind::detect("requirements-dev.txt"),
            Some(LockfileKind::Requirements)
        );
        assert_eq!(
            LockfileKind::detect("test_requirements.txt"),
            Some(LockfileKind::Requirements)
        );
        assert_eq!(LockfileKind::detect("notes.txt"), None);
        assert_eq!(LockfileKind::detect("package.json"), None);
        for k in LockfileKind::ALL {
            assert!(!k.name().is_empty());
        }
    }
}
