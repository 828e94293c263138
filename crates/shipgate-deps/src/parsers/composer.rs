//! `composer.lock`: `packages` (runtime) and `packages-dev` (dev), with `require` edges.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use crate::kind::LockfileKind;
use crate::model::{Builder, Flags, Lockfile};

#[derive(Deserialize)]
struct ComposerLock {
    #[serde(default)]
    packages: Vec<serde_json::Value>,
    #[serde(default, rename = "packages-dev")]
    packages_dev: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct ComposerPackage {
    name: String,
    version: String,
    #[serde(default)]
    require: BTreeMap<String, serde_json::Value>,
}

pub(crate) fn parse(path: &str, data: &[u8]) -> Lockfile {
    let mut b = Builder::new(path, LockfileKind::ComposerLock);
    let Some(text) = super::text(&mut b, data) else {
        return b.finish();
    };
    let Some(value) = super::json::<serde_json::Value>(&mut b, text) else {
        return b.finish();
    };
    let lock: ComposerLock = match serde_json::from_value(value) {
        Ok(l) => l,
        Err(e) => {
            b.error(Some(1), format!("unexpected composer.lock structure: {e}; expected an object with a \"packages\" array"));
            return b.finish();
        }
    };
    let lines = crate::text::json_value_lines(text, |p| {
        p.len() == 2 && (p[0] == "packages" || p[0] == "packages-dev")
    });
    let mut by_name = HashMap::new();
    let mut parsed = Vec::new();
    for (section, list, dev) in [
        ("packages", &lock.packages, false),
        ("packages-dev", &lock.packages_dev, true),
    ] {
        for (i, v) in list.iter().enumerate() {
            let line = lines.get(&format!("{section}\0{i}")).copied();
            let pkg: ComposerPackage = match serde_json::from_value(v.clone()) {
                Ok(p) => p,
                Err(e) => {
                    b.error(
                        line,
                        format!(
                            "{section}[{i}]: {e}; every package needs \"name\" and \"version\""
                        ),
                    );
                    continue;
                }
            };
            let id = b.add(
                &pkg.name,
                &pkg.version,
                line,
                Flags::default().with_dev(dev),
            );
            by_name.insert(pkg.name.to_lowercase(), id);
            parsed.push((id, pkg));
        }
    }
    for (from, pkg) in &parsed {
        for dep in pkg.require.keys() {
            if let Some(&to) = by_name.get(&dep.to_lowercase()) {
                b.edge(*from, to);
            }
        }
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_and_dev() {
        let text = "{\n  \"packages\": [\n    {\n      \"name\": \"symfony/console\",\n      \"version\": \"v5.0.0\",\n      \"require\": {\"psr/log\": \"^1\"}\n    },\n    {\"name\": \"psr/log\", \"version\": \"1.1.0\"}\n  ],\n  \"packages-dev\": [\n    {\"name\": \"phpunit/phpunit\", \"version\": \"9.0.0\"},\n    {\"version\": \"1\"}\n  ]\n}";
        let l = parse("composer.lock", text.as_bytes());
        let got: Vec<_> = l
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.dev, p.line))
            .collect();
        assert_eq!(
            got,
            vec![
                ("symfony/console", false, Some(3)),
                ("psr/log", false, Some(8)),
                ("phpunit/phpunit", true, Some(11))
            ]
        );
        assert_eq!(l.dependencies.len(), 1);
        assert_eq!(l.errors.len(), 1);
        assert_eq!(l.errors[0].line(), Some(12));
    }
}
