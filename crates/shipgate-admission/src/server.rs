//! The HTTPS server: routing, the review pipeline, TLS with hot-reloaded certificates,
//! policy hot reload, limits and graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::{ArcSwap, ArcSwapOption};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Body;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::AdmissionError;
use crate::metrics::Metrics;
use crate::policy::{Evaluator, Exemptions, PolicyLoader, decide, exemption_reason};
use crate::review::{AdmissionRequest, parse_review, response_body};

/// What to answer when a request cannot be evaluated in time (or evaluation fails).
///
/// This is the webhook's own fail-open/fail-closed switch; the API server's `failurePolicy`
/// only applies when the webhook does not answer at all. See docs/admission.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureMode {
    /// Admit (fail open): availability over enforcement.
    Allow,
    /// Reject (fail closed): enforcement over availability.
    Deny,
}

impl std::str::FromStr for FailureMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "allow" | "Allow" | "ignore" | "Ignore" => Ok(Self::Allow),
            "deny" | "Deny" | "fail" | "Fail" => Ok(Self::Deny),
            _ => Err(format!("failure mode must be allow or deny, got {s:?}")),
        }
    }
}

/// Server settings. [`ServerConfig::new`] gives production defaults.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Address to listen on (port 0 picks a free port; see [`Server::local_addr`]).
    pub listen: SocketAddr,
    /// Serving certificate chain (PEM), reloaded on change.
    pub tls_cert: PathBuf,
    /// Serving key (PEM), reloaded on change.
    pub tls_key: PathBuf,
    /// If set, clients must present a certificate signed by this CA (PEM).
    pub client_ca: Option<PathBuf>,
    /// Requests admitted without evaluation.
    pub exemptions: Exemptions,
    /// Answer when evaluation fails or exceeds the budget.
    pub failure_mode: FailureMode,
    /// Time budget per request, from the first body byte to the answer. Keep it well under
    /// the webhook's `timeoutSeconds` so the API server gets *our* answer, not a timeout.
    pub request_budget: Duration,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// How long a client may take to send request headers (HTTP/1).
    pub header_read_timeout: Duration,
    /// How long a client may take to complete the TLS handshake.
    pub tls_handshake_timeout: Duration,
    /// How often certificate and policy files are checked for changes.
    pub reload_interval: Duration,
    /// How long in-flight requests may take to finish after shutdown starts.
    pub drain_timeout: Duration,
    /// Open connections beyond this are closed immediately.
    pub max_connections: usize,
    /// Concurrent policy evaluations (CPU-bound) beyond this wait for a slot within the budget.
    pub max_concurrent_evaluations: usize,
    /// Receives every evaluated decision (exempt requests excepted), for the audit trail.
    pub decision_sink: Option<crate::decisions::SharedSink>,
}

impl ServerConfig {
    /// Defaults: deny on failure, 3 s budget, 3 MiB bodies, 10 s header/handshake timeouts,
    /// 2 s reload polling, 25 s drain, 4096 connections, 4 × CPUs evaluations.
    pub fn new(listen: SocketAddr, tls_cert: PathBuf, tls_key: PathBuf) -> Self {
        let cpus = std::thread::available_parallelism().map_or(2, usize::from);
        Self {
            listen,
            tls_cert,
            tls_key,
            client_ca: None,
            exemptions: Exemptions::default(),
            failure_mode: FailureMode::Deny,
            request_budget: Duration::from_secs(3),
            max_body_bytes: 3 * 1024 * 1024,
            header_read_timeout: Duration::from_secs(10),
            tls_handshake_timeout: Duration::from_secs(10),
            reload_interval: Duration::from_secs(2),
            drain_timeout: Duration::from_secs(25),
            max_connections: 4096,
            max_concurrent_evaluations: cpus * 4,
            decision_sink: None,
        }
    }
}

struct Loaded {
    evaluator: Arc<dyn Evaluator>,
}

/// Shared state of one server: the loaded policies, settings and metrics. Cheap to clone via
/// `Arc`; [`handle`] needs only this, so the pipeline is testable without sockets.
pub struct AdmissionState {
    policies: ArcSwapOption<Loaded>,
    accepting: AtomicBool,
    /// The server's metrics.
    pub metrics: Metrics,
    exemptions: Exemptions,
    failure_mode: FailureMode,
    budget: Duration,
    max_body: usize,
    eval_slots: Arc<Semaphore>,
    sink: Option<crate::decisions::SharedSink>,
}

impl std::fmt::Debug for AdmissionState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdmissionState")
            .field("ready", &self.is_ready())
            .finish_non_exhaustive()
    }
}

impl AdmissionState {
    /// State with no policies loaded yet (not ready).
    pub fn new(config: &ServerConfig) -> Self {
        Self {
            policies: ArcSwapOption::empty(),
            accepting: AtomicBool::new(true),
            metrics: Metrics::new(),
            exemptions: config.exemptions.clone(),
            failure_mode: config.failure_mode,
            budget: config.request_budget,
            max_body: config.max_body_bytes,
            eval_slots: Arc::new(Semaphore::new(config.max_concurrent_evaluations.max(1))),
            sink: config.decision_sink.clone(),
        }
    }

    /// Installs a policy set (start-up or hot reload); in-flight requests keep the old one.
    pub fn set_evaluator(&self, evaluator: Arc<dyn Evaluator>) {
        #[allow(clippy::cast_possible_wrap)]
        self.metrics.rules_loaded.set(evaluator.rule_count() as i64);
        self.policies.store(Some(Arc::new(Loaded { evaluator })));
    }

    /// Ready: policies loaded and not shutting down.
    pub fn is_ready(&self) -> bool {
        self.accepting.load(Ordering::Acquire) && self.policies.load().is_some()
    }
}

fn text(status: StatusCode, body: impl Into<String>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.into())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn json(body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    r
}

/// Routes one HTTP request: `POST /validate`, `GET /healthz`, `/readyz`, `/metrics`.
pub async fn handle<B>(state: &Arc<AdmissionState>, req: Request<B>) -> Response<Full<Bytes>>
where
    B: Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let path = req.uri().path().to_owned();
    match (req.method(), path.as_str()) {
        (&Method::POST, "/validate") => validate(state, req).await,
        (&Method::GET, "/healthz") => text(StatusCode::OK, "ok"),
        (&Method::GET, "/readyz") => {
            if state.is_ready() {
                text(StatusCode::OK, "ok")
            } else if state.policies.load().is_none() {
                text(StatusCode::SERVICE_UNAVAILABLE, "policies not loaded")
            } else {
                text(StatusCode::SERVICE_UNAVAILABLE, "shutting down")
            }
        }
        (&Method::GET, "/metrics") => {
            let mut r = text(StatusCode::OK, state.metrics.render());
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            r
        }
        (_, "/validate" | "/healthz" | "/readyz" | "/metrics") => {
            text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        }
        _ => text(StatusCode::NOT_FOUND, "not found: POST /validate"),
    }
}

async fn validate<B>(state: &Arc<AdmissionState>, req: Request<B>) -> Response<Full<Bytes>>
where
    B: Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let deadline = tokio::time::Instant::now() + state.budget;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > state.max_body as u64) {
        state.metrics.bad_request("too_large");
        return text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body larger than {} bytes", state.max_body),
        );
    }
    let limited = Limited::new(req.into_body(), state.max_body);
    let body = match tokio::time::timeout_at(deadline, limited.collect()).await {
        Err(_) => {
            state.metrics.bad_request("body_timeout");
            return text(
                StatusCode::REQUEST_TIMEOUT,
                "request body not received within the time budget",
            );
        }
        Ok(Err(e)) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                state.metrics.bad_request("too_large");
                return text(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("request body larger than {} bytes", state.max_body),
                );
            }
            state.metrics.bad_request("body_error");
            return text(
                StatusCode::BAD_REQUEST,
                format!("reading request body: {e}"),
            );
        }
        Ok(Ok(b)) => b.to_bytes(),
    };
    let started = Instant::now();
    let request = match parse_review(&body) {
        Ok(r) => r,
        Err(e) => {
            state.metrics.bad_request(match e {
                crate::review::ReviewError::Json(_) => "bad_json",
                crate::review::ReviewError::NoRequest => "no_request",
                _ => "bad_review",
            });
            return text(StatusCode::BAD_REQUEST, e.to_string());
        }
    };
    let out = review(state, request, deadline).await;
    state
        .metrics
        .latency
        .observe(started.elapsed().as_secs_f64());
    json(out)
}

async fn review(
    state: &Arc<AdmissionState>,
    request: AdmissionRequest,
    deadline: tokio::time::Instant,
) -> Vec<u8> {
    let uid = request.uid.clone();
    let dry_run = request.dry_run;
    if let Some(reason) = exemption_reason(&state.exemptions, &request) {
        state.metrics.request("exempt", dry_run);
        return response_body(&uid, true, Some(&reason), &[]);
    }
    // What the sink gets: filled in with the answer below.
    let mut record = state
        .sink
        .as_ref()
        .map(|_| crate::decisions::DecisionRecord::for_request(&request));
    let Some(loaded) = state.policies.load_full() else {
        return failure(state, record, &uid, dry_run, "no policies loaded");
    };
    let permit =
        match tokio::time::timeout_at(deadline, state.eval_slots.clone().acquire_owned()).await {
            Ok(Ok(p)) => p,
            _ => {
                return failure(
                    state,
                    record,
                    &uid,
                    dry_run,
                    "no evaluation slot within the time budget",
                );
            }
        };
    let evaluator = loaded.evaluator.clone();
    let task = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let violations = evaluator.evaluate(&request);
        (request, violations)
    });
    let (request, violations) = match tokio::time::timeout_at(deadline, task).await {
        Err(_) => {
            return failure(
                state,
                record,
                &uid,
                dry_run,
                "policy evaluation exceeded the time budget",
            );
        }
        Ok(Err(join)) => {
            return failure(
                state,
                record,
                &uid,
                dry_run,
                &format!("policy evaluation panicked: {join}"),
            );
        }
        Ok(Ok((_, Err(e)))) => {
            return failure(
                state,
                record,
                &uid,
                dry_run,
                &format!("policy evaluation failed: {e}"),
            );
        }
        Ok(Ok((request, Ok(v)))) => (request, v),
    };
    let decision = decide(&request, violations);
    for v in &decision.violations {
        state
            .metrics
            .violations
            .get_or_create(&crate::metrics::ViolationLabels {
                rule: v.rule_id.clone(),
                action: v.enforcement.as_str().to_owned(),
            })
            .inc();
        if !dry_run {
            tracing::info!(
                target: "shipgate::admission",
                rule = %v.rule_id, action = v.enforcement.as_str(), uid = %uid,
                kind = %request.kind.kind, namespace = %request.namespace, name = %request.name,
                user = %request.username, "violation: {}", v.message
            );
        }
    }
    let label = if !decision.allowed {
        "denied"
    } else if !decision.warnings.is_empty() {
        "warned"
    } else {
        "allowed"
    };
    state.metrics.request(label, dry_run);
    if let (Some(sink), Some(r)) = (&state.sink, record.as_mut()) {
        r.time = crate::decisions::now();
        r.allowed = decision.allowed;
        r.message = decision.message.clone();
        r.warnings = decision.warnings.clone();
        r.violations = decision
            .violations
            .iter()
            .map(|v| crate::decisions::RecordedViolation {
                rule: v.rule_id.clone(),
                action: v.enforcement.as_str().to_owned(),
                message: v.message.clone(),
            })
            .collect();
        sink.0.record(r.clone());
    }
    response_body(
        &uid,
        decision.allowed,
        decision.message.as_deref(),
        &decision.warnings,
    )
}

fn failure(
    state: &AdmissionState,
    record: Option<crate::decisions::DecisionRecord>,
    uid: &str,
    dry_run: bool,
    why: &str,
) -> Vec<u8> {
    tracing::warn!(target: "shipgate::admission", uid, "{why}");
    if let (Some(sink), Some(mut r)) = (&state.sink, record) {
        r.time = crate::decisions::now();
        r.allowed = state.failure_mode == FailureMode::Allow;
        r.error = Some(why.to_owned());
        sink.0.record(r);
    }
    match state.failure_mode {
        FailureMode::Allow => {
            state.metrics.request("error_allowed", dry_run);
            let w = format!("shipgate admission: {why}; admitted (failure mode allow)");
            response_body(uid, true, None, &[w])
        }
        FailureMode::Deny => {
            state.metrics.request("error_denied", dry_run);
            let m = format!("shipgate admission: {why}; rejected (failure mode deny)");
            response_body(uid, false, Some(&m), &[])
        }
    }
}

/// Serves the current certificate; swapped atomically on reload (new handshakes only).
#[derive(Debug)]
struct ReloadableCert(ArcSwap<CertifiedKey>);

impl ResolvesServerCert for ReloadableCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.load_full())
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Loads a PEM certificate chain and key, checking that they belong together.
pub fn load_certified_key(cert: &Path, key: &Path) -> Result<CertifiedKey, AdmissionError> {
    let tls = |msg: String| AdmissionError::Tls {
        path: cert.display().to_string(),
        message: msg,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| tls(format!("reading certificate: {e}")))?
        .collect::<Result<_, _>>()
        .map_err(|e| tls(format!("parsing certificate PEM: {e}")))?;
    if chain.is_empty() {
        return Err(tls("no CERTIFICATE block found".into()));
    }
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| AdmissionError::Tls {
        path: key.display().to_string(),
        message: format!("reading private key: {e}"),
    })?;
    CertifiedKey::from_der(chain, private, &provider()).map_err(|e| AdmissionError::Tls {
        path: key.display().to_string(),
        message: format!(
            "key does not match {} or is unsupported: {e}",
            cert.display()
        ),
    })
}

fn tls_config(
    config: &ServerConfig,
    resolver: Arc<ReloadableCert>,
) -> Result<rustls::ServerConfig, AdmissionError> {
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| AdmissionError::Tls {
            path: String::new(),
            message: e.to_string(),
        })?;
    let builder = match &config.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(ca)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| AdmissionError::Tls {
                    path: ca.display().to_string(),
                    message: format!("reading client CA: {e}"),
                })?;
            for c in certs {
                roots.add(c).map_err(|e| AdmissionError::Tls {
                    path: ca.display().to_string(),
                    message: format!("client CA: {e}"),
                })?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider(),
            )
            .build()
            .map_err(|e| AdmissionError::Tls {
                path: ca.display().to_string(),
                message: format!("client CA: {e}"),
            })?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut tls = builder.with_cert_resolver(resolver);
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tls)
}

/// A bound, ready-to-run webhook server.
pub struct Server {
    state: Arc<AdmissionState>,
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    cert: Arc<ReloadableCert>,
    config: ServerConfig,
    loader: Arc<dyn PolicyLoader>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("listen", &self.listener.local_addr().ok())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Loads the certificate and the policies, then binds. Nothing is bound if either fails.
    pub async fn bind(
        config: ServerConfig,
        loader: Arc<dyn PolicyLoader>,
    ) -> Result<Self, AdmissionError> {
        let key = load_certified_key(&config.tls_cert, &config.tls_key)?;
        let cert = Arc::new(ReloadableCert(ArcSwap::from_pointee(key)));
        let tls = tls_config(&config, cert.clone())?;
        let state = Arc::new(AdmissionState::new(&config));
        let l = loader.clone();
        let evaluator = tokio::task::spawn_blocking(move || l.load())
            .await
            .map_err(|e| AdmissionError::Policy(format!("policy loader panicked: {e}")))?
            .map_err(|e| {
                state.metrics.policy_load_errors.inc();
                AdmissionError::Policy(e.0)
            })?;
        state.set_evaluator(evaluator);
        state.metrics.policy_loads.inc();
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| AdmissionError::Bind {
                    addr: config.listen,
                    source,
                })?;
        Ok(Self {
            state,
            listener,
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(tls)),
            cert,
            config,
            loader,
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, AdmissionError> {
        self.listener
            .local_addr()
            .map_err(|source| AdmissionError::Bind {
                addr: self.config.listen,
                source,
            })
    }

    /// The shared state (metrics, readiness).
    pub fn state(&self) -> Arc<AdmissionState> {
        self.state.clone()
    }

    /// Serves until `shutdown` completes, then stops accepting, reports not-ready, and drains
    /// in-flight requests for up to `drain_timeout`.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), AdmissionError> {
        let Self {
            state,
            listener,
            acceptor,
            cert,
            config,
            loader,
        } = self;
        let reloader = tokio::spawn(reload_loop(
            state.clone(),
            cert,
            config.tls_cert.clone(),
            config.tls_key.clone(),
            loader,
            config.reload_interval,
        ));
        let mut builder =
            hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
        builder
            .http1()
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(config.header_read_timeout)
            .keep_alive(true);
        builder
            .http2()
            .timer(hyper_util::rt::TokioTimer::new())
            .max_concurrent_streams(256);
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let conn_slots = Arc::new(Semaphore::new(config.max_connections.max(1)));
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                () = &mut shutdown => break,
                a = listener.accept() => a,
            };
            let (tcp, _peer) = match accepted {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(target: "shipgate::admission", "accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Ok(slot) = conn_slots.clone().try_acquire_owned() else {
                state.metrics.bad_request("too_many_connections");
                drop(tcp);
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let st = state.clone();
            let builder = builder.clone();
            let watcher = graceful.watcher();
            let handshake_timeout = config.tls_handshake_timeout;
            tokio::spawn(async move {
                let _slot = slot;
                let tls = match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await
                {
                    Ok(Ok(s)) => s,
                    Ok(Err(_)) => {
                        st.metrics.bad_request("tls_handshake_failed");
                        return;
                    }
                    Err(_) => {
                        st.metrics.bad_request("tls_handshake_timeout");
                        return;
                    }
                };
                let svc = hyper::service::service_fn(move |req| {
                    let st = st.clone();
                    async move { Ok::<_, Infallible>(handle(&st, req).await) }
                });
                let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(tls), svc);
                let _ = watcher.watch(conn).await;
            });
        }
        state.accepting.store(false, Ordering::Release);
        drop(listener);
        reloader.abort();
        tokio::select! {
            () = graceful.shutdown() => Ok(()),
            () = tokio::time::sleep(config.drain_timeout) => {
                tracing::warn!(target: "shipgate::admission", "drain timeout: closing remaining connections");
                Ok(())
            }
        }
    }
}

/// A cheap change detector: (path, size, mtime, inode) of every file under the paths.
/// Kubernetes Secret/ConfigMap volumes swap a symlink on update, which changes the inode.
fn fingerprint(paths: &[PathBuf]) -> Vec<(PathBuf, u64, Option<SystemTime>, u64)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = paths.to_vec();
    while let Some(p) = stack.pop() {
        match std::fs::metadata(&p) {
            Ok(m) if m.is_dir() => {
                if let Ok(rd) = std::fs::read_dir(&p) {
                    let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
                    entries.sort();
                    // Skip dot-entries (..data symlinks are followed via the visible names).
                    stack.extend(entries.into_iter().filter(|e| {
                        !e.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with('.'))
                    }));
                }
            }
            Ok(m) => out.push((p, m.len(), m.modified().ok(), m.ino())),
            Err(_) => out.push((p, u64::MAX, None, 0)),
        }
    }
    out.sort();
    out
}

async fn reload_loop(
    state: Arc<AdmissionState>,
    cert: Arc<ReloadableCert>,
    cert_path: PathBuf,
    key_path: PathBuf,
    loader: Arc<dyn PolicyLoader>,
    interval: Duration,
) {
    let cert_paths = vec![cert_path.clone(), key_path.clone()];
    let mut cert_fp = fingerprint(&cert_paths);
    let mut policy_fp = fingerprint(&loader.watch_paths());
    loop {
        tokio::time::sleep(interval).await;
        let fp = fingerprint(&cert_paths);
        if fp != cert_fp {
            cert_fp = fp;
            match load_certified_key(&cert_path, &key_path) {
                Ok(k) => {
                    cert.0.store(Arc::new(k));
                    tracing::info!(target: "shipgate::admission", "TLS certificate reloaded");
                }
                Err(e) => {
                    state.metrics.cert_reload_errors.inc();
                    tracing::warn!(target: "shipgate::admission", "TLS certificate reload failed, keeping the previous one: {e}");
                }
            }
        }
        let fp = fingerprint(&loader.watch_paths());
        if fp != policy_fp {
            policy_fp = fp;
            let l = loader.clone();
            match tokio::task::spawn_blocking(move || l.load()).await {
                Ok(Ok(evaluator)) => {
                    let n = evaluator.rule_count();
                    state.set_evaluator(evaluator);
                    state.metrics.policy_loads.inc();
                    tracing::info!(target: "shipgate::admission", rules = n, "policies reloaded");
                }
                Ok(Err(e)) => {
                    state.metrics.policy_load_errors.inc();
                    tracing::warn!(target: "shipgate::admission", "policy reload failed, keeping the previous policies: {e}");
                }
                Err(e) => {
                    state.metrics.policy_load_errors.inc();
                    tracing::warn!(target: "shipgate::admission", "policy loader panicked: {e}");
                }
            }
        }
    }
}
