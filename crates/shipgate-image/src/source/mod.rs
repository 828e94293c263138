//! Image sources: what the input is and how its layers are reached.

pub mod local;
pub mod oci;
pub mod registry;
pub mod rootfs;
