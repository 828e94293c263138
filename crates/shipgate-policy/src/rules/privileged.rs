//! `k8s-privileged-container`: containers must not run privileged (PSS baseline).

use super::{Example, Hit, Level, Rule, RuleMeta, RuleOptions};
use crate::Severity;
use crate::object::K8sObject;
use crate::podspec::PodSpec;
use serde_json::Value;

pub(crate) static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "k8s-privileged-container",
        title: "Privileged container",
        severity: Severity::High,
        level: Level::Baseline,
        remediation: "Remove `securityContext.privileged: true`; grant only the capabilities the container needs.",
        allowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: app\n    image: nginx:1.25\n    securityContext:\n      privileged: false\n",
            hits: &[],
        }],
        disallowed: &[Example {
            yaml: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      initContainers:\n      - name: init\n        image: busybox:1\n        securityContext:\n          privileged: true\n      containers:\n      - name: app\n        image: nginx:1.25\n        securityContext: {privileged: true}\n",
            hits: &["          privileged: true", "{privileged: true}"],
        }],
    },
    check,
};

fn check(_: &RuleOptions, obj: &K8sObject, out: &mut Vec<Hit>) {
    let Some(pod) = PodSpec::of(obj) else { return };
    for c in pod.containers() {
        if c.security("privileged") == Some(&Value::Bool(true)) {
            out.push(Hit {
                path: pod.container_field(&c, &["securityContext", "privileged"]),
                message: format!(
                    "{} runs privileged (securityContext.privileged: true), with full access to the host",
                    c.describe()
                ),
            });
        }
    }
}
