//! `go.mod`, with `go.sum` beside it for modules that predate Go 1.17.
//!
//! Since Go 1.17 `go.mod` lists every module in the build (`// indirect` marks transitive ones),
//! so it is authoritative. For older modules the transitive set is only in `go.sum`; then the
//! highest version of each module that has a content hash there is added as transitive.
//! `replace` directives are applied; replacements by a local path drop the module (it is not
//! fetched from a registry). A `toolchain` directive adds the `stdlib` package at that version.

use std::collections::HashMap;

use crate::kind::{LockfileKind, ParseContext};
use crate::model::{Builder, Flags, Lockfile};
use crate::text::to_u32;

struct Require {
    path: String,
    version: String,
    indirect: bool,
    line: u32,
}

struct Replace {
    old_path: String,
    old_version: Option<String>,
    new_path: String,
    new_version: Option<String>,
}

fn strip_comment(line: &str) -> (&str, bool) {
    match line.find("//") {
        Some(i) => (&line[..i], line[i + 2..].trim().starts_with("indirect")),
        None => (line, false),
    }
}

fn unquote(s: &str) -> String {
    s.trim_matches(|c| c == '"' || c == '`').to_owned()
}

pub(crate) fn parse(path: &str, data: &[u8], ctx: &mut dyn ParseContext) -> Lockfile {
    let mut b = Builder::new(path, LockfileKind::GoMod);
    let Some(text) = super::text(&mut b, data) else {
        return b.finish();
    };
    let mut requires = Vec::new();
    let mut replaces = Vec::new();
    let mut go_version: Option<String> = None;
    let mut toolchain: Option<(String, u32)> = None;
    let mut block: Option<String> = None;
    let mut saw_module = false;
    for (n, raw) in text.lines().enumerate() {
        let line = to_u32(n + 1);
        let (content, indirect) = strip_comment(raw);
        let content = content.trim();
        if content.is_empty() {
            continue;
        }
        let (verb, args): (String, &str) = match &block {
            Some(v) if content == ")" => {
                let _ = v;
                block = None;
                continue;
            }
            Some(v) => (v.clone(), content),
            None => {
                let (verb, rest) = content
                    .split_once(char::is_whitespace)
                    .unwrap_or((content, ""));
                let rest = rest.trim();
                if rest == "(" {
                    block = Some(verb.to_owned());
                    continue;
                }
                (verb.to_owned(), rest)
            }
        };
        let fields: Vec<&str> = args.split_whitespace().collect();
        match verb.as_str() {
            "module" => saw_module = true,
            "go" => go_version = fields.first().map(|s| (*s).to_owned()),
            "toolchain" => toolchain = fields.first().map(|s| ((*s).to_owned(), line)),
            "require" => match fields.as_slice() {
                [p, v] => requires.push(Require {
                    path: unquote(p),
                    version: (*v).to_owned(),
                    indirect,
                    line,
                }),
                _ => b.error(
                    Some(line),
                    format!("expected \"require <module> <version>\", found {args:?}"),
                ),
            },
            "replace" => {
                let Some(arrow) = fields.iter().position(|f| *f == "=>") else {
                    b.error(
                        Some(line),
                        format!("replace directive without '=>': {args:?}"),
                    );
                    continue;
                };
                let (old, new) = fields.split_at(arrow);
                let new = &new[1..];
                if old.is_empty() || new.is_empty() || old.len() > 2 || new.len() > 2 {
                    b.error(Some(line), format!("malformed replace directive {args:?}"));
                    continue;
                }
                replaces.push(Replace {
                    old_path: unquote(old[0]),
                    old_version: old.get(1).map(|s| (*s).to_owned()),
                    new_path: unquote(new[0]),
                    new_version: new.get(1).map(|s| (*s).to_owned()),
                });
            }
            "exclude" | "retract" | "godebug" | "tool" | "ignore" => {}
            other => {
                b.error(
                    Some(line),
                    format!("unknown go.mod directive {other:?}; is this a go.mod file?"),
                );
            }
        }
    }
    if !saw_module && !requires.is_empty() {
        b.note(None, "no module directive");
    }
    for r in &requires {
        let mut name = r.path.clone();
        let mut version = r.version.clone();
        let rep = replaces.iter().find(|x| {
            x.old_path == r.path && x.old_version.as_ref().is_none_or(|v| *v == r.version)
        });
        if let Some(rep) = rep {
            match &rep.new_version {
                Some(v) => {
                    name.clone_from(&rep.new_path);
                    version.clone_from(v);
                }
                None => {
                    b.note(
                        Some(r.line),
                        format!(
                            "{} is replaced by local path {}; not listed",
                            r.path, rep.new_path
                        ),
                    );
                    continue;
                }
            }
        }
        let flags = if r.indirect {
            Flags::transitive()
        } else {
            Flags::direct()
        };
        b.add(&name, &version, Some(r.line), flags);
    }
    if let Some((tc, line)) = toolchain
        && let Some(v) = tc.strip_prefix("go")
    {
        // "go1.22.1-custom" style suffixes are dropped; stdlib versions are plain.
        let v = v.split(['-', '+']).next().unwrap_or(v);
        b.add("stdlib", v, Some(line), Flags::direct());
    }
    let old_go = go_version.as_deref().is_none_or(|v| version_lt(v, "1.17"));
    if old_go {
        add_go_sum(&mut b, path, ctx);
    }
    b.finish()
}

/// Adds the selected version of modules only listed in `go.sum` (Go < 1.17 modules).
fn add_go_sum(b: &mut Builder, path: &str, ctx: &mut dyn ParseContext) {
    let Some(read) = ctx.read_relative(path, "go.sum") else {
        return;
    };
    let (sum_path, data) = match read {
        Ok(x) => x,
        Err(e) => {
            b.errors.push(e);
            return;
        }
    };
    let text = String::from_utf8_lossy(&data);
    let mut best: HashMap<String, (String, u32)> = HashMap::new();
    for (n, raw) in text.lines().enumerate() {
        let fields: Vec<&str> = raw.split_whitespace().collect();
        let [module, version, _hash] = fields.as_slice() else {
            continue;
        };
        if version.ends_with("/go.mod") {
            continue;
        }
        let line = to_u32(n + 1);
        match best.get(*module) {
            Some((v, _)) if !version_lt(v, version) => {}
            _ => {
                best.insert((*module).to_owned(), ((*version).to_owned(), line));
            }
        }
    }
    let listed: std::collections::HashSet<String> = (0..b.len())
        .map(|i| b.package_mut(i).name.clone())
        .collect();
    let mut extra: Vec<_> = best
        .into_iter()
        .filter(|(m, _)| !listed.contains(m))
        .collect();
    extra.sort();
    let saved = std::mem::replace(&mut b.path, sum_path);
    for (module, (version, line)) in extra {
        b.add(&module, &version, Some(line), Flags::transitive());
    }
    b.path = saved;
}

/// Compares Go-style versions (`v1.2.3`, `1.17`) numerically on the release part.
fn version_lt(a: &str, b: &str) -> bool {
    fn parts(v: &str) -> Vec<u64> {
        v.trim_start_matches('v')
            .split(['-', '+'])
            .next()
            .unwrap_or("")
            .split('.')
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    }
    let (pa, pb) = (parts(a), parts(b));
    if pa != pb {
        return pa < pb;
    }
    // Same release: a pre-release sorts first.
    a.contains('-') && !b.contains('-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kind::NoSiblings;
    use crate::model::Relationship;

    #[test]
    fn requires_replace_toolchain() {
        let text = "module example.com/m\n\ngo 1.21\ntoolchain go1.21.5\n\nrequire (\n\tgithub.com/a/b v1.0.0\n\tgolang.org/x/text v0.3.0 // indirect\n\texample.com/local v1.0.0\n)\n\nrequire github.com/c/d v2.0.0+incompatible\n\nreplace example.com/local => ../local\nreplace github.com/a/b v1.0.0 => github.com/fork/b v1.0.1\n";
        let l = parse("go.mod", text.as_bytes(), &mut NoSiblings);
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        let got: Vec<_> = l
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.relationship, p.line))
            .collect();
        assert_eq!(
            got,
            vec![
                ("github.com/fork/b", "v1.0.1", Relationship::Direct, Some(7)),
                (
                    "golang.org/x/text",
                    "v0.3.0",
                    Relationship::Transitive,
                    Some(8)
                ),
                (
                    "github.com/c/d",
                    "v2.0.0+incompatible",
                    Relationship::Direct,
                    Some(12)
                ),
                ("stdlib", "1.21.5", Relationship::Direct, Some(4)),
            ]
        );
        assert_eq!(l.notes.len(), 1);
    }

    struct Sum;
    impl ParseContext for Sum {
        fn read_relative(
            &mut self,
            _f: &str,
            rel: &str,
        ) -> Option<Result<(String, Vec<u8>), crate::DepsError>> {
            (rel == "go.sum").then(|| {
                Ok(("go.sum".into(), b"x.io/a v1.0.0 h1:x=\nx.io/a v1.0.0/go.mod h1:y=\nx.io/t v0.9.0 h1:x=\nx.io/t v0.10.0 h1:x=\nx.io/g v1.0.0/go.mod h1:z=\n".to_vec()))
            })
        }
    }

    #[test]
    fn old_modules_use_go_sum() {
        let l = parse(
            "go.mod",
            b"module m\ngo 1.16\nrequire x.io/a v1.0.0\n",
            &mut Sum,
        );
        let got: Vec<_> = l
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.path.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("x.io/a", "v1.0.0", "go.mod"),
                ("x.io/t", "v0.10.0", "go.sum")
            ]
        );
    }

    #[test]
    fn not_go_mod() {
        let l = parse("go.mod", b"this is not a go.mod file!", &mut NoSiblings);
        assert_eq!(l.errors.len(), 1);
        assert_eq!(l.errors[0].line(), Some(1));
    }
}
