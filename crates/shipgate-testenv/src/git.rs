//! A real git smart-HTTP server for tests, and fixtures that create repositories for it.
//!
//! [`GitHttpServer`] runs the real `git http-backend` (a CGI program shipped with git, in the
//! directory `git --exec-path` prints) once per request, behind a small HTTP/1.1 server on
//! `127.0.0.1:<random port>` written with `std::net` and threads. It serves every bare
//! repository under its root (`GIT_HTTP_EXPORT_ALL`), protocol v0 and v2 (the `Git-Protocol`
//! header is passed as `GIT_PROTOCOL`), gzip request bodies (`HTTP_CONTENT_ENCODING`) and
//! chunked request bodies, with optional HTTP Basic auth. Every connection is answered with
//! `Connection: close` (git and libcurl reconnect as needed; keep-alive buys tests nothing).
//!
//! [`GitFixture`] creates a bare repository under a server root plus a work clone, and commits
//! with a fixed author and deterministic dates, so commit SHAs are the same on every run.
//!
//! # Fetching a commit by SHA
//! `git fetch origin <sha>` of a commit that no ref points at directly:
//! * protocol v2 (git's default since 2.26): `upload-pack` accepts any `want` of an object
//!   it has, so the fetch works with no configuration (checked by the crate tests);
//! * protocol v0 over HTTP: refused ("not our ref") unless the repository sets
//!   `uploadpack.allowReachableSHA1InWant` (or `allowAnySHA1InWant`). [`GitFixture::new`]
//!   sets `uploadpack.allowReachableSHA1InWant=true` so both protocols behave like GitHub;
//!   repositories created by other means do not have it.
//!
//! Pushing over HTTP needs an authenticated user (`REMOTE_USER`) or `http.receivepack=true` in
//! the repository; [`GitFixture::new`] sets the latter.
//!
//! Deliberately not here: TLS, keep-alive, dumb HTTP for repositories without
//! `git update-server-info` (http-backend serves it, nothing here prepares it), SSH.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine as _;

use crate::TestEnvError;

/// Longest request head (request line + headers) the server reads.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Socket read/write timeout: a stuck client or backend cannot hold a thread forever.
const IO_TIMEOUT: Duration = Duration::from_secs(60);
/// How much of http-backend's stderr is kept for [`GitHttpServer::backend_stderr`].
const MAX_STDERR_KEPT: usize = 64 * 1024;
/// Fixed identity of every fixture commit.
const AUTHOR_NAME: &str = "Shipgate Test";
const AUTHOR_EMAIL: &str = "test@shipgate.invalid";
/// Date of the first fixture commit (2023-11-14T22:13:20Z); each next commit is a minute later.
const FIRST_COMMIT_EPOCH: u64 = 1_700_000_000;

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> TestEnvError {
    let what = what.into();
    move |source| TestEnvError::Io { what, source }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means another connection thread panicked; the data is still usable.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One HTTP request as the server saw it, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The decoded path, e.g. `/app/info/refs` or `/app/git-upload-pack`.
    pub path: String,
    /// The query string without `?`, e.g. `service=git-upload-pack`.
    pub query: String,
    /// The `Git-Protocol` header (`version=2`), if sent.
    pub git_protocol: Option<String>,
    /// The authenticated user, if any.
    pub user: Option<String>,
    /// The `Content-Encoding` of the request body (`gzip` for large fetch requests).
    pub content_encoding: Option<String>,
    /// Whether the body came with `Transfer-Encoding: chunked` (large pushes).
    pub chunked: bool,
    /// The status answered (401 for refused credentials, 503 while refusing).
    pub status: u16,
}

/// A connection in flight: the socket (to shut down on stop) and the backend child's pid
/// while it is running and not yet reaped (so stop can kill it without racing pid reuse).
struct Connection {
    stream: TcpStream,
    backend_pid: Option<u32>,
}

struct Shared {
    root: PathBuf,
    backend: PathBuf,
    port: u16,
    auth: Option<(String, String)>,
    requests: AtomicU64,
    refusing: AtomicBool,
    stopping: AtomicBool,
    log: Mutex<Vec<GitRequest>>,
    stderr: Mutex<String>,
    connections: Mutex<HashMap<u64, Connection>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    next_id: AtomicU64,
}

/// A git smart-HTTP server over the bare repositories under a directory.
///
/// Guarantees: one `git http-backend` child per request, always reaped; [`GitHttpServer::stop`]
/// (also run on drop) closes the port, shuts down open connections, kills running backends and
/// joins every thread, so nothing outlives the server.
pub struct GitHttpServer {
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for GitHttpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHttpServer")
            .field("root", &self.shared.root)
            .field("port", &self.shared.port)
            .field("auth", &self.shared.auth.as_ref().map(|(u, _)| u))
            .finish_non_exhaustive()
    }
}

impl GitHttpServer {
    /// Serves the bare repositories under `root` on `127.0.0.1:<random port>`.
    ///
    /// With `auth = Some((user, password))` every request needs those HTTP Basic credentials;
    /// others get `401` with `WWW-Authenticate: Basic realm="git"` (so git asks its credential
    /// helpers, or fails with `GIT_TERMINAL_PROMPT=0`).
    pub fn start(root: &Path, auth: Option<(String, String)>) -> Result<Self, TestEnvError> {
        let backend = http_backend_path()?;
        let root = root
            .canonicalize()
            .map_err(io_err(format!("resolving the git root {}", root.display())))?;
        let listener = TcpListener::bind("127.0.0.1:0")
            .map_err(io_err("binding 127.0.0.1:0 for the git HTTP server"))?;
        let port = listener
            .local_addr()
            .map_err(io_err("reading the git HTTP server's port"))?
            .port();
        let shared = Arc::new(Shared {
            root,
            backend,
            port,
            auth,
            requests: AtomicU64::new(0),
            refusing: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            log: Mutex::new(Vec::new()),
            stderr: Mutex::new(String::new()),
            connections: Mutex::new(HashMap::new()),
            threads: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(0),
        });
        let s = Arc::clone(&shared);
        let accept = std::thread::Builder::new()
            .name("git-http-accept".into())
            .spawn(move || accept_loop(&listener, &s))
            .map_err(io_err("spawning the git HTTP accept thread"))?;
        Ok(Self {
            shared,
            accept: Some(accept),
        })
    }

    /// `http://127.0.0.1:<port>/<repo>` (no credentials).
    pub fn url(&self, repo: &str) -> String {
        format!(
            "http://127.0.0.1:{}/{}",
            self.shared.port,
            repo.trim_start_matches('/')
        )
    }

    /// `http://<user>:<password>@127.0.0.1:<port>/<repo>`; the same as [`GitHttpServer::url`]
    /// when the server has no credentials.
    pub fn url_with_credentials(&self, repo: &str) -> String {
        match &self.shared.auth {
            Some((user, password)) => format!(
                "http://{}:{}@127.0.0.1:{}/{}",
                percent_encode(user),
                percent_encode(password),
                self.shared.port,
                repo.trim_start_matches('/')
            ),
            None => self.url(repo),
        }
    }

    /// The directory served (canonical).
    pub fn root(&self) -> &Path {
        &self.shared.root
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.shared.port
    }

    /// How many HTTP requests arrived so far (every request: refused, unauthorised and failed
    /// ones too). A clone or fetch over smart HTTP is two requests (`info/refs` + one POST),
    /// more with protocol v2 negotiation rounds.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Every request so far, in arrival order.
    pub fn request_log(&self) -> Vec<GitRequest> {
        lock(&self.shared.log).clone()
    }

    /// What `git http-backend` wrote on stderr so far (the last 64 KiB), for failure messages.
    pub fn backend_stderr(&self) -> String {
        lock(&self.shared.stderr).clone()
    }

    /// While `true`, every request is answered `503 Service Unavailable` (the port stays open),
    /// which is what a repository host in trouble looks like to git.
    pub fn set_refusing(&self, refusing: bool) {
        self.shared.refusing.store(refusing, Ordering::SeqCst);
    }

    /// Stops the server: the port is closed (new connections are refused, like an unreachable
    /// host), open connections are shut down, running backends killed, threads joined.
    /// Idempotent; also run on drop.
    pub fn stop(&mut self) {
        let Some(accept) = self.accept.take() else {
            return;
        };
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the blocking accept(); it sees `stopping` and returns, dropping the listener.
        let _ = TcpStream::connect_timeout(
            &SocketAddr::from(([127, 0, 0, 1], self.shared.port)),
            Duration::from_secs(1),
        );
        let _ = accept.join();
        for conn in lock(&self.shared.connections).values() {
            let _ = conn.stream.shutdown(Shutdown::Both);
            if let Some(pid) = conn.backend_pid {
                // Safe against pid reuse: the pid is only registered while the child is
                // unreaped, and the connection thread unregisters it before waiting.
                kill_pid(pid);
            }
        }
        let threads = std::mem::take(&mut *lock(&self.shared.threads));
        for t in threads {
            let _ = t.join();
        }
    }
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn kill_pid(pid: u32) {
    if let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
}

/// `<git --exec-path>/git-http-backend`.
fn http_backend_path() -> Result<PathBuf, TestEnvError> {
    let out = Command::new("git")
        .arg("--exec-path")
        .stdin(Stdio::null())
        .output()
        .map_err(io_err("running `git --exec-path` (is git installed?)"))?;
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let p = Path::new(&dir).join("git-http-backend");
    if out.status.success() && p.is_file() {
        Ok(p)
    } else {
        Err(TestEnvError::BinaryMissing {
            name: "git-http-backend (part of git)".into(),
            path: p,
        })
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let id = shared.next_id.fetch_add(1, Ordering::SeqCst);
        let Ok(registered) = stream.try_clone() else {
            continue;
        };
        lock(&shared.connections).insert(
            id,
            Connection {
                stream: registered,
                backend_pid: None,
            },
        );
        let s = Arc::clone(shared);
        let spawned = std::thread::Builder::new()
            .name("git-http-conn".into())
            .spawn(move || {
                let _ = handle_connection(stream, id, &s);
                lock(&s.connections).remove(&id);
            });
        let mut threads = lock(&shared.threads);
        threads.retain(|t| !t.is_finished());
        match spawned {
            Ok(t) => threads.push(t),
            Err(_) => {
                lock(&shared.connections).remove(&id);
            }
        }
    }
}

/// A parsed request head.
struct Head {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn read_head(reader: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut lines = Vec::new();
    let mut total = 0;
    loop {
        let mut line = Vec::new();
        let n = reader
            .by_ref()
            .take((MAX_HEAD_BYTES - total + 1) as u64)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(None); // connection closed before a full head
        }
        total += n;
        if total > MAX_HEAD_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request head too large",
            ));
        }
        let line = String::from_utf8_lossy(&line)
            .trim_end_matches(['\r', '\n'])
            .to_owned();
        if line.is_empty() {
            if lines.is_empty() {
                continue; // tolerate stray CRLF between requests
            }
            break;
        }
        lines.push(line);
    }
    let mut parts = lines[0].split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "bad request line",
        ));
    };
    let headers = lines[1..]
        .iter()
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Ok(Some(Head {
        method: method.to_owned(),
        target: target.to_owned(),
        headers,
    }))
}

fn write_simple(
    stream: &mut TcpStream,
    status: u16,
    reason: &str,
    extra: &str,
    body: &str,
) -> io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\n{extra}Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

/// After answering without reading the body: stop writing and swallow what the client still
/// sends for a moment, so closing does not reset the connection before it reads the answer.
fn linger(stream: &mut TcpStream, reader: &mut impl Read) {
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let _ = io::copy(&mut reader.take(16 * 1024 * 1024), &mut io::sink());
}

fn handle_connection(stream: TcpStream, id: u64, shared: &Shared) -> io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let Some(head) = read_head(&mut reader)? else {
        return Ok(());
    };
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let (raw_path, query) = head
        .target
        .split_once('?')
        .unwrap_or((head.target.as_str(), ""));
    let mut record = GitRequest {
        method: head.method.clone(),
        path: percent_decode(raw_path),
        query: query.to_owned(),
        git_protocol: head.header("Git-Protocol").map(str::to_owned),
        user: None,
        content_encoding: head.header("Content-Encoding").map(str::to_owned),
        chunked: head
            .header("Transfer-Encoding")
            .is_some_and(|t| t.to_ascii_lowercase().contains("chunked")),
        status: 0,
    };
    let log = |record: GitRequest| lock(&shared.log).push(record);

    if shared.refusing.load(Ordering::SeqCst) {
        record.status = 503;
        log(record);
        write_simple(&mut out, 503, "Service Unavailable", "", "refusing\n")?;
        linger(&mut out, &mut reader);
        return Ok(());
    }
    if let Some((user, password)) = &shared.auth {
        let given = basic_credentials(head.header("Authorization"));
        if given.as_ref().map(|(u, p)| (u.as_str(), p.as_str()))
            != Some((user.as_str(), password.as_str()))
        {
            record.status = 401;
            log(record);
            write_simple(
                &mut out,
                401,
                "Unauthorized",
                "WWW-Authenticate: Basic realm=\"git\"\r\n",
                "authentication required\n",
            )?;
            linger(&mut out, &mut reader);
            return Ok(());
        }
        record.user = Some(user.clone());
    }
    if head
        .header("Expect")
        .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        out.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        out.flush()?;
    }

    let chunked = record.chunked;
    let content_length = if chunked {
        None
    } else {
        head.header("Content-Length")
            .and_then(|l| l.parse::<u64>().ok())
    };

    let mut cmd = Command::new(&shared.backend);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_PROJECT_ROOT", &shared.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("SERVER_SOFTWARE", "shipgate-testenv")
        .env("SERVER_NAME", "127.0.0.1")
        .env("SERVER_PORT", shared.port.to_string())
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("REQUEST_METHOD", &head.method)
        .env("REQUEST_URI", &head.target)
        .env("PATH_INFO", &record.path)
        .env("QUERY_STRING", query)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(t) = head.header("Content-Type") {
        cmd.env("CONTENT_TYPE", t);
    }
    if let Some(l) = content_length {
        cmd.env("CONTENT_LENGTH", l.to_string());
    }
    if let Some(user) = &record.user {
        cmd.env("REMOTE_USER", user).env("AUTH_TYPE", "Basic");
    }
    if let Some(p) = &record.git_protocol {
        cmd.env("GIT_PROTOCOL", p);
    }
    if let Some(e) = &record.content_encoding {
        cmd.env("HTTP_CONTENT_ENCODING", e);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            record.status = 500;
            log(record);
            write_simple(
                &mut out,
                500,
                "Internal Server Error",
                "",
                &format!("cannot run git http-backend: {e}\n"),
            )?;
            return Ok(());
        }
    };
    if let Some(conn) = lock(&shared.connections).get_mut(&id) {
        conn.backend_pid = Some(child.id());
    }
    let result = serve_cgi(
        &mut child,
        reader,
        chunked,
        content_length,
        &mut out,
        shared,
    );
    // Unregister before reaping: from here on the pid may be reused once waited for.
    if let Some(conn) = lock(&shared.connections).get_mut(&id) {
        conn.backend_pid = None;
    }
    if result.is_err() {
        let _ = child.kill();
    }
    let _ = child.wait();
    record.status = *result.as_ref().unwrap_or(&0);
    log(record);
    result.map(|_| ())
}

/// Feeds the request body to the backend, relays its answer; returns the status sent.
fn serve_cgi(
    child: &mut Child,
    mut reader: BufReader<TcpStream>,
    chunked: bool,
    content_length: Option<u64>,
    out: &mut TcpStream,
    shared: &Shared,
) -> io::Result<u16> {
    let (Some(mut stdin), Some(stdout), Some(mut stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(io::Error::other("backend pipes missing"));
    };
    let body = std::thread::Builder::new()
        .name("git-http-body".into())
        .spawn(move || -> io::Result<()> {
            if chunked {
                copy_chunked(&mut reader, &mut stdin)?;
            } else if let Some(len) = content_length {
                let n = io::copy(&mut (&mut reader).take(len), &mut stdin)?;
                if n < len {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "request body shorter than Content-Length",
                    ));
                }
            }
            Ok(()) // dropping stdin tells the backend the body is complete
        })?;
    let errs = std::thread::Builder::new()
        .name("git-http-stderr".into())
        .spawn(move || {
            let mut buf = Vec::new();
            let _ = stderr.read_to_end(&mut buf);
            buf
        })?;
    let relayed = relay_cgi_response(stdout, out);
    let body_result = body
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("body thread panicked")));
    let err_bytes = errs.join().unwrap_or_default();
    if !err_bytes.is_empty() {
        let mut kept = lock(&shared.stderr);
        kept.push_str(&String::from_utf8_lossy(&err_bytes));
        if kept.len() > MAX_STDERR_KEPT {
            let mut cut = kept.len() - MAX_STDERR_KEPT;
            while !kept.is_char_boundary(cut) {
                cut += 1;
            }
            kept.drain(..cut);
        }
    }
    let status = relayed?;
    body_result.map(|()| status)
}

/// Reads the CGI header block (`Status:` and other headers), writes the HTTP response head,
/// then copies the rest of the backend's output as the body (close-delimited).
fn relay_cgi_response(stdout: ChildStdout, out: &mut TcpStream) -> io::Result<u16> {
    let mut cgi = BufReader::new(stdout);
    let mut status = 200u16;
    let mut reason = "OK".to_owned();
    let mut headers = String::new();
    let mut total = 0;
    loop {
        let mut line = String::new();
        let n = cgi.read_line(&mut line)?;
        total += n;
        if n == 0 || total > MAX_HEAD_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "git http-backend ended before its headers were complete",
            ));
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("Status") {
            let (code, text) = value.split_once(' ').unwrap_or((value, ""));
            status = code.parse().unwrap_or(500);
            reason = if text.is_empty() {
                "-".into()
            } else {
                text.into()
            };
        } else if !name.eq_ignore_ascii_case("Connection") {
            headers.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    write!(
        out,
        "HTTP/1.1 {status} {reason}\r\n{headers}Connection: close\r\n\r\n"
    )?;
    io::copy(&mut cgi, out)?;
    out.flush()?;
    let _ = out.shutdown(Shutdown::Write);
    Ok(status)
}

/// Decodes a `Transfer-Encoding: chunked` body into `out`.
fn copy_chunked(reader: &mut impl BufRead, out: &mut impl Write) -> io::Result<u64> {
    let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidData, m.to_owned());
    let mut total = 0;
    loop {
        let mut size_line = String::new();
        if reader.by_ref().take(1024).read_line(&mut size_line)? == 0 {
            return Err(bad("chunked body ended without the last chunk"));
        }
        let size_hex = size_line
            .trim_end_matches(['\r', '\n'])
            .split(';')
            .next()
            .unwrap_or("")
            .trim();
        let size = u64::from_str_radix(size_hex, 16).map_err(|_| bad("bad chunk size"))?;
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                let mut t = String::new();
                if reader.by_ref().take(8192).read_line(&mut t)? == 0
                    || t.trim_end_matches(['\r', '\n']).is_empty()
                {
                    return Ok(total);
                }
            }
        }
        let n = io::copy(&mut reader.by_ref().take(size), out)?;
        if n < size {
            return Err(bad("chunk shorter than its size"));
        }
        total += n;
        let mut crlf = String::new();
        reader.by_ref().take(2).read_line(&mut crlf)?;
    }
}

fn basic_credentials(header: Option<&str>) -> Option<(String, String)> {
    let encoded = header?.trim().strip_prefix("Basic ")?.trim();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Some(b) = std::str::from_utf8(hex)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A `git` command run in `dir`, isolated from the developer's configuration: no system or
/// global config, no terminal prompts, none of the `GIT_DIR`-style variables a git hook would
/// set, `LC_ALL=C` (stable messages), and the fixtures' fixed author and committer.
pub fn git_command(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .stdin(Stdio::null())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "")
        .env("SSH_ASKPASS", "")
        .env("LC_ALL", "C")
        .env("GIT_AUTHOR_NAME", AUTHOR_NAME)
        .env("GIT_AUTHOR_EMAIL", AUTHOR_EMAIL)
        .env("GIT_COMMITTER_NAME", AUTHOR_NAME)
        .env("GIT_COMMITTER_EMAIL", AUTHOR_EMAIL);
    for v in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_NAMESPACE",
        "GIT_CEILING_DIRECTORIES",
        "GIT_PROTOCOL",
        "GIT_TRACE",
        "GIT_TRACE_PACKET",
        "GIT_CONFIG",
        "GIT_CONFIG_COUNT",
        "GIT_CONFIG_PARAMETERS",
    ] {
        cmd.env_remove(v);
    }
    cmd
}

/// Runs a prepared git command; its stdout on success, else [`TestEnvError::Git`] with stderr.
pub fn run_git(mut cmd: Command) -> Result<String, TestEnvError> {
    let what = format!(
        "git {}",
        cmd.get_args()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let out = cmd
        .output()
        .map_err(io_err(format!("running {what} (is git installed?)")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(TestEnvError::Git {
            command: what,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// Runs `git <args>` in `dir` (see [`git_command`] for the environment) and returns stdout
/// with the trailing newline removed.
pub fn git(dir: &Path, args: &[&str]) -> Result<String, TestEnvError> {
    let mut cmd = git_command(dir);
    cmd.args(args);
    run_git(cmd).map(|s| s.trim_end_matches('\n').to_owned())
}

/// A bare repository under a server root plus a work clone to change it from.
///
/// Commits have a fixed author and committer (`Shipgate Test <test@shipgate.invalid>`) and
/// deterministic dates (the first at 2023-11-14T22:13:20Z, each next one a minute later), so
/// the same steps give the same SHAs on every run. [`GitFixture::push`] pushes over the file
/// system, so it does not count as a server request.
///
/// The bare repository has `http.receivepack=true` (pushes over HTTP without auth) and
/// `uploadpack.allowReachableSHA1InWant=true` (protocol v0 fetches of a commit SHA; see the
/// module docs).
#[derive(Debug)]
pub struct GitFixture {
    bare: PathBuf,
    work: tempfile::TempDir,
    commits: u64,
}

impl GitFixture {
    /// Creates `<server_root>/<name>` as a bare repository (default branch `main`) and an empty
    /// work clone in a temp dir whose `origin` is that repository.
    pub fn new(server_root: &Path, name: &str) -> Result<Self, TestEnvError> {
        let bare = server_root.join(name);
        std::fs::create_dir_all(&bare).map_err(io_err(format!("creating {}", bare.display())))?;
        git(
            &bare,
            &["init", "--quiet", "--bare", "--initial-branch=main"],
        )?;
        git(&bare, &["config", "http.receivepack", "true"])?;
        git(
            &bare,
            &["config", "uploadpack.allowReachableSHA1InWant", "true"],
        )?;
        let work = tempfile::Builder::new()
            .prefix("shipgate-git-work-")
            .tempdir()
            .map_err(io_err("creating a temp dir for a git work clone"))?;
        git(work.path(), &["init", "--quiet", "--initial-branch=main"])?;
        let bare_str = bare.to_string_lossy();
        git(work.path(), &["remote", "add", "origin", &bare_str])?;
        git(work.path(), &["config", "commit.gpgsign", "false"])?;
        git(work.path(), &["config", "tag.gpgsign", "false"])?;
        Ok(Self {
            bare,
            work,
            commits: 0,
        })
    }

    /// The bare repository (what the server serves).
    pub fn bare_dir(&self) -> &Path {
        &self.bare
    }

    /// The work clone.
    pub fn work_dir(&self) -> &Path {
        self.work.path()
    }

    /// Writes `contents` to `path` (relative to the work clone), creating parent directories.
    pub fn write(&self, path: &str, contents: &str) -> Result<(), TestEnvError> {
        let p = self.work.path().join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)
                .map_err(io_err(format!("creating {}", parent.display())))?;
        }
        std::fs::write(&p, contents).map_err(io_err(format!("writing {}", p.display())))
    }

    /// Removes a file or a directory tree from the work clone.
    pub fn remove(&self, path: &str) -> Result<(), TestEnvError> {
        let p = self.work.path().join(path);
        let r = if p.is_dir() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        r.map_err(io_err(format!("removing {}", p.display())))
    }

    fn commit_with(&mut self, message: &str, extra: &[&str]) -> Result<String, TestEnvError> {
        git(self.work.path(), &["add", "--all"])?;
        let date = format!("{} +0000", FIRST_COMMIT_EPOCH + 60 * self.commits);
        let mut cmd = git_command(self.work.path());
        cmd.env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .args(extra)
            .args(["commit", "--quiet", "--allow-empty", "-m", message]);
        run_git(cmd)?;
        self.commits += 1;
        self.head()
    }

    /// Commits everything in the work clone (`git add --all`; empty commits allowed) and
    /// returns the new commit's SHA.
    pub fn commit(&mut self, message: &str) -> Result<String, TestEnvError> {
        self.commit_with(message, &[])
    }

    /// Like [`GitFixture::commit`], signed with the SSH private key at `key_path`
    /// (`gpg.format=ssh`, needs `ssh-keygen`).
    pub fn commit_signed_ssh(
        &mut self,
        message: &str,
        key_path: &Path,
    ) -> Result<String, TestEnvError> {
        let key = format!("user.signingkey={}", key_path.display());
        self.commit_with(
            message,
            &[
                "-c",
                "gpg.format=ssh",
                "-c",
                &key,
                "-c",
                "commit.gpgsign=true",
            ],
        )
    }

    /// The SHA of `HEAD` in the work clone.
    pub fn head(&self) -> Result<String, TestEnvError> {
        git(self.work.path(), &["rev-parse", "HEAD"])
    }

    /// Creates (or moves) the lightweight tag `name` at `HEAD`.
    pub fn tag(&self, name: &str) -> Result<(), TestEnvError> {
        git(self.work.path(), &["tag", "--force", name]).map(|_| ())
    }

    /// Creates (or moves) the annotated tag `name` at `HEAD` (fixed tagger date).
    pub fn tag_annotated(&self, name: &str, message: &str) -> Result<(), TestEnvError> {
        let date = format!("{} +0000", FIRST_COMMIT_EPOCH + 60 * self.commits);
        let mut cmd = git_command(self.work.path());
        cmd.env("GIT_COMMITTER_DATE", &date).args([
            "tag",
            "--force",
            "--annotate",
            "-m",
            message,
            name,
        ]);
        run_git(cmd).map(|_| ())
    }

    /// Switches the work clone to branch `name`, creating it at `HEAD` if it does not exist.
    pub fn switch(&self, name: &str) -> Result<(), TestEnvError> {
        let exists = git(
            self.work.path(),
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("refs/heads/{name}"),
            ],
        )
        .is_ok();
        let args: &[&str] = if exists {
            &["switch", "--quiet", name]
        } else {
            &["switch", "--quiet", "--create", name]
        };
        git(self.work.path(), args).map(|_| ())
    }

    /// Pushes every branch and tag to the bare repository, forced (tests may rewrite history),
    /// and prunes refs deleted locally.
    pub fn push(&self) -> Result<(), TestEnvError> {
        git(
            self.work.path(),
            &[
                "push",
                "--quiet",
                "--force",
                "--prune",
                "origin",
                "refs/heads/*:refs/heads/*",
                "refs/tags/*:refs/tags/*",
            ],
        )
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_decode() {
        let body = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: y\r\n\r\n";
        let mut out = Vec::new();
        let n = copy_chunked(&mut &body[..], &mut out).unwrap();
        assert_eq!(n, 11);
        assert_eq!(out, b"hello world");
        let truncated = b"5\r\nhel";
        assert!(copy_chunked(&mut &truncated[..], &mut Vec::new()).is_err());
        let bad = b"zz\r\n";
        assert!(copy_chunked(&mut &bad[..], &mut Vec::new()).is_err());
    }

    #[test]
    fn credentials_and_percent_coding() {
        let h = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("u:p:w")
        );
        assert_eq!(
            basic_credentials(Some(&h)),
            Some(("u".to_string(), "p:w".to_string()))
        );
        assert_eq!(basic_credentials(Some("Bearer x")), None);
        assert_eq!(basic_credentials(None), None);
        assert_eq!(percent_decode("/a%20b/c%2"), "/a b/c%2");
        assert_eq!(percent_encode("p@ss:w/rd"), "p%40ss%3Aw%2Frd");
    }
}
