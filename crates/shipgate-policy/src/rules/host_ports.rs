//! `k8s-host-ports`: containers must not bind host ports (PSS baseline).

use super::{Example, Hit, Level, Rule, RuleMeta, RuleOptions};
use crate::Severity;
use crate::object::K8sObject;
use crate::podspec::PodSpec;
use serde_json::Value;

pub(crate) static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "k8s-host-ports",
        title: "Host port",
        severity: Severity::Medium,
        level: Level::Baseline,
        remediation: "Remove `hostPort` and expose the port through a Service.",
        allowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: nginx:1\n    ports:\n    - containerPort: 80\n    - containerPort: 81\n      hostPort: 0\n",
            hits: &[],
        }],
        disallowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: nginx:1\n    ports:\n    - containerPort: 80\n      hostPort: 8080\n",
            hits: &["hostPort: 8080"],
        }],
    },
    check,
};

fn check(_: &RuleOptions, obj: &K8sObject, out: &mut Vec<Hit>) {
    let Some(pod) = PodSpec::of(obj) else { return };
    for c in pod.containers() {
        let Some(ports) = c.get("ports").and_then(Value::as_array) else {
            continue;
        };
        for (i, p) in ports.iter().enumerate() {
            let Some(hp) = p.get("hostPort").and_then(Value::as_i64) else {
                continue;
            };
            if hp == 0 {
                continue;
            }
            let mut path = pod.container_field(&c, &["ports"]);
            path.push(i.into());
            path.push("hostPort".into());
            out.push(Hit {
                path,
                message: format!(
                    "{} binds host port {hp} (ports[{i}].hostPort)",
                    c.describe()
                ),
            });
        }
    }
}
