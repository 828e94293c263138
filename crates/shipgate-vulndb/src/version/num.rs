//! Helpers shared by the comparators: arbitrary-length decimal comparison
//! without allocating big integers.

use std::cmp::Ordering;

/// True when `s` is a non-empty run of ASCII digits.
pub(crate) fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Compares two runs of ASCII digits by numeric value, whatever their length.
/// An empty run counts as zero.
pub(crate) fn cmp_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Compares two lists of numeric components, padding the shorter with zeros.
pub(crate) fn cmp_padded<S: AsRef<str>>(a: &[S], b: &[S]) -> Ordering {
    let n = a.len().max(b.len());
    for i in 0..n {
        let x = a.get(i).map_or("0", AsRef::as_ref);
        let y = b.get(i).map_or("0", AsRef::as_ref);
        let o = cmp_digits(x, y);
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// Strips leading zeros, keeping one digit ("000" becomes "0").
pub(crate) fn canonical_digits(s: &str) -> &str {
    let t = s.trim_start_matches('0');
    if t.is_empty() && !s.is_empty() {
        &s[s.len() - 1..]
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_compare_by_value() {
        assert_eq!(cmp_digits("010", "9"), Ordering::Greater);
        assert_eq!(cmp_digits("0", ""), Ordering::Equal);
        assert_eq!(
            cmp_digits(
                "999999999999999999999999999991",
                "999999999999999999999999999999"
            ),
            Ordering::Less
        );
        assert_eq!(canonical_digits("000"), "0");
        assert_eq!(canonical_digits("007"), "7");
    }
}
