//! `k8s-apparmor-unconfined`: the AppArmor profile must not be overridden to unconfined
//! (PSS baseline).

use super::{Example, Hit, Level, Rule, RuleMeta, RuleOptions};
use crate::Severity;
use crate::object::K8sObject;
use crate::podspec::PodSpec;
use serde_json::Value;

pub(crate) static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "k8s-apparmor-unconfined",
        title: "AppArmor disabled",
        severity: Severity::High,
        level: Level::Baseline,
        remediation: "Use the RuntimeDefault (or a Localhost) AppArmor profile: `securityContext.appArmorProfile.type: RuntimeDefault`.",
        allowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    container.apparmor.security.beta.kubernetes.io/a: runtime/default\nspec:\n  securityContext:\n    appArmorProfile: {type: RuntimeDefault}\n  containers:\n  - {name: a, image: app:1}\n",
            hits: &[],
        }],
        disallowed: &[Example {
            yaml: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    metadata:\n      annotations:\n        container.apparmor.security.beta.kubernetes.io/a: unconfined\n    spec:\n      containers:\n      - name: a\n        image: app:1\n        securityContext:\n          appArmorProfile:\n            type: Unconfined\n",
            hits: &[
                "container.apparmor.security.beta.kubernetes.io/a",
                "type: Unconfined",
            ],
        }],
    },
    check,
};

fn check(_: &RuleOptions, obj: &K8sObject, out: &mut Vec<Hit>) {
    let Some(pod) = PodSpec::of(obj) else { return };
    let unconfined = |v: Option<&Value>| {
        v.and_then(|p| p.get("type")).and_then(Value::as_str) == Some("Unconfined")
    };
    if unconfined(pod.security("appArmorProfile")) {
        out.push(Hit {
            path: pod.field(&["securityContext", "appArmorProfile", "type"]),
            message: "pod sets securityContext.appArmorProfile.type: Unconfined".to_string(),
        });
    }
    for c in pod.containers() {
        let key = format!("container.apparmor.security.beta.kubernetes.io/{}", c.name);
        if let Some(v) = pod.annotation(&key) {
            if v != "runtime/default" && !v.starts_with("localhost/") {
                out.push(Hit {
                    path: pod.annotation_path(&key),
                    message: format!(
                        "{} sets AppArmor profile \"{v}\" (annotation {key})",
                        c.describe()
                    ),
                });
            }
        }
        if unconfined(c.security("appArmorProfile")) {
            out.push(Hit {
                path: pod.container_field(&c, &["securityContext", "appArmorProfile", "type"]),
                message: format!(
                    "{} sets securityContext.appArmorProfile.type: Unconfined",
                    c.describe()
                ),
            });
        }
    }
}
