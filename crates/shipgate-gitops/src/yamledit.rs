//! In-place edits of image references in YAML: Kubernetes manifests, kustomization files and
//! Helm values, changing only the bytes of the edited scalars (and, where a key has to be
//! added or dropped, that one line).
//!
//! The text is parsed with granit-parser's event API, which gives the byte span of every
//! scalar; a small tree of spans is built, the scalars to change are found structurally, and
//! the new values are spliced into the original text. Comments, blank lines, key order,
//! indentation and the quoting style of each edited scalar are kept as they were.
//!
//! Edit rules (also in `docs/promote.md`):
//! * **Kubernetes manifests**: every `image:` of `containers`, `initContainers` and
//!   `ephemeralContainers` under `spec`, `spec.template.spec` or
//!   `spec.jobTemplate.spec.template.spec` (and the same inside `kind: List` items) whose
//!   repository (the reference without `:tag` and `@digest`) is NAME becomes `NAME@sha256:…`
//!   (`NAME:tag@sha256:…` with `keep_tag`).
//! * **Kustomization**: the `images:` entry whose `name` or `newName` is NAME gets
//!   `digest: sha256:…` (value replaced, or the `newTag` key renamed to `digest`, or a line
//!   inserted with the entry's indentation); a `newTag` is dropped (kustomize would otherwise
//!   render `name:tag@digest`) unless `keep_tag`. No entry: one is appended to `images:`
//!   (created at the end of the document when absent).
//! * **Helm values**: mappings with `repository: NAME` (or `registry` + `/` + `repository`)
//!   get `digest: sha256:…` (replaced or inserted); `tag:` is left as it is. A string value of
//!   an `image` key whose repository is NAME is rewritten like a manifest's `image:`. With
//!   `helm_key` (`image`, `backend.image`) only that path is looked at.
//!
//! Deliberately not handled (errors, never silent skips): flow-style (`{…}`, `[…]`) images
//! entries that would need a key inserted, block scalars (`|`, `>`) as image values, aliases.

use granit_parser::{Event, Parser, ScalarStyle, Span};

use crate::error::GitopsError;

/// An image pinned by digest: `NAME@sha256:<64 hex>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedImage {
    /// The repository, e.g. `registry.example.com:5000/team/app`.
    pub name: String,
    /// `sha256:<64 hex>`.
    pub digest: String,
}

impl PinnedImage {
    /// Parses `NAME@sha256:<64 lowercase hex>`; NAME must not carry a tag.
    pub fn parse(s: &str) -> Result<PinnedImage, GitopsError> {
        let bad = |why: &str| {
            GitopsError::Other(format!(
                "--image {s:?}: {why} (expected NAME@sha256:<64 hex digits>)"
            ))
        };
        let (name, digest) = s.rsplit_once('@').ok_or_else(|| bad("no @digest"))?;
        let hex = digest
            .strip_prefix("sha256:")
            .ok_or_else(|| bad("only sha256 digests are supported"))?;
        if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(bad("the digest is not 64 lowercase hex digits"));
        }
        if name.is_empty()
            || name
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '@' || c == '"' || c == '\'')
        {
            return Err(bad("the image name is empty or has invalid characters"));
        }
        let (repo, tag, _) = split_reference(name);
        if tag.is_some() {
            return Err(bad(&format!(
                "give the repository without a tag ({repo}); --keep-tag keeps the tag already in the file"
            )));
        }
        Ok(PinnedImage {
            name: name.to_string(),
            digest: digest.to_string(),
        })
    }

    /// `NAME@sha256:…`.
    pub fn reference(&self) -> String {
        format!("{}@{}", self.name, self.digest)
    }

    /// The first 12 hex digits of the digest.
    pub fn short_digest(&self) -> &str {
        let hex = self.digest.trim_start_matches("sha256:");
        &hex[..hex.len().min(12)]
    }
}

/// Splits an image reference into repository, tag and digest. A `:` before the last `/` is a
/// registry port (`registry:5000/app`), not a tag.
pub fn split_reference(r: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = match r.split_once('@') {
        Some((a, d)) => (a, Some(d)),
        None => (r, None),
    };
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..]), digest),
        None => (rest, None, digest),
    }
}

/// Which kind of file is edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Kubernetes manifests (one or more documents with `apiVersion` and `kind`).
    Manifest,
    /// A kustomization file (`images:` entries).
    Kustomization,
    /// Helm values.
    HelmValues,
}

impl FileKind {
    /// `manifest`, `kustomization`, `helm`.
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Manifest => "manifest",
            FileKind::Kustomization => "kustomization",
            FileKind::HelmValues => "helm",
        }
    }
}

/// How to edit.
#[derive(Debug, Clone, Default)]
pub struct EditOptions {
    /// Force the file kind (default: detected from the name and contents).
    pub kind: Option<FileKind>,
    /// Write `NAME:tag@sha256:…` (manifests, Helm strings) and keep kustomize `newTag`.
    pub keep_tag: bool,
    /// Helm values: the dotted path of the image value (`image`, `backend.image`).
    pub helm_key: Option<String>,
}

/// One changed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// 1-based line of the value in the original file.
    pub line: u32,
    /// What was there (`(none)` for an inserted key).
    pub old: String,
    /// What is there now.
    pub new: String,
}

/// The result of [`edit`].
#[derive(Debug, Clone)]
pub struct Edited {
    /// The new text (the original when nothing changed).
    pub text: String,
    /// The kind the file was read as.
    pub kind: FileKind,
    /// What changed; empty when every reference was already at the digest.
    pub changes: Vec<Change>,
}

// ---------------------------------------------------------------------------------------------
// A tree of spans

#[derive(Debug)]
enum Kind {
    Scalar {
        value: String,
        style: ScalarStyle,
    },
    Map {
        entries: Vec<(Node, Node)>,
        flow: bool,
    },
    Seq {
        items: Vec<Node>,
        flow: bool,
    },
    Alias,
}

#[derive(Debug)]
struct Node {
    kind: Kind,
    /// Byte offsets in the source.
    start: usize,
    end: usize,
    /// 1-based line and 0-based character column of the start.
    line: usize,
    col: usize,
}

impl Node {
    fn str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            Kind::Map { entries, .. } => entries
                .iter()
                .find(|(k, _)| k.str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.kind {
            Kind::Map { entries, .. } => entries
                .iter()
                .find(|(k, _)| k.str() == Some(key))
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    fn path(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |n, k| n.get(k))
    }
}

struct Frame {
    start: usize,
    line: usize,
    col: usize,
    map: bool,
    flow: bool,
    children: Vec<Node>,
}

fn err_at(path: &str, line: usize, col: usize, message: impl Into<String>) -> GitopsError {
    GitopsError::Edit {
        path: path.to_string(),
        line: u32::try_from(line).unwrap_or(u32::MAX),
        column: u32::try_from(col + 1).unwrap_or(u32::MAX),
        message: message.into(),
    }
}

fn offsets(path: &str, span: &Span) -> Result<(usize, usize), GitopsError> {
    span.byte_range().map(|r| (r.start, r.end)).ok_or_else(|| {
        err_at(
            path,
            span.start.line(),
            span.start.col(),
            "the YAML parser gave no byte position",
        )
    })
}

/// Parses every document into a tree of spans (empty documents are skipped).
fn parse(path: &str, text: &str) -> Result<Vec<Node>, GitopsError> {
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    for ev in Parser::new_from_str(text) {
        let (event, span) = ev.map_err(|e| {
            let m = e.marker();
            err_at(
                path,
                m.line(),
                m.col(),
                format!("invalid YAML: {}", e.info()),
            )
        })?;
        let node = match event {
            Event::MappingStart(style, ..) | Event::SequenceStart(style, ..) => {
                let (start, _) = offsets(path, &span)?;
                stack.push(Frame {
                    start,
                    line: span.start.line(),
                    col: span.start.col(),
                    map: matches!(event, Event::MappingStart(..)),
                    flow: style == granit_parser::StructureStyle::Flow,
                    children: Vec::new(),
                });
                continue;
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let Some(f) = stack.pop() else {
                    return Err(err_at(
                        path,
                        span.start.line(),
                        span.start.col(),
                        "unbalanced YAML",
                    ));
                };
                // A flow collection ends at its closing bracket; a block one at its last value.
                let end = if f.flow {
                    offsets(path, &span)?.1
                } else {
                    f.children.iter().map(|c| c.end).max().unwrap_or(f.start)
                };
                let kind = if f.map {
                    let mut entries = Vec::with_capacity(f.children.len() / 2);
                    let mut it = f.children.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        entries.push((k, v));
                    }
                    Kind::Map {
                        entries,
                        flow: f.flow,
                    }
                } else {
                    Kind::Seq {
                        items: f.children,
                        flow: f.flow,
                    }
                };
                Node {
                    kind,
                    start: f.start,
                    end,
                    line: f.line,
                    col: f.col,
                }
            }
            Event::Scalar(value, style, ..) => {
                let (start, end) = offsets(path, &span)?;
                Node {
                    kind: Kind::Scalar {
                        value: value.into_owned(),
                        style,
                    },
                    start,
                    end,
                    line: span.start.line(),
                    col: span.start.col(),
                }
            }
            Event::Alias(_) | Event::UnresolvedAlias(_) => {
                let (start, end) = offsets(path, &span)?;
                Node {
                    kind: Kind::Alias,
                    start,
                    end,
                    line: span.start.line(),
                    col: span.start.col(),
                }
            }
            _ => continue,
        };
        match stack.last_mut() {
            Some(parent) => parent.children.push(node),
            None => docs.push(node),
        }
    }
    Ok(docs)
}

// ---------------------------------------------------------------------------------------------
// Splices

/// One replacement of `start..end` by `text`.
#[derive(Debug)]
struct Splice {
    start: usize,
    end: usize,
    text: String,
}

struct Editor<'a> {
    path: &'a str,
    src: &'a str,
    nl: &'static str,
    splices: Vec<Splice>,
    changes: Vec<Change>,
    matched: usize,
}

impl<'a> Editor<'a> {
    fn new(path: &'a str, src: &'a str) -> Self {
        Editor {
            path,
            src,
            nl: if src.contains("\r\n") { "\r\n" } else { "\n" },
            splices: Vec::new(),
            changes: Vec::new(),
            matched: 0,
        }
    }

    /// Replaces a scalar's value, keeping its quoting style.
    fn set_scalar(&mut self, node: &Node, new: &str) -> Result<(), GitopsError> {
        let Kind::Scalar { value, style } = &node.kind else {
            return Err(err_at(
                self.path,
                node.line,
                node.col,
                "expected a string value here",
            ));
        };
        if value == new {
            return Ok(());
        }
        let raw = self.src.get(node.start..node.end).unwrap_or_default();
        let text = match style {
            ScalarStyle::Plain => new.to_string(),
            ScalarStyle::SingleQuoted => format!("'{}'", new.replace('\'', "''")),
            ScalarStyle::DoubleQuoted => {
                format!("\"{}\"", new.replace('\\', "\\\\").replace('"', "\\\""))
            }
            _ => {
                return Err(err_at(
                    self.path,
                    node.line,
                    node.col,
                    "block scalars (| or >) are not supported for image values; write the value on one line",
                ));
            }
        };
        // The parser's span of a quoted scalar may or may not include the quotes: widen it to
        // them so that the replacement (quotes included) never doubles them.
        let (mut start, mut end) = (node.start, node.end);
        let q = match style {
            ScalarStyle::SingleQuoted => Some('\''),
            ScalarStyle::DoubleQuoted => Some('"'),
            _ => None,
        };
        if let Some(q) = q
            && !raw.starts_with(q)
        {
            if self.src[..start].ends_with(q) {
                start -= 1;
            }
            if self.src[end..].starts_with(q) {
                end += 1;
            }
        }
        self.splices.push(Splice { start, end, text });
        self.changes.push(Change {
            line: u32::try_from(node.line).unwrap_or(u32::MAX),
            old: value.clone(),
            new: new.to_string(),
        });
        Ok(())
    }

    /// The byte offset just after the line that contains `pos` (after its line break), or the
    /// end of the text.
    fn after_line(&self, pos: usize) -> usize {
        self.src[pos..]
            .find('\n')
            .map_or(self.src.len(), |i| pos + i + 1)
    }

    /// Inserts whole lines after the line containing `pos`.
    fn insert_lines(&mut self, pos: usize, lines: &[String], line: usize, what: String) {
        let at = self.after_line(pos);
        let mut text = String::new();
        if at == self.src.len() && !self.src.is_empty() && !self.src.ends_with('\n') {
            text.push_str(self.nl);
        }
        for l in lines {
            text.push_str(l);
            text.push_str(self.nl);
        }
        self.splices.push(Splice {
            start: at,
            end: at,
            text,
        });
        self.changes.push(Change {
            line: u32::try_from(line + 1).unwrap_or(u32::MAX),
            old: "(none)".into(),
            new: what,
        });
    }

    /// Removes the whole line of a `key: value` pair (the key must start its line).
    fn remove_pair(&mut self, key: &Node, value: &Node) -> Result<(), GitopsError> {
        let line_start = self.src[..key.start].rfind('\n').map_or(0, |i| i + 1);
        if !self.src[line_start..key.start].trim().is_empty() {
            return Err(err_at(
                self.path,
                key.line,
                key.col,
                format!(
                    "cannot drop `{}` here (it shares its line with another key); move it to its own line or use --keep-tag",
                    key.str().unwrap_or_default()
                ),
            ));
        }
        let end = self.after_line(value.end.max(key.end));
        self.splices.push(Splice {
            start: line_start,
            end,
            text: String::new(),
        });
        self.changes.push(Change {
            line: u32::try_from(key.line).unwrap_or(u32::MAX),
            old: format!(
                "{}: {}",
                key.str().unwrap_or_default(),
                value.str().unwrap_or_default()
            ),
            new: "(removed)".into(),
        });
        Ok(())
    }

    fn finish(mut self, kind: FileKind) -> Result<Edited, GitopsError> {
        self.splices.sort_by_key(|s| (s.start, s.end));
        for w in self.splices.windows(2) {
            if w[0].end > w[1].start {
                return Err(GitopsError::Other(format!(
                    "{}: two edits overlap (the same value is matched twice); nothing was changed",
                    self.path
                )));
            }
        }
        let mut out = String::with_capacity(self.src.len() + 128);
        let mut at = 0;
        for s in &self.splices {
            out.push_str(&self.src[at..s.start]);
            out.push_str(&s.text);
            at = s.end;
        }
        out.push_str(&self.src[at..]);
        self.changes.sort_by_key(|c| c.line);
        Ok(Edited {
            text: out,
            kind,
            changes: self.changes,
        })
    }
}

/// The column (in characters) where the line containing byte `pos` has its first
/// non-blank character other than a sequence dash.
fn indent_of_item(src: &str, pos: usize) -> usize {
    let line_start = src[..pos].rfind('\n').map_or(0, |i| i + 1);
    src[line_start..pos]
        .chars()
        .take_while(|c| *c == ' ')
        .count()
}

// ---------------------------------------------------------------------------------------------
// Detection and the three kinds

/// Detects the kind of a file from its name and documents.
fn detect(path: &str, docs: &[Node]) -> FileKind {
    let file = path.rsplit('/').next().unwrap_or(path);
    if matches!(
        file,
        "kustomization.yaml" | "kustomization.yml" | "Kustomization"
    ) {
        return FileKind::Kustomization;
    }
    let mut manifest = false;
    for d in docs {
        if let (Some(_), Some(kind)) = (d.get("apiVersion"), d.get("kind")) {
            if kind.str() == Some("Kustomization")
                && d.get("apiVersion")
                    .and_then(Node::str)
                    .is_some_and(|a| a.starts_with("kustomize.config.k8s.io/"))
            {
                return FileKind::Kustomization;
            }
            manifest = true;
        }
    }
    if manifest {
        FileKind::Manifest
    } else {
        FileKind::HelmValues
    }
}

/// The new value of an image string, or `None` when its repository is not the image's.
fn new_reference(old: &str, image: &PinnedImage, keep_tag: bool) -> Option<String> {
    let (repo, tag, _) = split_reference(old.trim());
    if repo != image.name {
        return None;
    }
    Some(match (keep_tag, tag) {
        (true, Some(t)) => format!("{}:{t}@{}", image.name, image.digest),
        _ => image.reference(),
    })
}

fn edit_image_string(
    ed: &mut Editor<'_>,
    node: &Node,
    image: &PinnedImage,
    keep_tag: bool,
) -> Result<(), GitopsError> {
    if let Some(old) = node.str()
        && let Some(new) = new_reference(old, image, keep_tag)
    {
        ed.matched += 1;
        ed.set_scalar(node, &new)?;
    }
    Ok(())
}

const POD_SPEC_PATHS: [&[&str]; 3] = [
    &["spec"],
    &["spec", "template", "spec"],
    &["spec", "jobTemplate", "spec", "template", "spec"],
];

fn edit_manifest(
    ed: &mut Editor<'_>,
    doc: &Node,
    image: &PinnedImage,
    keep_tag: bool,
) -> Result<(), GitopsError> {
    if doc.get("kind").and_then(Node::str) == Some("List")
        && let Some(Node {
            kind: Kind::Seq { items, .. },
            ..
        }) = doc.get("items")
    {
        for item in items {
            edit_manifest(ed, item, image, keep_tag)?;
        }
        return Ok(());
    }
    for path in POD_SPEC_PATHS {
        let Some(spec) = doc.path(path) else { continue };
        for list in ["containers", "initContainers", "ephemeralContainers"] {
            if let Some(Node {
                kind: Kind::Seq { items, .. },
                ..
            }) = spec.get(list)
            {
                for c in items {
                    if let Some(img) = c.get("image") {
                        edit_image_string(ed, img, image, keep_tag)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Sets `digest:` in a block mapping: replaces the value, or renames `rename` (when given and
/// present) to `digest`, or inserts a line after the mapping's last line.
fn set_digest(
    ed: &mut Editor<'_>,
    map: &Node,
    digest: &str,
    rename: Option<&str>,
) -> Result<(), GitopsError> {
    if let Some(v) = map.get("digest") {
        return ed.set_scalar(v, digest);
    }
    let Kind::Map { entries, flow } = &map.kind else {
        return Err(err_at(ed.path, map.line, map.col, "expected a mapping"));
    };
    if let Some(key) = rename
        && let Some((k, v)) = map.entry(key)
    {
        // Rename the key in place (keeps its position and any comment on the line).
        if !matches!(
            &k.kind,
            Kind::Scalar {
                style: ScalarStyle::Plain,
                ..
            }
        ) {
            return Err(err_at(
                ed.path,
                k.line,
                k.col,
                format!("quoted `{key}` key: write it unquoted"),
            ));
        }
        ed.splices.push(Splice {
            start: k.start,
            end: k.end,
            text: "digest".into(),
        });
        ed.changes.push(Change {
            line: u32::try_from(k.line).unwrap_or(u32::MAX),
            old: format!("{key}: {}", v.str().unwrap_or_default()),
            new: format!("digest: {digest}"),
        });
        // The value changes too; its own change record would repeat the line.
        let before = ed.changes.len();
        ed.set_scalar(v, digest)?;
        ed.changes.truncate(before);
        return Ok(());
    }
    if *flow {
        return Err(err_at(
            ed.path,
            map.line,
            map.col,
            "flow-style mapping ({ ... }): a `digest` key cannot be inserted; write it as a block mapping",
        ));
    }
    let Some((first_key, _)) = entries.first() else {
        return Err(err_at(ed.path, map.line, map.col, "empty mapping"));
    };
    let indent = " ".repeat(first_key.col);
    ed.insert_lines(
        map.end,
        &[format!("{indent}digest: {digest}")],
        line_of(ed.src, map.end),
        format!("digest: {digest}"),
    );
    Ok(())
}

fn line_of(src: &str, pos: usize) -> usize {
    src[..pos.min(src.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

fn edit_kustomization(
    ed: &mut Editor<'_>,
    docs: &[Node],
    image: &PinnedImage,
    keep_tag: bool,
) -> Result<(), GitopsError> {
    let Some(doc) = docs.iter().find(|d| matches!(d.kind, Kind::Map { .. })) else {
        return Err(GitopsError::Other(format!(
            "{}: not a kustomization (no mapping)",
            ed.path
        )));
    };
    match doc.entry("images") {
        Some((
            _,
            images @ Node {
                kind: Kind::Seq { items, flow },
                ..
            },
        )) => {
            for item in items {
                let names = [item.get("name"), item.get("newName")];
                if !names.iter().flatten().any(|n| n.str() == Some(&image.name)) {
                    continue;
                }
                ed.matched += 1;
                if let Kind::Map { flow: true, .. } = item.kind
                    && item.get("digest").is_none()
                {
                    return Err(err_at(
                        ed.path,
                        item.line,
                        item.col,
                        "flow-style images entry: write it as a block mapping",
                    ));
                }
                if keep_tag {
                    set_digest(ed, item, &image.digest, None)?;
                } else if item.get("digest").is_some() {
                    set_digest(ed, item, &image.digest, None)?;
                    if let Some((k, v)) = item.entry("newTag") {
                        ed.remove_pair(k, v)?;
                    }
                } else {
                    set_digest(ed, item, &image.digest, Some("newTag"))?;
                }
            }
            if ed.matched == 0 {
                if *flow {
                    return Err(err_at(
                        ed.path,
                        images.line,
                        images.col,
                        "flow-style `images:` list: write it as a block sequence",
                    ));
                }
                let Some(last) = items.last() else {
                    return Err(err_at(
                        ed.path,
                        images.line,
                        images.col,
                        "empty `images:` list",
                    ));
                };
                let dash = indent_of_item(ed.src, last.start);
                let pad = " ".repeat(dash);
                let key_pad = " ".repeat(last.col.saturating_sub(dash).max(2));
                ed.matched += 1;
                ed.insert_lines(
                    last.end,
                    &[
                        format!("{pad}- name: {}", image.name),
                        format!("{pad}{key_pad}digest: {}", image.digest),
                    ],
                    line_of(ed.src, last.end),
                    format!("images: - name: {} digest: {}", image.name, image.digest),
                );
            }
        }
        Some((k, _)) => {
            return Err(err_at(
                ed.path,
                k.line,
                k.col,
                "`images:` is not a list of entries",
            ));
        }
        None => {
            if let Kind::Map { flow: true, .. } = doc.kind {
                return Err(err_at(
                    ed.path,
                    doc.line,
                    doc.col,
                    "flow-style kustomization: write it as a block mapping",
                ));
            }
            let pad = " ".repeat(doc.col);
            ed.matched += 1;
            ed.insert_lines(
                doc.end,
                &[
                    format!("{pad}images:"),
                    format!("{pad}- name: {}", image.name),
                    format!("{pad}  digest: {}", image.digest),
                ],
                line_of(ed.src, doc.end),
                format!("images: - name: {} digest: {}", image.name, image.digest),
            );
        }
    }
    Ok(())
}

/// Does a Helm image mapping name the image? (`repository: NAME`, or `registry` + `/` +
/// `repository`.)
fn helm_map_matches(map: &Node, image: &PinnedImage) -> bool {
    let Some(repo) = map.get("repository").and_then(Node::str) else {
        return false;
    };
    if repo == image.name {
        return true;
    }
    map.get("registry")
        .and_then(Node::str)
        .is_some_and(|reg| format!("{}/{}", reg.trim_end_matches('/'), repo) == image.name)
}

fn edit_helm_node(
    ed: &mut Editor<'_>,
    node: &Node,
    image: &PinnedImage,
    keep_tag: bool,
) -> Result<(), GitopsError> {
    match &node.kind {
        Kind::Map { .. } if helm_map_matches(node, image) => {
            ed.matched += 1;
            set_digest(ed, node, &image.digest, None)
        }
        Kind::Scalar { .. } => edit_image_string(ed, node, image, keep_tag),
        _ => Ok(()),
    }
}

/// Walks every value; parser nesting limits bound the depth.
fn walk_helm(
    ed: &mut Editor<'_>,
    node: &Node,
    image: &PinnedImage,
    keep_tag: bool,
) -> Result<(), GitopsError> {
    match &node.kind {
        Kind::Map { entries, .. } => {
            if helm_map_matches(node, image) {
                return edit_helm_node(ed, node, image, keep_tag);
            }
            for (k, v) in entries {
                if k.str() == Some("image") && matches!(v.kind, Kind::Scalar { .. }) {
                    edit_image_string(ed, v, image, keep_tag)?;
                } else {
                    walk_helm(ed, v, image, keep_tag)?;
                }
            }
        }
        Kind::Seq { items, .. } => {
            for i in items {
                walk_helm(ed, i, image, keep_tag)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Rewrites the references to `image` in `text` (the contents of `path`, used in messages).
///
/// Errors: invalid YAML (with line and column), nothing in the file names the image, a match
/// that cannot be edited in place (flow style, block scalar).
pub fn edit(
    path: &str,
    text: &str,
    image: &PinnedImage,
    opts: &EditOptions,
) -> Result<Edited, GitopsError> {
    let docs = parse(path, text)?;
    let kind = opts.kind.unwrap_or_else(|| detect(path, &docs));
    let mut ed = Editor::new(path, text);
    match kind {
        FileKind::Manifest => {
            for d in &docs {
                edit_manifest(&mut ed, d, image, opts.keep_tag)?;
            }
        }
        FileKind::Kustomization => edit_kustomization(&mut ed, &docs, image, opts.keep_tag)?,
        FileKind::HelmValues => {
            for d in &docs {
                match &opts.helm_key {
                    Some(key) => {
                        let keys: Vec<&str> = key.split('.').collect();
                        if let Some(n) = d.path(&keys) {
                            edit_helm_node(&mut ed, n, image, opts.keep_tag)?;
                        }
                    }
                    None => walk_helm(&mut ed, d, image, opts.keep_tag)?,
                }
            }
        }
    }
    if ed.matched == 0 {
        let where_ = match (kind, &opts.helm_key) {
            (FileKind::Manifest, _) => {
                "in any container, initContainer or ephemeralContainer".to_string()
            }
            (FileKind::HelmValues, Some(k)) => format!("at Helm key {k}"),
            (FileKind::HelmValues, None) => "in any `repository:` or `image:` value".to_string(),
            (FileKind::Kustomization, _) => "in `images:`".to_string(),
        };
        return Err(GitopsError::NoMatch {
            path: path.to_string(),
            message: format!(
                "image {} is not referenced {where_} (read as {})",
                image.name,
                kind.as_str()
            ),
        });
    }
    ed.finish(kind)
}

#[cfg(test)]
#[path = "yamledit_tests.rs"]
mod promote_tests;
