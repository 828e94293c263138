//! Gatekeeper `K8sNativeValidation` (CEL) templates, evaluated with `kube-cel`.
//!
//! Bindings follow Gatekeeper: `object`, `oldObject`, `request`, `params` (the constraint, so
//! `params.spec.parameters`), and `variables` with Gatekeeper's `variables.anyObject` (object, or
//! oldObject on DELETE) and `variables.params` (the parameters), followed by the template's own
//! `variables` evaluated in order. `matchConditions` that evaluate to false skip the template.
//! A compile or evaluation error is returned as an error, never a silent pass.

use kube_cel::KubeCelExt;
use kube_cel::cel::{Context, Program, Value as CelValue};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

struct Compiled {
    name: String,
    source: String,
    program: Program,
}

struct Validation {
    expr: Compiled,
    message: Option<String>,
    message_expr: Option<Compiled>,
}

/// A compiled CEL template.
#[derive(Clone)]
pub struct CelProgram {
    inner: Arc<Inner>,
}

struct Inner {
    variables: Vec<Compiled>,
    match_conditions: Vec<Compiled>,
    validations: Vec<Validation>,
}

impl std::fmt::Debug for CelProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CelProgram")
            .field("validations", &self.inner.validations.len())
            .finish_non_exhaustive()
    }
}

fn compile(name: &str, source: &str) -> Result<Compiled, String> {
    Program::compile(source)
        .map(|program| Compiled {
            name: name.to_string(),
            source: source.to_string(),
            program,
        })
        .map_err(|e| format!("CEL expression `{}` does not compile: {e}", source.trim()))
}

fn to_cel(v: &Value) -> CelValue {
    kube_cel::cel::to_value(v).unwrap_or(CelValue::Null)
}

impl CelProgram {
    /// Compile a `K8sNativeValidation` source (`variables`, `matchConditions`, `validations`).
    pub fn compile(source: &Value) -> Result<CelProgram, String> {
        let mut variables = Vec::new();
        for v in source
            .get("variables")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = v
                .get("name")
                .and_then(Value::as_str)
                .ok_or("variables[].name missing")?;
            let expr = v
                .get("expression")
                .and_then(Value::as_str)
                .ok_or("variables[].expression missing")?;
            variables.push(compile(name, expr)?);
        }
        let mut match_conditions = Vec::new();
        for v in source
            .get("matchConditions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = v.get("name").and_then(Value::as_str).unwrap_or("");
            let expr = v
                .get("expression")
                .and_then(Value::as_str)
                .ok_or("matchConditions[].expression missing")?;
            match_conditions.push(compile(name, expr)?);
        }
        let mut validations = Vec::new();
        for v in source
            .get("validations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let expr = v
                .get("expression")
                .and_then(Value::as_str)
                .ok_or("validations[].expression missing")?;
            let message_expr = match v.get("messageExpression").and_then(Value::as_str) {
                Some(m) => Some(compile("messageExpression", m)?),
                None => None,
            };
            validations.push(Validation {
                expr: compile("validation", expr)?,
                message: v.get("message").and_then(Value::as_str).map(str::to_string),
                message_expr,
            });
        }
        if validations.is_empty() {
            return Err("K8sNativeValidation source has no validations".to_string());
        }
        Ok(CelProgram {
            inner: Arc::new(Inner {
                variables,
                match_conditions,
                validations,
            }),
        })
    }

    /// Evaluate against a review (`input.review` shape) and the constraint parameters.
    /// Returns the violation messages.
    pub fn eval(&self, review: &Value, parameters: &Value) -> Result<Vec<String>, String> {
        let object = review.get("object").cloned().unwrap_or(Value::Null);
        let old = review.get("oldObject").cloned().unwrap_or(Value::Null);
        let operation = review
            .get("operation")
            .and_then(Value::as_str)
            .unwrap_or("");
        let any_object = if operation == "DELETE" || object.is_null() {
            old.clone()
        } else {
            object.clone()
        };
        let request = serde_json::json!({
            "operation": operation,
            "name": review.get("name").cloned().unwrap_or(Value::String(String::new())),
            "namespace": review.get("namespace").cloned().unwrap_or(Value::String(String::new())),
            "kind": review.get("kind").cloned().unwrap_or(Value::Null),
            "userInfo": review.get("userInfo").cloned().unwrap_or(serde_json::json!({})),
            "dryRun": review.get("dryRun").cloned().unwrap_or(Value::Bool(false)),
        });
        let mut ctx = Context::default();
        ctx.register_all();
        ctx.add_variable_from_value("object", to_cel(&object));
        ctx.add_variable_from_value("oldObject", to_cel(&old));
        ctx.add_variable_from_value("request", to_cel(&request));
        ctx.add_variable_from_value(
            "params",
            to_cel(&serde_json::json!({"spec": {"parameters": parameters}})),
        );
        let mut vars: HashMap<String, CelValue> = HashMap::new();
        vars.insert("anyObject".to_string(), to_cel(&any_object));
        vars.insert("params".to_string(), to_cel(parameters));
        ctx.add_variable_from_value("variables", CelValue::from(vars.clone()));
        for v in &self.inner.variables {
            let value = v
                .program
                .execute(&ctx)
                .map_err(|e| format!("variable {} (`{}`): {e}", v.name, v.source.trim()))?;
            vars.insert(v.name.clone(), value);
            ctx.add_variable_from_value("variables", CelValue::from(vars.clone()));
        }
        for m in &self.inner.match_conditions {
            match m.program.execute(&ctx) {
                Ok(CelValue::Bool(true)) => {}
                Ok(CelValue::Bool(false)) => return Ok(Vec::new()),
                Ok(other) => {
                    return Err(format!(
                        "matchCondition {} returned {other:?}, not a bool",
                        m.name
                    ));
                }
                Err(e) => return Err(format!("matchCondition {}: {e}", m.name)),
            }
        }
        let mut out = Vec::new();
        for v in &self.inner.validations {
            match v.expr.program.execute(&ctx) {
                Ok(CelValue::Bool(true)) => {}
                Ok(CelValue::Bool(false)) => {
                    let msg = v
                        .message_expr
                        .as_ref()
                        .and_then(|m| match m.program.execute(&ctx) {
                            Ok(CelValue::String(s)) => Some(s.to_string()),
                            _ => None,
                        })
                        .or_else(|| v.message.clone())
                        .unwrap_or_else(|| format!("failed expression: {}", v.expr.source.trim()));
                    out.push(msg);
                }
                Ok(other) => {
                    return Err(format!(
                        "validation `{}` returned {other:?}, not a bool",
                        v.expr.source.trim()
                    ));
                }
                Err(e) => return Err(format!("validation `{}`: {e}", v.expr.source.trim())),
            }
        }
        Ok(out)
    }
}
