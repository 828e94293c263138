//! OCI / Docker image JSON (index, manifest, config) and platform selection,
//! shared by the layout, archive and registry sources.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// OCI image index media type.
pub const MT_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image manifest media type.
pub const MT_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Docker manifest list media type.
pub const MT_DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker image manifest media type.
pub const MT_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// Largest index, manifest or config accepted.
pub(crate) const MAX_JSON_BYTES: u64 = 16 * 1024 * 1024;

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type.
    #[serde(default)]
    pub media_type: String,
    /// `sha256:<hex>`.
    pub digest: String,
    /// Size in bytes.
    #[serde(default)]
    pub size: i64,
    /// Platform (index entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<PlatformJson>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The platform object of an index entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlatformJson {
    /// e.g. `amd64`.
    pub architecture: String,
    /// e.g. `linux`.
    pub os: String,
    /// e.g. `v8`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// An image index (or Docker manifest list), also `index.json` of a layout.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    /// Schema version (2).
    #[serde(default)]
    pub schema_version: u32,
    /// Media type, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Entries.
    pub manifests: Vec<Descriptor>,
}

/// An image manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Schema version (2).
    #[serde(default)]
    pub schema_version: u32,
    /// Media type, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// Layer blobs, base first.
    pub layers: Vec<Descriptor>,
}

/// The parts of the image config that matter here.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ImageConfig {
    /// CPU architecture.
    #[serde(default)]
    pub architecture: String,
    /// OS.
    #[serde(default)]
    pub os: String,
    /// Architecture variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Build history.
    #[serde(default)]
    pub history: Vec<History>,
    /// Uncompressed layer digests.
    #[serde(default)]
    pub rootfs: RootFs,
}

/// One history entry of an image config.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct History {
    /// The command that created the layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// True when the step created no layer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub empty_layer: bool,
}

/// `rootfs` of an image config.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RootFs {
    /// `layers`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// Uncompressed layer digests, base first.
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

impl ImageConfig {
    /// `created_by` of each non-empty history entry, aligned with the layers
    /// when the counts agree.
    pub fn layer_history(&self, layer_count: usize) -> Vec<Option<String>> {
        let entries: Vec<Option<String>> = self
            .history
            .iter()
            .filter(|h| !h.empty_layer)
            .map(|h| h.created_by.clone())
            .collect();
        if entries.len() == layer_count {
            entries
        } else {
            vec![None; layer_count]
        }
    }
}

/// A requested platform, `os/arch[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// e.g. `linux`.
    pub os: String,
    /// e.g. `amd64`.
    pub architecture: String,
    /// e.g. `v8`.
    pub variant: Option<String>,
}

impl Default for Platform {
    fn default() -> Self {
        Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }
}

impl FromStr for Platform {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            [os, arch] if !os.is_empty() && !arch.is_empty() => Ok(Platform {
                os: (*os).into(),
                architecture: (*arch).into(),
                variant: None,
            }),
            [os, arch, variant] if !os.is_empty() && !arch.is_empty() && !variant.is_empty() => {
                Ok(Platform {
                    os: (*os).into(),
                    architecture: (*arch).into(),
                    variant: Some((*variant).into()),
                })
            }
            _ => Err(format!(
                "'{s}' is not a platform; expected os/arch[/variant], e.g. linux/amd64"
            )),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

fn platform_string(p: &PlatformJson) -> String {
    match &p.variant {
        Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
        None => format!("{}/{}", p.os, p.architecture),
    }
}

impl Platform {
    fn matches(&self, p: &PlatformJson) -> bool {
        p.os == self.os
            && p.architecture == self.architecture
            && match (&self.variant, &p.variant) {
                (Some(want), Some(have)) => want == have,
                (Some(_), None) => false,
                (None, _) => true,
            }
    }
}

/// Whether a descriptor (or parsed document) is an index.
fn is_index_type(media_type: &str) -> bool {
    media_type == MT_OCI_INDEX || media_type == MT_DOCKER_LIST
}

/// A parsed manifest document: index or image manifest.
pub(crate) enum Document {
    Index(Index),
    Manifest(Manifest),
}

/// Parses manifest bytes, telling an index from an image manifest by media
/// type or, when absent, by shape.
pub(crate) fn parse_document(bytes: &[u8], location: &str) -> Result<Document> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|source| Error::BadJson {
            what: "manifest".into(),
            location: location.into(),
            source,
        })?;
    let media_type = value
        .get("mediaType")
        .and_then(|m| m.as_str())
        .unwrap_or_default()
        .to_string();
    let bad = |source| Error::BadJson {
        what: "manifest".into(),
        location: location.into(),
        source,
    };
    if is_index_type(&media_type) || (media_type.is_empty() && value.get("manifests").is_some()) {
        Ok(Document::Index(serde_json::from_value(value).map_err(bad)?))
    } else if value.get("layers").is_some() {
        Ok(Document::Manifest(
            serde_json::from_value(value).map_err(bad)?,
        ))
    } else if value.get("schemaVersion").and_then(|v| v.as_u64()) == Some(1) {
        Err(Error::format(
            location,
            "Docker schema 1 manifests are not supported; re-push the image with a current client",
        ))
    } else {
        Err(Error::format(
            location,
            format!("unsupported manifest media type '{media_type}'"),
        ))
    }
}

/// The manifest chosen for a platform.
pub(crate) struct Chosen {
    pub digest: String,
    pub manifest: Manifest,
    pub platform: Option<String>,
    pub notes: Vec<String>,
}

/// Walks from an index to the image manifest for `platform`. `fetch`
/// returns the (digest-verified) bytes of a descriptor's document.
pub(crate) fn choose_manifest(
    index: &Index,
    location: &str,
    platform: &Platform,
    fetch: &mut dyn FnMut(&Descriptor) -> Result<Vec<u8>>,
    depth: usize,
) -> Result<Chosen> {
    if depth > 4 {
        return Err(Error::format(location, "image indexes nested too deeply"));
    }
    // Attestation manifests (buildx) are not images.
    let candidates: Vec<&Descriptor> = index
        .manifests
        .iter()
        .filter(|d| {
            d.annotations
                .get("vnd.docker.reference.type")
                .map(String::as_str)
                != Some("attestation-manifest")
                && d.platform.as_ref().is_none_or(|p| p.os != "unknown")
        })
        .collect();
    if candidates.is_empty() {
        return Err(Error::format(
            location,
            "the index lists no image manifests",
        ));
    }
    let mut notes = Vec::new();
    let with_platform = candidates.iter().filter(|d| d.platform.is_some()).count();
    let pick: &Descriptor = if with_platform == 0 {
        if candidates.len() > 1 {
            let name = candidates[0]
                .annotations
                .get("org.opencontainers.image.ref.name")
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            notes.push(format!(
                "{location} lists {} images; scanned the first{name}",
                candidates.len()
            ));
        }
        candidates[0]
    } else {
        match candidates
            .iter()
            .find(|d| d.platform.as_ref().is_some_and(|p| platform.matches(p)))
        {
            Some(d) => d,
            None => {
                let available: Vec<String> = candidates
                    .iter()
                    .filter_map(|d| d.platform.as_ref().map(platform_string))
                    .collect();
                return Err(Error::NoMatchingPlatform {
                    location: location.into(),
                    wanted: platform.to_string(),
                    available: available.join(", "),
                });
            }
        }
    };
    let chosen_platform = pick.platform.as_ref().map(platform_string);
    if let Some(p) = &chosen_platform
        && candidates.len() > 1
    {
        notes.push(format!(
            "multi-platform image: scanned {p} ({})",
            pick.digest
        ));
    }
    let bytes = fetch(pick)?;
    match parse_document(&bytes, &pick.digest)? {
        Document::Manifest(manifest) => Ok(Chosen {
            digest: pick.digest.clone(),
            manifest,
            platform: chosen_platform,
            notes,
        }),
        Document::Index(inner) => {
            let mut chosen = choose_manifest(&inner, &pick.digest, platform, fetch, depth + 1)?;
            notes.append(&mut chosen.notes);
            chosen.notes = notes;
            Ok(chosen)
        }
    }
}

/// Checks that a digest is `sha256:<64 hex>` (digests come from untrusted JSON
/// and are used to build file names).
pub(crate) fn check_digest(digest: &str, location: &str) -> Result<()> {
    if crate::cache::valid_sha256(digest) {
        Ok(())
    } else {
        Err(Error::format(
            location,
            format!(
                "unsupported or malformed digest '{}'; only sha256 digests are accepted",
                crate::os::dpkg::truncate(digest)
            ),
        ))
    }
}

/// sha256 of bytes, `sha256:<hex>`.
pub(crate) fn sha256_digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_parse_and_match() {
        let p: Platform = "linux/arm64/v8".parse().expect("ok");
        assert_eq!(p.to_string(), "linux/arm64/v8");
        assert!("linux".parse::<Platform>().is_err());
        let want: Platform = "linux/arm64".parse().expect("ok");
        assert!(want.matches(&PlatformJson {
            architecture: "arm64".into(),
            os: "linux".into(),
            variant: Some("v8".into())
        }));
        assert!(!p.matches(&PlatformJson {
            architecture: "arm64".into(),
            os: "linux".into(),
            variant: None
        }));
    }

    #[test]
    fn digest_check() {
        assert!(check_digest(&format!("sha256:{}", "a".repeat(64)), "x").is_ok());
        assert!(check_digest("sha256:../../x", "x").is_err());
        assert!(check_digest(&format!("sha512:{}", "a".repeat(128)), "x").is_err());
    }
}
