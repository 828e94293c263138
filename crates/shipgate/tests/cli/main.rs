//! End-to-end tests of the `shipgate` binary: exit codes, stdout, stderr, snapshots.

mod help;
mod kit;
mod report;
