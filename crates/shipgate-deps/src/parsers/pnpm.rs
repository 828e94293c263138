//! `pnpm-lock.yaml`, lockfile versions 5.x, 6.x and 9.
//!
//! Package keys differ by version: `/name/1.0.0_peer` (5.x), `/name@1.0.0(peer)` (6.x) and
//! `name@1.0.0(peer)` (9, with edges in `snapshots`). Direct dependencies come from the
//! top-level `dependencies`/`devDependencies`/`optionalDependencies` (5.x, 6.x single project)
//! or from `importers` (workspaces and 9). In 9 the `dev` flag is gone from packages, so a
//! package is dev when it is reachable only from devDependencies.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use serde::Deserialize;
use serde_json::Value;

use crate::kind::LockfileKind;
use crate::model::{Builder, Flags, Lockfile, Relationship};

#[derive(Deserialize, Default)]
#[serde(default)]
struct PnpmLock {
    #[serde(rename = "lockfileVersion")]
    lockfile_version: Option<Value>,
    importers: Option<BTreeMap<String, Option<Importer>>>,
    #[serde(flatten)]
    root: Importer,
    packages: Option<BTreeMap<String, Option<PnpmPackage>>>,
    snapshots: Option<BTreeMap<String, Option<PnpmPackage>>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Importer {
    dependencies: Option<BTreeMap<String, Value>>,
    #[serde(rename = "devDependencies")]
    dev_dependencies: Option<BTreeMap<String, Value>>,
    #[serde(rename = "optionalDependencies")]
    optional_dependencies: Option<BTreeMap<String, Value>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PnpmPackage {
    name: Option<String>,
    version: Option<String>,
    dev: Option<bool>,
    optional: Option<bool>,
    dependencies: Option<BTreeMap<String, Value>>,
    #[serde(rename = "optionalDependencies")]
    optional_dependencies: Option<BTreeMap<String, Value>>,
}

/// Strips peer-dependency suffixes: `(peer@1)` in 6+, `_peer@1` in 5.
fn strip_peers(version: &str, v5: bool) -> &str {
    let v = version.split('(').next().unwrap_or(version);
    if v5 {
        v.split('_').next().unwrap_or(v)
    } else {
        v
    }
}

/// (name, version) from a package key, or `None` when the key has no recognisable version.
fn parse_key(key: &str, v5: bool) -> Option<(String, String)> {
    let key = key.strip_prefix('/').unwrap_or(key);
    if v5 {
        let key = key.split('(').next().unwrap_or(key);
        let segs: Vec<&str> = key.split('/').collect();
        if segs.len() < 2 {
            return None;
        }
        let version = strip_peers(segs[segs.len() - 1], true);
        let name_seg = segs[segs.len() - 2];
        let name = if segs.len() >= 3 && segs[segs.len() - 3].starts_with('@') {
            format!("{}/{}", segs[segs.len() - 3], name_seg)
        } else {
            name_seg.to_owned()
        };
        if version.is_empty() || !version.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        return Some((name, version.to_owned()));
    }
    let base = key.split('(').next().unwrap_or(key);
    let at = base[1.min(base.len())..].find('@').map(|i| i + 1)?;
    let (name, version) = (&base[..at], &base[at + 1..]);
    if name.is_empty() || version.is_empty() {
        return None;
    }
    Some((name.to_owned(), version.to_owned()))
}

/// The version reference of a dependency value: `1.0.0`, `1.0.0(peer)` or `{version: ...}`.
fn dep_version(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s),
        Value::Object(m) => m.get("version").and_then(Value::as_str),
        _ => None,
    }
}

pub(crate) fn parse(path: &str, data: &[u8]) -> Lockfile {
    let mut b = Builder::new(path, LockfileKind::PnpmLock);
    let Some(text) = super::text(&mut b, data) else {
        return b.finish();
    };
    if text.trim().is_empty() {
        return b.finish();
    }
    let Some(lock) = super::yaml::<Option<PnpmLock>>(&mut b, text) else {
        return b.finish();
    };
    let Some(lock) = lock else { return b.finish() };
    let major = match &lock.lockfile_version {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        Some(Value::String(s)) => s.parse::<f64>().unwrap_or(0.0),
        _ => 0.0,
    };
    if lock.lockfile_version.is_none() && lock.packages.is_some() {
        b.error(
            Some(1),
            "missing lockfileVersion; is this a pnpm-lock.yaml?",
        );
    }
    let v5 = major > 0.0 && major < 6.0;
    let lines = crate::text::yaml_child_key_lines(text, "packages");
    let packages = lock.packages.unwrap_or_default();
    // key without peers -> package id
    let mut ids: HashMap<(String, String), usize> = HashMap::new();
    let mut key_ids: HashMap<&str, usize> = HashMap::new();
    for (key, pkg) in &packages {
        let pkg = pkg.as_ref();
        let line = lines.get(key.as_str()).copied();
        let from_key = parse_key(key, v5);
        let name = pkg
            .and_then(|p| p.name.clone())
            .or_else(|| from_key.as_ref().map(|k| k.0.clone()));
        let version = pkg
            .and_then(|p| p.version.clone())
            .or_else(|| from_key.as_ref().map(|k| k.1.clone()));
        let (Some(name), Some(version)) = (name, version) else {
            let stripped = key.strip_prefix('/').unwrap_or(key);
            if stripped.contains('/') || stripped.contains(':') {
                // A path-like key without a readable version: git, tarball or local sources.
                b.note(
                    line,
                    format!("{key}: no registry version in the key; skipped"),
                );
            } else {
                b.error(line, format!("cannot read a package name and version from key {key:?}; expected /name/version (v5) or name@version"));
            }
            continue;
        };
        let version = strip_peers(&version, v5).to_owned();
        let version = if version.contains(':') || version.contains('/') {
            match version.rsplit_once('#').map(|x| x.1) {
                Some(commit) if !commit.is_empty() => commit.to_owned(),
                _ => {
                    b.note(
                        line,
                        format!("{name}: non-registry version {version:?} not listed"),
                    );
                    continue;
                }
            }
        } else {
            version
        };
        let flags = Flags {
            relationship: Relationship::Transitive,
            dev: pkg.and_then(|p| p.dev).unwrap_or(false),
            optional: pkg.and_then(|p| p.optional).unwrap_or(false),
        };
        let id = b.add(&name, &version, line, flags);
        ids.insert((name, version), id);
        key_ids.insert(key.as_str(), id);
    }
    let resolve = |name: &str, v: &Value| -> Option<usize> {
        let r = dep_version(v)?;
        if r.starts_with("link:") || r.starts_with("file:") {
            return None;
        }
        // A reference may be a plain version or a full key (aliases, exotic sources).
        let version = strip_peers(r, v5);
        ids.get(&(name.to_owned(), version.to_owned()))
            .copied()
            .or_else(|| {
                let (n, v) = parse_key(r, v5)?;
                ids.get(&(n, v)).copied()
            })
    };
    // Edges: from `snapshots` in 9, from `packages` before.
    let graph_src = lock.snapshots.as_ref().unwrap_or(&packages);
    let mut edges = Vec::new();
    for (key, pkg) in graph_src {
        let Some(pkg) = pkg else { continue };
        let from = key_ids.get(key.as_str()).copied().or_else(|| {
            let (n, v) = parse_key(key, v5)?;
            ids.get(&(n, v)).copied()
        });
        let Some(from) = from else { continue };
        if lock.snapshots.is_some() && pkg.optional == Some(true) {
            b.package_mut(from).optional = true;
        }
        for (dn, dv) in pkg
            .dependencies
            .iter()
            .flatten()
            .chain(pkg.optional_dependencies.iter().flatten())
        {
            if let Some(to) = resolve(dn, dv) {
                edges.push((from, to));
            }
        }
    }
    for &(f, t) in &edges {
        b.edge(f, t);
    }
    // Direct dependencies.
    let mut importers: Vec<&Importer> = lock
        .importers
        .iter()
        .flatten()
        .filter_map(|(_, i)| i.as_ref())
        .collect();
    importers.push(&lock.root);
    let mut prod_roots = Vec::new();
    let mut dev_roots = Vec::new();
    for imp in importers {
        for (n, v) in imp
            .dependencies
            .iter()
            .flatten()
            .chain(imp.optional_dependencies.iter().flatten())
        {
            if let Some(id) = resolve(n, v) {
                prod_roots.push(id);
            }
        }
        for (n, v) in imp.dev_dependencies.iter().flatten() {
            if let Some(id) = resolve(n, v) {
                dev_roots.push(id);
            }
        }
    }
    for &id in prod_roots.iter().chain(&dev_roots) {
        b.package_mut(id).relationship = Relationship::Direct;
    }
    if lock.snapshots.is_some() && !dev_roots.is_empty() {
        let adj = adjacency(&edges, b.len());
        let prod = reach(&adj, &prod_roots);
        for id in reach(&adj, &dev_roots) {
            if !prod.contains(&id) {
                b.package_mut(id).dev = true;
            }
        }
    }
    b.finish()
}

fn adjacency(edges: &[(usize, usize)], n: usize) -> Vec<Vec<usize>> {
    let mut adj = vec![Vec::new(); n];
    for &(f, t) in edges {
        adj[f].push(t);
    }
    adj
}

fn reach(adj: &[Vec<usize>], roots: &[usize]) -> HashSet<usize> {
    let mut seen: HashSet<usize> = roots.iter().copied().collect();
    let mut queue: VecDeque<usize> = roots.iter().copied().collect();
    while let Some(n) = queue.pop_front() {
        for &m in &adj[n] {
            if seen.insert(m) {
                queue.push_back(m);
            }
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_by_version() {
        assert_eq!(
            parse_key("/@babel/core/7.0.0_eslint@8.0.0", true),
            Some(("@babel/core".into(), "7.0.0".into()))
        );
        assert_eq!(
            parse_key("registry.npmjs.org/foo/1.1.0", true),
            Some(("foo".into(), "1.1.0".into()))
        );
        assert_eq!(
            parse_key("/react-dom@18.0.0(react@18.0.0)", false),
            Some(("react-dom".into(), "18.0.0".into()))
        );
        assert_eq!(
            parse_key("@s/x@1.0.0", false),
            Some(("@s/x".into(), "1.0.0".into()))
        );
        assert_eq!(parse_key("invalidpath", true), None);
        assert_eq!(parse_key("invalidpath", false), None);
    }

    #[test]
    fn v9_dev_is_computed() {
        let text = "lockfileVersion: '9.0'\n\nimporters:\n\n  .:\n    dependencies:\n      a:\n        specifier: ^1.0.0\n        version: 1.0.0\n    devDependencies:\n      d:\n        specifier: ^1.0.0\n        version: 1.0.0\n\npackages:\n\n  a@1.0.0:\n    resolution: {integrity: sha512-x}\n\n  d@1.0.0:\n    resolution: {integrity: sha512-x}\n\n  e@2.0.0:\n    resolution: {integrity: sha512-x}\n\nsnapshots:\n\n  a@1.0.0: {}\n\n  d@1.0.0:\n    dependencies:\n      e: 2.0.0\n\n  e@2.0.0: {}\n";
        let l = parse("pnpm-lock.yaml", text.as_bytes());
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        let got: Vec<_> = l
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.relationship, p.dev, p.line))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a", Relationship::Direct, false, Some(17)),
                ("d", Relationship::Direct, true, Some(20)),
                ("e", Relationship::Transitive, true, Some(23)),
            ]
        );
        assert_eq!(l.dependencies, vec![crate::Dependency { from: 1, to: 2 }]);
    }

    #[test]
    fn bad_key_is_an_error() {
        let text = "lockfileVersion: 5.3\npackages:\n  /a/1.0.0:\n    dev: false\n  invalidpath:\n    dev: false\n";
        let l = parse("pnpm-lock.yaml", text.as_bytes());
        assert_eq!(l.packages.len(), 1);
        assert_eq!(l.errors.len(), 1);
        assert_eq!(l.errors[0].line(), Some(5));
    }
}
