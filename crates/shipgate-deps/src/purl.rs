//! Package URLs (<https://github.com/package-url/purl-spec>): building and comparing.
//!
//! Only what the inventory and VEX matching need: building a purl for a package of a known
//! ecosystem, and splitting a purl into its parts for comparison. Not a general purl library.

use crate::model::Ecosystem;

/// Percent-encodes one purl component: everything but ASCII alphanumerics and `.-_~`.
pub fn encode(component: &str) -> String {
    let mut out = String::with_capacity(component.len());
    for b in component.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Decodes `%XX` escapes; invalid escapes are kept literally.
pub fn decode(component: &str) -> String {
    let bytes = component.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex_val(bytes[i + 1]), hex_val(bytes[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// PyPI name normalisation (PEP 503): lowercase, runs of `-_.` become one `-`.
pub fn normalize_pypi_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut prev_sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !prev_sep {
                out.push('-');
            }
            prev_sep = true;
        } else {
            out.extend(c.to_lowercase());
            prev_sep = false;
        }
    }
    out
}

/// Encodes a `/`-separated namespace segment by segment.
fn encode_path(namespace: &str) -> String {
    namespace
        .split('/')
        .filter(|s| !s.is_empty())
        .map(encode)
        .collect::<Vec<_>>()
        .join("/")
}

/// The purl for a package of `ecosystem`.
///
/// Follows the purl-spec type rules: npm scopes become the namespace, PyPI names are
/// normalised, Go module paths split at the last `/`, Maven `group:artifact` becomes
/// `group/artifact`, Composer `vendor/name` keeps its namespace.
pub fn for_package(ecosystem: Ecosystem, name: &str, version: &str) -> String {
    let ty = ecosystem.purl_type();
    let (namespace, short): (Option<String>, String) = match ecosystem {
        Ecosystem::Npm => match name.strip_prefix('@').and_then(|n| n.split_once('/')) {
            Some((scope, rest)) => (Some(encode(&format!("@{scope}"))), encode(rest)),
            None => (None, encode(name)),
        },
        Ecosystem::PyPI => (None, encode(&normalize_pypi_name(name))),
        Ecosystem::Go | Ecosystem::Packagist => match name.rsplit_once('/') {
            Some((ns, rest)) => (Some(encode_path(ns)), encode(rest)),
            None => (None, encode(name)),
        },
        Ecosystem::Maven => match name.split_once(':') {
            Some((group, artifact)) => (Some(encode(group)), encode(artifact)),
            None => (None, encode(name)),
        },
        Ecosystem::CratesIo | Ecosystem::RubyGems | Ecosystem::NuGet | Ecosystem::Pub => {
            (None, encode(name))
        }
    };
    let mut out = format!("pkg:{ty}/");
    if let Some(ns) = namespace {
        out.push_str(&ns);
        out.push('/');
    }
    out.push_str(&short);
    if !version.is_empty() {
        out.push('@');
        out.push_str(&encode(version));
    }
    out
}

/// A purl split into comparable parts (components decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purl {
    /// The type, lowercased (`npm`, `deb`, ...).
    pub ty: String,
    /// The namespace, decoded, or empty.
    pub namespace: String,
    /// The name, decoded.
    pub name: String,
    /// The version, decoded, if any.
    pub version: Option<String>,
    /// Qualifiers (`key=value`), decoded, sorted by key.
    pub qualifiers: Vec<(String, String)>,
    /// The subpath, if any.
    pub subpath: Option<String>,
}

impl Purl {
    /// Parses a purl. Returns `None` when the text is not `pkg:type/name...`.
    pub fn parse(text: &str) -> Option<Purl> {
        let rest = text.trim().strip_prefix("pkg:")?;
        let rest = rest.trim_start_matches('/');
        let (rest, subpath) = match rest.split_once('#') {
            Some((r, s)) => (r, Some(decode(s.trim_matches('/')))),
            None => (rest, None),
        };
        let (rest, qualifiers) = match rest.split_once('?') {
            Some((r, q)) => {
                let mut qs: Vec<(String, String)> = q
                    .split('&')
                    .filter(|kv| !kv.is_empty())
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.to_ascii_lowercase(), decode(v)))
                    .filter(|(_, v)| !v.is_empty())
                    .collect();
                qs.sort();
                (r, qs)
            }
            None => (rest, Vec::new()),
        };
        let (ty, path) = rest.split_once('/')?;
        if ty.is_empty() {
            return None;
        }
        let path = path.trim_end_matches('/');
        // The version starts at the last '@' that is not the first character of a segment
        // (npm scopes are percent-encoded, but be lenient about a literal '@scope').
        let (path, version) = match path.rfind('@') {
            Some(at) if at > 0 && !path[..at].ends_with('/') => {
                (&path[..at], Some(decode(&path[at + 1..])))
            }
            _ => (path, None),
        };
        let (namespace, name) = match path.rsplit_once('/') {
            Some((ns, n)) => (
                ns.split('/').map(decode).collect::<Vec<_>>().join("/"),
                decode(n),
            ),
            None => (String::new(), decode(path)),
        };
        if name.is_empty() {
            return None;
        }
        let ty = ty.to_ascii_lowercase();
        let (namespace, name) = match ty.as_str() {
            // Types whose names are case-insensitive per the purl spec.
            "pypi" => (namespace, normalize_pypi_name(&name)),
            "npm" | "github" | "bitbucket" | "golang" | "composer" | "deb" | "apk" => {
                (namespace.to_lowercase(), name.to_lowercase())
            }
            _ => (namespace, name),
        };
        Some(Purl {
            ty,
            namespace,
            name,
            version: version.filter(|v| !v.is_empty()),
            qualifiers,
            subpath,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_purls_per_ecosystem() {
        assert_eq!(
            for_package(Ecosystem::Npm, "@babel/core", "7.0.0"),
            "pkg:npm/%40babel/core@7.0.0"
        );
        assert_eq!(
            for_package(Ecosystem::PyPI, "Django_Rest.framework", "3.0"),
            "pkg:pypi/django-rest-framework@3.0"
        );
        assert_eq!(
            for_package(Ecosystem::Go, "github.com/x/y", "v1.2.3+incompatible"),
            "pkg:golang/github.com/x/y@v1.2.3%2Bincompatible"
        );
        assert_eq!(
            for_package(Ecosystem::Maven, "org.apache:commons-lang3", "3.12.0"),
            "pkg:maven/org.apache/commons-lang3@3.12.0"
        );
        assert_eq!(
            for_package(Ecosystem::Packagist, "symfony/console", "v5.0.0"),
            "pkg:composer/symfony/console@v5.0.0"
        );
        assert_eq!(
            for_package(Ecosystem::CratesIo, "serde", "1.0.0"),
            "pkg:cargo/serde@1.0.0"
        );
    }

    #[test]
    fn parses_and_decodes() {
        let p = Purl::parse("pkg:deb/debian/bash@5.2-2?distro=debian-12&arch=amd64").unwrap();
        assert_eq!(p.ty, "deb");
        assert_eq!(p.namespace, "debian");
        assert_eq!(p.name, "bash");
        assert_eq!(p.version.as_deref(), Some("5.2-2"));
        assert_eq!(
            p.qualifiers,
            vec![
                ("arch".to_owned(), "amd64".to_owned()),
                ("distro".to_owned(), "debian-12".to_owned())
            ]
        );
        let n = Purl::parse("pkg:npm/%40babel/core@7.0.0").unwrap();
        assert_eq!(n.namespace, "@babel");
        assert_eq!(n.name, "core");
        let unversioned = Purl::parse("pkg:npm/lodash").unwrap();
        assert_eq!(unversioned.version, None);
        assert!(Purl::parse("npm/lodash").is_none());
        assert!(Purl::parse("pkg:").is_none());
        // Round trip through our own builder.
        let g = Purl::parse(&for_package(Ecosystem::Go, "github.com/x/y", "v1.0.0+inc")).unwrap();
        assert_eq!(g.namespace, "github.com/x");
        assert_eq!(g.version.as_deref(), Some("v1.0.0+inc"));
    }
}
