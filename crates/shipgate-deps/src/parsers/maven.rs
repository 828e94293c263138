//! Maven `pom.xml` (declared versions) and Gradle `gradle.lockfile`.
//!
//! pom.xml: the `<dependencies>` of the project (and of its `<profiles>`) are direct
//! dependencies. `${property}` references are substituted from `<properties>` and the
//! `project.*`/`parent.*` built-ins, recursively; a dependency without a version takes it from
//! `<dependencyManagement>`. What cannot be resolved without the network or a parent POM
//! (unknown properties, versions managed elsewhere, version ranges) is skipped with a note.
//! Test-scoped dependencies are marked dev. Plugin dependencies are build tooling and are not
//! listed. No transitive resolution happens: that needs a Maven repository.

use std::collections::HashMap;

use roxmltree::{Document, Node, ParsingOptions};

use crate::DepsError;
use crate::kind::LockfileKind;
use crate::model::{Builder, Flags, Lockfile};
use crate::text::to_u32;

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn child_text(node: Node<'_, '_>, name: &str) -> Option<String> {
    child(node, name)
        .and_then(|c| c.text())
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// Substitutes `${name}` references; `None` if one stays unresolved.
fn interpolate(value: &str, props: &HashMap<String, String>) -> Option<String> {
    let mut current = value.to_owned();
    for _ in 0..10 {
        let Some(start) = current.find("${") else {
            return Some(current);
        };
        let end = current[start..].find('}')? + start;
        let key = &current[start + 2..end];
        let replacement = props.get(key)?;
        current = format!(
            "{}{}{}",
            &current[..start],
            replacement,
            &current[end + 1..]
        );
    }
    (!current.contains("${")).then_some(current)
}

struct Dep {
    group: String,
    artifact: String,
    version: Option<String>,
    scope: Option<String>,
    optional: bool,
    line: u32,
}

fn read_deps(list: Node<'_, '_>, doc: &Document<'_>) -> Vec<Dep> {
    list.children()
        .filter(|c| c.is_element() && c.tag_name().name() == "dependency")
        .map(|d| Dep {
            group: child_text(d, "groupId").unwrap_or_default(),
            artifact: child_text(d, "artifactId").unwrap_or_default(),
            version: child_text(d, "version"),
            scope: child_text(d, "scope"),
            optional: child_text(d, "optional").as_deref() == Some("true"),
            line: doc.text_pos_at(d.range().start).row,
        })
        .collect()
}

pub(crate) fn parse_pom(path: &str, data: &[u8]) -> Lockfile {
    let mut b = Builder::new(path, LockfileKind::PomXml);
    let Some(text) = super::text(&mut b, data) else {
        return b.finish();
    };
    let options = ParsingOptions {
        allow_dtd: false,
        ..ParsingOptions::default()
    };
    let doc = match Document::parse_with_options(text, options) {
        Ok(d) => d,
        Err(e) => {
            b.errors.push(DepsError::xml(path, e));
            return b.finish();
        }
    };
    let project = doc.root_element();
    if project.tag_name().name() != "project" {
        b.error(
            Some(1),
            format!(
                "root element is <{}>, expected <project>; is this a pom.xml?",
                project.tag_name().name()
            ),
        );
        return b.finish();
    }
    let mut props: HashMap<String, String> = HashMap::new();
    let parent = child(project, "parent");
    for (key, node, field) in [
        ("project.version", Some(project), "version"),
        ("project.groupId", Some(project), "groupId"),
        ("project.artifactId", Some(project), "artifactId"),
        ("project.parent.version", parent, "version"),
        ("project.parent.groupId", parent, "groupId"),
        ("parent.version", parent, "version"),
        ("parent.groupId", parent, "groupId"),
    ] {
        if let Some(v) = node.and_then(|n| child_text(n, field)) {
            props.insert(key.to_owned(), v.clone());
            if let Some(short) = key.strip_prefix("project.") {
                props.entry(short.to_owned()).or_insert(v);
            }
        }
    }
    if !props.contains_key("project.version")
        && let Some(v) = props.get("project.parent.version").cloned()
    {
        props.insert("project.version".into(), v);
    }
    let mut prop_nodes = Vec::new();
    if let Some(p) = child(project, "properties") {
        prop_nodes.push(p);
    }
    for profile in child(project, "profiles")
        .into_iter()
        .flat_map(|p| p.children())
        .filter(|n| n.is_element())
    {
        if let Some(p) = child(profile, "properties") {
            prop_nodes.push(p);
        }
    }
    for node in prop_nodes {
        for p in node.children().filter(|c| c.is_element()) {
            let v = p.text().map(str::trim).unwrap_or_default().to_owned();
            props.entry(p.tag_name().name().to_owned()).or_insert(v);
        }
    }
    let mut managed: HashMap<(String, String), String> = HashMap::new();
    let mut dep_lists = Vec::new();
    let mut scopes = vec![project];
    if let Some(profiles) = child(project, "profiles") {
        scopes.extend(
            profiles
                .children()
                .filter(|n| n.is_element() && n.tag_name().name() == "profile"),
        );
    }
    for scope in scopes {
        if let Some(dm) =
            child(scope, "dependencyManagement").and_then(|n| child(n, "dependencies"))
        {
            for d in read_deps(dm, &doc) {
                if let Some(v) = d.version.as_deref().and_then(|v| interpolate(v, &props)) {
                    let key = (
                        interpolate(&d.group, &props).unwrap_or(d.group.clone()),
                        interpolate(&d.artifact, &props).unwrap_or(d.artifact.clone()),
                    );
                    managed.entry(key).or_insert(v);
                }
            }
        }
        if let Some(list) = child(scope, "dependencies") {
            dep_lists.push(read_deps(list, &doc));
        }
    }
    for d in dep_lists.into_iter().flatten() {
        let line = Some(d.line);
        let (Some(group), Some(artifact)) = (
            interpolate(&d.group, &props),
            interpolate(&d.artifact, &props),
        ) else {
            b.note(
                line,
                format!(
                    "{}:{} uses an unknown property; skipped",
                    d.group, d.artifact
                ),
            );
            continue;
        };
        if group.is_empty() || artifact.is_empty() {
            b.note(
                line,
                "dependency without groupId or artifactId; skipped (Maven rejects such a POM)",
            );
            continue;
        }
        let name = format!("{group}:{artifact}");
        let version = match &d.version {
            Some(v) => match interpolate(v, &props) {
                Some(v) => v,
                None => {
                    b.note(line, format!("{name}: version {v:?} uses a property not defined in this file; skipped"));
                    continue;
                }
            },
            None => match managed.get(&(group.clone(), artifact.clone())) {
                Some(v) => v.clone(),
                None => {
                    b.note(
                        line,
                        format!("{name}: version is managed by a parent POM or BOM; skipped"),
                    );
                    continue;
                }
            },
        };
        let version = version.trim().to_owned();
        if version.starts_with('[') || version.starts_with('(') {
            b.note(
                line,
                format!("{name}: version range {version} needs resolution; skipped"),
            );
            continue;
        }
        let dev = d.scope.as_deref() == Some("test");
        b.add(
            &name,
            &version,
            line,
            Flags::direct().with_dev(dev).with_optional(d.optional),
        );
    }
    b.finish()
}

/// `gradle.lockfile`: `group:artifact:version=configuration,...` lines.
pub(crate) fn parse_gradle(path: &str, data: &[u8]) -> Lockfile {
    let mut b = Builder::new(path, LockfileKind::GradleLockfile);
    let Some(text) = super::text(&mut b, data) else {
        return b.finish();
    };
    for (n, raw) in text.lines().enumerate() {
        let line = to_u32(n + 1);
        let content = raw.trim();
        if content.is_empty() || content.starts_with('#') || content.starts_with("empty=") {
            continue;
        }
        let (coords, configs) = content.split_once('=').unwrap_or((content, ""));
        let parts: Vec<&str> = coords.split(':').collect();
        let [group, artifact, version] = parts.as_slice() else {
            b.error(
                Some(line),
                format!("expected \"group:artifact:version=configurations\", found {content:?}"),
            );
            continue;
        };
        if group.is_empty() || artifact.is_empty() || version.is_empty() {
            b.error(
                Some(line),
                format!("empty group, artifact or version in {content:?}"),
            );
            continue;
        }
        let configs: Vec<&str> = configs
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        let dev = !configs.is_empty()
            && configs
                .iter()
                .all(|c| c.to_ascii_lowercase().starts_with("test"));
        b.add(
            &format!("{group}:{artifact}"),
            version,
            Some(line),
            Flags::default().with_dev(dev),
        );
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pom_properties_management_and_skips() {
        let text = r#"<project xmlns="http://maven.apache.org/POM/4.0.0">
  <version>1.0</version>
  <properties><a.version>2.0</a.version></properties>
  <dependencyManagement><dependencies>
    <dependency><groupId>m</groupId><artifactId>managed</artifactId><version>3.0</version></dependency>
  </dependencies></dependencyManagement>
  <dependencies>
    <dependency><groupId>g</groupId><artifactId>a</artifactId><version>${a.version}</version></dependency>
    <dependency><groupId>m</groupId><artifactId>managed</artifactId></dependency>
    <dependency><groupId>g</groupId><artifactId>self</artifactId><version>${project.version}</version><scope>test</scope></dependency>
    <dependency><groupId>g</groupId><artifactId>unknown</artifactId><version>${nope}</version></dependency>
    <dependency><groupId>g</groupId><artifactId>range</artifactId><version>[1.0,2.0)</version></dependency>
  </dependencies>
</project>"#;
        let l = parse_pom("pom.xml", text.as_bytes());
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        let got: Vec<_> = l
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.dev, p.line))
            .collect();
        assert_eq!(
            got,
            vec![
                ("g:a", "2.0", false, Some(8)),
                ("m:managed", "3.0", false, Some(9)),
                ("g:self", "1.0", true, Some(10))
            ]
        );
        assert_eq!(l.notes.len(), 2);
        assert_eq!(l.packages[0].purl, "pkg:maven/g/a@2.0");
    }

    #[test]
    fn pom_bad_xml() {
        let l = parse_pom("pom.xml", b"<project>\n  <dependencies>\n</project>");
        assert_eq!(l.errors.len(), 1);
        assert_eq!(l.errors[0].line(), Some(3));
    }

    #[test]
    fn gradle_lines() {
        let l = parse_gradle(
            "gradle.lockfile",
            b"# c\na:b:1.0=compileClasspath\n>>>\nt:t:2=testRuntimeClasspath\nempty=\n",
        );
        let got: Vec<_> = l
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.dev, p.line))
            .collect();
        assert_eq!(got, vec![("a:b", false, Some(2)), ("t:t", true, Some(4))]);
        assert_eq!(l.errors.len(), 1);
        assert_eq!(l.errors[0].line(), Some(3));
    }
}
