//! The agent against the real test control plane (kube-apiserver + etcd from shipgate-testenv)
//! and a real git repository: how long the first sync of N applications takes, how fast a
//! `kubectl edit`-style change is seen and reverted, and the agent's memory.
//!
//! ```text
//! cargo bench -p shipgate-gitops --bench gitops_sync -- [--apps 100] [--objects 10]
//!     [--deployments 5] [--drifts 20] [--parallel 4]
//! ```
//! Each application is a directory of `--objects` manifests (`--deployments` of them
//! Deployments, the rest ConfigMaps) in one repository served over `file://`; every
//! application is automated with self-heal. The agent runs in this process (the API server
//! and etcd are separate processes), so the process's peak RSS (VmHWM) is the agent's plus
//! this harness's few MiB. Timings go from the moment the agent starts (or the edit is
//! accepted by the API server) to the event, as the agent reports it.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    missing_docs
)]

// The allocator the `shipgate` binary ships with, so figures are the product's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use shipgate_gitops::agent::{Agent, AgentConfig, AgentEvent};
use shipgate_gitops::cluster::Cluster;
use shipgate_gitops::git::{GitCache, GitLimits};
use shipgate_gitops::history::{StateStore, SyncResult};
use shipgate_gitops::render::{RenderLimits, Tools};
use shipgate_gitops::sync::Engine;
use shipgate_policy::{PolicySet, PolicySettings};

fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn vm_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn configmap(app: usize, i: usize) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n  labels:\n    team: bench\ndata:\n  app: \"app-{app}\"\n  index: \"{i}\"\n  payload: \"{}\"\n",
        "x".repeat(200)
    )
}

fn deployment(app: usize, i: usize) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-{i}
spec:
  replicas: 2
  selector:
    matchLabels: {{app: web-{i}}}
  template:
    metadata:
      labels: {{app: web-{i}, owner: app-{app}}}
    spec:
      automountServiceAccountToken: false
      securityContext: {{runAsNonRoot: true, seccompProfile: {{type: RuntimeDefault}}}}
      containers:
        - name: main
          image: registry.example/bench/web@sha256:{digest}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {{drop: [ALL]}}
          resources:
            requests: {{cpu: 10m, memory: 16Mi}}
            limits: {{cpu: 100m, memory: 64Mi}}
"#,
        digest = "a".repeat(64)
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let apps: usize = arg("--apps", 100);
    let objects: usize = arg("--objects", 10);
    let deployments: usize = arg("--deployments", 5).min(objects);
    let drifts: usize = arg("--drifts", 20);
    let parallel: usize = arg("--parallel", 4);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cp = shipgate_testenv::ControlPlane::start().expect("test control plane");
    let tmp = tempfile::Builder::new()
        .prefix("shipgate-gitops-bench-")
        .tempdir()
        .unwrap();

    // One repository, one directory per application.
    let root = tmp.path().join("repos");
    std::fs::create_dir_all(&root).unwrap();
    let mut repo = shipgate_testenv::GitFixture::new(&root, "bench").unwrap();
    let app_dir = tmp.path().join("apps");
    std::fs::create_dir_all(&app_dir).unwrap();
    let url = format!("file://{}", repo.bare_dir().display());
    for a in 0..apps {
        for i in 0..objects {
            let text = if i < deployments {
                deployment(a, i)
            } else {
                configmap(a, i)
            };
            repo.write(&format!("apps/app-{a}/obj-{i}.yaml"), &text)
                .unwrap();
        }
        std::fs::write(
            app_dir.join(format!("app-{a}.yaml")),
            format!(
                "apiVersion: shipgate.gitops/v1\nkind: Application\nmetadata:\n  name: app-{a}\nspec:\n  source:\n    repoURL: {url}\n    revision: main\n    path: apps/app-{a}\n  destination:\n    namespace: bench-{a}\n    createNamespace: true\n  syncPolicy:\n    automated: true\n    selfHeal: true\n    interval: 1h\n"
            ),
        )
        .unwrap();
    }
    repo.commit("bench").unwrap();
    repo.push().unwrap();
    let total = apps * (objects + 1);
    eprintln!(
        "bench: {apps} applications x {objects} objects ({deployments} Deployments each) + a namespace each = {total} objects"
    );

    let peer: String = arg("--peer", String::new());
    if peer == "flux" {
        let dir: PathBuf = arg("--flux-dir", PathBuf::new());
        let version: String = arg("--flux-version", "v1.9.6".to_string());
        let server = shipgate_testenv::GitHttpServer::start(&root, None).unwrap();
        rt.block_on(flux(
            &cp,
            &dir,
            &version,
            &server.url("bench"),
            apps,
            total,
            tmp.path(),
        ));
    } else if !peer.is_empty() {
        panic!("--peer {peer}: only flux is supported");
    }

    rt.block_on(async {
        let client = cp.client().await.unwrap();
        let (mut set, errors) = PolicySet::load::<PathBuf>(&[]);
        assert!(errors.is_empty());
        set.set_builtin(PolicySettings::default().resolve().unwrap());
        let state_ns = "shipgate-system";
        let ns_api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
        let ns = serde_json::from_value(json!({"metadata": {"name": state_ns}})).unwrap();
        let _ = ns_api.create(&Default::default(), &ns).await;
        let engine = Engine {
            cluster: Cluster::new(client.clone()),
            git: Arc::new(GitCache::new(
                tmp.path().join("cache"),
                GitLimits {
                    resolve_memo: Duration::from_secs(3),
                    ..GitLimits::default()
                },
            )),
            tools: Tools::discover(),
            render_limits: RenderLimits::default(),
            policy: Arc::new(set),
            store: StateStore::new(client.clone(), state_ns),
            default_secret_namespace: state_ns.into(),
            concurrency: 16,
        };
        let events: Arc<Mutex<Vec<(Instant, AgentEvent)>>> = Arc::default();
        let sink = events.clone();
        let agent = Agent::new(
            engine,
            AgentConfig {
                app_paths: vec![app_dir.clone()],
                crd_namespace: None,
                lease: None,
                listen: None,
                max_parallel_syncs: parallel,
            },
            Arc::new(move |e: AgentEvent| sink.lock().unwrap().push((Instant::now(), e))),
        );
        let rss_before = vm_rss_kib();
        let (stop, rx) = tokio::sync::watch::channel(false);
        let runner = agent.clone();
        let started = Instant::now();
        let task = tokio::spawn(async move { runner.run(rx).await.unwrap() });

        // First sync of everything.
        let deadline = started + Duration::from_secs(600);
        let failed = loop {
            let (done, bad): (HashSet<String>, Vec<String>) = {
                let ev = events.lock().unwrap();
                let mut done = HashSet::new();
                let mut bad = Vec::new();
                for (_, e) in ev.iter() {
                    if let AgentEvent::Synced(r) = e {
                        done.insert(r.app.clone());
                        if r.result != SyncResult::Succeeded {
                            bad.push(format!("{}: {:?} {:?}", r.app, r.result, r.reason));
                        }
                    }
                }
                (done, bad)
            };
            if done.len() == apps {
                break bad;
            }
            assert!(Instant::now() < deadline, "only {} of {apps} synced", done.len());
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let first_sync = started.elapsed();
        assert!(failed.is_empty(), "{failed:?}");
        println!(
            "first sync: {apps} applications, {total} objects in {:.2} s ({:.0} objects/s)",
            first_sync.as_secs_f64(),
            total as f64 / first_sync.as_secs_f64()
        );

        // Let the watches settle (initial lists of every kind) before editing.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let hwm_synced = vm_hwm_kib();

        let mut seen = Vec::new();
        let mut healed = Vec::new();
        for k in 0..drifts {
            let a = k % apps;
            let cm = format!("cm-{}", objects - 1);
            let cms: Api<k8s_openapi::api::core::v1::ConfigMap> =
                Api::namespaced(client.clone(), &format!("bench-{a}"));
            let before = events.lock().unwrap().len();
            let value = format!("edited-{k}");
            cms.patch(
                &cm,
                &PatchParams {
                    field_manager: Some("kubectl-edit".into()),
                    ..Default::default()
                },
                &Patch::Merge(json!({"data": {"index": value}})),
            )
            .await
            .unwrap();
            let edited = Instant::now();
            let mut drift_at = None;
            let mut heal_at = None;
            while drift_at.is_none() || heal_at.is_none() {
                if drift_at.is_none() {
                    let ev = events.lock().unwrap();
                    drift_at = ev[before..].iter().find_map(|(t, e)| match e {
                        AgentEvent::Drift(d) if d.app == format!("app-{a}") => Some(*t),
                        _ => None,
                    });
                }
                if heal_at.is_none() {
                    let live = cms.get(&cm).await.unwrap();
                    let v = live.data.and_then(|d| d.get("index").cloned());
                    if v.as_deref() == Some(&(objects - 1).to_string()) {
                        heal_at = Some(Instant::now());
                    }
                }
                assert!(edited.elapsed() < Duration::from_secs(30), "drift {k} not handled");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            seen.push(drift_at.unwrap().saturating_duration_since(edited));
            healed.push(heal_at.unwrap().duration_since(edited));
        }
        seen.sort();
        healed.sort();
        if drifts > 0 {
            println!(
                "drift seen after an edit: median {:.0} ms, p90 {:.0} ms, max {:.0} ms ({drifts} edits)",
                percentile(&seen, 0.5).as_secs_f64() * 1e3,
                percentile(&seen, 0.9).as_secs_f64() * 1e3,
                seen.last().unwrap().as_secs_f64() * 1e3
            );
            println!(
                "reverted (read back) after an edit: median {:.0} ms, p90 {:.0} ms, max {:.0} ms",
                percentile(&healed, 0.5).as_secs_f64() * 1e3,
                percentile(&healed, 0.9).as_secs_f64() * 1e3,
                healed.last().unwrap().as_secs_f64() * 1e3
            );
        }
        let owned: usize = (0..apps)
            .filter_map(|a| agent.app_summary(&format!("app-{a}")))
            .map(|s| s.0)
            .sum();
        println!(
            "memory: {owned} owned objects watched; process RSS before the agent {:.1} MiB, peak {:.1} MiB after the first sync, peak {:.1} MiB at the end",
            rss_before as f64 / 1024.0,
            hwm_synced as f64 / 1024.0,
            vm_hwm_kib() as f64 / 1024.0
        );
        stop.send(true).unwrap();
        let _ = tokio::time::timeout(Duration::from_secs(20), task).await;
    });
    cp.stop();
}

fn proc_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The same workload through Flux (source-controller + kustomize-controller, built by
/// scripts/bench-gitops-peers.sh), out of cluster against the same API server: one
/// GitRepository over git http-backend, one Kustomization per application directory, timed from
/// the GitRepository's creation to every Kustomization Ready.
async fn flux(
    cp: &shipgate_testenv::ControlPlane,
    dir: &std::path::Path,
    version: &str,
    url: &str,
    apps: usize,
    total: usize,
    tmp: &std::path::Path,
) {
    use kube::api::{DynamicObject, ListParams};
    use kube::discovery::ApiResource;
    let client = cp.client().await.unwrap();
    let cluster = Cluster::new(client.clone());
    for c in ["source-controller", "kustomize-controller"] {
        let crds = dir.join(format!("{c}-{version}-crds"));
        for e in std::fs::read_dir(&crds).unwrap_or_else(|e| panic!("{}: {e}", crds.display())) {
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
            let v: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
            let id = shipgate_gitops::objects::ObjectRef::from_value(&v).unwrap();
            cluster.apply(&id, &v, false).await.unwrap();
        }
    }
    let ns_api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    for n in std::iter::once("flux-system".to_string())
        .chain((0..apps).map(|a| format!("flux-bench-{a}")))
    {
        let ns = serde_json::from_value(json!({"metadata": {"name": n}})).unwrap();
        let _ = ns_api.create(&Default::default(), &ns).await;
    }
    let ar = |group: &str, version: &str, kind: &str, plural: &str| ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: format!("{group}/{version}"),
        kind: kind.into(),
        plural: plural.into(),
    };
    let gr = ar(
        "source.toolkit.fluxcd.io",
        "v1",
        "GitRepository",
        "gitrepositories",
    );
    let ks = ar(
        "kustomize.toolkit.fluxcd.io",
        "v1",
        "Kustomization",
        "kustomizations",
    );
    let gr_api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "flux-system", &gr);
    let ks_api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "flux-system", &ks);
    let t0 = Instant::now();
    while gr_api.list(&ListParams::default()).await.is_err()
        || ks_api.list(&ListParams::default()).await.is_err()
    {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "Flux CRDs not served"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let kubeconfig = cp.kubeconfig_path().unwrap();
    let storage = tmp.join("flux-storage");
    std::fs::create_dir_all(&storage).unwrap();
    let storage_addr = format!("127.0.0.1:{}", free_port());
    let spawn = |name: &str, extra: Vec<String>| {
        let bin = dir.join(format!("{name}-{version}"));
        let log = std::fs::File::create(tmp.join(format!("{name}.log"))).unwrap();
        std::process::Command::new(&bin)
            .args([
                format!("--metrics-addr=127.0.0.1:{}", free_port()),
                format!("--health-addr=127.0.0.1:{}", free_port()),
                "--enable-leader-election=false".into(),
                "--watch-all-namespaces=true".into(),
                "--log-level=error".into(),
            ])
            .args(extra)
            .env("KUBECONFIG", &kubeconfig)
            .env("RUNTIME_NAMESPACE", "flux-system")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", bin.display()))
    };
    let mut source = spawn(
        "source-controller",
        vec![
            format!("--storage-path={}", storage.display()),
            format!("--storage-addr={storage_addr}"),
            format!("--storage-adv-addr={storage_addr}"),
        ],
    );
    let mut kustomize = spawn("kustomize-controller", vec![]);
    // Let both managers start their caches before the clock starts.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let started = Instant::now();
    let repo: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "bench", "namespace": "flux-system"},
        "spec": {"url": url, "ref": {"branch": "main"}, "interval": "1h"}
    }))
    .unwrap();
    gr_api.create(&Default::default(), &repo).await.unwrap();
    for a in 0..apps {
        let k: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": format!("app-{a}"), "namespace": "flux-system"},
            "spec": {"interval": "1h", "path": format!("./apps/app-{a}"), "prune": true,
                     "sourceRef": {"kind": "GitRepository", "name": "bench"},
                     "targetNamespace": format!("flux-bench-{a}"), "wait": false, "timeout": "5m"}
        }))
        .unwrap();
        ks_api.create(&Default::default(), &k).await.unwrap();
    }
    let deadline = started + Duration::from_secs(900);
    let mut peak = 0u64;
    loop {
        peak = peak.max(proc_kib(source.id(), "VmRSS:") + proc_kib(kustomize.id(), "VmRSS:"));
        let list = ks_api.list(&ListParams::default()).await.unwrap();
        let ready = list
            .items
            .iter()
            .filter(|k| {
                k.data["status"]["conditions"].as_array().is_some_and(|c| {
                    c.iter()
                        .any(|c| c["type"] == "Ready" && c["status"] == "True")
                })
            })
            .count();
        if ready == apps {
            break;
        }
        if Instant::now() > deadline {
            let _ = source.kill();
            let _ = kustomize.kill();
            panic!(
                "Flux: only {ready} of {apps} Kustomizations Ready; logs in {}",
                tmp.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let took = started.elapsed();
    let hwm = proc_kib(source.id(), "VmHWM:") + proc_kib(kustomize.id(), "VmHWM:");
    // Ready must mean applied: count what Flux created.
    let mut applied = 0;
    for a in 0..apps {
        let ns = format!("flux-bench-{a}");
        let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), &ns);
        let deps: Api<k8s_openapi::api::apps::v1::Deployment> =
            Api::namespaced(client.clone(), &ns);
        let lp = ListParams::default().labels("kustomize.toolkit.fluxcd.io/name");
        applied += cms.list(&lp).await.unwrap().items.len();
        applied += deps.list(&lp).await.unwrap().items.len();
    }
    assert_eq!(applied, total - apps, "objects Flux applied");
    println!(
        "flux {version}: {apps} Kustomizations, {} objects Ready in {:.2} s ({:.0} objects/s); peak RSS source-controller + kustomize-controller {:.1} MiB",
        total - apps,
        took.as_secs_f64(),
        (total - apps) as f64 / took.as_secs_f64(),
        hwm.max(peak) as f64 / 1024.0
    );
    let _ = source.kill();
    let _ = kustomize.kill();
    let _ = source.wait();
    let _ = kustomize.wait();
}
