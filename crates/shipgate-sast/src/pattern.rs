//! Semgrep patterns for tree languages, compiled into ast-grep-core patterns.
//!
//! The translation:
//! - `...` (outside string literals) becomes ast-grep's `$$$`: zero or more nodes, in
//!   arguments, parameters, statements, list and mapping entries;
//! - `$...ARGS` becomes `$$$ARGS`;
//! - a string literal in the pattern matches a string literal of the same contents whatever
//!   its quotes (`"md5"` matches `'md5'`), and `"..."` matches any string literal;
//! - in YAML, a line that is only `...` stands for any mapping entries between its neighbours;
//! - where `$` cannot start an identifier (Python, Go, Ruby, PHP, Rust, C#), metavariables
//!   are renamed for the parser (see [`crate::lang`]).
//!
//! A pattern that is not a whole program (a Go expression, a Java call) is parsed inside the
//! smallest context that makes it valid; the pattern is then the outermost node spanning
//! exactly its text. Patterns that still do not parse are rule errors.

use std::collections::HashMap;

use ast_grep_core::matcher::PatternNode;
use ast_grep_core::meta_var::MetaVariable;
use ast_grep_core::tree_sitter::{LanguageExt, StrDoc};
use ast_grep_core::{AstGrep, Language, MatchStrictness, Node, NodeMatch, Pattern};

use crate::eval::{Binding, Hit};
use crate::lang::Lang;

/// Placeholder key for a YAML `...` line.
const YAML_DOTS: &str = "sg_yaml_dots_";

/// A compiled tree pattern.
pub(crate) struct TreePattern {
    /// Unique per compiled pattern: the key of its matches in a file's [`match_all`] result.
    pub(crate) id: usize,
    /// The pattern, and equivalent forms Semgrep also matches.
    patterns: Vec<Pattern>,
    lang: Lang,
    /// Metavariables that stand for string literals in the pattern: the literal's contents,
    /// or `None` for `"..."`.
    strings: Vec<(String, Option<String>)>,
    /// The longest literal token of the pattern, for the file prefilter.
    literal: String,
    /// YAML mapping patterns: one pattern per entry, all of which must match entries of one
    /// mapping of the file, in any order (`patterns` is then unused).
    entries: Vec<Pattern>,
}

static NEXT_ID: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The matches of many patterns in one traversal of the tree: each node is tried only
/// against the patterns whose root can have its kind. (Running each pattern's own
/// `find_all` walks the whole tree once per pattern, which dominated scan time.)
pub(crate) fn match_all(tree: &Tree, pats: &[&TreePattern]) -> HashMap<usize, Vec<Hit>> {
    use ast_grep_core::Matcher;
    use ast_grep_core::matcher::MatcherExt;
    let mut results: HashMap<usize, Vec<Hit>> = HashMap::new();
    let Some(first) = pats.first() else {
        return results;
    };
    let kinds = first.lang.get_ts_language().node_kind_count();
    let mut by_kind: Vec<Vec<(usize, usize)>> = vec![Vec::new(); kinds + 1];
    let mut any_kind: Vec<(usize, usize)> = Vec::new();
    for (pi, p) in pats.iter().enumerate() {
        if !p.entries.is_empty() {
            results.insert(p.id, p.find_mappings(tree));
            continue;
        }
        results.entry(p.id).or_default();
        for (si, sub) in p.patterns.iter().enumerate() {
            match sub.potential_kinds() {
                Some(set) => {
                    for k in set.iter() {
                        if let Some(v) = by_kind.get_mut(k) {
                            v.push((pi, si));
                        }
                    }
                }
                None => any_kind.push((pi, si)),
            }
        }
    }
    let root = tree.root();
    for node in root.dfs() {
        let k = node.kind_id() as usize;
        let here = by_kind.get(k).map_or(&[][..], Vec::as_slice);
        for &(pi, si) in here.iter().chain(any_kind.iter()) {
            let p = pats[pi];
            if let Some(m) = p.patterns[si].match_node(node.clone())
                && let Some(hit) = p.hit_of(&m, tree)
            {
                let v = results.entry(p.id).or_default();
                if !v.contains(&hit) {
                    v.push(hit);
                }
            }
        }
    }
    results
}

/// A parsed file of a tree language.
pub(crate) type Tree = AstGrep<StrDoc<Lang>>;

/// Parse `text` as `lang`.
pub(crate) fn parse(text: &str, lang: Lang) -> Tree {
    lang.ast_grep(text)
}

impl TreePattern {
    pub(crate) fn compile(src: &str, lang: Lang) -> Result<TreePattern, String> {
        let src = src.trim();
        if src.is_empty() {
            return Err("the pattern is empty".into());
        }
        if src.contains("<...") && src.contains("...>") {
            return Err("unsupported Semgrep feature: deep expression operator `<... ...>`".into());
        }
        let translated = translate_ellipses(src, lang);
        let expanded = lang.pre_process_pattern(&translated).into_owned();
        let (pattern, strings, root_kind) = build(&expanded, lang, lang.pattern_contexts())?;
        let literal = longest_literal(&pattern.node);
        let mut entries = Vec::new();
        if lang == Lang::Yaml
            && matches!(root_kind.as_str(), "block_mapping" | "flow_mapping")
            && let PatternNode::Internal { children, .. } = &pattern.node
        {
            for c in children {
                if matches!(c, PatternNode::Internal { .. }) {
                    let mut p = pattern.clone();
                    p.node = c.clone();
                    entries.push(p);
                }
            }
        }
        let mut patterns = vec![pattern];
        // Semgrep: `$X = E` also matches the declaration `let x = E` / `const x = E`.
        let js = matches!(lang, Lang::JavaScript | Lang::TypeScript | Lang::Tsx);
        if js
            && root_kind == "assignment_expression"
            && let Ok((p, _, kind)) = build(&expanded, lang, &[("let ", ";")])
            && kind == "variable_declarator"
        {
            patterns.push(p);
        }
        Ok(TreePattern {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            patterns,
            lang,
            strings,
            literal,
            entries,
        })
    }

    /// The literal text every match contains, if any.
    pub(crate) fn literal(&self) -> &str {
        &self.literal
    }

    /// Every match in the tree.
    pub(crate) fn find(&self, tree: &Tree) -> Vec<Hit> {
        if !self.entries.is_empty() {
            return self.find_mappings(tree);
        }
        let mut out: Vec<Hit> = Vec::new();
        let root = tree.root();
        let matches = self.patterns.iter().flat_map(|p| root.find_all(p));
        for m in matches {
            if let Some(hit) = self.hit_of(&m, tree)
                && !out.contains(&hit)
            {
                out.push(hit);
            }
        }
        out
    }

    /// Mappings of the file having an entry for each pattern entry, metavariables agreeing.
    fn find_mappings(&self, tree: &Tree) -> Vec<Hit> {
        use ast_grep_core::matcher::MatcherExt;
        let mut out = Vec::new();
        let root = tree.root();
        for map in root
            .dfs()
            .filter(|n| matches!(n.kind().as_ref(), "block_mapping" | "flow_mapping"))
        {
            let kids: Vec<_> = map.children().filter(|c| c.is_named()).collect();
            let mut acc = Hit {
                range: map.range(),
                vars: Vec::new(),
            };
            let all = self.entries.iter().all(|e| {
                let found = kids.iter().find_map(|k| {
                    let m = e.match_node(k.clone())?;
                    let h = self.hit_of(&m, tree)?;
                    acc.agrees(&h).then_some(h)
                });
                match found {
                    Some(h) => {
                        acc = acc.merged(&h);
                        true
                    }
                    None => false,
                }
            });
            if all {
                out.push(acc);
            }
        }
        out
    }

    /// A match as a hit: string constraints checked, metavariables collected.
    fn hit_of(&self, m: &NodeMatch<'_, StrDoc<Lang>>, tree: &Tree) -> Option<Hit> {
        let env = m.get_env();
        let strings_ok = self.strings.iter().all(|(var, want)| {
            env.get_match(var).is_none_or(|n| {
                self.lang.string_kinds().contains(&n.kind().as_ref())
                    && want
                        .as_deref()
                        .is_none_or(|w| string_contents(&n.text()) == w)
            })
        });
        if !strings_ok {
            return None;
        }
        let mut vars = Vec::new();
        for mv in env.get_matched_variables() {
            match mv {
                MetaVariable::Capture(name, _) => {
                    if name.starts_with(STRING_VAR) {
                        continue;
                    }
                    if let Some(n) = env.get_match(&name) {
                        vars.push((
                            name,
                            Binding {
                                text: n.text().into_owned(),
                                range: n.range(),
                            },
                        ));
                    }
                }
                MetaVariable::MultiCapture(name) if name.starts_with(TAIL_VAR) => {
                    let nodes = env.get_multiple_matches(&name);
                    let last = nodes.iter().rev().find(|n| n.is_named())?;
                    vars.push((
                        name[TAIL_VAR.len()..].to_string(),
                        Binding {
                            text: last.text().into_owned(),
                            range: last.range(),
                        },
                    ));
                }
                MetaVariable::MultiCapture(name) => {
                    let nodes = env.get_multiple_matches(&name);
                    let range = match (nodes.first(), nodes.last()) {
                        (Some(a), Some(b)) => a.range().start..b.range().end,
                        _ => m.range().start..m.range().start,
                    };
                    let text = tree
                        .get_text()
                        .get(range.clone())
                        .unwrap_or_default()
                        .to_string();
                    vars.push((name, Binding { text, range }));
                }
                MetaVariable::Dropped(_) | MetaVariable::Multiple => {}
            }
        }
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        vars.dedup_by(|a, b| a.0 == b.0);
        Some(Hit {
            range: m.range(),
            vars,
        })
    }
}

type Built = (Pattern, Vec<(String, Option<String>)>, String);

/// Parse a translated pattern in the first context that takes it; the pattern, its string
/// constraints and the kind of its root node.
fn build(expanded: &str, lang: Lang, contexts: &[(&str, &str)]) -> Result<Built, String> {
    let mut last_err = String::from("it does not parse");
    for (prefix, suffix) in contexts {
        let text = format!("{prefix}{expanded}{suffix}");
        let root = lang.ast_grep(&text);
        let want = prefix.len()..prefix.len() + expanded.len();
        let whole = root.root();
        if has_error(&whole) {
            last_err = "it does not parse".into();
            continue;
        }
        let Some(node) = whole.dfs().find(|n| n.range() == want) else {
            last_err = "it is not a single expression, statement or declaration (several statements in one pattern are not supported)".into();
            continue;
        };
        let node = descend(node);
        let mut strings = Vec::new();
        let converted = convert(&node, lang, &mut strings);
        if let PatternNode::MetaVar {
            meta_var: MetaVariable::Multiple | MetaVariable::MultiCapture(_),
        } = converted
        {
            return Err("a pattern cannot be only `...`".into());
        }
        let mut pattern = Pattern::from(node.clone());
        pattern.node = converted;
        pattern.strictness = MatchStrictness::Smart;
        return Ok((pattern, strings, node.kind().into_owned()));
    }
    Err(last_err)
}

/// Prefix of the metavariables that stand for the pattern's string literals.
const STRING_VAR: &str = "SGLIT";
/// Prefix of the metavariable that captures `..., $X` at the end of a list.
const TAIL_VAR: &str = "SGTAIL";

fn has_error(root: &Node<'_, StrDoc<Lang>>) -> bool {
    // tree-sitter's flag covers ERROR and MISSING nodes anywhere below.
    root.get_inner_node().has_error()
}

/// From the node spanning the pattern, go down through wrappers that add nothing
/// (`expression_statement` around a call), as ast-grep does for whole-program patterns.
fn descend(node: Node<'_, StrDoc<Lang>>) -> Node<'_, StrDoc<Lang>> {
    let mut node = node;
    loop {
        let kids: Vec<_> = node.children().filter(|c| !c.is_missing()).collect();
        let meaningful: Vec<_> = kids
            .iter()
            .filter(|c| !(c.kind().is_empty() || (!c.is_named() && c.text().trim() == ";")))
            .collect();
        if meaningful.len() == 1 && meaningful[0].range() == node.range()
            || meaningful.len() == 1 && kids.len() == 1
        {
            node = (*meaningful[0]).clone();
        } else if meaningful.len() == 1
            && node.kind() == "expression_statement"
            && meaningful[0].is_named()
        {
            // `f(x);` in Java / C# / PHP: the statement adds only the semicolon.
            node = (*meaningful[0]).clone();
        } else {
            return node;
        }
    }
}

fn convert(
    node: &Node<'_, StrDoc<Lang>>,
    lang: Lang,
    strings: &mut Vec<(String, Option<String>)>,
) -> PatternNode {
    let text = node.text();
    if let Some(mv) = lang.extract_meta_var(&text) {
        return PatternNode::MetaVar { meta_var: mv };
    }
    if lang == Lang::Yaml && node.kind() == "block_mapping_pair" && text.starts_with(YAML_DOTS) {
        return PatternNode::MetaVar {
            meta_var: MetaVariable::Multiple,
        };
    }
    if node.is_named() && lang.string_kinds().contains(&node.kind().as_ref()) {
        let contents = string_contents(&text);
        let name = format!("{STRING_VAR}{}", strings.len());
        let want = (contents != "...").then(|| contents.to_string());
        strings.push((name.clone(), want));
        return PatternNode::MetaVar {
            meta_var: MetaVariable::Capture(name, true),
        };
    }
    if node.is_leaf() {
        return PatternNode::Terminal {
            text: text.into_owned(),
            is_named: node.is_named(),
            kind_id: node.kind_id(),
        };
    }
    let children: Vec<PatternNode> = node
        .children()
        .filter(|c| !c.is_missing() && !c.is_extra())
        .map(|c| convert(&c, lang, strings))
        .collect();
    PatternNode::Internal {
        kind_id: node.kind_id(),
        children: drop_separators_next_to_ellipses(open_entries(node, lang, children)),
    }
}

/// Semgrep matches a mapping, object literal or JSX element that has *at least* the
/// pattern's entries: an ellipsis goes around each entry.
fn open_entries(
    node: &Node<'_, StrDoc<Lang>>,
    lang: Lang,
    children: Vec<PatternNode>,
) -> Vec<PatternNode> {
    let entry_kinds: &[&str] = match (lang, node.kind().as_ref()) {
        (Lang::JavaScript | Lang::TypeScript | Lang::Tsx, "object") => &[
            "pair",
            "shorthand_property_identifier",
            "spread_element",
            "method_definition",
        ],
        (
            Lang::JavaScript | Lang::TypeScript | Lang::Tsx,
            "jsx_opening_element" | "jsx_self_closing_element",
        ) => &["jsx_attribute", "jsx_expression"],
        _ => return children,
    };
    let kinds: Vec<&str> = node
        .children()
        .filter(|c| !c.is_missing() && !c.is_extra())
        .map(|c| {
            if c.is_named() {
                c.kind().into_owned()
            } else {
                String::new()
            }
        })
        .map(|k| entry_kinds.iter().copied().find(|e| *e == k).unwrap_or(""))
        .collect();
    if !kinds.iter().any(|k| !k.is_empty()) {
        return children;
    }
    let dots = || PatternNode::MetaVar {
        meta_var: MetaVariable::Multiple,
    };
    let is_dots = |n: &PatternNode| {
        matches!(
            n,
            PatternNode::MetaVar {
                meta_var: MetaVariable::Multiple | MetaVariable::MultiCapture(_)
            }
        )
    };
    let mut out: Vec<PatternNode> = Vec::new();
    let last_entry = kinds.iter().rposition(|k| !k.is_empty());
    for (i, (c, kind)) in children.into_iter().zip(kinds).enumerate() {
        let entry = !kind.is_empty() && !is_dots(&c);
        if entry && !out.last().is_some_and(is_dots) {
            out.push(dots());
        }
        out.push(c);
        if entry && Some(i) == last_entry {
            out.push(dots());
        }
    }
    out
}

/// `f($X, ...)` must match `f(a)`: the comma next to an ellipsis is optional. ast-grep skips
/// unmatched punctuation of the file, not of the pattern, so the pattern loses it.
fn drop_separators_next_to_ellipses(children: Vec<PatternNode>) -> Vec<PatternNode> {
    let is_dots = |n: &PatternNode| {
        matches!(
            n,
            PatternNode::MetaVar {
                meta_var: MetaVariable::Multiple | MetaVariable::MultiCapture(_)
            }
        )
    };
    let is_sep = |n: &PatternNode| matches!(n, PatternNode::Terminal { text, is_named: false, .. } if text == "," || text == ";");
    let keep: Vec<bool> = (0..children.len())
        .map(|i| {
            !(is_sep(&children[i])
                && (i > 0 && is_dots(&children[i - 1]) || children.get(i + 1).is_some_and(is_dots)))
        })
        .collect();
    let mut out: Vec<PatternNode> = children
        .into_iter()
        .zip(keep)
        .filter_map(|(c, k)| k.then_some(c))
        .collect();
    // `f(..., $X)`: ast-grep's ellipsis does not backtrack, so `$X` would take the first
    // argument and fail on the rest. Capture the whole tail and bind `$X` to its last node.
    // Trailing punctuation (`)`, `]`) does not count.
    let n = out
        .iter()
        .rposition(|c| !c.is_trivial())
        .map_or(0, |i| i + 1);
    let tail = n >= 2
        && matches!(
            out[n - 2],
            PatternNode::MetaVar {
                meta_var: MetaVariable::Multiple
            }
        )
        && matches!(&out[n - 1], PatternNode::MetaVar { meta_var: MetaVariable::Capture(name, true) } if !name.starts_with(STRING_VAR));
    if tail {
        let PatternNode::MetaVar {
            meta_var: MetaVariable::Capture(name, _),
        } = out.remove(n - 1)
        else {
            unreachable!("checked above")
        };
        out[n - 2] = PatternNode::MetaVar {
            meta_var: MetaVariable::MultiCapture(format!("{TAIL_VAR}{name}")),
        };
    }
    out
}

/// The contents of a string literal: without prefixes (`r`, `b`, `f`, `@`, `$`) and quotes.
pub(crate) fn string_contents(text: &str) -> &str {
    let t = text.trim_start_matches(|c: char| c.is_ascii_alphabetic() || c == '@' || c == '$');
    for q in ["\"\"\"", "'''", "\"", "'", "`"] {
        if let Some(inner) = t.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    if let Some(inner) = t.strip_prefix(':') {
        return inner; // Ruby symbols
    }
    t
}

/// The longest terminal of the pattern that is an identifier-like word: the file prefilter
/// requires it. Metavariable-renamed words never count.
fn longest_literal(node: &PatternNode) -> String {
    let mut best = String::new();
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        match n {
            PatternNode::Terminal { text, .. } => {
                let word = text.trim();
                let wordy = word.len() >= 2
                    && word
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
                if wordy && !word.contains('µ') && word.len() > best.len() {
                    best = word.to_string();
                }
            }
            PatternNode::Internal { children, .. } => stack.extend(children.iter()),
            PatternNode::MetaVar { .. } => {}
        }
    }
    best
}

/// Semgrep's `...` → ast-grep's `$$$` outside string literals; `$...X` → `$$$X`; YAML
/// `...` lines → a placeholder entry.
fn translate_ellipses(src: &str, lang: Lang) -> String {
    if lang == Lang::Yaml {
        let lines: Vec<String> = src
            .lines()
            .map(|l| {
                if l.trim() == "..." {
                    let indent = &l[..l.len() - l.trim_start().len()];
                    format!("{indent}{YAML_DOTS}: {YAML_DOTS}")
                } else {
                    l.to_string()
                }
            })
            .collect();
        return lines.join("\n");
    }
    let quotes: &[u8] = match lang {
        Lang::Rust => b"\"",
        Lang::Go | Lang::JavaScript | Lang::TypeScript | Lang::Tsx => b"\"'`",
        _ => b"\"'",
    };
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len() + 8);
    let mut i = 0;
    let mut start = 0;
    while i < b.len() {
        let c = b[i];
        if quotes.contains(&c) {
            // Skip the string literal, honouring backslash escapes.
            let q = c;
            i += 1;
            while i < b.len() && b[i] != q {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i = (i + 1).min(b.len());
            continue;
        }
        if b[i..].starts_with(b"$...") {
            out.push_str(&src[start..i]);
            out.push_str("$$$");
            i += 4;
            start = i;
            continue;
        }
        if b[i..].starts_with(b"...") {
            out.push_str(&src[start..i]);
            out.push_str("$$$");
            i += 3;
            start = i;
            continue;
        }
        i += 1;
    }
    out.push_str(&src[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice(text: &str, r: &std::ops::Range<usize>) -> String {
        text.get(r.clone()).unwrap_or_default().to_string()
    }

    fn hits(pat: &str, lang: Lang, code: &str) -> Vec<String> {
        let p = TreePattern::compile(pat, lang).unwrap_or_else(|e| panic!("{pat}: {e}"));
        let tree = parse(code, lang);
        p.find(&tree)
            .iter()
            .map(|h| slice(code, &h.range))
            .collect()
    }

    #[test]
    fn python_calls_with_ellipses_and_strings() {
        let code = "import pickle\nx = pickle.loads(b)\ny = hashlib.new('md5', data)\nz = hashlib.new(\"sha256\")\n";
        assert_eq!(
            hits("pickle.loads(...)", Lang::Python, code),
            ["pickle.loads(b)"]
        );
        assert_eq!(
            hits("hashlib.new(\"md5\", ...)", Lang::Python, code),
            ["hashlib.new('md5', data)"]
        );
        assert_eq!(
            hits("hashlib.new(\"...\", ...)", Lang::Python, code).len(),
            2
        );
        assert_eq!(
            hits(
                "$F(..., shell=True, ...)",
                Lang::Python,
                "subprocess.run(c, shell=True)\nrun(c)\n"
            ),
            ["subprocess.run(c, shell=True)"]
        );
    }

    #[test]
    fn go_and_java_expressions_get_a_context() {
        let go =
            "package main\nfunc f() {\n\tc := &tls.Config{InsecureSkipVerify: true}\n\t_ = c\n}\n";
        assert_eq!(
            hits("tls.Config{InsecureSkipVerify: true}", Lang::Go, go),
            ["tls.Config{InsecureSkipVerify: true}"]
        );
        let java = "class A { void f(Statement s, String q) { s.executeQuery(\"SELECT \" + q); } }";
        assert_eq!(
            hits("$S.executeQuery($A + $B)", Lang::Java, java),
            ["s.executeQuery(\"SELECT \" + q)"]
        );
    }

    #[test]
    fn yaml_mapping_entries() {
        let y = "on: pull_request_target\npermissions: {}\njobs:\n  a:\n    steps:\n      - uses: actions/checkout@v4\n";
        assert_eq!(
            hits("uses: $ACTION", Lang::Yaml, y),
            ["uses: actions/checkout@v4"]
        );
        assert_eq!(hits("on: $ON\n...\njobs: $J", Lang::Yaml, y).len(), 1);
    }

    #[test]
    fn bad_patterns_are_errors() {
        assert!(TreePattern::compile("def (", Lang::Python).is_err());
        assert!(TreePattern::compile("...", Lang::Python).is_err());
        assert!(TreePattern::compile("<... $X ...>", Lang::Python).is_err());
    }
}
