//! Headless Chromium for tests of rendered pages: `--dump-dom` and `--screenshot`, each run in
//! a fresh profile directory with a time limit.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{TestEnvError, in_ci, io_err};

/// Environment variable naming the Chromium binary (default: the first of
/// `/usr/bin/chromium`, `/usr/bin/chromium-browser`, `/usr/bin/google-chrome` that exists).
pub const ENV_CHROMIUM: &str = "SHIPGATE_CHROMIUM";

const CANDIDATES: &[&str] = &[
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
];

/// How long one Chromium run may take before it is killed.
const RUN_TIMEOUT: Duration = Duration::from_secs(90);

/// A Chromium binary run headless (`--headless=new --no-sandbox --disable-gpu`).
#[derive(Debug, Clone)]
pub struct Chromium {
    bin: PathBuf,
}

impl Chromium {
    /// Finds the binary (`$SHIPGATE_CHROMIUM`, else the Debian/Ubuntu/Chrome paths).
    pub fn find() -> Result<Self, TestEnvError> {
        if let Some(p) = std::env::var_os(ENV_CHROMIUM).filter(|p| !p.is_empty()) {
            let bin = PathBuf::from(p);
            return if bin.is_file() {
                Ok(Self { bin })
            } else {
                Err(TestEnvError::BinaryMissing {
                    name: format!("chromium (from {ENV_CHROMIUM})"),
                    path: bin,
                })
            };
        }
        CANDIDATES
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .map(|bin| Self { bin })
            .ok_or_else(|| TestEnvError::BinaryMissing {
                name: "chromium (apt-get install -y chromium, or set SHIPGATE_CHROMIUM)".into(),
                path: PathBuf::from(CANDIDATES[0]),
            })
    }

    /// The binary.
    pub fn path(&self) -> &Path {
        &self.bin
    }

    /// The DOM of `url` after loading, serialised (`--dump-dom`).
    pub fn dump_dom(&self, url: &str) -> Result<String, TestEnvError> {
        let out = self.run(&["--dump-dom", url], "dump-dom")?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// A PNG screenshot of `url` at `width` × `height` written to `file`.
    pub fn screenshot(
        &self,
        url: &str,
        file: &Path,
        width: u32,
        height: u32,
    ) -> Result<(), TestEnvError> {
        let shot = format!("--screenshot={}", file.display());
        let size = format!("--window-size={width},{height}");
        self.run(&[&shot, &size, "--hide-scrollbars", url], "screenshot")?;
        if !file.is_file() {
            return Err(TestEnvError::Exited {
                what: format!("chromium --screenshot {url}"),
                status: "no file written".into(),
                log: file.display().to_string(),
                tail: String::new(),
            });
        }
        Ok(())
    }

    /// Runs Chromium with a private profile and returns its stdout; killed after
    /// [`RUN_TIMEOUT`].
    fn run(&self, args: &[&str], what: &str) -> Result<Vec<u8>, TestEnvError> {
        let dir = tempfile::Builder::new()
            .prefix("shipgate-chromium-")
            .tempdir()
            .map_err(io_err("creating a Chromium profile directory"))?;
        let stdout_path = dir.path().join("stdout");
        let stderr_path = dir.path().join("stderr");
        let stdout = std::fs::File::create(&stdout_path).map_err(io_err("creating a log file"))?;
        let stderr = std::fs::File::create(&stderr_path).map_err(io_err("creating a log file"))?;
        let mut child = Command::new(&self.bin)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-sync",
                "--metrics-recording-only",
                "--mute-audio",
            ])
            .arg(format!(
                "--user-data-dir={}",
                dir.path().join("profile").display()
            ))
            .args(args)
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .map_err(io_err(format!("starting {}", self.bin.display())))?;
        let start = Instant::now();
        let status = loop {
            match child.try_wait().map_err(io_err("waiting for chromium"))? {
                Some(s) => break s,
                None if start.elapsed() > RUN_TIMEOUT => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(TestEnvError::Timeout {
                        what: format!("chromium {what}"),
                        secs: RUN_TIMEOUT.as_secs(),
                        log: stderr_path.display().to_string(),
                        tail: tail(&stderr_path),
                    });
                }
                None => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        if !status.success() {
            return Err(TestEnvError::Exited {
                what: format!("chromium {what}"),
                status: status.to_string(),
                log: stderr_path.display().to_string(),
                tail: tail(&stderr_path),
            });
        }
        std::fs::read(&stdout_path).map_err(io_err("reading chromium's output"))
    }
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// Finds Chromium for `test`; panics in CI when it is missing, elsewhere prints a SKIPPED line
/// and returns `None` (the same policy as [`crate::control_plane_or_skip`]).
///
/// # Panics
/// When Chromium is not installed and `CI=true`.
#[allow(clippy::print_stderr)] // reason: telling the developer why a test was skipped is the point
pub fn chromium_or_skip(test: &str) -> Option<Chromium> {
    match Chromium::find() {
        Ok(c) => Some(c),
        Err(e) if in_ci() => panic!("{test}: Chromium is required in CI: {e}"),
        Err(e) => {
            eprintln!("SKIPPED {test}: Chromium unavailable: {e}");
            None
        }
    }
}
