//! Package URLs (purl) for image packages.

use crate::model::{OsInfo, PackageKind, RawPackage};
use crate::os::release::purl_distro;

/// Percent-encodes a purl component: everything but `A-Za-z0-9.-_~` (and, for
/// namespaces made of segments, `/` when `keep_slash`).
fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'.' | b'-' | b'_' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn with_qualifiers(base: String, qualifiers: &[(&str, Option<&str>)]) -> String {
    // Qualifier keys sorted, as the purl spec's canonical form requires.
    let mut present: Vec<(&str, &str)> = qualifiers
        .iter()
        .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (*k, v)))
        .collect();
    present.sort();
    if present.is_empty() {
        return base;
    }
    let q: Vec<String> = present
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v, false)))
        .collect();
    format!("{base}?{}", q.join("&"))
}

/// The purl of a package, given the image's OS (needed for distro packages).
pub fn purl_for(pkg: &RawPackage, os: Option<&OsInfo>) -> String {
    let name = &pkg.name;
    let version = encode(&pkg.version, false);
    match pkg.kind {
        PackageKind::Deb | PackageKind::Apk | PackageKind::Rpm => {
            let ty = match pkg.kind {
                PackageKind::Deb => "deb",
                PackageKind::Apk => "apk",
                _ => "rpm",
            };
            let (mut namespace, distro) = purl_distro(os);
            if namespace.is_empty() {
                namespace = match pkg.kind {
                    PackageKind::Deb => "debian",
                    PackageKind::Apk => "alpine",
                    _ => "redhat",
                }
                .to_string();
            }
            let (epoch, version) = match (pkg.kind, pkg.version.split_once(':')) {
                (PackageKind::Rpm, Some((e, v))) => (Some(e), encode(v, false)),
                _ => (None, version),
            };
            let upstream = pkg.source_name.as_deref().filter(|s| *s != name.as_str());
            with_qualifiers(
                format!(
                    "pkg:{ty}/{}/{}@{version}",
                    encode(&namespace, false),
                    encode(name, false)
                ),
                &[
                    ("arch", pkg.arch.as_deref()),
                    ("distro", distro.as_deref()),
                    ("epoch", epoch),
                    ("upstream", upstream),
                ],
            )
        }
        PackageKind::Python => format!("pkg:pypi/{}@{version}", encode(name, false)),
        PackageKind::Npm => match name.strip_prefix('@').and_then(|n| n.split_once('/')) {
            Some((scope, n)) => format!(
                "pkg:npm/%40{}/{}@{version}",
                encode(scope, false),
                encode(n, false)
            ),
            None => format!("pkg:npm/{}@{version}", encode(name, false)),
        },
        PackageKind::Maven => match name.split_once(':') {
            Some((g, a)) => format!(
                "pkg:maven/{}/{}@{version}",
                encode(g, false),
                encode(a, false)
            ),
            None => format!("pkg:maven/{}@{version}", encode(name, false)),
        },
        PackageKind::Go => format!("pkg:golang/{}@{version}", encode(name, true)),
        PackageKind::Cargo => format!("pkg:cargo/{}@{version}", encode(name, false)),
        PackageKind::Gem => format!("pkg:gem/{}@{version}", encode(name, false)),
        PackageKind::Lockfile => {
            let ty = match pkg.ecosystem.as_deref() {
                Some("PyPI") => "pypi",
                Some("npm") => "npm",
                Some("crates.io") => "cargo",
                Some("Go") => "golang",
                Some("RubyGems") => "gem",
                Some("Maven") => "maven",
                Some("Packagist") => "composer",
                Some("NuGet") => "nuget",
                Some("Pub") => "pub",
                Some("Hex") => "hex",
                _ => "generic",
            };
            format!("pkg:{ty}/{}@{version}", encode(name, ty == "golang"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls() {
        let os = OsInfo {
            id: "debian".into(),
            version_id: Some("12".into()),
            pretty_name: None,
            ecosystem: Some("Debian:12".into()),
            source_file: "etc/os-release".into(),
        };
        let mut p = RawPackage::new(PackageKind::Deb, "libssl3", "3.0.11-1~deb12u2");
        p.arch = Some("amd64".into());
        p.source_name = Some("openssl".into());
        assert_eq!(
            purl_for(&p, Some(&os)),
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl"
        );
        let p = RawPackage::new(PackageKind::Npm, "@babel/core", "7.0.0+x");
        assert_eq!(purl_for(&p, None), "pkg:npm/%40babel/core@7.0.0%2Bx");
        let p = RawPackage::new(PackageKind::Maven, "org.a:b", "1.0");
        assert_eq!(purl_for(&p, None), "pkg:maven/org.a/b@1.0");
        let p = RawPackage::new(PackageKind::Go, "golang.org/x/net", "v0.7.0");
        assert_eq!(purl_for(&p, None), "pkg:golang/golang.org/x/net@v0.7.0");
        let mut p = RawPackage::new(PackageKind::Rpm, "bash", "1:5.1-2.el9");
        p.arch = Some("x86_64".into());
        assert_eq!(
            purl_for(&p, None),
            "pkg:rpm/redhat/bash@5.1-2.el9?arch=x86_64&epoch=1"
        );
    }
}
