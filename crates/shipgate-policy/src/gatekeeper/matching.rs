//! Gatekeeper constraint `match` semantics: kinds, scope, namespaces, excludedNamespaces, name,
//! labelSelector, namespaceSelector.

use serde_json::{Map, Value};

/// A label selector (`matchLabels` + `matchExpressions`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selector {
    match_labels: Vec<(String, String)>,
    expressions: Vec<(String, String, Vec<String>)>,
}

impl Selector {
    /// Parse a selector; `None` for an invalid one (reported by the caller).
    pub fn parse(v: &Value) -> Result<Selector, String> {
        let mut s = Selector::default();
        if let Some(ml) = v.get("matchLabels") {
            let m = ml.as_object().ok_or("matchLabels must be a mapping")?;
            for (k, v) in m {
                let v = v.as_str().ok_or("matchLabels values must be strings")?;
                s.match_labels.push((k.clone(), v.to_string()));
            }
        }
        if let Some(me) = v.get("matchExpressions") {
            let list = me.as_array().ok_or("matchExpressions must be a list")?;
            for e in list {
                let key = e
                    .get("key")
                    .and_then(Value::as_str)
                    .ok_or("matchExpressions[].key missing")?;
                let op = e
                    .get("operator")
                    .and_then(Value::as_str)
                    .ok_or("matchExpressions[].operator missing")?;
                if !matches!(op, "In" | "NotIn" | "Exists" | "DoesNotExist") {
                    return Err(format!("unknown matchExpressions operator {op}"));
                }
                let values = e
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                s.expressions
                    .push((key.to_string(), op.to_string(), values));
            }
        }
        Ok(s)
    }

    /// Does a label set match?
    pub fn matches(&self, labels: Option<&Map<String, Value>>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.match_labels
            .iter()
            .all(|(k, v)| get(k) == Some(v.as_str()))
            && self
                .expressions
                .iter()
                .all(|(k, op, values)| match op.as_str() {
                    "In" => get(k).is_some_and(|v| values.iter().any(|x| x == v)),
                    "NotIn" => get(k).is_none_or(|v| !values.iter().any(|x| x == v)),
                    "Exists" => get(k).is_some(),
                    _ => get(k).is_none(),
                })
    }
}

/// Which objects a constraint applies to.
#[derive(Debug, Clone, Default)]
pub struct Match {
    kinds: Vec<(Vec<String>, Vec<String>)>,
    scope: String,
    namespaces: Vec<String>,
    excluded_namespaces: Vec<String>,
    name: Option<String>,
    label_selector: Option<Selector>,
    namespace_selector: Option<Selector>,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Gatekeeper's wildcard: a leading and/or trailing `*` (prefix/suffix match).
fn wildcard(pattern: &str, s: &str) -> bool {
    match (pattern.strip_prefix('*'), pattern.strip_suffix('*')) {
        _ if pattern == "*" => true,
        (Some(rest), _) if rest.ends_with('*') => s.contains(&rest[..rest.len() - 1]),
        (Some(suffix), _) => s.ends_with(suffix),
        (None, Some(prefix)) => s.starts_with(prefix),
        (None, None) => pattern == s,
    }
}

impl Match {
    /// Parse `spec.match`.
    pub fn parse(v: Option<&Value>) -> Result<Match, String> {
        let Some(v) = v.filter(|v| !v.is_null()) else {
            return Ok(Match {
                scope: "*".into(),
                ..Match::default()
            });
        };
        let mut m = Match {
            scope: v
                .get("scope")
                .and_then(Value::as_str)
                .unwrap_or("*")
                .to_string(),
            namespaces: strings(v.get("namespaces")),
            excluded_namespaces: strings(v.get("excludedNamespaces")),
            name: v.get("name").and_then(Value::as_str).map(str::to_string),
            ..Match::default()
        };
        if !matches!(m.scope.as_str(), "*" | "Cluster" | "Namespaced") {
            return Err(format!(
                "match.scope must be *, Cluster or Namespaced, not {}",
                m.scope
            ));
        }
        if let Some(kinds) = v.get("kinds").and_then(Value::as_array) {
            for k in kinds {
                m.kinds
                    .push((strings(k.get("apiGroups")), strings(k.get("kinds"))));
            }
        }
        if let Some(s) = v.get("labelSelector") {
            m.label_selector =
                Some(Selector::parse(s).map_err(|e| format!("match.labelSelector: {e}"))?);
        }
        if let Some(s) = v.get("namespaceSelector") {
            m.namespace_selector =
                Some(Selector::parse(s).map_err(|e| format!("match.namespaceSelector: {e}"))?);
        }
        Ok(m)
    }

    /// Does the constraint apply to this review? `namespace_labels` looks up a Namespace's labels
    /// (from the inventory) for `namespaceSelector`.
    pub fn matches(
        &self,
        review: &Value,
        namespace_labels: &dyn Fn(&str) -> Option<Map<String, Value>>,
    ) -> bool {
        let obj = review
            .get("object")
            .filter(|o| o.is_object())
            .or_else(|| review.get("oldObject").filter(|o| o.is_object()));
        let Some(obj) = obj else { return false };
        let group = review
            .pointer("/kind/group")
            .and_then(Value::as_str)
            .unwrap_or("");
        let kind = review
            .pointer("/kind/kind")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !self.kinds.is_empty()
            && !self.kinds.iter().any(|(groups, kinds)| {
                (groups.is_empty() || groups.iter().any(|g| g == "*" || g == group))
                    && (kinds.is_empty() || kinds.iter().any(|k| k == "*" || k == kind))
            })
        {
            return false;
        }
        let ns = obj
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .or_else(|| {
                review
                    .get("namespace")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
            });
        let is_namespace = kind == "Namespace" && group.is_empty();
        let name = obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        // The namespace the object belongs to (a Namespace belongs to itself).
        let effective_ns = if is_namespace { Some(name) } else { ns };
        match self.scope.as_str() {
            "Cluster" if ns.is_some() => return false,
            "Namespaced" if ns.is_none() => return false,
            _ => {}
        }
        if !self.namespaces.is_empty() {
            if let Some(n) = effective_ns {
                if !self.namespaces.iter().any(|p| wildcard(p, n)) {
                    return false;
                }
            }
        }
        if let Some(n) = effective_ns {
            if self.excluded_namespaces.iter().any(|p| wildcard(p, n)) {
                return false;
            }
        }
        if let Some(pattern) = &self.name {
            if !wildcard(pattern, name) {
                return false;
            }
        }
        if let Some(sel) = &self.label_selector {
            if !sel.matches(obj.pointer("/metadata/labels").and_then(Value::as_object)) {
                return false;
            }
        }
        if let Some(sel) = &self.namespace_selector {
            if is_namespace {
                if !sel.matches(obj.pointer("/metadata/labels").and_then(Value::as_object)) {
                    return false;
                }
            } else if let Some(n) = ns {
                let labels = review
                    .pointer("/namespaceObject/metadata/labels")
                    .and_then(Value::as_object)
                    .cloned()
                    .or_else(|| namespace_labels(n));
                if !sel.matches(labels.as_ref()) {
                    return false;
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn review(obj: Value, group: &str, kind: &str) -> Value {
        json!({"kind": {"group": group, "version": "v1", "kind": kind}, "object": obj})
    }

    #[test]
    fn kinds_namespaces_and_selectors() {
        let m = Match::parse(Some(&json!({
            "kinds": [{"apiGroups": [""], "kinds": ["Pod"]}],
            "namespaces": ["prod-*"],
            "excludedNamespaces": ["prod-skip"],
            "labelSelector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}]},
            "namespaceSelector": {"matchLabels": {"env": "prod"}}
        })))
        .expect("valid");
        let ns = |n: &str| {
            (n == "prod-a")
                .then(|| json!({"env": "prod"}).as_object().cloned())
                .flatten()
        };
        let pod = |ns: &str, tier: &str| {
            review(
                json!({"metadata": {"name": "p", "namespace": ns, "labels": {"tier": tier}}}),
                "",
                "Pod",
            )
        };
        assert!(m.matches(&pod("prod-a", "web"), &ns));
        assert!(!m.matches(&pod("prod-a", "db"), &ns));
        assert!(!m.matches(&pod("dev", "web"), &ns));
        assert!(!m.matches(&pod("prod-skip", "web"), &ns));
        assert!(
            !m.matches(&pod("prod-b", "web"), &ns),
            "namespace labels unknown"
        );
        let dep = review(
            json!({"metadata": {"name": "d", "namespace": "prod-a"}}),
            "apps",
            "Deployment",
        );
        assert!(!m.matches(&dep, &ns));
    }

    #[test]
    fn scope_and_name() {
        let m = Match::parse(Some(&json!({"scope": "Cluster", "name": "kube-*"}))).expect("valid");
        let none = |_: &str| None;
        assert!(m.matches(
            &review(json!({"metadata": {"name": "kube-x"}}), "", "Namespace"),
            &none
        ));
        assert!(!m.matches(
            &review(json!({"metadata": {"name": "other"}}), "", "Namespace"),
            &none
        ));
        assert!(!m.matches(
            &review(
                json!({"metadata": {"name": "kube-x", "namespace": "a"}}),
                "",
                "Pod"
            ),
            &none
        ));
        assert!(Match::parse(Some(&json!({"scope": "Weird"}))).is_err());
    }
}
