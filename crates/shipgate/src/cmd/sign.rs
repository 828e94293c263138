//! `shipgate key generate`, `sign`, `verify`, `attest` and `verify-attestation`: cosign-
//! compatible signatures and attestations (the logic lives in `shipgate-sign`).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use shipgate_image::RegistryOptions;
use shipgate_sign::{PredicateType, PublicKey, blocking};

use crate::cli::{
    AttestArgs, KeyGenerateArgs, PasswordArgs, RegistryArgs, SignArgs, SummaryFormat, VerifyArgs,
    VerifyAttestationArgs,
};
use crate::env;

/// The password: `--password-file`, else `$COSIGN_PASSWORD` (may be empty). There is no
/// prompt: signing runs in pipelines, and a silent empty password would hide a mistake.
pub(crate) fn password(args: &PasswordArgs) -> anyhow::Result<Vec<u8>> {
    if let Some(file) = &args.password_file {
        let mut bytes = std::fs::read(file)
            .with_context(|| format!("reading the password file {}", file.display()))?;
        if bytes.ends_with(b"\n") {
            bytes.pop();
            if bytes.ends_with(b"\r") {
                bytes.pop();
            }
        }
        return Ok(bytes);
    }
    match std::env::var(env::COSIGN_PASSWORD) {
        Ok(p) => Ok(p.into_bytes()),
        Err(std::env::VarError::NotUnicode(_)) => {
            bail!("{} is not valid UTF-8", env::COSIGN_PASSWORD)
        }
        Err(std::env::VarError::NotPresent) => bail!(
            "no password for the private key: set {} (it may be empty) or pass --password-file FILE",
            env::COSIGN_PASSWORD
        ),
    }
}

/// A library error as a one-line message: its `Display` already says everything (the
/// registry errors embed their cause), so the cause chain is not repeated.
fn plain(e: shipgate_sign::Error) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

fn registry_options(r: &RegistryArgs) -> RegistryOptions {
    RegistryOptions {
        insecure_loopback: r.insecure_registry,
        ..RegistryOptions::default()
    }
}

pub(crate) fn load_keys(files: &[std::path::PathBuf]) -> anyhow::Result<Vec<PublicKey>> {
    files
        .iter()
        .map(|f| shipgate_sign::load_public_key(f).map_err(plain))
        .collect()
}

pub(crate) fn load_signing_key(
    path: &Path,
    args: &PasswordArgs,
) -> anyhow::Result<shipgate_sign::SigningKey> {
    // Read the key before asking for the password, so a missing file is reported as such.
    if let Err(e) = std::fs::metadata(path) {
        bail!("{}: {e}", path.display());
    }
    let password = password(args)?;
    shipgate_sign::load_signing_key(path, &password).map_err(plain)
}

fn warn_tag(image: &str, resolved: bool, digest: &str) {
    if resolved {
        eprintln!(
            "warning: {image} is a tag; using its current digest {digest}. Tags are mutable: sign, attest and deploy by digest"
        );
    }
}

/// `shipgate key generate`
pub fn generate(args: KeyGenerateArgs) -> anyhow::Result<i32> {
    let password = password(&args.password)?;
    let files = shipgate_sign::write_key_pair(&args.output_key_prefix, &password).map_err(plain)?;
    eprintln!("Private key written to {}", files.private_key.display());
    eprintln!("Public key written to {}", files.public_key.display());
    Ok(0)
}

/// `shipgate sign`
pub fn sign(args: SignArgs) -> anyhow::Result<i32> {
    let mut annotations = BTreeMap::new();
    for a in &args.annotations {
        let Some((k, v)) = a.split_once('=') else {
            bail!("--annotation {a}: expected KEY=VALUE");
        };
        annotations.insert(k.to_string(), v.to_string());
    }
    let key = load_signing_key(&args.key, &args.password)?;
    let pushed = blocking::sign(
        &args.image,
        &key,
        &annotations,
        &registry_options(&args.registry),
    )
    .map_err(plain)?;
    warn_tag(&args.image, pushed.resolved_from_tag, &pushed.digest);
    if pushed.already_present {
        eprintln!(
            "{}: this signature is already at {}",
            pushed.image, pushed.tag
        );
    } else {
        eprintln!(
            "signed {}: signature pushed to {}",
            pushed.image, pushed.tag
        );
    }
    Ok(0)
}

/// `shipgate verify`
pub fn verify(args: VerifyArgs) -> anyhow::Result<i32> {
    let keys = load_keys(&args.keys)?;
    let v =
        blocking::verify(&args.image, &keys, &registry_options(&args.registry)).map_err(plain)?;
    warn_tag(&args.image, v.resolved_from_tag, &v.digest);
    match args.format {
        SummaryFormat::Json => {
            let payloads: Vec<&shipgate_sign::SimpleSigning> =
                v.signatures.iter().map(|s| &s.payload).collect();
            println!("{}", serde_json::to_string(&payloads)?);
        }
        SummaryFormat::Table => {
            println!("Verified {}: {} signature(s)", v.image, v.signatures.len());
            for s in &v.signatures {
                let annotations = s
                    .payload
                    .optional
                    .as_ref()
                    .map(|o| {
                        o.iter()
                            .map(|(k, v)| match v.as_str() {
                                Some(v) => format!("{k}={v}"),
                                None => format!("{k}={v}"),
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "-".into());
                println!(
                    "  {}  key {}  identity {}  annotations {}",
                    s.layer_digest,
                    s.key,
                    s.payload.critical.identity.docker_reference,
                    annotations
                );
            }
        }
    }
    Ok(0)
}

/// `shipgate attest`
pub fn attest(args: AttestArgs) -> anyhow::Result<i32> {
    let predicate_type: PredicateType = args.predicate_type.parse().map_err(plain)?;
    let bytes = std::fs::read(&args.predicate)
        .with_context(|| format!("reading the predicate {}", args.predicate.display()))?;
    let predicate = predicate_type
        .predicate_from_bytes(&bytes, &args.predicate.display().to_string())
        .map_err(plain)?;
    let key = load_signing_key(&args.key, &args.password)?;
    let pushed = blocking::attest(
        &args.image,
        &key,
        &predicate_type,
        predicate,
        &registry_options(&args.registry),
    )
    .map_err(plain)?;
    warn_tag(&args.image, pushed.resolved_from_tag, &pushed.digest);
    eprintln!(
        "attested {} ({}): attestation pushed to {}",
        pushed.image, predicate_type.uri, pushed.tag
    );
    Ok(0)
}

/// `shipgate verify-attestation`
pub fn verify_attestation(args: VerifyAttestationArgs) -> anyhow::Result<i32> {
    let predicate_type = args
        .predicate_type
        .as_deref()
        .map(str::parse::<PredicateType>)
        .transpose()
        .map_err(plain)?;
    let keys = load_keys(&args.keys)?;
    let v = blocking::verify_attestations(
        &args.image,
        &keys,
        predicate_type.as_ref(),
        &registry_options(&args.registry),
    )
    .map_err(plain)?;
    warn_tag(&args.image, v.resolved_from_tag, &v.digest);
    let statements: Vec<&shipgate_sign::Statement> =
        v.statements.iter().map(|s| &s.statement).collect();
    println!("{}", serde_json::to_string_pretty(&statements)?);
    eprintln!(
        "Verified {}: {} attestation(s)",
        v.image,
        v.statements.len()
    );
    Ok(0)
}
