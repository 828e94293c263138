//! A loaded set of policies (built-in rules + Gatekeeper templates and constraints) and its
//! evaluation: over manifests for CI, and over one AdmissionReview request for the webhook.
//!
//! Expected flow: `PolicySet::load(paths)` once (templates compiled there), then either
//! [`PolicySet::scan`] for manifests or [`PolicySet::review_request`] per admission request.
//!
//! Guarantees: templates are compiled once; evaluation takes `&self` and the set is
//! `Send + Sync` (prepared Rego engines are cloned into a small pool per thread of use);
//! evaluation errors are returned, never treated as a pass.

use crate::builtin::{self, apply_exemptions, check_hits, check_object, finding_at};
use crate::error::PolicyError;
use crate::gatekeeper::{
    self, Constraint, EnforcementAction, Inventory, Template, TemplateProgram, is_constraint,
    is_template, review_for_object, review_from_request,
};
use crate::kinds;
use crate::load::{Loaded, load_paths};
use crate::object::K8sObject;
use crate::settings::BuiltinRules;
use serde_json::Value;
use shipgate_report::{Finding, ScanError, ScanOutput, Severity};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// One violation of one policy by one object or request.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Violation {
    /// Built-in rule id, or `<ConstraintKind>/<constraint name>` for Gatekeeper.
    pub rule_id: String,
    /// The message.
    pub message: String,
    /// What to do with it.
    pub action: EnforcementAction,
    /// Gatekeeper `details` (null for built-ins).
    pub details: Value,
}

/// Built-in rules, templates and constraints, ready to evaluate.
pub struct PolicySet {
    builtin: Option<BuiltinRules>,
    builtin_action: EnforcementAction,
    templates: Vec<Arc<Template>>,
    by_kind: HashMap<String, usize>,
    constraints: Vec<Constraint>,
    /// Prepared engines (no inventory) for admission requests, one vector per user at a time.
    pool: Mutex<Vec<Engines>>,
}

impl std::fmt::Debug for PolicySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicySet")
            .field(
                "builtin_rules",
                &self.builtin.as_ref().map_or(0, |b| b.rules.len()),
            )
            .field("templates", &self.templates.len())
            .field("constraints", &self.constraints.len())
            .finish()
    }
}

/// Per-template engines with a given `data` document; lazily cloned from the templates.
struct Engines {
    engines: Vec<Option<regorus::Engine>>,
}

impl Default for PolicySet {
    fn default() -> Self {
        PolicySet {
            builtin: None,
            builtin_action: EnforcementAction::Deny,
            templates: Vec::new(),
            by_kind: HashMap::new(),
            constraints: Vec::new(),
            pool: Mutex::new(Vec::new()),
        }
    }
}

/// The result of scanning manifests.
#[derive(Debug, Default)]
pub struct ScanResult {
    /// Findings (exemptions applied).
    pub findings: Vec<Finding>,
    /// Errors (evaluation failures).
    pub errors: Vec<PolicyError>,
    /// Number of findings removed by `shipgate.dev/ignore` annotations.
    pub exempted: usize,
}

impl PolicySet {
    /// An empty set (no built-ins, no templates).
    pub fn new() -> Self {
        PolicySet::default()
    }

    /// Load ConstraintTemplates and Constraints from files and directories. Other objects are
    /// ignored. Returns every error (bad YAML, Rego that does not compile, constraints naming
    /// a missing template) alongside what could be loaded.
    pub fn load<P: AsRef<Path>>(paths: &[P]) -> (PolicySet, Vec<PolicyError>) {
        let loaded = load_paths(paths);
        let mut set = PolicySet::new();
        let errors = set.add_objects(loaded);
        (set, errors)
    }

    /// Add templates and constraints from already loaded objects; returns the errors.
    pub fn add_objects(&mut self, loaded: Loaded) -> Vec<PolicyError> {
        let mut errors = loaded.errors;
        let (templates, rest): (Vec<_>, Vec<_>) = loaded.objects.into_iter().partition(is_template);
        for t in &templates {
            if let Err(e) = self.add_template(t) {
                errors.push(e);
            }
        }
        for c in rest.iter().filter(|o| is_constraint(o)) {
            if let Err(e) = self.add_constraint(c) {
                errors.push(e);
            }
        }
        errors
    }

    /// Compile and add one ConstraintTemplate.
    pub fn add_template(&mut self, obj: &K8sObject) -> Result<(), PolicyError> {
        let t = gatekeeper::parse_template(obj).map_err(|message| PolicyError::Policy {
            path: obj.path.clone(),
            line: obj.line(),
            message: format!("ConstraintTemplate {}: {message}", obj.name()),
        })?;
        if let Some(&i) = self.by_kind.get(&t.kind) {
            let prev = &self.templates[i];
            return Err(PolicyError::Policy {
                path: obj.path.clone(),
                line: obj.line(),
                message: format!(
                    "ConstraintTemplate {} defines kind {} already defined at {}:{}",
                    t.name, t.kind, prev.path, prev.line
                ),
            });
        }
        self.by_kind.insert(t.kind.clone(), self.templates.len());
        self.templates.push(Arc::new(t));
        self.reset_pool();
        Ok(())
    }

    /// Add one Constraint (its template must be loaded first).
    pub fn add_constraint(&mut self, obj: &K8sObject) -> Result<(), PolicyError> {
        let err = |message: String| PolicyError::Policy {
            path: obj.path.clone(),
            line: obj.line(),
            message,
        };
        if !self.by_kind.contains_key(obj.kind()) {
            return Err(err(format!(
                "constraint {} {} names kind {} but no ConstraintTemplate defines it; pass the template with --policy",
                obj.kind(),
                obj.name(),
                obj.kind()
            )));
        }
        let c = gatekeeper::parse_constraint(obj)
            .map_err(|m| err(format!("constraint {}/{}: {m}", obj.kind(), obj.name())))?;
        self.constraints.push(c);
        Ok(())
    }

    /// Enable built-in rules.
    pub fn set_builtin(&mut self, rules: BuiltinRules) {
        self.builtin = Some(rules);
    }

    /// The enforcement action reported for built-in rule violations at admission (default deny).
    pub fn set_builtin_action(&mut self, action: EnforcementAction) {
        self.builtin_action = action;
    }

    /// The loaded templates.
    pub fn templates(&self) -> &[Arc<Template>] {
        &self.templates
    }

    /// The loaded constraints.
    pub fn constraints(&self) -> &[Constraint] {
        &self.constraints
    }

    fn reset_pool(&mut self) {
        if let Ok(mut p) = self.pool.lock() {
            p.clear();
        }
    }

    /// Prepare `n` sets of admission engines up front (one per evaluation that may run at
    /// once), so the first concurrent requests after a (re)load do not pay for cloning the
    /// compiled templates. Errors are left for evaluation to report.
    pub fn prewarm(&self, n: usize) {
        let sets: Vec<Engines> = (0..n.min(64))
            .map(|_| Engines {
                engines: self
                    .templates
                    .iter()
                    .map(|t| match &t.program {
                        TemplateProgram::Rego(p) => p.engine_with_data(&Value::Null).ok(),
                        TemplateProgram::Cel(_) => None,
                    })
                    .collect(),
            })
            .collect();
        if let Ok(mut p) = self.pool.lock() {
            p.extend(sets);
            p.truncate(64);
        }
    }

    fn fresh_engines(&self) -> Engines {
        Engines {
            engines: (0..self.templates.len()).map(|_| None).collect(),
        }
    }

    /// Evaluate the constraints on one review, using `engines` (with the data document
    /// `data`). Returns (constraint index, violation message, details) triples.
    fn eval_constraints(
        &self,
        review: &Value,
        inventory: &Inventory,
        data: &Value,
        engines: &mut Engines,
    ) -> Result<Vec<(usize, String, Value)>, PolicyError> {
        let mut out = Vec::new();
        let mut review_rego: Option<regorus::Value> = None;
        for (ci, c) in self.constraints.iter().enumerate() {
            if !c
                .matcher
                .matches(review, &|ns| inventory.namespace_labels(ns))
            {
                continue;
            }
            let Some(&ti) = self.by_kind.get(&c.kind) else {
                continue;
            };
            let t = &self.templates[ti];
            let eval_err = |message: String| PolicyError::Eval {
                template: t.name.clone(),
                message,
            };
            match &t.program {
                TemplateProgram::Rego(p) => {
                    let slot = &mut engines.engines[ti];
                    if slot.is_none() {
                        *slot = Some(p.engine_with_data(data).map_err(eval_err)?);
                    }
                    let Some(engine) = slot.as_mut() else {
                        continue;
                    };
                    let rv = review_rego
                        .get_or_insert_with(|| gatekeeper::rego::to_rego(review))
                        .clone();
                    let mut input = regorus::Value::new_object();
                    if let Ok(m) = input.as_object_mut() {
                        m.insert(regorus::Value::from("review"), rv);
                        m.insert(
                            regorus::Value::from("parameters"),
                            c.parameters_rego.clone(),
                        );
                    }
                    for v in p.eval(engine, input).map_err(eval_err)? {
                        let msg = v
                            .get("msg")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string();
                        let details = v.get("details").cloned().unwrap_or(Value::Null);
                        out.push((ci, msg, details));
                    }
                }
                TemplateProgram::Cel(p) => {
                    for msg in p.eval(review, &c.parameters).map_err(eval_err)? {
                        out.push((ci, msg, Value::Null));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Evaluate one AdmissionReview `request` (the `request` field of an AdmissionReview, as
    /// JSON): built-in rules on the object, then every matching constraint. Thread-safe; engines
    /// are taken from an internal pool.
    pub fn review_request(&self, request: &Value) -> Result<Vec<Violation>, PolicyError> {
        let mut review = review_from_request(request).map_err(PolicyError::Request)?;
        let mut out = Vec::new();
        if let Some(rules) = &self.builtin {
            let delete = review.get("operation").and_then(Value::as_str) == Some("DELETE");
            if !delete && let Some(slot) = review.get_mut("object").filter(|o| o.is_object()) {
                // Admission needs rule ids and messages only: no positions, fingerprints or
                // report findings are built here. The object is borrowed out of the review
                // (and put back below) rather than copied.
                let k = K8sObject::from_value(slot.take(), "request");
                let entries = k
                    .annotation(builtin::IGNORE_ANNOTATION)
                    .map(builtin::parse_exemptions)
                    .unwrap_or_default();
                let action = self.builtin_action;
                check_hits(rules, &k, |meta, _, hit| {
                    if !builtin::is_exempt(&entries, meta.id) {
                        out.push(Violation {
                            rule_id: meta.id.to_string(),
                            message: hit.message,
                            action,
                            details: Value::Null,
                        });
                    }
                });
                out.extend(
                    builtin::invalid_exemptions(&entries).map(|(rule_id, message)| Violation {
                        rule_id: rule_id.to_string(),
                        message,
                        action,
                        details: Value::Null,
                    }),
                );
                *slot = k.value;
            }
        }
        if self.constraints.is_empty() {
            return Ok(out);
        }
        let mut engines = self
            .pool
            .lock()
            .ok()
            .and_then(|mut p| p.pop())
            .unwrap_or_else(|| self.fresh_engines());
        let empty = Inventory::default();
        let result = self.eval_constraints(&review, &empty, &Value::Null, &mut engines);
        if let Ok(mut p) = self.pool.lock()
            && p.len() < 64
        {
            p.push(engines);
        }
        for (ci, message, details) in result? {
            let c = &self.constraints[ci];
            out.push(Violation {
                rule_id: c.rule_id(),
                message,
                action: c.action,
                details,
            });
        }
        Ok(out)
    }

    /// Evaluate a bare object or AdmissionReview against the constraints only, with an
    /// inventory (used by `policy verify`).
    pub fn review_value(
        &self,
        value: &Value,
        inventory: &Inventory,
    ) -> Result<Vec<Violation>, PolicyError> {
        let review = if gatekeeper::is_admission_review(value) {
            let req = value
                .get("request")
                .ok_or_else(|| PolicyError::Request("AdmissionReview has no request".into()))?;
            review_from_request(req).map_err(PolicyError::Request)?
        } else {
            review_for_object(value)
        };
        let data = inventory.data();
        let mut engines = self.fresh_engines();
        let found = self.eval_constraints(&review, inventory, &data, &mut engines)?;
        Ok(found
            .into_iter()
            .map(|(ci, message, details)| {
                let c = &self.constraints[ci];
                Violation {
                    rule_id: c.rule_id(),
                    message,
                    action: c.action,
                    details,
                }
            })
            .collect())
    }

    /// Scan manifests: built-in rules and constraints on every object, with all objects as the
    /// Gatekeeper inventory. Exemption annotations are applied.
    pub fn scan(&self, objects: &[K8sObject]) -> ScanResult {
        let mut result = ScanResult::default();
        // The inventory is only needed by constraints; building it copies every object.
        let inventory = if self.constraints.is_empty() {
            Inventory::default()
        } else {
            Inventory::from_objects(objects.iter().map(|o| &o.value))
        };
        let data = inventory.data();
        let mut engines = self.fresh_engines();
        let other_severity = self.builtin.as_ref().map(|b| &b.other_severity);
        for obj in objects {
            let mut findings = Vec::new();
            let mut object_ref: Option<String> = None;
            if let Some(rules) = &self.builtin {
                check_object(rules, obj, &mut findings);
            }
            if !self.constraints.is_empty() {
                let review = review_for_object(&obj.value);
                match self.eval_constraints(&review, &inventory, &data, &mut engines) {
                    Ok(found) => {
                        for (ci, message, _details) in found {
                            let c = &self.constraints[ci];
                            let rule_id = c.rule_id();
                            let severity = other_severity
                                .and_then(|m| m.get(&rule_id).or_else(|| m.get(&c.kind)))
                                .copied()
                                .unwrap_or(match c.action {
                                    EnforcementAction::Deny => Severity::High,
                                    EnforcementAction::Warn => Severity::Medium,
                                    EnforcementAction::Dryrun => Severity::Info,
                                });
                            let object = object_ref.get_or_insert_with(|| obj.object_ref());
                            let mut f = finding_at(
                                &rule_id,
                                &c.kind,
                                severity,
                                message.clone(),
                                obj,
                                object,
                                &[],
                                None,
                            );
                            f.fingerprint =
                                Finding::fingerprint_of(&[&rule_id, &obj.path, object, &message]);
                            f.properties.insert(
                                "enforcement_action".into(),
                                Value::String(c.action.as_str().into()),
                            );
                            f.properties.insert(
                                "constraint".into(),
                                Value::String(format!("{}:{}", c.path, c.line)),
                            );
                            findings.push(f);
                        }
                    }
                    Err(e) => result.errors.push(PolicyError::Policy {
                        path: obj.path.clone(),
                        line: obj.line(),
                        message: format!("{}: {e}", obj.object_ref()),
                    }),
                }
            }
            result.exempted += apply_exemptions(obj, &mut findings);
            result.findings.extend(findings);
        }
        result
    }
}

/// Convert crate errors to report errors.
pub fn to_scan_error(e: &PolicyError) -> ScanError {
    ScanError::at(
        e.path().unwrap_or_default(),
        e.line(),
        e.column(),
        e.detail(),
    )
}

/// `scan config`: load manifests from `paths` (`-` for stdin), evaluate built-ins and the
/// policy set, and return the report model's output (findings, errors, notes).
pub fn scan_config<P: AsRef<Path>>(paths: &[P], policy: &PolicySet) -> ScanOutput {
    let mut loaded = load_paths(paths);
    let mut out = ScanOutput::default();
    // A kind the API server does not serve in its (built-in) group would be rejected at apply
    // time, and no rule would look at it: an error, not a silent pass.
    let mut custom: std::collections::BTreeMap<String, usize> = Default::default();
    loaded.objects.retain(|o| match kinds::check(o.group(), o.kind()) {
        kinds::KindCheck::Known => true,
        kinds::KindCheck::CustomGroup => {
            *custom
                .entry(format!("{} {}", o.api_version(), o.kind()))
                .or_default() += 1;
            true
        }
        kinds::KindCheck::Unknown { suggestion } => {
            let group = if o.group().is_empty() {
                "the core API group".to_string()
            } else {
                format!("API group `{}`", o.group())
            };
            let hint = suggestion.map_or(String::new(), |s| format!(" (did you mean `{s}`?)"));
            let start = o.pos.pos();
            loaded.errors.push(PolicyError::Parse {
                path: o.path.clone(),
                line: start.line,
                column: start.column,
                message: format!(
                    "unknown kind `{}` in {group}{hint}: the API server would reject this object, and no rule checked it",
                    o.kind()
                ),
            });
            false
        }
    });
    out.errors.extend(loaded.errors.iter().map(to_scan_error));
    let result = policy.scan(&loaded.objects);
    out.errors.extend(result.errors.iter().map(to_scan_error));
    out.findings = result.findings;
    out.notes.push(format!(
        "{} objects checked against {} built-in rules and {} Gatekeeper constraints",
        loaded.objects.len(),
        policy.builtin.as_ref().map_or(0, |b| b.rules.len()),
        policy.constraints.len()
    ));
    if !custom.is_empty() {
        let n: usize = custom.values().sum();
        let list: Vec<String> = custom.iter().map(|(k, c)| format!("{k} ×{c}")).collect();
        out.notes.push(format!(
            "{n} objects of custom resource kinds ({}) are checked by Gatekeeper constraints only; built-in rules do not know their schema",
            list.join(", ")
        ));
    }
    if result.exempted > 0 {
        out.notes.push(format!(
            "{} findings exempted by {} annotations",
            result.exempted,
            builtin::IGNORE_ANNOTATION
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_kinds_are_errors_and_custom_kinds_are_noted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("m.yaml");
        std::fs::write(
            &f,
            "apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: a}\n---\napiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: c}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: m}\n",
        )
        .expect("write");
        let mut set = PolicySet::new();
        set.set_builtin(
            crate::PolicySettings::default()
                .resolve()
                .expect("settings"),
        );
        let out = scan_config(&[&f], &set);
        assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
        assert_eq!(out.errors[0].line, Some(1));
        assert!(
            out.errors[0].message.contains("unknown kind `Deploymnet`")
                && out.errors[0].message.contains("did you mean `Deployment`?"),
            "{}",
            out.errors[0].message
        );
        assert!(
            out.notes
                .iter()
                .any(|n| n.contains("cert-manager.io/v1 Certificate ×1")),
            "{:?}",
            out.notes
        );
        assert!(out.notes.iter().any(|n| n.starts_with("2 objects checked")));
    }

    #[test]
    fn policy_set_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<PolicySet>();
    }
}
