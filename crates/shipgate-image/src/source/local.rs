//! Local image sources: OCI layout directories, OCI archives (a tar of a
//! layout) and docker-archives (`docker save`). Archives are indexed once
//! (headers only, seeking over the data) and blobs are then read in place,
//! never extracted.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::layer::Expected;
use crate::model::LayerRef;
use crate::source::oci::{self, Descriptor, ImageConfig, Index, Platform};

/// Where blobs are read from.
pub(crate) trait BlobStore: Sync {
    /// Opens a blob by its name inside the store (`blobs/sha256/<hex>` or an archive member).
    fn open(&self, name: &str) -> Result<Box<dyn Read + Send + '_>>;
    /// Human-readable location of a blob, for messages.
    fn location(&self, name: &str) -> String;
}

/// Name of a blob inside an OCI layout.
pub(crate) fn blob_name(digest: &str) -> String {
    format!("blobs/{}", digest.replacen(':', "/", 1))
}

/// An OCI layout directory (also used for blobs downloaded from a registry).
pub(crate) struct LayoutDir {
    pub root: PathBuf,
}

impl BlobStore for LayoutDir {
    fn open(&self, name: &str) -> Result<Box<dyn Read + Send + '_>> {
        // Names are built from checked digests, but refuse anything odd anyway.
        if name.split('/').any(|p| p == ".." || p.is_empty()) {
            return Err(Error::format(self.location(name), "invalid blob name"));
        }
        let path = self.root.join(name);
        let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
        Ok(Box::new(file))
    }
    fn location(&self, name: &str) -> String {
        self.root.join(name).display().to_string()
    }
}

#[derive(Debug, Clone)]
enum Member {
    File { offset: u64, size: u64 },
    Link(String),
}

/// A tar archive read in place.
pub(crate) struct TarStore {
    path: PathBuf,
    members: HashMap<String, Member>,
}

/// Most members indexed in an image archive.
const MAX_ARCHIVE_MEMBERS: usize = 1_000_000;

impl TarStore {
    /// Indexes the archive's members (headers only).
    pub fn index(path: &Path) -> Result<TarStore> {
        let not_tar = |e: std::io::Error| Error::UnknownInput {
            input: path.display().to_string(),
            reason: format!("not a tar archive: {e}"),
        };
        let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
        let mut magic = [0u8; 4];
        let n = file.read(&mut magic).map_err(|e| Error::io(path, e))?;
        if n >= 2 && magic[..2] == [0x1f, 0x8b] || n == 4 && magic == [0x28, 0xb5, 0x2f, 0xfd] {
            return Err(Error::UnknownInput {
                input: path.display().to_string(),
                reason: "a compressed archive; decompress it first (e.g. gunzip), image archives are plain tar".into(),
            });
        }
        file.seek(SeekFrom::Start(0))
            .map_err(|e| Error::io(path, e))?;
        let mut archive = tar::Archive::new(file);
        let mut members = HashMap::new();
        for entry in archive.entries_with_seek().map_err(not_tar)? {
            let entry = entry.map_err(not_tar)?;
            if members.len() >= MAX_ARCHIVE_MEMBERS {
                return Err(Error::format(
                    path.display().to_string(),
                    "too many archive members",
                ));
            }
            let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let Ok((name, _)) = crate::layer::normalize_path(&raw) else {
                continue;
            };
            let kind = entry.header().entry_type();
            if kind.is_file() {
                members.insert(
                    name,
                    Member::File {
                        offset: entry.raw_file_position(),
                        size: entry.size(),
                    },
                );
            } else if (kind.is_symlink() || kind.is_hard_link())
                && let Some(target) = entry.link_name_bytes()
            {
                let target = String::from_utf8_lossy(&target).into_owned();
                let resolved = if kind.is_symlink() && !target.starts_with('/') {
                    match name.rsplit_once('/') {
                        Some((dir, _)) => format!("{dir}/{target}"),
                        None => target,
                    }
                } else {
                    target
                };
                if let Ok((t, _)) = crate::layer::normalize_path(&resolve_dots(&resolved)) {
                    members.insert(name, Member::Link(t));
                }
            }
        }
        if members.is_empty() {
            return Err(Error::UnknownInput {
                input: path.display().to_string(),
                reason: "an empty or unreadable tar archive".into(),
            });
        }
        Ok(TarStore {
            path: path.to_path_buf(),
            members,
        })
    }

    pub fn contains(&self, name: &str) -> bool {
        self.members.contains_key(name)
    }

    fn resolve(&self, name: &str) -> Option<(u64, u64)> {
        let mut current = name.to_string();
        for _ in 0..8 {
            match self.members.get(&current)? {
                Member::File { offset, size } => return Some((*offset, *size)),
                Member::Link(t) => current = t.clone(),
            }
        }
        None
    }
}

/// Collapses `a/b/../c` to `a/c` (archive-internal links only; `..` past the
/// top is dropped).
fn resolve_dots(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

impl BlobStore for TarStore {
    fn open(&self, name: &str) -> Result<Box<dyn Read + Send + '_>> {
        let (offset, size) = self
            .resolve(name)
            .ok_or_else(|| Error::format(self.location(name), "missing from the archive"))?;
        let mut file = File::open(&self.path).map_err(|e| Error::io(&self.path, e))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| Error::io(&self.path, e))?;
        Ok(Box::new(file.take(size)))
    }
    fn location(&self, name: &str) -> String {
        format!("{}:{name}", self.path.display())
    }
}

/// Reads a small blob and checks its digest.
pub(crate) fn read_verified(
    store: &dyn BlobStore,
    name: &str,
    digest: Option<&str>,
) -> Result<Vec<u8>> {
    let mut data = Vec::new();
    let location = store.location(name);
    store
        .open(name)?
        .take(oci::MAX_JSON_BYTES + 1)
        .read_to_end(&mut data)
        .map_err(|e| Error::Format {
            location: location.clone(),
            message: format!("cannot read: {e}"),
        })?;
    if data.len() as u64 > oci::MAX_JSON_BYTES {
        return Err(Error::format(
            location,
            format!("larger than {} bytes", oci::MAX_JSON_BYTES),
        ));
    }
    if let Some(want) = digest {
        let actual = oci::sha256_digest(&data);
        if actual != want.to_ascii_lowercase() {
            return Err(Error::DigestMismatch {
                location,
                expected: want.into(),
                actual,
            });
        }
    }
    Ok(data)
}

/// One layer to analyse.
#[derive(Debug, Clone)]
pub(crate) struct LayerPlan {
    /// Name in the blob store.
    pub blob: String,
    /// What the blob must hash to.
    pub expected: Expected,
    /// Cache key (only for verified layers).
    pub cache_key: Option<String>,
    /// Layer identity for findings.
    pub layer: LayerRef,
}

/// An image resolved to its layers.
pub(crate) struct Resolved {
    pub manifest_digest: Option<String>,
    pub platform: Option<String>,
    pub layers: Vec<LayerPlan>,
    pub notes: Vec<String>,
}

fn parse_json<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    what: &str,
    location: &str,
) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|source| Error::BadJson {
        what: what.into(),
        location: location.into(),
        source,
    })
}

/// Resolves an OCI layout (directory or archive) to the layers of the image for `platform`.
pub(crate) fn resolve_layout(store: &dyn BlobStore, platform: &Platform) -> Result<Resolved> {
    let index_bytes = read_verified(store, "index.json", None)?;
    let location = store.location("index.json");
    let index: Index = parse_json(&index_bytes, "index.json", &location)?;
    let mut fetch = |d: &Descriptor| {
        oci::check_digest(&d.digest, &location)?;
        read_verified(store, &blob_name(&d.digest), Some(&d.digest))
    };
    let chosen = oci::choose_manifest(&index, &location, platform, &mut fetch, 0)?;
    plan_from_manifest(store, chosen)
}

/// Builds the layer plan of an image manifest (config read and checked).
pub(crate) fn plan_from_manifest(store: &dyn BlobStore, chosen: oci::Chosen) -> Result<Resolved> {
    let manifest = &chosen.manifest;
    oci::check_digest(&manifest.config.digest, &chosen.digest)?;
    let config_name = blob_name(&manifest.config.digest);
    let config_bytes = read_verified(store, &config_name, Some(&manifest.config.digest))?;
    let config: ImageConfig =
        parse_json(&config_bytes, "image config", &store.location(&config_name))?;
    let history = config.layer_history(manifest.layers.len());
    let mut layers = Vec::with_capacity(manifest.layers.len());
    for (i, desc) in manifest.layers.iter().enumerate() {
        oci::check_digest(&desc.digest, &chosen.digest)?;
        if desc.media_type.contains("nondistributable") || desc.media_type.contains("foreign") {
            // Still analysed if present; just a hint in the notes below.
        }
        layers.push(LayerPlan {
            blob: blob_name(&desc.digest),
            expected: Expected::Blob(desc.digest.clone()),
            cache_key: Some(desc.digest.clone()),
            layer: LayerRef {
                index: i,
                digest: Some(desc.digest.clone()),
                diff_id: config.rootfs.diff_ids.get(i).cloned(),
                created_by: history[i].clone(),
            },
        });
    }
    let platform = chosen.platform.or_else(|| {
        (!config.os.is_empty()).then(|| match &config.variant {
            Some(v) => format!("{}/{}/{v}", config.os, config.architecture),
            None => format!("{}/{}", config.os, config.architecture),
        })
    });
    Ok(Resolved {
        manifest_digest: Some(chosen.digest),
        platform,
        layers,
        notes: chosen.notes,
    })
}

/// Resolves a docker-archive (`manifest.json` + config + layer tars).
pub(crate) fn resolve_docker_archive(store: &TarStore) -> Result<Resolved> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Entry {
        config: String,
        #[serde(default)]
        repo_tags: Option<Vec<String>>,
        layers: Vec<String>,
    }
    let location = store.location("manifest.json");
    let bytes = read_verified(store, "manifest.json", None)?;
    let entries: Vec<Entry> = parse_json(&bytes, "manifest.json", &location)?;
    let mut notes = Vec::new();
    let Some(entry) = entries.first() else {
        return Err(Error::format(location, "lists no images"));
    };
    if entries.len() > 1 {
        notes.push(format!(
            "{location} holds {} images; scanned the first ({})",
            entries.len(),
            entry
                .repo_tags
                .as_ref()
                .and_then(|t| t.first())
                .map(String::as_str)
                .unwrap_or("untagged")
        ));
    }
    let config_name = normalize_member(&entry.config, &location)?;
    let config_bytes = read_verified(store, &config_name, None)?;
    let config_digest = oci::sha256_digest(&config_bytes);
    let config: ImageConfig =
        parse_json(&config_bytes, "image config", &store.location(&config_name))?;
    let history = config.layer_history(entry.layers.len());
    let mut layers = Vec::new();
    for (i, name) in entry.layers.iter().enumerate() {
        let blob = normalize_member(name, &location)?;
        let diff_id = config.rootfs.diff_ids.get(i).cloned();
        // Newer docker names layers blobs/sha256/<hex>: the blob digest. Older
        // ones use <id>/layer.tar, uncompressed, whose sha256 is the diff_id.
        let from_name = blob
            .strip_prefix("blobs/sha256/")
            .map(|h| format!("sha256:{h}"));
        let digest = from_name.or_else(|| diff_id.clone());
        let expected = match &digest {
            Some(d) => {
                oci::check_digest(d, &location)?;
                Expected::Blob(d.clone())
            }
            None => Expected::Unverified,
        };
        layers.push(LayerPlan {
            blob,
            cache_key: digest.clone(),
            expected,
            layer: LayerRef {
                index: i,
                digest,
                diff_id,
                created_by: history[i].clone(),
            },
        });
    }
    let platform =
        (!config.os.is_empty()).then(|| format!("{}/{}", config.os, config.architecture));
    notes.push(format!("docker-archive image ID {config_digest}"));
    Ok(Resolved {
        manifest_digest: None,
        platform,
        layers,
        notes,
    })
}

fn normalize_member(name: &str, location: &str) -> Result<String> {
    crate::layer::normalize_path(name)
        .map(|(n, _)| n)
        .map_err(|e| Error::format(location, format!("bad member name: {e}")))
}
