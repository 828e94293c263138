//! `k8s-rbac-wildcard`: Roles and ClusterRoles should not grant `*` verbs, resources or API groups.

use super::{Example, Hit, Level, Rule, RuleMeta, RuleOptions};
use crate::Severity;
use crate::object::K8sObject;
use serde_json::Value;

pub(crate) static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "k8s-rbac-wildcard",
        title: "RBAC wildcard",
        severity: Severity::High,
        level: Level::Recommended,
        remediation: "List the exact verbs, resources and API groups the subject needs instead of `*`.",
        allowed: &[Example {
            yaml: "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r, namespace: n}\nrules:\n- apiGroups: [\"\"]\n  resources: [pods]\n  verbs: [get, list]\n",
            hits: &[],
        }],
        disallowed: &[Example {
            yaml: "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\nrules:\n- apiGroups: [\"*\"]\n  resources: [pods]\n  verbs:\n  - get\n  - \"*\"\n",
            hits: &["apiGroups: [\"*\"]", "- \"*\""],
        }],
    },
    check,
};

fn check(_: &RuleOptions, obj: &K8sObject, out: &mut Vec<Hit>) {
    if !matches!(obj.kind(), "Role" | "ClusterRole") || obj.group() != "rbac.authorization.k8s.io" {
        return;
    }
    let Some(rules) = obj.value.get("rules").and_then(Value::as_array) else {
        return;
    };
    for (i, rule) in rules.iter().enumerate() {
        for field in ["apiGroups", "resources", "verbs"] {
            let Some(list) = rule.get(field).and_then(Value::as_array) else {
                continue;
            };
            if let Some(j) = list.iter().position(|v| v.as_str() == Some("*")) {
                out.push(Hit {
                    path: vec!["rules".into(), i.into(), field.into(), j.into()],
                    message: format!(
                        "{} {} grants \"*\" in rules[{i}].{field}",
                        obj.kind(),
                        obj.name()
                    ),
                });
            }
        }
    }
}
