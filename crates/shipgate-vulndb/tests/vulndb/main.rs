//! Integration tests for shipgate-vulndb: import (good and bad inputs),
//! matching against real advisories, freshness, the updater against a local
//! HTTP server, and the fuzz entry point.

mod fixtures;
mod fuzz;
mod import;
mod matching;
mod update;
