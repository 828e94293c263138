//! shipgate-kube against a real kube-apiserver (shipgate-testenv).

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ObjectMeta, PostParams};
use shipgate_kube::{ClientOptions, ListScope};

#[tokio::test]
async fn lists_all_kinds_with_pagination_and_namespace_filter() {
    let Some(cp) = shipgate_testenv::control_plane_or_skip("shipgate-kube list") else {
        return;
    };
    let path = cp.kubeconfig_path().unwrap();
    let client = shipgate_kube::client(&ClientOptions {
        kubeconfig: Some(&path),
        ..Default::default()
    })
    .await
    .unwrap();
    for ns in ["kube-list-a", "kube-list-b"] {
        let nsapi: Api<Namespace> = Api::all(client.clone());
        let n = Namespace {
            metadata: ObjectMeta {
                name: Some(ns.into()),
                ..Default::default()
            },
            ..Default::default()
        };
        nsapi.create(&PostParams::default(), &n).await.unwrap();
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
        for i in 0..7 {
            let cm = ConfigMap {
                metadata: ObjectMeta {
                    name: Some(format!("cm-{i}")),
                    ..Default::default()
                },
                ..Default::default()
            };
            cms.create(&PostParams::default(), &cm).await.unwrap();
        }
    }
    let scope = ListScope {
        namespaces: vec!["kube-list-a".into()],
        page_size: 3,
        ..Default::default()
    };
    let (objects, failures) = shipgate_kube::list_all_objects(&client, &scope)
        .await
        .unwrap();
    assert!(failures.is_empty(), "{failures:?}");
    let cms: Vec<_> = objects
        .iter()
        .filter(|o| o.resource.kind == "ConfigMap")
        .collect();
    // 7 created; no controllers run, so no kube-root-ca.crt: exactly 7, fetched in pages of 3.
    assert_eq!(
        cms.len(),
        7,
        "{:?}",
        cms.iter()
            .map(|o| &o.object.metadata.name)
            .collect::<Vec<_>>()
    );
    assert!(
        cms.iter()
            .all(|o| o.object.metadata.namespace.as_deref() == Some("kube-list-a"))
    );
    assert!(
        cms.iter()
            .all(|o| o.object.types.as_ref().unwrap().kind == "ConfigMap")
    );
    // Cluster-scoped kinds are still listed.
    assert!(objects.iter().any(|o| o.resource.kind == "Namespace"
        && o.object.metadata.name.as_deref() == Some("kube-list-b")));
    assert!(!objects.iter().any(|o| o.resource.plural == "events"));
}

#[tokio::test]
async fn refuses_insecure_kubeconfig_and_reports_missing_file() {
    let yaml = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user: {token: abc}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n";
    let Err(err) = shipgate_kube::client_from_yaml(yaml).await else {
        panic!("insecure kubeconfig accepted")
    };
    assert!(
        err.to_string().contains("insecure-skip-tls-verify"),
        "{err}"
    );
    let missing = std::path::Path::new("/nonexistent/kubeconfig");
    let Err(err) = shipgate_kube::client(&ClientOptions {
        kubeconfig: Some(missing),
        ..Default::default()
    })
    .await
    else {
        panic!("missing kubeconfig accepted")
    };
    assert!(err.to_string().contains("/nonexistent/kubeconfig"), "{err}");
}
