//! `k8s-automount-service-account-token`: pods should not mount a service account token unless
//! they call the API.

use super::{Example, Hit, Level, Rule, RuleMeta, RuleOptions};
use crate::Severity;
use crate::object::K8sObject;
use crate::podspec::PodSpec;
use serde_json::Value;

pub(crate) static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "k8s-automount-service-account-token",
        title: "Service account token mounted",
        severity: Severity::Low,
        level: Level::Recommended,
        remediation: "Set `automountServiceAccountToken: false` in the pod spec unless the workload talks to the Kubernetes API.",
        allowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  automountServiceAccountToken: false\n  containers:\n  - {name: a, image: app:1}\n",
            hits: &[],
        }],
        disallowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  automountServiceAccountToken: true\n  containers:\n  - {name: a, image: app:1}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers:\n      - {name: a, image: app:1}\n",
            hits: &["automountServiceAccountToken: true", "    spec:"],
        }],
    },
    check,
};

fn check(_: &RuleOptions, obj: &K8sObject, out: &mut Vec<Hit>) {
    let Some(pod) = PodSpec::of(obj) else { return };
    if pod.get("automountServiceAccountToken") == Some(&Value::Bool(false)) {
        return;
    }
    let why = if pod.get("automountServiceAccountToken") == Some(&Value::Bool(true)) {
        "sets automountServiceAccountToken: true"
    } else {
        "does not set automountServiceAccountToken: false, so the token is mounted by default"
    };
    out.push(Hit {
        path: pod.field(&["automountServiceAccountToken"]),
        message: format!("pod {why}"),
    });
}
