//! Shared helpers: fixture images, the registry process, tool lookup.

use std::path::{Path, PathBuf};

use shipgate_image::testsupport::{Compression, Entry, Image, Layer, make_go_binary, make_jar};
use shipgate_image::{ImageScan, ScanOptions};

pub fn os_release_debian() -> Entry {
    Entry::file(
        "usr/lib/os-release",
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nID=debian\n",
    )
}

pub const DPKG_STATUS: &str = "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nSource: glibc\nVersion: 2.36-9+deb12u4\n\nPackage: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\nVersion: 3.0.11-1~deb12u2\n\nPackage: removed\nStatus: deinstall ok config-files\nVersion: 1.0\n";

/// A three-layer Debian-like image exercising every reader and whiteouts.
pub fn sample_image(compression: [Compression; 3]) -> Image {
    let nested = make_jar(
        &[("com.fasterxml.jackson.core", "jackson-databind", "2.9.10")],
        &[],
    );
    let jar = make_jar(
        &[("org.example", "app", "1.0.0")],
        &[("BOOT-INF/lib/jackson-databind-2.9.10.jar", nested)],
    );
    let go = make_go_binary(
        "go1.21.3",
        "path\texample.com/tool\nmod\texample.com/tool\t(devel)\t\ndep\tgolang.org/x/net\tv0.7.0\th1:x=\n",
    );
    let base = Layer::new(
        "/bin/sh -c #(nop) ADD file:base in /",
        compression[0],
        vec![
            Entry::Dir { path: "etc".into() },
            os_release_debian(),
            Entry::Symlink {
                path: "etc/os-release".into(),
                target: "../usr/lib/os-release".into(),
            },
            Entry::file("etc/debian_version", "12.5\n"),
            Entry::file("var/lib/dpkg/status", DPKG_STATUS),
            Entry::file(
                "var/lib/dpkg/status.d/tzdata",
                "Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n",
            ),
            Entry::file(
                "usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA",
                "Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\n",
            ),
            Entry::file(
                "usr/lib/python3/dist-packages/old.egg-info/PKG-INFO",
                "Metadata-Version: 1.0\nName: Old_Pkg\nVersion: 0.1\n",
            ),
            Entry::file(
                "app/node_modules/lodash/package.json",
                r#"{"name":"lodash","version":"4.17.20"}"#,
            ),
            Entry::file(
                "app/node_modules/minimist/package.json",
                r#"{"name":"minimist","version":"1.2.0"}"#,
            ),
            Entry::file(
                "opt/cache/node_modules/left-pad/package.json",
                r#"{"name":"left-pad","version":"1.3.0"}"#,
            ),
        ],
    );
    let app = Layer::new(
        "RUN install app",
        compression[1],
        vec![
            Entry::file("opt/app/app.jar", jar),
            Entry::exe("usr/local/bin/tool", go),
            Entry::file(
                "usr/lib/ruby/gems/3.1.0/specifications/rack-2.2.3.gemspec",
                "Gem::Specification.new do |s|\n  s.name = \"rack\"\n  s.version = \"2.2.3\"\nend\n",
            ),
            Entry::file(
                "app/node_modules/lodash/package.json",
                r#"{"name":"lodash","version":"4.17.21"}"#,
            ),
        ],
    );
    let cleanup = Layer::new(
        "RUN rm -rf /app/node_modules/minimist /opt/cache",
        compression[2],
        vec![
            Entry::Whiteout {
                path: "app/node_modules/minimist".into(),
            },
            Entry::Opaque {
                dir: "opt/cache".into(),
            },
            Entry::HardLink {
                path: "usr/local/bin/tool2".into(),
                target: "usr/local/bin/tool".into(),
            },
        ],
    );
    Image::new(vec![base, app, cleanup])
}

/// `(ecosystem, name, version, path, layer index)` of each package.
pub fn summary(scan: &ImageScan) -> Vec<(String, String, String, String, usize)> {
    scan.packages
        .iter()
        .map(|p| {
            (
                p.ecosystem.clone().unwrap_or_default(),
                p.name.clone(),
                p.version.clone(),
                p.path.clone(),
                p.layer.index,
            )
        })
        .collect()
}

pub fn expected_sample() -> Vec<(String, String, String, String, usize)> {
    let v = [
        (
            "Debian:12",
            "libc6",
            "2.36-9+deb12u4",
            "var/lib/dpkg/status",
            0,
        ),
        (
            "Debian:12",
            "libssl3",
            "3.0.11-1~deb12u2",
            "var/lib/dpkg/status",
            0,
        ),
        (
            "Debian:12",
            "tzdata",
            "2024a-0+deb12u1",
            "var/lib/dpkg/status.d/tzdata",
            0,
        ),
        ("Go", "golang.org/x/net", "v0.7.0", "usr/local/bin/tool", 1),
        ("Go", "golang.org/x/net", "v0.7.0", "usr/local/bin/tool2", 2),
        ("Go", "stdlib", "1.21.3", "usr/local/bin/tool", 1),
        ("Go", "stdlib", "1.21.3", "usr/local/bin/tool2", 2),
        (
            "Maven",
            "com.fasterxml.jackson.core:jackson-databind",
            "2.9.10",
            "opt/app/app.jar!BOOT-INF/lib/jackson-databind-2.9.10.jar",
            1,
        ),
        ("Maven", "org.example:app", "1.0.0", "opt/app/app.jar", 1),
        (
            "PyPI",
            "old-pkg",
            "0.1",
            "usr/lib/python3/dist-packages/old.egg-info/PKG-INFO",
            0,
        ),
        (
            "PyPI",
            "six",
            "1.16.0",
            "usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA",
            0,
        ),
        (
            "RubyGems",
            "rack",
            "2.2.3",
            "usr/lib/ruby/gems/3.1.0/specifications/rack-2.2.3.gemspec",
            1,
        ),
        (
            "npm",
            "lodash",
            "4.17.21",
            "app/node_modules/lodash/package.json",
            1,
        ),
    ];
    v.iter()
        .map(|(e, n, ver, p, l)| {
            (
                e.to_string(),
                n.to_string(),
                ver.to_string(),
                p.to_string(),
                *l,
            )
        })
        .collect()
}

pub fn options(cache: Option<&Path>) -> ScanOptions {
    ScanOptions {
        cache_dir: cache.map(Path::to_path_buf),
        ..ScanOptions::default()
    }
}

/// Finds a tool; under CI a missing tool is a failure, elsewhere the test is skipped.
pub fn require_tool(name: &str, candidates: &[&str]) -> Option<PathBuf> {
    for c in candidates {
        let p = PathBuf::from(c);
        if p.is_file() {
            return Some(p);
        }
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{name} is required under CI=true; run scripts/test-deps-image.sh");
    }
    eprintln!("SKIP: {name} not installed (run scripts/test-deps-image.sh)");
    None
}

/// Writes `records` (OSV JSON) into `dir/advisories`, imports them into
/// `dir/osv.db` (no import error allowed) and opens the database.
pub fn advisory_db(dir: &Path, records: &[&str]) -> shipgate_vulndb::Database {
    let adv = dir.join("advisories");
    std::fs::create_dir_all(&adv).expect("mkdir");
    for (i, r) in records.iter().enumerate() {
        std::fs::write(adv.join(format!("r{i}.json")), r).expect("write advisory");
    }
    let db_path = dir.join("osv.db");
    let report = shipgate_vulndb::import(&db_path, &[adv]).expect("import");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    shipgate_vulndb::Database::open(&db_path).expect("open db")
}
