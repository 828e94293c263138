//! Builds test images (feature `test-support`): OCI layouts, OCI archives and
//! docker-archives from fixture file trees, with whiteouts, links, hostile
//! entries and any compression. Used by this crate's tests and benchmark; not
//! part of the scanning API.
#![allow(missing_docs)]

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::source::oci::{
    self, Descriptor, History, ImageConfig, Index, Manifest, PlatformJson, RootFs,
};

/// One entry of a test layer.
#[derive(Debug, Clone)]
pub enum Entry {
    File {
        path: String,
        data: Vec<u8>,
        mode: u32,
    },
    Dir {
        path: String,
    },
    Symlink {
        path: String,
        target: String,
    },
    HardLink {
        path: String,
        target: String,
    },
    /// `.wh.<name>` deleting `path`.
    Whiteout {
        path: String,
    },
    /// `.wh..wh..opq` in `dir`.
    Opaque {
        dir: String,
    },
    /// A regular file whose header name is written verbatim (for `../` and absolute paths).
    RawName {
        name: Vec<u8>,
        data: Vec<u8>,
    },
    /// A whole host directory added under `prefix` (symlinks kept as links).
    Tree {
        src: PathBuf,
        prefix: String,
    },
    /// The entries of an existing tar file, copied through.
    TarFile {
        src: PathBuf,
    },
}

impl Entry {
    pub fn file(path: &str, data: impl Into<Vec<u8>>) -> Entry {
        Entry::File {
            path: path.into(),
            data: data.into(),
            mode: 0o644,
        }
    }
    pub fn exe(path: &str, data: impl Into<Vec<u8>>) -> Entry {
        Entry::File {
            path: path.into(),
            data: data.into(),
            mode: 0o755,
        }
    }
}

/// Layer compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// A test layer.
#[derive(Debug, Clone)]
pub struct Layer {
    pub entries: Vec<Entry>,
    pub compression: Compression,
    pub created_by: String,
}

impl Layer {
    pub fn new(created_by: &str, compression: Compression, entries: Vec<Entry>) -> Layer {
        Layer {
            entries,
            compression,
            created_by: created_by.into(),
        }
    }
}

/// A test image.
#[derive(Debug, Clone)]
pub struct Image {
    pub layers: Vec<Layer>,
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Image {
    pub fn new(layers: Vec<Layer>) -> Image {
        Image {
            layers,
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }
    pub fn arch(mut self, arch: &str) -> Image {
        self.architecture = arch.into();
        self
    }
}

struct HashWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn digest_of(h: Sha256) -> String {
    format!("sha256:{}", hex::encode(h.finalize()))
}

fn write_entries<W: Write>(builder: &mut tar::Builder<W>, entries: &[Entry]) -> io::Result<()> {
    builder.follow_symlinks(false);
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(1_700_000_000);
        h.set_uid(0);
        h.set_gid(0);
        match e {
            Entry::File { path, data, mode } => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(data.len() as u64);
                h.set_mode(*mode);
                builder.append_data(&mut h, path, data.as_slice())?;
            }
            Entry::Dir { path } => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                h.set_mode(0o755);
                builder.append_data(&mut h, path, io::empty())?;
            }
            Entry::Symlink { path, target } => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                h.set_mode(0o777);
                builder.append_link(&mut h, path, target)?;
            }
            Entry::HardLink { path, target } => {
                h.set_entry_type(tar::EntryType::Link);
                h.set_size(0);
                h.set_mode(0o755);
                builder.append_link(&mut h, path, target)?;
            }
            Entry::Whiteout { path } => {
                let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
                let wh = if dir.is_empty() {
                    format!(".wh.{name}")
                } else {
                    format!("{dir}/.wh.{name}")
                };
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(0);
                h.set_mode(0o644);
                builder.append_data(&mut h, wh, io::empty())?;
            }
            Entry::Opaque { dir } => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(0);
                h.set_mode(0o644);
                builder.append_data(&mut h, format!("{dir}/.wh..wh..opq"), io::empty())?;
            }
            Entry::RawName { name, data } => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(data.len() as u64);
                h.set_mode(0o644);
                let gnu = h
                    .as_gnu_mut()
                    .ok_or_else(|| io::Error::other("gnu header"))?;
                let n = name.len().min(gnu.name.len());
                gnu.name[..n].copy_from_slice(&name[..n]);
                h.set_cksum();
                builder.append(&h, data.as_slice())?;
            }
            Entry::Tree { src, prefix } => {
                builder.append_dir_all(prefix, src)?;
            }
            Entry::TarFile { src } => {
                let mut archive = tar::Archive::new(File::open(src)?);
                for entry in archive.entries()? {
                    let mut entry = entry?;
                    let mut header = entry.header().clone();
                    let path = entry.path_bytes().into_owned();
                    let link = entry.link_name_bytes().map(|l| l.into_owned());
                    let path = String::from_utf8_lossy(&path).into_owned();
                    if let Some(link) = link {
                        let link = String::from_utf8_lossy(&link).into_owned();
                        builder.append_link(&mut header, &path, &link)?;
                    } else {
                        builder.append_data(&mut header, &path, &mut entry)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Written layer blob: (blob digest, diff_id, blob size).
pub struct WrittenBlob {
    pub digest: String,
    pub diff_id: String,
    pub size: u64,
}

/// Writes a layer blob to `dest`.
pub fn write_layer(layer: &Layer, dest: &Path) -> io::Result<WrittenBlob> {
    let file = BufWriter::new(File::create(dest)?);
    let mut outer = HashWriter {
        inner: file,
        hasher: Sha256::new(),
        bytes: 0,
    };
    let diff_id;
    {
        let compressor: Box<dyn Write + '_> = match layer.compression {
            Compression::None => Box::new(&mut outer),
            Compression::Gzip => Box::new(flate2::write::GzEncoder::new(
                &mut outer,
                flate2::Compression::fast(),
            )),
            Compression::Zstd => {
                Box::new(zstd::stream::write::Encoder::new(&mut outer, 3)?.auto_finish())
            }
        };
        let mut inner = HashWriter {
            inner: compressor,
            hasher: Sha256::new(),
            bytes: 0,
        };
        {
            let mut builder = tar::Builder::new(&mut inner);
            write_entries(&mut builder, &layer.entries)?;
            builder.finish()?;
        }
        inner.flush()?;
        diff_id = digest_of(inner.hasher);
        // Dropping the compressor finishes the stream.
        drop(inner.inner);
    }
    outer.flush()?;
    Ok(WrittenBlob {
        digest: digest_of(outer.hasher),
        diff_id,
        size: outer.bytes,
    })
}

fn write_blob(dir: &Path, bytes: &[u8]) -> io::Result<(String, u64)> {
    let digest = oci::sha256_digest(bytes);
    let path = dir.join(crate::source::local::blob_name(&digest));
    fs::create_dir_all(path.parent().ok_or_else(|| io::Error::other("blob path"))?)?;
    fs::write(path, bytes)?;
    Ok((digest, bytes.len() as u64))
}

const MT_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";

fn layer_media_type(c: Compression) -> String {
    match c {
        Compression::None => MT_LAYER_TAR.into(),
        Compression::Gzip => format!("{MT_LAYER_TAR}+gzip"),
        Compression::Zstd => format!("{MT_LAYER_TAR}+zstd"),
    }
}

fn config_for(image: &Image, diff_ids: Vec<String>) -> ImageConfig {
    ImageConfig {
        architecture: image.architecture.clone(),
        os: image.os.clone(),
        variant: image.variant.clone(),
        history: image
            .layers
            .iter()
            .map(|l| History {
                created_by: Some(l.created_by.clone()),
                empty_layer: false,
            })
            .collect(),
        rootfs: RootFs {
            kind: "layers".into(),
            diff_ids,
        },
    }
}

/// Writes the image's blobs into the layout at `dir`; returns the manifest descriptor.
pub fn write_image_blobs(image: &Image, dir: &Path) -> io::Result<Descriptor> {
    let blobs = dir.join("blobs").join("sha256");
    fs::create_dir_all(&blobs)?;
    let mut layers = Vec::new();
    let mut diff_ids = Vec::new();
    for layer in &image.layers {
        let tmp = blobs.join(".tmp-layer");
        let w = write_layer(layer, &tmp)?;
        fs::rename(&tmp, dir.join(crate::source::local::blob_name(&w.digest)))?;
        diff_ids.push(w.diff_id.clone());
        layers.push(Descriptor {
            media_type: layer_media_type(layer.compression),
            digest: w.digest,
            size: w.size as i64,
            platform: None,
            annotations: Default::default(),
        });
    }
    let config = serde_json::to_vec(&config_for(image, diff_ids)).map_err(io::Error::other)?;
    let (cdigest, csize) = write_blob(dir, &config)?;
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(oci::MT_OCI_MANIFEST.into()),
        config: Descriptor {
            media_type: "application/vnd.oci.image.config.v1+json".into(),
            digest: cdigest,
            size: csize as i64,
            platform: None,
            annotations: Default::default(),
        },
        layers,
    };
    let mbytes = serde_json::to_vec(&manifest).map_err(io::Error::other)?;
    let (mdigest, msize) = write_blob(dir, &mbytes)?;
    Ok(Descriptor {
        media_type: oci::MT_OCI_MANIFEST.into(),
        digest: mdigest,
        size: msize as i64,
        platform: Some(PlatformJson {
            architecture: image.architecture.clone(),
            os: image.os.clone(),
            variant: image.variant.clone(),
        }),
        annotations: Default::default(),
    })
}

fn write_layout_files(dir: &Path, manifests: Vec<Descriptor>) -> io::Result<()> {
    fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    let index = Index {
        schema_version: 2,
        media_type: Some(oci::MT_OCI_INDEX.into()),
        manifests,
    };
    fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&index).map_err(io::Error::other)?,
    )
}

/// Writes a single-image OCI layout (index.json → manifest, tagged `tag`).
pub fn write_oci_layout(image: &Image, dir: &Path, tag: &str) -> io::Result<String> {
    let mut desc = write_image_blobs(image, dir)?;
    desc.platform = None;
    desc.annotations
        .insert("org.opencontainers.image.ref.name".into(), tag.into());
    let digest = desc.digest.clone();
    write_layout_files(dir, vec![desc])?;
    Ok(digest)
}

/// Writes a multi-platform OCI layout: index.json → image index → one manifest per image.
pub fn write_oci_layout_multi(images: &[Image], dir: &Path, tag: &str) -> io::Result<String> {
    let mut manifests = Vec::new();
    for image in images {
        manifests.push(write_image_blobs(image, dir)?);
    }
    let index = Index {
        schema_version: 2,
        media_type: Some(oci::MT_OCI_INDEX.into()),
        manifests,
    };
    let ibytes = serde_json::to_vec(&index).map_err(io::Error::other)?;
    let (idigest, isize) = write_blob(dir, &ibytes)?;
    let mut annotations = std::collections::BTreeMap::new();
    annotations.insert(
        "org.opencontainers.image.ref.name".to_string(),
        tag.to_string(),
    );
    write_layout_files(
        dir,
        vec![Descriptor {
            media_type: oci::MT_OCI_INDEX.into(),
            digest: idigest.clone(),
            size: isize as i64,
            platform: None,
            annotations,
        }],
    )?;
    Ok(idigest)
}

/// Tars a directory (an OCI layout) into `archive`.
pub fn tar_dir(dir: &Path, archive: &Path) -> io::Result<()> {
    let mut builder = tar::Builder::new(BufWriter::new(File::create(archive)?));
    builder.follow_symlinks(false);
    builder.append_dir_all(".", dir)?;
    builder.into_inner()?.flush()
}

/// Writes an OCI archive (a tar of a layout).
pub fn write_oci_archive(image: &Image, archive: &Path) -> io::Result<()> {
    let tmp = tempfile::tempdir()?;
    write_oci_layout(image, tmp.path(), "latest")?;
    tar_dir(tmp.path(), archive)
}

/// Writes a docker-archive the way `docker save` (before 25) does:
/// `manifest.json`, `<config>.json`, `<id>/layer.tar` (uncompressed).
pub fn write_docker_archive(image: &Image, archive: &Path, repo_tag: &str) -> io::Result<()> {
    let tmp = tempfile::tempdir()?;
    let mut layer_names = Vec::new();
    let mut diff_ids = Vec::new();
    for layer in &image.layers {
        let plain = Layer {
            compression: Compression::None,
            ..layer.clone()
        };
        let tmpfile = tmp.path().join(".layer");
        let w = write_layer(&plain, &tmpfile)?;
        let id = w.diff_id.trim_start_matches("sha256:").to_string();
        fs::create_dir_all(tmp.path().join(&id))?;
        fs::rename(&tmpfile, tmp.path().join(&id).join("layer.tar"))?;
        layer_names.push(format!("{id}/layer.tar"));
        diff_ids.push(w.diff_id);
    }
    let config = serde_json::to_vec(&config_for(image, diff_ids)).map_err(io::Error::other)?;
    let config_name = format!(
        "{}.json",
        oci::sha256_digest(&config).trim_start_matches("sha256:")
    );
    fs::write(tmp.path().join(&config_name), &config)?;
    let manifest = serde_json::json!([{ "Config": config_name, "RepoTags": [repo_tag], "Layers": layer_names }]);
    fs::write(
        tmp.path().join("manifest.json"),
        serde_json::to_vec(&manifest).map_err(io::Error::other)?,
    )?;
    tar_dir(tmp.path(), archive)
}

/// Reads a file fully (test helper).
pub fn read_all(path: &Path) -> io::Result<Vec<u8>> {
    let mut v = Vec::new();
    File::open(path)?.read_to_end(&mut v)?;
    Ok(v)
}

/// A jar (zip) holding `pom.properties` for each `(group, artifact, version)`
/// and the given nested jars.
pub fn make_jar(artifacts: &[(&str, &str, &str)], nested: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (g, a, v) in artifacts {
            zip.start_file(format!("META-INF/maven/{g}/{a}/pom.properties"), opts)
                .expect("in-memory zip");
            zip.write_all(format!("groupId={g}\nartifactId={a}\nversion={v}\n").as_bytes())
                .expect("in-memory zip");
        }
        for (name, bytes) in nested {
            zip.start_file(*name, opts).expect("in-memory zip");
            zip.write_all(bytes).expect("in-memory zip");
        }
        zip.finish().expect("in-memory zip");
    }
    out.into_inner()
}

/// A fake ELF executable carrying Go build info.
pub fn make_go_binary(go_version: &str, modinfo: &str) -> Vec<u8> {
    let mut v = b"\x7fELF\x02\x01\x01\0".to_vec();
    v.resize(4096, 0);
    v.extend(crate::lang::binary::encode_go_buildinfo(
        go_version, modinfo,
    ));
    v.resize(v.len() + 1024, 0);
    v
}
