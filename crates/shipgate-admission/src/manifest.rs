//! `shipgate admission manifest`: the ValidatingWebhookConfiguration (and, in service mode,
//! everything needed to run the webhook in the cluster) as multi-document YAML.

use base64::Engine as _;
use serde_json::{Value, json};

/// How the API server reaches the webhook.
#[derive(Clone, Debug)]
pub enum ClientMode {
    /// Out of cluster: `clientConfig.url` (must be https).
    Url(String),
    /// In cluster: a Deployment (2 replicas) behind a Service, plus RBAC and a PDB.
    Service {
        /// Container image, e.g. `registry.example/shipgate:0.1.0` (pin a digest in production).
        image: String,
        /// Secret (type kubernetes.io/tls) holding the serving certificate.
        tls_secret: String,
        /// ConfigMap holding the policy files.
        policy_configmap: String,
    },
}

/// Options for [`render`].
#[derive(Clone, Debug)]
pub struct ManifestOptions {
    /// Base name for every object (default `shipgate-admission`).
    pub name: String,
    /// Namespace the webhook runs in (default `shipgate-system`); always exempt.
    pub namespace: String,
    /// Webhook name: a DNS name with at least three segments (default `validate.shipgate.dev`).
    pub webhook_name: String,
    /// PEM of the CA that signed the serving certificate (becomes `caBundle`).
    pub ca_bundle_pem: String,
    /// URL or Service mode.
    pub mode: ClientMode,
    /// `Fail` (fail closed) or `Ignore` (fail open) when the webhook cannot be reached.
    pub failure_policy: String,
    /// Seconds the API server waits (1-30, default 5).
    pub timeout_seconds: u8,
    /// Namespaces never sent to the webhook (the webhook's own namespace is always added).
    pub exempt_namespaces: Vec<String>,
    /// Operations to validate (default CREATE, UPDATE).
    pub operations: Vec<String>,
}

impl ManifestOptions {
    /// Defaults for the given CA and mode.
    pub fn new(ca_bundle_pem: impl Into<String>, mode: ClientMode) -> Self {
        Self {
            name: "shipgate-admission".into(),
            namespace: "shipgate-system".into(),
            webhook_name: "validate.shipgate.dev".into(),
            ca_bundle_pem: ca_bundle_pem.into(),
            mode,
            failure_policy: "Fail".into(),
            timeout_seconds: 5,
            exempt_namespaces: vec!["kube-system".into(), "kube-node-lease".into()],
            operations: vec!["CREATE".into(), "UPDATE".into()],
        }
    }
}

/// Options that cannot produce a valid configuration.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    /// See message.
    #[error(
        "webhook name {0:?} must be a DNS name with at least three dot-separated segments (e.g. validate.shipgate.dev)"
    )]
    WebhookName(String),
    /// See message.
    #[error("timeoutSeconds must be between 1 and 30, got {0}")]
    Timeout(u8),
    /// See message.
    #[error("failurePolicy must be Fail or Ignore, got {0:?}")]
    FailurePolicy(String),
    /// See message.
    #[error(
        "webhook url must start with https:// and carry no user info, query or fragment: {0:?}"
    )]
    Url(String),
    /// See message.
    #[error("the CA bundle contains no PEM CERTIFICATE block")]
    CaBundle,
}

/// Label the API server puts on every namespace (Kubernetes >= 1.22).
const NS_NAME_LABEL: &str = "kubernetes.io/metadata.name";
/// A namespace labelled `shipgate.dev/admission: disabled` is not sent to the webhook.
pub const NAMESPACE_OPT_OUT_LABEL: &str = "shipgate.dev/admission";

/// The ValidatingWebhookConfiguration object as JSON.
pub fn webhook_configuration(o: &ManifestOptions) -> Result<Value, ManifestError> {
    let labels = o.webhook_name.split('.').filter(|s| !s.is_empty()).count();
    if labels < 3
        || !o
            .webhook_name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
    {
        return Err(ManifestError::WebhookName(o.webhook_name.clone()));
    }
    if !(1..=30).contains(&o.timeout_seconds) {
        return Err(ManifestError::Timeout(o.timeout_seconds));
    }
    if o.failure_policy != "Fail" && o.failure_policy != "Ignore" {
        return Err(ManifestError::FailurePolicy(o.failure_policy.clone()));
    }
    if !o.ca_bundle_pem.contains("-----BEGIN CERTIFICATE-----") {
        return Err(ManifestError::CaBundle);
    }
    let client_config = match &o.mode {
        ClientMode::Url(url) => {
            let rest = url
                .strip_prefix("https://")
                .ok_or_else(|| ManifestError::Url(url.clone()))?;
            let host = rest.split('/').next().unwrap_or_default();
            if host.is_empty() || host.contains('@') || url.contains('?') || url.contains('#') {
                return Err(ManifestError::Url(url.clone()));
            }
            json!({"url": url})
        }
        ClientMode::Service { .. } => json!({"service": {
            "name": o.name, "namespace": o.namespace, "path": "/validate", "port": 443
        }}),
    };
    let mut client_config = client_config;
    client_config["caBundle"] =
        json!(base64::engine::general_purpose::STANDARD.encode(o.ca_bundle_pem.as_bytes()));
    let mut exempt: Vec<String> = o.exempt_namespaces.clone();
    if !exempt.contains(&o.namespace) {
        exempt.push(o.namespace.clone());
    }
    exempt.sort();
    exempt.dedup();
    Ok(json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": o.name, "labels": {"app.kubernetes.io/name": o.name}},
        "webhooks": [{
            "name": o.webhook_name,
            "admissionReviewVersions": ["v1"],
            "sideEffects": "None",
            "failurePolicy": o.failure_policy,
            "matchPolicy": "Equivalent",
            "timeoutSeconds": o.timeout_seconds,
            "clientConfig": client_config,
            "rules": [{
                "apiGroups": ["*"], "apiVersions": ["*"],
                "operations": o.operations,
                "resources": ["*"], "scope": "*"
            }],
            // Never block the control plane or the webhook's own namespace: a webhook that
            // must be running to admit its own pods can never recover (deadlock).
            "namespaceSelector": {"matchExpressions": [
                {"key": NS_NAME_LABEL, "operator": "NotIn", "values": exempt},
                {"key": NAMESPACE_OPT_OUT_LABEL, "operator": "NotIn", "values": ["disabled"]}
            ]},
        }]
    }))
}

fn in_cluster_objects(
    o: &ManifestOptions,
    image: &str,
    tls_secret: &str,
    policies: &str,
) -> Vec<Value> {
    let app = json!({"app.kubernetes.io/name": o.name});
    let mut exempt = o.exempt_namespaces.clone();
    if !exempt.contains(&o.namespace) {
        exempt.push(o.namespace.clone());
    }
    let mut args = vec![
        "admission".to_string(),
        "serve".into(),
        "--listen".into(),
        "0.0.0.0:8443".into(),
        "--tls-cert".into(),
        "/tls/tls.crt".into(),
        "--tls-key".into(),
        "/tls/tls.key".into(),
        "--policy".into(),
        "/policies".into(),
    ];
    for ns in &exempt {
        args.push("--exempt-namespace".into());
        args.push(ns.clone());
    }
    let probe = |path: &str| json!({"httpGet": {"path": path, "port": 8443, "scheme": "HTTPS"}, "periodSeconds": 5});
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": o.namespace,
            "labels": {NAMESPACE_OPT_OUT_LABEL: "disabled",
                       "pod-security.kubernetes.io/enforce": "restricted"}}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": o.name, "namespace": o.namespace, "labels": app},
            "automountServiceAccountToken": true}),
        // Read-only access for `shipgate admission audit` run in-cluster; the built-in `view`
        // role excludes Secrets. The webhook itself needs no API access.
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": format!("{}-view", o.name), "labels": app},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "ServiceAccount", "name": o.name, "namespace": o.namespace}]}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": o.name, "namespace": o.namespace, "labels": app},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": app},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {"labels": app},
                "spec": {
                    "serviceAccountName": o.name,
                    "terminationGracePeriodSeconds": 30,
                    "priorityClassName": "system-cluster-critical",
                    "securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532,
                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                        "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": app}}],
                    "containers": [{
                        "name": "webhook",
                        "image": image,
                        "args": args,
                        "ports": [{"name": "https", "containerPort": 8443}],
                        "readinessProbe": probe("/readyz"),
                        "livenessProbe": probe("/healthz"),
                        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                                      "limits": {"memory": "256Mi"}},
                        "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
                            "capabilities": {"drop": ["ALL"]}},
                        "volumeMounts": [
                            {"name": "tls", "mountPath": "/tls", "readOnly": true},
                            {"name": "policies", "mountPath": "/policies", "readOnly": true}
                        ]
                    }],
                    "volumes": [
                        {"name": "tls", "secret": {"secretName": tls_secret}},
                        {"name": "policies", "configMap": {"name": policies}}
                    ]
                }
            }
        }}),
        json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": o.name, "namespace": o.namespace, "labels": app},
            "spec": {"selector": app, "ports": [{"name": "https", "port": 443, "targetPort": 8443}]}}),
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": o.name, "namespace": o.namespace, "labels": app},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": app}}}),
    ]
}

/// Renders the manifest: in URL mode only the ValidatingWebhookConfiguration; in Service mode
/// Namespace, ServiceAccount, RBAC, Deployment (2 replicas), Service, PodDisruptionBudget and
/// the configuration, in apply order.
pub fn render(o: &ManifestOptions) -> Result<String, ManifestError> {
    let vwc = webhook_configuration(o)?;
    let mut docs = match &o.mode {
        ClientMode::Url(_) => Vec::new(),
        ClientMode::Service {
            image,
            tls_secret,
            policy_configmap,
        } => in_cluster_objects(o, image, tls_secret, policy_configmap),
    };
    docs.push(vwc);
    let mut out = String::new();
    for d in &docs {
        out.push_str("---\n");
        write_yaml(&mut out, d, 0);
    }
    Ok(out)
}

fn plain_key(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '-' | '_'))
}

fn scalar(v: &Value) -> String {
    // JSON scalars are valid YAML flow scalars; strings stay double-quoted so that values
    // like "on", "0755" or "*" keep their meaning.
    serde_json::to_string(v).unwrap_or_default()
}

fn key(k: &str) -> String {
    if plain_key(k) {
        k.to_owned()
    } else {
        scalar(&Value::String(k.to_owned()))
    }
}

/// A minimal block-style YAML writer for JSON values.
fn write_yaml(out: &mut String, v: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) => {
            for (k, val) in m {
                match val {
                    Value::Object(inner) if !inner.is_empty() => {
                        out.push_str(&format!("{pad}{}:\n", key(k)));
                        write_yaml(out, val, indent + 2);
                    }
                    Value::Array(items) if !items.is_empty() => {
                        out.push_str(&format!("{pad}{}:\n", key(k)));
                        write_yaml(out, val, indent);
                    }
                    Value::Object(_) => out.push_str(&format!("{pad}{}: {{}}\n", key(k))),
                    Value::Array(_) => out.push_str(&format!("{pad}{}: []\n", key(k))),
                    _ => out.push_str(&format!("{pad}{}: {}\n", key(k), scalar(val))),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(m) if !m.is_empty() => {
                        let mut sub = String::new();
                        write_yaml(&mut sub, item, indent + 2);
                        // "- " replaces the first line's indentation.
                        let sub = sub.get(indent + 2..).unwrap_or_default();
                        out.push_str(&format!("{pad}- {sub}"));
                    }
                    Value::Array(a) if !a.is_empty() => {
                        out.push_str(&format!("{pad}-\n"));
                        write_yaml(out, item, indent + 2);
                    }
                    _ => out.push_str(&format!("{pad}- {}\n", scalar(item))),
                }
            }
        }
        _ => out.push_str(&format!("{pad}{}\n", scalar(v))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

    #[test]
    fn url_mode_round_trips_as_yaml() {
        let o = ManifestOptions::new(
            PEM,
            ClientMode::Url("https://127.0.0.1:8443/validate".into()),
        );
        let yaml = render(&o).unwrap();
        let docs: Vec<Value> = serde_saphyr::from_multiple(&yaml).unwrap();
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0], webhook_configuration(&o).unwrap());
        let wh = &docs[0]["webhooks"][0];
        assert_eq!(wh["clientConfig"]["url"], "https://127.0.0.1:8443/validate");
        let ca = base64::engine::general_purpose::STANDARD
            .decode(wh["clientConfig"]["caBundle"].as_str().unwrap())
            .unwrap();
        assert_eq!(ca, PEM.as_bytes());
        let exempt = &wh["namespaceSelector"]["matchExpressions"][0]["values"];
        assert_eq!(
            exempt,
            &json!(["kube-node-lease", "kube-system", "shipgate-system"])
        );
    }

    #[test]
    fn service_mode_has_the_in_cluster_objects() {
        let o = ManifestOptions::new(
            PEM,
            ClientMode::Service {
                image: "example/shipgate:1".into(),
                tls_secret: "shipgate-tls".into(),
                policy_configmap: "shipgate-policies".into(),
            },
        );
        let docs: Vec<Value> = serde_saphyr::from_multiple(&render(&o).unwrap()).unwrap();
        let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "Namespace",
                "ServiceAccount",
                "ClusterRoleBinding",
                "Deployment",
                "Service",
                "PodDisruptionBudget",
                "ValidatingWebhookConfiguration"
            ]
        );
        assert_eq!(docs[3]["spec"]["replicas"], 2);
        assert_eq!(
            docs[6]["webhooks"][0]["clientConfig"]["service"]["namespace"],
            "shipgate-system"
        );
        assert_eq!(
            docs[0]["metadata"]["labels"][NAMESPACE_OPT_OUT_LABEL],
            "disabled"
        );
    }

    #[test]
    fn invalid_options_are_refused() {
        let mut o = ManifestOptions::new(PEM, ClientMode::Url("https://h/validate".into()));
        o.webhook_name = "shipgate.dev".into();
        assert!(matches!(render(&o), Err(ManifestError::WebhookName(_))));
        o.webhook_name = "a.b.c".into();
        o.timeout_seconds = 31;
        assert_eq!(render(&o), Err(ManifestError::Timeout(31)));
        o.timeout_seconds = 5;
        o.mode = ClientMode::Url("http://h/validate".into());
        assert!(matches!(render(&o), Err(ManifestError::Url(_))));
        o.mode = ClientMode::Url("https://h/validate".into());
        o.ca_bundle_pem = "nope".into();
        assert_eq!(render(&o), Err(ManifestError::CaBundle));
    }
}
