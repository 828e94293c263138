//! Sync records and per-application state, kept in the cluster.
//!
//! Each application has one ConfigMap `shipgate-gitops-<app>` in the state namespace
//! (default `shipgate-system`) with three keys in `binaryData`, each gzip-compressed JSON:
//! `state` (last synced commit, inventory of owned objects, rollback pin), `history` (the most
//! recent sync records, newest last) and `drift` (the most recent drift events). The cluster is
//! the source of truth, so `gitops history` on a laptop sees what the agent in the cluster did,
//! and two writers never lose each other's records: writes are compare-and-swap on
//! `resourceVersion`, retried on conflict.
//!
//! Guarantees: a record is written for every sync attempt that got as far as resolving the
//! application (including blocked, refused and failed ones); the stored size stays under the
//! ConfigMap limit by dropping the oldest records, never the inventory.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ObjectMeta, PostParams};
use serde::{Deserialize, Serialize};

use crate::cluster::{describe, status_code};
use crate::drift::ChangedField;
use crate::error::GitopsError;
use crate::health::Health;
use crate::objects::{LABEL_MANAGED_BY, MANAGED_BY, ObjectRef};

/// Default namespace of the state ConfigMaps (and of the agent).
pub const DEFAULT_STATE_NAMESPACE: &str = "shipgate-system";
/// Records kept per application.
pub const MAX_RECORDS: usize = 50;
/// Drift events kept per application.
pub const MAX_DRIFT_EVENTS: usize = 100;
/// Object changes listed per record (the counts are always complete).
pub const MAX_CHANGES_LISTED: usize = 200;
/// Budget for the compressed payload of one ConfigMap (the API server's limit is ~1 MiB).
const MAX_PAYLOAD: usize = 900 * 1024;

/// How a sync ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncResult {
    /// Everything applied (and pruned) as planned.
    Succeeded,
    /// An error stopped it (git, render, API server, health timeout); see `reason`.
    Failed,
    /// The policy gate blocked it; nothing was applied.
    Blocked,
    /// The commit signature check refused the revision; nothing was applied.
    Refused,
}

impl SyncResult {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncResult::Succeeded => "succeeded",
            SyncResult::Failed => "failed",
            SyncResult::Blocked => "blocked",
            SyncResult::Refused => "refused",
        }
    }
}

/// What one object went through in a sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectChange {
    /// `Deployment.apps shop/web`.
    pub object: String,
    /// created | configured | unchanged | pruned | failed | skipped
    pub action: String,
    /// The API server's message for failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Counts of a sync's object actions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectCounts {
    /// Objects in the desired state.
    pub desired: usize,
    /// Created.
    pub created: usize,
    /// Changed.
    pub configured: usize,
    /// Applied without change.
    pub unchanged: usize,
    /// Deleted because they left Git.
    pub pruned: usize,
    /// Failed.
    pub failed: usize,
}

/// One policy finding that the gate evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyFinding {
    /// Rule id.
    pub rule_id: String,
    /// Severity.
    pub severity: String,
    /// The object.
    pub object: String,
    /// `path:line` in the repository.
    pub location: String,
    /// Message.
    pub message: String,
}

/// The policy gate's decision.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDecision {
    /// The threshold (`high`, `none`...).
    pub fail_on: String,
    /// True when the gate blocked the sync.
    pub blocked: bool,
    /// Findings (all of them, blocking or not), capped at 200.
    pub findings: Vec<PolicyFinding>,
    /// Total number of findings.
    pub total: usize,
}

/// The commit signature check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureCheck {
    /// True when the signature is good and from an allowed key.
    pub verified: bool,
    /// Who signed (principal / key fingerprint), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// What the verifier said.
    pub message: String,
}

/// One sync attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncRecord {
    /// Unique id: `<app>-<unix ms>`.
    pub id: String,
    /// Application.
    pub app: String,
    /// RFC 3339 start time.
    pub started_at: String,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// manual | automated | self-heal | rollback | dry-run
    pub trigger: String,
    /// The revision asked for (branch, tag, SHA).
    pub revision: String,
    /// The commit it resolved to (absent when resolution failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Commit author (`Name <email>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Commit subject line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Result.
    pub result: SyncResult,
    /// Why it failed, was blocked or refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Policy gate decision.
    #[serde(default)]
    pub policy: PolicyDecision,
    /// Signature check, when the application requires one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<SignatureCheck>,
    /// Object counts.
    #[serde(default)]
    pub objects: ObjectCounts,
    /// Changed, pruned and failed objects (unchanged ones are only counted), capped.
    #[serde(default)]
    pub changes: Vec<ObjectChange>,
    /// Health after the sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
}

/// A drift event: an owned object no longer matches what was applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftEvent {
    /// RFC 3339 time the agent saw it.
    pub detected_at: String,
    /// Application.
    pub app: String,
    /// The object.
    pub object: String,
    /// changed | deleted
    pub kind: String,
    /// The fields and who changed them.
    #[serde(default)]
    pub fields: Vec<ChangedField>,
    /// True when self-heal reverted it.
    pub healed: bool,
    /// Milliseconds from detection to the revert being accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heal_ms: Option<u64>,
    /// Why it was not healed (self-heal off, fight suppressed, error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Per-application state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppState {
    /// The commit of the last successful sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_commit: Option<String>,
    /// When it happened (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_at: Option<String>,
    /// Objects the application owns (applied by its last successful sync): the prune set.
    #[serde(default)]
    pub inventory: Vec<ObjectRef>,
    /// Set by `gitops rollback`: the agent keeps this commit instead of following the
    /// revision, until `gitops sync` clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_commit: Option<String>,
}

/// Everything stored for one application.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppRecord {
    /// State.
    pub state: AppState,
    /// Sync records, oldest first.
    pub history: Vec<SyncRecord>,
    /// Drift events, oldest first.
    pub drift: Vec<DriftEvent>,
}

/// Reads and writes application state ConfigMaps.
#[derive(Clone)]
pub struct StateStore {
    api: Api<ConfigMap>,
    namespace: String,
}

impl std::fmt::Debug for StateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateStore")
            .field("namespace", &self.namespace)
            .finish()
    }
}

/// The ConfigMap name of an application.
pub fn configmap_name(app: &str) -> String {
    format!("shipgate-gitops-{app}")
}

fn gz(value: &impl Serialize) -> Result<Vec<u8>, GitopsError> {
    let json = serde_json::to_vec(value).map_err(|e| GitopsError::State {
        what: "encode".into(),
        message: e.to_string(),
    })?;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&json)
        .and_then(|()| enc.finish())
        .map_err(GitopsError::io("compressing state"))
}

fn ungz<T: serde::de::DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, GitopsError> {
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(64 * 1024 * 1024)
        .read_to_end(&mut json)
        .map_err(|e| GitopsError::State {
            what: what.into(),
            message: format!("not gzip: {e}"),
        })?;
    serde_json::from_slice(&json).map_err(|e| GitopsError::State {
        what: what.into(),
        message: e.to_string(),
    })
}

impl StateStore {
    /// A store in `namespace`.
    pub fn new(client: kube::Client, namespace: &str) -> Self {
        StateStore {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_string(),
        }
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Reads an application's record (empty when none exists yet).
    pub async fn load(&self, app: &str) -> Result<AppRecord, GitopsError> {
        Ok(self.load_raw(app).await?.0)
    }

    async fn load_raw(&self, app: &str) -> Result<(AppRecord, Option<ConfigMap>), GitopsError> {
        let name = configmap_name(app);
        let cm = self
            .api
            .get_opt(&name)
            .await
            .map_err(|e| GitopsError::State {
                what: format!("{}/{name}", self.namespace),
                message: describe(&e),
            })?;
        let Some(cm) = cm else {
            return Ok((AppRecord::default(), None));
        };
        let what = format!("ConfigMap {}/{name}", self.namespace);
        let data = cm.binary_data.clone().unwrap_or_default();
        let get = |key: &str| data.get(key).map(|b| b.0.as_slice());
        let record = AppRecord {
            state: match get("state") {
                Some(b) => ungz(&format!("{what} key state"), b)?,
                None => AppState::default(),
            },
            history: match get("history") {
                Some(b) => ungz(&format!("{what} key history"), b)?,
                None => Vec::new(),
            },
            drift: match get("drift") {
                Some(b) => ungz(&format!("{what} key drift"), b)?,
                None => Vec::new(),
            },
        };
        Ok((record, Some(cm)))
    }

    /// Read-modify-write with compare-and-swap, retried on conflict (another writer).
    pub async fn update<F>(&self, app: &str, mut f: F) -> Result<AppRecord, GitopsError>
    where
        F: FnMut(&mut AppRecord),
    {
        let name = configmap_name(app);
        for _attempt in 0..10 {
            let (mut record, existing) = self.load_raw(app).await?;
            f(&mut record);
            trim(&mut record);
            let mut payload = encode(&record)?;
            while payload.values().map(|b| b.0.len()).sum::<usize>() > MAX_PAYLOAD
                && (!record.history.is_empty() || !record.drift.is_empty())
            {
                // Oldest first: halve what is kept until it fits.
                let h = record.history.len();
                record.history.drain(..h.div_ceil(2).min(h));
                let d = record.drift.len();
                record.drift.drain(..d.div_ceil(2).min(d));
                payload = encode(&record)?;
            }
            let result = match existing {
                Some(mut cm) => {
                    cm.binary_data = Some(payload);
                    self.api.replace(&name, &PostParams::default(), &cm).await
                }
                None => {
                    let cm = ConfigMap {
                        metadata: ObjectMeta {
                            name: Some(name.clone()),
                            namespace: Some(self.namespace.clone()),
                            labels: Some(BTreeMap::from([
                                (LABEL_MANAGED_BY.to_string(), MANAGED_BY.to_string()),
                                ("gitops.shipgate.dev/state-of".to_string(), app.to_string()),
                            ])),
                            ..Default::default()
                        },
                        binary_data: Some(payload),
                        ..Default::default()
                    };
                    self.api.create(&PostParams::default(), &cm).await
                }
            };
            match result {
                Ok(_) => return Ok(record),
                // 409: someone wrote in between (or created it first): read again.
                Err(e) if status_code(&e) == 409 => continue,
                Err(e) if status_code(&e) == 404 => {
                    return Err(GitopsError::State {
                        what: format!("namespace {}", self.namespace),
                        message: format!(
                            "{} (create the state namespace, or pass --state-namespace)",
                            describe(&e)
                        ),
                    });
                }
                Err(e) => {
                    return Err(GitopsError::State {
                        what: format!("ConfigMap {}/{name}", self.namespace),
                        message: describe(&e),
                    });
                }
            }
        }
        Err(GitopsError::State {
            what: format!("ConfigMap {}/{name}", self.namespace),
            message: "too many concurrent writers (10 conflicts in a row)".into(),
        })
    }

    /// Appends a sync record (and, for a success, the new state via `state`).
    pub async fn record_sync(
        &self,
        record: SyncRecord,
        new_state: Option<AppState>,
    ) -> Result<(), GitopsError> {
        let app = record.app.clone();
        self.update(&app, |r| {
            if let Some(s) = &new_state {
                r.state = s.clone();
            }
            r.history.push(record.clone());
        })
        .await
        .map(|_| ())
    }

    /// Appends drift events.
    pub async fn record_drift(&self, app: &str, events: &[DriftEvent]) -> Result<(), GitopsError> {
        self.update(app, |r| r.drift.extend(events.iter().cloned()))
            .await
            .map(|_| ())
    }
}

fn trim(r: &mut AppRecord) {
    if r.history.len() > MAX_RECORDS {
        let n = r.history.len() - MAX_RECORDS;
        r.history.drain(..n);
    }
    if r.drift.len() > MAX_DRIFT_EVENTS {
        let n = r.drift.len() - MAX_DRIFT_EVENTS;
        r.drift.drain(..n);
    }
}

fn encode(r: &AppRecord) -> Result<BTreeMap<String, ByteString>, GitopsError> {
    Ok(BTreeMap::from([
        ("state".to_string(), ByteString(gz(&r.state)?)),
        ("history".to_string(), ByteString(gz(&r.history)?)),
        ("drift".to_string(), ByteString(gz(&r.drift)?)),
    ]))
}

/// Now, RFC 3339 (UTC, seconds).
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Millisecond)
        .map_or_else(|_| jiff::Timestamp::now().to_string(), |t| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_round_trip_and_trim() {
        let mut r = AppRecord::default();
        for i in 0..(MAX_RECORDS + 5) {
            r.history.push(SyncRecord {
                id: format!("a-{i}"),
                app: "a".into(),
                started_at: now_rfc3339(),
                duration_ms: 1,
                trigger: "manual".into(),
                revision: "main".into(),
                commit: Some("c".repeat(40)),
                author: None,
                subject: None,
                result: SyncResult::Succeeded,
                reason: None,
                policy: PolicyDecision::default(),
                signature: None,
                objects: ObjectCounts::default(),
                changes: vec![],
                health: Some(Health::Healthy),
            });
        }
        trim(&mut r);
        assert_eq!(r.history.len(), MAX_RECORDS);
        assert_eq!(r.history[0].id, "a-5");
        let enc = encode(&r).expect("encodes");
        let back: Vec<SyncRecord> = ungz("t", &enc["history"].0).expect("decodes");
        assert_eq!(back, r.history);
        assert!(ungz::<AppState>("t", b"not gzip").is_err());
    }
}
