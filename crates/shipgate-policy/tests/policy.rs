//! End-to-end behaviour of the policy crate: scanning manifests (built-ins, Gatekeeper
//! constraints with inventory, exemptions, bad input), admission requests, and the fuzz entry.

use serde_json::json;
use shipgate_policy::{PolicySet, PolicySettings, load_str, scan_config};
use std::io::Write;

const TEMPLATE: &str = r#"apiVersion: templates.gatekeeper.sh/v1beta1
kind: ConstraintTemplate
metadata: {name: k8sdenyname}
spec:
  crd:
    spec:
      names: {kind: K8sDenyName}
  targets:
  - target: admission.k8s.gatekeeper.sh
    rego: |
      package k8sdenyname
      violation[{"msg": msg}] {
        input.review.object.metadata.name == input.parameters.name
        msg := sprintf("name %v is denied", [input.parameters.name])
      }
      violation[{"msg": msg}] {
        input.review.operation == "UPDATE"
        input.review.oldObject.metadata.labels.locked == "true"
        msg := "object is locked"
      }
      violation[{"msg": msg}] {
        svc := data.inventory.namespace[ns][_]["Service"][name]
        name == input.review.object.metadata.name
        input.review.object.kind == "Deployment"
        msg := sprintf("a Service %v/%v shares the name", [ns, name])
      }
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sDenyName
metadata: {name: no-evil}
spec:
  enforcementAction: warn
  match:
    kinds: [{apiGroups: ["apps"], kinds: ["Deployment"]}]
    excludedNamespaces: [kube-*]
  parameters: {name: evil}
"#;

const MANIFESTS: &str = "# Source: chart/templates/deploy.yaml\r
apiVersion: apps/v1\r
kind: Deployment\r
metadata:\r
  name: evil\r
  namespace: prod\r
  annotations:\r
    shipgate.dev/ignore: k8s-probes-missing batch-like worker, k8s-host-ports\r
spec:\r
  template:\r
    spec:\r
      containers:\r
      - name: web\r
        image: nginx\r
        securityContext:\r
          privileged: true\r
---\r
apiVersion: v1\r
kind: Service\r
metadata: {name: evil, namespace: prod}\r
spec: {ports: [{port: 80}]}\r
---\r
apiVersion: apps/v1\r
kind: Deployment\r
metadata: {name: evil, namespace: kube-system}\r
spec: {template: {spec: {containers: [{name: a, image: 'r/a:1'}]}}}\r
---\r
kind: Broken\r
metadata: {name: x}\r
---\r
a: [1, 2\r
";

fn policy_set() -> PolicySet {
    let mut set = PolicySet::new();
    let errors = set.add_objects(load_str(TEMPLATE, "policy.yaml"));
    assert!(errors.is_empty(), "{errors:?}");
    set.set_builtin(
        PolicySettings {
            profile: shipgate_policy::Profile::Baseline,
            enable: vec!["k8s-image-latest-tag".into(), "k8s-probes-missing".into()],
            ..Default::default()
        }
        .resolve()
        .expect("settings"),
    );
    set
}

#[test]
fn scan_manifests_with_builtins_gatekeeper_and_exemptions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("all.yaml");
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(MANIFESTS.as_bytes()))
        .expect("write");
    let set = policy_set();
    let out = scan_config(&[&path], &set);

    // Errors: the object without apiVersion (line 28) and the broken YAML (line 31+), with path.
    assert_eq!(out.errors.len(), 2, "{:?}", out.errors);
    assert_eq!(out.errors[0].line, Some(28), "{:?}", out.errors);
    assert!(out.errors[1].line.is_some_and(|l| l >= 31));
    assert!(
        out.errors
            .iter()
            .all(|e| e.path.as_deref() == Some(path.to_str().expect("utf8")))
    );

    let mut got: Vec<(String, Option<u32>, String)> = out
        .findings
        .iter()
        .map(|f| {
            (
                f.rule_id.clone(),
                f.location.start_line,
                f.location.object.clone().unwrap_or_default(),
            )
        })
        .collect();
    got.sort();
    let prod = "apps/v1 Deployment prod/evil".to_string();
    assert_eq!(
        got,
        vec![
            ("K8sDenyName/no-evil".into(), Some(2), prod.clone()),
            ("K8sDenyName/no-evil".into(), Some(2), prod.clone()),
            (
                "k8s-ignore-annotation-invalid".into(),
                Some(8),
                prod.clone()
            ),
            ("k8s-image-latest-tag".into(), Some(14), prod.clone()),
            ("k8s-privileged-container".into(), Some(16), prod.clone()),
            (
                "k8s-probes-missing".into(),
                Some(26),
                "apps/v1 Deployment kube-system/evil".into()
            ),
        ],
        "{:#?}",
        out.findings
    );
    let deny: Vec<&str> = out
        .findings
        .iter()
        .filter(|f| f.rule_id == "K8sDenyName/no-evil")
        .map(|f| f.message.as_str())
        .collect();
    assert!(deny.contains(&"name evil is denied"));
    assert!(
        deny.contains(&"a Service prod/evil shares the name"),
        "inventory: {deny:?}"
    );
    let f = out
        .findings
        .iter()
        .find(|f| f.rule_id == "K8sDenyName/no-evil")
        .expect("gatekeeper finding");
    assert_eq!(
        f.severity,
        shipgate_policy::Severity::Medium,
        "warn maps to medium"
    );
    assert_eq!(f.scanner, "config");
    let p = out
        .findings
        .iter()
        .find(|f| f.rule_id == "k8s-privileged-container")
        .expect("builtin");
    assert_eq!(p.location.start_column, Some(11));
    assert!(p.message.contains("container \"web\""));
    assert!(p.remediation.is_some());
    assert!(
        out.notes.iter().any(|n| n.contains("1 findings exempted")),
        "{:?}",
        out.notes
    );
}

#[test]
fn admission_request_with_update_and_old_object() {
    let set = policy_set();
    let request = json!({
        "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
        "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
        "operation": "UPDATE",
        "userInfo": {"username": "alice", "groups": ["dev"]},
        "name": "web", "namespace": "prod",
        "object": {"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": "web", "namespace": "prod"},
                   "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "r/a:1",
                       "livenessProbe": {}, "readinessProbe": {}}]}}}},
        "oldObject": {"apiVersion": "apps/v1", "kind": "Deployment",
                      "metadata": {"name": "web", "namespace": "prod", "labels": {"locked": "true"}}}
    });
    let v = set.review_request(&request).expect("evaluates");
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].rule_id, "K8sDenyName/no-evil");
    assert_eq!(v[0].message, "object is locked");
    assert_eq!(v[0].action, shipgate_policy::EnforcementAction::Warn);

    // Built-ins apply at admission too; excluded namespaces are honoured for constraints.
    let mut req2 = request.clone();
    req2["operation"] = json!("CREATE");
    req2["namespace"] = json!("kube-system");
    req2["object"]["metadata"]["namespace"] = json!("kube-system");
    req2["object"]["metadata"]["name"] = json!("evil");
    req2["object"]["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx");
    let v = set.review_request(&req2).expect("evaluates");
    let ids: Vec<&str> = v.iter().map(|v| v.rule_id.as_str()).collect();
    assert_eq!(ids, vec!["k8s-image-latest-tag"]);

    // Many threads share one set.
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..20 {
                    assert_eq!(set.review_request(&request).expect("ok").len(), 1);
                }
            });
        }
    });
    assert!(set.review_request(&json!({"uid": "x"})).is_err());
}

#[test]
fn bad_policies_are_reported_with_file_and_line() {
    let text = "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata: {name: bad}\nspec:\n  crd: {spec: {names: {kind: Bad}}}\n  targets:\n  - target: admission.k8s.gatekeeper.sh\n    rego: |\n      package bad\n      violation[{\"msg\": m}] { m := undefined_function(1) }\n---\napiVersion: constraints.gatekeeper.sh/v1beta1\nkind: Missing\nmetadata: {name: m}\n";
    let mut set = PolicySet::new();
    let errors = set.add_objects(load_str(text, "p.yaml"));
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[0].line(), Some(1));
    assert!(errors[0].to_string().contains("p.yaml:1"));
    assert_eq!(errors[1].line(), Some(12));
    assert!(
        errors[1]
            .to_string()
            .contains("no ConstraintTemplate defines it")
    );
}

#[test]
fn fuzz_load_survives_mutated_inputs() {
    let seeds: Vec<&[u8]> = vec![
        MANIFESTS.as_bytes(),
        TEMPLATE.as_bytes(),
        b"a: &a [*a]\n",
        b"- - - - [\n",
        b"apiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: x, securityContext: {capabilities: {add: [1, {}]}}}]}}]\n",
    ];
    // xorshift, fixed seed: deterministic.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for i in 0..3000 {
        let seed = seeds[i % seeds.len()];
        let mut data = seed.to_vec();
        let edits = 1 + (next() % 8) as usize;
        for _ in 0..edits {
            if data.is_empty() {
                break;
            }
            let pos = (next() as usize) % data.len();
            match next() % 4 {
                0 => data[pos] = next() as u8,
                1 => {
                    data.remove(pos);
                }
                2 => data.insert(pos, b"{}[]:-&*!|>'\"\n #,"[(next() % 17) as usize]),
                _ => {
                    let end = (pos + (next() % 16) as usize).min(data.len());
                    let chunk = data[pos..end].to_vec();
                    data.splice(pos..pos, chunk);
                }
            }
        }
        shipgate_policy::fuzz_load(&data);
    }
}
