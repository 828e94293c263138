//! Root file systems for steps that run in a container image (`image:` on a `run` step).
//!
//! [`prepare`] pulls the image (platform manifest, config, layers; streamed to disk) and
//! unpacks its layers in order into `<cache>/images/<manifest digest>/rootfs`, once: a marker
//! file records completion, so later runs reuse it. Unpacking applies OCI whiteouts
//! (`.wh.NAME` deletes, `.wh..wh..opq` empties the directory's lower-layer contents), resolves
//! every path inside the root (a symlinked parent directory is followed as if the root were
//! `/`, never out of it), skips device nodes and FIFOs, and drops setuid/setgid bits. Layers
//! may be gzip, zstd or plain tar. The `workspace`, `tmp`, `dev` and `proc` mount points are
//! created so bubblewrap can mount over a read-only root.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Component, Path, PathBuf};

use crate::error::Error;
use crate::image;

/// Where the workspace is mounted inside an image step.
pub const WORKSPACE_MOUNT: &str = "/workspace";

/// An unpacked image.
#[derive(Debug, Clone)]
pub struct Rootfs {
    /// The root directory.
    pub path: PathBuf,
    /// `PATH` from the image config (or the usual default).
    pub path_env: String,
    /// Manifest digest the root was built from.
    pub digest: String,
}

/// Pulls and unpacks `reference` under `cache` (reused when already complete).
pub fn prepare(
    reference: &str,
    cache: &Path,
    opts: &shipgate_image::RegistryOptions,
) -> Result<Rootfs, Error> {
    let staging = tempfile::Builder::new()
        .prefix(".pull-")
        .tempdir_in(ensure(cache)?)
        .map_err(|e| Error::io(cache, e))?;
    let layout = staging.path().join("layout");
    let base = image::fetch_base(reference, &layout, opts)?;
    let dir = cache.join(base.manifest_digest.replace(':', "-"));
    let root = dir.join("rootfs");
    let marker = dir.join("complete");
    let path_env = base.config["config"]["Env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .find_map(|e| e.strip_prefix("PATH=").map(str::to_string))
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    if !marker.exists() {
        let tmp_root = staging.path().join("rootfs");
        std::fs::create_dir_all(&tmp_root).map_err(|e| Error::io(&tmp_root, e))?;
        for l in &base.layers {
            let d = l["digest"].as_str().unwrap_or_default();
            let blob = layout
                .join("blobs/sha256")
                .join(d.trim_start_matches("sha256:"));
            unpack_layer(&blob, &tmp_root)
                .map_err(|e| Error::Image(format!("{reference}: layer {d}: {e}")))?;
        }
        for m in ["workspace", "tmp", "dev", "proc"] {
            let p = tmp_root.join(m);
            if std::fs::symlink_metadata(&p).is_err() {
                std::fs::create_dir_all(&p).map_err(|e| Error::io(&p, e))?;
            }
        }
        crate::cache::remove_path(&dir)?;
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        std::fs::rename(&tmp_root, &root).map_err(|e| Error::io(&root, e))?;
        std::fs::write(&marker, reference).map_err(|e| Error::io(&marker, e))?;
    }
    Ok(Rootfs {
        path: root,
        path_env,
        digest: base.manifest_digest,
    })
}

fn ensure(p: &Path) -> Result<&Path, Error> {
    std::fs::create_dir_all(p).map_err(|e| Error::io(p, e))?;
    Ok(p)
}

/// Opens a layer blob, decompressing gzip or zstd by magic number.
fn open_layer(blob: &Path) -> Result<Box<dyn Read>, String> {
    use std::io::BufRead as _;
    let mut f = BufReader::new(File::open(blob).map_err(|e| e.to_string())?);
    let magic = f.fill_buf().map_err(|e| e.to_string())?;
    Ok(if magic.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(f))
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Box::new(zstd::stream::read::Decoder::with_buffer(f).map_err(|e| e.to_string())?)
    } else {
        Box::new(f)
    })
}

/// The entry's path as normal components, or `None` when it has `..` (refused).
fn clean(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir | Component::RootDir => {}
            _ => return None,
        }
    }
    Some(out)
}

/// Resolves `rel`'s parent directories inside `root`, following symlinks as if `root` were
/// `/`; the last component is not followed. Never leaves `root`.
fn resolve_parent(root: &Path, rel: &Path) -> Result<PathBuf, String> {
    let mut parts: Vec<std::ffi::OsString> =
        rel.components().map(|c| c.as_os_str().to_owned()).collect();
    let last = parts.pop().ok_or("empty path")?;
    let mut cur = PathBuf::new();
    let mut queue: std::collections::VecDeque<std::ffi::OsString> = parts.into();
    let mut hops = 0;
    while let Some(part) = queue.pop_front() {
        if part == ".." {
            cur.pop();
            continue;
        }
        if part == "." || part.is_empty() {
            continue;
        }
        let next = cur.join(&part);
        match std::fs::symlink_metadata(root.join(&next)) {
            Ok(m) if m.file_type().is_symlink() => {
                hops += 1;
                if hops > 40 {
                    return Err(format!("{}: too many symbolic links", rel.display()));
                }
                let target = std::fs::read_link(root.join(&next)).map_err(|e| e.to_string())?;
                if target.is_absolute() {
                    cur = PathBuf::new();
                }
                let mut rest: Vec<std::ffi::OsString> = target
                    .components()
                    .filter(|c| !matches!(c, Component::RootDir))
                    .map(|c| c.as_os_str().to_owned())
                    .collect();
                rest.extend(queue.drain(..));
                queue = rest.into();
            }
            Ok(m) if m.is_dir() => cur = next,
            Ok(_) => return Err(format!("{}: a parent is not a directory", rel.display())),
            Err(_) => {
                std::fs::create_dir_all(root.join(&next)).map_err(|e| e.to_string())?;
                cur = next;
            }
        }
    }
    Ok(root.join(cur).join(last))
}

fn unpack_layer(blob: &Path, root: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut ar = tar::Archive::new(open_layer(blob)?);
    let mut written: HashSet<PathBuf> = HashSet::new();
    for entry in ar.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let raw = entry.path().map_err(|e| e.to_string())?.into_owned();
        let Some(rel) = clean(&raw) else {
            return Err(format!("entry {} leaves the root", raw.display()));
        };
        if rel.as_os_str().is_empty() {
            continue;
        }
        let name = rel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(hidden) = name.strip_prefix(".wh.") {
            let parent = rel.parent().unwrap_or(Path::new(""));
            let dir = resolve_parent(root, &parent.join("x"))?
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| root.to_path_buf());
            if hidden == ".wh..opq" {
                if let Ok(rd) = std::fs::read_dir(&dir) {
                    for e in rd.flatten() {
                        let child = parent.join(e.file_name());
                        if !written.iter().any(|w| w.starts_with(&child)) {
                            crate::cache::remove_path(&e.path()).map_err(|e| e.to_string())?;
                        }
                    }
                }
            } else {
                crate::cache::remove_path(&dir.join(hidden)).map_err(|e| e.to_string())?;
            }
            continue;
        }
        let dest = resolve_parent(root, &rel)?;
        let kind = entry.header().entry_type();
        let mode = entry.header().mode().unwrap_or(0o644) & 0o777;
        match kind {
            tar::EntryType::Directory => {
                if std::fs::symlink_metadata(&dest).is_ok_and(|m| !m.is_dir()) {
                    crate::cache::remove_path(&dest).map_err(|e| e.to_string())?;
                }
                std::fs::create_dir_all(&dest).map_err(|e| e.to_string())?;
                std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(mode | 0o700))
                    .map_err(|e| e.to_string())?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                crate::cache::remove_path(&dest).map_err(|e| e.to_string())?;
                let mut f = File::create(&dest).map_err(|e| format!("{}: {e}", rel.display()))?;
                std::io::copy(&mut entry, &mut f).map_err(|e| e.to_string())?;
                std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(mode))
                    .map_err(|e| e.to_string())?;
            }
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name()
                    .map_err(|e| e.to_string())?
                    .ok_or("symlink without target")?;
                crate::cache::remove_path(&dest).map_err(|e| e.to_string())?;
                std::os::unix::fs::symlink(target.as_ref(), &dest).map_err(|e| e.to_string())?;
            }
            tar::EntryType::Link => {
                let target = entry
                    .link_name()
                    .map_err(|e| e.to_string())?
                    .ok_or("hard link without target")?;
                let Some(t) = clean(&target) else {
                    return Err(format!("hard link {} leaves the root", rel.display()));
                };
                let src = resolve_parent(root, &t)?;
                crate::cache::remove_path(&dest).map_err(|e| e.to_string())?;
                std::fs::hard_link(&src, &dest).map_err(|e| format!("{}: {e}", rel.display()))?;
            }
            // Devices, FIFOs and PAX/GNU metadata entries: nothing to create.
            _ => continue,
        }
        written.insert(rel);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(dir: &Path, name: &str, build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> PathBuf {
        let mut b = tar::Builder::new(Vec::new());
        build(&mut b);
        let bytes = b.into_inner().unwrap();
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn file(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o4755);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, path, data).unwrap();
    }

    fn symlink(b: &mut tar::Builder<Vec<u8>>, path: &str, target: &str) {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, path, target).unwrap();
    }

    #[test]
    fn whiteouts_symlinked_parents_and_escapes() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(&root).unwrap();
        let l1 = layer(dir.path(), "l1", |b| {
            file(b, "usr/bin/tool", b"v1");
            symlink(b, "bin", "/usr/bin");
            file(b, "etc/keep", b"k");
            file(b, "etc/old", b"o");
            file(b, "opt/a/x", b"x");
            symlink(b, "evil", "/../../../../tmp");
        });
        let l2 = layer(dir.path(), "l2", |b| {
            file(b, "etc/.wh.old", b"");
            file(b, "opt/a/.wh..wh..opq", b"");
            file(b, "opt/a/y", b"y");
            // Through the absolute symlink: must land inside the root.
            file(b, "bin/other", b"o");
            file(b, "evil/escaped", b"no");
        });
        unpack_layer(&l1, &root).unwrap();
        unpack_layer(&l2, &root).unwrap();
        assert_eq!(std::fs::read(root.join("usr/bin/other")).unwrap(), b"o");
        assert!(root.join("etc/keep").exists() && !root.join("etc/old").exists());
        assert!(!root.join("opt/a/x").exists() && root.join("opt/a/y").exists());
        assert!(
            root.join("tmp/escaped").exists(),
            "followed inside the root"
        );
        assert!(
            !Path::new("/tmp/escaped").exists() || std::fs::read("/tmp/escaped").unwrap() != b"no"
        );
        let mode = std::fs::metadata(root.join("usr/bin/tool"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o755, "setuid dropped");
        let bad = layer(dir.path(), "l3", |b| {
            let mut h = tar::Header::new_gnu();
            h.set_size(1);
            h.set_entry_type(tar::EntryType::Regular);
            // `append_data` refuses `..`; write the name bytes directly.
            h.as_gnu_mut().unwrap().name[..8].copy_from_slice(b"../oops\0");
            h.set_cksum();
            b.append(&h, &b"x"[..]).unwrap();
        });
        assert!(
            unpack_layer(&bad, &root)
                .unwrap_err()
                .contains("leaves the root")
        );
    }
}
