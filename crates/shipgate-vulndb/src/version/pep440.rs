//! PEP 440 ordering (PyPI), with a best-effort fallback for legacy
//! (pre-PEP 440) versions, which sort before every PEP 440 version, as
//! older `packaging`/`setuptools` did.

use super::num::{cmp_digits, cmp_padded, is_digits};
use std::cmp::Ordering;

/// A parsed PyPI version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pep440 {
    epoch: String,
    release: Vec<String>,
    /// (phase letter: 'a' | 'b' | 'r' for rc, number)
    pre: Option<(u8, String)>,
    post: Option<String>,
    dev: Option<String>,
    local: Vec<String>,
    /// Non-empty only for legacy versions.
    legacy: Vec<String>,
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn digits(&mut self) -> Option<&'a str> {
        let start = self.i;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
        }
        (self.i > start).then(|| std::str::from_utf8(&self.s[start..self.i]).unwrap_or("0"))
    }
    fn eat(&mut self, word: &str) -> bool {
        if self.s[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            true
        } else {
            false
        }
    }
    fn is_sep(b: Option<u8>) -> bool {
        matches!(b, Some(b'-' | b'_' | b'.'))
    }
    /// `[-_.]?` + one of `words` (longest first); rewinds when none matches.
    fn sep_word(&mut self, words: &[&'static str]) -> Option<&'static str> {
        let save = self.i;
        if Self::is_sep(self.peek()) {
            self.i += 1;
        }
        for w in words {
            if self.eat(w) {
                return Some(w);
            }
        }
        self.i = save;
        None
    }
    /// `[-_.]?[0-9]+`, optional; rewinds the separator when no digits follow.
    fn sep_number(&mut self) -> Option<&'a str> {
        let save = self.i;
        if Self::is_sep(self.peek()) {
            self.i += 1;
        }
        match self.digits() {
            Some(d) => Some(d),
            None => {
                self.i = save;
                None
            }
        }
    }
}

impl Pep440 {
    /// Parses `s`; anything that is not PEP 440 becomes a legacy version.
    pub fn parse(s: &str) -> Pep440 {
        let lower = s.to_ascii_lowercase();
        parse_pep440(lower.trim()).unwrap_or_else(|| Pep440 {
            epoch: String::new(),
            release: Vec::new(),
            pre: None,
            post: None,
            dev: None,
            local: Vec::new(),
            legacy: legacy_parts(&lower),
        })
    }

    /// True when the version did not follow PEP 440.
    pub fn is_legacy(&self) -> bool {
        !self.legacy.is_empty()
    }

    fn pre_trick(&self) -> bool {
        self.pre.is_none() && self.post.is_none() && self.dev.is_some()
    }

    fn cmp_pre(&self, o: &Self) -> Ordering {
        match (self.pre_trick(), o.pre_trick()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        match (&self.pre, &o.pre) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some((la, na)), Some((lb, nb))) => la.cmp(lb).then_with(|| cmp_digits(na, nb)),
        }
    }

    fn cmp_local(&self, o: &Self) -> Ordering {
        for (a, b) in self.local.iter().zip(&o.local) {
            let r = match (is_digits(a), is_digits(b)) {
                (true, true) => cmp_digits(a, b),
                (false, false) => a.cmp(b),
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
            };
            if r != Ordering::Equal {
                return r;
            }
        }
        self.local.len().cmp(&o.local.len())
    }
}

fn opt_cmp(a: &Option<String>, b: &Option<String>, none_first: bool) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => {
            if none_first {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (Some(_), None) => {
            if none_first {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (Some(x), Some(y)) => cmp_digits(x, y),
    }
}

impl Ord for Pep440 {
    fn cmp(&self, o: &Self) -> Ordering {
        match (self.legacy.is_empty(), o.legacy.is_empty()) {
            (false, false) => return self.legacy.concat().cmp(&o.legacy.concat()),
            (true, false) => return Ordering::Greater,
            (false, true) => return Ordering::Less,
            (true, true) => {}
        }
        cmp_digits(&self.epoch, &o.epoch)
            .then_with(|| cmp_padded(&self.release, &o.release))
            .then_with(|| self.cmp_pre(o))
            .then_with(|| opt_cmp(&self.post, &o.post, true))
            .then_with(|| opt_cmp(&self.dev, &o.dev, false))
            .then_with(|| self.cmp_local(o))
    }
}

impl PartialOrd for Pep440 {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// The grammar of PEP 440 Appendix B, on an already lower-cased, trimmed string.
fn parse_pep440(s: &str) -> Option<Pep440> {
    let mut c = Cursor {
        s: s.as_bytes(),
        i: 0,
    };
    c.eat("v");
    let save = c.i;
    let mut epoch = String::new();
    if let Some(d) = c.digits() {
        if c.eat("!") {
            epoch = d.to_owned();
        } else {
            c.i = save;
        }
    }
    let mut release = vec![c.digits()?.to_owned()];
    loop {
        let save = c.i;
        if c.eat(".")
            && let Some(d) = c.digits()
        {
            release.push(d.to_owned());
            continue;
        }
        c.i = save;
        break;
    }
    let pre = c
        .sep_word(&["preview", "alpha", "beta", "pre", "rc", "a", "b", "c"])
        .map(|w| {
            let letter = match w {
                "alpha" | "a" => b'a',
                "beta" | "b" => b'b',
                _ => b'r',
            };
            (letter, c.sep_number().unwrap_or("0").to_owned())
        });
    let mut post = None;
    let save = c.i;
    if c.eat("-")
        && let Some(d) = c.digits()
    {
        post = Some(d.to_owned());
    } else {
        c.i = save;
        if c.sep_word(&["post", "rev", "r"]).is_some() {
            post = Some(c.sep_number().unwrap_or("0").to_owned());
        }
    }
    let dev = c
        .sep_word(&["dev"])
        .map(|_| c.sep_number().unwrap_or("0").to_owned());
    let mut local = Vec::new();
    if c.eat("+") {
        let rest = std::str::from_utf8(&c.s[c.i..]).ok()?;
        for part in rest.split(['.', '_', '-']) {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return None;
            }
            local.push(part.to_owned());
        }
        c.i = c.s.len();
    }
    if c.i != c.s.len() {
        return None;
    }
    Some(Pep440 {
        epoch,
        release,
        pre,
        post,
        dev,
        local,
        legacy: Vec::new(),
    })
}

/// setuptools' legacy key: digit runs zero-padded, words prefixed with `*`,
/// pre-release words mapped so they sort before `*final`.
fn legacy_parts(s: &str) -> Vec<String> {
    let mut raw: Vec<&str> = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        if b[i].is_ascii_digit() {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            raw.push(&s[start..i]);
        } else if b[i].is_ascii_lowercase() {
            while i < b.len() && b[i].is_ascii_lowercase() {
                i += 1;
            }
            raw.push(&s[start..i]);
        } else {
            if b[i] == b'-' {
                raw.push("-");
            }
            i += 1;
        }
    }
    raw.push("final");
    let mut parts: Vec<String> = Vec::new();
    for part in raw {
        let part = match part {
            "pre" | "preview" | "rc" => "c",
            "-" => "final-",
            "dev" => "@",
            p => p,
        };
        let part = if part.as_bytes()[0].is_ascii_digit() {
            format!("{part:0>8}")
        } else {
            format!("*{part}")
        };
        if part.starts_with('*') {
            if part.as_str() < "*final" {
                while parts.last().is_some_and(|p| p == "*final-") {
                    parts.pop();
                }
            }
            while parts.last().is_some_and(|p| p == "00000000") {
                parts.pop();
            }
        }
        parts.push(part);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(a: &str, b: &str) -> Ordering {
        Pep440::parse(a).cmp(&Pep440::parse(b))
    }

    #[test]
    fn pep440_basics() {
        assert_eq!(c("1.0.dev0", "1.0a0"), Ordering::Less);
        assert_eq!(c("1.0-1", "1.0.post1"), Ordering::Equal);
        assert_eq!(c("1!1.0", "2.0"), Ordering::Greater);
        assert_eq!(c("1.0.0+local", "1.0.0"), Ordering::Greater);
        assert_eq!(c("0.9-doduo", "1.0"), Ordering::Less);
        assert!(Pep440::parse("0.9-doduo").is_legacy());
        assert!(!Pep440::parse("V1.0RC1").is_legacy());
    }
}
