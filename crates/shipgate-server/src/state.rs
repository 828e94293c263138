//! Shared state: a small pool of store connections, the cached aggregate snapshot (metrics
//! are whole-table aggregates: computed in the background, never per request) and the
//! cached ledger verification.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use shipgate_store::metrics::{DayCounts, Metrics};
use shipgate_store::query::SeverityCounts;
use shipgate_store::{Location, Store, StoreError};
use tokio::sync::{Notify, watch};

use crate::ServerError;

/// Days of the findings chart.
pub(crate) const TREND_DAYS: usize = 90;

/// A job for a store worker.
type Job = Box<dyn FnOnce(&mut Store) + Send>;

/// A fixed set of worker threads, each with its own open store; a request's queries run as one
/// job on whichever worker is free. Plain threads, not tokio's blocking pool: the PostgreSQL
/// client blocks on a runtime of its own, which panics on a thread inside this one's context.
pub(crate) struct Pool {
    jobs: std::sync::mpsc::Sender<Job>,
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
    /// Starts `size` workers (at least one), each opening the store; fails if any cannot.
    /// The workers stop when the pool is dropped.
    pub(crate) fn open(location: &Location, size: usize) -> Result<Self, ServerError> {
        let (jobs, rx) = std::sync::mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let (opened_tx, opened_rx) = std::sync::mpsc::channel::<Result<(), StoreError>>();
        let size = size.max(1);
        for i in 0..size {
            let (rx, opened, location) = (rx.clone(), opened_tx.clone(), location.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("shipgate-store-{i}"))
                .spawn(move || {
                    let mut store = match Store::connect_to(&location) {
                        Ok(s) => {
                            let _ = opened.send(Ok(()));
                            s
                        }
                        Err(e) => {
                            let _ = opened.send(Err(e));
                            return;
                        }
                    };
                    drop(opened);
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        // A panicking query loses its answer (the caller gets an error), not
                        // the worker.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            job(&mut store);
                        }));
                    }
                });
            if let Err(e) = spawned {
                return Err(ServerError::Internal(format!(
                    "cannot start a store worker: {e}"
                )));
            }
        }
        drop(opened_tx);
        for _ in 0..size {
            match opened_rx.recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e.into()),
                Err(_) => break,
            }
        }
        Ok(Self { jobs })
    }

    /// Runs `f` with a store on a worker thread.
    pub(crate) async fn with<T, F>(self: &Arc<Self>, f: F) -> Result<T, PoolError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move |store: &mut Store| {
                let _ = tx.send(f(store));
            }))
            .map_err(|_| PoolError::Internal("the store workers stopped".into()))?;
        rx.await
            .map_err(|_| PoolError::Internal("the query failed (its worker panicked)".into()))?
            .map_err(PoolError::Store)
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

fn compute_snapshot(store: &mut Store) -> Result<Snapshot, StoreError> {
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
        match pool.with(compute_snapshot).await {
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
    location: &Location,
    readers: usize,
    token_file: Option<&Path>,
) -> Result<(Arc<Pool>, Option<[u8; 32]>), ServerError> {
    let token_digest = match token_file {
        None => None,
        Some(f) => Some(crate::auth::load_token(f)?),
    };
    let pool = Arc::new(Pool::open(location, readers)?);
    Ok((pool, token_digest))
}

pub(crate) fn fmt_ts(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn now() -> String {
    fmt_ts(jiff::Timestamp::now())
}
