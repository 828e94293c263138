//! The test node runs real pods: image pulled from the node's registry, logs read through the
//! API server from the kubelet.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, LogParams, ObjectMeta, PostParams};

fn pod(name: &str, image: &str, script: &str) -> Pod {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 2,
            "automountServiceAccountToken": false,
            "containers": [{
                "name": "main",
                "image": image,
                "command": ["/bin/sh", "-c", script],
                "securityContext": {
                    "runAsNonRoot": true, "runAsUser": 65532,
                    "readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false,
                    "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"},
                },
            }],
        },
    }))
    .expect("a valid pod")
}

async fn wait_phase(pods: &Api<Pod>, name: &str) -> (String, Pod) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let p = pods.get(name).await.expect("get pod");
        let phase = p
            .status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_default();
        if phase == "Succeeded" || phase == "Failed" {
            return (phase, p);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "pod {name} still {phase}: {:?}",
            p.status
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn pods_run_to_completion_on_the_node() {
    let Some((cp, node)) = shipgate_testenv::node_or_skip("pods_run_to_completion_on_the_node")
    else {
        return;
    };
    let client = cp.client().await.expect("client");
    let ns = "node-pods";
    let nss: Api<Namespace> = Api::all(client.clone());
    let meta = ObjectMeta {
        name: Some(ns.into()),
        ..Default::default()
    };
    nss.create(
        &PostParams::default(),
        &Namespace {
            metadata: meta,
            ..Default::default()
        },
    )
    .await
    .expect("namespace");
    let pods: Api<Pod> = Api::namespaced(client, ns);
    pods.create(
        &PostParams::default(),
        &pod("ok", node.busybox_image(), "echo hello from $(id -u)"),
    )
    .await
    .expect("create pod");
    pods.create(
        &PostParams::default(),
        &pod("fails", node.busybox_image(), "exit 7"),
    )
    .await
    .expect("create pod");

    let (phase, p) = wait_phase(&pods, "ok").await;
    assert_eq!(phase, "Succeeded", "{:?}", p.status);
    assert_eq!(
        p.spec.and_then(|s| s.node_name).as_deref(),
        Some(node.name()),
        "scheduled onto the test node"
    );
    let logs = pods
        .logs("ok", &LogParams::default())
        .await
        .expect("logs through the kubelet");
    assert_eq!(logs, "hello from 65532\n");

    let (phase, p) = wait_phase(&pods, "fails").await;
    assert_eq!(phase, "Failed");
    let code = p
        .status
        .and_then(|s| s.container_statuses)
        .and_then(|c| c.into_iter().next())
        .and_then(|c| c.state)
        .and_then(|s| s.terminated)
        .map(|t| t.exit_code);
    assert_eq!(code, Some(7));
}
