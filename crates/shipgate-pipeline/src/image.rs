//! Reproducible OCI image assembly without a container daemon, and push.
//!
//! [`assemble`] writes an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/`):
//! the base image's layers (pulled from a registry, or none for `scratch`), then one gzip
//! layer per `layers:` entry. Layers are reproducible: entries sorted by path, parent
//! directories included, owner 0:0 with no names, mtime fixed to `SOURCE_DATE_EPOCH` (0 when
//! unset), permission bits kept, symlinks kept, hard links stored as files. The same inputs
//! give the same digests on any machine. Each layer is streamed through one pass that
//! computes the uncompressed `diff_id` and the compressed digest, so memory stays bounded
//! whatever the output size.
//!
//! [`push`] uploads the layout's blobs that the registry lacks (streamed from disk) and the
//! manifest, and returns the manifest digest.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use oci_client::Reference;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::spec::ImageSpec;

/// OCI media types used here.
pub const MT_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image config.
pub const MT_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// gzip layer.
pub const MT_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// What [`assemble`] produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Built {
    /// The OCI layout directory.
    pub layout: PathBuf,
    /// `sha256:...` of the manifest.
    pub manifest_digest: String,
    /// Layers added by this build (not the base's): digest, diff_id, size.
    pub layers: Vec<LayerInfo>,
}

/// One layer written by [`assemble`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct LayerInfo {
    /// `sha256:` of the compressed blob.
    pub digest: String,
    /// `sha256:` of the uncompressed tar.
    pub diff_id: String,
    /// Compressed size.
    pub size: u64,
    /// Source in the workspace.
    pub from: PathBuf,
}

/// The base image, already fetched: its config and layer descriptors, blobs in a layout dir.
#[derive(Debug, Clone)]
pub struct Base {
    /// Config JSON.
    pub config: Value,
    /// Layer descriptors from its manifest.
    pub layers: Vec<Value>,
    /// Digest of the manifest used (the platform's, for an index).
    pub manifest_digest: String,
}

/// gzip level: the same default as `gzip`.
const GZIP_LEVEL: u32 = 6;

/// Writes the image described by `spec` as an OCI layout at `layout` (created, must not
/// exist). `base` is `None` for `scratch`; its blobs must already be in `layout/blobs`.
pub fn assemble(
    workspace: &Path,
    spec: &ImageSpec,
    layout: &Path,
    base: Option<&Base>,
    epoch: i64,
) -> Result<Built, Error> {
    let blobs = layout.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).map_err(|e| Error::io(&blobs, e))?;
    let mut config = base.map_or_else(
        || {
            json!({
                "architecture": go_arch(),
                "os": "linux",
                "config": {},
                "rootfs": {"type": "layers", "diff_ids": []},
                "history": [],
            })
        },
        |b| b.config.clone(),
    );
    let mut descriptors: Vec<Value> = base.map(|b| b.layers.clone()).unwrap_or_default();
    let created = jiff::Timestamp::from_second(epoch)
        .map_err(|e| Error::Image(format!("SOURCE_DATE_EPOCH {epoch}: {e}")))?
        .to_string();
    let mut built = Vec::new();
    for l in &spec.layers {
        let src = workspace.join(&l.from);
        let info = write_layer(&src, &l.to, &blobs, epoch)?;
        descriptors
            .push(json!({"mediaType": MT_LAYER_GZIP, "digest": info.digest, "size": info.size}));
        push_array(&mut config, &["rootfs", "diff_ids"], json!(info.diff_id));
        push_array(
            &mut config,
            &["history"],
            json!({"created": created, "created_by": format!("shipgate pipeline: copy {} to {}", l.from.display(), l.to)}),
        );
        built.push(LayerInfo {
            from: l.from.clone(),
            ..info
        });
    }
    config["created"] = json!(created);
    if !config.is_object() {
        return Err(Error::Image(
            "the base image's config is not a JSON object".into(),
        ));
    }
    if !config["config"].is_object() {
        config["config"] = json!({});
    }
    let cfg = &mut config["config"];
    if let Some(ep) = &spec.entrypoint {
        cfg["Entrypoint"] = json!(ep);
    }
    if let Some(cmd) = &spec.cmd {
        cfg["Cmd"] = json!(cmd);
    }
    if let Some(w) = &spec.workdir {
        cfg["WorkingDir"] = json!(w);
    }
    if let Some(u) = &spec.user {
        cfg["User"] = json!(u);
    }
    if !spec.env.is_empty() {
        let mut env: Vec<String> = cfg["Env"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        for (k, v) in &spec.env {
            env.retain(|e| e.split('=').next() != Some(k.as_str()));
            env.push(format!("{k}={v}"));
        }
        cfg["Env"] = json!(env);
    }
    for (k, v) in &spec.labels {
        cfg["Labels"][k] = json!(v);
    }
    let config_bytes = serde_json::to_vec(&config).map_err(|e| Error::Image(e.to_string()))?;
    let config_digest = write_blob(&blobs, &config_bytes)?;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MT_MANIFEST,
        "config": {"mediaType": MT_CONFIG, "digest": config_digest, "size": config_bytes.len()},
        "layers": descriptors,
    });
    let manifest_bytes = serde_json::to_vec(&manifest).map_err(|e| Error::Image(e.to_string()))?;
    let manifest_digest = write_blob(&blobs, &manifest_bytes)?;
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": MT_MANIFEST, "digest": manifest_digest, "size": manifest_bytes.len(),
                       "annotations": {"org.opencontainers.image.ref.name": "latest"}}],
    });
    write_file(
        &layout.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )?;
    write_file(
        &layout.join("index.json"),
        &serde_json::to_vec(&index).map_err(|e| Error::Image(e.to_string()))?,
    )?;
    Ok(Built {
        layout: layout.to_path_buf(),
        manifest_digest,
        layers: built,
    })
}

fn push_array(v: &mut Value, path: &[&str], item: Value) {
    let mut cur = v;
    for p in path {
        if !cur[*p].is_object() && !cur[*p].is_array() {
            cur[*p] = if *p == path[path.len() - 1] {
                json!([])
            } else {
                json!({})
            };
        }
        cur = &mut cur[*p];
    }
    if let Some(a) = cur.as_array_mut() {
        a.push(item);
    }
}

/// The Go architecture name of this machine (OCI `architecture`).
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

fn write_blob(blobs: &Path, bytes: &[u8]) -> Result<String, Error> {
    let hex = hex::encode(Sha256::digest(bytes));
    write_file(&blobs.join(&hex), bytes)?;
    Ok(format!("sha256:{hex}"))
}

/// A writer that hashes and counts what passes through.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    count: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes one reproducible layer with the tree at `src` placed under `dest`.
fn write_layer(src: &Path, dest: &str, blobs: &Path, epoch: i64) -> Result<LayerInfo, Error> {
    let meta = std::fs::symlink_metadata(src)
        .map_err(|e| Error::Image(format!("layer source {}: {e}", src.display())))?;
    let tmp = tempfile::NamedTempFile::new_in(blobs).map_err(|e| Error::io(blobs, e))?;
    let file = tmp.reopen().map_err(|e| Error::io(tmp.path(), e))?;
    let compressed = Hashing {
        inner: BufWriter::with_capacity(1 << 20, file),
        hash: Sha256::new(),
        count: 0,
    };
    let gz = flate2::write::GzEncoder::new(compressed, flate2::Compression::new(GZIP_LEVEL));
    let tar_out = Hashing {
        inner: gz,
        hash: Sha256::new(),
        count: 0,
    };
    let mut tar = tar::Builder::new(tar_out);
    tar.follow_symlinks(false);
    let dest = dest.trim_matches('/');
    let mtime = epoch.max(0) as u64;
    // Parent directories of the destination, outermost first.
    let mut prefix = String::new();
    for part in dest.split('/').filter(|p| !p.is_empty()) {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(part);
        if meta.is_dir() || prefix.len() < dest.len() {
            append_dir(&mut tar, &prefix, 0o755, mtime)?;
        }
    }
    if meta.is_dir() {
        walk_layer(&mut tar, src, &prefix, mtime)?;
    } else {
        let name = src
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        append_entry(&mut tar, src, &meta, &path, mtime)?;
    }
    let tar_out = tar.into_inner().map_err(|e| Error::io(src, e))?;
    let diff_id = format!("sha256:{}", hex::encode(tar_out.hash.finalize()));
    let mut compressed = tar_out
        .inner
        .finish()
        .map_err(|e| Error::io(tmp.path(), e))?;
    compressed.flush().map_err(|e| Error::io(tmp.path(), e))?;
    let digest_hex = hex::encode(compressed.hash.finalize());
    let size = compressed.count;
    let target = blobs.join(&digest_hex);
    tmp.persist(&target)
        .map_err(|e| Error::io(&target, e.error))?;
    Ok(LayerInfo {
        digest: format!("sha256:{digest_hex}"),
        diff_id,
        size,
        from: PathBuf::new(),
    })
}

fn header(kind: tar::EntryType, mode: u32, size: u64, mtime: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode & 0o7777);
    h.set_size(size);
    h.set_mtime(mtime);
    h.set_uid(0);
    h.set_gid(0);
    h
}

fn append_dir<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    mode: u32,
    mtime: u64,
) -> Result<(), Error> {
    let mut h = header(tar::EntryType::Directory, mode, 0, mtime);
    tar.append_data(&mut h, format!("{path}/"), std::io::empty())
        .map_err(|e| Error::Image(format!("{path}: {e}")))
}

fn append_entry<W: Write>(
    tar: &mut tar::Builder<W>,
    src: &Path,
    meta: &std::fs::Metadata,
    path: &str,
    mtime: u64,
) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = meta.permissions().mode();
    let ft = meta.file_type();
    if ft.is_symlink() {
        let target = std::fs::read_link(src).map_err(|e| Error::io(src, e))?;
        let mut h = header(tar::EntryType::Symlink, 0o777, 0, mtime);
        tar.append_link(&mut h, path, &target)
            .map_err(|e| Error::Image(format!("{}: {e}", src.display())))
    } else if ft.is_dir() {
        append_dir(tar, path, mode, mtime)
    } else if ft.is_file() {
        let f = File::open(src).map_err(|e| Error::io(src, e))?;
        let mut h = header(tar::EntryType::Regular, mode, meta.len(), mtime);
        // If the file changes size while being read, the tar crate fails rather than writing
        // a corrupt entry.
        tar.append_data(&mut h, path, f.take(meta.len()))
            .map_err(|e| Error::Image(format!("{}: {e}", src.display())))
    } else {
        Err(Error::Image(format!(
            "{}: sockets, devices and FIFOs cannot go into an image layer",
            src.display()
        )))
    }
}

fn walk_layer<W: Write>(
    tar: &mut tar::Builder<W>,
    dir: &Path,
    prefix: &str,
    mtime: u64,
) -> Result<(), Error> {
    let mut entries: Vec<(String, PathBuf)> = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let e = e.map_err(|e| Error::io(dir, e))?;
        let name = e.file_name().into_string().map_err(|n| {
            Error::Image(format!("{}: file name {n:?} is not UTF-8", dir.display()))
        })?;
        entries.push((name, e.path()));
    }
    entries.sort();
    for (name, p) in entries {
        let meta = std::fs::symlink_metadata(&p).map_err(|e| Error::io(&p, e))?;
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        append_entry(tar, &p, &meta, &path, mtime)?;
        if meta.is_dir() {
            walk_layer(tar, &p, &path, mtime)?;
        }
    }
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Image(format!("starting the I/O runtime: {e}")))
}

fn parse_ref(s: &str) -> Result<Reference, Error> {
    Reference::from_str(s)
        .map_err(|e| Error::Image(format!("{s:?} is not an image reference: {e}")))
}

/// Fetches a base image from a registry into `layout/blobs` (config and layers, streamed
/// to disk) and returns its config and layer descriptors. An index is resolved to the
/// linux manifest for this machine's architecture.
pub fn fetch_base(
    reference: &str,
    layout: &Path,
    opts: &shipgate_image::RegistryOptions,
) -> Result<Base, Error> {
    use shipgate_image::source::registry::{connect, registry_error};
    let r = parse_ref(reference)?;
    let (client, auth) = connect(reference, &r, opts)?;
    let blobs = layout.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).map_err(|e| Error::io(&blobs, e))?;
    let err = |e| Error::Registry(registry_error(reference, e));
    runtime()?.block_on(async {
        let accept = [
            MT_MANIFEST,
            "application/vnd.oci.image.index.v1+json",
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.docker.distribution.manifest.list.v2+json",
        ];
        let (mut bytes, _) = client
            .pull_manifest_raw(&r, &auth, &accept)
            .await
            .map_err(err)?;
        let mut target = r.clone();
        let mut doc: Value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Image(format!("{reference}: manifest: {e}")))?;
        if doc["manifests"].is_array() {
            let arch = go_arch();
            let pick = doc["manifests"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|m| m["platform"]["os"] == "linux" && m["platform"]["architecture"] == arch)
                .and_then(|m| m["digest"].as_str().map(str::to_string))
                .ok_or_else(|| {
                    Error::Image(format!("{reference}: no linux/{arch} image in the index"))
                })?;
            target = r.clone_with_digest(pick);
            bytes = client
                .pull_manifest_raw(&target, &auth, &accept)
                .await
                .map_err(err)?
                .0;
            doc = serde_json::from_slice(&bytes)
                .map_err(|e| Error::Image(format!("{reference}: manifest: {e}")))?;
        }
        let config_digest = doc["config"]["digest"]
            .as_str()
            .ok_or_else(|| Error::Image(format!("{reference}: manifest has no config")))?
            .to_string();
        let layers: Vec<Value> = doc["layers"].as_array().cloned().unwrap_or_default();
        let mut wanted = vec![config_digest.clone()];
        wanted.extend(
            layers
                .iter()
                .filter_map(|l| l["digest"].as_str().map(str::to_string)),
        );
        for d in &wanted {
            let hex = d
                .strip_prefix("sha256:")
                .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
                .ok_or_else(|| Error::Image(format!("{reference}: unsupported digest {d:?}")))?;
            let path = blobs.join(hex);
            if path.exists() {
                continue;
            }
            let part = blobs.join(format!(".{hex}.part"));
            let mut f = tokio::fs::File::create(&part)
                .await
                .map_err(|e| Error::io(&part, e))?;
            client
                .pull_blob(&target, d.as_str(), &mut f)
                .await
                .map_err(err)?;
            drop(f);
            let got = crate::cache::hash_file(&part)?;
            if got != hex {
                let _ = std::fs::remove_file(&part);
                return Err(Error::Image(format!(
                    "{reference}: blob {d} has digest sha256:{got}"
                )));
            }
            std::fs::rename(&part, &path).map_err(|e| Error::io(&path, e))?;
        }
        let config: Value = serde_json::from_slice(
            &std::fs::read(blobs.join(&config_digest[7..])).map_err(|e| Error::io(&blobs, e))?,
        )
        .map_err(|e| Error::Image(format!("{reference}: config: {e}")))?;
        let manifest_digest = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
        Ok(Base {
            config,
            layers,
            manifest_digest,
        })
    })
}

/// Pushes the image in `layout` (its single manifest) to `reference`; returns the digest.
pub fn push(
    layout: &Path,
    reference: &str,
    opts: &shipgate_image::RegistryOptions,
) -> Result<String, Error> {
    use shipgate_image::source::registry::{connect, registry_error};
    let r = parse_ref(reference)?;
    let (client, auth) = connect(reference, &r, opts)?;
    let index: Value = serde_json::from_slice(
        &std::fs::read(layout.join("index.json")).map_err(|e| Error::io(layout, e))?,
    )
    .map_err(|e| Error::Image(format!("{}: index.json: {e}", layout.display())))?;
    let digest = index["manifests"][0]["digest"]
        .as_str()
        .ok_or_else(|| {
            Error::Image(format!(
                "{}: index.json names no manifest",
                layout.display()
            ))
        })?
        .to_string();
    let blobs = layout.join("blobs/sha256");
    let manifest_bytes =
        std::fs::read(blobs.join(&digest[7..])).map_err(|e| Error::io(&blobs, e))?;
    let manifest: Value =
        serde_json::from_slice(&manifest_bytes).map_err(|e| Error::Image(e.to_string()))?;
    let mut blob_list: Vec<(String, u64)> = Vec::new();
    for d in std::iter::once(&manifest["config"])
        .chain(manifest["layers"].as_array().into_iter().flatten())
    {
        if let (Some(dg), Some(sz)) = (d["digest"].as_str(), d["size"].as_u64()) {
            blob_list.push((dg.to_string(), sz));
        }
    }
    let err = |e| Error::Registry(registry_error(reference, e));
    runtime()?.block_on(async {
        client
            .auth(&r, &auth, oci_client::RegistryOperation::Push)
            .await
            .map_err(err)?;
        for (d, size) in &blob_list {
            if client.blob_exists(&r, d).await.map_err(err)? {
                continue;
            }
            let path = blobs.join(&d[7..]);
            let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
            let stream = futures_util::stream::unfold(file, |mut f| async move {
                let mut buf = vec![0u8; 4 << 20];
                match f.read(&mut buf) {
                    Ok(0) => None,
                    Ok(n) => {
                        buf.truncate(n);
                        Some((Ok(bytes::Bytes::from(buf)), f))
                    }
                    Err(e) => Some((Err(oci_client::errors::OciDistributionError::IoError(e)), f)),
                }
            });
            client
                .push_blob_stream(&r, stream, d, Some(*size))
                .await
                .map_err(err)?;
        }
        let ct = MT_MANIFEST
            .parse()
            .map_err(|_| Error::Image("media type".into()))?;
        client
            .push_manifest_raw(&r, manifest_bytes.clone(), ct)
            .await
            .map_err(err)?;
        Ok::<_, Error>(())
    })?;
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::LayerSpec;

    fn spec(layers: &[(&str, &str)]) -> ImageSpec {
        ImageSpec {
            base: "scratch".into(),
            layers: layers
                .iter()
                .map(|(f, t)| LayerSpec {
                    from: f.into(),
                    to: t.to_string(),
                })
                .collect(),
            entrypoint: Some(vec!["/app/run".into()]),
            cmd: None,
            env: [("MODE".to_string(), "prod".to_string())].into(),
            workdir: None,
            user: Some("65532".into()),
            labels: Default::default(),
            output: "out/image".into(),
            push: None,
        }
    }

    #[test]
    fn layers_are_reproducible_and_sorted() {
        let ws = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(ws.path().join("out/b")).unwrap();
        std::fs::write(ws.path().join("out/b/z"), "z").unwrap();
        std::fs::write(ws.path().join("out/a"), "a").unwrap();
        std::os::unix::fs::symlink("a", ws.path().join("out/link")).unwrap();
        let s = spec(&[("out", "/app")]);
        let l1 = ws.path().join("l1");
        let b1 = assemble(ws.path(), &s, &l1, None, 0).unwrap();
        // Touch files: mtimes must not matter.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(ws.path().join("out/a"), "a").unwrap();
        let b2 = assemble(ws.path(), &s, &ws.path().join("l2"), None, 0).unwrap();
        assert_eq!(b1.manifest_digest, b2.manifest_digest);
        // Read the layer back: sorted entries, fixed owner and mtime.
        let blob = l1.join("blobs/sha256").join(&b1.layers[0].digest[7..]);
        let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(File::open(blob).unwrap()));
        let names: Vec<String> = ar
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                assert_eq!(e.header().mtime().unwrap(), 0);
                assert_eq!(e.header().uid().unwrap(), 0);
                e.path().unwrap().display().to_string()
            })
            .collect();
        assert_eq!(names, ["app/", "app/a", "app/b/", "app/b/z", "app/link"]);
        let idx: Value =
            serde_json::from_slice(&std::fs::read(l1.join("index.json")).unwrap()).unwrap();
        assert_eq!(idx["manifests"][0]["digest"], json!(b1.manifest_digest));
    }

    #[test]
    fn missing_layer_source_is_an_error() {
        let ws = tempfile::tempdir().unwrap();
        let e = assemble(
            ws.path(),
            &spec(&[("nope", "/app")]),
            &ws.path().join("l"),
            None,
            0,
        )
        .unwrap_err();
        assert!(e.to_string().contains("nope"), "{e}");
    }
}
