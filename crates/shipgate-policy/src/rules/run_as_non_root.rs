//! `k8s-run-as-non-root`: containers must run with `runAsNonRoot: true` (PSS restricted).

use super::{Example, Hit, Level, Rule, RuleMeta, RuleOptions};
use crate::Severity;
use crate::object::K8sObject;
use crate::podspec::PodSpec;
use serde_json::Value;

pub(crate) static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "k8s-run-as-non-root",
        title: "Container may run as root",
        severity: Severity::Medium,
        level: Level::Restricted,
        remediation: "Set `securityContext.runAsNonRoot: true` on the pod (or on every container) and build the image with a non-root USER.",
        allowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext: {runAsNonRoot: true}\n  containers:\n  - {name: a, image: app:1}\n  - name: b\n    image: app:1\n    securityContext: {runAsNonRoot: true}\n",
            hits: &[],
        }],
        disallowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext:\n    runAsNonRoot: true\n  containers:\n  - name: a\n    image: app:1\n    securityContext:\n      runAsNonRoot: false\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: q}\nspec:\n  containers:\n  - name: b\n    image: app:1\n",
            hits: &["runAsNonRoot: false", "- name: b"],
        }],
    },
    check,
};

fn check(_: &RuleOptions, obj: &K8sObject, out: &mut Vec<Hit>) {
    let Some(pod) = PodSpec::of(obj) else { return };
    let pod_level = pod.security("runAsNonRoot").and_then(Value::as_bool);
    for c in pod.containers() {
        let effective = c
            .security("runAsNonRoot")
            .and_then(Value::as_bool)
            .or(pod_level);
        if effective == Some(true) {
            continue;
        }
        let why = if effective == Some(false) {
            "sets runAsNonRoot: false"
        } else {
            "does not set runAsNonRoot: true (in its own or the pod's securityContext)"
        };
        out.push(Hit {
            path: pod.container_field(&c, &["securityContext", "runAsNonRoot"]),
            message: format!("{} {why}, so it may run as root", c.describe()),
        });
    }
}
