//! Java archives: `META-INF/maven/<group>/<artifact>/pom.properties` inside
//! jars, wars and ears, nested archives included (Spring Boot `BOOT-INF/lib`).

use std::io::{Cursor, Read};

use crate::model::{PackageKind, RawPackage};

/// How deep archives nested in archives are opened.
const MAX_DEPTH: usize = 3;
/// Largest nested archive or pom.properties read into memory.
const MAX_INNER_BYTES: u64 = 64 * 1024 * 1024;
/// Most entries looked at in one archive.
const MAX_ENTRIES: usize = 200_000;

/// True for a file name that is a Java archive.
pub fn is_java_archive(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".jar", ".war", ".ear", ".jpi", ".hpi"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// Reads every Maven artifact the archive (and archives inside it) declares.
/// Returns what was found plus the problems met.
pub fn parse_archive(bytes: &[u8]) -> (Vec<RawPackage>, Vec<String>) {
    let mut packages = Vec::new();
    let mut problems = Vec::new();
    walk(bytes, "", 0, &mut packages, &mut problems);
    packages.sort_by(|a, b| {
        (&a.name, &a.version, &a.inner_path).cmp(&(&b.name, &b.version, &b.inner_path))
    });
    packages.dedup_by(|a, b| {
        a.name == b.name && a.version == b.version && a.inner_path == b.inner_path
    });
    (packages, problems)
}

fn walk(
    bytes: &[u8],
    prefix: &str,
    depth: usize,
    packages: &mut Vec<RawPackage>,
    problems: &mut Vec<String>,
) {
    let mut archive = match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(a) => a,
        Err(e) => {
            let at = if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}: ")
            };
            problems.push(format!("{at}not a readable zip archive: {e}"));
            return;
        }
    };
    let count = archive.len().min(MAX_ENTRIES);
    if archive.len() > MAX_ENTRIES {
        problems.push(format!(
            "archive has {} entries; only the first {MAX_ENTRIES} were read",
            archive.len()
        ));
    }
    for i in 0..count {
        let mut file = match archive.by_index(i) {
            Ok(f) => f,
            Err(e) => {
                problems.push(format!("{prefix}entry {i}: {e}"));
                continue;
            }
        };
        let name = match file.name() {
            Ok(n) => n.into_owned(),
            Err(e) => {
                problems.push(format!("{prefix}entry {i}: unreadable name: {e}"));
                continue;
            }
        };
        let is_pom = name.starts_with("META-INF/maven/") && name.ends_with("/pom.properties");
        let is_nested = depth < MAX_DEPTH && is_java_archive(&name);
        if !is_pom && !is_nested {
            continue;
        }
        if file.size() > MAX_INNER_BYTES {
            problems.push(format!(
                "{prefix}{name}: {} bytes, larger than the {MAX_INNER_BYTES} byte limit; skipped",
                file.size()
            ));
            continue;
        }
        let mut data = Vec::with_capacity(file.size() as usize);
        if let Err(e) = (&mut file).take(MAX_INNER_BYTES).read_to_end(&mut data) {
            problems.push(format!("{prefix}{name}: cannot decompress: {e}"));
            continue;
        }
        drop(file);
        if is_pom {
            match parse_pom_properties(&String::from_utf8_lossy(&data)) {
                Some(mut p) => {
                    if !prefix.is_empty() {
                        p.inner_path = Some(prefix.trim_end_matches('!').to_string());
                    }
                    packages.push(p);
                }
                None => problems.push(format!("{prefix}{name}: no groupId/artifactId/version")),
            }
        } else {
            let inner = format!("{prefix}{name}!");
            walk(&data, &inner, depth + 1, packages, problems);
        }
    }
}

/// Reads `groupId`, `artifactId` and `version` from a pom.properties.
pub fn parse_pom_properties(text: &str) -> Option<RawPackage> {
    let (mut g, mut a, mut v) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let Some((key, value)) = line.split_once('=').or_else(|| line.split_once(':')) else {
            continue;
        };
        let value = value.trim().to_string();
        match key.trim() {
            "groupId" => g = Some(value),
            "artifactId" => a = Some(value),
            "version" => v = Some(value),
            _ => {}
        }
    }
    match (g, a, v) {
        (Some(g), Some(a), Some(v)) if !g.is_empty() && !a.is_empty() && !v.is_empty() => {
            Some(RawPackage::new(PackageKind::Maven, format!("{g}:{a}"), v))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties() {
        let p = parse_pom_properties(
            "#Generated\ngroupId=org.apache.logging.log4j\nartifactId=log4j-core\nversion=2.14.1\n",
        )
        .expect("ok");
        assert_eq!(p.name, "org.apache.logging.log4j:log4j-core");
        assert_eq!(p.version, "2.14.1");
        assert!(parse_pom_properties("groupId=x\n").is_none());
    }

    #[test]
    fn not_a_zip() {
        let (pkgs, problems) = parse_archive(b"not a zip");
        assert!(pkgs.is_empty());
        assert_eq!(problems.len(), 1);
    }
}
