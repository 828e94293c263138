//! `Cargo.lock` (format versions 1 to 4).
//!
//! Packages without a `source` are the workspace's own crates: they are not published
//! dependencies, so they are not listed, but their dependencies are the direct ones.

use std::collections::HashMap;

use serde::Deserialize;
use toml::Spanned;

use crate::kind::LockfileKind;
use crate::model::{Builder, Flags, Lockfile, Relationship};
use crate::text::LineIndex;

#[derive(Deserialize)]
struct CargoLock {
    #[serde(default)]
    package: Vec<CargoPackage>,
}

#[derive(Deserialize)]
struct CargoPackage {
    name: Spanned<String>,
    version: String,
    source: Option<String>,
    #[serde(default)]
    dependencies: Vec<String>,
}

pub(crate) fn parse(path: &str, data: &[u8]) -> Lockfile {
    let mut b = Builder::new(path, LockfileKind::CargoLock);
    let Some(text) = super::text(&mut b, data) else {
        return b.finish();
    };
    let Some(lock) = super::toml::<CargoLock>(&mut b, text) else {
        return b.finish();
    };
    let index = LineIndex::new(text);
    // name -> versions, to resolve "name" and "name version" dependency references.
    let mut by_name: HashMap<&str, Vec<(&str, Option<usize>)>> = HashMap::new();
    let mut ids = Vec::with_capacity(lock.package.len());
    let mut local = 0usize;
    for p in &lock.package {
        let id = if p.source.is_some() {
            let line = super::span_line(&index, &p.name);
            Some(b.add(p.name.get_ref(), &p.version, line, Flags::transitive()))
        } else {
            local += 1;
            None
        };
        ids.push(id);
        by_name
            .entry(p.name.get_ref().as_str())
            .or_default()
            .push((p.version.as_str(), id));
    }
    for (p, id) in lock.package.iter().zip(&ids) {
        for dep in &p.dependencies {
            let mut parts = dep.split_whitespace();
            let Some(name) = parts.next() else { continue };
            let version = parts.next();
            let target = by_name.get(name).and_then(|cands| match version {
                Some(v) => cands.iter().find(|(cv, _)| *cv == v).map(|c| c.1),
                None => cands.first().map(|c| c.1),
            });
            let Some(Some(to)) = target else { continue };
            match id {
                Some(from) => b.edge(*from, to),
                None => b.package_mut(to).relationship = Relationship::Direct,
            }
        }
    }
    if local > 0 {
        b.note(
            None,
            format!("{local} workspace crate(s) without a registry source are not listed as dependencies"),
        );
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_packages_edges_and_direct() {
        let text = r#"version = 3

[[package]]
name = "app"
version = "0.1.0"
dependencies = ["serde", "itoa 1.0.0"]

[[package]]
name = "serde"
version = "1.0.100"
source = "registry+https://github.com/rust-lang/crates.io-index"
dependencies = ["itoa 1.0.0"]

[[package]]
name = "itoa"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;
        let l = parse("Cargo.lock", text.as_bytes());
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        assert_eq!(l.packages.len(), 2);
        assert_eq!(l.packages[0].name, "serde");
        assert_eq!(l.packages[0].line, Some(9));
        assert_eq!(l.packages[0].relationship, Relationship::Direct);
        assert_eq!(l.packages[0].purl, "pkg:cargo/serde@1.0.100");
        assert_eq!(l.dependencies.len(), 1);
        assert_eq!(l.notes.len(), 1);
    }

    #[test]
    fn bad_toml_names_line() {
        let l = parse("Cargo.lock", b"[[package]]\nname = \"x\nversion = 1\n");
        assert_eq!(l.errors.len(), 1);
        assert_eq!(l.errors[0].line(), Some(2));
        assert!(l.errors[0].to_string().starts_with("Cargo.lock:2:"));
    }
}
