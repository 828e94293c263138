//! `shipgate audit checkpoint | export | verify-export`, and the signed checkpoints that
//! `audit verify --checkpoint` reads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use shipgate_sign::attestation::{Envelope, STATEMENT_V1, Statement, Subject};
use shipgate_store::evidence::{self, MANIFEST_FILE};
use shipgate_store::export::TimeRange;

use crate::cli::{AuditCheckpointArgs, AuditExportArgs, AuditVerifyExportArgs, SummaryFormat};

/// Predicate type of a ledger checkpoint.
pub const CHECKPOINT_PREDICATE: &str = "https://shipgate.dev/attestation/ledger-checkpoint/v1";
/// Predicate type of a signed evidence bundle.
pub const EVIDENCE_PREDICATE: &str = "https://shipgate.dev/attestation/evidence/v1";
/// Subject name of a checkpoint: its digest is the head entry's hash.
const LEDGER_SUBJECT: &str = "shipgate-ledger";
/// The envelope of a signed bundle.
const BUNDLE_ENVELOPE: &str = "evidence.dsse.json";

/// `shipgate audit checkpoint`
pub fn checkpoint(a: AuditCheckpointArgs) -> anyhow::Result<i32> {
    let key = super::sign::load_signing_key(&a.key, &a.password)?;
    let mut store = super::store::open_existing(&a.database)?;
    let v = store.verify()?;
    if let Some(p) = &v.problem {
        eprintln!(
            "error: the ledger failed verification at seq {}: {}; not signing it",
            p.seq, p.message
        );
        return Ok(1);
    }
    let Some((seq, hash)) = v.head.clone() else {
        bail!("the ledger is empty: nothing to sign");
    };
    let statement = Statement {
        kind: STATEMENT_V1.to_string(),
        predicate_type: CHECKPOINT_PREDICATE.to_string(),
        subject: vec![Subject {
            name: LEDGER_SUBJECT.to_string(),
            digest: [("sha256".to_string(), hash.clone())].into_iter().collect(),
        }],
        predicate: serde_json::json!({
            "seq": seq,
            "entries": v.entries,
            "store": super::store::display_name(&a.database)?,
            "time": jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        }),
    };
    let envelope = shipgate_sign::attestation::sign_statement(&key, &statement)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut text = serde_json::to_string_pretty(&envelope)?;
    text.push('\n');
    match &a.output {
        Some(path) => {
            crate::output::write_atomically(path, text.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "signed checkpoint of seq {seq} (hash {hash}) written to {}",
                path.display()
            );
        }
        None => print!("{text}"),
    }
    Ok(0)
}

/// The `SEQ:HASH` anchors of signed checkpoint files, after checking their signatures.
pub fn checkpoint_anchors(files: &[PathBuf], keys: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let keys = super::sign::load_keys(keys)?;
    let mut out = Vec::new();
    for f in files {
        let name = f.display();
        let text = std::fs::read_to_string(f).with_context(|| format!("cannot read {name}"))?;
        let envelope: Envelope =
            serde_json::from_str(&text).with_context(|| format!("{name}: not a DSSE envelope"))?;
        let (statement, _) = shipgate_sign::attestation::open_envelope(&envelope, &keys)
            .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        if statement.predicate_type != CHECKPOINT_PREDICATE {
            bail!(
                "{name}: predicate type {} is not a shipgate ledger checkpoint",
                statement.predicate_type
            );
        }
        let hash = statement
            .subject
            .iter()
            .find(|s| s.name == LEDGER_SUBJECT)
            .and_then(|s| s.digest.get("sha256"))
            .with_context(|| format!("{name}: no {LEDGER_SUBJECT} subject"))?;
        let seq = statement
            .predicate
            .get("seq")
            .and_then(serde_json::Value::as_i64)
            .with_context(|| format!("{name}: no seq in the predicate"))?;
        out.push(format!("{seq}:{hash}"));
    }
    Ok(out)
}

/// `shipgate audit export`
pub fn export(a: AuditExportArgs) -> anyhow::Result<i32> {
    let time = |what: &str, v: &Option<String>| {
        v.as_deref()
            .map(shipgate_store::parse_time)
            .transpose()
            .with_context(|| format!("--{what}"))
    };
    let range = TimeRange {
        from: time("from", &a.from)?,
        to: time("to", &a.to)?,
    };
    if let (Some(f), Some(t)) = (range.from, range.to)
        && f >= t
    {
        bail!("--from must be before --to");
    }
    // Load the key first: a wrong password must not leave an unsigned bundle behind.
    let key = a
        .key
        .as_deref()
        .map(|k| super::sign::load_signing_key(k, &a.password))
        .transpose()?;
    let mut store = super::store::open_existing(&a.database)?;
    let name = super::store::display_name(&a.database)?;
    let manifest = evidence::write_bundle(&mut store, &name, range, &a.output)?;
    if let Some(key) = key
        && let Err(e) = sign_bundle(&key, &a.output, &manifest)
    {
        // Nothing half-written: a bundle that was asked to be signed and is not, goes.
        let _ = std::fs::remove_dir_all(&a.output);
        return Err(e);
    }
    match a.format {
        SummaryFormat::Json => println!("{}", serde_json::to_string_pretty(&manifest)?),
        SummaryFormat::Table => {
            let records: u64 = manifest.counts.values().sum();
            println!(
                "evidence bundle written to {}: {records} record(s){}",
                a.output.display(),
                if a.key.is_some() { ", signed" } else { "" }
            );
            for c in &manifest.controls {
                println!(
                    "  {:<16} {:>8}  {}",
                    c.control.id, c.records, c.control.title
                );
            }
        }
    }
    if let Some(p) = &manifest.ledger.problem {
        eprintln!(
            "error: the ledger failed verification at seq {}: {} (the bundle says so)",
            p.seq, p.message
        );
        return Ok(1);
    }
    Ok(0)
}

/// Streamed sha256 of a file, as the pipeline cache computes it.
fn sha256_file(path: &Path) -> anyhow::Result<String> {
    shipgate_pipeline::cache::hash_file(path).map_err(|e| anyhow::anyhow!("{e}"))
}

fn sign_bundle(
    key: &shipgate_sign::SigningKey,
    dir: &Path,
    manifest: &evidence::Manifest,
) -> anyhow::Result<()> {
    let mut subject = vec![Subject {
        name: MANIFEST_FILE.to_string(),
        digest: [("sha256".to_string(), sha256_file(&dir.join(MANIFEST_FILE))?)]
            .into_iter()
            .collect(),
    }];
    for f in &manifest.files {
        subject.push(Subject {
            name: f.name.clone(),
            digest: [("sha256".to_string(), f.sha256.clone())]
                .into_iter()
                .collect(),
        });
    }
    let statement = Statement {
        kind: STATEMENT_V1.to_string(),
        predicate_type: EVIDENCE_PREDICATE.to_string(),
        subject,
        predicate: serde_json::json!({
            "store": manifest.store,
            "from": manifest.from,
            "to": manifest.to,
            "generated_at": manifest.generated_at,
            "ledger": manifest.ledger,
        }),
    };
    let envelope = shipgate_sign::attestation::sign_statement(key, &statement)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut text = serde_json::to_string_pretty(&envelope)?;
    text.push('\n');
    crate::output::write_atomically(&dir.join(BUNDLE_ENVELOPE), text.as_bytes())
        .with_context(|| format!("cannot write {}", dir.join(BUNDLE_ENVELOPE).display()))
}

/// `shipgate audit verify-export`
pub fn verify_export(a: AuditVerifyExportArgs) -> anyhow::Result<i32> {
    let keys = super::sign::load_keys(&a.key)?;
    let env_path = a.dir.join(BUNDLE_ENVELOPE);
    let text = std::fs::read_to_string(&env_path).with_context(|| {
        format!(
            "cannot read {} (was the bundle exported with --key?)",
            env_path.display()
        )
    })?;
    let envelope: Envelope = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a DSSE envelope", env_path.display()))?;
    let statement = match shipgate_sign::attestation::open_envelope(&envelope, &keys) {
        Ok((s, _)) => s,
        Err(e) => {
            println!("bundle NOT verified: {}: {e}", env_path.display());
            return Ok(1);
        }
    };
    if statement.predicate_type != EVIDENCE_PREDICATE {
        println!(
            "bundle NOT verified: predicate type {} is not a shipgate evidence bundle",
            statement.predicate_type
        );
        return Ok(1);
    }
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    for s in &statement.subject {
        let ok_name =
            !s.name.is_empty() && !s.name.contains(['/', '\\']) && s.name != "." && s.name != "..";
        let Some(d) = s.digest.get("sha256").filter(|_| ok_name) else {
            println!(
                "bundle NOT verified: subject {:?} is not a file of the bundle",
                s.name
            );
            return Ok(1);
        };
        expected.insert(s.name.clone(), d.to_ascii_lowercase());
    }
    let mut problems = Vec::new();
    for (name, digest) in &expected {
        let path = a.dir.join(name);
        if !path.is_file() {
            problems.push(format!("{name}: missing"));
            continue;
        }
        let actual = sha256_file(&path)?;
        if &actual != digest {
            problems.push(format!(
                "{name}: changed (sha256 {actual}, signed {digest})"
            ));
        }
    }
    let rd =
        std::fs::read_dir(&a.dir).with_context(|| format!("cannot read {}", a.dir.display()))?;
    for e in rd {
        let e = e.with_context(|| format!("cannot read {}", a.dir.display()))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name != BUNDLE_ENVELOPE && !expected.contains_key(&name) {
            problems.push(format!("{name}: not part of the signed bundle"));
        }
    }
    if problems.is_empty() {
        println!(
            "bundle verified: {} file(s) match the signed statement",
            expected.len()
        );
        Ok(0)
    } else {
        println!("bundle NOT verified:");
        for p in &problems {
            println!("  {p}");
        }
        Ok(1)
    }
}
