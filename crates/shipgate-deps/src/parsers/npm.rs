//! `package-lock.json` (lockfile v1, v2, v3) and `npm-shrinkwrap.json`.
//!
//! v2/v3 are read from the flat `packages` map (keys are install paths such as
//! `node_modules/a/node_modules/b`); v1 from the nested `dependencies` tree. Edges are resolved
//! the way Node resolves modules: nearest `node_modules` first, then up the tree.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use crate::kind::LockfileKind;
use crate::model::{Builder, Flags, Lockfile, Relationship};

#[derive(Deserialize)]
struct NpmLock {
    #[serde(rename = "lockfileVersion")]
    lockfile_version: Option<serde_json::Value>,
    #[serde(default)]
    packages: Option<BTreeMap<String, V2Entry>>,
    #[serde(default)]
    dependencies: Option<BTreeMap<String, V1Entry>>,
}

#[derive(Deserialize, Default)]
struct V2Entry {
    name: Option<String>,
    version: Option<String>,
    resolved: Option<String>,
    #[serde(default)]
    dev: bool,
    #[serde(default)]
    optional: bool,
    #[serde(default, rename = "devOptional")]
    dev_optional: bool,
    #[serde(default)]
    link: bool,
    #[serde(default)]
    dependencies: BTreeMap<String, serde_json::Value>,
    #[serde(default, rename = "devDependencies")]
    dev_dependencies: BTreeMap<String, serde_json::Value>,
    #[serde(default, rename = "optionalDependencies")]
    optional_dependencies: BTreeMap<String, serde_json::Value>,
    #[serde(default, rename = "peerDependencies")]
    peer_dependencies: BTreeMap<String, serde_json::Value>,
}

#[derive(Deserialize, Default)]
struct V1Entry {
    version: Option<String>,
    #[serde(default)]
    dev: bool,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    requires: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    dependencies: BTreeMap<String, V1Entry>,
}

pub(crate) fn parse(path: &str, data: &[u8]) -> Lockfile {
    let mut b = Builder::new(path, LockfileKind::NpmLock);
    let Some(text) = super::text(&mut b, data) else {
        return b.finish();
    };
    let Some(value) = super::json::<serde_json::Value>(&mut b, text) else {
        return b.finish();
    };
    if !value.is_object() {
        b.error(
            Some(1),
            "expected a JSON object with \"packages\" or \"dependencies\"; is this really a package-lock.json?",
        );
        return b.finish();
    }
    let lock: NpmLock = match serde_json::from_value(value) {
        Ok(l) => l,
        Err(e) => {
            b.error(None, format!("unexpected package-lock.json structure: {e}"));
            return b.finish();
        }
    };
    if let Some(v) = &lock.lockfile_version
        && !v.is_u64()
    {
        b.note(None, format!("unusual lockfileVersion {v}; parsed anyway"));
    }
    match (lock.packages, lock.dependencies) {
        (Some(packages), _) => parse_v2(&mut b, text, packages),
        (None, Some(deps)) => parse_v1(&mut b, text, deps),
        (None, None) => {}
    }
    b.finish()
}

/// Name of the package installed at `key` (the part after the last `node_modules/`).
fn name_from_key(key: &str) -> Option<&str> {
    let idx = key.rfind("node_modules/")?;
    let name = &key[idx + "node_modules/".len()..];
    (!name.is_empty()).then_some(name)
}

/// Turns an npm version field into a matchable version, or `None` for local/unusable ones.
fn usable_version(version: &str) -> Option<String> {
    if version.starts_with("file:") || version.starts_with("link:") {
        return None;
    }
    if version.contains("://") || version.starts_with("github:") || version.starts_with("git") {
        // Git dependency: the commit after '#' identifies it.
        return version
            .rsplit_once('#')
            .map(|(_, c)| c.to_owned())
            .filter(|c| !c.is_empty());
    }
    Some(
        version
            .strip_prefix("npm:")
            .map_or(version, |v| v.rsplit_once('@').map_or(v, |x| x.1))
            .to_owned(),
    )
}

fn parse_v2(b: &mut Builder, text: &str, packages: BTreeMap<String, V2Entry>) {
    let lines = crate::text::json_value_lines(text, |p| p.len() == 2 && p[0] == "packages");
    let root = packages.get("").map(|r| {
        let mut direct: HashMap<&str, (bool, bool)> = HashMap::new();
        for n in r.dependencies.keys() {
            direct.entry(n).or_default();
        }
        for n in r.optional_dependencies.keys() {
            direct.entry(n).or_default().1 = true;
        }
        for n in r.dev_dependencies.keys() {
            direct.entry(n).or_default().0 = true;
        }
        direct
    });
    // Workspace packages (non node_modules keys that are not links) also declare direct deps.
    let mut workspace_direct: HashMap<&str, ()> = HashMap::new();
    for (key, e) in &packages {
        if !key.is_empty() && !key.contains("node_modules/") && !e.link {
            for n in e
                .dependencies
                .keys()
                .chain(e.dev_dependencies.keys())
                .chain(e.optional_dependencies.keys())
            {
                workspace_direct.insert(n, ());
            }
        }
    }
    let mut ids: HashMap<&str, usize> = HashMap::new();
    for (key, e) in &packages {
        let Some(key_name) = name_from_key(key) else {
            continue;
        };
        if e.link {
            continue;
        }
        let line = lines.get(&format!("packages\0{key}")).copied();
        let name = e.name.as_deref().unwrap_or(key_name);
        let Some(raw_version) = e.version.as_deref().or(e.resolved.as_deref()) else {
            b.error(
                line,
                format!("package \"{key}\" has no version; regenerate the lockfile"),
            );
            continue;
        };
        let Some(version) = usable_version(raw_version) else {
            b.note(
                line,
                format!("{name}: local dependency ({raw_version}) not listed"),
            );
            continue;
        };
        let top_level = key.strip_prefix("node_modules/") == Some(key_name);
        let relationship = match &root {
            Some(direct)
                if top_level
                    && (direct.contains_key(key_name)
                        || workspace_direct.contains_key(key_name)) =>
            {
                Relationship::Direct
            }
            Some(_) => Relationship::Transitive,
            None => Relationship::Unknown,
        };
        let flags = Flags {
            relationship,
            dev: e.dev,
            optional: e.optional || e.dev_optional,
        };
        let id = b.add(name, &version, line, flags);
        ids.insert(key.as_str(), id);
    }
    for (key, e) in &packages {
        let Some(&from) = ids.get(key.as_str()) else {
            continue;
        };
        for dep in e
            .dependencies
            .keys()
            .chain(e.optional_dependencies.keys())
            .chain(e.peer_dependencies.keys())
        {
            if let Some(to) = resolve_v2(&ids, key, dep) {
                b.edge(from, to);
            }
        }
    }
}

/// Node module resolution over install paths.
fn resolve_v2(ids: &HashMap<&str, usize>, from_key: &str, dep: &str) -> Option<usize> {
    let mut base = from_key.to_owned();
    loop {
        let candidate = if base.is_empty() {
            format!("node_modules/{dep}")
        } else {
            format!("{base}/node_modules/{dep}")
        };
        if let Some(&id) = ids.get(candidate.as_str()) {
            return Some(id);
        }
        if base.is_empty() {
            return None;
        }
        // Go up one package: strip the last "/node_modules/<name>" (or the whole key).
        match base.rfind("/node_modules/") {
            Some(i) => base.truncate(i),
            None => base.clear(),
        }
    }
}

fn parse_v1(b: &mut Builder, text: &str, deps: BTreeMap<String, V1Entry>) {
    let lines = crate::text::json_value_lines(text, |p| {
        p.len() % 2 == 0 && p.iter().step_by(2).all(|k| k == "dependencies")
    });
    struct Ctx<'a> {
        lines: HashMap<String, u32>,
        // scope path (names joined by \0) -> (name -> id)
        scopes: HashMap<String, HashMap<&'a str, usize>>,
    }
    fn add_all<'a>(
        b: &mut Builder,
        ctx: &mut Ctx<'a>,
        scope: &[&'a str],
        deps: &'a BTreeMap<String, V1Entry>,
    ) {
        let mut here = HashMap::new();
        for (name, e) in deps {
            let mut json_path: Vec<&str> = Vec::new();
            for s in scope {
                json_path.push("dependencies");
                json_path.push(s);
            }
            json_path.push("dependencies");
            json_path.push(name);
            let line = ctx.lines.get(&json_path.join("\0")).copied();
            let Some(raw) = e.version.as_deref() else {
                b.error(
                    line,
                    format!("dependency \"{name}\" has no version; regenerate the lockfile"),
                );
                continue;
            };
            let Some(version) = usable_version(raw) else {
                b.note(line, format!("{name}: local dependency ({raw}) not listed"));
                continue;
            };
            let real_name = raw
                .strip_prefix("npm:")
                .and_then(|v| v.rsplit_once('@'))
                .map_or(name.as_str(), |x| x.0);
            let flags = Flags::default().with_dev(e.dev).with_optional(e.optional);
            let id = b.add(real_name, &version, line, flags);
            here.insert(name.as_str(), id);
            let mut inner = scope.to_vec();
            inner.push(name);
            add_all(b, ctx, &inner, &e.dependencies);
        }
        ctx.scopes.insert(scope.join("\0"), here);
    }
    fn edges<'a>(
        b: &mut Builder,
        ctx: &Ctx<'a>,
        scope: &[&'a str],
        deps: &'a BTreeMap<String, V1Entry>,
    ) {
        for (name, e) in deps {
            let Some(&from) = ctx
                .scopes
                .get(&scope.join("\0"))
                .and_then(|s| s.get(name.as_str()))
            else {
                continue;
            };
            let mut inner = scope.to_vec();
            inner.push(name);
            for req in e.requires.keys() {
                // Look in the package's own nested scope first, then outwards.
                let mut level = inner.clone();
                loop {
                    if let Some(&to) = ctx
                        .scopes
                        .get(&level.join("\0"))
                        .and_then(|s| s.get(req.as_str()))
                    {
                        b.edge(from, to);
                        break;
                    }
                    if level.pop().is_none() {
                        break;
                    }
                }
            }
            edges(b, ctx, &inner, &e.dependencies);
        }
    }
    let mut ctx = Ctx {
        lines,
        scopes: HashMap::new(),
    };
    add_all(b, &mut ctx, &[], &deps);
    edges(b, &ctx, &[], &deps);
}

#[cfg(test)]
mod tests {
    use super::*;

    const V3: &str = r#"{
  "name": "app",
  "lockfileVersion": 3,
  "packages": {
    "": {
      "name": "app",
      "dependencies": { "a": "^1.0.0" },
      "devDependencies": { "@s/d": "^2.0.0" }
    },
    "node_modules/a": {
      "version": "1.0.0",
      "dependencies": { "b": "^1.0.0" }
    },
    "node_modules/a/node_modules/b": {
      "version": "1.5.0"
    },
    "node_modules/b": {
      "version": "2.0.0"
    },
    "node_modules/@s/d": {
      "version": "2.0.0",
      "dev": true,
      "dependencies": { "b": "^2.0.0" }
    }
  }
}"#;

    #[test]
    fn v3_packages_scopes_edges() {
        let l = parse("package-lock.json", V3.as_bytes());
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        let names: Vec<_> = l
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.line))
            .collect();
        assert_eq!(
            names,
            vec![
                ("@s/d", "2.0.0", Some(20)),
                ("a", "1.0.0", Some(10)),
                ("b", "1.5.0", Some(14)),
                ("b", "2.0.0", Some(17)),
            ]
        );
        assert_eq!(l.packages[0].relationship, Relationship::Direct);
        assert!(l.packages[0].dev);
        assert_eq!(l.packages[2].relationship, Relationship::Transitive);
        // a -> nested b 1.5.0 ; @s/d -> hoisted b 2.0.0
        assert!(
            l.dependencies
                .contains(&crate::Dependency { from: 1, to: 2 })
        );
        assert!(
            l.dependencies
                .contains(&crate::Dependency { from: 0, to: 3 })
        );
    }

    #[test]
    fn v1_nested() {
        let text = r#"{
  "lockfileVersion": 1,
  "dependencies": {
    "a": {
      "version": "1.0.0",
      "requires": { "b": "^1.0.0" },
      "dependencies": {
        "b": { "version": "1.1.0" }
      }
    },
    "b": { "version": "2.0.0", "dev": true }
  }
}"#;
        let l = parse("package-lock.json", text.as_bytes());
        assert!(l.errors.is_empty());
        assert_eq!(l.packages.len(), 3);
        let nested = l
            .packages
            .iter()
            .position(|p| p.version == "1.1.0")
            .unwrap();
        assert_eq!(l.packages[nested].line, Some(8));
        assert_eq!(
            l.dependencies,
            vec![crate::Dependency {
                from: 0,
                to: nested
            }]
        );
        assert!(l.packages.iter().any(|p| p.version == "2.0.0" && p.dev));
    }

    #[test]
    fn broken_json_reports_position() {
        let l = parse("package-lock.json", b"{\n  \"packages\": {,\n}");
        assert_eq!(l.errors.len(), 1);
        assert_eq!(l.errors[0].line(), Some(2));
        let l = parse("package-lock.json", b"null");
        assert_eq!(l.errors.len(), 1);
    }
}
