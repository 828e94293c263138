//! Every environment variable shipgate reads, in one place.

/// Path of the configuration file (same as `--config`).
pub const SHIPGATE_CONFIG: &str = "SHIPGATE_CONFIG";
/// Gate threshold (same as `--fail-on`).
pub const SHIPGATE_FAIL_ON: &str = "SHIPGATE_FAIL_ON";
/// Output format (same as `--format`).
pub const SHIPGATE_FORMAT: &str = "SHIPGATE_FORMAT";
/// Where caches and the vulnerability database live (default: the platform cache dir + `/shipgate`).
pub const SHIPGATE_CACHE_DIR: &str = "SHIPGATE_CACHE_DIR";
/// Where the store database lives (default: the platform data dir + `/shipgate`).
pub const SHIPGATE_DATA_DIR: &str = "SHIPGATE_DATA_DIR";
/// The store database (same as `--database`): a SQLite path, `sqlite:PATH`, or a
/// `postgres://` URL. Default: `shipgate.db` in the data directory.
pub const SHIPGATE_DATABASE: &str = "SHIPGATE_DATABASE";
/// Step isolation for `shipgate pipeline run` (`bubblewrap` or `none`).
pub const SHIPGATE_SANDBOX: &str = "SHIPGATE_SANDBOX";
/// Credentials file for `shipgate promote` (same as `--credentials`).
pub const SHIPGATE_GIT_CREDENTIALS: &str = "SHIPGATE_GIT_CREDENTIALS";
/// Audit log for `shipgate runtime watch` (same as `--audit-log`).
pub const SHIPGATE_AUDIT_LOG: &str = "SHIPGATE_AUDIT_LOG";
/// Any value disables colours (<https://no-color.org>).
pub const NO_COLOR: &str = "NO_COLOR";

/// The cache directory: `$SHIPGATE_CACHE_DIR`, else `$XDG_CACHE_HOME/shipgate`, else
/// `$HOME/.cache/shipgate` (`$HOME/Library/Caches/shipgate` on macOS).
pub fn cache_dir() -> std::path::PathBuf {
    use std::path::PathBuf;
    if let Some(d) = std::env::var_os(SHIPGATE_CACHE_DIR).filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("shipgate");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    if cfg!(target_os = "macos") {
        home.join("Library/Caches/shipgate")
    } else {
        home.join(".cache/shipgate")
    }
}

/// The data directory (the store database): `$SHIPGATE_DATA_DIR`, else
/// `$XDG_DATA_HOME/shipgate`, else `$HOME/.local/share/shipgate` (`$HOME/Library/Application
/// Support/shipgate` on macOS).
pub fn data_dir() -> std::path::PathBuf {
    use std::path::PathBuf;
    if let Some(d) = std::env::var_os(SHIPGATE_DATA_DIR).filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("shipgate");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    if cfg!(target_os = "macos") {
        home.join("Library/Application Support/shipgate")
    } else {
        home.join(".local/share/shipgate")
    }
}

/// Password of the private key for `key generate`, `sign` and `attest` (cosign's variable;
/// may be empty). `--password-file` takes precedence.
pub const COSIGN_PASSWORD: &str = "COSIGN_PASSWORD";
