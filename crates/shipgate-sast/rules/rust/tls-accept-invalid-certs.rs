fn client() -> reqwest::Result<reqwest::Client> {
    // ruleid: rust.tls-accept-invalid-certs
    let a = reqwest::Client::builder().danger_accept_invalid_certs(true).build()?;
    // ruleid: rust.tls-accept-invalid-certs
    let b = native_tls::TlsConnector::builder().danger_accept_invalid_hostnames(true).build();
    // ok: rust.tls-accept-invalid-certs
    let c = reqwest::Client::builder().danger_accept_invalid_certs(false).build()?;
    // ok: rust.tls-accept-invalid-certs
    let d = reqwest::Client::builder().https_only(true).build()?;
    let _ = (b, c, d);
    Ok(a)
}
