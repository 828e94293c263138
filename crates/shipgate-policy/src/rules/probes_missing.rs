//! `k8s-probes-missing`: long-running containers should have liveness and readiness probes.

use super::{Example, Hit, Level, Rule, RuleMeta, RuleOptions};
use crate::Severity;
use crate::object::K8sObject;
use crate::podspec::{ContainerList, PodSpec};

pub(crate) static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "k8s-probes-missing",
        title: "Missing liveness or readiness probe",
        severity: Severity::Low,
        level: Level::Recommended,
        remediation: "Add `livenessProbe` and `readinessProbe` so Kubernetes can restart a hung container and route traffic only to ready ones.",
        allowed: &[
            Example {
                yaml: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        image: app:1\n        livenessProbe: {httpGet: {path: /, port: 80}}\n        readinessProbe: {httpGet: {path: /, port: 80}}\n",
                hits: &[],
            },
            Example {
                yaml: "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n      containers:\n      - {name: a, image: app:1}\n",
                hits: &[],
            },
        ],
        disallowed: &[Example {
            yaml: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        image: app:1\n        readinessProbe: {httpGet: {path: /, port: 80}}\n",
            hits: &["- name: a"],
        }],
    },
    check,
};

fn check(_: &RuleOptions, obj: &K8sObject, out: &mut Vec<Hit>) {
    // Run-to-completion workloads do not need probes.
    if matches!(obj.kind(), "Job" | "CronJob" | "Pod" | "PodTemplate") {
        return;
    }
    let Some(pod) = PodSpec::of(obj) else { return };
    for c in pod.containers_in(&[ContainerList::Containers]) {
        let missing: Vec<&str> = ["livenessProbe", "readinessProbe"]
            .into_iter()
            .filter(|p| c.get(p).is_none_or(serde_json::Value::is_null))
            .collect();
        if missing.is_empty() {
            continue;
        }
        out.push(Hit {
            path: pod.container_field(&c, &[missing[0]]),
            message: format!("{} has no {}", c.describe(), missing.join(" and no ")),
        });
    }
}
