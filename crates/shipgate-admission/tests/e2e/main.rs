//! End to end through a real kube-apiserver (shipgate-testenv): the webhook is registered with
//! `url:` + `caBundle` and every verdict is observed as a Kubernetes client sees it.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

#[path = "../common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use shipgate_admission::manifest::{ClientMode, ManifestOptions, webhook_configuration};
use shipgate_admission::{Server, ServerConfig};

const VWC_NAME: &str = "shipgate-admission";

/// Both tests register webhooks on the one shared API server (and one stops its webhook on
/// purpose), so they run one after the other.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn ensure_namespace(client: &kube::Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    match api.create(&PostParams::default(), &ns).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => panic!("creating namespace {name}: {e}"),
    }
}

/// POSTs an object and returns (HTTP status, Warning headers, body) as a client sees them.
async fn create_raw(
    client: &kube::Client,
    path: &str,
    obj: &Value,
    dry_run: bool,
) -> (u16, Vec<String>, Value) {
    let uri = if dry_run {
        format!("{path}?dryRun=All")
    } else {
        path.to_owned()
    };
    let req = http::Request::post(uri)
        .header("content-type", "application/json")
        .body(kube::client::Body::from(serde_json::to_vec(obj).unwrap()))
        .unwrap();
    let resp = client
        .send(req)
        .await
        .expect("request reaches the API server");
    let status = resp.status().as_u16();
    let warnings = resp
        .headers()
        .get_all("warning")
        .iter()
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .collect();
    use http_body_util::BodyExt;
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        warnings,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

fn pods_path(ns: &str) -> String {
    format!("/api/v1/namespaces/{ns}/pods")
}

fn message(body: &Value) -> String {
    body["message"].as_str().unwrap_or_default().to_owned()
}

async fn register(client: &kube::Client, opts: &ManifestOptions) {
    let vwc: ValidatingWebhookConfiguration =
        serde_json::from_value(webhook_configuration(opts).unwrap()).unwrap();
    let api: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    api.patch(
        &opts.name,
        &PatchParams::apply("shipgate-e2e").force(),
        &Patch::Apply(&vwc),
    )
    .await
    .expect("apply ValidatingWebhookConfiguration");
}

/// Registration is asynchronous: poll with dry-run creates until `probe` is answered as `want`.
async fn wait_for(client: &kube::Client, ns: &str, probe: &Value, want_status: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (st, _, body) = create_raw(client, &pods_path(ns), probe, true).await;
        if st == want_status {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "webhook configuration not effective: {st} {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_through_the_api_server() {
    let Some(cp) = shipgate_testenv::control_plane_or_skip("admission e2e") else {
        return;
    };
    let _serial = SERIAL.lock().await;
    let client = cp.client().await.unwrap();
    for ns in ["e2e-apps", "e2e-exempt"] {
        ensure_namespace(&client, ns).await;
    }

    // The webhook, in this process, on a random port.
    let dir = tempfile::tempdir().unwrap();
    let tls = write_tls(dir.path());
    let rules = dir.path().join("rules.json");
    std::fs::write(
        &rules,
        json!({"privileged": "deny", "latest-tag": "deny", "team-label": "warn"}).to_string(),
    )
    .unwrap();
    let mut cfg = ServerConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        tls.cert.clone(),
        tls.key.clone(),
    );
    cfg.exemptions.namespaces.insert("e2e-exempt".into());
    let server = Server::bind(cfg, Arc::new(FileRulesLoader(rules)))
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let state = server.state();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async move {
        let _ = stop_rx.await;
    }));

    let mut opts = ManifestOptions::new(
        tls.ca.cert_pem(),
        ClientMode::Url(format!("https://{addr}/validate")),
    );
    opts.webhook_name = "validate.e2e.shipgate.dev".into();
    opts.name = VWC_NAME.into();
    register(&client, &opts).await;

    let privileged = pod("priv", "registry.example/app:1.0", true);
    wait_for(&client, "e2e-apps", &privileged, 403).await;

    // 1. A privileged Pod is denied with the rule's message.
    let (st, _, body) = create_raw(&client, &pods_path("e2e-apps"), &privileged, false).await;
    assert_eq!(st, 403, "{body}");
    let msg = message(&body);
    assert!(
        msg.contains("admission webhook \"validate.e2e.shipgate.dev\" denied the request"),
        "{msg}"
    );
    assert!(
        msg.contains("[privileged] container app is privileged"),
        "{msg}"
    );

    // 2. A compliant Pod is admitted (and stored).
    let ok = pod("compliant", "registry.example/app:1.0", false);
    let (st, warnings, body) = create_raw(&client, &pods_path("e2e-apps"), &ok, false).await;
    assert_eq!(st, 201, "{body}");
    assert!(warnings.is_empty(), "{warnings:?}");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "e2e-apps");
    assert!(pods.get("compliant").await.is_ok());

    // 3. A Deployment with a :latest image is denied.
    let deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"team": "a"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:latest"}]}}}});
    let (st, _, body) = create_raw(
        &client,
        "/apis/apps/v1/namespaces/e2e-apps/deployments",
        &deploy,
        false,
    )
    .await;
    assert_eq!(st, 403, "{body}");
    assert!(
        message(&body).contains("[latest-tag] container web uses image nginx:latest"),
        "{body}"
    );

    // 4. A warn rule admits and the client sees the warning.
    let mut unlabelled = pod("unlabelled", "registry.example/app:1.0", false);
    unlabelled["metadata"]["labels"] = json!({});
    let (st, warnings, body) =
        create_raw(&client, &pods_path("e2e-apps"), &unlabelled, false).await;
    assert_eq!(st, 201, "{body}");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("[team-label] label team is missing")),
        "{warnings:?}"
    );

    // 5. Exempt namespaces: kube-system by the namespaceSelector (never sent), e2e-exempt by
    //    the server's own exemption list.
    for ns in ["kube-system", "e2e-exempt"] {
        let (st, _, body) =
            create_raw(&client, &pods_path(ns), &pod("priv", "x/y:1", true), false).await;
        assert_eq!(st, 201, "{ns}: {body}");
    }

    // 6. The ignore annotation with a reason.
    let mut annotated = pod("annotated", "registry.example/app:1.0", true);
    annotated["metadata"]["annotations"] =
        json!({"shipgate.dev/ignore": "privileged node agent, ticket OPS-7"});
    let (st, _, body) = create_raw(&client, &pods_path("e2e-apps"), &annotated, false).await;
    assert_eq!(st, 201, "{body}");

    // dryRun creates were evaluated too (the poll above), and the metrics saw it all.
    let metrics = state.metrics.render();
    assert!(
        metrics.contains(r#"decision="denied",dry_run="true""#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"decision="warned",dry_run="false""#),
        "{metrics}"
    );

    // 7. With the webhook stopped: failurePolicy Fail rejects, Ignore admits.
    stop_tx.send(()).unwrap();
    task.await.unwrap().unwrap();
    let (st, _, body) = create_raw(
        &client,
        &pods_path("e2e-apps"),
        &pod("down-fail", "x/y:1", false),
        false,
    )
    .await;
    assert_eq!(st, 500, "{body}");
    assert!(message(&body).contains("failed calling webhook"), "{body}");
    opts.failure_policy = "Ignore".into();
    register(&client, &opts).await;
    wait_for(&client, "e2e-apps", &pod("down-probe", "x/y:1", false), 201).await;
    let (st, _, body) = create_raw(
        &client,
        &pods_path("e2e-apps"),
        &pod("down-ignore", "x/y:1", true),
        false,
    )
    .await;
    assert_eq!(st, 201, "{body}");

    let api: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    api.delete(VWC_NAME, &Default::default()).await.unwrap();
}

/// The real policy engine behind the webhook: shipgate's built-in rules (baseline profile) and a
/// ConstraintTemplate from the Gatekeeper library with one deny and one warn constraint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipgate_policies_and_a_gatekeeper_template_through_the_api_server() {
    let Some(cp) = shipgate_testenv::control_plane_or_skip("admission e2e (policy engine)") else {
        return;
    };
    let data = std::env::var_os("SHIPGATE_SHARED_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
        });
    let template = data.join("gatekeeper-library/library/general/requiredlabels/template.yaml");
    if !template.is_file() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "shared data missing in CI: {}",
            template.display()
        );
        eprintln!("skipping: {} is absent", template.display());
        return;
    }
    let _serial = SERIAL.lock().await;
    let client = cp.client().await.unwrap();
    ensure_namespace(&client, "e2e-policy").await;

    let dir = tempfile::tempdir().unwrap();
    let tls = write_tls(dir.path());
    let constraints = dir.path().join("constraints.yaml");
    std::fs::write(
        &constraints,
        r#"apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sRequiredLabels
metadata:
  name: pods-need-owner
spec:
  match:
    kinds: [{apiGroups: [""], kinds: ["Pod"]}]
    namespaces: ["e2e-policy"]
  parameters:
    labels: [{key: owner}]
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sRequiredLabels
metadata:
  name: pods-should-have-cost-center
spec:
  enforcementAction: warn
  match:
    kinds: [{apiGroups: [""], kinds: ["Pod"]}]
    namespaces: ["e2e-policy"]
  parameters:
    labels: [{key: cost-center}]
"#,
    )
    .unwrap();
    let settings: shipgate_policy::PolicySettings =
        serde_json::from_value(json!({"profile": "baseline"})).unwrap();
    let loader = shipgate_admission::policyset::PolicySetLoader {
        paths: vec![template, constraints],
        settings: Some(settings),
    };
    let cfg = ServerConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        tls.cert.clone(),
        tls.key.clone(),
    );
    let server = Server::bind(cfg, Arc::new(loader)).await.unwrap();
    let addr = server.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async move {
        let _ = stop_rx.await;
    }));
    let mut opts = ManifestOptions::new(
        tls.ca.cert_pem(),
        ClientMode::Url(format!("https://{addr}/validate")),
    );
    opts.webhook_name = "policy.e2e.shipgate.dev".into();
    opts.name = "shipgate-admission-policy-e2e".into();
    register(&client, &opts).await;

    let labelled = |name: &str, privileged: bool| {
        let mut p = pod(name, "registry.example/app:1.0", privileged);
        p["metadata"]["labels"]["owner"] = json!("payments");
        p
    };
    // A privileged Pod is denied by the built-in rule, with its message.
    wait_for(&client, "e2e-policy", &labelled("probe", true), 403).await;
    let (st, _, body) = create_raw(
        &client,
        &pods_path("e2e-policy"),
        &labelled("priv", true),
        false,
    )
    .await;
    assert_eq!(st, 403, "{body}");
    assert!(
        message(&body).contains("k8s-privileged-container"),
        "{body}"
    );

    // The library template denies what its suite says: a Pod without the required label.
    let (st, _, body) = create_raw(
        &client,
        &pods_path("e2e-policy"),
        &pod("no-owner", "registry.example/app:1.0", false),
        false,
    )
    .await;
    assert_eq!(st, 403, "{body}");
    assert!(message(&body).contains("you must provide labels"), "{body}");
    assert!(message(&body).contains("owner"), "{body}");

    // A compliant Pod is admitted; the warn-mode constraint shows up as a warning.
    let (st, warnings, body) = create_raw(
        &client,
        &pods_path("e2e-policy"),
        &labelled("ok", false),
        false,
    )
    .await;
    assert_eq!(st, 201, "{body}");
    assert!(
        warnings.iter().any(|w| w.contains("cost-center")),
        "{warnings:?}"
    );

    let api: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    api.delete(&opts.name, &Default::default()).await.unwrap();
    stop_tx.send(()).unwrap();
    task.await.unwrap().unwrap();
}

/// The image requirements through the API server: a Pod whose image is signed with the
/// configured key and carries a clean scan attestation is stored; an unsigned one and one
/// referenced by tag are refused with the reason, as `kubectl apply` would show it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_signatures_through_the_api_server() {
    use shipgate_admission::images::{ImageGateLoader, ImagePolicy, ImageRule};
    use shipgate_sign::{PredicateType, SigningKey, blocking, testsupport::push_test_image};

    let Some(cp) = shipgate_testenv::control_plane_or_skip("admission image e2e") else {
        return;
    };
    let Some(reg) = shipgate_testenv::registry_or_skip("admission image e2e") else {
        return;
    };
    let _serial = SERIAL.lock().await;
    let client = cp.client().await.unwrap();
    ensure_namespace(&client, "e2e-signed").await;
    let dir = tempfile::tempdir().unwrap();
    let docker_config = dir.path().join("docker-config.json");
    std::fs::write(&docker_config, "{}").unwrap();
    let o = shipgate_image::RegistryOptions {
        insecure_loopback: true,
        docker_config: Some(docker_config),
        ..Default::default()
    };
    let host = reg.host();
    let key = SigningKey::generate().unwrap();
    let public = key.public_key();
    // Registry work is blocking (its own runtime): off the async workers.
    let (good, unsigned) = {
        let (o, host) = (o.clone(), host.clone());
        tokio::task::spawn_blocking(move || {
            let good = push_test_image(&format!("{host}/team/app:v1"), "good", &o).unwrap();
            let good = format!("{host}/team/app@{good}");
            blocking::sign(&good, &key, &Default::default(), &o).unwrap();
            let scan: PredicateType = "scan-report".parse().unwrap();
            let report = json!({"schema": "shipgate.report/v1", "scanner": "image", "findings": [], "errors": []});
            blocking::attest(&good, &key, &scan, report, &o).unwrap();
            let unsigned = push_test_image(&format!("{host}/team/other:v1"), "unsigned", &o).unwrap();
            (good, format!("{host}/team/other@{unsigned}"))
        })
        .await
        .unwrap()
    };
    let rule = ImageRule::new(
        &[format!("{host}/team/*")],
        vec![public],
        Some(shipgate_report::Severity::High),
    )
    .unwrap();
    let policy = Arc::new(ImagePolicy::new(
        vec![rule],
        o,
        Duration::from_secs(600),
        16,
    ));

    let tls = write_tls(dir.path());
    let rules = dir.path().join("rules.json");
    std::fs::write(&rules, json!({}).to_string()).unwrap();
    let cfg = ServerConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        tls.cert.clone(),
        tls.key.clone(),
    );
    let loader = ImageGateLoader::new(FileRulesLoader(rules), policy);
    let server = Server::bind(cfg, Arc::new(loader)).await.unwrap();
    let addr = server.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async move {
        let _ = stop_rx.await;
    }));
    let mut opts = ManifestOptions::new(
        tls.ca.cert_pem(),
        ClientMode::Url(format!("https://{addr}/validate")),
    );
    opts.webhook_name = "images.e2e.shipgate.dev".into();
    opts.name = VWC_NAME.into();
    register(&client, &opts).await;

    let bad = pod("unsigned", &unsigned, false);
    wait_for(&client, "e2e-signed", &bad, 403).await;
    let (st, _, body) = create_raw(&client, &pods_path("e2e-signed"), &bad, false).await;
    assert_eq!(st, 403, "{body}");
    assert!(message(&body).contains("no signatures found"), "{body}");

    let by_tag = pod("by-tag", &format!("{host}/team/app:v1"), false);
    let (st, _, body) = create_raw(&client, &pods_path("e2e-signed"), &by_tag, false).await;
    assert_eq!(st, 403, "{body}");
    assert!(message(&body).contains("referenced by tag only"), "{body}");

    let ok = pod("signed", &good, false);
    let (st, _, body) = create_raw(&client, &pods_path("e2e-signed"), &ok, false).await;
    assert_eq!(st, 201, "{body}");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "e2e-signed");
    assert!(pods.get("signed").await.is_ok());

    let vwcs: Api<ValidatingWebhookConfiguration> = Api::all(client.clone());
    let _ = vwcs.delete(VWC_NAME, &Default::default()).await;
    let _ = stop_tx.send(());
    let _ = task.await;
}
