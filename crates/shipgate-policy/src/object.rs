//! A Kubernetes object read from a manifest, with where it came from.

use crate::yaml::{Pos, PosTree, Seg};
use serde_json::Value;
use std::sync::Arc;

/// A Kubernetes object and its source positions.
#[derive(Debug, Clone)]
pub struct K8sObject {
    /// The object as JSON (what the API server would store, before defaulting).
    pub value: Value,
    /// Positions of the object's fields, rooted at the object.
    pub pos: Arc<PosTree>,
    /// The file (relative as given; `-` for stdin).
    pub path: String,
    /// 0-based document index in the file.
    pub doc_index: usize,
}

impl K8sObject {
    /// Build an object from a JSON value with no positions (e.g. from an AdmissionReview).
    pub fn from_value(value: Value, path: &str) -> Self {
        K8sObject {
            value,
            pos: Arc::new(PosTree::Scalar(Pos { line: 1, column: 1 })),
            path: path.to_string(),
            doc_index: 0,
        }
    }

    /// `apiVersion` (empty if absent).
    pub fn api_version(&self) -> &str {
        self.value
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// `kind` (empty if absent).
    pub fn kind(&self) -> &str {
        self.value.get("kind").and_then(Value::as_str).unwrap_or("")
    }

    /// `metadata.name` (empty if absent).
    pub fn name(&self) -> &str {
        self.value
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// `metadata.namespace`, if set.
    pub fn namespace(&self) -> Option<&str> {
        self.value
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// The API group (`""` for the core group).
    pub fn group(&self) -> &str {
        split_api_version(self.api_version()).0
    }

    /// The API version without the group.
    pub fn version(&self) -> &str {
        split_api_version(self.api_version()).1
    }

    /// An annotation value.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.value
            .get("metadata")?
            .get("annotations")?
            .get(key)?
            .as_str()
    }

    /// `"<apiVersion> <Kind> <namespace>/<name>"`, or `"<apiVersion> <Kind> <name>"` without a
    /// namespace.
    pub fn object_ref(&self) -> String {
        match self.namespace() {
            Some(ns) => format!(
                "{} {} {}/{}",
                self.api_version(),
                self.kind(),
                ns,
                self.name()
            ),
            None => format!("{} {} {}", self.api_version(), self.kind(), self.name()),
        }
    }

    /// Where the field at `path` is (or its nearest existing ancestor).
    pub fn locate(&self, path: &[Seg]) -> Pos {
        self.pos.locate(path)
    }

    /// The line where the object starts.
    pub fn line(&self) -> u32 {
        self.pos.pos().line
    }
}

/// Split `group/version` (`v1` is the core group).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

/// Render a path like `spec.template.spec.containers[0].image`.
pub fn path_string(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => {
                s.push('[');
                s.push_str(&i.to_string());
                s.push(']');
            }
        }
    }
    s
}
