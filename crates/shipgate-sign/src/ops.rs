//! Sign, verify, attest and verify attestations: the async entry points.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use oci_client::manifest::OciDescriptor;
use shipgate_image::RegistryOptions;

use crate::attestation::{
    DSSE_MEDIA_TYPE, Envelope, PREDICATE_TYPE_ANNOTATION, PredicateType, Statement, open_envelope,
    sign_statement,
};
use crate::error::{Error, Result};
use crate::keys::{PublicKey, SigningKey, key_names};
use crate::payload::{
    COSIGN_SIGNATURE_TYPE, SIGNATURE_ANNOTATION, SIMPLE_SIGNING_MEDIA_TYPE, SimpleSigning,
};
use crate::registry::{Target, docker_reference, sha256};

/// What a sign or attest call pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The image, pinned: `registry/repository@sha256:...`.
    pub image: String,
    /// Its manifest digest.
    pub digest: String,
    /// The reference named a tag, which was resolved to `digest` (tags are mutable: sign
    /// digests).
    pub resolved_from_tag: bool,
    /// Where the signature or attestation lives: `registry/repository:sha256-<hex>.sig|.att`.
    pub tag: String,
    /// Digest of the `.sig`/`.att` manifest now at `tag`.
    pub manifest_digest: String,
    /// The layer digest (the payload or envelope blob).
    pub layer_digest: String,
    /// An identical layer was already there; nothing was pushed.
    pub already_present: bool,
}

/// One verified image signature.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedSignature {
    /// The payload that was signed.
    pub payload: SimpleSigning,
    /// Name of the key that verified it.
    pub key: String,
    /// The layer (payload blob) digest.
    pub layer_digest: String,
}

/// The verified signatures of an image.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// The image, pinned.
    pub image: String,
    /// Its manifest digest.
    pub digest: String,
    /// The reference named a tag.
    pub resolved_from_tag: bool,
    /// Every signature that verified (at least one).
    pub signatures: Vec<VerifiedSignature>,
}

/// One verified attestation.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedStatement {
    /// The in-toto statement.
    pub statement: Statement,
    /// Name of the key that verified the envelope.
    pub key: String,
    /// The layer (envelope blob) digest.
    pub layer_digest: String,
}

/// The verified attestations of an image.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedAttestations {
    /// The image, pinned.
    pub image: String,
    /// Its manifest digest.
    pub digest: String,
    /// The reference named a tag.
    pub resolved_from_tag: bool,
    /// Every statement that verified and has the wanted predicate type (at least one).
    pub statements: Vec<VerifiedStatement>,
}

/// Signs `image` with `key`, as `cosign sign --key` does: the simple-signing payload with
/// `annotations` in `optional`, appended as a layer to `sha256-<hex>.sig` (an identical
/// signature is not added twice). A tag is resolved to its digest first.
pub async fn sign(
    image: &str,
    key: &SigningKey,
    annotations: &BTreeMap<String, String>,
    opts: &RegistryOptions,
) -> Result<Pushed> {
    let target = Target::open(image, opts).await?;
    let payload = SimpleSigning::new(
        &docker_reference(&target.reference),
        &target.digest,
        annotations,
    )
    .to_bytes();
    let signature = STANDARD.encode(key.sign(&payload)?);
    let layer = descriptor(
        SIMPLE_SIGNING_MEDIA_TYPE,
        &payload,
        [(SIGNATURE_ANNOTATION.to_string(), signature)]
            .into_iter()
            .collect(),
    );
    push(&target, "sig", payload, layer).await
}

/// Attests `predicate` (already built, see [`PredicateType::predicate_from_bytes`]) about
/// `image`, as `cosign attest --key` does: an in-toto statement in a DSSE envelope appended
/// to `sha256-<hex>.att`, annotated with the predicate type.
pub async fn attest(
    image: &str,
    key: &SigningKey,
    predicate_type: &PredicateType,
    predicate: serde_json::Value,
    opts: &RegistryOptions,
) -> Result<Pushed> {
    let target = Target::open(image, opts).await?;
    let statement = Statement::new(
        &docker_reference(&target.reference),
        &target.digest,
        &predicate_type.uri,
        predicate,
    );
    let envelope = sign_statement(key, &statement)?;
    let blob = serde_json::to_vec(&envelope).expect("an envelope of strings serialises");
    let layer = descriptor(
        DSSE_MEDIA_TYPE,
        &blob,
        [
            (SIGNATURE_ANNOTATION.to_string(), String::new()),
            (
                PREDICATE_TYPE_ANNOTATION.to_string(),
                predicate_type.uri.clone(),
            ),
        ]
        .into_iter()
        .collect(),
    );
    push(&target, "att", blob, layer).await
}

fn descriptor(
    media_type: &str,
    blob: &[u8],
    annotations: BTreeMap<String, String>,
) -> OciDescriptor {
    OciDescriptor {
        media_type: media_type.to_string(),
        digest: sha256(blob),
        size: i64::try_from(blob.len()).unwrap_or(i64::MAX),
        annotations: Some(annotations),
        ..OciDescriptor::default()
    }
}

async fn push(
    target: &Target,
    suffix: &str,
    blob: Vec<u8>,
    layer: OciDescriptor,
) -> Result<Pushed> {
    let r = target.artifact(suffix);
    let layer_digest = layer.digest.clone();
    let (manifest_digest, already_present) = target.append(&r, blob, layer).await?;
    Ok(Pushed {
        image: target.pinned(),
        digest: target.digest.clone(),
        resolved_from_tag: target.resolved_from_tag,
        tag: format!("{}:{}", docker_reference(&r), r.tag().unwrap_or_default()),
        manifest_digest,
        layer_digest,
        already_present,
    })
}

/// Verifies `image`'s cosign signatures against `keys`: every simple-signing layer of
/// `sha256-<hex>.sig` whose blob matches its digest, whose signature verifies with one of
/// the keys, and whose payload is a cosign signature of this very digest. Errors when none
/// does, with the reason for each layer.
pub async fn verify(image: &str, keys: &[PublicKey], opts: &RegistryOptions) -> Result<Verified> {
    if keys.is_empty() {
        return Err(Error::input("verify", "no public key given"));
    }
    let target = Target::open(image, opts).await?;
    let r = target.artifact("sig");
    let not_signed = || Error::NotSigned {
        reference: image.to_string(),
        what: "signatures",
        tag: format!("{}:{}", docker_reference(&r), r.tag().unwrap_or_default()),
    };
    let manifest = target.manifest(&r).await?.ok_or_else(not_signed)?;
    let mut signatures = Vec::new();
    let mut reasons = Vec::new();
    for (i, layer) in manifest
        .layers
        .iter()
        .enumerate()
        .take(crate::registry::MAX_LAYERS)
    {
        if layer.media_type != SIMPLE_SIGNING_MEDIA_TYPE {
            continue;
        }
        let why = |m: String| format!("signature {} ({}): {m}", i + 1, layer.digest);
        match check_signature(&target, &r, layer, keys).await {
            Ok(v) => signatures.push(v),
            Err(m) => reasons.push(why(m)),
        }
    }
    if signatures.is_empty() {
        if reasons.is_empty() {
            return Err(not_signed());
        }
        return Err(Error::NotVerified {
            reference: image.to_string(),
            what: "signature",
            reasons,
        });
    }
    Ok(Verified {
        image: target.pinned(),
        digest: target.digest.clone(),
        resolved_from_tag: target.resolved_from_tag,
        signatures,
    })
}

async fn check_signature(
    target: &Target,
    r: &oci_client::Reference,
    layer: &OciDescriptor,
    keys: &[PublicKey],
) -> std::result::Result<VerifiedSignature, String> {
    let sig_b64 = layer
        .annotations
        .as_ref()
        .and_then(|a| a.get(SIGNATURE_ANNOTATION))
        .ok_or_else(|| format!("no {SIGNATURE_ANNOTATION} annotation"))?;
    let sig = STANDARD
        .decode(sig_b64.trim())
        .map_err(|e| format!("signature annotation is not base64: {e}"))?;
    let payload = target.blob(r, layer).await?;
    let key = keys
        .iter()
        .find(|k| k.verify(&payload, &sig))
        .ok_or_else(|| {
            format!(
                "signature invalid: does not verify with {}",
                key_names(keys)
            )
        })?;
    let parsed: SimpleSigning = serde_json::from_slice(&payload)
        .map_err(|e| format!("payload is not a simple-signing document: {e}"))?;
    if parsed.critical.kind != COSIGN_SIGNATURE_TYPE {
        return Err(format!(
            "payload type is '{}', not '{COSIGN_SIGNATURE_TYPE}'",
            parsed.critical.kind
        ));
    }
    if parsed.critical.image.docker_manifest_digest != target.digest {
        return Err(format!(
            "digest mismatch: the payload signs {}, not {}",
            parsed.critical.image.docker_manifest_digest, target.digest
        ));
    }
    Ok(VerifiedSignature {
        payload: parsed,
        key: key.name().to_string(),
        layer_digest: layer.digest.clone(),
    })
}

/// Verifies `image`'s attestations against `keys`: every DSSE layer of `sha256-<hex>.att`
/// whose blob matches its digest, whose envelope signature (over the PAE) verifies with one
/// of the keys, and whose statement has this image's digest as a subject; then keeps those
/// of `predicate_type` (all when `None`). Errors when none is left, saying why.
pub async fn verify_attestations(
    image: &str,
    keys: &[PublicKey],
    predicate_type: Option<&PredicateType>,
    opts: &RegistryOptions,
) -> Result<VerifiedAttestations> {
    if keys.is_empty() {
        return Err(Error::input("verify-attestation", "no public key given"));
    }
    let target = Target::open(image, opts).await?;
    let r = target.artifact("att");
    let not_signed = || Error::NotSigned {
        reference: image.to_string(),
        what: "attestations",
        tag: format!("{}:{}", docker_reference(&r), r.tag().unwrap_or_default()),
    };
    let manifest = target.manifest(&r).await?.ok_or_else(not_signed)?;
    let mut statements = Vec::new();
    let mut reasons = Vec::new();
    let mut other_types = Vec::new();
    for (i, layer) in manifest
        .layers
        .iter()
        .enumerate()
        .take(crate::registry::MAX_LAYERS)
    {
        if layer.media_type != DSSE_MEDIA_TYPE {
            continue;
        }
        match check_attestation(&target, &r, layer, keys).await {
            Ok(v) => {
                if predicate_type.is_none_or(|t| t.uri == v.statement.predicate_type) {
                    statements.push(v);
                } else {
                    other_types.push(v.statement.predicate_type);
                }
            }
            Err(m) => reasons.push(format!("attestation {} ({}): {m}", i + 1, layer.digest)),
        }
    }
    if statements.is_empty() {
        if let Some(t) = predicate_type
            && !other_types.is_empty()
        {
            other_types.sort();
            other_types.dedup();
            reasons.push(format!(
                "none of the verified attestations has predicate type {} (found: {})",
                t.uri,
                other_types.join(", ")
            ));
        }
        if reasons.is_empty() {
            return Err(not_signed());
        }
        return Err(Error::NotVerified {
            reference: image.to_string(),
            what: "attestation",
            reasons,
        });
    }
    Ok(VerifiedAttestations {
        image: target.pinned(),
        digest: target.digest.clone(),
        resolved_from_tag: target.resolved_from_tag,
        statements,
    })
}

async fn check_attestation(
    target: &Target,
    r: &oci_client::Reference,
    layer: &OciDescriptor,
    keys: &[PublicKey],
) -> std::result::Result<VerifiedStatement, String> {
    let blob = target.blob(r, layer).await?;
    let envelope: Envelope =
        serde_json::from_slice(&blob).map_err(|e| format!("not a DSSE envelope: {e}"))?;
    let (statement, key) = open_envelope(&envelope, keys)?;
    if !statement.is_about(&target.digest) {
        let found: Vec<String> = statement
            .subject
            .iter()
            .filter_map(|s| s.digest.get("sha256").map(|d| format!("sha256:{d}")))
            .collect();
        return Err(format!(
            "digest mismatch: the statement is about {}, not {}",
            if found.is_empty() {
                "no sha256 digest".to_string()
            } else {
                found.join(", ")
            },
            target.digest
        ));
    }
    Ok(VerifiedStatement {
        statement,
        key: key.name().to_string(),
        layer_digest: layer.digest.clone(),
    })
}
