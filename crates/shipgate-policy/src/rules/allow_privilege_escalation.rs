//! `k8s-allow-privilege-escalation`: containers must set `allowPrivilegeEscalation: false`
//! (PSS restricted).

use super::{Example, Hit, Level, Rule, RuleMeta, RuleOptions};
use crate::Severity;
use crate::object::K8sObject;
use crate::podspec::PodSpec;
use serde_json::Value;

pub(crate) static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "k8s-allow-privilege-escalation",
        title: "Privilege escalation allowed",
        severity: Severity::Medium,
        level: Level::Restricted,
        remediation: "Set `securityContext.allowPrivilegeEscalation: false` on every container.",
        allowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: app:1\n    securityContext: {allowPrivilegeEscalation: false}\n",
            hits: &[],
        }],
        disallowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: app:1\n    securityContext:\n      allowPrivilegeEscalation: true\n  - name: b\n    image: app:1\n",
            hits: &["allowPrivilegeEscalation: true", "- name: b"],
        }],
    },
    check,
};

fn check(_: &RuleOptions, obj: &K8sObject, out: &mut Vec<Hit>) {
    let Some(pod) = PodSpec::of(obj) else { return };
    for c in pod.containers() {
        if c.security("allowPrivilegeEscalation") == Some(&Value::Bool(false)) {
            continue;
        }
        let state = if c.security("allowPrivilegeEscalation") == Some(&Value::Bool(true)) {
            "sets allowPrivilegeEscalation: true"
        } else {
            "does not set allowPrivilegeEscalation: false (it defaults to true)"
        };
        out.push(Hit {
            path: pod.container_field(&c, &["securityContext", "allowPrivilegeEscalation"]),
            message: format!(
                "{} {state} (securityContext.allowPrivilegeEscalation)",
                c.describe()
            ),
        });
    }
}
