#![no_main]
//! Every lockfile parser: the first byte picks the file name, the rest is the content.
use libfuzzer_sys::fuzz_target;

const NAMES: &[&str] = &[
    "Cargo.lock", "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml",
    "requirements.txt", "poetry.lock", "Pipfile.lock", "uv.lock", "pdm.lock", "go.mod",
    "Gemfile.lock", "composer.lock", "pom.xml", "gradle.lockfile", "packages.lock.json",
    "pubspec.lock",
];

fuzz_target!(|data: &[u8]| {
    if let Some((first, rest)) = data.split_first() {
        shipgate_deps::fuzz_lockfile(NAMES[*first as usize % NAMES.len()], rest);
    }
});
