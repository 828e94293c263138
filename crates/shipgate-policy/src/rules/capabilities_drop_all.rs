//! `k8s-capabilities-not-dropped`: containers must drop ALL capabilities and may add back only
//! NET_BIND_SERVICE (PSS restricted).

use super::{Example, Hit, Level, Rule, RuleMeta, RuleOptions};
use crate::Severity;
use crate::object::K8sObject;
use crate::podspec::PodSpec;
use serde_json::Value;

pub(crate) static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "k8s-capabilities-not-dropped",
        title: "Capabilities not dropped",
        severity: Severity::Medium,
        level: Level::Restricted,
        remediation: "Set `securityContext.capabilities.drop: [ALL]` and add back only NET_BIND_SERVICE if needed.",
        allowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: app:1\n    securityContext:\n      capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}\n",
            hits: &[],
        }],
        disallowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: app:1\n    securityContext:\n      capabilities:\n        drop: [NET_RAW]\n  - name: b\n    image: app:1\n    securityContext:\n      capabilities:\n        drop: [all]\n        add: [CHOWN]\n",
            hits: &["drop: [NET_RAW]", "add: [CHOWN]"],
        }],
    },
    check,
};

fn check(_: &RuleOptions, obj: &K8sObject, out: &mut Vec<Hit>) {
    let Some(pod) = PodSpec::of(obj) else { return };
    for c in pod.containers() {
        let caps = c.security("capabilities");
        let drops_all = caps
            .and_then(|x| x.get("drop"))
            .and_then(Value::as_array)
            .is_some_and(|d| {
                d.iter()
                    .any(|v| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case("ALL")))
            });
        if !drops_all {
            out.push(Hit {
                path: pod.container_field(&c, &["securityContext", "capabilities", "drop"]),
                message: format!(
                    "{} does not drop ALL capabilities (securityContext.capabilities.drop)",
                    c.describe()
                ),
            });
        }
        let added: Vec<&str> = caps
            .and_then(|x| x.get("add"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|s| s.strip_prefix("CAP_").unwrap_or(s) != "NET_BIND_SERVICE")
            .collect();
        if !added.is_empty() {
            out.push(Hit {
                path: pod.container_field(&c, &["securityContext", "capabilities", "add"]),
                message: format!(
                    "{} adds {} (securityContext.capabilities.add); the restricted profile allows only NET_BIND_SERVICE",
                    c.describe(),
                    added.join(", ")
                ),
            });
        }
    }
}
