//! Downloading the per-ecosystem `all.zip` archives of the OSV export and
//! rebuilding the database from them.
//!
//! HTTP client: `ureq` 3 with rustls (aws-lc-rs provider, the workspace's
//! choice) and the Mozilla root store from `webpki-roots`; certificates are
//! always verified. ureq is blocking, small, and has no async runtime to
//! drag in for what is a handful of sequential downloads; reqwest's blocking
//! client would start a tokio runtime underneath.
//!
//! Expected flow: for each ecosystem, a conditional GET (`If-None-Match` /
//! `If-Modified-Since` from the validators stored in the current database)
//! of `<base>/<Ecosystem>/all.zip`; a 200 is streamed to
//! `<db dir>/osv-archives/<Ecosystem>.zip.part`, synced and renamed over the
//! cached archive; a 304 reuses the cached archive. Transport errors,
//! truncated bodies, 429 and 5xx are retried with exponential backoff. Then
//! the database is rebuilt from all archives and swapped in atomically.
//!
//! Guarantees: an interrupted or failed update never damages the existing
//! database (new files are written beside the old ones and renamed);
//! partial downloads are never used. Caveats: an ecosystem whose download
//! failed is rebuilt from its previously cached archive when there is one
//! (listed in [`UpdateReport::failed`] either way, so the CLI can exit 2).

use crate::db::{Database, ImportReport, SourceSpec, build_from};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The public OSV export.
pub const DEFAULT_MIRROR: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// Ecosystems downloaded when none are configured: the language ecosystems
/// shipgate reads lockfiles for, and the Linux distributions it reads
/// package databases of.
pub const DEFAULT_ECOSYSTEMS: &[&str] = &[
    "crates.io",
    "npm",
    "PyPI",
    "Go",
    "Maven",
    "NuGet",
    "RubyGems",
    "Packagist",
    "Pub",
    "Hex",
    "Hackage",
    "CRAN",
    "SwiftURL",
    "Debian",
    "Ubuntu",
    "Alpine",
    "Wolfi",
    "Chainguard",
    "AlmaLinux",
    "Rocky Linux",
    "Red Hat",
    "SUSE",
    "openSUSE",
];

/// Where archives come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateSource {
    /// A mirror of the OSV export: `<url>/<Ecosystem>/all.zip`.
    Url(String),
    /// A local copy with the same layout: `<dir>/<Ecosystem>/all.zip`.
    Dir(PathBuf),
}

impl UpdateSource {
    /// `--source` parsing: `http(s)://` is a mirror URL, anything else a folder.
    pub fn parse(s: &str) -> UpdateSource {
        if s.starts_with("https://") || s.starts_with("http://") {
            UpdateSource::Url(s.to_owned())
        } else {
            UpdateSource::Dir(PathBuf::from(s))
        }
    }
}

/// Update settings.
#[derive(Debug, Clone)]
pub struct UpdateOptions {
    /// Mirror or folder.
    pub source: UpdateSource,
    /// OSV ecosystem names (export folder names).
    pub ecosystems: Vec<String>,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Time allowed to receive the response headers.
    pub response_timeout: Duration,
    /// Time allowed to receive one whole archive.
    pub body_timeout: Duration,
    /// Attempts per archive (at least 1).
    pub attempts: u32,
    /// Delay before the second attempt; doubles each time.
    pub backoff: Duration,
}

impl Default for UpdateOptions {
    fn default() -> Self {
        UpdateOptions {
            source: UpdateSource::Url(DEFAULT_MIRROR.to_owned()),
            ecosystems: DEFAULT_ECOSYSTEMS.iter().map(|s| (*s).to_owned()).collect(),
            connect_timeout: Duration::from_secs(30),
            response_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(30 * 60),
            attempts: 4,
            backoff: Duration::from_secs(1),
        }
    }
}

/// What an update did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpdateReport {
    /// The rebuild.
    pub import: ImportReport,
    /// Ecosystems downloaded anew.
    pub downloaded: Vec<String>,
    /// Ecosystems whose archive had not changed (HTTP 304).
    pub not_modified: Vec<String>,
    /// Ecosystems that could not be fetched, with the reason.
    pub failed: Vec<(String, String)>,
}

/// Largest archive accepted.
const MAX_ARCHIVE_BYTES: u64 = 4 << 30;

fn archive_dir(db_path: &Path) -> PathBuf {
    db_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join("osv-archives")
}

fn file_stem_for(eco: &str) -> String {
    eco.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn url_for(base: &str, eco: &str) -> String {
    let mut enc = String::new();
    for b in eco.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            enc.push(char::from(b));
        } else {
            enc.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{}/{enc}/all.zip", base.trim_end_matches('/'))
}

fn agent(opts: &UpdateOptions) -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .timeout_connect(Some(opts.connect_timeout))
        .timeout_recv_response(Some(opts.response_timeout))
        .timeout_recv_body(Some(opts.body_timeout))
        .user_agent(concat!("shipgate/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

enum Fetched {
    New {
        etag: Option<String>,
        last_modified: Option<String>,
    },
    NotModified,
}

enum Attempt {
    Done(Fetched),
    Retry(String),
    Fatal(String),
}

fn fetch_once(
    agent: &ureq::Agent,
    url: &str,
    validators: Option<(&Option<String>, &Option<String>)>,
    dest: &Path,
) -> Attempt {
    let mut req = agent.get(url);
    if let Some((etag, lm)) = validators {
        if let Some(e) = etag {
            req = req.header("If-None-Match", e.as_str());
        }
        if let Some(l) = lm {
            req = req.header("If-Modified-Since", l.as_str());
        }
    }
    let resp = match req.call() {
        Ok(r) => r,
        Err(e) => return Attempt::Retry(e.to_string()),
    };
    let status = resp.status().as_u16();
    if status == 304 {
        return if validators.is_some() {
            Attempt::Done(Fetched::NotModified)
        } else {
            Attempt::Retry("unexpected 304 Not Modified".into())
        };
    }
    if status == 429 || status >= 500 {
        return Attempt::Retry(format!("HTTP {status}"));
    }
    if status == 404 {
        return Attempt::Fatal("HTTP 404: no such archive (check the ecosystem name against the OSV export's folder names)".into());
    }
    if status != 200 {
        return Attempt::Fatal(format!("HTTP {status}"));
    }
    let header = |n: &str| {
        resp.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (etag, last_modified) = (header("etag"), header("last-modified"));
    let part = dest.with_extension("zip.part");
    let result = (|| -> std::io::Result<()> {
        let mut out = std::fs::File::create(&part)?;
        let mut body = resp
            .into_body()
            .into_with_config()
            .limit(MAX_ARCHIVE_BYTES)
            .reader();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = body.read(&mut buf)?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n])?;
        }
        out.sync_all()?;
        std::fs::rename(&part, dest)
    })();
    match result {
        Ok(()) => Attempt::Done(Fetched::New {
            etag,
            last_modified,
        }),
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            Attempt::Retry(format!("download interrupted: {e}"))
        }
    }
}

/// Downloads the configured archives and rebuilds the database at
/// `db_path`. See the module docs for the flow and guarantees.
///
/// Errors: when no archive at all is available (every download failed and
/// nothing is cached), [`Error::Download`] names the first failure and the
/// existing database is untouched.
pub fn update(db_path: &Path, opts: &UpdateOptions) -> Result<UpdateReport> {
    let previous = Database::open(db_path)
        .ok()
        .map(|db| db.metadata().sources.clone())
        .unwrap_or_default();
    let mut specs: Vec<SourceSpec> = Vec::new();
    let (mut downloaded, mut not_modified, mut failed) = (Vec::new(), Vec::new(), Vec::new());
    match &opts.source {
        UpdateSource::Dir(dir) => {
            for eco in &opts.ecosystems {
                let path = dir.join(eco).join("all.zip");
                if path.is_file() {
                    specs.push((
                        path.display().to_string(),
                        Some(eco.clone()),
                        path,
                        None,
                        None,
                        None,
                    ));
                    downloaded.push(eco.clone());
                } else {
                    failed.push((eco.clone(), format!("{} does not exist", path.display())));
                }
            }
        }
        UpdateSource::Url(base) => {
            let dir = archive_dir(db_path);
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::io("cannot create folder", &dir, e))?;
            let agent = agent(opts);
            for eco in &opts.ecosystems {
                let url = url_for(base, eco);
                let dest = dir.join(format!("{}.zip", file_stem_for(eco)));
                let prev = previous
                    .iter()
                    .find(|s| s.ecosystem.as_deref() == Some(eco) && s.location == url);
                let validators = prev
                    .filter(|_| dest.is_file())
                    .map(|p| (&p.etag, &p.last_modified));
                let mut delay = opts.backoff;
                let mut outcome = Err(String::from("no attempt made"));
                for attempt in 0..opts.attempts.max(1) {
                    if attempt > 0 {
                        std::thread::sleep(delay);
                        delay = delay.saturating_mul(2);
                    }
                    match fetch_once(&agent, &url, validators, &dest) {
                        Attempt::Done(f) => {
                            outcome = Ok(f);
                            break;
                        }
                        Attempt::Retry(why) => outcome = Err(why),
                        Attempt::Fatal(why) => {
                            outcome = Err(why);
                            break;
                        }
                    }
                }
                let now = Some(jiff::Timestamp::now());
                match outcome {
                    Ok(Fetched::New {
                        etag,
                        last_modified,
                    }) => {
                        downloaded.push(eco.clone());
                        specs.push((url, Some(eco.clone()), dest, etag, last_modified, now));
                    }
                    Ok(Fetched::NotModified) => {
                        not_modified.push(eco.clone());
                        let p = prev.cloned();
                        specs.push((
                            url,
                            Some(eco.clone()),
                            dest,
                            p.as_ref().and_then(|p| p.etag.clone()),
                            p.as_ref().and_then(|p| p.last_modified.clone()),
                            p.and_then(|p| p.fetched_at),
                        ));
                    }
                    Err(why) => {
                        failed.push((eco.clone(), format!("{url}: {why}")));
                        if dest.is_file() {
                            let p = prev.cloned();
                            specs.push((
                                url,
                                Some(eco.clone()),
                                dest,
                                p.as_ref().and_then(|p| p.etag.clone()),
                                p.as_ref().and_then(|p| p.last_modified.clone()),
                                p.and_then(|p| p.fetched_at),
                            ));
                        }
                    }
                }
            }
        }
    }
    if specs.is_empty() {
        let (eco, reason) = failed
            .first()
            .cloned()
            .unwrap_or_else(|| ("(none)".into(), "no ecosystems configured".into()));
        return Err(Error::Download { url: eco, reason });
    }
    let import = build_from(db_path, specs)?;
    Ok(UpdateReport {
        import,
        downloaded,
        not_modified,
        failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_encoded() {
        assert_eq!(
            url_for("https://x/", "Rocky Linux"),
            "https://x/Rocky%20Linux/all.zip"
        );
        assert_eq!(
            url_for("https://x", "crates.io"),
            "https://x/crates.io/all.zip"
        );
        assert_eq!(file_stem_for("Red Hat"), "Red_Hat");
        assert_eq!(
            UpdateSource::parse("/tmp/m"),
            UpdateSource::Dir("/tmp/m".into())
        );
    }
}
