//! `shipgate runtime watch` through the binary: exit codes and errors on a hand-written log,
//! and the rules firing on what the real kube-apiserver of the test control plane audited.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Pod, Secret};
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, Role, RoleBinding};
use kube::api::{Api, PostParams};
use serde_json::{Value, json};

use crate::kit::run_in;

#[test]
fn one_shot_exit_codes_config_and_malformed_lines() {
    let t = tempfile::tempdir().unwrap();
    let exec = json!({"kind": "Event", "auditID": "a1", "stage": "ResponseComplete", "verb": "create",
        "requestURI": "/api/v1/namespaces/web/pods/p/exec?command=sh",
        "user": {"username": "alice"}, "objectRef": {"resource": "pods", "namespace": "web", "name": "p", "subresource": "exec"},
        "responseStatus": {"code": 101}, "stageTimestamp": "2026-01-01T00:00:00.000000Z", "annotations": {"authorization.k8s.io/decision": "allow"}});
    let log = t.path().join("audit.log");
    std::fs::write(&log, format!("{exec}\n")).unwrap();
    let log_s = log.to_str().unwrap();

    let run = run_in(t.path(), &["runtime", "watch", "--audit-log", log_s]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("pod-exec"), "{}", run.stdout);
    let run = run_in(
        t.path(),
        &[
            "runtime",
            "watch",
            "--audit-log",
            log_s,
            "--fail-on",
            "critical",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = run_in(
        t.path(),
        &["runtime", "watch", "--audit-log", log_s, "--since", "1h"],
    );
    assert_eq!(
        run.code, 0,
        "events without a time are kept, this one has none: {}",
        run.stdout
    );

    // Disabled in shipgate.yaml: no alert. An unknown rule id: exit 2 naming the file.
    std::fs::write(
        t.path().join("shipgate.yaml"),
        "runtime:\n  disable: [pod-exec]\n",
    )
    .unwrap();
    let run = run_in(t.path(), &["runtime", "watch", "--audit-log", log_s]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    std::fs::write(
        t.path().join("shipgate.yaml"),
        "runtime:\n  disable: [pod-exce]\n",
    )
    .unwrap();
    let run = run_in(t.path(), &["runtime", "watch", "--audit-log", log_s]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("pod-exce"), "{}", run.stderr);
    std::fs::remove_file(t.path().join("shipgate.yaml")).unwrap();

    // A malformed line: exit 2 with file and line, the alert after it still reported.
    std::fs::write(&log, format!("{{oops\n{exec}\n")).unwrap();
    let run = run_in(
        t.path(),
        &["runtime", "watch", "--audit-log", log_s, "--format", "json"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["errors"][0]["line"], 1, "{report:#}");
    assert_eq!(report["findings"][0]["rule_id"], "pod-exec", "{report:#}");
    assert_eq!(report["findings"][0]["scanner"], "runtime");

    let run = run_in(
        t.path(),
        &["runtime", "watch", "--audit-log", "missing.log"],
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("missing.log"), "{}", run.stderr);
}

fn obj<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

/// Real requests against the real API server, then the binary over the audit log it wrote.
#[test]
fn rules_fire_on_the_real_api_server_audit_log() {
    let Some(cp) = shipgate_testenv::control_plane_or_skip("cli runtime watch") else {
        return;
    };
    let ns = format!("rt-{}", std::process::id());
    let crb = format!("{ns}-eve-admin");
    let password = format!("hunter2-{ns}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = cp.client().await.unwrap();
        let pp = PostParams::default();
        Api::<Namespace>::all(client.clone())
            .create(&pp, &obj(json!({"metadata": {"name": ns}})))
            .await
            .unwrap();
        let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
        let pod = json!({"metadata": {"name": "priv"}, "spec": {"hostPID": true, "containers": [
            {"name": "c", "image": "busybox", "securityContext": {"privileged": true}}]}});
        pods.create(&pp, &obj(pod)).await.unwrap();
        let plain = json!({"metadata": {"name": "plain"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}});
        pods.create(&pp, &obj(plain)).await.unwrap();
        Api::<Secret>::namespaced(client.clone(), &ns)
            .create(&pp, &obj(json!({"metadata": {"name": "db"}, "stringData": {"password": password}})))
            .await
            .unwrap();
        // mallory may read secrets in the namespace (a narrow role: no RBAC alert) ...
        Api::<Role>::namespaced(client.clone(), &ns)
            .create(&pp, &obj(json!({"metadata": {"name": "secret-reader"},
                "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]})))
            .await
            .unwrap();
        Api::<RoleBinding>::namespaced(client.clone(), &ns)
            .create(&pp, &obj(json!({"metadata": {"name": "mallory-reads"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "secret-reader"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "mallory"}]})))
            .await
            .unwrap();
        // ... and does, as herself (the admin impersonates her).
        let kc = kube::config::Kubeconfig::from_yaml(cp.kubeconfig_yaml()).unwrap();
        let mut cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .unwrap();
        cfg.auth_info.impersonate = Some("mallory".into());
        let mallory = kube::Client::try_from(cfg).unwrap();
        Api::<Secret>::namespaced(mallory, &ns).get("db").await.unwrap();
        // cluster-admin for eve.
        Api::<ClusterRoleBinding>::all(client.clone())
            .create(&pp, &obj(json!({"metadata": {"name": crb},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "eve"}]})))
            .await
            .unwrap();
        // exec: no kubelet, so it fails after authorisation, but it is audited.
        let req = http::Request::post(format!(
            "/api/v1/namespaces/{ns}/pods/priv/exec?command=sh&command=-c&command=id&stdout=true"
        ))
        .body(Vec::new())
        .unwrap();
        assert!(client.request_text(req).await.is_err());
    });

    // The API server writes the events as the requests complete: wait for the last one.
    let log = cp.audit_log_path();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text
            .lines()
            .any(|l| l.contains(&format!("/namespaces/{ns}/pods/priv/exec")))
        {
            assert!(
                !text.contains(&password),
                "secret data must never be in the audit log"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "exec not audited in {}",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let t = tempfile::tempdir().unwrap();
    let run = run_in(
        t.path(),
        &[
            "runtime",
            "watch",
            "--audit-log",
            log.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, 1, "alerts at high or above: {}", run.stderr);
    let report = run.json();
    let findings = report["findings"].as_array().unwrap();
    let prop = |f: &Value, k: &str| f["properties"][k].as_str().unwrap_or("").to_string();
    // Nothing for the control plane's own traffic (bootstrap RBAC, controllers' reads).
    let system: Vec<&Value> = findings
        .iter()
        .filter(|f| prop(f, "user").starts_with("system:"))
        .collect();
    assert!(
        system.is_empty(),
        "control plane traffic alerted: {system:#?}"
    );
    let ours: Vec<&Value> = findings
        .iter()
        .filter(|f| prop(f, "namespace") == ns || prop(f, "name") == crb)
        .collect();
    let one = |rule: &str| -> &Value {
        let hits: Vec<&&Value> = ours.iter().filter(|f| f["rule_id"] == rule).collect();
        assert_eq!(hits.len(), 1, "{rule}: {ours:#?}");
        hits[0]
    };
    let f = one("pod-exec");
    assert_eq!(prop(f, "user"), "admin");
    assert_eq!(prop(f, "resource"), "pods/exec");
    assert_eq!(prop(f, "name"), "priv");
    assert!(prop(f, "message").contains("sh -c id"), "{f:#}");
    let f = one("privileged-pod");
    assert_eq!(prop(f, "user"), "admin");
    assert_eq!(prop(f, "resource"), "pods");
    let msg = prop(f, "message");
    assert!(
        msg.contains(&format!("{ns}/priv"))
            && msg.contains("hostPID")
            && msg.contains("privileged container c"),
        "{msg}"
    );
    let f = one("secret-read");
    assert_eq!(prop(f, "user"), "mallory");
    assert_eq!(prop(f, "impersonated_by"), "admin");
    assert_eq!(prop(f, "resource"), "secrets");
    assert_eq!(prop(f, "name"), "db");
    assert_eq!(prop(f, "verb"), "get");
    let f = one("rbac-escalation");
    assert_eq!(prop(f, "user"), "admin");
    assert_eq!(prop(f, "resource"), "clusterrolebindings");
    assert_eq!(f["severity"], "critical");
    assert!(prop(f, "message").contains("User eve"), "{f:#}");
    assert_eq!(
        ours.len(),
        4,
        "the plain pod, the secret create and the narrow role are quiet: {ours:#?}"
    );
    for f in &ours {
        assert_eq!(f["scanner"], "runtime");
        assert!(
            !prop(f, "audit_id").is_empty() && !prop(f, "timestamp").is_empty(),
            "{f:#}"
        );
    }
}

/// `--follow --from-start`: alerts come out as JSON lines while the file grows.
#[test]
fn follow_prints_json_lines_as_the_log_grows() {
    use std::io::{BufRead, BufReader, Write};
    let t = tempfile::tempdir().unwrap();
    let log = t.path().join("audit.log");
    let line = |id: &str| {
        json!({"kind": "Event", "auditID": id, "stage": "ResponseComplete", "verb": "get",
            "user": {"username": "mallory"}, "objectRef": {"resource": "secrets", "namespace": "web", "name": id},
            "responseStatus": {"code": 200}})
    };
    std::fs::write(&log, format!("{}\n", line("first"))).unwrap();
    let mut child = std::process::Command::new(crate::kit::bin())
        .args([
            "runtime",
            "watch",
            "--follow",
            "--from-start",
            "--audit-log",
        ])
        .arg(&log)
        .current_dir(t.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A regression must fail, not hang: kill the watcher after 30 s (reads then see EOF).
    let pid = child.id().to_string();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(30));
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid])
            .status();
    });
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    writeln!(f, "{}", line("second")).unwrap();
    let mut second = String::new();
    out.read_line(&mut second).unwrap();
    let _ = child.kill();
    child.wait().unwrap();
    let a: Value = serde_json::from_str(&first).unwrap();
    let b: Value = serde_json::from_str(&second).unwrap();
    assert_eq!(
        (a["rule_id"].as_str(), a["name"].as_str()),
        (Some("secret-read"), Some("first"))
    );
    assert_eq!(
        (b["user"].as_str(), b["name"].as_str()),
        (Some("mallory"), Some("second"))
    );
}

/// `--store` records each alert as a `runtime-alert` event in the ledger, and `shipgate
/// report` counts them.
#[test]
fn alerts_are_recorded_in_the_store() {
    let t = tempfile::tempdir().unwrap();
    let log = t.path().join("audit.log");
    let line = |id: &str| {
        json!({"kind": "Event", "auditID": id, "stage": "ResponseComplete", "verb": "get",
            "requestReceivedTimestamp": "2026-02-01T10:00:00.000000Z",
            "stageTimestamp": "2026-02-01T10:00:00.100000Z",
            "user": {"username": "mallory"}, "objectRef": {"resource": "secrets", "namespace": "web", "name": id},
            "responseStatus": {"code": 200}})
    };
    std::fs::write(&log, format!("{}\n{}\n", line("a"), line("b"))).unwrap();
    let r = crate::kit::run_in(
        t.path(),
        &[
            "runtime",
            "watch",
            "--audit-log",
            "audit.log",
            "--store",
            "--database",
            "s.db",
            "--fail-on",
            "none",
        ],
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let m = crate::kit::run_in(
        t.path(),
        &["report", "--database", "s.db", "--format", "json"],
    );
    assert_eq!(m.json()["runtime_alerts"], 2, "{}", m.stdout);
    let v = crate::kit::run_in(
        t.path(),
        &["audit", "verify", "--database", "s.db", "--format", "json"],
    );
    assert_eq!(v.json()["entries"], 2);
    assert_eq!(v.json()["intact"], true);
}
