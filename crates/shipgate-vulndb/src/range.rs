//! OSV range evaluation.
//!
//! Follows the OSV specification's algorithm: each `SEMVER`/`ECOSYSTEM` range
//! has its events sorted by version (`introduced: "0"` first, it means "every
//! version", pre-releases below 0 included); walking them, `introduced`
//! starts an affected span (inclusive), `fixed` ends it (exclusive),
//! `last_affected` ends it after that version (inclusive); a `limit` caps the
//! range (versions at or above every limit are unaffected). Several ranges
//! and the explicit `versions` list are a union. `GIT` ranges are skipped:
//! commits cannot be ordered without the repository, so only `versions`
//! applies to them. `SEMVER` ranges always use SemVer ordering; `ECOSYSTEM`
//! ranges use the ecosystem's.
//!
//! Events are sorted once, at import ([`prepare_range`]); matching walks them
//! and stops at the first event above the queried version.

use crate::osv::Range;
use crate::version::{Scheme, Version, VersionError};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// What an event does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    /// Start of an affected span (inclusive).
    Introduced,
    /// End of a span, exclusive.
    Fixed,
    /// End of a span, inclusive.
    LastAffected,
    /// Nothing at or above this version is affected.
    Limit,
}

/// One event of a prepared range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreparedEvent {
    /// The event kind.
    pub kind: EventKind,
    /// The event version as written in the advisory.
    pub version: String,
}

/// A range whose events are sorted under its scheme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreparedRange {
    /// True for `SEMVER` ranges (SemVer ordering whatever the ecosystem).
    pub semver: bool,
    /// Events in ascending version order.
    pub events: Vec<PreparedEvent>,
}

/// Whether an event version is the special "from the beginning" zero.
fn is_zero(kind: EventKind, v: &str) -> bool {
    kind == EventKind::Introduced && v == "0"
}

/// Sorts the events of `range` for `scheme`. Returns `Ok(None)` for range
/// types that are not evaluated (`GIT`, unknown). Fails on the first event
/// version that cannot be parsed.
pub fn prepare_range(scheme: Scheme, range: &Range) -> Result<Option<PreparedRange>, VersionError> {
    let semver = match range.kind.as_str() {
        "SEMVER" => true,
        "ECOSYSTEM" => false,
        _ => return Ok(None),
    };
    let scheme = if semver { Scheme::SemVer } else { scheme };
    let mut keyed: Vec<(Option<Version>, PreparedEvent)> = Vec::with_capacity(range.events.len());
    for e in &range.events {
        let pairs = [
            (EventKind::Introduced, &e.introduced),
            (EventKind::Fixed, &e.fixed),
            (EventKind::LastAffected, &e.last_affected),
            (EventKind::Limit, &e.limit),
        ];
        for (kind, v) in pairs {
            let Some(v) = v else { continue };
            let parsed = if is_zero(kind, v) {
                None
            } else {
                Some(scheme.parse(v)?)
            };
            keyed.push((
                parsed,
                PreparedEvent {
                    kind,
                    version: v.clone(),
                },
            ));
        }
    }
    // stable: events at the same version keep the advisory's order
    keyed.sort_by(|(a, _), (b, _)| match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => a.cmp_same(b),
    });
    Ok(Some(PreparedRange {
        semver,
        events: keyed.into_iter().map(|(_, e)| e).collect(),
    }))
}

/// The outcome of evaluating one version against one range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeResult {
    /// Not affected.
    Unaffected,
    /// Affected; the `fixed` version that ends the span, when there is one.
    Affected(Option<String>),
}

/// An event version parsed once and reused across queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventVersion {
    /// `introduced: "0"`: below every version.
    Zero,
    /// A parsed version.
    Parsed(Version),
    /// Could not be parsed: the range cannot be evaluated.
    Invalid,
}

/// Parses the event versions of `range` (for [`evaluate_parsed`]).
pub fn parse_events(scheme: Scheme, range: &PreparedRange) -> Vec<EventVersion> {
    let scheme = if range.semver { Scheme::SemVer } else { scheme };
    range
        .events
        .iter()
        .map(|e| {
            if is_zero(e.kind, &e.version) {
                EventVersion::Zero
            } else {
                scheme
                    .parse(&e.version)
                    .map_or(EventVersion::Invalid, EventVersion::Parsed)
            }
        })
        .collect()
}

/// Evaluates the already-parsed `version` (parsed under the range's scheme)
/// against `range`. Event versions that fail to parse make the range
/// unevaluable: it is treated as not matching (import reports them).
pub fn evaluate(scheme: Scheme, version: &Version, range: &PreparedRange) -> RangeResult {
    evaluate_parsed(version, range, &parse_events(scheme, range))
}

/// [`evaluate`] with the event versions parsed beforehand by [`parse_events`].
pub fn evaluate_parsed(
    version: &Version,
    range: &PreparedRange,
    parsed: &[EventVersion],
) -> RangeResult {
    if parsed.len() != range.events.len() || parsed.contains(&EventVersion::Invalid) {
        return RangeResult::Unaffected;
    }
    let cmp = |i: usize| match &parsed[i] {
        EventVersion::Zero => Ordering::Greater,
        EventVersion::Parsed(ev) => version.cmp_same(ev),
        EventVersion::Invalid => Ordering::Less,
    };
    let mut affected = false;
    let mut below_limit: Option<bool> = None;
    let mut rest_from = range.events.len();
    for (i, e) in range.events.iter().enumerate() {
        if e.kind == EventKind::Limit {
            continue;
        }
        let ord = cmp(i);
        match e.kind {
            EventKind::Introduced if ord != Ordering::Less => affected = true,
            EventKind::Fixed if ord != Ordering::Less => affected = false,
            EventKind::LastAffected if ord == Ordering::Greater => affected = false,
            EventKind::LastAffected if ord == Ordering::Equal => {}
            _ => {
                // this event is above the version: nothing later changes the state
                rest_from = i;
                break;
            }
        }
    }
    if !affected {
        return RangeResult::Unaffected;
    }
    for (i, e) in range.events.iter().enumerate() {
        if e.kind == EventKind::Limit {
            let below = cmp(i) == Ordering::Less;
            below_limit = Some(below_limit.unwrap_or(false) || below);
        }
    }
    if below_limit == Some(false) {
        return RangeResult::Unaffected;
    }
    let fixed = range.events[rest_from..]
        .iter()
        .find(|e| matches!(e.kind, EventKind::Fixed | EventKind::LastAffected))
        .filter(|e| e.kind == EventKind::Fixed)
        .map(|e| e.version.clone());
    RangeResult::Affected(fixed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osv::Event;

    fn ev(i: Option<&str>, f: Option<&str>, l: Option<&str>) -> Event {
        Event {
            introduced: i.map(Into::into),
            fixed: f.map(Into::into),
            last_affected: l.map(Into::into),
            limit: None,
        }
    }

    fn check(scheme: Scheme, r: &Range, v: &str) -> RangeResult {
        let p = prepare_range(scheme, r).expect("valid").expect("evaluated");
        let sv = if p.semver { Scheme::SemVer } else { scheme };
        evaluate(scheme, &sv.parse(v).expect("valid version"), &p)
    }

    #[test]
    fn spans_and_boundaries() {
        // deliberately out of order: sorting is the evaluator's job
        let r = Range {
            kind: "ECOSYSTEM".into(),
            repo: None,
            events: vec![
                ev(Some("2.0"), None, None),
                ev(None, Some("1.5"), None),
                ev(Some("1.0"), None, None),
                ev(None, None, Some("2.3")),
            ],
        };
        let s = Scheme::Pep440;
        assert_eq!(check(s, &r, "0.9"), RangeResult::Unaffected);
        assert_eq!(
            check(s, &r, "1.0"),
            RangeResult::Affected(Some("1.5".into()))
        );
        assert_eq!(check(s, &r, "1.5"), RangeResult::Unaffected);
        assert_eq!(check(s, &r, "2.0"), RangeResult::Affected(None));
        assert_eq!(check(s, &r, "2.3"), RangeResult::Affected(None));
        assert_eq!(check(s, &r, "2.3.1"), RangeResult::Unaffected);
    }

    #[test]
    fn zero_covers_prereleases_and_git_is_skipped() {
        let r = Range {
            kind: "SEMVER".into(),
            repo: None,
            events: vec![ev(Some("0"), None, None), ev(None, Some("1.0.0"), None)],
        };
        assert_eq!(
            check(Scheme::SemVer, &r, "0.0.0-alpha"),
            RangeResult::Affected(Some("1.0.0".into()))
        );
        assert_eq!(check(Scheme::SemVer, &r, "1.0.0"), RangeResult::Unaffected);
        let g = Range {
            kind: "GIT".into(),
            repo: None,
            events: vec![ev(Some("0"), None, None)],
        };
        assert_eq!(prepare_range(Scheme::SemVer, &g), Ok(None));
    }

    #[test]
    fn limit_caps_range() {
        let mut r = Range {
            kind: "ECOSYSTEM".into(),
            repo: None,
            events: vec![ev(Some("1.0"), None, None)],
        };
        r.events.push(Event {
            limit: Some("3.0".into()),
            ..Default::default()
        });
        assert_eq!(
            check(Scheme::Pep440, &r, "2.0"),
            RangeResult::Affected(None)
        );
        assert_eq!(check(Scheme::Pep440, &r, "3.0"), RangeResult::Unaffected);
    }
}
