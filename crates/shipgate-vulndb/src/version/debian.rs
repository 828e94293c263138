//! Debian (dpkg) ordering: `[epoch:]upstream[-revision]`, compared with
//! dpkg's algorithm (`~` sorts before everything, even the end of the string;
//! letters sort before other symbols; digit runs compare numerically).

use super::num::cmp_digits;
use std::cmp::Ordering;

/// A parsed Debian version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebianVersion {
    epoch: String,
    upstream: String,
    revision: String,
}

impl DebianVersion {
    /// Parses `s`; fails only when an epoch is present and not a number.
    pub fn parse(s: &str) -> Result<DebianVersion, String> {
        let s = s.trim();
        let (epoch, rest) = match s.split_once(':') {
            Some((e, r)) => {
                if !super::num::is_digits(e) {
                    return Err(format!("epoch {e:?} is not a number"));
                }
                (e.to_owned(), r)
            }
            None => ("0".to_owned(), s),
        };
        let (upstream, revision) = match rest.rsplit_once('-') {
            Some((u, r)) => (u.to_owned(), r.to_owned()),
            None => (rest.to_owned(), "0".to_owned()),
        };
        Ok(DebianVersion {
            epoch,
            upstream,
            revision,
        })
    }
}

fn weight(c: Option<u8>) -> u32 {
    match c {
        Some(b'~') => 1,
        None => 2,
        Some(c) if c.is_ascii_alphabetic() => u32::from(c),
        Some(c) => u32::from(c) + 122,
    }
}

/// dpkg's `verrevcmp` on one part.
pub(crate) fn cmp_part(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    while !a.is_empty() || !b.is_empty() {
        let an = a.iter().position(u8::is_ascii_digit).unwrap_or(a.len());
        let bn = b.iter().position(u8::is_ascii_digit).unwrap_or(b.len());
        let (ap, bp) = (&a[..an], &b[..bn]);
        if ap != bp {
            for i in 0..an.max(bn) {
                let o = weight(ap.get(i).copied()).cmp(&weight(bp.get(i).copied()));
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
        a = &a[an..];
        b = &b[bn..];
        let ad = a
            .iter()
            .position(|c| !c.is_ascii_digit())
            .unwrap_or(a.len());
        let bd = b
            .iter()
            .position(|c| !c.is_ascii_digit())
            .unwrap_or(b.len());
        let o = cmp_digits(
            std::str::from_utf8(&a[..ad]).unwrap_or(""),
            std::str::from_utf8(&b[..bd]).unwrap_or(""),
        );
        if o != Ordering::Equal {
            return o;
        }
        a = &a[ad..];
        b = &b[bd..];
    }
    Ordering::Equal
}

impl Ord for DebianVersion {
    fn cmp(&self, o: &Self) -> Ordering {
        cmp_digits(&self.epoch, &o.epoch)
            .then_with(|| cmp_part(&self.upstream, &o.upstream))
            .then_with(|| cmp_part(&self.revision, &o.revision))
    }
}

impl PartialOrd for DebianVersion {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
