//! The updater against a real local HTTP server started by the test:
//! downloads, ETag revalidation (304), retries after a 500, a connection
//! that drops mid-body, 404, and the atomic swap.

use crate::fixtures::{record, zip_bytes};
use shipgate_vulndb::{Database, Error, UpdateOptions, UpdateSource, update};
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone)]
enum Reply {
    /// Serve the archive (honouring If-None-Match).
    Archive,
    Status(u16),
    /// Announce the full length, send half, close.
    DropMidBody,
}

#[derive(Default)]
struct State {
    archives: HashMap<String, (Vec<u8>, String)>,
    script: HashMap<String, VecDeque<Reply>>,
    /// Used when the script for a path is empty.
    fallback: HashMap<String, Reply>,
    requests: Vec<(String, Option<String>)>,
}

struct Server {
    base: String,
    state: Arc<Mutex<State>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(State::default()));
        let st = Arc::clone(&state);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let st = Arc::clone(&st);
                std::thread::spawn(move || serve(conn, &st));
            }
        });
        Server { base, state }
    }

    fn set_archive(&self, path: &str, bytes: Vec<u8>, etag: &str) {
        self.state
            .lock()
            .expect("lock")
            .archives
            .insert(path.to_owned(), (bytes, etag.to_owned()));
    }

    fn script(&self, path: &str, replies: &[Reply]) {
        self.state
            .lock()
            .expect("lock")
            .script
            .insert(path.to_owned(), replies.iter().cloned().collect());
    }

    fn fallback(&self, path: &str, reply: Reply) {
        self.state
            .lock()
            .expect("lock")
            .fallback
            .insert(path.to_owned(), reply);
    }

    fn requests(&self, path: &str) -> Vec<Option<String>> {
        self.state
            .lock()
            .expect("lock")
            .requests
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, e)| e.clone())
            .collect()
    }
}

fn serve(conn: TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(conn.try_clone().expect("clone"));
    let mut conn = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let mut if_none_match = None;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                break;
            }
            if let Some((k, v)) = h.split_once(':')
                && k.eq_ignore_ascii_case("if-none-match")
            {
                if_none_match = Some(v.trim().to_owned());
            }
        }
        let (reply, archive) = {
            let mut st = state.lock().expect("lock");
            st.requests.push((path.clone(), if_none_match.clone()));
            let scripted = st.script.get_mut(&path).and_then(VecDeque::pop_front);
            let reply = scripted
                .or_else(|| st.fallback.get(&path).cloned())
                .unwrap_or(Reply::Archive);
            (reply, st.archives.get(&path).cloned())
        };
        let ok = match (reply, archive) {
            (Reply::Archive, Some((bytes, etag))) => {
                if if_none_match.as_deref() == Some(etag.as_str()) {
                    write!(
                        conn,
                        "HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nContent-Length: 0\r\n\r\n"
                    )
                    .is_ok()
                } else {
                    write!(conn, "HTTP/1.1 200 OK\r\nETag: {etag}\r\nContent-Type: application/zip\r\nContent-Length: {}\r\n\r\n", bytes.len()).is_ok()
                        && conn.write_all(&bytes).is_ok()
                }
            }
            (Reply::Archive, None) | (Reply::Status(404), _) => {
                write!(conn, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n").is_ok()
            }
            (Reply::Status(code), _) => {
                write!(conn, "HTTP/1.1 {code} Oops\r\nContent-Length: 0\r\n\r\n").is_ok()
            }
            (Reply::DropMidBody, archive) => {
                let bytes = archive.map(|a| a.0).unwrap_or_else(|| vec![0u8; 1000]);
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nETag: \"changed\"\r\nContent-Length: {}\r\n\r\n",
                    bytes.len()
                );
                let _ = conn.write_all(&bytes[..bytes.len() / 2]);
                let _ = conn.flush();
                let _ = conn.shutdown(std::net::Shutdown::Both);
                return;
            }
        };
        if !ok {
            return;
        }
    }
}

fn options(base: &str, ecosystems: &[&str]) -> UpdateOptions {
    UpdateOptions {
        source: UpdateSource::Url(base.to_owned()),
        ecosystems: ecosystems.iter().map(|s| (*s).to_owned()).collect(),
        connect_timeout: Duration::from_secs(5),
        response_timeout: Duration::from_secs(5),
        body_timeout: Duration::from_secs(10),
        attempts: 3,
        backoff: Duration::from_millis(10),
    }
}

fn pypi_zip(fixed: &str) -> Vec<u8> {
    zip_bytes(&[(
        "PYSEC-T-1.json",
        &record("PYSEC-T-1", "PyPI", "jinja2", "0", fixed),
    )])
}

#[test]
fn downloads_then_revalidates_with_etag() {
    let server = Server::start();
    server.set_archive("/PyPI/all.zip", pypi_zip("3.0"), "\"v1\"");
    server.set_archive(
        "/Rocky%20Linux/all.zip",
        zip_bytes(&[(
            "RLSA-1.json",
            &record("RLSA-1", "Rocky Linux:9", "openssl", "0", "1:3.0.7-25.el9"),
        )]),
        "\"r1\"",
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let db_path = tmp.path().join("osv.bin");
    let opts = options(&server.base, &["PyPI", "Rocky Linux"]);
    let r = update(&db_path, &opts).expect("first update");
    assert_eq!(
        r.downloaded,
        vec!["PyPI".to_owned(), "Rocky Linux".to_owned()]
    );
    assert!(r.failed.is_empty(), "{:?}", r.failed);
    let db = Database::open(&db_path).expect("open");
    assert_eq!(db.matches("PyPI", "Jinja2", "2.11").expect("q").len(), 1);
    assert_eq!(
        db.matches("Rocky Linux:9", "openssl", "1:3.0.7-24.el9")
            .expect("q")
            .len(),
        1
    );
    assert!(
        db.matches("Rocky Linux:9", "openssl", "1:3.0.7-25.el9")
            .expect("q")
            .is_empty()
    );
    let src = db
        .metadata()
        .sources
        .iter()
        .find(|s| s.ecosystem.as_deref() == Some("PyPI"))
        .expect("source");
    assert_eq!(src.etag.as_deref(), Some("\"v1\""));
    drop(db);

    // second run: conditional requests, nothing downloaded, data kept
    let r = update(&db_path, &opts).expect("second update");
    assert_eq!(r.not_modified.len(), 2, "{r:?}");
    assert!(r.downloaded.is_empty());
    assert_eq!(
        server.requests("/PyPI/all.zip"),
        vec![None, Some("\"v1\"".to_owned())]
    );
    let db = Database::open(&db_path).expect("open");
    assert_eq!(db.matches("PyPI", "jinja2", "2.11").expect("q").len(), 1);

    // the archive changes upstream: downloaded again
    server.set_archive("/PyPI/all.zip", pypi_zip("2.5"), "\"v2\"");
    let r = update(&db_path, &opts).expect("third update");
    assert_eq!(r.downloaded, vec!["PyPI".to_owned()]);
    let db = Database::open(&db_path).expect("open");
    assert!(
        db.matches("PyPI", "jinja2", "2.11").expect("q").is_empty(),
        "new data swapped in"
    );
}

#[test]
fn retries_after_server_error() {
    let server = Server::start();
    server.set_archive("/PyPI/all.zip", pypi_zip("3.0"), "\"v1\"");
    server.script("/PyPI/all.zip", &[Reply::Status(500), Reply::Status(503)]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let db_path = tmp.path().join("osv.bin");
    let r = update(&db_path, &options(&server.base, &["PyPI"])).expect("update after retries");
    assert_eq!(r.downloaded, vec!["PyPI".to_owned()]);
    assert_eq!(server.requests("/PyPI/all.zip").len(), 3);
}

#[test]
fn interrupted_download_never_breaks_the_database() {
    let server = Server::start();
    server.set_archive("/PyPI/all.zip", pypi_zip("3.0"), "\"v1\"");
    let tmp = tempfile::tempdir().expect("tempdir");
    let db_path = tmp.path().join("osv.bin");

    // no database yet, every attempt drops mid-body: error, nothing written
    server.fallback("/PyPI/all.zip", Reply::DropMidBody);
    let err = update(&db_path, &options(&server.base, &["PyPI"])).expect_err("all attempts fail");
    assert!(matches!(err, Error::Download { .. }), "{err}");
    assert!(!db_path.exists());
    assert_eq!(server.requests("/PyPI/all.zip").len(), 3, "retried");

    // a good update, then a failing one: the old data stays usable
    server.fallback("/PyPI/all.zip", Reply::Archive);
    update(&db_path, &options(&server.base, &["PyPI"])).expect("good update");
    server.set_archive("/PyPI/all.zip", pypi_zip("2.0"), "\"v2\"");
    server.fallback("/PyPI/all.zip", Reply::DropMidBody);
    let r = update(&db_path, &options(&server.base, &["PyPI"]))
        .expect("rebuilt from the cached archive");
    assert_eq!(r.failed.len(), 1, "{r:?}");
    assert!(
        r.failed[0].1.contains("interrupted") || r.failed[0].1.contains("Connection"),
        "{:?}",
        r.failed
    );
    let db = Database::open(&db_path).expect("database intact");
    assert_eq!(
        db.matches("PyPI", "jinja2", "2.5").expect("q").len(),
        1,
        "previous archive's data"
    );
    let names: Vec<String> = std::fs::read_dir(tmp.path().join("osv-archives"))
        .expect("archives")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        vec!["PyPI.zip".to_owned()],
        "no partial downloads left"
    );
}

#[test]
fn missing_ecosystem_is_not_retried_and_others_still_update() {
    let server = Server::start();
    server.set_archive("/PyPI/all.zip", pypi_zip("3.0"), "\"v1\"");
    let tmp = tempfile::tempdir().expect("tempdir");
    let db_path = tmp.path().join("osv.bin");
    let r = update(&db_path, &options(&server.base, &["PyPI", "NoSuch"])).expect("partial update");
    assert_eq!(r.failed.len(), 1);
    assert!(r.failed[0].1.contains("404"), "{:?}", r.failed);
    assert_eq!(
        server.requests("/NoSuch/all.zip").len(),
        1,
        "404 is not retried"
    );
    assert!(Database::open(&db_path).is_ok());
}

#[test]
fn local_folder_source() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mirror = tmp.path().join("mirror");
    std::fs::create_dir_all(mirror.join("Go")).expect("mkdir");
    std::fs::write(
        mirror.join("Go/all.zip"),
        zip_bytes(&[(
            "GO-T-1.json",
            &record("GO-T-1", "Go", "example.com/x", "0", "1.4.0"),
        )]),
    )
    .expect("zip");
    let db_path = tmp.path().join("db/osv.bin");
    let mut opts = options("unused", &["Go"]);
    opts.source = UpdateSource::parse(&mirror.display().to_string());
    let r = update(&db_path, &opts).expect("update from folder");
    assert_eq!(r.downloaded, vec!["Go".to_owned()]);
    let db = Database::open(&db_path).expect("open");
    assert_eq!(
        db.matches("Go", "example.com/x", "v1.3.9")
            .expect("q")
            .len(),
        1
    );
}
