//! HTTPS: the certificate chain and key (PEM) loaded at start-up, TLS 1.2+.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::ServerError;

pub(crate) fn acceptor(cert: &Path, key: &Path) -> Result<tokio_rustls::TlsAcceptor, ServerError> {
    let tls = |path: &Path, message: String| ServerError::Tls {
        path: path.to_path_buf(),
        message,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| tls(cert, format!("reading the certificate: {e}")))?
        .collect::<Result<_, _>>()
        .map_err(|e| tls(cert, format!("parsing the certificate PEM: {e}")))?;
    if chain.is_empty() {
        return Err(tls(cert, "no CERTIFICATE block found".into()));
    }
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| tls(key, format!("reading the private key: {e}")))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| tls(cert, e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|e| {
            tls(
                key,
                format!("key does not match the certificate or is unsupported: {e}"),
            )
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}
