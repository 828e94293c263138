//! Sign, verify, attest and verify attestations against the real registry (Debian's
//! docker-registry on loopback), including tampered and missing signatures.
#![allow(clippy::unwrap_used, clippy::print_stderr)] // test code

use std::collections::BTreeMap;

use shipgate_image::RegistryOptions;
use shipgate_sign::testsupport::{Raw, push_test_image};
use shipgate_sign::{Error, PredicateType, SigningKey, blocking};

fn opts(dir: &std::path::Path) -> RegistryOptions {
    // An empty docker config, so the host's credentials never reach the test registry.
    let config = dir.join("docker-config.json");
    std::fs::write(&config, "{}").unwrap();
    RegistryOptions {
        insecure_loopback: true,
        docker_config: Some(config),
        ..RegistryOptions::default()
    }
}

fn sig_tag(digest: &str) -> String {
    format!("sha256-{}.sig", digest.trim_start_matches("sha256:"))
}

#[test]
fn sign_and_verify_with_tampering() {
    let Some(reg) = shipgate_testenv::registry_or_skip("sign_and_verify_with_tampering") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path());
    let tagged = format!("{}/team/app:v1", reg.host());
    let digest = push_test_image(&tagged, "one", &o).unwrap();
    let pinned = format!("{}/team/app@{digest}", reg.host());
    let key = SigningKey::generate().unwrap();
    let other = SigningKey::generate().unwrap();

    // Unsigned.
    let err = blocking::verify(&pinned, &[key.public_key()], &o).unwrap_err();
    assert!(matches!(err, Error::NotSigned { .. }), "{err}");
    assert!(err.to_string().contains("no signatures found"), "{err}");

    // Sign by tag: resolved to the digest.
    let mut ann = BTreeMap::new();
    ann.insert("commit".to_string(), "abc123".to_string());
    let pushed = blocking::sign(&tagged, &key, &ann, &o).unwrap();
    assert!(pushed.resolved_from_tag);
    assert_eq!(pushed.digest, digest);
    assert_eq!(
        pushed.tag,
        format!("{}/team/app:{}", reg.host(), sig_tag(&digest))
    );
    assert!(!pushed.already_present);
    // The same signature again: ECDSA signatures are randomised, so it is a new layer; the
    // manifest grows to two layers.
    let again = blocking::sign(&pinned, &key, &ann, &o).unwrap();
    assert!(!again.resolved_from_tag);
    let raw = Raw::new(&pinned, &o).unwrap();
    let manifest = raw.manifest(&sig_tag(&digest)).unwrap();
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 2);
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.dev.cosign.simplesigning.v1+json"
    );

    let v = blocking::verify(&pinned, &[other.public_key(), key.public_key()], &o).unwrap();
    assert_eq!(v.signatures.len(), 2);
    assert_eq!(v.digest, digest);
    let p = &v.signatures[0].payload;
    assert_eq!(
        p.critical.identity.docker_reference,
        format!("{}/team/app", reg.host())
    );
    assert_eq!(p.critical.image.docker_manifest_digest, digest);
    assert_eq!(p.optional.as_ref().unwrap()["commit"], "abc123");
    // By tag as well.
    assert!(
        blocking::verify(&tagged, &[key.public_key()], &o)
            .unwrap()
            .resolved_from_tag
    );

    // Wrong key.
    let err = blocking::verify(&pinned, &[other.public_key()], &o).unwrap_err();
    assert!(matches!(err, Error::NotVerified { .. }), "{err}");
    assert!(err.to_string().contains("signature invalid"), "{err}");
    assert!(err.to_string().contains(&pinned), "{err}");

    // Tampered payload: a modified blob under the original signature.
    let mut m = raw.manifest(&sig_tag(&digest)).unwrap();
    m["layers"].as_array_mut().unwrap().truncate(1);
    let payload = raw
        .blob(m["layers"][0]["digest"].as_str().unwrap())
        .unwrap();
    let forged = String::from_utf8(payload)
        .unwrap()
        .replace("abc123", "evil00");
    let forged_digest = raw.put_blob(forged.clone().into_bytes()).unwrap();
    let mut tampered = m.clone();
    tampered["layers"][0]["digest"] = forged_digest.clone().into();
    tampered["layers"][0]["size"] = forged.len().into();
    raw.put_manifest(&sig_tag(&digest), &tampered).unwrap();
    let err = blocking::verify(&pinned, &[key.public_key()], &o).unwrap_err();
    assert!(err.to_string().contains("signature invalid"), "{err}");

    // Tampered signature annotation.
    let mut tampered = m.clone();
    let sig = tampered["layers"][0]["annotations"]["dev.cosignproject.cosign/signature"]
        .as_str()
        .unwrap()
        .to_string();
    let other_sig = base64_flip(&sig);
    tampered["layers"][0]["annotations"]["dev.cosignproject.cosign/signature"] = other_sig.into();
    raw.put_manifest(&sig_tag(&digest), &tampered).unwrap();
    let err = blocking::verify(&pinned, &[key.public_key()], &o).unwrap_err();
    assert!(err.to_string().contains("signature invalid"), "{err}");

    // A wrong size in the descriptor: the blob does not match what the manifest announces.
    let mut tampered = m.clone();
    tampered["layers"][0]["size"] = 3.into();
    raw.put_manifest(&sig_tag(&digest), &tampered).unwrap();
    assert!(blocking::verify(&pinned, &[key.public_key()], &o).is_err());

    // A valid signature of another image copied to this one: digest mismatch.
    let digest2 = push_test_image(&format!("{}/team/app:v2", reg.host()), "two", &o).unwrap();
    let pinned2 = format!("{}/team/app@{digest2}", reg.host());
    raw.put_manifest(&sig_tag(&digest2), &m).unwrap();
    let err = blocking::verify(&pinned2, &[key.public_key()], &o).unwrap_err();
    assert!(err.to_string().contains("digest mismatch"), "{err}");

    // Restored: verifies again.
    raw.put_manifest(&sig_tag(&digest), &m).unwrap();
    assert_eq!(
        blocking::verify(&pinned, &[key.public_key()], &o)
            .unwrap()
            .signatures
            .len(),
        1
    );
}

/// Changes one character of a base64 string, keeping it base64.
fn base64_flip(s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

#[test]
fn attest_and_verify_attestations() {
    let Some(reg) = shipgate_testenv::registry_or_skip("attest_and_verify_attestations") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path());
    let digest = push_test_image(&format!("{}/att/app:v1", reg.host()), "att", &o).unwrap();
    let pinned = format!("{}/att/app@{digest}", reg.host());
    let key = SigningKey::generate().unwrap();
    let other = SigningKey::generate().unwrap();

    let err = blocking::verify_attestations(&pinned, &[key.public_key()], None, &o).unwrap_err();
    assert!(err.to_string().contains("no attestations found"), "{err}");

    let bom: PredicateType = "cyclonedx".parse().unwrap();
    let predicate = bom
        .predicate_from_bytes(
            br#"{"bomFormat":"CycloneDX","specVersion":"1.6"}"#,
            "bom.json",
        )
        .unwrap();
    blocking::attest(&pinned, &key, &bom, predicate, &o).unwrap();
    let report: PredicateType = "scan-report".parse().unwrap();
    let predicate = report
        .predicate_from_bytes(
            br#"{"schema":"shipgate.report/v1","findings":[]}"#,
            "report.json",
        )
        .unwrap();
    let pushed = blocking::attest(&pinned, &key, &report, predicate, &o).unwrap();
    assert!(pushed.tag.ends_with(".att"), "{}", pushed.tag);

    let all = blocking::verify_attestations(&pinned, &[key.public_key()], None, &o).unwrap();
    assert_eq!(all.statements.len(), 2);
    let only = blocking::verify_attestations(&pinned, &[key.public_key()], Some(&bom), &o).unwrap();
    assert_eq!(only.statements.len(), 1);
    let s = &only.statements[0].statement;
    assert_eq!(s.kind, "https://in-toto.io/Statement/v1");
    assert_eq!(s.predicate_type, "https://cyclonedx.org/bom");
    assert_eq!(s.subject[0].name, format!("{}/att/app", reg.host()));
    assert_eq!(s.predicate["bomFormat"], "CycloneDX");

    let slsa: PredicateType = "slsaprovenance1".parse().unwrap();
    let err =
        blocking::verify_attestations(&pinned, &[key.public_key()], Some(&slsa), &o).unwrap_err();
    assert!(
        err.to_string().contains(
            "none of the verified attestations has predicate type https://slsa.dev/provenance/v1"
        ),
        "{err}"
    );

    let err =
        blocking::verify_attestations(&pinned, &[other.public_key()], Some(&bom), &o).unwrap_err();
    assert!(err.to_string().contains("signature invalid"), "{err}");

    // Tampered envelope payload (signature kept).
    let raw = Raw::new(&pinned, &o).unwrap();
    let tag = format!("sha256-{}.att", digest.trim_start_matches("sha256:"));
    let m = raw.manifest(&tag).unwrap();
    let envelope: serde_json::Value = serde_json::from_slice(
        &raw.blob(m["layers"][0]["digest"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let mut forged = envelope.clone();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let body =
        String::from_utf8(b64.decode(envelope["payload"].as_str().unwrap()).unwrap()).unwrap();
    forged["payload"] = b64.encode(body.replace("1.6", "1.5")).into();
    let forged = serde_json::to_vec(&forged).unwrap();
    let mut tampered = m.clone();
    tampered["layers"][0]["size"] = forged.len().into();
    tampered["layers"][0]["digest"] = raw.put_blob(forged).unwrap().into();
    raw.put_manifest(&tag, &tampered).unwrap();
    let err =
        blocking::verify_attestations(&pinned, &[key.public_key()], Some(&bom), &o).unwrap_err();
    assert!(err.to_string().contains("signature invalid"), "{err}");
}

#[test]
fn registry_that_refuses() {
    let Some(reg) = shipgate_testenv::registry_or_skip("registry_that_refuses") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path());
    let tagged = format!("{}/gone/app:v1", reg.host());
    let digest = push_test_image(&tagged, "gone", &o).unwrap();
    let pinned = format!("{}/gone/app@{digest}", reg.host());
    // An image that does not exist.
    let key = SigningKey::generate().unwrap();
    let missing = format!("{}/gone/nothing:v1", reg.host());
    let err = blocking::sign(&missing, &key, &BTreeMap::new(), &o).unwrap_err();
    assert!(err.to_string().contains(&missing), "{err}");
    // Plain HTTP is refused without the loopback opt-in (TLS to a plain HTTP registry fails).
    let strict = RegistryOptions {
        insecure_loopback: false,
        ..o.clone()
    };
    assert!(blocking::sign(&pinned, &key, &BTreeMap::new(), &strict).is_err());
    drop(reg);
    let err = blocking::sign(&pinned, &key, &BTreeMap::new(), &o).unwrap_err();
    assert!(matches!(err, Error::Registry(_)), "{err}");
    assert!(err.to_string().contains(&pinned), "{err}");
}

/// A registry that serves the image but refuses every upload (HTTP 403 DENIED), as a
/// read-only mirror or a missing push permission does.
fn refusing_registry() -> (String, std::thread::JoinHandle<()>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let digest = format!("sha256:{}", "ab".repeat(32));
    let handle = std::thread::spawn(move || {
        for stream in listener.incoming().take(20) {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut length = 0usize;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            let (status, headers, body) = if line.starts_with("HEAD ")
                && line.contains("/manifests/")
            {
                (
                    "200 OK",
                    format!("Docker-Content-Digest: {digest}\r\n"),
                    String::new(),
                )
            } else if line.starts_with("GET /v2/ ") {
                ("200 OK", String::new(), "{}".to_string())
            } else if line.starts_with("GET ") && line.contains("/manifests/") {
                (
                    "404 Not Found",
                    String::new(),
                    r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#
                        .to_string(),
                )
            } else {
                ("403 Forbidden", String::new(), r#"{"errors":[{"code":"DENIED","message":"push refused: repository is read-only"}]}"#.to_string())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\n{headers}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (addr, handle)
}

#[test]
fn registry_refusing_the_push() {
    let dir = tempfile::tempdir().unwrap();
    let o = opts(dir.path());
    let (addr, _server) = refusing_registry();
    let image = format!("{addr}/ro/app@sha256:{}", "ab".repeat(32));
    let key = SigningKey::generate().unwrap();
    let err = blocking::sign(&image, &key, &BTreeMap::new(), &o).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Registry(_)), "{text}");
    assert!(text.contains(&format!("{addr}/ro/app:sha256-")), "{text}");
    assert!(
        text.contains("read-only") || text.contains("403") || text.contains("DENIED"),
        "{text}"
    );
}
