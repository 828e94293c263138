//! Alpine (apk) ordering: `number{.number}...{letter}{_suffix{number}}...{~hash}{-r#}`.
//!
//! Suffix order: `alpha < beta < pre < rc < (none) < cvs < svn < git < hg < p`.
//! Numeric components after the first that start with `0` compare as strings
//! (`1.06 < 1.6`, as apk does). Versions with unparsable trailing text sort
//! below the same version without it; two such versions compare as strings.

use super::num::cmp_digits;
use std::cmp::Ordering;

/// A parsed Alpine version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlpineVersion {
    original: String,
    invalid: bool,
    components: Vec<String>,
    letter: Option<u8>,
    suffixes: Vec<(u8, String)>,
    build: String,
    remainder: String,
}

const SUFFIXES: [&str; 9] = ["alpha", "beta", "pre", "rc", "cvs", "svn", "git", "hg", "p"];

fn suffix_weight(s: &str) -> u8 {
    match s {
        "alpha" => 0,
        "beta" => 1,
        "pre" => 2,
        "rc" => 3,
        "cvs" => 5,
        "svn" => 6,
        "git" => 7,
        "hg" => 8,
        _ => 9,
    }
}

fn digit_run(s: &str) -> usize {
    s.bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len())
}

impl AlpineVersion {
    /// Parses any string; never fails (unparsable parts are kept as a remainder).
    pub fn parse(s: &str) -> AlpineVersion {
        let mut v = AlpineVersion {
            original: s.to_owned(),
            invalid: false,
            components: Vec::new(),
            letter: None,
            suffixes: Vec::new(),
            build: "0".to_owned(),
            remainder: String::new(),
        };
        // numbers: ^((\d+)\.?)*
        let mut rest = s;
        let mut consumed = 0;
        loop {
            let d = digit_run(&rest[consumed..]);
            if d == 0 {
                break;
            }
            consumed += d;
            if rest[consumed..].starts_with('.') {
                consumed += 1;
            }
        }
        if consumed > 0 {
            v.components = rest[..consumed].split('.').map(str::to_owned).collect();
            rest = &rest[consumed..];
        }
        // letter
        if let Some(&b) = rest.as_bytes().first()
            && b.is_ascii_lowercase()
        {
            v.letter = Some(b);
            rest = &rest[1..];
        }
        // suffixes: every `_word\d*` in the rest, trimmed while they lead it
        let mut found: Vec<(String, usize)> = Vec::new();
        let bytes = rest.as_bytes();
        let mut k = 0;
        while k < bytes.len() {
            if bytes[k] == b'_'
                && let Some(w) = SUFFIXES.iter().find(|w| rest[k + 1..].starts_with(**w))
            {
                let start = k + 1 + w.len();
                let n = digit_run(&rest[start..]);
                let number = if n == 0 { "0" } else { &rest[start..start + n] };
                v.suffixes.push((suffix_weight(w), number.to_owned()));
                found.push((rest[k..start + n].to_owned(), k));
                k = start + n;
                continue;
            }
            k += 1;
        }
        for (text, _) in found {
            if let Some(r) = rest.strip_prefix(text.as_str()) {
                rest = r;
            }
        }
        // hash: ^~[0-9a-f]+
        if let Some(h) = rest.strip_prefix('~') {
            let n = h
                .bytes()
                .position(|b| !(b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
                .unwrap_or(h.len());
            if n > 0 {
                rest = &h[n..];
            }
        }
        // build: ^-r\d*
        if !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("-r") {
                let n = digit_run(r);
                if n > 0 {
                    v.build = r[..n].to_owned();
                }
                rest = &r[n..];
            } else {
                v.invalid = true;
            }
        }
        v.remainder = rest.to_owned();
        v
    }

    fn component(&self, i: usize) -> (&str, usize) {
        match self.components.get(i) {
            Some(c) => (c.as_str(), i),
            None => ("0", 0),
        }
    }

    fn suffix(&self, i: usize) -> (u8, &str) {
        self.suffixes
            .get(i)
            .map_or((4, "0"), |(w, n)| (*w, n.as_str()))
    }
}

impl Ord for AlpineVersion {
    fn cmp(&self, o: &Self) -> Ordering {
        if self.invalid && o.invalid {
            return self.original.cmp(&o.original);
        }
        for i in 0..self.components.len().max(o.components.len()) {
            let ((a, ai), (b, bi)) = (self.component(i), o.component(i));
            let r = if ai != 0 && bi != 0 && (a.starts_with('0') || b.starts_with('0')) {
                a.cmp(b)
            } else {
                cmp_digits(a, b)
            };
            if r != Ordering::Equal {
                return r;
            }
        }
        let r = match (self.letter, o.letter) {
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (a, b) => a.cmp(&b),
        };
        if r != Ordering::Equal {
            return r;
        }
        for i in 0..self.suffixes.len().max(o.suffixes.len()) {
            let ((wa, na), (wb, nb)) = (self.suffix(i), o.suffix(i));
            let r = wa.cmp(&wb).then_with(|| cmp_digits(na, nb));
            if r != Ordering::Equal {
                return r;
            }
        }
        let r = cmp_digits(&self.build, &o.build);
        if r != Ordering::Equal {
            return r;
        }
        match (self.remainder.is_empty(), o.remainder.is_empty()) {
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ => Ordering::Equal,
        }
    }
}

impl PartialOrd for AlpineVersion {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
