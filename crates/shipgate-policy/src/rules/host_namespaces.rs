//! `k8s-host-namespaces`: pods must not share the host's network, PID or IPC namespace (PSS baseline).

use super::{Example, Hit, Level, Rule, RuleMeta, RuleOptions};
use crate::Severity;
use crate::object::K8sObject;
use crate::podspec::PodSpec;
use serde_json::Value;

pub(crate) static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "k8s-host-namespaces",
        title: "Host namespaces shared",
        severity: Severity::High,
        level: Level::Baseline,
        remediation: "Remove `hostNetwork`, `hostPID` and `hostIPC` (or set them to false).",
        allowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: false\n  containers:\n  - {name: a, image: nginx:1}\n",
            hits: &[],
        }],
        disallowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostNetwork: true\n  hostPID: yes\n  hostIPC: true\n  containers:\n  - {name: a, image: nginx:1}\n",
            hits: &["hostNetwork: true", "hostPID: yes", "hostIPC: true"],
        }],
    },
    check,
};

fn check(_: &RuleOptions, obj: &K8sObject, out: &mut Vec<Hit>) {
    let Some(pod) = PodSpec::of(obj) else { return };
    for (field, what) in [
        ("hostNetwork", "network"),
        ("hostPID", "process (PID)"),
        ("hostIPC", "IPC"),
    ] {
        if pod.get(field) == Some(&Value::Bool(true)) {
            out.push(Hit {
                path: pod.field(&[field]),
                message: format!("pod shares the host's {what} namespace ({field}: true)"),
            });
        }
    }
}
