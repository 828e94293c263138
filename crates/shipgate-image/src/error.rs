//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can stop an image from being read.
///
/// Problems confined to one file inside an image (an unparsable package
/// database, a corrupt jar) are not errors of this type: they are reported as
/// [`crate::Issue`]s next to the results and the scan goes on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A local file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The argument is neither an existing path nor a registry reference.
    #[error(
        "'{input}' is not an image: expected an OCI layout directory, an OCI or docker-archive tar, a root filesystem directory or a registry reference (host[:port]/repo:tag or @sha256:...): {reason}"
    )]
    UnknownInput {
        /// What was given.
        input: String,
        /// Why it was not recognised.
        reason: String,
    },
    /// A JSON document of the image (index, manifest, config) is malformed.
    #[error("{what} in {location} is not valid: {source}")]
    BadJson {
        /// Which document (e.g. "index.json").
        what: String,
        /// The file or blob it was read from.
        location: String,
        /// The parse error (with line and column).
        #[source]
        source: serde_json::Error,
    },
    /// The image structure is wrong (missing blob, unsupported media type...).
    #[error("{location}: {message}")]
    Format {
        /// The file, blob or reference concerned.
        location: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// No manifest of a multi-platform index matches the requested platform.
    #[error(
        "{location}: no image for platform {wanted}; the index offers: {available}. Pick one with --platform"
    )]
    NoMatchingPlatform {
        /// The index.
        location: String,
        /// The platform asked for.
        wanted: String,
        /// The platforms present.
        available: String,
    },
    /// A blob's content does not hash to its digest.
    #[error(
        "digest mismatch for {location}: expected {expected}, content hashes to {actual}; the image is corrupt or was tampered with"
    )]
    DigestMismatch {
        /// The blob.
        location: String,
        /// The digest the image claims.
        expected: String,
        /// The digest of the bytes read.
        actual: String,
    },
    /// A layer could not be decompressed or unpacked.
    #[error("layer {layer}: {message}")]
    Layer {
        /// Layer digest (or path).
        layer: String,
        /// What went wrong.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<std::io::Error>,
    },
    /// A safety limit was exceeded (decompressed size, entry count).
    #[error("layer {layer}: {message}; refusing to go on (possible decompression bomb)")]
    Limit {
        /// Layer digest (or path).
        layer: String,
        /// The limit that was hit.
        message: String,
    },
    /// The registry refused or failed a request.
    #[error("registry {reference}: {message}")]
    Registry {
        /// The image reference.
        reference: String,
        /// What happened and what to do.
        message: String,
        /// The client error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The layer cache could not be written.
    #[error("layer cache {}: {source}", path.display())]
    Cache {
        /// The cache file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn format(location: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Format {
            location: location.into(),
            message: message.into(),
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
