//! Which files of a layer matter, and what each yields.

use crate::lang::{binary, gem, java, node, python};
use crate::model::{FileResult, OsFileKind, PackageKind, RawPackage};
use crate::os::{apk, dpkg, rpm};

/// Why a path is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interest {
    Os(OsFileKind),
    Dpkg,
    Apk,
    Rpm,
    Python,
    Npm,
    Java,
    Gem,
    Executable,
    Lockfile(shipgate_deps::LockfileKind),
}

/// Classifies a root-relative path. `executable` is the mode's x bits.
pub(crate) fn classify(path: &str, executable: bool) -> Option<Interest> {
    let name = path.rsplit('/').next().unwrap_or(path);
    match path {
        "etc/os-release" | "usr/lib/os-release" => {
            return Some(Interest::Os(OsFileKind::OsRelease));
        }
        "etc/debian_version" => return Some(Interest::Os(OsFileKind::DebianVersion)),
        "etc/alpine-release" => return Some(Interest::Os(OsFileKind::AlpineRelease)),
        "etc/redhat-release"
        | "etc/centos-release"
        | "etc/rocky-release"
        | "etc/almalinux-release" => {
            return Some(Interest::Os(OsFileKind::RedhatRelease));
        }
        "var/lib/dpkg/status" => return Some(Interest::Dpkg),
        "lib/apk/db/installed" => return Some(Interest::Apk),
        "var/lib/rpm/Packages"
        | "var/lib/rpm/Packages.db"
        | "var/lib/rpm/rpmdb.sqlite"
        | "usr/lib/sysimage/rpm/Packages"
        | "usr/lib/sysimage/rpm/Packages.db"
        | "usr/lib/sysimage/rpm/rpmdb.sqlite" => return Some(Interest::Rpm),
        _ => {}
    }
    if let Some(entry) = path.strip_prefix("var/lib/dpkg/status.d/") {
        if !entry.contains('/') && !entry.ends_with(".md5sums") && !entry.is_empty() {
            return Some(Interest::Dpkg);
        }
        return None;
    }
    if path.ends_with(".dist-info/METADATA") || path.ends_with(".egg-info/PKG-INFO") {
        return Some(Interest::Python);
    }
    if name == "package.json" && node::is_installed_manifest(path) {
        return Some(Interest::Npm);
    }
    if java::is_java_archive(name) {
        return Some(Interest::Java);
    }
    if name.ends_with(".gemspec") && path.contains("/specifications/") {
        return Some(Interest::Gem);
    }
    // Lockfiles and manifests of applications; not the ones packages ship
    // inside node_modules (those describe the package's own development).
    if !path.contains("node_modules/")
        && let Some(kind) = shipgate_deps::LockfileKind::detect(name)
    {
        return Some(Interest::Lockfile(kind));
    }
    if executable {
        return Some(Interest::Executable);
    }
    None
}

/// Analyses the content of a file of interest.
pub(crate) fn analyze(path: &str, interest: Interest, data: &[u8]) -> FileResult {
    let name = path.rsplit('/').next().unwrap_or(path);
    let text = || String::from_utf8_lossy(data);
    let single = |r: Result<RawPackage, String>| match r {
        Ok(p) => FileResult::Packages {
            packages: vec![p],
            problems: vec![],
        },
        Err(e) => FileResult::Packages {
            packages: vec![],
            problems: vec![e],
        },
    };
    match interest {
        Interest::Os(kind) => FileResult::OsFile {
            kind,
            content: text().chars().take(64 * 1024).collect(),
        },
        Interest::Dpkg => {
            let (packages, problems) = dpkg::parse_status(&text());
            FileResult::Packages { packages, problems }
        }
        Interest::Apk => {
            let (packages, problems) = apk::parse_installed(&text());
            FileResult::Packages { packages, problems }
        }
        Interest::Rpm => {
            let (packages, problems) = rpm::read_database(data);
            FileResult::Packages { packages, problems }
        }
        Interest::Python => single(python::parse_metadata(&text())),
        Interest::Npm => single(node::parse_package_json(data)),
        Interest::Gem => single(gem::parse_gemspec(name, &text())),
        Interest::Java => {
            let (packages, problems) = java::parse_archive(data);
            FileResult::Packages { packages, problems }
        }
        Interest::Lockfile(kind) => {
            let lockfile = shipgate_deps::parse_lockfile(kind, path, data);
            let ecosystem = kind.ecosystem().osv_name().to_string();
            let packages = lockfile
                .packages
                .into_iter()
                .map(|p| {
                    let mut raw = RawPackage::new(PackageKind::Lockfile, p.name, p.version);
                    raw.ecosystem = Some(ecosystem.clone());
                    raw.purl = Some(p.purl);
                    raw
                })
                .collect();
            let problems = lockfile.errors.iter().map(|e| e.to_string()).collect();
            FileResult::Packages { packages, problems }
        }
        Interest::Executable => match binary::parse_binary(data) {
            Ok(found) => FileResult::Packages {
                packages: found.unwrap_or_default(),
                problems: vec![],
            },
            Err(e) => FileResult::Packages {
                packages: vec![],
                problems: vec![e],
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(
            classify("etc/os-release", false),
            Some(Interest::Os(OsFileKind::OsRelease))
        );
        assert_eq!(
            classify("var/lib/dpkg/status.d/tzdata", false),
            Some(Interest::Dpkg)
        );
        assert_eq!(
            classify("var/lib/dpkg/status.d/tzdata.md5sums", false),
            None
        );
        assert_eq!(
            classify(
                "usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA",
                false
            ),
            Some(Interest::Python)
        );
        assert_eq!(
            classify("app/node_modules/a/package.json", false),
            Some(Interest::Npm)
        );
        assert_eq!(classify("opt/app/lib/x.JAR", false), Some(Interest::Java));
        assert_eq!(
            classify(
                "usr/lib/ruby/gems/3.1.0/specifications/rake-13.0.6.gemspec",
                false
            ),
            Some(Interest::Gem)
        );
        assert_eq!(classify("usr/bin/ls", true), Some(Interest::Executable));
        assert_eq!(classify("usr/share/doc/README", false), None);
    }
}
