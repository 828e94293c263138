//! The CLI test kit: run the built binary in a directory, capture everything, filter what
//! varies between machines and runs (temp paths, versions, times) before snapshotting.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout parsed as JSON (panics with the output when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// A stable text form for snapshots: exit code, then filtered stdout and stderr.
    pub fn snapshot(&self, root: Option<&Path>) -> String {
        format!(
            "exit: {}\n----- stdout -----\n{}----- stderr -----\n{}",
            self.code,
            filter(&self.stdout, root),
            filter(&self.stderr, root)
        )
    }
}

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_shipgate"))
}

/// Run `shipgate ARGS` in `cwd` with a clean, predictable environment.
pub fn run_in(cwd: &Path, args: &[&str]) -> Run {
    run_with_env(cwd, args, &[])
}

/// Like [`run_in`], with extra environment variables.
pub fn run_with_env(cwd: &Path, args: &[&str], envs: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(bin());
    cmd.args(args).current_dir(cwd);
    for var in [
        "SHIPGATE_CONFIG",
        "SHIPGATE_FAIL_ON",
        "SHIPGATE_FORMAT",
        "COSIGN_PASSWORD",
        "DOCKER_CONFIG",
        "SHIPGATE_DATA_DIR",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("NO_COLOR", "1");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the shipgate binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Replace machine- and run-specific text with placeholders.
pub fn filter(text: &str, root: Option<&Path>) -> String {
    let mut s = text.to_string();
    if let Some(root) = root {
        let canon = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        for r in [canon, root.to_path_buf()] {
            s = s.replace(&r.display().to_string(), "[ROOT]");
        }
    }
    s = s.replace(env!("CARGO_PKG_VERSION"), "[VERSION]");
    DateFilter.replace_all(&s).into_owned()
}

/// Replaces RFC 3339 timestamps without pulling a regex crate into the test kit.
pub struct DateFilter;

impl DateFilter {
    fn replace_all<'a>(&self, s: &'a str) -> std::borrow::Cow<'a, str> {
        let b = s.as_bytes();
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        let mut changed = false;
        while i < b.len() {
            if i + 19 <= b.len() && is_timestamp(&b[i..i + 19]) {
                let mut j = i + 19;
                while j < b.len()
                    && (b[j].is_ascii_digit() || matches!(b[j], b'.' | b'Z' | b'+' | b':' | b'-'))
                {
                    j += 1;
                }
                out.push_str("[TIME]");
                i = j;
                changed = true;
            } else {
                let ch = s[i..].chars().next().expect("in bounds");
                out.push(ch);
                i += ch.len_utf8();
            }
        }
        if changed { out.into() } else { s.into() }
    }
}

fn is_timestamp(w: &[u8]) -> bool {
    // YYYY-MM-DDTHH:MM:SS
    let d = |i: usize| w[i].is_ascii_digit();
    d(0) && d(1)
        && d(2)
        && d(3)
        && w[4] == b'-'
        && d(5)
        && d(6)
        && w[7] == b'-'
        && d(8)
        && d(9)
        && (w[10] == b'T' || w[10] == b' ')
        && d(11)
        && d(12)
        && w[13] == b':'
        && d(14)
        && d(15)
        && w[16] == b':'
        && d(17)
        && d(18)
}
