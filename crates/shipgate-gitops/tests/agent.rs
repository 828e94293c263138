//! The agent end to end on the real API server: automated sync of new commits, drift seen
//! through watches and attributed to the field manager that made it, self-heal, fields that
//! are not drift (server defaults, status, ignored fields), `dependsOn`, leader election and
//! the HTTP endpoints.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use shipgate_gitops::agent::{Agent, AgentConfig, AgentEvent};
use shipgate_gitops::history::{DriftEvent, SyncResult};
use shipgate_gitops::leader::LeaseConfig;
use tokio::sync::watch;

type Events = Arc<Mutex<Vec<AgentEvent>>>;

struct Running {
    agent: Agent,
    events: Events,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

fn start(env: &Env, apps_dir: &std::path::Path, lease: Option<LeaseConfig>) -> Running {
    let events: Events = Arc::default();
    let sink = events.clone();
    let agent = Agent::new(
        env.engine.clone(),
        AgentConfig {
            app_paths: vec![apps_dir.to_path_buf()],
            crd_namespace: None,
            lease,
            listen: Some("127.0.0.1:0".parse().unwrap()),
            max_parallel_syncs: 4,
        },
        Arc::new(move |e: AgentEvent| sink.lock().unwrap().push(e)),
    );
    let (stop, rx) = watch::channel(false);
    let runner = agent.clone();
    let task = tokio::spawn(async move {
        runner.run(rx).await.unwrap();
    });
    Running {
        agent,
        events,
        stop,
        task,
    }
}

impl Running {
    fn synced(&self, app: &str) -> Vec<SyncResult> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                AgentEvent::Synced(r) if r.app == app => Some(r.result),
                _ => None,
            })
            .collect()
    }

    fn drifts(&self, app: &str) -> Vec<DriftEvent> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                AgentEvent::Drift(d) if d.app == app => Some((**d).clone()),
                _ => None,
            })
            .collect()
    }

    fn errors(&self) -> Vec<String> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                AgentEvent::Error { message, .. } => Some(message.clone()),
                _ => None,
            })
            .collect()
    }

    fn listening(&self) -> Option<std::net::SocketAddr> {
        self.events.lock().unwrap().iter().find_map(|e| match e {
            AgentEvent::Listening(a) => Some(*a),
            _ => None,
        })
    }

    async fn stop(self) {
        self.stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("agent stops on shutdown")
            .unwrap();
    }
}

async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).await.unwrap();
    let code = buf
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = buf
        .split_once("\r\n\r\n")
        .map(|x| x.1)
        .unwrap_or("")
        .to_string();
    (code, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_follows_commits_and_heals_drift_in_time() {
    let Some(env) = env("agent-drift").await else {
        return;
    };
    let ns = "agent-drift-dst";
    let mut repo = repo(&env, "agent-drift");
    repo.write(
        "cm.yaml",
        &configmap("settings", &[("mode", "safe"), ("level", "1")]),
    )
    .unwrap();
    repo.write(
        "web.yaml",
        &deployment("web", "registry.example/web:1.0", false),
    )
    .unwrap();
    repo.commit("first").unwrap();
    repo.push().unwrap();
    let apps = env.tmp.path().join("apps");
    std::fs::create_dir_all(&apps).unwrap();
    let extra = "  syncPolicy:\n    automated: true\n    selfHeal: true\n    interval: 1s\n  \
                 ignoreDifferences:\n    - kind: Deployment\n      jsonPointers: [/spec/replicas]\n";
    std::fs::write(
        apps.join("drift.yaml"),
        app_yaml("drift", &file_url(&repo), ".", ns, extra),
    )
    .unwrap();
    let run = start(&env, &apps, None);
    eventually(Duration::from_secs(30), "first automated sync", || async {
        (run.synced("drift") == [SyncResult::Succeeded]).then_some(())
    })
    .await;
    assert!(get(&env, &cm_id(ns, "settings")).await.is_some());

    // `kubectl edit`-style change by another manager: drift, attributed, healed.
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(env.client.clone(), ns);
    let edited = Instant::now();
    cms.patch(
        "settings",
        &PatchParams {
            field_manager: Some("kubectl-edit".into()),
            ..Default::default()
        },
        &Patch::Merge(json!({"data": {"mode": "unsafe"}})),
    )
    .await
    .unwrap();
    let d = eventually(Duration::from_secs(10), "drift event", || async {
        run.drifts("drift")
            .into_iter()
            .find(|d| d.object.contains("settings"))
    })
    .await;
    let seen = edited.elapsed();
    assert_eq!(d.kind, "changed");
    let f = d
        .fields
        .iter()
        .find(|f| f.field == "data.mode")
        .unwrap_or_else(|| panic!("{d:?}"));
    assert_eq!(f.manager.as_deref(), Some("kubectl-edit"), "{d:?}");
    assert!(d.healed, "{d:?}");
    eventually(Duration::from_secs(5), "healed value", || async {
        let v = get(&env, &cm_id(ns, "settings")).await?;
        (v["data"]["mode"] == "safe").then_some(())
    })
    .await;
    let healed = edited.elapsed();
    // Generous bounds for a loaded CI machine; scripts/bench-gitops.sh measures the real figures.
    assert!(seen < Duration::from_secs(5), "drift seen after {seen:?}");
    assert!(healed < Duration::from_secs(8), "healed after {healed:?}");

    // Not drift: status written by a "controller", an ignored field changed by an autoscaler,
    // and a field nobody declared added by someone else.
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(env.client.clone(), ns);
    deployments
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"replicas": 2, "readyReplicas": 1}})),
        )
        .await
        .unwrap();
    deployments
        .patch(
            "web",
            &PatchParams {
                field_manager: Some("autoscaler".into()),
                ..Default::default()
            },
            &Patch::Merge(json!({"spec": {"replicas": 7}})),
        )
        .await
        .unwrap();
    cms.patch(
        "settings",
        &PatchParams {
            field_manager: Some("annotator".into()),
            ..Default::default()
        },
        &Patch::Merge(json!({"metadata": {"annotations": {"note": "hello"}}})),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let web_drift: Vec<_> = run
        .drifts("drift")
        .into_iter()
        .filter(|d| d.object.contains("web"))
        .collect();
    assert!(web_drift.is_empty(), "{web_drift:?}");
    assert_eq!(run.drifts("drift").len(), 1, "{:?}", run.drifts("drift"));
    let live = get(&env, &id("apps", "v1", "Deployment", ns, "web"))
        .await
        .unwrap();
    assert_eq!(live["spec"]["replicas"], 7, "ignored fields are left alone");

    // A deleted owned object is drift too, and self-heal recreates it.
    cms.delete("settings", &Default::default()).await.unwrap();
    eventually(Duration::from_secs(10), "recreated", || async {
        get(&env, &cm_id(ns, "settings")).await
    })
    .await;
    // The heal (re-create) happens before the event is stored and emitted: wait for it.
    let deleted = eventually(Duration::from_secs(10), "deleted drift event", || async {
        run.drifts("drift")
            .into_iter()
            .find(|d| d.kind == "deleted")
    })
    .await;
    assert!(deleted.healed, "{deleted:?}");

    // A new commit is followed without a manual sync.
    repo.write(
        "cm.yaml",
        &configmap("settings", &[("mode", "safe"), ("level", "2")]),
    )
    .unwrap();
    let second = repo.commit("level 2").unwrap();
    repo.push().unwrap();
    eventually(Duration::from_secs(30), "second commit synced", || async {
        let v = get(&env, &cm_id(ns, "settings")).await?;
        (v["data"]["level"] == "2").then_some(())
    })
    .await;
    // The objects change before the sync is recorded: wait for the record.
    let owned = eventually(
        Duration::from_secs(10),
        "second commit recorded",
        || async {
            let (owned, _, _, commit) = run.agent.app_summary("drift")?;
            (commit.as_deref() == Some(second.as_str())).then_some(owned)
        },
    )
    .await;
    assert_eq!(owned, 3, "namespace, configmap, deployment");
    let rec = env.engine.store.load("drift").await.unwrap();
    assert!(rec.drift.iter().any(|d| d.healed));

    let addr = run.listening().expect("listening event");
    let (code, body) = http_get(addr, "/metrics").await;
    assert_eq!(code, 200);
    assert!(body.contains("drift"), "{body}");
    assert!(body.contains("app=\"drift\""), "{body}");
    let (code, _) = http_get(addr, "/healthz").await;
    assert_eq!(code, 200);
    assert!(run.errors().is_empty(), "{:?}", run.errors());
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn depends_on_orders_applications_and_blocked_upstream_holds_downstream() {
    let Some(env) = env("agent-deps").await else {
        return;
    };
    let mut repo = repo(&env, "agent-deps");
    repo.write("base/cm.yaml", &configmap("base", &[("k", "v")]))
        .unwrap();
    repo.write(
        "base/bad.yaml",
        &deployment("root", "registry.example/root:1", true),
    )
    .unwrap();
    repo.write("top/cm.yaml", &configmap("top", &[("k", "v")]))
        .unwrap();
    repo.commit("apps").unwrap();
    repo.push().unwrap();
    let apps = env.tmp.path().join("apps");
    std::fs::create_dir_all(&apps).unwrap();
    let auto = "  syncPolicy:\n    automated: true\n    interval: 1s\n";
    std::fs::write(
        apps.join("base.yaml"),
        app_yaml("base", &file_url(&repo), "base", "deps-base", auto),
    )
    .unwrap();
    std::fs::write(
        apps.join("top.yaml"),
        app_yaml(
            "top",
            &file_url(&repo),
            "top",
            "deps-top",
            &format!("{auto}  dependsOn: [base]\n"),
        ),
    )
    .unwrap();
    let run = start(&env, &apps, None);
    eventually(Duration::from_secs(30), "base blocked", || async {
        run.synced("base")
            .contains(&SyncResult::Blocked)
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(run.synced("top").is_empty(), "top must wait for base");
    assert!(get(&env, &cm_id("deps-top", "top")).await.is_none());

    // Fix upstream: base syncs, then top.
    repo.remove("base/bad.yaml").unwrap();
    repo.commit("drop the privileged deployment").unwrap();
    repo.push().unwrap();
    eventually(Duration::from_secs(30), "top synced after base", || async {
        run.synced("top")
            .contains(&SyncResult::Succeeded)
            .then_some(())
    })
    .await;
    assert!(run.synced("base").contains(&SyncResult::Succeeded));
    assert!(get(&env, &cm_id("deps-top", "top")).await.is_some());
    run.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_one_leader() {
    let Some(env) = env("agent-lease").await else {
        return;
    };
    let ns = "lease-dst";
    let mut repo = repo(&env, "agent-lease");
    repo.write("cm.yaml", &configmap("leased", &[("k", "v")]))
        .unwrap();
    repo.commit("one").unwrap();
    repo.push().unwrap();
    let apps = env.tmp.path().join("apps");
    std::fs::create_dir_all(&apps).unwrap();
    std::fs::write(
        apps.join("leased.yaml"),
        app_yaml(
            "leased",
            &file_url(&repo),
            ".",
            ns,
            "  syncPolicy:\n    automated: true\n    interval: 1s\n",
        ),
    )
    .unwrap();
    let lease = |who: &str| {
        let mut l = LeaseConfig::new(&env.state_ns, who);
        l.duration = Duration::from_secs(3);
        l
    };
    let a = start(&env, &apps, Some(lease("replica-a")));
    let b = start(&env, &apps, Some(lease("replica-b")));
    eventually(Duration::from_secs(30), "one sync", || async {
        (a.synced("leased").len() + b.synced("leased").len() > 0).then_some(())
    })
    .await;
    let leaders = |r: &Running| {
        r.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| matches!(e, AgentEvent::Leader(true)))
            .count()
    };
    assert_eq!(leaders(&a) + leaders(&b), 1, "exactly one leader");
    let (leader, standby) = if leaders(&a) == 1 { (a, b) } else { (b, a) };
    assert!(standby.synced("leased").is_empty(), "a standby never syncs");
    // The leader goes away: the standby takes over within a lease duration or two.
    leader.stop().await;
    eventually(Duration::from_secs(20), "standby takes over", || async {
        (leaders(&standby) == 1).then_some(())
    })
    .await;
    standby.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn application_custom_resources_are_watched() {
    let Some(env) = env("agent-crd").await else {
        return;
    };
    // Install the CRD the way `gitops manifest` ships it.
    let crd: serde_json::Value =
        serde_saphyr::from_str(&shipgate_gitops::crd::definition()).unwrap();
    let crd_id = shipgate_gitops::objects::ObjectRef::from_value(&crd).unwrap();
    env.engine
        .cluster
        .apply(&crd_id, &crd, false)
        .await
        .unwrap();
    let ar = kube::discovery::ApiResource {
        group: "gitops.shipgate.dev".into(),
        version: "v1".into(),
        api_version: "gitops.shipgate.dev/v1".into(),
        kind: "Application".into(),
        plural: "applications".into(),
    };
    let apps: Api<kube::api::DynamicObject> =
        Api::namespaced_with(env.client.clone(), &env.state_ns, &ar);
    // The API server needs a moment to serve a new CRD.
    eventually(Duration::from_secs(30), "CRD served", || async {
        apps.list(&Default::default()).await.ok()
    })
    .await;

    let root = env.tmp.path().join("served");
    std::fs::create_dir_all(&root).unwrap();
    let server = shipgate_testenv::GitHttpServer::start(&root, None).unwrap();
    let mut repo = shipgate_testenv::GitFixture::new(&root, "crd.git").unwrap();
    repo.write("cm.yaml", &configmap("from-cr", &[("k", "v")]))
        .unwrap();
    repo.commit("cr").unwrap();
    repo.push().unwrap();

    let events: Events = Arc::default();
    let sink = events.clone();
    let agent = Agent::new(
        env.engine.clone(),
        AgentConfig {
            app_paths: vec![],
            crd_namespace: Some(env.state_ns.clone()),
            lease: None,
            listen: None,
            max_parallel_syncs: 2,
        },
        Arc::new(move |e: AgentEvent| sink.lock().unwrap().push(e)),
    );
    let (stop, rx) = watch::channel(false);
    let runner = agent.clone();
    let task = tokio::spawn(async move { runner.run(rx).await.unwrap() });
    let run = Running {
        agent,
        events,
        stop,
        task,
    };
    let cr: kube::api::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "gitops.shipgate.dev/v1", "kind": "Application",
        "metadata": {"name": "from-cr"},
        "spec": {"source": {"repoURL": server.url("crd.git"), "revision": "main"},
                 "destination": {"namespace": "crd-dst", "createNamespace": true},
                 "syncPolicy": {"automated": true, "interval": "1s"}}
    }))
    .unwrap();
    apps.create(&Default::default(), &cr).await.unwrap();
    eventually(Duration::from_secs(30), "CR application synced", || async {
        get(&env, &cm_id("crd-dst", "from-cr")).await
    })
    .await;
    // A custom resource may not reach the agent's files.
    let evil: kube::api::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "gitops.shipgate.dev/v1", "kind": "Application",
        "metadata": {"name": "evil"},
        "spec": {"source": {"repoURL": format!("file://{}", repo.bare_dir().display())},
                 "destination": {"namespace": "crd-evil"},
                 "syncPolicy": {"automated": true, "interval": "1s"}}
    }))
    .unwrap();
    apps.create(&Default::default(), &evil).await.unwrap();
    let err = eventually(Duration::from_secs(10), "evil refused", || async {
        run.errors().into_iter().find(|e| e.contains("evil"))
    })
    .await;
    assert!(err.contains("file://"), "{err}");
    assert!(run.synced("evil").is_empty());
    run.stop().await;
}
