//! The kinds the Kubernetes API server itself serves (1.34), by API group.
//!
//! Used to catch objects the API server would reject — a typo such as `kind: Deploymnet` in
//! `apps/v1` — which no rule would otherwise check. Kinds in other groups (CRDs such as
//! cert-manager's `Certificate`) cannot be known offline; they are counted and reported as not
//! covered by built-in rules.

/// Kinds served per built-in API group (`""` is the core group).
const GROUPS: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "Binding",
            "ComponentStatus",
            "ConfigMap",
            "Endpoints",
            "Event",
            "LimitRange",
            "Namespace",
            "Node",
            "PersistentVolume",
            "PersistentVolumeClaim",
            "Pod",
            "PodTemplate",
            "ReplicationController",
            "ResourceQuota",
            "Secret",
            "Service",
            "ServiceAccount",
        ],
    ),
    (
        "apps",
        &[
            "ControllerRevision",
            "DaemonSet",
            "Deployment",
            "ReplicaSet",
            "StatefulSet",
        ],
    ),
    ("batch", &["CronJob", "Job"]),
    ("autoscaling", &["HorizontalPodAutoscaler", "Scale"]),
    ("policy", &["Eviction", "PodDisruptionBudget"]),
    (
        "networking.k8s.io",
        &[
            "IPAddress",
            "Ingress",
            "IngressClass",
            "NetworkPolicy",
            "ServiceCIDR",
        ],
    ),
    (
        "rbac.authorization.k8s.io",
        &["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"],
    ),
    (
        "storage.k8s.io",
        &[
            "CSIDriver",
            "CSINode",
            "CSIStorageCapacity",
            "StorageClass",
            "VolumeAttachment",
            "VolumeAttributesClass",
        ],
    ),
    ("apiextensions.k8s.io", &["CustomResourceDefinition"]),
    (
        "admissionregistration.k8s.io",
        &[
            "MutatingAdmissionPolicy",
            "MutatingAdmissionPolicyBinding",
            "MutatingWebhookConfiguration",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
            "ValidatingWebhookConfiguration",
        ],
    ),
    ("apiregistration.k8s.io", &["APIService"]),
    ("scheduling.k8s.io", &["PriorityClass"]),
    ("coordination.k8s.io", &["Lease", "LeaseCandidate"]),
    ("discovery.k8s.io", &["EndpointSlice"]),
    ("node.k8s.io", &["RuntimeClass"]),
    (
        "certificates.k8s.io",
        &[
            "CertificateSigningRequest",
            "ClusterTrustBundle",
            "PodCertificateRequest",
        ],
    ),
    ("events.k8s.io", &["Event"]),
    (
        "flowcontrol.apiserver.k8s.io",
        &["FlowSchema", "PriorityLevelConfiguration"],
    ),
    (
        "resource.k8s.io",
        &[
            "DeviceClass",
            "DeviceTaintRule",
            "ResourceClaim",
            "ResourceClaimTemplate",
            "ResourceSlice",
        ],
    ),
    (
        "authentication.k8s.io",
        &["SelfSubjectReview", "TokenRequest", "TokenReview"],
    ),
    (
        "authorization.k8s.io",
        &[
            "LocalSubjectAccessReview",
            "SelfSubjectAccessReview",
            "SelfSubjectRulesReview",
            "SubjectAccessReview",
        ],
    ),
    ("internal.apiserver.k8s.io", &["StorageVersion"]),
    ("storagemigration.k8s.io", &["StorageVersionMigration"]),
];

/// What is known about a `(group, kind)` pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KindCheck {
    /// A kind the API server serves in that group.
    Known,
    /// A built-in group that has no such kind; with the closest served kind, if one is close.
    Unknown {
        /// A likely intended kind (same letters ignoring case, or one or two edits away).
        suggestion: Option<&'static str>,
    },
    /// A group the API server does not define itself (a CRD's group): cannot be checked.
    CustomGroup,
}

/// Check a kind against the API group it is declared in.
pub fn check(group: &str, kind: &str) -> KindCheck {
    let Some((_, kinds)) = GROUPS.iter().find(|(g, _)| *g == group) else {
        return KindCheck::CustomGroup;
    };
    if kinds.contains(&kind) {
        return KindCheck::Known;
    }
    let suggestion = kinds
        .iter()
        .map(|k| {
            (
                distance(&k.to_ascii_lowercase(), &kind.to_ascii_lowercase()),
                *k,
            )
        })
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k);
    KindCheck::Unknown { suggestion }
}

/// Levenshtein distance (kinds are short).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_checked_per_group() {
        assert_eq!(check("apps", "Deployment"), KindCheck::Known);
        assert_eq!(check("", "Pod"), KindCheck::Known);
        assert_eq!(
            check("apps", "Deploymnet"),
            KindCheck::Unknown {
                suggestion: Some("Deployment")
            }
        );
        assert_eq!(
            check("", "pod"),
            KindCheck::Unknown {
                suggestion: Some("Pod")
            }
        );
        // Deployment is not in the core group.
        assert_eq!(
            check("", "Deployment"),
            KindCheck::Unknown { suggestion: None }
        );
        // Removed in 1.25: the API server rejects it.
        assert_eq!(
            check("policy", "PodSecurityPolicy"),
            KindCheck::Unknown { suggestion: None }
        );
        assert_eq!(
            check("cert-manager.io", "Certificate"),
            KindCheck::CustomGroup
        );
        assert_eq!(
            check("templates.gatekeeper.sh", "ConstraintTemplate"),
            KindCheck::CustomGroup
        );
    }
}
