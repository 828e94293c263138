//! Golden tests of the in-place edits: only the value bytes change. (The module is named
//! `promote_tests` so that `cargo test -p shipgate-gitops promote` runs it.)

use super::*;

const D1: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const D2: &str = "2222222222222222222222222222222222222222222222222222222222222222";

fn img(name: &str, hex: &str) -> PinnedImage {
    PinnedImage::parse(&format!("{name}@sha256:{hex}")).expect("valid image")
}

fn run(path: &str, text: &str, image: &PinnedImage, opts: &EditOptions) -> Edited {
    edit(path, text, image, opts).unwrap_or_else(|e| panic!("edit failed: {e}"))
}

/// The expected output is the input with `from` replaced by `to` exactly once per pair.
fn expect_replaced(input: &str, pairs: &[(&str, &str)]) -> String {
    let mut s = input.to_string();
    for (from, to) in pairs {
        assert_eq!(
            s.matches(from).count(),
            1,
            "fixture has exactly one {from:?}"
        );
        s = s.replace(from, to);
    }
    s
}

const DEPLOY: &str = r#"# Deployment of the API — keep this comment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api   # trailing comment

spec:
  replicas: 2
  template:
    spec:
      initContainers:
        - name: migrate
          image: "ghcr.io/acme/api:1.2.3"   # same image, quoted
      containers:
        - name: api
          image: ghcr.io/acme/api:1.2.3
          ports: [{containerPort: 8080}]
        - name: sidecar
          image: 'ghcr.io/acme/api-sidecar:1.0'
        - name: proxy
          image: envoyproxy/envoy:v1.30
---
# second document: a CronJob
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: job
            image: ghcr.io/acme/api@sha256:0000000000000000000000000000000000000000000000000000000000000000
---
apiVersion: v1
kind: Pod
metadata:
  name: debug
spec:
  containers:
  - {name: main, image: 'ghcr.io/acme/api'}
  ephemeralContainers:
  - name: dbg
    image: ghcr.io/acme/api:debug
"#;

#[test]
fn manifest_only_value_bytes_change() {
    let image = img("ghcr.io/acme/api", D1);
    let out = run("deploy.yaml", DEPLOY, &image, &EditOptions::default());
    assert_eq!(out.kind, FileKind::Manifest);
    let new = format!("ghcr.io/acme/api@sha256:{D1}");
    let expected = expect_replaced(
        DEPLOY,
        &[
            ("\"ghcr.io/acme/api:1.2.3\"", &format!("\"{new}\"")),
            (
                "image: ghcr.io/acme/api:1.2.3\n",
                &format!("image: {new}\n"),
            ),
            (
                "ghcr.io/acme/api@sha256:0000000000000000000000000000000000000000000000000000000000000000",
                &new,
            ),
            ("'ghcr.io/acme/api'", &format!("'{new}'")),
            ("ghcr.io/acme/api:debug", &new),
        ],
    );
    assert_eq!(out.text, expected);
    assert_eq!(out.changes.len(), 5);
    assert_eq!(out.changes[0].line, 13);
    assert_eq!(out.changes[0].old, "ghcr.io/acme/api:1.2.3");
    // Non-matching images (a longer name with the same prefix, another repo) are untouched.
    assert!(out.text.contains("'ghcr.io/acme/api-sidecar:1.0'"));
    assert!(out.text.contains("envoyproxy/envoy:v1.30"));
}

#[test]
fn manifest_keep_tag_and_idempotence() {
    let image = img("ghcr.io/acme/api", D1);
    let opts = EditOptions {
        keep_tag: true,
        ..Default::default()
    };
    let out = run("deploy.yaml", DEPLOY, &image, &opts);
    assert!(
        out.text
            .contains(&format!("image: ghcr.io/acme/api:1.2.3@sha256:{D1}\n"))
    );
    assert!(
        out.text
            .contains(&format!("image: ghcr.io/acme/api:debug@sha256:{D1}\n"))
    );
    // An untagged reference stays untagged.
    assert!(
        out.text
            .contains(&format!("'ghcr.io/acme/api@sha256:{D1}'"))
    );
    // Running again changes nothing: up to date.
    let again = run("deploy.yaml", &out.text, &image, &opts);
    assert!(again.changes.is_empty());
    assert_eq!(again.text, out.text);
    // A new digest replaces the old one and keeps the tag.
    let next = run(
        "deploy.yaml",
        &out.text,
        &img("ghcr.io/acme/api", D2),
        &opts,
    );
    assert!(
        next.text
            .contains(&format!("image: ghcr.io/acme/api:1.2.3@sha256:{D2}\n"))
    );
    assert!(!next.text.contains(D1));
}

#[test]
fn registry_port_is_not_a_tag() {
    assert_eq!(
        split_reference("registry:5000/team/app"),
        ("registry:5000/team/app", None, None)
    );
    assert_eq!(
        split_reference("registry:5000/team/app:v1@sha256:ab"),
        ("registry:5000/team/app", Some("v1"), Some("sha256:ab"))
    );
    assert_eq!(split_reference("app:v1"), ("app", Some("v1"), None));
    let text = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    image: registry:5000/team/app # port\n  - name: b\n    image: registry:5000/team/app:v2\n  - name: c\n    image: registry/team/app\n";
    let out = run(
        "pod.yaml",
        text,
        &img("registry:5000/team/app", D1),
        &EditOptions::default(),
    );
    let new = format!("registry:5000/team/app@sha256:{D1}");
    assert_eq!(
        out.text,
        format!(
            "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    image: {new} # port\n  - name: b\n    image: {new}\n  - name: c\n    image: registry/team/app\n"
        )
    );
    assert!(PinnedImage::parse(&format!("registry:5000/team/app:v1@sha256:{D1}")).is_err());
    assert!(PinnedImage::parse("app@sha256:abc").is_err());
    assert!(PinnedImage::parse(&format!("app@sha512:{D1}")).is_err());
    assert!(PinnedImage::parse(&format!("@sha256:{D1}")).is_err());
}

const KUSTOMIZATION: &str = "# overlay for prod
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../base   # the base

images:
  - name: ghcr.io/acme/api
    newTag: \"1.2.3\"   # bumped by CI
  - name: postgres
    newName: my-registry/postgres
    newTag: v1
  - name: ghcr.io/acme/web
    digest: sha256:0000000000000000000000000000000000000000000000000000000000000000
    newTag: v9
  - name: ghcr.io/acme/worker   # no tag yet
    newName: ghcr.io/acme/worker2
";

#[test]
fn kustomization_newtag_becomes_digest() {
    let out = run(
        "overlays/prod/kustomization.yaml",
        KUSTOMIZATION,
        &img("ghcr.io/acme/api", D1),
        &EditOptions::default(),
    );
    assert_eq!(out.kind, FileKind::Kustomization);
    assert_eq!(
        out.text,
        expect_replaced(
            KUSTOMIZATION,
            &[("newTag: \"1.2.3\"", &format!("digest: \"sha256:{D1}\""))]
        )
    );
    // --keep-tag: the digest is inserted after the entry, newTag stays.
    let keep = EditOptions {
        keep_tag: true,
        ..Default::default()
    };
    let out = run(
        "kustomization.yaml",
        KUSTOMIZATION,
        &img("ghcr.io/acme/api", D1),
        &keep,
    );
    assert_eq!(
        out.text,
        expect_replaced(
            KUSTOMIZATION,
            &[(
                "# bumped by CI\n",
                &format!("# bumped by CI\n    digest: sha256:{D1}\n")
            )]
        )
    );
}

#[test]
fn kustomization_digest_replaced_and_newtag_dropped() {
    let out = run(
        "kustomization.yaml",
        KUSTOMIZATION,
        &img("ghcr.io/acme/web", D2),
        &EditOptions::default(),
    );
    assert_eq!(
        out.text,
        expect_replaced(
            KUSTOMIZATION,
            &[
                (
                    "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                    &format!("sha256:{D2}")
                ),
                ("    newTag: v9\n", ""),
            ]
        )
    );
    assert_eq!(out.changes.len(), 2);
}

#[test]
fn kustomization_new_name_match_inserts_digest() {
    let out = run(
        "kustomization.yml",
        KUSTOMIZATION,
        &img("ghcr.io/acme/worker2", D1),
        &EditOptions::default(),
    );
    assert_eq!(
        out.text,
        format!("{KUSTOMIZATION}    digest: sha256:{D1}\n")
    );
}

#[test]
fn kustomization_appends_entry_or_images() {
    let out = run(
        "kustomization.yaml",
        KUSTOMIZATION,
        &img("ghcr.io/acme/new", D1),
        &EditOptions::default(),
    );
    assert_eq!(
        out.text,
        format!("{KUSTOMIZATION}  - name: ghcr.io/acme/new\n    digest: sha256:{D1}\n")
    );
    let bare = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- app.yaml # no newline at end";
    let out = run(
        "Kustomization",
        bare,
        &img("app", D1),
        &EditOptions::default(),
    );
    assert_eq!(
        out.text,
        format!("{bare}\nimages:\n- name: app\n  digest: sha256:{D1}\n")
    );
    let again = run(
        "Kustomization",
        &out.text,
        &img("app", D1),
        &EditOptions::default(),
    );
    assert!(again.changes.is_empty());
}

const VALUES: &str = "# values for the chart
replicaCount: 1

image:
  registry: ghcr.io
  repository: acme/api     # the API
  tag: \"1.2.3\"
  pullPolicy: IfNotPresent

worker:
  image:
    repository: ghcr.io/acme/api
    digest: 'sha256:0000000000000000000000000000000000000000000000000000000000000000'
    tag: old

sidecar:
  image: ghcr.io/acme/api:1.2.3
other:
  image:
    repository: ghcr.io/acme/other
";

#[test]
fn helm_values_default_search() {
    let out = run(
        "values.yaml",
        VALUES,
        &img("ghcr.io/acme/api", D1),
        &EditOptions::default(),
    );
    assert_eq!(out.kind, FileKind::HelmValues);
    assert_eq!(
        out.text,
        expect_replaced(
            VALUES,
            &[
                (
                    "  pullPolicy: IfNotPresent\n",
                    &format!("  pullPolicy: IfNotPresent\n  digest: sha256:{D1}\n")
                ),
                (
                    "'sha256:0000000000000000000000000000000000000000000000000000000000000000'",
                    &format!("'sha256:{D1}'")
                ),
                (
                    "image: ghcr.io/acme/api:1.2.3",
                    &format!("image: ghcr.io/acme/api@sha256:{D1}")
                ),
            ]
        )
    );
    // tag: is kept.
    assert!(out.text.contains("tag: \"1.2.3\"") && out.text.contains("tag: old"));
}

#[test]
fn helm_values_key_path() {
    let opts = EditOptions {
        helm_key: Some("worker.image".into()),
        ..Default::default()
    };
    let out = run("values.yaml", VALUES, &img("ghcr.io/acme/api", D1), &opts);
    assert_eq!(out.changes.len(), 1);
    assert_eq!(out.changes[0].line, 13);
    let opts = EditOptions {
        helm_key: Some("sidecar.image".into()),
        keep_tag: true,
        ..Default::default()
    };
    let out = run("values.yaml", VALUES, &img("ghcr.io/acme/api", D1), &opts);
    assert_eq!(
        out.text,
        expect_replaced(
            VALUES,
            &[(
                "image: ghcr.io/acme/api:1.2.3",
                &format!("image: ghcr.io/acme/api:1.2.3@sha256:{D1}")
            )]
        )
    );
    let opts = EditOptions {
        helm_key: Some("other.image".into()),
        ..Default::default()
    };
    let e = edit("values.yaml", VALUES, &img("ghcr.io/acme/api", D1), &opts).expect_err("no match");
    assert!(
        e.to_string().contains(
            "values.yaml: image ghcr.io/acme/api is not referenced at Helm key other.image"
        ),
        "{e}"
    );
}

#[test]
fn crlf_and_forced_kind() {
    let text = "image:\r\n  repository: app\r\n  tag: v1\r\n";
    let out = run(
        "chart/values-prod.yaml",
        text,
        &img("app", D1),
        &EditOptions::default(),
    );
    assert_eq!(
        out.text,
        format!("image:\r\n  repository: app\r\n  tag: v1\r\n  digest: sha256:{D1}\r\n")
    );
    // Forced as a manifest there is nothing to edit.
    let opts = EditOptions {
        kind: Some(FileKind::Manifest),
        ..Default::default()
    };
    let e = edit("values.yaml", text, &img("app", D1), &opts).expect_err("no containers");
    assert!(matches!(e, GitopsError::NoMatch { .. }), "{e}");
}

#[test]
fn invalid_yaml_has_line_and_column() {
    let text =
        "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    image: [unclosed\n";
    let e = edit(
        "deploy/pod.yaml",
        text,
        &img("a", D1),
        &EditOptions::default(),
    )
    .expect_err("invalid");
    let GitopsError::Edit {
        path,
        line,
        column,
        message,
    } = &e
    else {
        panic!("wrong error {e:?}")
    };
    assert_eq!(path, "deploy/pod.yaml");
    assert!(*line >= 6 && *column >= 1, "{e}");
    assert!(message.starts_with("invalid YAML"), "{e}");
    assert!(e.to_string().starts_with("deploy/pod.yaml:"), "{e}");
}

#[test]
fn unsupported_shapes_are_errors() {
    let block = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    image: |\n      app:v1\n";
    let e =
        edit("p.yaml", block, &img("app", D1), &EditOptions::default()).expect_err("block scalar");
    assert!(e.to_string().contains("block scalars"), "{e}");
    let flow = "image: {repository: app, tag: v1}\n";
    let e = edit(
        "values.yaml",
        flow,
        &img("app", D1),
        &EditOptions::default(),
    )
    .expect_err("flow");
    assert!(e.to_string().contains("values.yaml:1:"), "{e}");
    // A flow map that already has a digest can be edited in place.
    let flow = format!("image: {{repository: app, digest: \"sha256:{D2}\"}}\n");
    let out = run(
        "values.yaml",
        &flow,
        &img("app", D1),
        &EditOptions::default(),
    );
    assert_eq!(
        out.text,
        format!("image: {{repository: app, digest: \"sha256:{D1}\"}}\n")
    );
}

#[test]
fn hostile_inputs_do_not_panic() {
    let image = img("app", D1);
    let deep_flow = "[".repeat(100_000);
    assert!(edit("x.yaml", &deep_flow, &image, &EditOptions::default()).is_err());
    let mut deep_block = String::new();
    for i in 0..2_000 {
        deep_block.push_str(&" ".repeat(i));
        deep_block.push_str("a:\n");
    }
    assert!(edit("x.yaml", &deep_block, &image, &EditOptions::default()).is_err());
    // A large multi-document file: every match changes, in one pass.
    let doc =
        "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    image: app:v1\n---\n";
    let big = doc.repeat(5_000);
    let out = run("big.yaml", &big, &image, &EditOptions::default());
    assert_eq!(out.changes.len(), 5_000);
    // Arbitrary bytes: errors or edits, never a panic.
    let mut x: u32 = 12345;
    for _ in 0..300 {
        let mut s = String::new();
        for _ in 0..200 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let alphabet = b"ab: -[]{}\n'\"#&*!|>@app:";
            s.push(char::from(alphabet[(x >> 16) as usize % alphabet.len()]));
        }
        let _ = edit("fuzz.yaml", &s, &image, &EditOptions::default());
    }
}
