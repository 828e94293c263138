//! `shipgate gitops manifest`: what it takes to run the agent inside a cluster: the
//! `Application` CRD, a namespace, a ServiceAccount, least-privilege RBAC, the applications
//! ConfigMap, a Deployment of two replicas (leader election) and a metrics Service.
//!
//! Least privilege: the agent's own needs are a namespaced Role (its Lease, its state
//! ConfigMaps, the credential Secrets it is told about, `Application` resources); what it
//! deploys is a ClusterRole listing exactly the resources the applications render (passed in
//! by the caller, or the common workload set), with the verbs server-side apply, drift watches
//! and prune need (`get`, `list`, `watch`, `create`, `patch`, `delete`), never `update` of
//! RBAC (no `escalate`/`bind`), never `*`.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::crd;
use crate::error::GitopsError;

/// A resource the agent may manage: API group and plural (`apps`, `deployments`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ManagedResource {
    /// API group (`""` for core).
    pub group: String,
    /// Plural resource name.
    pub plural: String,
}

impl std::str::FromStr for ManagedResource {
    type Err = String;
    /// `deployments.apps`, `apps/deployments`, or `configmaps` (core).
    fn from_str(s: &str) -> Result<Self, String> {
        let (group, plural) = if let Some((g, p)) = s.split_once('/') {
            (g, p)
        } else if let Some((p, g)) = s.split_once('.') {
            (g, p)
        } else {
            ("", s)
        };
        if plural.is_empty()
            || !plural
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(format!(
                "{s:?}: give a resource as PLURAL.GROUP (deployments.apps) or PLURAL for the core group"
            ));
        }
        Ok(ManagedResource {
            group: group.to_string(),
            plural: plural.to_string(),
        })
    }
}

/// The plural of a kind (the API server's rule for built-in kinds and the CRD default).
pub fn plural_of(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    match lower.as_str() {
        "endpoints" | "podsecuritypolicies" => lower,
        _ if lower.ends_with('y') && !lower.ends_with("ay") && !lower.ends_with("ey") => {
            format!("{}ies", &lower[..lower.len() - 1])
        }
        _ if lower.ends_with('s') || lower.ends_with('x') || lower.ends_with("ch") => {
            format!("{lower}es")
        }
        _ => format!("{lower}s"),
    }
}

/// The resources most applications deploy (used when none are given).
pub fn default_resources() -> Vec<ManagedResource> {
    [
        "configmaps",
        "secrets",
        "services",
        "serviceaccounts",
        "persistentvolumeclaims",
        "deployments.apps",
        "statefulsets.apps",
        "daemonsets.apps",
        "jobs.batch",
        "cronjobs.batch",
        "ingresses.networking.k8s.io",
        "networkpolicies.networking.k8s.io",
        "horizontalpodautoscalers.autoscaling",
        "poddisruptionbudgets.policy",
    ]
    .iter()
    .filter_map(|s| s.parse().ok())
    .collect()
}

/// Options of the manifest.
#[derive(Debug, Clone)]
pub struct ManifestOptions {
    /// The shipgate image (pin a digest).
    pub image: String,
    /// Namespace of the agent and its state.
    pub namespace: String,
    /// Resources the applications deploy.
    pub resources: Vec<ManagedResource>,
    /// Credential Secrets the agent may read (names in its namespace).
    pub secrets: Vec<String>,
    /// Application files' contents for the ConfigMap (file name, text).
    pub app_files: Vec<(String, String)>,
    /// Whether applications create namespaces.
    pub create_namespaces: bool,
    /// Replicas (2 by default: one leads, one stands by).
    pub replicas: u32,
}

impl ManifestOptions {
    /// Defaults for an image.
    pub fn new(image: &str) -> Self {
        ManifestOptions {
            image: image.into(),
            namespace: crate::history::DEFAULT_STATE_NAMESPACE.into(),
            resources: default_resources(),
            secrets: Vec::new(),
            app_files: Vec::new(),
            create_namespaces: false,
            replicas: 2,
        }
    }
}

const NAME: &str = "shipgate-gitops";

/// Renders the manifests as one multi-document YAML stream.
pub fn render(o: &ManifestOptions) -> Result<String, GitopsError> {
    if o.image.trim().is_empty() {
        return Err(GitopsError::Other("--image is required".into()));
    }
    let labels =
        json!({"app.kubernetes.io/name": NAME, "app.kubernetes.io/component": "gitops-agent"});
    let ns = &o.namespace;
    let mut docs: Vec<Value> = Vec::new();
    let crd_def: Value = serde_saphyr::from_str(&crd::definition())
        .map_err(|e| GitopsError::Other(format!("CRD definition: {e}")))?;
    docs.push(crd_def);
    docs.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}}));
    docs.push(json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": NAME, "namespace": ns, "labels": labels},
        "automountServiceAccountToken": true}));

    // The agent's own needs, in its namespace only.
    let mut own_rules = vec![
        json!({"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]}),
        json!({"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch", "create", "update"]}),
        json!({"apiGroups": [crd::GROUP], "resources": [crd::PLURAL], "verbs": ["get", "list", "watch"]}),
    ];
    if !o.secrets.is_empty() {
        own_rules.push(json!({"apiGroups": [""], "resources": ["secrets"], "resourceNames": o.secrets, "verbs": ["get"]}));
    }
    docs.push(
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": NAME, "namespace": ns, "labels": labels}, "rules": own_rules}),
    );
    docs.push(
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": NAME, "namespace": ns, "labels": labels},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NAME},
        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": ns}]}),
    );

    // What the applications deploy: exactly these resources, these verbs.
    let mut by_group: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
    for r in &o.resources {
        by_group
            .entry(r.group.clone())
            .or_default()
            .insert(r.plural.clone());
    }
    let mut rules: Vec<Value> = by_group
        .into_iter()
        .map(|(g, plurals)| {
            json!({"apiGroups": [g], "resources": plurals.into_iter().collect::<Vec<_>>(),
                "verbs": ["get", "list", "watch", "create", "patch", "delete"]})
        })
        .collect();
    if o.create_namespaces {
        rules.push(json!({"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "create", "patch"]}));
    }
    docs.push(
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": format!("{NAME}-deployer"), "labels": labels}, "rules": rules}),
    );
    docs.push(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": format!("{NAME}-deployer"), "labels": labels},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": format!("{NAME}-deployer")},
        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": ns}]}));

    let mut data = serde_json::Map::new();
    for (name, text) in &o.app_files {
        data.insert(name.clone(), Value::String(text.clone()));
    }
    docs.push(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": format!("{NAME}-apps"), "namespace": ns, "labels": labels}, "data": data}));

    let args = json!([
        "gitops",
        "run",
        "--apps",
        "/etc/shipgate/apps",
        "--state-namespace",
        ns,
        "--crd-namespace",
        ns,
        "--leader-elect",
        "--listen",
        "0.0.0.0:8080",
        "--cache-dir",
        "/var/cache/shipgate"
    ]);
    let container = json!({
        "name": "agent",
        "image": o.image,
        "imagePullPolicy": "IfNotPresent",
        "args": args,
        "env": [
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "SHIPGATE_CACHE_DIR", "value": "/var/cache/shipgate"},
            {"name": "HOME", "value": "/tmp"}
        ],
        "ports": [{"name": "metrics", "containerPort": 8080, "protocol": "TCP"}],
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "metrics"}, "periodSeconds": 10},
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "metrics"}, "periodSeconds": 5},
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "runAsNonRoot": true,
            "runAsUser": 65532, "runAsGroup": 65532, "privileged": false,
            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}
        },
        "volumeMounts": [
            {"name": "apps", "mountPath": "/etc/shipgate/apps", "readOnly": true},
            {"name": "cache", "mountPath": "/var/cache/shipgate"},
            {"name": "tmp", "mountPath": "/tmp"}
        ]
    });
    docs.push(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": NAME, "namespace": ns, "labels": labels},
        "spec": {
            "replicas": o.replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": NAME,
                    "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}, "fsGroup": 65532},
                    "containers": [container],
                    "volumes": [
                        {"name": "apps", "configMap": {"name": format!("{NAME}-apps")}},
                        {"name": "cache", "emptyDir": {"sizeLimit": "2Gi"}},
                        {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}
                    ]
                }
            }
        }}));
    docs.push(
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": NAME, "namespace": ns, "labels": labels},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}}}),
    );
    docs.push(json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": format!("{NAME}-metrics"), "namespace": ns, "labels": labels},
        "spec": {"selector": labels, "ports": [{"name": "metrics", "port": 8080, "targetPort": "metrics", "protocol": "TCP"}]}}));

    let mut out = String::from(
        "# shipgate GitOps agent. Generated by `shipgate gitops manifest`.\n# The ClusterRole lists the resources the applications deploy: keep it to those.\n",
    );
    for d in docs {
        out.push_str("---\n");
        out.push_str(
            &serde_saphyr::to_string(&d)
                .map_err(|e| GitopsError::Other(format!("rendering YAML: {e}")))?,
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals() {
        assert_eq!(plural_of("Deployment"), "deployments");
        assert_eq!(plural_of("NetworkPolicy"), "networkpolicies");
        assert_eq!(plural_of("Ingress"), "ingresses");
        assert_eq!(plural_of("Endpoints"), "endpoints");
        assert_eq!(plural_of("Gateway"), "gateways");
    }

    #[test]
    fn resources_parse() {
        let r: ManagedResource = "deployments.apps".parse().expect("valid");
        assert_eq!(
            (r.group.as_str(), r.plural.as_str()),
            ("apps", "deployments")
        );
        let r: ManagedResource = "configmaps".parse().expect("valid");
        assert_eq!(r.group, "");
        assert!("Deployments".parse::<ManagedResource>().is_err());
    }

    #[test]
    fn renders_least_privilege() {
        let mut o = ManifestOptions::new("registry.example.com/shipgate@sha256:abc");
        o.resources = vec!["configmaps".parse().expect("valid")];
        o.secrets = vec!["repo-creds".into()];
        let y = render(&o).expect("renders");
        let docs: Vec<Value> = serde_saphyr::from_multiple(&y).expect("YAML");
        let cr = docs
            .iter()
            .find(|d| d["kind"] == "ClusterRole")
            .expect("a ClusterRole");
        assert_eq!(cr["rules"].as_array().map(Vec::len), Some(1));
        assert_eq!(cr["rules"][0]["resources"][0], "configmaps");
        assert!(!y.contains("\"*\"") && !y.contains("- '*'") && !y.contains("- \"*\""));
        let role = docs.iter().find(|d| d["kind"] == "Role").expect("a Role");
        assert!(
            role["rules"]
                .as_array()
                .expect("rules")
                .iter()
                .any(|r| r["resourceNames"][0] == "repo-creds")
        );
        assert!(docs.iter().any(|d| d["kind"] == "CustomResourceDefinition"));
    }
}
