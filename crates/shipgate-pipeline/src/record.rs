//! The record of a pipeline run (`shipgate.pipeline-run/v1`): what ran, how long, what each
//! gate decided, which digests were produced. Written for every run; the store ingests it.

use serde::{Deserialize, Serialize};

/// Schema name of [`RunRecord`].
pub const SCHEMA: &str = "shipgate.pipeline-run/v1";

/// One run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Run id (time-ordered, unique per workspace).
    pub id: String,
    /// Pipeline file.
    pub pipeline: String,
    /// The workspace's git commit, when it is a git work tree.
    pub source_commit: Option<String>,
    /// RFC 3339 start time.
    pub started_at: String,
    /// Wall time of the whole run, in milliseconds.
    pub duration_ms: u64,
    /// bubblewrap or none.
    pub isolation: String,
    /// passed | failed (a gate failed) | error (a step failed or could not run).
    pub status: RunStatus,
    /// Steps in execution order.
    pub steps: Vec<StepRecord>,
}

/// Result of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Every step passed or was cached.
    Passed,
    /// A gate found findings at or above its threshold.
    Failed,
    /// A step failed, timed out or could not be run.
    Error,
}

/// Result of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    /// Ran and succeeded.
    Passed,
    /// Not run: its cache key was seen and its outputs are intact.
    Cached,
    /// A gate that failed on findings.
    Failed,
    /// Ran and failed (non-zero exit, timeout, missing outputs) or could not start.
    Error,
    /// Not run because a step it needs did not pass.
    Skipped,
}

/// One step of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    /// Step name.
    pub name: String,
    /// run | gate | build-image | shipgate.
    pub kind: String,
    /// Result.
    pub status: StepStatus,
    /// Wall time in milliseconds (0 when cached or skipped).
    pub duration_ms: u64,
    /// Exit code of the step's process, when one ran and exited.
    pub exit_code: Option<i32>,
    /// Cache key.
    pub cache_key: Option<String>,
    /// Why it failed or was skipped.
    pub message: Option<String>,
    /// Log file (stdout and stderr of the step).
    pub log: Option<String>,
    /// Gate decision, for gate steps.
    pub gate: Option<GateRecord>,
    /// Image produced, for build-image steps.
    pub image: Option<ImageRecord>,
    /// `namespace/name` of the Kubernetes Job the step ran as (`--executor kubernetes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
}

/// What a gate decided.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GateRecord {
    /// Scanner.
    pub scanner: String,
    /// Threshold.
    pub fail_on: String,
    /// Gate result.
    pub passed: bool,
    /// Report summary (counts by severity).
    pub summary: serde_json::Value,
    /// The report file.
    pub report: String,
}

/// An image built (and maybe pushed) by the run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageRecord {
    /// Manifest digest.
    pub digest: String,
    /// OCI layout directory.
    pub layout: String,
    /// `repo@sha256:...` when pushed.
    pub pushed: Option<String>,
}
