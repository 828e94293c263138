//! `Gemfile.lock` (Bundler).
//!
//! Gems come from the `specs:` lists of the `GEM`, `GIT` and `PATH` sections (four-space
//! indent; six-space lines are their dependencies). `DEPENDENCIES` lists the direct ones.
//! Platform suffixes (`1.13.0-x86_64-linux`) are dropped from versions. `PATH` gems are local
//! and not listed.

use std::collections::HashMap;

use crate::kind::LockfileKind;
use crate::model::{Builder, Flags, Lockfile, Relationship};
use crate::text::to_u32;

/// `name (1.0.0)` -> (name, Some("1.0.0")); `name` -> (name, None).
fn name_version(s: &str) -> (&str, Option<&str>) {
    match s.split_once(" (") {
        Some((n, v)) => (n.trim(), Some(v.trim_end_matches(')').trim())),
        None => (s.trim(), None),
    }
}

pub(crate) fn parse(path: &str, data: &[u8]) -> Lockfile {
    let mut b = Builder::new(path, LockfileKind::GemfileLock);
    let Some(text) = super::text(&mut b, data) else {
        return b.finish();
    };
    let mut section = String::new();
    let mut in_specs = false;
    let mut current: Option<usize> = None;
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut pending_edges: Vec<(usize, String)> = Vec::new();
    let mut direct: Vec<String> = Vec::new();
    let mut git_revision: Option<String> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = to_u32(n + 1);
        let trimmed = raw.trim_end();
        if trimmed.is_empty() {
            continue;
        }
        let content = trimmed.trim_start();
        let indent = trimmed.len() - content.len();
        if indent == 0 {
            section = content.to_owned();
            in_specs = false;
            current = None;
            git_revision = None;
            continue;
        }
        match section.as_str() {
            "GEM" | "GIT" | "PATH" | "PLUGIN SOURCE" => {
                if indent == 2 {
                    in_specs = content == "specs:";
                    if let Some(rev) = content.strip_prefix("revision: ") {
                        git_revision = Some(rev.trim().to_owned());
                    }
                    continue;
                }
                if !in_specs {
                    continue;
                }
                if indent == 4 {
                    let (name, version) = name_version(content);
                    let Some(version) = version.filter(|v| !v.is_empty()) else {
                        b.error(
                            Some(line),
                            format!(
                                "gem spec {content:?} has no version; expected \"name (version)\""
                            ),
                        );
                        current = None;
                        continue;
                    };
                    if section == "PATH" {
                        b.note(
                            Some(line),
                            format!("{name} is a local (PATH) gem; not listed"),
                        );
                        current = None;
                        continue;
                    }
                    let version = version.split('-').next().unwrap_or(version);
                    let version = if section == "GIT" {
                        git_revision.as_deref().unwrap_or(version)
                    } else {
                        version
                    };
                    let id = b.add(name, version, Some(line), Flags::transitive());
                    by_name.insert(name.to_owned(), id);
                    current = Some(id);
                } else if indent == 6
                    && let Some(from) = current
                {
                    pending_edges.push((from, name_version(content).0.to_owned()));
                }
            }
            "DEPENDENCIES" => {
                let (name, _) = name_version(content);
                direct.push(name.trim_end_matches('!').to_owned());
            }
            _ => {}
        }
    }
    for (from, to) in pending_edges {
        if let Some(&to) = by_name.get(&to) {
            b.edge(from, to);
        }
    }
    for name in direct {
        if let Some(&id) = by_name.get(&name) {
            b.package_mut(id).relationship = Relationship::Direct;
        }
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gems_edges_direct() {
        let text = "GEM\n  remote: https://rubygems.org/\n  specs:\n    actionpack (7.0.0)\n      rack (~> 2.0)\n    rack (2.2.3)\n    nokogiri (1.13.0-x86_64-linux)\n    broken\n\nPLATFORMS\n  x86_64-linux\n\nDEPENDENCIES\n  actionpack!\n  nokogiri\n";
        let l = parse("Gemfile.lock", text.as_bytes());
        let got: Vec<_> = l
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.relationship, p.line))
            .collect();
        assert_eq!(
            got,
            vec![
                ("actionpack", "7.0.0", Relationship::Direct, Some(4)),
                ("rack", "2.2.3", Relationship::Transitive, Some(6)),
                ("nokogiri", "1.13.0", Relationship::Direct, Some(7)),
            ]
        );
        assert_eq!(l.dependencies, vec![crate::Dependency { from: 0, to: 1 }]);
        assert_eq!(l.errors.len(), 1);
        assert_eq!(l.errors[0].line(), Some(8));
    }
}
