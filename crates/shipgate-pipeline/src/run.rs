//! The runner: schedules the DAG (independent steps in parallel, up to `jobs`), computes
//! cache keys, runs each step in the sandbox with its outputs staged, moves outputs into place
//! only when the step passed, and writes the run record.
//!
//! State lives in `<workspace>/.shipgate/`: `cache/` (step cache and stat cache), `logs/<run>/`
//! (one log per step), `artifacts/<step>/` (reports and other files a step leaves for later
//! steps, cached like outputs), `work/` (staging, removed after the run) and
//! `runs/<run>.json` (records).
//!
//! Variables `${steps.NAME.image}` (pushed `repo@sha256:...`, or the layout path when not
//! pushed), `${steps.NAME.digest}`, `${steps.NAME.layout}`, `${steps.NAME.report}`,
//! `${steps.NAME.provenance}`, `${run.id}`, `${git.commit}`, `${workspace}`, `${shipgate}` (this
//! binary) and `${env.NAME}` (the runner's environment) are replaced in commands, gate targets,
//! `shipgate:` arguments, step environment values and push references. Other `${...}` are
//! left for the shell.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use globset::{Glob, GlobSetBuilder};
use serde_json::json;

use crate::cache::{Cache, KeyBuilder, StatCache, remove_path, workspace_files, write_atomic};
use crate::error::Error;
use crate::image;
use crate::record::{
    GateRecord, ImageRecord, RunRecord, RunStatus, SCHEMA, StepRecord, StepStatus,
};
use crate::sandbox::{self, Exit, Isolation};
use crate::spec::{Pipeline, Step, StepKind};

/// How to run a pipeline.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The workspace (repository root).
    pub workspace: PathBuf,
    /// Step isolation.
    pub isolation: Isolation,
    /// The shipgate binary that gate and `shipgate:` steps run.
    pub shipgate_exe: PathBuf,
    /// Extra cache-key material for gate steps (binary identity, vulnerability DB state).
    pub gate_key: String,
    /// Registry access for image pulls and pushes.
    pub registry: shipgate_image::RegistryOptions,
    /// Steps run at once.
    pub jobs: usize,
    /// Ignore the cache (every step runs; results are still stored).
    pub no_cache: bool,
    /// Environment every step gets on top of `PATH`, `HOME` and `LANG` (e.g. `SHIPGATE_CACHE_DIR`).
    pub base_env: Vec<(String, String)>,
    /// Layer mtime (`SOURCE_DATE_EPOCH`).
    pub epoch: i64,
    /// Run `run` steps that have an `image:` as Kubernetes Jobs on this cluster (see
    /// [`crate::kubernetes`]); every other step still runs locally.
    pub kubernetes: Option<crate::kubernetes::KubeOptions>,
}

/// Progress reported to the caller (the library never prints).
#[derive(Debug)]
pub enum Event<'a> {
    /// A step started.
    Started(&'a str),
    /// A step finished (or was cached or skipped).
    Finished(&'a StepRecord),
}

struct Done {
    record: StepRecord,
    vars: BTreeMap<String, String>,
}

/// Runs `pipeline`; returns the record (also written to `.shipgate/runs/<id>.json`). A step
/// failing is in the record, not an `Err`: errors are for the run as a whole (unwritable state
/// directory, sandbox unavailable).
pub fn run(
    pipeline: &Pipeline,
    opts: &RunOptions,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<RunRecord, Error> {
    let started = Instant::now();
    let started_at = jiff::Timestamp::now();
    if opts.isolation == Isolation::Bubblewrap {
        sandbox::probe()?;
    }
    let ws = &opts.workspace;
    let state = ws.join(".shipgate");
    std::fs::create_dir_all(&state).map_err(|e| Error::io(&state, e))?;
    // Keep the state directory out of scanners and git.
    let gi = state.join(".gitignore");
    if !gi.exists() {
        std::fs::write(&gi, "/cache/\n/logs/\n/artifacts/\n/work/\n/runs/\n")
            .map_err(|e| Error::io(&gi, e))?;
    }
    let id = run_id(&started_at);
    let cache = Cache::new(state.join("cache"));
    let mut stat = StatCache::load(&cache.stat_path());
    let logs = state.join("logs").join(&id);
    let work = state.join("work").join(&id);
    std::fs::create_dir_all(&logs).map_err(|e| Error::io(&logs, e))?;
    let source_commit = git_head(ws);
    let mut globals: BTreeMap<String, String> = BTreeMap::new();
    globals.insert("run.id".into(), id.clone());
    globals.insert("workspace".into(), ws.display().to_string());
    globals.insert("shipgate".into(), opts.shipgate_exe.display().to_string());
    if let Some(c) = &source_commit {
        globals.insert("git.commit".into(), c.clone());
    }

    let meta = RunMeta {
        id: id.clone(),
        started_at: started_at.to_string(),
        source_commit: source_commit.clone(),
        pipeline_file: pipeline.file.display().to_string(),
    };
    let files = workspace_files(ws)?;
    let all_outputs: Vec<PathBuf> = pipeline
        .steps
        .iter()
        .flat_map(|s| s.outputs.clone())
        .collect();
    let n = pipeline.steps.len();
    let mut done: Vec<Option<Done>> = (0..n).map(|_| None).collect();
    let mut keys: Vec<Option<String>> = vec![None; n];
    let mut inherited: Vec<BTreeMap<String, String>> = vec![BTreeMap::new(); n];
    let mut running = 0usize;
    let mut order: Vec<usize> = Vec::new();
    let index: HashMap<&str, usize> = pipeline
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    let jobs = opts.jobs.max(1);

    let result = std::thread::scope(|scope| -> Result<(), Error> {
        let (tx, rx) = mpsc::channel::<(usize, Done)>();
        let mut started_set = vec![false; n];
        let mut remote_busy = false;
        loop {
            // Start every ready step we have room for (file order among ready steps).
            let mut progressed = false;
            for i in 0..n {
                if started_set[i] || running >= jobs {
                    continue;
                }
                let step = &pipeline.steps[i];
                // `shipgate:` steps change shared remote state (the `.sig`/`.att` manifests of
                // one image, a manifests branch): one at a time, so that two attestations of
                // the same image cannot overwrite each other's manifest.
                if matches!(step.kind, StepKind::Shipgate(_)) && remote_busy {
                    continue;
                }
                let needs: Vec<usize> = step
                    .needs
                    .iter()
                    .filter_map(|n| index.get(n.as_str()).copied())
                    .collect();
                if needs.iter().any(|&j| done[j].is_none()) {
                    continue;
                }
                started_set[i] = true;
                progressed = true;
                // A step whose needs did not all pass is skipped.
                if let Some(&j) = needs.iter().find(|&&j| {
                    done[j].as_ref().is_some_and(|d| {
                        !matches!(d.record.status, StepStatus::Passed | StepStatus::Cached)
                    })
                }) {
                    let record = StepRecord {
                        message: Some(format!(
                            "not run: needs {:?}, which did not pass",
                            pipeline.steps[j].name
                        )),
                        ..blank(step, StepStatus::Skipped)
                    };
                    on_event(Event::Finished(&record));
                    order.push(i);
                    done[i] = Some(Done {
                        record,
                        vars: BTreeMap::new(),
                    });
                    continue;
                }
                // Variables of every step upstream (each Done carries its ancestors' too).
                let mut upstream: BTreeMap<String, String> = BTreeMap::new();
                for &j in &needs {
                    if let Some(d) = &done[j] {
                        upstream.extend(d.vars.clone());
                    }
                }
                inherited[i] = upstream.clone();
                let mut vars = globals.clone();
                vars.extend(upstream);
                let resolved = match resolve(step, &vars) {
                    Ok(r) => r,
                    Err(message) => {
                        let record = StepRecord {
                            message: Some(message),
                            ..blank(step, StepStatus::Error)
                        };
                        on_event(Event::Finished(&record));
                        order.push(i);
                        done[i] = Some(Done {
                            record,
                            vars: BTreeMap::new(),
                        });
                        continue;
                    }
                };
                let need_keys: Vec<String> =
                    needs.iter().filter_map(|&j| keys[j].clone()).collect();
                let key = step_key(
                    step,
                    &resolved,
                    &need_keys,
                    opts,
                    ws,
                    &files,
                    &all_outputs,
                    &mut stat,
                )?;
                keys[i] = Some(key.clone());
                let outputs_abs = output_paths(step, ws, &state);
                if step.cache
                    && !opts.no_cache
                    && let Some(entry) = cache.get(&key)
                    && cache.restore(&key, &entry, &outputs_abs).unwrap_or(false)
                    && let Ok(prev) = serde_json::from_value::<CachedStep>(entry.data.clone())
                {
                    let record = StepRecord {
                        status: StepStatus::Cached,
                        duration_ms: 0,
                        cache_key: Some(key),
                        ..prev.record
                    };
                    on_event(Event::Finished(&record));
                    order.push(i);
                    done[i] = Some(Done {
                        record,
                        vars: {
                            let mut v = inherited[i].clone();
                            v.extend(prev.vars);
                            v
                        },
                    });
                    continue;
                }
                on_event(Event::Started(&step.name));
                running += 1;
                if matches!(step.kind, StepKind::Shipgate(_)) {
                    remote_busy = true;
                }
                order.push(i);
                let tx = tx.clone();
                let ctx = StepCtx {
                    meta: &meta,
                    step,
                    resolved,
                    key,
                    opts,
                    outputs_abs,
                    log: logs.join(format!("{}.log", step.name)),
                    staging: work.join(&step.name),
                    env: step_env(step, opts, &state, &id, &vars),
                    artifacts: state.join("artifacts").join(&step.name),
                    all_outputs: &all_outputs,
                };
                let cache = cache.clone();
                scope.spawn(move || {
                    let d = execute(&ctx);
                    if ctx.step.cache
                        && matches!(d.record.status, StepStatus::Passed | StepStatus::Failed)
                    {
                        let data = json!({"record": d.record, "vars": d.vars});
                        // A failed cache write only costs a rerun next time.
                        let _ = cache.put(&ctx.key, &ctx.outputs_abs, data);
                    }
                    let _ = tx.send((i, d));
                });
            }
            if done.iter().all(Option::is_some) {
                break;
            }
            if running == 0 && !progressed {
                // Cannot happen for a validated DAG; stop rather than spin.
                return Err(Error::Sandbox(
                    "the scheduler found no runnable step".into(),
                ));
            }
            if running > 0 {
                let Ok((i, d)) = rx.recv() else { break };
                running -= 1;
                if matches!(pipeline.steps[i].kind, StepKind::Shipgate(_)) {
                    remote_busy = false;
                }
                on_event(Event::Finished(&d.record));
                let mut d = d;
                let mut v = std::mem::take(&mut inherited[i]);
                v.extend(std::mem::take(&mut d.vars));
                d.vars = v;
                done[i] = Some(d);
            }
        }
        Ok(())
    });
    let _ = remove_path(&work);
    stat.save(&cache.stat_path())?;
    result?;
    let steps: Vec<StepRecord> = order
        .iter()
        .filter_map(|&i| done[i].take().map(|d| d.record))
        .collect();
    let status = if steps.iter().any(|s| matches!(s.status, StepStatus::Error)) {
        RunStatus::Error
    } else if steps
        .iter()
        .any(|s| matches!(s.status, StepStatus::Failed | StepStatus::Skipped))
    {
        RunStatus::Failed
    } else {
        RunStatus::Passed
    };
    let record = RunRecord {
        schema: SCHEMA.into(),
        id: id.clone(),
        pipeline: pipeline.file.display().to_string(),
        source_commit,
        started_at: started_at.to_string(),
        duration_ms: started.elapsed().as_millis() as u64,
        isolation: match opts.isolation {
            Isolation::Bubblewrap => "bubblewrap".into(),
            Isolation::None => "none".into(),
        },
        status,
        steps,
    };
    let path = state.join("runs").join(format!("{id}.json"));
    let bytes = serde_json::to_vec_pretty(&record)
        .map_err(|e| Error::io(&path, std::io::Error::other(e)))?;
    write_atomic(&path, &bytes)?;
    Ok(record)
}

#[derive(serde::Deserialize)]
struct CachedStep {
    record: StepRecord,
    vars: BTreeMap<String, String>,
}

/// A step with its variables replaced.
#[derive(Debug, Clone)]
enum Resolved {
    Run(String),
    Gate {
        scanner: String,
        target: String,
        fail_on: String,
    },
    BuildImage(Box<crate::spec::ImageSpec>),
    Shipgate(Vec<String>),
}

fn kind_name(step: &Step) -> &'static str {
    match step.kind {
        StepKind::Run(_) => "run",
        StepKind::Gate { .. } => "gate",
        StepKind::BuildImage(_) => "build-image",
        StepKind::Shipgate(_) => "shipgate",
    }
}

fn blank(step: &Step, status: StepStatus) -> StepRecord {
    StepRecord {
        name: step.name.clone(),
        kind: kind_name(step).into(),
        status,
        duration_ms: 0,
        exit_code: None,
        cache_key: None,
        message: None,
        log: None,
        gate: None,
        image: None,
        job: None,
    }
}

/// Replaces `${steps.*}`, `${run.*}`, `${git.*}` and `${workspace}`; an unknown one of those
/// is an error, anything else is left alone.
pub fn substitute(text: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let name = &after[..end];
        let ours = name.starts_with("steps.")
            || name.starts_with("run.")
            || name.starts_with("git.")
            || name.starts_with("env.")
            || name == "workspace"
            || name == "shipgate";
        if ours {
            let from_env = name
                .strip_prefix("env.")
                .and_then(|k| std::env::var(k).ok());
            match vars.get(name).cloned().or(from_env) {
                Some(v) => out.push_str(&v),
                None => {
                    return Err(format!(
                        "unknown variable ${{{name}}} (a `steps.` variable needs that step in `needs`; `git.commit` needs a git work tree; `env.` needs the variable set)"
                    ));
                }
            }
        } else {
            out.push_str(&rest[start..start + 3 + end]);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn resolve(step: &Step, vars: &BTreeMap<String, String>) -> Result<Resolved, String> {
    Ok(match &step.kind {
        StepKind::Run(c) => Resolved::Run(substitute(c, vars)?),
        StepKind::Gate {
            scanner,
            target,
            fail_on,
        } => Resolved::Gate {
            scanner: scanner.clone(),
            target: substitute(target, vars)?,
            fail_on: fail_on.clone(),
        },
        StepKind::BuildImage(spec) => {
            let mut s = spec.clone();
            if let Some(p) = &s.push {
                s.push = Some(substitute(p, vars)?);
            }
            s.base = substitute(&s.base, vars)?;
            Resolved::BuildImage(Box::new(s))
        }
        StepKind::Shipgate(args) => Resolved::Shipgate(
            args.iter()
                .map(|a| substitute(a, vars))
                .collect::<Result<_, _>>()?,
        ),
    })
}

#[allow(clippy::too_many_arguments)]
fn step_key(
    step: &Step,
    resolved: &Resolved,
    need_keys: &[String],
    opts: &RunOptions,
    ws: &Path,
    files: &[PathBuf],
    all_outputs: &[PathBuf],
    stat: &mut StatCache,
) -> Result<String, Error> {
    let mut k = KeyBuilder::default();
    k.field("version", b"shipgate-pipeline-1");
    match resolved {
        Resolved::Run(c) => {
            k.field("run", c.as_bytes());
        }
        Resolved::Gate {
            scanner,
            target,
            fail_on,
        } => {
            k.field("gate", scanner.as_bytes())
                .field("target", target.as_bytes())
                .field("fail-on", fail_on.as_bytes())
                .field("gate-key", opts.gate_key.as_bytes());
        }
        Resolved::BuildImage(spec) => {
            k.field("image", &serde_json::to_vec(spec).unwrap_or_default())
                .field("epoch", &opts.epoch.to_le_bytes());
        }
        Resolved::Shipgate(args) => {
            k.field("shipgate", args.join("\0").as_bytes())
                .field("gate-key", opts.gate_key.as_bytes());
        }
    }
    for (a, b) in &step.env {
        k.field("env", format!("{a}={b}").as_bytes());
    }
    for p in &step.pass_env {
        k.field("pass-env", p.as_bytes());
    }
    for o in &step.outputs {
        k.field("output", o.as_os_str().as_encoded_bytes());
    }
    for w in &step.writable {
        k.field("writable", w.as_os_str().as_encoded_bytes());
    }
    for r in &step.readable {
        k.field("readable", r.as_os_str().as_encoded_bytes());
    }
    if let Some(img) = &step.image {
        k.field("image", img.as_bytes());
    }
    k.field("network", &[step.network as u8]);
    k.field("limits", format!("{:?}", step.limits).as_bytes());
    k.field("isolation", format!("{:?}", opts.isolation).as_bytes());
    // A Job runs as another user on another machine: not interchangeable with a local run.
    if opts.kubernetes.is_some() && step.image.is_some() && matches!(step.kind, StepKind::Run(_)) {
        k.field("executor", b"kubernetes");
    }
    for nk in need_keys {
        k.field("need", nk.as_bytes());
    }
    // Inputs: the listed globs, or by default every workspace file that no step produces
    // (a gate on a path: the files under that path).
    let selected: Vec<&PathBuf> = if step.inputs.is_empty() {
        let under: Option<PathBuf> = match resolved {
            Resolved::Gate { target, .. } => {
                let t = Path::new(target);
                let rel = t.strip_prefix(ws).unwrap_or(t);
                (rel != Path::new(".") && !rel.as_os_str().is_empty()).then(|| rel.to_path_buf())
            }
            _ => None,
        };
        if matches!(resolved, Resolved::BuildImage(_)) {
            // Its inputs are its layer sources, fingerprinted below.
            Vec::new()
        } else {
            files
                .iter()
                .filter(|f| !all_outputs.iter().any(|o| f.starts_with(o)))
                .filter(|f| under.as_ref().is_none_or(|u| f.starts_with(u)))
                .collect()
        }
    } else {
        let mut b = GlobSetBuilder::new();
        for g in &step.inputs {
            let glob = Glob::new(g).map_err(|e| Error::Spec {
                path: PathBuf::from(&step.name),
                problems: vec![crate::error::Problem {
                    line: step.line,
                    column: 0,
                    message: format!("step {:?}: input glob {g:?}: {e}", step.name),
                }],
            })?;
            b.add(glob);
        }
        let set = b.build().map_err(|e| Error::Image(e.to_string()))?;
        files.iter().filter(|f| set.is_match(f)).collect()
    };
    // Build-image steps read their layer sources, which are other steps' outputs.
    if let Resolved::BuildImage(spec) = resolved {
        for l in &spec.layers {
            let src = ws.join(&l.from);
            k.field("layer-source", l.from.as_os_str().as_encoded_bytes());
            k.field("layer-fp", crate::cache::fingerprint(&[src])?.as_bytes());
        }
    }
    for f in selected {
        let h = stat.hash(ws, f)?;
        k.field("input", f.as_os_str().as_encoded_bytes())
            .field("hash", h.as_bytes());
    }
    Ok(k.finish())
}

fn output_paths(step: &Step, ws: &Path, state: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = step.outputs.iter().map(|o| ws.join(o)).collect();
    v.push(state.join("artifacts").join(&step.name));
    v
}

fn step_env(
    step: &Step,
    opts: &RunOptions,
    state: &Path,
    id: &str,
    vars: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    env.insert(
        "PATH".into(),
        std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into()),
    );
    env.insert("LANG".into(), "C.UTF-8".into());
    env.insert(
        "HOME".into(),
        match opts.isolation {
            Isolation::Bubblewrap => "/tmp/home".into(),
            Isolation::None => state
                .join("work")
                .join(id)
                .join(format!("{}.home", step.name))
                .display()
                .to_string(),
        },
    );
    for (k, v) in &opts.base_env {
        env.insert(k.clone(), v.clone());
    }
    env.insert("SHIPGATE_RUN_ID".into(), id.into());
    env.insert("SHIPGATE_STEP".into(), step.name.clone());
    env.insert(
        "SHIPGATE_STEP_ARTIFACTS".into(),
        state
            .join("artifacts")
            .join(&step.name)
            .display()
            .to_string(),
    );
    env.insert("SOURCE_DATE_EPOCH".into(), opts.epoch.to_string());
    for name in &step.pass_env {
        if let Ok(v) = std::env::var(name) {
            env.insert(name.clone(), v);
        }
    }
    for (k, v) in &step.env {
        env.insert(k.clone(), substitute(v, vars).unwrap_or_else(|_| v.clone()));
    }
    env.into_iter().collect()
}

/// What every step of a run shares (for provenance).
struct RunMeta {
    id: String,
    started_at: String,
    source_commit: Option<String>,
    pipeline_file: String,
}

struct StepCtx<'a> {
    meta: &'a RunMeta,
    step: &'a Step,
    resolved: Resolved,
    key: String,
    opts: &'a RunOptions,
    outputs_abs: Vec<PathBuf>,
    log: PathBuf,
    staging: PathBuf,
    env: Vec<(String, String)>,
    artifacts: PathBuf,
    /// Outputs of every step (relative to the workspace), sent to Jobs with the workspace.
    all_outputs: &'a [PathBuf],
}

fn execute(ctx: &StepCtx<'_>) -> Done {
    let t = Instant::now();
    let mut record = StepRecord {
        cache_key: Some(ctx.key.clone()),
        log: Some(ctx.log.display().to_string()),
        ..blank(ctx.step, StepStatus::Passed)
    };
    let mut vars = BTreeMap::new();
    let r = match &ctx.resolved {
        Resolved::BuildImage(spec) => build_image(ctx, spec, &mut record, &mut vars),
        _ => run_process(ctx, &mut record, &mut vars),
    };
    if let Err(message) = r {
        record.status = StepStatus::Error;
        record.message = Some(message);
    }
    record.duration_ms = t.elapsed().as_millis() as u64;
    Done { record, vars }
}

/// Prepares one fresh staging directory per output; returns (staging, output) pairs.
fn stage(ctx: &StepCtx<'_>) -> Result<Vec<(PathBuf, PathBuf)>, String> {
    let _ = remove_path(&ctx.staging);
    let mut pairs = Vec::new();
    for (i, out) in ctx.outputs_abs.iter().enumerate() {
        let s = ctx.staging.join(i.to_string());
        std::fs::create_dir_all(&s).map_err(|e| format!("{}: {e}", s.display()))?;
        pairs.push((s, out.clone()));
    }
    Ok(pairs)
}

/// Moves staged outputs into place (old contents replaced).
fn commit_outputs(pairs: &[(PathBuf, PathBuf)]) -> Result<(), String> {
    for (s, out) in pairs {
        remove_path(out).map_err(|e| e.to_string())?;
        if let Some(parent) = out.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::rename(s, out)
            .map_err(|e| format!("moving the output into {}: {e}", out.display()))?;
    }
    Ok(())
}

fn run_process(
    ctx: &StepCtx<'_>,
    record: &mut StepRecord,
    vars: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    let step = ctx.step;
    let ws = &ctx.opts.workspace;
    let exe = ctx.opts.shipgate_exe.display().to_string();
    let report = ctx.artifacts.join("report.json");
    let argv: Vec<String> = match &ctx.resolved {
        Resolved::Run(c) => vec!["sh".into(), "-c".into(), c.clone()],
        Resolved::Gate {
            scanner,
            target,
            fail_on,
        } => vec![
            exe,
            "scan".into(),
            scanner.clone(),
            target.clone(),
            "--format".into(),
            "json".into(),
            "--output".into(),
            report.display().to_string(),
            "--fail-on".into(),
            fail_on.clone(),
        ],
        Resolved::Shipgate(args) => std::iter::once(exe).chain(args.iter().cloned()).collect(),
        Resolved::BuildImage(_) => unreachable!("build-image steps run in-process"),
    };
    let pairs = stage(ctx)?;
    if let (Some(kube), Some(image), Resolved::Run(command)) =
        (&ctx.opts.kubernetes, &step.image, &ctx.resolved)
    {
        let image = substitute(image, &BTreeMap::new())?;
        return run_in_job(ctx, kube, &image, command, &pairs, record);
    }
    let isolated = ctx.opts.isolation == Isolation::Bubblewrap;
    let mut binds: Vec<(PathBuf, PathBuf)> = Vec::new();
    if isolated {
        for (s, out) in &pairs {
            std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
            binds.push((s.clone(), out.clone()));
        }
        // Gates keep their caches (image layer analyses) in the shipgate cache directory.
        if matches!(ctx.resolved, Resolved::Gate { .. })
            && let Some((_, dir)) = ctx
                .opts
                .base_env
                .iter()
                .find(|(k, _)| k == "SHIPGATE_CACHE_DIR")
        {
            let dir = PathBuf::from(dir);
            if std::fs::create_dir_all(&dir).is_ok() {
                binds.push((dir.clone(), dir));
            }
        }
        for w in &step.writable {
            let w = PathBuf::from(substitute(&w.display().to_string(), &BTreeMap::new())?);
            let p = if w.is_absolute() {
                w.clone()
            } else {
                ws.join(&w)
            };
            binds.push((p.clone(), p));
        }
    } else {
        // No sandbox: the step writes its outputs in place; they are emptied first so the
        // result is the same as with staging.
        for (_, out) in &pairs {
            let _ = remove_path(out);
            std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
        }
        if let Some((_, home)) = ctx.env.iter().find(|(k, _)| k == "HOME") {
            let _ = std::fs::create_dir_all(home);
        }
    }
    // A container-image step: the image's file system is the root, the workspace is at
    // /workspace, and every writable mount under the workspace moves with it.
    let image_root = match (&step.image, isolated) {
        (Some(img), true) => {
            let img = substitute(img, &BTreeMap::new())?;
            let cache = ws.join(".shipgate").join("cache").join("images");
            Some(
                crate::rootfs::prepare(&img, &cache, &ctx.opts.registry)
                    .map_err(|e| e.to_string())?,
            )
        }
        (Some(_), false) => {
            return Err("`image:` steps need the bubblewrap sandbox (--sandbox none cannot switch the root)".into());
        }
        (None, _) => None,
    };
    let mount = PathBuf::from(crate::rootfs::WORKSPACE_MOUNT);
    let inside = |p: &Path| -> PathBuf {
        match (&image_root, p.strip_prefix(ws)) {
            (Some(_), Ok(rel)) => mount.join(rel),
            _ => p.to_path_buf(),
        }
    };
    let mut env = ctx.env.clone();
    if let Some(rf) = &image_root {
        for (k, v) in env.iter_mut() {
            if k == "PATH" {
                *v = rf.path_env.clone();
            } else if k == "SHIPGATE_STEP_ARTIFACTS" {
                *v = inside(Path::new(v.as_str())).display().to_string();
            }
        }
        binds = binds
            .into_iter()
            .map(|(src, dst)| (src, inside(&dst)))
            .collect();
    }
    let cwd = if image_root.is_some() {
        mount.clone()
    } else {
        ws.clone()
    };
    let spec = sandbox::Spec {
        argv,
        cwd: &cwd,
        root: image_root.as_ref().map(|r| r.path.clone()),
        ro_binds_at: if image_root.is_some() {
            vec![(ws.clone(), mount.clone())]
        } else {
            vec![]
        },
        ro_binds: {
            let mut v = vec![ws.clone(), ctx.opts.shipgate_exe.clone()];
            for r in &step.readable {
                v.push(PathBuf::from(substitute(
                    &r.display().to_string(),
                    &BTreeMap::new(),
                )?));
            }
            v.extend(
                ctx.opts
                    .base_env
                    .iter()
                    .filter(|(k, _)| k.ends_with("_DIR"))
                    .map(|(_, d)| PathBuf::from(d)),
            );
            v
        },
        binds,
        env,
        network: step.network,
        timeout: step.timeout,
        limits: &step.limits,
        log: &ctx.log,
    };
    let exit = sandbox::run(&spec, ctx.opts.isolation).map_err(|e| e.to_string())?;
    let status = match exit {
        Exit::TimedOut(d) => {
            return Err(format!(
                "timed out after {:.1}s (limit {}s); the step and everything it started were killed",
                d.as_secs_f64(),
                step.timeout.as_secs()
            ));
        }
        Exit::Exited(s) => s,
    };
    record.exit_code = status.code();
    let code = status.code().unwrap_or(-1);
    if let Resolved::Gate {
        scanner, fail_on, ..
    } = &ctx.resolved
    {
        // In the sandbox the report went to the staged artifacts directory (moved into place
        // below); without it, straight to its final path.
        let written = match pairs.last() {
            Some((staged, _)) if isolated => staged.join("report.json"),
            _ => report.clone(),
        };
        let parsed: Option<serde_json::Value> = std::fs::read(&written)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        if let Some(r) = &parsed {
            record.gate = Some(GateRecord {
                scanner: scanner.clone(),
                fail_on: fail_on.clone(),
                passed: r["gate"]["passed"].as_bool().unwrap_or(false),
                summary: r["summary"].clone(),
                report: report.display().to_string(),
            });
        }
        vars.insert(
            format!("steps.{}.report", step.name),
            report.display().to_string(),
        );
    }
    match code {
        0 => {}
        1 if !matches!(ctx.resolved, Resolved::Run(_)) => {
            record.status = StepStatus::Failed;
            record.message = Some(match &record.gate {
                Some(g) => format!(
                    "gate failed: findings at or above {} ({})",
                    g.fail_on, g.summary
                ),
                None => "the command reported a failed gate (exit 1)".into(),
            });
        }
        c => {
            let tail = log_tail(&ctx.log);
            let hint = if matches!(ctx.resolved, Resolved::Run(_))
                && tail.contains("Read-only file system")
            {
                format!(
                    "; the step wrote outside its outputs (writable: {})",
                    step.outputs
                        .iter()
                        .map(|o| o.display().to_string())
                        .chain(std::iter::once(ctx.artifacts.display().to_string()))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                String::new()
            };
            return Err(format!(
                "exited with {c}{hint}; last lines of {}:\n{tail}",
                ctx.log.display()
            ));
        }
    }
    if isolated {
        commit_outputs(&pairs)?;
    }
    Ok(())
}

/// A `run` step with an image, as a Kubernetes Job: the workspace goes in as a tar, the
/// outputs come back into the staging directories and are committed only when it passed.
fn run_in_job(
    ctx: &StepCtx<'_>,
    kube: &crate::kubernetes::KubeOptions,
    image: &str,
    command: &str,
    pairs: &[(PathBuf, PathBuf)],
    record: &mut StepRecord,
) -> Result<(), String> {
    use crate::kubernetes::{JobExit, JobStep};
    let ws = &ctx.opts.workspace;
    let outputs: Vec<PathBuf> = ctx
        .outputs_abs
        .iter()
        .map(|o| o.strip_prefix(ws).map(Path::to_path_buf))
        .collect::<Result<_, _>>()
        .map_err(|_| "an output outside the workspace cannot be a Job volume".to_owned())?;
    let mut files = workspace_files(ws).map_err(|e| e.to_string())?;
    // Earlier steps' outputs are often git-ignored; the step sees them as it would locally.
    for out in ctx.all_outputs {
        let dir = ws.join(out);
        if dir.is_dir() {
            for e in walk_files(&dir) {
                if let Ok(rel) = e.strip_prefix(ws) {
                    files.push(rel.to_path_buf());
                }
            }
        }
    }
    files.retain(|f| !outputs.iter().any(|o| f.starts_with(o)));
    let inputs = ctx.staging.join("inputs.tar");
    crate::kubernetes::pack_inputs(ws, &files, &inputs)?;
    let env = crate::kubernetes::pod_env(&ctx.env, ws);
    let job = JobStep {
        run_id: &ctx.meta.id,
        step: &ctx.step.name,
        image,
        command,
        env: &env,
        outputs,
        network: ctx.step.network,
        timeout: ctx.step.timeout,
        memory: ctx.step.limits.memory.as_deref(),
        inputs: &inputs,
        staging: &ctx.staging,
        log: &ctx.log,
    };
    let name = crate::kubernetes::job_name(&ctx.meta.id, &ctx.step.name);
    record.job = Some(format!("{}/{name}", kube.namespace));
    let exit = crate::kubernetes::run_job(kube, &job);
    let _ = std::fs::remove_file(&inputs);
    match exit? {
        JobExit::TimedOut => Err(format!(
            "timed out after {}s (the Job's activeDeadlineSeconds); the Job and its pod were deleted",
            ctx.step.timeout.as_secs()
        )),
        JobExit::Exited(0) => {
            record.exit_code = Some(0);
            commit_outputs(pairs)
        }
        JobExit::Exited(c) => {
            record.exit_code = Some(c);
            Err(format!(
                "exited with {c}; last lines of {}:\n{}",
                ctx.log.display(),
                log_tail(&ctx.log)
            ))
        }
    }
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(e.path()),
                Ok(_) => out.push(e.path()),
                Err(_) => {}
            }
        }
    }
    out
}

fn build_image(
    ctx: &StepCtx<'_>,
    spec: &crate::spec::ImageSpec,
    record: &mut StepRecord,
    vars: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    let pairs = stage(ctx)?;
    let layout = pairs[0].0.join("layout");
    let ws = &ctx.opts.workspace;
    let base = if spec.base == "scratch" {
        None
    } else {
        Some(
            image::fetch_base(&spec.base, &layout, &ctx.opts.registry)
                .map_err(|e| e.to_string())?,
        )
    };
    let base_digest = base.as_ref().map(|b| b.manifest_digest.clone());
    let built = image::assemble(ws, spec, &layout, base.as_ref(), ctx.opts.epoch)
        .map_err(|e| e.to_string())?;
    // The layout is the output directory itself.
    let tmp = pairs[0].0.with_extension("swap");
    std::fs::rename(&layout, &tmp).map_err(|e| e.to_string())?;
    remove_path(&pairs[0].0).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, &pairs[0].0).map_err(|e| e.to_string())?;
    let final_layout = pairs[0].1.clone();
    let mut pushed = None;
    if let Some(target) = &spec.push {
        let digest =
            image::push(&pairs[0].0, target, &ctx.opts.registry).map_err(|e| e.to_string())?;
        let repo = strip_tag(target);
        pushed = Some(format!("{repo}@{digest}"));
    }
    // SLSA provenance v1 predicate for this image, for `shipgate attest --type slsaprovenance1`.
    let provenance = provenance(ctx, spec, &built, base_digest.as_deref());
    let prov_staged = pairs.last().map(|(s, _)| s.join("provenance.json"));
    if let Some(p) = &prov_staged {
        let bytes = serde_json::to_vec_pretty(&provenance).map_err(|e| e.to_string())?;
        std::fs::write(p, bytes).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    commit_outputs(&pairs)?;
    let name = &ctx.step.name;
    vars.insert(
        format!("steps.{name}.provenance"),
        ctx.artifacts.join("provenance.json").display().to_string(),
    );
    vars.insert(
        format!("steps.{name}.digest"),
        built.manifest_digest.clone(),
    );
    vars.insert(
        format!("steps.{name}.layout"),
        final_layout.display().to_string(),
    );
    vars.insert(
        format!("steps.{name}.image"),
        pushed
            .clone()
            .unwrap_or_else(|| final_layout.display().to_string()),
    );
    record.image = Some(ImageRecord {
        digest: built.manifest_digest,
        layout: final_layout.display().to_string(),
        pushed,
    });
    Ok(())
}

/// The SLSA provenance v1 predicate (https://slsa.dev/provenance/v1) of an image step.
fn provenance(
    ctx: &StepCtx<'_>,
    spec: &crate::spec::ImageSpec,
    built: &image::Built,
    base_digest: Option<&str>,
) -> serde_json::Value {
    let mut deps = Vec::new();
    if let Some(c) = &ctx.meta.source_commit {
        deps.push(json!({"uri": format!("git+file://{}", ctx.opts.workspace.display()), "digest": {"gitCommit": c}}));
    }
    if let Some(d) = base_digest {
        deps.push(json!({"uri": format!("oci://{}", strip_tag(&spec.base)), "digest": {"sha256": d.trim_start_matches("sha256:")}}));
    }
    for l in &built.layers {
        deps.push(json!({"name": l.from.display().to_string(), "digest": {"sha256": l.diff_id.trim_start_matches("sha256:")}}));
    }
    json!({
        "buildDefinition": {
            "buildType": "https://shipgate.dev/pipeline/build-image/v1",
            "externalParameters": {"pipeline": ctx.meta.pipeline_file, "step": ctx.step.name, "push": spec.push},
            "internalParameters": {"sourceDateEpoch": ctx.opts.epoch, "isolation": format!("{:?}", ctx.opts.isolation).to_lowercase()},
            "resolvedDependencies": deps,
        },
        "runDetails": {
            "builder": {"id": "https://shipgate.dev/pipeline-runner", "version": {"shipgate": env!("CARGO_PKG_VERSION")}},
            "metadata": {"invocationId": ctx.meta.id, "startedOn": ctx.meta.started_at, "finishedOn": jiff::Timestamp::now().to_string()},
        },
    })
}

/// `host:5000/repo:tag` → `host:5000/repo` (a port is not a tag).
pub fn strip_tag(reference: &str) -> &str {
    let no_digest = reference.split('@').next().unwrap_or(reference);
    match no_digest.rfind(':') {
        Some(i) if !no_digest[i..].contains('/') => &no_digest[..i],
        _ => no_digest,
    }
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}

fn git_head(ws: &Path) -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--verify", "-q", "HEAD"])
        .current_dir(ws)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && s.len() >= 40).then_some(s)
}

fn run_id(t: &jiff::Timestamp) -> String {
    let secs = t.as_second();
    let nanos = t.subsec_nanosecond();
    let dt = t.to_zoned(jiff::tz::TimeZone::UTC);
    let suffix = {
        let mut k = KeyBuilder::default();
        k.field("t", &secs.to_le_bytes())
            .field("n", &nanos.to_le_bytes())
            .field("p", &std::process::id().to_le_bytes());
        k.finish()
    };
    format!("{}-{}", dt.strftime("%Y%m%dT%H%M%SZ"), &suffix[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables() {
        let vars: BTreeMap<String, String> =
            [("steps.img.image".to_string(), "r/a@sha256:1".to_string())].into();
        assert_eq!(
            substitute("x ${steps.img.image} ${HOME} $PATH", &vars).unwrap(),
            "x r/a@sha256:1 ${HOME} $PATH"
        );
        assert!(
            substitute("${steps.nope.image}", &vars)
                .unwrap_err()
                .contains("steps.nope.image")
        );
        assert_eq!(substitute("open ${", &vars).unwrap(), "open ${");
        // SAFETY of the test: no other test reads this variable.
        assert_eq!(
            substitute("${env.PATH}", &vars).unwrap(),
            std::env::var("PATH").unwrap()
        );
        assert!(substitute("${env.SHIPGATE_TEST_SURELY_UNSET}", &vars).is_err());
    }

    #[test]
    fn tags_and_ports() {
        assert_eq!(strip_tag("127.0.0.1:5000/app:v1"), "127.0.0.1:5000/app");
        assert_eq!(strip_tag("127.0.0.1:5000/app"), "127.0.0.1:5000/app");
        assert_eq!(strip_tag("r/app@sha256:ab"), "r/app");
    }
}
