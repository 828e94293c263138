//! Admission decisions handed to a sink (the binary records them in the shipgate store), so
//! that what was admitted or denied at deploy time is part of the same audit trail as the CI
//! gates.

use std::sync::Arc;

use serde::Serialize;

use crate::review::AdmissionRequest;

/// One answered admission request. Exempt requests are not recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionRecord {
    /// When the answer was given (RFC 3339 UTC).
    pub time: String,
    /// The AdmissionReview uid.
    pub uid: String,
    /// CREATE, UPDATE, DELETE or CONNECT.
    pub operation: String,
    /// `group/version` of the object (`v1` for the core group).
    pub api_version: String,
    /// Object kind.
    pub kind: String,
    /// Namespace (empty for cluster-scoped objects).
    pub namespace: String,
    /// Object name.
    pub name: String,
    /// Who asked.
    pub user: String,
    /// A dry-run request (nothing is persisted by the API server).
    pub dry_run: bool,
    /// The answer.
    pub allowed: bool,
    /// The denial message, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Warnings returned.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Violations found, with their enforcement action.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<RecordedViolation>,
    /// Why evaluation failed (the answer then follows the failure mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A violation in a [`DecisionRecord`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedViolation {
    /// Rule id.
    pub rule: String,
    /// deny, warn or dryrun.
    pub action: String,
    /// What is wrong.
    pub message: String,
}

impl DecisionRecord {
    /// A record for `req`, not yet answered (`allowed: false`).
    pub(crate) fn for_request(req: &AdmissionRequest) -> Self {
        let api_version = if req.kind.group.is_empty() {
            req.kind.version.clone()
        } else {
            format!("{}/{}", req.kind.group, req.kind.version)
        };
        DecisionRecord {
            time: crate::decisions::now(),
            uid: req.uid.clone(),
            operation: req.operation.clone(),
            api_version,
            kind: req.kind.kind.clone(),
            namespace: req.namespace.clone(),
            name: req.name.clone(),
            user: req.username.clone(),
            dry_run: req.dry_run,
            allowed: false,
            message: None,
            warnings: Vec::new(),
            violations: Vec::new(),
            error: None,
        }
    }
}

pub(crate) fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Receives every decision. Called on the request path: it must not block for long (queue
/// the record and write it elsewhere).
pub trait DecisionSink: Send + Sync + 'static {
    /// One decision.
    fn record(&self, decision: DecisionRecord);
}

impl<F: Fn(DecisionRecord) + Send + Sync + 'static> DecisionSink for F {
    fn record(&self, decision: DecisionRecord) {
        self(decision)
    }
}

/// A shared sink, as held by [`crate::ServerConfig`].
#[derive(Clone)]
pub struct SharedSink(pub Arc<dyn DecisionSink>);

impl std::fmt::Debug for SharedSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DecisionSink")
    }
}
