//! Test helpers (feature `test-support`): push a tiny image to a registry.

use std::str::FromStr;

use oci_client::manifest::{
    IMAGE_CONFIG_MEDIA_TYPE, IMAGE_LAYER_MEDIA_TYPE, OCI_IMAGE_MEDIA_TYPE, OciDescriptor,
    OciImageManifest,
};
use oci_client::{Reference, RegistryOperation};
use shipgate_image::RegistryOptions;
use shipgate_image::source::registry::{connect, registry_error};

use crate::error::{Error, Result};
use crate::registry::sha256;

/// Pushes a one-layer image whose only file holds `content` to `reference` (a tag) and
/// returns its manifest digest. Different contents give different digests.
pub fn push_test_image(reference: &str, content: &str, opts: &RegistryOptions) -> Result<String> {
    let r = Reference::from_str(reference).map_err(|e| Error::Reference {
        reference: reference.into(),
        message: e.to_string(),
    })?;
    let (client, auth) = connect(reference, &r, opts)?;
    // A plain tar with one regular file, written by hand (512-byte header, data, two zero blocks).
    let data = content.as_bytes();
    let mut header = [0u8; 512];
    header[..9].copy_from_slice(b"hello.txt");
    header[100..107].copy_from_slice(b"0000644");
    header[108..115].copy_from_slice(b"0000000");
    header[116..123].copy_from_slice(b"0000000");
    header[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
    header[136..147].copy_from_slice(b"00000000000");
    header[156] = b'0';
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    header[148..156].copy_from_slice(b"        ");
    let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
    header[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    let mut layer = header.to_vec();
    layer.extend_from_slice(data);
    layer.resize(layer.len().div_ceil(512) * 512 + 1024, 0);
    let layer_digest = sha256(&layer);
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        "config": {},
    }))
    .expect("json");
    let config_digest = sha256(&config);
    let manifest = OciImageManifest {
        schema_version: 2,
        media_type: Some(OCI_IMAGE_MEDIA_TYPE.into()),
        config: OciDescriptor {
            media_type: IMAGE_CONFIG_MEDIA_TYPE.into(),
            digest: config_digest.clone(),
            size: i64::try_from(config.len()).unwrap_or(0),
            ..OciDescriptor::default()
        },
        layers: vec![OciDescriptor {
            media_type: IMAGE_LAYER_MEDIA_TYPE.into(),
            digest: layer_digest.clone(),
            size: i64::try_from(layer.len()).unwrap_or(0),
            ..OciDescriptor::default()
        }],
        subject: None,
        artifact_type: None,
        annotations: None,
    };
    let body = serde_json::to_vec(&manifest).expect("json");
    let digest = sha256(&body);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?;
    rt.block_on(async {
        let err = |e| Error::from(registry_error(reference, e));
        client
            .auth(&r, &auth, RegistryOperation::Push)
            .await
            .map_err(err)?;
        client
            .push_blob(&r, layer, &layer_digest)
            .await
            .map_err(err)?;
        client
            .push_blob(&r, config, &config_digest)
            .await
            .map_err(err)?;
        client
            .push_manifest_raw(
                &r,
                body,
                OCI_IMAGE_MEDIA_TYPE.parse().expect("header value"),
            )
            .await
            .map_err(err)?;
        Ok::<(), Error>(())
    })?;
    Ok(digest)
}

/// Raw access to one repository, for tests that tamper with what is stored.
pub struct Raw {
    client: oci_client::Client,
    auth: oci_client::secrets::RegistryAuth,
    registry: String,
    repository: String,
    rt: tokio::runtime::Runtime,
}

impl Raw {
    /// Connects to the repository of `image` (any reference in it).
    pub fn new(image: &str, opts: &RegistryOptions) -> Result<Raw> {
        let r = Reference::from_str(image).map_err(|e| Error::Reference {
            reference: image.into(),
            message: e.to_string(),
        })?;
        let (client, auth) = connect(image, &r, opts)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        rt.block_on(client.auth(&r, &auth, RegistryOperation::Push))
            .map_err(|e| registry_error(image, e))?;
        Ok(Raw {
            client,
            auth,
            registry: r.registry().to_string(),
            repository: r.repository().to_string(),
            rt,
        })
    }

    fn tag(&self, tag: &str) -> Reference {
        Reference::with_tag(
            self.registry.clone(),
            self.repository.clone(),
            tag.to_string(),
        )
    }

    /// The manifest at `tag` as JSON.
    pub fn manifest(&self, tag: &str) -> Result<serde_json::Value> {
        let r = self.tag(tag);
        let (bytes, _) = self
            .rt
            .block_on(
                self.client
                    .pull_manifest_raw(&r, &self.auth, &[OCI_IMAGE_MEDIA_TYPE]),
            )
            .map_err(|e| registry_error(&r.whole(), e))?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Crypto(e.to_string()))
    }

    /// Replaces the manifest at `tag`.
    pub fn put_manifest(&self, tag: &str, manifest: &serde_json::Value) -> Result<()> {
        let r = self.tag(tag);
        let body = serde_json::to_vec(manifest).expect("json");
        self.rt
            .block_on(self.client.push_manifest_raw(
                &r,
                body,
                OCI_IMAGE_MEDIA_TYPE.parse().expect("header"),
            ))
            .map_err(|e| registry_error(&r.whole(), e))?;
        Ok(())
    }

    /// A blob's bytes.
    pub fn blob(&self, digest: &str) -> Result<Vec<u8>> {
        let r = self.tag("latest");
        let mut out = Vec::new();
        self.rt
            .block_on(self.client.pull_blob(&r, digest, &mut out))
            .map_err(|e| registry_error(&r.whole(), e))?;
        Ok(out)
    }

    /// Uploads a blob; returns its digest.
    pub fn put_blob(&self, data: Vec<u8>) -> Result<String> {
        let r = self.tag("latest");
        let digest = sha256(&data);
        self.rt
            .block_on(self.client.push_blob(&r, data, &digest))
            .map_err(|e| registry_error(&r.whole(), e))?;
        Ok(digest)
    }
}
