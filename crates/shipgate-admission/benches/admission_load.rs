//! Load generator: an open-loop, constant-rate stream of realistic AdmissionReviews against
//! the webhook over TLS on loopback, reporting latency percentiles and peak memory.
//!
//! ```text
//! cargo bench -p shipgate-admission --bench admission_load -- [--rate 1000] [--seconds 10]
//!     [--connections 32] [--vus N]
//! ```
//! `--vus N` switches to a closed loop of N virtual users (the shape of Kyverno's published
//! load test) and reports the latency of each request from send to response.
//! Latency is measured from each request's *scheduled* send time (so a stalled server cannot
//! hide queueing: no coordinated omission) to the full response. The server runs in this
//! process on its own 2-thread runtime; the client on another. Peak RSS (VmHWM) therefore
//! covers both and is an upper bound for the server.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    missing_docs
)]

// The allocator the `shipgate` binary ships with, so figures are the product's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../../shipgate-policy/benches/library_templates.rs"]
mod library_templates;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use shipgate_admission::{PolicyLoader, Server, ServerConfig};

fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn bodies() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for i in 0..50 {
        let privileged = i % 10 == 0;
        let image = if i % 7 == 0 {
            "nginx:latest".to_string()
        } else {
            format!("registry.example/team/app-{i}:1.{i}.0")
        };
        let mut deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": format!("app-{i}"), "namespace": "prod",
            "labels": {"app.kubernetes.io/name": format!("app-{i}"), "team": "payments", "tier": "backend"},
            "annotations": {"deployment.kubernetes.io/revision": "3", "owner": "payments@example.com"}},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": format!("app-{i}")}},
            "template": {"metadata": {"labels": {"app": format!("app-{i}"), "team": "payments"}},
                "spec": {"serviceAccountName": "app",
                    "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [
                        {"name": "app", "image": image,
                         "ports": [{"containerPort": 8080}],
                         "env": (0..12).map(|e| json!({"name": format!("VAR_{e}"), "value": format!("value-{e}")})).collect::<Vec<_>>(),
                         "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}},
                         "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
                         "livenessProbe": {"httpGet": {"path": "/live", "port": 8080}},
                         "securityContext": {"privileged": privileged, "allowPrivilegeEscalation": false,
                             "readOnlyRootFilesystem": true, "capabilities": {"drop": ["ALL"]}}},
                        {"name": "proxy", "image": "registry.example/envoy:1.31.2",
                         "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
                         "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}
                    ]}}}});
        if i % 3 == 0 {
            deploy["metadata"]["labels"]
                .as_object_mut()
                .unwrap()
                .remove("team");
        }
        out.push(common::review(&deploy, "prod", false));
        if i % 5 == 0 {
            out.push(common::review(
                &common::pod(
                    &format!("pod-{i}"),
                    &format!("registry.example/x:{i}"),
                    privileged,
                ),
                "prod",
                false,
            ));
        }
    }
    out
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_owned)
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` compatibility
    }
    let rate: u64 = arg("--rate", 1000);
    let seconds: u64 = arg("--seconds", 10);
    let connections: usize = arg("--connections", 32);
    let dir = tempfile::tempdir().expect("tempdir");
    let tls = common::write_tls(dir.path());
    let loader: Arc<dyn PolicyLoader> = make_loader(dir.path());

    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut cfg = ServerConfig::new(
        "127.0.0.1:0".parse().expect("addr"),
        tls.cert.clone(),
        tls.key.clone(),
    );
    cfg.max_concurrent_evaluations = 4;
    let (server, rules) = server_rt.block_on(async {
        let s = Server::bind(cfg, loader).await.expect("bind");
        let n = s.state().metrics.render();
        (s, n)
    });
    let addr = server.local_addr().expect("addr");
    let state = server.state();
    server_rt.spawn(server.run(std::future::pending()));
    let rules_line = rules
        .lines()
        .find(|l| l.starts_with("shipgate_admission_rules_loaded"))
        .unwrap_or("")
        .to_owned();

    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let bodies = Arc::new(bodies());
    let avg_body = bodies.iter().map(Vec::len).sum::<usize>() / bodies.len();
    let client_tls = common::client_tls(tls.ca.cert_pem(), None);
    let vus: usize = arg("--vus", 0);
    let (latencies, errors, wall) = if vus > 0 {
        // Closed loop, the shape of Kyverno's published load test: `vus` virtual users, each
        // with its own TLS connection, sending the next request as soon as the previous one
        // is answered, for `seconds`.
        client_rt.block_on(closed_loop(addr, client_tls, bodies.clone(), vus, seconds))
    } else {
        client_rt.block_on(async move {
            let (tx, rx) = async_channel();
            for _ in 0..connections {
                tx.send(
                    common::connect(addr, client_tls.clone())
                        .await
                        .expect("connect"),
                )
                .await
                .expect("pool");
            }
            // Warm-up: one request per body.
            for b in bodies.iter() {
                let mut c = rx.recv().await.expect("conn");
                let _ = c.request("POST", "/validate", b.clone()).await;
                tx.send(c).await.expect("pool");
            }
            // The schedule is kept by a plain thread with `std::thread::sleep` (high-resolution
            // timers): tokio's timer wheel has 1 ms granularity, which would add up to a
            // millisecond of generator lateness to every latency.
            let total = rate * seconds;
            let interval = Duration::from_nanos(1_000_000_000 / rate.max(1));
            let start = Instant::now();
            let (due_tx, mut due_rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
            let ticker = std::thread::spawn(move || {
                for i in 0..total {
                    let due = start + interval * u32::try_from(i).unwrap_or(u32::MAX);
                    let now = Instant::now();
                    if due > now {
                        std::thread::sleep(due - now);
                    }
                    if due_tx.send((i, due)).is_err() {
                        break;
                    }
                }
            });
            let mut handles = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
            while let Some((i, due)) = due_rx.recv().await {
                let (tx, rx) = (tx.clone(), rx.clone());
                let body = bodies[usize::try_from(i).unwrap_or(0) % bodies.len()].clone();
                handles.push(tokio::spawn(async move {
                    let mut c = rx.recv().await.expect("conn");
                    let (status, resp) = c.request("POST", "/validate", body).await;
                    let _ = tx.send(c).await;
                    let ok = status == 200 && resp.contains("\"allowed\"");
                    (
                        u64::try_from(due.elapsed().as_micros()).unwrap_or(u64::MAX),
                        ok,
                    )
                }));
            }
            ticker.join().expect("ticker");
            let mut lat = Vec::with_capacity(handles.len());
            let mut errors = 0u64;
            for h in handles {
                let (l, ok) = h.await.expect("task");
                lat.push(l);
                if !ok {
                    errors += 1;
                }
            }
            (lat, errors, start.elapsed())
        })
    };
    let mut sorted = latencies;
    sorted.sort_unstable();
    let n = sorted.len();
    #[allow(clippy::cast_precision_loss)]
    let mean = sorted.iter().sum::<u64>() as f64 / n.max(1) as f64;
    #[allow(clippy::cast_precision_loss)]
    let achieved = n as f64 / wall.as_secs_f64();
    if vus > 0 {
        println!(
            "admission load (closed loop): {n} requests from {vus} virtual users, achieved {achieved:.0}/s over {:.1}s, avg body {avg_body} B",
            wall.as_secs_f64()
        );
    } else {
        println!(
            "admission load: {n} requests, target {rate}/s, achieved {achieved:.0}/s over {:.1}s, {connections} TLS connections, avg body {avg_body} B",
            wall.as_secs_f64()
        );
    }
    println!("  {rules_line}");
    println!(
        "  latency ({}): mean {:.2} ms  p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  max {:.2} ms",
        if vus > 0 {
            "send -> response"
        } else {
            "scheduled send -> response"
        },
        mean / 1000.0,
        percentile(&sorted, 0.50) as f64 / 1000.0,
        percentile(&sorted, 0.90) as f64 / 1000.0,
        percentile(&sorted, 0.99) as f64 / 1000.0,
        percentile(&sorted, 0.999) as f64 / 1000.0,
        sorted.last().copied().unwrap_or(0) as f64 / 1000.0
    );
    println!(
        "  errors: {errors}   peak RSS (server + load generator): {:.1} MiB",
        vm_hwm_kib() as f64 / 1024.0
    );
    let m = state.metrics.render();
    for l in m
        .lines()
        .filter(|l| l.starts_with("shipgate_admission_requests_total"))
    {
        println!("  {l}");
    }
}

/// `vus` users in a closed loop for `seconds`; latency is send -> response.
async fn closed_loop(
    addr: std::net::SocketAddr,
    client_tls: Arc<rustls::ClientConfig>,
    bodies: Arc<Vec<Vec<u8>>>,
    vus: usize,
    seconds: u64,
) -> (Vec<u64>, u64, Duration) {
    let mut conns = Vec::with_capacity(vus);
    for _ in 0..vus {
        conns.push(
            common::connect(addr, client_tls.clone())
                .await
                .expect("connect"),
        );
    }
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let mut users = Vec::with_capacity(vus);
    for (u, mut c) in conns.into_iter().enumerate() {
        let bodies = bodies.clone();
        users.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            let mut i = u;
            while Instant::now() < end {
                let sent = Instant::now();
                let (status, resp) = c
                    .request("POST", "/validate", bodies[i % bodies.len()].clone())
                    .await;
                lat.push(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX));
                if status != 200 || !resp.contains("\"allowed\"") {
                    errors += 1;
                }
                i += vus;
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for u in users {
        let (l, e) = u.await.expect("user");
        all.extend(l);
        errors += e;
    }
    (all, errors, start.elapsed())
}

/// A bounded MPMC pool built from a tokio mpsc + mutex (keeps dependencies to what we have).
fn async_channel() -> (PoolTx, PoolRx) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    (PoolTx(tx), PoolRx(Arc::new(tokio::sync::Mutex::new(rx))))
}

#[derive(Clone)]
struct PoolTx(tokio::sync::mpsc::UnboundedSender<common::Conn>);
impl PoolTx {
    async fn send(&self, c: common::Conn) -> Result<(), ()> {
        self.0.send(c).map_err(|_| ())
    }
}

#[derive(Clone)]
struct PoolRx(Arc<tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<common::Conn>>>);
impl PoolRx {
    async fn recv(&self) -> Option<common::Conn> {
        self.0.lock().await.recv().await
    }
}

/// Built-ins (recommended profile) + 10 gatekeeper-library templates with one sample
/// constraint each, when the shared data is present; else the test stand-in rules.
fn make_loader(dir: &std::path::Path) -> Arc<dyn PolicyLoader> {
    let data = std::env::var_os("SHIPGATE_SHARED_DATA").map_or_else(
        || std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
        std::path::PathBuf::from,
    );
    let lib = data.join("gatekeeper-library/library");
    if lib.is_dir() {
        let paths = library_templates::paths(&lib);
        return Arc::new(shipgate_admission::policyset::PolicySetLoader {
            paths,
            settings: Some(shipgate_policy::PolicySettings::default()),
        });
    }
    eprintln!("shared data not found: using the stand-in test rules");
    let rules = dir.join("rules.json");
    std::fs::write(
        &rules,
        json!({"privileged": "deny", "latest-tag": "deny", "team-label": "warn"}).to_string(),
    )
    .expect("write rules");
    Arc::new(common::FileRulesLoader(rules))
}
