//! Shared test support: a file-backed rule evaluator (a stand-in for shipgate-policy with
//! just enough rules to exercise the server), TLS material and a small HTTPS client.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::collapsible_match,
    clippy::collapsible_if
)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use shipgate_admission::{
    AdmissionRequest, Enforcement, EvalError, Evaluator, PolicyLoadError, PolicyLoader, Violation,
};

/// Rules configured by a JSON file `{"<rule>": "deny"|"warn"|"dryrun", ...}`.
/// Rules: `privileged`, `latest-tag`, `team-label`, `sleep` (sleeps for the
/// `test.shipgate.dev/sleep-ms` annotation), `panic` (panics if `test.shipgate.dev/panic`).
pub struct FileRules {
    pub rules: Vec<(String, Enforcement)>,
}

fn images(obj: &Value) -> Vec<(String, String, Option<&Value>)> {
    let spec = match obj.get("kind").and_then(Value::as_str) {
        Some("Pod") => obj.get("spec"),
        _ => obj.pointer("/spec/template/spec"),
    };
    let mut out = Vec::new();
    for list in ["initContainers", "containers"] {
        for c in spec
            .and_then(|s| s.get(list))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.push((
                c.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_owned(),
                c.get("image")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                c.get("securityContext"),
            ));
        }
    }
    out
}

impl Evaluator for FileRules {
    fn evaluate(&self, req: &AdmissionRequest) -> Result<Vec<Violation>, EvalError> {
        let Some(obj) = req.object() else {
            return Ok(vec![]);
        };
        let mut out = Vec::new();
        for (rule, action) in &self.rules {
            let mut hit = |message: String| {
                out.push(Violation {
                    rule_id: rule.clone(),
                    message,
                    enforcement: *action,
                })
            };
            match rule.as_str() {
                "privileged" => {
                    for (name, _, sc) in images(obj) {
                        if sc
                            .and_then(|s| s.get("privileged"))
                            .and_then(Value::as_bool)
                            == Some(true)
                        {
                            hit(format!("container {name} is privileged"));
                        }
                    }
                }
                "latest-tag" => {
                    for (name, image, _) in images(obj) {
                        let last = image.rsplit('/').next().unwrap_or("");
                        if image.ends_with(":latest")
                            || (!last.contains(':') && !image.contains('@'))
                        {
                            hit(format!(
                                "container {name} uses image {image} without a pinned tag"
                            ));
                        }
                    }
                }
                "team-label" => {
                    if obj.pointer("/metadata/labels/team").is_none() {
                        hit("label team is missing".into());
                    }
                }
                "sleep" => {
                    if let Some(ms) = req.annotation("test.shipgate.dev/sleep-ms") {
                        std::thread::sleep(std::time::Duration::from_millis(
                            ms.parse().unwrap_or(0),
                        ));
                    }
                }
                "panic" => {
                    if req.annotation("test.shipgate.dev/panic").is_some() {
                        panic!("rule panicked on purpose");
                    }
                }
                "error" => {
                    if req.annotation("test.shipgate.dev/error").is_some() {
                        return Err(EvalError("rule failed on purpose".into()));
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }
    fn rule_count(&self) -> usize {
        self.rules.len()
    }
}

pub struct FileRulesLoader(pub PathBuf);

impl PolicyLoader for FileRulesLoader {
    fn load(&self) -> Result<Arc<dyn Evaluator>, PolicyLoadError> {
        let text = std::fs::read_to_string(&self.0)
            .map_err(|e| PolicyLoadError(format!("{}: {e}", self.0.display())))?;
        let map: serde_json::Map<String, Value> = serde_json::from_str(&text)
            .map_err(|e| PolicyLoadError(format!("{}: {e}", self.0.display())))?;
        let mut rules = Vec::new();
        for (k, v) in map {
            let action = match v.as_str() {
                Some("deny") => Enforcement::Deny,
                Some("warn") => Enforcement::Warn,
                Some("dryrun") => Enforcement::DryRun,
                _ => {
                    return Err(PolicyLoadError(format!(
                        "{}: bad action for {k}",
                        self.0.display()
                    )));
                }
            };
            rules.push((k, action));
        }
        Ok(Arc::new(FileRules { rules }))
    }
    fn watch_paths(&self) -> Vec<PathBuf> {
        vec![self.0.clone()]
    }
}

/// Serving certificate material on disk.
pub struct Tls {
    pub ca: shipgate_testenv::TestCa,
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub fn write_tls(dir: &Path) -> Tls {
    let ca = shipgate_testenv::TestCa::new("webhook-test-ca").unwrap();
    let pair = ca
        .server_cert(
            "webhook",
            &[IpAddr::V4(Ipv4Addr::LOCALHOST)],
            &["localhost"],
        )
        .unwrap();
    let cert = dir.join("tls.crt");
    let key = dir.join("tls.key");
    std::fs::write(&cert, &pair.cert_pem).unwrap();
    std::fs::write(&key, &pair.key_pem).unwrap();
    Tls { ca, cert, key }
}

pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A TLS client config trusting `ca_pem`, optionally presenting a client certificate.
pub fn client_tls(
    ca_pem: &str,
    client: Option<&shipgate_testenv::CertPair>,
) -> Arc<rustls::ClientConfig> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let b = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let cfg = match client {
        None => b.with_no_client_auth(),
        Some(pair) => {
            let certs = rustls_pki_types::CertificateDer::pem_slice_iter(pair.cert_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            let key =
                rustls_pki_types::PrivateKeyDer::from_pem_slice(pair.key_pem.as_bytes()).unwrap();
            b.with_client_auth_cert(certs, key).unwrap()
        }
    };
    Arc::new(cfg)
}

/// An HTTP/1.1 client over one TLS connection.
pub struct Conn {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

pub async fn connect(addr: SocketAddr, tls: Arc<rustls::ClientConfig>) -> std::io::Result<Conn> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let name = rustls_pki_types::ServerName::IpAddress(addr.ip().into());
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await?;
    let (sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(Conn { sender })
}

impl Conn {
    pub async fn request(&mut self, method: &str, path: &str, body: Vec<u8>) -> (u16, String) {
        let req = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "127.0.0.1")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        self.sender.ready().await.unwrap();
        let resp = self.sender.send_request(req).await.unwrap();
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }
}

/// Builds an AdmissionReview v1 for an object.
pub fn review(object: &Value, namespace: &str, dry_run: bool) -> Vec<u8> {
    let api_version = object["apiVersion"].as_str().unwrap_or("v1");
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "0d5f7a3c-1111-2222-3333-444455556666",
            "kind": {"group": group, "version": version, "kind": object["kind"]},
            "resource": {"group": group, "version": version, "resource": "pods"},
            "operation": "CREATE", "namespace": namespace, "name": object["metadata"]["name"],
            "userInfo": {"username": "alice", "groups": ["system:authenticated"]},
            "object": object, "dryRun": dry_run
        }
    }))
    .unwrap()
}

pub fn pod(name: &str, image: &str, privileged: bool) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"team": "a"}},
        "spec": {"containers": [{"name": "app", "image": image,
            "securityContext": {"privileged": privileged}}]}})
}

impl Conn {
    pub async fn try_request(&mut self, req: http::Request<Full<Bytes>>) -> Result<u16, String> {
        self.sender.ready().await.map_err(|e| e.to_string())?;
        let resp = self
            .sender
            .send_request(req)
            .await
            .map_err(|e| e.to_string())?;
        Ok(resp.status().as_u16())
    }
}
