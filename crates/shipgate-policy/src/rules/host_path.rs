//! `k8s-hostpath-volume`: pods must not mount hostPath volumes (PSS baseline).

use super::{Example, Hit, Level, Rule, RuleMeta, RuleOptions};
use crate::Severity;
use crate::object::K8sObject;
use crate::podspec::PodSpec;
use serde_json::Value;

pub(crate) static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "k8s-hostpath-volume",
        title: "hostPath volume",
        severity: Severity::High,
        level: Level::Baseline,
        remediation: "Replace the hostPath volume with a persistentVolumeClaim, configMap, secret or emptyDir.",
        allowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: nginx:1}\n  volumes:\n  - name: tmp\n    emptyDir: {}\n",
            hits: &[],
        }],
        disallowed: &[Example {
            yaml: "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: r}\nspec:\n  template:\n    spec:\n      containers:\n      - {name: a, image: nginx:1}\n      volumes:\n      - name: docker\n        hostPath:\n          path: /var/run/docker.sock\n",
            hits: &["hostPath:"],
        }],
    },
    check,
};

fn check(_: &RuleOptions, obj: &K8sObject, out: &mut Vec<Hit>) {
    let Some(pod) = PodSpec::of(obj) else { return };
    let Some(vols) = pod.get("volumes").and_then(Value::as_array) else {
        return;
    };
    for (i, v) in vols.iter().enumerate() {
        if let Some(hp) = v.get("hostPath").filter(|h| !h.is_null()) {
            let name = v.get("name").and_then(Value::as_str).unwrap_or("");
            let host = hp.get("path").and_then(Value::as_str).unwrap_or("?");
            let mut path = pod.field(&["volumes"]);
            path.push(i.into());
            path.push("hostPath".into());
            out.push(Hit {
                path,
                message: format!(
                    "volume \"{name}\" mounts the host path {host} (volumes[{i}].hostPath)"
                ),
            });
        }
    }
}
