//! Shared state: a small pool of store connections, the cached aggregate snapshot (metrics
//! are whole-table aggregates: computed in the background, never per request) and the
//! cached ledger verification.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use shipgate_store::metrics::{DayCounts, Metrics};
use shipgate_store::query::SeverityCounts;
use shipgate_store::{Store, StoreError};
use tokio::sync::{Notify, Semaphore, watch};

use crate::ServerError;

/// Days of the findings chart.
pub(crate) const TREND_DAYS: usize = 90;

/// A fixed set of open stores; a request borrows one for the duration of its queries, on a
/// blocking thread.
pub(crate) struct Pool {
    stores: Mutex<Vec<Store>>,
    slots: Semaphore,
}

/// Why a pooled query failed.
#[derive(Debug)]
pub(crate) enum PoolError {
    Store(StoreError),
    Internal(String),
}

impl From<StoreError> for PoolError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl Pool {
    pub(crate) fn open(path: &Path, size: usize) -> Result<Self, StoreError> {
        let stores = (0..size.max(1))
            .map(|_| Store::open(path))
            .collect::<Result<Vec<_>, _>>()?;
        let n = stores.len();
        Ok(Self {
            stores: Mutex::new(stores),
            slots: Semaphore::new(n),
        })
    }

    /// Runs `f` with a store on a blocking thread.
    pub(crate) async fn with<T, F>(self: &Arc<Self>, f: F) -> Result<T, PoolError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    {
        let permit = self
            .slots
            .acquire()
            .await
            .map_err(|e| PoolError::Internal(e.to_string()))?;
        let pool = self.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let store = pool
                .stores
                .lock()
                .map_err(|_| PoolError::Internal("store pool poisoned".into()))?
                .pop();
            let Some(mut store) = store else {
                return Err(PoolError::Internal("store pool empty".into()));
            };
            let out = f(&mut store);
            if let Ok(mut stores) = pool.stores.lock() {
                stores.push(store);
            }
            out.map_err(PoolError::Store)
        })
        .await;
        drop(permit);
        joined.map_err(|e| PoolError::Internal(format!("query task failed: {e}")))?
    }
}

/// Aggregates of the whole store, computed together in the background.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Snapshot {
    /// When the computation finished (RFC 3339).
    pub computed_at: String,
    /// How long it took.
    pub took_ms: u64,
    /// What `shipgate report` shows.
    pub metrics: Metrics,
    /// Counts of the latest report of each target.
    pub open_findings: SeverityCounts,
    /// The last [`TREND_DAYS`] days of `metrics.findings_by_day`.
    pub trend: Vec<DayCounts>,
    /// Ledger entries.
    pub ledger_entries: i64,
    /// Sync events (`sync`, `gitops-sync`).
    pub sync_events: u64,
    /// Admission events, allowed or not.
    pub admission_events: u64,
}

/// Event kinds shown on the drift page.
pub(crate) const DRIFT_KINDS: &[&str] = &["drift", "sync", "gitops-sync"];

fn compute_snapshot(store: &Store) -> Result<Snapshot, StoreError> {
    let started = Instant::now();
    let metrics = store.metrics(None)?;
    let open_findings = store.latest_counts()?;
    let skip = metrics.findings_by_day.len().saturating_sub(TREND_DAYS);
    let trend = metrics.findings_by_day[skip..].to_vec();
    let ledger_entries = store.ledger_head()?.map_or(0, |h| h.0);
    let counts = store.event_counts(&["sync", "gitops-sync", "admission"])?;
    let sync_events = counts.iter().take(2).map(|c| c.1).sum();
    let admission_events = counts.get(2).map_or(0, |c| c.1);
    Ok(Snapshot {
        computed_at: now(),
        took_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        metrics,
        open_findings,
        trend,
        ledger_entries,
        sync_events,
        admission_events,
    })
}

/// The result of the last ledger verification.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct VerifyResult {
    /// When it finished (RFC 3339).
    pub verified_at: String,
    /// Seconds since the epoch, for `/metrics`.
    #[serde(skip)]
    pub verified_epoch: i64,
    /// How long it took.
    pub took_ms: u64,
    /// The chain and every record intact.
    pub intact: bool,
    /// Entries checked.
    pub entries: u64,
    /// Head seq and hash.
    pub head: Option<(i64, String)>,
    /// The first problem.
    pub problem: Option<shipgate_store::Problem>,
    /// The verification could not run (store error).
    pub error: Option<String>,
}

/// Everything a request handler needs.
pub(crate) struct AppState {
    pub pool: Arc<Pool>,
    /// sha256 of the ingest token, if ingest is enabled.
    pub token_digest: Option<[u8; 32]>,
    pub max_body: usize,
    pub page_size: u32,
    pub tls: bool,
    pub snapshot: watch::Receiver<Option<SnapshotState>>,
    pub refresh: Arc<Notify>,
    pub verification: Mutex<Option<Arc<VerifyResult>>>,
    /// One verification at a time (it reads the whole ledger).
    pub verify_lock: tokio::sync::Mutex<()>,
}

impl AppState {
    /// The current snapshot, waiting for the first computation; an error when the first
    /// computation failed (later failures keep the previous snapshot).
    pub(crate) async fn snapshot(&self) -> Result<Arc<Snapshot>, String> {
        let mut rx = self.snapshot.clone();
        let got = rx
            .wait_for(Option::is_some)
            .await
            .map_err(|_| "the metrics task stopped".to_owned())?;
        match got.clone() {
            Some(Ok(s)) => Ok(s),
            Some(Err(e)) => Err(format!("the aggregates could not be computed: {e}")),
            None => Err("the metrics task stopped".to_owned()),
        }
    }

    pub(crate) fn last_verification(&self) -> Option<Arc<VerifyResult>> {
        self.verification.lock().ok().and_then(|v| v.clone())
    }

    /// Verifies the ledger now (one verification at a time: a caller that waited for a
    /// running one gets a fresh result of its own).
    pub(crate) async fn verify(&self) -> Arc<VerifyResult> {
        let _one = self.verify_lock.lock().await;
        let started = Instant::now();
        let result = self.pool.with(|s| s.verify()).await;
        let took_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let ts = jiff::Timestamp::now();
        let r = match result {
            Ok(v) => VerifyResult {
                verified_at: fmt_ts(ts),
                verified_epoch: ts.as_second(),
                took_ms,
                intact: v.problem.is_none(),
                entries: v.entries,
                head: v.head,
                problem: v.problem,
                error: None,
            },
            Err(e) => VerifyResult {
                verified_at: fmt_ts(ts),
                verified_epoch: ts.as_second(),
                took_ms,
                intact: false,
                entries: 0,
                head: None,
                problem: None,
                error: Some(match e {
                    PoolError::Store(e) => e.to_string(),
                    PoolError::Internal(e) => e,
                }),
            },
        };
        let r = Arc::new(r);
        if let Ok(mut v) = self.verification.lock() {
            *v = Some(r.clone());
        }
        r
    }
}

/// The latest computed snapshot, or why the first computation failed.
pub(crate) type SnapshotState = Result<Arc<Snapshot>, String>;

/// Recomputes the snapshot every `interval`, and soon after `refresh` is notified (ingest).
pub(crate) async fn snapshot_loop(
    pool: Arc<Pool>,
    tx: watch::Sender<Option<SnapshotState>>,
    refresh: Arc<Notify>,
    interval: Duration,
) {
    loop {
        match pool.with(|s| compute_snapshot(s)).await {
            Ok(s) => {
                let _ = tx.send(Some(Ok(Arc::new(s))));
            }
            Err(e) => {
                let msg = match e {
                    PoolError::Store(e) => e.to_string(),
                    PoolError::Internal(e) => e,
                };
                tracing::warn!(target: "shipgate::serve", "computing the metrics failed: {msg}");
                // Keep a good snapshot; without one, answer the error instead of waiting.
                tx.send_if_modified(|cur| match cur {
                    Some(Ok(_)) => false,
                    _ => {
                        *cur = Some(Err(msg.clone()));
                        true
                    }
                });
            }
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = refresh.notified() => {}
        }
    }
}

pub(crate) fn open_state(
    path: &Path,
    readers: usize,
    token_file: Option<&Path>,
) -> Result<(Arc<Pool>, Option<[u8; 32]>), ServerError> {
    let token_digest = match token_file {
        None => None,
        Some(f) => Some(crate::auth::load_token(f)?),
    };
    let pool = Arc::new(Pool::open(path, readers)?);
    Ok((pool, token_digest))
}

pub(crate) fn fmt_ts(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn now() -> String {
    fmt_ts(jiff::Timestamp::now())
}
