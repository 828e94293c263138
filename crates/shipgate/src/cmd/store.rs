//! `shipgate store ingest`, `shipgate audit verify`.

use anyhow::Context;
use shipgate_store::metrics::human_duration;
use shipgate_store::{Location, Store};

use crate::cli::{
    AuditCommand, AuditVerifyArgs, DatabaseArgs, StoreCommand, StoreIngestArgs, SummaryFormat,
};
use crate::env;

/// The store: `--database PATH|sqlite:PATH|postgres://...` (or `$SHIPGATE_DATABASE`), else
/// `$SHIPGATE_DATA_DIR/shipgate.db`.
pub fn location(a: &DatabaseArgs) -> anyhow::Result<Location> {
    match a.database.as_deref().filter(|d| !d.is_empty()) {
        Some(d) => Location::parse(d).map_err(|e| anyhow::anyhow!("--database: {e}")),
        None => Ok(Location::Sqlite(
            env::data_dir().join(shipgate_store::DB_FILE_NAME),
        )),
    }
}

/// Where the store is, with the directory of a SQLite file created (the file itself is
/// created when it is opened).
pub fn location_created(a: &DatabaseArgs) -> anyhow::Result<Location> {
    let loc = location(a)?;
    if let Location::Sqlite(path) = &loc
        && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    Ok(loc)
}

/// Open (creating the SQLite file and its directory if needed) the store.
pub fn open(a: &DatabaseArgs) -> anyhow::Result<Store> {
    Ok(Store::connect_to(&location_created(a)?)?)
}

/// Opens the store and runs `f` with it on a thread of its own, for callers inside an async
/// runtime: the PostgreSQL client blocks on a private runtime, which panics when started from
/// within another one.
pub fn with_store_off_runtime<T: Send>(
    a: &DatabaseArgs,
    f: impl FnOnce(&mut Store) -> anyhow::Result<T> + Send,
) -> anyhow::Result<T> {
    std::thread::scope(|s| {
        s.spawn(|| f(&mut open(a)?))
            .join()
            .map_err(|_| anyhow::anyhow!("the store thread panicked"))?
    })
}

/// Open a store that must already exist (verify, export, checkpoint read; they never create
/// an empty database by mistake).
pub fn open_existing(a: &DatabaseArgs) -> anyhow::Result<Store> {
    let loc = location(a)?;
    if let Location::Sqlite(path) = &loc
        && !path.exists()
    {
        anyhow::bail!(
            "{}: no store database (record something first, or pass --database)",
            path.display()
        );
    }
    Ok(Store::connect_to(&loc)?)
}

/// How the store is named in outputs (never with a password).
pub fn display_name(a: &DatabaseArgs) -> anyhow::Result<String> {
    Ok(location(a)?.display_name())
}

/// Run a `store` subcommand.
pub fn run(cmd: StoreCommand) -> anyhow::Result<i32> {
    match cmd {
        StoreCommand::Ingest(a) => ingest(a),
    }
}

/// Run an `audit` subcommand.
pub fn audit(cmd: AuditCommand) -> anyhow::Result<i32> {
    match cmd {
        AuditCommand::Verify(a) => verify(a),
        AuditCommand::Checkpoint(a) => super::audit::checkpoint(a),
        AuditCommand::Export(a) => super::audit::export(a),
        AuditCommand::VerifyExport(a) => super::audit::verify_export(a),
    }
}

/// `shipgate report`: metrics from the store.
pub fn report(a: crate::cli::MetricsReportArgs) -> anyhow::Result<i32> {
    use std::io::Write as _;
    let since = match a
        .since
        .as_deref()
        .map(shipgate_store::parse_time)
        .transpose()
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: --since: {e}");
            return Ok(2);
        }
    };
    let mut store = match open(&a.database) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(2);
        }
    };
    let m = match store.metrics(since) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(2);
        }
    };
    let mut out = std::io::stdout().lock();
    if a.format == crate::cli::SummaryFormat::Json {
        writeln!(out, "{}", serde_json::to_string_pretty(&m)?)?;
        return Ok(0);
    }
    match m.build_success_rate {
        Some(r) => writeln!(
            out,
            "build success rate: {:.1}% ({} of {} runs)",
            r * 100.0,
            m.runs_passed,
            m.runs_total
        )?,
        None => writeln!(out, "build success rate: no pipeline runs recorded")?,
    }
    writeln!(
        out,
        "drift events: {}   admission denials: {}   failed gates: {}   runtime alerts: {}",
        m.drift_events, m.admission_denials, m.gate_failures, m.runtime_alerts
    )?;
    writeln!(out, "\nmean time to remediation")?;
    writeln!(
        out,
        "{:<10} {:>6} {:>6} {:>12}",
        "SEVERITY", "FIXED", "OPEN", "MTTR"
    )?;
    for x in &m.mttr {
        let mttr = x
            .mean_seconds
            .map_or_else(|| "-".to_string(), human_duration);
        writeln!(
            out,
            "{:<10} {:>6} {:>6} {:>12}",
            x.severity, x.fixed, x.open, mttr
        )?;
    }
    writeln!(out, "\nfindings per day (latest scan of each target)")?;
    writeln!(
        out,
        "{:<10} {:>8} {:>6} {:>6} {:>6} {:>6}",
        "DAY", "CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"
    )?;
    for d in &m.findings_by_day {
        writeln!(
            out,
            "{:<10} {:>8} {:>6} {:>6} {:>6} {:>6}",
            d.day, d.critical, d.high, d.medium, d.low, d.info
        )?;
    }
    Ok(0)
}

fn ingest(a: StoreIngestArgs) -> anyhow::Result<i32> {
    let time = a
        .time
        .as_deref()
        .map(shipgate_store::parse_time)
        .transpose()?;
    let mut store = open(&a.database)?;
    let mut code = 0;
    let mut done = Vec::new();
    for f in &a.files {
        let name = f.display().to_string();
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {name}: cannot read: {e}");
                code = 2;
                continue;
            }
        };
        match store.ingest_json(&name, &text, time) {
            Ok(r) => done.push((name, r)),
            Err(e) if e.is_connection() => {
                // The database is gone: the other files would fail the same way.
                eprintln!("error: {name}: not recorded: {e}");
                code = 2;
                break;
            }
            Err(e) => {
                eprintln!("error: {e}");
                code = 2;
            }
        }
    }
    match a.format {
        SummaryFormat::Json => {
            let items: Vec<_> = done
                .iter()
                .map(|(n, r)| serde_json::json!({"file": n, "kind": r.kind, "record_id": r.record_id, "seq": r.seq}))
                .collect();
            let v = serde_json::json!({"database": store.name(), "recorded": items});
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        SummaryFormat::Table => {
            for (n, r) in &done {
                match r.seq {
                    Some(seq) => println!("{n}: {} {} (ledger seq {seq})", r.kind, r.record_id),
                    None => println!("{n}: {} {} already recorded", r.kind, r.record_id),
                }
            }
            println!(
                "{} of {} file(s) recorded in {}",
                done.len(),
                a.files.len(),
                store.name()
            );
        }
    }
    Ok(code)
}

fn verify(a: AuditVerifyArgs) -> anyhow::Result<i32> {
    let mut store = open_existing(&a.database)?;
    let mut anchors = a.anchor.clone();
    anchors.extend(super::audit::checkpoint_anchors(&a.checkpoint, &a.key)?);
    let mut v = store.verify()?;
    if v.problem.is_none() {
        for a in &anchors {
            let Some((seq, hash)) = a
                .split_once(':')
                .and_then(|(s, h)| Some((s.parse::<i64>().ok()?, h)))
            else {
                anyhow::bail!("--anchor {a:?}: expected SEQ:HASH as printed by `audit verify`");
            };
            let found = store.ledger_hash(seq)?;
            let message = match found {
                None => Some(format!(
                    "anchored entry {seq} is missing: the ledger was truncated or rewritten"
                )),
                Some(h) if h != hash => Some(format!(
                    "entry {seq} has hash {h}, the anchor says {hash}: the chain was rewritten"
                )),
                Some(_) => None,
            };
            if let Some(message) = message {
                v.problem = Some(shipgate_store::ledger::Problem { seq, message });
                break;
            }
        }
    }
    match a.format {
        SummaryFormat::Json => {
            let out = serde_json::json!({
                "database": display_name(&a.database)?,
                "intact": v.problem.is_none(),
                "entries": v.entries,
                "head": v.head.as_ref().map(|(seq, hash)| serde_json::json!({"seq": seq, "hash": hash})),
                "problem": v.problem,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        SummaryFormat::Table => match &v.problem {
            None => match &v.head {
                Some((seq, hash)) => println!(
                    "ledger intact: {} entries, head seq {seq} hash {hash}",
                    v.entries
                ),
                None => println!("ledger intact: empty"),
            },
            Some(p) => println!(
                "ledger TAMPERED at seq {}: {} ({} entries verified before it)",
                p.seq, p.message, v.entries
            ),
        },
    }
    Ok(if v.problem.is_none() { 0 } else { 1 })
}
