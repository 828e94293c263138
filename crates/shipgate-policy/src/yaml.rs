//! YAML (and JSON) streams to JSON values with source positions, read the way Kubernetes reads them.
//!
//! `kubectl` and the API server turn YAML into JSON with `sigs.k8s.io/yaml`, which decodes with
//! go-yaml v2 (YAML 1.1 scalar rules) into untyped values and then marshals JSON. We reproduce
//! those rules here instead of relying on a serde YAML crate's defaults:
//!
//! * booleans: `y Y yes Yes YES n N no No NO true True TRUE false False FALSE on On ON off Off OFF`;
//! * null: empty, `~`, `null`, `Null`, `NULL`;
//! * integers via Go's `strconv.ParseInt(s, 0, 64)` after removing `_`: `0x1F`, `0o17`, `0b101`,
//!   and a leading `0` means octal (`017` is 15, where serde-saphyr's default gives 17.0);
//! * floats matching `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`; an integral float is
//!   written as an integer, as Go's JSON encoder does (`1.0` becomes `1`);
//! * timestamps stay strings (go-yaml v2 keeps them as strings when decoding into `interface{}`);
//! * non-string mapping keys are turned into strings (`on:` becomes the key `"true"`);
//! * merge keys (`<<`) and anchors/aliases are expanded, with a budget against alias bombs.
//!
//! Every node keeps its line and column ([`PosTree`]) so findings can point at the offending field.
//! A stream is split at `---` document markers first, so a syntax error in one document does not
//! hide the others.

use granit_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

/// A 1-based line and column in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// The positions of every node of a parsed document, shaped like its JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum PosTree {
    /// A scalar at this position.
    Scalar(Pos),
    /// A sequence and the positions of its items.
    Seq(Pos, Vec<PosTree>),
    /// A mapping: for each key, the key's position and the value's tree.
    Map(Pos, Vec<(String, Pos, PosTree)>),
}

/// One step of a path into a JSON value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seg {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

impl From<&str> for Seg {
    fn from(k: &str) -> Self {
        Seg::Key(k.to_string())
    }
}

impl From<usize> for Seg {
    fn from(i: usize) -> Self {
        Seg::Index(i)
    }
}

impl PosTree {
    /// Where this node starts.
    pub fn pos(&self) -> Pos {
        match self {
            PosTree::Scalar(p) | PosTree::Seq(p, _) | PosTree::Map(p, _) => *p,
        }
    }

    /// The position of the field at `path`: the key's position for a mapping entry, the item's
    /// position for a sequence item. When the path does not exist (a missing field), the position
    /// of the deepest existing ancestor is returned.
    pub fn locate(&self, path: &[Seg]) -> Pos {
        let mut node = self;
        let mut best = self.pos();
        for seg in path {
            match (seg, node) {
                (Seg::Key(k), PosTree::Map(_, entries)) => {
                    // Last entry wins, like the value.
                    match entries.iter().rev().find(|(key, _, _)| key == k) {
                        Some((_, kp, child)) => {
                            best = *kp;
                            node = child;
                        }
                        None => return best,
                    }
                }
                (Seg::Index(i), PosTree::Seq(_, items)) => match items.get(*i) {
                    Some(child) => {
                        best = child.pos();
                        node = child;
                    }
                    None => return best,
                },
                _ => return best,
            }
        }
        best
    }

    /// The subtree at `path`, if it exists.
    pub fn subtree(&self, path: &[Seg]) -> Option<&PosTree> {
        let mut node = self;
        for seg in path {
            node = match (seg, node) {
                (Seg::Key(k), PosTree::Map(_, entries)) => {
                    &entries.iter().rev().find(|(key, _, _)| key == k)?.2
                }
                (Seg::Index(i), PosTree::Seq(_, items)) => items.get(*i)?,
                _ => return None,
            };
        }
        Some(node)
    }

    fn count(&self) -> usize {
        match self {
            PosTree::Scalar(_) => 1,
            PosTree::Seq(_, items) => 1 + items.iter().map(PosTree::count).sum::<usize>(),
            PosTree::Map(_, entries) => {
                1 + entries.iter().map(|(_, _, t)| t.count()).sum::<usize>()
            }
        }
    }
}

/// One parsed document of a stream.
#[derive(Debug, Clone)]
pub struct YamlDoc {
    /// The document as JSON.
    pub value: Value,
    /// Positions of its nodes.
    pub pos: PosTree,
    /// 0-based index of the document in the stream (empty documents count too).
    pub index: usize,
}

/// A syntax or structure error in a YAML stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// What is wrong.
    pub message: String,
}

/// Nesting deeper than this is rejected (Kubernetes objects are far shallower; deep nesting is
/// an attack on recursive code downstream).
pub const MAX_DEPTH: usize = 200;
/// Nodes one document may expand to through aliases and merges (alias-bomb guard).
pub const MAX_NODES: usize = 2_000_000;

/// Parse a whole YAML or JSON stream. Returns the non-empty documents and every error found;
/// a document with an error is skipped and the others are still returned.
pub fn parse_stream(text: &str) -> (Vec<YamlDoc>, Vec<YamlError>) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for (index, (line_offset, chunk)) in split_documents(text).into_iter().enumerate() {
        match parse_chunk(chunk) {
            Ok(found) => {
                for (value, mut pos) in found {
                    shift_lines(&mut pos, line_offset);
                    docs.push(YamlDoc { value, pos, index });
                }
            }
            Err(mut e) => {
                e.line += line_offset;
                errors.push(e);
            }
        }
    }
    (docs, errors)
}

/// Split at lines that start with a `---` document marker. Returns (lines before chunk, chunk).
fn split_documents(text: &str) -> Vec<(u32, &str)> {
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut start_line = 0u32;
    let mut line_no = 0u32;
    let mut offset = 0usize;
    for line in text.split_inclusive('\n') {
        if offset != 0 && is_doc_marker(line) {
            out.push((start_line, &text[start..offset]));
            start = offset;
            start_line = line_no;
        }
        offset += line.len();
        line_no += 1;
    }
    out.push((start_line, &text[start..]));
    out
}

fn is_doc_marker(line: &str) -> bool {
    line.strip_prefix("---")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']))
}

fn shift_lines(tree: &mut PosTree, by: u32) {
    if by == 0 {
        return;
    }
    match tree {
        PosTree::Scalar(p) => p.line += by,
        PosTree::Seq(p, items) => {
            p.line += by;
            items.iter_mut().for_each(|t| shift_lines(t, by));
        }
        PosTree::Map(p, entries) => {
            p.line += by;
            for (_, kp, t) in entries {
                kp.line += by;
                shift_lines(t, by);
            }
        }
    }
}

fn pos_of(span: &Span) -> Pos {
    Pos {
        line: u32::try_from(span.start.line()).unwrap_or(u32::MAX),
        column: u32::try_from(span.start.col() + 1).unwrap_or(u32::MAX),
    }
}

enum Frame {
    Seq {
        pos: Pos,
        anchor: usize,
        items: Vec<Value>,
        trees: Vec<PosTree>,
    },
    Map {
        pos: Pos,
        anchor: usize,
        /// Explicit entries in order.
        entries: Vec<(String, Pos, Value, PosTree)>,
        /// Values of `<<` merge keys, in order.
        merges: Vec<(Value, PosTree)>,
        /// A key waiting for its value: (key, key position, is the merge key `<<`).
        pending_key: Option<(String, Pos, bool)>,
    },
}

struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Value, PosTree, usize)>,
    nodes: usize,
    done: Vec<(Value, PosTree)>,
}

fn err_at(pos: Pos, message: impl Into<String>) -> YamlError {
    YamlError {
        line: pos.line,
        column: pos.column,
        message: message.into(),
    }
}

impl Builder {
    fn push_node(&mut self, value: Value, tree: PosTree, anchor: usize) -> Result<(), YamlError> {
        if anchor != 0 {
            let size = tree.count();
            self.anchors
                .insert(anchor, (value.clone(), tree.clone(), size));
        }
        let pos = tree.pos();
        match self.stack.last_mut() {
            None => {
                self.done.push((value, tree));
                Ok(())
            }
            Some(Frame::Seq { items, trees, .. }) => {
                items.push(value);
                trees.push(tree);
                Ok(())
            }
            Some(Frame::Map {
                entries,
                merges,
                pending_key,
                ..
            }) => match pending_key.take() {
                None => {
                    // This node is a key.
                    let is_merge = matches!(&tree, PosTree::Scalar(_)) && value == "<<";
                    let key = key_string(&value)
                        .ok_or_else(|| err_at(pos, "mapping keys must be scalars"))?;
                    *pending_key = Some((key, pos, is_merge));
                    Ok(())
                }
                Some((key, kpos, true)) => {
                    let _ = key;
                    let _ = kpos;
                    merges.push((value, tree));
                    Ok(())
                }
                Some((key, kpos, false)) => {
                    if entries.iter().any(|(k, _, _, _)| *k == key) {
                        return Err(err_at(
                            kpos,
                            format!(
                                "duplicate key `{key}` (the API server rejects this with strict field validation; keep one)"
                            ),
                        ));
                    }
                    entries.push((key, kpos, value, tree));
                    Ok(())
                }
            },
        }
    }

    fn finish_map(&mut self, frame: Frame) -> Result<(), YamlError> {
        let Frame::Map {
            pos,
            anchor,
            entries,
            merges,
            ..
        } = frame
        else {
            return Ok(());
        };
        let mut map = Map::new();
        let mut trees: Vec<(String, Pos, PosTree)> = Vec::new();
        // Merged entries first (earlier merge sources win over later ones), explicit keys override.
        for (value, tree) in merges {
            let sources: Vec<(Value, PosTree)> = match (value, tree) {
                (Value::Object(m), t) => vec![(Value::Object(m), t)],
                (Value::Array(items), PosTree::Seq(_, ts)) => items.into_iter().zip(ts).collect(),
                (_, t) => {
                    return Err(err_at(
                        t.pos(),
                        "a merge key (<<) needs a mapping or a list of mappings",
                    ));
                }
            };
            for (v, t) in sources {
                let (Value::Object(m), PosTree::Map(_, tents)) = (v, t) else {
                    return Err(err_at(
                        pos,
                        "a merge key (<<) needs a mapping or a list of mappings",
                    ));
                };
                for ((k, v), (_, kp, kt)) in m.into_iter().zip(tents) {
                    if !map.contains_key(&k) {
                        map.insert(k.clone(), v);
                        trees.push((k, kp, kt));
                    }
                }
            }
        }
        for (k, kp, v, t) in entries {
            if map.contains_key(&k) {
                trees.retain(|(tk, _, _)| *tk != k);
            }
            map.insert(k.clone(), v);
            trees.push((k, kp, t));
        }
        self.push_node(Value::Object(map), PosTree::Map(pos, trees), anchor)
    }
}

fn key_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Null => Some("null".to_string()),
        _ => None,
    }
}

/// Parse one chunk (normally one document). Returns its documents (empty ones dropped).
fn parse_chunk(chunk: &str) -> Result<Vec<(Value, PosTree)>, YamlError> {
    let mut b = Builder {
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        done: Vec::new(),
    };
    for item in Parser::new_from_str(chunk) {
        let (event, span) = item.map_err(|e| YamlError {
            line: u32::try_from(e.marker().line()).unwrap_or(u32::MAX),
            column: u32::try_from(e.marker().col() + 1).unwrap_or(u32::MAX),
            message: format!("invalid YAML: {}", e.info()),
        })?;
        let pos = pos_of(&span);
        match event {
            Event::DocumentStart(..) => {
                b.anchors.clear();
                b.nodes = 0;
            }
            Event::Scalar(text, style, anchor, tag) => {
                b.nodes += 1;
                let tag_suffix = tag.as_ref().map(|t| {
                    if t.is_yaml_core_schema() {
                        t.suffix().to_string()
                    } else {
                        String::new()
                    }
                });
                let value = resolve_scalar(&text, style, tag_suffix.as_deref())
                    .map_err(|m| err_at(pos, m))?;
                b.push_node(value, PosTree::Scalar(pos), anchor)?;
            }
            Event::SequenceStart(_, anchor, _) => {
                b.nodes += 1;
                if b.stack.len() >= MAX_DEPTH {
                    return Err(err_at(
                        pos,
                        format!("nesting deeper than {MAX_DEPTH} levels"),
                    ));
                }
                b.stack.push(Frame::Seq {
                    pos,
                    anchor,
                    items: Vec::new(),
                    trees: Vec::new(),
                });
            }
            Event::MappingStart(_, anchor, _) => {
                b.nodes += 1;
                if b.stack.len() >= MAX_DEPTH {
                    return Err(err_at(
                        pos,
                        format!("nesting deeper than {MAX_DEPTH} levels"),
                    ));
                }
                b.stack.push(Frame::Map {
                    pos,
                    anchor,
                    entries: Vec::new(),
                    merges: Vec::new(),
                    pending_key: None,
                });
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq {
                    pos,
                    anchor,
                    items,
                    trees,
                }) = b.stack.pop()
                {
                    b.push_node(Value::Array(items), PosTree::Seq(pos, trees), anchor)?;
                }
            }
            Event::MappingEnd => {
                if let Some(frame) = b.stack.pop() {
                    b.finish_map(frame)?;
                }
            }
            Event::Alias(id) => {
                let Some((value, tree, size)) = b.anchors.get(&id).cloned() else {
                    return Err(err_at(pos, "alias refers to an unknown anchor"));
                };
                b.nodes += size;
                if b.nodes > MAX_NODES {
                    return Err(err_at(
                        pos,
                        format!("document expands to more than {MAX_NODES} nodes through aliases"),
                    ));
                }
                // Positions of an alias point at the alias itself.
                let _ = tree;
                let tree = repos(&value, pos);
                b.push_node(value, tree, 0)?;
            }
            _ => {}
        }
    }
    // `---` followed by nothing is an empty (null) document, which kubectl skips.
    Ok(b.done.into_iter().filter(|(v, _)| !v.is_null()).collect())
}

/// Positions for an aliased value: every node at the alias.
fn repos(value: &Value, pos: Pos) -> PosTree {
    match value {
        Value::Array(items) => PosTree::Seq(pos, items.iter().map(|v| repos(v, pos)).collect()),
        Value::Object(m) => PosTree::Map(
            pos,
            m.iter()
                .map(|(k, v)| (k.clone(), pos, repos(v, pos)))
                .collect(),
        ),
        _ => PosTree::Scalar(pos),
    }
}

/// Resolve a scalar to JSON like go-yaml v2 + sigs.k8s.io/yaml.
fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&str>) -> Result<Value, String> {
    match tag {
        Some("str") => return Ok(Value::String(text.to_string())),
        Some("null") => return Ok(Value::Null),
        Some("bool") => {
            return resolve_bool(text)
                .map(Value::Bool)
                .ok_or_else(|| format!("`{text}` is not a boolean (tagged !!bool)"));
        }
        Some("int") => {
            return resolve_int(text)
                .ok_or_else(|| format!("`{text}` is not an integer (tagged !!int)"));
        }
        Some("float") => {
            return resolve_int(text)
                .or_else(|| resolve_float(text))
                .ok_or_else(|| format!("`{text}` is not a number (tagged !!float)"));
        }
        _ => {}
    }
    if style != ScalarStyle::Plain {
        return Ok(Value::String(text.to_string()));
    }
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Ok(Value::Null);
    }
    if let Some(b) = resolve_bool(text) {
        return Ok(Value::Bool(b));
    }
    let first = text.as_bytes()[0];
    if first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.') {
        if let Some(v) = resolve_int(text).or_else(|| resolve_float(text)) {
            return Ok(v);
        }
    }
    Ok(Value::String(text.to_string()))
}

fn resolve_bool(text: &str) -> Option<bool> {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Some(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Some(false)
        }
        _ => None,
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)` (then `ParseUint`) on the text without underscores.
fn resolve_int(text: &str) -> Option<Value> {
    let plain: String = text.chars().filter(|c| *c != '_').collect();
    let (neg, digits) = match plain.as_bytes().first()? {
        b'-' => (true, &plain[1..]),
        b'+' => (false, &plain[1..]),
        _ => (false, plain.as_str()),
    };
    if digits.is_empty() {
        return None;
    }
    let lower = digits.to_ascii_lowercase();
    let (radix, body) = if let Some(r) = lower.strip_prefix("0x") {
        (16, r.to_string())
    } else if let Some(r) = lower.strip_prefix("0o") {
        (8, r.to_string())
    } else if let Some(r) = lower.strip_prefix("0b") {
        (2, r.to_string())
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string())
    } else {
        (10, lower)
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(&body, radix).ok()?;
    if neg {
        if magnitude <= i64::MAX as u64 + 1 {
            let v = (magnitude as i128).checked_neg()?;
            return i64::try_from(v).ok().map(|v| Value::Number(v.into()));
        }
        None
    } else {
        Some(Value::Number(magnitude.into()))
    }
}

fn resolve_float(text: &str) -> Option<Value> {
    let plain: String = text.chars().filter(|c| *c != '_').collect();
    if !is_yaml_float(&plain) {
        return None;
    }
    let f: f64 = plain.parse().ok()?;
    Some(float_value(f))
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// JSON number for a float, written as an integer when integral (Go's encoder does this).
fn float_value(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
        #[allow(clippy::cast_possible_truncation)]
        return Value::Number((f as i64).into());
    }
    Number::from_f64(f).map_or_else(|| Value::String(f.to_string()), Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(text: &str) -> Value {
        let (docs, errors) = parse_stream(text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(docs.len(), 1);
        docs[0].value.clone()
    }

    #[test]
    fn kubernetes_scalar_rules() {
        let v = one(
            "a: yes\nb: on\nc: Off\nd: 017\ne: 0x1F\nf: 1_000\ng: 1.0\nh: 1.5\ni: ~\nj: '017'\nk: 08\nl: 2001-12-14\nm: 0o17\nnb: -0b11\no: .5\np: 1e3\nq: \"yes\"\nr: .inf\ns: y\n",
        );
        assert_eq!(
            v,
            json!({"a": true, "b": true, "c": false, "d": 15, "e": 31, "f": 1000, "g": 1, "h": 1.5,
                   "i": null, "j": "017", "k": 8, "l": "2001-12-14", "m": 15, "nb": -3, "o": 0.5,
                   "p": 1000, "q": "yes", "r": ".inf", "s": true})
        );
    }

    #[test]
    fn keys_become_strings_and_tags_apply() {
        // go-yaml v2 reads `y`/`n` keys as booleans too, so Kubernetes stores them as "true"/"false".
        let v = one("on: 1\n3: x\nv: !!str 017\nw: !!int \"12\"\nn: 0\n");
        assert_eq!(
            v,
            json!({"true": 1, "3": "x", "v": "017", "w": 12, "false": 0})
        );
    }

    #[test]
    fn multi_document_with_positions_and_crlf() {
        let text = "# c\r\na: 1\r\n---\r\n---\r\nkind: Pod\r\nspec:\r\n  containers:\r\n  - name: x\r\n    image: nginx\r\n";
        let (docs, errors) = parse_stream(text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(docs.len(), 2);
        let pod = &docs[1];
        assert_eq!(pod.index, 2);
        let p = pod
            .pos
            .locate(&["spec".into(), "containers".into(), 0.into(), "image".into()]);
        assert_eq!(p, Pos { line: 9, column: 5 });
        // A missing field falls back to its deepest existing ancestor.
        let p = pod.pos.locate(&[
            "spec".into(),
            "containers".into(),
            0.into(),
            "resources".into(),
        ]);
        assert_eq!(p.line, 8);
    }

    #[test]
    fn error_in_one_document_keeps_the_others() {
        let text = "a: 1\n---\nb: [1, 2\n---\nc: 3\n";
        let (docs, errors) = parse_stream(text);
        assert_eq!(docs.len(), 2);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].line >= 3, "{errors:?}");
    }

    #[test]
    fn merge_keys_and_aliases() {
        let v = one("base: &b {x: 1, z: 2}\nd:\n  <<: *b\n  z: 3\n");
        assert_eq!(v, json!({"base": {"x": 1, "z": 2}, "d": {"x": 1, "z": 3}}));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let (_, errors) = parse_stream("a: 1\na: 2\n");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 2);
    }

    #[test]
    fn alias_bomb_is_bounded() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let (docs, errors) = parse_stream(&text);
        assert!(docs.is_empty());
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn json_input() {
        let v = one("{\"kind\": \"Pod\", \"n\": 017, \"s\": \"on\"}");
        assert_eq!(v, json!({"kind": "Pod", "n": 15, "s": "on"}));
    }
}
