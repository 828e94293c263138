//! Loading gitleaks TOML configurations (migration path for gitleaks users).
//!
//! Supported: `[[rules]]` (`id`, `description`, `regex`, `secretGroup`, `entropy`,
//! `keywords`, `path`, `skipReport`, `allowlist` and `[[rules.allowlists]]`, composite rules
//! with `[[rules.required]]` (`id`, `withinLines`, `withinColumns`)), the global
//! `[allowlist]` and `[[allowlists]]` (with `targetRules`), allowlist `condition`,
//! `regexTarget`, `regexes`, `paths`, `stopwords` and `commits`, and `[extend]` (`useDefault`
//! adds shipgate's built-in rules, `path` loads another gitleaks file, `disabledRules`).
//! Go RE2 patterns are translated: a `{` or `}` that is not part of a repetition is escaped;
//! `\w`, `\d`, `\s` and `\b` are ASCII (as in Go) because rules compile with `unicode(false)`.

use std::path::Path;

use serde::Deserialize;

use crate::Error;
use crate::rules::{
    Allowlist, RegexTarget, Required, Rule, RuleRegex, RuleSet, Severity, compile_regex,
    resolve_secret_group,
};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct GlConfig {
    extend: Option<GlExtend>,
    allowlist: Option<GlAllowlist>,
    allowlists: Vec<GlAllowlist>,
    rules: Vec<GlRule>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct GlExtend {
    use_default: bool,
    path: Option<String>,
    disabled_rules: Vec<String>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase", default)]
struct GlAllowlist {
    condition: Option<String>,
    regex_target: Option<String>,
    regexes: Vec<String>,
    paths: Vec<String>,
    stopwords: Vec<String>,
    commits: Vec<String>,
    target_rules: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct GlRule {
    id: String,
    description: String,
    regex: Option<String>,
    secret_group: Option<usize>,
    entropy: Option<f64>,
    keywords: Vec<String>,
    path: Option<String>,
    skip_report: bool,
    allowlist: Option<GlAllowlist>,
    allowlists: Vec<GlAllowlist>,
    required: Vec<GlRequired>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct GlRequired {
    id: String,
    within_lines: Option<u32>,
    within_columns: Option<u32>,
}

/// Translate a Go RE2 pattern to Rust `regex` syntax: escape braces that are not a
/// repetition (`{n}`, `{n,}`, `{n,m}`).
pub(crate) fn translate_re2(p: &str) -> String {
    let b = p.as_bytes();
    let mut out = String::with_capacity(p.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\\' => {
                // Copy the escape and the escaped char verbatim.
                let end = (i + 2).min(b.len());
                out.push_str(&p[i..end]);
                i = end;
                continue;
            }
            b'[' if !in_class => {
                in_class = true;
                out.push('[');
                // A `]` right after `[` or `[^` is literal.
                if b.get(i + 1) == Some(&b'^') {
                    out.push('^');
                    i += 1;
                }
                if b.get(i + 1) == Some(&b']') {
                    out.push_str("\\]");
                    i += 1;
                }
            }
            b'[' if in_class => {
                // POSIX class `[:alpha:]` inside a class.
                if b.get(i + 1) == Some(&b':')
                    && let Some(end) = p[i + 2..].find(":]")
                {
                    out.push_str(&p[i..i + 2 + end + 2]);
                    i += 2 + end + 2;
                    continue;
                }
                out.push_str("\\[");
            }
            b']' if in_class => {
                in_class = false;
                out.push(']');
            }
            b'{' if !in_class => {
                let rest = &p[i + 1..];
                let close = rest.find('}');
                let valid = close.is_some_and(|j| {
                    let inner = &rest[..j];
                    let (lo, hi) = inner.split_once(',').unwrap_or((inner, ""));
                    !lo.is_empty()
                        && lo.bytes().all(|x| x.is_ascii_digit())
                        && hi.bytes().all(|x| x.is_ascii_digit())
                }) && i > 0
                    && !matches!(b[i - 1], b'(' | b'|');
                if let (true, Some(j)) = (valid, close) {
                    out.push_str(&p[i..i + 1 + j + 1]);
                    i += j + 2;
                    continue;
                }
                out.push_str("\\{");
            }
            b'}' if !in_class => out.push_str("\\}"),
            _ => {
                // Copy one UTF-8 character.
                let ch_len = p[i..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&p[i..i + ch_len]);
                i += ch_len;
                continue;
            }
        }
        i += 1;
    }
    out
}

fn line_of(text: &str, needle: &str) -> usize {
    text.find(needle).map_or(0, |off| {
        text[..off].bytes().filter(|&b| b == b'\n').count() + 1
    })
}

fn convert_allowlist(
    a: &GlAllowlist,
    file: &str,
    ctx: &str,
    problems: &mut Vec<String>,
) -> Allowlist {
    let mut compile_all = |list: &[String]| {
        list.iter()
            .filter_map(|r| match compile_regex(&translate_re2(r)) {
                Ok(re) => Some(re),
                Err(e) => {
                    problems.push(format!("{file}: {ctx}: allowlist regex {r:?}: {e}"));
                    None
                }
            })
            .collect::<Vec<_>>()
    };
    let regexes = compile_all(&a.regexes);
    let paths = compile_all(&a.paths);
    let target = match a.regex_target.as_deref() {
        Some("match") => RegexTarget::Match,
        Some("line") => RegexTarget::Line,
        _ => RegexTarget::Secret,
    };
    Allowlist {
        and: a
            .condition
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case("and")),
        target,
        regexes,
        paths,
        stopwords: a.stopwords.iter().map(|s| s.to_ascii_lowercase()).collect(),
        commits: a.commits.clone(),
    }
}

impl RuleSet {
    /// Load a gitleaks TOML configuration file. See the module docs for what is supported.
    /// `[extend] useDefault = true` yields shipgate's built-in rules plus the file's rules.
    pub fn from_gitleaks_toml(path: &Path) -> Result<RuleSet, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        RuleSet::from_gitleaks_str_at(&path.display().to_string(), &text, path.parent(), 0)
    }

    /// Load a gitleaks TOML configuration from a string; `file` names it in errors.
    pub fn from_gitleaks_str(file: &str, text: &str) -> Result<RuleSet, Error> {
        RuleSet::from_gitleaks_str_at(file, text, None, 0)
    }

    fn from_gitleaks_str_at(
        file: &str,
        text: &str,
        dir: Option<&Path>,
        depth: u32,
    ) -> Result<RuleSet, Error> {
        let cfg: GlConfig = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|s| {
                    let before = &text[..s.start.min(text.len())];
                    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
                    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                    (line, col)
                })
                .unwrap_or((0, 0));
            Error::RuleFileSyntax {
                file: file.to_owned(),
                line: u32::try_from(line).unwrap_or(0),
                column: u32::try_from(column).unwrap_or(0),
                message: e.message().to_owned(),
            }
        })?;
        let mut problems = Vec::new();
        let mut set = RuleSet::default();
        if let Some(ext) = &cfg.extend {
            if ext.use_default {
                set = RuleSet::builtin();
            }
            if let Some(p) = &ext.path {
                if depth >= 2 {
                    problems.push(format!("{file}: [extend] path nesting deeper than 2"));
                } else {
                    let full = dir.map_or_else(|| Path::new(p).to_path_buf(), |d| d.join(p));
                    match std::fs::read_to_string(&full) {
                        Ok(t) => set.extend(RuleSet::from_gitleaks_str_at(
                            &full.display().to_string(),
                            &t,
                            full.parent(),
                            depth + 1,
                        )?),
                        Err(e) => {
                            problems.push(format!("{file}: [extend] path {}: {e}", full.display()))
                        }
                    }
                }
            }
        }
        let mut own = RuleSet::default();
        for r in &cfg.rules {
            let line = line_of(text, &format!("id = \"{}\"", r.id));
            let ctx = format!("line {line}: rule {}", r.id);
            if r.id.is_empty() {
                problems.push(format!("{file}: {ctx}: missing id"));
                continue;
            }
            let regex = match &r.regex {
                Some(p) => match compile_regex(&translate_re2(p)) {
                    Ok(re) => Some(RuleRegex::compiled(re)),
                    Err(e) => {
                        problems.push(format!("{file}: {ctx}: invalid regex: {e}"));
                        continue;
                    }
                },
                None => None,
            };
            let path = match &r.path {
                Some(p) => match compile_regex(&translate_re2(p)) {
                    Ok(re) => Some(re),
                    Err(e) => {
                        problems.push(format!("{file}: {ctx}: invalid path regex: {e}"));
                        continue;
                    }
                },
                None => None,
            };
            if regex.is_none() && path.is_none() {
                problems.push(format!("{file}: {ctx}: a rule needs `regex` or `path`"));
                continue;
            }
            let secret_group = regex
                .as_ref()
                .and_then(|re| resolve_secret_group(re, r.secret_group));
            let mut allowlists = Vec::new();
            for a in r.allowlist.iter().chain(r.allowlists.iter()) {
                allowlists.push(convert_allowlist(a, file, &ctx, &mut problems));
            }
            own.rules.push(Rule {
                id: r.id.clone(),
                description: if r.description.is_empty() {
                    r.id.clone()
                } else {
                    r.description.clone()
                },
                severity: Severity::High,
                keywords: r.keywords.clone(),
                exact_keywords: false,
                entropy: r.entropy.filter(|e| *e > 0.0),
                validator: None,
                multiline: false,
                generic: r.id.starts_with("generic"),
                examples: Vec::new(),
                negative_examples: Vec::new(),
                regex,
                secret_group,
                path,
                allowlists,
                skip_report: r.skip_report,
                required: Vec::new(),
            });
            for q in &r.required {
                if q.id.is_empty() {
                    problems.push(format!("{file}: {ctx}: [[rules.required]] needs an `id`"));
                    continue;
                }
                own.rules
                    .last_mut()
                    .expect("the rule was just pushed")
                    .required
                    .push(Required {
                        id: q.id.clone(),
                        within_lines: q.within_lines,
                        within_columns: q.within_columns,
                    });
            }
        }
        if let Some(a) = &cfg.allowlist {
            own.allowlists
                .push(convert_allowlist(a, file, "[allowlist]", &mut problems));
        }
        for a in &cfg.allowlists {
            let al = convert_allowlist(a, file, "[[allowlists]]", &mut problems);
            if a.target_rules.is_empty() {
                own.allowlists.push(al);
            } else {
                for r in own
                    .rules
                    .iter_mut()
                    .filter(|r| a.target_rules.contains(&r.id))
                {
                    r.allowlists.push(al.clone());
                }
            }
        }
        if !problems.is_empty() {
            return Err(Error::InvalidRules {
                file: file.to_owned(),
                problems,
            });
        }
        set.extend(own);
        if let Some(ext) = &cfg.extend {
            set.disable(&ext.disabled_rules);
        }
        // Required rules may be defined in this file, a file it extends or (with `useDefault`)
        // shipgate's built-ins; gitleaks only looks in the same file, so this accepts more.
        for r in cfg.rules.iter().filter(|r| !r.required.is_empty()) {
            for q in &r.required {
                if !q.id.is_empty() && !set.rules.iter().any(|x| x.id == q.id) {
                    let line = line_of(text, &format!("id = \"{}\"", r.id));
                    problems.push(format!(
                        "{file}: line {line}: rule {}: [[rules.required]] rule id {:?} does not exist (define a rule with that id, usually with `skipReport = true`)",
                        r.id, q.id
                    ));
                }
            }
        }
        if !problems.is_empty() {
            return Err(Error::InvalidRules {
                file: file.to_owned(),
                problems,
            });
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces_are_escaped_unless_repetition() {
        assert_eq!(translate_re2(r"^\$(?:\d+|{\d+})$"), r"^\$(?:\d+|\{\d+\})$");
        assert_eq!(translate_re2(r"a{2,3}b{4}c{5,}"), r"a{2,3}b{4}c{5,}");
        assert_eq!(
            translate_re2(r"^\{\{[ \t]*[\w ().|]+[ \t]*}}$"),
            r"^\{\{[ \t]*[\w ().|]+[ \t]*\}\}$"
        );
        assert_eq!(translate_re2(r"[{}]x"), r"[{}]x");
        assert_eq!(translate_re2(r"[[:alnum:]]{3}"), r"[[:alnum:]]{3}");
    }

    #[test]
    fn small_config_with_extend_and_allowlists() {
        let t = r#"
[extend]
useDefault = true
disabledRules = ["generic-api-key"]

[[rules]]
id = "acme-token"
description = "Acme token"
regex = '''acme_[a-z0-9]{16}'''
keywords = ["acme_"]
[[rules.allowlists]]
stopwords = ["aaaa"]
"#;
        let rs = RuleSet::from_gitleaks_str("t.toml", t).expect("loads");
        assert!(rs.rules().iter().any(|r| r.id == "acme-token"));
        assert!(rs.rules().iter().any(|r| r.id == "github-pat"));
        assert!(!rs.rules().iter().any(|r| r.id == "generic-api-key"));
    }

    #[test]
    fn malformed_toml_names_file_and_line() {
        let err = RuleSet::from_gitleaks_str("bad.toml", "[[rules]]\nid = \"x\"\nregex = \n")
            .expect_err("must fail");
        let msg = err.to_string();
        assert!(msg.starts_with("bad.toml:3:"), "{msg}");
    }

    #[test]
    fn bad_rule_regex_names_the_rule_and_line() {
        let err = RuleSet::from_gitleaks_str(
            "bad.toml",
            "[[rules]]\nid = \"x\"\nregex = '''(unclosed'''\n",
        )
        .expect_err("must fail");
        let msg = err.to_string();
        assert!(msg.contains("line 2: rule x"), "{msg}");
    }
}
