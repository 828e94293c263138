//! Running rules over files: walking a tree (or a given file list), choosing each file's
//! language, the per-language literal prefilter, parsing once per file, inline
//! suppressions, and turning matches into findings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aho_corasick::AhoCorasick;
use shipgate_report::{Finding, Location, ScanError, ScanOutput, Suppression, SuppressionKind};

use crate::error::FileProblem;
use crate::eval::{Hit, Parsed, Target};
use crate::lang::Lang;
use crate::rule::{CompiledRule, RuleMeta};
use crate::{RuleSet, pattern, shell};

/// The scanner name in reports.
pub const SCANNER: &str = "sast";

/// Files larger than this are skipped with a note (generated bundles, data dumps).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 1 << 20;

/// How to scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Do not honour `.gitignore` and friends.
    pub no_ignore: bool,
    /// Worker threads; 0 = one per core.
    pub threads: usize,
    /// Files above this size are skipped (noted).
    pub max_file_size: u64,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            no_ignore: false,
            threads: 0,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
        }
    }
}

/// One rule match, before it becomes a report finding.
#[derive(Debug, Clone)]
pub struct Match {
    /// The rule.
    pub rule: Arc<RuleMeta>,
    /// The file, as given or relative to the scan root.
    pub path: String,
    /// 1-based start line and column, end line and column (exclusive column).
    pub start: (u32, u32),
    /// 1-based end line and column.
    pub end: (u32, u32),
    /// The rule message with metavariables filled in.
    pub message: String,
    /// The rule's fix with metavariables filled in.
    pub fix: Option<String>,
    /// The matched text.
    pub text: String,
    /// The inline comment that suppresses it, if any.
    pub suppressed_by: Option<String>,
}

/// What a scan produced.
#[derive(Debug, Default)]
pub struct ScanResult {
    /// Matches, sorted by path and position.
    pub matches: Vec<Match>,
    /// Problems with files: errors (unreadable) and notes (partial parses, lossy UTF-8).
    pub problems: Vec<FileProblem>,
    /// Files whose language a rule targets and that were scanned.
    pub files_scanned: usize,
    /// Files skipped because of their size.
    pub skipped_large: Vec<String>,
}

/// Rules grouped by language with each language's prefilter.
pub(crate) struct LangRules {
    rules: Vec<usize>,
    /// Over the rules' required literals (ASCII case-insensitive); `None` when no rule of
    /// the language has one.
    prefilter: Option<AhoCorasick>,
    /// For each literal of the automaton, the rules that need it.
    literal_rules: Vec<Vec<usize>>,
    /// Rules that run on every file of the language.
    always: Vec<usize>,
}

pub(crate) fn index(rules: &[CompiledRule]) -> BTreeMap<Lang, LangRules> {
    let mut out = BTreeMap::new();
    for lang in Lang::ALL {
        let ids: Vec<usize> = (0..rules.len())
            .filter(|&i| rules[i].lang == lang)
            .collect();
        if ids.is_empty() {
            continue;
        }
        let mut literals: Vec<String> = Vec::new();
        let mut literal_rules: Vec<Vec<usize>> = Vec::new();
        let mut always = Vec::new();
        for &i in &ids {
            if rules[i].required.is_empty() {
                always.push(i);
                continue;
            }
            for l in &rules[i].required {
                let l = l.to_ascii_lowercase();
                match literals.iter().position(|x| *x == l) {
                    Some(k) => literal_rules[k].push(i),
                    None => {
                        literals.push(l);
                        literal_rules.push(vec![i]);
                    }
                }
            }
        }
        let prefilter = if literals.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(&literals)
                .ok()
        };
        if prefilter.is_none() {
            // Without an automaton every rule runs.
            always = ids.clone();
        }
        out.insert(
            lang,
            LangRules {
                rules: ids,
                prefilter,
                literal_rules,
                always,
            },
        );
    }
    out
}

impl RuleSet {
    /// The rules of a language that can match `text`.
    fn candidates(&self, lang: Lang, text: &str) -> Vec<usize> {
        let Some(lr) = self.by_lang.get(&lang) else {
            return Vec::new();
        };
        let Some(ac) = &lr.prefilter else {
            return lr.rules.clone();
        };
        let mut want = vec![false; self.rules.len()];
        for &i in &lr.always {
            want[i] = true;
        }
        let mut seen = vec![false; lr.literal_rules.len()];
        let mut left = seen.len();
        for m in ac.find_overlapping_iter(text) {
            let k = m.pattern().as_usize();
            if !seen[k] {
                seen[k] = true;
                for &i in &lr.literal_rules[k] {
                    want[i] = true;
                }
                left -= 1;
                if left == 0 {
                    break;
                }
            }
        }
        lr.rules.iter().copied().filter(|&i| want[i]).collect()
    }

    /// Whether any loaded rule targets `lang`.
    pub fn targets(&self, lang: Lang) -> bool {
        self.by_lang.contains_key(&lang)
    }
}

/// Scan one file's text. `rel` is the path shown in findings and matched by `paths:`.
pub fn scan_text(
    rules: &RuleSet,
    rel: &str,
    lang: Lang,
    text: &str,
) -> (Vec<Match>, Vec<FileProblem>) {
    let mut problems = Vec::new();
    let candidates: Vec<usize> = rules
        .candidates(lang, text)
        .into_iter()
        .filter(|&i| rules.rules[i].meta.paths.allows(rel))
        .collect();
    if candidates.is_empty() {
        return (Vec::new(), problems);
    }
    let tree;
    let units;
    let parsed = if lang.is_command_language() {
        units = shell::split(text, lang);
        Parsed::Commands(&units)
    } else {
        tree = pattern::parse(text, lang);
        let root = tree.root();
        let inner = root.get_inner_node();
        if inner.has_error() {
            let (line, column) = first_error(&tree);
            problems.push(FileProblem {
                path: rel.to_string(),
                line: Some(line),
                column: Some(column),
                message: format!(
                    "syntax error: not valid {}; the rest of the file was still matched (partial parse)",
                    lang.name()
                ),
                scanned: true,
            });
        }
        Parsed::Tree(&tree)
    };
    let tree_hits = match parsed {
        Parsed::Tree(tree) => {
            let mut pats = Vec::new();
            for &i in &candidates {
                rules.rules[i].formula.tree_patterns(&mut pats);
            }
            Some(pattern::match_all(tree, &pats))
        }
        Parsed::Commands(_) => None,
    };
    let target = Target {
        text,
        parsed,
        tree_hits: tree_hits.as_ref(),
    };
    let lines = LineIndex::new(text);
    let mut out = Vec::new();
    for i in candidates {
        let rule = &rules.rules[i];
        for hit in rule.formula.eval(&target) {
            out.push(to_match(rule, rel, text, &lines, &hit));
        }
    }
    out.sort_by(|a, b| (a.start, &a.rule.id).cmp(&(b.start, &b.rule.id)));
    out.dedup_by(|a, b| a.start == b.start && a.end == b.end && a.rule.id == b.rule.id);
    (out, problems)
}

fn first_error(tree: &pattern::Tree) -> (u32, u32) {
    let root = tree.root();
    for n in root.dfs() {
        if n.is_error() || n.is_missing() {
            let p = n.start_pos();
            return (p.line() as u32 + 1, p.column(&n) as u32 + 1);
        }
    }
    (1, 1)
}

/// Byte offset → 1-based line and column (in characters).
struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        LineIndex { text, starts }
    }

    fn pos(&self, offset: usize) -> (u32, u32) {
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let col = self
            .text
            .get(start..offset.min(self.text.len()))
            .map_or(offset - start, |s| s.chars().count());
        (line as u32 + 1, col as u32 + 1)
    }

    fn line(&self, n: u32) -> &'a str {
        let i = n as usize - 1;
        let Some(&s) = self.starts.get(i) else {
            return "";
        };
        let e = self.starts.get(i + 1).copied().unwrap_or(self.text.len());
        &self.text[s..e]
    }
}

/// CWE ids whose matches contain credentials: their metavariables are not copied into
/// messages.
const SECRET_CWES: [&str; 4] = ["CWE-798", "CWE-259", "CWE-321", "CWE-522"];

fn to_match(rule: &CompiledRule, rel: &str, text: &str, lines: &LineIndex<'_>, hit: &Hit) -> Match {
    let start = lines.pos(hit.range.start);
    let end = lines.pos(hit.range.end);
    let secret = rule
        .meta
        .cwe
        .iter()
        .any(|c| SECRET_CWES.contains(&c.as_str()));
    let message = interpolate(&rule.meta.message, hit, secret);
    let fix = rule.meta.fix.as_ref().map(|f| interpolate(f, hit, false));
    let suppressed_by = inline_suppression(lines, start.0, &rule.meta.id);
    Match {
        rule: rule.meta.clone(),
        path: rel.to_string(),
        start,
        end,
        message,
        fix,
        text: text.get(hit.range.clone()).unwrap_or_default().to_string(),
        suppressed_by,
    }
}

/// Replace `$NAME` by what the metavariable matched (longest names first); credentials are
/// shown as `[redacted]`.
fn interpolate(template: &str, hit: &Hit, redact: bool) -> String {
    let mut vars: Vec<&(String, crate::eval::Binding)> = hit.vars.iter().collect();
    vars.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    let mut out = template.to_string();
    for (name, b) in vars {
        let key = format!("${name}");
        if !out.contains(&key) {
            continue;
        }
        let value = if redact {
            "[redacted]".to_string()
        } else {
            let one_line: String = b.text.split_whitespace().collect::<Vec<_>>().join(" ");
            if one_line.chars().count() > 80 {
                let cut: String = one_line.chars().take(77).collect();
                format!("{cut}...")
            } else {
                one_line
            }
        };
        out = out.replace(&key, &value);
    }
    out
}

/// `nosemgrep` or `shipgate:allow` in a comment on the match's first line or the line above,
/// optionally naming rules (`nosemgrep: rule-a, rule-b`).
fn inline_suppression(lines: &LineIndex<'_>, line: u32, rule_id: &str) -> Option<String> {
    let candidates = [Some(line), line.checked_sub(1).filter(|&l| l >= 1)];
    for l in candidates.into_iter().flatten() {
        let text = lines.line(l);
        for marker in ["nosemgrep", "shipgate:allow"] {
            let Some(i) = text.find(marker) else {
                continue;
            };
            let rest = &text[i + marker.len()..];
            let applies = match rest.strip_prefix(':') {
                Some(ids) => ids
                    .split([',', ' '])
                    .map(|s| s.trim().trim_end_matches(['*', '/', '-', '>', '#']))
                    .filter(|s| !s.is_empty())
                    .any(|id| id == rule_id || rule_id.ends_with(&format!(".{id}"))),
                None => true,
            };
            if applies {
                return Some(text.trim().to_string());
            }
        }
    }
    None
}

/// Scan a file or directory.
pub fn scan_path(rules: &RuleSet, root: &Path, opts: &ScanOptions) -> ScanResult {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    if root.is_file() {
        files.push(root.to_path_buf());
    } else {
        let walker = ignore::WalkBuilder::new(root)
            .standard_filters(!opts.no_ignore)
            .hidden(false)
            .filter_entry(|e| e.file_name() != ".git")
            .build();
        for entry in walker {
            match entry {
                Ok(e) if e.file_type().is_some_and(|t| t.is_file()) => files.push(e.into_path()),
                Ok(_) => {}
                Err(e) => problems.push(FileProblem {
                    path: root.display().to_string(),
                    line: None,
                    column: None,
                    message: e.to_string(),
                    scanned: false,
                }),
            }
        }
    }
    let mut result = scan_files(rules, root, &files, opts);
    problems.append(&mut result.problems);
    result.problems = problems;
    result
}

/// Scan the given files; paths in findings are relative to `root` when under it.
pub fn scan_files(
    rules: &RuleSet,
    root: &Path,
    files: &[PathBuf],
    opts: &ScanOptions,
) -> ScanResult {
    let results = parallel(files, opts.threads, |path, r| {
        scan_one(rules, root, path, opts, r)
    });
    let mut all = ScanResult::default();
    for mut r in results {
        all.matches.append(&mut r.matches);
        all.problems.append(&mut r.problems);
        all.skipped_large.append(&mut r.skipped_large);
        all.files_scanned += r.files_scanned;
    }
    all.matches
        .sort_by(|a, b| (&a.path, a.start, &a.rule.id).cmp(&(&b.path, b.start, &b.rule.id)));
    all.problems
        .sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    all.skipped_large.sort();
    all
}

/// Run `work` over `items` on `threads` workers (0: one per core), each filling its own
/// result; the results in no particular order.
pub(crate) fn parallel<T: Sync>(
    items: &[T],
    threads: usize,
    work: impl Fn(&T, &mut ScanResult) + Sync,
) -> Vec<ScanResult> {
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    }
    .min(items.len().max(1));
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut r = ScanResult::default();
                    while let Some(item) = items.get(next.fetch_add(1, Ordering::Relaxed)) {
                        work(item, &mut r);
                    }
                    r
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_default())
            .collect()
    })
}

fn display_path(root: &Path, path: &Path) -> String {
    let rel = if root.is_file() {
        path
    } else {
        path.strip_prefix(root).unwrap_or(path)
    };
    let s = rel.to_string_lossy().replace('\\', "/");
    if s.is_empty() {
        path.to_string_lossy().into_owned()
    } else {
        s
    }
}

fn scan_one(rules: &RuleSet, root: &Path, path: &Path, opts: &ScanOptions, r: &mut ScanResult) {
    let rel = display_path(root, path);
    let mut lang = Lang::from_path(path);
    if lang.is_some_and(|l| !rules.targets(l)) {
        return;
    }
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            r.problems.push(read_error(&rel, &e));
            return;
        }
    };
    if lang.is_none() {
        // Extension-less scripts: look at the shebang.
        if path.extension().is_some() || !rules.targets(Lang::Bash) || meta.len() < 3 {
            return;
        }
        let mut head = [0u8; 128];
        let n = match std::fs::File::open(path).and_then(|mut f| {
            use std::io::Read;
            f.read(&mut head)
        }) {
            Ok(n) => n,
            Err(e) => {
                r.problems.push(read_error(&rel, &e));
                return;
            }
        };
        let first = head[..n].split(|&b| b == b'\n').next().unwrap_or_default();
        lang = Lang::from_shebang(first).filter(|l| rules.targets(*l));
    }
    let Some(lang) = lang else { return };
    if meta.len() > opts.max_file_size {
        r.skipped_large.push(rel);
        return;
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            r.problems.push(read_error(&rel, &e));
            return;
        }
    };
    if memchr::memchr(0, &bytes[..bytes.len().min(8192)]).is_some() {
        return; // binary
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            let line = memchr::memchr_iter(b'\n', &bytes[..valid]).count() as u32 + 1;
            r.problems.push(FileProblem {
                path: rel.clone(),
                line: Some(line),
                column: None,
                message: "invalid UTF-8; the bad bytes were replaced (U+FFFD) and the file scanned"
                    .into(),
                scanned: true,
            });
            String::from_utf8_lossy(&bytes).into_owned()
        }
    };
    r.files_scanned += 1;
    let (mut matches, mut problems) = scan_text(rules, &rel, lang, &text);
    r.matches.append(&mut matches);
    r.problems.append(&mut problems);
}

fn read_error(rel: &str, e: &std::io::Error) -> FileProblem {
    FileProblem {
        path: rel.to_string(),
        line: None,
        column: None,
        message: format!("cannot read: {e}"),
        scanned: false,
    }
}

impl ScanResult {
    /// The report model's view: findings (suppressed ones marked), errors and notes.
    pub fn into_scan_output(self) -> ScanOutput {
        let mut out = ScanOutput::default();
        let mut occurrences: BTreeMap<(String, String, String), u32> = BTreeMap::new();
        for m in self.matches {
            out.findings.push(finding(m, &mut occurrences));
        }
        for p in self.problems {
            if p.scanned {
                let at = match (p.line, p.column) {
                    (Some(l), Some(c)) => format!("{}:{l}:{c}", p.path),
                    (Some(l), None) => format!("{}:{l}", p.path),
                    _ => p.path.clone(),
                };
                out.notes.push(format!("{at}: {}", p.message));
            } else {
                out.errors
                    .push(ScanError::at(p.path, p.line, p.column, p.message));
            }
        }
        if !self.skipped_large.is_empty() {
            let n = self.skipped_large.len();
            let shown: Vec<&str> = self
                .skipped_large
                .iter()
                .take(5)
                .map(String::as_str)
                .collect();
            out.notes.push(format!(
                "skipped {n} file{} over {} KiB (raise with --max-file-size): {}{}",
                if n == 1 { "" } else { "s" },
                DEFAULT_MAX_FILE_SIZE / 1024,
                shown.join(", "),
                if n > 5 { ", ..." } else { "" }
            ));
        }
        out
    }
}

fn finding(m: Match, occurrences: &mut BTreeMap<(String, String, String), u32>) -> Finding {
    let meta = &m.rule;
    let normalized: String = m.text.split_whitespace().collect::<Vec<_>>().join(" ");
    let key = (meta.id.clone(), m.path.clone(), normalized.clone());
    let n = occurrences.entry(key).or_insert(0);
    *n += 1;
    // Stable across edits elsewhere in the file: rule, path, matched text, occurrence.
    let fingerprint =
        Finding::fingerprint_of(&[SCANNER, &meta.id, &m.path, &normalized, &n.to_string()]);
    let title = meta
        .metadata
        .get("shortDescription")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| first_sentence(&m.message));
    let location = Location::file(m.path.clone()).with_span(m.start.0, m.start.1, m.end.0, m.end.1);
    let mut f = Finding::with_fingerprint(
        fingerprint,
        SCANNER,
        &meta.id,
        meta.severity,
        title,
        m.message.clone(),
        location,
    );
    f.remediation = m.fix.clone().map(|fix| format!("Replace with: {fix}"));
    let p = &mut f.properties;
    p.insert("cwe".into(), serde_json::json!(meta.cwe));
    p.insert("owasp".into(), serde_json::json!(meta.owasp));
    p.insert(
        "languages".into(),
        serde_json::json!(meta.languages.iter().map(|l| l.name()).collect::<Vec<_>>()),
    );
    if !meta.semgrep_severity.is_empty() {
        p.insert(
            "rule_severity".into(),
            serde_json::json!(meta.semgrep_severity),
        );
    }
    for k in [
        "confidence",
        "category",
        "likelihood",
        "impact",
        "references",
    ] {
        if let Some(v) = meta.metadata.get(k) {
            p.insert(k.into(), v.clone());
        }
    }
    if let Some(fix) = &m.fix {
        p.insert("fix".into(), serde_json::json!(fix));
    }
    p.insert("rule_origin".into(), serde_json::json!(meta.origin));
    if let Some(by) = m.suppressed_by {
        f.suppressed = Some(Suppression {
            kind: SuppressionKind::Inline,
            reason: "inline comment".into(),
            source: Some(format!("{}:{}: {by}", m.path, m.start.0)),
            expires: None,
        });
    }
    f
}

fn first_sentence(message: &str) -> String {
    let one: String = message.split_whitespace().collect::<Vec<_>>().join(" ");
    let end = one
        .match_indices(". ")
        .next()
        .map_or(one.len(), |(i, _)| i + 1);
    let s = &one[..end];
    if s.chars().count() > 120 {
        let cut: String = s.chars().take(117).collect();
        format!("{cut}...")
    } else {
        s.to_string()
    }
}
