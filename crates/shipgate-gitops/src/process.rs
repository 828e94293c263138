//! Child processes bounded in time and output, for the tools the engine runs (kustomize, helm).
//!
//! Expected flow: build a [`std::process::Command`] with the program, arguments, working
//! directory and environment (the caller decides the environment: [`crate::render`] clears it
//! and passes an allow-list), then [`run_bounded`] it.
//!
//! Guarantees:
//! * the child runs in its own process group with stdin from `/dev/null`; stdout and stderr are
//!   read concurrently (no pipe deadlock), each into memory up to its cap;
//! * when the time limit passes or a stream exceeds its cap, the whole process group is killed
//!   with SIGKILL (grandchildren included) and the error names the limit;
//! * when the child exits, anything it left running in its group is killed too, so no process
//!   started here outlives the call.
//!
//! Caveats: a descendant that leaves the process group (`setsid`, its own `setpgid`) escapes
//! the kill; if it also keeps the output pipes open, the reader threads are left to finish on
//! their own (detached) rather than blocking the caller. A non-zero exit is not an error here:
//! it is in [`Output::status`], and the caller words the failure.

use std::io::Read;
use std::os::unix::process::CommandExt as _;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, WaitId, WaitIdOptions};

/// How often the runner checks whether the child has exited.
const POLL: Duration = Duration::from_millis(10);
/// How long to wait for the reader threads once the process group is dead.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// Bounds for one child process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time from spawn until the child has exited.
    pub timeout: Duration,
    /// Most bytes accepted on stdout.
    pub max_stdout: u64,
    /// Most bytes accepted on stderr.
    pub max_stderr: u64,
}

/// What a child that finished within its limits produced.
#[derive(Debug)]
pub struct Output {
    /// The exit status (non-zero exits are returned, not turned into errors).
    pub status: ExitStatus,
    /// Everything written on stdout.
    pub stdout: Vec<u8>,
    /// Everything written on stderr.
    pub stderr: Vec<u8>,
}

impl Output {
    /// stderr as text (lossy), trimmed.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).trim().to_owned()
    }
}

/// Why a bounded child did not produce an [`Output`]. `what` is the program's file name and
/// its first argument when that is a subcommand (`helm template`, `kustomize build`).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The program could not be started.
    #[error("{what}: cannot start {program}: {source}")]
    Spawn {
        /// The command.
        what: String,
        /// The program as given.
        program: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The child did not exit within [`Limits::timeout`]; its process group was killed.
    #[error("{what} timed out after {}", human_duration(*.after))]
    TimedOut {
        /// The command.
        what: String,
        /// The limit.
        after: Duration,
    },
    /// The child wrote more than its cap on a stream; its process group was killed.
    #[error("{what} produced more than {}{}", human_size(*.limit), if *.stream == Stream::Stderr { " on stderr" } else { "" })]
    OutputTooLarge {
        /// The command.
        what: String,
        /// Which stream.
        stream: Stream,
        /// The cap.
        limit: u64,
    },
    /// Waiting for the child failed.
    #[error("{what}: {source}")]
    Wait {
        /// The command.
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// An output stream of the child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

enum Event {
    Eof,
    TooLarge(Stream, u64),
}

/// Runs `cmd` to completion within `limits`; see the module docs for the guarantees.
///
/// # Errors
/// [`RunError::Spawn`] when the program cannot start, [`RunError::TimedOut`] and
/// [`RunError::OutputTooLarge`] when a limit was hit (the process group has been killed),
/// [`RunError::Wait`] when the OS fails to report the exit.
pub fn run_bounded(mut cmd: Command, limits: &Limits) -> Result<Output, RunError> {
    let what = describe(&cmd);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn().map_err(|source| RunError::Spawn {
        what: what.clone(),
        program: cmd.get_program().to_string_lossy().into_owned(),
        source,
    })?;
    let start = Instant::now();
    // The child leads its own group: its pid is the group id. The group id stays reserved
    // until the child is reaped, so killing the group before `wait` cannot hit another group.
    let pgid = Pid::from_child(&child);
    let (tx, rx) = mpsc::channel();
    let readers = [
        child
            .stdout
            .take()
            .map(|s| spawn_reader(s, Stream::Stdout, limits.max_stdout, tx.clone())),
        child
            .stderr
            .take()
            .map(|s| spawn_reader(s, Stream::Stderr, limits.max_stderr, tx.clone())),
    ];
    drop(tx);
    let mut open = readers.iter().filter(|r| r.is_some()).count();
    let mut exited = false;
    let mut failure = None;
    loop {
        if !exited {
            match rustix::process::waitid(
                WaitId::Pid(pgid),
                WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT,
            ) {
                Ok(Some(_)) => {
                    exited = true;
                    // Whatever the child left behind in its group holds the pipes open.
                    let _ = rustix::process::kill_process_group(pgid, Signal::KILL);
                }
                Ok(None) => {}
                Err(e) => {
                    failure = Some(RunError::Wait {
                        what: what.clone(),
                        source: e.into(),
                    });
                    break;
                }
            }
        }
        if exited && open == 0 {
            break;
        }
        let Some(left) = limits.timeout.checked_sub(start.elapsed()) else {
            failure = Some(RunError::TimedOut {
                what: what.clone(),
                after: limits.timeout,
            });
            break;
        };
        match rx.recv_timeout(left.min(POLL)) {
            Ok(Event::Eof) => open = open.saturating_sub(1),
            Ok(Event::TooLarge(stream, limit)) => {
                failure = Some(RunError::OutputTooLarge {
                    what: what.clone(),
                    stream,
                    limit,
                });
                break;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => open = 0,
        }
    }
    // Kill the group (a no-op when it already is empty), then reap the child.
    let _ = rustix::process::kill_process_group(pgid, Signal::KILL);
    let status = child.wait();
    let [out, err] = readers.map(|r| r.and_then(|h| join_within(h, DRAIN_GRACE)));
    if let Some(f) = failure {
        return Err(f);
    }
    let status = status.map_err(|source| RunError::Wait { what, source })?;
    Ok(Output {
        status,
        stdout: out.unwrap_or_default(),
        stderr: err.unwrap_or_default(),
    })
}

fn spawn_reader(
    mut pipe: impl Read + Send + 'static,
    stream: Stream,
    limit: u64,
    tx: mpsc::Sender<Event>,
) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    if buf.len() as u64 + n as u64 > limit {
                        let _ = tx.send(Event::TooLarge(stream, limit));
                        return buf;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = tx.send(Event::Eof);
        buf
    })
}

/// Joins a reader thread if it finishes within `grace`; otherwise leaves it detached (a
/// process outside the group still holds the pipe) and returns `None`.
fn join_within(handle: JoinHandle<Vec<u8>>, grace: Duration) -> Option<Vec<u8>> {
    let deadline = Instant::now() + grace;
    while !handle.is_finished() {
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    handle.join().ok()
}

/// `helm template`, `kustomize build`, `sleep`: the program's file name plus its first
/// argument when that looks like a subcommand.
fn describe(cmd: &Command) -> String {
    let program = cmd.get_program().to_string_lossy();
    let name = program.rsplit('/').next().unwrap_or(&program).to_owned();
    match cmd.get_args().next().map(|a| a.to_string_lossy()) {
        Some(a)
            if a.starts_with(|c: char| c.is_ascii_lowercase())
                && a.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') =>
        {
            format!("{name} {a}")
        }
        _ => name,
    }
}

/// `30s`, `1.5s`, `250ms`.
pub(crate) fn human_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else if d < Duration::from_secs(1) {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// `64 MiB`, `512 KiB`, `1000 bytes`.
pub(crate) fn human_size(n: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    const GIB: u64 = 1024 * 1024 * 1024;
    match n {
        n if n >= GIB && n % GIB == 0 => format!("{} GiB", n / GIB),
        n if n >= MIB && n % MIB == 0 => format!("{} MiB", n / MIB),
        n if n >= KIB && n % KIB == 0 => format!("{} KiB", n / KIB),
        n => format!("{n} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(timeout_ms: u64, max: u64) -> Limits {
        Limits {
            timeout: Duration::from_millis(timeout_ms),
            max_stdout: max,
            max_stderr: max,
        }
    }

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.arg("-c").arg(script);
        c
    }

    /// Gone, or a zombie waiting for its (new) parent to reap it: either way not running.
    fn not_running(pid: i32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            Ok(stat) => stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        }
    }

    fn wait_not_running(pid: i32) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if not_running(pid) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    #[test]
    fn normal_output_on_both_streams() {
        let out = run_bounded(
            sh("echo out; echo err >&2; head -c 3000000 /dev/zero; head -c 3000000 /dev/zero >&2"),
            &limits(20_000, 8 << 20),
        )
        .unwrap();
        assert!(out.status.success());
        assert_eq!(&out.stdout[..4], b"out\n");
        assert_eq!(out.stdout.len(), 4 + 3_000_000);
        assert_eq!(&out.stderr[..4], b"err\n");
        assert_eq!(out.stderr.len(), 4 + 3_000_000);
    }

    #[test]
    fn non_zero_exit_keeps_stderr() {
        let out = run_bounded(sh("echo oops >&2; exit 3"), &limits(10_000, 1024)).unwrap();
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(out.stderr_text(), "oops");
        assert!(out.stdout.is_empty());
    }

    #[test]
    fn timeout_kills_the_child_and_its_grandchildren() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let script = format!("sleep 100 & echo $! > {}; sleep 100", pidfile.display());
        let start = Instant::now();
        let err = run_bounded(sh(&script), &limits(700, 1024)).unwrap_err();
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        assert!(matches!(err, RunError::TimedOut { .. }), "{err:?}");
        assert_eq!(err.to_string(), "sh timed out after 700ms");
        let grandchild: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(
            wait_not_running(grandchild),
            "grandchild {grandchild} still runs"
        );

        let mut sleep = Command::new("sleep");
        sleep.arg("100");
        let err = run_bounded(sleep, &limits(1000, 1024)).unwrap_err();
        assert_eq!(err.to_string(), "sleep timed out after 1s");
    }

    #[test]
    fn output_cap_kills_yes() {
        let start = Instant::now();
        let err = run_bounded(Command::new("yes"), &limits(20_000, 1 << 20)).unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(10));
        assert!(
            matches!(err, RunError::OutputTooLarge { stream: Stream::Stdout, limit, .. } if limit == 1 << 20),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "yes produced more than 1 MiB");
        let err = run_bounded(sh("yes >&2"), &limits(20_000, 64 * 1024)).unwrap_err();
        assert_eq!(err.to_string(), "sh produced more than 64 KiB on stderr");
    }

    #[test]
    fn leftovers_are_killed_when_the_child_exits() {
        let start = Instant::now();
        let out = run_bounded(sh("sleep 100 & echo $!"), &limits(20_000, 1024)).unwrap();
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "waited for the leftover"
        );
        assert!(out.status.success());
        let pid: i32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        assert!(wait_not_running(pid), "leftover {pid} still runs");
    }

    #[test]
    fn missing_program_and_names() {
        let err = run_bounded(
            Command::new("/nonexistent/shipgate-tool"),
            &limits(1000, 1024),
        )
        .unwrap_err();
        assert!(matches!(err, RunError::Spawn { .. }));
        assert!(
            err.to_string().contains("/nonexistent/shipgate-tool"),
            "{err}"
        );
        let mut c = Command::new("/opt/bin/helm");
        c.args(["template", "x"]);
        assert_eq!(describe(&c), "helm template");
        let mut c = Command::new("kustomize");
        c.args(["build", "/tmp/x"]);
        assert_eq!(describe(&c), "kustomize build");
        let mut c = Command::new("sh");
        c.args(["-c", "x"]);
        assert_eq!(describe(&c), "sh");
        assert_eq!(human_duration(Duration::from_secs(30)), "30s");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human_size(64 << 20), "64 MiB");
        assert_eq!(human_size(1000), "1000 bytes");
    }
}
