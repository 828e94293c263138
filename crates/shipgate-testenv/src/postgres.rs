//! A real PostgreSQL server for the store's tests, from the Debian package
//! (`/usr/lib/postgresql/<version>/bin`, `apt-get install postgresql-15`).
//!
//! [`Postgres::start`] runs `initdb` into a temp dir (superuser `shipgate`, a random password,
//! `scram-sha-256` for local and TCP connections, so authentication is exercised), then
//! `postgres` listening on 127.0.0.1 with a random free port and a Unix socket in the temp
//! dir. PostgreSQL refuses to run as root: when the tests run as root, the server runs as
//! [`SERVER_USER`] (created by `scripts/test-deps.sh`), else as `nobody`, and the temp dir is
//! given to that user. [`Postgres::kill`] / [`Postgres::stop`] and [`Postgres::restart`] take
//! it down and up again mid-test on the same data and port; dropping it stops it and deletes
//! the data.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::process::{self, ManagedProcess};
use crate::{TestEnvError, in_ci, io_err, start_timeout, write};

/// Environment variable naming the directory with `initdb`, `postgres` and `psql`.
pub const ENV_POSTGRES_BIN_DIR: &str = "SHIPGATE_POSTGRES_BIN_DIR";
/// The unprivileged system user the server runs as when the tests run as root.
pub const SERVER_USER: &str = "shipgate-test";
/// The database superuser created by `initdb`.
pub const DB_USER: &str = "shipgate";

/// A running PostgreSQL server.
#[derive(Debug)]
pub struct Postgres {
    process: Option<ManagedProcess>,
    port: u16,
    password: String,
    bin: PathBuf,
    owner: Option<(u32, u32)>,
    dir: tempfile::TempDir,
}

/// `/usr/lib/postgresql/<highest version>/bin`, or `$SHIPGATE_POSTGRES_BIN_DIR`.
pub fn postgres_bin_dir() -> PathBuf {
    if let Some(d) = std::env::var_os(ENV_POSTGRES_BIN_DIR).filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let mut versions: Vec<u32> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    versions.sort_unstable();
    let v = versions.last().copied().unwrap_or(15);
    PathBuf::from(format!("/usr/lib/postgresql/{v}/bin"))
}

/// uid and gid of `name` from /etc/passwd.
fn lookup_user(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.first() == Some(&name) && f.len() > 3)
            .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
            .flatten()
    })
}

fn random_password() -> String {
    // Not a secret worth a CSPRNG: it only has to differ between runs and be non-trivial.
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.write_u32(std::process::id());
    format!("pw-{:016x}", h.finish())
}

impl Postgres {
    /// Initialises a cluster in a temp dir and starts the server; waits until it accepts
    /// connections (`pg_isready`).
    pub fn start() -> Result<Self, TestEnvError> {
        let bin = postgres_bin_dir();
        for name in ["initdb", "postgres", "pg_isready", "psql"] {
            if !bin.join(name).is_file() {
                return Err(TestEnvError::BinaryMissing {
                    name: format!(
                        "{name} (apt-get install -y postgresql-15, or set {ENV_POSTGRES_BIN_DIR})"
                    ),
                    path: bin.join(name),
                });
            }
        }
        let dir = tempfile::Builder::new()
            .prefix("shipgate-postgres-")
            .tempdir()
            .map_err(io_err("creating a temp dir for PostgreSQL"))?;
        let owner = if rustix::process::getuid().is_root() {
            let user = std::env::var("SHIPGATE_TEST_POSTGRES_USER")
                .unwrap_or_else(|_| SERVER_USER.to_owned());
            let found = lookup_user(&user).or_else(|| lookup_user("nobody"));
            let Some(found) = found else {
                return Err(TestEnvError::Kube(format!(
                    "PostgreSQL cannot run as root and neither {user} nor nobody exists (scripts/test-deps.sh creates {SERVER_USER})"
                )));
            };
            std::os::unix::fs::chown(dir.path(), Some(found.0), Some(found.1)).map_err(io_err(
                format!("giving {} to the server user", dir.path().display()),
            ))?;
            Some(found)
        } else {
            None
        };
        let password = random_password();
        let pwfile = dir.path().join("pwfile");
        write(&pwfile, &format!("{password}\n"))?;
        if let Some((u, g)) = owner {
            std::os::unix::fs::chown(&pwfile, Some(u), Some(g)).map_err(io_err("chown pwfile"))?;
        }
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(dir.path().join("data"))
            .arg(format!("--username={DB_USER}"))
            .arg(format!("--pwfile={}", pwfile.display()))
            .args([
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .current_dir(dir.path());
        if let Some((u, g)) = owner {
            initdb.uid(u).gid(g);
        }
        let out = initdb.output().map_err(io_err("running initdb"))?;
        let _ = std::fs::remove_file(&pwfile);
        if !out.status.success() {
            return Err(TestEnvError::Exited {
                what: "initdb".into(),
                status: out.status.to_string(),
                log: "(stderr)".into(),
                tail: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        let mut me = Self {
            process: None,
            port: 0,
            password,
            bin,
            owner,
            dir,
        };
        let mut last = None;
        for _ in 0..3 {
            me.port = process::free_port()?;
            match me.spawn() {
                Ok(()) => return Ok(me),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| TestEnvError::Kube("PostgreSQL did not start".into())))
    }

    fn spawn(&mut self) -> Result<(), TestEnvError> {
        let mut cmd = Command::new(self.bin.join("postgres"));
        cmd.arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-c")
            .arg("listen_addresses=127.0.0.1")
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                self.dir.path().display()
            ))
            .args([
                "-c",
                "fsync=off",
                "-c",
                "shared_buffers=16MB",
                "-c",
                "max_connections=60",
            ])
            .current_dir(self.dir.path());
        if let Some((u, g)) = self.owner {
            cmd.uid(u).gid(g);
        }
        let mut p = ManagedProcess::spawn(
            "postgres",
            cmd,
            &self.dir.path().join("postgres.log"),
            Some(self.dir.path()),
        )?;
        let port = self.port;
        let ready = self.bin.join("pg_isready");
        let started = Instant::now();
        loop {
            let ok = Command::new(&ready)
                .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string(), "-t", "2"])
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                self.process = Some(p);
                return Ok(());
            }
            if let Some(status) = p.exited() {
                return Err(TestEnvError::Exited {
                    what: "postgres".into(),
                    status: status.to_string(),
                    log: p.log_path().display().to_string(),
                    tail: p.log_tail(4000),
                });
            }
            if started.elapsed() > start_timeout() {
                let e = TestEnvError::Timeout {
                    what: "postgres".into(),
                    secs: start_timeout().as_secs(),
                    log: p.log_path().display().to_string(),
                    tail: p.log_tail(4000),
                };
                p.stop(Duration::from_secs(2));
                return Err(e);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `postgres://shipgate:PASSWORD@127.0.0.1:PORT/postgres?sslmode=disable`.
    pub fn url(&self) -> String {
        self.url_for("postgres")
    }

    /// The URL of database `db` on this server.
    pub fn url_for(&self, db: &str) -> String {
        format!(
            "postgres://{DB_USER}:{}@127.0.0.1:{}/{db}?sslmode=disable",
            self.password, self.port
        )
    }

    /// The URL through the Unix socket (`host=` the socket directory).
    pub fn socket_url(&self) -> String {
        format!(
            "postgres://{DB_USER}:{}@/postgres?host={}&port={}",
            self.password,
            self.dir.path().display(),
            self.port
        )
    }

    /// The superuser's password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates a new, empty database with a unique name and returns its URL, so that tests
    /// can share one server.
    pub fn fresh_database(&self) -> Result<String, TestEnvError> {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "t{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        self.psql(&format!("CREATE DATABASE {name}"))?;
        Ok(self.url_for(&name))
    }

    /// Runs SQL with `psql` as the superuser on database `postgres`.
    pub fn psql(&self, sql: &str) -> Result<String, TestEnvError> {
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-X",
                "-q",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
            ])
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                DB_USER,
                "-d",
                "postgres",
                "-c",
                sql,
            ])
            .env("PGPASSWORD", &self.password)
            .output()
            .map_err(io_err("running psql"))?;
        if !out.status.success() {
            return Err(TestEnvError::Git {
                command: format!("psql -c {sql:?}"),
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Crashes the server (SIGKILL to all its processes): open transactions are lost and
    /// recovered from the WAL on [`Postgres::restart`].
    pub fn kill(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.stop_with(Signal::KILL, Duration::from_secs(5));
        }
    }

    /// Fast shutdown (SIGINT: clients disconnected, open transactions rolled back).
    pub fn stop(&mut self) {
        if let Some(mut p) = self.process.take() {
            p.stop_with(Signal::INT, Duration::from_secs(10));
        }
    }

    /// Starts the server again on the same data directory and port.
    pub fn restart(&mut self) -> Result<(), TestEnvError> {
        self.stop();
        self.spawn()
    }

    /// True while the server process runs.
    pub fn is_running(&mut self) -> bool {
        self.process.as_mut().is_some_and(|p| p.exited().is_none())
    }

    /// The server log.
    pub fn log_tail(&self) -> String {
        process::log_tail(&self.dir.path().join("postgres.log"), 4000)
    }

    /// The temp dir (data, socket, log).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // Immediate shutdown: the data is thrown away with the temp dir anyway.
        if let Some(mut p) = self.process.take() {
            p.stop_with(Signal::QUIT, Duration::from_secs(5));
        }
    }
}

static SHARED: OnceLock<Result<Postgres, String>> = OnceLock::new();

/// One server per test binary, started on first use (stopped by its watchdog when the test
/// binary exits). Use [`Postgres::fresh_database`] for isolation; tests that stop or restart
/// the server start their own with [`postgres_or_skip`].
pub fn shared_postgres() -> Result<&'static Postgres, String> {
    SHARED
        .get_or_init(|| Postgres::start().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(Clone::clone)
}

/// A fresh database on the shared server, or `None` with a SKIPPED note on stderr when
/// PostgreSQL cannot start outside CI.
///
/// # Panics
/// When PostgreSQL cannot start and `CI=true`.
#[allow(clippy::print_stderr)] // reason: telling the developer why a test was skipped is the point
pub fn shared_database_or_skip(test: &str) -> Option<String> {
    match shared_postgres().and_then(|pg| pg.fresh_database().map_err(|e| e.to_string())) {
        Ok(url) => Some(url),
        Err(e) if in_ci() => panic!("{test}: PostgreSQL is required in CI: {e}"),
        Err(e) => {
            eprintln!("SKIPPED {test}: PostgreSQL unavailable: {e}");
            None
        }
    }
}

/// Starts a server of `test`'s own (to stop and restart it); panics in CI when it cannot
/// start, elsewhere prints a SKIPPED line and returns `None` (the policy of
/// [`crate::registry_or_skip`]).
///
/// # Panics
/// When PostgreSQL cannot start and `CI=true`.
#[allow(clippy::print_stderr)] // reason: telling the developer why a test was skipped is the point
pub fn postgres_or_skip(test: &str) -> Option<Postgres> {
    match Postgres::start() {
        Ok(p) => Some(p),
        Err(e) if in_ci() => panic!("{test}: PostgreSQL is required in CI: {e}"),
        Err(e) => {
            eprintln!("SKIPPED {test}: PostgreSQL unavailable: {e}");
            None
        }
    }
}
