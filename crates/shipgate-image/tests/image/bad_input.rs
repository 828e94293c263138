//! Hostile and broken inputs: clear errors, no panic, nothing written.

use std::fs;

use shipgate_image::testsupport::{self, Compression, Entry, Image, Layer};
use shipgate_image::{Error, Expected, Limits, ScanOptions, analyze_layer, scan_image};

use crate::support::{options, sample_image};

fn layout_with(image: &Image) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tmp");
    let layout = dir.path().join("layout");
    testsupport::write_oci_layout(image, &layout, "latest").expect("write");
    let s = layout.to_str().expect("utf8").to_string();
    (dir, s)
}

fn layer_blob_paths(layout: &str) -> Vec<std::path::PathBuf> {
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(format!("{layout}/index.json")).expect("index"))
            .expect("json");
    let mdigest = index["manifests"][0]["digest"]
        .as_str()
        .expect("digest")
        .replace(':', "/");
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(format!("{layout}/blobs/{mdigest}")).expect("manifest"))
            .expect("json");
    manifest["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| {
            format!(
                "{layout}/blobs/{}",
                l["digest"].as_str().expect("digest").replace(':', "/")
            )
            .into()
        })
        .collect()
}

#[test]
fn digest_mismatch_is_reported_and_layer_dropped() {
    let (_dir, layout) = layout_with(&sample_image([
        Compression::None,
        Compression::None,
        Compression::None,
    ]));
    let blobs = layer_blob_paths(&layout);
    // Flip one byte inside a file's content in the base layer (tar stays valid).
    let mut data = fs::read(&blobs[0]).expect("read");
    let pos = data
        .windows(6)
        .position(|w| w == b"libc6\n")
        .expect("content");
    data[pos] = b'L';
    fs::write(&blobs[0], &data).expect("write");
    let scan = scan_image(&layout, &options(None)).expect("scan goes on");
    assert_eq!(scan.issues.len(), 1, "{:?}", scan.issues);
    assert!(
        scan.issues[0].message.contains("digest mismatch"),
        "{}",
        scan.issues[0].message
    );
    assert!(
        !scan
            .packages
            .iter()
            .any(|p| p.name == "Libc6" || p.name == "libc6")
    );
    // The other layers are still scanned.
    assert!(scan.packages.iter().any(|p| p.name == "rack"));
}

#[test]
fn corrupt_gzip_and_truncated_tar() {
    let (_dir, layout) = layout_with(&sample_image([
        Compression::Gzip,
        Compression::None,
        Compression::Gzip,
    ]));
    let blobs = layer_blob_paths(&layout);
    let mut gz = fs::read(&blobs[0]).expect("read");
    let mid = gz.len() / 2;
    for b in &mut gz[mid..mid + 16] {
        *b ^= 0x5a;
    }
    fs::write(&blobs[0], &gz).expect("write");
    let plain = fs::read(&blobs[1]).expect("read");
    fs::write(&blobs[1], &plain[..plain.len() / 3]).expect("write");
    let scan = scan_image(&layout, &options(None)).expect("scan goes on");
    assert_eq!(scan.issues.len(), 2, "{:?}", scan.issues);
    for issue in &scan.issues {
        assert!(issue.layer.is_some());
        assert!(
            issue.message.contains("not a readable tar stream")
                || issue.message.contains("digest mismatch"),
            "{}",
            issue.message
        );
    }
}

#[test]
fn dot_dot_and_absolute_paths_are_skipped_or_rooted() {
    let image = Image::new(vec![Layer::new(
        "evil",
        Compression::Gzip,
        vec![
            Entry::RawName {
                name: b"../../etc/node_modules/x/package.json".to_vec(),
                data: br#"{"name":"escaped","version":"1.0.0"}"#.to_vec(),
            },
            Entry::RawName {
                name: b"/app/node_modules/abs/package.json".to_vec(),
                data: br#"{"name":"abs","version":"1.0.0"}"#.to_vec(),
            },
            Entry::HardLink {
                path: "app/node_modules/h/package.json".into(),
                target: "gone/node_modules/x/package.json".into(),
            },
        ],
    )]);
    let (dir, layout) = layout_with(&image);
    let scan = scan_image(&layout, &options(Some(&dir.path().join("cache")))).expect("scan");
    let names: Vec<&str> = scan.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, vec!["abs"]);
    let messages: Vec<&str> = scan.issues.iter().map(|i| i.message.as_str()).collect();
    assert!(messages.iter().any(|m| m.contains("'..'")), "{messages:?}");
    assert!(
        messages.iter().any(|m| m.contains("absolute path")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("hard link")),
        "{messages:?}"
    );
    // Nothing outside the temp dir was created.
    assert!(!dir.path().join("../etc/node_modules").exists());
}

#[test]
fn tar_bomb_limits() {
    let big = vec![0u8; 4 * 1024 * 1024];
    let mut entries: Vec<Entry> = (0..50)
        .map(|i| Entry::file(&format!("f{i}"), Vec::new()))
        .collect();
    entries.push(Entry::file("zeros", big));
    let image = Image::new(vec![Layer::new("bomb", Compression::Gzip, entries)]);
    let (_dir, layout) = layout_with(&image);
    let tight = ScanOptions {
        limits: Limits {
            max_layer_bytes: 1024 * 1024,
            ..Limits::default()
        },
        ..ScanOptions::default()
    };
    let scan = scan_image(&layout, &tight).expect("scan");
    assert!(
        scan.issues[0].message.contains("decompression bomb"),
        "{:?}",
        scan.issues
    );
    let few = ScanOptions {
        limits: Limits {
            max_entries: 10,
            ..Limits::default()
        },
        ..ScanOptions::default()
    };
    let scan = scan_image(&layout, &few).expect("scan");
    assert!(
        scan.issues[0].message.contains("more than 10 tar entries"),
        "{:?}",
        scan.issues
    );
}

#[test]
fn unknown_inputs_and_broken_json() {
    let dir = tempfile::tempdir().expect("tmp");
    let junk = dir.path().join("junk.bin");
    fs::write(&junk, b"this is not a tar archive at all, just some bytes").expect("write");
    let err = scan_image(junk.to_str().expect("utf8"), &options(None)).expect_err("junk");
    assert!(matches!(err, Error::UnknownInput { .. }), "{err}");
    let err = scan_image("./does/not/exist", &options(None)).expect_err("missing");
    assert!(err.to_string().contains("no such file"), "{err}");

    let (_d, layout) = layout_with(&sample_image([Compression::Gzip; 3]));
    fs::write(format!("{layout}/index.json"), b"{\"manifests\": [").expect("write");
    let err = scan_image(&layout, &options(None)).expect_err("bad index");
    assert!(matches!(err, Error::BadJson { .. }), "{err}");
    assert!(err.to_string().contains("index.json"), "{err}");
    fs::write(format!("{layout}/index.json"), br#"{"manifests":[{"digest":"sha256:../../../etc/passwd","mediaType":"application/vnd.oci.image.manifest.v1+json"}]}"#).expect("write");
    let err = scan_image(&layout, &options(None)).expect_err("bad digest");
    assert!(err.to_string().contains("malformed digest"), "{err}");
}

#[test]
fn analyze_layer_rejects_wrong_expected_digest() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("layer");
    testsupport::write_layer(
        &Layer::new("x", Compression::Zstd, vec![Entry::file("a", "b")]),
        &path,
    )
    .expect("write");
    let data = fs::read(&path).expect("read");
    let err = analyze_layer(
        data.as_slice(),
        &Expected::Blob(format!("sha256:{}", "0".repeat(64))),
        "test",
        &Limits::default(),
    )
    .expect_err("mismatch");
    assert!(matches!(err, Error::DigestMismatch { .. }));
}
