//! The shipgate dashboard: a read-only web view of the store (`shipgate serve`) and a
//! Prometheus `/metrics` endpoint.
//!
//! * Pages are rendered on the server as HTML with inline SVG charts: no script, no external
//!   asset, a strict `Content-Security-Policy`, every stored string escaped (records carry
//!   attacker-controlled text). Lists (runs, open findings, events, ledger) use keyset
//!   pagination (`?before=KEY` / `?after=KEY`, `limit` ≤ 500), so a deep page costs what the
//!   first page costs. JSON equivalents live under `/api/`.
//! * Whole-store aggregates (the metrics of `shipgate report`, the open findings by severity,
//!   the findings trend) are computed in the background every `snapshot_interval` and after
//!   each ingest, never per request; the ledger is verified at start-up and on
//!   `POST /audit/verify`, one verification at a time.
//! * Writes are off unless a token is configured: then `POST /api/ingest` with
//!   `Authorization: Bearer TOKEN` records one shipgate JSON document, like
//!   `shipgate store ingest`.
//!
//! Deliberately not here: user accounts or sessions (reads are unauthenticated: listen on
//! loopback or behind an authenticating proxy), editing or deleting records, and any query
//! that is not in `shipgate_store::query` (the server uses only the store's public API).
//! See docs/server.md.

#![warn(clippy::print_stdout, clippy::print_stderr)]

mod auth;
mod error;
mod html;
mod pages;
mod prom;
mod routes;
mod state;
mod svg;
mod tls;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shipgate_store::Location;
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore, watch};

pub use auth::MIN_TOKEN_LEN;
pub use error::ServerError;

/// Server settings; [`ServerConfig::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (port 0 picks a free port; see [`Server::local_addr`]).
    pub listen: SocketAddr,
    /// The store: a SQLite file or a PostgreSQL URL (never shown with its password).
    pub database: Location,
    /// File holding the ingest token; `None`: read-only.
    pub token_file: Option<PathBuf>,
    /// Serve HTTPS with this certificate chain and key (PEM).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Largest accepted ingest body.
    pub max_body_bytes: usize,
    /// Default page size of lists.
    pub page_size: u32,
    /// Store connections (concurrent queries).
    pub readers: usize,
    /// How often the aggregates are recomputed.
    pub snapshot_interval: Duration,
    /// Verify the ledger when the server starts.
    pub verify_on_start: bool,
    /// How long a client may take to send request headers.
    pub header_read_timeout: Duration,
    /// Open connections beyond this are closed immediately.
    pub max_connections: usize,
    /// How long in-flight requests may take to finish after shutdown starts.
    pub drain_timeout: Duration,
}

impl ServerConfig {
    /// Defaults: read-only, plain HTTP, 16 MiB bodies, 50 rows a page, 4 store connections,
    /// aggregates every 30 s, ledger verified at start-up.
    pub fn new(listen: SocketAddr, database: Location) -> Self {
        Self {
            listen,
            database,
            token_file: None,
            tls: None,
            max_body_bytes: 16 * 1024 * 1024,
            page_size: 50,
            readers: 4,
            snapshot_interval: Duration::from_secs(30),
            verify_on_start: true,
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1024,
            drain_timeout: Duration::from_secs(10),
        }
    }
}

/// A bound server, ready to [`run`](Server::run).
pub struct Server {
    state: Arc<state::AppState>,
    listener: TcpListener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    config: ServerConfig,
    snapshot_tx: watch::Sender<Option<state::SnapshotState>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("listen", &self.listener.local_addr().ok())
            .field("database", &self.config.database.display_name())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Opens the store, reads the token and the certificate, then binds. Nothing is bound when
    /// any of them fails.
    pub async fn bind(config: ServerConfig) -> Result<Self, ServerError> {
        let acceptor = match &config.tls {
            None => None,
            Some((cert, key)) => Some(tls::acceptor(cert, key)?),
        };
        let location = config.database.clone();
        let readers = config.readers;
        let token_file = config.token_file.clone();
        let (pool, token_digest) = tokio::task::spawn_blocking(move || {
            state::open_state(&location, readers, token_file.as_deref())
        })
        .await
        .map_err(|e| ServerError::Internal(e.to_string()))??;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let (snapshot_tx, snapshot_rx) = watch::channel(None);
        let state = Arc::new(state::AppState {
            pool,
            token_digest,
            max_body: config.max_body_bytes,
            page_size: config
                .page_size
                .clamp(1, shipgate_store::query::MAX_PAGE_SIZE),
            tls: acceptor.is_some(),
            snapshot: snapshot_rx,
            refresh: Arc::new(Notify::new()),
            verification: Mutex::new(None),
            verify_lock: tokio::sync::Mutex::new(()),
        });
        Ok(Self {
            state,
            listener,
            acceptor,
            config,
            snapshot_tx,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> Result<SocketAddr, ServerError> {
        self.listener
            .local_addr()
            .map_err(|source| ServerError::Bind {
                addr: self.config.listen,
                source,
            })
    }

    /// Whether `POST /api/ingest` is enabled.
    pub fn ingest_enabled(&self) -> bool {
        self.state.token_digest.is_some()
    }

    /// Serves until `shutdown` completes, then stops accepting and drains in-flight requests
    /// for up to `drain_timeout`.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ServerError> {
        let Self {
            state,
            listener,
            acceptor,
            config,
            snapshot_tx,
        } = self;
        let snapshots = tokio::spawn(state::snapshot_loop(
            state.pool.clone(),
            snapshot_tx,
            state.refresh.clone(),
            config.snapshot_interval,
        ));
        let verifier = config.verify_on_start.then(|| {
            let st = state.clone();
            tokio::spawn(async move {
                st.verify().await;
            })
        });
        let mut builder =
            hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
        builder
            .http1()
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(config.header_read_timeout)
            .keep_alive(true);
        builder.http2().max_concurrent_streams(64);
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let slots = Arc::new(Semaphore::new(config.max_connections.max(1)));
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                () = &mut shutdown => break,
                a = listener.accept() => a,
            };
            let (tcp, _peer) = match accepted {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(target: "shipgate::serve", "accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                drop(tcp);
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let st = state.clone();
            let builder = builder.clone();
            let watcher = graceful.watcher();
            let acceptor = acceptor.clone();
            let handshake_timeout = config.header_read_timeout;
            tokio::spawn(async move {
                let _slot = slot;
                let svc = hyper::service::service_fn(move |req| {
                    let st = st.clone();
                    async move { Ok::<_, Infallible>(routes::handle(&st, req).await) }
                });
                match acceptor {
                    None => {
                        let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(tcp), svc);
                        let _ = watcher.watch(conn).await;
                    }
                    Some(acceptor) => {
                        let Ok(Ok(tls)) =
                            tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await
                        else {
                            return;
                        };
                        let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(tls), svc);
                        let _ = watcher.watch(conn).await;
                    }
                }
            });
        }
        drop(listener);
        snapshots.abort();
        if let Some(v) = verifier {
            v.abort();
        }
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(config.drain_timeout) => {
                tracing::warn!(target: "shipgate::serve", "drain timeout: closing remaining connections");
            }
        }
        Ok(())
    }
}
