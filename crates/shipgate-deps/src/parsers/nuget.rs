//! NuGet `packages.lock.json`: per target framework, `Direct`/`Transitive`/`CentralTransitive`
//! packages with their resolved versions. `Project` entries are the solution's own projects.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use crate::kind::LockfileKind;
use crate::model::{Builder, Flags, Lockfile};

#[derive(Deserialize)]
struct NugetLock {
    #[serde(default)]
    dependencies: BTreeMap<String, BTreeMap<String, NugetEntry>>,
}

#[derive(Deserialize)]
struct NugetEntry {
    #[serde(rename = "type")]
    ty: Option<String>,
    resolved: Option<String>,
    #[serde(default)]
    dependencies: BTreeMap<String, String>,
}

pub(crate) fn parse(path: &str, data: &[u8]) -> Lockfile {
    let mut b = Builder::new(path, LockfileKind::NugetLock);
    let Some(text) = super::text(&mut b, data) else {
        return b.finish();
    };
    let Some(value) = super::json::<serde_json::Value>(&mut b, text) else {
        return b.finish();
    };
    let lock: NugetLock = match serde_json::from_value(value) {
        Ok(l) => l,
        Err(e) => {
            b.error(
                Some(1),
                format!("unexpected packages.lock.json structure: {e}"),
            );
            return b.finish();
        }
    };
    let lines = crate::text::json_value_lines(text, |p| p.len() == 3 && p[0] == "dependencies");
    for (framework, entries) in &lock.dependencies {
        let mut ids: HashMap<String, usize> = HashMap::new();
        for (name, e) in entries {
            let line = lines
                .get(&format!("dependencies\0{framework}\0{name}"))
                .copied();
            if e.ty.as_deref() == Some("Project") {
                continue;
            }
            let Some(version) = e.resolved.as_deref() else {
                b.error(line, format!("{name} ({framework}) has no \"resolved\" version; run dotnet restore --force-evaluate"));
                continue;
            };
            let flags = if e.ty.as_deref() == Some("Direct") {
                Flags::direct()
            } else {
                Flags::transitive()
            };
            let id = b.add(name, version, line, flags);
            ids.insert(name.to_lowercase(), id);
        }
        for (name, e) in entries {
            let Some(&from) = ids.get(&name.to_lowercase()) else {
                continue;
            };
            for dep in e.dependencies.keys() {
                if let Some(&to) = ids.get(&dep.to_lowercase()) {
                    b.edge(from, to);
                }
            }
        }
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Relationship;

    #[test]
    fn frameworks() {
        let text = "{\n  \"version\": 1,\n  \"dependencies\": {\n    \"net6.0\": {\n      \"Newtonsoft.Json\": {\n        \"type\": \"Direct\",\n        \"resolved\": \"13.0.1\",\n        \"dependencies\": {\"System.X\": \"4.0.0\"}\n      },\n      \"System.X\": {\"type\": \"Transitive\", \"resolved\": \"4.0.0\"}\n    }\n  }\n}";
        let l = parse("packages.lock.json", text.as_bytes());
        let got: Vec<_> = l
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.relationship, p.line))
            .collect();
        assert_eq!(
            got,
            vec![
                ("Newtonsoft.Json", Relationship::Direct, Some(5)),
                ("System.X", Relationship::Transitive, Some(10))
            ]
        );
        assert_eq!(l.dependencies.len(), 1);
        assert_eq!(parse("packages.lock.json", b"not\njson").errors.len(), 1);
    }
}
