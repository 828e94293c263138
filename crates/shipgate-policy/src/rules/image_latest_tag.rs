//! `k8s-image-latest-tag`: images must be pinned to a tag other than `latest`, or to a digest.

use super::{Example, Hit, Level, Rule, RuleMeta, RuleOptions, parse_image};
use crate::Severity;
use crate::object::K8sObject;
use crate::podspec::PodSpec;

pub(crate) static RULE: Rule = Rule {
    meta: RuleMeta {
        id: "k8s-image-latest-tag",
        title: "Image without a fixed tag",
        severity: Severity::Medium,
        level: Level::Recommended,
        remediation: "Pin the image to a release tag (e.g. `nginx:1.25.3`) or, better, a digest (`nginx@sha256:...`).",
        allowed: &[Example {
            yaml: "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: registry.example.com:5000/team/app:1.2\n  - name: b\n    image: nginx@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31\n  - name: c\n    image: nginx:latest@sha256:0d17b565c37bcbd895e9d92315a05c1c3c9a29f762b011a10c54a66cd53c9b31\n",
            hits: &[],
        }],
        disallowed: &[Example {
            yaml: "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n          - name: a\n            image: nginx\n          - name: b\n            image: localhost:5000/app:latest\n",
            hits: &["image: nginx", "image: localhost:5000/app:latest"],
        }],
    },
    check,
};

fn check(_: &RuleOptions, obj: &K8sObject, out: &mut Vec<Hit>) {
    let Some(pod) = PodSpec::of(obj) else { return };
    for c in pod.containers() {
        let image = c.image();
        if image.is_empty() {
            continue;
        }
        let r = parse_image(image);
        if r.digest.is_some() {
            continue;
        }
        let problem = match r.tag {
            None => "has no tag, so it means `latest`",
            Some("latest") => "uses the `latest` tag",
            Some(_) => continue,
        };
        out.push(Hit {
            path: pod.container_field(&c, &["image"]),
            message: format!(
                "{} image \"{image}\" {problem}; the running version can change without a manifest change",
                c.describe()
            ),
        });
    }
}
