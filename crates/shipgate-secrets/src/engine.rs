//! The matching engine: keyword prefilter, windowed regex runs, candidate filters, streaming.

use std::io::Read;

use regex::bytes::Regex;

use crate::Error;
use crate::finding::{CommitInfo, RequiredMatch, SecretFinding};
use crate::keywords::{Hit, Keyword, KeywordFinder};
use crate::rules::{Allowlist, Rule, RuleSet};
use crate::settings::SecretsSettings;
use crate::validate::{is_decoy, shannon_entropy, validate};

thread_local! {
    static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    static HITS: std::cell::RefCell<Vec<Hit>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Bytes looked at before a keyword hit on the same line.
const BACK_CAP: usize = 512;
/// Bytes looked at after a keyword hit on the same line.
const FWD_CAP: usize = 2048;
/// Window after the hit for multi-line rules (private keys).
const MULTI_FWD: usize = 24 * 1024;
/// Streaming chunk size; files up to `CHUNK + OVERLAP` are scanned in one piece.
pub(crate) const CHUNK: usize = 4 * 1024 * 1024;
/// Bytes carried into the next chunk, larger than any match window.
const OVERLAP: usize = 64 * 1024;
/// Context kept before the reporting boundary when moving to the next chunk.
const BACK_CONTEXT: usize = 4 * 1024;
/// A NUL byte in the first bytes of a file marks it binary.
const BINARY_SNIFF: usize = 8 * 1024;
/// Markers of an inline suppression on the finding's line.
const INLINE_ALLOW: [&[u8]; 2] = [b"shipgate:allow", b"gitleaks:allow"];

/// A compiled scanner: rules + prefilter + allowlists. Cheap to share between threads (`&Scanner`).
#[derive(Debug)]
pub struct Scanner {
    rules: Vec<Rule>,
    prefilter: Option<KeywordFinder>,
    /// For each keyword pattern, the rules it triggers.
    keyword_rules: Vec<Vec<u32>>,
    /// Rules without keywords: they run over every chunk.
    always: Vec<u32>,
    /// Rules restricted to some paths (gitleaks `path`).
    has_path_rules: bool,
    allowlists: Vec<Allowlist>,
    show_secrets: bool,
    /// For each rule, the indices of the rules its `required` entries name (same order).
    required: Vec<Vec<u32>>,
}

/// Where the bytes come from, for findings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin<'a> {
    pub path: &'a str,
    pub commit: Option<&'a CommitInfo>,
}

/// What streaming a source produced.
#[derive(Debug, Default)]
pub(crate) struct StreamResult {
    pub findings: Vec<SecretFinding>,
    pub binary: bool,
    pub bytes: u64,
}

struct Candidate {
    rule: u32,
    start: usize,
    end: usize,
    secret_start: usize,
    secret_end: usize,
}

impl Scanner {
    /// Build a scanner from rules and settings (settings add allowlists, disable rules, and
    /// control whether findings carry the full secret).
    pub fn new(mut rules: RuleSet, settings: &SecretsSettings) -> Result<Scanner, Error> {
        rules.disable(&settings.disable_rules);
        let mut allowlists = rules.allowlists.clone();
        allowlists.extend(settings.allowlists()?);
        let mut patterns: Vec<Keyword> = Vec::new();
        let mut keyword_rules: Vec<Vec<u32>> = Vec::new();
        let mut always = Vec::new();
        for (i, r) in rules.rules.iter().enumerate() {
            let idx = u32::try_from(i).expect("fewer than 4 billion rules");
            // A rule that never reports runs only when a composite rule asks for it.
            if r.skip_report {
                continue;
            }
            if r.keywords.is_empty() {
                always.push(idx);
                continue;
            }
            for k in &r.keywords {
                if k.is_empty() {
                    continue;
                }
                let k = Keyword {
                    bytes: if r.exact_keywords {
                        k.as_bytes().to_vec()
                    } else {
                        k.to_ascii_lowercase().into_bytes()
                    },
                    exact: r.exact_keywords,
                };
                match patterns
                    .iter()
                    .position(|p| p.bytes == k.bytes && p.exact == k.exact)
                {
                    Some(p) => keyword_rules[p].push(idx),
                    None => {
                        patterns.push(k);
                        keyword_rules.push(vec![idx]);
                    }
                }
            }
        }
        let prefilter = (!patterns.is_empty()).then(|| KeywordFinder::new(patterns));
        let has_path_rules = rules.rules.iter().any(|r| r.path.is_some());
        let mut required = Vec::with_capacity(rules.rules.len());
        for r in &rules.rules {
            let mut idx = Vec::with_capacity(r.required.len());
            for q in &r.required {
                let Some(i) = rules.rules.iter().position(|x| x.id == q.id) else {
                    return Err(Error::UnknownRequiredRule {
                        rule: r.id.clone(),
                        required: q.id.clone(),
                    });
                };
                idx.push(u32::try_from(i).expect("fewer than 4 billion rules"));
            }
            required.push(idx);
        }
        Ok(Scanner {
            rules: rules.rules,
            prefilter,
            keyword_rules,
            always,
            has_path_rules,
            allowlists,
            show_secrets: settings.show_secrets,
            required,
        })
    }

    /// The rules in use.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Whether a path is excluded from scanning by a path-only allowlist.
    pub fn path_allowed(&self, path: &str) -> bool {
        self.allowlists.iter().any(|a| a.allows_path(path))
    }

    /// Scan an in-memory buffer as a file named `path` (no binary check, no chunking).
    pub fn scan_bytes(&self, path: &str, data: &[u8]) -> Vec<SecretFinding> {
        let origin = Origin { path, commit: None };
        let active = self.active_rules(path);
        let mut out = Vec::new();
        self.path_only_findings(origin, &active, &mut out);
        self.scan_chunk(data, 0, data.len(), 1, 0, origin, &active, &mut out);
        out
    }

    /// Which rules apply to `path` (`None`: all of them).
    fn active_rules(&self, path: &str) -> Option<Vec<bool>> {
        if !self.has_path_rules {
            return None;
        }
        Some(
            self.rules
                .iter()
                .map(|r| r.path.as_ref().is_none_or(|p| p.is_match(path.as_bytes())))
                .collect(),
        )
    }

    /// Rules that have a path and no regex report the file itself (gitleaks semantics).
    fn path_only_findings(
        &self,
        origin: Origin<'_>,
        active: &Option<Vec<bool>>,
        out: &mut Vec<SecretFinding>,
    ) {
        if !self.has_path_rules {
            return;
        }
        for (i, r) in self.rules.iter().enumerate() {
            if r.regex.is_none()
                && r.path.is_some()
                && active.as_ref().is_some_and(|a| a[i])
                && !r.skip_report
            {
                let mut f =
                    SecretFinding::new(r, origin, (1, 1, 1, 1), b"", 0.0, self.show_secrets);
                // gitleaks reports a file-level finding at line 0 (its fingerprints say so).
                f.match_line = 0;
                out.push(f);
            }
        }
    }

    /// Whether a candidate survives the rule's filters (entropy, validator, decoys, inline
    /// `shipgate:allow`, allowlists); its secret's entropy if so. `skipReport` is not a filter:
    /// a rule that never reports still matches for the composite rules that require it.
    fn accepts(&self, rule: &Rule, c: &Candidate, buf: &[u8], origin: Origin<'_>) -> Option<f64> {
        let secret = &buf[c.secret_start..c.secret_end];
        let whole = &buf[c.start..c.end];
        if secret.is_empty() && rule.regex.is_some() && c.start == c.end {
            return None;
        }
        let entropy = shannon_entropy(secret);
        if let Some(min) = rule.entropy
            && entropy < min
        {
            return None;
        }
        if let Some(v) = rule.validator {
            let key = key_group(rule, buf, c.start, c.end);
            if !validate(v, secret, key.map(|(a, b)| &buf[a..b])) {
                return None;
            }
        }
        if is_decoy(secret) {
            return None;
        }
        let ls = line_start(buf, c.start);
        let le = line_end(buf, c.end);
        let line = &buf[ls..le];
        if INLINE_ALLOW
            .iter()
            .any(|m| memchr::memmem::find(line, m).is_some())
        {
            return None;
        }
        let commit_id = origin.commit.map(|c| c.id.as_str());
        if rule
            .allowlists
            .iter()
            .chain(self.allowlists.iter())
            .any(|a| a.allows(secret, whole, line, origin.path, commit_id))
        {
            return None;
        }
        Some(entropy)
    }

    /// For a match of composite rule `primary.0` starting at `primary.1` (line, column): the
    /// nearest acceptable match of each required rule, or `None` when one has none close
    /// enough. Required rules run over the whole chunk, whatever their keywords (as in
    /// gitleaks), once per chunk, and only when a composite rule has a candidate.
    fn requirements_met(
        &self,
        primary: (usize, (u32, u32)),
        buf: &[u8],
        base: (u32, usize),
        origin: Origin<'_>,
        active: &Option<Vec<bool>>,
        helpers: &mut Vec<(u32, Vec<(u32, u32)>)>,
    ) -> Option<Vec<RequiredMatch>> {
        let (rule_idx, at) = primary;
        let rule = &self.rules[rule_idx];
        let mut found = Vec::with_capacity(rule.required.len());
        for (q, &qi) in rule.required.iter().zip(&self.required[rule_idx]) {
            let pos = match helpers.iter().position(|(r, _)| *r == qi) {
                Some(p) => p,
                None => {
                    let matches = self.helper_matches(qi, buf, base, origin, active);
                    helpers.push((qi, matches));
                    helpers.len() - 1
                }
            };
            let nearest = helpers[pos]
                .1
                .iter()
                .filter(|m| q.accepts(at, **m))
                .min_by_key(|m| (at.0.abs_diff(m.0), at.1.abs_diff(m.1)))?;
            found.push(RequiredMatch {
                rule_id: q.id.clone(),
                line: nearest.0,
                column: nearest.1,
            });
        }
        Some(found)
    }

    /// Start positions (line, column) of the matches of rule `r` anywhere in `buf` that pass
    /// its filters.
    fn helper_matches(
        &self,
        r: u32,
        buf: &[u8],
        base: (u32, usize),
        origin: Origin<'_>,
        active: &Option<Vec<bool>>,
    ) -> Vec<(u32, u32)> {
        let rule = &self.rules[r as usize];
        let Some(re) = &rule.regex else {
            return Vec::new();
        };
        if active.as_ref().is_some_and(|a| !a[r as usize]) {
            return Vec::new();
        }
        let mut cands = Vec::new();
        run_regex(
            re.get(),
            rule,
            r,
            buf,
            0,
            buf.len(),
            0,
            buf.len(),
            &mut cands,
        );
        let mut cursor = LineCursor::new(buf, base.0, base.1);
        cands
            .iter()
            .filter(|c| self.accepts(rule, c, buf, origin).is_some())
            .map(|c| cursor.at(c.start))
            .collect()
    }

    /// Stream a reader in overlapping chunks. Stops early (reporting `binary`) when the first
    /// bytes contain a NUL.
    pub(crate) fn scan_stream(
        &self,
        origin: Origin<'_>,
        reader: &mut dyn Read,
        size_hint: Option<u64>,
        check_binary: bool,
    ) -> std::io::Result<StreamResult> {
        let mut res = StreamResult::default();
        let cap = size_hint
            .map(|s| {
                usize::try_from(s)
                    .unwrap_or(usize::MAX)
                    .min(CHUNK + OVERLAP)
                    + 1
            })
            .unwrap_or(64 * 1024);
        // One read buffer per thread, reused across files: fresh multi-megabyte allocations
        // per file cost more in page faults than the scan itself.
        let mut buf: Vec<u8> = BUFFER.with(|b| std::mem::take(&mut *b.borrow_mut()));
        buf.clear();
        buf.reserve(cap);
        let result = self.scan_stream_into(origin, reader, check_binary, &mut buf, &mut res);
        buf.clear();
        BUFFER.with(|b| *b.borrow_mut() = buf);
        result.map(|()| res)
    }

    fn scan_stream_into(
        &self,
        origin: Origin<'_>,
        reader: &mut dyn Read,
        check_binary: bool,
        buf: &mut Vec<u8>,
        res: &mut StreamResult,
    ) -> std::io::Result<()> {
        let active = self.active_rules(origin.path);
        let mut base_line: u32 = 1;
        // Bytes of the current line that precede `buf[0]`.
        let mut base_col: usize = 0;
        // Offset (within buf) from which matches are new.
        let mut report_from = 0usize;
        let mut first = true;
        loop {
            let eof = fill(reader, buf, CHUNK + OVERLAP)?;
            if first {
                first = false;
                if check_binary && memchr::memchr(0, &buf[..buf.len().min(BINARY_SNIFF)]).is_some()
                {
                    res.binary = true;
                    return Ok(());
                }
                self.path_only_findings(origin, &active, &mut res.findings);
            }
            let limit = if eof { buf.len() } else { buf.len() - OVERLAP };
            self.scan_chunk(
                buf,
                report_from,
                limit,
                base_line,
                base_col,
                origin,
                &active,
                &mut res.findings,
            );
            if eof {
                res.bytes += buf.len() as u64;
                return Ok(());
            }
            let keep_from = limit - BACK_CONTEXT.min(limit);
            let kept = &buf[..keep_from];
            base_line = base_line.saturating_add(count_lines(kept));
            base_col = match memchr::memrchr(b'\n', kept) {
                Some(i) => keep_from - i - 1,
                None => base_col + keep_from,
            };
            res.bytes += keep_from as u64;
            buf.drain(..keep_from);
            report_from = limit - keep_from;
        }
    }

    /// Scan `buf`, keeping matches that start in `[report_from, report_until)`.
    /// `base_offset`/`base_line` locate `buf[0]` in the source.
    #[allow(clippy::too_many_arguments)]
    fn scan_chunk(
        &self,
        buf: &[u8],
        report_from: usize,
        report_until: usize,
        base_line: u32,
        base_col: usize,
        origin: Origin<'_>,
        active: &Option<Vec<bool>>,
        out: &mut Vec<SecretFinding>,
    ) {
        if buf.is_empty() {
            return;
        }
        let is_active = |r: u32| active.as_ref().is_none_or(|a| a[r as usize]);
        // 1. keyword hits -> (rule, window) list
        let mut windows: Vec<(u32, usize, usize)> = Vec::new();
        if let Some(finder) = &self.prefilter {
            let mut hits = HITS.with(|h| std::mem::take(&mut *h.borrow_mut()));
            hits.clear();
            finder.find(buf, &mut hits);
            let mut last_line: Option<(usize, usize)> = None;
            for m in &hits {
                // Hits far past the reporting range cannot start a reportable match.
                if m.start >= report_until + BACK_CAP {
                    continue;
                }
                // Reuse the previous window only when it is a whole (short) line.
                let (ls, le) = match last_line {
                    Some((ls, le)) if m.start >= ls && m.end <= le => (ls, le),
                    _ => {
                        let (ls, le) = line_window(buf, m.start, m.end);
                        let whole_line = (ls == 0 || buf[ls - 1] == b'\n')
                            && (le == buf.len() || buf[le] == b'\n');
                        last_line = whole_line.then_some((ls, le));
                        (ls, le)
                    }
                };
                for &r in &self.keyword_rules[m.keyword as usize] {
                    if !is_active(r) {
                        continue;
                    }
                    let end = if self.rules[r as usize].multiline {
                        (m.end + MULTI_FWD).min(buf.len())
                    } else {
                        le
                    };
                    windows.push((r, ls, end));
                }
            }
            HITS.with(|h| *h.borrow_mut() = hits);
        }
        for &r in &self.always {
            if is_active(r) {
                windows.push((r, 0, buf.len()));
            }
        }
        if windows.is_empty() {
            return;
        }
        windows.sort_unstable();
        // 2. merge windows per rule, run the regex
        let mut cands: Vec<Candidate> = Vec::new();
        let mut i = 0;
        while i < windows.len() {
            let (r, mut s, mut e) = windows[i];
            i += 1;
            while i < windows.len() && windows[i].0 == r && windows[i].1 <= e {
                e = e.max(windows[i].2);
                i += 1;
            }
            s = s.max(report_from.saturating_sub(BACK_CAP));
            if s >= e {
                continue;
            }
            let rule = &self.rules[r as usize];
            let Some(re) = &rule.regex else { continue };
            run_regex(
                re.get(),
                rule,
                r,
                buf,
                s,
                e,
                report_from,
                report_until,
                &mut cands,
            );
        }
        if cands.is_empty() {
            return;
        }
        // 3. filters, positions
        cands.sort_unstable_by_key(|c| (c.start, c.rule));
        let mut cursor = LineCursor::new(buf, base_line, base_col);
        // Match starts are sorted, so a cursor of their own only ever moves forward.
        let mut match_cursor = LineCursor::new(buf, base_line, base_col);
        let first_new = out.len();
        let mut spans: Vec<(usize, usize, bool)> = Vec::new();
        // Matches of rules that composite rules require, found on first need.
        let mut helpers: Vec<(u32, Vec<(u32, u32)>)> = Vec::new();
        for c in cands {
            let rule = &self.rules[c.rule as usize];
            let Some(entropy) = self.accepts(rule, &c, buf, origin) else {
                continue;
            };
            if rule.skip_report {
                continue;
            }
            let secret = &buf[c.secret_start..c.secret_end];
            let (match_line, match_col) = match_cursor.at(c.start);
            let mut required_matches = Vec::new();
            if !rule.required.is_empty() {
                let wanted = (c.rule as usize, (match_line, match_col));
                match self.requirements_met(
                    wanted,
                    buf,
                    (base_line, base_col),
                    origin,
                    active,
                    &mut helpers,
                ) {
                    Some(m) => required_matches = m,
                    None => continue,
                }
            }
            // Positions (1-based, columns in bytes) of the secret itself: that is what a
            // reviewer needs to find, and what survives reformatting of the key name.
            let (secret_line, secret_col) = cursor.at(c.secret_start);
            let secret_last = c.secret_end.saturating_sub(1).max(c.secret_start);
            let mut end_cursor = LineCursor { buf, ..cursor };
            let (secret_end_line, secret_end_col) = end_cursor.at(secret_last);
            spans.push((c.secret_start, c.secret_end, rule.is_generic()));
            let mut finding = SecretFinding::new(
                rule,
                origin,
                (
                    secret_line,
                    secret_col,
                    secret_end_line,
                    secret_end_col.saturating_add(1),
                ),
                secret,
                entropy,
                self.show_secrets,
            );
            finding.match_line = match_line;
            finding.required = required_matches;
            out.push(finding);
        }
        // A generic rule yields to a specific rule that found the same secret.
        if spans.iter().any(|s| s.2) {
            let mut keep = spans.iter().map(|_| true).collect::<Vec<_>>();
            for (i, a) in spans.iter().enumerate() {
                if a.2 && spans.iter().any(|b| !b.2 && b.0 < a.1 && a.0 < b.1) {
                    keep[i] = false;
                }
            }
            let mut idx = 0;
            let mut k = 0;
            out.retain(|_| {
                let r = idx < first_new || keep[k];
                if idx >= first_new {
                    k += 1;
                }
                idx += 1;
                r
            });
        }
    }
}

/// Run one rule regex over `buf[s..e]` (with `buf[..s]` as look-behind context).
#[allow(clippy::too_many_arguments)]
fn run_regex(
    re: &Regex,
    rule: &Rule,
    r: u32,
    buf: &[u8],
    s: usize,
    e: usize,
    report_from: usize,
    report_until: usize,
    cands: &mut Vec<Candidate>,
) {
    let hay = &buf[..e];
    let mut pos = s;
    let mut locs = re.capture_locations();
    while pos <= e {
        let Some(m) = re.captures_read_at(&mut locs, hay, pos) else {
            break;
        };
        let (ms, me) = (m.start(), m.end());
        pos = if me > ms { me } else { me + 1 };
        if ms < report_from || ms >= report_until {
            continue;
        }
        let (ss, se) = secret_span(rule, &locs, ms, me);
        cands.push(Candidate {
            rule: r,
            start: ms,
            end: me,
            secret_start: ss,
            secret_end: se,
        });
    }
}

/// The secret span: the rule's group if it took part, else the first participating group
/// (other than `key`), else the whole match.
fn secret_span(
    rule: &Rule,
    locs: &regex::bytes::CaptureLocations,
    ms: usize,
    me: usize,
) -> (usize, usize) {
    if let Some(g) = rule.secret_group
        && let Some(span) = locs.get(g)
    {
        return span;
    }
    let key_idx = rule.regex.as_ref().and_then(|re| re.group_index("key"));
    for g in 1..locs.len() {
        if Some(g) == key_idx {
            continue;
        }
        if let Some(span) = locs.get(g) {
            return span;
        }
    }
    (ms, me)
}

/// The `key` group span of a match, if the rule has one.
fn key_group(rule: &Rule, buf: &[u8], start: usize, end: usize) -> Option<(usize, usize)> {
    let re = rule.regex.as_ref()?;
    re.group_index("key")?;
    let hay = &buf[..end];
    let caps = re.get().captures_at(hay, start)?;
    caps.name("key").map(|m| (m.start(), m.end()))
}

/// The window around a keyword hit: its line, capped to `BACK_CAP`/`FWD_CAP` bytes.
fn line_window(buf: &[u8], s: usize, e: usize) -> (usize, usize) {
    let lo = s.saturating_sub(BACK_CAP);
    let ls = memchr::memrchr(b'\n', &buf[lo..s]).map_or(lo, |i| lo + i + 1);
    let hi = (e + FWD_CAP).min(buf.len());
    let le = memchr::memchr(b'\n', &buf[e..hi]).map_or(hi, |i| e + i);
    (ls, le)
}

fn line_start(buf: &[u8], pos: usize) -> usize {
    let lo = pos.saturating_sub(4096);
    memchr::memrchr(b'\n', &buf[lo..pos]).map_or(if lo == 0 { 0 } else { lo }, |i| lo + i + 1)
}

fn line_end(buf: &[u8], pos: usize) -> usize {
    let hi = (pos + 4096).min(buf.len());
    memchr::memchr(b'\n', &buf[pos..hi]).map_or(hi, |i| pos + i)
}

/// Tracks line and column while walking forward through a chunk (candidates are sorted).
struct LineCursor<'a> {
    buf: &'a [u8],
    base_line: u32,
    base_col: usize,
    off: usize,
    line: u32,
    /// Offset of the current line's first byte; negative when it lies before `buf[0]`.
    line_start: isize,
}

impl<'a> LineCursor<'a> {
    fn new(buf: &'a [u8], base_line: u32, base_col: usize) -> Self {
        LineCursor {
            buf,
            base_line,
            base_col,
            off: 0,
            line: base_line,
            line_start: -(isize::try_from(base_col).unwrap_or(isize::MAX)),
        }
    }

    /// 1-based (line, column) of `pos`.
    fn at(&mut self, pos: usize) -> (u32, u32) {
        if pos < self.off {
            *self = LineCursor::new(self.buf, self.base_line, self.base_col);
        }
        let seg = &self.buf[self.off..pos];
        let n = count_lines(seg);
        if n > 0 {
            self.line = self.line.saturating_add(n);
            let last = memchr::memrchr(b'\n', seg).expect("a newline was counted");
            self.line_start = isize::try_from(self.off + last + 1).unwrap_or(isize::MAX);
        }
        self.off = pos;
        let col = isize::try_from(pos).unwrap_or(isize::MAX) - self.line_start + 1;
        (self.line, u32::try_from(col).unwrap_or(u32::MAX))
    }
}

fn count_lines(b: &[u8]) -> u32 {
    u32::try_from(memchr::memchr_iter(b'\n', b).count()).unwrap_or(u32::MAX)
}

/// Read until `buf` holds `want` bytes or EOF; returns whether EOF was reached.
fn fill(reader: &mut dyn Read, buf: &mut Vec<u8>, want: usize) -> std::io::Result<bool> {
    while buf.len() < want {
        let need = want - buf.len();
        let before = buf.len();
        match (&mut *reader).take(need as u64).read_to_end(buf) {
            Ok(0) => return Ok(true),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                buf.truncate(before);
                return Err(e);
            }
        }
    }
    Ok(false)
}
