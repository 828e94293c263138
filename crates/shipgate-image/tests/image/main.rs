//! Integration tests of shipgate-image: images built by the test-support
//! helper in every input format, a real registry (Debian's docker-registry)
//! and a real Debian root filesystem made by debootstrap.

mod bad_input;
mod debootstrap;
mod formats;
mod matching;
mod registry;
mod support;
