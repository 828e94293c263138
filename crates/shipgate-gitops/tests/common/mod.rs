//! Shared setup of the end-to-end tests: a real kube-apiserver + etcd (shipgate-testenv), real
//! git repositories, the real policy set, and an [`Engine`] whose state lives in a namespace
//! of its own so tests on the shared control plane never see each other's records.

#![allow(dead_code, clippy::unwrap_used)] // test helpers; each test binary uses a subset

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use shipgate_gitops::app::{self, Application};
use shipgate_gitops::cluster::Cluster;
use shipgate_gitops::git::{GitCache, GitLimits};
use shipgate_gitops::history::StateStore;
use shipgate_gitops::objects::ObjectRef;
use shipgate_gitops::render::{RenderLimits, Tools};
use shipgate_gitops::sync::Engine;
use shipgate_policy::{PolicySet, PolicySettings};
use shipgate_testenv::{ControlPlane, GitFixture};

/// One test's world.
pub struct Env {
    pub cp: &'static ControlPlane,
    pub client: kube::Client,
    pub engine: Engine,
    /// Where the engine keeps history (unique per test).
    pub state_ns: String,
    /// Temp dir: git cache, repositories, application files.
    pub tmp: tempfile::TempDir,
}

/// `None` (test skipped with a note) when the control plane cannot start outside CI.
pub async fn env(test: &str) -> Option<Env> {
    let cp = shipgate_testenv::control_plane_or_skip(test)?;
    let client = cp.client().await.unwrap();
    let state_ns = format!("sg-{test}");
    ensure_namespace(&client, &state_ns).await;
    let tmp = tempfile::Builder::new()
        .prefix("shipgate-gitops-e2e-")
        .tempdir()
        .unwrap();
    let engine = engine(&client, &state_ns, &tmp.path().join("cache"));
    Some(Env {
        cp,
        client,
        engine,
        state_ns,
        tmp,
    })
}

/// The binaries the test setup builds (scripts/test-deps/gitops-tools.sh), else PATH.
pub fn tools() -> Tools {
    let bins = shipgate_testenv::bin_dir();
    let mut t = Tools::discover();
    for (slot, name) in [(&mut t.kustomize, "kustomize"), (&mut t.helm, "helm")] {
        let p = bins.join(name);
        if std::env::var_os(format!("SHIPGATE_{}", name.to_uppercase())).is_none() && p.is_file() {
            *slot = p;
        }
    }
    t
}

pub fn engine(client: &kube::Client, state_ns: &str, cache: &Path) -> Engine {
    let (mut set, errors) = PolicySet::load::<PathBuf>(&[]);
    assert!(errors.is_empty(), "{errors:?}");
    set.set_builtin(PolicySettings::default().resolve().unwrap());
    Engine {
        cluster: Cluster::new(client.clone()),
        git: Arc::new(GitCache::new(cache, GitLimits::default())),
        tools: tools(),
        render_limits: RenderLimits::default(),
        policy: Arc::new(set),
        store: StateStore::new(client.clone(), state_ns),
        default_secret_namespace: state_ns.to_string(),
        concurrency: 16,
    }
}

pub async fn ensure_namespace(client: &kube::Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    match api.create(&PostParams::default(), &ns).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 409 => {}
        Err(e) => panic!("creating namespace {name}: {e}"),
    }
}

/// A bare repository under the test's temp dir with a work clone.
pub fn repo(env: &Env, name: &str) -> GitFixture {
    let root = env.tmp.path().join("repos");
    std::fs::create_dir_all(&root).unwrap();
    GitFixture::new(&root, name).unwrap()
}

pub fn file_url(repo: &GitFixture) -> String {
    format!("file://{}", repo.bare_dir().display())
}

/// Parses one application from YAML text (panics with the loader's errors).
pub fn application(yaml: &str) -> Application {
    let loaded = app::parse_str(yaml, "test-app.yaml");
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    assert_eq!(loaded.apps.len(), 1);
    loaded.apps.into_iter().next().unwrap()
}

/// A minimal application file for `url` at `path`, destination `ns`.
pub fn app_yaml(name: &str, url: &str, path: &str, ns: &str, extra_spec: &str) -> String {
    format!(
        "apiVersion: shipgate.gitops/v1\nkind: Application\nmetadata:\n  name: {name}\nspec:\n  \
         source:\n    repoURL: {url}\n    revision: main\n    path: {path}\n  destination:\n    \
         namespace: {ns}\n    createNamespace: true\n{extra_spec}"
    )
}

pub fn configmap(name: &str, data: &[(&str, &str)]) -> String {
    let mut s = format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n");
    for (k, v) in data {
        s.push_str(&format!("  {k}: \"{v}\"\n"));
    }
    s
}

pub fn deployment(name: &str, image: &str, privileged: bool) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: 2
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        seccompProfile: {{type: RuntimeDefault}}
      containers:
        - name: main
          image: {image}
          securityContext:
            privileged: {privileged}
            allowPrivilegeEscalation: {privileged}
            readOnlyRootFilesystem: true
            capabilities: {{drop: [ALL]}}
          resources:
            requests: {{cpu: 10m, memory: 16Mi}}
            limits: {{cpu: 100m, memory: 64Mi}}
"#
    )
}

pub fn id(group: &str, version: &str, kind: &str, ns: &str, name: &str) -> ObjectRef {
    ObjectRef {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        namespace: (!ns.is_empty()).then(|| ns.to_string()),
        name: name.into(),
    }
}

pub fn cm_id(ns: &str, name: &str) -> ObjectRef {
    id("", "v1", "ConfigMap", ns, name)
}

pub async fn get(env: &Env, id: &ObjectRef) -> Option<Value> {
    env.engine.cluster.get(id).await.unwrap()
}

/// Polls `f` every 50 ms until it returns `Some` or `timeout` passes.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
