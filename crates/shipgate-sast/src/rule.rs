//! Rule files: Semgrep's YAML rule format, read with positions, checked, and compiled into
//! per-language formulas.
//!
//! Supported: `id`, `message`, `severity`, `languages`, `metadata` (CWE and OWASP ids are
//! taken from it), `fix`, `paths` (`include` / `exclude` globs), and the search-mode formula
//! keys `pattern`, `pattern-either`, `patterns`, `pattern-regex`, `pattern-not`,
//! `pattern-inside`, `pattern-not-inside`, `pattern-not-regex`, `metavariable-regex` and
//! `focus-metavariable`. Every other Semgrep key (taint mode, `metavariable-pattern`,
//! `metavariable-comparison`...) makes the rule *unsupported*: it is not loaded and a problem
//! naming the key and its position is reported, so the gate fails closed instead of silently
//! checking less than the user asked for.

use std::collections::BTreeSet;
use std::sync::Arc;

use globset::{Glob, GlobSet, GlobSetBuilder};
use regex::Regex;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::Spanned;
use shipgate_report::Severity;

use crate::error::RuleProblem;
use crate::eval::{Filter, Formula};
use crate::lang::Lang;
use crate::{pattern, shell};

/// What a finding reports about its rule, shared by the rule's per-language compilations.
#[derive(Debug)]
pub struct RuleMeta {
    /// The rule id.
    pub id: String,
    /// The message, with `$VAR` placeholders for metavariables.
    pub message: String,
    /// The severity in the report model (`ERROR` high, `WARNING` medium, `INFO` low).
    pub severity: Severity,
    /// Semgrep's severity word as written.
    pub semgrep_severity: String,
    /// The languages it applies to.
    pub languages: Vec<Lang>,
    /// CWE ids (`CWE-89`).
    pub cwe: Vec<String>,
    /// OWASP Top 10 entries as written (`A03:2021 - Injection`).
    pub owasp: Vec<String>,
    /// The rest of `metadata`, passed into the finding's properties.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// The suggested fix, with metavariable placeholders.
    pub fix: Option<String>,
    /// The file the rule came from.
    pub origin: String,
    /// `paths:` filters.
    pub paths: PathFilter,
}

/// A rule's `paths: include/exclude` globs (gitignore-style, matched on the path relative to
/// the scan root and on every suffix of it, as Semgrep does).
#[derive(Debug, Default)]
pub struct PathFilter {
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
}

impl PathFilter {
    /// Whether a file (path relative to the scan root, `/`-separated) is in scope.
    pub fn allows(&self, rel: &str) -> bool {
        let suffixes = || {
            std::iter::once(rel).chain(
                rel.match_indices('/')
                    .map(move |(i, _)| &rel[i + 1..])
                    .filter(|s| !s.is_empty()),
            )
        };
        if let Some(ex) = &self.exclude
            && suffixes().any(|s| ex.is_match(s))
        {
            return false;
        }
        match &self.include {
            Some(inc) => suffixes().any(|s| inc.is_match(s)),
            None => true,
        }
    }
}

/// One rule compiled for one language.
pub(crate) struct CompiledRule {
    pub(crate) meta: Arc<RuleMeta>,
    pub(crate) lang: Lang,
    pub(crate) formula: Formula,
    /// Literals of which at least one must occur in a file for the rule to match there
    /// (ASCII case-insensitively); empty when no literal is required.
    pub(crate) required: Vec<String>,
}

// ---------------------------------------------------------------------------------------
// The YAML schema, with positions.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    rules: Spanned<Vec<Spanned<RawRule>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRule {
    id: Spanned<String>,
    message: Option<String>,
    severity: Option<Spanned<String>>,
    languages: Spanned<Vec<Spanned<String>>>,
    metadata: Option<serde_json::Value>,
    fix: Option<String>,
    paths: Option<Spanned<RawPaths>>,
    pattern: Option<Spanned<String>>,
    pattern_either: Option<Spanned<Vec<Spanned<RawItem>>>>,
    patterns: Option<Spanned<Vec<Spanned<RawItem>>>>,
    pattern_regex: Option<Spanned<String>>,
    // Accepted and meaningless here.
    #[allow(dead_code)]
    min_version: Option<IgnoredAny>,
    #[allow(dead_code)]
    max_version: Option<IgnoredAny>,
    // Unsupported rule-level keys.
    mode: Option<Spanned<String>>,
    pattern_sources: Option<Spanned<IgnoredAny>>,
    pattern_sinks: Option<Spanned<IgnoredAny>>,
    pattern_sanitizers: Option<Spanned<IgnoredAny>>,
    pattern_propagators: Option<Spanned<IgnoredAny>>,
    taint: Option<Spanned<IgnoredAny>>,
    r#match: Option<Spanned<IgnoredAny>>,
    fix_regex: Option<Spanned<IgnoredAny>>,
    options: Option<Spanned<IgnoredAny>>,
    join: Option<Spanned<IgnoredAny>>,
    extract: Option<Spanned<IgnoredAny>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPaths {
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
}

/// One formula key. Rule level and inside `patterns` / `pattern-either` share the keys.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawItem {
    pattern: Option<Spanned<String>>,
    pattern_either: Option<Spanned<Vec<Spanned<RawItem>>>>,
    patterns: Option<Spanned<Vec<Spanned<RawItem>>>>,
    pattern_regex: Option<Spanned<String>>,
    pattern_not: Option<Spanned<String>>,
    pattern_inside: Option<Spanned<String>>,
    pattern_not_inside: Option<Spanned<String>>,
    pattern_not_regex: Option<Spanned<String>>,
    metavariable_regex: Option<Spanned<RawMetaRegex>>,
    focus_metavariable: Option<Spanned<OneOrMany>>,
    // Known Semgrep keys shipgate does not implement.
    metavariable_pattern: Option<Spanned<IgnoredAny>>,
    metavariable_comparison: Option<Spanned<IgnoredAny>>,
    metavariable_type: Option<Spanned<IgnoredAny>>,
    metavariable_name: Option<Spanned<IgnoredAny>>,
    metavariable_analysis: Option<Spanned<IgnoredAny>>,
    pattern_where_python: Option<Spanned<IgnoredAny>>,
    r#where: Option<Spanned<IgnoredAny>>,
    all: Option<Spanned<IgnoredAny>>,
    any: Option<Spanned<IgnoredAny>>,
    not: Option<Spanned<IgnoredAny>>,
    inside: Option<Spanned<IgnoredAny>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetaRegex {
    metavariable: String,
    regex: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

// ---------------------------------------------------------------------------------------

/// Where a problem is, for messages.
#[derive(Clone, Copy)]
struct Pos {
    line: u32,
    column: u32,
}

impl Pos {
    fn of<T>(s: &Spanned<T>) -> Pos {
        Pos {
            line: s.referenced.line() as u32,
            column: s.referenced.column() as u32,
        }
    }
}

struct Ctx<'a> {
    file: &'a str,
    rule: Option<String>,
    problems: &'a mut Vec<RuleProblem>,
}

impl Ctx<'_> {
    fn problem(&mut self, pos: Pos, message: impl Into<String>) {
        self.problems.push(RuleProblem {
            file: self.file.to_string(),
            line: pos.line,
            column: pos.column,
            rule: self.rule.clone(),
            message: message.into(),
        });
    }
}

/// Parse one rule file. Returns the rules that compiled; every problem (syntax, unsupported
/// feature, pattern that does not parse) is appended to `problems` with its position, and the
/// other rules of the file still load.
pub(crate) fn load_rules(
    file: &str,
    text: &str,
    problems: &mut Vec<RuleProblem>,
) -> Vec<CompiledRule> {
    let raw: RawFile = match serde_saphyr::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            let loc = e.location();
            problems.push(RuleProblem {
                file: file.to_string(),
                line: loc.as_ref().map_or(0, |l| l.line() as u32),
                column: loc.as_ref().map_or(0, |l| l.column() as u32),
                rule: None,
                message: saphyr_message(&e),
            });
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for rule in raw.rules.value {
        let pos = Pos::of(&rule);
        let rule = rule.value;
        let mut ctx = Ctx {
            file,
            rule: Some(rule.id.value.clone()),
            problems,
        };
        if !seen.insert(rule.id.value.clone()) {
            ctx.problem(pos, "duplicate rule id in this file");
            continue;
        }
        out.extend(compile_rule(file, rule, pos, &mut ctx));
    }
    out
}

fn saphyr_message(e: &serde_saphyr::Error) -> String {
    let first = e.to_string();
    let first = first.lines().next().unwrap_or_default();
    let m = first.strip_prefix("error: ").unwrap_or(first);
    // serde-saphyr starts with `line N column M: `; the position has its own fields.
    if let Some(rest) = m.strip_prefix("line ")
        && let Some(i) = rest.find(": ")
    {
        return rest[i + 2..].to_string();
    }
    m.to_string()
}

fn compile_rule(file: &str, rule: RawRule, pos: Pos, ctx: &mut Ctx<'_>) -> Vec<CompiledRule> {
    let mut ok = true;
    let unsupported_rule_keys: [(&str, Option<Pos>); 11] = [
        (
            "mode",
            rule.mode
                .as_ref()
                .filter(|m| m.value != "search")
                .map(Pos::of),
        ),
        (
            "pattern-sources",
            rule.pattern_sources.as_ref().map(Pos::of),
        ),
        ("pattern-sinks", rule.pattern_sinks.as_ref().map(Pos::of)),
        (
            "pattern-sanitizers",
            rule.pattern_sanitizers.as_ref().map(Pos::of),
        ),
        (
            "pattern-propagators",
            rule.pattern_propagators.as_ref().map(Pos::of),
        ),
        ("taint", rule.taint.as_ref().map(Pos::of)),
        ("match", rule.r#match.as_ref().map(Pos::of)),
        ("fix-regex", rule.fix_regex.as_ref().map(Pos::of)),
        ("options", rule.options.as_ref().map(Pos::of)),
        ("join", rule.join.as_ref().map(Pos::of)),
        ("extract", rule.extract.as_ref().map(Pos::of)),
    ];
    for (key, at) in unsupported_rule_keys {
        if let Some(at) = at {
            ctx.problem(
                at,
                format!("unsupported Semgrep feature `{key}`: the rule is not loaded"),
            );
            ok = false;
        }
    }
    let message = rule.message.unwrap_or_default();
    if message.trim().is_empty() {
        ctx.problem(pos, "`message` is missing or empty");
        ok = false;
    }
    let (severity, semgrep_severity) = match &rule.severity {
        None => {
            ctx.problem(pos, "`severity` is missing");
            ok = false;
            (Severity::Medium, String::new())
        }
        Some(s) => match s.value.to_ascii_uppercase().as_str() {
            "ERROR" | "HIGH" => (Severity::High, s.value.clone()),
            "CRITICAL" => (Severity::Critical, s.value.clone()),
            "WARNING" | "MEDIUM" => (Severity::Medium, s.value.clone()),
            "INFO" | "LOW" => (Severity::Low, s.value.clone()),
            "INVENTORY" | "EXPERIMENT" => (Severity::Info, s.value.clone()),
            other => {
                ctx.problem(
                    Pos::of(s),
                    format!(
                        "severity `{other}` is not one of ERROR, WARNING, INFO (or CRITICAL, HIGH, MEDIUM, LOW)"
                    ),
                );
                ok = false;
                (Severity::Medium, String::new())
            }
        },
    };
    let mut languages = Vec::new();
    for l in &rule.languages.value {
        match Lang::from_rule_name(&l.value) {
            Some(ls) => languages.extend_from_slice(ls),
            None => {
                let what = match l.value.as_str() {
                    "generic" | "regex" | "none" => "generic and regex-only rules are",
                    _ => "this language is",
                };
                ctx.problem(
                    Pos::of(l),
                    format!(
                        "unsupported language `{}`: {what} not supported; the rule is not loaded",
                        l.value
                    ),
                );
                ok = false;
            }
        }
    }
    languages.sort();
    languages.dedup();
    if languages.is_empty() && ok {
        ctx.problem(Pos::of(&rule.languages), "`languages` is empty");
        ok = false;
    }
    let paths = match &rule.paths {
        None => PathFilter::default(),
        Some(p) => {
            let at = Pos::of(p);
            let mk = |globs: &[String], ctx: &mut Ctx<'_>| -> Option<GlobSet> {
                if globs.is_empty() {
                    return None;
                }
                let mut b = GlobSetBuilder::new();
                for g in globs {
                    // A bare name matches at any depth, like gitignore.
                    let g = g.trim_start_matches("./");
                    let pat = if g.ends_with('/') {
                        format!("{g}**")
                    } else {
                        g.to_string()
                    };
                    for p in [pat.clone(), format!("{pat}/**")] {
                        match Glob::new(&p) {
                            Ok(glob) => {
                                b.add(glob);
                            }
                            Err(e) => ctx.problem(at, e.to_string()),
                        }
                    }
                }
                b.build().ok()
            };
            PathFilter {
                include: mk(&p.value.include, ctx),
                exclude: mk(&p.value.exclude, ctx),
            }
        }
    };
    let metadata = match rule.metadata {
        Some(serde_json::Value::Object(m)) => m,
        Some(serde_json::Value::Null) | None => serde_json::Map::new(),
        Some(_) => {
            ctx.problem(pos, "`metadata` must be a mapping");
            ok = false;
            serde_json::Map::new()
        }
    };
    let cwe = ids_from(&metadata, "cwe", cwe_id);
    let owasp = ids_from(&metadata, "owasp", |s| Some(s.trim().to_string()));

    let meta = Arc::new(RuleMeta {
        id: rule.id.value.clone(),
        message: message.trim().to_string(),
        severity,
        semgrep_severity,
        languages: languages.clone(),
        cwe,
        owasp,
        metadata,
        fix: rule.fix,
        origin: file.to_string(),
        paths,
    });
    let top = RawItem {
        pattern: rule.pattern,
        pattern_either: rule.pattern_either,
        patterns: rule.patterns,
        pattern_regex: rule.pattern_regex,
        ..RawItem::default()
    };
    if !ok {
        return Vec::new();
    }
    let mut out = Vec::new();
    for lang in languages {
        let formula = compile_top(&top, pos, lang, ctx);
        let Some(formula) = formula else {
            ok = false;
            continue;
        };
        let required = formula.required_literals().unwrap_or_default();
        out.push(CompiledRule {
            meta: meta.clone(),
            lang,
            formula,
            required,
        });
    }
    if ok { out } else { Vec::new() }
}

/// `CWE-89: Improper Neutralization...` → `CWE-89`.
fn cwe_id(s: &str) -> Option<String> {
    let s = s.trim();
    let rest = s.strip_prefix("CWE-").or_else(|| s.strip_prefix("cwe-"))?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (!digits.is_empty()).then(|| format!("CWE-{digits}"))
}

fn ids_from(
    meta: &serde_json::Map<String, serde_json::Value>,
    key: &str,
    f: impl Fn(&str) -> Option<String>,
) -> Vec<String> {
    match meta.get(key) {
        Some(serde_json::Value::String(s)) => f(s).into_iter().collect(),
        Some(serde_json::Value::Array(a)) => {
            a.iter().filter_map(|v| v.as_str()).filter_map(f).collect()
        }
        _ => Vec::new(),
    }
}

/// The rule-level formula: exactly one of `pattern`, `pattern-either`, `patterns`,
/// `pattern-regex`.
fn compile_top(item: &RawItem, pos: Pos, lang: Lang, ctx: &mut Ctx<'_>) -> Option<Formula> {
    let keys = item.keys();
    let positive: Vec<_> = keys.iter().filter(|k| k.1.is_top_level()).collect();
    for (k, kind, at) in &keys {
        if !kind.is_top_level() {
            ctx.problem(
                *at,
                match kind {
                    KeyKind::Unsupported => {
                        format!("unsupported Semgrep feature `{k}`: the rule is not loaded")
                    }
                    _ => format!("`{k}` is only valid inside `patterns`"),
                },
            );
            return None;
        }
    }
    match positive.len() {
        1 => compile_item(item, lang, ctx),
        0 => {
            ctx.problem(
                pos,
                "the rule has no `pattern`, `pattern-either`, `patterns` or `pattern-regex`",
            );
            None
        }
        _ => {
            ctx.problem(
                positive[1].2,
                format!(
                    "`{}` and `{}` cannot both be given; combine them under `patterns`",
                    positive[0].0, positive[1].0
                ),
            );
            None
        }
    }
}

#[derive(PartialEq, Clone, Copy)]
enum KeyKind {
    Positive,
    Filter,
    Unsupported,
}

impl KeyKind {
    fn is_top_level(self) -> bool {
        self == KeyKind::Positive
    }
}

impl RawItem {
    /// The keys present, with their kind and position.
    fn keys(&self) -> Vec<(&'static str, KeyKind, Pos)> {
        use KeyKind::*;
        let mut v = Vec::new();
        macro_rules! key {
            ($field:ident, $name:literal, $kind:expr) => {
                if let Some(x) = &self.$field {
                    v.push(($name, $kind, Pos::of(x)));
                }
            };
        }
        key!(pattern, "pattern", Positive);
        key!(pattern_either, "pattern-either", Positive);
        key!(patterns, "patterns", Positive);
        key!(pattern_regex, "pattern-regex", Positive);
        key!(pattern_not, "pattern-not", Filter);
        key!(pattern_inside, "pattern-inside", Filter);
        key!(pattern_not_inside, "pattern-not-inside", Filter);
        key!(pattern_not_regex, "pattern-not-regex", Filter);
        key!(metavariable_regex, "metavariable-regex", Filter);
        key!(focus_metavariable, "focus-metavariable", Filter);
        key!(metavariable_pattern, "metavariable-pattern", Unsupported);
        key!(
            metavariable_comparison,
            "metavariable-comparison",
            Unsupported
        );
        key!(metavariable_type, "metavariable-type", Unsupported);
        key!(metavariable_name, "metavariable-name", Unsupported);
        key!(metavariable_analysis, "metavariable-analysis", Unsupported);
        key!(pattern_where_python, "pattern-where-python", Unsupported);
        key!(r#where, "where", Unsupported);
        key!(all, "all", Unsupported);
        key!(any, "any", Unsupported);
        key!(not, "not", Unsupported);
        key!(inside, "inside", Unsupported);
        v
    }
}

/// A positive formula item (`pattern`, `pattern-either`, `patterns`, `pattern-regex`).
fn compile_item(item: &RawItem, lang: Lang, ctx: &mut Ctx<'_>) -> Option<Formula> {
    if let Some(p) = &item.pattern {
        return compile_pattern(p, lang, ctx);
    }
    if let Some(r) = &item.pattern_regex {
        return compile_regex(r, ctx).map(Formula::Regex);
    }
    if let Some(either) = &item.pattern_either {
        if either.value.is_empty() {
            ctx.problem(Pos::of(either), "`pattern-either` is empty");
            return None;
        }
        let mut alts = Vec::new();
        for alt in &either.value {
            let keys = alt.value.keys();
            if keys.len() != 1 || !keys[0].1.is_top_level() {
                let at = keys.first().map_or(Pos::of(alt), |k| k.2);
                let what = match keys.first() {
                    Some((k, KeyKind::Unsupported, _)) => {
                        format!("unsupported Semgrep feature `{k}`: the rule is not loaded")
                    }
                    Some((k, KeyKind::Filter, _)) if keys.len() == 1 => {
                        format!("`{k}` is not valid inside `pattern-either`; use `patterns`")
                    }
                    _ => "each `pattern-either` entry needs exactly one of `pattern`, `pattern-either`, `patterns`, `pattern-regex`".to_string(),
                };
                ctx.problem(at, what);
                return None;
            }
            alts.push(compile_item(&alt.value, lang, ctx)?);
        }
        return Some(Formula::Either(alts));
    }
    if let Some(all) = &item.patterns {
        let mut positives = Vec::new();
        let mut filters = Vec::new();
        for entry in &all.value {
            let keys = entry.value.keys();
            if keys.len() != 1 {
                ctx.problem(
                    keys.get(1).map_or(Pos::of(entry), |k| k.2),
                    "each `patterns` entry needs exactly one key",
                );
                return None;
            }
            let (key, kind, at) = keys[0];
            let e = &entry.value;
            match kind {
                KeyKind::Unsupported => {
                    ctx.problem(
                        at,
                        format!("unsupported Semgrep feature `{key}`: the rule is not loaded"),
                    );
                    return None;
                }
                KeyKind::Positive => positives.push(compile_item(e, lang, ctx)?),
                KeyKind::Filter => filters.push(compile_filter(e, lang, ctx)?),
            }
        }
        if positives.is_empty() {
            // Semgrep lets `pattern-inside` alone be the positive part.
            let idx = filters.iter().position(|f| matches!(f, Filter::Inside(_)));
            match idx {
                Some(i) => {
                    let Filter::Inside(f) = filters.remove(i) else {
                        unreachable!("position() found an Inside filter")
                    };
                    positives.push(f);
                }
                None => {
                    ctx.problem(
                        Pos::of(all),
                        "`patterns` needs at least one positive entry (`pattern`, `pattern-either`, `patterns`, `pattern-regex` or `pattern-inside`)",
                    );
                    return None;
                }
            }
        }
        return Some(Formula::All(positives, filters));
    }
    None
}

fn compile_filter(item: &RawItem, lang: Lang, ctx: &mut Ctx<'_>) -> Option<Filter> {
    if let Some(p) = &item.pattern_not {
        return compile_pattern(p, lang, ctx).map(Filter::Not);
    }
    if let Some(p) = &item.pattern_inside {
        return compile_pattern(p, lang, ctx).map(Filter::Inside);
    }
    if let Some(p) = &item.pattern_not_inside {
        return compile_pattern(p, lang, ctx).map(Filter::NotInside);
    }
    if let Some(r) = &item.pattern_not_regex {
        return compile_regex(r, ctx).map(Filter::NotRegex);
    }
    if let Some(m) = &item.metavariable_regex {
        let var = m.value.metavariable.trim();
        let Some(name) = var.strip_prefix('$').filter(|n| is_metavar_name(n)) else {
            ctx.problem(
                Pos::of(m),
                format!("`metavariable` must be a metavariable such as $X, not `{var}`"),
            );
            return None;
        };
        // Semgrep matches from the start of the text (Python's re.match), not anywhere.
        let src = format!(r"\A(?:{})", m.value.regex);
        return match Regex::new(&src) {
            Ok(re) => Some(Filter::MetaRegex(name.to_string(), re)),
            Err(e) => {
                ctx.problem(
                    Pos::of(m),
                    format!("invalid regex: {}", one_line(&e.to_string())),
                );
                None
            }
        };
    }
    if let Some(f) = &item.focus_metavariable {
        let names: Vec<String> = match &f.value {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        };
        let mut out = Vec::new();
        for n in names {
            match n.trim().strip_prefix('$').filter(|n| is_metavar_name(n)) {
                Some(n) => out.push(n.to_string()),
                None => {
                    ctx.problem(Pos::of(f), format!("`{n}` is not a metavariable"));
                    return None;
                }
            }
        }
        return Some(Filter::Focus(out));
    }
    None
}

pub(crate) fn is_metavar_name(n: &str) -> bool {
    let mut c = n.chars();
    c.next().is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && c.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn compile_regex(r: &Spanned<String>, ctx: &mut Ctx<'_>) -> Option<Regex> {
    match regex::RegexBuilder::new(&r.value).multi_line(true).build() {
        Ok(re) => Some(re),
        Err(e) => {
            ctx.problem(
                Pos::of(r),
                format!("invalid regex: {}", one_line(&e.to_string())),
            );
            None
        }
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn compile_pattern(p: &Spanned<String>, lang: Lang, ctx: &mut Ctx<'_>) -> Option<Formula> {
    let result = if lang.is_command_language() {
        shell::CommandPattern::compile(&p.value, lang).map(Formula::Command)
    } else {
        pattern::TreePattern::compile(&p.value, lang).map(|t| Formula::Tree(Box::new(t)))
    };
    match result {
        Ok(f) => Some(f),
        Err(why) => {
            ctx.problem(
                Pos::of(p),
                format!("pattern `{}` ({}): {why}", one_line(&p.value), lang.name()),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<RuleProblem> {
        let mut p = Vec::new();
        load_rules("r.yaml", text, &mut p);
        p
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let p = problems("rules:\n  - id: x\n    message: [unclosed\n");
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].line, 3, "{p:?}");
        assert!(p[0].column > 0);
    }

    #[test]
    fn unsupported_features_are_reported_not_dropped() {
        let p = problems(
            "rules:\n  - id: taint\n    mode: taint\n    message: m\n    severity: ERROR\n    languages: [python]\n    pattern-sources:\n      - pattern: input()\n    pattern-sinks:\n      - pattern: eval(...)\n",
        );
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p.iter().all(|p| p.message.contains("unsupported")), "{p:?}");
        assert_eq!((p[0].line, p[0].rule.as_deref()), (3, Some("taint")));
        let p = problems(
            "rules:\n  - id: mp\n    message: m\n    severity: ERROR\n    languages: [python]\n    patterns:\n      - pattern: f($X)\n      - metavariable-pattern:\n          metavariable: $X\n          pattern: g()\n",
        );
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(
            p[0].line, 9,
            "the position of the unsupported entry's value"
        );
        assert!(p[0].message.contains("metavariable-pattern"));
    }

    #[test]
    fn good_rules_load_next_to_bad_ones() {
        let mut p = Vec::new();
        let rules = load_rules(
            "r.yaml",
            "rules:\n  - id: good\n    message: m\n    severity: WARNING\n    languages: [python]\n    pattern: eval(...)\n  - id: bad\n    message: m\n    severity: LOUD\n    languages: [cobol]\n    pattern: x\n",
            &mut p,
        );
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].meta.id, "good");
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].line, 9);
        assert_eq!(p[1].line, 10);
    }

    #[test]
    fn cwe_ids_are_extracted() {
        assert_eq!(
            cwe_id("CWE-89: Improper Neutralization").as_deref(),
            Some("CWE-89")
        );
        assert_eq!(cwe_id("not a cwe"), None);
    }

    #[test]
    fn path_filters_match_like_semgrep() {
        let mut b = GlobSetBuilder::new();
        b.add(Glob::new(".github/workflows/**").expect("glob"));
        let f = PathFilter {
            include: Some(b.build().expect("set")),
            exclude: None,
        };
        assert!(f.allows("repo/.github/workflows/ci.yml"));
        assert!(f.allows(".github/workflows/ci.yml"));
        assert!(!f.allows("src/ci.yml"));
    }
}
