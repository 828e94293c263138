//! The seam between the webhook and the policy engine, plus exemptions and the decision.
//!
//! The server only needs "given this AdmissionReview request, which rules are violated and
//! with what enforcement action": [`Evaluator`]. [`PolicyLoader`] (re)builds an evaluator from
//! files so the server can hot-reload it.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use crate::review::AdmissionRequest;

/// What a violated rule does at admission (Gatekeeper's `enforcementAction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Enforcement {
    /// Reject the request.
    Deny,
    /// Admit, returning a Kubernetes warning to the client.
    Warn,
    /// Admit silently; only metrics and the log record it.
    DryRun,
}

impl Enforcement {
    /// Lower-case label used in metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Enforcement::Deny => "deny",
            Enforcement::Warn => "warn",
            Enforcement::DryRun => "dryrun",
        }
    }
}

/// One violated rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The rule id (built-in rule id, or the Gatekeeper constraint name).
    pub rule_id: String,
    /// Human-readable message (what is wrong and how to fix it).
    pub message: String,
    /// What the violation does.
    pub enforcement: Enforcement,
}

/// An evaluation that could not complete (answered with the configured failure mode).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct EvalError(pub String);

/// Evaluates one admission request against a loaded set of policies.
///
/// Implementations must be cheap to call concurrently from many threads.
pub trait Evaluator: Send + Sync + 'static {
    /// Every violated rule for this request (empty = compliant).
    fn evaluate(&self, request: &AdmissionRequest) -> Result<Vec<Violation>, EvalError>;
    /// Number of rules/constraints loaded (for `/metrics` and logs).
    fn rule_count(&self) -> usize;
}

/// A policy set that failed to load (the previous set, if any, stays in force).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PolicyLoadError(pub String);

/// Builds an [`Evaluator`] from its sources; the server calls it at start-up and whenever one
/// of [`PolicyLoader::watch_paths`] changes.
pub trait PolicyLoader: Send + Sync + 'static {
    /// Loads (or reloads) the policies.
    fn load(&self) -> Result<Arc<dyn Evaluator>, PolicyLoadError>;
    /// Files and directories whose change triggers a reload.
    fn watch_paths(&self) -> Vec<PathBuf>;
}

/// Requests that are admitted without evaluation.
#[derive(Clone, Debug, Default)]
pub struct Exemptions {
    /// Namespaces whose objects are never evaluated (the webhook's own and `kube-system` by
    /// default in the CLI; the manifest also excludes them with a namespaceSelector).
    pub namespaces: BTreeSet<String>,
    /// Users (`userInfo.username`) that are never evaluated, e.g. a break-glass account.
    pub users: BTreeSet<String>,
    /// Groups (`userInfo.groups`) that are never evaluated.
    pub groups: BTreeSet<String>,
}

/// The annotation that exempts one object from named rules: `<rule-id> <reason>`; several
/// entries may be separated by `,`, `;` or newlines. An entry without a reason is not honoured.
pub const IGNORE_ANNOTATION: &str = "shipgate.dev/ignore";

/// Why a request was exempt, if it was.
pub fn exemption_reason(ex: &Exemptions, req: &AdmissionRequest) -> Option<String> {
    if !req.namespace.is_empty() && ex.namespaces.contains(&req.namespace) {
        return Some(format!("namespace {} is exempt", req.namespace));
    }
    // A Namespace object itself is exempt if it is one of the exempt namespaces.
    if req.kind.kind == "Namespace"
        && req.kind.group.is_empty()
        && ex.namespaces.contains(&req.name)
    {
        return Some(format!("namespace {} is exempt", req.name));
    }
    if !req.username.is_empty() && ex.users.contains(&req.username) {
        return Some(format!("user {} is exempt", req.username));
    }
    req.groups
        .iter()
        .find(|g| ex.groups.contains(*g))
        .map(|g| format!("group {g} is exempt"))
}

/// Parsed `shipgate.dev/ignore` entries: (rule ids honoured, malformed entries).
pub fn parse_ignore_annotation(value: &str) -> (BTreeSet<String>, Vec<String>) {
    let mut rules = BTreeSet::new();
    let mut bad = Vec::new();
    for entry in value
        .split([';', ',', '\n'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        match entry.split_once(char::is_whitespace) {
            Some((rule, reason)) if !reason.trim().is_empty() => {
                rules.insert(rule.trim_end_matches(':').to_owned());
            }
            _ => bad.push(entry.to_owned()),
        }
    }
    (rules, bad)
}

/// The outcome for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// Admit or reject.
    pub allowed: bool,
    /// The denial message (every deny violation, one per line), or an exemption/failure note.
    pub message: Option<String>,
    /// Warnings returned to the client.
    pub warnings: Vec<String>,
    /// Violations that were counted (after annotation exemptions).
    pub violations: Vec<Violation>,
    /// Violations skipped because of the ignore annotation.
    pub ignored: Vec<Violation>,
}

/// Turns the violations of one request into a decision, applying the ignore annotation.
pub fn decide(req: &AdmissionRequest, violations: Vec<Violation>) -> Decision {
    let (ignored_rules, malformed) = req
        .annotation(IGNORE_ANNOTATION)
        .map(parse_ignore_annotation)
        .unwrap_or_default();
    let (ignored, violations): (Vec<_>, Vec<_>) = violations
        .into_iter()
        .partition(|v| ignored_rules.contains(&v.rule_id));
    let mut denials: Vec<&Violation> = violations
        .iter()
        .filter(|v| v.enforcement == Enforcement::Deny)
        .collect();
    denials.sort_by(|a, b| a.rule_id.cmp(&b.rule_id).then(a.message.cmp(&b.message)));
    denials.dedup_by(|a, b| a.rule_id == b.rule_id && a.message == b.message);
    let mut warnings: Vec<String> = violations
        .iter()
        .filter(|v| v.enforcement == Enforcement::Warn)
        .map(|v| format!("[{}] {}", v.rule_id, v.message))
        .collect();
    for m in malformed {
        warnings.push(format!(
            "annotation {IGNORE_ANNOTATION}: entry {m:?} ignored: use \"<rule-id> <reason>\""
        ));
    }
    let message = (!denials.is_empty()).then(|| {
        denials
            .iter()
            .map(|v| format!("[{}] {}", v.rule_id, v.message))
            .collect::<Vec<_>>()
            .join("\n")
    });
    Decision {
        allowed: denials.is_empty(),
        message,
        warnings,
        violations,
        ignored,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::AdmissionRequest;
    use serde_json::json;

    fn v(rule: &str, e: Enforcement) -> Violation {
        Violation {
            rule_id: rule.into(),
            message: format!("{rule} violated"),
            enforcement: e,
        }
    }

    fn req(annotations: serde_json::Value) -> AdmissionRequest {
        AdmissionRequest::for_audit(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "n", "annotations": annotations}}))
    }

    #[test]
    fn deny_lists_every_rule_and_warn_admits() {
        let d = decide(
            &req(json!({})),
            vec![
                v("b", Enforcement::Deny),
                v("a", Enforcement::Deny),
                v("w", Enforcement::Warn),
                v("d", Enforcement::DryRun),
            ],
        );
        assert!(!d.allowed);
        assert_eq!(d.message.as_deref(), Some("[a] a violated\n[b] b violated"));
        assert_eq!(d.warnings, ["[w] w violated"]);
        let d = decide(
            &req(json!({})),
            vec![v("w", Enforcement::Warn), v("d", Enforcement::DryRun)],
        );
        assert!(d.allowed);
        assert_eq!(d.message, None);
        assert_eq!(d.violations.len(), 2);
    }

    #[test]
    fn ignore_annotation_needs_a_reason() {
        let d = decide(
            &req(json!({IGNORE_ANNOTATION: "a legacy app, ticket 42; b"})),
            vec![v("a", Enforcement::Deny), v("b", Enforcement::Deny)],
        );
        assert!(!d.allowed);
        assert_eq!(d.ignored.len(), 1);
        assert_eq!(d.message.as_deref(), Some("[b] b violated"));
        assert!(d.warnings[0].contains("\"b\""), "{:?}", d.warnings);
        let (rules, bad) = parse_ignore_annotation("x: because\ny  reason two\n");
        assert_eq!(rules.into_iter().collect::<Vec<_>>(), ["x", "y"]);
        assert!(bad.is_empty());
    }

    #[test]
    fn exemptions() {
        let ex = Exemptions {
            namespaces: ["kube-system".to_string()].into(),
            users: ["breakglass".to_string()].into(),
            groups: ["system:nodes".to_string()].into(),
        };
        let mut r = req(json!({}));
        assert_eq!(exemption_reason(&ex, &r), None);
        r.namespace = "kube-system".into();
        assert!(exemption_reason(&ex, &r).unwrap().contains("kube-system"));
        r.namespace = "x".into();
        r.groups = vec!["system:nodes".into()];
        assert!(exemption_reason(&ex, &r).unwrap().contains("group"));
        r.groups.clear();
        r.username = "breakglass".into();
        assert!(exemption_reason(&ex, &r).unwrap().contains("user"));
    }
}
