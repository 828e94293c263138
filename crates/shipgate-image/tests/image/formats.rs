//! Every local input format gives the same packages; whiteouts, compression,
//! platforms and the cache behave.

use shipgate_image::testsupport::{self, Compression, Entry, Image, Layer};
use shipgate_image::{InputKind, PackageKind, Platform, ScanOptions, detect, scan_image};

use crate::support::{expected_sample, options, sample_image, summary};

#[test]
fn oci_layout_all_compressions() {
    let dir = tempfile::tempdir().expect("tmp");
    let layout = dir.path().join("layout");
    let image = sample_image([Compression::Gzip, Compression::Zstd, Compression::None]);
    let digest = testsupport::write_oci_layout(&image, &layout, "latest").expect("write");
    let input = layout.to_str().expect("utf8");
    assert_eq!(detect(input).expect("detect"), InputKind::OciLayout);
    let scan = scan_image(input, &options(None)).expect("scan");
    assert!(scan.issues.is_empty(), "{:?}", scan.issues);
    assert_eq!(summary(&scan), expected_sample());
    assert_eq!(scan.manifest_digest.as_deref(), Some(digest.as_str()));
    assert_eq!(scan.platform.as_deref(), Some("linux/amd64"));
    let os = scan.os.as_ref().expect("os");
    assert_eq!(
        (os.id.as_str(), os.ecosystem.as_deref()),
        ("debian", Some("Debian:12"))
    );
    // Layer identity: digest and history entry.
    let go = scan
        .packages
        .iter()
        .find(|p| p.name == "stdlib" && p.layer.index == 1)
        .expect("go");
    assert_eq!(go.layer.created_by.as_deref(), Some("RUN install app"));
    assert_eq!(go.layer.digest, scan.layers[1].digest);
    assert!(
        go.layer
            .digest
            .as_deref()
            .is_some_and(|d| d.starts_with("sha256:"))
    );
    // dpkg source package kept, purls right.
    let ssl = scan
        .packages
        .iter()
        .find(|p| p.name == "libssl3")
        .expect("libssl3");
    assert_eq!(ssl.kind, PackageKind::Deb);
    assert_eq!(ssl.source_name.as_deref(), Some("openssl"));
    assert_eq!(
        ssl.purl,
        "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl"
    );
    let jackson = scan
        .packages
        .iter()
        .find(|p| p.name.ends_with("jackson-databind"))
        .expect("jar");
    assert_eq!(
        jackson.purl,
        "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.10"
    );
}

#[test]
fn oci_archive_and_docker_archive_match_layout() {
    let dir = tempfile::tempdir().expect("tmp");
    let image = sample_image([Compression::Gzip, Compression::Gzip, Compression::Gzip]);
    let oci = dir.path().join("image-oci.tar");
    testsupport::write_oci_archive(&image, &oci).expect("write");
    let docker = dir.path().join("image-docker.tar");
    testsupport::write_docker_archive(&image, &docker, "example/app:1").expect("write");

    assert_eq!(
        detect(oci.to_str().expect("utf8")).expect("detect"),
        InputKind::OciArchive
    );
    assert_eq!(
        detect(docker.to_str().expect("utf8")).expect("detect"),
        InputKind::DockerArchive
    );
    for archive in [&oci, &docker] {
        let scan = scan_image(archive.to_str().expect("utf8"), &options(None)).expect("scan");
        assert!(
            scan.issues.is_empty(),
            "{}: {:?}",
            archive.display(),
            scan.issues
        );
        assert_eq!(summary(&scan), expected_sample(), "{}", archive.display());
        assert_eq!(scan.layers.len(), 3);
        assert!(
            scan.layers
                .iter()
                .all(|l| l.digest.is_some() && l.created_by.is_some())
        );
    }
}

#[test]
fn rootfs_directory_and_symlink_escape() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("etc")).expect("mkdir");
    std::fs::create_dir_all(root.join("lib/apk/db")).expect("mkdir");
    std::fs::write(root.join("etc/alpine-release"), "3.19.1\n").expect("write");
    std::fs::write(
        root.join("lib/apk/db/installed"),
        "P:musl\nV:1.2.4_git20230717-r4\nA:x86_64\no:musl\n\n",
    )
    .expect("write");
    // A host file reachable only through a symlink that points outside the root.
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(outside.join("node_modules/evil")).expect("mkdir");
    std::fs::write(
        outside.join("node_modules/evil/package.json"),
        r#"{"name":"evil","version":"6.6.6"}"#,
    )
    .expect("write");
    std::os::unix::fs::symlink(&outside, root.join("escape")).expect("symlink");
    std::os::unix::fs::symlink("/etc/os-release", root.join("etc/os-release")).expect("symlink");

    let input = root.to_str().expect("utf8");
    assert_eq!(detect(input).expect("detect"), InputKind::Rootfs);
    let scan = scan_image(input, &options(None)).expect("scan");
    let names: Vec<&str> = scan.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, vec!["musl"]);
    assert_eq!(
        scan.os.as_ref().and_then(|o| o.ecosystem.as_deref()),
        Some("Alpine:v3.19")
    );
    assert_eq!(
        scan.packages[0].purl,
        "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.1"
    );
    assert!(scan.packages[0].layer.digest.is_none());
}

#[test]
fn multi_platform_index_in_layout() {
    let dir = tempfile::tempdir().expect("tmp");
    let layout = dir.path().join("multi");
    let amd = Image::new(vec![Layer::new(
        "amd",
        Compression::Gzip,
        vec![Entry::file(
            "a/node_modules/amd-only/package.json",
            r#"{"name":"amd-only","version":"1.0.0"}"#,
        )],
    )]);
    let arm = Image::new(vec![Layer::new(
        "arm",
        Compression::Gzip,
        vec![Entry::file(
            "a/node_modules/arm-only/package.json",
            r#"{"name":"arm-only","version":"2.0.0"}"#,
        )],
    )])
    .arch("arm64");
    testsupport::write_oci_layout_multi(&[amd, arm], &layout, "latest").expect("write");
    let input = layout.to_str().expect("utf8");

    let scan = scan_image(input, &options(None)).expect("scan amd64");
    assert_eq!(
        scan.packages
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        vec!["amd-only"]
    );
    assert_eq!(scan.platform.as_deref(), Some("linux/amd64"));
    assert!(
        scan.notes.iter().any(|n| n.contains("scanned linux/amd64")),
        "{:?}",
        scan.notes
    );

    let arm_opts = ScanOptions {
        platform: "linux/arm64".parse::<Platform>().expect("platform"),
        ..ScanOptions::default()
    };
    let scan = scan_image(input, &arm_opts).expect("scan arm64");
    assert_eq!(
        scan.packages
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        vec!["arm-only"]
    );
    assert_eq!(scan.platform.as_deref(), Some("linux/arm64"));

    let s390 = ScanOptions {
        platform: "linux/s390x".parse::<Platform>().expect("platform"),
        ..ScanOptions::default()
    };
    let err = scan_image(input, &s390)
        .expect_err("no such platform")
        .to_string();
    assert!(
        err.contains("linux/s390x") && err.contains("linux/amd64, linux/arm64"),
        "{err}"
    );
}

#[test]
fn cache_hits_on_rescan_and_shared_base_layers() {
    let dir = tempfile::tempdir().expect("tmp");
    let cache = dir.path().join("cache");
    let image = sample_image([Compression::Gzip, Compression::Gzip, Compression::Gzip]);
    let layout = dir.path().join("a");
    testsupport::write_oci_layout(&image, &layout, "latest").expect("write");
    let opts = options(Some(&cache));
    let cold = scan_image(layout.to_str().expect("utf8"), &opts).expect("cold");
    assert!(
        cold.notes
            .iter()
            .any(|n| n == "layer cache: 0 of 3 layers already analysed"),
        "{:?}",
        cold.notes
    );
    let warm = scan_image(layout.to_str().expect("utf8"), &opts).expect("warm");
    assert!(
        warm.notes
            .iter()
            .any(|n| n == "layer cache: 3 of 3 layers already analysed"),
        "{:?}",
        warm.notes
    );
    assert_eq!(summary(&cold), summary(&warm));

    // A second image sharing the base layer reuses its analysis.
    let mut other = image.clone();
    other.layers.truncate(1);
    other.layers.push(Layer::new(
        "RUN other",
        Compression::Gzip,
        vec![Entry::file(
            "x/node_modules/other/package.json",
            r#"{"name":"other","version":"1.0.0"}"#,
        )],
    ));
    let layout_b = dir.path().join("b");
    testsupport::write_oci_layout(&other, &layout_b, "latest").expect("write");
    let scan = scan_image(layout_b.to_str().expect("utf8"), &opts).expect("scan b");
    assert!(
        scan.notes
            .iter()
            .any(|n| n == "layer cache: 1 of 2 layers already analysed"),
        "{:?}",
        scan.notes
    );
    assert!(scan.packages.iter().any(|p| p.name == "other"));
    assert!(scan.packages.iter().any(|p| p.name == "minimist"));
    // Only cache files were written, all under the cache dir.
    let entries = std::fs::read_dir(cache.join(format!(
        "image-layers/v{}",
        shipgate_image::cache::ANALYZER_VERSION
    )))
    .expect("cache dir")
    .count();
    assert_eq!(entries, 4);
}

#[test]
fn distroless_status_d_without_os_release() {
    let dir = tempfile::tempdir().expect("tmp");
    let layout = dir.path().join("distroless");
    let image = Image::new(vec![Layer::new(
        "bazel build",
        Compression::Gzip,
        vec![
            Entry::file(
                "var/lib/dpkg/status.d/base-files",
                "Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n",
            ),
            Entry::file(
                "var/lib/dpkg/status.d/base-files.md5sums",
                "abc  etc/issue\n",
            ),
        ],
    )]);
    testsupport::write_oci_layout(&image, &layout, "latest").expect("write");
    let scan = scan_image(layout.to_str().expect("utf8"), &options(None)).expect("scan");
    assert_eq!(scan.packages.len(), 1);
    assert!(scan.os.is_none());
    assert!(scan.packages[0].ecosystem.is_none());
    assert!(
        scan.notes
            .iter()
            .any(|n| n.contains("could not be identified")),
        "{:?}",
        scan.notes
    );
    assert!(scan.issues.is_empty());
}
