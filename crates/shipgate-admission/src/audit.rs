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
    format!("{api_version} {} {}/{}", req.kind.kind, req.namespace, req.name)
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
                out.violations.extend(decision.violations.into_iter().map(|v| AuditViolation {
                    object: obj.clone(),
                    rule_id: v.rule_id,
                    message: v.message,
                    enforcement: v.enforcement,
                }));
            }
            Err(e) => out.errors.push(format!("{}: {e}", object_ref(&req))),
        }
    }
    out.violations.sort_by(|a, b| (&a.object, &a.rule_id, &a.message).cmp(&(&b.object, &b.rule_id, &b.message)));
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
