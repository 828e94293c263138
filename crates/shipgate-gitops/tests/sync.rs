//! One-shot syncs against a real kube-apiserver + etcd and real git repositories: apply,
//! follow a change, prune only what is owned, the policy gate, commit signatures, rollback,
//! credentials over git http-backend, and bad input.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::ApiResource;
use serde_json::json;
use shipgate_gitops::history::SyncResult;
use shipgate_gitops::objects::{ANNOTATION_TRACKING, LABEL_APP};
use shipgate_gitops::sync::{SyncOptions, Trigger};
use shipgate_testenv::GitHttpServer;

fn cm_api(env: &Env, ns: &str) -> Api<DynamicObject> {
    let ar = ApiResource::erase::<k8s_openapi::api::core::v1::ConfigMap>(&());
    Api::namespaced_with(env.client.clone(), ns, &ar)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_follows_git_and_prunes_only_what_it_owns() {
    let Some(env) = env("sync-follow").await else {
        return;
    };
    let ns = "follow-dst";
    let mut repo = repo(&env, "follow");
    repo.write("app/a.yaml", &configmap("a", &[("colour", "blue")]))
        .unwrap();
    repo.write("app/b.yaml", &configmap("b", &[("k", "v")]))
        .unwrap();
    repo.write("app/c.yaml", &configmap("c", &[("k", "v")]))
        .unwrap();
    repo.write(
        "app/web.yaml",
        &deployment("web", "registry.example/web:1.0", false),
    )
    .unwrap();
    repo.write("README.md", "not a manifest\n").unwrap();
    let first = repo.commit("first").unwrap();
    repo.push().unwrap();
    let app = application(&app_yaml(
        "follow",
        &file_url(&repo),
        "app",
        ns,
        "  syncPolicy:\n    prune: true\n",
    ));

    let out = env.engine.sync(&app, &SyncOptions::default()).await;
    let r = &out.record;
    assert_eq!(r.result, SyncResult::Succeeded, "{:?}", r.reason);
    assert!(out.store_error.is_none(), "{:?}", out.store_error);
    assert_eq!(r.commit.as_deref(), Some(first.as_str()));
    assert_eq!(r.subject.as_deref(), Some("first"));
    assert!(
        r.author.as_deref().unwrap_or("").contains('@'),
        "{:?}",
        r.author
    );
    // Namespace (createNamespace) + 3 ConfigMaps + 1 Deployment.
    assert_eq!(r.objects.desired, 5, "{:?}", r.changes);
    assert_eq!(r.objects.created, 5, "{:?}", r.changes);
    assert_eq!(r.trigger, "manual");
    let a = get(&env, &cm_id(ns, "a")).await.expect("a applied");
    assert_eq!(a["data"]["colour"], "blue");
    assert_eq!(a["metadata"]["labels"][LABEL_APP], "follow");
    let web = id("apps", "v1", "Deployment", ns, "web");
    assert!(get(&env, &web).await.is_some());
    // The apply used shipgate's field manager.
    let managers: Vec<String> = a["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["manager"].as_str().map(String::from))
        .collect();
    assert_eq!(managers, ["shipgate-gitops"]);

    // Syncing the same commit again changes nothing.
    let again = env.engine.sync(&app, &SyncOptions::default()).await.record;
    assert_eq!(again.result, SyncResult::Succeeded, "{:?}", again.reason);
    assert_eq!(again.objects.unchanged, 5, "{:?}", again.changes);
    assert_eq!(again.objects.created + again.objects.configured, 0);

    // Another tool adopts `c` (its tracking annotation names someone else): it is no longer
    // ours to delete. An object nobody declared is never touched either.
    cm_api(&env, ns)
        .patch(
            "c",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"annotations": {ANNOTATION_TRACKING: "other:/ConfigMap:x/c"}}}),
            ),
        )
        .await
        .unwrap();
    let bystander: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "bystander", "labels": {LABEL_APP: "follow"}},
        "data": {"k": "v"}
    }))
    .unwrap();
    cm_api(&env, ns)
        .create(&Default::default(), &bystander)
        .await
        .unwrap();

    repo.write("app/a.yaml", &configmap("a", &[("colour", "green")]))
        .unwrap();
    repo.remove("app/b.yaml").unwrap();
    repo.remove("app/c.yaml").unwrap();
    repo.remove("app/web.yaml").unwrap();
    let second = repo.commit("second: green, drop b, c and web").unwrap();
    repo.push().unwrap();

    let r = env.engine.sync(&app, &SyncOptions::default()).await.record;
    assert_eq!(r.result, SyncResult::Succeeded, "{:?}", r.reason);
    assert_eq!(r.commit.as_deref(), Some(second.as_str()));
    assert_eq!(r.objects.configured, 1, "{:?}", r.changes);
    assert_eq!(r.objects.pruned, 2, "{:?}", r.changes);
    let a = get(&env, &cm_id(ns, "a")).await.unwrap();
    assert_eq!(a["data"]["colour"], "green");
    assert!(get(&env, &cm_id(ns, "b")).await.is_none(), "b pruned");
    assert!(get(&env, &web).await.is_none(), "web pruned");
    assert!(get(&env, &cm_id(ns, "c")).await.is_some(), "adopted c kept");
    assert!(get(&env, &cm_id(ns, "bystander")).await.is_some());

    let rec = env.engine.store.load("follow").await.unwrap();
    assert_eq!(rec.history.len(), 3);
    assert_eq!(rec.state.synced_commit.as_deref(), Some(second.as_str()));
    assert!(rec.state.inventory.iter().any(|o| o.name == "a"));
    assert!(!rec.state.inventory.iter().any(|o| o.name == "b"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_gate_blocks_a_privileged_deployment_and_applies_nothing() {
    let Some(env) = env("sync-gate").await else {
        return;
    };
    let ns = "gate-dst";
    let mut repo = repo(&env, "gate");
    repo.write("cm.yaml", &configmap("settings", &[("k", "v")]))
        .unwrap();
    repo.write(
        "web.yaml",
        &deployment("web", "registry.example/web:1.0", true),
    )
    .unwrap();
    repo.commit("privileged").unwrap();
    repo.push().unwrap();
    let app = application(&app_yaml("gate", &file_url(&repo), ".", ns, ""));
    let out = env.engine.sync(&app, &SyncOptions::default()).await;
    let r = &out.record;
    assert_eq!(r.result, SyncResult::Blocked, "{:?}", r.reason);
    assert!(r.policy.blocked);
    assert_eq!(r.policy.fail_on, "high");
    let f = r
        .policy
        .findings
        .iter()
        .find(|f| f.rule_id == "k8s-privileged-container")
        .unwrap_or_else(|| panic!("{:?}", r.policy.findings));
    assert!(f.location.starts_with("web.yaml:"), "{f:?}");
    assert!(f.object.contains("web"), "{f:?}");
    let reason = r.reason.as_deref().unwrap();
    assert!(reason.contains("k8s-privileged-container"), "{reason}");
    assert!(out.applied.is_empty());
    assert!(
        get(&env, &cm_id(ns, "settings")).await.is_none(),
        "nothing applied"
    );
    let rec = env.engine.store.load("gate").await.unwrap();
    assert_eq!(rec.history.last().unwrap().result, SyncResult::Blocked);
    assert!(rec.state.synced_commit.is_none());

    // fail_on: none records the findings but lets the sync through.
    let lenient = application(&app_yaml(
        "gate",
        &file_url(&repo),
        ".",
        ns,
        "  policy:\n    failOn: none\n",
    ));
    let r = env
        .engine
        .sync(&lenient, &SyncOptions::default())
        .await
        .record;
    assert_eq!(r.result, SyncResult::Succeeded, "{:?}", r.reason);
    assert!(!r.policy.blocked);
    assert!(r.policy.total >= 1);
}

fn ssh_key(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, String) {
    let key = dir.join(name);
    let st = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(st.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    (key, public.trim().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_commits_signed_by_allowed_keys_are_synced() {
    let Some(env) = env("sync-signed").await else {
        return;
    };
    let ns = "signed-dst";
    let keys = env.tmp.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let (good, good_pub) = ssh_key(&keys, "release");
    let (stranger, _) = ssh_key(&keys, "stranger");
    let allowed = keys.join("allowed_signers");
    std::fs::write(&allowed, format!("release@example.com {good_pub}\n")).unwrap();

    let mut repo = repo(&env, "signed");
    repo.write("cm.yaml", &configmap("signed", &[("v", "1")]))
        .unwrap();
    repo.commit("unsigned").unwrap();
    repo.push().unwrap();
    let yaml = app_yaml("signed", &file_url(&repo), ".", ns, "").replace(
        "    path: .\n",
        &format!(
            "    path: .\n    verify:\n      allowedSigners: {}\n",
            allowed.display()
        ),
    );
    let app = application(&yaml);

    let r = env.engine.sync(&app, &SyncOptions::default()).await.record;
    assert_eq!(r.result, SyncResult::Refused, "{:?}", r.reason);
    assert!(!r.signature.as_ref().unwrap().verified);
    assert!(get(&env, &cm_id(ns, "signed")).await.is_none());

    repo.write("cm.yaml", &configmap("signed", &[("v", "2")]))
        .unwrap();
    repo.commit_signed_ssh("signed by a stranger", &stranger)
        .unwrap();
    repo.push().unwrap();
    let r = env.engine.sync(&app, &SyncOptions::default()).await.record;
    assert_eq!(r.result, SyncResult::Refused, "{:?}", r.reason);
    assert!(get(&env, &cm_id(ns, "signed")).await.is_none());

    repo.write("cm.yaml", &configmap("signed", &[("v", "3")]))
        .unwrap();
    let signed = repo.commit_signed_ssh("signed release", &good).unwrap();
    repo.push().unwrap();
    let r = env.engine.sync(&app, &SyncOptions::default()).await.record;
    assert_eq!(r.result, SyncResult::Succeeded, "{:?}", r.reason);
    assert_eq!(r.commit.as_deref(), Some(signed.as_str()));
    let sig = r.signature.as_ref().unwrap();
    assert!(sig.verified, "{sig:?}");
    assert!(
        sig.signer
            .as_deref()
            .unwrap_or("")
            .contains("release@example.com"),
        "{sig:?}"
    );
    assert_eq!(
        get(&env, &cm_id(ns, "signed")).await.unwrap()["data"]["v"],
        "3"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_pins_an_earlier_commit() {
    let Some(env) = env("sync-rollback").await else {
        return;
    };
    let ns = "rollback-dst";
    let mut repo = repo(&env, "rollback");
    repo.write("cm.yaml", &configmap("release", &[("version", "1")]))
        .unwrap();
    let v1 = repo.commit("v1").unwrap();
    repo.push().unwrap();
    let app = application(&app_yaml("rollback", &file_url(&repo), ".", ns, ""));
    assert_eq!(
        env.engine
            .sync(&app, &SyncOptions::default())
            .await
            .record
            .result,
        SyncResult::Succeeded
    );
    repo.write("cm.yaml", &configmap("release", &[("version", "2")]))
        .unwrap();
    repo.commit("v2").unwrap();
    repo.push().unwrap();
    assert_eq!(
        env.engine
            .sync(&app, &SyncOptions::default())
            .await
            .record
            .result,
        SyncResult::Succeeded
    );
    assert_eq!(
        get(&env, &cm_id(ns, "release")).await.unwrap()["data"]["version"],
        "2"
    );

    let opts = SyncOptions {
        trigger: Trigger::Rollback,
        revision: Some(v1.clone()),
        pin: Some(v1.clone()),
        ..Default::default()
    };
    let r = env.engine.sync(&app, &opts).await.record;
    assert_eq!(r.result, SyncResult::Succeeded, "{:?}", r.reason);
    assert_eq!(r.trigger, "rollback");
    assert_eq!(r.commit.as_deref(), Some(v1.as_str()));
    assert_eq!(
        get(&env, &cm_id(ns, "release")).await.unwrap()["data"]["version"],
        "1"
    );
    let state = env.engine.store.load("rollback").await.unwrap().state;
    assert_eq!(state.pinned_commit.as_deref(), Some(v1.as_str()));

    // The agent's automated sync keeps the pin; a manual sync clears it.
    let auto = SyncOptions {
        trigger: Trigger::Automated,
        ..Default::default()
    };
    let r = env.engine.sync(&app, &auto).await.record;
    assert_eq!(r.commit.as_deref(), Some(v1.as_str()));
    let r = env.engine.sync(&app, &SyncOptions::default()).await.record;
    assert_ne!(r.commit.as_deref(), Some(v1.as_str()));
    let state = env.engine.store.load("rollback").await.unwrap().state;
    assert!(state.pinned_commit.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_repository_with_credentials_from_a_secret_never_recorded() {
    let Some(env) = env("sync-http").await else {
        return;
    };
    let ns = "http-dst";
    let root = env.tmp.path().join("served");
    std::fs::create_dir_all(&root).unwrap();
    let server =
        GitHttpServer::start(&root, Some(("deploy".into(), "s3cr3t-token".into()))).unwrap();
    let mut repo = shipgate_testenv::GitFixture::new(&root, "http.git").unwrap();
    repo.write("cm.yaml", &configmap("over-http", &[("k", "v")]))
        .unwrap();
    repo.commit("http").unwrap();
    repo.push().unwrap();

    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(env.client.clone(), &env.state_ns);
    let secret = serde_json::from_value(json!({
        "metadata": {"name": "repo-creds"},
        "stringData": {"username": "deploy", "password": "s3cr3t-token"}
    }))
    .unwrap();
    secrets.create(&Default::default(), &secret).await.unwrap();

    let url = server.url("http.git");
    let with_creds = app_yaml("http", &url, ".", ns, "").replace(
        "    path: .\n",
        "    path: .\n    credentials:\n      secretRef:\n        name: repo-creds\n",
    );
    let app = application(&with_creds);
    let r = env.engine.sync(&app, &SyncOptions::default()).await.record;
    assert_eq!(r.result, SyncResult::Succeeded, "{:?}", r.reason);
    assert!(get(&env, &cm_id(ns, "over-http")).await.is_some());

    // Without credentials the fetch fails; the reason names the repository, never a secret.
    let bare = application(&app_yaml("http-anon", &url, ".", ns, ""));
    let r = env.engine.sync(&bare, &SyncOptions::default()).await.record;
    assert_eq!(r.result, SyncResult::Failed);
    let reason = r.reason.clone().unwrap();
    assert!(
        reason.contains("http-anon") || reason.contains("127.0.0.1"),
        "{reason}"
    );
    // Nothing stored for any application holds the password.
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(env.client.clone(), &env.state_ns);
    for cm in cms.list(&Default::default()).await.unwrap() {
        let text = serde_json::to_string(&cm).unwrap();
        assert!(!text.contains("s3cr3t-token"));
    }
    let text = serde_json::to_string(&r).unwrap();
    assert!(!text.contains("s3cr3t-token"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_manifests_name_the_file_and_apply_nothing() {
    let Some(env) = env("sync-bad").await else {
        return;
    };
    let ns = "bad-dst";
    let mut repo = repo(&env, "bad");
    repo.write("good.yaml", &configmap("good", &[("k", "v")]))
        .unwrap();
    repo.write(
        "broken.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [oops\n",
    )
    .unwrap();
    repo.commit("broken").unwrap();
    repo.push().unwrap();
    let app = application(&app_yaml("bad", &file_url(&repo), ".", ns, ""));
    let r = env.engine.sync(&app, &SyncOptions::default()).await.record;
    assert_eq!(r.result, SyncResult::Failed);
    let reason = r.reason.unwrap();
    assert!(reason.contains("broken.yaml:"), "{reason}");
    assert!(get(&env, &cm_id(ns, "good")).await.is_none());

    // A path that does not exist at the commit, and a revision that does not exist.
    let app = application(&app_yaml("bad", &file_url(&repo), "nowhere", ns, ""));
    let r = env.engine.sync(&app, &SyncOptions::default()).await.record;
    assert_eq!(r.result, SyncResult::Failed);
    assert!(r.reason.unwrap().contains("nowhere"));
    let app = application(
        &app_yaml("bad", &file_url(&repo), ".", ns, "")
            .replace("revision: main", "revision: no-such-branch"),
    );
    let r = env.engine.sync(&app, &SyncOptions::default()).await.record;
    assert_eq!(r.result, SyncResult::Failed);
    assert!(r.reason.unwrap().contains("no-such-branch"));

    // An object the API server rejects fails the dry run: nothing of the sync is applied.
    repo.remove("broken.yaml").unwrap();
    repo.write(
        "invalid.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\nspec:\n  ports:\n    - port: 99999\n",
    )
    .unwrap();
    repo.commit("invalid service").unwrap();
    repo.push().unwrap();
    let app = application(&app_yaml("bad", &file_url(&repo), ".", ns, ""));
    let r = env.engine.sync(&app, &SyncOptions::default()).await.record;
    assert_eq!(r.result, SyncResult::Failed, "{:?}", r.changes);
    let reason = r.reason.unwrap();
    assert!(reason.contains("svc"), "{reason}");
    assert!(get(&env, &cm_id(ns, "good")).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waves_wait_for_health_and_crds_come_first() {
    let Some(env) = env("sync-waves").await else {
        return;
    };
    let ns = "waves-dst";
    let mut repo = repo(&env, "waves");
    repo.write(
        "crd.yaml",
        r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.waves.example.com
spec:
  group: waves.example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
"#,
    )
    .unwrap();
    repo.write(
        "widget.yaml",
        "apiVersion: waves.example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  size: 3\n",
    )
    .unwrap();
    let mut db = deployment("db", "registry.example/db:1.0", false);
    db = db.replacen(
        "metadata:\n  name: db\n",
        "metadata:\n  name: db\n  annotations:\n    gitops.shipgate.dev/sync-wave: \"-1\"\n",
        1,
    );
    repo.write("db.yaml", &db).unwrap();
    repo.write("after.yaml", &configmap("after-db", &[("k", "v")]))
        .unwrap();
    repo.commit("waves").unwrap();
    repo.push().unwrap();
    let app = application(&app_yaml(
        "waves",
        &file_url(&repo),
        ".",
        ns,
        "  syncPolicy:\n    healthTimeout: 60s\n",
    ));

    let engine = env.engine.clone();
    let task = tokio::spawn(async move { engine.sync(&app, &SyncOptions::default()).await });
    // The test control plane runs no controllers: play the Deployment controller once the
    // wave -1 Deployment exists, after checking that wave 0 waits for it.
    let db_id = id("apps", "v1", "Deployment", ns, "db");
    let _ = eventually(Duration::from_secs(30), "db applied", || async {
        get(&env, &db_id).await
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        get(&env, &cm_id(ns, "after-db")).await.is_none(),
        "wave 0 must wait for wave -1 to be healthy"
    );
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(env.client.clone(), ns);
    let live = get(&env, &db_id).await.unwrap();
    let generation = live["metadata"]["generation"].as_i64().unwrap();
    deployments
        .patch_status(
            "db",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {
                "observedGeneration": generation, "replicas": 2, "updatedReplicas": 2,
                "readyReplicas": 2, "availableReplicas": 2,
                "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                                "lastUpdateTime": "2026-01-01T00:00:00Z", "lastTransitionTime": "2026-01-01T00:00:00Z"}]
            }})),
        )
        .await
        .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        out.record.result,
        SyncResult::Succeeded,
        "{:?}",
        out.record.reason
    );
    assert!(get(&env, &cm_id(ns, "after-db")).await.is_some());
    let w = id("waves.example.com", "v1", "Widget", ns, "w");
    assert_eq!(get(&env, &w).await.unwrap()["spec"]["size"], 3);
}

/// A fresh OpenPGP key in its own GNUPGHOME; returns (home, fingerprint, armoured public key).
fn gpg_key(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, String, String) {
    let home = dir.join(format!("gnupg-{name}"));
    std::fs::create_dir_all(&home).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let gpg = |args: &[&str]| {
        let out = std::process::Command::new("gpg")
            .env("GNUPGHOME", &home)
            .args([
                "--batch",
                "--quiet",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    gpg(&[
        "--quick-gen-key",
        &format!("{name} <{name}@example.com>"),
        "ed25519",
        "sign",
        "never",
    ]);
    let listing = gpg(&["--with-colons", "--list-secret-keys"]);
    let fpr = listing
        .lines()
        .find(|l| l.starts_with("fpr:"))
        .and_then(|l| l.split(':').nth(9))
        .unwrap()
        .to_string();
    let public = gpg(&["--armor", "--export", &fpr]);
    (home, fpr, public)
}

fn commit_signed_gpg(
    repo: &shipgate_testenv::GitFixture,
    home: &std::path::Path,
    fpr: &str,
    msg: &str,
) -> String {
    let work = repo.work_dir();
    shipgate_testenv::git(work, &["add", "--all"]).unwrap();
    let mut cmd = shipgate_testenv::git::git_command(work);
    cmd.env("GNUPGHOME", home).args([
        "-c",
        "gpg.format=openpgp",
        "-c",
        &format!("user.signingkey={fpr}"),
        "commit",
        "--quiet",
        "--gpg-sign",
        "-m",
        msg,
    ]);
    shipgate_testenv::git::run_git(cmd).unwrap();
    shipgate_testenv::git(work, &["rev-parse", "HEAD"]).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openpgp_signatures_from_listed_keys_only() {
    let Some(env) = env("sync-gpg").await else {
        return;
    };
    let ns = "gpg-dst";
    let keys = env.tmp.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let (good_home, good_fpr, good_pub) = gpg_key(&keys, "release");
    let (bad_home, bad_fpr, _) = gpg_key(&keys, "stranger");
    let keyring = keys.join("release.asc");
    std::fs::write(&keyring, good_pub).unwrap();
    let repo = repo(&env, "gpg");
    let yaml = app_yaml("gpg", &file_url(&repo), ".", ns, "").replace(
        "    path: .\n",
        &format!(
            "    path: .\n    verify:\n      gpgKeys: {}\n",
            keyring.display()
        ),
    );
    let app = application(&yaml);

    repo.write("cm.yaml", &configmap("pgp", &[("v", "1")]))
        .unwrap();
    commit_signed_gpg(&repo, &bad_home, &bad_fpr, "signed by a stranger");
    repo.push().unwrap();
    let r = env.engine.sync(&app, &SyncOptions::default()).await.record;
    assert_eq!(r.result, SyncResult::Refused, "{:?}", r.reason);
    assert!(get(&env, &cm_id(ns, "pgp")).await.is_none());

    repo.write("cm.yaml", &configmap("pgp", &[("v", "2")]))
        .unwrap();
    let good = commit_signed_gpg(&repo, &good_home, &good_fpr, "release");
    repo.push().unwrap();
    let r = env.engine.sync(&app, &SyncOptions::default()).await.record;
    assert_eq!(
        r.result,
        SyncResult::Succeeded,
        "{:?} {:?}",
        r.reason,
        r.signature
    );
    assert_eq!(r.commit.as_deref(), Some(good.as_str()));
    assert!(r.signature.unwrap().verified);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_repository_with_a_key_and_pinned_host_key() {
    let Some(env) = env("sync-ssh").await else {
        return;
    };
    let server = match shipgate_testenv::SshGitServer::start() {
        Ok(s) => s,
        Err(e) if !shipgate_testenv::in_ci() => {
            eprintln!("SKIPPED ssh test: {e}");
            return;
        }
        Err(e) => panic!("sshd is required in CI: {e}"),
    };
    let ns = "ssh-dst";
    let mut repo = repo(&env, "ssh.git");
    repo.write("cm.yaml", &configmap("over-ssh", &[("k", "v")]))
        .unwrap();
    let head = repo.commit("ssh").unwrap();
    repo.push().unwrap();
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(env.client.clone(), &env.state_ns);
    let key = server.client_key().unwrap();
    let secret = serde_json::from_value(json!({
        "metadata": {"name": "ssh-creds"},
        "stringData": {"sshPrivateKey": key, "sshKnownHosts": server.known_hosts()}
    }))
    .unwrap();
    secrets.create(&Default::default(), &secret).await.unwrap();
    let url = server.url(repo.bare_dir());
    let with_key = |secret: &str| {
        application(&app_yaml("ssh", &url, ".", ns, "").replace(
            "    path: .\n",
            &format!("    path: .\n    credentials:\n      secretRef:\n        name: {secret}\n"),
        ))
    };
    let r = env
        .engine
        .sync(&with_key("ssh-creds"), &SyncOptions::default())
        .await
        .record;
    assert_eq!(r.result, SyncResult::Succeeded, "{:?}", r.reason);
    assert_eq!(r.commit.as_deref(), Some(head.as_str()));
    assert!(get(&env, &cm_id(ns, "over-ssh")).await.is_some());
    let text = serde_json::to_string(&r).unwrap();
    assert!(!text.contains("PRIVATE KEY"), "{text}");

    // A host key that does not match is refused (no trust on first use).
    let other = shipgate_testenv::SshGitServer::start().unwrap();
    let wrong = serde_json::from_value(json!({
        "metadata": {"name": "ssh-wrong-host"},
        "stringData": {"sshPrivateKey": key,
                       "sshKnownHosts": other.known_hosts().replace(&other.port().to_string(), &server.port().to_string())}
    }))
    .unwrap();
    secrets.create(&Default::default(), &wrong).await.unwrap();
    let fresh = engine(&env.client, &env.state_ns, &env.tmp.path().join("cache-2"));
    let r = fresh
        .sync(&with_key("ssh-wrong-host"), &SyncOptions::default())
        .await
        .record;
    assert_eq!(r.result, SyncResult::Failed, "{:?}", r.reason);
    let reason = r.reason.unwrap();
    assert!(!reason.contains("PRIVATE KEY"), "{reason}");
}
