//! Tiny OCI image archives built from Debian's `busybox-static`, for the test node: the
//! sandbox ("pause") image and a step image. Nothing is downloaded: the layer holds
//! `/bin/busybox` from the host and applet symlinks, entries sorted, mtimes zero.

use std::io::Write;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::{TestEnvError, io_err};

/// Where `busybox-static` installs the binary.
pub const BUSYBOX: &str = "/bin/busybox";

/// Applets linked into `/bin` (what tests and the Jobs executor use: a shell, tar, head).
const APPLETS: &[&str] = &[
    "cat", "cp", "echo", "env", "false", "head", "id", "ls", "mkdir", "rm", "sh", "sleep", "tar",
    "test", "touch", "true", "wget",
];

/// The sandbox process: sleeps until SIGTERM/SIGINT, then exits 0 (a shell with a trap, since
/// signals without a handler do nothing to PID 1).
pub const PAUSE_ENTRYPOINT: &[&str] = &[
    "/bin/sh",
    "-c",
    "trap 'exit 0' TERM INT; while true; do sleep 3600 & wait $!; done",
];

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn tar_header(path: &str, kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    // Paths here are short and ASCII: set_path cannot fail.
    let _ = h.set_path(path);
    h
}

fn layer() -> Result<Vec<u8>, TestEnvError> {
    let busybox = std::fs::read(BUSYBOX).map_err(io_err(format!(
        "reading {BUSYBOX} (apt-get install -y busybox-static)"
    )))?;
    let mut b = tar::Builder::new(Vec::new());
    let io = |what: &str| io_err(format!("building the busybox layer: {what}"));
    for (dir, mode) in [("bin/", 0o755), ("etc/", 0o755), ("tmp/", 0o1777)] {
        let mut h = tar_header(dir, tar::EntryType::Directory, mode, 0);
        h.set_cksum();
        b.append(&h, std::io::empty()).map_err(io(dir))?;
    }
    let mut h = tar_header(
        "bin/busybox",
        tar::EntryType::Regular,
        0o755,
        busybox.len() as u64,
    );
    h.set_cksum();
    b.append(&h, busybox.as_slice())
        .map_err(io("bin/busybox"))?;
    for applet in APPLETS {
        let path = format!("bin/{applet}");
        let mut h = tar_header(&path, tar::EntryType::Symlink, 0o777, 0);
        h.set_link_name("busybox").map_err(io(&path))?;
        h.set_cksum();
        b.append(&h, std::io::empty()).map_err(io(&path))?;
    }
    b.into_inner().map_err(io("finishing"))
}

/// Writes an OCI archive (an OCI image layout in a tar) with one busybox layer and the given
/// entrypoint; `name` (e.g. `shipgate.test/pause:1`) is recorded both as
/// `io.containerd.image.name` (what `ctr images import` names it) and as the layout's
/// `org.opencontainers.image.ref.name` tag (what `skopeo copy oci-archive:` reads).
pub fn busybox_archive(dest: &Path, name: &str, entrypoint: &[&str]) -> Result<(), TestEnvError> {
    let layer = layer()?;
    let layer_digest = sha256(&layer);
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": entrypoint, "Env": ["PATH=/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{layer_digest}")]},
    })
    .to_string();
    let config_digest = sha256(config.as_bytes());
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": format!("sha256:{config_digest}"),
            "size": config.len(),
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": format!("sha256:{layer_digest}"),
            "size": layer.len(),
        }],
    })
    .to_string();
    let manifest_digest = sha256(manifest.as_bytes());
    let tag = name.rsplit_once(':').map_or("latest", |(_, t)| t);
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{manifest_digest}"),
            "size": manifest.len(),
            "annotations": {
                "io.containerd.image.name": name,
                "org.opencontainers.image.ref.name": tag,
            },
        }],
    })
    .to_string();
    let file =
        std::fs::File::create(dest).map_err(io_err(format!("creating {}", dest.display())))?;
    let mut out = tar::Builder::new(std::io::BufWriter::new(file));
    let io = || io_err(format!("writing {}", dest.display()));
    let entries: [(String, &[u8]); 5] = [
        ("oci-layout".into(), br#"{"imageLayoutVersion":"1.0.0"}"#),
        ("index.json".into(), index.as_bytes()),
        (
            format!("blobs/sha256/{manifest_digest}"),
            manifest.as_bytes(),
        ),
        (format!("blobs/sha256/{config_digest}"), config.as_bytes()),
        (format!("blobs/sha256/{layer_digest}"), &layer),
    ];
    for (path, bytes) in entries {
        let mut h = tar_header(&path, tar::EntryType::Regular, 0o644, bytes.len() as u64);
        h.set_cksum();
        out.append(&h, bytes).map_err(io())?;
    }
    out.into_inner().map_err(io())?.flush().map_err(io())?;
    Ok(())
}
