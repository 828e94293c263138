//! `k8s-seccomp-profile-missing`: every container must run with the RuntimeDefault or a
//! Localhost seccomp profile (PSS restricted).

use super::{Example, Hit, Level, Rule, RuleMeta, RuleOptions};
use crate::Severity;
use crate::object::K8sObject;
use crate::podspec::PodSpec;
use serde_json::Value;

pub(crate) static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "k8s-seccomp-profile-missing",
        title: "No seccomp profile",
        severity: Severity::Low,
        level: Level::Restricted,
        remediation: "Set `securityContext.seccompProfile.type: RuntimeDefault` on the pod.",
        allowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext:\n    seccompProfile: {type: RuntimeDefault}\n  containers:\n  - {name: a, image: app:1}\n  - name: b\n    image: app:1\n    securityContext:\n      seccompProfile: {type: Localhost, localhostProfile: p.json}\n",
            hits: &[],
        }],
        disallowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: app:1\n",
            hits: &["- name: a"],
        }],
    },
    check,
};

fn check(_: &RuleOptions, obj: &K8sObject, out: &mut Vec<Hit>) {
    let Some(pod) = PodSpec::of(obj) else { return };
    let ty = |v: Option<&Value>| {
        v.and_then(|p| p.get("type"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let pod_type = ty(pod.security("seccompProfile"));
    for c in pod.containers() {
        let effective = ty(c.security("seccompProfile")).or_else(|| pod_type.clone());
        match effective.as_deref() {
            Some("RuntimeDefault" | "Localhost") => {}
            // Unconfined is reported by k8s-seccomp-unconfined.
            Some("Unconfined") => {}
            other => out.push(Hit {
                path: pod.container_field(&c, &["securityContext", "seccompProfile"]),
                message: match other {
                    Some(t) => format!("{} uses seccomp profile type {t}; use RuntimeDefault or Localhost", c.describe()),
                    None => format!(
                        "{} has no seccomp profile (securityContext.seccompProfile.type, on the container or the pod)",
                        c.describe()
                    ),
                },
            }),
        }
    }
}
