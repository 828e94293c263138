//! The webhook server over real TLS sockets: decisions, operability endpoints, limits,
//! bad input, certificate and policy hot reload, failure modes and graceful shutdown.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

#[path = "../common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use shipgate_admission::{FailureMode, Server, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Running {
    addr: std::net::SocketAddr,
    tls: Tls,
    dir: tempfile::TempDir,
    state: Arc<shipgate_admission::server::AdmissionState>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), shipgate_admission::AdmissionError>>,
}

impl Running {
    fn policy_path(&self) -> std::path::PathBuf {
        self.dir.path().join("rules.json")
    }
    fn client_tls(&self) -> Arc<rustls::ClientConfig> {
        client_tls(self.tls.ca.cert_pem(), None)
    }
    async fn conn(&self) -> Conn {
        connect(self.addr, self.client_tls()).await.unwrap()
    }
    async fn post(&self, body: Vec<u8>) -> (u16, Value) {
        let (s, b) = self
            .conn()
            .await
            .request("POST", "/validate?timeout=5s", body)
            .await;
        (s, serde_json::from_str(&b).unwrap_or(Value::String(b)))
    }
    async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap().unwrap();
    }
}

async fn start(rules: Value, tweak: impl FnOnce(&mut ServerConfig)) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let tls = write_tls(dir.path());
    let rules_path = dir.path().join("rules.json");
    std::fs::write(&rules_path, rules.to_string()).unwrap();
    let mut cfg = ServerConfig::new(
        "127.0.0.1:0".parse().unwrap(),
        tls.cert.clone(),
        tls.key.clone(),
    );
    cfg.reload_interval = Duration::from_millis(100);
    cfg.exemptions.namespaces.insert("kube-system".into());
    tweak(&mut cfg);
    let server = Server::bind(cfg, Arc::new(FileRulesLoader(rules_path)))
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let state = server.state();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async move {
        let _ = rx.await;
    }));
    Running {
        addr,
        tls,
        dir,
        state,
        stop: Some(tx),
        task,
    }
}

fn default_rules() -> Value {
    json!({"privileged": "deny", "latest-tag": "deny", "team-label": "warn", "sleep": "deny",
           "panic": "deny", "error": "deny"})
}

#[tokio::test]
async fn decisions_over_tls() {
    let s = start(default_rules(), |_| {}).await;
    // Privileged + latest: denied, both rules listed.
    let (st, r) = s
        .post(review(&pod("p", "nginx:latest", true), "apps", false))
        .await;
    assert_eq!(st, 200);
    assert_eq!(r["response"]["uid"], "0d5f7a3c-1111-2222-3333-444455556666");
    assert_eq!(r["response"]["allowed"], false);
    let msg = r["response"]["status"]["message"].as_str().unwrap();
    assert!(
        msg.contains("[privileged] container app is privileged"),
        "{msg}"
    );
    assert!(msg.contains("[latest-tag]"), "{msg}");
    // Compliant.
    let (_, r) = s
        .post(review(&pod("ok", "nginx:1.27", false), "apps", false))
        .await;
    assert_eq!(r["response"]["allowed"], true);
    assert!(r["response"].get("warnings").is_none());
    // Warn rule admits with a warning.
    let mut nolabel = pod("w", "nginx:1.27", false);
    nolabel["metadata"]["labels"] = json!({});
    let (_, r) = s.post(review(&nolabel, "apps", false)).await;
    assert_eq!(r["response"]["allowed"], true);
    assert_eq!(
        r["response"]["warnings"][0],
        "[team-label] label team is missing"
    );
    // Exempt namespace.
    let (_, r) = s
        .post(review(
            &pod("p", "nginx:latest", true),
            "kube-system",
            false,
        ))
        .await;
    assert_eq!(r["response"]["allowed"], true);
    // Ignore annotation with a reason exempts just that rule.
    let mut ann = pod("p", "nginx:latest", true);
    ann["metadata"]["annotations"] =
        json!({"shipgate.dev/ignore": "privileged CNI plugin needs it"});
    let (_, r) = s.post(review(&ann, "apps", false)).await;
    let msg = r["response"]["status"]["message"].as_str().unwrap();
    assert!(
        !msg.contains("[privileged]") && msg.contains("[latest-tag]"),
        "{msg}"
    );
    // dryRun requests get the same verdict.
    let (_, r) = s
        .post(review(&pod("p", "nginx:latest", true), "apps", true))
        .await;
    assert_eq!(r["response"]["allowed"], false);
    // Unknown kinds are evaluated and admitted when nothing matches.
    let widget =
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}});
    let (st, r) = s.post(review(&widget, "apps", false)).await;
    assert_eq!((st, r["response"]["allowed"].clone()), (200, json!(true)));

    let mut c = s.conn().await;
    assert_eq!(
        c.request("GET", "/healthz", vec![]).await,
        (200, "ok".into())
    );
    assert_eq!(
        c.request("GET", "/readyz", vec![]).await,
        (200, "ok".into())
    );
    let (st, metrics) = c.request("GET", "/metrics", vec![]).await;
    assert_eq!(st, 200);
    assert!(
        metrics
            .contains(r#"shipgate_admission_requests_total{decision="denied",dry_run="false"} 2"#),
        "{metrics}"
    );
    assert!(
        metrics
            .contains(r#"shipgate_admission_requests_total{decision="exempt",dry_run="false"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"shipgate_admission_violations_total{rule="privileged",action="deny"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("shipgate_admission_review_duration_seconds_bucket"),
        "{metrics}"
    );
    assert!(
        metrics.contains("shipgate_admission_rules_loaded 6"),
        "{metrics}"
    );
    assert_eq!(c.request("GET", "/validate", vec![]).await.0, 405);
    assert_eq!(c.request("POST", "/mutate", vec![]).await.0, 404);
    s.shutdown().await;
}

#[tokio::test]
async fn bad_input_gets_a_4xx_with_a_reason() {
    let s = start(default_rules(), |c| c.max_body_bytes = 64 * 1024).await;
    let (st, r) = s.post(b"{\"apiVersion\": ".to_vec()).await;
    assert_eq!(st, 400);
    assert!(r.as_str().unwrap().contains("not valid JSON"), "{r}");
    let (st, r) = s
        .post(br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#.to_vec())
        .await;
    assert_eq!(st, 400);
    assert!(r.as_str().unwrap().contains("no request"), "{r}");
    let (st, _) = s.post(br#"[1,2,3]"#.to_vec()).await;
    assert_eq!(st, 400);
    // Huge object: 413 before evaluation.
    let mut big = pod("big", "nginx:1", false);
    big["metadata"]["annotations"] = json!({"pad": "x".repeat(200 * 1024)});
    let (st, r) = s.post(review(&big, "apps", false)).await;
    assert_eq!(st, 413, "{r}");
    // Deeply nested JSON: serde_json's recursion limit, not a stack overflow.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let (st, _) = s.post(deep.into_bytes()).await;
    assert!(st == 400 || st == 413);
    // The server is still healthy.
    let (_, r) = s
        .post(review(&pod("ok", "nginx:1.27", false), "apps", false))
        .await;
    assert_eq!(r["response"]["allowed"], true);
    let m = s.conn().await.request("GET", "/metrics", vec![]).await.1;
    assert!(
        m.contains(r#"shipgate_admission_bad_requests_total{reason="too_large"}"#),
        "{m}"
    );
    assert!(
        m.contains(r#"shipgate_admission_bad_requests_total{reason="bad_json"}"#),
        "{m}"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn slow_clients_are_cut_off() {
    let s = start(default_rules(), |c| {
        c.tls_handshake_timeout = Duration::from_millis(300);
        c.header_read_timeout = Duration::from_millis(300);
        c.request_budget = Duration::from_millis(400);
    })
    .await;
    // A TCP client that never starts TLS is dropped after the handshake timeout.
    let mut tcp = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let t = Instant::now();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut buf))
        .await
        .unwrap();
    assert!(matches!(n, Ok(0) | Err(_)));
    assert!(t.elapsed() < Duration::from_secs(3));

    // A TLS client that sends half a body gets 408 within the budget.
    let tcp = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(s.client_tls())
        .connect(
            rustls_pki_types::ServerName::IpAddress(s.addr.ip().into()),
            tcp,
        )
        .await
        .unwrap();
    tls.write_all(b"POST /validate HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n{\"apiV")
        .await
        .unwrap();
    let t = Instant::now();
    let mut resp = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut resp)).await;
    let text = String::from_utf8_lossy(&resp);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(t.elapsed() < Duration::from_secs(3));

    // A client that sends headers byte by byte too slowly is dropped too.
    let tcp = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(s.client_tls())
        .connect(
            rustls_pki_types::ServerName::IpAddress(s.addr.ip().into()),
            tcp,
        )
        .await
        .unwrap();
    tls.write_all(b"POST /validate HTTP/1.1\r\n").await.unwrap();
    let mut resp = Vec::new();
    let r = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut resp)).await;
    assert!(r.is_ok(), "server kept a header-stalled connection open");

    // Meanwhile normal requests still work.
    let (_, r) = s
        .post(review(&pod("ok", "nginx:1.27", false), "apps", false))
        .await;
    assert_eq!(r["response"]["allowed"], true);
    s.shutdown().await;
}

#[tokio::test]
async fn wrong_certificates_fail_the_handshake_cleanly() {
    let s = start(default_rules(), |_| {}).await;
    let other = shipgate_testenv::TestCa::new("some-other-ca").unwrap();
    assert!(
        connect(s.addr, client_tls(other.cert_pem(), None))
            .await
            .is_err()
    );
    s.shutdown().await;

    // With a client CA configured, only clients it signed get in.
    let dir = tempfile::tempdir().unwrap();
    let client_ca = shipgate_testenv::TestCa::new("apiserver-client-ca").unwrap();
    let ca_path = dir.path().join("client-ca.crt");
    std::fs::write(&ca_path, client_ca.cert_pem()).unwrap();
    let s = start(default_rules(), |c| c.client_ca = Some(ca_path.clone())).await;
    let good = client_ca.client_cert("kube-apiserver", &[]).unwrap();
    let bad = other.client_cert("kube-apiserver", &[]).unwrap();
    let mut c = connect(s.addr, client_tls(s.tls.ca.cert_pem(), Some(&good)))
        .await
        .unwrap();
    assert_eq!(c.request("GET", "/healthz", vec![]).await.0, 200);
    for client in [Some(&bad), None] {
        // TLS 1.3: the server's rejection of the client certificate surfaces on first use.
        match connect(s.addr, client_tls(s.tls.ca.cert_pem(), client)).await {
            Err(_) => {}
            Ok(mut c) => {
                let req = http::Request::get("/healthz")
                    .header("host", "x")
                    .body(http_body_util::Full::new(bytes::Bytes::new()))
                    .unwrap();
                let _ = &mut c;
                let r = tokio::time::timeout(Duration::from_secs(5), async {
                    c_send(&mut c, req).await
                })
                .await
                .unwrap();
                assert!(
                    r.is_err(),
                    "request succeeded without a valid client certificate"
                );
            }
        }
    }
    s.shutdown().await;
}

async fn c_send(
    c: &mut Conn,
    req: http::Request<http_body_util::Full<bytes::Bytes>>,
) -> Result<u16, String> {
    c.try_request(req).await
}

#[tokio::test]
async fn hot_reload_of_certificate_and_policies() {
    let s = start(json!({"privileged": "deny"}), |_| {}).await;
    let (_, r) = s
        .post(review(&pod("p", "nginx:latest", false), "apps", false))
        .await;
    assert_eq!(r["response"]["allowed"], true, "latest-tag not loaded yet");
    // Add a rule: picked up without restart.
    std::fs::write(
        s.policy_path(),
        json!({"privileged": "deny", "latest-tag": "deny"}).to_string(),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, r) = s
            .post(review(&pod("p", "nginx:latest", false), "apps", false))
            .await;
        if r["response"]["allowed"] == false {
            break;
        }
        assert!(Instant::now() < deadline, "policy change not picked up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A broken policy file keeps the previous policies and counts an error.
    std::fs::write(s.policy_path(), "{ not json").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let m = s.conn().await.request("GET", "/metrics", vec![]).await.1;
        if m.contains("shipgate_admission_policy_load_errors_total 1") {
            break;
        }
        assert!(Instant::now() < deadline, "load error not counted: {m}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, r) = s
        .post(review(&pod("p", "nginx:latest", false), "apps", false))
        .await;
    assert_eq!(
        r["response"]["allowed"], false,
        "previous policies must stay in force"
    );
    assert_eq!(
        s.conn().await.request("GET", "/readyz", vec![]).await.0,
        200
    );

    // Rotate the serving certificate to one from a new CA; an open connection keeps working,
    // new connections see the new certificate.
    let mut old_conn = s.conn().await;
    let new_ca = shipgate_testenv::TestCa::new("rotated-ca").unwrap();
    let pair = new_ca
        .server_cert(
            "webhook",
            &[std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)],
            &[],
        )
        .unwrap();
    std::fs::write(&s.tls.key, &pair.key_pem).unwrap();
    std::fs::write(&s.tls.cert, &pair.cert_pem).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while connect(s.addr, client_tls(new_ca.cert_pem(), None))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "new certificate not served");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        connect(s.addr, s.client_tls()).await.is_err(),
        "old CA must no longer verify"
    );
    assert_eq!(old_conn.request("GET", "/healthz", vec![]).await.0, 200);
    s.shutdown().await;
}

#[tokio::test]
async fn failures_use_the_configured_answer_within_the_budget() {
    for mode in [FailureMode::Deny, FailureMode::Allow] {
        let s = start(default_rules(), |c| {
            c.request_budget = Duration::from_millis(300);
            c.failure_mode = mode;
        })
        .await;
        let allowed = mode == FailureMode::Allow;
        for (key, val) in [
            ("test.shipgate.dev/sleep-ms", "1500"),
            ("test.shipgate.dev/panic", "1"),
            ("test.shipgate.dev/error", "1"),
        ] {
            let mut p = pod("ok", "nginx:1.27", false);
            p["metadata"]["annotations"] = json!({key: val});
            let t = Instant::now();
            let (st, r) = s.post(review(&p, "apps", false)).await;
            assert_eq!(st, 200);
            assert_eq!(r["response"]["allowed"], allowed, "{key} {mode:?}: {r}");
            assert!(
                t.elapsed() < Duration::from_millis(1200),
                "{key}: answered after {:?}",
                t.elapsed()
            );
            let text = r.to_string();
            assert!(text.contains("shipgate admission:"), "{text}");
        }
        let (_, r) = s
            .post(review(&pod("ok", "nginx:1.27", false), "apps", false))
            .await;
        assert_eq!(
            r["response"]["allowed"], true,
            "server still healthy after failures"
        );
        s.shutdown().await;
    }
}

#[tokio::test]
async fn graceful_shutdown_drains_in_flight_requests() {
    let s = start(default_rules(), |c| {
        c.drain_timeout = Duration::from_secs(10)
    })
    .await;
    let mut p = pod("ok", "nginx:1.27", false);
    p["metadata"]["annotations"] = json!({"test.shipgate.dev/sleep-ms": "700"});
    let mut conn = s.conn().await;
    let body = review(&p, "apps", false);
    let inflight = tokio::spawn(async move { conn.request("POST", "/validate", body).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let addr = s.addr;
    let state = s.state.clone();
    let t = Instant::now();
    s.shutdown().await;
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "did not wait for the in-flight request"
    );
    let (st, r) = inflight.await.unwrap();
    assert_eq!(st, 200);
    assert!(r.contains("\"allowed\":true"), "{r}");
    assert!(!state.is_ready());
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting after shutdown"
    );
}

#[tokio::test]
async fn every_evaluated_decision_reaches_the_sink() {
    use shipgate_admission::decisions::{DecisionRecord, SharedSink};
    let seen: Arc<std::sync::Mutex<Vec<DecisionRecord>>> = Arc::default();
    let sink = seen.clone();
    let s = start(default_rules(), move |c| {
        c.request_budget = Duration::from_millis(300);
        c.decision_sink = Some(SharedSink(Arc::new(move |d: DecisionRecord| {
            sink.lock().unwrap().push(d);
        })));
    })
    .await;
    let (_, r) = s
        .post(review(&pod("bad", "nginx:latest", true), "apps", false))
        .await;
    assert_eq!(r["response"]["allowed"], false);
    let (_, r) = s
        .post(review(&pod("good", "nginx:1.27", false), "apps", true))
        .await;
    assert_eq!(r["response"]["allowed"], true);
    // Exempt: answered without evaluation, not recorded.
    s.post(review(
        &pod("sys", "nginx:latest", true),
        "kube-system",
        false,
    ))
    .await;
    // An evaluation failure is recorded with its error and the failure-mode answer.
    let mut p = pod("slow", "nginx:1.27", false);
    p["metadata"]["annotations"] = json!({"test.shipgate.dev/sleep-ms": "1500"});
    s.post(review(&p, "apps", false)).await;
    s.shutdown().await;

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3, "{seen:#?}");
    let bad = &seen[0];
    assert_eq!(
        (bad.name.as_str(), bad.namespace.as_str(), bad.kind.as_str()),
        ("bad", "apps", "Pod")
    );
    assert!(!bad.allowed);
    assert_eq!(bad.operation, "CREATE");
    assert_eq!(bad.api_version, "v1");
    let rules: Vec<&str> = bad.violations.iter().map(|v| v.rule.as_str()).collect();
    assert!(
        rules.contains(&"privileged") && rules.contains(&"latest-tag"),
        "{rules:?}"
    );
    assert!(
        bad.message
            .as_deref()
            .unwrap_or("")
            .contains("[privileged]")
    );
    assert!(seen[1].allowed && seen[1].dry_run && seen[1].violations.is_empty());
    assert_eq!(seen[2].name, "slow");
    assert!(!seen[2].allowed, "failure mode deny");
    assert!(
        seen[2]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("time budget"),
        "{:?}",
        seen[2].error
    );
}
