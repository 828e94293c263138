//! Fuzzing entry point for the lockfile parsers.

use crate::kind::{LockfileKind, parse_lockfile};

/// Runs the parser chosen by `name` (a file name such as `yarn.lock`) over `data`; when the
/// name is not recognised, runs every parser. Must never panic; the result is discarded
/// except for a consistency check that every edge points at a package.
///
/// The `fuzz/` cargo-fuzz crate calls this with the first bytes of the input selecting the
/// name; `cargo test` runs it over seeded mutations of the fixtures.
pub fn fuzz_lockfile(name: &str, data: &[u8]) {
    let kinds: Vec<LockfileKind> = match LockfileKind::detect(name) {
        Some(k) => vec![k],
        None => LockfileKind::ALL.to_vec(),
    };
    for kind in kinds {
        let l = parse_lockfile(kind, name, data);
        for d in &l.dependencies {
            assert!(
                d.from < l.packages.len() && d.to < l.packages.len(),
                "edge out of range in {kind:?}"
            );
        }
    }
}
