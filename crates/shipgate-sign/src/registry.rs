//! Where cosign keeps signatures and attestations: an OCI image manifest tagged
//! `sha256-<hex>.sig` / `.att` in the image's repository, one layer per signature.

use std::str::FromStr;

use oci_client::client::Client;
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::manifest::{
    IMAGE_CONFIG_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_MEDIA_TYPE, OciDescriptor,
    OciImageManifest,
};
use oci_client::secrets::RegistryAuth;
use oci_client::{Reference, RegistryOperation};
use sha2::{Digest, Sha256};
use shipgate_image::RegistryOptions;
use shipgate_image::source::registry::{connect, registry_error};

use crate::error::{Error, Result};

/// Most layers a signature manifest may have (cosign's limit too).
pub(crate) const MAX_LAYERS: usize = 1000;
/// Largest signature or attestation blob read (an SBOM attestation can be large).
pub(crate) const MAX_BLOB_BYTES: i64 = 64 * 1024 * 1024;

/// An image in a registry, resolved to its manifest digest.
pub(crate) struct Target {
    pub reference: Reference,
    pub client: Client,
    pub auth: RegistryAuth,
    /// `sha256:<hex>` of the image manifest (or index).
    pub digest: String,
    /// The reference named a tag, not a digest.
    pub resolved_from_tag: bool,
}

/// `registry/repository` as cosign writes it in payloads and statement subjects.
pub(crate) fn docker_reference(reference: &Reference) -> String {
    let registry = match reference.registry() {
        "docker.io" => "index.docker.io",
        r => r,
    };
    format!("{registry}/{}", reference.repository())
}

pub(crate) fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn check_digest(input: &str, digest: &str) -> Result<()> {
    let ok = digest
        .strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(Error::Reference {
            reference: input.into(),
            message: format!("unsupported digest '{digest}' (only sha256 digests are signed)"),
        })
    }
}

impl Target {
    /// Parses `input`, connects, and resolves it to the manifest digest (checking that the
    /// manifest exists; for a digest reference, that the registry serves that digest).
    pub async fn open(input: &str, opts: &RegistryOptions) -> Result<Target> {
        let reference = Reference::from_str(input).map_err(|e| Error::Reference {
            reference: input.into(),
            message: format!("not a registry reference (host[:port]/repo:tag or @sha256:...): {e}"),
        })?;
        if let Some(d) = reference.digest() {
            check_digest(input, d)?;
        }
        let (client, auth) = connect(input, &reference, opts)?;
        let digest = client
            .fetch_manifest_digest(&reference, &auth)
            .await
            .map_err(|e| registry_error(input, e))?;
        check_digest(input, &digest)?;
        Ok(Target {
            resolved_from_tag: reference.digest().is_none(),
            reference,
            client,
            auth,
            digest,
        })
    }

    /// `registry/repository@sha256:...`.
    pub fn pinned(&self) -> String {
        format!("{}@{}", docker_reference(&self.reference), self.digest)
    }

    /// The reference of the `.sig` / `.att` manifest.
    pub fn artifact(&self, suffix: &str) -> Reference {
        let hex = self.digest.strip_prefix("sha256:").unwrap_or(&self.digest);
        Reference::with_tag(
            self.reference.registry().to_string(),
            self.reference.repository().to_string(),
            format!("sha256-{hex}.{suffix}"),
        )
    }

    /// The manifest at `r`, or `None` when the registry has none.
    pub async fn manifest(&self, r: &Reference) -> Result<Option<OciImageManifest>> {
        let accepted = [OCI_IMAGE_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE];
        match self
            .client
            .pull_manifest_raw(r, &self.auth, &accepted)
            .await
        {
            Ok((bytes, _)) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                Error::Registry(shipgate_image::Error::BadJson {
                    what: "signature manifest".into(),
                    location: r.whole(),
                    source: e,
                })
            }),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(registry_error(&r.whole(), e).into()),
        }
    }

    /// A layer's blob, bounded in size and checked against its digest.
    pub async fn blob(
        &self,
        r: &Reference,
        layer: &OciDescriptor,
    ) -> std::result::Result<Vec<u8>, String> {
        if layer.size < 0 || layer.size > MAX_BLOB_BYTES {
            return Err(format!(
                "blob size {} outside 0..={MAX_BLOB_BYTES}",
                layer.size
            ));
        }
        let mut out = Bounded {
            buf: Vec::new(),
            limit: usize::try_from(layer.size).unwrap_or(0),
        };
        self.client
            .pull_blob(r, layer.digest.as_str(), &mut out)
            .await
            .map_err(|e| format!("fetching blob {}: {e}", layer.digest))?;
        let actual = sha256(&out.buf);
        if actual != layer.digest {
            return Err(format!(
                "blob {} has digest {actual} (tampered)",
                layer.digest
            ));
        }
        Ok(out.buf)
    }

    /// Appends a layer (`blob` described by `layer`) to the manifest at `r`, creating it when
    /// there is none. Blobs go first, the manifest last, so the tag never points at a
    /// manifest with missing blobs. Returns the manifest digest and whether an identical
    /// layer was already there (then nothing is pushed).
    pub async fn append(
        &self,
        r: &Reference,
        blob: Vec<u8>,
        layer: OciDescriptor,
    ) -> Result<(String, bool)> {
        let err = |e| Error::from(registry_error(&r.whole(), e));
        self.client
            .auth(r, &self.auth, RegistryOperation::Push)
            .await
            .map_err(err)?;
        let mut manifest = match self.manifest(r).await? {
            Some(m) => m,
            None => OciImageManifest {
                schema_version: 2,
                media_type: Some(OCI_IMAGE_MEDIA_TYPE.to_string()),
                config: OciDescriptor {
                    media_type: IMAGE_CONFIG_MEDIA_TYPE.to_string(),
                    ..OciDescriptor::default()
                },
                layers: Vec::new(),
                subject: None,
                artifact_type: None,
                annotations: None,
            },
        };
        if manifest
            .layers
            .iter()
            .any(|l| l.digest == layer.digest && l.annotations == layer.annotations)
        {
            let (bytes, digest) = self
                .client
                .pull_manifest_raw(
                    r,
                    &self.auth,
                    &[OCI_IMAGE_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE],
                )
                .await
                .map_err(err)?;
            let digest = if digest.is_empty() {
                sha256(&bytes)
            } else {
                digest
            };
            return Ok((digest, true));
        }
        if manifest.layers.len() >= MAX_LAYERS {
            return Err(Error::Reference {
                reference: r.whole(),
                message: format!("already has {MAX_LAYERS} layers, the most cosign reads"),
            });
        }
        self.client
            .push_blob(r, blob, &layer.digest)
            .await
            .map_err(err)?;
        manifest.layers.push(layer);
        let config = config_json(&manifest.layers);
        let config_digest = sha256(&config);
        manifest.config.digest = config_digest.clone();
        manifest.config.size = i64::try_from(config.len()).unwrap_or(i64::MAX);
        if manifest.config.media_type.is_empty() {
            manifest.config.media_type = IMAGE_CONFIG_MEDIA_TYPE.to_string();
        }
        self.client
            .push_blob(r, config, &config_digest)
            .await
            .map_err(err)?;
        let content_type = manifest
            .media_type
            .clone()
            .unwrap_or_else(|| OCI_IMAGE_MEDIA_TYPE.to_string());
        let body = serde_json::to_vec(&manifest).expect("a manifest always serialises");
        let digest = sha256(&body);
        let header = content_type.parse().map_err(|_| Error::Reference {
            reference: r.whole(),
            message: format!("manifest media type '{content_type}' is not a valid header value"),
        })?;
        self.client
            .push_manifest_raw(r, body, header)
            .await
            .map_err(err)?;
        Ok((digest, false))
    }
}

/// The image config cosign (go-containerregistry) writes for a signature image: empty
/// platform, one history entry and one diff id per layer (the layers are uncompressed).
fn config_json(layers: &[OciDescriptor]) -> Vec<u8> {
    let diff_ids: Vec<&str> = layers.iter().map(|l| l.digest.as_str()).collect();
    let history: Vec<serde_json::Value> = layers
        .iter()
        .map(|_| serde_json::json!({"created": "0001-01-01T00:00:00Z"}))
        .collect();
    let config = serde_json::json!({
        "architecture": "",
        "created": "0001-01-01T00:00:00Z",
        "history": history,
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "config": {},
    });
    serde_json::to_vec(&config).expect("JSON of strings serialises")
}

fn is_not_found(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        OciDistributionError::ServerError { code, .. } => *code == 404,
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|e| {
            matches!(
                e.code,
                OciErrorCode::ManifestUnknown | OciErrorCode::NameUnknown
            )
        }),
        _ => false,
    }
}

/// A `Vec` that refuses to grow past `limit` bytes, so a registry cannot make a read use
/// more memory than the descriptor announced.
struct Bounded {
    buf: Vec<u8>,
    limit: usize,
}

impl tokio::io::AsyncWrite for Bounded {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        if self.buf.len() + data.len() > self.limit {
            return std::task::Poll::Ready(Err(std::io::Error::other(format!(
                "the registry sent more than the {} bytes the manifest announced",
                self.limit
            ))));
        }
        self.buf.extend_from_slice(data);
        std::task::Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}
