//! SARIF 2.1.0, as code-scanning dashboards ingest it.
//!
//! - `artifactLocation.uri` is relative to `%SRCROOT%` (the scan root);
//! - `region` carries 1-based lines and columns;
//! - `partialFingerprints["shipgate/v1"]` is the finding's fingerprint, so dashboards track a
//!   finding across runs;
//! - `properties.security-severity` is the CVSS score when the scanner knows it, else a
//!   representative score of the severity level (GitHub maps >= 9.0 to critical, >= 7.0 high,
//!   >= 4.0 medium, > 0 low);
//! - suppressed findings are kept, with a SARIF `suppressions` entry;
//! - errors are `toolExecutionNotifications` and make `executionSuccessful` false.

use std::collections::BTreeMap;
use std::io::Write;

use serde_json::{Map, Value, json};

use crate::{Finding, Report, ReportError, Severity, SuppressionKind};

const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

fn security_severity(f: &Finding) -> String {
    let score = f
        .cvss_score()
        .unwrap_or_else(|| f.severity.representative_score());
    format!("{score:.1}")
}

/// Percent-encode what may not appear raw in a relative URI reference, keeping `/`.
fn uri_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn region(f: &Finding) -> Option<Value> {
    let l = &f.location;
    let start = l.start_line?;
    let mut r = Map::new();
    r.insert("startLine".into(), json!(start));
    if let Some(c) = l.start_column {
        r.insert("startColumn".into(), json!(c));
    }
    if let Some(e) = l.end_line {
        r.insert("endLine".into(), json!(e));
    }
    if let Some(c) = l.end_column {
        r.insert("endColumn".into(), json!(c));
    }
    Some(Value::Object(r))
}

fn result(f: &Finding, rule_index: usize) -> Value {
    let mut res = Map::new();
    res.insert("ruleId".into(), json!(f.rule_id));
    res.insert("ruleIndex".into(), json!(rule_index));
    res.insert("level".into(), json!(level(f.severity)));
    res.insert("message".into(), json!({"text": f.message}));
    let mut loc = Map::new();
    if let Some(path) = &f.location.path {
        let mut phys = Map::new();
        phys.insert(
            "artifactLocation".into(),
            json!({"uri": uri_encode(path), "uriBaseId": "%SRCROOT%"}),
        );
        if let Some(r) = region(f) {
            phys.insert("region".into(), r);
        }
        loc.insert("physicalLocation".into(), Value::Object(phys));
    }
    let mut logical = Vec::new();
    if let Some(o) = &f.location.object {
        logical.push(json!({"fullyQualifiedName": o, "kind": "object"}));
    }
    if let Some(p) = &f.package {
        logical.push(json!({"fullyQualifiedName": p.purl.clone().unwrap_or_else(|| format!("{}/{}@{}", p.ecosystem, p.name, p.version)), "kind": "package"}));
    }
    if !logical.is_empty() {
        loc.insert("logicalLocations".into(), json!(logical));
    }
    if !loc.is_empty() {
        res.insert("locations".into(), json!([Value::Object(loc)]));
    }
    res.insert(
        "partialFingerprints".into(),
        json!({"shipgate/v1": f.fingerprint}),
    );
    if let Some(s) = &f.suppressed {
        let kind = match s.kind {
            SuppressionKind::Inline => "inSource",
            _ => "external",
        };
        res.insert(
            "suppressions".into(),
            json!([{"kind": kind, "justification": s.reason, "status": "accepted"}]),
        );
    }
    let mut props = Map::new();
    props.insert("security-severity".into(), json!(security_severity(f)));
    props.insert("severity".into(), json!(f.severity));
    props.insert("scanner".into(), json!(f.scanner));
    if let Some(c) = &f.location.commit {
        props.insert("commit".into(), json!(c));
    }
    if let Some(l) = &f.location.layer {
        props.insert("layer".into(), json!(l));
    }
    if let Some(p) = &f.package {
        props.insert("package".into(), json!(p));
    }
    if let Some(a) = &f.advisory {
        props.insert("advisory".into(), json!(a));
    }
    for (k, v) in &f.properties {
        props.entry(k.clone()).or_insert_with(|| v.clone());
    }
    res.insert("properties".into(), Value::Object(props));
    Value::Object(res)
}

fn rule(f: &Finding) -> Value {
    let mut r = Map::new();
    r.insert("id".into(), json!(f.rule_id));
    r.insert("name".into(), json!(f.rule_id));
    r.insert("shortDescription".into(), json!({"text": f.title}));
    if let Some(rem) = &f.remediation {
        r.insert("help".into(), json!({"text": rem}));
    }
    if let Some(url) = f.advisory.as_ref().and_then(|a| a.url.clone()) {
        r.insert("helpUri".into(), json!(url));
    }
    r.insert(
        "defaultConfiguration".into(),
        json!({"level": level(f.severity)}),
    );
    // CWE ids in the finding's `cwe` property become GitHub's `external/cwe/cwe-N` tags.
    let mut tags = vec![json!("security"), json!(f.scanner)];
    if let Some(Value::Array(cwes)) = f.properties.get("cwe") {
        for c in cwes.iter().filter_map(Value::as_str) {
            if let Some(n) = c.strip_prefix("CWE-") {
                tags.push(json!(format!("external/cwe/cwe-{n}")));
            }
        }
    }
    r.insert(
        "properties".into(),
        json!({"security-severity": security_severity(f), "tags": tags}),
    );
    Value::Object(r)
}

/// The SARIF log as a JSON value.
pub fn sarif_value(report: &Report) -> Value {
    // One rule per rule id, first occurrence wins (most severe, since findings are sorted).
    let mut rule_index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rules = Vec::new();
    for f in &report.findings {
        if !rule_index.contains_key(f.rule_id.as_str()) {
            rule_index.insert(&f.rule_id, rules.len());
            rules.push(rule(f));
        }
    }
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| result(f, rule_index[f.rule_id.as_str()]))
        .collect();
    let mut notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| {
            let mut n = Map::new();
            n.insert("level".into(), json!("error"));
            n.insert("message".into(), json!({"text": e.to_string()}));
            if let Some(p) = &e.path {
                let mut phys = Map::new();
                phys.insert(
                    "artifactLocation".into(),
                    json!({"uri": uri_encode(p), "uriBaseId": "%SRCROOT%"}),
                );
                if let Some(l) = e.line {
                    let mut reg = Map::new();
                    reg.insert("startLine".into(), json!(l));
                    if let Some(c) = e.column {
                        reg.insert("startColumn".into(), json!(c));
                    }
                    phys.insert("region".into(), Value::Object(reg));
                }
                n.insert("locations".into(), json!([{"physicalLocation": phys}]));
            }
            Value::Object(n)
        })
        .collect();
    notifications.extend(
        report
            .notes
            .iter()
            .map(|note| json!({"level": "note", "message": {"text": note}})),
    );
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": report.tool.name,
                "version": report.tool.version,
                "semanticVersion": report.tool.version,
                "informationUri": "https://github.com/shipgate/shipgate",
                "rules": rules,
            }},
            "automationDetails": {"id": format!("shipgate/{}/", report.scanner)},
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": format!("The scan target: {}", report.target)}}},
            "invocations": [{
                "executionSuccessful": report.errors.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
            "properties": {"gate": report.gate, "summary": report.summary},
        }],
    })
}

/// Write the report as SARIF 2.1.0 JSON, newline-terminated.
pub fn write_sarif(report: &Report, mut w: impl Write) -> Result<(), ReportError> {
    serde_json::to_writer_pretty(&mut w, &sarif_value(report))?;
    w.write_all(b"\n")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FailOn, Location, ScanError, ScanOutput, Suppressions};

    #[test]
    fn uri_is_relative_and_encoded() {
        assert_eq!(uri_encode("src/my file#1.rs"), "src/my%20file%231.rs");
    }

    #[test]
    fn sarif_shape() {
        let mut f = Finding::new(
            "secrets",
            "github-pat",
            Severity::High,
            "GitHub token",
            "a token",
            Location::file("src/a.py").with_span(3, 5, 3, 45),
        );
        f.properties.insert("cvss_score".into(), json!(7.5));
        let out = ScanOutput {
            findings: vec![f],
            errors: vec![ScanError::at("b.json", Some(2), None, "bad json")],
            notes: vec![],
        };
        let r = Report::build(
            "secrets",
            ".",
            "0.1.0",
            out,
            &Suppressions::default(),
            FailOn::default(),
        );
        let v = sarif_value(&r);
        let run = &v["runs"][0];
        assert_eq!(v["version"], "2.1.0");
        let res = &run["results"][0];
        assert_eq!(
            res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "src/a.py"
        );
        assert_eq!(
            res["locations"][0]["physicalLocation"]["region"]["startLine"],
            3
        );
        assert_eq!(
            res["partialFingerprints"]["shipgate/v1"]
                .as_str()
                .unwrap()
                .len(),
            32
        );
        assert_eq!(res["properties"]["security-severity"], "7.5");
        assert_eq!(run["tool"]["driver"]["rules"][0]["id"], "github-pat");
        assert_eq!(run["invocations"][0]["executionSuccessful"], false);
        assert_eq!(
            run["invocations"][0]["toolExecutionNotifications"][0]["locations"][0]["physicalLocation"]
                ["region"]["startLine"],
            2
        );
    }
}
