//! RPM ordering (`rpmvercmp` on epoch, version and release), used for Red
//! Hat, AlmaLinux, Rocky Linux, openSUSE, SUSE, Mageia, openEuler, ...
//!
//! `~` sorts before everything (pre-releases), `^` after the base version but
//! before any further component (snapshots); other non-alphanumerics are
//! separators.

use std::cmp::Ordering;

/// A parsed RPM EVR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpmVersion {
    epoch: String,
    version: String,
    release: String,
}

impl RpmVersion {
    /// Parses `[epoch:]version[-release]`; never fails.
    pub fn parse(s: &str) -> RpmVersion {
        let (mut epoch, mut vr) = ("", s);
        if let Some((e, r)) = s.split_once(':')
            && e.bytes().all(|b| b.is_ascii_digit())
        {
            epoch = e;
            vr = r;
        }
        let (version, release) = match vr.split_once('-') {
            Some((v, r)) => (v.to_owned(), format!("-{r}")),
            None => (vr.to_owned(), String::new()),
        };
        let epoch = if epoch.is_empty() {
            "0".to_owned()
        } else {
            epoch.to_owned()
        };
        RpmVersion {
            epoch,
            version,
            release,
        }
    }
}

fn separator(b: u8) -> bool {
    !b.is_ascii_alphanumeric() && b != b'~' && b != b'^'
}

/// `rpmvercmp` on one part.
pub(crate) fn rpmvercmp(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        _ => {}
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0usize, 0usize);
    loop {
        while i < a.len() && separator(a[i]) {
            i += 1;
        }
        while j < b.len() && separator(b[j]) {
            j += 1;
        }
        let (at, bt) = (a.get(i) == Some(&b'~'), b.get(j) == Some(&b'~'));
        if at && bt {
            i += 1;
            j += 1;
            continue;
        }
        if at {
            return Ordering::Less;
        }
        if bt {
            return Ordering::Greater;
        }
        let (ac, bc) = (a.get(i) == Some(&b'^'), b.get(j) == Some(&b'^'));
        if ac && bc {
            i += 1;
            j += 1;
            continue;
        }
        if ac {
            return if j == b.len() {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        if bc {
            return if i == a.len() {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        if i == a.len() || j == b.len() {
            break;
        }
        let digit = a[i].is_ascii_digit();
        let run = |s: &[u8], mut k: usize| {
            let start = k;
            while k < s.len()
                && (if digit {
                    s[k].is_ascii_digit()
                } else {
                    s[k].is_ascii_alphabetic()
                })
            {
                k += 1;
            }
            (start, k)
        };
        let (as_, ae) = run(a, i);
        let (bs, be) = run(b, j);
        i = ae;
        j = be;
        if bs == be {
            return if digit {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (mut x, mut y) = (&a[as_..ae], &b[bs..be]);
        if digit {
            while x.first() == Some(&b'0') {
                x = &x[1..];
            }
            while y.first() == Some(&b'0') {
                y = &y[1..];
            }
            let o = x.len().cmp(&y.len());
            if o != Ordering::Equal {
                return o;
            }
        }
        let o = x.cmp(y);
        if o != Ordering::Equal {
            return o;
        }
    }
    (a.len() - i).cmp(&(b.len() - j))
}

impl Ord for RpmVersion {
    fn cmp(&self, o: &Self) -> Ordering {
        rpmvercmp(&self.epoch, &o.epoch)
            .then_with(|| rpmvercmp(&self.version, &o.version))
            .then_with(|| rpmvercmp(&self.release, &o.release))
    }
}

impl PartialOrd for RpmVersion {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
