//! `k8s-resource-limits-missing`: every container and init container sets cpu and memory limits.

use super::{Example, Hit, Level, Rule, RuleMeta, RuleOptions};
use crate::Severity;
use crate::object::K8sObject;
use crate::podspec::{ContainerList, PodSpec};

pub(crate) static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "k8s-resource-limits-missing",
        title: "Missing CPU or memory limits",
        severity: Severity::Medium,
        level: Level::Recommended,
        remediation: "Set `resources.limits.cpu` and `resources.limits.memory` on every container so one workload cannot starve the node.",
        allowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: nginx:1\n    resources:\n      limits: {cpu: 100m, memory: 64Mi}\n",
            hits: &[],
        }],
        disallowed: &[Example {
            yaml: "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: s}\nspec:\n  template:\n    spec:\n      initContainers:\n      - name: init\n        image: busybox:1\n      containers:\n      - name: a\n        image: nginx:1\n        resources:\n          limits:\n            cpu: 100m\n",
            hits: &["- name: init", "limits:"],
        }],
    },
    check,
};

fn check(_: &RuleOptions, obj: &K8sObject, out: &mut Vec<Hit>) {
    let Some(pod) = PodSpec::of(obj) else { return };
    for c in pod.containers_in(&[ContainerList::Containers, ContainerList::InitContainers]) {
        let limits = c.get("resources").and_then(|r| r.get("limits"));
        let missing: Vec<&str> = ["cpu", "memory"]
            .into_iter()
            .filter(|k| {
                limits
                    .and_then(|l| l.get(*k))
                    .is_none_or(serde_json::Value::is_null)
            })
            .collect();
        if missing.is_empty() {
            continue;
        }
        out.push(Hit {
            path: pod.container_field(&c, &["resources", "limits"]),
            message: format!(
                "{} has no {} limit (resources.limits.{})",
                c.describe(),
                missing.join(" or "),
                missing.join(", resources.limits.")
            ),
        });
    }
}
