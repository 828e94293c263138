//! Kustomize and Helm through the real binaries (built from their Go modules by
//! scripts/test-deps/gitops-tools.sh), rendered and synced into the real API server, and their
//! errors naming the file.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod common;

use common::*;
use shipgate_gitops::history::SyncResult;
use shipgate_gitops::render::{self, RenderLimits, Renderer};
use shipgate_gitops::sync::SyncOptions;

/// The tools, or `None` (skipped with a note) outside CI when the test setup did not build
/// them.
fn tools_or_skip(test: &str) -> Option<shipgate_gitops::render::Tools> {
    let t = tools();
    if t.kustomize.is_file() && t.helm.is_file() {
        return Some(t);
    }
    assert!(
        !shipgate_testenv::in_ci(),
        "{test}: kustomize and helm are required in CI (scripts/test-deps/gitops-tools.sh): {t:?}"
    );
    eprintln!("SKIPPED {test}: kustomize/helm not built ({t:?})");
    None
}

const CHART: &str = "apiVersion: v2\nname: web\nversion: 0.1.0\nappVersion: \"1.0\"\n";
const VALUES: &str = "replicas: 1\ngreeting: hello\n";
const TEMPLATE: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-config
  labels:
    chart: {{ .Chart.Name }}
data:
  greeting: {{ .Values.greeting | quote }}
  replicas: {{ .Values.replicas | quote }}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kustomize_overlay_and_helm_chart_sync() {
    if tools_or_skip("kustomize_overlay_and_helm_chart_sync").is_none() {
        return;
    }
    let Some(env) = env("render-sync").await else {
        return;
    };
    let mut repo = repo(&env, "render");
    repo.write(
        "base/cm.yaml",
        &configmap("app-config", &[("tier", "base")]),
    )
    .unwrap();
    repo.write("base/kustomization.yaml", "resources:\n  - cm.yaml\n")
        .unwrap();
    repo.write(
        "overlays/prod/kustomization.yaml",
        "resources:\n  - ../../base\nnamePrefix: prod-\ncommonLabels:\n  env: prod\n",
    )
    .unwrap();
    repo.write("chart/Chart.yaml", CHART).unwrap();
    repo.write("chart/values.yaml", VALUES).unwrap();
    repo.write("chart/values-prod.yaml", "greeting: bonjour\n")
        .unwrap();
    repo.write("chart/templates/cm.yaml", TEMPLATE).unwrap();
    repo.commit("kustomize and helm").unwrap();
    repo.push().unwrap();

    let k = application(&app_yaml(
        "kustomized",
        &file_url(&repo),
        "overlays/prod",
        "render-k",
        "",
    ));
    let r = env.engine.sync(&k, &SyncOptions::default()).await.record;
    assert_eq!(r.result, SyncResult::Succeeded, "{:?}", r.reason);
    let cm = get(&env, &cm_id("render-k", "prod-app-config"))
        .await
        .unwrap();
    assert_eq!(cm["metadata"]["labels"]["env"], "prod");
    assert_eq!(cm["data"]["tier"], "base");

    let h = application(
        &app_yaml("charted", &file_url(&repo), "chart", "render-h", "").replace(
            "    path: chart\n",
            "    path: chart\n    helm:\n      releaseName: shop\n      valueFiles: [values-prod.yaml]\n      values: {replicas: 3}\n",
        ),
    );
    let r = env.engine.sync(&h, &SyncOptions::default()).await.record;
    assert_eq!(r.result, SyncResult::Succeeded, "{:?}", r.reason);
    let cm = get(&env, &cm_id("render-h", "shop-config")).await.unwrap();
    assert_eq!(cm["data"]["greeting"], "bonjour");
    assert_eq!(cm["data"]["replicas"], "3");
    assert_eq!(cm["metadata"]["labels"]["chart"], "web");
}

#[test]
fn render_errors_name_the_file() {
    let Some(tools) = tools_or_skip("render_errors_name_the_file") else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let w = |rel: &str, text: &str| {
        let p = t.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    w("k/kustomization.yaml", "resources:\n  - missing.yaml\n");
    w("h/Chart.yaml", CHART);
    w(
        "h/templates/bad.yaml",
        "data: {{ .Values.nope | required \"nope is required\" }}\n",
    );
    w("h/templates/cm.yaml", TEMPLATE);
    let limits = RenderLimits::default();

    let k = render::render("k", t.path(), "k", &Renderer::Kustomize, &tools, &limits);
    assert!(k.objects.is_empty());
    let msg = k.errors[0].to_string();
    assert!(msg.contains("missing.yaml"), "{msg}");
    assert!(msg.contains('k'), "{msg}");

    let helm = render::detect(&t.path().join("h"));
    let h = render::render("h", t.path(), "h", &helm, &tools, &limits);
    let msg = h.errors[0].to_string();
    assert!(msg.contains("bad.yaml"), "{msg}");
    assert!(msg.contains("nope is required"), "{msg}");

    // Rendered objects name their template, so policy findings point into the chart.
    w("h/templates/bad.yaml", "# nothing\n");
    w("h/values.yaml", VALUES);
    let h = render::render("h", t.path(), "h", &helm, &tools, &limits);
    assert!(h.errors.is_empty(), "{:?}", h.errors);
    assert_eq!(h.objects.len(), 1);
    let path = h.objects[0].path.clone();
    assert!(path.starts_with("h/templates/cm.yaml"), "{path}");

    // The output cap stops a chart that renders too much.
    let tiny = RenderLimits {
        max_output: 64,
        ..RenderLimits::default()
    };
    let h = render::render("h", t.path(), "h", &helm, &tools, &tiny);
    assert!(h.objects.is_empty());
    assert!(!h.errors.is_empty());
}
