//! `k8s-service-type-forbidden`: Services must not use a forbidden type (opt-in:
//! `forbid_service_types`, e.g. `[NodePort, LoadBalancer]`).

use super::{Example, Hit, Level, Rule, RuleMeta, RuleOptions};
use crate::Severity;
use crate::object::K8sObject;
use serde_json::Value;

pub(crate) static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "k8s-service-type-forbidden",
        title: "Service type not allowed",
        severity: Severity::Medium,
        level: Level::OptIn,
        remediation: "Use a ClusterIP Service behind an Ingress or Gateway instead of exposing nodes or cloud load balancers directly.",
        // Examples run with forbid_service_types = ["NodePort", "LoadBalancer"].
        allowed: &[Example {
            yaml: "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  type: ClusterIP\n  ports: [{port: 80}]\n",
            hits: &[],
        }],
        disallowed: &[Example {
            yaml: "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  type: LoadBalancer\n  ports: [{port: 80}]\n",
            hits: &["type: LoadBalancer"],
        }],
    },
    check,
};

fn check(opts: &RuleOptions, obj: &K8sObject, out: &mut Vec<Hit>) {
    if obj.kind() != "Service" || !obj.group().is_empty() {
        return;
    }
    let ty = obj
        .value
        .pointer("/spec/type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP");
    if opts
        .forbid_service_types
        .iter()
        .any(|t| t.eq_ignore_ascii_case(ty))
    {
        out.push(Hit {
            path: vec!["spec".into(), "type".into()],
            message: format!(
                "Service {} has type {ty} (spec.type), which is forbidden here",
                obj.name()
            ),
        });
    }
}
