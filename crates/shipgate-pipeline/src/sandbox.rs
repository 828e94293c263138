//! Running one step's process isolated, bounded in time, with its output in a log file.
//!
//! With [`Isolation::Bubblewrap`] the command runs under `bwrap` (Debian package
//! `bubblewrap`, unprivileged user namespaces):
//! * the host file system is mounted read-only, the workspace included; only the step's
//!   output directories (each backed by a fresh staging directory that the runner moves into
//!   place on success), its artifacts directory and paths it lists in `writable:` are
//!   writable: a write anywhere else fails with "Read-only file system";
//! * private `/tmp` (tmpfs, also `HOME`), `/dev` and `/proc`; new PID, IPC, UTS, cgroup and
//!   user namespaces; a network namespace with nothing in it unless the step asks for network;
//! * an empty environment plus `PATH`, `HOME`, `LANG` and what the step sets or passes;
//! * `--die-with-parent` and a new session: killing `bwrap` (timeout) tears the whole
//!   namespace down;
//! * resource limits via util-linux `prlimit` (address space, CPU time, open files, file size).
//!
//! [`Isolation::None`] runs the same command directly (same environment, same limits and
//! timeout, no file-system or network isolation) for machines without user namespaces; the
//! run record says which was used.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::spec::{ResourceLimits, parse_size};

/// How steps are isolated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Isolation {
    /// bubblewrap namespaces (the default).
    Bubblewrap,
    /// No isolation (explicit opt-out).
    None,
}

/// Where `bwrap` is looked for.
pub const BWRAP: &str = "bwrap";

/// One process to run.
#[derive(Debug, Clone)]
pub struct Spec<'a> {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Working directory (the workspace).
    pub cwd: &'a Path,
    /// A root file system to use instead of the host's (container-image steps); the
    /// workspace is then expected among `ro_binds_at`.
    pub root: Option<PathBuf>,
    /// Read-only mounts at another path: (host source, path in the sandbox).
    pub ro_binds_at: Vec<(PathBuf, PathBuf)>,
    /// Host paths mounted read-only again after the private `/tmp` is mounted (so a
    /// workspace, binary or cache under `/tmp` stays visible).
    pub ro_binds: Vec<PathBuf>,
    /// Writable bind mounts: (host source, path in the sandbox).
    pub binds: Vec<(PathBuf, PathBuf)>,
    /// Environment (the only variables the process sees).
    pub env: Vec<(String, String)>,
    /// Network access.
    pub network: bool,
    /// Wall-clock limit.
    pub timeout: Duration,
    /// Resource limits.
    pub limits: &'a ResourceLimits,
    /// stdout and stderr go here.
    pub log: &'a Path,
}

/// How the process ended.
#[derive(Debug)]
pub enum Exit {
    /// It exited (any status).
    Exited(ExitStatus),
    /// It was killed at the timeout.
    TimedOut(Duration),
}

/// Checks that bubblewrap works here (installed, namespaces allowed), once per run.
pub fn probe() -> Result<(), Error> {
    let out = Command::new(BWRAP)
        .args(["--ro-bind", "/", "/", "--unshare-all", "--die-with-parent", "true"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            Error::Sandbox(format!(
                "cannot run `{BWRAP}` ({e}); install bubblewrap (apt-get install bubblewrap) or pass --sandbox none to run steps without isolation"
            ))
        })?;
    if !out.status.success() {
        return Err(Error::Sandbox(format!(
            "`{BWRAP}` cannot create namespaces here: {}; allow unprivileged user namespaces or pass --sandbox none",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

/// The full command line: `prlimit ... -- bwrap ... -- argv` (or without bwrap).
pub fn command_line(spec: &Spec<'_>, isolation: Isolation) -> Vec<String> {
    let mut cmd: Vec<String> = Vec::new();
    let l = spec.limits;
    let mut limits = Vec::new();
    if let Some(m) = l.memory.as_deref().and_then(parse_size) {
        limits.push(format!("--as={m}"));
    }
    if let Some(c) = l.cpu_seconds {
        limits.push(format!("--cpu={c}"));
    }
    if let Some(n) = l.open_files {
        limits.push(format!("--nofile={n}"));
    }
    if let Some(f) = l.file_size.as_deref().and_then(parse_size) {
        limits.push(format!("--fsize={f}"));
    }
    if !limits.is_empty() {
        cmd.push("prlimit".into());
        cmd.extend(limits);
        cmd.push("--".into());
    }
    if isolation == Isolation::Bubblewrap {
        let s = |v: &str| v.to_string();
        let p = |v: &Path| v.display().to_string();
        cmd.extend(
            [
                "bwrap",
                "--die-with-parent",
                "--new-session",
                "--unshare-all",
                "--hostname",
                "shipgate-step",
            ]
            .map(s),
        );
        let root = spec.root.as_deref().unwrap_or(Path::new("/"));
        cmd.extend([s("--ro-bind"), p(root), s("/")]);
        cmd.extend(
            [
                "--dev",
                "/dev",
                "--proc",
                "/proc",
                "--tmpfs",
                "/tmp",
                "--dir",
                "/tmp/home",
            ]
            .map(s),
        );
        for (src, dst) in &spec.ro_binds_at {
            cmd.extend([s("--ro-bind"), p(src), p(dst)]);
        }
        if spec.network {
            cmd.push(s("--share-net"));
        }
        for p2 in &spec.ro_binds {
            if p2.starts_with("/tmp") && p2.exists() {
                cmd.extend([s("--ro-bind"), p(p2), p(p2)]);
            }
        }
        for (src, dst) in &spec.binds {
            cmd.extend([s("--bind"), p(src), p(dst)]);
        }
        cmd.push(s("--clearenv"));
        for (k, v) in &spec.env {
            cmd.extend([s("--setenv"), k.clone(), v.clone()]);
        }
        cmd.extend([s("--chdir"), p(spec.cwd), s("--")]);
    }
    cmd.extend(spec.argv.iter().cloned());
    cmd
}

/// Runs the process to completion or timeout; stdout and stderr go to `spec.log`.
pub fn run(spec: &Spec<'_>, isolation: Isolation) -> Result<Exit, Error> {
    let line = command_line(spec, isolation);
    let log = File::create(spec.log).map_err(|e| Error::io(spec.log, e))?;
    let log2 = log.try_clone().map_err(|e| Error::io(spec.log, e))?;
    let mut cmd = Command::new(&line[0]);
    cmd.args(&line[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log2))
        .process_group(0);
    if isolation == Isolation::None {
        cmd.current_dir(spec.cwd)
            .env_clear()
            .envs(spec.env.iter().map(|(k, v)| (k, v)));
    }
    use std::os::unix::process::CommandExt as _;
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::Sandbox(format!("cannot start `{}`: {e}", line[0])))?;
    let pid = rustix::process::Pid::from_child(&child);
    let (tx, rx) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let start = Instant::now();
    let result = match rx.recv_timeout(spec.timeout) {
        Ok(status) => status
            .map(Exit::Exited)
            .map_err(|e| Error::Sandbox(format!("waiting for the step: {e}"))),
        Err(_) => {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            let _ = rx.recv();
            Ok(Exit::TimedOut(start.elapsed()))
        }
    };
    // Whatever the step left in its process group does not outlive it.
    let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    let _ = waiter.join();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec<'a>(
        dir: &'a Path,
        argv: &[&str],
        limits: &'a ResourceLimits,
        log: &'a Path,
    ) -> Spec<'a> {
        Spec {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            cwd: dir,
            root: None,
            ro_binds_at: vec![],
            ro_binds: vec![],
            binds: vec![],
            env: vec![("PATH".into(), "/usr/bin:/bin".into())],
            network: false,
            timeout: Duration::from_secs(20),
            limits,
            log,
        }
    }

    #[test]
    fn command_line_isolates_by_default() {
        let limits = ResourceLimits {
            memory: Some("1Gi".into()),
            ..Default::default()
        };
        let log = Path::new("/tmp/x.log");
        let line = command_line(
            &spec(Path::new("/w"), &["sh", "-c", "true"], &limits, log),
            Isolation::Bubblewrap,
        );
        let joined = line.join(" ");
        assert!(
            joined.starts_with("prlimit --as=1073741824 -- bwrap "),
            "{joined}"
        );
        assert!(
            joined.contains("--ro-bind / /")
                && joined.contains("--unshare-all")
                && joined.contains("--clearenv")
        );
        assert!(!joined.contains("--share-net"));
        assert!(joined.ends_with("--chdir /w -- sh -c true"), "{joined}");
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let limits = ResourceLimits::default();
        let mut s = spec(
            dir.path(),
            &["sh", "-c", "sleep 30 & sleep 30; echo never"],
            &limits,
            &log,
        );
        s.timeout = Duration::from_millis(300);
        let t = Instant::now();
        let exit = run(&s, Isolation::None).unwrap();
        assert!(matches!(exit, Exit::TimedOut(_)), "{exit:?}");
        assert!(t.elapsed() < Duration::from_secs(5));
        assert!(!std::fs::read_to_string(&log).unwrap().contains("never"));
    }
}
