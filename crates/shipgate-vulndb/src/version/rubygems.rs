//! RubyGems `Gem::Version` ordering: segments split on `.` and on
//! digit/letter transitions; trailing zero segments dropped; a letter segment
//! marks a pre-release and sorts before any number.

use super::num::{cmp_digits, is_digits};
use std::cmp::Ordering;

/// Canonical segments of a RubyGems version.
pub(crate) fn parse(s: &str) -> Vec<String> {
    let mut canon = String::with_capacity(s.len() + 4);
    let mut check_previous = false;
    let mut previous_digit = true;
    for c in s.chars() {
        if c == '.' {
            check_previous = false;
            canon.push('.');
            continue;
        }
        let digit = c.is_ascii_digit();
        if check_previous && previous_digit != digit {
            canon.push('.');
        }
        canon.push(c);
        previous_digit = digit;
        check_previous = true;
    }
    let mut numbers: Vec<String> = Vec::new();
    let mut build: Vec<String> = Vec::new();
    for seg in canon.split('.') {
        if !build.is_empty() || !is_digits(seg) {
            build.push(seg.to_owned());
        } else {
            numbers.push(seg.to_owned());
        }
    }
    trim_zeros(&mut numbers);
    trim_zeros(&mut build);
    numbers.extend(build);
    numbers
}

fn trim_zeros(v: &mut Vec<String>) {
    while v.last().is_some_and(|s| s == "0") {
        v.pop();
    }
}

pub(crate) fn cmp_parsed(a: &[String], b: &[String]) -> Ordering {
    let n = a.len().max(b.len());
    for i in 0..n {
        let x = a.get(i).map_or("0", String::as_str);
        let y = b.get(i).map_or("0", String::as_str);
        let o = match (is_digits(x), is_digits(y)) {
            (true, true) => cmp_digits(x, y),
            (false, false) => x.cmp(y),
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}
