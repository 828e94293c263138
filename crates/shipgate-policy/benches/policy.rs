//! Policy benchmarks: built-in rules, a Gatekeeper Rego template, manifest loading, and the
//! whole gatekeeper-library verify run.
//!
//! `cargo bench -p shipgate-policy --bench policy` (figures in docs/benchmarks-policy.md).

mod library_templates;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shipgate_policy::{PolicySet, PolicySettings, load_str};
use std::hint::black_box;
use std::path::PathBuf;

// The allocator the `shipgate` binary ships with, so figures are the product's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn manifest(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        s.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\n  namespace: team-{ns}\n  labels: {{app: app-{i}, owner: team}}\nspec:\n  replicas: 2\n  template:\n    metadata:\n      labels: {{app: app-{i}}}\n    spec:\n      securityContext: {{runAsNonRoot: true}}\n      containers:\n      - name: web\n        image: registry.example.com/app:{i}\n        ports: [{{containerPort: 8080}}]\n        securityContext:\n          privileged: {priv}\n          allowPrivilegeEscalation: false\n          capabilities: {{drop: [ALL]}}\n        resources:\n          limits: {{cpu: 500m, memory: 256Mi}}\n      - name: sidecar\n        image: proxy:latest\n",
            ns = i % 7,
            priv = i % 3 == 0
        ));
    }
    s
}

const TEMPLATE: &str = r#"apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8srequiredlabels}
spec:
  crd:
    spec:
      names: {kind: K8sRequiredLabels}
  targets:
  - target: admission.k8s.gatekeeper.sh
    rego: |
      package k8srequiredlabels
      get_message(parameters, _default) := _default { not parameters.message }
      get_message(parameters, _) := parameters.message
      violation[{"msg": msg, "details": {"missing_labels": missing}}] {
        provided := {label | input.review.object.metadata.labels[label]}
        required := {label | label := input.parameters.labels[_].key}
        missing := required - provided
        count(missing) > 0
        def_msg := sprintf("you must provide labels: %v", [missing])
        msg := get_message(input.parameters, def_msg)
      }
      violation[{"msg": msg}] {
        value := input.review.object.metadata.labels[key]
        expected := input.parameters.labels[_]
        expected.key == key
        expected.allowedRegex != ""
        not regex.match(expected.allowedRegex, value)
        msg := sprintf("Label <%v: %v> does not satisfy allowed regex: %v", [key, value, expected.allowedRegex])
      }
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sRequiredLabels
metadata: {name: must-have-owner}
spec:
  match:
    kinds: [{apiGroups: [apps], kinds: [Deployment]}]
  parameters:
    labels:
    - {key: owner, allowedRegex: "^[a-z]+$"}
    - {key: cost-center}
"#;

fn benches(c: &mut Criterion) {
    let n = 2000;
    let text = manifest(n);
    let loaded = load_str(&text, "bench.yaml");
    assert!(loaded.errors.is_empty());

    let mut g = c.benchmark_group("policy");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("load_2000_deployments", |b| {
        b.iter(|| black_box(load_str(black_box(&text), "bench.yaml").objects.len()))
    });

    let mut builtin = PolicySet::new();
    builtin.set_builtin(
        PolicySettings::default()
            .resolve()
            .expect("default settings"),
    );
    g.bench_function("builtin_recommended_2000_objects", |b| {
        b.iter(|| black_box(builtin.scan(black_box(&loaded.objects)).findings.len()))
    });

    let mut rego = PolicySet::new();
    let errors = rego.add_objects(load_str(TEMPLATE, "t.yaml"));
    assert!(errors.is_empty(), "{errors:?}");
    g.bench_function("rego_requiredlabels_2000_objects", |b| {
        b.iter(|| black_box(rego.scan(black_box(&loaded.objects)).findings.len()))
    });
    g.finish();

    let mut g = c.benchmark_group("admission");
    let request = serde_json::json!({
        "uid": "1", "operation": "CREATE",
        "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
        "object": loaded.objects[1].value,
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function("rego_requiredlabels_one_request", |b| {
        b.iter(|| black_box(rego.review_request(black_box(&request)).map(|v| v.len())))
    });
    g.finish();

    let shared = std::env::var_os("SHIPGATE_SHARED_DATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
        PathBuf::from,
    );
    let lib = shared.join("gatekeeper-library/library");
    if lib.is_dir() {
        // What one admission request costs the webhook: built-ins (recommended) plus the ten
        // library templates the admission load benchmark serves, on a realistic Deployment.
        let paths = library_templates::paths(&lib);
        let (mut set, errors) = PolicySet::load(&paths);
        assert!(errors.is_empty(), "{errors:?}");
        set.set_builtin(
            PolicySettings::default()
                .resolve()
                .expect("default settings"),
        );
        let mut g = c.benchmark_group("admission");
        g.throughput(Throughput::Elements(1));
        g.bench_function("builtins_plus_10_templates_one_request", |b| {
            b.iter(|| black_box(set.review_request(black_box(&request)).map(|v| v.len())))
        });
        g.finish();

        let mut g = c.benchmark_group("verify");
        g.sample_size(10);
        g.bench_function("gatekeeper_library", |b| {
            b.iter(|| black_box(shipgate_policy::verify(&lib).0.passed))
        });
        g.finish();
    }
}

criterion_group!(policy, benches);
criterion_main!(policy);
