//! `k8s-run-as-user-root`: `runAsUser` must not be 0 (PSS restricted).

use super::{Example, Hit, Level, Rule, RuleMeta, RuleOptions};
use crate::Severity;
use crate::object::K8sObject;
use crate::podspec::PodSpec;
use serde_json::Value;

pub(crate) static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "k8s-run-as-user-root",
        title: "Runs as user 0 (root)",
        severity: Severity::High,
        level: Level::Restricted,
        remediation: "Set `runAsUser` to a non-zero UID (or remove it and use a non-root image USER).",
        allowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext: {runAsUser: 1000}\n  containers:\n  - {name: a, image: app:1}\n",
            hits: &[],
        }],
        disallowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext:\n    runAsUser: 0\n  containers:\n  - name: a\n    image: app:1\n    securityContext: {runAsUser: 0}\n",
            hits: &["runAsUser: 0", "securityContext: {runAsUser: 0}"],
        }],
    },
    check,
};

fn check(_: &RuleOptions, obj: &K8sObject, out: &mut Vec<Hit>) {
    let Some(pod) = PodSpec::of(obj) else { return };
    if pod.security("runAsUser").and_then(Value::as_i64) == Some(0) {
        out.push(Hit {
            path: pod.field(&["securityContext", "runAsUser"]),
            message: "pod sets securityContext.runAsUser: 0 (root)".to_string(),
        });
    }
    for c in pod.containers() {
        if c.security("runAsUser").and_then(Value::as_i64) == Some(0) {
            out.push(Hit {
                path: pod.container_field(&c, &["securityContext", "runAsUser"]),
                message: format!("{} sets securityContext.runAsUser: 0 (root)", c.describe()),
            });
        }
    }
}
