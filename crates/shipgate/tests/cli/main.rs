//! End-to-end tests of the `shipgate` binary: exit codes, stdout, stderr, snapshots.
#![allow(clippy::unwrap_used)] // test code: a panic with the error is the right failure

mod audit;
mod deps;
mod gitops;
mod help;
mod kit;
mod pipeline;
mod pipeline_e2e;
mod promote;
mod report;
mod runtime;
mod sast;
mod secrets;
mod serve;
mod sign;
mod store;
