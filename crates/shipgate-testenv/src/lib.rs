//! Real infrastructure for shipgate's integration tests: etcd + kube-apiserver (a control
//! plane without controllers, envtest-style) and a Distribution registry, started as child
//! processes on random loopback ports with throw-away certificates.
//!
//! * [`ControlPlane::start`] starts etcd and kube-apiserver from the binaries built by
//!   `scripts/test-control-plane.sh build`, waits for `/readyz` and hands out an admin
//!   [`kube::Client`] (client certificate CN `admin`, O `system:masters`).
//! * [`Registry::start`] starts Debian's `docker-registry` (plain HTTP on 127.0.0.1).
//! * [`GitHttpServer::start`] serves bare repositories over smart HTTP with the real
//!   `git http-backend`; [`GitFixture`] creates repositories and commits for it (see [`git`]).
//! * [`SshGitServer::start`] serves them over SSH with the real OpenSSH `sshd` (public-key
//!   authentication with a generated key; see [`ssh`]).
//! * [`Postgres::start`] starts a real PostgreSQL server (Debian's `postgresql-15`) with
//!   password authentication on a random loopback port; [`postgres_or_skip`] and
//!   [`shared_database_or_skip`] follow the skip-locally, fail-in-CI policy (see [`postgres`]).
//! * [`shared_control_plane`] keeps one control plane per test binary;
//!   [`control_plane_or_skip`] turns "binaries not built" into a skip locally and a
//!   failure when `CI=true`;
//! * [`chromium_or_skip`] finds headless Chromium for page tests (`--dump-dom`,
//!   `--screenshot`, see [`chromium`]), with the same skip policy.
//!
//! Processes are stopped by pid when dropped, and a per-process watchdog stops them (and
//! deletes their temp dirs) when the test binary exits without dropping them, which is what
//! happens to statics. See [`process`].
//!
//! * [`Node::start`] adds a real worker node to a control plane (containerd + runc, kubelet,
//!   kube-controller-manager with the Job controllers, kube-scheduler, a registry to pull
//!   from); [`node_or_skip`] shares one per test binary with the same skip/fail policy.
//!
//! Deliberately not here: DNS, kube-proxy (no Service traffic), NetworkPolicy enforcement
//! (the bridge CNI ignores policies), and controllers beyond those Jobs need (no namespace
//! deletion). The control plane alone runs no pods: tests that need them use [`node`].
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod chromium;
pub mod git;
pub mod node;
pub mod oci;
pub mod pki;
pub mod postgres;
pub mod process;
pub mod ssh;

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::Engine as _;

pub use chromium::{Chromium, chromium_or_skip};
pub use git::{GitFixture, GitHttpServer, GitRequest, git};
pub use node::{Node, node_or_skip, shared_node};
pub use pki::{CertPair, TestCa};
pub use postgres::{Postgres, postgres_or_skip, shared_database_or_skip, shared_postgres};
pub use process::ManagedProcess;
pub use ssh::SshGitServer;

/// Environment variable naming the directory with `kube-apiserver` and `etcd`.
pub const ENV_BIN_DIR: &str = "SHIPGATE_TEST_BIN_DIR";
/// Environment variable: seconds to wait for the control plane to become ready (default 90).
pub const ENV_START_TIMEOUT: &str = "SHIPGATE_TESTENV_START_TIMEOUT";

/// Everything that can go wrong starting the test infrastructure.
#[derive(Debug, thiserror::Error)]
pub enum TestEnvError {
    /// A required binary is not where it was looked for.
    #[error("{name} not found at {}: run `scripts/test-control-plane.sh build` (or set {ENV_BIN_DIR})", path.display())]
    BinaryMissing {
        /// Binary name.
        name: String,
        /// Where it was expected.
        path: PathBuf,
    },
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Certificate generation failed.
    #[error("generating the {what} certificate: {source}")]
    Certificate {
        /// Which certificate.
        what: String,
        /// The rcgen error.
        #[source]
        source: rcgen::Error,
    },
    /// A process exited during start-up.
    #[error("{what} exited during start-up ({status}); log {log}:\n{tail}")]
    Exited {
        /// Which process.
        what: String,
        /// Its exit status.
        status: String,
        /// Log file path.
        log: String,
        /// The end of its log.
        tail: String,
    },
    /// A process did not become ready in time.
    #[error("{what} not ready after {secs}s (raise {ENV_START_TIMEOUT}); log {log}:\n{tail}")]
    Timeout {
        /// Which process.
        what: String,
        /// How long we waited.
        secs: u64,
        /// Log file path.
        log: String,
        /// The end of its log.
        tail: String,
    },
    /// Building a kube client from the generated kubeconfig failed.
    #[error("building a kube client for the test control plane: {0}")]
    Kube(String),
    /// A git command failed.
    #[error("{command} failed ({status}): {stderr}")]
    Git {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// Its stderr.
        stderr: String,
    },
}

pub(crate) fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> TestEnvError {
    let what = what.into();
    move |source| TestEnvError::Io { what, source }
}

/// The directory holding the test binaries: `$SHIPGATE_TEST_BIN_DIR`, else
/// `$HOME/.cache/shipgate/test-bins` (what `scripts/test-control-plane.sh build` fills).
pub fn bin_dir() -> PathBuf {
    if let Some(d) = std::env::var_os(ENV_BIN_DIR).filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".cache/shipgate/test-bins")
}

pub(crate) fn find_bin(name: &str) -> Result<PathBuf, TestEnvError> {
    let p = bin_dir().join(name);
    if p.is_file() {
        Ok(p)
    } else {
        Err(TestEnvError::BinaryMissing {
            name: name.into(),
            path: p,
        })
    }
}

pub(crate) fn start_timeout() -> Duration {
    let secs = std::env::var(ENV_START_TIMEOUT)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(90);
    Duration::from_secs(secs)
}

pub(crate) fn write(path: &Path, contents: &str) -> Result<(), TestEnvError> {
    std::fs::write(path, contents).map_err(io_err(format!("writing {}", path.display())))
}

/// A running etcd (plain HTTP on loopback, `--unsafe-no-fsync`).
#[derive(Debug)]
pub struct Etcd {
    process: ManagedProcess,
    port: u16,
}

impl Etcd {
    /// Starts etcd with its data under `dir` and waits for `/health`.
    pub fn start(dir: &Path) -> Result<Self, TestEnvError> {
        let bin = find_bin("etcd")?;
        let mut last = None;
        // A free port can be taken between probing and binding: retry a few times.
        for _ in 0..3 {
            let port = process::free_port()?;
            let peer = process::free_port()?;
            let client_url = format!("http://127.0.0.1:{port}");
            let peer_url = format!("http://127.0.0.1:{peer}");
            let mut cmd = Command::new(&bin);
            cmd.arg("--name=test")
                .arg(format!("--data-dir={}", dir.join("etcd-data").display()))
                .arg(format!("--listen-client-urls={client_url}"))
                .arg(format!("--advertise-client-urls={client_url}"))
                .arg(format!("--listen-peer-urls={peer_url}"))
                .arg(format!("--initial-advertise-peer-urls={peer_url}"))
                .arg(format!("--initial-cluster=test={peer_url}"))
                .arg("--unsafe-no-fsync=true")
                .arg("--log-level=warn");
            let mut process = ManagedProcess::spawn("etcd", cmd, &dir.join("etcd.log"), Some(dir))?;
            match wait_until(&mut process, "etcd", start_timeout(), || {
                process::http_get_status(port, "/health") == Some(200)
            }) {
                Ok(()) => return Ok(Self { process, port }),
                Err(e) => {
                    process.stop(Duration::from_secs(2));
                    let _ = std::fs::remove_dir_all(dir.join("etcd-data"));
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| TestEnvError::Kube("etcd did not start".into())))
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The etcd process.
    pub fn process(&self) -> &ManagedProcess {
        &self.process
    }
}

pub(crate) fn wait_until(
    process: &mut ManagedProcess,
    what: &str,
    timeout: Duration,
    mut ready: impl FnMut() -> bool,
) -> Result<(), TestEnvError> {
    let start = Instant::now();
    loop {
        if ready() {
            return Ok(());
        }
        if let Some(status) = process.exited() {
            return Err(TestEnvError::Exited {
                what: what.into(),
                status: status.to_string(),
                log: process.log_path().display().to_string(),
                tail: process.log_tail(4000),
            });
        }
        if start.elapsed() > timeout {
            return Err(TestEnvError::Timeout {
                what: what.into(),
                secs: timeout.as_secs(),
                log: process.log_path().display().to_string(),
                tail: process.log_tail(4000),
            });
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A running etcd + kube-apiserver with an admin kubeconfig.
///
/// Dropping it stops both processes (apiserver first: field order) and deletes the temp dir.
#[derive(Debug)]
pub struct ControlPlane {
    apiserver: ManagedProcess,
    etcd: Etcd,
    kubeconfig: String,
    server: String,
    ca_pem: String,
    ca: TestCa,
    dir: tempfile::TempDir,
}

impl ControlPlane {
    /// Starts etcd and kube-apiserver and blocks until `/readyz` answers `ok`.
    ///
    /// Blocking (it may take 5-30 s on a busy 2-core machine); call it once per test binary
    /// (see [`shared_control_plane`]). Safe to call from inside a tokio runtime.
    pub fn start() -> Result<Self, TestEnvError> {
        let kas = find_bin("kube-apiserver")?;
        find_bin("etcd")?;
        let dir = tempfile::Builder::new()
            .prefix("shipgate-testenv-")
            .tempdir()
            .map_err(io_err("creating a temp dir for the control plane"))?;
        let d = dir.path();
        let ca = TestCa::new("shipgate-test-kube-ca")?;
        let localhost = [IpAddr::V4(Ipv4Addr::LOCALHOST)];
        let serving = ca.server_cert("kube-apiserver", &localhost, &["localhost"])?;
        let admin = ca.client_cert("admin", &["system:masters"])?;
        // For logs, exec and port-forward through a kubelet (see `node`).
        let kubelet_client =
            ca.client_cert("kube-apiserver-kubelet-client", &["system:masters"])?;
        write(&d.join("kubelet-client.crt"), &kubelet_client.cert_pem)?;
        write(&d.join("kubelet-client.key"), &kubelet_client.key_pem)?;
        let (sa_key, sa_pub) = pki::signing_key_pair()?;
        write(&d.join("ca.crt"), ca.cert_pem())?;
        write(&d.join("apiserver.crt"), &serving.cert_pem)?;
        write(&d.join("apiserver.key"), &serving.key_pem)?;
        write(&d.join("sa.key"), &sa_key)?;
        write(&d.join("sa.pub"), &sa_pub)?;
        write(&d.join(AUDIT_POLICY_FILE), AUDIT_POLICY)?;

        let etcd = Etcd::start(d)?;
        let mut last = None;
        for _ in 0..3 {
            let port = process::free_port()?;
            let server = format!("https://127.0.0.1:{port}");
            let mut cmd = Command::new(&kas);
            cmd.arg(format!("--etcd-servers={}", etcd.url()))
                .arg("--bind-address=127.0.0.1")
                .arg("--advertise-address=127.0.0.1")
                .arg(format!("--secure-port={port}"))
                .arg(format!(
                    "--cert-dir={}",
                    d.join("apiserver-certs").display()
                ))
                .arg(format!(
                    "--tls-cert-file={}",
                    d.join("apiserver.crt").display()
                ))
                .arg(format!(
                    "--tls-private-key-file={}",
                    d.join("apiserver.key").display()
                ))
                .arg(format!("--client-ca-file={}", d.join("ca.crt").display()))
                .arg(format!("--service-account-issuer={server}"))
                .arg(format!(
                    "--service-account-key-file={}",
                    d.join("sa.pub").display()
                ))
                .arg(format!(
                    "--service-account-signing-key-file={}",
                    d.join("sa.key").display()
                ))
                // Node: the authorizer for kubelets (`system:node:<name>` in `system:nodes`);
                // it grants nothing to anyone else.
                .arg("--authorization-mode=Node,RBAC")
                .arg(format!(
                    "--kubelet-client-certificate={}",
                    d.join("kubelet-client.crt").display()
                ))
                .arg(format!(
                    "--kubelet-client-key={}",
                    d.join("kubelet-client.key").display()
                ))
                .arg(format!(
                    "--kubelet-certificate-authority={}",
                    d.join("ca.crt").display()
                ))
                .arg("--kubelet-preferred-address-types=InternalIP")
                .arg("--disable-admission-plugins=ServiceAccount")
                .arg("--service-cluster-ip-range=10.0.0.0/24")
                .arg("--allow-privileged=true")
                .arg(format!(
                    "--audit-policy-file={}",
                    d.join(AUDIT_POLICY_FILE).display()
                ))
                .arg(format!(
                    "--audit-log-path={}",
                    d.join(AUDIT_LOG_FILE).display()
                ))
                .arg("--audit-log-format=json")
                .arg("--v=1");
            let mut apiserver = ManagedProcess::spawn(
                "kube-apiserver",
                cmd,
                &d.join("kube-apiserver.log"),
                Some(d),
            )?;
            let kubeconfig = kubeconfig_yaml(&server, ca.cert_pem(), &admin);
            let probe = ReadyProbe::new(&kubeconfig)?;
            match wait_until(&mut apiserver, "kube-apiserver", start_timeout(), || {
                probe.ready()
            }) {
                Ok(()) => {
                    return Ok(Self {
                        apiserver,
                        etcd,
                        kubeconfig,
                        server,
                        ca_pem: ca.cert_pem().to_owned(),
                        ca,
                        dir,
                    });
                }
                Err(e) => {
                    apiserver.stop(Duration::from_secs(2));
                    last = Some(e);
                    // Only a port race is worth retrying; a crash with the same flags is not.
                    if !std::fs::read_to_string(d.join("kube-apiserver.log"))
                        .unwrap_or_default()
                        .contains("address already in use")
                    {
                        break;
                    }
                }
            }
        }
        Err(last.unwrap_or_else(|| TestEnvError::Kube("kube-apiserver did not start".into())))
    }

    /// The admin kubeconfig (YAML, credentials inline).
    pub fn kubeconfig_yaml(&self) -> &str {
        &self.kubeconfig
    }

    /// Writes the admin kubeconfig into the control plane's temp dir and returns its path.
    pub fn kubeconfig_path(&self) -> Result<PathBuf, TestEnvError> {
        let p = self.dir.path().join("kubeconfig");
        if !p.exists() {
            write(&p, &self.kubeconfig)?;
        }
        Ok(p)
    }

    /// `https://127.0.0.1:<port>`.
    pub fn server_url(&self) -> &str {
        &self.server
    }

    /// The cluster CA, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The cluster CA (clients and kubelets trust it; it signs their certificates too).
    pub fn ca(&self) -> &TestCa {
        &self.ca
    }

    /// A kubeconfig (YAML, credentials inline) for a client certificate with CN `user` and
    /// one O per group, e.g. `system:node:<name>` in `system:nodes`.
    pub fn kubeconfig_for(&self, user: &str, groups: &[&str]) -> Result<String, TestEnvError> {
        let cert = self.ca.client_cert(user, groups)?;
        Ok(kubeconfig_yaml(&self.server, &self.ca_pem, &cert))
    }

    /// A new admin client. Create one per tokio runtime (per test): a client's connection
    /// pool belongs to the runtime that created it.
    pub async fn client(&self) -> Result<kube::Client, TestEnvError> {
        client_from_kubeconfig(&self.kubeconfig).await
    }

    /// The kube-apiserver process (for log inspection).
    pub fn apiserver(&self) -> &ManagedProcess {
        &self.apiserver
    }

    /// The etcd process.
    pub fn etcd(&self) -> &Etcd {
        &self.etcd
    }

    /// Pids of every process this control plane started (children and watchdogs).
    pub fn pids(&self) -> Vec<u32> {
        [&self.apiserver, &self.etcd.process]
            .iter()
            .flat_map(|p| [p.pid(), p.watchdog_pid()])
            .flatten()
            .collect()
    }

    /// The API server's audit log (JSON lines of `audit.k8s.io/v1` `Event`, written with
    /// [`AUDIT_POLICY`]; the file appears with the first audited request).
    pub fn audit_log_path(&self) -> PathBuf {
        self.dir.path().join(AUDIT_LOG_FILE)
    }

    /// The scratch directory (certificates, logs, etcd data).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stops kube-apiserver, then etcd, leaving nothing behind. Same as dropping.
    pub fn stop(mut self) {
        self.apiserver.stop(Duration::from_secs(10));
        self.etcd.process.stop(Duration::from_secs(5));
    }

    /// Leaves the processes to their watchdogs (leak-test support; see the crate tests).
    pub fn abandon(self) {
        let Self {
            apiserver,
            etcd,
            dir,
            ..
        } = self;
        apiserver.abandon();
        etcd.process.abandon();
        let _ = dir.keep();
    }
}

fn kubeconfig_yaml(server: &str, ca_pem: &str, admin: &CertPair) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: shipgate-test\n  cluster:\n    server: {server}\n    certificate-authority-data: {}\nusers:\n- name: admin\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\ncontexts:\n- name: admin@shipgate-test\n  context:\n    cluster: shipgate-test\n    user: admin\ncurrent-context: admin@shipgate-test\n",
        b64(ca_pem),
        b64(&admin.cert_pem),
        b64(&admin.key_pem)
    )
}

/// Builds a kube client from kubeconfig YAML (verified TLS, inline credentials).
pub async fn client_from_kubeconfig(yaml: &str) -> Result<kube::Client, TestEnvError> {
    let kc =
        kube::config::Kubeconfig::from_yaml(yaml).map_err(|e| TestEnvError::Kube(e.to_string()))?;
    let cfg = kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
        .await
        .map_err(|e| TestEnvError::Kube(e.to_string()))?;
    kube::Client::try_from(cfg).map_err(|e| TestEnvError::Kube(e.to_string()))
}

/// Polls `/readyz` with a kube client on a private single-thread runtime in its own OS
/// thread, so it works whether or not the caller is inside a tokio runtime.
struct ReadyProbe {
    tx: std::sync::mpsc::Sender<std::sync::mpsc::Sender<bool>>,
}

impl ReadyProbe {
    fn new(kubeconfig: &str) -> Result<Self, TestEnvError> {
        let (tx, rx) = std::sync::mpsc::channel::<std::sync::mpsc::Sender<bool>>();
        let yaml = kubeconfig.to_owned();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(io_err("creating a tokio runtime for the readiness probe"))?;
        std::thread::Builder::new()
            .name("testenv-readyz".into())
            .spawn(move || {
                rt.block_on(async move {
                    let client = client_from_kubeconfig(&yaml).await.ok();
                    while let Ok(reply) = rx.recv() {
                        let ok = match &client {
                            Some(c) => readyz(c).await,
                            None => false,
                        };
                        let _ = reply.send(ok);
                    }
                });
            })
            .map_err(io_err("spawning the readiness probe thread"))?;
        Ok(Self { tx })
    }

    fn ready(&self) -> bool {
        let (reply_tx, reply_rx) = std::sync::mpsc::channel();
        if self.tx.send(reply_tx).is_err() {
            return false;
        }
        reply_rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or(false)
    }
}

async fn readyz(client: &kube::Client) -> bool {
    let Ok(req) = http::Request::get("/readyz").body(Vec::new()) else {
        return false;
    };
    let fut = client.request_text(req);
    matches!(
        tokio::time::timeout(Duration::from_secs(5), fut).await,
        Ok(Ok(body)) if body.trim() == "ok"
    )
}

const AUDIT_POLICY_FILE: &str = "audit-policy.yaml";
const AUDIT_LOG_FILE: &str = "audit.log";

/// The audit policy of the test API server: secrets (and config maps) at `Metadata`, so no
/// secret data is ever written; pods, their exec/attach subresources and RBAC objects at
/// `Request` (the request body, for privileged pods and role bindings); everything else at
/// `Metadata`. Health probes are not logged and the `RequestReceived` stage is omitted.
pub const AUDIT_POLICY: &str = r#"apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: None
    nonResourceURLs: ["/readyz", "/readyz/*", "/livez", "/livez/*", "/healthz", "/healthz/*"]
  - level: Metadata
    resources:
      - group: ""
        resources: ["secrets", "configmaps"]
  - level: Request
    resources:
      - group: ""
        resources: ["pods", "pods/exec", "pods/attach", "pods/ephemeralcontainers"]
      - group: "rbac.authorization.k8s.io"
  - level: Metadata
"#;

static SHARED: OnceLock<Result<ControlPlane, String>> = OnceLock::new();

/// One control plane per test binary, started on first use. Its processes and temp dir are
/// cleaned up by the watchdogs when the test binary exits.
pub fn shared_control_plane() -> Result<&'static ControlPlane, String> {
    SHARED
        .get_or_init(|| ControlPlane::start().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(Clone::clone)
}

/// True when `CI` is set to `true` (or `1`): infrastructure problems must fail tests there.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The shared control plane, or `None` with a note on stderr when it cannot start outside CI.
///
/// # Panics
/// When the control plane cannot start and `CI=true`: tests that need it must fail in CI.
#[allow(clippy::print_stderr)] // reason: telling the developer why a test was skipped is the point
pub fn control_plane_or_skip(test: &str) -> Option<&'static ControlPlane> {
    match shared_control_plane() {
        Ok(cp) => Some(cp),
        Err(e) if in_ci() => panic!("{test}: the test control plane is required in CI: {e}"),
        Err(e) => {
            eprintln!("SKIPPED {test}: test control plane unavailable: {e}");
            None
        }
    }
}

/// Starts a fresh [`Registry`] for `test`; panics in CI when it cannot start, elsewhere prints
/// a SKIPPED line and returns `None` (the same policy as [`control_plane_or_skip`]).
///
/// # Panics
/// When the registry cannot start and `CI=true`.
#[allow(clippy::print_stderr)] // reason: telling the developer why a test was skipped is the point
pub fn registry_or_skip(test: &str) -> Option<Registry> {
    match Registry::start() {
        Ok(r) => Some(r),
        Err(e) if in_ci() => panic!("{test}: the registry is required in CI: {e}"),
        Err(e) => {
            eprintln!("SKIPPED {test}: registry unavailable: {e}");
            None
        }
    }
}

/// A running Distribution registry (`/usr/bin/docker-registry`), plain HTTP on loopback,
/// storage in a temp dir, no auth.
#[derive(Debug)]
pub struct Registry {
    process: ManagedProcess,
    port: u16,
    dir: tempfile::TempDir,
}

/// Where Debian's `docker-registry` package installs the binary.
pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

impl Registry {
    /// Starts the registry and waits until `GET /v2/` answers 200.
    pub fn start() -> Result<Self, TestEnvError> {
        let bin = PathBuf::from(
            std::env::var_os("SHIPGATE_REGISTRY_BIN").unwrap_or_else(|| REGISTRY_BIN.into()),
        );
        if !bin.is_file() {
            return Err(TestEnvError::BinaryMissing {
                name: "docker-registry (apt-get install -y docker-registry)".into(),
                path: bin,
            });
        }
        let dir = tempfile::Builder::new()
            .prefix("shipgate-registry-")
            .tempdir()
            .map_err(io_err("creating a temp dir for the registry"))?;
        let mut last = None;
        for _ in 0..3 {
            let port = process::free_port()?;
            let config = dir.path().join("config.yml");
            write(
                &config,
                &format!(
                    "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
                    dir.path().join("data").display()
                ),
            )?;
            let mut cmd = Command::new(&bin);
            cmd.arg("serve").arg(&config);
            let mut process = ManagedProcess::spawn(
                "docker-registry",
                cmd,
                &dir.path().join("registry.log"),
                Some(dir.path()),
            )?;
            match wait_until(&mut process, "docker-registry", start_timeout(), || {
                process::http_get_status(port, "/v2/") == Some(200)
            }) {
                Ok(()) => return Ok(Self { process, port, dir }),
                Err(e) => {
                    process.stop(Duration::from_secs(2));
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| TestEnvError::Kube("registry did not start".into())))
    }

    /// `127.0.0.1:<port>` (an image reference host).
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The registry process.
    pub fn process(&self) -> &ManagedProcess {
        &self.process
    }

    /// The storage + log directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}
