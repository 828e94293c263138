//! dpkg status databases: `/var/lib/dpkg/status` and the one-package-per-file
//! `/var/lib/dpkg/status.d/` entries distroless images carry.

use crate::model::{PackageKind, RawPackage};

/// Reads deb822 stanzas and returns the installed packages plus problems
/// (`line N: ...`). A stanza with a `Status:` field counts only when its last
/// word is `installed`; `status.d/` entries have no `Status:` and all count.
pub fn parse_status(text: &str) -> (Vec<RawPackage>, Vec<String>) {
    let mut packages = Vec::new();
    let mut problems = Vec::new();
    let mut fields: Vec<(&str, String)> = Vec::new();
    let mut stanza_line = 1usize;

    let mut flush = |fields: &mut Vec<(&str, String)>, line: usize, problems: &mut Vec<String>| {
        if fields.is_empty() {
            return;
        }
        let get = |k: &str| {
            fields
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.trim().to_string())
        };
        let installed = match get("Status") {
            Some(status) => status.split_whitespace().last() == Some("installed"),
            None => true,
        };
        match (get("Package"), get("Version")) {
            (Some(name), Some(version)) if installed => {
                let mut pkg = RawPackage::new(PackageKind::Deb, name, version.clone());
                pkg.arch = get("Architecture");
                if let Some(source) = get("Source") {
                    // "Source: name" or "Source: name (version)".
                    let (sname, sversion) = match source.split_once('(') {
                        Some((n, v)) => (
                            n.trim().to_string(),
                            Some(v.trim_end_matches(')').trim().to_string()),
                        ),
                        None => (source.clone(), None),
                    };
                    pkg.source_name = Some(sname);
                    pkg.source_version = sversion.or(Some(version));
                }
                packages.push(pkg);
            }
            (Some(_), Some(_)) => {}
            (name, _) => problems.push(format!(
                "line {line}: package stanza without {} field; skipped",
                if name.is_none() {
                    "a Package"
                } else {
                    "a Version"
                }
            )),
        }
        fields.clear();
    };

    for (idx, line) in text.lines().enumerate() {
        let lineno = idx + 1;
        if line.trim().is_empty() {
            flush(&mut fields, stanza_line, &mut problems);
            stanza_line = lineno + 1;
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            // Continuation of the previous field (Description, Conffiles...).
            if fields.is_empty() {
                problems.push(format!("line {lineno}: continuation line outside a field"));
            }
            continue;
        }
        match line.split_once(':') {
            Some((key, value)) if !key.is_empty() && !key.contains(' ') => {
                fields.push((key, value.to_string()));
            }
            _ => problems.push(format!(
                "line {lineno}: expected 'Field: value', found '{}'",
                truncate(line)
            )),
        }
    }
    flush(&mut fields, stanza_line, &mut problems);
    (packages, problems)
}

pub(crate) fn truncate(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect();
    if out.len() < s.len() {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_only_with_source() {
        let text = "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nSource: glibc\nVersion: 2.36-9+deb12u4\nDescription: GNU C Library\n multi-line\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n\nPackage: libssl3\nStatus: install ok installed\nSource: openssl (3.0.11-1~deb12u2)\nVersion: 3.0.11-1~deb12u2+b1\n";
        let (pkgs, problems) = parse_status(text);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(pkgs.len(), 2);
        assert_eq!(pkgs[0].name, "libc6");
        assert_eq!(pkgs[0].source_name.as_deref(), Some("glibc"));
        assert_eq!(pkgs[0].source_version.as_deref(), Some("2.36-9+deb12u4"));
        assert_eq!(pkgs[0].arch.as_deref(), Some("amd64"));
        assert_eq!(pkgs[1].source_name.as_deref(), Some("openssl"));
        assert_eq!(pkgs[1].source_version.as_deref(), Some("3.0.11-1~deb12u2"));
    }

    #[test]
    fn distroless_entry_and_bad_lines() {
        let (pkgs, problems) = parse_status("Package: tzdata\nVersion: 2024a-0+deb12u1\n");
        assert_eq!(pkgs.len(), 1);
        assert!(problems.is_empty());
        let (pkgs, problems) = parse_status("garbage line\nPackage: x\n\nVersion: 1\n");
        assert!(pkgs.is_empty());
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("line 1:"));
    }
}
