//! Packagist (Composer / PHP `version_compare`) ordering.
//!
//! The version is canonicalised (`v` prefix dropped, `-_+` become `.`, a `.`
//! inserted between digits and letters), then compared component-wise with
//! the special words `dev < alpha/a < beta/b < RC/rc < # (number) < pl/p`.

use super::num::{cmp_digits, is_digits};
use std::cmp::Ordering;

pub(crate) fn parse(s: &str) -> Vec<String> {
    let s = s.strip_prefix('v').unwrap_or(s);
    let s = s.strip_prefix('V').unwrap_or(s);
    let mut out = String::with_capacity(s.len() + 4);
    let mut prev: Option<char> = None;
    for c in s.chars() {
        let c = if matches!(c, '-' | '_' | '+') { '.' } else { c };
        if let Some(p) = prev {
            let p_other = !p.is_ascii_digit() && p != '.';
            let c_other = !c.is_ascii_digit() && c != '.';
            if (p_other && c.is_ascii_digit()) || (p.is_ascii_digit() && c_other) {
                out.push('.');
            }
        }
        out.push(c);
        prev = Some(c);
    }
    out.split('.').map(str::to_owned).collect()
}

fn weight(s: &str) -> u8 {
    if s.starts_with("RC") {
        return 3;
    }
    for (i, special) in ["dev", "a", "b", "rc", "#", "p"].iter().enumerate() {
        if s.starts_with(special) {
            return i as u8;
        }
    }
    0
}

fn fits_int(s: &str) -> bool {
    is_digits(s) && s.parse::<i64>().is_ok()
}

pub(crate) fn cmp_parsed(a: &[String], b: &[String]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (x.as_str(), y.as_str());
        let o = match (is_digits(x), is_digits(y)) {
            (true, true) => cmp_digits(x, y),
            (false, false) => weight(x).cmp(&weight(y)),
            (true, false) => weight("#").cmp(&weight(y)),
            (false, true) => weight(x).cmp(&weight("#")),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    match a.len().cmp(&b.len()) {
        Ordering::Greater => {
            if fits_int(&a[b.len()]) {
                Ordering::Greater
            } else {
                cmp_parsed(&a[b.len()..], &["#".to_owned()])
            }
        }
        Ordering::Less => {
            if fits_int(&b[a.len()]) {
                Ordering::Less
            } else {
                cmp_parsed(&["#".to_owned()], &b[a.len()..])
            }
        }
        Ordering::Equal => Ordering::Equal,
    }
}
