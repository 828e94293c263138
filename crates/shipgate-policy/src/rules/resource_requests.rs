//! `k8s-resource-requests-missing`: every container and init container sets cpu and memory requests.

use super::{Example, Hit, Level, Rule, RuleMeta, RuleOptions};
use crate::Severity;
use crate::object::K8sObject;
use crate::podspec::{ContainerList, PodSpec};

pub(crate) static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "k8s-resource-requests-missing",
        title: "Missing CPU or memory requests",
        severity: Severity::Low,
        level: Level::Recommended,
        remediation: "Set `resources.requests.cpu` and `resources.requests.memory` so the scheduler can place the pod sensibly.",
        allowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: nginx:1\n    resources:\n      requests: {cpu: 100m, memory: 64Mi}\n",
            hits: &[],
        }],
        disallowed: &[Example {
            yaml: "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: s}\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        image: nginx:1\n        resources:\n          requests:\n            memory: 10Mi\n",
            hits: &["requests:"],
        }],
    },
    check,
};

fn check(_: &RuleOptions, obj: &K8sObject, out: &mut Vec<Hit>) {
    let Some(pod) = PodSpec::of(obj) else { return };
    for c in pod.containers_in(&[ContainerList::Containers, ContainerList::InitContainers]) {
        let req = c.get("resources").and_then(|r| r.get("requests"));
        // Kubernetes defaults requests to limits when only limits are set.
        let lim = c.get("resources").and_then(|r| r.get("limits"));
        let missing: Vec<&str> = ["cpu", "memory"]
            .into_iter()
            .filter(|k| {
                req.and_then(|l| l.get(*k))
                    .is_none_or(serde_json::Value::is_null)
                    && lim
                        .and_then(|l| l.get(*k))
                        .is_none_or(serde_json::Value::is_null)
            })
            .collect();
        if missing.is_empty() {
            continue;
        }
        out.push(Hit {
            path: pod.container_field(&c, &["resources", "requests"]),
            message: format!(
                "{} has no {} request (resources.requests.{})",
                c.describe(),
                missing.join(" or "),
                missing.join(", resources.requests.")
            ),
        });
    }
}
