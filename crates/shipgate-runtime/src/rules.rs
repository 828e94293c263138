//! The rules, in the spirit of Falco's k8s-audit rules (own wording and ids), and the
//! `runtime:` settings that tune them.
//!
//! | id | fires on |
//! |---|---|
//! | `pod-exec` | an authorised `pods/exec` or `pods/attach` request |
//! | `privileged-pod` | a pod created with a privileged container, `hostPID`, `hostNetwork`, `hostIPC` or a `hostPath` volume |
//! | `secret-read` | an authorised get/list/watch of secrets by a user outside the allow-lists |
//! | `rbac-escalation` | a (Cluster)RoleBinding to `cluster-admin`; a (Cluster)Role with `*` verbs or resources, or the `escalate`, `bind` or `impersonate` verbs |
//! | `anonymous-allowed` | a request by `system:anonymous` that was allowed, other than the public health and discovery endpoints |
//!
//! Requests by `trusted_users` (the control plane's own identities by default) never alert,
//! except for `anonymous-allowed`, which is about the anonymous user itself.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use shipgate_report::{Finding, Location, Severity};

use crate::event::Event;
use crate::{RuntimeError, SCANNER};

/// A rule's identity and meaning.
#[derive(Debug, Clone, Copy)]
pub struct RuleInfo {
    /// Stable id (`runtime.disable` names it).
    pub id: &'static str,
    /// Default severity (a rule may raise it for a worse case).
    pub severity: Severity,
    /// One-line title.
    pub title: &'static str,
}

/// Every rule.
pub const RULES: [RuleInfo; 5] = [
    RuleInfo {
        id: "pod-exec",
        severity: Severity::High,
        title: "Interactive command in a running pod (exec/attach)",
    },
    RuleInfo {
        id: "privileged-pod",
        severity: Severity::High,
        title: "Pod created with privileges or host namespaces",
    },
    RuleInfo {
        id: "secret-read",
        severity: Severity::Medium,
        title: "Secret read by a user outside the allow-list",
    },
    RuleInfo {
        id: "rbac-escalation",
        severity: Severity::High,
        title: "RBAC change that grants escalated privileges",
    },
    RuleInfo {
        id: "anonymous-allowed",
        severity: Severity::High,
        title: "Anonymous request allowed",
    },
];

pub(crate) fn known_ids() -> String {
    RULES.iter().map(|r| r.id).collect::<Vec<_>>().join(", ")
}

/// `runtime:` in `shipgate.yaml`. A list that is set replaces its default.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeSettings {
    /// Users whose requests never alert (exact names, or a prefix ending in `*`). Default:
    /// the control plane's own identities.
    pub trusted_users: Vec<String>,
    /// Users allowed to read secrets, in addition to `trusted_users`. Default: service
    /// accounts of `kube-system` and nodes.
    pub secret_readers: Vec<String>,
    /// Rule ids to switch off.
    pub disable: Vec<String>,
}

impl Default for RuntimeSettings {
    fn default() -> Self {
        RuntimeSettings {
            trusted_users: [
                "system:apiserver",
                "system:kube-controller-manager",
                "system:kube-scheduler",
            ]
            .map(String::from)
            .to_vec(),
            secret_readers: ["system:serviceaccount:kube-system:*", "system:node:*"]
                .map(String::from)
                .to_vec(),
            disable: Vec::new(),
        }
    }
}

/// One alert: which rule, about which request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// Rule id.
    pub rule_id: String,
    /// Severity.
    pub severity: Severity,
    /// Rule title.
    pub title: String,
    /// What happened, in a sentence.
    pub message: String,
    /// The user the request acted as (the impersonated user when impersonating).
    pub user: String,
    /// The authenticated user, when the request impersonated `user`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impersonated_by: Option<String>,
    /// Kubernetes verb.
    pub verb: String,
    /// Resource, with `/subresource` (or the request path for non-resource requests).
    pub resource: String,
    /// Namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Object name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The request's audit ID.
    pub audit_id: String,
    /// The event's timestamp.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// HTTP status code of the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_code: Option<u16>,
    /// Client addresses.
    pub source_ips: Vec<String>,
    /// The client's user agent.
    pub user_agent: String,
    /// The audit log the event came from.
    pub file: String,
    /// Its line in that file.
    pub line: u64,
}

impl Alert {
    /// The alert as a report finding (`scanner: "runtime"`): located at the log file and
    /// line, object `namespace/resource/name`, fingerprint from rule and audit ID, and every
    /// alert field in `properties`.
    pub fn to_finding(&self) -> Finding {
        let object = [
            self.namespace.as_deref().unwrap_or(""),
            &self.resource,
            self.name.as_deref().unwrap_or(""),
        ]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("/");
        let mut location = Location::file(self.file.clone())
            .with_line(u32::try_from(self.line).unwrap_or(u32::MAX));
        location.object = Some(object);
        let fp = Finding::fingerprint_of(&[SCANNER, &self.rule_id, &self.audit_id]);
        let mut f = Finding::with_fingerprint(
            fp,
            SCANNER,
            &self.rule_id,
            self.severity,
            self.title.clone(),
            self.message.clone(),
            location,
        );
        if let Ok(Value::Object(map)) = serde_json::to_value(self) {
            f.properties = map;
        }
        f
    }
}

fn matches_user(patterns: &[String], user: &str) -> bool {
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => user.starts_with(prefix),
        None => p == user,
    })
}

/// The compiled rule set.
#[derive(Debug, Clone)]
pub struct Rules {
    settings: RuntimeSettings,
}

struct Hit {
    rule: &'static RuleInfo,
    severity: Severity,
    message: String,
}

impl Rules {
    /// Rules with these settings; an unknown id in `disable` is an error.
    pub fn new(settings: &RuntimeSettings) -> Result<Rules, RuntimeError> {
        if let Some(bad) = settings
            .disable
            .iter()
            .find(|d| !RULES.iter().any(|r| r.id == d.as_str()))
        {
            return Err(RuntimeError::UnknownRule(bad.clone()));
        }
        Ok(Rules {
            settings: settings.clone(),
        })
    }

    fn enabled(&self, id: &str) -> bool {
        !self.settings.disable.iter().any(|d| d == id)
    }

    /// Evaluate every enabled rule on one event. `RequestReceived` stages are skipped (the
    /// same request is seen again when it completes). `file` and `line` locate the alerts.
    pub fn evaluate(&self, ev: &Event, file: &str, line: u64) -> Vec<Alert> {
        if ev.stage == "RequestReceived" || (!ev.kind.is_empty() && ev.kind != "Event") {
            return Vec::new();
        }
        let user = ev.effective_user();
        // Impersonating a trusted user does not make a request trusted.
        let trusted = matches_user(&self.settings.trusted_users, user)
            && ev
                .impersonator()
                .is_none_or(|u| matches_user(&self.settings.trusted_users, u));
        let mut hits = Vec::new();
        if !trusted {
            hits.extend(pod_exec(ev));
            hits.extend(privileged_pod(ev));
            if !matches_user(&self.settings.secret_readers, user) {
                hits.extend(secret_read(ev));
            }
            hits.extend(rbac_escalation(ev));
        }
        hits.extend(anonymous_allowed(ev));
        hits.into_iter()
            .filter(|h| self.enabled(h.rule.id))
            .map(|h| alert(ev, h, file, line))
            .collect()
    }
}

fn alert(ev: &Event, h: Hit, file: &str, line: u64) -> Alert {
    let obj = ev.object_ref.as_ref();
    let resource = if obj.is_some() {
        ev.resource()
    } else {
        path_of(&ev.request_uri).to_string()
    };
    Alert {
        rule_id: h.rule.id.to_string(),
        severity: h.severity,
        title: h.rule.title.to_string(),
        message: h.message,
        user: ev.effective_user().to_string(),
        impersonated_by: ev.impersonator().map(str::to_string),
        verb: ev.verb.clone(),
        resource,
        namespace: obj.and_then(|o| o.namespace.clone()),
        name: obj.and_then(|o| o.name.clone()),
        audit_id: ev.audit_id.clone(),
        timestamp: ev.timestamp().map(str::to_string),
        response_code: ev.code(),
        source_ips: ev.source_ips.clone(),
        user_agent: ev.user_agent.clone(),
        file: file.to_string(),
        line,
    }
}

fn rule(id: &str) -> &'static RuleInfo {
    RULES.iter().find(|r| r.id == id).unwrap_or(&RULES[0])
}

fn path_of(uri: &str) -> &str {
    uri.split('?').next().unwrap_or(uri)
}

fn target(ev: &Event) -> String {
    let o = ev.object_ref.as_ref();
    let ns = o.and_then(|o| o.namespace.as_deref());
    let name = o.and_then(|o| o.name.as_deref()).unwrap_or("*");
    match ns {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    }
}

/// Percent-decode a query value (`+` is a space); invalid escapes are kept as written.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(s.get(i + 1..i + 3).unwrap_or(""), 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn pod_exec(ev: &Event) -> Option<Hit> {
    let o = ev.object_ref.as_ref()?;
    let sub = o.subresource.as_deref()?;
    if o.resource != "pods" || !matches!(sub, "exec" | "attach") {
        return None;
    }
    // POST (`create`) for SPDY, GET (`get`) for WebSocket upgrades.
    if !matches!(ev.verb.as_str(), "create" | "get") || !ev.authorized() {
        return None;
    }
    let query = ev.request_uri.split_once('?').map(|(_, q)| q).unwrap_or("");
    let command: Vec<String> = query
        .split('&')
        .filter_map(|kv| kv.strip_prefix("command="))
        .map(decode)
        .collect();
    let container = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("container="))
        .map(decode);
    let mut message = format!("{} {sub} into pod {}", ev.effective_user(), target(ev));
    if let Some(c) = container {
        message.push_str(&format!(" (container {c})"));
    }
    if !command.is_empty() {
        message.push_str(&format!(": {}", command.join(" ")));
    }
    if let Some(code) = ev.code().filter(|c| *c >= 400) {
        message.push_str(&format!(
            " [authorised; the request then failed with {code}]"
        ));
    }
    Some(Hit {
        rule: rule("pod-exec"),
        severity: Severity::High,
        message,
    })
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn privileged_pod(ev: &Event) -> Option<Hit> {
    let o = ev.object_ref.as_ref()?;
    let sub = o.subresource.as_deref().unwrap_or("");
    if o.resource != "pods" || !(sub.is_empty() || sub == "ephemeralcontainers") {
        return None;
    }
    if !matches!(ev.verb.as_str(), "create" | "update" | "patch") || !ev.succeeded() {
        return None;
    }
    let spec = ev.request_object.as_ref()?.get("spec")?;
    let mut reasons = Vec::new();
    for key in ["hostPID", "hostNetwork", "hostIPC"] {
        if flag(spec, key) {
            reasons.push(key.to_string());
        }
    }
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for c in spec
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let sc = c.get("securityContext");
            if sc.is_some_and(|sc| flag(sc, "privileged")) {
                let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
                reasons.push(format!("privileged container {name}"));
            }
        }
    }
    for v in spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(hp) = v.get("hostPath") {
            let name = v.get("name").and_then(Value::as_str).unwrap_or("?");
            let path = hp.get("path").and_then(Value::as_str).unwrap_or("?");
            reasons.push(format!("hostPath volume {name} ({path})"));
        }
    }
    if reasons.is_empty() {
        return None;
    }
    let name = ev
        .request_object
        .as_ref()
        .and_then(|r| r.pointer("/metadata/name"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let ns = o.namespace.as_deref().unwrap_or("");
    let pod = name
        .or_else(|| o.name.clone())
        .unwrap_or_else(|| "?".into());
    Some(Hit {
        rule: rule("privileged-pod"),
        severity: Severity::High,
        message: format!(
            "{} created pod {ns}/{pod} with {}",
            ev.effective_user(),
            reasons.join(", ")
        ),
    })
}

fn secret_read(ev: &Event) -> Option<Hit> {
    let o = ev.object_ref.as_ref()?;
    if o.resource != "secrets"
        || o.subresource.as_deref().is_some_and(|s| !s.is_empty())
        || o.api_group.as_deref().is_some_and(|g| !g.is_empty())
        || !matches!(ev.verb.as_str(), "get" | "list" | "watch")
        || !ev.authorized()
    {
        return None;
    }
    let what = match (&o.name, &o.namespace) {
        (Some(n), Some(ns)) => format!("secret {ns}/{n}"),
        (Some(n), None) => format!("secret {n}"),
        (None, Some(ns)) => format!("every secret of namespace {ns}"),
        (None, None) => "the secrets of every namespace".to_string(),
    };
    Some(Hit {
        rule: rule("secret-read"),
        severity: Severity::Medium,
        message: format!("{} ({}) read {what}", ev.effective_user(), ev.verb),
    })
}

fn strings<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a str> {
    v.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

fn rbac_escalation(ev: &Event) -> Option<Hit> {
    let o = ev.object_ref.as_ref()?;
    if ev.api_group() != "rbac.authorization.k8s.io"
        || o.subresource.as_deref().is_some_and(|s| !s.is_empty())
        || !matches!(ev.verb.as_str(), "create" | "update" | "patch")
        || !ev.succeeded()
    {
        return None;
    }
    let body = ev.request_object.as_ref()?;
    let user = ev.effective_user();
    let name = body
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| o.name.clone())
        .unwrap_or_else(|| "?".into());
    let kind = match o.resource.as_str() {
        "clusterrolebindings" => "ClusterRoleBinding",
        "rolebindings" => "RoleBinding",
        "clusterroles" => "ClusterRole",
        "roles" => "Role",
        _ => return None,
    };
    if kind.ends_with("Binding") {
        let role = body.pointer("/roleRef/name").and_then(Value::as_str)?;
        if role != "cluster-admin" {
            return None;
        }
        let subjects: Vec<String> = body
            .get("subjects")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|s| {
                let k = s.get("kind").and_then(Value::as_str).unwrap_or("?");
                let n = s.get("name").and_then(Value::as_str).unwrap_or("?");
                format!("{k} {n}")
            })
            .collect();
        return Some(Hit {
            rule: rule("rbac-escalation"),
            severity: Severity::Critical,
            message: format!(
                "{user} bound cluster-admin to {} with {kind} {name}",
                if subjects.is_empty() {
                    "nobody yet".to_string()
                } else {
                    subjects.join(", ")
                }
            ),
        });
    }
    let mut grants = Vec::new();
    for r in body
        .get("rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if strings(r, "verbs").any(|v| v == "*") {
            grants.push("all verbs (*)".to_string());
        }
        if strings(r, "resources").any(|v| v == "*") {
            grants.push("all resources (*)".to_string());
        }
        for v in strings(r, "verbs") {
            if matches!(v, "escalate" | "bind" | "impersonate") {
                grants.push(format!("the {v} verb"));
            }
        }
    }
    grants.sort();
    grants.dedup();
    if grants.is_empty() {
        return None;
    }
    Some(Hit {
        rule: rule("rbac-escalation"),
        severity: Severity::High,
        message: format!("{user} wrote {kind} {name} granting {}", grants.join(", ")),
    })
}

const PUBLIC_PATHS: [&str; 6] = [
    "/healthz",
    "/livez",
    "/readyz",
    "/version",
    "/.well-known/openid-configuration",
    "/openid/v1/jwks",
];

fn anonymous_allowed(ev: &Event) -> Option<Hit> {
    if ev.effective_user() != "system:anonymous" || !ev.authorized() {
        return None;
    }
    let path = path_of(&ev.request_uri);
    if ev.object_ref.is_none()
        && PUBLIC_PATHS
            .iter()
            .any(|p| path == *p || path.strip_prefix(p).is_some_and(|r| r.starts_with('/')))
    {
        return None;
    }
    Some(Hit {
        rule: rule("anonymous-allowed"),
        severity: Severity::High,
        message: format!("an unauthenticated request was allowed: {} {path}", ev.verb),
    })
}
