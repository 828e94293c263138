//! A strict checker of the Prometheus text exposition format (0.0.4) for what the server
//! writes: every sample belongs to a family declared by `# HELP` and `# TYPE` before it,
//! names and label names are valid, label values are properly quoted and escaped, values
//! parse, counters end in `_total`, no series appears twice.

use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug)]
pub struct Sample {
    pub name: String,
    /// Labels as written, e.g. `severity="high"`.
    pub labels: String,
    pub value: f64,
}

fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn valid_label(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with("__")
}

/// Parses `{k="v",...}`; returns the raw text and the end position.
fn parse_labels(s: &str) -> Result<(String, usize), String> {
    let b = s.as_bytes();
    assert_eq!(b[0], b'{');
    let mut i = 1;
    let mut seen = BTreeSet::new();
    loop {
        if b.get(i) == Some(&b'}') {
            return Ok((s[1..i].to_owned(), i + 1));
        }
        let eq = s[i..].find('=').ok_or("label without =")? + i;
        let name = &s[i..eq];
        if !valid_label(name) {
            return Err(format!("bad label name {name:?}"));
        }
        if !seen.insert(name.to_owned()) {
            return Err(format!("label {name} twice"));
        }
        if b.get(eq + 1) != Some(&b'"') {
            return Err("label value not quoted".into());
        }
        i = eq + 2;
        loop {
            match b.get(i) {
                None => return Err("unterminated label value".into()),
                Some(b'\\') => match b.get(i + 1) {
                    Some(b'\\' | b'"' | b'n') => i += 2,
                    _ => return Err("bad escape in label value".into()),
                },
                Some(b'"') => break,
                Some(b'\n') => return Err("newline in label value".into()),
                Some(_) => i += 1,
            }
        }
        i += 1;
        match b.get(i) {
            Some(b',') => i += 1,
            Some(b'}') => {}
            _ => return Err("expected , or } after a label".into()),
        }
    }
}

pub fn parse_exposition(text: &str) -> Result<Vec<Sample>, String> {
    if !text.ends_with('\n') {
        return Err("the exposition must end with a newline".into());
    }
    let mut help: BTreeSet<String> = BTreeSet::new();
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut series = BTreeSet::new();
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let at = |m: String| format!("line {}: {m}: {line:?}", n + 1);
        if line.is_empty() {
            return Err(at("empty line".into()));
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, doc) = rest
                .split_once(' ')
                .ok_or_else(|| at("HELP without text".into()))?;
            if !valid_name(name) || doc.trim().is_empty() || !help.insert(name.to_owned()) {
                return Err(at("bad or repeated HELP".into()));
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest
                .split_once(' ')
                .ok_or_else(|| at("TYPE without a type".into()))?;
            if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                return Err(at(format!("unknown type {kind}")));
            }
            if !help.contains(name) {
                return Err(at("TYPE before HELP".into()));
            }
            if types.insert(name.to_owned(), kind.to_owned()).is_some() {
                return Err(at("TYPE repeated".into()));
            }
            if kind == "counter" && !name.ends_with("_total") {
                return Err(at("a counter's name must end in _total".into()));
            }
            continue;
        }
        if line.starts_with('#') {
            return Err(at("unknown comment".into()));
        }
        let name_end = line.find(['{', ' ']).ok_or_else(|| at("no value".into()))?;
        let name = &line[..name_end];
        if !valid_name(name) {
            return Err(at("bad metric name".into()));
        }
        if !types.contains_key(name) {
            return Err(at("sample without TYPE".into()));
        }
        let (labels, rest) = if line[name_end..].starts_with('{') {
            let (l, end) = parse_labels(&line[name_end..]).map_err(at)?;
            (l, &line[name_end + end..])
        } else {
            (String::new(), &line[name_end..])
        };
        let value = rest
            .strip_prefix(' ')
            .ok_or_else(|| at("no space before the value".into()))?;
        let value: f64 = match value {
            "NaN" => f64::NAN,
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().map_err(|_| at(format!("bad value {v:?}")))?,
        };
        if !series.insert(format!("{name}{{{labels}}}")) {
            return Err(at("series repeated".into()));
        }
        out.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    Ok(out)
}

#[test]
fn the_checker_rejects_what_prometheus_would() {
    let ok = "# HELP a_total x\n# TYPE a_total counter\na_total{l=\"v\\\"q\"} 1\n";
    assert_eq!(parse_exposition(ok).unwrap().len(), 1);
    for bad in [
        "a 1\n",
        "# HELP a x\n# TYPE a counter\na 1\n",
        "# HELP a x\n# TYPE a gauge\na{l=v} 1\n",
        "# HELP a x\n# TYPE a gauge\na 1\na 2\n",
        "# HELP a x\n# TYPE a gauge\na one\n",
        "# HELP a x\n# TYPE a gauge\na 1",
        "# TYPE a gauge\na 1\n",
    ] {
        assert!(parse_exposition(bad).is_err(), "{bad:?}");
    }
}
