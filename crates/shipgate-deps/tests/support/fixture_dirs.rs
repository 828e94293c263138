//! The lockfile-fixtures folders and their formats, shared by the conformance test and the
//! benchmark.

use shipgate_deps::LockfileKind;

/// Fixture folders (relative to `filesystem/language`) and the format their files are.
pub const DIRS: &[(&str, LockfileKind)] = &[
    ("rust/cargolock/testdata", LockfileKind::CargoLock),
    ("javascript/packagelockjson/testdata", LockfileKind::NpmLock),
    ("javascript/yarnlock/testdata", LockfileKind::YarnLock),
    ("javascript/pnpmlock/testdata", LockfileKind::PnpmLock),
    ("python/requirements/testdata", LockfileKind::Requirements),
    ("python/poetrylock/testdata", LockfileKind::PoetryLock),
    ("python/pipfilelock/testdata", LockfileKind::PipfileLock),
    ("python/uvlock/testdata", LockfileKind::UvLock),
    ("python/pdmlock/testdata", LockfileKind::PdmLock),
    ("golang/gomod/testdata", LockfileKind::GoMod),
    ("ruby/gemfilelock/testdata", LockfileKind::GemfileLock),
    ("php/composerlock/testdata", LockfileKind::ComposerLock),
    ("java/pomxml/testdata", LockfileKind::PomXml),
    ("java/gradlelockfile/testdata", LockfileKind::GradleLockfile),
    ("dotnet/packageslockjson/testdata", LockfileKind::NugetLock),
    ("dart/pubspec/testdata", LockfileKind::PubspecLock),
];
