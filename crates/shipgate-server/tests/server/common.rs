//! Fixture store, a server on a random port in its own runtime, and a minimal HTTP/1.1
//! client over `TcpStream` (the server's own answers are what is under test).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use shipgate_server::{Server, ServerConfig};
use shipgate_store::{Location, Store, parse_time};

pub const RUNS: usize = 120;
pub const DRIFT: usize = 75;
pub const SYNC: usize = 30;
pub const ADMISSION: usize = 20;
pub const RUNTIME: usize = 5;
pub const HOSTILE: &str = "<script>alert('x')</script>";
pub const TOKEN: &str = "test-token-0123456789abcdef";

pub fn run_status(i: usize) -> &'static str {
    if i.is_multiple_of(5) {
        "failed"
    } else if i.is_multiple_of(7) {
        "error"
    } else {
        "passed"
    }
}

fn run_record(i: usize) -> String {
    let status = run_status(i);
    let gate_passed = status != "failed";
    json!({
        "schema": "shipgate.pipeline-run/v1", "id": format!("run-{i:03}"),
        "pipeline": if i == 7 { format!(".shipgate/{HOSTILE}.yaml") } else { ".shipgate/pipeline.yaml".into() },
        "source_commit": format!("{:040x}", i * 7919),
        "started_at": format!("2026-03-{:02}T{:02}:{:02}:00Z", 1 + i / 24, i % 24, i % 60),
        "duration_ms": 1000 + i * 10, "isolation": "bubblewrap", "status": status,
        "steps": [
            {"name": "build", "kind": "run", "status": "passed", "duration_ms": 600,
             "exit_code": 0, "cache_key": null, "message": null, "log": null, "gate": null, "image": null},
            {"name": "deps-gate", "kind": "gate", "status": if gate_passed {"passed"} else {"failed"},
             "duration_ms": 300, "exit_code": null, "cache_key": null,
             "message": if gate_passed { Value::Null } else { json!(format!("1 high finding {HOSTILE}")) },
             "log": null, "image": null,
             "gate": {"scanner": "deps", "fail_on": "high", "passed": gate_passed,
                      "summary": {"high": if gate_passed {0} else {1}}, "report": "reports/deps.json"}}
        ]
    })
    .to_string()
}

fn finding(fp: &str, severity: &str) -> Value {
    json!({
        "fingerprint": fp, "rule_id": format!("rule-{fp}"), "scanner": "deps",
        "severity": severity, "title": "t", "message": "m", "location": {"path": "Cargo.lock"},
        "package": {"ecosystem": "crates.io", "name": "foo", "version": "1.0.0"},
        "advisory": {"id": format!("GHSA-{fp}")}
    })
}

fn report(target: &str, findings: Vec<Value>) -> String {
    let mut counts = json!({"critical":0,"high":0,"medium":0,"low":0,"info":0,"suppressed":0});
    for f in &findings {
        let s = f["severity"].as_str().unwrap().to_owned();
        counts[&s] = json!(counts[&s].as_u64().unwrap() + 1);
    }
    json!({
        "schema": "shipgate.report/v1", "tool": {"name": "shipgate", "version": "0.1.0"},
        "scanner": "deps", "target": target, "findings": findings, "errors": [],
        "summary": counts, "gate": {"fail_on": "high", "passed": true}
    })
    .to_string()
}

fn event(kind: &str, time: &str, body: Value) -> String {
    json!({"schema": "shipgate.event/v1", "kind": kind, "time": time, "body": body}).to_string()
}

/// Open findings expected at the end: app has f2 (high) + f3 (medium); the hostile target
/// has h1 (critical).
pub const OPEN_FINDINGS: usize = 3;

/// Fills a store: runs, three days of reports for two targets, events of every kind.
pub fn fixture(path: &Path) {
    let mut s = Store::open(path).unwrap();
    for i in 1..=RUNS {
        s.ingest_json("run", &run_record(i), None).unwrap();
    }
    let t = |d: &str| Some(parse_time(d).unwrap());
    // app: f1 high fixed on day 3; f2 high, f3 medium open. hostile target: h1 critical.
    s.ingest_json(
        "r",
        &report("app", vec![finding("f1", "high"), finding("f2", "high")]),
        t("2026-03-01T08:00:00Z"),
    )
    .unwrap();
    s.ingest_json(
        "r",
        &report(
            "app",
            vec![
                finding("f1", "high"),
                finding("f2", "high"),
                finding("f3", "medium"),
            ],
        ),
        t("2026-03-02T08:00:00Z"),
    )
    .unwrap();
    s.ingest_json(
        "r",
        &report("app", vec![finding("f2", "high"), finding("f3", "medium")]),
        t("2026-03-03T08:00:00Z"),
    )
    .unwrap();
    s.ingest_json(
        "r",
        &report(HOSTILE, vec![finding("h1", "critical")]),
        t("2026-03-03T09:00:00Z"),
    )
    .unwrap();
    let time = |i: usize| {
        format!(
            "2026-03-{:02}T{:02}:{:02}:{:02}Z",
            1 + i % 28,
            i % 24,
            i % 60,
            i % 60
        )
    };
    for i in 0..DRIFT {
        let app = if i == 3 {
            HOSTILE.to_owned()
        } else {
            format!("app-{}", i % 4)
        };
        s.ingest_json(
            "e",
            &event("drift", &time(i), json!({"app": app, "object": format!("apps/v1 Deployment web/web-{i}"), "field": "spec.replicas"})),
            None,
        )
        .unwrap();
        if i < SYNC {
            s.ingest_json(
                "e",
                &event(
                    "gitops-sync",
                    &time(i),
                    json!({"app": "web", "revision": "abc"}),
                ),
                None,
            )
            .unwrap();
        }
        if i < ADMISSION {
            s.ingest_json(
                "e",
                &event(
                    "admission",
                    &time(i),
                    json!({"allowed": !i.is_multiple_of(4), "namespace": "web", "name": format!("pod-{i}")}),
                ),
                None,
            )
            .unwrap();
        }
        if i < RUNTIME {
            s.ingest_json(
                "e",
                &event("runtime-alert", &time(i), json!({"rule": "pod-exec"})),
                None,
            )
            .unwrap();
        }
    }
}

/// Ledger entries of the fixture.
pub const LEDGER: usize = RUNS + 4 + DRIFT + SYNC + ADMISSION + RUNTIME;

/// A server running on its own thread and runtime; stopped when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// A fixture store served with `tweak` applied to the default configuration.
    pub fn start(tweak: impl FnOnce(&mut ServerConfig, &Path)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("shipgate.db");
        fixture(&db);
        let mut config = ServerConfig::new("127.0.0.1:0".parse().unwrap(), Location::Sqlite(db));
        tweak(&mut config, dir.path());
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let server = Server::bind(config).await.unwrap();
                addr_tx.send(server.local_addr().unwrap()).unwrap();
                server
                    .run(async {
                        let _ = stop_rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(60)).unwrap();
        Self {
            addr,
            dir,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn get(&self, path: &str) -> Reply {
        request(self.addr, "GET", path, &[], b"")
    }

    pub fn get_json(&self, path: &str) -> Value {
        let r = self.get(path);
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("application/json"), "{path}");
        serde_json::from_slice(&r.body).unwrap()
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("shipgate.db")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request (`Connection: close`) and reads the whole answer.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    let declared = headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-length"));
    if !declared && (!body.is_empty() || method == "POST") {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    // A server may answer (413, 401) before reading a large body: ignore a reset here.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let body = raw[end + 4..].to_vec();
    let reply = Reply {
        status,
        headers,
        body,
    };
    if let Some(n) = reply.header("content-length").filter(|_| method != "HEAD") {
        assert_eq!(
            n.parse::<usize>().unwrap(),
            reply.body.len(),
            "{method} {path}"
        );
    }
    reply
}
