//! Git pre-commit hook installation (`shipgate hook install`) and the marker that makes
//! re-installation idempotent. Running the hook is [`crate::scan_staged`] + the report gate,
//! which the binary does for `shipgate hook run pre-commit`.

use std::path::{Path, PathBuf};

use crate::Error;

/// A line every hook written by shipgate contains.
pub const HOOK_MARKER: &str = "# shipgate-managed pre-commit hook";
/// Suffix under which a pre-existing hook is kept and chained.
pub const CHAINED_SUFFIX: &str = ".pre-shipgate";

/// What [`install`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookInstall {
    /// A new hook was written.
    Installed(PathBuf),
    /// An existing hook was moved to `<hook>.pre-shipgate` and is run first by the new hook.
    Chained {
        /// The new hook.
        hook: PathBuf,
        /// Where the previous hook now lives.
        previous: PathBuf,
    },
    /// A shipgate hook was already installed; nothing changed.
    AlreadyInstalled(PathBuf),
}

/// The hook script. `command` is how to invoke shipgate (`shipgate`, or an absolute path).
pub fn hook_script(command: &str) -> String {
    format!(
        "#!/bin/sh\n{HOOK_MARKER}\n# Installed by `shipgate hook install`. A hook that existed before was kept as\n# pre-commit{CHAINED_SUFFIX} and runs first.\nprev=\"$(dirname \"$0\")/pre-commit{CHAINED_SUFFIX}\"\nif [ -x \"$prev\" ]; then\n  \"$prev\" \"$@\" || exit $?\nfi\nexec {command} hook run pre-commit\n"
    )
}

fn hooks_dir(repo: &Path) -> Result<PathBuf, Error> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["rev-parse", "--git-path", "hooks"])
        .output()
        .map_err(|source| Error::GitSpawn { source })?;
    if !out.status.success() {
        return Err(Error::Git {
            repo: repo.to_path_buf(),
            command: "rev-parse --git-path hooks".into(),
            message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    let rel = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    Ok(if rel.is_absolute() {
        rel
    } else {
        repo.join(rel)
    })
}

/// Install the pre-commit hook into the repository at `repo` (honours `core.hooksPath`).
/// An existing foreign hook is kept as `pre-commit.pre-shipgate` and chained.
pub fn install(repo: &Path, command: &str) -> Result<HookInstall, Error> {
    let dir = hooks_dir(repo)?;
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let hook = dir.join("pre-commit");
    let mut previous = None;
    match std::fs::read(&hook) {
        Ok(existing) => {
            if String::from_utf8_lossy(&existing).contains(HOOK_MARKER) {
                return Ok(HookInstall::AlreadyInstalled(hook));
            }
            let kept = dir.join(format!("pre-commit{CHAINED_SUFFIX}"));
            if kept.exists() {
                return Err(Error::io(
                    &kept,
                    std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        "a chained hook already exists here; merge it into pre-commit by hand and retry",
                    ),
                ));
            }
            std::fs::rename(&hook, &kept).map_err(|e| Error::io(&hook, e))?;
            previous = Some(kept);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(&hook, e)),
    }
    std::fs::write(&hook, hook_script(command)).map_err(|e| Error::io(&hook, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io(&hook, e))?;
    }
    Ok(match previous {
        Some(previous) => HookInstall::Chained { hook, previous },
        None => HookInstall::Installed(hook),
    })
}
