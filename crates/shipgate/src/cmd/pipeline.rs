//! `shipgate pipeline run | validate`.

use std::io::Write as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::PathBuf;

use anyhow::Context;
use shipgate_pipeline::kubernetes::KubeOptions;
use shipgate_pipeline::record::RunStatus;
use shipgate_pipeline::run::{Event, RunOptions};
use shipgate_pipeline::sandbox::Isolation;
use shipgate_pipeline::{Pipeline, StepStatus};

use crate::cli::{
    Executor, PipelineCommand, PipelineFileArgs, PipelineRunArgs, SandboxMode, SummaryFormat,
};
use crate::env;

/// Run a `pipeline` subcommand.
pub fn run(cmd: PipelineCommand) -> anyhow::Result<i32> {
    match cmd {
        PipelineCommand::Run(a) => run_pipeline(a),
        PipelineCommand::Validate(a) => validate(a),
    }
}

/// The pipeline file: `--file`, else `.shipgate/pipeline.yaml`, else `shipgate.yaml`.
fn pipeline_file(a: &PipelineFileArgs) -> PathBuf {
    if let Some(f) = &a.file {
        return f.clone();
    }
    let standalone = a.workspace.join(".shipgate").join("pipeline.yaml");
    if standalone.exists() {
        return standalone;
    }
    a.workspace.join(crate::settings::CONFIG_FILE_NAME)
}

/// Loads the pipeline; problems go to stderr, one per line with its position.
fn load(a: &PipelineFileArgs) -> Option<Pipeline> {
    match shipgate_pipeline::load(&pipeline_file(a)) {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!("error: {e}");
            None
        }
    }
}

fn validate(a: PipelineFileArgs) -> anyhow::Result<i32> {
    let Some(p) = load(&a) else { return Ok(2) };
    let mut out = std::io::stdout().lock();
    for s in &p.steps {
        let needs = if s.needs.is_empty() {
            String::new()
        } else {
            format!("  (needs {})", s.needs.join(", "))
        };
        writeln!(out, "{}{needs}", s.name)?;
    }
    eprintln!("{}: {} steps, valid", p.file.display(), p.steps.len());
    Ok(0)
}

/// What identifies the gate code and data: the shipgate binary and the vulnerability DB.
fn gate_key(exe: &std::path::Path) -> String {
    let stat = |p: &std::path::Path| {
        std::fs::metadata(p)
            .map(|m| {
                format!(
                    "{}:{}:{}.{}",
                    p.display(),
                    m.len(),
                    m.mtime(),
                    m.mtime_nsec()
                )
            })
            .unwrap_or_else(|_| format!("{}:missing", p.display()))
    };
    format!("{};{}", stat(exe), stat(&crate::cmd::db::db_path(None)))
}

fn run_pipeline(a: PipelineRunArgs) -> anyhow::Result<i32> {
    let Some(pipeline) = load(&a.file) else {
        return Ok(2);
    };
    let workspace = std::fs::canonicalize(&a.file.workspace)
        .with_context(|| format!("workspace {}", a.file.workspace.display()))?;
    let exe = std::env::current_exe().context("locating the shipgate binary")?;
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut base_env = vec![(
        env::SHIPGATE_CACHE_DIR.to_string(),
        env::cache_dir().display().to_string(),
    )];
    for k in ["NO_COLOR", "SHIPGATE_DB"] {
        if let Ok(v) = std::env::var(k) {
            base_env.push((k.to_string(), v));
        }
    }
    let opts = RunOptions {
        workspace,
        isolation: match a.sandbox {
            SandboxMode::Bubblewrap => Isolation::Bubblewrap,
            SandboxMode::None => Isolation::None,
        },
        gate_key: gate_key(&exe),
        shipgate_exe: exe,
        registry: shipgate_image::RegistryOptions {
            insecure_loopback: a.insecure_registry || pipeline.registry.insecure_loopback,
            ..Default::default()
        },
        jobs: a
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        no_cache: a.no_cache,
        base_env,
        epoch,
        kubernetes: (a.executor == Executor::Kubernetes).then(|| KubeOptions {
            kubeconfig: a.kubeconfig.clone(),
            context: a.context.clone(),
            namespace: a.namespace.clone(),
        }),
    };
    let quiet_json = a.format == SummaryFormat::Json;
    let mut on_event = |e: Event<'_>| match e {
        Event::Started(name) if !quiet_json => eprintln!("  ... {name}"),
        Event::Finished(r) => {
            let mark = match r.status {
                StepStatus::Passed => "ok",
                StepStatus::Cached => "cached",
                StepStatus::Failed => "FAILED",
                StepStatus::Error => "ERROR",
                StepStatus::Skipped => "skipped",
            };
            eprintln!("  {mark:>7} {} ({} ms)", r.name, r.duration_ms);
            if let Some(m) = &r.message {
                for line in m.lines() {
                    eprintln!("          {line}");
                }
            }
        }
        _ => {}
    };
    let record = match shipgate_pipeline::run(&pipeline, &opts, &mut on_event) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(2);
        }
    };
    let json = serde_json::to_string_pretty(&record)?;
    if let Some(path) = &a.record {
        std::fs::write(path, format!("{json}\n"))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if a.store {
        let value = serde_json::to_value(&record)?;
        let started = shipgate_store::parse_time(&record.started_at)?;
        let mut store = super::store::open(&a.database)?;
        store
            .insert_run(&record, &value, started)
            .with_context(|| format!("recording run {} in the store", record.id))?;
    }
    let mut out = std::io::stdout().lock();
    match a.format {
        SummaryFormat::Json => writeln!(out, "{json}")?,
        SummaryFormat::Table => {
            writeln!(
                out,
                "{:<24} {:<12} {:<8} {:>9}  DETAIL",
                "STEP", "KIND", "STATUS", "TIME"
            )?;
            for s in &record.steps {
                let detail = if let Some(i) = &s.image {
                    i.pushed.clone().unwrap_or_else(|| i.digest.clone())
                } else if let Some(g) = &s.gate {
                    format!(
                        "{} gate {} (fail-on {})",
                        g.scanner,
                        if g.passed { "passed" } else { "failed" },
                        g.fail_on
                    )
                } else {
                    String::new()
                };
                let status = format!("{:?}", s.status).to_lowercase();
                writeln!(
                    out,
                    "{:<24} {:<12} {:<8} {:>7}ms  {detail}",
                    s.name, s.kind, status, s.duration_ms
                )?;
            }
            writeln!(
                out,
                "run {} {:?} in {} ms",
                record.id, record.status, record.duration_ms
            )?;
        }
    }
    Ok(match record.status {
        RunStatus::Passed => 0,
        RunStatus::Failed => 1,
        RunStatus::Error => 2,
    })
}
