//! User settings for the built-in rules (`config:` in `shipgate.yaml`).

use crate::Severity;
use crate::error::PolicyError;
use crate::rules::{self, Level, Rule, RuleOptions};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which built-in rule set runs. Profiles nest: `baseline` ⊂ `restricted` ⊂ `recommended`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// The Pod Security Standards baseline controls.
    Baseline,
    /// Baseline plus the Pod Security Standards restricted controls.
    Restricted,
    /// Restricted plus good practice (image tags, resources, probes, tokens, RBAC, namespaces).
    #[default]
    Recommended,
}

impl Profile {
    fn includes(self, level: Level) -> bool {
        match level {
            Level::Baseline => true,
            Level::Restricted => self != Profile::Baseline,
            Level::Recommended => self == Profile::Recommended,
            Level::OptIn => false,
        }
    }
}

/// Settings for `scan config` (embedded in `shipgate.yaml` under `config:`).
///
/// ```yaml
/// config:
///   profile: restricted
///   disable: [k8s-probes-missing]
///   enable: [k8s-image-not-pinned]
///   severity: {k8s-image-latest-tag: high}
///   allowed_registries: [registry.example.com, ghcr.io/acme/]
///   require_digest: false
///   forbid_service_types: [NodePort, LoadBalancer]
///   policies: [policy/gatekeeper]
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicySettings {
    /// The rule set (default `recommended`).
    pub profile: Profile,
    /// Rule ids to run in addition to the profile (including opt-in rules).
    pub enable: Vec<String>,
    /// Rule ids not to run.
    pub disable: Vec<String>,
    /// Severity overrides by rule id (built-in ids or Gatekeeper `<Kind>/<name>` ids).
    pub severity: BTreeMap<String, Severity>,
    /// Allowed image registries: a host (`registry.example.com`) or a repository prefix ending in
    /// `/` (`ghcr.io/acme/`). Non-empty enables `k8s-image-registry-not-allowed`.
    pub allowed_registries: Vec<String>,
    /// Require images pinned by digest (enables `k8s-image-not-pinned`).
    pub require_digest: bool,
    /// Service types to forbid (e.g. `NodePort`, `LoadBalancer`); non-empty enables
    /// `k8s-service-type-forbidden`.
    pub forbid_service_types: Vec<String>,
    /// Gatekeeper ConstraintTemplate/Constraint files or directories to load as well.
    pub policies: Vec<String>,
}

/// The built-in rules selected by some settings.
#[derive(Debug, Clone)]
pub struct BuiltinRules {
    /// The rules to run and the severity each reports at.
    pub rules: Vec<(&'static Rule, Severity)>,
    /// Options the rules read.
    pub options: RuleOptions,
    /// Severity overrides for rules that are not built-in (Gatekeeper constraints).
    pub other_severity: BTreeMap<String, Severity>,
}

impl PolicySettings {
    /// Resolve to the rules to run. Unknown rule ids in `enable`/`disable` are errors;
    /// severity overrides for other ids are kept for Gatekeeper constraints.
    pub fn resolve(&self) -> Result<BuiltinRules, PolicyError> {
        for id in self.enable.iter().chain(&self.disable) {
            if rules::by_id(id).is_none() {
                return Err(PolicyError::Settings(format!(
                    "unknown rule id `{id}` in enable/disable; `shipgate policy rules` lists the ids"
                )));
            }
        }
        let mut selected = Vec::new();
        for rule in rules::all() {
            let id = rule.meta.id;
            let mut on = self.profile.includes(rule.meta.level);
            on |= match id {
                "k8s-image-registry-not-allowed" => !self.allowed_registries.is_empty(),
                "k8s-image-not-pinned" => self.require_digest,
                "k8s-service-type-forbidden" => !self.forbid_service_types.is_empty(),
                _ => false,
            };
            on |= self.enable.iter().any(|e| e == id);
            on &= !self.disable.iter().any(|d| d == id);
            if on {
                let sev = self.severity.get(id).copied().unwrap_or(rule.meta.severity);
                selected.push((*rule, sev));
            }
        }
        let other_severity = self
            .severity
            .iter()
            .filter(|(k, _)| rules::by_id(k).is_none())
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        Ok(BuiltinRules {
            rules: selected,
            options: RuleOptions {
                allowed_registries: self.allowed_registries.clone(),
                forbid_service_types: self.forbid_service_types.clone(),
            },
            other_severity,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(s: &PolicySettings) -> Vec<&'static str> {
        s.resolve()
            .expect("valid settings")
            .rules
            .iter()
            .map(|(r, _)| r.meta.id)
            .collect()
    }

    #[test]
    fn profiles_nest_and_options_enable_rules() {
        let base = ids(&PolicySettings {
            profile: Profile::Baseline,
            ..Default::default()
        });
        let restricted = ids(&PolicySettings {
            profile: Profile::Restricted,
            ..Default::default()
        });
        let rec = ids(&PolicySettings::default());
        assert!(base.contains(&"k8s-privileged-container"));
        assert!(!base.contains(&"k8s-run-as-non-root"));
        assert!(restricted.contains(&"k8s-run-as-non-root"));
        assert!(!restricted.contains(&"k8s-image-latest-tag"));
        assert!(rec.contains(&"k8s-image-latest-tag"));
        assert!(base.iter().all(|id| restricted.contains(id)));
        assert!(restricted.iter().all(|id| rec.contains(id)));
        assert!(!rec.contains(&"k8s-image-registry-not-allowed"));
        let with = ids(&PolicySettings {
            allowed_registries: vec!["r.example.com".into()],
            require_digest: true,
            disable: vec!["k8s-probes-missing".into()],
            ..Default::default()
        });
        assert!(with.contains(&"k8s-image-registry-not-allowed"));
        assert!(with.contains(&"k8s-image-not-pinned"));
        assert!(!with.contains(&"k8s-probes-missing"));
    }

    #[test]
    fn severity_overrides_and_unknown_ids() {
        let yaml = "profile: baseline\nseverity: {k8s-privileged-container: critical, K8sRequiredLabels/x: low}\n";
        let s: PolicySettings = serde_saphyr_free_parse(yaml);
        let r = s.resolve().expect("valid");
        let (_, sev) = r
            .rules
            .iter()
            .find(|(r, _)| r.meta.id == "k8s-privileged-container")
            .expect("enabled");
        assert_eq!(*sev, Severity::Critical);
        assert_eq!(
            r.other_severity.get("K8sRequiredLabels/x"),
            Some(&Severity::Low)
        );
        let bad = PolicySettings {
            enable: vec!["k8s-nope".into()],
            ..Default::default()
        };
        assert!(bad.resolve().is_err());
    }

    /// Settings come from YAML in `shipgate.yaml`; go through our own YAML reader and serde_json.
    fn serde_saphyr_free_parse(yaml: &str) -> PolicySettings {
        let (docs, errors) = crate::yaml::parse_stream(yaml);
        assert!(errors.is_empty());
        serde_json::from_value(docs[0].value.clone()).expect("settings deserialize")
    }
}
