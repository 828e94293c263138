//! `shipgate serve`: the real binary on a random port over a store filled by `store ingest`,
//! stopped by SIGTERM; configuration errors exit 2 before anything is served.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::kit::{bin, run_in};

const EVENT: &str = r#"{"schema":"shipgate.event/v1","kind":"drift","time":"2026-01-03T00:00:00Z","body":{"app":"<b>web</b>"}}"#;

fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let status = raw[9..12].parse().unwrap();
    let body = raw
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn serve_starts_answers_and_stops_on_sigterm() {
    serve_answers_and_stops(&["--database", "s.db"], "database s.db;");
}

#[test]
fn serve_reads_a_postgres_store() {
    let Some(url) = shipgate_testenv::shared_database_or_skip("serve_reads_a_postgres_store")
    else {
        return;
    };
    let pg = shipgate_testenv::shared_postgres().unwrap();
    let line = serve_answers_and_stops(&["--database", &url], "database postgres://shipgate:***@");
    assert!(!line.contains(pg.password()), "{line}");
}

/// Ingests one drift event into the store that `database` names, serves it, checks the pages
/// and `/metrics`, stops the server with SIGTERM; returns the first line it printed, which
/// must contain `announced`.
fn serve_answers_and_stops(database: &[&str], announced: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("e.json"), EVENT).unwrap();
    let ingest = [&["store", "ingest", "e.json"][..], database].concat();
    let run = run_in(dir.path(), &ingest);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut child = Command::new(bin())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(database)
        .current_dir(dir.path())
        .env_remove("SHIPGATE_DATA_DIR")
        .env_remove("SHIPGATE_DATABASE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    // shipgate serve: http://127.0.0.1:PORT/ (database s.db; ingest disabled: read-only)
    let addr = line
        .strip_prefix("shipgate serve: http://")
        .and_then(|r| r.split_once('/'))
        .map(|(a, _)| a.to_owned())
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
    assert!(line.contains("read-only"), "{line}");
    assert!(line.contains(announced), "{line}");
    let (status, body) = get(&addr, "/healthz");
    assert_eq!((status, body.as_str()), (200, "ok"));
    let (status, body) = get(&addr, "/drift");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("&lt;b&gt;web&lt;/b&gt;"), "{body}");
    let (status, body) = get(&addr, "/metrics");
    assert_eq!(status, 200);
    assert!(body.contains("\nshipgate_drift_events_total 1\n"), "{body}");
    let (status, _) = get(&addr, "/nope");
    assert_eq!(status, 404);
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = child.wait().unwrap();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert_eq!(status.code(), Some(0), "{rest}");
    assert!(rest.contains("shipgate serve: stopped"), "{rest}");
    line
}

#[test]
fn serve_refuses_a_bad_token_file_or_half_a_tls_pair() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "tiny-tok\n").unwrap();
    let run = run_in(
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            "s.db",
            "--token-file",
            "token",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("token: the token is shorter than 16 bytes"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("tiny-tok"),
        "the token is never printed: {}",
        run.stderr
    );
    let run = run_in(
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            "s.db",
            "--tls-cert",
            "c.pem",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let run = run_in(
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            "s.db",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("c.pem"), "{}", run.stderr);
}
