//! `k8s-image-registry-not-allowed`: images must come from an allowed registry (opt-in: enabled
//! by `allowed_registries`).

use super::{Example, Hit, Level, Rule, RuleMeta, RuleOptions, parse_image};
use crate::Severity;
use crate::object::K8sObject;
use crate::podspec::PodSpec;

pub(crate) static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "k8s-image-registry-not-allowed",
        title: "Image from a registry that is not allowed",
        severity: Severity::High,
        level: Level::OptIn,
        remediation: "Pull the image from an allowed registry (mirror it there), or add the registry to `allowed_registries`.",
        // Examples run with allowed_registries = ["registry.example.com", "ghcr.io/acme/"].
        allowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: registry.example.com/app:1}\n  - {name: b, image: ghcr.io/acme/tool:2}\n",
            hits: &[],
        }],
        disallowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: nginx:1\n  - name: b\n    image: ghcr.io/other/tool:2\n  - name: c\n    image: registry.example.com.evil.io/app:1\n",
            hits: &[
                "image: nginx:1",
                "image: ghcr.io/other/tool:2",
                "image: registry.example.com.evil.io/app:1",
            ],
        }],
    },
    check,
};

/// Does `image` match an allowed entry? An entry is a registry host (`registry.example.com`,
/// matching that host only) or a repository prefix ending in `/` (`ghcr.io/acme/`). Docker Hub
/// images match `docker.io`.
pub(crate) fn allowed(image: &str, entries: &[String]) -> bool {
    let r = parse_image(image);
    let host = if r.registry.is_empty() {
        "docker.io"
    } else {
        r.registry
    };
    let repo = if r.registry.is_empty() && !r.repo.contains('/') {
        format!("library/{}", r.repo)
    } else {
        r.repo.to_string()
    };
    let full = format!("{host}/{repo}");
    entries.iter().any(|e| {
        let e = e.trim();
        if e.ends_with('/') {
            full.starts_with(e)
        } else if e.contains('/') {
            full == e || full.starts_with(&format!("{e}/"))
        } else {
            host == e
        }
    })
}

fn check(opts: &RuleOptions, obj: &K8sObject, out: &mut Vec<Hit>) {
    if opts.allowed_registries.is_empty() {
        return;
    }
    let Some(pod) = PodSpec::of(obj) else { return };
    for c in pod.containers() {
        let image = c.image();
        if image.is_empty() || allowed(image, &opts.allowed_registries) {
            continue;
        }
        out.push(Hit {
            path: pod.container_field(&c, &["image"]),
            message: format!(
                "{} image \"{image}\" is not from an allowed registry ({})",
                c.describe(),
                opts.allowed_registries.join(", ")
            ),
        });
    }
}
