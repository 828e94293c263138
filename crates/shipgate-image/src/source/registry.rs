//! Registry references pulled with `oci-client`: credentials from the docker
//! `config.json`, plain HTTP only for loopback registries, and only the layers
//! missing from the layer cache are downloaded (into a private temporary
//! directory under the cache dir, deleted after the scan).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use base64::Engine;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use crate::error::{Error, Result};
use crate::source::local::{LayoutDir, Resolved, blob_name, plan_from_manifest};
use crate::source::oci::{self, Document, Platform};

/// How to talk to registries.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Allow plain HTTP, for loopback registries only (`--insecure-registry`).
    pub insecure_loopback: bool,
    /// The docker `config.json` to read credentials from; `None` means
    /// `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
    pub docker_config: Option<PathBuf>,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Read timeout: a registry that sends nothing for this long fails the scan.
    pub read_timeout: Duration,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            insecure_loopback: false,
            docker_config: None,
            connect_timeout: Duration::from_secs(15),
            read_timeout: Duration::from_secs(60),
        }
    }
}

/// True when `s` looks like a registry reference rather than a path.
pub(crate) fn parse_reference(s: &str) -> Option<Reference> {
    if s.is_empty() || s.starts_with('.') || s.starts_with('/') || s.contains('\\') {
        return None;
    }
    Reference::from_str(s).ok()
}

fn is_loopback(registry: &str) -> bool {
    let host = if let Some(rest) = registry.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        registry
            .rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or(registry)
    };
    host == "localhost" || IpAddr::from_str(host).is_ok_and(|ip| ip.is_loopback())
}

/// Reads credentials for `registry` from a docker config.json. Credential
/// helpers (`credsStore`, `credHelpers`) are not run.
pub(crate) fn docker_auth(
    config: Option<&Path>,
    registry: &str,
) -> Result<(RegistryAuth, Option<String>)> {
    let path = match config {
        Some(p) => p.to_path_buf(),
        None => match std::env::var_os("DOCKER_CONFIG") {
            Some(dir) => PathBuf::from(dir).join("config.json"),
            None => match std::env::var_os("HOME") {
                Some(home) => PathBuf::from(home).join(".docker").join("config.json"),
                None => return Ok((RegistryAuth::Anonymous, None)),
            },
        },
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && config.is_none() => {
            return Ok((RegistryAuth::Anonymous, None));
        }
        Err(e) => return Err(Error::io(&path, e)),
    };
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|source| Error::BadJson {
            what: "docker config".into(),
            location: path.display().to_string(),
            source,
        })?;
    let Some(auths) = value.get("auths").and_then(|a| a.as_object()) else {
        return Ok((RegistryAuth::Anonymous, None));
    };
    let wanted: Vec<String> = if registry == "index.docker.io" || registry == "docker.io" {
        vec![
            "https://index.docker.io/v1/".into(),
            "index.docker.io".into(),
            "docker.io".into(),
        ]
    } else {
        vec![
            registry.to_string(),
            format!("https://{registry}"),
            format!("http://{registry}"),
        ]
    };
    for (key, entry) in auths {
        let key_trimmed = key.trim_end_matches('/');
        if !wanted
            .iter()
            .any(|w| w.trim_end_matches('/') == key_trimmed)
        {
            continue;
        }
        if let Some(auth) = entry.get("auth").and_then(|a| a.as_str()) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .map_err(|e| {
                    Error::format(
                        path.display().to_string(),
                        format!("auths.{key}.auth is not base64: {e}"),
                    )
                })?;
            let decoded = String::from_utf8_lossy(&decoded).into_owned();
            if let Some((user, pass)) = decoded.split_once(':') {
                return Ok((
                    RegistryAuth::Basic(user.into(), pass.into()),
                    Some(path.display().to_string()),
                ));
            }
        }
        if let (Some(u), Some(p)) = (
            entry.get("username").and_then(|v| v.as_str()),
            entry.get("password").and_then(|v| v.as_str()),
        ) {
            return Ok((
                RegistryAuth::Basic(u.into(), p.into()),
                Some(path.display().to_string()),
            ));
        }
        if let Some(token) = entry.get("registrytoken").and_then(|v| v.as_str()) {
            return Ok((
                RegistryAuth::Bearer(token.into()),
                Some(path.display().to_string()),
            ));
        }
    }
    Ok((RegistryAuth::Anonymous, None))
}

/// A client and credentials for `reference`'s registry, as `opts` allow: TLS
/// verified unless `insecure_loopback` and the registry is on loopback;
/// credentials from the docker `config.json`. Shared by every command that
/// talks to registries (scan, sign, verify, pipeline push). `input` names the
/// reference in errors.
pub fn connect(
    input: &str,
    reference: &Reference,
    opts: &RegistryOptions,
) -> Result<(Client, RegistryAuth)> {
    let registry = reference.resolve_registry().to_string();
    let protocol = if opts.insecure_loopback {
        if !is_loopback(&registry) {
            return Err(Error::Registry {
                reference: input.into(),
                message: format!(
                    "--insecure-registry only applies to loopback registries (localhost, 127.0.0.0/8, ::1); {registry} must be reached over TLS"
                ),
                source: None,
            });
        }
        ClientProtocol::HttpsExcept(vec![registry.clone(), reference.registry().to_string()])
    } else {
        ClientProtocol::Https
    };
    let (auth, _auth_file) = docker_auth(opts.docker_config.as_deref(), reference.registry())?;
    let client = Client::new(ClientConfig {
        protocol,
        platform_resolver: None,
        connect_timeout: Some(opts.connect_timeout),
        read_timeout: Some(opts.read_timeout),
        ..Default::default()
    });
    Ok((client, auth))
}

/// Turns an `oci-client` error into this crate's registry error with a hint
/// (authentication, not found, HTTP status, timeout, connection).
pub fn registry_error(reference: &str, e: OciDistributionError) -> Error {
    let hint = match &e {
        OciDistributionError::AuthenticationFailure(_) | OciDistributionError::UnauthorizedError { .. } => {
            "authentication required or refused; log in with `docker login` (credentials are read from the docker config.json)"
                .to_string()
        }
        OciDistributionError::ImageManifestNotFoundError(_) => "image not found; check the repository and tag".into(),
        OciDistributionError::ServerError { code, .. } => format!("the registry answered HTTP {code}"),
        OciDistributionError::RequestError(re) if re.is_timeout() => {
            "the registry did not answer in time (stalled connection)".into()
        }
        OciDistributionError::RequestError(re) if re.is_connect() => "cannot connect to the registry".into(),
        _ => "request failed".into(),
    };
    Error::Registry {
        reference: reference.into(),
        message: format!("{hint}: {e}"),
        source: Some(Box::new(e)),
    }
}

/// A registry image: resolved to layers, with a blob store for what was downloaded.
pub(crate) struct RegistryImage {
    pub resolved: Resolved,
    pub store: LayoutDir,
    pub _tmp: tempfile::TempDir,
}

const ACCEPTED: &[&str] = &[
    oci::MT_OCI_INDEX,
    oci::MT_OCI_MANIFEST,
    oci::MT_DOCKER_LIST,
    oci::MT_DOCKER_MANIFEST,
];

/// Pulls the manifest (choosing the platform), the config, and every layer
/// for which `need_layer(digest)` is true, into a temporary layout under `work_dir`.
pub(crate) fn pull(
    input: &str,
    reference: &Reference,
    platform: &Platform,
    opts: &RegistryOptions,
    work_dir: &Path,
    need_layer: &dyn Fn(&str) -> bool,
) -> Result<RegistryImage> {
    let (client, auth) = connect(input, reference, opts)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io(work_dir, e))?;
    std::fs::create_dir_all(work_dir).map_err(|e| Error::io(work_dir, e))?;
    let tmp = tempfile::Builder::new()
        .prefix("pull-")
        .tempdir_in(work_dir)
        .map_err(|e| Error::io(work_dir, e))?;
    let store = LayoutDir {
        root: tmp.path().to_path_buf(),
    };
    std::fs::create_dir_all(tmp.path().join("blobs/sha256"))
        .map_err(|e| Error::io(tmp.path(), e))?;

    let err = |e| registry_error(input, e);
    let (bytes, digest) = rt
        .block_on(client.pull_manifest_raw(reference, &auth, ACCEPTED))
        .map_err(err)?;
    let actual = oci::sha256_digest(&bytes);
    if let Some(want) = reference.digest()
        && want != actual
    {
        return Err(Error::DigestMismatch {
            location: input.into(),
            expected: want.into(),
            actual,
        });
    }
    let top_digest = if digest.is_empty() { actual } else { digest };
    let by_digest = |d: &str| {
        Reference::with_digest(
            reference.registry().to_string(),
            reference.repository().to_string(),
            d.to_string(),
        )
    };
    let chosen = match oci::parse_document(&bytes, input)? {
        Document::Manifest(manifest) => oci::Chosen {
            digest: top_digest,
            manifest,
            platform: None,
            notes: vec![],
        },
        Document::Index(index) => {
            let mut fetch = |d: &oci::Descriptor| -> Result<Vec<u8>> {
                oci::check_digest(&d.digest, input)?;
                let (b, _) = rt
                    .block_on(client.pull_manifest_raw(&by_digest(&d.digest), &auth, ACCEPTED))
                    .map_err(err)?;
                let actual = oci::sha256_digest(&b);
                if actual != d.digest {
                    return Err(Error::DigestMismatch {
                        location: format!("{input}@{}", d.digest),
                        expected: d.digest.clone(),
                        actual,
                    });
                }
                Ok(b.to_vec())
            };
            oci::choose_manifest(&index, input, platform, &mut fetch, 0)?
        }
    };
    // Config and the needed layers, written under blobs/sha256/.
    let mut wanted = vec![chosen.manifest.config.digest.clone()];
    for l in &chosen.manifest.layers {
        oci::check_digest(&l.digest, input)?;
        if need_layer(&l.digest) {
            wanted.push(l.digest.clone());
        }
    }
    for d in wanted {
        oci::check_digest(&d, input)?;
        let path = tmp.path().join(blob_name(&d));
        rt.block_on(async {
            let file = tokio::fs::File::create(&path)
                .await
                .map_err(|e| Error::io(&path, e))?;
            let mut writer = tokio::io::BufWriter::new(file);
            client
                .pull_blob(reference, d.as_str(), &mut writer)
                .await
                .map_err(err)?;
            tokio::io::AsyncWriteExt::flush(&mut writer)
                .await
                .map_err(|e| Error::io(&path, e))?;
            Ok::<(), Error>(())
        })?;
    }
    let resolved = plan_from_manifest(&store, chosen)?;
    Ok(RegistryImage {
        resolved,
        store,
        _tmp: tmp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_detection() {
        assert!(is_loopback("127.0.0.1:5000"));
        assert!(is_loopback("localhost:5000"));
        assert!(is_loopback("[::1]:5000"));
        assert!(!is_loopback("10.0.0.1:5000"));
        assert!(!is_loopback("registry.example.com"));
    }

    #[test]
    fn references() {
        assert!(parse_reference("127.0.0.1:5000/app:1").is_some());
        assert!(parse_reference("./dir").is_none());
        assert!(parse_reference("/abs/path").is_none());
    }

    #[test]
    fn docker_config_auth() {
        let dir = tempfile::tempdir().expect("tmp");
        let cfg = dir.path().join("config.json");
        std::fs::write(
            &cfg,
            r#"{"auths":{"127.0.0.1:5000":{"auth":"dXNlcjpwYXNz"}}}"#,
        )
        .expect("write");
        let (auth, _) = docker_auth(Some(&cfg), "127.0.0.1:5000").expect("ok");
        assert!(matches!(auth, RegistryAuth::Basic(u, p) if u == "user" && p == "pass"));
        let (auth, _) = docker_auth(Some(&cfg), "other:1").expect("ok");
        assert!(matches!(auth, RegistryAuth::Anonymous));
        std::fs::write(&cfg, "{").expect("write");
        assert!(docker_auth(Some(&cfg), "x").is_err());
    }
}
