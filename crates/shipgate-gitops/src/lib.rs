//! shipgate's GitOps engine and agent: make a Kubernetes cluster match what a Git repository
//! says, with the same policy gate as `scan config` and the admission webhook.
//!
//! Expected flow for one sync of one application: resolve the revision to a commit SHA
//! ([`git`]), optionally verify the commit signature, render the path ([`render`]: plain YAML,
//! Kustomize or Helm through the real binaries), run the policy gate over the rendered objects,
//! apply them with server-side apply in order (namespaces and CRDs first, then kinds, then
//! sync waves, waiting for [`health`] between waves), prune owned objects that left Git, and
//! record the result in the application's history.
//!
//! Promotion ([`promote`], [`yamledit`]) is the write side: pin a new image digest in the
//! manifests repository with an in-place YAML edit, commit with trailers, push with retry.
//!
//! Deliberately not here: printing (the binary renders), policy rules (shipgate-policy),
//! kubeconfig handling (shipgate-kube), in-process Kustomize or Helm (the real tools run as
//! child processes, bounded in time and output).
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod agent;
pub mod app;
pub mod cluster;
pub mod crd;
pub mod drift;
pub mod error;
pub mod git;
pub mod health;
pub mod history;
pub mod leader;
pub mod manifest;
pub mod metrics;
pub mod objects;
pub mod process;
pub mod promote;
pub mod render;
pub mod sync;
pub mod yamledit;

pub use error::GitopsError;
