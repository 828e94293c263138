//! SemVer-like orderings: SemVer 2 (crates.io, npm, Go, Hex, ...), NuGet,
//! Pub (Dart), Hackage and CRAN.
//!
//! All of them are parsed leniently into numeric components plus a "build"
//! tail (pre-release and/or build metadata). A leading `v` is ignored, so Go's
//! `v1.2.3` equals `1.2.3`; numeric components have no size limit.

use super::num::{cmp_digits, cmp_padded, is_digits};
use std::cmp::Ordering;

/// A version split into numeric components and the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SemverLike {
    /// Numeric components, as digit strings.
    pub components: Vec<String>,
    /// Everything after the numeric components (`-pre`, `+build`, ...).
    pub build: String,
}

impl SemverLike {
    /// Parses `s`, keeping at most `max_components` numeric components
    /// (`None` for no limit); extra components are appended to the tail.
    pub fn parse(s: &str, max_components: Option<usize>) -> SemverLike {
        let s = s.strip_prefix('v').unwrap_or(s);
        let mut components = Vec::new();
        let mut current = String::new();
        let mut build = String::new();
        let mut in_build = false;
        for c in s.chars() {
            if in_build {
                build.push(c);
                continue;
            }
            if c.is_ascii_digit() {
                current.push(c);
                continue;
            }
            if !current.is_empty() {
                components.push(std::mem::take(&mut current));
            }
            if c == '.' {
                continue;
            }
            in_build = true;
            build.push(c);
        }
        if !in_build && !current.is_empty() {
            components.push(current);
        }
        if let Some(max) = max_components
            && components.len() > max
        {
            for extra in components.drain(max..) {
                build.push('.');
                build.push_str(super::num::canonical_digits(&extra));
            }
        }
        SemverLike { components, build }
    }

    fn cmp_components(&self, other: &SemverLike) -> Ordering {
        cmp_padded(&self.components, &other.components)
    }
}

/// Compares pre-release parts SemVer 2 style (build metadata after `+` ignored).
pub(crate) fn cmp_prerelease(a: &str, b: &str) -> Ordering {
    let a = a.split('+').next().unwrap_or("");
    let b = b.split('+').next().unwrap_or("");
    let a = a.strip_prefix('-').unwrap_or(a);
    let b = b.strip_prefix('-').unwrap_or(b);
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let mut ai = a.split('.');
    let mut bi = b.split('.');
    loop {
        match (ai.next(), bi.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let o = match (is_digits(x), is_digits(y)) {
                    (true, true) => cmp_digits(x, y),
                    (false, false) => x.cmp(y),
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

/// SemVer 2.0 precedence, lenient: `v` prefix, any number of digits,
/// components after the third are treated as part of the tail.
#[cfg(test)]
fn cmp_semver(a: &str, b: &str) -> Ordering {
    let (a, b) = (SemverLike::parse(a, Some(3)), SemverLike::parse(b, Some(3)));
    cmp_semver_parsed(&a, &b)
}

pub(crate) fn cmp_semver_parsed(a: &SemverLike, b: &SemverLike) -> Ordering {
    a.cmp_components(b)
        .then_with(|| cmp_prerelease(&a.build, &b.build))
}

/// NuGet: four numeric components, case-insensitive pre-release, metadata ignored.
pub(crate) fn cmp_nuget_parsed(a: &SemverLike, b: &SemverLike) -> Ordering {
    a.cmp_components(b)
        .then_with(|| cmp_prerelease(&a.build.to_ascii_lowercase(), &b.build.to_ascii_lowercase()))
}

/// Pub (Dart): SemVer, but build metadata orders too (`1.0.0 < 1.0.0+1`).
pub(crate) fn cmp_pub_parsed(a: &SemverLike, b: &SemverLike) -> Ordering {
    cmp_semver_parsed(a, b).then_with(|| {
        let x = a.build.split_once('+').map_or("", |(_, m)| m);
        let y = b.build.split_once('+').map_or("", |(_, m)| m);
        x.cmp(y)
    })
}

/// Hackage (PVP): numeric components compared as lists; `1.0 < 1.0.0`.
pub(crate) fn cmp_hackage_parsed(a: &SemverLike, b: &SemverLike) -> Ordering {
    a.cmp_components(b)
        .then_with(|| cmp_prerelease(&a.build.to_ascii_lowercase(), &b.build.to_ascii_lowercase()))
        .then_with(|| a.components.len().cmp(&b.components.len()))
}

/// CRAN: integers separated by `.` or `-`; a longer version with equal
/// prefix is greater (`0.1.0 < 0.1.0.0`).
pub(crate) fn parse_cran(s: &str) -> Vec<String> {
    s.split(['.', '-'])
        .filter(|p| is_digits(p))
        .map(str::to_owned)
        .collect()
}

pub(crate) fn cmp_cran_parsed(a: &[String], b: &[String]) -> Ordering {
    cmp_padded(a, b).then_with(|| a.len().cmp(&b.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_components_move_to_tail() {
        let v = SemverLike::parse("v1.1.3.4.5-x", Some(3));
        assert_eq!(v.components, vec!["1", "1", "3"]);
        assert_eq!(v.build, "-x.4.5");
    }

    #[test]
    fn prerelease_rules() {
        assert_eq!(cmp_semver("1.0.0-alpha", "1.0.0-alpha.1"), Ordering::Less);
        assert_eq!(cmp_semver("1.0.0-rc.1", "1.0.0"), Ordering::Less);
        assert_eq!(cmp_semver("v1.2.3+x", "1.2.3+y"), Ordering::Equal);
        assert_eq!(cmp_semver("1.2.3-r2", "1.2.3-r100"), Ordering::Greater);
    }
}
