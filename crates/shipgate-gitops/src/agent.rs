//! The agent (`shipgate gitops run`): keeps every application synced with Git, watches the
//! objects it owns for drift, heals them when asked, and serves `/metrics`, `/healthz` and
//! `/readyz`.
//!
//! Expected flow: [`Agent::run`] loads the applications (files, and `Application` custom
//! resources when enabled), takes part in leader election (one replica acts, the others stand
//! by), and then, while leading:
//! * polls each application's source every `syncPolicy.interval`; when the revision resolves to
//!   a new commit (and the application is `automated`, not pinned by a rollback, and every
//!   application it `dependsOn` has synced and is Healthy) it syncs;
//! * watches (not polls) every kind it owns, one watch per kind for all applications, and
//!   compares each event with the last applied intent (see [`crate::drift`]); a drift is
//!   recorded with the fields and managers that changed them, and reverted when `selfHeal` is
//!   on.
//!
//! Guarantees: drift handling of an application pauses while it syncs (events seen meanwhile
//! are re-checked against the new intent afterwards, from a fresh read), so the agent never
//! "heals" an object back to the previous commit; an object that is healed more than
//! [`MAX_HEALS_PER_MINUTE`] times a minute is left alone and reported (a controller or another
//! tool is fighting over it); a standby replica never writes.
//!
//! After a restart the intents are rebuilt from the recorded commit by a server-side dry run,
//! so drift made while the agent was down is caught by the watches' initial list.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use kube::api::{Api, DynamicObject};
use kube::runtime::WatchStreamExt as _;
use kube::runtime::watcher;
use serde_json::Value;
use tokio::sync::{Semaphore, watch};

use crate::app::{self, Application};
use crate::crd;
use crate::drift::{self, Baseline, Interner};
use crate::error::GitopsError;
use crate::health::{self, Health};
use crate::history::{DriftEvent, SyncRecord, SyncResult, now_rfc3339};
use crate::leader::{LeaderElector, LeaseConfig};
use crate::metrics::{AppLabel, DriftLabels, Metrics};
use crate::objects::{LABEL_APP, ObjectRef};
use crate::sync::{Applied, Engine, SyncOptions, Trigger};

/// Self-heals of one object per minute beyond which the agent stops and reports a fight.
pub const MAX_HEALS_PER_MINUTE: usize = 5;

type Key = (String, String, String, String);

/// Agent settings.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Application files and directories.
    pub app_paths: Vec<PathBuf>,
    /// Also manage `Application` custom resources in this namespace.
    pub crd_namespace: Option<String>,
    /// Leader election; `None` for a single replica that always acts.
    pub lease: Option<LeaseConfig>,
    /// Address for `/metrics`, `/healthz`, `/readyz`.
    pub listen: Option<SocketAddr>,
    /// Applications synced at the same time.
    pub max_parallel_syncs: usize,
}

/// What the agent reports (the binary prints these; the library never does).
#[derive(Debug, Clone)]
pub enum AgentEvent {
    /// The HTTP endpoint is up.
    Listening(SocketAddr),
    /// Applications (re)loaded.
    AppsLoaded {
        /// How many.
        count: usize,
    },
    /// Leadership changed.
    Leader(bool),
    /// A sync finished (any result).
    Synced(Box<SyncRecord>),
    /// Drift seen (and maybe healed).
    Drift(Box<DriftEvent>),
    /// Something failed outside a sync.
    Error {
        /// Application, when known.
        app: Option<String>,
        /// What failed.
        message: String,
    },
}

/// Receives [`AgentEvent`]s.
pub trait EventSink: Send + Sync + 'static {
    /// Called for every event, from any task; must not block for long.
    fn emit(&self, event: AgentEvent);
}

impl<F: Fn(AgentEvent) + Send + Sync + 'static> EventSink for F {
    fn emit(&self, event: AgentEvent) {
        self(event)
    }
}

/// The last applied intent of one object.
struct Intent {
    id: ObjectRef,
    baseline: Baseline,
    /// The manifest as sent (JSON text: compact, parsed again only to heal).
    sent: Box<str>,
    /// resourceVersion our last write produced.
    rv: String,
    heals: VecDeque<Instant>,
    /// Signature of the drift last recorded (so one drift is recorded once).
    last_drift: Option<u64>,
}

#[derive(Default)]
struct AppRuntime {
    intents: HashMap<Key, Intent>,
    health: HashMap<Key, Health>,
    drifted: HashSet<Key>,
    synced_commit: Option<String>,
    last_result: Option<SyncResult>,
    adopted: bool,
    syncing: bool,
    pending: HashSet<Key>,
    next_check: Option<Instant>,
}

#[derive(Default)]
struct Shared {
    apps: BTreeMap<String, Application>,
    runtime: HashMap<String, AppRuntime>,
    watched: HashMap<(String, String, String), tokio::task::JoinHandle<()>>,
    interner: Interner,
    ready: bool,
}

struct Inner {
    engine: Engine,
    config: AgentConfig,
    metrics: Metrics,
    sink: Arc<dyn EventSink>,
    leader: watch::Receiver<bool>,
    shared: Mutex<Shared>,
    slots: Semaphore,
}

/// The agent.
#[derive(Clone)]
pub struct Agent {
    inner: Arc<Inner>,
    leader_tx: Arc<watch::Sender<bool>>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent").finish_non_exhaustive()
    }
}

fn key_of(id: &ObjectRef) -> Key {
    id.key()
}

fn drift_signature(fields: &[drift::FieldPath], live: &Value) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for f in fields {
        f.hash(&mut h);
        drift::lookup(live, f)
            .map(|v| v.to_string())
            .unwrap_or_default()
            .hash(&mut h);
    }
    h.finish()
}

impl Agent {
    /// An agent over `engine`.
    pub fn new(engine: Engine, config: AgentConfig, sink: Arc<dyn EventSink>) -> Agent {
        let (tx, rx) = watch::channel(config.lease.is_none());
        let slots = Semaphore::new(config.max_parallel_syncs.max(1));
        Agent {
            inner: Arc::new(Inner {
                engine,
                config,
                metrics: Metrics::new(),
                sink,
                leader: rx,
                shared: Mutex::new(Shared::default()),
                slots,
            }),
            leader_tx: Arc::new(tx),
        }
    }

    /// The agent's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Loads application files; the graph must be a DAG. Errors name files and lines; on
    /// error the previous applications stay.
    pub fn load_apps(&self) -> Result<usize, Vec<GitopsError>> {
        let loaded = app::load_paths(&self.inner.config.app_paths);
        if !loaded.errors.is_empty() {
            return Err(loaded.errors);
        }
        self.set_apps(loaded.apps, "files")
    }

    fn set_apps(&self, apps: Vec<Application>, _from: &str) -> Result<usize, Vec<GitopsError>> {
        app::order(&apps).map_err(|e| vec![e])?;
        let mut s = self.lock();
        let names: HashSet<String> = apps.iter().map(|a| a.name().to_string()).collect();
        s.runtime.retain(|n, _| names.contains(n));
        s.apps = apps
            .into_iter()
            .map(|a| (a.name().to_string(), a))
            .collect();
        for n in names {
            s.runtime.entry(n).or_default();
        }
        Ok(s.apps.len())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.inner.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_leader(&self) -> bool {
        *self.inner.leader.borrow()
    }

    fn emit(&self, e: AgentEvent) {
        self.inner.sink.emit(e);
    }

    /// Runs until `shutdown` flips to true.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) -> Result<(), GitopsError> {
        if !self.inner.config.app_paths.is_empty() {
            match self.load_apps() {
                Ok(n) => self.emit(AgentEvent::AppsLoaded { count: n }),
                Err(errors) => {
                    let msgs: Vec<String> = errors.iter().map(ToString::to_string).collect();
                    return Err(GitopsError::Other(msgs.join("\n")));
                }
            }
        }
        let mut tasks = Vec::new();
        if let Some(addr) = self.inner.config.listen {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(GitopsError::io(format!("binding {addr}")))?;
            let local = listener
                .local_addr()
                .map_err(GitopsError::io("reading the bound address"))?;
            self.emit(AgentEvent::Listening(local));
            let me = self.clone();
            let sd = shutdown.clone();
            tasks.push(tokio::spawn(
                async move { me.serve_http(listener, sd).await },
            ));
        }
        if let Some(lease) = self.inner.config.lease.clone() {
            let elector = LeaderElector::new(self.inner.engine.cluster.client().clone(), lease);
            let tx = self.leader_tx.clone();
            let sd = shutdown.clone();
            let (inner_tx, mut inner_rx) = watch::channel(false);
            tasks.push(tokio::spawn(async move { elector.run(inner_tx, sd).await }));
            let me = self.clone();
            tasks.push(tokio::spawn(async move {
                while inner_rx.changed().await.is_ok() {
                    let v = *inner_rx.borrow();
                    let _ = tx.send(v);
                    me.inner.metrics.leader.set(i64::from(v));
                    me.emit(AgentEvent::Leader(v));
                }
            }));
        } else {
            self.inner.metrics.leader.set(1);
        }
        if let Some(ns) = self.inner.config.crd_namespace.clone() {
            let me = self.clone();
            tasks.push(tokio::spawn(async move { me.watch_crds(ns).await }));
        }
        self.lock().ready = true;
        let mut last_files = fingerprint(&self.inner.config.app_paths);
        let mut last_reload = Instant::now();
        loop {
            if *shutdown.borrow() {
                break;
            }
            if last_reload.elapsed() > Duration::from_secs(5)
                && !self.inner.config.app_paths.is_empty()
            {
                last_reload = Instant::now();
                let now = fingerprint(&self.inner.config.app_paths);
                if now != last_files {
                    last_files = now;
                    match self.load_apps() {
                        Ok(n) => self.emit(AgentEvent::AppsLoaded { count: n }),
                        Err(errors) => {
                            for e in errors {
                                self.emit(AgentEvent::Error {
                                    app: None,
                                    message: format!("applications not reloaded: {e}"),
                                });
                            }
                        }
                    }
                }
            }
            if self.is_leader() {
                self.schedule();
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                _ = shutdown.changed() => {}
            }
        }
        // Let running syncs finish: their records must be written.
        let _ = self
            .inner
            .slots
            .acquire_many(self.inner.config.max_parallel_syncs.max(1) as u32)
            .await;
        for t in tasks {
            t.abort();
        }
        let watched: Vec<_> = self.lock().watched.drain().map(|(_, h)| h).collect();
        for h in watched {
            h.abort();
        }
        Ok(())
    }

    /// Starts checks for applications that are due and whose dependencies are ready.
    fn schedule(&self) {
        let now = Instant::now();
        let mut due = Vec::new();
        {
            let mut s = self.lock();
            let apps: Vec<Application> = s.apps.values().cloned().collect();
            for a in &apps {
                let ready = a.spec.depends_on.iter().all(|d| {
                    s.runtime.get(d).is_some_and(|rt| {
                        rt.last_result == Some(SyncResult::Succeeded)
                            && health::aggregate(rt.health.values().copied()) == Health::Healthy
                    })
                });
                let Some(rt) = s.runtime.get_mut(a.name()) else {
                    continue;
                };
                if rt.syncing || rt.next_check.is_some_and(|t| t > now) || !ready {
                    continue;
                }
                rt.syncing = true;
                rt.next_check = Some(now + a.spec.sync_policy.interval);
                due.push(a.clone());
            }
        }
        for a in due {
            let me = self.clone();
            tokio::spawn(async move { me.check(a).await });
        }
    }

    /// One check of one application: adopt (after a restart), then sync if a new commit is
    /// due.
    async fn check(&self, app: Application) {
        let Ok(_permit) = self.inner.slots.acquire().await else {
            return;
        };
        let name = app.name().to_string();
        let adopted = self.lock().runtime.get(&name).is_some_and(|r| r.adopted);
        let state = match self.inner.engine.store.load(&name).await {
            Ok(r) => r.state,
            Err(e) => {
                self.error(Some(&name), e.to_string());
                self.finish_check(&name, Vec::new(), None, None);
                return;
            }
        };
        if !adopted && let Some(commit) = &state.synced_commit {
            match self.adopt(&app, commit).await {
                Ok(applied) => self.install(&name, applied, true),
                Err(e) => self.error(
                    Some(&name),
                    format!("rebuilding the last applied state: {e}"),
                ),
            }
        }
        {
            let mut s = self.lock();
            if let Some(rt) = s.runtime.get_mut(&name) {
                rt.adopted = true;
                if rt.synced_commit.is_none() {
                    rt.synced_commit = state.synced_commit.clone();
                    if state.synced_commit.is_some() && rt.last_result.is_none() {
                        rt.last_result = Some(SyncResult::Succeeded);
                    }
                }
            }
        }
        if !app.spec.sync_policy.automated {
            self.finish_check(&name, Vec::new(), None, None);
            return;
        }
        // Pinned by a rollback: stay on that commit.
        let target = state.pinned_commit.clone();
        let commit = match &target {
            Some(pin) => pin.clone(),
            None => {
                let git = self.inner.engine.git.clone();
                let (n, url, rev) = (
                    name.clone(),
                    app.spec.source.repo_url.clone(),
                    app.spec.source.revision.clone(),
                );
                let cred = match self.inner.engine.credential_for(&app).await {
                    Ok(c) => c,
                    Err(e) => {
                        self.error(Some(&name), e.to_string());
                        self.finish_check(&name, Vec::new(), None, None);
                        return;
                    }
                };
                match tokio::task::spawn_blocking(move || git.fetch(&n, &url, &rev, cred.as_ref()))
                    .await
                {
                    Ok(Ok(c)) => c.sha,
                    Ok(Err(e)) => {
                        self.error(Some(&name), e.to_string());
                        self.finish_check(&name, Vec::new(), None, None);
                        return;
                    }
                    Err(e) => {
                        self.error(Some(&name), e.to_string());
                        self.finish_check(&name, Vec::new(), None, None);
                        return;
                    }
                }
            }
        };
        let last = self
            .lock()
            .runtime
            .get(&name)
            .and_then(|r| r.synced_commit.clone());
        let last_result = self.lock().runtime.get(&name).and_then(|r| r.last_result);
        if last.as_deref() == Some(commit.as_str()) && last_result == Some(SyncResult::Succeeded) {
            self.finish_check(&name, Vec::new(), None, None);
            return;
        }
        let opts = SyncOptions {
            trigger: Trigger::Automated,
            revision: Some(commit.clone()),
            ..Default::default()
        };
        let outcome = self.inner.engine.sync(&app, &opts).await;
        self.inner.metrics.sync(
            &name,
            outcome.record.result.as_str(),
            outcome.record.duration_ms as f64 / 1000.0,
        );
        if let Some(e) = &outcome.store_error {
            self.error(
                Some(&name),
                format!("the sync record could not be stored: {e}"),
            );
        }
        let result = outcome.record.result;
        let synced = (result == SyncResult::Succeeded).then(|| commit.clone());
        self.emit(AgentEvent::Synced(Box::new(outcome.record.clone())));
        // A failed, blocked or refused commit is retried at the next interval, not at once.
        self.finish_check(&name, outcome.applied, Some(result), synced);
    }

    /// Rebuilds intents from the recorded commit with a server-side dry run (nothing
    /// changes in the cluster).
    async fn adopt(&self, app: &Application, commit: &str) -> Result<Vec<Applied>, GitopsError> {
        let prepared = self.inner.engine.prepare(app, Some(commit)).await?;
        let mut out = Vec::with_capacity(prepared.objects.len());
        for d in prepared.objects {
            let stored = self
                .inner
                .engine
                .cluster
                .apply(&d.id, &d.manifest, true)
                .await?;
            out.push(Applied {
                id: d.id,
                sent: d.manifest,
                stored,
            });
        }
        Ok(out)
    }

    fn finish_check(
        &self,
        name: &str,
        applied: Vec<Applied>,
        result: Option<SyncResult>,
        synced: Option<String>,
    ) {
        let succeeded = result == Some(SyncResult::Succeeded);
        if !applied.is_empty() {
            self.install(name, applied, succeeded);
        }
        let pending: Vec<Key> = {
            let mut s = self.lock();
            let Some(rt) = s.runtime.get_mut(name) else {
                return;
            };
            if let Some(r) = result {
                rt.last_result = Some(r);
            }
            if let Some(c) = synced {
                rt.synced_commit = Some(c);
            }
            rt.syncing = false;
            rt.pending.drain().collect()
        };
        self.update_gauges(name);
        if !pending.is_empty() {
            let me = self.clone();
            let name = name.to_string();
            tokio::spawn(async move { me.recheck(&name, pending).await });
        }
    }

    /// Installs intents from applied objects; with `replace`, objects no longer applied are
    /// forgotten (they were pruned or left Git).
    fn install(&self, name: &str, applied: Vec<Applied>, replace: bool) {
        let mut kinds = Vec::new();
        {
            let mut s = self.lock();
            let ignore = s
                .apps
                .get(name)
                .map(|a| a.spec.ignore_differences.clone())
                .unwrap_or_default();
            let Shared {
                runtime, interner, ..
            } = &mut *s;
            let Some(rt) = runtime.get_mut(name) else {
                return;
            };
            let mut fresh = HashMap::with_capacity(applied.len());
            for a in applied {
                let baseline = Baseline::new(&a.sent, &a.stored, &a.id, &ignore, interner);
                let rv = a
                    .stored
                    .pointer("/metadata/resourceVersion")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                rt.health
                    .insert(key_of(&a.id), health::assess(&a.stored).health);
                rt.drifted.remove(&key_of(&a.id));
                kinds.push((a.id.group.clone(), a.id.version.clone(), a.id.kind.clone()));
                fresh.insert(
                    key_of(&a.id),
                    Intent {
                        id: a.id,
                        baseline,
                        sent: serde_json::to_string(&a.sent)
                            .unwrap_or_default()
                            .into_boxed_str(),
                        rv,
                        heals: VecDeque::new(),
                        last_drift: None,
                    },
                );
            }
            if replace {
                rt.health.retain(|k, _| fresh.contains_key(k));
                rt.drifted.retain(|k| fresh.contains_key(k));
                rt.intents = fresh;
            } else {
                rt.intents.extend(fresh);
            }
        }
        kinds.sort();
        kinds.dedup();
        for k in kinds {
            self.ensure_watch(k);
        }
    }

    fn update_gauges(&self, name: &str) {
        let s = self.lock();
        if let Some(rt) = s.runtime.get(name) {
            let label = AppLabel {
                app: name.to_string(),
            };
            self.inner
                .metrics
                .owned
                .get_or_create(&label)
                .set(rt.intents.len() as i64);
            self.inner
                .metrics
                .out_of_sync
                .get_or_create(&label)
                .set(rt.drifted.len() as i64);
            self.inner
                .metrics
                .set_health(name, health::aggregate(rt.health.values().copied()));
        }
    }

    fn error(&self, app: Option<&str>, message: String) {
        if let Some(a) = app {
            self.inner
                .metrics
                .errors
                .get_or_create(&AppLabel { app: a.to_string() })
                .inc();
        }
        self.emit(AgentEvent::Error {
            app: app.map(String::from),
            message,
        });
    }

    /// One watch per kind, for every application (label selector on the app label).
    fn ensure_watch(&self, kind: (String, String, String)) {
        let mut s = self.lock();
        if s.watched.contains_key(&kind) {
            return;
        }
        let me = self.clone();
        let k = kind.clone();
        let handle = tokio::spawn(async move { me.watch_kind(k).await });
        s.watched.insert(kind, handle);
    }

    async fn watch_kind(&self, (group, version, kind): (String, String, String)) {
        let resolved = match self
            .inner
            .engine
            .cluster
            .resolve(&group, &version, &kind)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                self.error(None, format!("cannot watch {kind}: {e}"));
                self.lock().watched.remove(&(group, version, kind));
                return;
            }
        };
        let api: Api<DynamicObject> = Api::all_with(
            self.inner.engine.cluster.client().clone(),
            &resolved.resource,
        );
        let config = watcher::Config::default().labels(LABEL_APP);
        let mut stream = watcher(api, config).default_backoff().boxed();
        let api_version = resolved.resource.api_version.clone();
        let mut last_error: Option<Instant> = None;
        while let Some(event) = stream.next().await {
            let typed = |o: DynamicObject| -> Value {
                let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
                if let Some(m) = v.as_object_mut() {
                    m.insert("apiVersion".into(), Value::String(api_version.clone()));
                    m.insert("kind".into(), Value::String(kind.clone()));
                }
                v
            };
            match event {
                Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => {
                    self.on_apply(typed(o));
                }
                Ok(watcher::Event::Delete(o)) => self.on_delete(typed(o)),
                Ok(_) => {}
                Err(e) => {
                    if last_error.is_none_or(|t| t.elapsed() > Duration::from_secs(30)) {
                        last_error = Some(Instant::now());
                        self.error(None, format!("watch of {kind} failed (retrying): {e}"));
                    }
                }
            }
        }
    }

    fn on_apply(&self, live: Value) {
        let Some(app) = live
            .pointer("/metadata/labels")
            .and_then(|l| l.get(LABEL_APP))
            .and_then(Value::as_str)
            .map(String::from)
        else {
            return;
        };
        let Some(id) = ObjectRef::from_value(&live) else {
            return;
        };
        let key = key_of(&id);
        let rv = live
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let mut heal = None;
        let mut event = None;
        {
            let mut s = self.lock();
            let self_heal = s
                .apps
                .get(&app)
                .is_some_and(|a| a.spec.sync_policy.self_heal);
            let ignored_managers: Vec<String> = s
                .apps
                .get(&app)
                .map(|a| {
                    a.spec
                        .ignore_differences
                        .iter()
                        .filter(|r| {
                            r.matches(
                                &id.group,
                                &id.kind,
                                id.namespace.as_deref().unwrap_or(""),
                                &id.name,
                            )
                        })
                        .flat_map(|r| r.managed_fields_managers.clone())
                        .collect()
                })
                .unwrap_or_default();
            let Some(rt) = s.runtime.get_mut(&app) else {
                return;
            };
            if rt.syncing {
                rt.pending.insert(key);
                return;
            }
            rt.health.insert(key.clone(), health::assess(&live).health);
            let Some(intent) = rt.intents.get_mut(&key) else {
                return;
            };
            if rv == intent.rv {
                rt.drifted.remove(&key);
            } else {
                let mut fields = intent.baseline.drifted(&live);
                let mut who = drift::attribute(&live, &fields);
                if !ignored_managers.is_empty() {
                    let keep: Vec<bool> = who
                        .iter()
                        .map(|w| {
                            !w.manager
                                .as_ref()
                                .is_some_and(|m| ignored_managers.contains(m))
                        })
                        .collect();
                    let mut i = 0;
                    fields.retain(|_| {
                        i += 1;
                        keep[i - 1]
                    });
                    who.retain(|w| {
                        !w.manager
                            .as_ref()
                            .is_some_and(|m| ignored_managers.contains(m))
                    });
                }
                if fields.is_empty() {
                    intent.rv = rv;
                    rt.drifted.remove(&key);
                } else {
                    rt.drifted.insert(key.clone());
                    let sig = drift_signature(&fields, &live);
                    if intent.last_drift != Some(sig) {
                        intent.last_drift = Some(sig);
                        let mut ev = DriftEvent {
                            detected_at: now_rfc3339(),
                            app: app.clone(),
                            object: id.to_string(),
                            kind: "changed".into(),
                            fields: who,
                            healed: false,
                            heal_ms: None,
                            note: None,
                        };
                        if !self_heal {
                            ev.note = Some("self-heal is off".into());
                        } else if !*self.inner.leader.borrow() {
                            ev.note = Some("standby replica: the leader heals".into());
                        } else {
                            let now = Instant::now();
                            intent
                                .heals
                                .retain(|t| now.duration_since(*t) < Duration::from_secs(60));
                            if intent.heals.len() >= MAX_HEALS_PER_MINUTE {
                                ev.note = Some(format!(
                                    "not healed: reverted {MAX_HEALS_PER_MINUTE} times in the last minute; another manager keeps changing it"
                                ));
                            } else {
                                intent.heals.push_back(now);
                                heal = Some((intent.id.clone(), intent.sent.clone()));
                            }
                        }
                        event = Some(ev);
                    }
                }
            }
        }
        self.update_gauges(&app);
        if let Some(ev) = event {
            let me = self.clone();
            tokio::spawn(async move { me.finish_drift(ev, heal, Instant::now()).await });
        }
    }

    fn on_delete(&self, live: Value) {
        let Some(app) = live
            .pointer("/metadata/labels")
            .and_then(|l| l.get(LABEL_APP))
            .and_then(Value::as_str)
            .map(String::from)
        else {
            return;
        };
        let Some(id) = ObjectRef::from_value(&live) else {
            return;
        };
        let key = key_of(&id);
        let mut heal = None;
        let ev;
        {
            let mut s = self.lock();
            let self_heal = s
                .apps
                .get(&app)
                .is_some_and(|a| a.spec.sync_policy.self_heal);
            let Some(rt) = s.runtime.get_mut(&app) else {
                return;
            };
            if rt.syncing {
                rt.pending.insert(key);
                return;
            }
            let Some(intent) = rt.intents.get_mut(&key) else {
                return;
            };
            rt.health.insert(key.clone(), Health::Missing);
            rt.drifted.insert(key.clone());
            let mut e = DriftEvent {
                detected_at: now_rfc3339(),
                app: app.clone(),
                object: id.to_string(),
                kind: "deleted".into(),
                fields: Vec::new(),
                healed: false,
                heal_ms: None,
                note: None,
            };
            if !self_heal {
                e.note = Some("self-heal is off".into());
            } else if *self.inner.leader.borrow() {
                let now = Instant::now();
                intent
                    .heals
                    .retain(|t| now.duration_since(*t) < Duration::from_secs(60));
                if intent.heals.len() >= MAX_HEALS_PER_MINUTE {
                    e.note = Some("not recreated: deleted too often in the last minute".into());
                } else {
                    intent.heals.push_back(now);
                    heal = Some((intent.id.clone(), intent.sent.clone()));
                }
            }
            ev = e;
        }
        self.update_gauges(&app);
        let me = self.clone();
        tokio::spawn(async move { me.finish_drift(ev, heal, Instant::now()).await });
    }

    async fn finish_drift(
        &self,
        mut ev: DriftEvent,
        heal: Option<(ObjectRef, Box<str>)>,
        seen: Instant,
    ) {
        self.inner
            .metrics
            .drift_events
            .get_or_create(&DriftLabels {
                app: ev.app.clone(),
                kind: ev.kind.clone(),
            })
            .inc();
        if let Some((id, sent)) = heal {
            let manifest: Value = serde_json::from_str(&sent).unwrap_or(Value::Null);
            match self.inner.engine.cluster.apply(&id, &manifest, false).await {
                Ok(stored) => {
                    ev.healed = true;
                    ev.heal_ms = Some(seen.elapsed().as_millis() as u64);
                    let rv = stored
                        .pointer("/metadata/resourceVersion")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    {
                        let mut s = self.lock();
                        if let Some(rt) = s.runtime.get_mut(&ev.app) {
                            let key = key_of(&id);
                            if let Some(intent) = rt.intents.get_mut(&key) {
                                intent.rv = rv;
                                intent.last_drift = None;
                            }
                            rt.drifted.remove(&key);
                            rt.health.insert(key, health::assess(&stored).health);
                        }
                    }
                    self.inner
                        .metrics
                        .self_heals
                        .get_or_create(&AppLabel {
                            app: ev.app.clone(),
                        })
                        .inc();
                    self.update_gauges(&ev.app);
                }
                Err(e) => ev.note = Some(format!("self-heal failed: {e}")),
            }
        }
        if let Err(e) = self
            .inner
            .engine
            .store
            .record_drift(&ev.app, std::slice::from_ref(&ev))
            .await
        {
            self.error(Some(&ev.app), format!("drift event not stored: {e}"));
        }
        self.emit(AgentEvent::Drift(Box::new(ev)));
    }

    /// Re-reads objects whose events arrived while their application synced.
    async fn recheck(&self, name: &str, keys: Vec<Key>) {
        for key in keys {
            let id = {
                let s = self.lock();
                s.runtime
                    .get(name)
                    .and_then(|rt| rt.intents.get(&key))
                    .map(|i| i.id.clone())
            };
            let Some(id) = id else {
                continue;
            };
            match self.inner.engine.cluster.get(&id).await {
                Ok(Some(live)) => self.on_apply(live),
                Ok(None) => {
                    let mut v = serde_json::json!({
                        "apiVersion": id.api_version(), "kind": id.kind,
                        "metadata": {"name": id.name, "labels": {LABEL_APP: name}}
                    });
                    if let Some(ns) = &id.namespace {
                        v["metadata"]["namespace"] = Value::String(ns.clone());
                    }
                    self.on_delete(v);
                }
                Err(e) => self.error(Some(name), e.to_string()),
            }
        }
    }

    async fn watch_crds(&self, namespace: String) {
        let ar = kube::discovery::ApiResource {
            group: crd::GROUP.into(),
            version: "v1".into(),
            api_version: crd::API_VERSION.into(),
            kind: "Application".into(),
            plural: crd::PLURAL.into(),
        };
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.inner.engine.cluster.client().clone(), &namespace, &ar);
        let mut stream = watcher(api, watcher::Config::default())
            .default_backoff()
            .boxed();
        let mut known: BTreeMap<String, Application> = BTreeMap::new();
        let mut init: Option<BTreeMap<String, Application>> = None;
        while let Some(ev) = stream.next().await {
            let to_app = |o: DynamicObject| {
                let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
                v["apiVersion"] = Value::String(crd::API_VERSION.into());
                v["kind"] = Value::String("Application".into());
                crd::from_object(&v)
            };
            let changed = match ev {
                Ok(watcher::Event::Init) => {
                    init = Some(BTreeMap::new());
                    false
                }
                Ok(watcher::Event::InitApply(o)) => {
                    match to_app(o) {
                        Ok(a) => {
                            if let Some(i) = init.as_mut() {
                                i.insert(a.name().to_string(), a);
                            }
                        }
                        Err(e) => self.error(None, e),
                    }
                    false
                }
                Ok(watcher::Event::InitDone) => {
                    known = init.take().unwrap_or_default();
                    true
                }
                Ok(watcher::Event::Apply(o)) => match to_app(o) {
                    Ok(a) => {
                        known.insert(a.name().to_string(), a);
                        true
                    }
                    Err(e) => {
                        self.error(None, e);
                        false
                    }
                },
                Ok(watcher::Event::Delete(o)) => {
                    let name = o.metadata.name.unwrap_or_default();
                    known.remove(&name).is_some()
                }
                Err(e) => {
                    self.error(
                        None,
                        format!("watch of Application resources failed (retrying): {e}"),
                    );
                    false
                }
            };
            if changed {
                let mut all: Vec<Application> = if self.inner.config.app_paths.is_empty() {
                    Vec::new()
                } else {
                    app::load_paths(&self.inner.config.app_paths).apps
                };
                let from_files: HashSet<String> =
                    all.iter().map(|a| a.name().to_string()).collect();
                for a in known.values() {
                    if from_files.contains(a.name()) {
                        self.error(
                            Some(a.name()),
                            format!("{} has the name of an application file's application; the file wins", a.origin),
                        );
                    } else {
                        all.push(a.clone());
                    }
                }
                match self.set_apps(all, "custom resources") {
                    Ok(n) => self.emit(AgentEvent::AppsLoaded { count: n }),
                    Err(errors) => {
                        for e in errors {
                            self.error(None, format!("applications not reloaded: {e}"));
                        }
                    }
                }
            }
        }
    }

    async fn serve_http(
        &self,
        listener: tokio::net::TcpListener,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = shutdown.changed() => return,
            };
            let Ok((stream, _)) = accepted else {
                continue;
            };
            let me = self.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let me = me.clone();
                        async move { Ok::<_, std::convert::Infallible>(me.http(req.uri().path())) }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    }

    fn http(&self, path: &str) -> hyper::Response<http_body_util::Full<bytes::Bytes>> {
        let (status, ctype, body) = match path {
            "/metrics" => (
                200,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                self.inner.metrics.render(),
            ),
            "/healthz" => (200, "text/plain", "ok\n".to_string()),
            "/readyz" => {
                if self.lock().ready {
                    (200, "text/plain", "ok\n".to_string())
                } else {
                    (503, "text/plain", "starting\n".to_string())
                }
            }
            _ => (404, "text/plain", "not found\n".to_string()),
        };
        let mut resp = hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from(body)));
        *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
        if let Ok(v) = hyper::header::HeaderValue::from_str(ctype) {
            resp.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
        }
        resp
    }

    /// Per-application view for `status`-like displays and tests: (owned, out of sync,
    /// health, synced commit).
    pub fn app_summary(&self, name: &str) -> Option<(usize, usize, Health, Option<String>)> {
        let s = self.lock();
        s.runtime.get(name).map(|rt| {
            (
                rt.intents.len(),
                rt.drifted.len(),
                health::aggregate(rt.health.values().copied()),
                rt.synced_commit.clone(),
            )
        })
    }
}

fn fingerprint(paths: &[PathBuf]) -> Vec<(PathBuf, u64, Option<std::time::SystemTime>)> {
    let mut out = Vec::new();
    for p in paths {
        let mut stack = vec![p.clone()];
        while let Some(p) = stack.pop() {
            if let Ok(m) = std::fs::metadata(&p) {
                if m.is_dir() {
                    if let Ok(rd) = std::fs::read_dir(&p) {
                        stack.extend(rd.flatten().map(|e| e.path()));
                    }
                } else {
                    out.push((p.clone(), m.len(), m.modified().ok()));
                }
            }
        }
    }
    out.sort();
    out
}
