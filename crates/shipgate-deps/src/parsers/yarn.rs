//! `yarn.lock`, classic (v1, its own indented format) and berry (v2+, YAML).
//!
//! Both are read by one line-oriented parser: a block header at column 0 lists the descriptors
//! (`name@range`) that resolve to the block, fields are indented by two spaces (`version "1.0"`
//! in classic, `version: 1.0` in berry) and dependency lists by four. A YAML library is not
//! used for berry so that both formats share descriptor handling and line numbers.
//! Workspace (`linkType: soft`) blocks are the project itself: their dependencies are direct.

use std::collections::HashMap;

use crate::kind::LockfileKind;
use crate::model::{Builder, Flags, Lockfile, Relationship};
use crate::text::to_u32;

#[derive(Default)]
struct Block {
    line: u32,
    descriptors: Vec<String>,
    version: Option<String>,
    resolution: Option<String>,
    resolved: Option<String>,
    link_soft: bool,
    deps: Vec<(String, String)>,
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(s)
}

/// `key value` (classic) or `key: value` (berry).
fn split_field(content: &str) -> (&str, &str) {
    let (key, rest) = if let Some(stripped) = content.strip_prefix('"') {
        match stripped.find('"') {
            Some(end) => (&stripped[..end], &stripped[end + 1..]),
            None => (content, ""),
        }
    } else {
        match content.find([' ', ':']) {
            Some(i) => (&content[..i], &content[i..]),
            None => (content, ""),
        }
    };
    let rest = rest.strip_prefix(':').unwrap_or(rest);
    (key, unquote(rest))
}

/// Package name of a descriptor `name@range` (scoped names start with '@').
fn descriptor_name(desc: &str) -> &str {
    match desc[1.min(desc.len())..].find('@') {
        Some(i) => &desc[..i + 1],
        None => desc,
    }
}

/// `alias@npm:real@range` -> `real`; otherwise the descriptor's own name.
fn real_name(desc: &str) -> &str {
    let name = descriptor_name(desc);
    let range = desc.get(name.len() + 1..).unwrap_or("");
    match range.strip_prefix("npm:") {
        Some(aliased) if aliased.len() > 1 && aliased[1..].contains('@') => {
            descriptor_name(aliased)
        }
        _ => name,
    }
}

pub(crate) fn parse(path: &str, data: &[u8]) -> Lockfile {
    let mut b = Builder::new(path, LockfileKind::YarnLock);
    let Some(text) = super::text(&mut b, data) else {
        return b.finish();
    };
    let mut blocks: Vec<Block> = Vec::new();
    let mut in_deps = false;
    let mut skip_block = false;
    let mut berry = false;
    for (n, raw) in text.lines().enumerate() {
        let line = to_u32(n + 1);
        let trimmed = raw.trim_end();
        let content = trimmed.trim_start();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = trimmed.len() - content.len();
        if indent == 0 {
            in_deps = false;
            let Some(header) = content.strip_suffix(':') else {
                b.error(Some(line), format!("expected a package header ending in ':' but found {content:?}; is this a yarn.lock?"));
                skip_block = true;
                continue;
            };
            if header == "__metadata" {
                berry = true;
                skip_block = true;
                continue;
            }
            skip_block = false;
            let descriptors = header
                .split(", ")
                .map(|d| unquote(d).to_owned())
                .filter(|d| !d.is_empty())
                .collect();
            blocks.push(Block {
                line,
                descriptors,
                ..Block::default()
            });
            continue;
        }
        if skip_block {
            continue;
        }
        let Some(block) = blocks.last_mut() else {
            b.error(Some(line), "indented line before any package header");
            continue;
        };
        if indent <= 2 {
            let (key, value) = split_field(content);
            in_deps = matches!(
                key,
                "dependencies" | "optionalDependencies" | "peerDependencies"
            ) && value.is_empty();
            match key {
                "version" => block.version = Some(value.to_owned()),
                "resolution" => block.resolution = Some(value.to_owned()),
                "resolved" => block.resolved = Some(value.to_owned()),
                "linkType" => block.link_soft = value == "soft",
                _ => {}
            }
        } else if in_deps {
            let (name, range) = split_field(content);
            block.deps.push((name.to_owned(), range.to_owned()));
        }
    }

    let mut by_descriptor: HashMap<String, usize> = HashMap::new();
    let mut block_ids: Vec<Option<usize>> = Vec::with_capacity(blocks.len());
    let mut workspaces = 0;
    for block in &blocks {
        let first = block.descriptors.first().map_or("", String::as_str);
        let local = block.link_soft
            || block.resolution.as_deref().is_some_and(|r| {
                ["@workspace:", "@link:", "@portal:", "@file:"]
                    .iter()
                    .any(|m| r.contains(m))
            })
            || block.version.as_deref() == Some("0.0.0-use.local");
        if local {
            if block.link_soft || first.contains("@workspace:") {
                workspaces += 1;
            }
            block_ids.push(None);
            continue;
        }
        let Some(version) = block.version.as_deref().filter(|v| !v.is_empty()) else {
            b.error(
                Some(block.line),
                format!(
                    "package \"{first}\" has no version; regenerate the lockfile with yarn install"
                ),
            );
            block_ids.push(None);
            continue;
        };
        let name = match &block.resolution {
            Some(res) => {
                let n = descriptor_name(res);
                // Berry patches: "resolve@patch:resolve@npm%3A1.0#..." keep the package name.
                if n.is_empty() { real_name(first) } else { n }
            }
            None => real_name(first),
        };
        if name.is_empty() {
            b.error(
                Some(block.line),
                format!("cannot read a package name from {first:?}"),
            );
            block_ids.push(None);
            continue;
        }
        let relationship = if berry {
            Relationship::Transitive
        } else {
            Relationship::Unknown
        };
        let id = b.add(
            name,
            version,
            Some(block.line),
            Flags {
                relationship,
                ..Flags::default()
            },
        );
        for d in &block.descriptors {
            by_descriptor.insert(d.clone(), id);
        }
        block_ids.push(Some(id));
    }
    for (block, id) in blocks.iter().zip(&block_ids) {
        for (name, range) in &block.deps {
            let target = by_descriptor
                .get(&format!("{name}@{range}"))
                .or_else(|| by_descriptor.get(&format!("{name}@npm:{range}")));
            let Some(&to) = target else { continue };
            match id {
                Some(from) => b.edge(*from, to),
                None if block.link_soft || block.version.as_deref() == Some("0.0.0-use.local") => {
                    b.package_mut(to).relationship = Relationship::Direct;
                }
                None => {}
            }
        }
    }
    if workspaces > 0 {
        b.note(
            None,
            format!("{workspaces} workspace package(s) are the project itself and are not listed"),
        );
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic() {
        let text = "# yarn lockfile v1\n\n\"@babel/code-frame@^7.0.0\", \"@babel/code-frame@^7.10.4\":\n  version \"7.12.13\"\n  resolved \"https://registry.yarnpkg.com/x.tgz\"\n  dependencies:\n    \"@babel/highlight\" \"^7.12.13\"\n\n\"@babel/highlight@^7.12.13\":\n  version \"7.13.10\"\n\n\"alias@npm:real@^1.0.0\":\n  version \"1.0.1\"\n";
        let l = parse("yarn.lock", text.as_bytes());
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        let got: Vec<_> = l
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.line))
            .collect();
        assert_eq!(
            got,
            vec![
                ("@babel/code-frame", "7.12.13", Some(3)),
                ("@babel/highlight", "7.13.10", Some(9)),
                ("real", "1.0.1", Some(12)),
            ]
        );
        assert_eq!(l.dependencies, vec![crate::Dependency { from: 0, to: 1 }]);
    }

    #[test]
    fn berry_with_workspace() {
        let text = "__metadata:\n  version: 8\n\n\"app@workspace:.\":\n  version: 0.0.0-use.local\n  resolution: \"app@workspace:.\"\n  dependencies:\n    lodash: \"npm:^4.17.0\"\n  languageName: unknown\n  linkType: soft\n\n\"lodash@npm:^4.17.0\":\n  version: 4.17.21\n  resolution: \"lodash@npm:4.17.21\"\n  languageName: node\n  linkType: hard\n";
        let l = parse("yarn.lock", text.as_bytes());
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        assert_eq!(l.packages.len(), 1);
        assert_eq!(l.packages[0].name, "lodash");
        assert_eq!(l.packages[0].line, Some(12));
        assert_eq!(l.packages[0].relationship, Relationship::Direct);
    }

    #[test]
    fn garbage_is_an_error_with_line() {
        let l = parse("yarn.lock", b"a@1:\n  version \"1.0.0\"\nnot a header\n");
        assert_eq!(l.packages.len(), 1);
        assert_eq!(l.errors.len(), 1);
        assert_eq!(l.errors[0].line(), Some(3));
    }
}
