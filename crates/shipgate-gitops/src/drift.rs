//! Drift: does a live object still match what the application applied, and if not, which
//! fields changed and which field manager changed them.
//!
//! The comparison is against the *last applied intent*, not against the whole live object:
//! only the fields the application sets are compared, so API-server defaulting (fields it
//! never set) and controller-owned fields (`status`, a `replicas` an autoscaler owns) are not
//! drift. The expected value of each field is taken from the server's answer to the apply,
//! so canonicalisation (`cpu: 0.5` stored as `500m`) is not drift either.
//!
//! Lists of objects are matched by key where the elements have one (`name`, else
//! `mountPath`, else `containerPort`), otherwise by index, so an element another manager
//! inserts in front of the application's elements does not shift every path.
//!
//! Memory: a [`Baseline`] keeps the field paths (interned: objects rendered from the same
//! template share one path list) and one 64-bit hash per field, not the values.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::app::IgnoreDifference;
use crate::objects::{FIELD_MANAGER, ObjectRef};

/// One step of a field path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Seg {
    /// A map key.
    Key(Box<str>),
    /// A list element by position.
    Index(usize),
    /// A list element by a key field (`name=web`).
    Match(Box<str>, Box<str>),
}

/// A field path.
pub type FieldPath = Box<[Seg]>;

/// Renders a path for people and records: `spec.template.spec.containers[name=web].image`.
pub fn display_path(p: &[Seg]) -> String {
    let mut s = String::new();
    for seg in p {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
            Seg::Match(k, v) => s.push_str(&format!("[{k}={v}]")),
        }
    }
    s
}

/// The value at a path in an object.
pub fn lookup<'a>(v: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    let mut cur = v;
    for seg in path {
        cur = match seg {
            Seg::Key(k) => cur.get(&**k)?,
            Seg::Index(i) => cur.get(*i)?,
            Seg::Match(k, want) => cur
                .as_array()?
                .iter()
                .find(|e| e.get(&**k).map(key_text).as_deref() == Some(&**want))?,
        };
    }
    Some(cur)
}

fn key_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The key field a list of objects is matched by, if every element has it.
fn list_key(items: &[Value]) -> Option<&'static str> {
    ["name", "mountPath", "containerPort", "type"]
        .into_iter()
        .find(|k| {
            !items.is_empty()
                && items
                    .iter()
                    .all(|e| e.get(*k).is_some_and(|v| v.is_string() || v.is_number()))
        })
}

/// Fields never compared: identity, and what the server owns.
fn skipped_top(key: &str) -> bool {
    matches!(key, "apiVersion" | "kind" | "status")
}

fn skipped_meta(key: &str) -> bool {
    matches!(
        key,
        "name"
            | "namespace"
            | "resourceVersion"
            | "uid"
            | "generation"
            | "creationTimestamp"
            | "managedFields"
            | "selfLink"
            | "deletionTimestamp"
    )
}

/// Every leaf path of a manifest the application sends, with the JSON pointer of the same
/// field by position (what `ignoreDifferences.jsonPointers` are written against).
pub fn leaf_paths(sent: &Value) -> Vec<(FieldPath, String)> {
    let mut out = Vec::new();
    let mut path = Vec::new();
    if let Some(m) = sent.as_object() {
        for (k, v) in m {
            if skipped_top(k) {
                continue;
            }
            path.push(Seg::Key(k.as_str().into()));
            let ptr = format!("/{}", escape_pointer(k));
            if k == "metadata" {
                if let Some(meta) = v.as_object() {
                    for (mk, mv) in meta {
                        if skipped_meta(mk) {
                            continue;
                        }
                        path.push(Seg::Key(mk.as_str().into()));
                        walk(
                            mv,
                            &mut path,
                            &format!("{ptr}/{}", escape_pointer(mk)),
                            &mut out,
                        );
                        path.pop();
                    }
                }
            } else {
                walk(v, &mut path, &ptr, &mut out);
            }
            path.pop();
        }
    }
    out
}

fn escape_pointer(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

fn walk(v: &Value, path: &mut Vec<Seg>, ptr: &str, out: &mut Vec<(FieldPath, String)>) {
    // Depth is bounded by what the API server accepts; manifests come from our own parser,
    // which bounds nesting, but stop anyway rather than recurse without end.
    if path.len() > 64 {
        out.push((path.clone().into_boxed_slice(), ptr.to_string()));
        return;
    }
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, child) in m {
                path.push(Seg::Key(k.as_str().into()));
                walk(child, path, &format!("{ptr}/{}", escape_pointer(k)), out);
                path.pop();
            }
        }
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object) => {
            let key = list_key(items);
            for (i, item) in items.iter().enumerate() {
                let seg = match key {
                    Some(k) => Seg::Match(k.into(), key_text(&item[k]).into()),
                    None => Seg::Index(i),
                };
                path.push(seg);
                walk(item, path, &format!("{ptr}/{i}"), out);
                path.pop();
            }
        }
        // Scalars, empty maps and lists of scalars are compared whole (atomic lists).
        _ => out.push((path.clone().into_boxed_slice(), ptr.to_string())),
    }
}

fn hash_value(v: &Value) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    // serde_json maps are sorted (no preserve_order): the text is canonical.
    serde_json::to_string(v).unwrap_or_default().hash(&mut h);
    h.finish()
}

/// Shares path lists between objects with the same shape.
#[derive(Debug, Default)]
pub struct Interner {
    lists: HashMap<u64, Vec<Arc<[FieldPath]>>>,
}

impl Interner {
    fn intern(&mut self, paths: Vec<FieldPath>) -> Arc<[FieldPath]> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        paths.hash(&mut h);
        let bucket = self.lists.entry(h.finish()).or_default();
        if let Some(found) = bucket.iter().find(|l| l.as_ref() == paths.as_slice()) {
            return found.clone();
        }
        let arc: Arc<[FieldPath]> = paths.into();
        bucket.push(arc.clone());
        arc
    }

    /// Number of distinct path lists held.
    pub fn len(&self) -> usize {
        self.lists.values().map(Vec::len).sum()
    }

    /// True when nothing is interned.
    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }
}

/// What an object should look like, reduced to field paths and value hashes.
#[derive(Clone, Debug)]
pub struct Baseline {
    paths: Arc<[FieldPath]>,
    hashes: Box<[u64]>,
}

impl Baseline {
    /// The baseline of an apply: the paths the application sent (minus ignored ones), with
    /// the values the server stored for them.
    pub fn new(
        sent: &Value,
        stored: &Value,
        id: &ObjectRef,
        ignore: &[IgnoreDifference],
        interner: &mut Interner,
    ) -> Baseline {
        let rules: Vec<&IgnoreDifference> = ignore
            .iter()
            .filter(|r| {
                r.matches(
                    &id.group,
                    &id.kind,
                    id.namespace.as_deref().unwrap_or(""),
                    &id.name,
                )
            })
            .collect();
        let mut paths = Vec::new();
        let mut hashes = Vec::new();
        for (path, ptr) in leaf_paths(sent) {
            if rules.iter().any(|r| {
                r.json_pointers
                    .iter()
                    .any(|p| ptr == *p || ptr.starts_with(&format!("{p}/")))
            }) {
                continue;
            }
            // A field the server dropped (or moved) is not something we can compare.
            let Some(v) = lookup(stored, &path) else {
                continue;
            };
            hashes.push(hash_value(v));
            paths.push(path);
        }
        Baseline {
            paths: interner.intern(paths),
            hashes: hashes.into_boxed_slice(),
        }
    }

    /// Fields compared.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// True when no field is compared.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// The fields whose live value differs (or that are gone).
    pub fn drifted(&self, live: &Value) -> Vec<FieldPath> {
        self.paths
            .iter()
            .zip(self.hashes.iter())
            .filter(|(p, h)| lookup(live, p).map(hash_value) != Some(**h))
            .map(|(p, _)| p.clone())
            .collect()
    }
}

/// Who changed a drifted field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ChangedField {
    /// The field (`spec.replicas`).
    pub field: String,
    /// The field manager that owns it now (`kubectl-edit`, `kube-controller-manager`), or
    /// `None` when no manager owns it (the field was removed).
    pub manager: Option<String>,
    /// `Update` or `Apply`.
    pub operation: Option<String>,
    /// When that manager last wrote the object.
    pub time: Option<String>,
}

/// Attributes each drifted field to the field manager that owns it in the live object's
/// `managedFields` (the most recent writer when several share it; never shipgate's own
/// manager unless nobody else owns it).
///
/// Caveat: `managedFields` records managers, not users; the user behind a manager is in the
/// API server's audit log.
pub fn attribute(live: &Value, drifted: &[FieldPath]) -> Vec<ChangedField> {
    let entries: Vec<&Value> = live
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    drifted
        .iter()
        .map(|path| {
            let mut best: Option<&Value> = None;
            for e in &entries {
                let manager = e.get("manager").and_then(Value::as_str).unwrap_or("");
                let Some(fields) = e.get("fieldsV1") else {
                    continue;
                };
                if !owns(fields, live, path) {
                    continue;
                }
                let ours = manager == FIELD_MANAGER;
                let better = match best {
                    None => true,
                    Some(b) => {
                        let b_ours =
                            b.get("manager").and_then(Value::as_str) == Some(FIELD_MANAGER);
                        let t = e.get("time").and_then(Value::as_str).unwrap_or("");
                        let bt = b.get("time").and_then(Value::as_str).unwrap_or("");
                        (b_ours && !ours) || (b_ours == ours && t > bt)
                    }
                };
                if better {
                    best = Some(e);
                }
            }
            let s = |k: &str| {
                best.and_then(|b| b.get(k))
                    .and_then(Value::as_str)
                    .map(String::from)
            };
            ChangedField {
                field: display_path(path),
                manager: s("manager"),
                operation: s("operation"),
                time: s("time"),
            }
        })
        .collect()
}

/// Does a `fieldsV1` set contain this path (or a parent of it that it owns atomically)?
fn owns(fields: &Value, live: &Value, path: &[Seg]) -> bool {
    let mut node = fields;
    let mut cur = live;
    for seg in path {
        match seg {
            Seg::Key(k) => {
                let Some(next) = node.get(format!("f:{k}")) else {
                    return false;
                };
                node = next;
                cur = cur.get(&**k).unwrap_or(&Value::Null);
            }
            Seg::Index(_) | Seg::Match(..) => {
                let element = lookup(cur, std::slice::from_ref(seg));
                let index = match seg {
                    Seg::Index(i) => Some(*i),
                    _ => cur.as_array().and_then(|a| {
                        element.and_then(|el| a.iter().position(|x| std::ptr::eq(x, el)))
                    }),
                };
                let Some(map) = node.as_object() else {
                    return false;
                };
                let found = map.iter().find(|(k, _)| {
                    if let Some(json) = k.strip_prefix("k:") {
                        let Ok(Value::Object(keys)) = serde_json::from_str::<Value>(json) else {
                            return false;
                        };
                        element.is_some_and(|el| {
                            keys.iter()
                                .all(|(kk, kv)| el.get(kk).is_some_and(|x| loose_eq(x, kv)))
                        })
                    } else if let Some(i) = k.strip_prefix("i:") {
                        index.is_some_and(|idx| i.parse::<usize>() == Ok(idx))
                    } else if let Some(json) = k.strip_prefix("v:") {
                        element.is_some_and(|el| {
                            serde_json::from_str::<Value>(json).ok().as_ref() == Some(el)
                        })
                    } else {
                        false
                    }
                });
                let Some((_, next)) = found else {
                    return false;
                };
                node = next;
                cur = element.unwrap_or(&Value::Null);
            }
        }
    }
    true
}

/// Equality that lets `80` match `"80"` (managedFields keys are JSON, values may be either).
fn loose_eq(a: &Value, b: &Value) -> bool {
    a == b || key_text(a) == key_text(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(image: &str, replicas: i64) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": image, "resources": {"limits": {"cpu": "0.5"}}}]}}}
        })
    }

    fn id() -> ObjectRef {
        ObjectRef::from_value(&deployment("a", 1)).expect("an object")
    }

    /// What the API server would store: defaults added, quantities canonicalised, status.
    fn stored(sent: &Value) -> Value {
        let mut s = sent.clone();
        s["metadata"]["uid"] = json!("u-1");
        s["metadata"]["resourceVersion"] = json!("17");
        s["spec"]["strategy"] = json!({"type": "RollingUpdate"});
        s["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("IfNotPresent");
        s["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] =
            json!("500m");
        s["status"] = json!({"replicas": 1});
        s
    }

    #[test]
    fn defaults_canonical_values_and_status_are_not_drift() {
        let sent = deployment("nginx:1", 2);
        let st = stored(&sent);
        let b = Baseline::new(&sent, &st, &id(), &[], &mut Interner::default());
        assert!(b.drifted(&st).is_empty());
        let mut live = st.clone();
        live["status"]["readyReplicas"] = json!(2);
        live["metadata"]["resourceVersion"] = json!("18");
        live["spec"]["revisionHistoryLimit"] = json!(10);
        assert!(b.drifted(&live).is_empty());
    }

    #[test]
    fn a_changed_field_is_drift_and_attributed_to_its_manager() {
        let sent = deployment("nginx:1", 2);
        let st = stored(&sent);
        let b = Baseline::new(&sent, &st, &id(), &[], &mut Interner::default());
        let mut live = st.clone();
        live["spec"]["template"]["spec"]["containers"][0]["image"] = json!("evil:latest");
        live["metadata"]["managedFields"] = json!([
            {"manager": "shipgate-gitops", "operation": "Apply", "time": "2026-12-05T10:00:00Z",
             "fieldsV1": {"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:name": {}, "f:resources": {}}}}}}}},
            {"manager": "kubectl-edit", "operation": "Update", "time": "2026-12-05T10:05:00Z",
             "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {"f:image": {}}}}}}}}
        ]);
        let d = b.drifted(&live);
        assert_eq!(d.len(), 1);
        assert_eq!(
            display_path(&d[0]),
            "spec.template.spec.containers[name=web].image"
        );
        let who = attribute(&live, &d);
        assert_eq!(who[0].manager.as_deref(), Some("kubectl-edit"));
        assert_eq!(who[0].operation.as_deref(), Some("Update"));
    }

    #[test]
    fn removed_field_and_inserted_list_element() {
        let sent = deployment("nginx:1", 2);
        let st = stored(&sent);
        let b = Baseline::new(&sent, &st, &id(), &[], &mut Interner::default());
        // Another manager inserts a sidecar in front: matched by name, not drift.
        let mut live = st.clone();
        let containers = live["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .expect("a list");
        containers.insert(0, json!({"name": "sidecar", "image": "proxy"}));
        assert!(b.drifted(&live).is_empty());
        // A label removed is drift.
        let mut live = st.clone();
        live["metadata"]["labels"]
            .as_object_mut()
            .expect("labels")
            .remove("app");
        let d = b.drifted(&live);
        assert_eq!(display_path(&d[0]), "metadata.labels.app");
        assert_eq!(attribute(&live, &d)[0].manager, None);
    }

    #[test]
    fn ignore_rules_drop_fields() {
        let sent = deployment("nginx:1", 2);
        let st = stored(&sent);
        let ignore = vec![IgnoreDifference {
            group: Some("apps".into()),
            kind: Some("Deployment".into()),
            name: None,
            namespace: None,
            json_pointers: vec!["/spec/replicas".into()],
            managed_fields_managers: vec![],
        }];
        let b = Baseline::new(&sent, &st, &id(), &ignore, &mut Interner::default());
        let mut live = st.clone();
        live["spec"]["replicas"] = json!(7);
        assert!(b.drifted(&live).is_empty());
        let b = Baseline::new(&sent, &st, &id(), &[], &mut Interner::default());
        assert_eq!(b.drifted(&live).len(), 1);
    }

    #[test]
    fn interner_shares_path_lists() {
        let mut i = Interner::default();
        for n in 0..100 {
            let mut sent = deployment("nginx:1", 2);
            sent["metadata"]["name"] = json!(format!("web-{n}"));
            let st = stored(&sent);
            let _ = Baseline::new(&sent, &st, &id(), &[], &mut i);
        }
        assert_eq!(i.len(), 1);
    }
}
