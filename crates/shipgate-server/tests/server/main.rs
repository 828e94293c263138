//! The server over real sockets against a populated temp store: every list paginated to the
//! end both ways, filters, escaping of hostile strings, auth of ingest, `/metrics`, and the
//! pages rendered by headless Chromium (DOM checks and screenshots).
#![allow(clippy::unwrap_used, clippy::print_stderr)] // test code

mod browser;
mod common;
mod http_api;
mod prom_check;
