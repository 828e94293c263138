//! Pipelines for shipgate: what `shipgate pipeline run` executes, locally exactly as in CI.
//!
//! * [`spec`]: the definition (`pipeline:` in `shipgate.yaml` or `.shipgate/pipeline.yaml`),
//!   a DAG of steps validated with positions;
//! * [`sandbox`]: each step runs isolated with bubblewrap (read-only workspace, only its
//!   outputs writable, private `/tmp`, no network unless asked, resource limits, timeout);
//! * [`cache`]: content-addressed step cache keyed by the step, its input files and the keys
//!   of the steps it needs; a step whose key was seen and whose outputs are intact is skipped;
//! * [`image`]: reproducible OCI image assembly (sorted entries, fixed mtimes and owners) from
//!   a base image and step outputs, written as an OCI layout and pushed to a registry;
//! * [`run`]: the runner, which writes a [`record::RunRecord`] for every run;
//! * [`kubernetes`]: the Jobs executor (`run` steps with an `image:` as Kubernetes Jobs).
//!
//! Built-in gates run the shipgate binary itself (`shipgate scan <scanner>`) inside the
//! sandbox; the caller passes the binary's path. This crate never prints.

#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod cache;
pub mod error;
pub mod image;
pub mod kubernetes;
pub mod record;
pub mod rootfs;
pub mod run;
pub mod sandbox;
pub mod spec;

pub use error::{Error, Problem};
pub use record::{RunRecord, StepRecord, StepStatus};
pub use run::{RunOptions, run};
pub use spec::{Pipeline, Step, StepKind, load, parse};

/// Fuzzing entry point: `data` as a pipeline file, both as `shipgate.yaml` (a `pipeline:`
/// section) and as `.shipgate/pipeline.yaml`. Must never panic.
pub fn fuzz_spec(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = spec::parse(std::path::Path::new("shipgate.yaml"), &text);
    let _ = spec::parse(std::path::Path::new(".shipgate/pipeline.yaml"), &text);
}
