//! Stacks layer analyses into the image's final view: later layers replace
//! earlier files, whiteouts delete, opaque directories hide lower content.

use std::collections::BTreeMap;

use crate::model::{
    FileResult, ImagePackage, Issue, LayerAnalysis, LayerRef, OsFileKind, OsInfo, PackageKind,
};
use crate::os::release;
use crate::purl::purl_for;

/// What the merged view yields.
#[derive(Debug, Default)]
pub(crate) struct Merged {
    pub os: Option<OsInfo>,
    pub packages: Vec<ImagePackage>,
    pub issues: Vec<Issue>,
    pub notes: Vec<String>,
}

fn remove_subtree(map: &mut BTreeMap<String, (usize, FileResult)>, root: &str) {
    if root.is_empty() {
        map.clear();
        return;
    }
    let prefix = format!("{root}/");
    let doomed: Vec<String> = map
        .range(root.to_string()..)
        .take_while(|(k, _)| {
            k.as_str() == root || k.starts_with(&prefix) || k.as_str() < prefix.as_str()
        })
        .filter(|(k, _)| k.as_str() == root || k.starts_with(&prefix))
        .map(|(k, _)| k.clone())
        .collect();
    for k in doomed {
        map.remove(&k);
    }
}

/// Resolves a symlink target relative to the link's directory.
fn resolve_link(link_path: &str, target: &str) -> Option<String> {
    let base: Vec<&str> = if target.starts_with('/') {
        Vec::new()
    } else {
        let mut b: Vec<&str> = link_path.split('/').collect();
        b.pop();
        b
    };
    let mut parts = base;
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                // Like the kernel, `..` at the root stays at the root: a link
                // cannot point outside the image.
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    let joined = parts.join("/");
    (!joined.is_empty()).then_some(joined)
}

/// Merges the layers (base first). Takes them by value: entries and
/// packages move into the result instead of being copied (a warm rescan of
/// a large image is mostly this step).
pub(crate) fn merge(layers: Vec<(LayerRef, LayerAnalysis)>) -> Merged {
    let mut merged = Merged::default();
    let mut map: BTreeMap<String, (usize, FileResult)> = BTreeMap::new();
    let mut refs: Vec<LayerRef> = Vec::with_capacity(layers.len());
    for (idx, (layer, analysis)) in layers.into_iter().enumerate() {
        for problem in analysis.problems {
            merged.issues.push(Issue {
                path: None,
                layer: layer.digest.clone(),
                message: problem,
            });
        }
        for dir in &analysis.opaque_dirs {
            let keep = map.get(dir).cloned();
            remove_subtree(&mut map, dir);
            if let Some(v) = keep {
                map.insert(dir.clone(), v);
            }
        }
        for path in &analysis.whiteouts {
            remove_subtree(&mut map, path);
        }
        for entry in analysis.entries {
            let result = match entry.result {
                FileResult::HardLink { target } => match map.get(&target) {
                    Some((_, r)) => r.clone(),
                    // A link to a file that was not kept because nothing in it
                    // interests us (a plain executable, say) is fine.
                    None if crate::extract::classify(&target, false).is_none()
                        && crate::extract::classify(&entry.path, false).is_none() =>
                    {
                        continue;
                    }
                    None => {
                        merged.issues.push(Issue {
                            path: Some(entry.path.clone()),
                            layer: layer.digest.clone(),
                            message: format!(
                                "hard link to '{target}', which is not in the image; skipped"
                            ),
                        });
                        continue;
                    }
                },
                other => other,
            };
            map.insert(entry.path, (idx, result));
        }
        refs.push(layer);
    }

    // Operating system.
    let mut os_files: Vec<(String, OsFileKind, String)> = Vec::new();
    for (path, (_, result)) in &map {
        let mut current = (path.clone(), result);
        for _ in 0..8 {
            match current.1 {
                FileResult::Symlink { target } => {
                    let Some(next) = resolve_link(&current.0, target) else {
                        break;
                    };
                    match map.get(&next) {
                        Some((_, r)) => current = (next, r),
                        None => break,
                    }
                }
                FileResult::OsFile { kind, content } => {
                    os_files.push((path.clone(), *kind, content.clone()));
                    break;
                }
                _ => break,
            }
        }
    }
    merged.os = release::identify(&os_files);

    let mut os_package_count = 0usize;
    for (path, (idx, result)) in map {
        let FileResult::Packages { packages, problems } = result else {
            continue;
        };
        let layer = &refs[idx];
        for problem in problems {
            merged.issues.push(Issue {
                path: Some(path.clone()),
                layer: layer.digest.clone(),
                message: problem,
            });
        }
        for raw in packages {
            let purl = match &raw.purl {
                Some(p) => p.clone(),
                None => purl_for(&raw, merged.os.as_ref()),
            };
            let ecosystem = match raw.kind {
                k if k.is_os() => {
                    os_package_count += 1;
                    merged.os.as_ref().and_then(|os| os.ecosystem.clone())
                }
                PackageKind::Python => Some("PyPI".to_string()),
                PackageKind::Npm => Some("npm".to_string()),
                PackageKind::Maven => Some("Maven".to_string()),
                PackageKind::Go => Some("Go".to_string()),
                PackageKind::Cargo => Some("crates.io".to_string()),
                PackageKind::Gem => Some("RubyGems".to_string()),
                _ => raw.ecosystem,
            };
            let file = match &raw.inner_path {
                Some(inner) => format!("{path}!{inner}"),
                None => path.clone(),
            };
            merged.packages.push(ImagePackage {
                kind: raw.kind,
                ecosystem,
                name: raw.name,
                version: raw.version,
                source_name: raw.source_name,
                source_version: raw.source_version,
                arch: raw.arch,
                purl,
                path: file,
                layer: layer.clone(),
            });
        }
    }
    match &merged.os {
        None if os_package_count > 0 => merged.notes.push(format!(
            "the operating system could not be identified (no os-release or release file); {os_package_count} OS packages are listed without an ecosystem and are not matched against advisories"
        )),
        None => merged
            .notes
            .push("no operating system identified (distroless or scratch image)".to_string()),
        Some(os) if os.ecosystem.is_none() => merged.notes.push(format!(
            "OSV has no ecosystem for {} {}; its OS packages are listed but not matched",
            os.id,
            os.version_id.as_deref().unwrap_or("")
        )),
        Some(_) => {}
    }
    merged.packages.sort_by(|a, b| {
        (&a.ecosystem, &a.name, &a.version, &a.path).cmp(&(
            &b.ecosystem,
            &b.name,
            &b.version,
            &b.path,
        ))
    });
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FileEntry, RawPackage};

    fn pkgs(names: &[&str]) -> FileResult {
        FileResult::Packages {
            packages: names
                .iter()
                .map(|n| RawPackage::new(PackageKind::Npm, *n, "1.0.0"))
                .collect(),
            problems: vec![],
        }
    }

    fn layer(i: usize) -> LayerRef {
        LayerRef {
            index: i,
            digest: Some(format!("sha256:{i}")),
            diff_id: None,
            created_by: None,
        }
    }

    #[test]
    fn whiteouts_opaque_and_links() {
        let l0 = LayerAnalysis {
            entries: vec![
                FileEntry {
                    path: "app/node_modules/a/package.json".into(),
                    result: pkgs(&["a"]),
                },
                FileEntry {
                    path: "app/node_modules/b/package.json".into(),
                    result: pkgs(&["b"]),
                },
                FileEntry {
                    path: "opt/node_modules/c/package.json".into(),
                    result: pkgs(&["c"]),
                },
                FileEntry {
                    path: "app2/node_modules/d/package.json".into(),
                    result: pkgs(&["d"]),
                },
                FileEntry {
                    path: "usr/lib/os-release".into(),
                    result: FileResult::OsFile {
                        kind: OsFileKind::OsRelease,
                        content: "ID=debian\nVERSION_ID=12\n".into(),
                    },
                },
                FileEntry {
                    path: "etc/os-release".into(),
                    result: FileResult::Symlink {
                        target: "../../../usr/lib/os-release".into(),
                    },
                },
            ],
            ..Default::default()
        };
        let l1 = LayerAnalysis {
            whiteouts: vec!["app/node_modules/a".into()],
            opaque_dirs: vec!["opt".into()],
            entries: vec![
                FileEntry {
                    path: "app2/node_modules/d/package.json".into(),
                    result: pkgs(&["d2"]),
                },
                FileEntry {
                    path: "x/node_modules/e/package.json".into(),
                    result: FileResult::HardLink {
                        target: "app/node_modules/b/package.json".into(),
                    },
                },
                FileEntry {
                    path: "x/node_modules/f/package.json".into(),
                    result: FileResult::HardLink {
                        target: "missing".into(),
                    },
                },
            ],
            ..Default::default()
        };
        let m = merge(vec![(layer(0), l0), (layer(1), l1)]);
        let names: Vec<(&str, &str, usize)> = m
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.path.as_str(), p.layer.index))
            .collect();
        assert_eq!(
            names,
            vec![
                ("b", "app/node_modules/b/package.json", 0),
                ("b", "x/node_modules/e/package.json", 1),
                ("d2", "app2/node_modules/d/package.json", 1),
            ]
        );
        assert_eq!(m.issues.len(), 1, "{:?}", m.issues);
        assert_eq!(
            m.os.as_ref().and_then(|o| o.ecosystem.as_deref()),
            Some("Debian:12")
        );
        assert_eq!(
            m.os.as_ref().map(|o| o.source_file.as_str()),
            Some("etc/os-release")
        );
    }

    #[test]
    fn subtree_removal_is_exact() {
        let mut map = BTreeMap::new();
        for k in ["a", "a/b", "a-b", "a.b/c", "a/c/d", "b"] {
            map.insert(k.to_string(), (0, pkgs(&[])));
        }
        remove_subtree(&mut map, "a");
        let keys: Vec<&String> = map.keys().collect();
        assert_eq!(keys, vec!["a-b", "a.b/c", "b"]);
    }
}
