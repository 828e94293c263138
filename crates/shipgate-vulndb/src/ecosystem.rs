//! OSV ecosystem strings: which version [`Scheme`] orders them and how
//! package names are normalized for lookup.
//!
//! Ecosystems are OSV's spelling (`crates.io`, `PyPI`, `Debian:12`,
//! `Alpine:v3.19`, `Red Hat:enterprise_linux:9::appstream`, ...). The part
//! before the first `:` selects the scheme.
//!
//! Name normalization (both at import and at query time):
//!
//! | ecosystem | rule |
//! |---|---|
//! | PyPI | PEP 503: lower-case, runs of `-`, `_`, `.` become one `-` |
//! | crates.io | lower-case, `_` as `-` (crates.io refuses names that differ only so) |
//! | NuGet, Packagist, Pub, Debian, Ubuntu, Alpine (+ Wolfi, Chainguard) | lower-case (case-insensitive registries / lower-case-only names) |
//! | npm, Go, Maven, RubyGems, Hackage, CRAN, RPM distributions, others | unchanged (case-sensitive) |

use crate::version::Scheme;

/// The ecosystem name before any `:` qualifier (`Debian:12` -> `Debian`).
pub fn base(ecosystem: &str) -> &str {
    ecosystem.split(':').next().unwrap_or(ecosystem)
}

/// The version scheme for an OSV ecosystem, or `None` when unknown.
pub fn scheme_for(ecosystem: &str) -> Option<Scheme> {
    Some(match base(ecosystem) {
        "crates.io" | "npm" | "Go" | "Hex" | "SwiftURL" | "ConanCenter" | "Bitnami" | "GHC"
        | "Julia" | "VSCode" | "opam" => Scheme::SemVer,
        "PyPI" => Scheme::Pep440,
        "Maven" => Scheme::Maven,
        "RubyGems" => Scheme::RubyGems,
        "NuGet" => Scheme::NuGet,
        "Packagist" => Scheme::Packagist,
        "Pub" => Scheme::Pub,
        "Hackage" => Scheme::Hackage,
        "CRAN" | "Bioconductor" => Scheme::Cran,
        "Debian" | "Ubuntu" | "Echo" => Scheme::Debian,
        "Alpine" | "Wolfi" | "Chainguard" | "MinimOS" => Scheme::Alpine,
        "Red Hat" | "AlmaLinux" | "Rocky Linux" | "openSUSE" | "SUSE" | "Mageia" | "openEuler"
        | "Azure Linux" | "Photon OS" | "Oracle Linux" => Scheme::Rpm,
        _ => return None,
    })
}

/// Normalizes a package name for lookup in `ecosystem`.
pub fn normalize_name(ecosystem: &str, name: &str) -> String {
    match base(ecosystem) {
        "PyPI" => {
            let mut out = String::with_capacity(name.len());
            let mut in_sep = false;
            for c in name.trim().chars() {
                if matches!(c, '-' | '_' | '.') {
                    if !in_sep {
                        out.push('-');
                    }
                    in_sep = true;
                } else {
                    out.extend(c.to_lowercase());
                    in_sep = false;
                }
            }
            out
        }
        "crates.io" => name.trim().to_lowercase().replace('_', "-"),
        "NuGet" | "Packagist" | "Pub" | "Debian" | "Ubuntu" | "Alpine" | "Wolfi" | "Chainguard" => {
            name.trim().to_lowercase()
        }
        _ => name.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalize_per_ecosystem() {
        assert_eq!(
            normalize_name("PyPI", "Django_REST.framework"),
            "django-rest-framework"
        );
        assert_eq!(normalize_name("PyPI", "a__b"), "a-b");
        assert_eq!(normalize_name("crates.io", "Serde_JSON"), "serde-json");
        assert_eq!(
            normalize_name("NuGet", "Newtonsoft.Json"),
            "newtonsoft.json"
        );
        assert_eq!(
            normalize_name("Go", "github.com/BurntSushi/toml"),
            "github.com/BurntSushi/toml"
        );
        assert_eq!(scheme_for("Debian:12"), Some(Scheme::Debian));
        assert_eq!(scheme_for("Rocky Linux:9"), Some(Scheme::Rpm));
        assert_eq!(scheme_for("Nope"), None);
    }
}
