//! Compliance evidence bundles: every ledger entry of a period with its record, as JSON Lines
//! and CSV, a human-readable report, and a manifest mapping the records to SOC 2 and
//! ISO/IEC 27001:2022 controls (`shipgate audit export`).
//!
//! The bundle is written into a temporary sibling directory and renamed into place at the
//! end, so a failed export leaves nothing behind. CSV cells that a spreadsheet would run as a
//! formula (`=`, `+`, `-`, `@`, tab, carriage return first) are prefixed with `'`: record
//! fields such as scan targets come from the scanned repositories and are untrusted.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::export::{LedgerEntry, TimeRange};
use crate::{KIND_EVENT, KIND_PIPELINE_RUN, KIND_SCAN_REPORT, Store, StoreError};

/// `schema` of `evidence.json`.
pub const EVIDENCE_SCHEMA: &str = "shipgate.evidence/v1";
/// File name of the manifest.
pub const MANIFEST_FILE: &str = "evidence.json";

/// A control that records are evidence for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Control {
    /// `SOC2-CC7.1`, `ISO27001-A.8.8`...
    pub id: &'static str,
    /// `SOC 2` or `ISO/IEC 27001:2022`.
    pub framework: &'static str,
    /// The control's subject, in short.
    pub title: &'static str,
    /// Which shipgate records serve as evidence, and why.
    pub evidence: &'static str,
}

/// The controls records are mapped to.
pub const CONTROLS: &[Control] = &[
    Control {
        id: "SOC2-CC7.1",
        framework: "SOC 2",
        title: "Detection and monitoring of configuration changes that introduce vulnerabilities, and of newly discovered vulnerabilities",
        evidence: "Scan reports (dependency, image, SAST, secret and configuration scans) with their findings and gate results; drift events",
    },
    Control {
        id: "SOC2-CC7.2",
        framework: "SOC 2",
        title: "Monitoring of system components for anomalies indicating malicious acts, errors or failures",
        evidence: "Runtime alerts from the Kubernetes audit log, admission denials, drift events, failed gates",
    },
    Control {
        id: "SOC2-CC8.1",
        framework: "SOC 2",
        title: "Changes to infrastructure and software are authorised, tested, approved and implemented",
        evidence: "Pipeline runs with their steps and gate decisions, GitOps syncs (commit, author, policy decision), admission decisions",
    },
    Control {
        id: "ISO27001-A.8.8",
        framework: "ISO/IEC 27001:2022",
        title: "Management of technical vulnerabilities",
        evidence: "Dependency, image and SAST scan reports with their findings; remediation times in the report",
    },
    Control {
        id: "ISO27001-A.8.9",
        framework: "ISO/IEC 27001:2022",
        title: "Configuration management",
        evidence: "Configuration (manifest policy) scans, GitOps syncs from the reviewed repository, drift events and self-heal",
    },
    Control {
        id: "ISO27001-A.8.16",
        framework: "ISO/IEC 27001:2022",
        title: "Monitoring activities",
        evidence: "Runtime alerts, admission denials",
    },
    Control {
        id: "ISO27001-A.8.32",
        framework: "ISO/IEC 27001:2022",
        title: "Change management",
        evidence: "Pipeline runs and gate decisions, GitOps syncs, promotions, admission decisions",
    },
];

/// The controls one record is evidence for. `record` is the record as stored (for events,
/// `{"kind": ..., "body": ...}`).
pub fn controls_for(kind: &str, record: &Value) -> Vec<&'static str> {
    match kind {
        KIND_SCAN_REPORT => {
            let scanner = record.get("scanner").and_then(Value::as_str).unwrap_or("");
            let mut c = vec!["SOC2-CC7.1"];
            match scanner {
                "deps" | "image" | "sast" | "all" | "pre-commit" => c.push("ISO27001-A.8.8"),
                _ => {}
            }
            if matches!(scanner, "config" | "all" | "pre-commit") {
                c.push("ISO27001-A.8.9");
            }
            c
        }
        KIND_PIPELINE_RUN => {
            let mut c = vec!["SOC2-CC8.1", "ISO27001-A.8.32"];
            let failed_gate = record
                .get("steps")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|s| s.pointer("/gate/passed") == Some(&Value::Bool(false)));
            if failed_gate {
                c.insert(1, "SOC2-CC7.2");
            }
            c
        }
        KIND_EVENT => {
            let event = record.get("kind").and_then(Value::as_str).unwrap_or("");
            let denied = record.pointer("/body/allowed") == Some(&Value::Bool(false));
            match event {
                "drift" => vec!["SOC2-CC7.1", "SOC2-CC7.2", "ISO27001-A.8.9"],
                "gitops-sync" => vec!["SOC2-CC8.1", "ISO27001-A.8.9", "ISO27001-A.8.32"],
                "promotion" => vec!["SOC2-CC8.1", "ISO27001-A.8.32"],
                "admission" if denied => vec![
                    "SOC2-CC7.2",
                    "SOC2-CC8.1",
                    "ISO27001-A.8.16",
                    "ISO27001-A.8.32",
                ],
                "admission" => vec!["SOC2-CC8.1", "ISO27001-A.8.32"],
                "runtime-alert" => vec!["SOC2-CC7.2", "ISO27001-A.8.16"],
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

/// `evidence.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    /// [`EVIDENCE_SCHEMA`].
    pub schema: &'static str,
    /// When the bundle was written.
    pub generated_at: String,
    /// The store it came from (a file path, or a database URL without its password).
    pub store: String,
    /// Inclusive lower bound of record times, if any.
    pub from: Option<String>,
    /// Exclusive upper bound, if any.
    pub to: Option<String>,
    /// The whole ledger's verification at export time.
    pub ledger: LedgerState,
    /// First and last entry of the period.
    pub period_entries: Option<(i64, i64)>,
    /// Records per ledger kind (events per event kind as `event:<kind>`).
    pub counts: BTreeMap<String, u64>,
    /// Every control with the number of records mapped to it.
    pub controls: Vec<ControlEvidence>,
    /// Metrics over the period (from `from`).
    pub metrics: crate::metrics::Metrics,
    /// Every other file of the bundle with its size and sha256.
    pub files: Vec<FileDigest>,
}

/// The ledger as verified when the bundle was written.
#[derive(Debug, Clone, Serialize)]
pub struct LedgerState {
    /// No problem found.
    pub intact: bool,
    /// Entries verified.
    pub entries: u64,
    /// Seq and hash of the head.
    pub head: Option<(i64, String)>,
    /// The first problem.
    pub problem: Option<crate::Problem>,
}

/// A control and how many records of the bundle are evidence for it.
#[derive(Debug, Clone, Serialize)]
pub struct ControlEvidence {
    /// The control.
    #[serde(flatten)]
    pub control: Control,
    /// Records mapped to it.
    pub records: u64,
}

/// One file of the bundle.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileDigest {
    /// File name inside the bundle.
    pub name: String,
    /// Bytes.
    pub bytes: u64,
    /// Hex sha256.
    pub sha256: String,
}

/// Write the evidence bundle for `range` into `dir`, which must not exist yet (or be an
/// empty directory). `store_name` is what the manifest says the store is.
pub fn write_bundle(
    store: &mut Store,
    store_name: &str,
    range: TimeRange,
    dir: &Path,
) -> Result<Manifest, StoreError> {
    if dir.exists() {
        let empty = std::fs::read_dir(dir)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !empty {
            return Err(export_err(
                dir,
                "already exists and is not empty; choose a new directory",
            ));
        }
    }
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| export_err(parent, &e.to_string()))?;
    let tmp = tempdir_in(parent, dir)?;
    let result = write_into(store, store_name, range, &tmp.0);
    match result {
        Ok(m) => {
            if dir.exists() {
                std::fs::remove_dir(dir).map_err(|e| export_err(dir, &e.to_string()))?;
            }
            std::fs::rename(&tmp.0, dir).map_err(|e| export_err(dir, &e.to_string()))?;
            std::mem::forget(tmp);
            Ok(m)
        }
        Err(e) => Err(e),
    }
}

/// A temporary directory removed on drop unless forgotten.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir_in(parent: &Path, dir: &Path) -> Result<TempDir, StoreError> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "evidence".into());
    for i in 0..100u32 {
        let p = parent.join(format!(".{name}.partial-{}-{i}", std::process::id()));
        match std::fs::create_dir(&p) {
            Ok(()) => return Ok(TempDir(p)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(export_err(&p, &e.to_string())),
        }
    }
    Err(export_err(parent, "cannot create a temporary directory"))
}

fn export_err(path: &Path, message: &str) -> StoreError {
    StoreError::Export {
        path: path.to_path_buf(),
        message: message.to_owned(),
    }
}

/// A file of the bundle being written, hashed as it goes.
struct Out {
    name: &'static str,
    path: PathBuf,
    w: BufWriter<File>,
    hash: Sha256,
    bytes: u64,
}

impl Out {
    fn create(dir: &Path, name: &'static str) -> Result<Self, StoreError> {
        let path = dir.join(name);
        let f = File::create(&path).map_err(|e| export_err(&path, &e.to_string()))?;
        Ok(Out {
            name,
            path,
            w: BufWriter::new(f),
            hash: Sha256::new(),
            bytes: 0,
        })
    }

    fn write(&mut self, data: &[u8]) -> Result<(), StoreError> {
        self.hash.update(data);
        self.bytes += data.len() as u64;
        self.w
            .write_all(data)
            .map_err(|e| export_err(&self.path, &e.to_string()))
    }

    fn csv_row<S: AsRef<str>>(&mut self, cells: &[S]) -> Result<(), StoreError> {
        let mut line = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            csv_cell(&mut line, c.as_ref());
        }
        line.push_str("\r\n");
        self.write(line.as_bytes())
    }

    fn finish(mut self) -> Result<FileDigest, StoreError> {
        self.w
            .flush()
            .and_then(|()| self.w.get_ref().sync_all())
            .map_err(|e| export_err(&self.path, &e.to_string()))?;
        Ok(FileDigest {
            name: self.name.to_owned(),
            bytes: self.bytes,
            sha256: hex::encode(self.hash.finalize()),
        })
    }
}

/// RFC 4180 quoting, and a `'` before what a spreadsheet would evaluate as a formula.
fn csv_cell(out: &mut String, value: &str) {
    let guarded;
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        guarded = format!("'{value}");
        guarded.as_str()
    } else {
        value
    };
    if value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(value);
    }
}

fn text(v: &Value, pointer: &str) -> String {
    match v.pointer(pointer) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// How many of `list` to name in report.md per control.
const REPORT_EXAMPLES: usize = 10;

fn write_into(
    store: &mut Store,
    store_name: &str,
    range: TimeRange,
    dir: &Path,
) -> Result<Manifest, StoreError> {
    let verification = store.verify()?;
    let mut records = Out::create(dir, "records.jsonl")?;
    let mut ledger = Out::create(dir, "ledger.csv")?;
    ledger.csv_row(&[
        "seq",
        "time",
        "kind",
        "record_id",
        "record_hash",
        "prev_hash",
        "hash",
        "controls",
    ])?;
    let mut scans = Out::create(dir, "scans.csv")?;
    scans.csv_row(&[
        "seq",
        "time",
        "scanner",
        "target",
        "critical",
        "high",
        "medium",
        "low",
        "info",
        "suppressed",
        "fail_on",
        "gate_passed",
    ])?;
    let mut findings = Out::create(dir, "findings.csv")?;
    findings.csv_row(&[
        "seq",
        "time",
        "scanner",
        "target",
        "rule_id",
        "severity",
        "fingerprint",
        "package",
        "advisory",
        "location",
        "suppressed",
    ])?;
    let mut runs = Out::create(dir, "pipeline-runs.csv")?;
    runs.csv_row(&[
        "seq",
        "started_at",
        "run_id",
        "pipeline",
        "source_commit",
        "status",
        "duration_ms",
        "isolation",
        "steps",
        "failed_gates",
    ])?;
    let mut gates = Out::create(dir, "gate-decisions.csv")?;
    gates.csv_row(&[
        "seq", "run_id", "step", "scanner", "fail_on", "passed", "summary",
    ])?;
    let mut events = Out::create(dir, "events.csv")?;
    events.csv_row(&["seq", "time", "kind", "controls", "body"])?;

    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_control: BTreeMap<&'static str, (u64, Vec<String>)> = BTreeMap::new();
    let mut first_last: Option<(i64, i64)> = None;
    store.for_each_entry(range, |entry: LedgerEntry, body: Option<String>| {
        first_last = Some(first_last.map_or((entry.seq, entry.seq), |(a, _)| (a, entry.seq)));
        let record: Value = body
            .as_deref()
            .and_then(|b| serde_json::from_str(b).ok())
            .unwrap_or(Value::Null);
        let controls = controls_for(&entry.kind, &record);
        let summary = describe(&entry, &record);
        for c in &controls {
            let slot = per_control.entry(c).or_default();
            slot.0 += 1;
            if slot.1.len() < REPORT_EXAMPLES {
                slot.1.push(summary.clone());
            }
        }
        let count_key = if entry.kind == KIND_EVENT {
            format!("event:{}", text(&record, "/kind"))
        } else {
            entry.kind.clone()
        };
        *counts.entry(count_key).or_default() += 1;
        ledger.csv_row(&[
            entry.seq.to_string(),
            entry.time.clone(),
            entry.kind.clone(),
            entry.record_id.to_string(),
            entry.record_hash.clone(),
            entry.prev_hash.clone(),
            entry.hash.clone(),
            controls.join(" "),
        ])?;
        let seq = entry.seq.to_string();
        match entry.kind.as_str() {
            KIND_SCAN_REPORT => {
                let sum = |k: &str| text(&record, &format!("/summary/{k}"));
                scans.csv_row(&[
                    seq.clone(),
                    entry.time.clone(),
                    text(&record, "/scanner"),
                    text(&record, "/target"),
                    sum("critical"),
                    sum("high"),
                    sum("medium"),
                    sum("low"),
                    sum("info"),
                    sum("suppressed"),
                    text(&record, "/gate/fail_on"),
                    text(&record, "/gate/passed"),
                ])?;
                for f in record
                    .get("findings")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let package = match f.get("package") {
                        Some(p) if p.is_object() => format!(
                            "{}/{}@{}",
                            text(p, "/ecosystem"),
                            text(p, "/name"),
                            text(p, "/version")
                        ),
                        _ => String::new(),
                    };
                    let mut location = text(f, "/location/path");
                    let line = text(f, "/location/start_line");
                    if !line.is_empty() {
                        location = format!("{location}:{line}");
                    }
                    findings.csv_row(&[
                        seq.clone(),
                        entry.time.clone(),
                        text(&record, "/scanner"),
                        text(&record, "/target"),
                        text(f, "/rule_id"),
                        text(f, "/severity"),
                        text(f, "/fingerprint"),
                        package,
                        text(f, "/advisory/id"),
                        location,
                        (f.get("suppressed").is_some_and(|s| !s.is_null())).to_string(),
                    ])?;
                }
            }
            KIND_PIPELINE_RUN => {
                let steps = record
                    .get("steps")
                    .and_then(Value::as_array)
                    .map_or(&[][..], Vec::as_slice);
                let failed = steps
                    .iter()
                    .filter(|s| s.pointer("/gate/passed") == Some(&Value::Bool(false)))
                    .count();
                runs.csv_row(&[
                    seq.clone(),
                    entry.time.clone(),
                    text(&record, "/id"),
                    text(&record, "/pipeline"),
                    text(&record, "/source_commit"),
                    text(&record, "/status"),
                    text(&record, "/duration_ms"),
                    text(&record, "/isolation"),
                    steps.len().to_string(),
                    failed.to_string(),
                ])?;
                for s in steps.iter().filter(|s| s.get("gate").is_some()) {
                    gates.csv_row(&[
                        seq.clone(),
                        text(&record, "/id"),
                        text(s, "/name"),
                        text(s, "/gate/scanner"),
                        text(s, "/gate/fail_on"),
                        text(s, "/gate/passed"),
                        text(s, "/gate/summary"),
                    ])?;
                }
            }
            _ => {
                events.csv_row(&[
                    seq.clone(),
                    entry.time.clone(),
                    text(&record, "/kind"),
                    controls.join(" "),
                    text(&record, "/body"),
                ])?;
            }
        }
        let line = serde_json::json!({
            "entry": entry,
            "controls": controls,
            "record": record,
        });
        let mut bytes = serde_json::to_vec(&line).map_err(|e| export_err(dir, &e.to_string()))?;
        bytes.push(b'\n');
        records.write(&bytes)?;
        Ok::<(), StoreError>(())
    })?;

    let metrics = store.metrics(range.from)?;
    let mut files = Vec::new();
    for out in [records, ledger, scans, findings, runs, gates, events] {
        files.push(out.finish()?);
    }
    let controls: Vec<ControlEvidence> = CONTROLS
        .iter()
        .map(|c| ControlEvidence {
            control: *c,
            records: per_control.get(c.id).map_or(0, |x| x.0),
        })
        .collect();
    let mut manifest = Manifest {
        schema: EVIDENCE_SCHEMA,
        generated_at: crate::now(),
        store: store_name.to_owned(),
        from: range.from.map(crate::fmt_time),
        to: range.to.map(crate::fmt_time),
        ledger: LedgerState {
            intact: verification.problem.is_none(),
            entries: verification.entries,
            head: verification.head.clone(),
            problem: verification.problem.clone(),
        },
        period_entries: first_last,
        counts,
        controls,
        metrics,
        files,
    };
    let report = render_report(&manifest, &per_control);
    let mut md = Out::create(dir, "report.md")?;
    md.write(report.as_bytes())?;
    manifest.files.push(md.finish()?);
    let mut json =
        serde_json::to_vec_pretty(&manifest).map_err(|e| export_err(dir, &e.to_string()))?;
    json.push(b'\n');
    let path = dir.join(MANIFEST_FILE);
    std::fs::write(&path, json).map_err(|e| export_err(&path, &e.to_string()))?;
    Ok(manifest)
}

/// One line naming a record, for report.md.
fn describe(entry: &LedgerEntry, record: &Value) -> String {
    let what = match entry.kind.as_str() {
        KIND_SCAN_REPORT => format!(
            "{} scan of {}: gate {}",
            text(record, "/scanner"),
            text(record, "/target"),
            if record.pointer("/gate/passed") == Some(&Value::Bool(true)) {
                "passed"
            } else {
                "failed"
            }
        ),
        KIND_PIPELINE_RUN => format!(
            "pipeline {} run {} at {}: {}",
            text(record, "/pipeline"),
            text(record, "/id"),
            text(record, "/source_commit"),
            text(record, "/status"),
        ),
        _ => {
            let kind = text(record, "/kind");
            let body = record.get("body").cloned().unwrap_or(Value::Null);
            let pick = |k: &str| text(&body, &format!("/{k}"));
            match kind.as_str() {
                "admission" => format!(
                    "admission {} {} {}/{} by {}: {}",
                    pick("operation"),
                    pick("kind"),
                    pick("namespace"),
                    pick("name"),
                    pick("user"),
                    if body.get("allowed") == Some(&Value::Bool(false)) {
                        "denied"
                    } else {
                        "allowed"
                    }
                ),
                "gitops-sync" => format!(
                    "sync of {} to {}: {}",
                    pick("app"),
                    pick("commit"),
                    pick("result")
                ),
                "drift" => format!(
                    "drift of {} in {}: {}{}",
                    pick("object"),
                    pick("app"),
                    pick("kind"),
                    if body.get("healed") == Some(&Value::Bool(true)) {
                        ", healed"
                    } else {
                        ""
                    }
                ),
                "runtime-alert" => format!("runtime alert {}: {}", pick("rule"), pick("message")),
                _ => format!("{kind} event"),
            }
        }
    };
    // report.md is Markdown: keep record text from becoming markup or links.
    let safe: String = what
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("seq {} ({}): {}", entry.seq, entry.time, md_escape(&safe))
}

fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '!' | '(' | ')'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn render_report(m: &Manifest, per_control: &BTreeMap<&'static str, (u64, Vec<String>)>) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let period = match (&m.from, &m.to) {
        (None, None) => "all records".to_string(),
        (Some(f), None) => format!("from {f}"),
        (None, Some(t)) => format!("before {t}"),
        (Some(f), Some(t)) => format!("from {f} to {t} (exclusive)"),
    };
    let _ = writeln!(s, "# shipgate audit evidence\n");
    let _ = writeln!(s, "- Period: {period}");
    let _ = writeln!(s, "- Generated: {}", m.generated_at);
    let _ = writeln!(s, "- Store: `{}`", m.store.replace('`', "'"));
    match &m.period_entries {
        Some((a, b)) => {
            let _ = writeln!(s, "- Ledger entries in the period: {a} to {b}");
        }
        None => {
            let _ = writeln!(s, "- Ledger entries in the period: none");
        }
    }
    let _ = writeln!(s, "\n## Integrity\n");
    match (&m.ledger.problem, &m.ledger.head) {
        (None, Some((seq, hash))) => {
            let _ = writeln!(
                s,
                "The whole ledger verified intact when this bundle was written: {} entries, \
                 head seq {seq}, hash `{hash}`. Each entry hashes the previous one and its \
                 record, so keeping this head (or a signed checkpoint of it) lets a later \
                 `shipgate audit verify --anchor {seq}:{hash}` prove that nothing up to it \
                 was changed.",
                m.ledger.entries
            );
        }
        (None, None) => {
            let _ = writeln!(s, "The ledger is empty.");
        }
        (Some(p), _) => {
            let _ = writeln!(
                s,
                "**THE LEDGER FAILED VERIFICATION** at seq {}: {}. Records from that entry \
                 on cannot be relied on.",
                p.seq,
                md_escape(&p.message)
            );
        }
    }
    let _ = writeln!(s, "\n## Metrics over the period\n");
    let mt = &m.metrics;
    match mt.build_success_rate {
        Some(r) => {
            let _ = writeln!(
                s,
                "- Build success rate: {:.1}% ({} of {} pipeline runs)",
                r * 100.0,
                mt.runs_passed,
                mt.runs_total
            );
        }
        None => {
            let _ = writeln!(s, "- Build success rate: no pipeline runs");
        }
    }
    let _ = writeln!(s, "- Failed gates: {}", mt.gate_failures);
    let _ = writeln!(s, "- Drift events: {}", mt.drift_events);
    let _ = writeln!(s, "- Admission denials: {}", mt.admission_denials);
    let _ = writeln!(s, "- Runtime alerts: {}", mt.runtime_alerts);
    let _ = writeln!(
        s,
        "\n| Severity | Fixed | Open | Mean time to remediation |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|");
    for x in &mt.mttr {
        let mean = x
            .mean_seconds
            .map_or_else(|| "-".into(), |v| format!("{:.1} h", v / 3600.0));
        let _ = writeln!(s, "| {} | {} | {} | {mean} |", x.severity, x.fixed, x.open);
    }
    let _ = writeln!(s, "\n## Controls\n");
    let _ = writeln!(s, "| Control | Framework | Subject | Records |");
    let _ = writeln!(s, "|---|---|---|---:|");
    for c in &m.controls {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            c.control.id, c.control.framework, c.control.title, c.records
        );
    }
    for c in &m.controls {
        let _ = writeln!(s, "\n### {}: {}\n", c.control.id, c.control.title);
        let _ = writeln!(s, "Evidence: {}.\n", c.control.evidence);
        match per_control.get(c.control.id) {
            None => {
                let _ = writeln!(s, "No records in this period.");
            }
            Some((n, examples)) => {
                let _ = writeln!(
                    s,
                    "{n} record(s); the first {} are listed, all are in `ledger.csv` (column \
                     `controls`) and `records.jsonl`.\n",
                    examples.len()
                );
                for e in examples {
                    let _ = writeln!(s, "- {e}");
                }
            }
        }
    }
    let _ = writeln!(s, "\n## Files\n");
    let _ = writeln!(s, "| File | Bytes | sha256 |");
    let _ = writeln!(s, "|---|---:|---|");
    for f in &m.files {
        let _ = writeln!(s, "| {} | {} | `{}` |", f.name, f.bytes, f.sha256);
    }
    let _ = writeln!(
        s,
        "\n`evidence.json` lists every file with its sha256 (this report included); a signed \
         bundle has `evidence.dsse.json`, an in-toto statement over those files, checked by \
         `shipgate audit verify-export`."
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_neutralised() {
        let mut s = String::new();
        csv_cell(&mut s, "plain");
        s.push('|');
        csv_cell(&mut s, "a,b");
        s.push('|');
        csv_cell(&mut s, "say \"hi\"");
        s.push('|');
        csv_cell(&mut s, "=HYPERLINK(\"x\")");
        s.push('|');
        csv_cell(&mut s, "-1");
        assert_eq!(
            s,
            "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"'=HYPERLINK(\"\"x\"\")\"|'-1"
        );
    }

    #[test]
    fn controls_follow_the_record() {
        let scan = serde_json::json!({"scanner": "deps"});
        assert_eq!(
            controls_for(KIND_SCAN_REPORT, &scan),
            ["SOC2-CC7.1", "ISO27001-A.8.8"]
        );
        let cfg = serde_json::json!({"scanner": "config"});
        assert_eq!(
            controls_for(KIND_SCAN_REPORT, &cfg),
            ["SOC2-CC7.1", "ISO27001-A.8.9"]
        );
        let denied = serde_json::json!({"kind": "admission", "body": {"allowed": false}});
        assert!(controls_for(KIND_EVENT, &denied).contains(&"SOC2-CC7.2"));
        let allowed = serde_json::json!({"kind": "admission", "body": {"allowed": true}});
        assert!(!controls_for(KIND_EVENT, &allowed).contains(&"SOC2-CC7.2"));
        let run = serde_json::json!({"steps": [{"gate": {"passed": false}}]});
        assert_eq!(
            controls_for(KIND_PIPELINE_RUN, &run),
            ["SOC2-CC8.1", "SOC2-CC7.2", "ISO27001-A.8.32"]
        );
        // Every id used is a documented control.
        for id in ["SOC2-CC7.1", "SOC2-CC7.2", "SOC2-CC8.1"] {
            assert!(CONTROLS.iter().any(|c| c.id == id));
        }
        assert!(controls_for(KIND_EVENT, &serde_json::json!({"kind": "other"})).is_empty());
    }

    #[test]
    fn markdown_in_records_is_escaped() {
        assert_eq!(md_escape("[x](http://e)"), "\\[x\\]\\(http://e\\)");
        assert_eq!(md_escape("<script>"), "\\<script\\>");
    }
}
