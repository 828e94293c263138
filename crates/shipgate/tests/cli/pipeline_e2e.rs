//! The sample pipeline of `examples/pipeline`, end to end against real components: it builds,
//! scans, assembles the image, pushes it to the Distribution registry, signs and attests it,
//! and promotes the digest into a bare manifests repository; then the real cosign verifies the
//! signature and the attestations, and git shows the promotion commit.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::kit::run_with_env;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn cosign() -> Option<PathBuf> {
    let p = std::env::var_os("SHIPGATE_COSIGN")
        .map(PathBuf::from)
        .or_else(|| {
            let p = shipgate_testenv::bin_dir().join("cosign");
            p.exists().then_some(p)
        });
    if p.is_none() {
        assert!(
            !shipgate_testenv::in_ci(),
            "cosign is required in CI (scripts/test-deps/cosign.sh)"
        );
        eprintln!(
            "SKIPPED the cosign checks of the sample pipeline: no cosign (scripts/test-deps/cosign.sh)"
        );
    }
    p
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
}

#[test]
fn sample_pipeline_builds_signs_attests_pushes_and_promotes() {
    if !crate::pipeline::sandbox_or_skip("sample pipeline") {
        return;
    }
    let Some(reg) = shipgate_testenv::registry_or_skip("sample pipeline") else {
        return;
    };
    let host = reg.host();
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let cache_s = cache.display().to_string();

    // The application repository: the example, committed.
    let ws = tmp.path().join("app");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/pipeline");
    copy_dir(&example, &ws);
    git(&ws, &["init", "-q"]);
    git(&ws, &["add", "-A"]);
    git(&ws, &["commit", "-q", "-m", "sample"]);
    let source_commit = git(&ws, &["rev-parse", "HEAD"]).trim().to_string();

    // The manifests repository: a bare repo with the Deployment that runs the image.
    let bare = tmp.path().join("manifests.git");
    git(
        tmp.path(),
        &["init", "-q", "--bare", bare.to_str().unwrap()],
    );
    let seed = tmp.path().join("seed");
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            bare.to_str().unwrap(),
            seed.to_str().unwrap(),
        ],
    );
    std::fs::create_dir_all(seed.join("apps/sample")).unwrap();
    let deployment = format!(
        "# The sample service; the image line is promoted by the pipeline.\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: sample\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: {host}/sample/app:latest   # promoted\n"
    );
    std::fs::write(seed.join("apps/sample/deployment.yaml"), &deployment).unwrap();
    git(&seed, &["add", "-A"]);
    git(&seed, &["commit", "-q", "-m", "seed"]);
    git(&seed, &["push", "-q", "origin", "HEAD:main"]);
    git(&bare, &["symbolic-ref", "HEAD", "refs/heads/main"]);

    // A signing key, and a vulnerability database for the image gate.
    let env_base: Vec<(&str, &str)> = vec![
        ("SHIPGATE_CACHE_DIR", &cache_s),
        ("COSIGN_PASSWORD", "sample-pass"),
    ];
    let prefix = tmp.path().join("cosign");
    let r = run_with_env(
        tmp.path(),
        &[
            "key",
            "generate",
            "--output-key-prefix",
            prefix.to_str().unwrap(),
        ],
        &env_base,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let advisories = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo/advisories");
    let r = run_with_env(
        tmp.path(),
        &["db", "import", advisories.to_str().unwrap()],
        &env_base,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);

    let key = format!("{}.key", prefix.display());
    let repo_url = format!("file://{}", bare.display());
    let bare_s = bare.display().to_string();
    let mut env = env_base.clone();
    env.extend([
        ("REGISTRY", host.as_str()),
        ("COSIGN_KEY", key.as_str()),
        ("MANIFESTS_REPO", repo_url.as_str()),
        ("MANIFESTS_DIR", bare_s.as_str()),
    ]);
    let r = run_with_env(&ws, &["pipeline", "run", "--format", "json"], &env);
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    let rec = r.json();
    let run_id = rec["id"].as_str().unwrap().to_string();
    for s in rec["steps"].as_array().unwrap() {
        assert_eq!(s["status"], "passed", "{s}");
    }
    let image = rec["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "image")
        .unwrap()["image"]["pushed"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        image.starts_with(&format!("{host}/sample/app@sha256:")),
        "{image}"
    );

    // shipgate verifies its own signature and scan attestation.
    let pubkey = format!("{}.pub", prefix.display());
    let v = run_with_env(
        tmp.path(),
        &["verify", &image, "--key", &pubkey, "--insecure-registry"],
        &env_base,
    );
    assert_eq!(v.code, 0, "{}", v.stderr);
    let v = run_with_env(
        tmp.path(),
        &[
            "verify-attestation",
            &image,
            "--key",
            &pubkey,
            "--type",
            "scan-report",
            "--insecure-registry",
        ],
        &env_base,
    );
    assert_eq!(v.code, 0, "{}", v.stderr);
    let statements: serde_json::Value = serde_json::from_str(&v.stdout).unwrap();
    assert_eq!(
        statements[0]["predicate"]["scanner"], "image",
        "{statements}"
    );

    // The real cosign verifies the signature and the SBOM and provenance attestations.
    if let Some(cosign) = cosign() {
        let check = |args: &[&str]| {
            let out = Command::new(&cosign)
                .args(args)
                .args([
                    "--key",
                    &pubkey,
                    "--insecure-ignore-tlog=true",
                    "--allow-insecure-registry",
                    &image,
                ])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "cosign {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let sig = check(&["verify"]);
        assert!(sig.contains(&format!("\"run\":\"{run_id}\"")), "{sig}");
        check(&["verify-attestation", "--type", "cyclonedx"]);
        let prov = check(&["verify-attestation", "--type", "slsaprovenance1"]);
        assert!(prov.contains("payload"), "{prov}");
    }

    // The manifests repository has the promotion commit: the digest, the comment kept, trailers.
    let file = git(&bare, &["show", "main:apps/sample/deployment.yaml"]);
    assert_eq!(
        file,
        deployment.replace(&format!("{host}/sample/app:latest"), &image),
        "only the image value changes"
    );
    let message = git(&bare, &["log", "-1", "--format=%B", "main"]);
    assert!(
        message.contains(&format!("Shipgate-Source-Commit: {source_commit}")),
        "{message}"
    );
    assert!(
        message.contains(&format!("Shipgate-Pipeline-Run: {run_id}")),
        "{message}"
    );
    assert!(
        message.contains(&format!("Shipgate-Image: {image}")),
        "{message}"
    );
}
