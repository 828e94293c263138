//! Fuzz entry points (the workspace's `fuzz/` crate calls these).

use crate::ecosystem;
use crate::import::{parse_bytes, visit_zip_reader};
use crate::range::{evaluate, prepare_range};
use crate::severity::severity_of;

/// Parses `data` as an OSV record (JSON, and YAML when it does not look like
/// JSON), then runs everything import and matching do with it: severity
/// scoring, version parsing, range preparation and evaluation against the
/// event versions themselves. Must never panic.
pub fn fuzz_osv_record(data: &[u8]) {
    let yaml = !data
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{' || *b == b'[');
    let Ok(records) = parse_bytes("fuzz", data, yaml) else {
        return;
    };
    for record in &records {
        for affected in &record.affected {
            let _ = severity_of(record, Some(affected));
            let Some(pkg) = &affected.package else {
                continue;
            };
            let _ = ecosystem::normalize_name(&pkg.ecosystem, &pkg.name);
            let Some(scheme) = ecosystem::scheme_for(&pkg.ecosystem) else {
                continue;
            };
            for range in &affected.ranges {
                let Ok(Some(prepared)) = prepare_range(scheme, range) else {
                    continue;
                };
                let rs = if prepared.semver {
                    crate::version::Scheme::SemVer
                } else {
                    scheme
                };
                for e in &prepared.events {
                    if let Ok(v) = rs.parse(&e.version) {
                        let _ = evaluate(scheme, &v, &prepared);
                    }
                }
            }
            for v in &affected.versions {
                let _ = scheme.parse(v);
            }
        }
    }
}

/// Reads `data` as an OSV `all.zip` archive (directory, members, records),
/// as `shipgate db import` does. Must never panic, and must not allocate
/// more than the archive's stated limits allow.
pub fn fuzz_osv_zip(data: &[u8]) {
    let mut records = 0usize;
    let _ = visit_zip_reader("fuzz.zip", std::io::Cursor::new(data), &mut |_| {
        records += 1
    });
}
