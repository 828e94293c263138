//! `k8s-default-namespace`: workloads should not be placed in the `default` namespace.

use super::{Example, Hit, Level, Rule, RuleMeta, RuleOptions};
use crate::Severity;
use crate::object::K8sObject;
use crate::podspec::PodSpec;

pub(crate) static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "k8s-default-namespace",
        title: "Workload in the default namespace",
        severity: Severity::Low,
        level: Level::Recommended,
        remediation: "Put the workload in a dedicated namespace (`metadata.namespace`) so RBAC, quotas and network policies can be scoped to it.",
        allowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: team-a}\nspec:\n  containers:\n  - {name: a, image: app:1}\n",
            hits: &[],
        }],
        disallowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: default\nspec:\n  containers:\n  - {name: a, image: app:1}\n",
            hits: &["namespace: default"],
        }],
    },
    check,
};

fn check(_: &RuleOptions, obj: &K8sObject, out: &mut Vec<Hit>) {
    // Only an explicit `default`: a manifest without a namespace is placed by the deploy tool.
    if obj.namespace() != Some("default") || PodSpec::of(obj).is_none() {
        return;
    }
    out.push(Hit {
        path: vec!["metadata".into(), "namespace".into()],
        message: format!(
            "{} {} is in the default namespace (metadata.namespace)",
            obj.kind(),
            obj.name()
        ),
    });
}
