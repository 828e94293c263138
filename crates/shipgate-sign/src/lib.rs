//! cosign-compatible image signatures and attestations for shipgate.
//!
//! What it does, in cosign's formats so that each tool verifies what the other wrote:
//!
//! * **Keys** ([`keys`]): ECDSA P-256; the private key is PKCS#8 DER encrypted in sigstore's
//!   JSON envelope (scrypt, nacl secretbox) in a PEM block `ENCRYPTED SIGSTORE PRIVATE KEY`;
//!   the public key is a PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
//! * **Signatures** ([`ops::sign`], [`ops::verify`]): the simple-signing payload
//!   ([`payload`]) signed with ECDSA-SHA256, stored as a layer of the OCI image manifest
//!   tagged `sha256-<hex>.sig` in the image's repository, the base64 signature in the
//!   layer annotation `dev.cosignproject.cosign/signature`.
//! * **Attestations** ([`ops::attest`], [`ops::verify_attestations`]): an in-toto statement
//!   ([`attestation`]) in a DSSE envelope signed over the PAE, stored as a layer of
//!   `sha256-<hex>.att` annotated with its `predicateType`.
//!
//! Entry points are async ([`ops`]) for callers with a runtime (the admission webhook), with
//! blocking wrappers in [`blocking`] for the command line. Registry access goes through
//! `shipgate_image::source::registry::connect` (docker `config.json` credentials, TLS
//! always, plain HTTP only to loopback registries when allowed).
//!
//! What it deliberately does not do: no keyless signing (Fulcio certificates, Rekor
//! transparency log entries, timestamps) — those services are out of reach offline, and a
//! signature carrying a certificate or bundle is verified only by its key here; no key
//! algorithms but ECDSA P-256; no OCI 1.1 referrers or sigstore bundle format (cosign's
//! `--new-bundle-format`); no printing. Concurrent signers of one image can lose each
//! other's layer (read, append, write the tag), as with cosign.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod attestation;
pub mod blocking;
mod error;
pub mod keys;
pub mod ops;
pub mod payload;
mod pem;
mod registry;
#[cfg(feature = "test-support")]
pub mod testsupport;

pub use attestation::{PredicateType, Statement};
pub use error::{Error, Result};
pub use keys::{
    KeyFiles, PublicKey, SigningKey, load_public_key, load_signing_key, write_key_pair,
};
pub use ops::{Pushed, Verified, VerifiedAttestations, VerifiedSignature, VerifiedStatement};
pub use payload::SimpleSigning;

/// Fuzzing entry point: `data` as every untrusted input this crate parses (PEM key files,
/// DER keys, PKCS#8, DSSE envelopes, simple-signing payloads, in-toto statements; the
/// encrypted-key decoder with an empty password). Must never panic.
pub fn fuzz_inputs(data: &[u8]) {
    let _ = pem::decode(data);
    let _ = PublicKey::from_pem(data, "fuzz");
    let _ = PublicKey::from_der(data, "fuzz");
    let _ = SigningKey::from_pkcs8(data, "fuzz");
    let _ = serde_json::from_slice::<attestation::Envelope>(data);
    let _ = serde_json::from_slice::<SimpleSigning>(data);
    let _ = serde_json::from_slice::<Statement>(data);
    if data.len() < 4096 {
        let _ = SigningKey::from_encrypted_pem(data, b"", "fuzz");
    }
}

#[cfg(test)]
mod tests {
    /// Untrusted bytes (key files, payloads, envelopes) never panic the parsers: seeded random
    /// inputs, and mutations of valid ones.
    #[test]
    fn parsers_survive_random_and_mutated_input() {
        let key = crate::SigningKey::generate().expect("generate");
        let private_pem = key.to_encrypted_pem(b"").expect("pem");
        let public_pem = key.public_key().to_pem();
        let envelope = br#"{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"","sig":"AA=="}]}"#;
        let seeds: [&[u8]; 3] = [private_pem.as_bytes(), public_pem.as_bytes(), envelope];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..300 {
            let mut input = seeds[round % seeds.len()].to_vec();
            for _ in 0..(next() % 8) {
                if input.is_empty() {
                    break;
                }
                let i = usize::try_from(next() % input.len() as u64).unwrap_or(0);
                input[i] = (next() & 0xff) as u8;
            }
            if round % 10 == 0 {
                input = (0..next() % 200).map(|_| (next() & 0xff) as u8).collect();
            }
            let _ = crate::pem::decode(&input);
            let _ = crate::PublicKey::from_pem(&input, "fuzz");
            let _ = crate::PublicKey::from_der(&input, "fuzz");
            let _ = crate::SigningKey::from_pkcs8(&input, "fuzz");
            let _ = serde_json::from_slice::<crate::attestation::Envelope>(&input);
            let _ = serde_json::from_slice::<crate::SimpleSigning>(&input);
            let _ = serde_json::from_slice::<crate::Statement>(&input);
            // The KDF is slow by design: decrypt only a few mutated private keys.
            if round % 30 == 3 {
                let _ = crate::SigningKey::from_encrypted_pem(&input, b"", "fuzz");
            }
        }
    }
}
