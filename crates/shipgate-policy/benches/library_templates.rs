//! The ten gatekeeper-library templates (each with one sample constraint) that the admission
//! benchmarks serve: shared by `policy.rs` here and `shipgate-admission`'s `admission_load.rs`
//! (included there with `#[path]`), so both measure the same policy set.

use std::path::{Path, PathBuf};

/// `<template folder>/samples/<sample>` under `library/general`.
const SAMPLES: &[&str] = &[
    "allowedrepos/samples/repo-must-be-openpolicyagent",
    "containerlimits/samples/container-ignore-cpu-limits",
    "containerrequests/samples/container-must-have-requests",
    "requiredlabels/samples/all-must-have-owner",
    "httpsonly/samples/ingress-https-only-tls-optional",
    "block-nodeport-services/samples/block-node-port",
    "disallowedtags/samples/container-image-must-not-have-latest-tag",
    "imagedigests/samples/container-image-must-have-digest",
    "replicalimits/samples/replicalimits",
    "requiredprobes/samples/must-have-probes",
];

/// The template and constraint files, given the gatekeeper-library `library` folder.
pub fn paths(library: &Path) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for s in SAMPLES {
        let sample = library.join("general").join(s);
        let template_dir = sample
            .parent()
            .and_then(Path::parent)
            .expect("sample paths have a template folder");
        paths.push(template_dir.join("template.yaml"));
        paths.push(sample.join("constraint.yaml"));
    }
    paths
}
