//! Runtime detection from the Kubernetes API server's audit log.
//!
//! The API server writes one JSON `audit.k8s.io/v1` `Event` per line ([`event`]). This crate
//! reads such a log once ([`read_log`]) or follows it as it grows, across rotation and
//! truncation ([`Follower`]), and evaluates the rules of [`rules`] on every event: exec/attach
//! into pods, privileged or host-namespace pods, secret reads by users outside an allow-list,
//! RBAC escalation and allowed anonymous requests. Alerts ([`Alert`]) convert to the shared
//! report model ([`Alert::to_finding`], scanner `runtime`).
//!
//! Audit logs are untrusted input: a malformed line becomes a [`LineError`] with its file and
//! line number and reading goes on; lines longer than [`MAX_LINE`] are skipped the same way.
//! Memory is bounded: one line at a time plus a fixed-size set of recently seen audit IDs.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod event;
mod reader;
pub mod rules;

pub use event::Event;
pub use reader::{Follower, LineError, MAX_LINE, ReadOutcome, read_log, read_reader};
pub use rules::{Alert, RULES, RuleInfo, Rules, RuntimeSettings};

/// The `scanner` of every finding this crate produces.
pub const SCANNER: &str = "runtime";

/// Everything that can go wrong outside a single line.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The audit log could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// `runtime:` settings name a rule that does not exist.
    #[error("runtime.disable: unknown rule `{0}` (known: {known})", known = rules::known_ids())]
    UnknownRule(String),
}

#[cfg(test)]
mod tests;
