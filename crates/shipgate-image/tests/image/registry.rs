//! A real registry (Debian's docker-registry on loopback), images pushed with
//! skopeo, scanned by reference; and a fake server for refusals and stalls.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use shipgate_image::testsupport::{self, Compression, Entry, Image, Layer};
use shipgate_image::{Error, Platform, RegistryOptions, ScanOptions, scan_image};

use crate::support::{expected_sample, require_tool, sample_image, summary};

struct Registry {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn start_registry(bin: &Path) -> Registry {
    let dir = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let config = format!(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n",
        dir.path().join("storage").display()
    );
    let cfg = dir.path().join("config.yml");
    std::fs::write(&cfg, config).expect("config");
    let log = std::fs::File::create(dir.path().join("registry.log")).expect("log");
    let child = Command::new(bin)
        .arg("serve")
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start docker-registry");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(mut s) = TcpStream::connect(&addr) {
            let _ = s.write_all(b"GET /v2/ HTTP/1.0\r\n\r\n");
            let mut buf = [0u8; 12];
            if s.read(&mut buf).is_ok_and(|n| n >= 12) && &buf[9..12] == b"200" {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "docker-registry did not start on {addr}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Registry {
        child,
        addr,
        _dir: dir,
    }
}

fn skopeo_copy(skopeo: &Path, src: &str, dest: &str, all: bool) {
    let mut cmd = Command::new(skopeo);
    cmd.args(["--insecure-policy", "copy", "--dest-tls-verify=false", "-q"]);
    if all {
        cmd.arg("--all");
    }
    let out = cmd.arg(src).arg(dest).output().expect("run skopeo");
    assert!(
        out.status.success(),
        "skopeo copy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn insecure(cache: Option<&Path>) -> ScanOptions {
    // An empty docker config, so the host's credentials never leak into tests.
    let empty_config = std::env::temp_dir().join("shipgate-image-test-docker-config.json");
    std::fs::write(&empty_config, "{}").expect("write docker config");
    ScanOptions {
        cache_dir: cache.map(Path::to_path_buf),
        registry: RegistryOptions {
            insecure_loopback: true,
            docker_config: Some(empty_config),
            ..RegistryOptions::default()
        },
        ..ScanOptions::default()
    }
}

#[test]
fn scan_by_reference_single_and_multi_platform() {
    let Some(registry_bin) = require_tool("docker-registry", &["/usr/bin/docker-registry"]) else {
        return;
    };
    let Some(skopeo) = require_tool("skopeo", &["/usr/bin/skopeo"]) else {
        return;
    };
    let reg = start_registry(&registry_bin);
    let dir = tempfile::tempdir().expect("tmp");

    // Single image.
    let layout = dir.path().join("single");
    testsupport::write_oci_layout(
        &sample_image([Compression::Gzip, Compression::Zstd, Compression::Gzip]),
        &layout,
        "v1",
    )
    .expect("write");
    let reference = format!("{}/shipgate/sample:v1", reg.addr);
    skopeo_copy(
        &skopeo,
        &format!("oci:{}:v1", layout.display()),
        &format!("docker://{reference}"),
        false,
    );
    let opts = insecure(Some(&dir.path().join("cache")));
    let scan = scan_image(&reference, &opts).expect("scan by reference");
    assert!(scan.issues.is_empty(), "{:?}", scan.issues);
    assert_eq!(summary(&scan), expected_sample());
    assert!(scan.layers.iter().all(|l| l.created_by.is_some()));
    // Rescan: every layer from the cache, so no layer is downloaded.
    let warm = scan_image(&reference, &opts).expect("rescan");
    assert!(
        warm.notes
            .iter()
            .any(|n| n == "layer cache: 3 of 3 layers already analysed"),
        "{:?}",
        warm.notes
    );
    // Nothing is left in the download area.
    let leftovers = std::fs::read_dir(dir.path().join("cache/image-pull"))
        .expect("pull dir")
        .count();
    assert_eq!(leftovers, 0);
    // By digest.
    let by_digest = format!(
        "{}/shipgate/sample@{}",
        reg.addr,
        scan.manifest_digest.clone().expect("digest")
    );
    let scan2 = scan_image(&by_digest, &opts).expect("by digest");
    assert_eq!(summary(&scan2), expected_sample());

    // Multi-platform index.
    let multi = dir.path().join("multi");
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
    testsupport::write_oci_layout_multi(&[amd, arm], &multi, "multi").expect("write");
    let mref = format!("{}/shipgate/multi:1", reg.addr);
    skopeo_copy(
        &skopeo,
        &format!("oci:{}:multi", multi.display()),
        &format!("docker://{mref}"),
        true,
    );
    let scan = scan_image(&mref, &insecure(None)).expect("multi amd64");
    assert_eq!(
        scan.packages
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        vec!["amd-only"]
    );
    assert!(
        scan.notes.iter().any(|n| n.contains("scanned linux/amd64")),
        "{:?}",
        scan.notes
    );
    let mut arm_opts = insecure(None);
    arm_opts.platform = "linux/arm64".parse::<Platform>().expect("platform");
    let scan = scan_image(&mref, &arm_opts).expect("multi arm64");
    assert_eq!(
        scan.packages
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        vec!["arm-only"]
    );
    let mut none = insecure(None);
    none.platform = "windows/amd64".parse::<Platform>().expect("platform");
    let err = scan_image(&mref, &none).expect_err("no platform");
    assert!(matches!(err, Error::NoMatchingPlatform { .. }), "{err}");

    // Missing tag: 404 from the real registry.
    let err = scan_image(
        &format!("{}/shipgate/sample:nope", reg.addr),
        &insecure(None),
    )
    .expect_err("404");
    assert!(matches!(err, Error::Registry { .. }), "{err}");

    // Without --insecure-registry the client insists on TLS and fails cleanly.
    let err = scan_image(&reference, &ScanOptions::default()).expect_err("tls");
    assert!(matches!(err, Error::Registry { .. }), "{err}");
}

/// A one-shot HTTP server answering every request with `status`, or never answering.
fn fake_server(status: Option<&'static str>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(16) {
            let Ok(mut s) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                match status {
                    Some(st) => {
                        let body = r#"{"errors":[{"code":"X","message":"test"}]}"#;
                        let resp = format!(
                            "HTTP/1.1 {st}\r\nContent-Type: application/json\r\nWWW-Authenticate: Basic realm=\"test\"\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = s.write_all(resp.as_bytes());
                    }
                    None => std::thread::sleep(Duration::from_secs(20)),
                }
            });
        }
    });
    addr
}

#[test]
fn registry_refusals_and_stalls_are_clear_errors() {
    for status in [
        "401 Unauthorized",
        "404 Not Found",
        "500 Internal Server Error",
    ] {
        let addr = fake_server(Some(status));
        let err = scan_image(&format!("{addr}/x/y:1"), &insecure(None)).expect_err(status);
        assert!(matches!(err, Error::Registry { .. }), "{status}: {err}");
    }
    let addr = fake_server(None);
    let mut opts = insecure(None);
    opts.registry.read_timeout = Duration::from_secs(1);
    opts.registry.connect_timeout = Duration::from_secs(1);
    let started = Instant::now();
    let err = scan_image(&format!("{addr}/x/y:1"), &opts).expect_err("stall");
    assert!(matches!(err, Error::Registry { .. }), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );

    // Plain HTTP is refused for non-loopback registries before any connection.
    let err =
        scan_image("registry.example.invalid/x/y:1", &insecure(None)).expect_err("non-loopback");
    assert!(
        err.to_string().contains("only applies to loopback"),
        "{err}"
    );
}
