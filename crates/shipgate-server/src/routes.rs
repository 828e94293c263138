//! Routing, query parameters and responses. Every answer carries the security headers; a bad
//! parameter is a 400 naming it, an unknown path a 404, a store failure a 500 — never a panic.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Body;
use serde::Serialize;
use shipgate_store::query::{FindingFilter, MAX_PAGE_SIZE, PageRequest, RunFilter};

use crate::html::Nav;
use crate::pages;
use crate::state::{AppState, DRIFT_KINDS, PoolError};

/// The response type of every route.
pub(crate) type Resp = Response<Full<Bytes>>;

/// The CSP: nothing but this origin's stylesheet; no script at all.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// Statuses a run can have (the `status` filter).
const RUN_STATUSES: &[&str] = &["passed", "failed", "error"];
/// Severities (the `severity` filter).
pub(crate) const SEVERITIES: &[&str] = &["critical", "high", "medium", "low", "info"];

/// An error answer.
#[derive(Debug)]
pub(crate) struct HttpError {
    status: StatusCode,
    message: String,
}

impl HttpError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
    fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
}

impl From<PoolError> for HttpError {
    fn from(e: PoolError) -> Self {
        let message = match e {
            PoolError::Store(e) => format!("store error: {e}"),
            PoolError::Internal(e) => format!("internal error: {e}"),
        };
        tracing::warn!(target: "shipgate::serve", "{message}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

type Result<T> = std::result::Result<T, HttpError>;

fn with_headers(mut r: Resp, content_type: &'static str, tls: bool) -> Resp {
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    if tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    r
}

fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
    tls: bool,
) -> Resp {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    with_headers(r, content_type, tls)
}

fn html(body: String, tls: bool) -> Resp {
    respond(StatusCode::OK, "text/html; charset=utf-8", body, tls)
}

fn json<T: Serialize>(status: StatusCode, v: &T, tls: bool) -> Resp {
    match serde_json::to_vec(v) {
        Ok(b) => respond(status, "application/json", b, tls),
        Err(e) => respond(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain; charset=utf-8",
            format!("cannot encode JSON: {e}"),
            tls,
        ),
    }
}

fn error_response(e: &HttpError, api: bool, tls: bool) -> Resp {
    if api {
        json(e.status, &serde_json::json!({"error": e.message}), tls)
    } else {
        respond(
            e.status,
            "text/html; charset=utf-8",
            pages::error(e.status, &e.message),
            tls,
        )
    }
}

/// Query parameters, percent-decoded, each at most once, only the names a route knows.
#[derive(Debug, Default)]
pub(crate) struct Params(BTreeMap<String, String>);

fn percent_decode(s: &str) -> Result<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| HttpError::bad("bad percent-encoding in the query string"))?;
                out.push(hex);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| HttpError::bad("the query string is not UTF-8"))
}

impl Params {
    fn parse(query: Option<&str>, allowed: &[&str]) -> Result<Self> {
        let mut map = BTreeMap::new();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = percent_decode(k)?;
            let v = percent_decode(v)?;
            if !allowed.contains(&k.as_str()) {
                return Err(HttpError::bad(if allowed.is_empty() {
                    format!("unknown parameter {k:?}: this page takes none")
                } else {
                    format!(
                        "unknown parameter {k:?} (this page takes: {})",
                        allowed.join(", ")
                    )
                }));
            }
            if map.insert(k.clone(), v).is_some() {
                return Err(HttpError::bad(format!("parameter {k:?} given twice")));
            }
        }
        Ok(Self(map))
    }

    fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str).filter(|v| !v.is_empty())
    }

    fn key(&self, k: &str) -> Result<Option<i64>> {
        match self.get(k) {
            None => Ok(None),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if n >= 0 => Ok(Some(n)),
                _ => Err(HttpError::bad(format!(
                    "{k}={v:?}: expected a non-negative integer (a key from a previous page)"
                ))),
            },
        }
    }

    fn page(&self, default: u32) -> Result<PageRequest> {
        let before = self.key("before")?;
        let after = self.key("after")?;
        if before.is_some() && after.is_some() {
            return Err(HttpError::bad("give before or after, not both"));
        }
        let limit = match self.get("limit") {
            None => default,
            Some(v) => match v.parse::<u32>() {
                Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
                _ => {
                    return Err(HttpError::bad(format!(
                        "limit={v:?}: expected 1 to {MAX_PAGE_SIZE}"
                    )));
                }
            },
        };
        Ok(PageRequest {
            before,
            after,
            limit,
        })
    }

    fn one_of(&self, k: &str, values: &[&str]) -> Result<Option<String>> {
        match self.get(k) {
            None => Ok(None),
            Some(v) if values.contains(&v) => Ok(Some(v.to_owned())),
            Some(v) => Err(HttpError::bad(format!(
                "{k}={v:?}: expected one of {}",
                values.join(", ")
            ))),
        }
    }
}

const PAGE_PARAMS: &[&str] = &["before", "after", "limit"];

fn params_with(extra: &[&'static str]) -> Vec<&'static str> {
    let mut v = PAGE_PARAMS.to_vec();
    v.extend_from_slice(extra);
    v
}

/// Routes one request.
pub(crate) async fn handle<B>(state: &Arc<AppState>, req: Request<B>) -> Resp
where
    B: Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let path = req.uri().path().to_owned();
    let api = path.starts_with("/api/");
    let tls = state.tls;
    match route(state, req, &path).await {
        Ok(r) => r,
        Err(e) => error_response(&e, api, tls),
    }
}

async fn route<B>(state: &Arc<AppState>, req: Request<B>, path: &str) -> Result<Resp>
where
    B: Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let tls = state.tls;
    let query = req.uri().query().map(str::to_owned);
    let q = query.as_deref();
    let method = req.method().clone();
    let get = method == Method::GET;
    // POST routes first.
    match path {
        "/api/ingest" => {
            return if method == Method::POST {
                ingest(state, req).await
            } else {
                Err(HttpError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "POST a shipgate JSON document to /api/ingest",
                ))
            };
        }
        "/audit/verify" | "/api/audit/verify" => {
            if method != Method::POST {
                return Err(HttpError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "POST to verify the ledger",
                ));
            }
            Params::parse(q, &[])?;
            let v = state.verify().await;
            if path == "/audit/verify" {
                let mut r = respond(StatusCode::SEE_OTHER, "text/plain; charset=utf-8", "", tls);
                r.headers_mut()
                    .insert(header::LOCATION, HeaderValue::from_static("/audit"));
                return Ok(r);
            }
            return Ok(json(StatusCode::OK, &*v, tls));
        }
        _ => {}
    }
    let known = is_known(path);
    if !get {
        return Err(if known {
            HttpError::new(StatusCode::METHOD_NOT_ALLOWED, "only GET is allowed here")
        } else {
            HttpError::not_found(format!("no page at {path}"))
        });
    }
    let size = state.page_size;
    match path {
        "/" => {
            Params::parse(q, &[])?;
            let snap = state.snapshot().await.map_err(internal)?;
            let runs = state
                .pool
                .with(|s| s.runs_page(&RunFilter::default(), PageRequest::first(10)))
                .await?;
            let v = state.last_verification();
            Ok(html(pages::overview(&snap, v.as_deref(), &runs), tls))
        }
        "/api/overview" => {
            Params::parse(q, &[])?;
            let snap = state.snapshot().await.map_err(internal)?;
            Ok(json(StatusCode::OK, &*snap, tls))
        }
        "/runs" | "/api/runs" => {
            let p = Params::parse(q, &params_with(&["status"]))?;
            let page = p.page(size)?;
            let filter = RunFilter {
                status: p.one_of("status", RUN_STATUSES)?,
            };
            let f = filter.clone();
            let rows = state.pool.with(move |s| s.runs_page(&f, page)).await?;
            Ok(if path == "/runs" {
                html(pages::runs(&rows, &filter, page.limit, size), tls)
            } else {
                json(StatusCode::OK, &rows, tls)
            })
        }
        "/findings" | "/api/findings" => {
            let p = Params::parse(q, &params_with(&["severity"]))?;
            let page = p.page(size)?;
            let filter = FindingFilter {
                severity: p.one_of("severity", SEVERITIES)?,
            };
            let f = filter.clone();
            let rows = state
                .pool
                .with(move |s| s.open_findings_page(&f, page))
                .await?;
            if path == "/api/findings" {
                return Ok(json(StatusCode::OK, &rows, tls));
            }
            let snap = state.snapshot().await.map_err(internal)?;
            Ok(html(
                pages::findings(&snap, &rows, &filter, page.limit, size),
                tls,
            ))
        }
        "/api/findings/trend" => {
            let p = Params::parse(q, &["from"])?;
            let from = match p.get("from") {
                None => None,
                Some(d) => Some(
                    d.parse::<jiff::civil::Date>()
                        .map_err(|_| HttpError::bad(format!("from={d:?}: expected YYYY-MM-DD")))?
                        .to_string(),
                ),
            };
            match from {
                Some(from) => {
                    let days = state.pool.with(move |s| s.findings_trend(&from)).await?;
                    Ok(json(StatusCode::OK, &days, tls))
                }
                None => {
                    let snap = state.snapshot().await.map_err(internal)?;
                    Ok(json(StatusCode::OK, &snap.trend, tls))
                }
            }
        }
        "/mttr" | "/api/mttr" => {
            Params::parse(q, &[])?;
            let snap = state.snapshot().await.map_err(internal)?;
            Ok(if path == "/mttr" {
                html(pages::mttr(&snap), tls)
            } else {
                json(StatusCode::OK, &snap.metrics.mttr, tls)
            })
        }
        "/drift" | "/api/drift" | "/admission" | "/api/admission" | "/events" | "/api/events" => {
            let events_page = path.ends_with("/events");
            let p = if events_page {
                Params::parse(q, &params_with(&["kind"]))?
            } else {
                Params::parse(q, PAGE_PARAMS)?
            };
            let page = p.page(size)?;
            let kind = p.get("kind").map(str::to_owned);
            if kind.as_ref().is_some_and(|k| k.len() > 100) {
                return Err(HttpError::bad("kind: longer than 100 bytes"));
            }
            let kinds: Vec<String> = if path.ends_with("/drift") {
                DRIFT_KINDS.iter().map(|k| (*k).to_owned()).collect()
            } else if path.ends_with("/admission") {
                vec!["admission".to_owned()]
            } else {
                kind.iter().cloned().collect()
            };
            let rows = state
                .pool
                .with(move |s| {
                    let k: Vec<&str> = kinds.iter().map(String::as_str).collect();
                    s.events_page(&k, page)
                })
                .await?;
            if path.starts_with("/api/") {
                return Ok(json(StatusCode::OK, &rows, tls));
            }
            let (title, nav) = match path {
                "/drift" => ("Drift and sync events", Nav::Drift),
                "/admission" => ("Admission decisions", Nav::Admission),
                _ => ("Events", Nav::Events),
            };
            Ok(html(
                pages::events(title, nav, path, kind.as_deref(), &rows, page.limit, size),
                tls,
            ))
        }
        "/audit" | "/api/audit" => {
            let p = Params::parse(q, PAGE_PARAMS)?;
            let page = p.page(size)?;
            let rows = state.pool.with(move |s| s.ledger_page(page)).await?;
            if path == "/api/audit" {
                return Ok(json(StatusCode::OK, &rows, tls));
            }
            let v = state.last_verification();
            Ok(html(
                pages::audit(&rows, v.as_deref(), page.limit, size),
                tls,
            ))
        }
        "/api/audit/verification" => {
            Params::parse(q, &[])?;
            match state.last_verification() {
                Some(v) => Ok(json(StatusCode::OK, &*v, tls)),
                None => Ok(json(
                    StatusCode::OK,
                    &serde_json::json!({"verified_at": null}),
                    tls,
                )),
            }
        }
        "/metrics" => {
            Params::parse(q, &[])?;
            let snap = state.snapshot().await.map_err(internal)?;
            let v = state.last_verification();
            Ok(respond(
                StatusCode::OK,
                crate::prom::CONTENT_TYPE,
                crate::prom::render(&snap, v.as_deref()),
                tls,
            ))
        }
        "/healthz" => Ok(respond(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            "ok",
            tls,
        )),
        "/static/style.css" => {
            let mut r = respond(
                StatusCode::OK,
                "text/css; charset=utf-8",
                crate::html::STYLE,
                tls,
            );
            r.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            );
            Ok(r)
        }
        _ => {
            if let Some(rest) = path
                .strip_prefix("/runs/")
                .or_else(|| path.strip_prefix("/api/runs/"))
            {
                Params::parse(q, &[])?;
                let id = match rest.parse::<i64>() {
                    Ok(n) if n > 0 => n,
                    _ => {
                        return Err(HttpError::bad(format!(
                            "run id {rest:?}: expected a positive integer"
                        )));
                    }
                };
                let detail = state.pool.with(move |s| s.run_detail(id)).await?;
                let Some(detail) = detail else {
                    return Err(HttpError::not_found(format!(
                        "no pipeline run with id {id}"
                    )));
                };
                return Ok(if path.starts_with("/api/") {
                    json(StatusCode::OK, &detail, tls)
                } else {
                    html(pages::run_detail(&detail), tls)
                });
            }
            Err(HttpError::not_found(format!("no page at {path}")))
        }
    }
}

fn is_known(path: &str) -> bool {
    matches!(
        path,
        "/" | "/api/overview"
            | "/runs"
            | "/api/runs"
            | "/findings"
            | "/api/findings"
            | "/api/findings/trend"
            | "/mttr"
            | "/api/mttr"
            | "/drift"
            | "/api/drift"
            | "/admission"
            | "/api/admission"
            | "/events"
            | "/api/events"
            | "/audit"
            | "/api/audit"
            | "/api/audit/verification"
            | "/metrics"
            | "/healthz"
            | "/static/style.css"
    ) || path.starts_with("/runs/")
        || path.starts_with("/api/runs/")
}

fn internal(message: String) -> HttpError {
    HttpError::new(StatusCode::SERVICE_UNAVAILABLE, message)
}

/// `POST /api/ingest`: a token must be configured and presented.
async fn ingest<B>(state: &Arc<AppState>, req: Request<B>) -> Result<Resp>
where
    B: Body<Data = Bytes> + Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let tls = state.tls;
    let Some(digest) = state.token_digest else {
        return Err(HttpError::new(
            StatusCode::FORBIDDEN,
            "ingest is disabled: the server is read-only (start it with --token-file to accept documents)",
        ));
    };
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    if !crate::auth::bearer_matches(auth, &digest) {
        let mut r = error_response(
            &HttpError::new(
                StatusCode::UNAUTHORIZED,
                "missing or wrong bearer token (Authorization: Bearer TOKEN)",
            ),
            true,
            tls,
        );
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return Ok(r);
    }
    let p = Params::parse(req.uri().query(), &["time"])?;
    let time = match p.get("time") {
        None => None,
        Some(t) => {
            Some(shipgate_store::parse_time(t).map_err(|e| HttpError::bad(format!("time: {e}")))?)
        }
    };
    let max = state.max_body;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(HttpError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body larger than {max} bytes"),
        ));
    }
    let body = match Limited::new(req.into_body(), max).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                return Err(HttpError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("request body larger than {max} bytes"),
                ));
            }
            return Err(HttpError::bad(format!("reading the request body: {e}")));
        }
    };
    let text = String::from_utf8(body.to_vec())
        .map_err(|_| HttpError::bad("the request body is not UTF-8"))?;
    let result = state
        .pool
        .with(move |s| s.ingest_json("request body", &text, time))
        .await;
    match result {
        Ok(ingested) => {
            state.refresh.notify_one();
            let status = if ingested.seq.is_some() {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(json(status, &ingested, tls))
        }
        Err(PoolError::Store(e @ shipgate_store::StoreError::Input { .. })) => {
            Err(HttpError::bad(e.to_string()))
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_decoded_checked_and_unique() {
        let p = Params::parse(Some("kind=a%20b+c&limit=5"), &["kind", "limit"]).expect("ok");
        assert_eq!(p.get("kind"), Some("a b c"));
        assert_eq!(p.page(50).expect("ok").limit, 5);
        assert!(Params::parse(Some("x=1"), &["kind"]).is_err());
        assert!(Params::parse(Some("kind=1&kind=2"), &["kind"]).is_err());
        assert!(Params::parse(Some("kind=%zz"), &["kind"]).is_err());
        assert!(Params::parse(Some("kind=%ff"), &["kind"]).is_err());
        let p = Params::parse(Some("before=1&after=2"), PAGE_PARAMS).expect("ok");
        assert!(p.page(50).is_err());
        for bad in ["before=-3", "after=1.5", "before=x", "limit=0", "limit=501"] {
            let p = Params::parse(Some(bad), PAGE_PARAMS).expect("ok");
            assert!(p.page(50).is_err(), "{bad}");
        }
    }
}
