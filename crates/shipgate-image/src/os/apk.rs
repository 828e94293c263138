//! Alpine's installed database, `/lib/apk/db/installed`.

use crate::model::{PackageKind, RawPackage};

/// Reads the `P:`/`V:`/`A:`/`o:` records of each blank-line separated stanza.
pub fn parse_installed(text: &str) -> (Vec<RawPackage>, Vec<String>) {
    let mut packages = Vec::new();
    let mut problems = Vec::new();
    let (mut name, mut version, mut arch, mut origin) = (None, None, None, None);
    let mut start = 1usize;
    let mut flush = |name: &mut Option<String>,
                     version: &mut Option<String>,
                     arch: &mut Option<String>,
                     origin: &mut Option<String>,
                     start: usize,
                     problems: &mut Vec<String>| {
        match (name.take(), version.take()) {
            (Some(n), Some(v)) => {
                let mut p = RawPackage::new(PackageKind::Apk, n, v.clone());
                p.arch = arch.take();
                p.source_name = origin.take();
                if p.source_name.is_some() {
                    p.source_version = Some(v);
                }
                packages.push(p);
            }
            (None, None) => {}
            (n, _) => problems.push(format!(
                "line {start}: package record without {}; skipped",
                if n.is_none() {
                    "P: (name)"
                } else {
                    "V: (version)"
                }
            )),
        }
        *arch = None;
        *origin = None;
    };
    for (idx, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            flush(
                &mut name,
                &mut version,
                &mut arch,
                &mut origin,
                start,
                &mut problems,
            );
            start = idx + 2;
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            problems.push(format!("line {}: expected 'X:value'", idx + 1));
            continue;
        };
        let value = Some(value.to_string());
        match key {
            "P" => name = value,
            "V" => version = value,
            "A" => arch = value,
            "o" => origin = value,
            _ => {}
        }
    }
    flush(
        &mut name,
        &mut version,
        &mut arch,
        &mut origin,
        start,
        &mut problems,
    );
    (packages, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_records() {
        let text = "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\no:musl\nT:the musl c library\n\nP:libcrypto3\nV:3.1.4-r5\nA:x86_64\no:openssl\n\n";
        let (pkgs, problems) = parse_installed(text);
        assert!(problems.is_empty());
        assert_eq!(pkgs.len(), 2);
        assert_eq!(pkgs[1].name, "libcrypto3");
        assert_eq!(pkgs[1].source_name.as_deref(), Some("openssl"));
        assert_eq!(pkgs[1].version, "3.1.4-r5");
        let (pkgs, problems) = parse_installed("P:x\n\nnonsense\n");
        assert!(pkgs.is_empty());
        assert_eq!(problems.len(), 2);
    }
}
