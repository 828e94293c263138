//! RPM package databases written by real rpm tooling (scripts/test-deps/rpmdb-fixtures.sh:
//! rpmbuild + `rpm -i --justdb` for SQLite, Berkeley DB's db_load for `Packages`, both
//! read back by rpm itself when the fixtures are made), damaged copies of them, and a
//! Rocky Linux image scanned and matched end to end.

use std::path::{Path, PathBuf};

use shipgate_image::os::rpm::{parse_header, read_database};
use shipgate_image::testsupport::{self, Compression, Entry, Image, Layer};
use shipgate_image::{MatchOptions, PackageKind, RawPackage, match_scan, scan_image};

use crate::support::{advisory_db, options};

/// The fixture directory; under CI a missing one is a failure, elsewhere the test is skipped.
fn fixtures() -> Option<PathBuf> {
    let dir = match std::env::var_os("SHIPGATE_RPMDB_FIXTURES") {
        Some(d) => PathBuf::from(d),
        None => std::env::var_os("SHIPGATE_TEST_CACHE")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/shipgate")))?
            .join("rpmdb-fixtures/v1"),
    };
    if dir.join(".complete").is_file() {
        return Some(dir);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "{} is missing under CI=true; run scripts/test-deps/rpmdb-fixtures.sh",
            dir.display()
        );
    }
    eprintln!(
        "SKIP: {} missing (run scripts/test-deps/rpmdb-fixtures.sh)",
        dir.display()
    );
    None
}

type Row = (String, String, String, String);

/// `(name, [epoch:]version-release, arch, source package)`, sorted.
fn rows(packages: &[RawPackage]) -> Vec<Row> {
    let mut v: Vec<Row> = packages
        .iter()
        .map(|p| {
            assert_eq!(p.kind, PackageKind::Rpm);
            (
                p.name.clone(),
                p.version.clone(),
                p.arch.clone().unwrap_or_default(),
                p.source_name.clone().unwrap_or_default(),
            )
        })
        .collect();
    v.sort();
    v
}

/// What the fixture specs define.
fn want() -> Vec<Row> {
    [
        (
            "shipgate-hello",
            "2:1.2.3-4.el9",
            "noarch",
            "shipgate-hello",
        ),
        (
            "shipgate-libtools",
            "0.9.1-2.el9_3",
            "noarch",
            "shipgate-tools",
        ),
        (
            "shipgate-tools",
            "0.9.1-2.el9_3",
            "noarch",
            "shipgate-tools",
        ),
    ]
    .iter()
    .map(|(a, b, c, d)| (a.to_string(), b.to_string(), c.to_string(), d.to_string()))
    .collect()
}

/// What `rpm -qa` said about the database when the fixtures were made, in the same shape.
fn rpm_qa(dir: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(dir.join("expected.tsv")).expect("expected.tsv");
    let mut v: Vec<Row> = text
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let evr = match f[1] {
                "(none)" | "0" => format!("{}-{}", f[2], f[3]),
                e => format!("{e}:{}-{}", f[2], f[3]),
            };
            let source = shipgate_image::os::rpm::source_package(f[5])
                .map(|(n, _)| n.to_string())
                .unwrap_or_default();
            (f[0].to_string(), evr, f[4].to_string(), source)
        })
        .collect();
    v.sort();
    v
}

fn header_blobs(dir: &Path) -> Vec<(u32, Vec<u8>)> {
    let mut v: Vec<(u32, Vec<u8>)> = std::fs::read_dir(dir.join("headers"))
        .expect("headers")
        .map(|e| {
            let path = e.expect("entry").path();
            let n = path
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse().ok())
                .expect("numbered header file");
            (n, std::fs::read(&path).expect("read header"))
        })
        .collect();
    v.sort();
    v
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// An NDB `Packages.db` holding the given header blobs, laid out as rpm's
/// lib/backend/ndb/rpmpkg.c writes it (one slot page, blobs from block 256).
/// Debian's rpm cannot write NDB, so the container is made here; the headers
/// inside are the ones rpm wrote.
fn build_ndb(blobs: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut out = vec![0u8; 4096];
    out[0..4].copy_from_slice(b"RpmP");
    out[8..12].copy_from_slice(&1u32.to_le_bytes()); // generation
    out[12..16].copy_from_slice(&1u32.to_le_bytes()); // slot pages
    let next = blobs.iter().map(|b| b.0).max().unwrap_or(0) + 1;
    out[16..20].copy_from_slice(&next.to_le_bytes());
    for slot in 2..256 {
        out[slot * 16..slot * 16 + 4].copy_from_slice(b"Slot");
    }
    let mut block = 256u32;
    for (i, (pkg, blob)) in blobs.iter().enumerate() {
        let count = (16 + blob.len() + 12).div_ceil(16);
        let s = (2 + i) * 16;
        out[s + 4..s + 8].copy_from_slice(&pkg.to_le_bytes());
        out[s + 8..s + 12].copy_from_slice(&block.to_le_bytes());
        out[s + 12..s + 16].copy_from_slice(&(count as u32).to_le_bytes());
        let mut b = Vec::new();
        b.extend_from_slice(b"BlbS");
        b.extend_from_slice(&pkg.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&(blob.len() as u32).to_le_bytes());
        b.extend_from_slice(blob);
        b.resize(count * 16 - 12, 0);
        let sum = adler32(&b);
        b.extend_from_slice(&sum.to_le_bytes());
        b.extend_from_slice(&(blob.len() as u32).to_le_bytes());
        b.extend_from_slice(b"BlbE");
        out.extend(b);
        block += count as u32;
    }
    out
}

fn read_ok(data: &[u8], what: &str) -> Vec<Row> {
    let (packages, problems) = read_database(data);
    assert!(problems.is_empty(), "{what}: {problems:?}");
    rows(&packages)
}

#[test]
fn sqlite_database_written_by_rpm() {
    let Some(dir) = fixtures() else { return };
    let data = std::fs::read(dir.join("sqlite/rpmdb.sqlite")).expect("read");
    assert_eq!(read_ok(&data, "sqlite"), want());
    assert_eq!(
        rpm_qa(&dir),
        want(),
        "rpm -qa disagrees with the spec files"
    );
}

#[test]
fn berkeley_db_little_and_big_endian() {
    let Some(dir) = fixtures() else { return };
    for d in ["bdb", "bdb-be"] {
        let data = std::fs::read(dir.join(d).join("Packages")).expect("read");
        assert_eq!(read_ok(&data, d), want(), "{d}");
    }
}

#[test]
fn ndb_container_around_rpm_headers() {
    let Some(dir) = fixtures() else { return };
    let ndb = build_ndb(&header_blobs(&dir));
    assert_eq!(read_ok(&ndb, "ndb"), want());
}

/// `(NAME, EPOCH, LICENSE, SOURCERPM)` of a header.
type Fields = (String, Option<u32>, Option<String>, Option<String>);

#[test]
fn licenses_and_epochs_from_real_headers() {
    let Some(dir) = fixtures() else { return };
    let mut got: Vec<Fields> = header_blobs(&dir)
        .iter()
        .map(|(_, b)| {
            let h = parse_header(b).expect("header");
            (h.name, h.epoch, h.license, h.source_rpm)
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (
                "shipgate-hello".to_string(),
                Some(2),
                Some("MIT".to_string()),
                Some("shipgate-hello-1.2.3-4.el9.src.rpm".to_string())
            ),
            (
                "shipgate-libtools".to_string(),
                None,
                Some("LGPL-2.1-or-later".to_string()),
                Some("shipgate-tools-0.9.1-2.el9_3.src.rpm".to_string())
            ),
            (
                "shipgate-tools".to_string(),
                None,
                Some("Apache-2.0 AND BSD-3-Clause".to_string()),
                Some("shipgate-tools-0.9.1-2.el9_3.src.rpm".to_string())
            ),
        ]
    );
}

/// Truncated copies: never an internal error, only packages rpm wrote, and a
/// problem whenever packages are missing.
#[test]
fn truncated_databases() {
    let Some(dir) = fixtures() else { return };
    let all = want();
    let mut inputs = vec![];
    for d in ["sqlite/rpmdb.sqlite", "bdb/Packages", "bdb-be/Packages"] {
        inputs.push((d.to_string(), std::fs::read(dir.join(d)).expect("read")));
    }
    inputs.push(("ndb".to_string(), build_ndb(&header_blobs(&dir))));
    for (what, data) in &inputs {
        let mut cuts: Vec<usize> = (0..data.len()).step_by(509).collect();
        cuts.extend((1..=data.len() / 4096).map(|p| p * 4096 - 1));
        for cut in cuts {
            let (packages, problems) = read_database(&data[..cut]);
            assert!(
                problems.iter().all(|p| !p.contains("internal error")),
                "{what} cut at {cut}: {problems:?}"
            );
            let got = rows(&packages);
            assert!(
                got.iter().all(|r| all.contains(r)),
                "{what} cut at {cut}: {got:?}"
            );
            assert!(
                got.len() == all.len() || !problems.is_empty(),
                "{what} cut at {cut}: {} packages and no problem",
                got.len()
            );
        }
    }
}

/// Damaged bytes all over each database and each header: no panic, no hang.
#[test]
fn damaged_databases_and_headers() {
    let Some(dir) = fixtures() else { return };
    let mut inputs = vec![];
    for d in ["sqlite/rpmdb.sqlite", "bdb/Packages", "bdb-be/Packages"] {
        inputs.push((d.to_string(), std::fs::read(dir.join(d)).expect("read")));
    }
    inputs.push(("ndb".to_string(), build_ndb(&header_blobs(&dir))));
    for (what, data) in &inputs {
        for (i, pos) in (0..data.len()).step_by(97).enumerate() {
            let mut d = data.clone();
            d[pos] = [0x00, 0xff, 0x7f, 0x80, d[pos] ^ 0x01][i % 5];
            let (_, problems) = read_database(&d);
            assert!(
                problems.iter().all(|p| !p.contains("internal error")),
                "{what} byte {pos}: {problems:?}"
            );
        }
    }
    // parse_header is not wrapped in catch_unwind: a panic fails this test.
    for (_, blob) in header_blobs(&dir) {
        for pos in 0..blob.len() {
            for v in [0x00, 0xff, 0x7f, 0x80, blob[pos] ^ 0x01] {
                let mut b = blob.clone();
                b[pos] = v;
                let _ = parse_header(&b);
            }
        }
        for cut in 0..blob.len() {
            assert!(parse_header(&blob[..cut]).is_err(), "cut at {cut}");
        }
    }
}

fn rocky_image(rpmdb: Vec<u8>) -> Image {
    Image::new(vec![
        Layer::new(
            "/bin/sh -c #(nop) ADD file:rocky in /",
            Compression::Gzip,
            vec![
                Entry::file(
                    "etc/os-release",
                    "NAME=\"Rocky Linux\"\nVERSION=\"9.3 (Blue Onyx)\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.3\"\nPRETTY_NAME=\"Rocky Linux 9.3 (Blue Onyx)\"\n",
                ),
                Entry::file("etc/rocky-release", "Rocky Linux release 9.3 (Blue Onyx)\n"),
                Entry::file("var/lib/rpm/rpmdb.sqlite", rpmdb),
            ],
        ),
        Layer::new(
            "RUN rpm -i broken",
            Compression::Gzip,
            vec![Entry::file(
                "usr/lib/sysimage/rpm/Packages.db",
                b"RpmP\x00\x00\x00\x00garbage".to_vec(),
            )],
        ),
    ])
}

/// The advisories the RPM image is matched against.
const ADVISORIES: &[&str] = &[
    // Installed 2:1.2.3-4.el9 is below the fix.
    r#"{"id":"RLSA-TEST-1","modified":"2024-01-01T00:00:00Z","summary":"hello flaw",
            "affected":[{"package":{"ecosystem":"Rocky Linux:9","name":"shipgate-hello"},
              "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2:1.2.4-1.el9"}]}]}]}"#,
    // Fixed at a lower epoch: epoch 2 is newer whatever the version.
    r#"{"id":"RLSA-TEST-2","modified":"2024-01-01T00:00:00Z","summary":"hello old",
            "affected":[{"package":{"ecosystem":"Rocky Linux:9","name":"shipgate-hello"},
              "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1:9.0-1.el9"}]}]}]}"#,
    // Binary package of the shipgate-tools source, by its own name.
    r#"{"id":"RLSA-TEST-3","modified":"2024-01-01T00:00:00Z","summary":"libtools flaw",
            "affected":[{"package":{"ecosystem":"Rocky Linux:9","name":"shipgate-libtools"},
              "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"0.9.1-3.el9_3"}]}]}]}"#,
    // Fixed in exactly the installed release.
    r#"{"id":"RLSA-TEST-4","modified":"2024-01-01T00:00:00Z","summary":"tools fixed",
            "affected":[{"package":{"ecosystem":"Rocky Linux:9","name":"shipgate-tools"},
              "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"0.9.1-2.el9_3"}]}]}]}"#,
    // Another release.
    r#"{"id":"RLSA-TEST-5","modified":"2024-01-01T00:00:00Z","summary":"tools in 8",
            "affected":[{"package":{"ecosystem":"Rocky Linux:8","name":"shipgate-tools"},
              "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}"#,
];

#[test]
fn rocky_image_lists_and_matches_rpm_packages() {
    let Some(fixtures) = fixtures() else { return };
    let rpmdb = std::fs::read(fixtures.join("sqlite/rpmdb.sqlite")).expect("read");
    let dir = tempfile::tempdir().expect("tmp");
    let layout = dir.path().join("layout");
    testsupport::write_oci_layout(&rocky_image(rpmdb.clone()), &layout, "9.3").expect("write");
    let scan = scan_image(layout.to_str().expect("utf8"), &options(None)).expect("scan");

    let os = scan.os.as_ref().expect("os");
    assert_eq!(os.ecosystem.as_deref(), Some("Rocky Linux:9"));
    let got: Vec<(&str, &str, &str, &str, usize)> = scan
        .packages
        .iter()
        .map(|p| {
            (
                p.ecosystem.as_deref().unwrap_or(""),
                p.name.as_str(),
                p.purl.as_str(),
                p.path.as_str(),
                p.layer.index,
            )
        })
        .collect();
    let db = "var/lib/rpm/rpmdb.sqlite";
    assert_eq!(
        got,
        vec![
            (
                "Rocky Linux:9",
                "shipgate-hello",
                "pkg:rpm/rocky/shipgate-hello@1.2.3-4.el9?arch=noarch&distro=rocky-9.3&epoch=2",
                db,
                0
            ),
            (
                "Rocky Linux:9",
                "shipgate-libtools",
                "pkg:rpm/rocky/shipgate-libtools@0.9.1-2.el9_3?arch=noarch&distro=rocky-9.3&upstream=shipgate-tools",
                db,
                0
            ),
            (
                "Rocky Linux:9",
                "shipgate-tools",
                "pkg:rpm/rocky/shipgate-tools@0.9.1-2.el9_3?arch=noarch&distro=rocky-9.3",
                db,
                0
            ),
        ]
    );
    // The damaged NDB in the second layer is an issue naming its file; the scan goes on.
    assert_eq!(scan.issues.len(), 1, "{:?}", scan.issues);
    let issue = &scan.issues[0];
    assert_eq!(
        issue.path.as_deref(),
        Some("usr/lib/sysimage/rpm/Packages.db")
    );
    assert_eq!(issue.layer, scan.layers[1].digest);
    assert!(
        issue.message.starts_with("RPM database (NDB): "),
        "{}",
        issue.message
    );

    // Matching.
    let vulndb = advisory_db(dir.path(), ADVISORIES);
    let out = match_scan(&scan, &vulndb, &MatchOptions::default());
    let mut findings: Vec<(&str, &str, &str)> = out
        .findings
        .iter()
        .map(|f| {
            (
                f.rule_id.as_str(),
                f.properties["installed_package"].as_str().unwrap_or(""),
                f.properties["installed_version"].as_str().unwrap_or(""),
            )
        })
        .collect();
    findings.sort();
    assert_eq!(
        findings,
        vec![
            ("RLSA-TEST-1", "shipgate-hello", "2:1.2.3-4.el9"),
            ("RLSA-TEST-3", "shipgate-libtools", "0.9.1-2.el9_3"),
        ]
    );
    let hello = out
        .findings
        .iter()
        .find(|f| f.rule_id == "RLSA-TEST-1")
        .expect("finding");
    assert_eq!(hello.location.path.as_deref(), Some(db));
    assert_eq!(hello.location.layer, scan.layers[0].digest);
    assert_eq!(
        hello.package.as_ref().and_then(|p| p.purl.as_deref()),
        Some("pkg:rpm/rocky/shipgate-hello@1.2.3-4.el9?arch=noarch&distro=rocky-9.3&epoch=2")
    );
    // The issue became a report error naming the file.
    assert_eq!(out.errors.len(), 1, "{:?}", out.errors);

    // The same files as a root filesystem directory.
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("etc")).expect("mkdir");
    std::fs::create_dir_all(root.join("var/lib/rpm")).expect("mkdir");
    std::fs::write(root.join("etc/os-release"), "ID=rocky\nVERSION_ID=9.3\n").expect("write");
    std::fs::write(root.join("var/lib/rpm/rpmdb.sqlite"), &rpmdb).expect("write");
    let scan = scan_image(root.to_str().expect("utf8"), &options(None)).expect("rootfs scan");
    assert!(scan.issues.is_empty(), "{:?}", scan.issues);
    assert_eq!(scan.packages.len(), 3);
    assert!(
        scan.packages
            .iter()
            .all(|p| p.purl.starts_with("pkg:rpm/rocky/") && p.path == db)
    );
}
