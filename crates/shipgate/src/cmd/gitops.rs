//! `shipgate gitops run | sync | diff | status | history | rollback | manifest`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use shipgate_gitops::agent::{Agent, AgentConfig, AgentEvent};
use shipgate_gitops::app::{self, Application};
use shipgate_gitops::cluster::Cluster;
use shipgate_gitops::git::{GitCache, GitLimits, redact};
use shipgate_gitops::history::{AppRecord, StateStore, SyncRecord, SyncResult};
use shipgate_gitops::leader::LeaseConfig;
use shipgate_gitops::manifest::{ManagedResource, ManifestOptions};
use shipgate_gitops::render::{RenderLimits, Tools};
use shipgate_gitops::sync::{Engine, SyncOptions, Trigger};
use shipgate_policy::PolicySet;

use crate::cli::{
    GitopsCommand, GitopsCommon, GitopsDiffArgs, GitopsFormat, GitopsHistoryArgs,
    GitopsManifestArgs, GitopsRollbackArgs, GitopsRunArgs, GitopsStatusArgs, GitopsSyncArgs,
};
use crate::{env, settings};

/// Run a `gitops` subcommand.
pub fn run(cmd: GitopsCommand) -> anyhow::Result<i32> {
    match cmd {
        GitopsCommand::Manifest(a) => manifest(a),
        other => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            rt.block_on(async move {
                match other {
                    GitopsCommand::Run(a) => agent(a).await,
                    GitopsCommand::Sync(a) => sync(a).await,
                    GitopsCommand::Diff(a) => diff(a).await,
                    GitopsCommand::Status(a) => status(a).await,
                    GitopsCommand::History(a) => history(a).await,
                    GitopsCommand::Rollback(a) => rollback(a).await,
                    GitopsCommand::Manifest(_) => unreachable_manifest(),
                }
            })
        }
    }
}

fn unreachable_manifest() -> anyhow::Result<i32> {
    bail!("internal: manifest is handled before the runtime starts")
}

/// Applications from `--apps`; every error (file, line) is reported and fails closed.
fn load_apps(common: &GitopsCommon, required: bool) -> anyhow::Result<Vec<Application>> {
    if common.apps.is_empty() {
        if required {
            bail!("give the application files with --apps FILE|DIR");
        }
        return Ok(Vec::new());
    }
    let loaded = app::load_paths(&common.apps);
    if !loaded.errors.is_empty() {
        let msgs: Vec<String> = loaded.errors.iter().map(ToString::to_string).collect();
        bail!("{}", msgs.join("\n"));
    }
    app::order(&loaded.apps).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(loaded.apps)
}

fn find(apps: Vec<Application>, name: &str) -> anyhow::Result<Application> {
    let names: Vec<String> = apps.iter().map(|a| a.name().to_string()).collect();
    apps.into_iter().find(|a| a.name() == name).ok_or_else(|| {
        anyhow::anyhow!(
            "no application named {name:?} in --apps (known: {})",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        )
    })
}

/// The policy gate: the same set as `scan config` and the webhook.
fn policy_set(common: &GitopsCommon) -> anyhow::Result<PolicySet> {
    let cwd = PathBuf::from(".");
    let cfg = settings::load(settings::discover(common.config.as_deref(), &cwd));
    if let Some(e) = cfg.errors.first() {
        bail!("{e}");
    }
    let paths = cfg.policy_paths(&common.policy);
    let (mut set, errors) = PolicySet::load(&paths);
    if !errors.is_empty() {
        let msgs: Vec<String> = errors.iter().map(ToString::to_string).collect();
        bail!("policies: {}", msgs.join("\n"));
    }
    if !common.no_builtin {
        set.set_builtin(cfg.file.config.resolve().context("config")?);
    }
    Ok(set)
}

async fn client(common: &GitopsCommon) -> anyhow::Result<kube::Client> {
    shipgate_kube::client(&shipgate_kube::ClientOptions {
        kubeconfig: common.kubeconfig.as_deref(),
        context: common.context.as_deref(),
        allow_insecure_tls: false,
    })
    .await
    .map_err(|e| anyhow::anyhow!("cannot reach the cluster: {e}"))
}

async fn engine(common: &GitopsCommon, limits: GitLimits) -> anyhow::Result<Engine> {
    let policy = policy_set(common)?;
    let client = client(common).await?;
    let cache = common
        .cache_dir
        .clone()
        .unwrap_or_else(|| env::cache_dir().join("gitops"));
    Ok(Engine {
        cluster: Cluster::new(client.clone()),
        git: Arc::new(GitCache::new(cache, limits)),
        tools: Tools::discover(),
        render_limits: RenderLimits::default(),
        policy: Arc::new(policy),
        store: StateStore::new(client, &common.state_namespace),
        default_secret_namespace: common.state_namespace.clone(),
        concurrency: common.concurrency.max(1),
    })
}

fn print_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn short(sha: Option<&str>) -> String {
    sha.map(|s| s.chars().take(12).collect())
        .unwrap_or_else(|| "-".into())
}

fn exit_code(result: SyncResult) -> i32 {
    match result {
        SyncResult::Succeeded => 0,
        SyncResult::Blocked | SyncResult::Refused => 1,
        SyncResult::Failed => 2,
    }
}

fn print_record(r: &SyncRecord) {
    println!("application  {}", r.app);
    println!("result       {}", r.result.as_str());
    println!("trigger      {}", r.trigger);
    println!(
        "revision     {} -> {}",
        r.revision,
        r.commit.as_deref().unwrap_or("-")
    );
    if let Some(a) = &r.author {
        println!("author       {a}");
    }
    if let Some(s) = &r.subject {
        println!("subject      {s}");
    }
    let o = &r.objects;
    println!(
        "objects      {} desired: {} created, {} configured, {} unchanged, {} pruned, {} failed",
        o.desired, o.created, o.configured, o.unchanged, o.pruned, o.failed
    );
    if let Some(h) = &r.health {
        println!("health       {h}");
    }
    if let Some(s) = &r.signature {
        println!(
            "signature    {}{}: {}",
            if s.verified { "verified" } else { "REFUSED" },
            s.signer
                .as_deref()
                .map(|x| format!(" ({x})"))
                .unwrap_or_default(),
            s.message
        );
    }
    println!(
        "policy       fail-on {}: {} finding(s){}",
        r.policy.fail_on,
        r.policy.total,
        if r.policy.blocked { ", BLOCKED" } else { "" }
    );
    for f in &r.policy.findings {
        println!(
            "  {:<8} {}  {}  {}: {}",
            f.severity, f.rule_id, f.location, f.object, f.message
        );
    }
    for c in &r.changes {
        match &c.message {
            Some(m) => println!("  {:<10} {}  ({m})", c.action, c.object),
            None => println!("  {:<10} {}", c.action, c.object),
        }
    }
    println!("duration     {:.2} s", r.duration_ms as f64 / 1000.0);
    if let Some(reason) = &r.reason {
        println!("reason       {reason}");
    }
}

fn finish_sync(
    outcome: shipgate_gitops::sync::SyncOutcome,
    format: GitopsFormat,
    record: &crate::cli::StoreRecordArgs,
) -> anyhow::Result<i32> {
    let r = &outcome.record;
    match format {
        GitopsFormat::Json => print_json(r)?,
        GitopsFormat::Table => print_record(r),
    }
    if let Some(e) = &outcome.store_error {
        eprintln!("shipgate gitops: the sync record could not be stored: {e}");
        return Ok(2);
    }
    if record.store
        && let Err(e) = store_sync(r, &record.database)
    {
        eprintln!("shipgate gitops: the sync was not recorded in the store: {e:#}");
        return Ok(2);
    }
    if let Some(reason) = &r.reason {
        eprintln!(
            "shipgate gitops: {}: {} ({reason})",
            r.app,
            r.result.as_str()
        );
    }
    Ok(exit_code(r.result))
}

/// `--store`: a `gitops-sync` event at the sync's start time.
fn store_sync(r: &SyncRecord, db: &crate::cli::DatabaseArgs) -> anyhow::Result<()> {
    let time = super::recorder::time_or_now(&r.started_at);
    let body = serde_json::to_value(r)?;
    super::store::with_store_off_runtime(db, |store| {
        store.insert_event(KIND_SYNC, time, &body)?;
        Ok(())
    })
}

/// Event kinds in the store.
const KIND_SYNC: &str = "gitops-sync";
const KIND_DRIFT: &str = "drift";

async fn sync(a: GitopsSyncArgs) -> anyhow::Result<i32> {
    let app = find(load_apps(&a.common, true)?, &a.app)?;
    let engine = engine(&a.common, GitLimits::default()).await?;
    if a.dry_run {
        let prepared = match engine.plan(&app, a.revision.as_deref()).await {
            Ok(p) => p,
            Err((result, reason)) => {
                match a.format {
                    GitopsFormat::Json => print_json(&serde_json::json!({
                        "app": app.name(), "result": result, "reason": reason,
                    }))?,
                    GitopsFormat::Table => println!(
                        "dry run of {}: the sync would be {}: {reason}",
                        app.name(),
                        if result == SyncResult::Failed {
                            "FAILED".to_string()
                        } else {
                            result.as_str().to_uppercase()
                        }
                    ),
                }
                return Ok(exit_code(result));
            }
        };
        let diffs = engine
            .diff(&app, a.revision.as_deref())
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        match a.format {
            GitopsFormat::Json => print_json(&serde_json::json!({
                "app": app.name(),
                "commit": prepared.commit.sha,
                "policy": prepared.policy,
                "signature": prepared.signature,
                "diff": diffs,
            }))?,
            GitopsFormat::Table => {
                println!(
                    "dry run of {} at {} ({}): {} object(s)",
                    app.name(),
                    prepared.commit.sha,
                    prepared.commit.subject,
                    prepared.objects.len()
                );
                println!(
                    "policy: fail-on {}: {} finding(s){}",
                    prepared.policy.fail_on,
                    prepared.policy.total,
                    if prepared.policy.blocked {
                        ", the sync would be BLOCKED"
                    } else {
                        ""
                    }
                );
                for f in &prepared.policy.findings {
                    println!(
                        "  {:<8} {}  {}  {}: {}",
                        f.severity, f.rule_id, f.location, f.object, f.message
                    );
                }
                print_diffs(&diffs);
            }
        }
        let refused = prepared.signature.as_ref().is_some_and(|s| !s.verified);
        return Ok(if prepared.policy.blocked || refused {
            1
        } else {
            0
        });
    }
    let opts = SyncOptions {
        trigger: Trigger::Manual,
        revision: a.revision.clone(),
        force_prune: a.prune,
        pin: None,
    };
    let outcome = engine.sync(&app, &opts).await;
    finish_sync(outcome, a.format, &a.record)
}

fn print_diffs(diffs: &[shipgate_gitops::sync::ObjectDiff]) {
    for d in diffs {
        if d.action == "unchanged" {
            continue;
        }
        println!("=== {} ({})", d.object, d.action);
        print!("{}", d.diff);
        if !d.diff.ends_with('\n') && !d.diff.is_empty() {
            println!();
        }
    }
}

async fn diff(a: GitopsDiffArgs) -> anyhow::Result<i32> {
    let app = find(load_apps(&a.common, true)?, &a.app)?;
    let engine = engine(&a.common, GitLimits::default()).await?;
    let diffs = engine
        .diff(&app, a.revision.as_deref())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let changed = diffs.iter().filter(|d| d.action != "unchanged").count();
    match a.format {
        GitopsFormat::Json => print_json(&diffs)?,
        GitopsFormat::Table => {
            print_diffs(&diffs);
            eprintln!(
                "shipgate gitops: {}: {changed} of {} object(s) differ",
                app.name(),
                diffs.len()
            );
        }
    }
    Ok(if changed > 0 { 1 } else { 0 })
}

#[derive(serde::Serialize)]
struct StatusRow {
    app: String,
    synced_commit: Option<String>,
    synced_at: Option<String>,
    pinned_commit: Option<String>,
    last_result: Option<SyncResult>,
    last_reason: Option<String>,
    last_sync: Option<String>,
    health: Option<String>,
    objects: usize,
    drift_events: usize,
    unhealed_drift: usize,
}

fn status_row(name: &str, rec: &AppRecord) -> StatusRow {
    let last = rec.history.last();
    StatusRow {
        app: name.to_string(),
        synced_commit: rec.state.synced_commit.clone(),
        synced_at: rec.state.synced_at.clone(),
        pinned_commit: rec.state.pinned_commit.clone(),
        last_result: last.map(|r| r.result),
        last_reason: last.and_then(|r| r.reason.clone()),
        last_sync: last.map(|r| r.started_at.clone()),
        health: last.and_then(|r| r.health).map(|h| h.to_string()),
        objects: rec.state.inventory.len(),
        drift_events: rec.drift.len(),
        unhealed_drift: rec.drift.iter().filter(|d| !d.healed).count(),
    }
}

async fn status(a: GitopsStatusArgs) -> anyhow::Result<i32> {
    let apps = load_apps(&a.common, a.names.is_empty())?;
    let mut names: Vec<String> = apps.iter().map(|x| x.name().to_string()).collect();
    if !a.names.is_empty() {
        names = a.names.clone();
    }
    let client = client(&a.common).await?;
    let store = StateStore::new(client, &a.common.state_namespace);
    let mut rows = Vec::new();
    let mut failed = false;
    for n in &names {
        match store.load(n).await {
            Ok(rec) => rows.push(status_row(n, &rec)),
            Err(e) => {
                eprintln!("shipgate gitops: {n}: {e}");
                failed = true;
            }
        }
    }
    match a.format {
        GitopsFormat::Json => print_json(&rows)?,
        GitopsFormat::Table => {
            println!(
                "{:<24} {:<13} {:<7} {:<10} {:<12} {:<25} {:>7} {:>6}",
                "APP", "COMMIT", "PINNED", "RESULT", "HEALTH", "LAST SYNC", "OBJECTS", "DRIFT"
            );
            for r in &rows {
                println!(
                    "{:<24} {:<13} {:<7} {:<10} {:<12} {:<25} {:>7} {:>6}",
                    r.app,
                    short(r.synced_commit.as_deref()),
                    if r.pinned_commit.is_some() {
                        "yes"
                    } else {
                        "-"
                    },
                    r.last_result.map(|x| x.as_str()).unwrap_or("never"),
                    r.health.as_deref().unwrap_or("-"),
                    r.last_sync.as_deref().unwrap_or("-"),
                    r.objects,
                    r.drift_events
                );
            }
        }
    }
    Ok(if failed { 2 } else { 0 })
}

async fn history(a: GitopsHistoryArgs) -> anyhow::Result<i32> {
    let client = client(&a.common).await?;
    let store = StateStore::new(client, &a.common.state_namespace);
    let rec = store
        .load(&a.app)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let records: Vec<&SyncRecord> = rec.history.iter().rev().take(a.limit).collect();
    let drift: Vec<_> = rec.drift.iter().rev().take(a.limit).collect();
    match a.format {
        GitopsFormat::Json => {
            if a.drift {
                print_json(&serde_json::json!({"syncs": records, "drift": drift}))?
            } else {
                print_json(&records)?
            }
        }
        GitopsFormat::Table => {
            if records.is_empty() {
                eprintln!("shipgate gitops: {}: no recorded syncs", a.app);
            }
            println!(
                "{:<25} {:<10} {:<14} {:<13} {:<10} {:>8}  {:<28} REASON",
                "STARTED", "TRIGGER", "REVISION", "COMMIT", "RESULT", "SECONDS", "OBJECTS"
            );
            for r in &records {
                let o = &r.objects;
                println!(
                    "{:<25} {:<10} {:<14} {:<13} {:<10} {:>8.2}  {:<28} {}",
                    r.started_at,
                    r.trigger,
                    r.revision.chars().take(14).collect::<String>(),
                    short(r.commit.as_deref()),
                    r.result.as_str(),
                    r.duration_ms as f64 / 1000.0,
                    format!(
                        "+{} ~{} ={} -{} !{}",
                        o.created, o.configured, o.unchanged, o.pruned, o.failed
                    ),
                    r.reason.as_deref().unwrap_or("")
                );
            }
            if a.drift {
                println!();
                println!(
                    "{:<25} {:<40} {:<8} {:<7} FIELDS (manager)",
                    "DETECTED", "OBJECT", "KIND", "HEALED"
                );
                for d in &drift {
                    let fields: Vec<String> = d
                        .fields
                        .iter()
                        .map(|f| format!("{} ({})", f.field, f.manager.as_deref().unwrap_or("?")))
                        .collect();
                    println!(
                        "{:<25} {:<40} {:<8} {:<7} {}{}",
                        d.detected_at,
                        d.object,
                        d.kind,
                        if d.healed { "yes" } else { "no" },
                        fields.join(", "),
                        d.note
                            .as_deref()
                            .map(|n| format!("  [{n}]"))
                            .unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok(0)
}

async fn rollback(a: GitopsRollbackArgs) -> anyhow::Result<i32> {
    let app = find(load_apps(&a.common, true)?, &a.app)?;
    let engine = engine(&a.common, GitLimits::default()).await?;
    let rec = engine
        .store
        .load(app.name())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let target = match &a.to {
        Some(rev) => rev.clone(),
        None => {
            let current = rec.state.synced_commit.clone();
            rec.history
                .iter()
                .rev()
                .filter(|r| r.result == SyncResult::Succeeded)
                .filter_map(|r| r.commit.clone())
                .find(|c| Some(c) != current.as_ref())
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "{}: no earlier successful sync to roll back to; give --to REV",
                        app.name()
                    )
                })?
        }
    };
    // Resolve the revision to a commit first, so the pin names a commit, not a branch.
    let prepared = engine
        .prepare(&app, Some(&target))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let commit = prepared.commit.sha.clone();
    drop(prepared);
    let opts = SyncOptions {
        trigger: Trigger::Rollback,
        revision: Some(commit.clone()),
        force_prune: false,
        pin: Some(commit),
    };
    let outcome = engine.sync(&app, &opts).await;
    finish_sync(outcome, a.format, &a.record)
}

fn identity() -> String {
    if let Ok(p) = std::env::var("POD_NAME")
        && !p.is_empty()
    {
        return p;
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "shipgate".into());
    format!("{host}-{}", std::process::id())
}

/// Syncs and drift go to the store; the rest is operational noise.
fn record_event(rec: &super::recorder::RecorderHandle, e: &AgentEvent) {
    let (kind, time, body) = match e {
        AgentEvent::Synced(r) => (KIND_SYNC, &r.started_at, serde_json::to_value(r)),
        AgentEvent::Drift(d) => (KIND_DRIFT, &d.detected_at, serde_json::to_value(d)),
        _ => return,
    };
    if let Ok(body) = body {
        rec.event(kind, super::recorder::time_or_now(time), body);
    }
}

fn print_event(e: &AgentEvent, json: bool) {
    let line = match e {
        AgentEvent::Listening(addr) => {
            serde_json::json!({"event": "listening", "addr": addr.to_string()})
        }
        AgentEvent::AppsLoaded { count } => {
            serde_json::json!({"event": "apps-loaded", "count": count})
        }
        AgentEvent::Leader(l) => serde_json::json!({"event": "leader", "leading": l}),
        AgentEvent::Synced(r) => serde_json::json!({"event": "synced", "record": r}),
        AgentEvent::Drift(d) => serde_json::json!({"event": "drift", "drift": d}),
        AgentEvent::Error { app, message } => {
            serde_json::json!({"event": "error", "app": app, "message": redact(message)})
        }
    };
    if json {
        eprintln!("{line}");
        return;
    }
    match e {
        AgentEvent::Listening(addr) => {
            eprintln!("gitops: serving http://{addr}/metrics, /healthz, /readyz")
        }
        AgentEvent::AppsLoaded { count } => eprintln!("gitops: {count} application(s) loaded"),
        AgentEvent::Leader(true) => eprintln!("gitops: leading (acting on the cluster)"),
        AgentEvent::Leader(false) => eprintln!("gitops: standing by (another replica leads)"),
        AgentEvent::Synced(r) => eprintln!(
            "gitops: {} sync {} at {} ({}): {} created, {} configured, {} pruned, {} failed in {:.2} s{}",
            r.app,
            r.result.as_str(),
            short(r.commit.as_deref()),
            r.trigger,
            r.objects.created,
            r.objects.configured,
            r.objects.pruned,
            r.objects.failed,
            r.duration_ms as f64 / 1000.0,
            r.reason
                .as_deref()
                .map(|x| format!(": {x}"))
                .unwrap_or_default()
        ),
        AgentEvent::Drift(d) => {
            let fields: Vec<String> = d
                .fields
                .iter()
                .map(|f| format!("{} by {}", f.field, f.manager.as_deref().unwrap_or("?")))
                .collect();
            eprintln!(
                "gitops: {} drift of {} ({}): {}; {}",
                d.app,
                d.object,
                d.kind,
                if fields.is_empty() {
                    "-".into()
                } else {
                    fields.join(", ")
                },
                if d.healed {
                    format!("healed in {} ms", d.heal_ms.unwrap_or(0))
                } else {
                    format!(
                        "not healed ({})",
                        d.note.as_deref().unwrap_or("self-heal off")
                    )
                }
            )
        }
        AgentEvent::Error { app, message } => eprintln!(
            "gitops: error{}: {}",
            app.as_deref()
                .map(|a| format!(" in {a}"))
                .unwrap_or_default(),
            redact(message)
        ),
    }
}

async fn agent(a: GitopsRunArgs) -> anyhow::Result<i32> {
    if a.common.apps.is_empty() && a.crd_namespace.is_none() {
        bail!("give application files with --apps FILE|DIR, or --crd-namespace NS");
    }
    let json = match a.log_format.as_str() {
        "text" => false,
        "json" => true,
        other => bail!("--log-format: {other:?} is not text or json"),
    };
    // Validate the application files before touching the cluster: fail closed on any error.
    load_apps(&a.common, false)?;
    let limits = GitLimits {
        resolve_memo: Duration::from_secs(3),
        ..GitLimits::default()
    };
    let engine = engine(&a.common, limits).await?;
    let lease = a
        .leader_elect
        .then(|| LeaseConfig::new(&a.common.state_namespace, &identity()));
    let config = AgentConfig {
        app_paths: a.common.apps.clone(),
        crd_namespace: a.crd_namespace.clone(),
        lease,
        listen: Some(a.listen),
        max_parallel_syncs: a.max_parallel_syncs.max(1),
    };
    let recorder = if a.record.store {
        Some(super::recorder::Recorder::start(
            &a.record.database,
            "gitops",
        )?)
    } else {
        None
    };
    let to_store = recorder.as_ref().map(super::recorder::Recorder::sender);
    let agent = Agent::new(
        engine,
        config,
        Arc::new(move |e: AgentEvent| {
            if let Some(rec) = &to_store {
                record_event(rec, &e);
            }
            print_event(&e, json)
        }),
    );
    let (stop, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        super::shutdown_signal().await;
        let _ = stop.send(true);
    });
    let result = agent.run(rx).await.map_err(|e| anyhow::anyhow!("{e}"));
    drop(agent);
    let lost = recorder.map_or(0, super::recorder::Recorder::close);
    result?;
    eprintln!("gitops: stopped");
    if lost > 0 {
        eprintln!("gitops: {lost} event(s) could not be recorded in the store");
        return Ok(2);
    }
    Ok(0)
}

fn manifest(a: GitopsManifestArgs) -> anyhow::Result<i32> {
    let mut o = ManifestOptions::new(&a.image);
    o.namespace = a.namespace.clone();
    if !a.resources.is_empty() {
        o.resources = a
            .resources
            .iter()
            .map(|r| r.parse::<ManagedResource>())
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!("--resource {e}"))?;
    }
    o.secrets = a.secrets.clone();
    o.create_namespaces = a.create_namespaces;
    o.replicas = a.replicas;
    if !a.apps.is_empty() {
        let loaded = app::load_paths(&a.apps);
        if !loaded.errors.is_empty() {
            let msgs: Vec<String> = loaded.errors.iter().map(ToString::to_string).collect();
            bail!("{}", msgs.join("\n"));
        }
        for path in files_of(&a.apps)? {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "apps.yaml".into());
            o.app_files.push((name, text));
        }
    }
    print!(
        "{}",
        shipgate_gitops::manifest::render(&o).map_err(|e| anyhow::anyhow!("{e}"))?
    );
    Ok(0)
}

/// The YAML files named by `--apps` (directories: their `.yaml`/`.yml` files, sorted).
fn files_of(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot read {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            v.sort();
            out.extend(v);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}
