//! Command languages: shell scripts and Dockerfiles, split into commands and matched token by
//! token.
//!
//! A shell script is a sequence of logical lines (continuations `\` joined, comments dropped,
//! quotes kept within one token). A Dockerfile is a sequence of instructions; `ENV`, `ARG`
//! and `LABEL` with several `key=value` pairs count as one instruction per pair.
//!
//! A pattern is a command line in the same syntax:
//! - a word matches the same word (quotes do not matter: `sh` matches `"sh"`);
//! - `$X` matches one word; `$KEY=$VALUE` matches a word of that shape;
//! - `...` matches any words of one command, never an operator (`|`, `&&`, `;`...);
//! - a pattern matches from the start of any command (the start of the line, after an
//!   operator, after `export`/`local`/`if`/`then`...) and must end where that command ends;
//! - in a Dockerfile the pattern starts with the instruction keyword (case-insensitive); a
//!   `RUN` pattern's command part matches any command of the instruction's shell line.

use std::ops::Range;

use regex::Regex;

use crate::eval::{Binding, Hit};
use crate::lang::Lang;
use crate::rule::is_metavar_name;

/// One token of a command line.
#[derive(Debug, Clone)]
pub(crate) struct Tok {
    text: String,
    range: Range<usize>,
    op: bool,
}

/// A command unit: a shell logical line or a Dockerfile instruction.
#[derive(Debug)]
pub(crate) struct Unit {
    /// Dockerfile instruction keyword, upper-cased.
    keyword: Option<String>,
    /// Where the unit starts (the keyword, for a Dockerfile).
    start: usize,
    toks: Vec<Tok>,
}

#[derive(Debug)]
enum PTok {
    Dots,
    Op(String),
    Word(String),
    Var(String),
    /// A word with metavariables inside (`$KEY=$VALUE`): regex and the group names.
    Shaped(Regex, Vec<String>),
}

/// A compiled command pattern.
#[derive(Debug)]
pub(crate) struct CommandPattern {
    keyword: Option<String>,
    toks: Vec<PTok>,
    literal: String,
}

const OPS: [&str; 8] = ["||", "&&", "|&", "|", ";", "&", "(", ")"];
/// Words after which a new command starts.
const STARTERS: [&str; 14] = [
    "export", "local", "readonly", "declare", "typeset", "if", "then", "else", "elif", "do",
    "while", "until", "!", "time",
];

/// Split shell text (a script, or a `RUN` line) into tokens; `base` is the offset of `text`
/// in the file. Newlines outside quotes become `;` operators.
fn tokenize(text: &str, base: usize) -> Vec<Tok> {
    let b = text.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    let mut cur = String::new();
    let mut cur_start = 0;
    let flush = |cur: &mut String, start: usize, end: usize, toks: &mut Vec<Tok>| {
        if !cur.is_empty() {
            toks.push(Tok {
                text: std::mem::take(cur),
                range: base + start..base + end,
                op: false,
            });
        }
    };
    while i < b.len() {
        let c = b[i];
        match c {
            b'\\' if b.get(i + 1) == Some(&b'\n') => {
                flush(&mut cur, cur_start, i, &mut toks);
                i += 2;
            }
            b'\\' if i + 1 < b.len() => {
                if cur.is_empty() {
                    cur_start = i;
                }
                let ch_len = text[i + 1..].chars().next().map_or(1, char::len_utf8);
                cur.push_str(&text[i..i + 1 + ch_len]);
                i += 1 + ch_len;
            }
            b' ' | b'\t' | b'\r' => {
                flush(&mut cur, cur_start, i, &mut toks);
                i += 1;
            }
            b'\n' => {
                flush(&mut cur, cur_start, i, &mut toks);
                toks.push(Tok {
                    text: ";".into(),
                    range: base + i..base + i + 1,
                    op: true,
                });
                i += 1;
            }
            b'#' if cur.is_empty() => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'\'' | b'"' | b'`' => {
                if cur.is_empty() {
                    cur_start = i;
                }
                let q = c;
                let s = i;
                i += 1;
                while i < b.len() && b[i] != q {
                    if b[i] == b'\\' && q != b'\'' {
                        i += 1;
                    }
                    i += 1;
                }
                i = (i + 1).min(b.len());
                cur.push_str(&text[s..i.min(text.len())]);
            }
            _ => {
                let rest = &text[i..];
                let after_redirect = cur.ends_with('>') || cur.ends_with('<');
                let op = OPS
                    .iter()
                    .find(|o| rest.starts_with(**o))
                    .filter(|o| !(after_redirect && o.starts_with('&')));
                if let Some(op) = op {
                    flush(&mut cur, cur_start, i, &mut toks);
                    toks.push(Tok {
                        text: (*op).to_string(),
                        range: base + i..base + i + op.len(),
                        op: true,
                    });
                    i += op.len();
                } else {
                    if cur.is_empty() {
                        cur_start = i;
                    }
                    let ch = rest.chars().next().unwrap_or(' ');
                    cur.push(ch);
                    i += ch.len_utf8();
                }
            }
        }
    }
    flush(&mut cur, cur_start, b.len(), &mut toks);
    toks
}

/// The units of a file.
pub(crate) fn split(text: &str, lang: Lang) -> Vec<Unit> {
    match lang {
        Lang::Dockerfile => dockerfile_units(text),
        _ => {
            let toks = tokenize(text, 0);
            vec![Unit {
                keyword: None,
                start: 0,
                toks,
            }]
        }
    }
}

fn dockerfile_units(text: &str) -> Vec<Unit> {
    let mut units = Vec::new();
    let mut offset = 0;
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let start = offset;
        offset += line.len();
        i += 1;
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        // Join continuation lines; comment lines inside an instruction are dropped.
        let mut body = String::new();
        let mut spans: Vec<(usize, usize)> = Vec::new(); // (body offset, file offset)
        let lead = line.len() - trimmed.len();
        spans.push((0, start + lead));
        body.push_str(trimmed);
        while body.trim_end().ends_with('\\') && i < lines.len() {
            let cut = body.trim_end().len() - 1;
            body.truncate(cut);
            body.push(' ');
            let next = lines[i];
            let next_start = offset;
            offset += next.len();
            i += 1;
            if next.trim_start().starts_with('#') {
                body.push('\\'); // keep continuing
                continue;
            }
            spans.push((body.len(), next_start));
            body.push_str(next);
        }
        let body = body.trim_end().to_string();
        let kw_len = body.find(|c: char| c.is_whitespace()).unwrap_or(body.len());
        let keyword = body[..kw_len].to_ascii_uppercase();
        let mut toks = tokenize(&body[kw_len..], kw_len);
        // Map body offsets back to file offsets.
        for t in &mut toks {
            let map = |o: usize| {
                let (b, f) = spans
                    .iter()
                    .rev()
                    .find(|(b, _)| *b <= o)
                    .copied()
                    .unwrap_or((0, start));
                f + (o - b)
            };
            t.range = map(t.range.start)..map(t.range.end);
        }
        let file_start = start + lead;
        let pairs = matches!(keyword.as_str(), "ENV" | "ARG" | "LABEL")
            && toks.len() > 1
            && toks.iter().all(|t| t.text.contains('='));
        if pairs {
            for t in toks {
                units.push(Unit {
                    keyword: Some(keyword.clone()),
                    start: file_start,
                    toks: vec![t],
                });
            }
        } else {
            units.push(Unit {
                keyword: Some(keyword),
                start: file_start,
                toks,
            });
        }
    }
    units
}

fn unquote(s: &str) -> &str {
    for q in ['"', '\''] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return &s[1..s.len() - 1];
        }
    }
    s
}

impl CommandPattern {
    pub(crate) fn compile(src: &str, lang: Lang) -> Result<CommandPattern, String> {
        let src = src.trim();
        if src.contains('\n') {
            return Err("a command pattern is one line".into());
        }
        let (keyword, rest) = if lang == Lang::Dockerfile {
            let kw_len = src.find(char::is_whitespace).unwrap_or(src.len());
            let kw = &src[..kw_len];
            if !kw.chars().all(|c| c.is_ascii_alphabetic()) || kw.is_empty() {
                return Err(
                    "a Dockerfile pattern starts with an instruction (`RUN`, `FROM`...)".into(),
                );
            }
            (Some(kw.to_ascii_uppercase()), &src[kw_len..])
        } else {
            (None, src)
        };
        let mut toks = Vec::new();
        let mut literal = String::new();
        for t in tokenize(rest, 0) {
            if t.op {
                toks.push(PTok::Op(t.text));
                continue;
            }
            let w = t.text;
            if w == "..." {
                toks.push(PTok::Dots);
            } else if let Some(name) = w.strip_prefix('$').filter(|n| is_metavar_name(n)) {
                toks.push(PTok::Var(name.to_string()));
            } else if w.contains('$') && has_metavar(&w) {
                let (re, names) = shaped(&w)?;
                toks.push(PTok::Shaped(re, names));
            } else {
                let u = unquote(&w).to_string();
                if u.len() > literal.len() {
                    literal = u.clone();
                }
                toks.push(PTok::Word(u));
            }
        }
        if keyword.is_none() && toks.is_empty() {
            return Err("the pattern is empty".into());
        }
        if literal.is_empty()
            && let Some(k) = &keyword
        {
            literal = k.clone();
        }
        Ok(CommandPattern {
            keyword,
            toks,
            literal,
        })
    }

    pub(crate) fn literal(&self) -> &str {
        &self.literal
    }

    pub(crate) fn find(&self, text: &str, units: &[Unit]) -> Vec<Hit> {
        let mut out = Vec::new();
        for u in units {
            let shell_body = match (&self.keyword, &u.keyword) {
                (Some(pk), Some(uk)) => {
                    if pk != uk {
                        continue;
                    }
                    matches!(pk.as_str(), "RUN" | "CMD" | "ENTRYPOINT")
                }
                (None, None) => true,
                _ => continue,
            };
            // `FROM image` patterns match whatever the stage is called.
            let mut toks: &[Tok] = &u.toks;
            if u.keyword.as_deref() == Some("FROM")
                && !self
                    .toks
                    .iter()
                    .any(|t| matches!(t, PTok::Word(w) if w.eq_ignore_ascii_case("as")))
                && toks.len() >= 2
                && toks[toks.len() - 2].text.eq_ignore_ascii_case("as")
            {
                toks = &toks[..toks.len() - 2];
            }
            let starts: Vec<usize> = if shell_body {
                command_starts(toks)
            } else {
                vec![0]
            };
            for s in starts {
                let mut binds = Vec::new();
                if let Some(end) = self.match_at(toks, 0, s, &mut binds) {
                    let from = if self.keyword.is_some() {
                        u.start
                    } else {
                        toks[s].range.start
                    };
                    let to = if end > s {
                        toks[end - 1].range.end
                    } else {
                        from + self.keyword.as_ref().map_or(0, String::len)
                    };
                    let mut vars: Vec<(String, Binding)> = binds;
                    vars.sort_by(|a, b| a.0.cmp(&b.0));
                    vars.dedup_by(|a, b| a.0 == b.0);
                    let hit = Hit {
                        range: from..to.min(text.len()).max(from),
                        vars,
                    };
                    if !out.contains(&hit) {
                        out.push(hit);
                    }
                    if self.keyword.is_some() && !shell_body {
                        break;
                    }
                }
            }
        }
        out
    }

    /// Match pattern tokens from `p` against unit tokens from `t`; the index after the last
    /// matched token, which must end a command.
    fn match_at(
        &self,
        toks: &[Tok],
        p: usize,
        t: usize,
        binds: &mut Vec<(String, Binding)>,
    ) -> Option<usize> {
        let Some(pt) = self.toks.get(p) else {
            let at_end = t == toks.len() || toks[t].op;
            return at_end.then_some(t);
        };
        match pt {
            PTok::Dots => {
                let mut k = t;
                loop {
                    let mark = binds.len();
                    if let Some(e) = self.match_at(toks, p + 1, k, binds) {
                        return Some(e);
                    }
                    binds.truncate(mark);
                    if k < toks.len() && !toks[k].op {
                        k += 1;
                    } else {
                        return None;
                    }
                }
            }
            PTok::Op(o) => {
                let tok = toks.get(t)?;
                (tok.op && tok.text == *o).then_some(())?;
                self.match_at(toks, p + 1, t + 1, binds)
            }
            PTok::Word(w) => {
                let tok = toks.get(t)?;
                (!tok.op && unquote(&tok.text) == w).then_some(())?;
                self.match_at(toks, p + 1, t + 1, binds)
            }
            PTok::Var(name) => {
                let tok = toks.get(t)?;
                if tok.op {
                    return None;
                }
                let mark = binds.len();
                bind(binds, name, &tok.text, tok.range.clone())?;
                let r = self.match_at(toks, p + 1, t + 1, binds);
                if r.is_none() {
                    binds.truncate(mark);
                }
                r
            }
            PTok::Shaped(re, names) => {
                let tok = toks.get(t)?;
                if tok.op {
                    return None;
                }
                let caps = re.captures(&tok.text)?;
                let mark = binds.len();
                for (i, name) in names.iter().enumerate() {
                    let m = caps.get(i + 1)?;
                    let start = tok.range.start + m.start();
                    if bind(binds, name, m.as_str(), start..start + m.len()).is_none() {
                        binds.truncate(mark);
                        return None;
                    }
                }
                let r = self.match_at(toks, p + 1, t + 1, binds);
                if r.is_none() {
                    binds.truncate(mark);
                }
                r
            }
        }
    }
}

/// Bind `name`, or check that it is already bound to the same text.
fn bind(
    binds: &mut Vec<(String, Binding)>,
    name: &str,
    text: &str,
    range: Range<usize>,
) -> Option<()> {
    if name.starts_with('_') {
        return Some(());
    }
    if let Some((_, b)) = binds.iter().find(|(n, _)| n == name) {
        return (b.text == text).then_some(());
    }
    binds.push((
        name.to_string(),
        Binding {
            text: text.to_string(),
            range,
        },
    ));
    Some(())
}

fn command_starts(toks: &[Tok]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at_start = true;
    for (i, t) in toks.iter().enumerate() {
        if t.op {
            at_start = true;
            continue;
        }
        if at_start {
            out.push(i);
            at_start = STARTERS.contains(&t.text.as_str());
        }
    }
    out
}

fn has_metavar(w: &str) -> bool {
    w.match_indices('$').any(|(i, _)| {
        w[i + 1..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_uppercase())
    })
}

/// `$KEY=$VALUE` → `^(.+?)=(.+?)$` with names `[KEY, VALUE]`.
fn shaped(w: &str) -> Result<(Regex, Vec<String>), String> {
    let mut re = String::from("^");
    let mut names = Vec::new();
    let mut rest = w;
    while let Some(i) = rest.find('$') {
        let after = &rest[i + 1..];
        let len = after
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(after.len());
        if len == 0 || !is_metavar_name(&after[..len]) {
            re.push_str(&regex::escape(&rest[..i + 1]));
            rest = after;
            continue;
        }
        re.push_str(&regex::escape(&rest[..i]));
        re.push_str("(.+?)");
        names.push(after[..len].to_string());
        rest = &after[len..];
    }
    re.push_str(&regex::escape(rest));
    re.push('$');
    Regex::new(&re)
        .map(|r| (r, names))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(pat: &str, lang: Lang, text: &str) -> Vec<String> {
        let p = CommandPattern::compile(pat, lang).expect("pattern");
        let units = split(text, lang);
        p.find(text, &units)
            .iter()
            .map(|h| text[h.range.clone()].to_string())
            .collect()
    }

    #[test]
    fn shell_pipes_and_ellipses() {
        let s = "curl -fsSL https://x/i.sh | bash\ncurl -o f https://x && sh f\ncurl https://x | jq .\n";
        assert_eq!(
            hits("curl ... | bash", Lang::Bash, s),
            ["curl -fsSL https://x/i.sh | bash"]
        );
        assert!(hits("curl ... | sh", Lang::Bash, s).is_empty());
        assert_eq!(hits("sh $F", Lang::Bash, s), ["sh f"]);
        assert_eq!(
            hits("$V=$X", Lang::Bash, "export TOKEN=abc\n"),
            ["TOKEN=abc"]
        );
    }

    #[test]
    fn dockerfile_instructions() {
        let d = "FROM node:20 AS build\nRUN apt-get update && \\\n    sudo apt-get install -y git\nENV A=1 DB_PASSWORD=x\nuser root\n";
        assert_eq!(hits("FROM $I AS $S", Lang::Dockerfile, d).len(), 1);
        assert_eq!(
            hits("FROM $I", Lang::Dockerfile, d).len(),
            1,
            "any stage name"
        );
        assert_eq!(hits("FROM $I:$T AS $S", Lang::Dockerfile, d).len(), 1);
        assert_eq!(hits("RUN sudo ...", Lang::Dockerfile, d).len(), 1);
        assert_eq!(hits("ENV DB_PASSWORD=$V", Lang::Dockerfile, d).len(), 1);
        assert_eq!(hits("USER root", Lang::Dockerfile, d), ["user root"]);
    }
}
