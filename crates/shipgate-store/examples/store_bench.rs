//! Store benchmark: ingest N events one transaction each (what concurrent producers do),
//! then grow the ledger to M entries and time `verify` over it.
//!
//! `cargo run --release -p shipgate-store --example store_bench -- [N] [M] [DATABASE]`
//! (defaults 100000 and 1000000; the targets: ingest 100k < 10 s, verify 1M < 5 s).
//! DATABASE is a `postgres://` URL (an empty database) or a SQLite path; default: a SQLite
//! file in a temp dir. `0 0 DATABASE` only verifies an existing store.
#![allow(clippy::print_stdout, clippy::unwrap_used)] // a benchmark prints its figures

use std::time::Instant;

use shipgate_store::Store;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().map_or(100_000, |a| a.parse().unwrap());
    let m: u64 = args.next().map_or(1_000_000, |a| a.parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let location = args
        .next()
        .unwrap_or_else(|| dir.path().join("bench.db").display().to_string());
    let mut store = Store::connect(&location).unwrap();
    println!("database: {} ({})", store.name(), store.backend_name());
    let t0 = jiff::Timestamp::from_second(1_767_225_600).unwrap();
    let body = |i: u64| {
        serde_json::json!({"app": format!("app-{}", i % 100),
            "object": format!("apps/v1 Deployment ns/web-{i}"),
            "field": "spec.replicas", "from": 3, "to": 5})
    };
    let at = |i: u64| {
        t0.checked_add(jiff::SignedDuration::from_secs(i as i64))
            .unwrap()
    };
    let start = Instant::now();
    for i in 0..n {
        store.insert_event("drift", at(i), &body(i)).unwrap();
    }
    let ingest = start.elapsed();
    println!(
        "ingest: {n} records in {:.2} s ({:.0} records/s)",
        ingest.as_secs_f64(),
        n as f64 / ingest.as_secs_f64()
    );
    for i in n..m {
        store.insert_event("drift", at(i), &body(i)).unwrap();
    }
    let start = Instant::now();
    let v = store.verify().unwrap();
    let verify = start.elapsed();
    assert!(v.problem.is_none());
    println!(
        "verify: {} entries in {:.2} s",
        v.entries,
        verify.as_secs_f64()
    );
    if let Some(path) = store.path() {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        println!("database: {:.0} MB", size as f64 / 1e6);
    }
}
