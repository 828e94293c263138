//! Child processes that cannot outlive the test binary.
//!
//! Each managed child runs in its own process group. Next to it runs a watchdog, a tiny
//! `sh` loop in yet another process group, that polls the test process's pid; once the test
//! process is gone (normal exit with statics never dropped, panic, SIGKILL, Ctrl-C) it sends
//! SIGTERM to the child's group, then SIGKILL after a grace period, and removes the child's
//! scratch directory. Explicit [`ManagedProcess::stop`] (also run on drop) does the same
//! immediately and then kills the watchdog. Everything is by pid/pgid, never by name.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};

use crate::TestEnvError;

const WATCHDOG_SCRIPT: &str = r#"p=$1; g=$2; d=$3
while kill -0 "$p" 2>/dev/null; do sleep 0.3; done
kill -TERM -"$g" 2>/dev/null
i=0
while kill -0 -"$g" 2>/dev/null && [ "$i" -lt 40 ]; do sleep 0.25; i=$((i+1)); done
kill -KILL -"$g" 2>/dev/null
if [ -n "$d" ]; then rm -rf -- "$d"; fi
"#;

/// A child process in its own process group, guarded by a watchdog.
#[derive(Debug)]
pub struct ManagedProcess {
    name: String,
    child: Option<Child>,
    watchdog: Option<Child>,
    log: PathBuf,
}

impl ManagedProcess {
    /// Spawns `cmd` with stdout and stderr appended to `log`. If the test process dies without
    /// stopping the child, the watchdog kills the child's process group and deletes `cleanup_dir`.
    pub fn spawn(
        name: &str,
        mut cmd: Command,
        log: &Path,
        cleanup_dir: Option<&Path>,
    ) -> Result<Self, TestEnvError> {
        let io = |what: String| move |source| TestEnvError::Io { what, source };
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .map_err(io(format!("opening log {}", log.display())))?;
        let err = out
            .try_clone()
            .map_err(io(format!("opening log {}", log.display())))?;
        use std::os::unix::process::CommandExt;
        cmd.stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        let child = cmd
            .spawn()
            .map_err(io(format!("starting {name} ({:?})", cmd.get_program())))?;
        let pgid = child.id();
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG_SCRIPT)
            .arg("shipgate-testenv-watchdog")
            .arg(std::process::id().to_string())
            .arg(pgid.to_string())
            .arg(cleanup_dir.map(|d| d.as_os_str()).unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn();
        let mut me = Self {
            name: name.to_owned(),
            child: Some(child),
            watchdog: None,
            log: log.to_owned(),
        };
        match watchdog {
            Ok(w) => me.watchdog = Some(w),
            Err(source) => {
                me.stop(Duration::from_secs(1));
                return Err(TestEnvError::Io {
                    what: "starting the watchdog (sh)".into(),
                    source,
                });
            }
        }
        Ok(me)
    }

    /// The child's pid (also its process group id).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The watchdog's pid.
    pub fn watchdog_pid(&self) -> Option<u32> {
        self.watchdog.as_ref().map(Child::id)
    }

    /// The log file the child writes to.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// `Some(status)` once the child has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// The last `max_bytes` of the child's log, for error messages.
    pub fn log_tail(&self, max_bytes: u64) -> String {
        log_tail(&self.log, max_bytes)
    }

    /// Stops the child: SIGTERM to its process group, SIGKILL after `grace`, then reaps it and
    /// ends the watchdog. Idempotent.
    pub fn stop(&mut self, grace: Duration) {
        self.stop_with(Signal::TERM, grace);
    }

    /// [`ManagedProcess::stop`] with `first` instead of SIGTERM (PostgreSQL: SIGINT is a fast
    /// shutdown, SIGKILL a crash).
    pub fn stop_with(&mut self, first: Signal, grace: Duration) {
        if let Some(mut child) = self.child.take() {
            let pgid = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
            if let Some(pgid) = pgid {
                let _ = rustix::process::kill_process_group(pgid, first);
                let deadline = Instant::now() + grace;
                loop {
                    if matches!(child.try_wait(), Ok(Some(_)) | Err(_)) {
                        break;
                    }
                    if Instant::now() >= deadline {
                        let _ = rustix::process::kill_process_group(pgid, Signal::KILL);
                        let _ = child.wait();
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                // Anything else left in the group (there should be nothing).
                let _ = rustix::process::kill_process_group(pgid, Signal::KILL);
            } else {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
    }

    /// Forgets the child without stopping it, leaving it to the watchdog (used by the
    /// leak test to simulate a test binary that exits with the process still running).
    pub fn abandon(mut self) {
        self.child = None;
        self.watchdog = None;
    }

    /// The name given at spawn time.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for ManagedProcess {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

pub(crate) fn log_tail(path: &Path, max_bytes: u64) -> String {
    let Ok(mut f) = File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(max_bytes)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// True while a process with this pid exists (zombies count as existing).
pub fn pid_alive(pid: u32) -> bool {
    i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .is_some_and(|p| rustix::process::test_kill_process(p).is_ok())
}

/// Reserves a free loopback TCP port (bind to port 0, read it, release it).
pub fn free_port() -> Result<u16, TestEnvError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|source| TestEnvError::Io {
        what: "binding 127.0.0.1:0 to find a free port".into(),
        source,
    })?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|source| TestEnvError::Io {
            what: "reading a bound port".into(),
            source,
        })
}

/// Plain-HTTP GET on loopback; returns the status code. Used for etcd and registry readiness.
pub fn http_get_status(port: u16, path: &str) -> Option<u16> {
    use std::io::Write;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 32];
    let n = s.read(&mut head).ok()?;
    let line = std::str::from_utf8(&head[..n]).ok()?;
    line.split_whitespace().nth(1)?.parse().ok()
}
