//! `k8s-host-process`: Windows pods must not run as HostProcess containers (PSS baseline).

use super::{Example, Hit, Level, Rule, RuleMeta, RuleOptions};
use crate::Severity;
use crate::object::K8sObject;
use crate::podspec::PodSpec;
use serde_json::Value;

pub(crate) static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "k8s-host-process",
        title: "Windows HostProcess container",
        severity: Severity::High,
        level: Level::Baseline,
        remediation: "Remove `windowsOptions.hostProcess: true` (pod and container securityContext).",
        allowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: app:1\n    securityContext:\n      windowsOptions: {hostProcess: false}\n",
            hits: &[],
        }],
        disallowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext:\n    windowsOptions:\n      hostProcess: true\n  containers:\n  - name: a\n    image: app:1\n    securityContext:\n      windowsOptions: {hostProcess: true}\n",
            hits: &["hostProcess: true", "windowsOptions: {hostProcess: true}"],
        }],
    },
    check,
};

fn check(_: &RuleOptions, obj: &K8sObject, out: &mut Vec<Hit>) {
    let Some(pod) = PodSpec::of(obj) else { return };
    if pod
        .security("windowsOptions")
        .and_then(|w| w.get("hostProcess"))
        == Some(&Value::Bool(true))
    {
        out.push(Hit {
            path: pod.field(&["securityContext", "windowsOptions", "hostProcess"]),
            message: "pod runs as a Windows HostProcess (securityContext.windowsOptions.hostProcess: true)".to_string(),
        });
    }
    for c in pod.containers() {
        if c.security("windowsOptions")
            .and_then(|w| w.get("hostProcess"))
            == Some(&Value::Bool(true))
        {
            out.push(Hit {
                path: pod.container_field(&c, &["securityContext", "windowsOptions", "hostProcess"]),
                message: format!(
                    "{} runs as a Windows HostProcess (securityContext.windowsOptions.hostProcess: true)",
                    c.describe()
                ),
            });
        }
    }
}
