//! The one error type of the server.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything that can stop the server from starting or running.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The store cannot be opened or read.
    #[error(transparent)]
    Store(#[from] shipgate_store::StoreError),
    /// The listen address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The certificate or key cannot be loaded.
    #[error("{}: {message}", path.display())]
    Tls {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The token file cannot be read or holds no token.
    #[error("{}: {message}", path.display())]
    Token {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A task of the server's runtime failed.
    #[error("internal error: {0}")]
    Internal(String),
}
