//! Every example of every rule: allowed ones produce no hit, disallowed ones produce exactly the
//! listed hits, each pointing at a line that contains the listed text.

use super::{Example, Rule, RuleOptions, all};
use crate::load::load_str;

fn options() -> RuleOptions {
    RuleOptions {
        allowed_registries: vec!["registry.example.com".into(), "ghcr.io/acme/".into()],
        forbid_service_types: vec!["NodePort".into(), "LoadBalancer".into()],
    }
}

fn run(rule: &Rule, ex: &Example) -> Vec<(u32, String, String)> {
    let loaded = load_str(ex.yaml, "example.yaml");
    assert!(
        loaded.errors.is_empty(),
        "{}: example does not load: {:?}",
        rule.meta.id,
        loaded.errors
    );
    assert!(
        !loaded.objects.is_empty(),
        "{}: example has no object",
        rule.meta.id
    );
    let lines: Vec<&str> = ex.yaml.lines().collect();
    let mut out = Vec::new();
    for obj in &loaded.objects {
        let mut hits = Vec::new();
        (rule.check)(&options(), obj, &mut hits);
        for h in hits {
            let pos = obj.locate(&h.path);
            let text = lines
                .get(pos.line as usize - 1)
                .copied()
                .unwrap_or("")
                .to_string();
            out.push((pos.line, text, h.message));
        }
    }
    // Expected hits are listed in source order.
    out.sort_by_key(|(line, _, _)| *line);
    out
}

#[test]
fn every_rule_example() {
    let mut ids = std::collections::HashSet::new();
    for rule in all() {
        let id = rule.meta.id;
        assert!(ids.insert(id), "duplicate rule id {id}");
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{id} is not kebab-case"
        );
        assert!(
            !rule.meta.allowed.is_empty() && !rule.meta.disallowed.is_empty(),
            "{id} needs examples"
        );
        for ex in rule.meta.allowed {
            let hits = run(rule, ex);
            assert!(hits.is_empty(), "{id}: allowed example produced {hits:?}");
        }
        for ex in rule.meta.disallowed {
            let hits = run(rule, ex);
            assert_eq!(
                hits.len(),
                ex.hits.len(),
                "{id}: hits {hits:?}, expected at {:?}",
                ex.hits
            );
            for ((line, text, message), want) in hits.iter().zip(ex.hits) {
                assert!(
                    text.contains(want),
                    "{id}: hit at line {line} `{text}` should contain `{want}` ({message})"
                );
                assert!(!message.is_empty());
            }
        }
    }
}

#[test]
fn image_reference_parsing() {
    use super::parse_image;
    let r = parse_image("localhost:5000/a/b:1.0@sha256:ab");
    assert_eq!(
        (r.registry, r.repo, r.tag, r.digest),
        ("localhost:5000", "a/b", Some("1.0"), Some("sha256:ab"))
    );
    let r = parse_image("nginx");
    assert_eq!(
        (r.registry, r.repo, r.tag, r.digest),
        ("", "nginx", None, None)
    );
    let r = parse_image("library/nginx:1");
    assert_eq!(
        (r.registry, r.repo, r.tag),
        ("", "library/nginx", Some("1"))
    );
    assert!(super::image_registry::allowed(
        "nginx:1",
        &["docker.io/library/".to_string()]
    ));
    assert!(!super::image_registry::allowed(
        "evil/nginx:1",
        &["docker.io/library/".to_string()]
    ));
}
