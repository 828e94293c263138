//! `k8s-restricted-volume-types`: only the volume types of the restricted profile (PSS restricted).

use super::{Example, Hit, Level, Rule, RuleMeta, RuleOptions};
use crate::Severity;
use crate::object::K8sObject;
use crate::podspec::PodSpec;
use serde_json::Value;

const ALLOWED: &[&str] = &[
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

pub(crate) static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "k8s-restricted-volume-types",
        title: "Volume type not allowed",
        severity: Severity::Medium,
        level: Level::Restricted,
        remediation: "Use configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected or secret volumes.",
        allowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: app:1}\n  volumes:\n  - {name: a, emptyDir: {}}\n  - {name: b, persistentVolumeClaim: {claimName: c}}\n",
            hits: &[],
        }],
        disallowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: app:1}\n  volumes:\n  - name: n\n    nfs: {server: x, path: /}\n",
            hits: &["nfs: {server: x, path: /}"],
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
        let Some(map) = v.as_object() else { continue };
        let name = v.get("name").and_then(Value::as_str).unwrap_or("");
        for (k, val) in map {
            // hostPath has its own baseline rule (k8s-hostpath-volume).
            if k == "name" || k == "hostPath" || val.is_null() || ALLOWED.contains(&k.as_str()) {
                continue;
            }
            let mut path = pod.field(&["volumes"]);
            path.push(i.into());
            path.push(k.as_str().into());
            out.push(Hit {
                path,
                message: format!("volume \"{name}\" is of type {k} (volumes[{i}].{k}), which the restricted profile does not allow"),
            });
        }
    }
}
