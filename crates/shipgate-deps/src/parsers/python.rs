//! Python lockfiles: `poetry.lock`, `Pipfile.lock`, `uv.lock`, `pdm.lock`.
//!
//! The TOML formats are deserialised with `toml::Spanned` names, so each package's line is the
//! line of its `name = ...` key. `Pipfile.lock` lines come from the JSON key pass.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use toml::Spanned;

use crate::kind::LockfileKind;
use crate::model::{Builder, Flags, Lockfile, Relationship};
use crate::purl::normalize_pypi_name;
use crate::text::LineIndex;

#[derive(Deserialize)]
struct PackagesToml<P> {
    #[serde(default = "Vec::new")]
    package: Vec<P>,
}

// ---- poetry.lock ----

#[derive(Deserialize)]
struct PoetryPackage {
    name: Spanned<String>,
    version: String,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    source: Option<PoetrySource>,
    #[serde(default)]
    dependencies: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
struct PoetrySource {
    #[serde(rename = "type")]
    ty: Option<String>,
    resolved_reference: Option<String>,
}

pub(crate) fn parse_poetry(path: &str, data: &[u8]) -> Lockfile {
    let mut b = Builder::new(path, LockfileKind::PoetryLock);
    let Some(text) = super::text(&mut b, data) else {
        return b.finish();
    };
    let Some(lock) = super::toml::<PackagesToml<PoetryPackage>>(&mut b, text) else {
        return b.finish();
    };
    let index = LineIndex::new(text);
    let mut by_name = HashMap::new();
    let mut ids = Vec::new();
    for p in &lock.package {
        let line = super::span_line(&index, &p.name);
        let mut version = p.version.clone();
        if let Some(src) = &p.source
            && src.ty.as_deref() == Some("git")
            && let Some(r) = &src.resolved_reference
        {
            // Git sources: the version field is the project's, the commit identifies it.
            version.clone_from(r);
        }
        let dev = p.category.as_deref() == Some("dev")
            || (!p.groups.is_empty() && p.groups.iter().all(|g| g != "main"));
        let id = b.add(
            p.name.get_ref(),
            &version,
            line,
            Flags::default().with_dev(dev).with_optional(p.optional),
        );
        by_name.insert(normalize_pypi_name(p.name.get_ref()), id);
        ids.push(id);
    }
    for (p, &from) in lock.package.iter().zip(&ids) {
        for dep in p.dependencies.keys() {
            if let Some(&to) = by_name.get(&normalize_pypi_name(dep)) {
                b.edge(from, to);
            }
        }
    }
    b.finish()
}

// ---- uv.lock ----

#[derive(Deserialize)]
struct UvPackage {
    name: Spanned<String>,
    version: Option<String>,
    #[serde(default)]
    source: BTreeMap<String, toml::Value>,
    #[serde(default)]
    dependencies: Vec<UvDep>,
    #[serde(default, rename = "optional-dependencies")]
    optional_dependencies: BTreeMap<String, Vec<UvDep>>,
    #[serde(default, rename = "dev-dependencies")]
    dev_dependencies: BTreeMap<String, Vec<UvDep>>,
}

#[derive(Deserialize)]
struct UvDep {
    name: String,
}

pub(crate) fn parse_uv(path: &str, data: &[u8]) -> Lockfile {
    let mut b = Builder::new(path, LockfileKind::UvLock);
    let Some(text) = super::text(&mut b, data) else {
        return b.finish();
    };
    let Some(lock) = super::toml::<PackagesToml<UvPackage>>(&mut b, text) else {
        return b.finish();
    };
    let index = LineIndex::new(text);
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut ids: Vec<Option<usize>> = Vec::new();
    let mut roots = Vec::new();
    for p in &lock.package {
        let line = super::span_line(&index, &p.name);
        let local = ["editable", "virtual", "directory", "path"]
            .iter()
            .any(|k| p.source.contains_key(*k));
        if local {
            roots.push(p);
            ids.push(None);
            continue;
        }
        let mut version = p.version.clone();
        if let Some(toml::Value::String(git)) = p.source.get("git")
            && let Some((_, commit)) = git.rsplit_once('#')
        {
            version = Some(commit.to_owned());
        }
        let Some(version) = version else {
            b.error(
                line,
                format!(
                    "package {:?} has no version; regenerate the lockfile with uv lock",
                    p.name.get_ref()
                ),
            );
            ids.push(None);
            continue;
        };
        let relationship = Relationship::Transitive;
        let id = b.add(
            p.name.get_ref(),
            &version,
            line,
            Flags {
                relationship,
                ..Flags::default()
            },
        );
        by_name.insert(normalize_pypi_name(p.name.get_ref()), id);
        ids.push(Some(id));
    }
    let has_root = !roots.is_empty();
    for (p, id) in lock.package.iter().zip(&ids) {
        let all = p
            .dependencies
            .iter()
            .map(|d| (d, false, false))
            .chain(
                p.optional_dependencies
                    .values()
                    .flatten()
                    .map(|d| (d, false, true)),
            )
            .chain(
                p.dev_dependencies
                    .values()
                    .flatten()
                    .map(|d| (d, true, false)),
            );
        for (dep, dev, optional) in all {
            let Some(&to) = by_name.get(&normalize_pypi_name(&dep.name)) else {
                continue;
            };
            match id {
                Some(from) => b.edge(*from, to),
                None => {
                    let pkg = b.package_mut(to);
                    pkg.relationship = Relationship::Direct;
                    pkg.dev = dev;
                    pkg.optional = optional;
                }
            }
        }
    }
    if !has_root {
        for i in 0..b.len() {
            b.package_mut(i).relationship = Relationship::Unknown;
        }
    }
    b.finish()
}

// ---- pdm.lock ----

#[derive(Deserialize)]
struct PdmPackage {
    name: Spanned<String>,
    version: Option<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    revision: Option<String>,
    #[serde(default)]
    dependencies: Vec<String>,
}

pub(crate) fn parse_pdm(path: &str, data: &[u8]) -> Lockfile {
    let mut b = Builder::new(path, LockfileKind::PdmLock);
    let Some(text) = super::text(&mut b, data) else {
        return b.finish();
    };
    let Some(lock) = super::toml::<PackagesToml<PdmPackage>>(&mut b, text) else {
        return b.finish();
    };
    let index = LineIndex::new(text);
    let mut by_name = HashMap::new();
    let mut ids = Vec::new();
    for p in &lock.package {
        let line = super::span_line(&index, &p.name);
        let Some(version) = p.revision.clone().or_else(|| p.version.clone()) else {
            b.error(
                line,
                format!(
                    "package {:?} has no version; regenerate the lockfile with pdm lock",
                    p.name.get_ref()
                ),
            );
            ids.push(None);
            continue;
        };
        let dev = !p.groups.is_empty() && !p.groups.iter().any(|g| g == "default");
        let optional =
            !dev && !p.groups.is_empty() && !p.groups.iter().any(|g| g == "default" || g == "dev");
        let id = b.add(
            p.name.get_ref(),
            &version,
            line,
            Flags::default().with_dev(dev).with_optional(optional),
        );
        by_name.insert(normalize_pypi_name(p.name.get_ref()), id);
        ids.push(Some(id));
    }
    for (p, id) in lock.package.iter().zip(&ids) {
        let Some(from) = id else { continue };
        for dep in &p.dependencies {
            let name_end = dep
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
                .unwrap_or(dep.len());
            if let Some(&to) = by_name.get(&normalize_pypi_name(&dep[..name_end])) {
                b.edge(*from, to);
            }
        }
    }
    b.finish()
}

// ---- Pipfile.lock ----

#[derive(Deserialize)]
struct PipfileLock {
    #[serde(default)]
    default: BTreeMap<String, PipfileEntry>,
    #[serde(default)]
    develop: BTreeMap<String, PipfileEntry>,
}

#[derive(Deserialize)]
struct PipfileEntry {
    version: Option<String>,
    #[serde(rename = "ref")]
    git_ref: Option<String>,
}

pub(crate) fn parse_pipfile(path: &str, data: &[u8]) -> Lockfile {
    let mut b = Builder::new(path, LockfileKind::PipfileLock);
    let Some(text) = super::text(&mut b, data) else {
        return b.finish();
    };
    let Some(value) = super::json::<serde_json::Value>(&mut b, text) else {
        return b.finish();
    };
    let lock: PipfileLock = match serde_json::from_value(value) {
        Ok(l) => l,
        Err(e) => {
            b.error(None, format!("unexpected Pipfile.lock structure: {e}; expected \"default\" and \"develop\" objects"));
            return b.finish();
        }
    };
    let lines = crate::text::json_value_lines(text, |p| {
        p.len() == 2 && (p[0] == "default" || p[0] == "develop")
    });
    for (section, entries, dev) in [
        ("default", &lock.default, false),
        ("develop", &lock.develop, true),
    ] {
        for (name, e) in entries {
            let line = lines.get(&format!("{section}\0{name}")).copied();
            let version = match (&e.version, &e.git_ref) {
                (Some(v), _) => v
                    .trim_start_matches("===")
                    .trim_start_matches("==")
                    .to_owned(),
                (None, Some(r)) => r.clone(),
                (None, None) => {
                    b.note(line, format!("{name} has no pinned version; skipped"));
                    continue;
                }
            };
            b.add(name, &version, line, Flags::default().with_dev(dev));
        }
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poetry_lines_dev_and_git() {
        let text = "[[package]]\nname = \"a\"\nversion = \"1.0\"\ncategory = \"dev\"\n\n[package.dependencies]\nB_x = \">=1\"\n\n[[package]]\nname = \"b-x\"\nversion = \"2.0\"\ncategory = \"main\"\n\n[package.source]\ntype = \"git\"\nurl = \"https://x\"\nresolved_reference = \"abc123\"\n";
        let l = parse_poetry("poetry.lock", text.as_bytes());
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        assert_eq!(l.packages[0].line, Some(2));
        assert!(l.packages[0].dev);
        assert_eq!(l.packages[1].version, "abc123");
        assert_eq!(l.dependencies, vec![crate::Dependency { from: 0, to: 1 }]);
    }

    #[test]
    fn uv_root_marks_direct() {
        let text = "version = 1\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\nsource = { editable = \".\" }\ndependencies = [{ name = \"a\" }]\n\n[package.dev-dependencies]\ndev = [{ name = \"t\" }]\n\n[[package]]\nname = \"a\"\nversion = \"1.0\"\nsource = { registry = \"https://pypi.org/simple\" }\ndependencies = [{ name = \"b\" }]\n\n[[package]]\nname = \"b\"\nversion = \"2.0\"\nsource = { registry = \"https://pypi.org/simple\" }\n\n[[package]]\nname = \"t\"\nversion = \"3.0\"\nsource = { registry = \"https://pypi.org/simple\" }\n";
        let l = parse_uv("uv.lock", text.as_bytes());
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        let got: Vec<_> = l
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.relationship, p.dev))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a", Relationship::Direct, false),
                ("b", Relationship::Transitive, false),
                ("t", Relationship::Direct, true)
            ]
        );
    }

    #[test]
    fn pipfile_sections() {
        let text = "{\n  \"default\": {\n    \"requests\": {\"version\": \"==2.0.0\"}\n  },\n  \"develop\": {\n    \"pytest\": {\"version\": \"==7.0.0\"}\n  }\n}";
        let l = parse_pipfile("Pipfile.lock", text.as_bytes());
        let got: Vec<_> = l
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.dev, p.line))
            .collect();
        assert_eq!(
            got,
            vec![
                ("requests", "2.0.0", false, Some(3)),
                ("pytest", "7.0.0", true, Some(6))
            ]
        );
        let bad = parse_pipfile("Pipfile.lock", b"");
        assert_eq!(bad.errors.len(), 1);
    }

    #[test]
    fn pdm_groups() {
        let text = "[[package]]\nname = \"x\"\nversion = \"1\"\ngroups = [\"dev\"]\ndependencies = [\"y>=1; os_name == 'nt'\"]\n\n[[package]]\nname = \"y\"\nversion = \"2\"\ngroups = [\"default\"]\n";
        let l = parse_pdm("pdm.lock", text.as_bytes());
        assert!(l.packages[0].dev);
        assert!(!l.packages[1].dev);
        assert_eq!(l.dependencies.len(), 1);
    }
}
