//! Dashboard benchmark: builds a store of N records (default 1,000,000 ledger entries: 30 %
//! pipeline runs with 3 steps and a gate each, 20 % scan reports with 3 findings over 2,000
//! targets, 50 % events of four kinds), serves it, and times each page — first page and a
//! deep page — over repeated requests.
//!
//! `cargo run --release -p shipgate-server --example serve_bench -- [N] [DB] [REPEAT]`
//!
//! The store is written in one transaction through `Store::connection` (the same columns,
//! canonical bodies and a valid hash chain as the insert functions write, but without their
//! per-record transaction, which would make generation take minutes). An existing DB file
//! with the right number of entries is reused. Figures go to docs/benchmarks.md.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::print_stderr)] // a benchmark prints its figures

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;
use shipgate_server::{Server, ServerConfig};
use shipgate_store::{Location, Store, canonical_json, ledger, sha256_hex};

const TARGETS: u64 = 2000;

fn ts(i: u64) -> String {
    // One record every 31 s from 2026-01-01: 1M records span about a year.
    let t = jiff::Timestamp::from_second(1_767_225_600 + i as i64 * 31).unwrap();
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn generate(path: &Path, n: u64) {
    // The store creates the schema; the rows are then written straight through SQLite in one
    // unsynchronised transaction (the generator is not what is measured).
    drop(Store::open(path).unwrap());
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute_batch("PRAGMA synchronous = OFF; BEGIN").unwrap();
    let mut prev = ledger::GENESIS.to_owned();
    let mut first_seen: HashMap<(u64, u64), String> = HashMap::new();
    let mut reports_of: HashMap<u64, u64> = HashMap::new();
    {
        let mut ins_run = c
            .prepare("INSERT INTO pipeline_runs (run_id, pipeline, source_commit, started_at, duration_ms, isolation, status, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
            .unwrap();
        let mut ins_step = c
            .prepare("INSERT INTO pipeline_steps (run_id, position, name, kind, status, duration_ms, exit_code, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
            .unwrap();
        let mut ins_gate = c
            .prepare("INSERT INTO gate_decisions (step_id, scanner, fail_on, passed, summary, report) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
            .unwrap();
        let mut ins_report = c
            .prepare("INSERT INTO scan_reports (scanner, target, time, critical, high, medium, low, info, suppressed, fail_on, gate_passed, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, 'high', ?9, ?10)")
            .unwrap();
        let mut ins_finding = c
            .prepare("INSERT INTO findings (report_id, fingerprint, rule_id, severity, package, advisory_id, suppressed, first_seen, last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8)")
            .unwrap();
        let mut ins_event = c
            .prepare("INSERT INTO events (kind, time, body) VALUES (?1, ?2, ?3)")
            .unwrap();
        let mut ins_ledger = c
            .prepare("INSERT INTO ledger (seq, time, kind, record_id, record_hash, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
            .unwrap();
        let sev = ["critical", "high", "medium", "low", "info"];
        for i in 0..n {
            let seq = i as i64 + 1;
            let time = ts(i);
            let (kind, id, body) = match i % 10 {
                0..=2 => {
                    let status = if i.is_multiple_of(97) {
                        "error"
                    } else if i.is_multiple_of(7) {
                        "failed"
                    } else {
                        "passed"
                    };
                    let passed = status != "failed";
                    let body = canonical_json(&json!({
                        "schema": "shipgate.pipeline-run/v1", "id": format!("run-{i}"),
                        "pipeline": ".shipgate/pipeline.yaml", "source_commit": format!("{:040x}", i),
                        "started_at": time, "duration_ms": 30_000 + i % 5000, "isolation": "bubblewrap",
                        "status": status, "steps": []
                    }));
                    ins_run
                        .execute(rusqlite::params![
                            format!("run-{i}"),
                            ".shipgate/pipeline.yaml",
                            format!("{:040x}", i),
                            time,
                            30_000 + (i % 5000) as i64,
                            "bubblewrap",
                            status,
                            body
                        ])
                        .unwrap();
                    let run = c.last_insert_rowid();
                    for (p, (name, kind)) in [("build", "run"), ("test", "run"), ("deps", "gate")]
                        .iter()
                        .enumerate()
                    {
                        let st = if *kind == "gate" && !passed {
                            "failed"
                        } else {
                            "passed"
                        };
                        ins_step
                            .execute(rusqlite::params![
                                run,
                                p as i64,
                                name,
                                kind,
                                st,
                                10_000i64,
                                if *kind == "run" { Some(0) } else { None },
                                Option::<String>::None
                            ])
                            .unwrap();
                        if *kind == "gate" {
                            let step = c.last_insert_rowid();
                            ins_gate
                                .execute(rusqlite::params![
                                    step,
                                    "deps",
                                    "high",
                                    passed,
                                    format!("{{\"high\":{}}}", u8::from(!passed)),
                                    "reports/deps.json"
                                ])
                                .unwrap();
                        }
                    }
                    ("pipeline-run", run, body)
                }
                3 | 4 => {
                    let target = (i / 10 * 2 + i % 10 - 3) % TARGETS;
                    let k = reports_of.entry(target).or_insert(0);
                    *k += 1;
                    let a = *k / 5;
                    let fps: Vec<u64> = (a..a + 3).collect();
                    let mut counts = [0i64; 5];
                    for fp in &fps {
                        counts[(*fp % 5) as usize] += 1;
                    }
                    let body = canonical_json(&json!({
                        "schema": "shipgate.report/v1", "scanner": "deps", "target": format!("registry.example/app-{target}"),
                        "findings": fps.iter().map(|fp| json!({"fingerprint": format!("fp-{target}-{fp}")})).collect::<Vec<_>>(),
                        "summary": {"critical": counts[0], "high": counts[1], "medium": counts[2], "low": counts[3], "info": counts[4]}
                    }));
                    ins_report
                        .execute(rusqlite::params![
                            "deps",
                            format!("registry.example/app-{target}"),
                            time,
                            counts[0],
                            counts[1],
                            counts[2],
                            counts[3],
                            counts[4],
                            counts[0] + counts[1] == 0,
                            body
                        ])
                        .unwrap();
                    let rid = c.last_insert_rowid();
                    for fp in &fps {
                        let first = first_seen
                            .entry((target, *fp))
                            .or_insert_with(|| time.clone())
                            .clone();
                        ins_finding
                            .execute(rusqlite::params![
                                rid,
                                format!("fp-{target}-{fp}"),
                                format!("GHSA-{fp:04}"),
                                sev[(*fp % 5) as usize],
                                format!("crates.io/dep-{fp}@1.0.{}", fp % 9),
                                format!("GHSA-{fp:04}"),
                                first,
                                time
                            ])
                            .unwrap();
                    }
                    ("scan-report", rid, body)
                }
                _ => {
                    let (ekind, b) = match i % 10 {
                        5 | 6 => (
                            "drift",
                            json!({"app": format!("app-{}", i % 100), "object": format!("apps/v1 Deployment ns/web-{i}"), "field": "spec.replicas", "from": 3, "to": 5}),
                        ),
                        7 | 8 => (
                            "gitops-sync",
                            json!({"app": format!("app-{}", i % 100), "revision": format!("{:040x}", i), "result": "applied"}),
                        ),
                        _ if i % 20 == 9 => (
                            "admission",
                            json!({"allowed": !i.is_multiple_of(3), "namespace": "web", "name": format!("pod-{i}"), "kind": "Pod"}),
                        ),
                        _ => (
                            "runtime-alert",
                            json!({"rule": "pod-exec", "user": "dev", "namespace": "web"}),
                        ),
                    };
                    let body = canonical_json(&json!({"kind": ekind, "body": b}));
                    ins_event
                        .execute(rusqlite::params![ekind, time, body])
                        .unwrap();
                    ("event", c.last_insert_rowid(), body)
                }
            };
            let record_hash = sha256_hex(body.as_bytes());
            let hash = ledger::entry_hash(&prev, seq, &time, kind, &record_hash);
            ins_ledger
                .execute(rusqlite::params![
                    seq,
                    time,
                    kind,
                    id,
                    record_hash,
                    prev,
                    hash
                ])
                .unwrap();
            prev = hash;
        }
    }
    c.execute_batch("COMMIT; PRAGMA synchronous = NORMAL")
        .unwrap();
}

fn get(addr: SocketAddr, path: &str) -> (u16, usize) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let status = std::str::from_utf8(&raw[9..12]).unwrap().parse().unwrap();
    (status, raw.len())
}

fn json_get(addr: SocketAddr, path: &str) -> serde_json::Value {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    serde_json::from_slice(&raw[end + 4..]).unwrap()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().map_or(1_000_000, |a| a.parse().unwrap());
    let db: PathBuf = args.next().map_or_else(
        || std::env::temp_dir().join(format!("shipgate-serve-bench-{n}.db")),
        PathBuf::from,
    );
    let repeat: usize = args.next().map_or(20, |a| a.parse().unwrap());
    let existing = db.is_file()
        && Store::open(&db)
            .ok()
            .and_then(|mut s| s.ledger_head().ok().flatten())
            .is_some_and(|h| h.0 == n as i64);
    if existing {
        println!("reusing {} ({n} ledger entries)", db.display());
    } else {
        let _ = std::fs::remove_file(&db);
        let t = Instant::now();
        generate(&db, n);
        println!(
            "generated {n} records in {:.1} s into {}",
            t.elapsed().as_secs_f64(),
            db.display()
        );
    }
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    println!("database: {:.0} MB", size as f64 / 1e6);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut config =
        ServerConfig::new("127.0.0.1:0".parse().unwrap(), Location::Sqlite(db.clone()));
    config.verify_on_start = false;
    let server = rt.block_on(Server::bind(config)).unwrap();
    let addr = server.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let handle = rt.spawn(server.run(async {
        let _ = stop_rx.await;
    }));
    // The first aggregate snapshot (cold: whole-table metrics).
    let t = Instant::now();
    let (status, _) = get(addr, "/metrics");
    assert_eq!(status, 200);
    println!(
        "first snapshot (metrics over the whole store, once per refresh): {:.2} s",
        t.elapsed().as_secs_f64()
    );

    // Deep cursors: the key half-way down each list.
    let mid = |path: &str, key: &str| -> i64 {
        let first = json_get(addr, &format!("{path}?limit=1"));
        first["items"][0][key].as_i64().unwrap_or(1) / 2
    };
    let runs_mid = mid("/api/runs", "id");
    let drift_mid = mid("/api/drift", "id");
    let adm_mid = mid("/api/admission", "id");
    let ledger_mid = mid("/api/audit", "seq");
    let find_mid = mid("/api/findings", "id");
    let pages = [
        "/".to_owned(),
        "/runs".to_owned(),
        format!("/runs?before={runs_mid}"),
        "/runs?status=failed".to_owned(),
        format!("/runs?status=failed&before={runs_mid}"),
        "/runs/1".to_owned(),
        "/findings".to_owned(),
        format!("/findings?before={find_mid}"),
        "/findings?severity=critical".to_owned(),
        "/mttr".to_owned(),
        "/drift".to_owned(),
        format!("/drift?before={drift_mid}"),
        "/admission".to_owned(),
        format!("/admission?before={adm_mid}"),
        "/events?kind=runtime-alert".to_owned(),
        "/audit".to_owned(),
        format!("/audit?before={ledger_mid}"),
        "/api/runs?limit=500".to_owned(),
        format!("/api/audit?limit=500&before={ledger_mid}"),
        "/metrics".to_owned(),
    ];
    println!(
        "\n{:<44} {:>8} {:>8} {:>8} {:>9}",
        "page", "p50 ms", "p95 ms", "max ms", "bytes"
    );
    let mut worst: f64 = 0.0;
    for p in &pages {
        let mut times = Vec::with_capacity(repeat);
        let mut bytes = 0;
        for _ in 0..repeat {
            let t = Instant::now();
            let (status, b) = get(addr, p);
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(status, 200, "{p}");
            bytes = b;
        }
        times.sort_by(f64::total_cmp);
        let p50 = times[times.len() / 2];
        let p95 = times[(times.len() * 95 / 100).min(times.len() - 1)];
        let max = times[times.len() - 1];
        worst = worst.max(p95);
        println!("{p:<44} {p50:>8.1} {p95:>8.1} {max:>8.1} {bytes:>9}");
    }
    println!("\nworst p95: {worst:.1} ms (target < 100 ms)");
    let t = Instant::now();
    let v = json_get_post(addr, "/api/audit/verify");
    println!(
        "verify ({} entries, intact {}): {:.2} s",
        v["entries"],
        v["intact"],
        t.elapsed().as_secs_f64()
    );
    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(l) = status.lines().find(|l| l.starts_with("VmHWM"))
    {
        println!("peak RSS: {}", l.trim_start_matches("VmHWM:").trim());
    }
    let _ = stop_tx.send(());
    let _ = rt.block_on(handle);
    std::thread::sleep(Duration::from_millis(10));
}

fn json_get_post(addr: SocketAddr, path: &str) -> serde_json::Value {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    serde_json::from_slice(&raw[end + 4..]).unwrap()
}
