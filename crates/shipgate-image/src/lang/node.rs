//! npm packages installed under `node_modules/`.

use crate::model::{PackageKind, RawPackage};

/// True for `.../node_modules/<name>/package.json` and
/// `.../node_modules/@scope/<name>/package.json` (a package's own manifest,
/// not one of its test fixtures deeper down).
pub fn is_installed_manifest(path: &str) -> bool {
    let Some(dir) = path.strip_suffix("/package.json") else {
        return false;
    };
    let parts: Vec<&str> = dir.rsplit('/').take(3).collect();
    match parts.as_slice() {
        [_name, "node_modules", ..] => true,
        [_name, scope, "node_modules", ..] => scope.starts_with('@'),
        _ => false,
    }
}

/// Reads `name` and `version` from a package.json.
pub fn parse_package_json(bytes: &[u8]) -> Result<RawPackage, String> {
    #[derive(serde::Deserialize)]
    struct Manifest {
        name: Option<String>,
        version: Option<String>,
    }
    let m: Manifest = serde_json::from_slice(bytes).map_err(|e| {
        format!(
            "invalid package.json at line {} column {}: {e}",
            e.line(),
            e.column()
        )
    })?;
    match (m.name, m.version) {
        (Some(n), Some(v)) if !n.is_empty() && !v.is_empty() => {
            Ok(RawPackage::new(PackageKind::Npm, n, v))
        }
        _ => Err("package.json has no name or version".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_paths() {
        assert!(is_installed_manifest(
            "app/node_modules/lodash/package.json"
        ));
        assert!(is_installed_manifest(
            "node_modules/@babel/core/package.json"
        ));
        assert!(is_installed_manifest(
            "a/node_modules/x/node_modules/y/package.json"
        ));
        assert!(!is_installed_manifest(
            "app/node_modules/lodash/test/package.json"
        ));
        assert!(!is_installed_manifest("app/package.json"));
        assert!(!is_installed_manifest(
            "node_modules/scope/core/package.json"
        ));
    }

    #[test]
    fn parse() {
        let p = parse_package_json(br#"{"name":"@babel/core","version":"7.23.0"}"#).expect("ok");
        assert_eq!(p.name, "@babel/core");
        assert!(parse_package_json(b"{").is_err());
        assert!(parse_package_json(br#"{"name":"x"}"#).is_err());
    }
}
