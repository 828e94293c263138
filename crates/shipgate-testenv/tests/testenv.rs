//! Integration tests for the test infrastructure itself: the control plane really serves the
//! Kubernetes API, the registry really serves /v2/, and nothing outlives the test process.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ObjectMeta, PostParams};
use shipgate_testenv::process::pid_alive;

#[tokio::test]
async fn control_plane_serves_the_api() {
    let Some(cp) = shipgate_testenv::control_plane_or_skip("control_plane_serves_the_api") else {
        return;
    };
    let client = cp.client().await.expect("client");
    let info = client.apiserver_version().await.expect("version");
    assert_eq!(info.major, "1");
    assert_eq!(info.minor, "34");
    let ns_api: Api<Namespace> = Api::all(client.clone());
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some("testenv-smoke".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    ns_api
        .create(&PostParams::default(), &ns)
        .await
        .expect("create ns");
    let cms: Api<ConfigMap> = Api::namespaced(client, "testenv-smoke");
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some("c".into()),
            ..Default::default()
        },
        data: Some([("k".to_string(), "v".to_string())].into()),
        ..Default::default()
    };
    cms.create(&PostParams::default(), &cm)
        .await
        .expect("create cm");
    let got = cms.get("c").await.expect("get cm");
    assert_eq!(got.data.unwrap()["k"], "v");
}

#[test]
fn registry_serves_v2_and_stops_on_drop() {
    let reg = match shipgate_testenv::Registry::start() {
        Ok(r) => r,
        Err(e) if shipgate_testenv::in_ci() => panic!("registry required in CI: {e}"),
        Err(e) => {
            eprintln!("SKIPPED registry test: {e}");
            return;
        }
    };
    let port: u16 = reg.host().rsplit(':').next().unwrap().parse().unwrap();
    assert_eq!(
        shipgate_testenv::process::http_get_status(port, "/v2/"),
        Some(200)
    );
    assert_eq!(
        shipgate_testenv::process::http_get_status(port, "/v2/nope/manifests/latest"),
        Some(404)
    );
    let pid = reg.process().pid().unwrap();
    let dir = reg.dir().to_owned();
    drop(reg);
    assert!(!pid_alive(pid), "registry pid {pid} still alive after drop");
    assert!(!dir.exists(), "registry dir left behind");
}

/// Runs the probe binary, returns (pids, dir) it reported, leaving the probe running.
fn run_probe(mode: &str, what: &str) -> Option<(std::process::Child, Vec<u32>, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_shipgate-testenv-probe"))
        .args([mode, what])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn probe");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let Some(Ok(first)) = lines.next() else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("probe printed nothing");
    };
    if let Some(err) = first.strip_prefix("ERROR ") {
        if shipgate_testenv::in_ci() {
            panic!("probe could not start {what}: {err}");
        }
        eprintln!("SKIPPED leak test for {what}: {err}");
        let _ = child.wait();
        return None;
    }
    let pids: Vec<u32> = first
        .strip_prefix("PIDS ")
        .expect("PIDS line")
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    let dir = lines.next().unwrap().unwrap();
    let dir = dir.strip_prefix("DIR ").expect("DIR line").to_owned();
    Some((child, pids, dir))
}

fn assert_all_gone(pids: &[u32], dir: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline
        && (pids.iter().any(|p| pid_alive(*p)) || std::path::Path::new(dir).exists())
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    let alive: Vec<_> = pids.iter().filter(|p| pid_alive(**p)).collect();
    assert!(alive.is_empty(), "processes leaked: {alive:?}");
    assert!(
        !std::path::Path::new(dir).exists(),
        "directory leaked: {dir}"
    );
}

#[test]
fn nothing_outlives_a_test_process_that_exits_without_cleanup() {
    let Some((mut child, pids, dir)) = run_probe("exit", "registry") else {
        return;
    };
    assert!(!pids.is_empty());
    child.wait().unwrap();
    assert_all_gone(&pids, &dir);
}

#[test]
fn nothing_outlives_a_sigkilled_test_process() {
    let Some((mut child, pids, dir)) = run_probe("wait", "etcd") else {
        return;
    };
    assert_eq!(pids.len(), 2, "etcd and its watchdog");
    assert!(pids.iter().all(|p| pid_alive(*p)));
    child.kill().unwrap(); // SIGKILL: no destructor, no atexit
    child.wait().unwrap();
    assert_all_gone(&pids, &dir);
}

#[test]
fn nothing_outlives_an_abandoned_control_plane() {
    let Some((mut child, pids, dir)) = run_probe("exit", "control-plane") else {
        return;
    };
    assert_eq!(pids.len(), 4, "apiserver, etcd and their two watchdogs");
    child.wait().unwrap(); // the probe exits without stopping anything
    assert_all_gone(&pids, &dir);
}
