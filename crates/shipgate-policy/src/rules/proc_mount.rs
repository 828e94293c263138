//! `k8s-proc-mount`: containers must use the default /proc mount (PSS baseline).

use super::{Example, Hit, Level, Rule, RuleMeta, RuleOptions};
use crate::Severity;
use crate::object::K8sObject;
use crate::podspec::PodSpec;
use serde_json::Value;

pub(crate) static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "k8s-proc-mount",
        title: "Unmasked /proc",
        severity: Severity::High,
        level: Level::Baseline,
        remediation: "Remove `securityContext.procMount` or set it to Default.",
        allowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: app:1\n    securityContext: {procMount: Default}\n",
            hits: &[],
        }],
        disallowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: app:1\n    securityContext:\n      procMount: Unmasked\n",
            hits: &["procMount: Unmasked"],
        }],
    },
    check,
};

fn check(_: &RuleOptions, obj: &K8sObject, out: &mut Vec<Hit>) {
    let Some(pod) = PodSpec::of(obj) else { return };
    for c in pod.containers() {
        if let Some(m) = c.security("procMount").and_then(Value::as_str) {
            if m != "Default" {
                out.push(Hit {
                    path: pod.container_field(&c, &["securityContext", "procMount"]),
                    message: format!("{} sets securityContext.procMount: {m}", c.describe()),
                });
            }
        }
    }
}
