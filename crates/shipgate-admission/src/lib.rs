//! shipgate's validating admission webhook: an HTTPS server that answers Kubernetes
//! AdmissionReview v1 requests with the verdict of shipgate policies, plus the manifest
//! generator and the cluster audit that reuse the same policies.
//!
//! * [`server::Server`]: HTTPS only (rustls, TLS 1.2+), `POST /validate`, `/healthz`,
//!   `/readyz`, `/metrics`; certificate and policy hot reload; request body limit; a per-request
//!   time budget with a configurable [`server::FailureMode`]; graceful drain on shutdown.
//! * [`policy`]: the [`policy::Evaluator`] seam the server calls, exemptions (namespaces,
//!   users, groups, the `shipgate.dev/ignore` annotation) and the allow/deny/warn decision.
//! * [`manifest::render`]: the `ValidatingWebhookConfiguration` (url or service mode).
//! * [`audit::audit`]: evaluates the objects already in a cluster.
//! * [`images`]: optional image requirements (cosign signature from given keys, signed scan
//!   attestation under a severity threshold), with a bounded TTL cache of verified digests.
//!
//! Deliberately not here: policy semantics (shipgate-policy decides what is violated),
//! mutation (this is a validating webhook only), printing, and process-wide state (metrics
//! live in a per-server registry).
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod audit;
pub mod decisions;
pub mod fuzz;
pub mod images;
pub mod manifest;
pub mod metrics;
pub mod policy;
pub mod policyset;
pub mod review;
pub mod server;

pub use fuzz::fuzz_admission_review;
pub use policy::{
    Enforcement, EvalError, Evaluator, Exemptions, PolicyLoadError, PolicyLoader, Violation,
};
pub use review::AdmissionRequest;
pub use server::{FailureMode, Server, ServerConfig};

/// Errors of the admission crate.
#[derive(Debug, thiserror::Error)]
pub enum AdmissionError {
    /// A certificate or key could not be loaded.
    #[error("TLS {path}: {message}")]
    Tls {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source} (is another process using the port?)")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Policies could not be loaded at start-up.
    #[error("loading policies: {0}")]
    Policy(String),
    /// Manifest options are invalid.
    #[error(transparent)]
    Manifest(#[from] manifest::ManifestError),
    /// Talking to the cluster failed.
    #[error(transparent)]
    Kube(shipgate_kube::KubeError),
}
