//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can stop a key from loading, an image from being signed or a signature
/// from verifying. Every message names the file or image it is about.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A key file exists where a new one would be written.
    #[error("{} already exists; refusing to overwrite it (remove it or choose another prefix)", path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// A key is malformed or of an unsupported kind.
    #[error("{location}: {message}")]
    Key {
        /// The key file (or "key" when it came from memory).
        location: String,
        /// What is wrong.
        message: String,
    },
    /// The passphrase does not decrypt the private key.
    #[error("wrong passphrase for {location} (or the key file is damaged)")]
    WrongPassphrase {
        /// The key file.
        location: String,
    },
    /// The image reference cannot be used.
    #[error("{reference}: {message}")]
    Reference {
        /// The reference as given.
        reference: String,
        /// What is wrong.
        message: String,
    },
    /// The registry could not be reached, refused a request or sent something unusable.
    #[error(transparent)]
    Registry(#[from] shipgate_image::Error),
    /// The image has no signatures (or no attestations) at all.
    #[error("{reference}: no {what} found (nothing at {tag})")]
    NotSigned {
        /// The image.
        reference: String,
        /// "signatures" or "attestations".
        what: &'static str,
        /// The tag looked up, `repo:sha256-<hex>.sig` or `.att`.
        tag: String,
    },
    /// Signatures (or attestations) exist but none verified; one reason per layer.
    #[error("{reference}: no {what} verified with the given key(s): {}", reasons.join("; "))]
    NotVerified {
        /// The image.
        reference: String,
        /// "signature" or "attestation".
        what: &'static str,
        /// Why each candidate was rejected.
        reasons: Vec<String>,
    },
    /// An input (predicate, annotation, predicate type) is not usable.
    #[error("{what}: {message}")]
    Input {
        /// The input (file name or flag).
        what: String,
        /// What is wrong.
        message: String,
    },
    /// A cryptographic operation failed (no randomness, library failure).
    #[error("{0}")]
    Crypto(String),
    /// The async runtime of a blocking wrapper could not start.
    #[error("starting the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn key(location: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Key {
            location: location.into(),
            message: message.into(),
        }
    }

    pub(crate) fn input(what: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Input {
            what: what.into(),
            message: message.into(),
        }
    }
}
