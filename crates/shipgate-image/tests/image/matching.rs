//! Matching an image's packages against a small OSV database built by the test.

use shipgate_image::testsupport::{self, Compression};
use shipgate_image::{MatchOptions, match_scan, scan_image};
use shipgate_report::Severity;

use crate::support::{advisory_db, options, sample_image};

/// The advisories the sample image is matched against.
const ADVISORIES: &[&str] = &[
    // Debian advisories name the source package: libssl3 comes from openssl.
    r#"{"id":"DSA-TEST-1","modified":"2024-01-01T00:00:00Z","summary":"openssl flaw","aliases":["CVE-2024-0001"],
            "affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},
              "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.13-1~deb12u1"}]}]}],
            "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]}"#,
    // Another Debian release must not match.
    r#"{"id":"DSA-TEST-2","modified":"2024-01-01T00:00:00Z","summary":"glibc in 11",
            "affected":[{"package":{"ecosystem":"Debian:11","name":"glibc"},
              "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}"#,
    // Deleted by a whiteout in the top layer: must not match.
    r#"{"id":"GHSA-test-mini","modified":"2024-01-01T00:00:00Z","summary":"minimist prototype pollution",
            "affected":[{"package":{"ecosystem":"npm","name":"minimist"},
              "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.6"}]}]}]}"#,
    // Fixed before the installed version: must not match.
    r#"{"id":"GHSA-test-lodash","modified":"2024-01-01T00:00:00Z","summary":"lodash",
            "affected":[{"package":{"ecosystem":"npm","name":"lodash"},
              "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"4.17.21"}]}]}]}"#,
    // No fix known: dropped by --ignore-unfixed.
    r#"{"id":"PYSEC-TEST-1","modified":"2024-01-01T00:00:00Z","summary":"six unfixed",
            "affected":[{"package":{"ecosystem":"PyPI","name":"six"},
              "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}"#,
    // Inside a nested jar.
    r#"{"id":"GHSA-test-jackson","modified":"2024-01-01T00:00:00Z","summary":"jackson gadget",
            "affected":[{"package":{"ecosystem":"Maven","name":"com.fasterxml.jackson.core:jackson-databind"},
              "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"2.0.0"},{"fixed":"2.9.10.1"}]}]}]}"#,
    // Go module from build info.
    r#"{"id":"GO-TEST-1","modified":"2024-01-01T00:00:00Z","summary":"x/net",
            "affected":[{"package":{"ecosystem":"Go","name":"golang.org/x/net"},
              "ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"0.17.0"}]}]}]}"#,
];

#[test]
fn findings_name_package_layer_and_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = advisory_db(dir.path(), ADVISORIES);

    let layout = dir.path().join("layout");
    testsupport::write_oci_layout(&sample_image([Compression::Gzip; 3]), &layout, "v1")
        .expect("write");
    let scan = scan_image(layout.to_str().expect("utf8"), &options(None)).expect("scan");

    let out = match_scan(&scan, &db, &MatchOptions::default());
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    let mut got: Vec<(String, String, String)> = out
        .findings
        .iter()
        .map(|f| {
            (
                f.rule_id.clone(),
                f.properties["installed_package"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                f.location.path.clone().unwrap_or_default(),
            )
        })
        .collect();
    got.sort();
    let want = [
        ("DSA-TEST-1", "libssl3", "var/lib/dpkg/status"),
        (
            "GHSA-test-jackson",
            "com.fasterxml.jackson.core:jackson-databind",
            "opt/app/app.jar!BOOT-INF/lib/jackson-databind-2.9.10.jar",
        ),
        ("GO-TEST-1", "golang.org/x/net", "usr/local/bin/tool"),
        ("GO-TEST-1", "golang.org/x/net", "usr/local/bin/tool2"),
        (
            "PYSEC-TEST-1",
            "six",
            "usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA",
        ),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(got, want);

    let ssl = out
        .findings
        .iter()
        .find(|f| f.rule_id == "DSA-TEST-1")
        .expect("openssl finding");
    assert_eq!(ssl.scanner, "image");
    assert_eq!(ssl.severity, Severity::Critical);
    assert_eq!(ssl.location.layer, scan.layers[0].digest);
    assert!(
        ssl.message
            .contains("installed as libssl3 3.0.11-1~deb12u2"),
        "{}",
        ssl.message
    );
    assert!(ssl.message.contains("ADD file:base"), "{}", ssl.message);
    let pkg = ssl.package.as_ref().expect("package");
    assert_eq!(pkg.fixed, vec!["3.0.13-1~deb12u1".to_string()]);
    assert!(
        pkg.purl
            .as_deref()
            .is_some_and(|p| p.starts_with("pkg:deb/debian/libssl3@"))
    );
    assert_eq!(
        ssl.advisory.as_ref().map(|a| a.aliases.clone()),
        Some(vec!["CVE-2024-0001".to_string()])
    );
    // Fingerprints are distinct per installed package and file.
    let mut fps: Vec<&str> = out
        .findings
        .iter()
        .map(|f| f.fingerprint.as_str())
        .collect();
    fps.sort();
    fps.dedup();
    assert_eq!(fps.len(), out.findings.len());

    let unfixed = match_scan(
        &scan,
        &db,
        &MatchOptions {
            ignore_unfixed: true,
        },
    );
    assert!(unfixed.findings.iter().all(|f| f.rule_id != "PYSEC-TEST-1"));
    assert_eq!(unfixed.findings.len(), out.findings.len() - 1);
}

#[test]
fn lockfiles_inside_the_image_are_read() {
    use shipgate_image::testsupport::{Entry, Image, Layer};
    let dir = tempfile::tempdir().expect("tmp");
    let layout = dir.path().join("layout");
    let image = Image::new(vec![Layer::new(
        "COPY . /srv",
        Compression::Gzip,
        vec![
            Entry::file(
                "srv/app/requirements.txt",
                "django==3.2.0\nrequests==2.25.0\n",
            ),
            Entry::file("srv/app/node_modules/x/requirements.txt", "ignored==1.0\n"),
        ],
    )]);
    testsupport::write_oci_layout(&image, &layout, "v1").expect("write");
    let scan = scan_image(layout.to_str().expect("utf8"), &options(None)).expect("scan");
    let got: Vec<(Option<&str>, &str, &str, &str)> = scan
        .packages
        .iter()
        .map(|p| {
            (
                p.ecosystem.as_deref(),
                p.name.as_str(),
                p.version.as_str(),
                p.purl.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (Some("PyPI"), "django", "3.2.0", "pkg:pypi/django@3.2.0"),
            (
                Some("PyPI"),
                "requests",
                "2.25.0",
                "pkg:pypi/requests@2.25.0"
            ),
        ]
    );
}
