//! `k8s-unsafe-sysctls`: pods may set only the safe sysctls (PSS baseline).

use super::{Example, Hit, Level, Rule, RuleMeta, RuleOptions};
use crate::Severity;
use crate::object::K8sObject;
use crate::podspec::PodSpec;
use serde_json::Value;

const SAFE: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];

pub(crate) static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "k8s-unsafe-sysctls",
        title: "Unsafe sysctl",
        severity: Severity::High,
        level: Level::Baseline,
        remediation: "Remove the sysctl from `securityContext.sysctls`; only the namespaced safe set is allowed.",
        allowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext:\n    sysctls:\n    - {name: net.ipv4.tcp_syncookies, value: \"1\"}\n  containers:\n  - {name: a, image: app:1}\n",
            hits: &[],
        }],
        disallowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext:\n    sysctls:\n    - name: kernel.msgmax\n      value: \"65536\"\n  containers:\n  - {name: a, image: app:1}\n",
            hits: &["- name: kernel.msgmax"],
        }],
    },
    check,
};

fn check(_: &RuleOptions, obj: &K8sObject, out: &mut Vec<Hit>) {
    let Some(pod) = PodSpec::of(obj) else { return };
    let Some(list) = pod.security("sysctls").and_then(Value::as_array) else {
        return;
    };
    for (i, s) in list.iter().enumerate() {
        let name = s.get("name").and_then(Value::as_str).unwrap_or("");
        if SAFE.contains(&name) {
            continue;
        }
        let mut path = pod.field(&["securityContext", "sysctls"]);
        path.push(i.into());
        out.push(Hit {
            path,
            message: format!("pod sets unsafe sysctl {name} (securityContext.sysctls[{i}])"),
        });
    }
}
