//! Maven `ComparableVersion` ordering.
//!
//! Tokens are split on `.`, `-` and digit/letter transitions (a transition
//! counts as `-`); trailing "null" tokens (`0`, ``, `final`, `ga`) are trimmed
//! before each hyphen; qualifiers order `alpha < beta < milestone < rc <
//! snapshot < "" < sp < other (lexical)`, and `.qualifier < -qualifier <
//! -number < .number`.

use super::num::{canonical_digits, cmp_digits, is_digits};
use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    /// b'.', b'-' or 0 for the very first token.
    prefix: u8,
    value: String,
    null: bool,
}

/// A parsed Maven version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MavenVersion {
    tokens: Vec<Token>,
}

const KEYWORDS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];

fn keyword_rank(v: &str) -> usize {
    KEYWORDS
        .iter()
        .position(|k| *k == v)
        .unwrap_or(KEYWORDS.len())
}

impl Token {
    fn prefix_rank(&self) -> u8 {
        let numeric = is_digits(&self.value);
        match (self.prefix, numeric) {
            (b'-', true) => 2,
            (b'-', false) => 1,
            (_, true) => 3,
            (_, false) => 0,
        }
    }

    fn less(&self, o: &Token) -> bool {
        if self.prefix == o.prefix {
            let (an, bn) = (is_digits(&self.value), is_digits(&o.value));
            if an && bn {
                return cmp_digits(&self.value, &o.value) == Ordering::Less;
            }
            if an && !self.null {
                return false;
            }
            if bn && !o.null {
                return true;
            }
            let (ra, rb) = (keyword_rank(&self.value), keyword_rank(&o.value));
            if ra == KEYWORDS.len() && rb == KEYWORDS.len() {
                return self.value < o.value;
            }
            return ra < rb;
        }
        self.prefix_rank() < o.prefix_rank()
    }

    fn null_like(other: &Token) -> Token {
        if other.prefix == b'-' {
            Token {
                prefix: b'-',
                value: String::new(),
                null: true,
            }
        } else {
            let value = if other.value == "sp" {
                String::new()
            } else {
                "0".to_owned()
            };
            Token {
                prefix: b'.',
                value,
                null: true,
            }
        }
    }

    fn same(&self, o: &Token) -> bool {
        self.prefix == o.prefix && self.value == o.value
    }
}

impl MavenVersion {
    /// Parses any string; never fails.
    pub fn parse(s: &str) -> MavenVersion {
        let mut tokens: Vec<Token> = Vec::new();
        let mut prefix = 0u8;
        let mut offset = 0usize;
        for raw in s.split(['.', '-']) {
            if offset > 0 {
                // the delimiter that preceded this raw token
                prefix = s.as_bytes()[offset - 1];
            }
            offset += raw.len() + 1;
            let chars: Vec<char> = raw.chars().collect();
            let mut start = 0;
            let mut first = true;
            let mut i = 0;
            while i <= chars.len() {
                let boundary = i == chars.len()
                    || (i > start && chars[i - 1].is_ascii_digit() != chars[i].is_ascii_digit());
                if boundary {
                    let last = i == chars.len();
                    let seg: String = chars[start..i].iter().collect::<String>().to_lowercase();
                    let mut value = if seg.is_empty() { "0".to_owned() } else { seg };
                    match value.as_str() {
                        "cr" => value = "rc".to_owned(),
                        "ga" | "final" | "release" => value.clear(),
                        "a" if !last => value = "alpha".to_owned(),
                        "b" if !last => value = "beta".to_owned(),
                        "m" if !last => value = "milestone".to_owned(),
                        _ => {}
                    }
                    if is_digits(&value) {
                        value = canonical_digits(&value).to_owned();
                    }
                    let p = if first { prefix } else { b'-' };
                    tokens.push(Token {
                        prefix: p,
                        value,
                        null: false,
                    });
                    first = false;
                    start = i;
                    if last {
                        break;
                    }
                }
                i += 1;
            }
        }
        // trim trailing null values before each hyphen, from the end
        let mut i = tokens.len() as isize - 1;
        while i > 0 {
            let idx = i as usize;
            let v = tokens[idx].value.as_str();
            if matches!(v, "0" | "" | "final" | "ga") {
                tokens.remove(idx);
                i -= 1;
                continue;
            }
            while i >= 0 && tokens[i as usize].prefix != b'-' {
                i -= 1;
            }
            i -= 1;
        }
        MavenVersion { tokens }
    }

    fn less(&self, o: &MavenVersion) -> bool {
        let n = self.tokens.len().max(o.tokens.len());
        for i in 0..n {
            let left = match self.tokens.get(i) {
                Some(t) => t.clone(),
                None => Token::null_like(&o.tokens[i]),
            };
            let right = match o.tokens.get(i) {
                Some(t) => t.clone(),
                None => Token::null_like(&self.tokens[i]),
            };
            if left.same(&right) {
                continue;
            }
            return left.less(&right);
        }
        false
    }
}

impl Ord for MavenVersion {
    fn cmp(&self, o: &Self) -> Ordering {
        let equal = self.tokens.len() == o.tokens.len()
            && self.tokens.iter().zip(&o.tokens).all(|(a, b)| a.same(b));
        if equal {
            Ordering::Equal
        } else if self.less(o) {
            Ordering::Less
        } else {
            Ordering::Greater
        }
    }
}

impl PartialOrd for MavenVersion {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(a: &str, b: &str) -> Ordering {
        MavenVersion::parse(a).cmp(&MavenVersion::parse(b))
    }

    #[test]
    fn maven_basics() {
        assert_eq!(c("1", "1.0.0"), Ordering::Equal);
        assert_eq!(c("1.0-SNAPSHOT", "1.0"), Ordering::Less);
        assert_eq!(c("1a1", "1-alpha-1"), Ordering::Equal);
        assert_eq!(c("2.0.1-xyz", "2.0.1-123"), Ordering::Less);
        assert_eq!(c("", "-"), Ordering::Equal);
    }
}
