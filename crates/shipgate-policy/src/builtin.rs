//! Running the built-in rules, per-object exemptions, and conversion to report findings.

use crate::object::{K8sObject, path_string};
use crate::rules::{Hit, RuleMeta};
use crate::settings::BuiltinRules;
use crate::yaml::Seg;
use shipgate_report::{Finding, Location, Severity};

/// The scanner name findings carry.
pub const SCANNER: &str = "config";

/// Annotation that exempts one object from rules: `<rule-id> <reason>`, several entries separated
/// by commas or newlines. A Gatekeeper rule id is the constraint's `<Kind>/<name>` or `<Kind>`.
pub const IGNORE_ANNOTATION: &str = "shipgate.dev/ignore";

/// Rule id of the finding reported for a malformed exemption (no reason given).
pub const IGNORE_INVALID_RULE: &str = "k8s-ignore-annotation-invalid";

/// Build a finding about `obj` (whose [`K8sObject::object_ref`] is `object`) at the field
/// `path`.
#[allow(clippy::too_many_arguments)]
pub fn finding_at(
    rule_id: &str,
    title: &str,
    severity: Severity,
    message: String,
    obj: &K8sObject,
    object: &str,
    path: &[Seg],
    remediation: Option<&str>,
) -> Finding {
    let pos = obj.locate(path);
    let field = path_string(path);
    // Stable across line moves: rule, object identity, field (and message for Rego, whose
    // violations have no field).
    let fingerprint = Finding::fingerprint_of(&[rule_id, &obj.path, object, &field]);
    let location = Location {
        path: Some(obj.path.clone()),
        start_line: Some(pos.line),
        start_column: Some(pos.column),
        object: Some(object.to_string()),
        ..Location::default()
    };
    let mut f = Finding::with_fingerprint(
        fingerprint,
        SCANNER,
        rule_id,
        severity,
        title,
        message,
        location,
    );
    f.remediation = remediation.map(str::to_string);
    if !field.is_empty() {
        f.properties
            .insert("field".to_string(), serde_json::Value::String(field));
    }
    f
}

/// Run the selected built-in rules on one object and hand each hit to `sink` with its rule
/// and configured severity (no exemptions applied).
pub fn check_hits(
    rules: &BuiltinRules,
    obj: &K8sObject,
    mut sink: impl FnMut(&RuleMeta, Severity, Hit),
) {
    let mut hits = Vec::new();
    for (rule, severity) in &rules.rules {
        (rule.check)(&rules.options, obj, &mut hits);
        for hit in hits.drain(..) {
            sink(&rule.meta, *severity, hit);
        }
    }
}

/// Run the selected built-in rules on one object (no exemptions applied).
pub fn check_object(rules: &BuiltinRules, obj: &K8sObject, out: &mut Vec<Finding>) {
    let mut object: Option<String> = None;
    check_hits(rules, obj, |meta, severity, hit| {
        let object = object.get_or_insert_with(|| obj.object_ref());
        out.push(finding_at(
            meta.id,
            meta.title,
            severity,
            hit.message,
            obj,
            object,
            &hit.path,
            Some(meta.remediation),
        ));
    });
}

/// One entry of an exemption annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exemption {
    /// The rule id exempted.
    pub rule_id: String,
    /// Why (empty when missing, which is reported).
    pub reason: String,
}

/// Parse the value of [`IGNORE_ANNOTATION`].
pub fn parse_exemptions(value: &str) -> Vec<Exemption> {
    value
        .split([',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|entry| {
            let (id, reason) = entry
                .split_once(char::is_whitespace)
                .map_or((entry, ""), |(a, b)| (a, b.trim()));
            Exemption {
                rule_id: id.to_string(),
                reason: reason.to_string(),
            }
        })
        .collect()
}

/// Apply an object's exemption annotation to its findings. Exempted findings are removed and
/// counted; an entry without a reason exempts nothing and is itself reported.
/// Returns the number of findings removed.
pub fn apply_exemptions(obj: &K8sObject, findings: &mut Vec<Finding>) -> usize {
    let Some(value) = obj.annotation(IGNORE_ANNOTATION) else {
        return 0;
    };
    let entries = parse_exemptions(value);
    let before = findings.len();
    findings.retain(|f| !is_exempt(&entries, &f.rule_id));
    let removed = before - findings.len();
    let path: Vec<Seg> = vec![
        "metadata".into(),
        "annotations".into(),
        IGNORE_ANNOTATION.into(),
    ];
    let object = obj.object_ref();
    for (rule_id, message) in invalid_exemptions(&entries) {
        findings.push(finding_at(
            rule_id,
            "Exemption without a reason",
            Severity::Medium,
            message,
            obj,
            &object,
            &path,
            Some("Write the reason after the rule id: `shipgate.dev/ignore: <rule-id> <why this is acceptable>`."),
        ));
    }
    removed
}

/// Whether a finding of `rule_id` is exempted by one of `entries` (entries without a reason
/// exempt nothing).
pub fn is_exempt(entries: &[Exemption], rule_id: &str) -> bool {
    entries
        .iter()
        .any(|e| !e.reason.is_empty() && rule_matches(&e.rule_id, rule_id))
}

/// The rule id and message reported for each entry that has no reason.
pub fn invalid_exemptions(entries: &[Exemption]) -> impl Iterator<Item = (&'static str, String)> {
    entries.iter().filter(|e| e.reason.is_empty()).map(|e| {
        (
            IGNORE_INVALID_RULE,
            format!(
                "annotation {IGNORE_ANNOTATION} exempts {} without a reason, so the exemption is not applied",
                e.rule_id
            ),
        )
    })
}

/// `K8sRequiredLabels` exempts every constraint of that kind; `K8sRequiredLabels/x` one constraint.
fn rule_matches(entry: &str, rule_id: &str) -> bool {
    entry == rule_id
        || rule_id
            .split_once('/')
            .is_some_and(|(kind, _)| kind == entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exemption_parsing() {
        let e = parse_exemptions("k8s-a reason one, k8s-b\nK8sX/y  the  why ");
        assert_eq!(
            e,
            vec![
                Exemption {
                    rule_id: "k8s-a".into(),
                    reason: "reason one".into()
                },
                Exemption {
                    rule_id: "k8s-b".into(),
                    reason: String::new()
                },
                Exemption {
                    rule_id: "K8sX/y".into(),
                    reason: "the  why".into()
                },
            ]
        );
        assert!(rule_matches("K8sX", "K8sX/y"));
        assert!(!rule_matches("K8sX", "K8sXY/y"));
    }
}
