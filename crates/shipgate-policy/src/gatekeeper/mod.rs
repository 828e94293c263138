//! Gatekeeper semantics: ConstraintTemplates (Rego and CEL), Constraints, `data.inventory`, and
//! AdmissionReview-shaped input.

pub mod cel;
pub mod matching;
pub mod normalize;
pub mod rego;

use crate::object::{K8sObject, split_api_version};
use matching::Match;
use serde_json::{Map, Value, json};

/// The admission target every library template uses.
pub const TARGET: &str = "admission.k8s.gatekeeper.sh";

/// What happens when a constraint is violated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnforcementAction {
    /// Reject the request (and fail CI).
    Deny,
    /// Admit with a warning.
    Warn,
    /// Record only.
    Dryrun,
}

impl EnforcementAction {
    /// Parse Gatekeeper's spelling (`deny`, `warn`, `dryrun`).
    pub fn parse(s: &str) -> Option<EnforcementAction> {
        match s {
            "deny" => Some(EnforcementAction::Deny),
            "warn" => Some(EnforcementAction::Warn),
            "dryrun" => Some(EnforcementAction::Dryrun),
            _ => None,
        }
    }

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            EnforcementAction::Deny => "deny",
            EnforcementAction::Warn => "warn",
            EnforcementAction::Dryrun => "dryrun",
        }
    }
}

/// The program of a template.
#[derive(Debug, Clone)]
pub enum TemplateProgram {
    /// Rego (regorus).
    Rego(Box<rego::RegoProgram>),
    /// CEL (`K8sNativeValidation`).
    Cel(cel::CelProgram),
}

/// A loaded ConstraintTemplate.
#[derive(Debug, Clone)]
pub struct Template {
    /// `metadata.name`.
    pub name: String,
    /// The constraint kind it defines (`spec.crd.spec.names.kind`).
    pub kind: String,
    /// Source file.
    pub path: String,
    /// Line of the template object.
    pub line: u32,
    /// Compiled program.
    pub program: TemplateProgram,
}

/// A loaded Constraint.
#[derive(Debug, Clone)]
pub struct Constraint {
    /// The kind (a template's constraint kind).
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// Source file.
    pub path: String,
    /// Line of the constraint object.
    pub line: u32,
    /// `spec.parameters` (an empty object when absent).
    pub parameters: Value,
    /// The same parameters as a Rego value, converted once at load time.
    pub parameters_rego: regorus::Value,
    /// `spec.enforcementAction` (default deny).
    pub action: EnforcementAction,
    /// `spec.match`.
    pub matcher: Match,
}

impl Constraint {
    /// The rule id findings and violations carry: `<Kind>/<name>`.
    pub fn rule_id(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
}

/// Is this object a ConstraintTemplate?
pub fn is_template(obj: &K8sObject) -> bool {
    obj.kind() == "ConstraintTemplate" && obj.group() == "templates.gatekeeper.sh"
}

/// Is this object a Constraint?
pub fn is_constraint(obj: &K8sObject) -> bool {
    obj.group() == "constraints.gatekeeper.sh"
}

fn str_list(v: Option<&Value>) -> Result<Vec<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| "libs must be strings".to_string())
            })
            .collect(),
        Some(_) => Err("libs must be a list of strings".to_string()),
    }
}

/// Parse and compile a ConstraintTemplate. With both a Rego and a CEL engine in `code`, Rego is
/// used (its semantics are the ones the library's suites were written against).
pub fn parse_template(obj: &K8sObject) -> Result<Template, String> {
    let v = &obj.value;
    let name = obj.name().to_string();
    let kind = v
        .pointer("/spec/crd/spec/names/kind")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or("ConstraintTemplate has no spec.crd.spec.names.kind")?
        .to_string();
    let targets = v
        .pointer("/spec/targets")
        .and_then(Value::as_array)
        .ok_or("ConstraintTemplate has no spec.targets")?;
    let target = targets
        .iter()
        .find(|t| {
            t.get("target")
                .and_then(Value::as_str)
                .is_none_or(|t| t == TARGET)
        })
        .ok_or_else(|| format!("ConstraintTemplate has no target {TARGET}"))?;
    let mut rego_src: Option<(String, Vec<String>)> = None;
    let mut cel_src: Option<&Value> = None;
    let mut unknown = Vec::new();
    if let Some(r) = target.get("rego").and_then(Value::as_str) {
        rego_src = Some((r.to_string(), str_list(target.get("libs"))?));
    }
    for code in target
        .get("code")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let engine = code.get("engine").and_then(Value::as_str).unwrap_or("");
        let source = code.get("source").unwrap_or(&Value::Null);
        match engine {
            "Rego" => {
                if rego_src.is_none() {
                    let r = source
                        .get("rego")
                        .and_then(Value::as_str)
                        .ok_or("code engine Rego has no source.rego")?;
                    rego_src = Some((r.to_string(), str_list(source.get("libs"))?));
                }
            }
            "K8sNativeValidation" => cel_src = Some(source),
            other => unknown.push(other.to_string()),
        }
    }
    let program = if let Some((rego, libs)) = rego_src {
        TemplateProgram::Rego(Box::new(rego::RegoProgram::compile(&rego, &libs, &name)?))
    } else if let Some(src) = cel_src {
        TemplateProgram::Cel(cel::CelProgram::compile(src)?)
    } else if !unknown.is_empty() {
        return Err(format!(
            "unsupported template engine(s): {}",
            unknown.join(", ")
        ));
    } else {
        return Err("ConstraintTemplate target has neither rego nor code".to_string());
    };
    Ok(Template {
        name,
        kind,
        path: obj.path.clone(),
        line: obj.line(),
        program,
    })
}

/// Parse a Constraint object.
pub fn parse_constraint(obj: &K8sObject) -> Result<Constraint, String> {
    let v = &obj.value;
    let action_str = v
        .pointer("/spec/enforcementAction")
        .and_then(Value::as_str)
        .unwrap_or("deny");
    let action = EnforcementAction::parse(action_str).ok_or_else(|| {
        format!("unknown enforcementAction `{action_str}`; use deny, warn or dryrun")
    })?;
    let parameters = v
        .pointer("/spec/parameters")
        .filter(|p| !p.is_null())
        .cloned()
        .unwrap_or_else(|| json!({}));
    let matcher = Match::parse(v.pointer("/spec/match"))?;
    Ok(Constraint {
        kind: obj.kind().to_string(),
        name: obj.name().to_string(),
        path: obj.path.clone(),
        line: obj.line(),
        parameters_rego: rego::to_rego(&parameters),
        parameters,
        action,
        matcher,
    })
}

/// Gatekeeper's `data.inventory`: cluster objects under
/// `cluster[<groupversion>][<kind>][<name>]` and namespaced ones under
/// `namespace[<ns>][<groupversion>][<kind>][<name>]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inventory {
    root: Map<String, Value>,
}

impl Inventory {
    /// Add one object.
    pub fn add(&mut self, obj: &Value) {
        let gv = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
        let name = obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        if gv.is_empty() || kind.is_empty() || name.is_empty() {
            return;
        }
        let ns = obj
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let mut node = match ns {
            Some(ns) => entry(entry(&mut self.root, "namespace"), ns),
            None => entry(&mut self.root, "cluster"),
        };
        node = entry(entry(node, gv), kind);
        node.insert(name.to_string(), obj.clone());
    }

    /// Build from objects.
    pub fn from_objects<'a>(objects: impl IntoIterator<Item = &'a Value>) -> Inventory {
        let mut inv = Inventory::default();
        for o in objects {
            inv.add(o);
        }
        inv
    }

    /// Is it empty?
    pub fn is_empty(&self) -> bool {
        self.root.is_empty()
    }

    /// The `data` document: `{"inventory": ...}`.
    pub fn data(&self) -> Value {
        json!({ "inventory": Value::Object(self.root.clone()) })
    }

    /// Labels of a Namespace object in the inventory (for `namespaceSelector`).
    pub fn namespace_labels(&self, ns: &str) -> Option<Map<String, Value>> {
        self.root
            .get("cluster")?
            .get("v1")?
            .get("Namespace")?
            .get(ns)?
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .cloned()
            .or_else(|| Some(Map::new()))
    }
}

fn entry<'a>(m: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let v = m
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable!("just made it an object"),
    }
}

/// The `input.review` for a bare object (what CI evaluates): a CREATE of that object.
pub fn review_for_object(obj: &Value) -> Value {
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let (group, version) = split_api_version(api_version);
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let mut review = json!({
        "kind": {"group": group, "version": version, "kind": kind},
        "operation": "CREATE",
        "object": obj,
        "name": obj.pointer("/metadata/name").cloned().unwrap_or(Value::String(String::new())),
        "userInfo": {"username": "", "groups": []},
        "dryRun": false,
    });
    if let Some(ns) = obj.pointer("/metadata/namespace").filter(|n| n.is_string()) {
        review["namespace"] = ns.clone();
    }
    review
}

/// The `input.review` for an AdmissionReview `request`: the request itself, with `kind`, `name`
/// and `namespace` filled from the object when the request omits them.
pub fn review_from_request(request: &Value) -> Result<Value, String> {
    let Value::Object(req) = request else {
        return Err("request must be an object".to_string());
    };
    let mut review = req.clone();
    let obj = req
        .get("object")
        .filter(|o| o.is_object())
        .or_else(|| req.get("oldObject").filter(|o| o.is_object()))
        .ok_or("request has neither object nor oldObject")?;
    if !review.get("kind").is_some_and(Value::is_object) {
        let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let (group, version) = split_api_version(api_version);
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
        review.insert(
            "kind".into(),
            json!({"group": group, "version": version, "kind": kind}),
        );
    }
    if !review.contains_key("name")
        && let Some(n) = obj.pointer("/metadata/name")
    {
        review.insert("name".into(), n.clone());
    }
    if !review.contains_key("namespace")
        && let Some(n) = obj.pointer("/metadata/namespace")
    {
        review.insert("namespace".into(), n.clone());
    }
    Ok(Value::Object(review))
}

/// Is this value a whole AdmissionReview (rather than a bare object)?
pub fn is_admission_review(v: &Value) -> bool {
    v.get("kind").and_then(Value::as_str) == Some("AdmissionReview")
        && v.get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|a| a.starts_with("admission.k8s.io/"))
}
