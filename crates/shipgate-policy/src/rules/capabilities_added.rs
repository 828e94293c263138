//! `k8s-capabilities-added`: containers may add only the baseline capability set (PSS baseline).

use super::{Example, Hit, Level, Rule, RuleMeta, RuleOptions};
use crate::Severity;
use crate::object::K8sObject;
use crate::podspec::PodSpec;
use serde_json::Value;

/// Capabilities the baseline profile allows adding.
const BASELINE_CAPS: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

pub(crate) static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "k8s-capabilities-added",
        title: "Dangerous capability added",
        severity: Severity::High,
        level: Level::Baseline,
        remediation: "Remove the capability from `securityContext.capabilities.add`; only the baseline set (e.g. NET_BIND_SERVICE, CHOWN) may be added.",
        allowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: app:1\n    securityContext:\n      capabilities:\n        add: [NET_BIND_SERVICE, CHOWN]\n",
            hits: &[],
        }],
        disallowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: app:1\n    securityContext:\n      capabilities:\n        add:\n        - NET_BIND_SERVICE\n        - SYS_ADMIN\n        - CAP_NET_RAW\n",
            hits: &["- SYS_ADMIN", "- CAP_NET_RAW"],
        }],
    },
    check,
};

fn check(_: &RuleOptions, obj: &K8sObject, out: &mut Vec<Hit>) {
    let Some(pod) = PodSpec::of(obj) else { return };
    for c in pod.containers() {
        let Some(add) = c
            .security("capabilities")
            .and_then(|caps| caps.get("add"))
            .and_then(Value::as_array)
        else {
            continue;
        };
        for (i, cap) in add.iter().enumerate() {
            let name = cap.as_str().unwrap_or("");
            let bare = name.strip_prefix("CAP_").unwrap_or(name);
            if BASELINE_CAPS.contains(&bare) {
                continue;
            }
            let mut path = pod.container_field(&c, &["securityContext", "capabilities", "add"]);
            path.push(i.into());
            out.push(Hit {
                path,
                message: format!(
                    "{} adds capability {name} (securityContext.capabilities.add), which the baseline profile forbids",
                    c.describe()
                ),
            });
        }
    }
}
