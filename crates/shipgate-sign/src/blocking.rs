//! Blocking wrappers of the async entry points, each on its own current-thread runtime (for
//! the command line; async callers such as the webhook use [`crate::ops`] directly).

use std::collections::BTreeMap;

use shipgate_image::RegistryOptions;

use crate::attestation::PredicateType;
use crate::error::{Error, Result};
use crate::keys::{PublicKey, SigningKey};
use crate::ops::{self, Pushed, Verified, VerifiedAttestations};

fn run<T>(f: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?
        .block_on(f)
}

/// [`ops::sign`], blocking.
pub fn sign(
    image: &str,
    key: &SigningKey,
    annotations: &BTreeMap<String, String>,
    opts: &RegistryOptions,
) -> Result<Pushed> {
    run(ops::sign(image, key, annotations, opts))
}

/// [`ops::verify`], blocking.
pub fn verify(image: &str, keys: &[PublicKey], opts: &RegistryOptions) -> Result<Verified> {
    run(ops::verify(image, keys, opts))
}

/// [`ops::attest`], blocking.
pub fn attest(
    image: &str,
    key: &SigningKey,
    predicate_type: &PredicateType,
    predicate: serde_json::Value,
    opts: &RegistryOptions,
) -> Result<Pushed> {
    run(ops::attest(image, key, predicate_type, predicate, opts))
}

/// [`ops::verify_attestations`], blocking.
pub fn verify_attestations(
    image: &str,
    keys: &[PublicKey],
    predicate_type: Option<&PredicateType>,
    opts: &RegistryOptions,
) -> Result<VerifiedAttestations> {
    run(ops::verify_attestations(image, keys, predicate_type, opts))
}
