//! Connecting to PostgreSQL: URL checks, password redaction, TLS.
//!
//! URLs are libpq's `postgres://[user[:password]@][host][:port][/dbname][?param=value&...]`
//! (also `postgresql://`); a Unix socket directory goes in `host=` (`?host=/run/postgresql`).
//!
//! TLS (rustls, aws-lc-rs) always verifies the server certificate and its name, against the
//! webpki roots or, with `sslrootcert=FILE`, against the PEM certificates of that file only:
//! * `sslmode=require`, `verify-ca`, `verify-full`: TLS required, verified (stricter than
//!   libpq's `require`, which does not verify);
//! * `sslmode=disable`: no TLS (meant for Unix sockets and loopback);
//! * no `sslmode` (or `prefer`): no TLS for a Unix socket or a loopback address (the traffic
//!   never leaves the machine), TLS required and verified for any other host — never a silent
//!   fall-back to plain text over the network.
//!
//! The password never appears in errors: [`redact`] replaces it in every message.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use postgres::config::{Host, SslMode};

use crate::db::{Db, Pg};
use crate::error::StoreError;

/// How long to wait for a server to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// True for the URL forms [`crate::Store::connect`] sends to PostgreSQL.
pub(crate) fn is_postgres_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

/// `url` with the password (in the user info and in a `password=` parameter) replaced by
/// `***`.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some(p) => p,
        None => return url.to_owned(),
    };
    let (authority_end, _) = rest
        .char_indices()
        .find(|(_, c)| matches!(c, '/' | '?'))
        .unwrap_or((rest.len(), ' '));
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let q: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some(("password", _)) => "password=***".to_owned(),
                    _ => kv.to_owned(),
                })
                .collect();
            format!("{path}?{}", q.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Open a connection to the database at `url`.
pub(crate) fn connect(url: &str) -> Result<Db, StoreError> {
    let name = redact(url);
    let url_err = |message: String| StoreError::Url {
        database: name.clone(),
        message,
    };
    // Parameters the client library does not know are taken out and handled here.
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut kept = Vec::new();
    let mut extra: HashMap<&str, String> = HashMap::new();
    for kv in query.split('&').filter(|kv| !kv.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        match k {
            "sslmode" | "sslrootcert" => {
                extra.insert(k, percent_decode(v));
            }
            _ => kept.push(kv),
        }
    }
    let rebuilt = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let mut config: postgres::Config = rebuilt.parse().map_err(|e: postgres::Error| {
        // The parser's messages name the option, never its value.
        url_err(format!("not a usable PostgreSQL URL: {e}"))
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    let tls = tls_required(&config, extra.get("sslmode").map(String::as_str)).map_err(&url_err)?;
    let client = if tls {
        config.ssl_mode(SslMode::Require);
        let tls = tls_connector(extra.get("sslrootcert").map(String::as_str), &url_err)?;
        config.connect(tls)
    } else {
        config.ssl_mode(SslMode::Disable);
        config.connect(postgres::NoTls)
    }
    .map_err(|source| StoreError::Connect {
        database: name.clone(),
        source,
    })?;
    let mut db = Db::Postgres(Pg {
        client,
        statements: HashMap::new(),
        name,
    });
    // Writers wait for each other's transactions up to this long, as SQLite's busy timeout.
    db.batch("setting lock_timeout", "SET lock_timeout = '30s'")?;
    Ok(db)
}

/// Whether to use TLS for `config` with the URL's `sslmode` (see the module docs).
fn tls_required(config: &postgres::Config, sslmode: Option<&str>) -> Result<bool, String> {
    let local = config.get_hosts().iter().all(|h| match h {
        Host::Unix(_) => true,
        Host::Tcp(h) => h == "localhost" || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()),
    }) && config.get_hostaddrs().iter().all(IpAddr::is_loopback);
    match sslmode {
        Some("disable") => Ok(false),
        Some("require" | "verify-ca" | "verify-full") => Ok(true),
        None | Some("prefer" | "allow") => Ok(!local),
        Some(other) => Err(format!(
            "sslmode={other} is not supported (use disable, require, verify-ca or verify-full)"
        )),
    }
}

fn tls_connector(
    root_file: Option<&str>,
    url_err: &dyn Fn(String) -> StoreError,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, StoreError> {
    let mut roots = rustls::RootCertStore::empty();
    match root_file {
        Some(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| url_err(format!("sslrootcert {path}: cannot read: {e}")))?;
            use rustls::pki_types::pem::PemObject as _;
            let mut n = 0;
            for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
                let cert =
                    cert.map_err(|e| url_err(format!("sslrootcert {path}: not PEM: {e}")))?;
                roots
                    .add(cert)
                    .map_err(|e| url_err(format!("sslrootcert {path}: {e}")))?;
                n += 1;
            }
            if n == 0 {
                return Err(url_err(format!("sslrootcert {path}: no certificate in it")));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| url_err(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://app:s3cr%2Ft@db.example:5432/ship?sslmode=require"),
            "postgres://app:***@db.example:5432/ship?sslmode=require"
        );
        assert_eq!(
            redact("postgresql://app@h/db?password=x&host=/tmp"),
            "postgresql://app@h/db?password=***&host=/tmp"
        );
        assert_eq!(redact("postgres://h"), "postgres://h");
    }

    #[test]
    fn unsupported_modes_and_bad_urls_are_refused_without_the_password() {
        for (url, want) in [
            (
                "postgres://u:pw@127.0.0.1/db?sslmode=bogus",
                "sslmode=bogus is not supported",
            ),
            (
                "postgres://u:pw@127.0.0.1/db?nonsense=1",
                "not a usable PostgreSQL URL",
            ),
            (
                "postgres://u:pw@db.example/db?sslrootcert=/nonexistent/ca.pem",
                "sslrootcert /nonexistent/ca.pem: cannot read",
            ),
        ] {
            let e = connect(url)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains(want), "{url}: {e}");
            assert!(!e.contains("pw"), "{e}");
        }
    }

    #[test]
    fn remote_hosts_get_tls_unless_disabled() {
        let cfg = |u: &str| u.parse::<postgres::Config>().unwrap();
        let remote = cfg("postgres://u@db.example/db");
        assert_eq!(tls_required(&remote, None), Ok(true));
        assert_eq!(tls_required(&remote, Some("prefer")), Ok(true));
        assert_eq!(tls_required(&remote, Some("disable")), Ok(false));
        for local in [
            "postgres://u@127.0.0.1/db",
            "postgres://u@localhost/db",
            "postgres://u@[::1]/db",
            "postgres://u@/db?host=/run/postgresql",
        ] {
            assert_eq!(tls_required(&cfg(local), None), Ok(false), "{local}");
            assert_eq!(
                tls_required(&cfg(local), Some("require")),
                Ok(true),
                "{local}"
            );
        }
        // A loopback name with a remote hostaddr is remote.
        let mixed = cfg("postgres://u@localhost/db?hostaddr=192.0.2.1");
        assert_eq!(tls_required(&mixed, None), Ok(true));
        assert!(tls_required(&remote, Some("verify-bogus")).is_err());
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("%2Ftmp%2Fca.pem"), "/tmp/ca.pem");
        assert_eq!(percent_decode("a%2"), "a%2");
    }
}
