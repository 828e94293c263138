//! Compiling Gatekeeper Rego with regorus, with shims for deprecated OPA builtins.

use regorus::{Engine, Value};

/// A compiled template program: a prepared engine to clone per evaluation context.
#[derive(Clone)]
pub struct RegoProgram {
    engine: Engine,
    rule: String,
}

impl std::fmt::Debug for RegoProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegoProgram")
            .field("rule", &self.rule)
            .finish_non_exhaustive()
    }
}

/// Convert JSON to a Rego value directly (no serde round trip, no clone of the input).
/// JSON numbers are always finite, so every value converts.
pub fn to_rego(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Value::from(u)
            } else if let Some(i) = n.as_i64() {
                Value::from(i)
            } else {
                Value::from(n.as_f64().unwrap_or(0.0))
            }
        }
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(a) => Value::from(a.iter().map(to_rego).collect::<Vec<_>>()),
        serde_json::Value::Object(m) => Value::from(
            m.iter()
                .map(|(k, v)| (Value::from(k.as_str()), to_rego(v)))
                .collect::<std::collections::BTreeMap<_, _>>(),
        ),
    }
}

fn add_shims(engine: &mut Engine) -> anyhow::Result<()> {
    // `re_match(pattern, value)`: deprecated alias of regex.match, still used by older templates.
    engine.add_extension(
        "re_match".to_string(),
        2,
        Box::new(|args: Vec<Value>| {
            let pattern = args[0].as_string()?;
            let value = args[1].as_string()?;
            let re = regex::Regex::new(pattern)?;
            Ok(Value::from(re.is_match(value)))
        }),
    )?;
    // `any(collection)` / `all(collection)`: deprecated boolean aggregates.
    engine.add_extension(
        "any".to_string(),
        1,
        Box::new(|args: Vec<Value>| {
            Ok(Value::from(
                elements(&args[0])?.iter().any(|v| *v == Value::from(true)),
            ))
        }),
    )?;
    engine.add_extension(
        "all".to_string(),
        1,
        Box::new(|args: Vec<Value>| {
            Ok(Value::from(
                elements(&args[0])?.iter().all(|v| *v == Value::from(true)),
            ))
        }),
    )?;
    // `set_diff(a, b)`: deprecated alias of `a - b` on sets.
    engine.add_extension(
        "set_diff".to_string(),
        2,
        Box::new(|args: Vec<Value>| {
            let a = args[0].as_set()?;
            let b = args[1].as_set()?;
            let diff: std::collections::BTreeSet<Value> =
                a.iter().filter(|v| !b.contains(v)).cloned().collect();
            Ok(Value::from(diff))
        }),
    )?;
    engine.add_extension(
        "cast_array".to_string(),
        1,
        Box::new(|args: Vec<Value>| Ok(Value::from(elements(&args[0])?))),
    )?;
    engine.add_extension(
        "cast_set".to_string(),
        1,
        Box::new(|args: Vec<Value>| {
            let s: std::collections::BTreeSet<Value> = elements(&args[0])?.into_iter().collect();
            Ok(Value::from(s))
        }),
    )?;
    engine.add_extension(
        "cast_string".to_string(),
        1,
        Box::new(|args: Vec<Value>| {
            args[0].as_string()?;
            Ok(args[0].clone())
        }),
    )?;
    engine.add_extension(
        "cast_boolean".to_string(),
        1,
        Box::new(|args: Vec<Value>| {
            args[0].as_bool()?;
            Ok(args[0].clone())
        }),
    )?;
    engine.add_extension(
        "cast_object".to_string(),
        1,
        Box::new(|args: Vec<Value>| {
            args[0].as_object()?;
            Ok(args[0].clone())
        }),
    )?;
    Ok(())
}

fn elements(v: &Value) -> anyhow::Result<Vec<Value>> {
    Ok(match v {
        Value::Array(a) => a.iter().cloned().collect(),
        Value::Set(s) => s.iter().cloned().collect(),
        Value::Object(o) => o.values().cloned().collect(),
        _ => anyhow::bail!("expected a collection"),
    })
}

fn build(rego: &str, libs: &[String], name: &str, v0: bool) -> anyhow::Result<(Engine, String)> {
    let mut engine = Engine::new();
    engine.set_rego_v0(v0);
    engine.set_strict_builtin_errors(false);
    let package = engine.add_policy(format!("{name}.rego"), rego.to_string())?;
    for (i, lib) in libs.iter().enumerate() {
        engine.add_policy(format!("{name}.lib{i}.rego"), lib.clone())?;
    }
    add_shims(&mut engine)?;
    Ok((engine, package))
}

impl RegoProgram {
    /// Compile a template's Rego and libs. Tries Rego v0 syntax (what Gatekeeper templates
    /// mostly use) and then v1; compile errors (syntax, unknown functions, missing `violation`
    /// rule) are reported here, not at evaluation.
    pub fn compile(rego: &str, libs: &[String], name: &str) -> Result<RegoProgram, String> {
        // Syntax decides the dialect: v0 first (most templates), then v0 as OPA reads it
        // (see `normalize`), then v1.
        let normalized = super::normalize::normalize_v0(rego);
        let normalized_libs: Vec<String> = libs
            .iter()
            .map(|l| super::normalize::normalize_v0(l))
            .collect();
        let (mut engine, package) = match build(&normalized, &normalized_libs, name, true) {
            Ok(x) => x,
            Err(_) => match build(rego, libs, name, true) {
                Ok(x) => x,
                Err(v0_err) => build(rego, libs, name, false).map_err(|v1_err| {
                    format!("Rego does not parse as v0 ({v0_err:#}) nor as v1 ({v1_err:#})")
                })?,
            },
        };
        let rule = format!("{package}.violation");
        // A first evaluation prepares the engine (rule analysis, function resolution), so
        // unknown functions or a missing `violation` rule surface here, once.
        engine.set_input(Value::from(
            serde_json::json!({"review": {}, "parameters": {}}),
        ));
        engine.eval_rule(rule.clone()).map_err(|e| {
            format!("{e:#} (a Gatekeeper template must define `violation` in its package and use known builtins)")
        })?;
        Ok(RegoProgram { engine, rule })
    }

    /// An engine ready for evaluations in a context with the given `data` document.
    pub fn engine_with_data(&self, data: &serde_json::Value) -> Result<Engine, String> {
        let mut e = self.engine.clone();
        if data.as_object().is_some_and(|m| !m.is_empty()) {
            e.add_data(to_rego(data)).map_err(|e| format!("{e:#}"))?;
        }
        Ok(e)
    }

    /// Evaluate `violation` with the given input on an engine from [`Self::engine_with_data`].
    /// Returns the violation objects as JSON.
    pub fn eval(
        &self,
        engine: &mut Engine,
        input: Value,
    ) -> Result<Vec<serde_json::Value>, String> {
        engine.set_input(input);
        let v = engine
            .eval_rule(self.rule.clone())
            .map_err(|e| format!("{e:#}"))?;
        let items: Vec<Value> = match v {
            Value::Undefined | Value::Null => Vec::new(),
            Value::Set(s) => s.iter().cloned().collect(),
            Value::Array(a) => a.iter().cloned().collect(),
            other => return Err(format!("`violation` must be a set, got {other}")),
        };
        items
            .into_iter()
            .map(|v| serde_json::to_value(&v).map_err(|e| e.to_string()))
            .collect()
    }
}
