//! Language packages inside images: Python, npm, Java, Go and Rust binaries, RubyGems.

pub mod binary;
pub mod gem;
pub mod java;
pub mod node;
pub mod python;
