//! End to end: a real Debian bookworm minbase root filesystem (debootstrap),
//! packed as an image layer and as a directory; the package list must equal
//! what dpkg-query reports for that root.

use std::path::PathBuf;
use std::process::Command;

use shipgate_image::testsupport::{self, Compression, Entry, Image, Layer};
use shipgate_image::{PackageKind, scan_image};

use crate::support::{options, require_tool};

fn rootfs_tarball() -> Option<PathBuf> {
    let cache = std::env::var_os("SHIPGATE_TEST_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/shipgate")))?;
    let tarball = cache.join("debootstrap-bookworm-minbase.tar");
    if tarball.is_file() {
        return Some(tarball);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "{} is missing under CI=true; run scripts/test-deps-image.sh",
            tarball.display()
        );
    }
    eprintln!(
        "SKIP: {} missing (run scripts/test-deps-image.sh)",
        tarball.display()
    );
    None
}

#[test]
fn debian_minbase_matches_dpkg_query() {
    let Some(tarball) = rootfs_tarball() else {
        return;
    };
    let Some(dpkg_query) = require_tool("dpkg-query", &["/usr/bin/dpkg-query"]) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().join("root");
    std::fs::create_dir_all(&root).expect("mkdir");
    let status = Command::new("tar")
        .args(["-xf"])
        .arg(&tarball)
        .args(["-C"])
        .arg(&root)
        .args(["--exclude=./dev/*", "--no-same-owner"])
        .status()
        .expect("tar");
    assert!(status.success());

    let out = Command::new(dpkg_query)
        .arg(format!(
            "--admindir={}",
            root.join("var/lib/dpkg").display()
        ))
        .args(["-W", "-f", "${db:Status-Abbrev}\t${Package}\t${Version}\n"])
        .output()
        .expect("dpkg-query");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut want: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("ii"))
        .filter_map(|l| {
            let mut f = l.split('\t').skip(1);
            Some((f.next()?.to_string(), f.next()?.to_string()))
        })
        .collect();
    want.sort();
    assert!(
        want.len() > 80,
        "minbase has ~90 packages, dpkg-query listed {}",
        want.len()
    );

    let check = |scan: &shipgate_image::ImageScan, what: &str| {
        let mut got: Vec<(String, String)> = scan
            .packages
            .iter()
            .filter(|p| p.kind == PackageKind::Deb)
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect();
        got.sort();
        assert_eq!(got, want, "{what}");
        assert!(scan.issues.is_empty(), "{what}: {:?}", scan.issues);
        let os = scan.os.as_ref().expect("os");
        assert_eq!(os.ecosystem.as_deref(), Some("Debian:12"), "{what}");
        assert!(
            scan.packages
                .iter()
                .all(|p| p.kind != PackageKind::Deb || p.purl.starts_with("pkg:deb/debian/"))
        );
    };

    // As a root filesystem directory.
    let scan = scan_image(root.to_str().expect("utf8"), &options(None)).expect("rootfs scan");
    check(&scan, "rootfs");

    // As a one-layer image built from the tarball.
    let layout = dir.path().join("layout");
    let image = Image::new(vec![Layer::new(
        "debootstrap --variant=minbase bookworm",
        Compression::Gzip,
        vec![Entry::TarFile { src: tarball }],
    )]);
    testsupport::write_oci_layout(&image, &layout, "bookworm").expect("write");
    let scan = scan_image(layout.to_str().expect("utf8"), &options(None)).expect("image scan");
    check(&scan, "oci layout");
    let libc = scan
        .packages
        .iter()
        .find(|p| p.name == "libc6")
        .expect("libc6");
    assert_eq!(libc.source_name.as_deref(), Some("glibc"));
}
