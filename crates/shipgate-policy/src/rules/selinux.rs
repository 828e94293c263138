//! `k8s-selinux-options`: SELinux type must be a container type; user and role must not be set
//! (PSS baseline).

use super::{Example, Hit, Level, Rule, RuleMeta, RuleOptions};
use crate::Severity;
use crate::object::K8sObject;
use crate::podspec::PodSpec;
use crate::yaml::Seg;
use serde_json::Value;

const ALLOWED_TYPES: &[&str] = &[
    "",
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];

pub(crate) static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "k8s-selinux-options",
        title: "Custom SELinux options",
        severity: Severity::High,
        level: Level::Baseline,
        remediation: "Remove `seLinuxOptions.user`/`role` and use a container SELinux type (container_t, container_init_t, container_kvm_t).",
        allowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext:\n    seLinuxOptions: {type: container_t, level: \"s0:c1,c2\"}\n  containers:\n  - {name: a, image: app:1}\n",
            hits: &[],
        }],
        disallowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext:\n    seLinuxOptions:\n      type: spc_t\n  containers:\n  - name: a\n    image: app:1\n    securityContext:\n      seLinuxOptions:\n        user: system_u\n        role: sysadm_r\n",
            hits: &["type: spc_t", "user: system_u", "role: sysadm_r"],
        }],
    },
    check,
};

fn check_options(opts: Option<&Value>, base: Vec<Seg>, who: &str, out: &mut Vec<Hit>) {
    let Some(opts) = opts else { return };
    let field = |k: &str| {
        let mut p = base.clone();
        p.push(k.into());
        p
    };
    if let Some(t) = opts.get("type").and_then(Value::as_str) {
        if !ALLOWED_TYPES.contains(&t) {
            out.push(Hit {
                path: field("type"),
                message: format!("{who} sets SELinux type {t} (seLinuxOptions.type)"),
            });
        }
    }
    for k in ["user", "role"] {
        if let Some(v) = opts
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            out.push(Hit {
                path: field(k),
                message: format!("{who} sets SELinux {k} {v} (seLinuxOptions.{k})"),
            });
        }
    }
}

fn check(_: &RuleOptions, obj: &K8sObject, out: &mut Vec<Hit>) {
    let Some(pod) = PodSpec::of(obj) else { return };
    check_options(
        pod.security("seLinuxOptions"),
        pod.field(&["securityContext", "seLinuxOptions"]),
        "pod",
        out,
    );
    for c in pod.containers() {
        check_options(
            c.security("seLinuxOptions"),
            pod.container_field(&c, &["securityContext", "seLinuxOptions"]),
            &c.describe(),
            out,
        );
    }
}
