//! `shipgate admission audit`: evaluate the objects already in a cluster, like Gatekeeper's
//! audit. Objects are listed through discovery (every listable kind), each is wrapped in a
//! synthetic CREATE request and evaluated with the same [`Evaluator`] the webhook uses.
//! Exempt namespaces and the `shipgate.dev/ignore` annotation apply exactly as at admission.

use crate::policy::{Enforcement, Evaluator, Exemptions, decide, exemption_reason};
use crate::review::AdmissionRequest;

/// Options for [`audit`].
#[derive(Clone, Debug, Default)]
pub struct AuditOptions {
    /// Which objects to list.
    pub scope: shipgate_kube::ListScope,
    /// Namespaces/users/groups that are exempt (users and groups do not apply to audit).
    pub exemptions: Exemptions,
}

/// One object that violates one rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditViolation {
    /// `<apiVersion> <Kind> <namespace>/<name>` (namespace empty for cluster-scoped).
    pub object: String,
    /// Rule id.
    pub rule_id: String,
    /// Message.
    pub message: String,
    /// Enforcement action of the rule.
    pub enforcement: Enforcement,
}

/// The audit result: violations plus the problems met on the way (unlistable kinds,
/// evaluation errors), which make the CLI exit 2.
#[derive(Debug, Default)]
pub struct AuditOutcome {
    /// Every violation, sorted by object then rule.
    pub violations: Vec<AuditViolation>,
    /// Objects evaluated.
    pub objects_evaluated: usize,
    /// Problems (kind listing failures, evaluation errors).
    pub errors: Vec<String>,
}

/// The object's identity in `Location::object` form.
pub fn object_ref(req: &AdmissionRequest) -> String {
    let api_version = if req.kind.group.is_empty() {
        req.kind.version.clone()
    } else {
        format!("{}/{}", req.kind.group, req.kind.version)
    };
    if req.namespace.is_empty() {
        format!("{api_version} {} {}", req.kind.kind, req.name)
    } else {
        format!(
            "{api_version} {} {}/{}",
            req.kind.kind, req.namespace, req.name
        )
    }
}

/// Severity of an audit finding: what the rule would do at admission.
fn severity(e: Enforcement) -> shipgate_report::Severity {
    match e {
        Enforcement::Deny => shipgate_report::Severity::High,
        Enforcement::Warn => shipgate_report::Severity::Medium,
        Enforcement::DryRun => shipgate_report::Severity::Low,
    }
}

impl AuditOutcome {
    /// The outcome in the shared report model (scanner `config`, `location.object` set).
    pub fn into_scan_output(self) -> shipgate_report::ScanOutput {
        let findings = self
            .violations
            .into_iter()
            .map(|v| {
                let location = shipgate_report::Location {
                    object: Some(v.object.clone()),
                    ..Default::default()
                };
                let mut f = shipgate_report::Finding::new(
                    "config",
                    &v.rule_id,
                    severity(v.enforcement),
                    format!("{} violates {}", v.object, v.rule_id),
                    v.message.clone(),
                    location,
                );
                f.fingerprint = shipgate_report::Finding::fingerprint_of(&[
                    "config", "audit", &v.rule_id, &v.object, &v.message,
                ]);
                f.properties.insert(
                    "enforcement_action".into(),
                    serde_json::Value::String(v.enforcement.as_str().into()),
                );
                f
            })
            .collect();
        shipgate_report::ScanOutput {
            findings,
            errors: self
                .errors
                .into_iter()
                .map(shipgate_report::ScanError::new)
                .collect(),
            notes: vec![format!("{} objects evaluated", self.objects_evaluated)],
        }
    }
}

/// Evaluates already-listed objects (the part of the audit that needs no cluster).
pub fn audit_objects(
    objects: impl IntoIterator<Item = serde_json::Value>,
    evaluator: &dyn Evaluator,
    exemptions: &Exemptions,
) -> AuditOutcome {
    let ns_only = Exemptions {
        namespaces: exemptions.namespaces.clone(),
        ..Default::default()
    };
    let mut out = AuditOutcome::default();
    for object in objects {
        let req = AdmissionRequest::for_audit(object);
        if exemption_reason(&ns_only, &req).is_some() {
            continue;
        }
        out.objects_evaluated += 1;
        match evaluator.evaluate(&req) {
            Ok(v) => {
                let decision = decide(&req, v);
                let obj = object_ref(&req);
                out.violations
                    .extend(decision.violations.into_iter().map(|v| AuditViolation {
                        object: obj.clone(),
                        rule_id: v.rule_id,
                        message: v.message,
                        enforcement: v.enforcement,
                    }));
            }
            Err(e) => out.errors.push(format!("{}: {e}", object_ref(&req))),
        }
    }
    out.violations.sort_by(|a, b| {
        (&a.object, &a.rule_id, &a.message).cmp(&(&b.object, &b.rule_id, &b.message))
    });
    out
}

/// Lists every object in the cluster and evaluates it.
pub async fn audit(
    client: &kube::Client,
    evaluator: &dyn Evaluator,
    options: &AuditOptions,
) -> Result<AuditOutcome, crate::AdmissionError> {
    let (objects, failures) = shipgate_kube::list_all_objects(client, &options.scope)
        .await
        .map_err(crate::AdmissionError::Kube)?;
    let values = objects
        .into_iter()
        .filter_map(|o| serde_json::to_value(&o.object).ok());
    let mut out = audit_objects(values, evaluator, &options.exemptions);
    out.errors.extend(
        failures
            .into_iter()
            .map(|f| format!("listing {}: {}", f.resource, f.error)),
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{EvalError, Violation};
    use serde_json::json;

    struct NoTeamLabel;
    impl Evaluator for NoTeamLabel {
        fn evaluate(&self, req: &AdmissionRequest) -> Result<Vec<Violation>, EvalError> {
            if req.name == "broken" {
                return Err(EvalError("boom".into()));
            }
            let has = req
                .object()
                .and_then(|o| o.pointer("/metadata/labels/team"))
                .is_some();
            Ok(if has {
                vec![]
            } else {
                vec![Violation {
                    rule_id: "team-label".into(),
                    message: "label team is missing".into(),
                    enforcement: Enforcement::Warn,
                }]
            })
        }
        fn rule_count(&self) -> usize {
            1
        }
    }

    #[test]
    fn audit_objects_to_findings() {
        let objects = vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "n"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ok", "namespace": "n", "labels": {"team": "x"}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "sys", "namespace": "kube-system"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ign", "namespace": "n",
                "annotations": {"shipgate.dev/ignore": "team-label shared config"}}}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "broken", "namespace": "n"}}),
        ];
        let ex = Exemptions {
            namespaces: ["kube-system".to_string()].into(),
            ..Default::default()
        };
        let out = audit_objects(objects, &NoTeamLabel, &ex);
        assert_eq!(out.objects_evaluated, 5);
        let objs: Vec<&str> = out.violations.iter().map(|v| v.object.as_str()).collect();
        assert_eq!(
            objs,
            [
                "rbac.authorization.k8s.io/v1 ClusterRole r",
                "v1 ConfigMap n/a"
            ]
        );
        assert_eq!(out.errors.len(), 1);
        let scan = out.into_scan_output();
        assert_eq!(scan.findings.len(), 2);
        assert_eq!(
            scan.findings[1].location.object.as_deref(),
            Some("v1 ConfigMap n/a")
        );
        assert_eq!(scan.findings[1].severity, shipgate_report::Severity::Medium);
        assert_eq!(scan.findings[1].scanner, "config");
        assert_eq!(scan.errors.len(), 1);
        assert!(
            scan.errors[0]
                .message
                .contains("v1 ConfigMap n/broken: boom")
        );
    }
}
