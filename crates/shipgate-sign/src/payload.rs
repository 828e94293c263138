//! The simple-signing payload cosign signs for an image (`critical.identity`,
//! `critical.image`, `critical.type`, `optional`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Media type of a signature layer: the payload blob.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// Layer annotation holding the base64 ECDSA signature of the payload.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// `critical.type` of a cosign image signature.
pub const COSIGN_SIGNATURE_TYPE: &str = "cosign container image signature";

/// The simple-signing payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimpleSigning {
    /// What the signature is about.
    pub critical: Critical,
    /// Free annotations (`cosign sign -a k=v`); `null` when there are none.
    pub optional: Option<BTreeMap<String, serde_json::Value>>,
}

/// `critical` of the payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Critical {
    /// The repository the image was signed under.
    pub identity: Identity,
    /// The manifest digest signed.
    pub image: ImageDigest,
    /// Always [`COSIGN_SIGNATURE_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
}

/// `critical.identity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    /// `registry/repository`, as cosign writes it.
    #[serde(rename = "docker-reference")]
    pub docker_reference: String,
}

/// `critical.image`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageDigest {
    /// `sha256:<hex>` of the image manifest.
    #[serde(rename = "docker-manifest-digest")]
    pub docker_manifest_digest: String,
}

impl SimpleSigning {
    /// The payload for `digest` in `docker_reference` with string annotations.
    pub fn new(
        docker_reference: &str,
        digest: &str,
        annotations: &BTreeMap<String, String>,
    ) -> Self {
        SimpleSigning {
            critical: Critical {
                identity: Identity {
                    docker_reference: docker_reference.to_string(),
                },
                image: ImageDigest {
                    docker_manifest_digest: digest.to_string(),
                },
                kind: COSIGN_SIGNATURE_TYPE.to_string(),
            },
            optional: if annotations.is_empty() {
                None
            } else {
                Some(
                    annotations
                        .iter()
                        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                        .collect(),
                )
            },
        }
    }

    /// The bytes signed and stored: compact JSON, fields in cosign's order.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a payload of strings always serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_format_matches_cosign() {
        let p = SimpleSigning::new("127.0.0.1:5000/app", "sha256:abc", &BTreeMap::new());
        assert_eq!(
            String::from_utf8(p.to_bytes()).expect("utf8"),
            r#"{"critical":{"identity":{"docker-reference":"127.0.0.1:5000/app"},"image":{"docker-manifest-digest":"sha256:abc"},"type":"cosign container image signature"},"optional":null}"#
        );
        let mut a = BTreeMap::new();
        a.insert("z".to_string(), "1".to_string());
        a.insert("a".to_string(), "2".to_string());
        let p = SimpleSigning::new("r/app", "sha256:abc", &a);
        let s = String::from_utf8(p.to_bytes()).expect("utf8");
        assert!(s.ends_with(r#""optional":{"a":"2","z":"1"}}"#), "{s}");
        let back: SimpleSigning = serde_json::from_slice(&p.to_bytes()).expect("parse");
        assert_eq!(back, p);
    }
}
