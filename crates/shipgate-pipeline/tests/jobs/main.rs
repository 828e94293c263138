//! The Kubernetes executor against a real node (shipgate-testenv: kube-apiserver, etcd,
//! kube-controller-manager, kube-scheduler, kubelet, containerd): `run` steps with an
//! `image:` run as Jobs, their outputs come back, failures and timeouts are reported, and the
//! Jobs are gone afterwards.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Api, ListParams, ObjectMeta, PostParams};
use shipgate_pipeline::kubernetes::{KubeOptions, STEP_LABEL};
use shipgate_pipeline::record::RunRecord;
use shipgate_pipeline::run::RunOptions;
use shipgate_pipeline::sandbox::Isolation;
use shipgate_pipeline::{StepRecord, StepStatus};
use shipgate_testenv::ControlPlane;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// A namespace of its own per test (the executor does not create namespaces).
fn namespace(cp: &ControlPlane, name: &str) {
    block_on(async {
        let client = cp.client().await.expect("client");
        let nss: Api<Namespace> = Api::all(client);
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            ..Default::default()
        };
        nss.create(&PostParams::default(), &ns)
            .await
            .expect("namespace");
    });
}

fn run(cp: &ControlPlane, ns: &str, ws: &Path, yaml: &str) -> RunRecord {
    let file = ws.join("shipgate.yaml");
    std::fs::write(&file, yaml).unwrap();
    let pipeline = shipgate_pipeline::load(&file).expect("a valid pipeline");
    let opts = RunOptions {
        workspace: ws.to_path_buf(),
        isolation: Isolation::None,
        shipgate_exe: "/bin/false".into(),
        gate_key: String::new(),
        registry: Default::default(),
        jobs: 2,
        no_cache: true,
        base_env: Vec::new(),
        epoch: 0,
        kubernetes: Some(KubeOptions {
            kubeconfig: Some(cp.kubeconfig_path().expect("kubeconfig")),
            context: None,
            namespace: ns.into(),
        }),
    };
    shipgate_pipeline::run(&pipeline, &opts, &mut |_| {}).expect("the run itself works")
}

fn step<'a>(rec: &'a RunRecord, name: &str) -> &'a StepRecord {
    rec.steps
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no step {name} in {rec:?}"))
}

fn nothing_left(cp: &ControlPlane, ns: &str) {
    block_on(async {
        let client = cp.client().await.expect("client");
        let lp = ListParams::default().labels("app.kubernetes.io/managed-by=shipgate");
        let jobs: Api<Job> = Api::namespaced(client.clone(), ns);
        let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
        let nps: Api<NetworkPolicy> = Api::namespaced(client, ns);
        assert!(jobs.list(&lp).await.unwrap().items.is_empty(), "Jobs left");
        assert!(pods.list(&lp).await.unwrap().items.is_empty(), "pods left");
        // The NetworkPolicy goes with its owner (garbage collector, asynchronous).
        for _ in 0..60 {
            if nps.list(&lp).await.unwrap().items.is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        panic!("NetworkPolicies left");
    });
}

fn ws_with_source() -> tempfile::TempDir {
    let ws = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(ws.path().join("src")).unwrap();
    std::fs::write(ws.path().join("src/in.txt"), "hello from the workspace\n").unwrap();
    ws
}

#[test]
fn image_steps_run_as_jobs_and_their_outputs_land_in_the_workspace() {
    let Some((cp, node)) = shipgate_testenv::node_or_skip("jobs: outputs") else {
        return;
    };
    let ns = "jobs-outputs";
    namespace(cp, ns);
    let ws = ws_with_source();
    let image = node.busybox_image();
    let rec = run(
        cp,
        ns,
        ws.path(),
        &format!(
            r#"pipeline:
  steps:
    - name: copy
      image: {image}
      run: mkdir -p out/a/sub && cat src/in.txt > out/a/sub/copy && id -u > out/a/uid && pwd > out/a/pwd && echo copied
      outputs: [out/a]
    - name: second
      needs: [copy]
      image: {image}
      run: mkdir -p out/b && cat out/a/sub/copy out/a/uid > out/b/both
      outputs: [out/b]
"#
        ),
    );
    let copy = step(&rec, "copy");
    assert_eq!(copy.status, StepStatus::Passed, "{copy:?}");
    assert_eq!(copy.exit_code, Some(0));
    assert!(
        copy.job
            .as_deref()
            .is_some_and(|j| j.starts_with("jobs-outputs/sg-copy-")),
        "{copy:?}"
    );
    let read = |p: &str| std::fs::read_to_string(ws.path().join(p)).unwrap();
    assert_eq!(read("out/a/sub/copy"), "hello from the workspace\n");
    assert_eq!(read("out/a/uid"), "65532\n", "the step runs as non-root");
    assert_eq!(read("out/a/pwd"), "/workspace\n");
    let log = std::fs::read_to_string(copy.log.as_deref().unwrap()).unwrap();
    assert_eq!(log, "copied\n");
    // The second step saw the first one's (git-ignorable) output in its workspace.
    assert_eq!(step(&rec, "second").status, StepStatus::Passed);
    assert_eq!(read("out/b/both"), "hello from the workspace\n65532\n");
    nothing_left(cp, ns);
}

#[test]
fn a_failing_command_fails_the_step_with_its_exit_code_and_commits_nothing() {
    let Some((cp, node)) = shipgate_testenv::node_or_skip("jobs: failure") else {
        return;
    };
    let ns = "jobs-failure";
    namespace(cp, ns);
    let ws = ws_with_source();
    std::fs::create_dir_all(ws.path().join("out/f")).unwrap();
    std::fs::write(ws.path().join("out/f/old"), "previous run\n").unwrap();
    let rec = run(
        cp,
        ns,
        ws.path(),
        &format!(
            r#"pipeline:
  steps:
    - name: fails
      image: {}
      run: echo half > out/f/new; echo "it went wrong" >&2; exit 3
      outputs: [out/f]
    - name: after
      needs: [fails]
      image: {}
      run: "true"
"#,
            node.busybox_image(),
            node.busybox_image()
        ),
    );
    let s = step(&rec, "fails");
    // Same status as the local executor gives a run step that exits non-zero.
    assert_eq!(s.status, StepStatus::Error, "{s:?}");
    assert_eq!(s.exit_code, Some(3), "{s:?}");
    let msg = s.message.as_deref().unwrap();
    assert!(msg.starts_with("exited with 3"), "{msg}");
    assert!(
        msg.contains("it went wrong"),
        "the log is in the message: {msg}"
    );
    assert_eq!(step(&rec, "after").status, StepStatus::Skipped);
    assert_eq!(
        std::fs::read_to_string(ws.path().join("out/f/old")).unwrap(),
        "previous run\n",
        "outputs untouched"
    );
    assert!(
        !ws.path().join("out/f/new").exists(),
        "nothing half-written"
    );
    nothing_left(cp, ns);
}

#[test]
fn a_step_past_its_timeout_is_reported_as_timed_out_and_its_job_is_gone() {
    let Some((cp, node)) = shipgate_testenv::node_or_skip("jobs: timeout") else {
        return;
    };
    let ns = "jobs-timeout";
    namespace(cp, ns);
    let ws = ws_with_source();
    let rec = run(
        cp,
        ns,
        ws.path(),
        &format!(
            r#"pipeline:
  steps:
    - name: slow
      image: {}
      timeout: 8s
      run: mkdir -p out/t && echo started && sleep 600 && echo done > out/t/x
      outputs: [out/t]
"#,
            node.busybox_image()
        ),
    );
    let s = step(&rec, "slow");
    assert_eq!(s.status, StepStatus::Error, "{s:?}");
    let msg = s.message.as_deref().unwrap();
    assert!(msg.starts_with("timed out after 8s"), "{msg}");
    assert!(!ws.path().join("out/t").exists());
    nothing_left(cp, ns);
}

#[test]
fn jobs_are_locked_down_and_denied_the_network() {
    let Some((cp, node)) = shipgate_testenv::node_or_skip("jobs: objects") else {
        return;
    };
    let ns = "jobs-objects";
    namespace(cp, ns);
    let ws = ws_with_source();
    let yaml = format!(
        r#"pipeline:
  steps:
    - name: inspect-me
      image: {}
      timeout: 90s
      limits: {{memory: 64Mi}}
      run: sleep 6
"#,
        node.busybox_image()
    );
    // Look at the objects while the step runs.
    let seen = std::thread::scope(|s| {
        let runner = s.spawn(|| run(cp, ns, ws.path(), &yaml));
        let seen = block_on(async {
            let client = cp.client().await.expect("client");
            let lp = ListParams::default().labels(&format!("{STEP_LABEL}=inspect-me"));
            let jobs: Api<Job> = Api::namespaced(client.clone(), ns);
            let nps: Api<NetworkPolicy> = Api::namespaced(client, ns);
            for _ in 0..120 {
                let j = jobs.list(&lp).await.unwrap().items;
                let n = nps.list(&lp).await.unwrap().items;
                if let (Some(j), Some(n)) = (j.into_iter().next(), n.into_iter().next()) {
                    return Some((j, n));
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            None
        });
        let rec = runner.join().unwrap();
        assert_eq!(
            step(&rec, "inspect-me").status,
            StepStatus::Passed,
            "{rec:?}"
        );
        seen
    });
    let (job, np) = seen.expect("the Job and its NetworkPolicy were visible while it ran");
    let spec = job.spec.unwrap();
    assert_eq!(spec.active_deadline_seconds, Some(90));
    assert_eq!(spec.backoff_limit, Some(0));
    assert!(spec.ttl_seconds_after_finished.is_some());
    let pod = spec.template.spec.unwrap();
    assert_eq!(pod.automount_service_account_token, Some(false));
    let psc = pod.security_context.unwrap();
    assert_eq!(psc.run_as_non_root, Some(true));
    assert_eq!(psc.seccomp_profile.unwrap().type_, "RuntimeDefault");
    let containers: Vec<_> = pod
        .init_containers
        .unwrap()
        .into_iter()
        .chain(pod.containers)
        .collect();
    assert_eq!(containers.len(), 3);
    for c in &containers {
        let sc = c.security_context.clone().unwrap();
        assert_eq!(sc.read_only_root_filesystem, Some(true), "{}", c.name);
        assert_eq!(sc.allow_privilege_escalation, Some(false), "{}", c.name);
        assert_eq!(sc.run_as_non_root, Some(true), "{}", c.name);
        assert_eq!(sc.capabilities.unwrap().drop, Some(vec!["ALL".to_string()]));
        assert_eq!(sc.seccomp_profile.unwrap().type_, "RuntimeDefault");
    }
    let step_c = containers.iter().find(|c| c.name == "step").unwrap();
    let limits = step_c.resources.clone().unwrap().limits.unwrap();
    assert_eq!(limits["memory"].0, "64Mi");
    // Deny all: both policy types, no rules, selecting exactly the Job's pod, owned by the Job.
    let owner = &np.metadata.owner_references.clone().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str()),
        ("Job", job.metadata.uid.as_deref().unwrap())
    );
    let nps = np.spec.unwrap();
    assert_eq!(
        nps.policy_types,
        Some(vec!["Ingress".to_string(), "Egress".to_string()])
    );
    assert!(nps.egress.is_none() && nps.ingress.is_none());
    let sel = nps.pod_selector.unwrap().match_labels.unwrap();
    assert_eq!(sel["shipgate.dev/job"], job.metadata.name.clone().unwrap());
    nothing_left(cp, ns);
}
