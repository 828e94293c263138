//! The image requirements at the review-function level against the real registry: signed
//! and attested images pass (then from the cache, with the registry gone), tag-only, unsigned,
//! wrongly signed and badly scanned images are denied with a clear reason.
#![allow(clippy::unwrap_used, clippy::print_stderr)] // test code

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use shipgate_admission::images::{ImageGate, ImagePolicy, ImageRule, SCAN_RULE, SIGNATURE_RULE};
use shipgate_admission::review::parse_review;
use shipgate_admission::{AdmissionRequest, EvalError, Evaluator, Violation};
use shipgate_image::RegistryOptions;
use shipgate_report::Severity;
use shipgate_sign::testsupport::push_test_image;
use shipgate_sign::{PredicateType, SigningKey, blocking};

fn pod_review(images: &[&str]) -> AdmissionRequest {
    let containers: Vec<Value> = images
        .iter()
        .enumerate()
        .map(|(i, im)| json!({"name": format!("c{i}"), "image": im}))
        .collect();
    let review = json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "u1",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "operation": "CREATE",
            "namespace": "apps",
            "name": "p",
            "userInfo": {"username": "dev"},
            "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": containers}}
        }
    });
    parse_review(review.to_string().as_bytes()).unwrap()
}

fn report(findings: Value) -> Value {
    json!({"schema": "shipgate.report/v1", "scanner": "image", "findings": findings, "errors": []})
}

struct NoRules;
impl Evaluator for NoRules {
    fn evaluate(&self, _: &AdmissionRequest) -> Result<Vec<Violation>, EvalError> {
        Ok(Vec::new())
    }
    fn rule_count(&self) -> usize {
        0
    }
}

fn only(v: &[Violation]) -> &Violation {
    assert_eq!(v.len(), 1, "{v:?}");
    &v[0]
}

#[test]
fn signed_and_attested_images_are_admitted_others_denied() {
    let Some(reg) =
        shipgate_testenv::registry_or_skip("signed_and_attested_images_are_admitted_others_denied")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("docker-config.json");
    std::fs::write(&config, "{}").unwrap();
    let o = RegistryOptions {
        insecure_loopback: true,
        docker_config: Some(config),
        ..RegistryOptions::default()
    };
    let key = SigningKey::generate().unwrap();
    let other = SigningKey::generate().unwrap();
    let scan: PredicateType = "scan-report".parse().unwrap();
    let host = reg.host();
    let pin = |repo: &str, d: &str| format!("{host}/{repo}@{d}");

    // good: signed, clean scan. vuln: signed, high finding. unsigned. foreign: other key.
    let good = push_test_image(&format!("{host}/team/good:v1"), "good", &o).unwrap();
    blocking::sign(&pin("team/good", &good), &key, &BTreeMap::new(), &o).unwrap();
    blocking::attest(
        &pin("team/good", &good),
        &key,
        &scan,
        report(json!([{"severity": "medium"}])),
        &o,
    )
    .unwrap();
    let vuln = push_test_image(&format!("{host}/team/vuln:v1"), "vuln", &o).unwrap();
    blocking::sign(&pin("team/vuln", &vuln), &key, &BTreeMap::new(), &o).unwrap();
    blocking::attest(
        &pin("team/vuln", &vuln),
        &key,
        &scan,
        report(json!([{"severity": "high"}])),
        &o,
    )
    .unwrap();
    let noscan = push_test_image(&format!("{host}/team/noscan:v1"), "noscan", &o).unwrap();
    blocking::sign(&pin("team/noscan", &noscan), &key, &BTreeMap::new(), &o).unwrap();
    let unsigned = push_test_image(&format!("{host}/team/unsigned:v1"), "unsigned", &o).unwrap();
    let foreign = push_test_image(&format!("{host}/team/foreign:v1"), "foreign", &o).unwrap();
    blocking::sign(&pin("team/foreign", &foreign), &other, &BTreeMap::new(), &o).unwrap();
    let elsewhere = push_test_image(&format!("{host}/other/app:v1"), "elsewhere", &o).unwrap();

    let rule = ImageRule::new(
        &[format!("{host}/team/*")],
        vec![key.public_key()],
        Some(Severity::High),
    )
    .unwrap();
    let policy = Arc::new(ImagePolicy::new(
        vec![rule],
        o.clone(),
        Duration::from_secs(600),
        16,
    ));
    let gate = ImageGate::new(Arc::new(NoRules), policy.clone());

    assert!(
        gate.evaluate(&pod_review(&[&pin("team/good", &good)]))
            .unwrap()
            .is_empty()
    );
    assert_eq!(policy.cached(), 1);
    // Images no rule matches are not checked (unsigned, by tag).
    assert!(
        gate.evaluate(&pod_review(&[
            &format!("{host}/other/app:v1"),
            &pin("other/app", &elsewhere)
        ]))
        .unwrap()
        .is_empty()
    );

    let v = gate
        .evaluate(&pod_review(&[&format!("{host}/team/good:v1")]))
        .unwrap();
    let v = only(&v);
    assert_eq!(v.rule_id, SIGNATURE_RULE);
    assert!(
        v.message.contains("referenced by tag only"),
        "{}",
        v.message
    );

    let v = gate
        .evaluate(&pod_review(&[&pin("team/unsigned", &unsigned)]))
        .unwrap();
    let v = only(&v);
    assert_eq!(v.rule_id, SIGNATURE_RULE);
    assert!(v.message.contains("no signatures found"), "{}", v.message);

    let v = gate
        .evaluate(&pod_review(&[&pin("team/foreign", &foreign)]))
        .unwrap();
    assert!(
        only(&v).message.contains("signature invalid"),
        "{}",
        v[0].message
    );

    let v = gate
        .evaluate(&pod_review(&[&pin("team/vuln", &vuln)]))
        .unwrap();
    let v = only(&v);
    assert_eq!(v.rule_id, SCAN_RULE);
    assert!(
        v.message.contains("1 finding(s) at or above high"),
        "{}",
        v.message
    );

    let v = gate
        .evaluate(&pod_review(&[&pin("team/noscan", &noscan)]))
        .unwrap();
    let v = only(&v);
    assert_eq!(v.rule_id, SCAN_RULE);
    assert!(v.message.contains("no attestations found"), "{}", v.message);

    // The decision names every denied image.
    let req = pod_review(&[&pin("team/good", &good), &pin("team/unsigned", &unsigned)]);
    let decision = shipgate_admission::policy::decide(&req, gate.evaluate(&req).unwrap());
    assert!(!decision.allowed);
    assert!(
        decision.message.as_deref().unwrap().contains(&unsigned),
        "{decision:?}"
    );

    // Failures are not cached; verified digests are: with the registry gone the good image
    // is still admitted, offline, and the others are still denied.
    assert_eq!(policy.cached(), 1);
    drop(reg);
    assert!(
        gate.evaluate(&pod_review(&[&pin("team/good", &good)]))
            .unwrap()
            .is_empty()
    );
    let v = gate
        .evaluate(&pod_review(&[&pin("team/noscan", &noscan)]))
        .unwrap();
    assert!(only(&v).message.contains(&noscan), "{}", v[0].message);

    // An expired cache entry asks the registry again (gone: denied).
    let rule = ImageRule::new(&[format!("{host}/team/*")], vec![key.public_key()], None).unwrap();
    let short = ImagePolicy::new(vec![rule], o, Duration::from_millis(0), 16);
    let v = short.review(&pod_review(&[&pin("team/good", &good)]));
    assert_eq!(only(&v).rule_id, SIGNATURE_RULE);
}

#[test]
fn policy_file_loads_and_reports_errors() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate().unwrap();
    std::fs::write(dir.path().join("release.pub"), key.public_key().to_pem()).unwrap();
    let file = dir.path().join("images.yaml");
    std::fs::write(
        &file,
        "rules:\n  - images: [\"registry.example.com/team/*\"]\n    keys: [release.pub]\n    scanAttestation: {failOn: critical}\ncache: {ttlSeconds: 60, maxEntries: 10}\n",
    )
    .unwrap();
    let policy = ImagePolicy::load(&file).unwrap();
    assert_eq!(policy.rule_count(), 1);
    // Tag-only images are denied without any registry access.
    let v = policy.review(&pod_review(&["registry.example.com/team/app:1.0"]));
    assert!(
        only(&v).message.contains("pinned by digest"),
        "{}",
        v[0].message
    );

    std::fs::write(
        &file,
        "rules:\n  - images: [\"x/*\"]\n    keys: [missing.pub]\n",
    )
    .unwrap();
    let err = ImagePolicy::load(&file).err().unwrap();
    assert!(err.0.contains("missing.pub"), "{}", err.0);
    std::fs::write(&file, "rules:\n  - images: [\"x/*\"]\n    keys: [release.pub]\n    scanAttestation: {failOn: severe}\n").unwrap();
    assert!(ImagePolicy::load(&file).is_err());
    std::fs::write(&file, "rules:\n  - imagez: [\"x/*\"]\n").unwrap();
    assert!(ImagePolicy::load(&file).is_err());
}
