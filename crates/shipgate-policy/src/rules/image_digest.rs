//! `k8s-image-not-pinned`: images must be pinned by digest (opt-in: `require_digest: true`).

use super::{Example, Hit, Level, Rule, RuleMeta, RuleOptions, parse_image};
use crate::Severity;
use crate::object::K8sObject;
use crate::podspec::PodSpec;

pub(crate) static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "k8s-image-not-pinned",
        title: "Image not pinned by digest",
        severity: Severity::Medium,
        level: Level::OptIn,
        remediation: "Reference the image by digest (`repo@sha256:...`); tools such as `crane digest` print it.",
        allowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: nginx:1.25@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31\n",
            hits: &[],
        }],
        disallowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: nginx:1.25\n  - name: b\n    image: nginx@sha256:abc\n",
            hits: &["image: nginx:1.25", "image: nginx@sha256:abc"],
        }],
    },
    check,
};

fn is_digest(d: &str) -> bool {
    match d.split_once(':') {
        Some(("sha256", hex)) => hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        Some(("sha512", hex)) => hex.len() == 128 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        _ => false,
    }
}

fn check(_: &RuleOptions, obj: &K8sObject, out: &mut Vec<Hit>) {
    let Some(pod) = PodSpec::of(obj) else { return };
    for c in pod.containers() {
        let image = c.image();
        if image.is_empty() || parse_image(image).digest.is_some_and(is_digest) {
            continue;
        }
        out.push(Hit {
            path: pod.container_field(&c, &["image"]),
            message: format!(
                "{} image \"{image}\" is not pinned by a valid digest (@sha256:<64 hex>)",
                c.describe()
            ),
        });
    }
}
