//! Gatekeeper `gator verify` suites: Suite → tests (template + constraint) → cases (object,
//! optional inventory, assertions).
//!
//! Assertions: `violations` is `yes` (at least one; the default), `no`, or an exact count, of the
//! violations whose message matches the optional `message` regex. A case whose object is a
//! whole AdmissionReview is evaluated as that request (e.g. operation UPDATE).
//! Cases of templates that only have a CEL engine and that this build cannot evaluate are
//! counted as unsupported, never as passed.

use crate::error::PolicyError;
use crate::gatekeeper::{Inventory, TemplateProgram};
use crate::load::{load_str, manifest_files, read_file};
use crate::policyset::PolicySet;
use crate::yaml::parse_stream;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Totals of a verify run (the JSON output of `policy verify`).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct VerifyReport {
    /// Suites run.
    pub suites: usize,
    /// Tests run.
    pub tests: usize,
    /// Cases run.
    pub cases: usize,
    /// Cases passed.
    pub passed: usize,
    /// Cases failed.
    pub failed: usize,
    /// Cases not evaluable by this build (CEL-only templates that failed to evaluate).
    pub unsupported: usize,
    /// One entry per failed or unsupported case.
    pub failures: Vec<CaseFailure>,
}

/// A failed or unsupported case.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CaseFailure {
    /// The suite file.
    pub suite: String,
    /// Test name.
    pub test: String,
    /// Case name (empty when the whole test could not run).
    pub case: String,
    /// `failed` or `unsupported`.
    pub status: String,
    /// What went wrong.
    pub message: String,
}

impl VerifyReport {
    fn fail(&mut self, suite: &Path, test: &str, case: &str, message: String) {
        self.failed += 1;
        self.failures.push(CaseFailure {
            suite: suite.display().to_string(),
            test: test.to_string(),
            case: case.to_string(),
            status: "failed".into(),
            message,
        });
    }

    fn unsupported(&mut self, suite: &Path, test: &str, case: &str, message: String) {
        self.unsupported += 1;
        self.failures.push(CaseFailure {
            suite: suite.display().to_string(),
            test: test.to_string(),
            case: case.to_string(),
            status: "unsupported".into(),
            message,
        });
    }
}

/// Find suite files: the file itself, or every YAML file under a directory whose content is a
/// `kind: Suite` document.
pub fn find_suites(path: &Path) -> (Vec<PathBuf>, Vec<PolicyError>) {
    let mut errors = Vec::new();
    if path.is_file() {
        return (vec![path.to_path_buf()], errors);
    }
    let files = manifest_files(path, &mut errors);
    let suites = files
        .into_iter()
        .filter(|f| {
            read_file(f)
                .is_ok_and(|t| t.contains("kind: Suite") && t.contains("test.gatekeeper.sh"))
        })
        .collect();
    (suites, errors)
}

/// Run every suite under `path` (a suite file or a directory).
pub fn verify(path: &Path) -> (VerifyReport, Vec<PolicyError>) {
    let (suites, errors) = find_suites(path);
    let mut report = VerifyReport::default();
    for s in suites {
        verify_suite(&s, &mut report);
    }
    (report, errors)
}

fn parse_violations(v: Option<&Value>) -> Result<Expect, String> {
    match v {
        None | Some(Value::Null) => Ok(Expect::AtLeastOne),
        Some(Value::Bool(true)) => Ok(Expect::AtLeastOne),
        Some(Value::Bool(false)) => Ok(Expect::Exactly(0)),
        Some(Value::String(s)) if s == "yes" => Ok(Expect::AtLeastOne),
        Some(Value::String(s)) if s == "no" => Ok(Expect::Exactly(0)),
        Some(Value::String(s)) => s
            .parse()
            .map(Expect::Exactly)
            .map_err(|_| format!("violations must be yes, no or a number, not `{s}`")),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(|n| Expect::Exactly(n as usize))
            .ok_or_else(|| format!("violations must be a non-negative count, not {n}")),
        Some(other) => Err(format!(
            "violations must be yes, no or a number, not {other}"
        )),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    AtLeastOne,
    Exactly(usize),
}

/// Read a file relative to the suite and return its YAML documents.
fn read_docs(base: &Path, rel: &str) -> Result<Vec<Value>, String> {
    let p = base.join(rel);
    let text = read_file(&p).map_err(|e| e.to_string())?;
    let (docs, errors) = parse_stream(&text);
    if let Some(e) = errors.first() {
        return Err(format!(
            "{}:{}:{}: {}",
            p.display(),
            e.line,
            e.column,
            e.message
        ));
    }
    Ok(docs.into_iter().map(|d| d.value).collect())
}

fn verify_suite(suite: &Path, report: &mut VerifyReport) {
    report.suites += 1;
    let base = suite.parent().unwrap_or(Path::new("."));
    let docs = match read_file(suite) {
        Ok(t) => parse_stream(&t),
        Err(e) => {
            report.fail(suite, "", "", e.to_string());
            return;
        }
    };
    if let Some(e) = docs.1.first() {
        report.fail(suite, "", "", format!("line {}: {}", e.line, e.message));
        return;
    }
    let Some(doc) = docs
        .0
        .into_iter()
        .find(|d| d.value.get("kind").and_then(Value::as_str) == Some("Suite"))
    else {
        report.fail(suite, "", "", "no `kind: Suite` document".into());
        return;
    };
    let tests = doc
        .value
        .get("tests")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for test in &tests {
        if test.get("skip").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        report.tests += 1;
        run_test(suite, base, test, report);
    }
}

fn run_test(suite: &Path, base: &Path, test: &Value, report: &mut VerifyReport) {
    let name = test.get("name").and_then(Value::as_str).unwrap_or("");
    let cases: Vec<&Value> = test
        .get("cases")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|c| c.get("skip").and_then(Value::as_bool) != Some(true))
        .collect();
    let fail_all = |report: &mut VerifyReport, msg: String, unsupported: bool| {
        for c in &cases {
            report.cases += 1;
            let cname = c.get("name").and_then(Value::as_str).unwrap_or("");
            if unsupported {
                report.unsupported(suite, name, cname, msg.clone());
            } else {
                report.fail(suite, name, cname, msg.clone());
            }
        }
    };
    // Template and constraint.
    let mut set = PolicySet::new();
    let Some(tpath) = test.get("template").and_then(Value::as_str) else {
        return fail_all(report, "test has no template".into(), false);
    };
    let tfile = base.join(tpath);
    let loaded = match read_file(&tfile) {
        Ok(t) => load_str(&t, &tfile.display().to_string()),
        Err(e) => return fail_all(report, e.to_string(), false),
    };
    let cel_only = loaded.objects.iter().any(|o| {
        o.value
            .pointer("/spec/targets/0/code")
            .and_then(Value::as_array)
            .is_some_and(|code| {
                code.iter()
                    .all(|c| c.get("engine").and_then(Value::as_str) == Some("K8sNativeValidation"))
            })
            && o.value.pointer("/spec/targets/0/rego").is_none()
    });
    let errors = set.add_objects(loaded);
    if let Some(e) = errors.first() {
        return fail_all(report, e.to_string(), cel_only);
    }
    if set.templates().is_empty() {
        return fail_all(
            report,
            format!("{} has no ConstraintTemplate", tfile.display()),
            false,
        );
    }
    let is_cel = set
        .templates()
        .iter()
        .all(|t| matches!(t.program, TemplateProgram::Cel(_)));
    if let Some(cpath) = test.get("constraint").and_then(Value::as_str) {
        let cfile = base.join(cpath);
        let loaded = match read_file(&cfile) {
            Ok(t) => load_str(&t, &cfile.display().to_string()),
            Err(e) => return fail_all(report, e.to_string(), false),
        };
        let errors = set.add_objects(loaded);
        if let Some(e) = errors.first() {
            return fail_all(report, e.to_string(), false);
        }
        if set.constraints().is_empty() {
            return fail_all(
                report,
                format!("{} has no constraint", cfile.display()),
                false,
            );
        }
    } else {
        return fail_all(report, "test has no constraint".into(), false);
    }
    let mut inventories: HashMap<Vec<String>, Inventory> = HashMap::new();
    for case in cases {
        report.cases += 1;
        let cname = case.get("name").and_then(Value::as_str).unwrap_or("");
        match run_case(base, case, &set, &mut inventories) {
            Ok(()) => report.passed += 1,
            Err(msg) if is_cel => report.unsupported(suite, name, cname, msg),
            Err(msg) => report.fail(suite, name, cname, msg),
        }
    }
}

fn run_case(
    base: &Path,
    case: &Value,
    set: &PolicySet,
    inventories: &mut HashMap<Vec<String>, Inventory>,
) -> Result<(), String> {
    let opath = case
        .get("object")
        .and_then(Value::as_str)
        .ok_or("case has no object")?;
    let docs = read_docs(base, opath)?;
    let object = match docs.as_slice() {
        [one] => one,
        [] => return Err(format!("{opath} has no object")),
        _ => {
            return Err(format!(
                "{opath} has {} documents; a case needs exactly one",
                docs.len()
            ));
        }
    };
    let inv_paths: Vec<String> = case
        .get("inventory")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect();
    if !inventories.contains_key(&inv_paths) {
        let mut inv = Inventory::default();
        for p in &inv_paths {
            for d in read_docs(base, p)? {
                inv.add(&d);
            }
        }
        inventories.insert(inv_paths.clone(), inv);
    }
    let inventory = &inventories[&inv_paths];
    let violations = set
        .review_value(object, inventory)
        .map_err(|e| e.to_string())?;
    let assertions: Vec<Value> = case
        .get("assertions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_else(|| vec![serde_json::json!({})]);
    for a in &assertions {
        let expect = parse_violations(a.get("violations"))?;
        let re = match a.get("message").and_then(Value::as_str) {
            Some(m) => Some(regex::Regex::new(m).map_err(|e| format!("message regex `{m}`: {e}"))?),
            None => None,
        };
        let n = violations
            .iter()
            .filter(|v| re.as_ref().is_none_or(|re| re.is_match(&v.message)))
            .count();
        let ok = match expect {
            Expect::AtLeastOne => n >= 1,
            Expect::Exactly(k) => n == k,
        };
        if !ok {
            let want = match expect {
                Expect::AtLeastOne => "at least 1".to_string(),
                Expect::Exactly(k) => k.to_string(),
            };
            let filter = a
                .get("message")
                .and_then(Value::as_str)
                .map(|m| format!(" matching `{m}`"))
                .unwrap_or_default();
            let got: Vec<&str> = violations.iter().map(|v| v.message.as_str()).collect();
            return Err(format!(
                "expected {want} violations{filter}, got {n} (all messages: {got:?})"
            ));
        }
    }
    Ok(())
}
