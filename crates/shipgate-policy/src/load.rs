//! Loading Kubernetes objects from files, directories and stdin.

use crate::error::PolicyError;
use crate::object::K8sObject;
use crate::yaml::{PosTree, Seg, parse_stream};
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Files larger than this are refused (manifests are small; this bounds memory on hostile input).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Objects loaded from some inputs, plus every error met on the way.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The objects, in input order (`kind: List` items expanded).
    pub objects: Vec<K8sObject>,
    /// Errors (unreadable files, invalid YAML, documents that are not objects).
    pub errors: Vec<PolicyError>,
}

impl Loaded {
    /// Append another load result.
    pub fn extend(&mut self, other: Loaded) {
        self.objects.extend(other.objects);
        self.errors.extend(other.errors);
    }
}

/// Is this a manifest file we pick up when walking a directory?
fn is_manifest_file(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// List the manifest files under `path` (the path itself if it is a file), sorted, recursively,
/// skipping hidden directories such as `.git`.
pub fn manifest_files(path: &Path, errors: &mut Vec<PolicyError>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => walk(path, &mut out, errors),
        Ok(_) => out.push(path.to_path_buf()),
        Err(source) => errors.push(PolicyError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<PolicyError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(source) => {
            errors.push(PolicyError::Io {
                path: dir.to_path_buf(),
                source,
            });
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        // symlink_metadata: never follow directory symlinks (loops).
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => {
                if !hidden {
                    walk(&p, out, errors);
                }
            }
            Ok(_) => {
                if is_manifest_file(&p) {
                    out.push(p);
                }
            }
            Err(source) => errors.push(PolicyError::Io { path: p, source }),
        }
    }
}

/// Read a file with the size cap.
pub fn read_file(path: &Path) -> Result<String, PolicyError> {
    let io = |source| PolicyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut buf = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(io)?;
    if buf.len() as u64 > MAX_FILE_BYTES {
        return Err(PolicyError::Parse {
            path: path.display().to_string(),
            line: 1,
            column: 1,
            message: format!("file is larger than {MAX_FILE_BYTES} bytes; split it"),
        });
    }
    String::from_utf8(buf).map_err(|e| PolicyError::Parse {
        path: path.display().to_string(),
        line: 1,
        column: 1,
        message: format!("not UTF-8 text: {e}"),
    })
}

/// Load every object under the given paths (`-` reads stdin).
pub fn load_paths<P: AsRef<Path>>(paths: &[P]) -> Loaded {
    let mut out = Loaded::default();
    for p in paths {
        let p = p.as_ref();
        if p == Path::new("-") {
            let mut buf = Vec::new();
            match std::io::stdin()
                .lock()
                .take(MAX_FILE_BYTES)
                .read_to_end(&mut buf)
            {
                Ok(_) => out.extend(load_bytes(&buf, "-")),
                Err(source) => out.errors.push(PolicyError::Io {
                    path: p.to_path_buf(),
                    source,
                }),
            }
            continue;
        }
        let files = manifest_files(p, &mut out.errors);
        for f in files {
            match read_file(&f) {
                Ok(text) => out.extend(load_str(&text, &f.display().to_string())),
                Err(e) => out.errors.push(e),
            }
        }
    }
    out
}

/// Load objects from bytes (must be UTF-8).
pub fn load_bytes(data: &[u8], path: &str) -> Loaded {
    match std::str::from_utf8(data) {
        Ok(text) => load_str(text, path),
        Err(e) => Loaded {
            objects: Vec::new(),
            errors: vec![PolicyError::Parse {
                path: path.to_string(),
                line: 1,
                column: 1,
                message: format!("not UTF-8 text: {e}"),
            }],
        },
    }
}

/// Load objects from a YAML/JSON stream. `path` names the source in positions and errors.
pub fn load_str(text: &str, path: &str) -> Loaded {
    let (docs, yaml_errors) = parse_stream(text);
    let mut out = Loaded::default();
    for e in yaml_errors {
        out.errors.push(PolicyError::Parse {
            path: path.to_string(),
            line: e.line,
            column: e.column,
            message: e.message,
        });
    }
    for doc in docs {
        add_object(doc.value, doc.pos, path, doc.index, &mut out);
    }
    // Report in source order.
    out.errors.sort_by_key(|e| e.line());
    out
}

fn add_object(value: Value, pos: PosTree, path: &str, doc_index: usize, out: &mut Loaded) {
    let start = pos.pos();
    let bad = |message: String| PolicyError::Parse {
        path: path.to_string(),
        line: start.line,
        column: start.column,
        message,
    };
    let Value::Object(map) = &value else {
        out.errors.push(bad(
            "document is not a mapping, so it is not a Kubernetes object".to_string(),
        ));
        return;
    };
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or("");
    let api_version = map.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if kind.is_empty() || api_version.is_empty() {
        out.errors.push(bad(
            "document has no `apiVersion` and `kind` strings, so it is not a Kubernetes object"
                .to_string(),
        ));
        return;
    }
    // `kind: List` (and typed lists such as `PodList`) hold objects under `items`.
    if kind.ends_with("List") && map.get("metadata").is_none_or(|m| m.get("name").is_none()) {
        if let Some(Value::Array(items)) = map.get("items") {
            for (i, item) in items.iter().enumerate() {
                let sub = pos
                    .subtree(&[Seg::Key("items".into()), Seg::Index(i)])
                    .cloned()
                    .unwrap_or(PosTree::Scalar(start));
                add_object(item.clone(), sub, path, doc_index, out);
            }
            return;
        }
    }
    match map.get("metadata") {
        Some(Value::Object(m)) => {
            if !m.get("name").is_some_and(Value::is_string)
                && !m.get("generateName").is_some_and(Value::is_string)
            {
                out.errors.push(bad(format!(
                    "{kind} has no `metadata.name`; add one (the API server requires it)"
                )));
                return;
            }
        }
        _ => {
            out.errors.push(bad(format!(
                "{kind} has no `metadata` mapping; add `metadata.name`"
            )));
            return;
        }
    }
    out.objects.push(K8sObject {
        value,
        pos: Arc::new(pos),
        path: path.to_string(),
        doc_index,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_bad_documents() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: a}\n- apiVersion: v1\n  kind: Service\n  metadata: {name: b, namespace: x}\n---\nfoo: bar\n---\n- 1\n---\napiVersion: v1\nkind: Pod\n---\n# only a comment\n";
        let loaded = load_str(text, "m.yaml");
        assert_eq!(loaded.objects.len(), 2);
        assert_eq!(loaded.objects[0].object_ref(), "v1 Pod a");
        assert_eq!(loaded.objects[0].line(), 4);
        assert_eq!(loaded.objects[1].object_ref(), "v1 Service x/b");
        let lines: Vec<_> = loaded.errors.iter().map(|e| e.line()).collect();
        assert_eq!(
            lines,
            vec![Some(11), Some(13), Some(15)],
            "{:?}",
            loaded.errors
        );
    }
}
