//! Python distributions: `*.dist-info/METADATA` and `*.egg-info/PKG-INFO`
//! (RFC 822 style headers; only `Name` and `Version` are needed).

use crate::model::{PackageKind, RawPackage};

/// PEP 503 normalisation: lowercase, runs of `-_.` become one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// Reads the header block of a METADATA / PKG-INFO file.
pub fn parse_metadata(text: &str) -> Result<RawPackage, String> {
    let (mut name, mut version) = (None, None);
    for line in text.lines() {
        if line.trim().is_empty() {
            break; // the body (long description) follows the first blank line
        }
        if let Some(v) = line.strip_prefix("Name:") {
            name.get_or_insert_with(|| v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("Version:") {
            version.get_or_insert_with(|| v.trim().to_string());
        }
    }
    match (name, version) {
        (Some(n), Some(v)) if !n.is_empty() && !v.is_empty() => {
            Ok(RawPackage::new(PackageKind::Python, normalize_name(&n), v))
        }
        _ => Err("no Name and Version headers in the metadata".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata() {
        let p = parse_metadata("Metadata-Version: 2.1\nName: Django_REST.framework\nVersion: 3.14.0\n\nName: not-this\n")
            .expect("parsed");
        assert_eq!(p.name, "django-rest-framework");
        assert_eq!(p.version, "3.14.0");
        assert!(parse_metadata("Metadata-Version: 2.1\n").is_err());
    }
}
