//! `k8s-seccomp-unconfined`: the seccomp profile must not be `Unconfined` (PSS baseline).

use super::{Example, Hit, Level, Rule, RuleMeta, RuleOptions};
use crate::Severity;
use crate::object::K8sObject;
use crate::podspec::PodSpec;
use serde_json::Value;

pub(crate) static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "k8s-seccomp-unconfined",
        title: "Seccomp disabled",
        severity: Severity::High,
        level: Level::Baseline,
        remediation: "Set `securityContext.seccompProfile.type: RuntimeDefault` (or a Localhost profile) instead of Unconfined.",
        allowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext:\n    seccompProfile: {type: RuntimeDefault}\n  containers:\n  - {name: a, image: app:1}\n",
            hits: &[],
        }],
        disallowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    seccomp.security.alpha.kubernetes.io/pod: unconfined\nspec:\n  securityContext:\n    seccompProfile:\n      type: Unconfined\n  containers:\n  - name: a\n    image: app:1\n    securityContext:\n      seccompProfile: {type: Unconfined}\n",
            hits: &[
                "seccomp.security.alpha.kubernetes.io/pod",
                "type: Unconfined",
                "seccompProfile: {type: Unconfined}",
            ],
        }],
    },
    check,
};

fn check(_: &RuleOptions, obj: &K8sObject, out: &mut Vec<Hit>) {
    let Some(pod) = PodSpec::of(obj) else { return };
    if pod.annotation("seccomp.security.alpha.kubernetes.io/pod") == Some("unconfined") {
        out.push(Hit {
            path: pod.annotation_path("seccomp.security.alpha.kubernetes.io/pod"),
            message: "pod disables seccomp (annotation seccomp.security.alpha.kubernetes.io/pod: unconfined)".to_string(),
        });
    }
    let unconfined = |v: Option<&Value>| {
        v.and_then(|p| p.get("type")).and_then(Value::as_str) == Some("Unconfined")
    };
    if unconfined(pod.security("seccompProfile")) {
        out.push(Hit {
            path: pod.field(&["securityContext", "seccompProfile", "type"]),
            message: "pod sets securityContext.seccompProfile.type: Unconfined".to_string(),
        });
    }
    for c in pod.containers() {
        if unconfined(c.security("seccompProfile")) {
            out.push(Hit {
                path: pod.container_field(&c, &["securityContext", "seccompProfile", "type"]),
                message: format!(
                    "{} sets securityContext.seccompProfile.type: Unconfined",
                    c.describe()
                ),
            });
        }
        let key = format!("container.seccomp.security.alpha.kubernetes.io/{}", c.name);
        if pod.annotation(&key) == Some("unconfined") {
            out.push(Hit {
                path: pod.annotation_path(&key),
                message: format!(
                    "{} disables seccomp (annotation {key}: unconfined)",
                    c.describe()
                ),
            });
        }
    }
}
