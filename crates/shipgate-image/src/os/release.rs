//! OS identification from `os-release` and the distribution release files,
//! and the OSV ecosystem name for each distribution.

use crate::model::{OsFileKind, OsInfo};

/// Parses `os-release` (`KEY=value`, values optionally quoted) into pairs.
pub fn parse_os_release(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        let value = if value.len() >= 2
            && ((value.starts_with('"') && value.ends_with('"'))
                || (value.starts_with('\'') && value.ends_with('\'')))
        {
            value[1..value.len() - 1]
                .replace("\\\"", "\"")
                .replace("\\\\", "\\")
        } else {
            value.to_string()
        };
        out.push((key.trim().to_string(), value));
    }
    out
}

fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// Builds [`OsInfo`] from the OS files present, in order of preference:
/// `etc/os-release`, `usr/lib/os-release`, then the distribution release files.
pub fn identify(files: &[(String, OsFileKind, String)]) -> Option<OsInfo> {
    let find = |path: &str| files.iter().find(|(p, _, _)| p == path);
    for path in ["etc/os-release", "usr/lib/os-release"] {
        if let Some((p, _, text)) = find(path) {
            let pairs = parse_os_release(text);
            if let Some(id) = get(&pairs, "ID") {
                let id = id.to_ascii_lowercase();
                let mut version_id = get(&pairs, "VERSION_ID").map(str::to_string);
                // Debian testing/sid have no VERSION_ID; debian_version may say more.
                if version_id.is_none() && id == "debian" {
                    version_id = files
                        .iter()
                        .find(|(_, k, _)| *k == OsFileKind::DebianVersion)
                        .and_then(|(_, _, t)| debian_major(t.trim()));
                }
                let lts = get(&pairs, "VERSION").is_some_and(|v| v.contains("LTS"));
                let ecosystem = osv_ecosystem(&id, version_id.as_deref(), lts);
                return Some(OsInfo {
                    id,
                    version_id,
                    pretty_name: get(&pairs, "PRETTY_NAME").map(str::to_string),
                    ecosystem,
                    source_file: p.clone(),
                });
            }
        }
    }
    for (path, kind, text) in files {
        let text = text.trim();
        let (id, version) = match kind {
            OsFileKind::OsRelease => continue,
            OsFileKind::DebianVersion => ("debian".to_string(), debian_major(text)),
            OsFileKind::AlpineRelease => (
                "alpine".to_string(),
                text.split_whitespace().next().map(str::to_string),
            ),
            OsFileKind::RedhatRelease => parse_redhat_release(text),
        };
        let ecosystem = osv_ecosystem(&id, version.as_deref(), false);
        return Some(OsInfo {
            id,
            version_id: version,
            pretty_name: Some(text.lines().next().unwrap_or_default().to_string()),
            ecosystem,
            source_file: path.clone(),
        });
    }
    None
}

/// `12.5` -> `12`; `bookworm/sid` -> none.
fn debian_major(text: &str) -> Option<String> {
    let major: String = text.chars().take_while(|c| c.is_ascii_digit()).collect();
    (!major.is_empty()).then_some(major)
}

/// `Rocky Linux release 9.3 (Blue Onyx)` -> (`rocky`, `9.3`).
fn parse_redhat_release(text: &str) -> (String, Option<String>) {
    let lower = text.to_ascii_lowercase();
    let id = if lower.starts_with("rocky") {
        "rocky"
    } else if lower.starts_with("almalinux") {
        "almalinux"
    } else if lower.starts_with("centos") {
        "centos"
    } else if lower.starts_with("fedora") {
        "fedora"
    } else if lower.starts_with("oracle") {
        "ol"
    } else {
        "rhel"
    };
    let version = lower
        .split_whitespace()
        .skip_while(|w| *w != "release")
        .nth(1)
        .map(str::to_string);
    (id.to_string(), version)
}

/// The OSV ecosystem name for a distribution release, as OSV spells it
/// (`Debian:12`, `Ubuntu:22.04:LTS`, `Alpine:v3.19`, `AlmaLinux:9`, `Rocky Linux:9`).
pub fn osv_ecosystem(id: &str, version_id: Option<&str>, lts: bool) -> Option<String> {
    let major = || {
        version_id
            .and_then(|v| v.split('.').next())
            .filter(|m| !m.is_empty())
    };
    match id {
        "debian" => major().map(|m| format!("Debian:{m}")),
        "ubuntu" => version_id.map(|v| {
            if lts {
                format!("Ubuntu:{v}:LTS")
            } else {
                format!("Ubuntu:{v}")
            }
        }),
        "alpine" => version_id.and_then(|v| {
            let mut parts = v.split('.');
            let (a, b) = (parts.next()?, parts.next()?);
            Some(format!("Alpine:v{a}.{b}"))
        }),
        "almalinux" => major().map(|m| format!("AlmaLinux:{m}")),
        "rocky" => major().map(|m| format!("Rocky Linux:{m}")),
        "wolfi" => Some("Wolfi".to_string()),
        "chainguard" => Some("Chainguard".to_string()),
        "opensuse-leap" => version_id.map(|v| format!("openSUSE:Leap {v}")),
        "sles" => version_id.map(|v| format!("SUSE:Linux Enterprise Server {v}")),
        "mageia" => version_id.map(|v| format!("Mageia:{v}")),
        _ => None,
    }
}

/// The purl namespace and `distro` qualifier for a distribution.
pub(crate) fn purl_distro(os: Option<&OsInfo>) -> (String, Option<String>) {
    match os {
        Some(os) => {
            let namespace = match os.id.as_str() {
                "rhel" => "redhat".to_string(),
                other => other.to_string(),
            };
            let distro = os
                .version_id
                .as_ref()
                .map(|v| format!("{}-{v}", os.id))
                .or_else(|| Some(os.id.clone()));
            (namespace, distro)
        }
        None => (String::new(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_os_release() {
        let text = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n";
        let os = identify(&[("etc/os-release".into(), OsFileKind::OsRelease, text.into())])
            .expect("identified");
        assert_eq!(os.id, "debian");
        assert_eq!(os.ecosystem.as_deref(), Some("Debian:12"));
        assert_eq!(
            os.pretty_name.as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
    }

    #[test]
    fn ubuntu_lts_and_alpine() {
        let u = "ID=ubuntu\nVERSION_ID=\"22.04\"\nVERSION=\"22.04.4 LTS (Jammy Jellyfish)\"\n";
        let os = identify(&[("usr/lib/os-release".into(), OsFileKind::OsRelease, u.into())])
            .expect("identified");
        assert_eq!(os.ecosystem.as_deref(), Some("Ubuntu:22.04:LTS"));
        let a = "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\n";
        let os = identify(&[("etc/os-release".into(), OsFileKind::OsRelease, a.into())])
            .expect("identified");
        assert_eq!(os.ecosystem.as_deref(), Some("Alpine:v3.19"));
    }

    #[test]
    fn release_files_without_os_release() {
        let os = identify(&[(
            "etc/debian_version".into(),
            OsFileKind::DebianVersion,
            "11.9\n".into(),
        )])
        .expect("identified");
        assert_eq!(os.ecosystem.as_deref(), Some("Debian:11"));
        let os = identify(&[(
            "etc/redhat-release".into(),
            OsFileKind::RedhatRelease,
            "Rocky Linux release 9.3 (Blue Onyx)\n".into(),
        )])
        .expect("identified");
        assert_eq!(os.id, "rocky");
        assert_eq!(os.ecosystem.as_deref(), Some("Rocky Linux:9"));
        let os = identify(&[(
            "etc/alpine-release".into(),
            OsFileKind::AlpineRelease,
            "3.18.4\n".into(),
        )])
        .expect("identified");
        assert_eq!(os.ecosystem.as_deref(), Some("Alpine:v3.18"));
        assert!(identify(&[]).is_none());
    }

    #[test]
    fn almalinux_and_unknown() {
        assert_eq!(
            osv_ecosystem("almalinux", Some("9.3"), false).as_deref(),
            Some("AlmaLinux:9")
        );
        assert_eq!(osv_ecosystem("gentoo", Some("2.14"), false), None);
        assert_eq!(osv_ecosystem("debian", None, false), None);
    }
}
