//! `shipgate pipeline`: real bubblewrap sandbox, real registry (Debian docker-registry),
//! real git work tree; every bad input is an exit-2 error that names its cause.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::kit::{Run, run_with_env};

/// bubblewrap must work here; in CI its absence fails the test, elsewhere it is skipped loudly.
pub(crate) fn sandbox_or_skip(test: &str) -> bool {
    let ok = Command::new("bwrap")
        .args(["--ro-bind", "/", "/", "--unshare-all", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            !shipgate_testenv::in_ci(),
            "{test}: bubblewrap is required in CI (apt-get install bubblewrap)"
        );
        eprintln!("SKIPPED {test}: bubblewrap (bwrap) does not work here");
    }
    ok
}

struct Ws {
    dir: tempfile::TempDir,
    cache: tempfile::TempDir,
}

impl Ws {
    fn new(pipeline: &str) -> Ws {
        let dir = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(
            dir.path().join("src/server.sh"),
            "#!/bin/sh\necho serving\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("shipgate.yaml"), pipeline).unwrap();
        git(dir.path(), &["init", "-q"]);
        git(dir.path(), &["add", "-A"]);
        git(dir.path(), &["commit", "-q", "-m", "init"]);
        Ws { dir, cache }
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn run(&self, args: &[&str]) -> Run {
        let ws = self.path().display().to_string();
        let mut all = vec![
            "pipeline",
            "run",
            "--workspace",
            ws.as_str(),
            "--format",
            "json",
        ];
        all.extend_from_slice(args);
        let cache = self.cache.path().display().to_string();
        run_with_env(
            self.path(),
            &all,
            &[
                ("SHIPGATE_CACHE_DIR", cache.as_str()),
                ("SOURCE_DATE_EPOCH", "1700000000"),
            ],
        )
    }
}

fn git(dir: &Path, args: &[&str]) {
    let st = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(st.success(), "git {args:?}");
}

/// `skopeo inspect WHAT docker://REFERENCE` (WHAT: `--raw` manifest or `--config`) as JSON.
fn skopeo_inspect(what: &str, reference: &str) -> serde_json::Value {
    let out = Command::new("skopeo")
        .args([
            "inspect",
            "--tls-verify=false",
            what,
            &format!("docker://{reference}"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn step<'a>(record: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    record["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {record}"))
}

const BUILD: &str = r#"
    - name: build
      run: mkdir -p out/app && cp src/server.sh out/app/ && chmod 755 out/app/server.sh
      inputs: ["src/**"]
      outputs: [out/app]
"#;

#[test]
fn builds_gates_pushes_caches_and_records() {
    if !sandbox_or_skip("builds_gates_pushes_caches_and_records") {
        return;
    }
    let Some(reg) = shipgate_testenv::registry_or_skip("builds_gates_pushes_caches_and_records")
    else {
        return;
    };
    let host = reg.host();
    let ws = Ws::new(&format!(
        r#"pipeline:
  registry: {{insecure-loopback: true}}
  steps:{BUILD}
    - name: secrets
      gate: secrets
      target: src
    - name: image
      needs: [build, secrets]
      build-image:
        layers: [{{from: out/app, to: /app}}]
        entrypoint: [/app/server.sh]
        env: {{MODE: prod}}
        output: out/image
        push: {host}/demo/app:${{run.id}}
    - name: derived
      needs: [image]
      build-image:
        base: ${{steps.image.image}}
        layers: [{{from: src, to: /src}}]
        output: out/derived
        push: {host}/demo/derived:v1
    - name: check-layout
      needs: [image]
      run: test -f ${{steps.image.layout}}/index.json && echo "${{steps.image.image}}" > out/ref/ref.txt
      outputs: [out/ref]
"#
    ));
    let first = ws.run(&["--record", "record.json"]);
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    let rec = first.json();
    assert_eq!(rec["schema"], "shipgate.pipeline-run/v1");
    assert_eq!(rec["isolation"], "bubblewrap");
    assert_eq!(rec["source_commit"].as_str().unwrap().len(), 40);
    let names: Vec<&str> = rec["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 5);
    assert!(names.iter().position(|n| *n == "image") > names.iter().position(|n| *n == "build"));
    assert_eq!(step(&rec, "secrets")["gate"]["passed"], true);
    assert_eq!(step(&rec, "secrets")["gate"]["scanner"], "secrets");
    let img = &step(&rec, "image")["image"];
    let digest = img["digest"].as_str().unwrap().to_string();
    let pushed = img["pushed"].as_str().unwrap().to_string();
    assert_eq!(pushed, format!("{host}/demo/app@{digest}"));
    // The variable reached the dependent step.
    let ref_txt = std::fs::read_to_string(ws.path().join("out/ref/ref.txt")).unwrap();
    assert_eq!(ref_txt.trim(), pushed);
    // The registry serves what was pushed, under that digest (checked with skopeo).
    let manifest = skopeo_inspect("--raw", &pushed);
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);
    // The derived image starts from the pushed one: its layer, then the new one; the base's
    // config (entrypoint, env) is kept.
    let derived = step(&rec, "derived")["image"]["pushed"]
        .as_str()
        .unwrap()
        .to_string();
    let config = skopeo_inspect("--config", &derived);
    assert_eq!(
        config["rootfs"]["diff_ids"].as_array().unwrap().len(),
        2,
        "{config}"
    );
    assert_eq!(config["config"]["Entrypoint"][0], "/app/server.sh");
    assert!(
        config["config"]["Env"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("MODE=prod"))
    );
    // The record file matches stdout; the run is also kept under .shipgate/runs.
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ws.path().join("record.json")).unwrap()).unwrap();
    assert_eq!(saved["id"], rec["id"]);
    assert!(
        ws.path()
            .join(".shipgate/runs")
            .join(format!("{}.json", rec["id"].as_str().unwrap()))
            .exists()
    );

    // Nothing changed: build, gate and image come from the cache (the push target names the
    // run, so the image step's key changes: it is rebuilt with the same digest).
    let second = ws.run(&[]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let rec2 = second.json();
    assert_eq!(step(&rec2, "build")["status"], "cached");
    assert_eq!(step(&rec2, "secrets")["status"], "cached");
    assert_eq!(
        step(&rec2, "image")["image"]["digest"],
        digest.as_str(),
        "layers are reproducible"
    );

    // A changed input reruns the build and everything after it.
    std::fs::write(ws.path().join("src/server.sh"), "#!/bin/sh\necho v2\n").unwrap();
    let third = ws.run(&[]);
    assert_eq!(third.code, 0, "{}", third.stderr);
    let rec3 = third.json();
    assert_eq!(step(&rec3, "build")["status"], "passed");
    assert_ne!(step(&rec3, "image")["image"]["digest"], digest.as_str());
}

#[test]
fn no_op_run_is_all_cached() {
    if !sandbox_or_skip("no_op_run_is_all_cached") {
        return;
    }
    let ws = Ws::new(&format!(
        "pipeline:\n  steps:{BUILD}\n    - name: image\n      needs: [build]\n      build-image:\n        layers: [{{from: out/app, to: /app}}]\n        output: out/image\n"
    ));
    assert_eq!(ws.run(&[]).code, 0);
    let r = ws.run(&[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rec = r.json();
    for s in rec["steps"].as_array().unwrap() {
        assert_eq!(s["status"], "cached", "{s}");
    }
    // A deleted output is restored from the cache, not rebuilt.
    std::fs::remove_dir_all(ws.path().join("out/app")).unwrap();
    let r = ws.run(&[]);
    assert_eq!(step(&r.json(), "build")["status"], "cached");
    assert!(ws.path().join("out/app/server.sh").exists());
    // --no-cache runs everything again.
    let r = ws.run(&["--no-cache"]);
    assert_eq!(step(&r.json(), "build")["status"], "passed");
}

#[test]
fn failing_gate_exits_1_and_skips_dependents() {
    if !sandbox_or_skip("failing_gate_exits_1_and_skips_dependents") {
        return;
    }
    let ws = Ws::new(&format!(
        "pipeline:\n  steps:{BUILD}\n    - name: secrets\n      gate: secrets\n      target: src\n    - name: after\n      needs: [secrets]\n      run: 'true'\n"
    ));
    // A real-looking AWS key id and secret.
    std::fs::write(
        ws.path().join("src/config.env"),
        "AWS_ACCESS_KEY_ID=AKIAZ7QW3RT5YU8IOP2L\nAWS_SECRET_ACCESS_KEY=Xq9vB3nL7tR2mK8pW4sY6hJ1fD5gC0aZ3eU7iO9k\n",
    )
    .unwrap();
    let db = ws.cache.path().join("store.db");
    let r = ws.run(&["--store", "--database", db.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let rec = r.json();
    assert_eq!(rec["status"], "failed");
    // --store recorded the run, its steps and the gate decision.
    let c = rusqlite::Connection::open(&db).unwrap();
    let q = |sql: &str| -> String { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        q("SELECT run_id FROM pipeline_runs"),
        rec["id"].as_str().unwrap()
    );
    assert_eq!(q("SELECT status FROM pipeline_runs"), "failed");
    assert_eq!(
        q("SELECT scanner || ':' || passed FROM gate_decisions"),
        "secrets:0"
    );
    assert_eq!(q("SELECT kind FROM ledger WHERE seq = 1"), "pipeline-run");
    assert_eq!(step(&rec, "secrets")["status"], "failed");
    assert_eq!(step(&rec, "secrets")["gate"]["passed"], false);
    assert_eq!(step(&rec, "after")["status"], "skipped");
    assert_eq!(
        step(&rec, "build")["status"],
        "passed",
        "independent steps still run"
    );
    // The gate's report is kept as an artifact.
    let report = step(&rec, "secrets")["gate"]["report"]
        .as_str()
        .unwrap()
        .to_string();
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
    assert!(!report["findings"].as_array().unwrap().is_empty());
}

#[test]
fn sandbox_confines_writes_network_and_time() {
    if !sandbox_or_skip("sandbox_confines_writes_network_and_time") {
        return;
    }
    let ws = Ws::new(
        r#"pipeline:
  steps:
    - name: escape
      run: echo pwned > src/evil.txt
    - name: tmp
      run: echo private > /tmp/mine && test -f /tmp/mine
    - name: offline
      run: 'bash -c "exec 3<>/dev/tcp/127.0.0.1/9"'
    - name: hang
      run: sleep 60
      timeout: 1s
"#,
    );
    let t = std::time::Instant::now();
    let r = ws.run(&[]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(t.elapsed() < std::time::Duration::from_secs(20));
    let rec = r.json();
    let escape = step(&rec, "escape");
    assert_eq!(escape["status"], "error");
    assert!(
        escape["message"]
            .as_str()
            .unwrap()
            .contains("wrote outside its outputs"),
        "{escape}"
    );
    assert!(
        !ws.path().join("src/evil.txt").exists(),
        "the write escaped the sandbox"
    );
    assert_eq!(step(&rec, "tmp")["status"], "passed");
    assert!(
        !Path::new("/tmp/mine").exists()
            || std::fs::read_to_string("/tmp/mine").unwrap() != "private\n"
    );
    assert_eq!(
        step(&rec, "offline")["status"],
        "error",
        "no network without `network: true`"
    );
    let hang = step(&rec, "hang");
    assert_eq!(hang["status"], "error");
    assert!(
        hang["message"].as_str().unwrap().contains("timed out"),
        "{hang}"
    );
    assert!(r.stderr.contains("timed out"));
}

#[test]
fn failed_step_leaves_previous_outputs_intact() {
    if !sandbox_or_skip("failed_step_leaves_previous_outputs_intact") {
        return;
    }
    let ws = Ws::new(
        "pipeline:\n  steps:\n    - name: build\n      run: mkdir -p out/a && echo good > out/a/f && test ! -f src/fail\n      outputs: [out/a]\n",
    );
    assert_eq!(ws.run(&[]).code, 0);
    std::fs::write(ws.path().join("src/fail"), "").unwrap();
    std::fs::write(
        ws.path().join("shipgate.yaml"),
        "pipeline:\n  steps:\n    - name: build\n      run: mkdir -p out/a && echo half > out/a/f && test ! -f src/fail\n      outputs: [out/a]\n",
    )
    .unwrap();
    let r = ws.run(&[]);
    assert_eq!(r.code, 2);
    assert_eq!(
        std::fs::read_to_string(ws.path().join("out/a/f")).unwrap(),
        "good\n",
        "half-written output replaced the old one"
    );
}

#[test]
fn invalid_pipelines_exit_2_with_positions() {
    let ws = Ws::new(
        "pipeline:\n  steps:\n    - {name: a, run: x, needs: [c]}\n    - {name: b, run: x, needs: [a]}\n    - {name: c, run: x, needs: [b]}\n    - {name: d, run: x, needs: [nope]}\n",
    );
    let r = ws.run(&[]);
    assert_eq!(r.code, 2);
    let config = ws.path().join("shipgate.yaml").display().to_string();
    assert!(r.stderr.contains(&format!("{config}:6:")), "{}", r.stderr);
    assert!(
        r.stderr.contains("\"nope\", which is not a step"),
        "{}",
        r.stderr
    );
    // Fix the unknown name: the cycle is reported with its path.
    std::fs::write(
        ws.path().join("shipgate.yaml"),
        "pipeline:\n  steps:\n    - {name: a, run: x, needs: [c]}\n    - {name: b, run: x, needs: [a]}\n    - {name: c, run: x, needs: [b]}\n",
    )
    .unwrap();
    let r = ws.run(&[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("cycle: a -> c -> b -> a"), "{}", r.stderr);
    // validate says the same, and other shipgate commands accept the section.
    let v = crate::kit::run_in(ws.path(), &["pipeline", "validate", "--workspace", "."]);
    assert_eq!(v.code, 2);
    assert!(v.stderr.contains("cycle"));
    std::fs::write(
        ws.path().join("shipgate.yaml"),
        format!("fail_on: high\npipeline:\n  steps:{BUILD}"),
    )
    .unwrap();
    let v = crate::kit::run_in(ws.path(), &["pipeline", "validate", "--workspace", "."]);
    assert_eq!(v.code, 0, "{}", v.stderr);
    assert_eq!(v.stdout, "build\n");
    let s = crate::kit::run_in(ws.path(), &["scan", "secrets", "src", "--format", "json"]);
    assert_eq!(
        s.code, 0,
        "the pipeline section must not break other commands: {}",
        s.stderr
    );
}

#[test]
fn refused_push_is_an_error_and_nothing_is_recorded_as_pushed() {
    if !sandbox_or_skip("refused_push_is_an_error_and_nothing_is_recorded_as_pushed") {
        return;
    }
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ws = Ws::new(&format!(
        "pipeline:\n  registry: {{insecure-loopback: true}}\n  steps:{BUILD}\n    - name: image\n      needs: [build]\n      build-image:\n        layers: [{{from: out/app, to: /app}}]\n        output: out/image\n        push: 127.0.0.1:{port}/demo/app:v1\n"
    ));
    let r = ws.run(&[]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    let rec = r.json();
    let img = step(&rec, "image");
    assert_eq!(img["status"], "error");
    assert!(
        img["message"]
            .as_str()
            .unwrap()
            .contains(&format!("127.0.0.1:{port}")),
        "{img}"
    );
    assert!(img["image"].is_null());
    assert!(
        !PathBuf::from(ws.path()).join("out/image").exists(),
        "the layout is only committed after the push"
    );
}

/// Pushes the cached debootstrap root file system (one uncompressed layer) as an image.
fn push_debian(host: &str) -> Option<String> {
    let cache = std::env::var_os("SHIPGATE_TEST_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/shipgate")))?;
    let tarball = cache.join("debootstrap-bookworm-minbase.tar");
    if !tarball.is_file() {
        assert!(
            !shipgate_testenv::in_ci(),
            "{} is needed in CI (scripts/test-deps-image.sh)",
            tarball.display()
        );
        eprintln!("SKIPPED image step test: {} missing", tarball.display());
        return None;
    }
    let sha = |p: &Path| {
        let out = Command::new("sha256sum").arg(p).output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    let layout = tempfile::tempdir().unwrap();
    let blobs = layout.path().join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let layer = sha(&tarball);
    std::fs::hard_link(&tarball, blobs.join(&layer))
        .or_else(|_| std::fs::copy(&tarball, blobs.join(&layer)).map(|_| ()))
        .unwrap();
    let config = serde_json::json!({"architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{layer}")]}});
    let config_bytes = serde_json::to_vec(&config).unwrap();
    std::fs::write(blobs.join("c"), &config_bytes).unwrap();
    let config_sha = sha(&blobs.join("c"));
    std::fs::rename(blobs.join("c"), blobs.join(&config_sha)).unwrap();
    let manifest = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{config_sha}"), "size": config_bytes.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": format!("sha256:{layer}"),
                    "size": std::fs::metadata(&tarball).unwrap().len()}]});
    let mbytes = serde_json::to_vec(&manifest).unwrap();
    std::fs::write(blobs.join("m"), &mbytes).unwrap();
    let msha = sha(&blobs.join("m"));
    std::fs::rename(blobs.join("m"), blobs.join(&msha)).unwrap();
    std::fs::write(
        layout.path().join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": format!("sha256:{msha}"), "size": mbytes.len(), "annotations": {"org.opencontainers.image.ref.name": "bookworm"}}]});
    std::fs::write(
        layout.path().join("index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();
    // skopeo rewrites the manifest, so the pushed digest differs from ours: use the tag.
    let reference = format!("{host}/debian:bookworm");
    let st = Command::new("skopeo")
        .args([
            "copy",
            "--dest-tls-verify=false",
            &format!("oci:{}:bookworm", layout.path().display()),
            &format!("docker://{host}/debian:bookworm"),
        ])
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "skopeo copy: {}",
        String::from_utf8_lossy(&st.stderr)
    );
    Some(reference)
}

#[test]
fn run_step_in_a_container_image() {
    if !sandbox_or_skip("run_step_in_a_container_image") {
        return;
    }
    let Some(reg) = shipgate_testenv::registry_or_skip("run_step_in_a_container_image") else {
        return;
    };
    let Some(debian) = push_debian(&reg.host()) else {
        return;
    };
    let ws = Ws::new(&format!(
        r#"pipeline:
  registry: {{insecure-loopback: true}}
  steps:
    - name: in-debian
      image: {debian}
      run: mkdir -p out/info && cat /etc/debian_version > out/info/version && pwd > out/info/pwd && cp src/server.sh out/info/
      outputs: [out/info]
    - name: root-is-read-only
      image: {debian}
      run: touch /etc/shipgate-was-here
"#
    ));
    let r = ws.run(&[]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    let rec = r.json();
    assert_eq!(step(&rec, "in-debian")["status"], "passed", "{rec}");
    let version = std::fs::read_to_string(ws.path().join("out/info/version")).unwrap();
    assert!(
        version.starts_with("12"),
        "Debian 12 expected, got {version:?}"
    );
    assert_eq!(
        std::fs::read_to_string(ws.path().join("out/info/pwd")).unwrap(),
        "/workspace\n"
    );
    assert!(
        ws.path().join("out/info/server.sh").exists(),
        "the workspace is visible at /workspace"
    );
    assert_eq!(step(&rec, "root-is-read-only")["status"], "error");
    // The unpacked root is cached: the second run does not pull again and the step is cached.
    let r = ws.run(&[]);
    assert_eq!(step(&r.json(), "in-debian")["status"], "cached");
}

#[test]
fn gate_decisions_are_recorded_without_the_sandbox() {
    let ws = Ws::new("pipeline:\n  steps:\n    - {name: secrets, gate: secrets, target: src}\n");
    let r = ws.run(&["--sandbox", "none"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rec = r.json();
    assert_eq!(rec["isolation"], "none");
    assert_eq!(step(&rec, "secrets")["gate"]["passed"], true, "{rec}");
    assert!(
        ws.path()
            .join(".shipgate/artifacts/secrets/report.json")
            .exists()
    );
}

#[test]
fn image_steps_run_as_kubernetes_jobs() {
    let Some((cp, node)) = shipgate_testenv::node_or_skip("image_steps_run_as_kubernetes_jobs")
    else {
        return;
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let nss: kube::Api<k8s_openapi::api::core::v1::Namespace> =
                kube::Api::all(cp.client().await.unwrap());
            let ns = serde_json::from_value(serde_json::json!({"metadata": {"name": "cli-jobs"}}))
                .unwrap();
            nss.create(&Default::default(), &ns).await.unwrap();
        });
    let ws = Ws::new(&format!(
        r#"pipeline:
  steps:
    - name: in-a-job
      image: {}
      run: mkdir -p out/k && cat src/server.sh > out/k/copy
      outputs: [out/k]
    - name: local
      needs: [in-a-job]
      run: test -f out/k/copy
"#,
        node.busybox_image()
    ));
    let kubeconfig = cp.kubeconfig_path().unwrap().display().to_string();
    let r = ws.run(&[
        "--sandbox",
        "none",
        "--executor",
        "kubernetes",
        "--kubeconfig",
        &kubeconfig,
        "--namespace",
        "cli-jobs",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let rec = r.json();
    let job = step(&rec, "in-a-job")["job"].as_str().unwrap_or_default();
    assert!(job.starts_with("cli-jobs/sg-in-a-job-"), "{rec}");
    assert!(
        step(&rec, "local").get("job").is_none(),
        "steps without an image stay local"
    );
    assert_eq!(
        std::fs::read_to_string(ws.path().join("out/k/copy")).unwrap(),
        "#!/bin/sh\necho serving\n"
    );
}
