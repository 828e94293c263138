//! `pubspec.lock` (Dart/Flutter): `packages:` with `dependency: direct main|direct dev|
//! transitive|direct overridden` and a `source`. `sdk` and `path` packages are not listed.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::kind::LockfileKind;
use crate::model::{Builder, Flags, Lockfile, Relationship};

#[derive(Deserialize, Default)]
#[serde(default)]
struct PubspecLock {
    packages: BTreeMap<String, PubPackage>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PubPackage {
    dependency: Option<String>,
    source: Option<String>,
    version: Option<String>,
    description: Option<serde_json::Value>,
}

pub(crate) fn parse(path: &str, data: &[u8]) -> Lockfile {
    let mut b = Builder::new(path, LockfileKind::PubspecLock);
    let Some(text) = super::text(&mut b, data) else {
        return b.finish();
    };
    if text.trim().is_empty() {
        return b.finish();
    }
    let Some(lock) = super::yaml::<Option<PubspecLock>>(&mut b, text) else {
        return b.finish();
    };
    let Some(lock) = lock else { return b.finish() };
    let lines = crate::text::yaml_child_key_lines(text, "packages");
    for (name, p) in &lock.packages {
        let line = lines.get(name.as_str()).copied();
        match p.source.as_deref() {
            Some("sdk") | Some("path") => {
                b.note(
                    line,
                    format!(
                        "{name} comes from a local {} source; not listed",
                        p.source.as_deref().unwrap_or("")
                    ),
                );
                continue;
            }
            _ => {}
        }
        let git_ref = (p.source.as_deref() == Some("git"))
            .then(|| {
                p.description
                    .as_ref()?
                    .get("resolved-ref")?
                    .as_str()
                    .map(str::to_owned)
            })
            .flatten();
        let Some(version) = p.version.clone().or(git_ref) else {
            b.error(
                line,
                format!("package {name:?} has no version; run dart pub get"),
            );
            continue;
        };
        let dep = p.dependency.as_deref().unwrap_or("");
        let flags = Flags {
            relationship: if dep.starts_with("direct") {
                Relationship::Direct
            } else if dep == "transitive" {
                Relationship::Transitive
            } else {
                Relationship::Unknown
            },
            dev: dep == "direct dev",
            optional: false,
        };
        b.add(name, &version, line, flags);
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages() {
        let text = "packages:\n  collection:\n    dependency: transitive\n    description:\n      name: collection\n      url: \"https://pub.dartlang.org\"\n    source: hosted\n    version: \"1.16.0\"\n  flutter:\n    dependency: \"direct main\"\n    description: flutter\n    source: sdk\n    version: \"0.0.0\"\n  test:\n    dependency: \"direct dev\"\n    source: hosted\n    version: \"1.21.0\"\nsdks:\n  dart: \">=2.17.0 <3.0.0\"\n";
        let l = parse("pubspec.lock", text.as_bytes());
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        let got: Vec<_> = l
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.relationship, p.dev, p.line))
            .collect();
        assert_eq!(
            got,
            vec![
                ("collection", Relationship::Transitive, false, Some(2)),
                ("test", Relationship::Direct, true, Some(14))
            ]
        );
        assert_eq!(l.notes.len(), 1);
        let bad = parse("pubspec.lock", b"packages: [\n");
        assert_eq!(bad.errors.len(), 1);
    }
}
