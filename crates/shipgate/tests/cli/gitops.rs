//! `shipgate gitops ...` through the binary: the install manifest, bad input failing closed,
//! and sync / diff / status / history / rollback against the real test control plane and a
//! real git repository.

use std::path::Path;

use crate::kit::{Run, run_in};

fn app_file(dir: &Path, name: &str, url: &str, ns: &str) -> std::path::PathBuf {
    let p = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &p,
        format!(
            "apiVersion: shipgate.gitops/v1\nkind: Application\nmetadata:\n  name: {name}\nspec:\n  source:\n    repoURL: {url}\n    revision: main\n  destination:\n    namespace: {ns}\n    createNamespace: true\n  syncPolicy:\n    prune: true\n"
        ),
    )
    .unwrap();
    p
}

#[test]
fn manifest_prints_least_privilege_install() {
    let t = tempfile::tempdir().unwrap();
    let apps = app_file(t.path(), "web", "https://git.example.com/m.git", "web");
    let run = run_in(
        t.path(),
        &[
            "gitops",
            "manifest",
            "--image",
            "registry.example/shipgate@sha256:0123",
            "--apps",
            apps.to_str().unwrap(),
            "--resource",
            "deployments.apps",
            "--resource",
            "configmaps",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    for want in [
        "kind: ServiceAccount",
        "kind: ClusterRole",
        "kind: Deployment",
        "kind: CustomResourceDefinition",
        "registry.example/shipgate@sha256:0123",
        "deployments",
        "--leader-elect",
        "web.yaml",
    ] {
        assert!(run.stdout.contains(want), "missing {want}:\n{}", run.stdout);
    }
    // Least privilege: no wildcard verbs or resources.
    assert!(
        !run.stdout.contains("'*'") && !run.stdout.contains("\"*\""),
        "{}",
        run.stdout
    );

    let bad = run_in(
        t.path(),
        &[
            "gitops",
            "manifest",
            "--image",
            "x",
            "--resource",
            "Not A Kind",
        ],
    );
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("Not A Kind"), "{}", bad.stderr);
}

#[test]
fn bad_application_files_fail_closed_with_file_and_line() {
    let t = tempfile::tempdir().unwrap();
    let bad = t.path().join("apps.yaml");
    std::fs::write(
        &bad,
        "apiVersion: shipgate.gitops/v1\nkind: Application\nmetadata:\n  name: web\nspec:\n  source:\n    repoURL: https://h/r.git\n    bogus: 1\n",
    )
    .unwrap();
    for cmd in ["sync", "diff", "rollback"] {
        let run = run_in(
            t.path(),
            &["gitops", cmd, "web", "--apps", bad.to_str().unwrap()],
        );
        assert_eq!(run.code, 2, "{cmd}: {}", run.stderr);
        assert!(run.stderr.contains("apps.yaml:"), "{cmd}: {}", run.stderr);
        assert!(run.stderr.contains("bogus"), "{cmd}: {}", run.stderr);
    }
    let good = app_file(t.path(), "web", "https://h/r.git", "web");
    let run = run_in(
        t.path(),
        &["gitops", "sync", "nope", "--apps", good.to_str().unwrap()],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("known: web"), "{}", run.stderr);
    let run = run_in(
        t.path(),
        &[
            "gitops",
            "status",
            "--apps",
            good.to_str().unwrap(),
            "--kubeconfig",
            "/nonexistent/kubeconfig",
        ],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("/nonexistent/kubeconfig"),
        "{}",
        run.stderr
    );
    let run = run_in(t.path(), &["gitops", "run"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--apps"), "{}", run.stderr);
}

fn gitops(dir: &Path, kubeconfig: &str, args: &[&str]) -> Run {
    let mut all = vec!["gitops"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--kubeconfig", kubeconfig, "--state-namespace", "cli-state"]);
    let cache = dir.join("cache");
    all.extend_from_slice(&["--cache-dir", cache.to_str().unwrap()]);
    run_in(dir, &all)
}

#[test]
fn sync_diff_status_history_rollback_against_a_real_cluster() {
    let Some(cp) = shipgate_testenv::control_plane_or_skip("cli gitops") else {
        return;
    };
    let kubeconfig = cp.kubeconfig_path().unwrap();
    let kc = kubeconfig.to_str().unwrap();
    let t = tempfile::tempdir().unwrap();
    // The state namespace must exist (the install manifest creates it in a cluster).
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use kube::api::{Api, PostParams};
        let client = cp.client().await.unwrap();
        let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client);
        let n =
            serde_json::from_value(serde_json::json!({"metadata": {"name": "cli-state"}})).unwrap();
        let _ = api.create(&PostParams::default(), &n).await;
    });

    let root = t.path().join("repos");
    std::fs::create_dir_all(&root).unwrap();
    let mut repo = shipgate_testenv::GitFixture::new(&root, "cli").unwrap();
    let cm = |v: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  version: \"{v}\"\n"
        )
    };
    repo.write("cm.yaml", &cm("1")).unwrap();
    let v1 = repo.commit("v1").unwrap();
    repo.push().unwrap();
    let url = format!("file://{}", repo.bare_dir().display());
    let apps = app_file(t.path(), "cli", &url, "cli-dst");
    let apps = apps.to_str().unwrap();

    // Diff before the first sync: everything is new.
    let run = gitops(t.path(), kc, &["diff", "cli", "--apps", apps]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("=== ConfigMap cli-dst/settings (create)"),
        "{}",
        run.stdout
    );

    let run = gitops(
        t.path(),
        kc,
        &["sync", "cli", "--apps", apps, "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let rec = run.json();
    assert_eq!(rec["result"], "succeeded");
    assert_eq!(rec["commit"], v1.as_str());

    let run = gitops(t.path(), kc, &["diff", "cli", "--apps", apps]);
    assert_eq!(run.code, 0, "in sync: {}\n{}", run.stdout, run.stderr);

    repo.write("cm.yaml", &cm("2")).unwrap();
    let v2 = repo.commit("v2").unwrap();
    repo.push().unwrap();
    let run = gitops(t.path(), kc, &["diff", "cli", "--apps", apps]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("+") && run.stdout.contains('2'),
        "{}",
        run.stdout
    );
    let db = t.path().join("s.db");
    let db = db.to_str().unwrap();
    let run = gitops(
        t.path(),
        kc,
        &["sync", "cli", "--apps", apps, "--store", "--database", db],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("configured"), "{}", run.stdout);
    // --store: the sync is a gitops-sync event in the ledger.
    let c = rusqlite::Connection::open(db).unwrap();
    let (kind, body): (String, String) = c
        .query_row("SELECT kind, body FROM events", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(kind, "gitops-sync");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["body"]["commit"], v2.as_str(), "{body}");
    assert_eq!(body["body"]["result"], "succeeded");
    let v = run_in(t.path(), &["audit", "verify", "--database", db]);
    assert_eq!(v.code, 0, "{}", v.stdout);

    let run = gitops(
        t.path(),
        kc,
        &["status", "--apps", apps, "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows = run.json();
    assert_eq!(rows[0]["app"], "cli");
    assert_eq!(rows[0]["synced_commit"], v2.as_str());
    let run = gitops(t.path(), kc, &["status", "--apps", apps]);
    assert!(run.stdout.contains(&v2[..12]), "{}", run.stdout);

    // Rollback without --to goes to the previous successful commit and pins it.
    let run = gitops(
        t.path(),
        kc,
        &["rollback", "cli", "--apps", apps, "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["commit"], v1.as_str());
    assert_eq!(run.json()["trigger"], "rollback");
    let run = gitops(t.path(), kc, &["status", "cli", "--format", "json"]);
    assert_eq!(run.json()[0]["pinned_commit"], v1.as_str());

    let run = gitops(t.path(), kc, &["history", "cli", "--drift"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[1].contains("rollback"),
        "newest first: {}",
        run.stdout
    );
    assert!(run.stdout.contains("manual"), "{}", run.stdout);

    // A privileged container: the gate blocks (exit 1) and says why.
    repo.write(
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: root\nspec:\n  containers:\n    - name: c\n      image: registry.example/x:1\n      securityContext:\n        privileged: true\n",
    )
    .unwrap();
    repo.commit("privileged").unwrap();
    repo.push().unwrap();
    let run = gitops(t.path(), kc, &["sync", "cli", "--apps", apps, "--dry-run"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("BLOCKED"), "{}", run.stdout);
    let run = gitops(t.path(), kc, &["sync", "cli", "--apps", apps]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("k8s-privileged-container"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("pod.yaml:"), "{}", run.stdout);
}

#[test]
fn run_syncs_serves_health_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader, Read, Write};
    let Some(cp) = shipgate_testenv::control_plane_or_skip("cli gitops run") else {
        return;
    };
    let kubeconfig = cp.kubeconfig_path().unwrap();
    let t = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use kube::api::{Api, PostParams};
        let client = cp.client().await.unwrap();
        let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client);
        let n = serde_json::from_value(serde_json::json!({"metadata": {"name": "cli-run-state"}}))
            .unwrap();
        let _ = api.create(&PostParams::default(), &n).await;
    });
    let root = t.path().join("repos");
    std::fs::create_dir_all(&root).unwrap();
    let mut repo = shipgate_testenv::GitFixture::new(&root, "run").unwrap();
    repo.write(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: agent\ndata:\n  k: v\n",
    )
    .unwrap();
    repo.commit("one").unwrap();
    repo.push().unwrap();
    let url = format!("file://{}", repo.bare_dir().display());
    let apps = app_file(t.path(), "agent", &url, "cli-run-dst");
    std::fs::write(
        &apps,
        std::fs::read_to_string(&apps).unwrap().replace(
            "    prune: true\n",
            "    prune: true\n    automated: true\n",
        ),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = std::process::Command::new(crate::kit::bin())
        .args(["gitops", "run", "--apps"])
        .arg(&apps)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args([
            "--state-namespace",
            "cli-run-state",
            "--listen",
            &listen,
            "--store",
            "--database",
        ])
        .arg(t.path().join("s.db"))
        .arg("--cache-dir")
        .arg(t.path().join("cache"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|l: &String| l.contains("agent sync succeeded"))
    {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) => seen.push(l),
            Err(_) => {
                let _ = child.kill();
                panic!("no sync line: {seen:#?}");
            }
        }
    }
    let mut s = std::net::TcpStream::connect(&listen).unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let st = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{seen:#?}");
    // --store: the agent's syncs were written before it exited.
    let c = rusqlite::Connection::open(t.path().join("s.db")).unwrap();
    let synced: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM events WHERE kind = 'gitops-sync'
               AND json_extract(body, '$.body.app') = 'agent'
               AND json_extract(body, '$.body.result') = 'succeeded'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(synced >= 1, "no gitops-sync event recorded: {seen:#?}");
}
