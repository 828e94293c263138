//! pip requirements files.
//!
//! Only exactly pinned requirements (`name==1.2.3`, `name===1.2.3`, extras and environment
//! markers allowed, per-requirement options such as `--hash` ignored) have a version and become
//! packages. Everything else that is a valid line — ranges, bare names, URLs, local paths,
//! editable installs — is skipped with a note saying why, so the user can see what was not
//! checked. `-r`/`--requirement` includes are followed through the [`ParseContext`] (cycles
//! are detected); `-c` constraint files only constrain, so they are not read.

use std::collections::HashSet;

use crate::kind::{LockfileKind, ParseContext};
use crate::model::{Builder, Flags, Lockfile};
use crate::text::to_u32;

pub(crate) fn parse(path: &str, data: &[u8], ctx: &mut dyn ParseContext) -> Lockfile {
    let mut b = Builder::new(path, LockfileKind::Requirements);
    let mut visited = HashSet::new();
    visited.insert(path.to_owned());
    parse_into(&mut b, path, data, ctx, &mut visited);
    b.finish()
}

fn parse_into(
    b: &mut Builder,
    path: &str,
    data: &[u8],
    ctx: &mut dyn ParseContext,
    visited: &mut HashSet<String>,
) {
    let saved = std::mem::replace(&mut b.path, path.to_owned());
    if let Some(text) = super::text(b, data) {
        for (line_no, logical) in logical_lines(text) {
            handle_line(b, path, line_no, &logical, ctx, visited);
        }
    }
    b.path = saved;
}

/// Joins backslash continuations and strips comments; yields (first line number, text).
fn logical_lines(text: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start = 0u32;
    for (n, raw) in text.lines().enumerate() {
        let line = to_u32(n + 1);
        if current.is_empty() {
            start = line;
        }
        let stripped = strip_comment(raw);
        if let Some(cont) = stripped.trim_end().strip_suffix('\\') {
            current.push_str(cont);
            current.push(' ');
            continue;
        }
        current.push_str(stripped);
        let t = current.trim();
        if !t.is_empty() {
            out.push((start, t.to_owned()));
        }
        current.clear();
    }
    let t = current.trim();
    if !t.is_empty() {
        out.push((start, t.to_owned()));
    }
    out
}

/// A `#` starts a comment at the beginning of a line or after whitespace.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &c) in bytes.iter().enumerate() {
        if c == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

fn handle_line(
    b: &mut Builder,
    path: &str,
    line: u32,
    text: &str,
    ctx: &mut dyn ParseContext,
    visited: &mut HashSet<String>,
) {
    if let Some(opt) = text.strip_prefix('-') {
        let (flag, arg) = split_option(opt);
        match flag {
            "r" | "-requirement" => include(b, path, line, arg, ctx, visited),
            "c" | "-constraint" => {}
            "e" | "-editable" => b.note(
                Some(line),
                format!("editable requirement {arg:?} has no pinned version; skipped"),
            ),
            "i" | "-index-url" | "-extra-index-url" | "f" | "-find-links" | "-no-index"
            | "-pre" | "-prefer-binary" | "-require-hashes" | "-only-binary" | "-no-binary"
            | "-trusted-host" | "-use-feature" => {}
            _ => b.error(
                Some(line),
                format!("unknown option \"-{flag}\"; expected a requirement or a pip option"),
            ),
        }
        return;
    }
    if text.starts_with('.') || text.starts_with('/') || text.contains("://") {
        b.note(
            Some(line),
            format!("{text:?} is a path or URL, not a pinned requirement; skipped"),
        );
        return;
    }
    // Drop per-requirement options (--hash, --global-option, --config-settings, -C).
    let requirement = match text.find(" -") {
        Some(i) => text[..i].trim(),
        None => text,
    };
    let (spec, _marker) = match requirement.split_once(';') {
        Some((s, m)) => (s.trim(), Some(m.trim())),
        None => (requirement, None),
    };
    let name_end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
        .unwrap_or(spec.len());
    let name = &spec[..name_end];
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        b.error(
            Some(line),
            format!("cannot read a package name from {text:?}"),
        );
        return;
    }
    let mut rest = spec[name_end..].trim_start();
    if let Some(after) = rest.strip_prefix('[') {
        match after.find(']') {
            Some(end) => rest = after[end + 1..].trim_start(),
            None => {
                b.error(Some(line), format!("unclosed extras '[' in {text:?}"));
                return;
            }
        }
    }
    if rest.starts_with('@') {
        b.note(
            Some(line),
            format!("{name} is a direct URL reference, not a pinned version; skipped"),
        );
        return;
    }
    if rest.is_empty() {
        b.note(
            Some(line),
            format!("{name} has no version specifier; skipped (pin it with == to have it checked)"),
        );
        return;
    }
    let clauses: Vec<&str> = rest.split(',').map(str::trim).collect();
    for c in &clauses {
        if !["===", "==", "!=", "~=", ">=", "<=", ">", "<"]
            .iter()
            .any(|op| c.starts_with(op))
        {
            b.error(
                Some(line),
                format!("invalid version specifier {c:?} for {name}"),
            );
            return;
        }
    }
    let pinned = clauses
        .iter()
        .find_map(|c| c.strip_prefix("===").or_else(|| c.strip_prefix("==")));
    match pinned.map(str::trim) {
        Some("") => b.note(
            Some(line),
            format!("{name}: '==' without a version; skipped"),
        ),
        Some(v) if v.contains("${") => b.note(
            Some(line),
            format!("{name}: version {v:?} uses an environment variable; skipped"),
        ),
        Some(v) if !v.contains('*') => {
            b.add(name, v, Some(line), Flags::default());
        }
        _ => b.note(
            Some(line),
            format!("{name} is not pinned ({rest}); skipped (pin it with == to have it checked)"),
        ),
    }
}

/// `r file`, `r=file`, `-requirement=file`, `rfile` -> (flag, argument).
fn split_option(opt: &str) -> (&str, &str) {
    if let Some(long) = opt.strip_prefix('-') {
        let (f, a) = long
            .split_once(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or((long, ""));
        let f = &opt[..f.len() + 1];
        return (f, a.trim());
    }
    let mut chars = opt.char_indices();
    let Some((_, _)) = chars.next() else {
        return ("", "");
    };
    let split = chars.next().map_or(opt.len(), |(i, _)| i);
    let (f, a) = opt.split_at(split);
    (f, a.trim_start_matches('=').trim())
}

fn include(
    b: &mut Builder,
    path: &str,
    line: u32,
    target: &str,
    ctx: &mut dyn ParseContext,
    visited: &mut HashSet<String>,
) {
    if target.is_empty() {
        b.error(Some(line), "-r needs a file name");
        return;
    }
    match ctx.read_relative(path, target) {
        None => b.note(
            Some(line),
            format!("included file {target:?} is not available here; not followed"),
        ),
        Some(Err(e)) => b.errors.push(e),
        Some(Ok((display, data))) => {
            if !visited.insert(display.clone()) {
                b.note(
                    Some(line),
                    format!("{display} is already included (include cycle); not read again"),
                );
                return;
            }
            parse_into(b, &display, &data, ctx, visited);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kind::NoSiblings;

    #[test]
    fn pinned_unpinned_and_invalid() {
        let text = "# c\nDjango==3.2.0 --hash=sha256:1 \\\n    --hash=sha256:2\nrequests[security]==2.8.1 ; python_version < \"2.7\"\npytest\nkeyring >= 4.1.1\nasdf==\n==1.0\nurllib3 @ https://x/y.zip\n-r other.txt\nfoo==${V}\nbar===1.0\n";
        let l = parse("requirements.txt", text.as_bytes(), &mut NoSiblings);
        let got: Vec<_> = l
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.line))
            .collect();
        assert_eq!(
            got,
            vec![
                ("Django", "3.2.0", Some(2)),
                ("requests", "2.8.1", Some(4)),
                ("bar", "1.0", Some(12)),
            ]
        );
        assert_eq!(l.packages[0].purl, "pkg:pypi/django@3.2.0");
        let err_lines: Vec<_> = l.errors.iter().map(|e| e.line()).collect();
        assert_eq!(err_lines, vec![Some(8)]);
        let note_lines: Vec<_> = l.notes.iter().map(|n| n.line).collect();
        assert_eq!(
            note_lines,
            vec![Some(5), Some(6), Some(7), Some(9), Some(10), Some(11)]
        );
    }

    struct Files;
    impl ParseContext for Files {
        fn read_relative(
            &mut self,
            _from: &str,
            rel: &str,
        ) -> Option<Result<(String, Vec<u8>), crate::DepsError>> {
            match rel {
                "a.txt" => Some(Ok(("a.txt".into(), b"x==1.0\n-r b.txt\n".to_vec()))),
                "b.txt" => Some(Ok(("b.txt".into(), b"-r a.txt\ny==2.0\n".to_vec()))),
                _ => None,
            }
        }
    }

    #[test]
    fn includes_and_cycles() {
        let l = parse("requirements.txt", b"-r a.txt\n", &mut Files);
        let got: Vec<_> = l
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.path.as_str(), p.line))
            .collect();
        assert_eq!(got, vec![("x", "a.txt", Some(1)), ("y", "b.txt", Some(2))]);
        assert_eq!(l.notes.len(), 1, "{:?}", l.notes);
        assert_eq!(l.notes[0].path, "b.txt");
        assert_eq!(l.path, "requirements.txt");
    }
}
