//! Integration tests of shipgate-image: images built by the test-support
//! helper in every input format, a real registry (Debian's docker-registry),
//! a real Debian root filesystem made by debootstrap, and RPM databases
//! written by rpm and Berkeley DB's tools.

mod bad_input;
mod debootstrap;
mod formats;
mod matching;
mod registry;
mod rpm;
mod support;
