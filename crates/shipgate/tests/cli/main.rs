//! End-to-end tests of the `shipgate` binary: exit codes, stdout, stderr, snapshots.

mod deps;
mod help;
mod kit;
mod report;
mod secrets;
