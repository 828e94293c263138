//! The report model every shipgate scanner shares.
//!
//! A scanner turns its input into a [`ScanOutput`] (findings, errors, notes). This crate turns
//! one or more of those into a [`Report`]: it applies suppressions (`ignore:` entries from
//! `shipgate.yaml`, a baseline of fingerprints, suppressions a scanner already decided such as
//! inline comments or VEX statements), counts the summary, evaluates the gate, and writes the
//! result as a human table, JSON (`shipgate.report/v1`) or SARIF 2.1.0.
//!
//! Contract:
//! - The gate fails closed: any [`ScanError`] makes the gate fail and the exit code 2,
//!   whatever the findings are.
//! - Writers take `impl Write`; this crate never prints and never decides about colour on its
//!   own (the caller says whether the sink is a terminal).
//! - It knows nothing about any particular scanner: no secrets, lockfiles or Kubernetes here.
#![warn(clippy::print_stdout, clippy::print_stderr)]

mod error;
mod model;
mod report;
mod suppress;
pub mod writers;

pub use error::ReportError;
pub use model::{
    Advisory, Finding, Location, Package, ScanError, ScanOutput, Severity, Suppression,
    SuppressionKind,
};
pub use report::{ExitCode, FailOn, Gate, REPORT_SCHEMA, Report, Summary, Tool};
pub use suppress::{BASELINE_SCHEMA, Baseline, BaselineEntry, IgnoreEntry, Suppressions};
