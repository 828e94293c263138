//! One sync of one application: source → render → policy gate → apply in order → prune →
//! record.
//!
//! Expected flow: [`Engine::prepare`] resolves the revision, verifies the commit signature
//! when the application asks for it, renders and runs the policy gate; [`Engine::sync`] then
//! applies: namespaces and CRDs first (after a server-side dry run), a server-side dry run of
//! every other object (so an object the API server rejects stops the sync before anything of
//! the waves changed), the waves in order with a health wait between them, then prune.
//!
//! Guarantees: every attempt that names a known application ends in exactly one
//! [`SyncRecord`] (succeeded, failed, blocked or refused) with the commit, author, objects,
//! policy decisions, duration and the reason; a blocked or refused sync applies nothing; a sync
//! that fails part-way records exactly which objects were applied and keeps the previous
//! inventory, so nothing the application owned before is forgotten (and later pruned
//! correctly).
//!
//! Caveats: the API server has no transactions: objects of waves that were applied before a
//! failure stay applied (as with `kubectl apply`, Argo CD and Flux). The dry run catches schema
//! errors, admission denials and missing namespaces before that point.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use serde_json::Value;
use shipgate_policy::{K8sObject, PolicySet};

use crate::app::{Application, Credentials};
use crate::cluster::Cluster;
use crate::error::GitopsError;
use crate::git::{Commit, Credential, GitCache, redact};
use crate::health::{self, Health};
use crate::history::{
    AppState, MAX_CHANGES_LISTED, ObjectChange, ObjectCounts, PolicyDecision, PolicyFinding,
    SignatureCheck, StateStore, SyncRecord, SyncResult, now_rfc3339,
};
use crate::objects::{self, ObjectRef, add_tracking, apply_key, is_phase_zero, wave_of};
use crate::render::{self, RenderLimits, Renderer, Tools};

/// Why a sync runs (recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// `gitops sync`.
    Manual,
    /// The agent saw a new commit.
    Automated,
    /// `gitops rollback`.
    Rollback,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Automated => "automated",
            Trigger::Rollback => "rollback",
        }
    }
}

/// Options of one sync.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Why.
    pub trigger: Trigger,
    /// Sync this commit instead of the application's revision (rollback, or `--revision`).
    pub revision: Option<String>,
    /// Prune even if the application's policy does not (`gitops sync --prune`).
    pub force_prune: bool,
    /// Leave a rollback pin in place (rollback sets it; a manual sync clears it).
    pub pin: Option<String>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            trigger: Trigger::Manual,
            revision: None,
            force_prune: false,
            pin: None,
        }
    }
}

/// One object of the desired state.
#[derive(Debug, Clone)]
pub struct Desired {
    /// Identity (namespace defaulted).
    pub id: ObjectRef,
    /// The manifest sent to the API server (tracking labels added).
    pub manifest: Value,
    /// Sync wave.
    pub wave: i32,
    /// `path:line` in the repository.
    pub source: String,
}

/// An application rendered and gated at a commit, ready to apply.
#[derive(Debug)]
pub struct Prepared {
    /// The commit.
    pub commit: Commit,
    /// Desired objects in apply order.
    pub objects: Vec<Desired>,
    /// The gate's decision.
    pub policy: PolicyDecision,
    /// Signature check, when required.
    pub signature: Option<SignatureCheck>,
}

/// What was applied, for drift baselines.
#[derive(Debug, Clone)]
pub struct Applied {
    /// Identity.
    pub id: ObjectRef,
    /// What was sent.
    pub sent: Value,
    /// What the server stored.
    pub stored: Value,
}

/// The result of [`Engine::sync`].
#[derive(Debug)]
pub struct SyncOutcome {
    /// The record (also stored, unless storing failed: see `store_error`).
    pub record: SyncRecord,
    /// Objects applied by this sync.
    pub applied: Vec<Applied>,
    /// The record could not be stored.
    pub store_error: Option<String>,
}

/// A readable per-object diff (`gitops diff`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ObjectDiff {
    /// The object.
    pub object: String,
    /// create | update | unchanged | prune
    pub action: String,
    /// Unified diff of the live object (normalised) against what the sync would store.
    pub diff: String,
}

/// Everything a sync needs.
#[derive(Clone)]
pub struct Engine {
    /// The cluster.
    pub cluster: Cluster,
    /// Git cache.
    pub git: Arc<GitCache>,
    /// kustomize and helm.
    pub tools: Tools,
    /// Render bounds.
    pub render_limits: RenderLimits,
    /// The policy gate's policies (the same set as `scan config` and the webhook).
    pub policy: Arc<PolicySet>,
    /// History and inventory.
    pub store: StateStore,
    /// Namespace for `credentials.secretRef` without one (the agent's namespace).
    pub default_secret_namespace: String,
    /// Objects applied at once.
    pub concurrency: usize,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

/// Partial record data while a sync is underway.
struct Draft {
    record: SyncRecord,
    started: Instant,
}

impl Draft {
    fn new(app: &Application, opts: &SyncOptions) -> Draft {
        let now = jiff::Timestamp::now();
        Draft {
            record: SyncRecord {
                id: format!("{}-{}", app.name(), now.as_millisecond()),
                app: app.name().to_string(),
                started_at: now_rfc3339(),
                duration_ms: 0,
                trigger: opts.trigger.as_str().into(),
                revision: opts
                    .revision
                    .clone()
                    .unwrap_or_else(|| app.spec.source.revision.clone()),
                commit: None,
                author: None,
                subject: None,
                result: SyncResult::Failed,
                reason: None,
                policy: PolicyDecision {
                    fail_on: app.spec.policy.fail_on.to_string(),
                    ..Default::default()
                },
                signature: None,
                objects: ObjectCounts::default(),
                changes: Vec::new(),
                health: None,
            },
            started: Instant::now(),
        }
    }

    fn finish(mut self, result: SyncResult, reason: Option<String>) -> SyncRecord {
        self.record.result = result;
        self.record.reason = reason.map(|r| redact(&r));
        self.record.duration_ms = self.started.elapsed().as_millis() as u64;
        self.record
    }
}

fn change(list: &mut Vec<ObjectChange>, object: &ObjectRef, action: &str, message: Option<String>) {
    if list.len() < MAX_CHANGES_LISTED {
        list.push(ObjectChange {
            object: object.to_string(),
            action: action.into(),
            message,
        });
    }
}

impl Engine {
    /// The repository credential of an application (from its file or Secret), if any.
    pub async fn credential_for(
        &self,
        app: &Application,
    ) -> Result<Option<Credential>, GitopsError> {
        let Some(Credentials { secret_ref, file }) = &app.spec.source.credentials else {
            return Ok(None);
        };
        if let Some(path) = file {
            let path = path.clone();
            return tokio::task::spawn_blocking(move || Credential::from_file(&path))
                .await
                .map_err(|e| GitopsError::Other(format!("credentials: {e}")))?
                .map(Some);
        }
        let Some(r) = secret_ref else {
            return Ok(None);
        };
        let ns = r
            .namespace
            .clone()
            .unwrap_or_else(|| self.default_secret_namespace.clone());
        let api: kube::Api<k8s_openapi::api::core::v1::Secret> =
            kube::Api::namespaced(self.cluster.client().clone(), &ns);
        let secret = api.get_opt(&r.name).await.map_err(|e| GitopsError::Git {
            app: app.name().into(),
            message: format!(
                "reading credentials Secret {ns}/{}: {}",
                r.name,
                crate::cluster::describe(&e)
            ),
        })?;
        let Some(secret) = secret else {
            return Err(GitopsError::Git {
                app: app.name().into(),
                message: format!("credentials Secret {ns}/{} does not exist", r.name),
            });
        };
        let mut map: HashMap<String, String> = HashMap::new();
        for (k, v) in secret.data.unwrap_or_default() {
            map.insert(k, String::from_utf8_lossy(&v.0).into_owned());
        }
        for (k, v) in secret.string_data.unwrap_or_default() {
            map.insert(k, v);
        }
        Credential::from_map(&map, &format!("Secret {ns}/{}", r.name)).map(Some)
    }

    /// Resolves, verifies, renders and gates. `Err` carries the record data gathered so far.
    async fn prepare_inner(
        &self,
        app: &Application,
        revision: &str,
        draft: &mut Draft,
    ) -> Result<Prepared, (SyncResult, String)> {
        let fail = |e: GitopsError| (SyncResult::Failed, e.to_string());
        let cred = self.credential_for(app).await.map_err(fail)?;
        let git = self.git.clone();
        let (name, url, rev) = (
            app.name().to_string(),
            app.spec.source.repo_url.clone(),
            revision.to_string(),
        );
        let commit =
            tokio::task::spawn_blocking(move || git.fetch(&name, &url, &rev, cred.as_ref()))
                .await
                .map_err(|e| (SyncResult::Failed, format!("git task: {e}")))?
                .map_err(fail)?;
        draft.record.commit = Some(commit.sha.clone());
        draft.record.author = Some(commit.author.clone());
        draft.record.subject = Some(commit.subject.clone());

        let mut signature = None;
        if let Some(spec) = &app.spec.source.verify {
            let git = self.git.clone();
            let (url, sha, spec) = (
                app.spec.source.repo_url.clone(),
                commit.sha.clone(),
                spec.clone(),
            );
            let check = tokio::task::spawn_blocking(move || git.verify(&url, &sha, &spec))
                .await
                .map_err(|e| (SyncResult::Failed, format!("verify task: {e}")))?;
            draft.record.signature = Some(check.clone());
            if !check.verified {
                return Err((
                    SyncResult::Refused,
                    format!("commit {} refused: {}", commit.sha, check.message),
                ));
            }
            signature = Some(check);
        }

        let git = self.git.clone();
        let (name, url, sha) = (
            app.name().to_string(),
            app.spec.source.repo_url.clone(),
            commit.sha.clone(),
        );
        let checkout = tokio::task::spawn_blocking(move || git.checkout(&name, &url, &sha))
            .await
            .map_err(|e| (SyncResult::Failed, format!("checkout task: {e}")))?
            .map_err(fail)?;
        let rendered = self.render(app, checkout).await.map_err(fail)?;
        if !rendered.errors.is_empty() {
            let msgs: Vec<String> = rendered.errors.iter().map(ToString::to_string).collect();
            return Err((
                SyncResult::Failed,
                format!("render failed, nothing applied: {}", msgs.join("; ")),
            ));
        }
        let mut objects = rendered.objects;
        self.default_namespaces(app, &mut objects)
            .await
            .map_err(|m| (SyncResult::Failed, m))?;

        // The policy gate: the same set as `scan config` and the webhook.
        let scan = self.policy.scan(&objects);
        let fail_on = app.spec.policy.fail_on;
        let mut decision = PolicyDecision {
            fail_on: fail_on.to_string(),
            total: scan.findings.len(),
            ..Default::default()
        };
        for f in scan.findings.iter().take(200) {
            decision.findings.push(PolicyFinding {
                rule_id: f.rule_id.clone(),
                severity: f.severity.to_string(),
                object: f.location.object.clone().unwrap_or_default(),
                location: format!(
                    "{}:{}",
                    f.location.path.as_deref().unwrap_or_default(),
                    f.location.start_line.unwrap_or(0)
                ),
                message: f.message.clone(),
            });
        }
        let blocking: Vec<&shipgate_report::Finding> = scan
            .findings
            .iter()
            .filter(|f| fail_on.fails(f.severity))
            .collect();
        if !scan.errors.is_empty() {
            decision.blocked = true;
            draft.record.policy = decision;
            let msgs: Vec<String> = scan.errors.iter().map(ToString::to_string).collect();
            return Err((
                SyncResult::Blocked,
                format!(
                    "policy evaluation failed (fail closed): {}",
                    msgs.join("; ")
                ),
            ));
        }
        if !blocking.is_empty() {
            decision.blocked = true;
            let first: Vec<String> = blocking
                .iter()
                .take(5)
                .map(|f| {
                    format!(
                        "{} {} ({}): {}",
                        f.severity,
                        f.rule_id,
                        f.location.object.as_deref().unwrap_or_default(),
                        f.message
                    )
                })
                .collect();
            let reason = format!(
                "policy gate: {} finding(s) at or above {fail_on}: {}{}",
                blocking.len(),
                first.join("; "),
                if blocking.len() > 5 { "; ..." } else { "" }
            );
            draft.record.policy = decision;
            return Err((SyncResult::Blocked, reason));
        }
        draft.record.policy = decision.clone();

        let mut desired = Vec::with_capacity(objects.len());
        let mut seen = BTreeSet::new();
        for obj in objects {
            let source = format!("{}:{}", obj.path, obj.line());
            let Some(id) = ObjectRef::from_value(&obj.value) else {
                return Err((
                    SyncResult::Failed,
                    format!(
                        "{source}: not a Kubernetes object (apiVersion, kind and metadata.name are required)"
                    ),
                ));
            };
            if !seen.insert(id.key()) {
                return Err((
                    SyncResult::Failed,
                    format!("{source}: {id} is defined twice"),
                ));
            }
            let wave = wave_of(&obj.value)
                .map_err(|m| (SyncResult::Failed, format!("{source}: {id}: {m}")))?;
            let mut manifest = obj.value;
            add_tracking(&mut manifest, app.name(), &id);
            desired.push(Desired {
                id,
                manifest,
                wave,
                source,
            });
        }
        if app.spec.destination.create_namespace
            && let Some(ns) = &app.spec.destination.namespace
            && !desired
                .iter()
                .any(|d| d.id.group.is_empty() && d.id.kind == "Namespace" && d.id.name == *ns)
        {
            let id = ObjectRef {
                group: String::new(),
                version: "v1".into(),
                kind: "Namespace".into(),
                namespace: None,
                name: ns.clone(),
            };
            let mut manifest = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
            add_tracking(&mut manifest, app.name(), &id);
            desired.push(Desired {
                id,
                manifest,
                wave: 0,
                source: "spec.destination.createNamespace".into(),
            });
        }
        desired.sort_by_key(|d| apply_key(&d.id, d.wave));
        Ok(Prepared {
            commit,
            objects: desired,
            policy: decision,
            signature,
        })
    }

    async fn render(
        &self,
        app: &Application,
        checkout: PathBuf,
    ) -> Result<render::Rendered, GitopsError> {
        let src = &app.spec.source;
        let dir = checkout.join(&src.path);
        if !dir.is_dir() {
            return Err(GitopsError::Render {
                app: app.name().into(),
                path: src.path.clone(),
                message: "no such directory at this commit".into(),
            });
        }
        let renderer = if let Some(d) = &src.directory {
            Renderer::Directory { recurse: d.recurse }
        } else if src.kustomize.is_some() {
            Renderer::Kustomize
        } else if let Some(h) = &src.helm {
            Renderer::Helm {
                release_name: h
                    .release_name
                    .clone()
                    .unwrap_or_else(|| app.name().to_string()),
                values_files: h.value_files.clone(),
                values: h.values.clone(),
                namespace: app.spec.destination.namespace.clone(),
                include_crds: h.include_crds,
                kube_version: None,
            }
        } else {
            render::detect(&dir)
        };
        let (name, path, tools, limits) = (
            app.name().to_string(),
            src.path.clone(),
            self.tools.clone(),
            self.render_limits.clone(),
        );
        tokio::task::spawn_blocking(move || {
            render::render(&name, &checkout, &path, &renderer, &tools, &limits)
        })
        .await
        .map_err(|e| GitopsError::Other(format!("render task: {e}")))
    }

    /// Fills in the destination namespace of namespaced objects and drops the namespace of
    /// cluster-scoped ones (what kubectl does), using discovery for the scope. Kinds defined by
    /// CRDs in the same render take the CRD's scope.
    async fn default_namespaces(
        &self,
        app: &Application,
        objects: &mut [K8sObject],
    ) -> Result<(), String> {
        let mut crd_scopes: HashMap<(String, String), bool> = HashMap::new();
        for o in objects.iter() {
            if o.value["apiVersion"]
                .as_str()
                .is_some_and(|v| v.starts_with("apiextensions.k8s.io/"))
                && o.value["kind"] == "CustomResourceDefinition"
            {
                let group = o
                    .value
                    .pointer("/spec/group")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let kind = o
                    .value
                    .pointer("/spec/names/kind")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let namespaced =
                    o.value.pointer("/spec/scope").and_then(Value::as_str) != Some("Cluster");
                crd_scopes.insert((group.to_string(), kind.to_string()), namespaced);
            }
        }
        let default_ns = app
            .spec
            .destination
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_string());
        let mut scopes: HashMap<(String, String, String), bool> = HashMap::new();
        for o in objects.iter_mut() {
            let Some(id) = ObjectRef::from_value(&o.value) else {
                continue;
            };
            let key = (id.group.clone(), id.version.clone(), id.kind.clone());
            let namespaced = match scopes.get(&key) {
                Some(n) => *n,
                None => {
                    let n = match crd_scopes.get(&(id.group.clone(), id.kind.clone())) {
                        Some(n) => *n,
                        None => {
                            match self.cluster.resolve(&id.group, &id.version, &id.kind).await {
                                Ok(r) => r.namespaced,
                                Err(e) => {
                                    return Err(format!("{}:{}: {id}: {e}", o.path, o.line()));
                                }
                            }
                        }
                    };
                    scopes.insert(key, n);
                    n
                }
            };
            if let Some(meta) = o.value.get_mut("metadata").and_then(Value::as_object_mut) {
                if namespaced {
                    if id.namespace.is_none() {
                        meta.insert("namespace".into(), Value::String(default_ns.clone()));
                    }
                } else {
                    meta.remove("namespace");
                }
            }
        }
        Ok(())
    }

    /// Resolves and renders the application at a revision and runs the gate, without touching
    /// the cluster's objects.
    pub async fn prepare(
        &self,
        app: &Application,
        revision: Option<&str>,
    ) -> Result<Prepared, GitopsError> {
        let opts = SyncOptions {
            revision: revision.map(String::from),
            ..Default::default()
        };
        let mut draft = Draft::new(app, &opts);
        let rev = opts
            .revision
            .clone()
            .unwrap_or_else(|| app.spec.source.revision.clone());
        self.prepare_inner(app, &rev, &mut draft)
            .await
            .map_err(|(_, reason)| {
                GitopsError::Other(format!("application {}: {reason}", app.name()))
            })
    }

    /// What a sync would decide, without touching the cluster's objects or the history:
    /// `Err((Blocked | Refused | Failed, reason))` when the gate, the signature check or
    /// rendering stops it (`gitops sync --dry-run`).
    pub async fn plan(
        &self,
        app: &Application,
        revision: Option<&str>,
    ) -> Result<Prepared, (SyncResult, String)> {
        let opts = SyncOptions {
            revision: revision.map(String::from),
            ..Default::default()
        };
        let mut draft = Draft::new(app, &opts);
        let rev = opts
            .revision
            .clone()
            .unwrap_or_else(|| app.spec.source.revision.clone());
        self.prepare_inner(app, &rev, &mut draft).await
    }

    /// Syncs one application and records the attempt.
    pub async fn sync(&self, app: &Application, opts: &SyncOptions) -> SyncOutcome {
        let mut draft = Draft::new(app, opts);
        let previous = match self.store.load(app.name()).await {
            Ok(r) => r,
            Err(e) => {
                // Without the previous inventory a prune could not be correct: stop here.
                let record = draft.finish(SyncResult::Failed, Some(e.to_string()));
                return SyncOutcome {
                    record,
                    applied: Vec::new(),
                    store_error: Some(e.to_string()),
                };
            }
        };
        let rev = opts
            .revision
            .clone()
            .or_else(|| {
                previous
                    .state
                    .pinned_commit
                    .clone()
                    .filter(|_| opts.trigger == Trigger::Automated)
            })
            .unwrap_or_else(|| app.spec.source.revision.clone());
        draft.record.revision = rev.clone();
        let prepared = match self.prepare_inner(app, &rev, &mut draft).await {
            Ok(p) => p,
            Err((result, reason)) => {
                let record = draft.finish(result, Some(reason));
                return self.store_outcome(record, None, Vec::new()).await;
            }
        };
        let mut counts = ObjectCounts {
            desired: prepared.objects.len(),
            ..Default::default()
        };
        let mut changes = Vec::new();
        let (applied, failure) = self
            .apply_all(app, &prepared, &mut counts, &mut changes)
            .await;
        let mut failure = failure;

        let desired_keys: BTreeSet<_> = prepared.objects.iter().map(|d| d.id.key()).collect();
        let mut inventory: Vec<ObjectRef> = prepared.objects.iter().map(|d| d.id.clone()).collect();
        if failure.is_none() {
            let prune = app.spec.sync_policy.prune || opts.force_prune;
            let mut gone: Vec<ObjectRef> = previous
                .state
                .inventory
                .iter()
                .filter(|o| !desired_keys.contains(&o.key()))
                .cloned()
                .collect();
            gone.sort_by_key(|o| std::cmp::Reverse(apply_key(o, 0)));
            for id in gone {
                if !prune {
                    change(
                        &mut changes,
                        &id,
                        "orphaned",
                        Some("left Git; prune is off".into()),
                    );
                    inventory.push(id);
                    continue;
                }
                match self.prune_one(app, &id).await {
                    Ok(true) => {
                        counts.pruned += 1;
                        change(&mut changes, &id, "pruned", None);
                    }
                    Ok(false) => {}
                    Err(e) => {
                        counts.failed += 1;
                        change(&mut changes, &id, "failed", Some(e.to_string()));
                        inventory.push(id);
                        failure.get_or_insert_with(|| format!("prune: {e}"));
                    }
                }
            }
        } else {
            // Keep owning what was owned before, plus what this attempt created.
            for o in &previous.state.inventory {
                if !desired_keys.contains(&o.key()) {
                    inventory.push(o.clone());
                }
            }
            let applied_keys: BTreeSet<_> = applied.iter().map(|a| a.id.key()).collect();
            let previous_keys: BTreeSet<_> = previous
                .state
                .inventory
                .iter()
                .map(ObjectRef::key)
                .collect();
            inventory
                .retain(|o| applied_keys.contains(&o.key()) || previous_keys.contains(&o.key()));
        }
        let health = health::aggregate(applied.iter().map(|a| health::assess(&a.stored).health));
        draft.record.health = Some(health);
        draft.record.objects = counts;
        draft.record.changes = changes;
        let (result, reason) = match failure {
            None => (SyncResult::Succeeded, None),
            Some(r) => (SyncResult::Failed, Some(r)),
        };
        let state = AppState {
            synced_commit: if result == SyncResult::Succeeded {
                Some(prepared.commit.sha.clone())
            } else {
                previous.state.synced_commit.clone()
            },
            synced_at: if result == SyncResult::Succeeded {
                Some(now_rfc3339())
            } else {
                previous.state.synced_at.clone()
            },
            inventory,
            pinned_commit: match opts.trigger {
                Trigger::Rollback => opts.pin.clone(),
                Trigger::Manual => None,
                Trigger::Automated => previous.state.pinned_commit.clone(),
            },
        };
        let record = draft.finish(result, reason);
        self.store_outcome(record, Some(state), applied).await
    }

    async fn store_outcome(
        &self,
        record: SyncRecord,
        state: Option<AppState>,
        applied: Vec<Applied>,
    ) -> SyncOutcome {
        let store_error = self
            .store
            .record_sync(record.clone(), state)
            .await
            .err()
            .map(|e| e.to_string());
        SyncOutcome {
            record,
            applied,
            store_error,
        }
    }

    async fn prune_one(&self, app: &Application, id: &ObjectRef) -> Result<bool, GitopsError> {
        let Some(live) = self.cluster.get(id).await? else {
            return Ok(false);
        };
        if !objects::owned_by(&live, app.name()) {
            // Never delete what the application does not own (tracking annotation missing or
            // naming someone else): it may have been adopted by another tool.
            return Ok(false);
        }
        self.cluster.delete(id).await
    }

    /// Applies a prepared desired state in order; returns what was applied and the first
    /// failure.
    async fn apply_all(
        &self,
        app: &Application,
        prepared: &Prepared,
        counts: &mut ObjectCounts,
        changes: &mut Vec<ObjectChange>,
    ) -> (Vec<Applied>, Option<String>) {
        let mut applied = Vec::new();
        let (phase0, rest): (Vec<&Desired>, Vec<&Desired>) = prepared
            .objects
            .iter()
            .partition(|d| is_phase_zero(&d.id.group, &d.id.kind));
        // Phase 0: namespaces and CRDs, dry run first, then applied, then CRDs established.
        if !phase0.is_empty() {
            let before = match self.preflight_versions(&phase0, counts, changes).await {
                Ok(b) => b,
                Err(e) => return (applied, Some(e)),
            };
            match self.apply_batch(&phase0, &before, counts, changes).await {
                Ok(done) => applied.extend(done),
                Err((done, e)) => {
                    applied.extend(done);
                    return (applied, Some(e));
                }
            }
            let crds: Vec<&Desired> = phase0
                .iter()
                .copied()
                .filter(|d| d.id.kind == "CustomResourceDefinition")
                .collect();
            if let Err(e) = self.wait_established(&crds).await {
                return (applied, Some(e));
            }
        }
        // Everything else: one dry run of all objects, so a rejected object stops the sync
        // before any wave changes the cluster.
        let rest_refs: Vec<&Desired> = rest;
        let before = match self.preflight_versions(&rest_refs, counts, changes).await {
            Ok(b) => b,
            Err(e) => return (applied, Some(e)),
        };
        let mut waves: BTreeMap<i32, Vec<&Desired>> = BTreeMap::new();
        for d in rest_refs {
            waves.entry(d.wave).or_default().push(d);
        }
        let n = waves.len();
        for (i, (wave, items)) in waves.into_iter().enumerate() {
            match self.apply_batch(&items, &before, counts, changes).await {
                Ok(done) => {
                    let wave_objects: Vec<ObjectRef> = done.iter().map(|a| a.id.clone()).collect();
                    applied.extend(done);
                    if i + 1 < n
                        && let Err(e) = self
                            .wait_healthy(&wave_objects, app.spec.sync_policy.health_timeout)
                            .await
                    {
                        return (applied, Some(format!("wave {wave}: {e}")));
                    }
                }
                Err((done, e)) => {
                    applied.extend(done);
                    return (applied, Some(format!("wave {wave}: {e}")));
                }
            }
        }
        (applied, None)
    }

    /// Dry-runs every object; returns each object's current resourceVersion (empty when the
    /// object does not exist yet) so that the real apply can tell created, configured and
    /// unchanged apart.
    async fn preflight_versions(
        &self,
        items: &[&Desired],
        counts: &mut ObjectCounts,
        changes: &mut Vec<ObjectChange>,
    ) -> Result<HashMap<(String, String, String, String), String>, String> {
        let results: Vec<(ObjectRef, Result<Value, GitopsError>)> =
            futures_util::stream::iter((0..items.len()).map(|i| {
                let d: &Desired = items[i];
                async move {
                    (
                        d.id.clone(),
                        self.cluster.apply(&d.id, &d.manifest, true).await,
                    )
                }
            }))
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        let mut out = HashMap::new();
        let mut errors = Vec::new();
        for (id, r) in results {
            match r {
                Ok(v) => {
                    let rv = v
                        .pointer("/metadata/resourceVersion")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    // A dry-run create has no creation timestamp of an existing object.
                    let exists = v.pointer("/metadata/uid").is_some() && !rv.is_empty();
                    out.insert(id.key(), if exists { rv } else { String::new() });
                }
                Err(e) => {
                    counts.failed += 1;
                    change(changes, &id, "failed", Some(format!("dry run: {e}")));
                    errors.push(e.to_string());
                }
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            errors.sort();
            let n = errors.len();
            Err(format!(
                "the API server's dry run rejected {n} object(s), nothing applied: {}{}",
                errors
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; "),
                if n > 5 { "; ..." } else { "" }
            ))
        }
    }

    async fn apply_batch(
        &self,
        items: &[&Desired],
        before: &HashMap<(String, String, String, String), String>,
        counts: &mut ObjectCounts,
        changes: &mut Vec<ObjectChange>,
    ) -> Result<Vec<Applied>, (Vec<Applied>, String)> {
        let results: Vec<(&Desired, Result<Value, GitopsError>)> =
            futures_util::stream::iter((0..items.len()).map(|i| {
                let d: &Desired = items[i];
                async move { (d, self.cluster.apply(&d.id, &d.manifest, false).await) }
            }))
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        let mut done = Vec::new();
        let mut first = None;
        for (d, r) in results {
            match r {
                Ok(stored) => {
                    let rv = stored
                        .pointer("/metadata/resourceVersion")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    match before.get(&d.id.key()) {
                        Some(prev) if prev.is_empty() => {
                            counts.created += 1;
                            change(changes, &d.id, "created", None);
                        }
                        Some(prev) if prev == rv => counts.unchanged += 1,
                        _ => {
                            counts.configured += 1;
                            change(changes, &d.id, "configured", None);
                        }
                    }
                    done.push(Applied {
                        id: d.id.clone(),
                        sent: d.manifest.clone(),
                        stored,
                    });
                }
                Err(e) => {
                    counts.failed += 1;
                    change(changes, &d.id, "failed", Some(e.to_string()));
                    first.get_or_insert_with(|| e.to_string());
                }
            }
        }
        match first {
            None => Ok(done),
            Some(e) => Err((done, e)),
        }
    }

    async fn wait_established(&self, crds: &[&Desired]) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        for d in crds {
            loop {
                let live = self.cluster.get(&d.id).await.map_err(|e| e.to_string())?;
                let h = live.as_ref().map(health::assess);
                if h.as_ref().is_some_and(|h| h.health == Health::Healthy) {
                    if let Some(g) = d.manifest.pointer("/spec/group").and_then(Value::as_str) {
                        self.cluster.forget(g);
                    }
                    break;
                }
                if Instant::now() > deadline {
                    return Err(format!(
                        "{} not established after 60s: {}",
                        d.id,
                        h.map(|h| h.message).unwrap_or_default()
                    ));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        Ok(())
    }

    /// Waits until every object is Healthy; a Degraded object fails at once.
    pub async fn wait_healthy(&self, ids: &[ObjectRef], timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let mut pending: Vec<ObjectRef> = ids.to_vec();
        loop {
            let mut still = Vec::new();
            let mut last = String::new();
            for id in pending {
                let live = self.cluster.get(&id).await.map_err(|e| e.to_string())?;
                let h = match &live {
                    Some(v) => health::assess(v),
                    None => health::HealthStatus {
                        health: Health::Missing,
                        message: "not found".into(),
                    },
                };
                match h.health {
                    Health::Healthy => {}
                    Health::Degraded => return Err(format!("{id} is Degraded: {}", h.message)),
                    _ => {
                        last = format!("{id}: {:?}: {}", h.health, h.message);
                        still.push(id);
                    }
                }
            }
            if still.is_empty() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} object(s) not healthy after {}s (health timeout); e.g. {last}",
                    still.len(),
                    timeout.as_secs()
                ));
            }
            pending = still;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// What a sync would change, per object: a unified diff of the live object (normalised)
    /// against the API server's dry-run result.
    pub async fn diff(
        &self,
        app: &Application,
        revision: Option<&str>,
    ) -> Result<Vec<ObjectDiff>, GitopsError> {
        let prepared = self.prepare(app, revision).await?;
        let state = self.store.load(app.name()).await?.state;
        let mut out = Vec::new();
        for d in &prepared.objects {
            let live = self.cluster.get(&d.id).await?;
            let would = match self.cluster.apply(&d.id, &d.manifest, true).await {
                Ok(v) => v,
                // A namespace the sync would create first: show the manifest as sent.
                Err(_) if live.is_none() => d.manifest.clone(),
                Err(e) => return Err(e),
            };
            let old = live
                .as_ref()
                .map(normalise_for_diff)
                .map(|v| to_yaml(&v))
                .unwrap_or_default();
            let new = to_yaml(&normalise_for_diff(&would));
            let action = if live.is_none() {
                "create"
            } else if old == new {
                "unchanged"
            } else {
                "update"
            };
            out.push(ObjectDiff {
                object: d.id.to_string(),
                action: action.into(),
                diff: unified(&old, &new, &d.id.to_string()),
            });
        }
        let keys: BTreeSet<_> = prepared.objects.iter().map(|d| d.id.key()).collect();
        for id in state.inventory.iter().filter(|o| !keys.contains(&o.key())) {
            if let Some(live) = self.cluster.get(id).await?
                && objects::owned_by(&live, app.name())
            {
                let old = to_yaml(&normalise_for_diff(&live));
                out.push(ObjectDiff {
                    object: id.to_string(),
                    action: if app.spec.sync_policy.prune {
                        "prune"
                    } else {
                        "orphaned"
                    }
                    .into(),
                    diff: unified(&old, "", &id.to_string()),
                });
            }
        }
        Ok(out)
    }
}

/// Drops what changes on every write and what nobody edits (for readable diffs).
pub fn normalise_for_diff(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in [
            "managedFields",
            "resourceVersion",
            "generation",
            "uid",
            "creationTimestamp",
            "selfLink",
        ] {
            m.remove(k);
        }
        if let Some(a) = m.get_mut("annotations").and_then(Value::as_object_mut) {
            a.remove("kubectl.kubernetes.io/last-applied-configuration");
            if a.is_empty() {
                m.remove("annotations");
            }
        }
    }
    if let Some(m) = v.as_object_mut() {
        m.remove("status");
    }
    v
}

fn to_yaml(v: &Value) -> String {
    serde_saphyr::to_string(v)
        .unwrap_or_else(|_| serde_json::to_string_pretty(v).unwrap_or_default())
}

fn unified(old: &str, new: &str, name: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("live/{name}"), &format!("git/{name}"))
        .to_string()
}
