//! RubyGems specifications (`.../specifications/<name>-<version>.gemspec`).

use std::sync::OnceLock;

use regex::Regex;

use crate::model::{PackageKind, RawPackage};

fn patterns() -> &'static (Regex, Regex) {
    static RE: OnceLock<(Regex, Regex)> = OnceLock::new();
    RE.get_or_init(|| {
        (
            Regex::new(r#"(?m)^\s*\w+\.name\s*=\s*["']([^"']+)["']"#).expect("static regex"),
            Regex::new(r#"(?m)^\s*\w+\.version\s*=\s*(?:Gem::Version\.new\()?\s*["']([^"']+)["']"#)
                .expect("static regex"),
        )
    })
}

/// Reads name and version from a gemspec; falls back to the file name
/// (`name-1.2.3.gemspec`) when the content does not say.
pub fn parse_gemspec(file_name: &str, text: &str) -> Result<RawPackage, String> {
    let (name_re, version_re) = patterns();
    let name = name_re.captures(text).map(|c| c[1].to_string());
    let version = version_re.captures(text).map(|c| c[1].to_string());
    if let (Some(n), Some(v)) = (name, version) {
        return Ok(RawPackage::new(PackageKind::Gem, n, v));
    }
    let stem = file_name.strip_suffix(".gemspec").unwrap_or(file_name);
    // The version starts after the last '-' followed by a digit.
    let split = stem
        .char_indices()
        .filter(|(i, c)| *c == '-' && stem[i + 1..].starts_with(|d: char| d.is_ascii_digit()))
        .map(|(i, _)| i)
        .next_back();
    match split {
        Some(i) => Ok(RawPackage::new(
            PackageKind::Gem,
            &stem[..i],
            &stem[i + 1..],
        )),
        None => Err("gemspec names no name and version".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemspec() {
        let text = "Gem::Specification.new do |s|\n  s.name = \"rack\".freeze\n  s.version = \"2.2.8\"\nend\n";
        let p = parse_gemspec("rack-2.2.8.gemspec", text).expect("ok");
        assert_eq!((p.name.as_str(), p.version.as_str()), ("rack", "2.2.8"));
        let p = parse_gemspec("net-http-0.4.1.gemspec", "# nothing").expect("ok");
        assert_eq!((p.name.as_str(), p.version.as_str()), ("net-http", "0.4.1"));
        assert!(parse_gemspec("weird.gemspec", "").is_err());
    }
}
