//! Container image scanning for shipgate.
//!
//! Reads an image from an OCI layout directory, an OCI archive, a
//! docker-archive (`docker save`), a root filesystem directory or a registry
//! (`oci-client`), streams each layer once (gzip, zstd or plain; blob digests
//! verified; whiteouts and opaque directories applied; size and entry limits
//! against decompression bombs), identifies the OS and lists OS packages
//! (dpkg, apk, RPM) and language packages (Python dist-info/egg-info, npm
//! `node_modules`, Maven artifacts in jars including nested jars, Go build
//! info, cargo-auditable data, RubyGems specifications, and any lockfile
//! `shipgate-deps` reads), each with its purl,
//! the file it came from and the layer (digest and history entry) that wrote
//! that file. Per-layer analyses are cached by layer digest.
//!
//! What it deliberately does not do: it never writes image content to disk
//! (only the cache and, for registry pulls, blobs in a private temporary
//! directory under the cache dir), never follows symbolic links out of a root
//! filesystem, never runs anything from the image, and does not print.
//! Advisory matching ([`match_scan`]) uses `shipgate-vulndb`; lockfiles found
//! in the image are parsed with `shipgate-deps`.
#![warn(clippy::print_stdout, clippy::print_stderr)]

mod budget;
pub mod cache;
mod error;
mod extract;
pub mod lang;
pub mod layer;
pub mod matching;
mod merge;
pub mod model;
pub mod os;
pub mod purl;
mod scan;
pub mod source;
#[cfg(feature = "test-support")]
pub mod testsupport;

pub use cache::LayerCache;
pub use error::{Error, Result};
pub use layer::{Expected, Limits, analyze_layer, fuzz_layer};
pub use matching::{MatchOptions, match_scan};
pub use model::{
    ImagePackage, ImageScan, Issue, LayerAnalysis, LayerRef, OsInfo, PackageKind, RawPackage,
};
pub use scan::{DEFAULT_CACHE_MAX_BYTES, InputKind, ScanOptions, detect, scan_image};
pub use source::oci::Platform;
pub use source::registry::RegistryOptions;
