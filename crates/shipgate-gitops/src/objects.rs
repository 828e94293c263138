//! Desired objects: identity, ownership tracking, and the order they are applied in.
//!
//! Ownership: every object an application applies carries the labels
//! `app.kubernetes.io/managed-by: shipgate` and `gitops.shipgate.dev/app: <app>` and the
//! annotation `gitops.shipgate.dev/tracking-id: <app>:<group>/<kind>:<namespace>/<name>`.
//! Prune deletes an object only when it is in the application's recorded inventory *and* its
//! live tracking annotation names this application and this very object, so a label copied
//! onto some other object, or an object another tool created with the same name, is never
//! deleted.
//!
//! Order: namespaces and CRDs first (phase 0), then sync waves
//! (`gitops.shipgate.dev/sync-wave`, or Argo CD's `argocd.argoproj.io/sync-wave` for
//! repositories migrating over), and within a wave by kind in the usual install order
//! (ServiceAccounts, Secrets and ConfigMaps before the workloads that mount them, webhooks
//! last), then namespace and name.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Label naming the tool that manages an object.
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Value of [`LABEL_MANAGED_BY`].
pub const MANAGED_BY: &str = "shipgate";
/// Label naming the owning application.
pub const LABEL_APP: &str = "gitops.shipgate.dev/app";
/// Annotation binding an object to its application and identity (checked before prune).
pub const ANNOTATION_TRACKING: &str = "gitops.shipgate.dev/tracking-id";
/// Annotation: the sync wave (an integer, default 0; lower waves first).
pub const ANNOTATION_WAVE: &str = "gitops.shipgate.dev/sync-wave";
/// Argo CD's wave annotation, honoured when ours is absent.
pub const ANNOTATION_WAVE_ARGO: &str = "argocd.argoproj.io/sync-wave";
/// The field manager of every apply.
pub const FIELD_MANAGER: &str = "shipgate-gitops";

/// Identity of an object in the cluster (version is informational: the same object can be
/// read at several versions).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectRef {
    /// API group (`""` for the core group).
    pub group: String,
    /// Version the object was applied at.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Namespace (`None` for cluster-scoped objects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

impl ObjectRef {
    /// From an object's `apiVersion`, `kind`, `metadata.namespace` and `metadata.name`.
    pub fn from_value(v: &Value) -> Option<ObjectRef> {
        let api_version = v.get("apiVersion")?.as_str()?;
        let kind = v.get("kind")?.as_str()?.to_string();
        let meta = v.get("metadata")?;
        let name = meta.get("name")?.as_str()?.to_string();
        let namespace = meta
            .get("namespace")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(String::from);
        let (group, version) = split_api_version(api_version);
        Some(ObjectRef {
            group: group.to_string(),
            version: version.to_string(),
            kind,
            namespace,
            name,
        })
    }

    /// `apps/v1` or `v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The identity without the version: two refs with the same key are the same object.
    pub fn key(&self) -> (String, String, String, String) {
        (
            self.group.clone(),
            self.kind.clone(),
            self.namespace.clone().unwrap_or_default(),
            self.name.clone(),
        )
    }

    /// Same object (ignoring the version)?
    pub fn same_object(&self, other: &ObjectRef) -> bool {
        self.group == other.group
            && self.kind == other.kind
            && self.namespace == other.namespace
            && self.name == other.name
    }

    /// The tracking id: `<app>:<group>/<kind>:<namespace>/<name>`.
    pub fn tracking_id(&self, app: &str) -> String {
        format!(
            "{app}:{}/{}:{}/{}",
            self.group,
            self.kind,
            self.namespace.as_deref().unwrap_or(""),
            self.name
        )
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        };
        match &self.namespace {
            Some(ns) => write!(f, "{kind} {ns}/{}", self.name),
            None => write!(f, "{kind} {}", self.name),
        }
    }
}

/// Splits `group/version` (`v1` is the core group).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

/// Install order of well-known kinds; unknown kinds (custom resources) come after them.
const KIND_ORDER: &[&str] = &[
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
];

/// Kinds applied after everything else (a webhook must not block the objects of its own sync).
const KIND_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
];

/// Rank of a kind in the install order.
pub fn kind_rank(kind: &str) -> usize {
    if let Some(i) = KIND_ORDER.iter().position(|k| *k == kind) {
        i
    } else if let Some(i) = KIND_LAST.iter().position(|k| *k == kind) {
        KIND_ORDER.len() + 1 + i
    } else {
        KIND_ORDER.len()
    }
}

/// Is this a kind that goes before all waves (namespaces, CRDs)?
pub fn is_phase_zero(group: &str, kind: &str) -> bool {
    (group.is_empty() && kind == "Namespace")
        || (group == "apiextensions.k8s.io" && kind == "CustomResourceDefinition")
}

/// The object's sync wave; an unparsable value is an error naming the annotation.
pub fn wave_of(v: &Value) -> Result<i32, String> {
    let ann = v.pointer("/metadata/annotations");
    let raw = ann
        .and_then(|a| a.get(ANNOTATION_WAVE))
        .or_else(|| ann.and_then(|a| a.get(ANNOTATION_WAVE_ARGO)));
    match raw {
        None => Ok(0),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| format!("annotation {ANNOTATION_WAVE} {s:?} is not an integer")),
        Some(Value::Number(n)) => n
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| format!("annotation {ANNOTATION_WAVE} {n} is out of range")),
        Some(other) => Err(format!(
            "annotation {ANNOTATION_WAVE} must be a string, not {other}"
        )),
    }
}

/// Adds the ownership labels and annotations to a manifest.
///
/// No per-commit stamp: an object whose manifest did not change between two commits is not
/// written again (a commit annotation would rewrite every object on every commit, and bump
/// every resourceVersion). The history record maps each commit to the objects it changed.
pub fn add_tracking(manifest: &mut Value, app: &str, id: &ObjectRef) {
    let Some(meta) = manifest.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let labels = meta
        .entry("labels")
        .or_insert_with(|| Value::Object(Default::default()));
    if !labels.is_object() {
        *labels = Value::Object(Default::default());
    }
    if let Some(l) = labels.as_object_mut() {
        l.insert(LABEL_MANAGED_BY.into(), Value::String(MANAGED_BY.into()));
        l.insert(LABEL_APP.into(), Value::String(app.into()));
    }
    let annotations = meta
        .entry("annotations")
        .or_insert_with(|| Value::Object(Default::default()));
    if !annotations.is_object() {
        *annotations = Value::Object(Default::default());
    }
    if let Some(a) = annotations.as_object_mut() {
        a.insert(
            ANNOTATION_TRACKING.into(),
            Value::String(id.tracking_id(app)),
        );
    }
}

/// Does this live object carry this application's tracking annotation for its own identity?
pub fn owned_by(live: &Value, app: &str) -> bool {
    let Some(id) = ObjectRef::from_value(live) else {
        return false;
    };
    live.pointer("/metadata/annotations")
        .and_then(|a| a.get(ANNOTATION_TRACKING))
        .and_then(Value::as_str)
        == Some(id.tracking_id(app).as_str())
}

/// The application named by a live object's tracking annotation, if it is consistent with
/// the object's identity.
pub fn owner_of(live: &Value) -> Option<String> {
    let id = ObjectRef::from_value(live)?;
    let tracking = live
        .pointer("/metadata/annotations")?
        .get(ANNOTATION_TRACKING)?
        .as_str()?;
    let (app, rest) = tracking.split_once(':')?;
    (rest == &id.tracking_id(app)[app.len() + 1..]).then(|| app.to_string())
}

/// Sort key for applying: phase, wave, kind rank, namespace, name.
pub fn apply_key(id: &ObjectRef, wave: i32) -> (u8, i32, usize, String, String) {
    (
        u8::from(!is_phase_zero(&id.group, &id.kind)),
        wave,
        kind_rank(&id.kind),
        id.namespace.clone().unwrap_or_default(),
        id.name.clone(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identity_and_display() {
        let v = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}});
        let id = ObjectRef::from_value(&v).expect("an object");
        assert_eq!(id.group, "apps");
        assert_eq!(id.api_version(), "apps/v1");
        assert_eq!(id.to_string(), "Deployment.apps shop/web");
        assert_eq!(id.tracking_id("shop"), "shop:apps/Deployment:shop/web");
        let core = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}});
        let ns = ObjectRef::from_value(&core).expect("an object");
        assert_eq!(ns.to_string(), "Namespace shop");
        assert!(is_phase_zero(&ns.group, &ns.kind));
    }

    #[test]
    fn tracking_is_required_for_ownership() {
        let mut v = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}});
        let id = ObjectRef::from_value(&v).expect("an object");
        assert!(!owned_by(&v, "a"));
        add_tracking(&mut v, "a", &id);
        assert!(owned_by(&v, "a"));
        assert!(!owned_by(&v, "b"));
        assert_eq!(owner_of(&v).as_deref(), Some("a"));
        assert_eq!(v["metadata"]["labels"][LABEL_APP], "a");
        // Copied onto another object, the annotation no longer matches its identity.
        v["metadata"]["name"] = json!("other");
        assert!(!owned_by(&v, "a"));
        assert_eq!(owner_of(&v), None);
    }

    #[test]
    fn order_puts_namespaces_and_crds_first_then_waves_then_kinds() {
        let mk = |kind: &str, group: &str, name: &str| ObjectRef {
            group: group.into(),
            version: "v1".into(),
            kind: kind.into(),
            namespace: None,
            name: name.into(),
        };
        let mut items = [
            (mk("Deployment", "apps", "web"), 0),
            (
                mk(
                    "ValidatingWebhookConfiguration",
                    "admissionregistration.k8s.io",
                    "w",
                ),
                0,
            ),
            (mk("ConfigMap", "", "cfg"), 0),
            (mk("Widget", "example.com", "x"), 0),
            (mk("Job", "batch", "migrate"), -1),
            (
                mk(
                    "CustomResourceDefinition",
                    "apiextensions.k8s.io",
                    "widgets.example.com",
                ),
                5,
            ),
            (mk("Namespace", "", "shop"), 3),
        ];
        items.sort_by_key(|(id, w)| apply_key(id, *w));
        let kinds: Vec<&str> = items.iter().map(|(i, _)| i.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "Namespace",
                "CustomResourceDefinition",
                "Job",
                "ConfigMap",
                "Deployment",
                "Widget",
                "ValidatingWebhookConfiguration"
            ]
        );
    }

    #[test]
    fn waves() {
        let w = |a: Value| wave_of(&json!({"metadata": {"annotations": a}}));
        assert_eq!(w(json!({ANNOTATION_WAVE: "-2"})), Ok(-2));
        assert_eq!(w(json!({ANNOTATION_WAVE_ARGO: "3"})), Ok(3));
        assert_eq!(w(json!({})), Ok(0));
        assert!(w(json!({ANNOTATION_WAVE: "soon"})).is_err());
    }
}
