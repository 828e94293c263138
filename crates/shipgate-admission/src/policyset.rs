//! The production [`Evaluator`]: shipgate-policy's `PolicySet` (built-in rules + Gatekeeper
//! ConstraintTemplates/Constraints), loaded from files and hot-reloaded by the server.

use std::path::PathBuf;
use std::sync::Arc;

use shipgate_policy::{EnforcementAction, PolicySet, PolicySettings};

use crate::policy::{Enforcement, EvalError, Evaluator, PolicyLoadError, PolicyLoader, Violation};
use crate::review::AdmissionRequest;

/// A loaded policy set behind the webhook's [`Evaluator`] seam.
pub struct PolicySetEvaluator {
    set: PolicySet,
    rules: usize,
}

impl std::fmt::Debug for PolicySetEvaluator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicySetEvaluator")
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

fn enforcement(a: EnforcementAction) -> Enforcement {
    match a {
        EnforcementAction::Deny => Enforcement::Deny,
        EnforcementAction::Warn => Enforcement::Warn,
        EnforcementAction::Dryrun => Enforcement::DryRun,
    }
}

impl Evaluator for PolicySetEvaluator {
    fn evaluate(&self, request: &AdmissionRequest) -> Result<Vec<Violation>, EvalError> {
        let found = self
            .set
            .review_request(&request.raw)
            .map_err(|e| EvalError(e.to_string()))?;
        Ok(found
            .into_iter()
            .map(|v| Violation {
                rule_id: v.rule_id,
                message: v.message,
                enforcement: enforcement(v.action),
            })
            .collect())
    }

    fn rule_count(&self) -> usize {
        self.rules
    }
}

/// Loads built-in rules (per `settings`) and every ConstraintTemplate/Constraint under `paths`.
/// Any load error (bad YAML, Rego that does not compile, a constraint without its template)
/// fails the load: at start-up the server refuses to start, on reload the previous set stays.
#[derive(Debug, Clone)]
pub struct PolicySetLoader {
    /// Files and directories with templates and constraints (also watched for changes).
    pub paths: Vec<PathBuf>,
    /// Built-in rule selection; `None` runs Gatekeeper policies only.
    pub settings: Option<PolicySettings>,
}

impl PolicyLoader for PolicySetLoader {
    fn load(&self) -> Result<Arc<dyn Evaluator>, PolicyLoadError> {
        let (mut set, errors) = PolicySet::load(&self.paths);
        if !errors.is_empty() {
            let msgs: Vec<String> = errors.iter().map(ToString::to_string).collect();
            return Err(PolicyLoadError(msgs.join("\n")));
        }
        let mut rules = set.constraints().len();
        if let Some(settings) = &self.settings {
            let builtin = settings
                .resolve()
                .map_err(|e| PolicyLoadError(e.to_string()))?;
            rules += builtin.rules.len();
            set.set_builtin(builtin);
        }
        // One engine set per core is ready before the first request; more are made on demand.
        set.prewarm(std::thread::available_parallelism().map_or(2, usize::from));
        Ok(Arc::new(PolicySetEvaluator { set, rules }))
    }

    fn watch_paths(&self) -> Vec<PathBuf> {
        self.paths.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shared_data() -> Option<PathBuf> {
        let dir = std::env::var_os("SHIPGATE_SHARED_DATA").map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
            PathBuf::from,
        );
        dir.join("gatekeeper-library/library")
            .is_dir()
            .then_some(dir)
    }

    #[test]
    fn gatekeeper_template_and_builtins_through_the_evaluator() {
        let Some(data) = shared_data() else {
            eprintln!(
                "SKIPPED: shared data (gatekeeper-library) not found; set SHIPGATE_SHARED_DATA"
            );
            return;
        };
        let lib = data.join("gatekeeper-library/library/general/block-nodeport-services");
        let loader = PolicySetLoader {
            paths: vec![
                lib.join("template.yaml"),
                lib.join("samples/block-node-port/constraint.yaml"),
            ],
            settings: Some(PolicySettings::default()),
        };
        let ev = loader.load().expect("library template loads");
        assert!(ev.rule_count() > 1);
        let svc = |t: &str| {
            AdmissionRequest::for_audit(json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "s", "namespace": "n"},
                "spec": {"type": t, "ports": [{"port": 80}]}}))
        };
        let v = ev.evaluate(&svc("NodePort")).unwrap();
        assert!(
            v.iter().any(|v| v.enforcement == Enforcement::Deny
                && v.message.to_lowercase().contains("nodeport")),
            "{v:?}"
        );
        assert!(
            ev.evaluate(&svc("ClusterIP"))
                .unwrap()
                .iter()
                .all(|v| !v.message.to_lowercase().contains("nodeport"))
        );
        let pod = AdmissionRequest::for_audit(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "n"},
            "spec": {"containers": [{"name": "c", "image": "nginx:latest", "securityContext": {"privileged": true}}]}}));
        let ids: Vec<String> = ev
            .evaluate(&pod)
            .unwrap()
            .into_iter()
            .map(|v| v.rule_id)
            .collect();
        assert!(
            ids.iter().any(|i| i == "k8s-privileged-container"),
            "{ids:?}"
        );
        assert!(ids.iter().any(|i| i == "k8s-image-latest-tag"), "{ids:?}");
    }

    #[test]
    fn broken_policy_fails_the_load_with_the_file_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.yaml");
        std::fs::write(&p, "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: NoSuchTemplate\nmetadata:\n  name: x\n").unwrap();
        let loader = PolicySetLoader {
            paths: vec![p],
            settings: None,
        };
        let Err(e) = loader.load() else {
            panic!("constraint without template accepted")
        };
        assert!(!e.0.is_empty());
    }
}
