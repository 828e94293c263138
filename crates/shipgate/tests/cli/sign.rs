//! `key generate`, `sign`, `verify`, `attest`, `verify-attestation` against the real
//! registry, and interoperability with the real `cosign` (v2.6.5, built from its Go module
//! by scripts/test-deps/cosign.sh) in both directions, offline (no Rekor, no Fulcio).

use std::path::{Path, PathBuf};
use std::process::Command;

use shipgate_image::RegistryOptions;
use shipgate_sign::testsupport::{Raw, push_test_image};

use crate::kit::{Run, run_with_env};

/// `$SHIPGATE_COSIGN`, else `cosign` in the test-bins cache; `None` (skip, loudly) outside CI.
pub(crate) fn cosign_or_skip(test: &str) -> Option<PathBuf> {
    let path = std::env::var_os("SHIPGATE_COSIGN")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| shipgate_testenv::bin_dir().join("cosign"));
    if path.is_file() {
        return Some(path);
    }
    if shipgate_testenv::in_ci() {
        panic!(
            "{test}: cosign is required in CI ({} missing; scripts/test-deps/cosign.sh builds it)",
            path.display()
        );
    }
    eprintln!(
        "SKIPPED {test}: cosign not found at {} (run scripts/test-deps/cosign.sh and set SHIPGATE_COSIGN)",
        path.display()
    );
    None
}

/// A working directory with its own HOME (no docker credentials, no sigstore cache).
struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("home/.docker")).unwrap();
        std::fs::write(dir.path().join("home/.docker/config.json"), "{}").unwrap();
        Env { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn home(&self) -> String {
        self.path().join("home").display().to_string()
    }

    fn registry_options(&self) -> RegistryOptions {
        RegistryOptions {
            insecure_loopback: true,
            docker_config: Some(self.path().join("home/.docker/config.json")),
            ..RegistryOptions::default()
        }
    }

    fn shipgate(&self, args: &[&str], password: Option<&str>) -> Run {
        let home = self.home();
        let mut envs = vec![("HOME", home.as_str())];
        if let Some(p) = password {
            envs.push(("COSIGN_PASSWORD", p));
        }
        run_with_env(self.path(), args, &envs)
    }

    fn cosign(&self, cosign: &Path, args: &[&str], password: &str) -> Run {
        let out = Command::new(cosign)
            .args(args)
            .current_dir(self.path())
            .env("HOME", self.home())
            .env("COSIGN_PASSWORD", password)
            .env("DOCKER_CONFIG", self.path().join("home/.docker"))
            .env_remove("SIGSTORE_ID_TOKEN")
            .output()
            .expect("cosign runs");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// cosign's flags for a plain-HTTP loopback registry without Rekor.
const COSIGN_SIGN: &[&str] = &[
    "--tlog-upload=false",
    "--allow-insecure-registry",
    "--allow-http-registry",
    "-y",
];
const COSIGN_VERIFY: &[&str] = &[
    "--insecure-ignore-tlog=true",
    "--allow-insecure-registry",
    "--allow-http-registry",
];

fn with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = base.to_vec();
    v.extend_from_slice(extra);
    v
}

fn ok(run: &Run, what: &str) {
    assert_eq!(
        run.code, 0,
        "{what}:\nstdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
}

fn fails(run: &Run, what: &str, needle: &str) {
    assert_eq!(
        run.code, 2,
        "{what}: expected exit 2:\nstdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(
        run.stderr.contains(needle),
        "{what}: stderr lacks {needle:?}:\n{}",
        run.stderr
    );
}

#[test]
fn key_generate_and_key_errors() {
    let env = Env::new();
    fails(
        &env.shipgate(&["key", "generate"], None),
        "no password",
        "COSIGN_PASSWORD",
    );
    ok(
        &env.shipgate(&["key", "generate", "--output-key-prefix", "k"], Some("pw")),
        "generate",
    );
    let key = std::fs::read_to_string(env.path().join("k.key")).unwrap();
    assert!(
        key.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----"),
        "{key}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.path().join("k.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = env.shipgate(&["key", "generate", "--output-key-prefix", "k"], Some("pw"));
    fails(&again, "overwrite", "k.key already exists");
    assert_eq!(
        std::fs::read_to_string(env.path().join("k.key")).unwrap(),
        key
    );
    // Password from a file (one trailing newline dropped).
    std::fs::write(env.path().join("pw.txt"), "pw\n").unwrap();
    let run = env.shipgate(
        &["sign", "127.0.0.1:9/none@sha256:0000000000000000000000000000000000000000000000000000000000000000", "--key", "k.key", "--password-file", "pw.txt", "--insecure-registry"],
        None,
    );
    // The key decrypted (so the error is about the registry, not the password).
    fails(&run, "unreachable registry", "127.0.0.1:9/none@sha256:");
    fails(
        &env.shipgate(
            &[
                "sign",
                "127.0.0.1:9/none:v1",
                "--key",
                "k.key",
                "--insecure-registry",
            ],
            Some("wrong"),
        ),
        "wrong password",
        "wrong passphrase for k.key",
    );
    fails(
        &env.shipgate(
            &["sign", "127.0.0.1:9/none:v1", "--key", "missing.key"],
            Some("pw"),
        ),
        "missing key",
        "missing.key",
    );
    fails(
        &env.shipgate(&["verify", "127.0.0.1:9/none:v1", "--key", "k.key"], None),
        "private key as public key",
        "expected a PEM block 'PUBLIC KEY'",
    );
}

#[test]
fn signatures_interoperate_with_cosign() {
    let Some(cosign) = cosign_or_skip("signatures_interoperate_with_cosign") else {
        return;
    };
    let Some(reg) = shipgate_testenv::registry_or_skip("signatures_interoperate_with_cosign")
    else {
        return;
    };
    let env = Env::new();
    let o = env.registry_options();
    ok(
        &env.cosign(
            &cosign,
            &["generate-key-pair", "--output-key-prefix", "ck"],
            "cpw",
        ),
        "cosign generate-key-pair",
    );
    ok(
        &env.shipgate(
            &["key", "generate", "--output-key-prefix", "sk"],
            Some("spw"),
        ),
        "shipgate key generate",
    );

    // shipgate signs (by tag: resolved, with a warning) -> cosign verifies.
    let tagged = format!("{}/interop/a:v1", reg.host());
    let digest = push_test_image(&tagged, "a", &o).unwrap();
    let pinned = format!("{}/interop/a@{digest}", reg.host());
    let run = env.shipgate(
        &[
            "sign",
            &tagged,
            "--key",
            "sk.key",
            "-a",
            "run=7",
            "--insecure-registry",
        ],
        Some("spw"),
    );
    ok(&run, "shipgate sign");
    assert!(
        run.stderr.contains("is a tag; using its current digest"),
        "{}",
        run.stderr
    );
    let run = env.cosign(
        &cosign,
        &with(
            &["verify", "--key", "sk.pub"],
            &with(COSIGN_VERIFY, &[&pinned]),
        ),
        "",
    );
    ok(&run, "cosign verify of a shipgate signature");
    assert!(
        run.stdout.contains(r#""optional":{"run":"7"}"#),
        "{}",
        run.stdout
    );
    // ... and not with another key.
    let run = env.cosign(
        &cosign,
        &with(
            &["verify", "--key", "ck.pub"],
            &with(COSIGN_VERIFY, &[&pinned]),
        ),
        "",
    );
    assert_ne!(
        run.code, 0,
        "cosign verify with the wrong key: {}",
        run.stdout
    );

    // cosign signs -> shipgate verifies; both signatures are listed.
    ok(
        &env.cosign(
            &cosign,
            &with(&["sign", "--key", "ck.key"], &with(COSIGN_SIGN, &[&pinned])),
            "cpw",
        ),
        "cosign sign",
    );
    let run = env.shipgate(
        &[
            "verify",
            &pinned,
            "--key",
            "ck.pub",
            "--format",
            "json",
            "--insecure-registry",
        ],
        None,
    );
    ok(&run, "shipgate verify of a cosign signature");
    let payloads = run.json();
    assert_eq!(payloads.as_array().unwrap().len(), 1, "{payloads}");
    assert_eq!(
        payloads[0]["critical"]["image"]["docker-manifest-digest"],
        digest.as_str()
    );
    let run = env.shipgate(
        &[
            "verify",
            &pinned,
            "--key",
            "ck.pub",
            "--key",
            "sk.pub",
            "--insecure-registry",
        ],
        None,
    );
    ok(&run, "shipgate verify, two keys");
    assert!(run.stdout.contains(": 2 signature(s)"), "{}", run.stdout);

    // Keys cross over: a cosign key signs in shipgate, a shipgate key in cosign.
    let b = push_test_image(&format!("{}/interop/b:v1", reg.host()), "b", &o).unwrap();
    let pinned_b = format!("{}/interop/b@{b}", reg.host());
    ok(
        &env.shipgate(
            &["sign", &pinned_b, "--key", "ck.key", "--insecure-registry"],
            Some("cpw"),
        ),
        "shipgate sign with a cosign key",
    );
    ok(
        &env.cosign(
            &cosign,
            &with(
                &["verify", "--key", "ck.pub"],
                &with(COSIGN_VERIFY, &[&pinned_b]),
            ),
            "",
        ),
        "cosign verify",
    );
    ok(
        &env.cosign(
            &cosign,
            &with(
                &["sign", "--key", "sk.key"],
                &with(COSIGN_SIGN, &[&pinned_b]),
            ),
            "spw",
        ),
        "cosign sign with a shipgate key",
    );
    ok(
        &env.shipgate(
            &[
                "verify",
                &pinned_b,
                "--key",
                "sk.pub",
                "--insecure-registry",
            ],
            None,
        ),
        "shipgate verify",
    );

    // Negative: wrong key, unsigned image, tampered payload (both tools refuse).
    let c = push_test_image(&format!("{}/interop/c:v1", reg.host()), "c", &o).unwrap();
    let pinned_c = format!("{}/interop/c@{c}", reg.host());
    fails(
        &env.shipgate(
            &[
                "verify",
                &pinned_c,
                "--key",
                "sk.pub",
                "--insecure-registry",
            ],
            None,
        ),
        "unsigned",
        "no signatures found",
    );
    assert!(
        env.shipgate(
            &[
                "verify",
                &pinned_c,
                "--key",
                "sk.pub",
                "--insecure-registry"
            ],
            None
        )
        .stderr
        .contains(&pinned_c)
    );
    ok(
        &env.shipgate(
            &["sign", &pinned_c, "--key", "sk.key", "--insecure-registry"],
            Some("spw"),
        ),
        "sign c",
    );
    fails(
        &env.shipgate(
            &[
                "verify",
                &pinned_c,
                "--key",
                "ck.pub",
                "--insecure-registry",
            ],
            None,
        ),
        "wrong key",
        "signature invalid",
    );
    let raw = Raw::new(&pinned_c, &o).unwrap();
    let tag = format!("sha256-{}.sig", c.trim_start_matches("sha256:"));
    let mut m = raw.manifest(&tag).unwrap();
    let payload = raw
        .blob(m["layers"][0]["digest"].as_str().unwrap())
        .unwrap();
    let forged = String::from_utf8(payload)
        .unwrap()
        .replace(r#""optional":null"#, r#""optional":{"approved":"yes"}"#);
    m["layers"][0]["size"] = forged.len().into();
    m["layers"][0]["digest"] = raw.put_blob(forged.into_bytes()).unwrap().into();
    raw.put_manifest(&tag, &m).unwrap();
    fails(
        &env.shipgate(
            &[
                "verify",
                &pinned_c,
                "--key",
                "sk.pub",
                "--insecure-registry",
            ],
            None,
        ),
        "tampered payload",
        "signature invalid",
    );
    let run = env.cosign(
        &cosign,
        &with(
            &["verify", "--key", "sk.pub"],
            &with(COSIGN_VERIFY, &[&pinned_c]),
        ),
        "",
    );
    assert_ne!(
        run.code, 0,
        "cosign accepted a tampered payload: {}",
        run.stdout
    );

    // A registry that is gone: exit 2, naming the image, nothing pushed.
    drop(reg);
    fails(
        &env.shipgate(
            &["sign", &pinned, "--key", "sk.key", "--insecure-registry"],
            Some("spw"),
        ),
        "stopped registry",
        &pinned,
    );
}

#[test]
fn attestations_interoperate_with_cosign() {
    let Some(cosign) = cosign_or_skip("attestations_interoperate_with_cosign") else {
        return;
    };
    let Some(reg) = shipgate_testenv::registry_or_skip("attestations_interoperate_with_cosign")
    else {
        return;
    };
    let env = Env::new();
    let o = env.registry_options();
    ok(
        &env.cosign(
            &cosign,
            &["generate-key-pair", "--output-key-prefix", "ck"],
            "cpw",
        ),
        "cosign generate-key-pair",
    );
    ok(
        &env.shipgate(
            &["key", "generate", "--output-key-prefix", "sk"],
            Some("spw"),
        ),
        "shipgate key generate",
    );
    let digest = push_test_image(&format!("{}/att/a:v1", reg.host()), "att", &o).unwrap();
    let pinned = format!("{}/att/a@{digest}", reg.host());
    std::fs::write(
        env.path().join("bom.json"),
        r#"{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,"components":[{"type":"library","name":"openssl","version":"3.0.13"}]}"#,
    )
    .unwrap();
    std::fs::write(
        env.path().join("provenance.json"),
        r#"{"buildDefinition":{"buildType":"https://shipgate.dev/pipeline/v1","externalParameters":{"ref":"main"}},"runDetails":{"builder":{"id":"https://shipgate.dev/runner"}}}"#,
    )
    .unwrap();
    std::fs::write(
        env.path().join("report.json"),
        r#"{"schema":"shipgate.report/v1","summary":{"critical":0,"high":0},"findings":[]}"#,
    )
    .unwrap();
    std::fs::write(
        env.path().join("note.txt"),
        "built by the release pipeline\n",
    )
    .unwrap();

    // shipgate attests -> cosign verifies.
    for (kind, file) in [
        ("cyclonedx", "bom.json"),
        ("slsaprovenance1", "provenance.json"),
        ("scan-report", "report.json"),
    ] {
        let run = env.shipgate(
            &[
                "attest",
                &pinned,
                "--key",
                "sk.key",
                "--type",
                kind,
                "--predicate",
                file,
                "--insecure-registry",
            ],
            Some("spw"),
        );
        ok(&run, &format!("shipgate attest --type {kind}"));
    }
    for kind in [
        "cyclonedx",
        "slsaprovenance1",
        "https://shipgate.dev/attestation/scan-report/v1",
    ] {
        let run = env.cosign(
            &cosign,
            &with(
                &["verify-attestation", "--key", "sk.pub", "--type", kind],
                &with(COSIGN_VERIFY, &[&pinned]),
            ),
            "",
        );
        ok(
            &run,
            &format!("cosign verify-attestation --type {kind} of a shipgate attestation"),
        );
    }
    // A type nobody attested: cosign refuses too.
    let run = env.cosign(
        &cosign,
        &with(
            &[
                "verify-attestation",
                "--key",
                "sk.pub",
                "--type",
                "spdxjson",
            ],
            &with(COSIGN_VERIFY, &[&pinned]),
        ),
        "",
    );
    assert_ne!(run.code, 0, "{}", run.stdout);

    // cosign attests -> shipgate verifies (cosign writes Statement v0.1 and wraps `custom`).
    let b = push_test_image(&format!("{}/att/b:v1", reg.host()), "attb", &o).unwrap();
    let pinned_b = format!("{}/att/b@{b}", reg.host());
    for (kind, file) in [("cyclonedx", "bom.json"), ("custom", "note.txt")] {
        let args = with(
            &[
                "attest",
                "--key",
                "ck.key",
                "--type",
                kind,
                "--predicate",
                file,
            ],
            &with(COSIGN_SIGN, &[&pinned_b]),
        );
        ok(
            &env.cosign(&cosign, &args, "cpw"),
            &format!("cosign attest --type {kind}"),
        );
    }
    let run = env.shipgate(
        &[
            "verify-attestation",
            &pinned_b,
            "--key",
            "ck.pub",
            "--type",
            "cyclonedx",
            "--insecure-registry",
        ],
        None,
    );
    ok(&run, "shipgate verify-attestation of a cosign attestation");
    let statements = run.json();
    assert_eq!(statements.as_array().unwrap().len(), 1, "{statements}");
    assert_eq!(statements[0]["_type"], "https://in-toto.io/Statement/v0.1");
    assert_eq!(
        statements[0]["subject"][0]["digest"]["sha256"],
        b.trim_start_matches("sha256:")
    );
    assert_eq!(
        statements[0]["predicate"]["components"][0]["name"],
        "openssl"
    );
    let run = env.shipgate(
        &[
            "verify-attestation",
            &pinned_b,
            "--key",
            "ck.pub",
            "--type",
            "custom",
            "--insecure-registry",
        ],
        None,
    );
    ok(&run, "shipgate verify-attestation --type custom");
    assert_eq!(
        run.json()[0]["predicate"]["Data"],
        "built by the release pipeline\n"
    );
    ok(
        &env.shipgate(
            &[
                "verify-attestation",
                &pinned_b,
                "--key",
                "ck.pub",
                "--insecure-registry",
            ],
            None,
        ),
        "all types",
    );

    // Negative: wrong key, missing type, unattested image.
    fails(
        &env.shipgate(
            &[
                "verify-attestation",
                &pinned_b,
                "--key",
                "sk.pub",
                "--type",
                "cyclonedx",
                "--insecure-registry",
            ],
            None,
        ),
        "wrong key",
        "signature invalid",
    );
    fails(
        &env.shipgate(
            &[
                "verify-attestation",
                &pinned_b,
                "--key",
                "ck.pub",
                "--type",
                "slsaprovenance1",
                "--insecure-registry",
            ],
            None,
        ),
        "missing type",
        "none of the verified attestations has predicate type https://slsa.dev/provenance/v1",
    );
    let c = push_test_image(&format!("{}/att/c:v1", reg.host()), "attc", &o).unwrap();
    fails(
        &env.shipgate(
            &[
                "verify-attestation",
                &format!("{}/att/c@{c}", reg.host()),
                "--key",
                "ck.pub",
                "--insecure-registry",
            ],
            None,
        ),
        "unattested",
        "no attestations found",
    );
    fails(
        &env.shipgate(
            &[
                "attest",
                &pinned,
                "--key",
                "sk.key",
                "--type",
                "slsaprovenance1",
                "--predicate",
                "bom.json",
                "--insecure-registry",
            ],
            Some("spw"),
        ),
        "provenance without its fields",
        "required field buildDefinition missing",
    );
}
