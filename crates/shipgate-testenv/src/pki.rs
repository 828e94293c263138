//! Throw-away certificate authorities for tests (rcgen, ECDSA P-256, valid for 7 days).

use std::net::IpAddr;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

use crate::TestEnvError;

/// A PEM certificate and its PEM (PKCS#8) private key.
#[derive(Clone, Debug)]
pub struct CertPair {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key, PKCS#8 PEM.
    pub key_pem: String,
}

/// A self-signed test CA that issues server and client certificates.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    cert_pem: String,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

fn cert_err(what: &str) -> impl FnOnce(rcgen::Error) -> TestEnvError + '_ {
    move |source| TestEnvError::Certificate {
        what: what.to_owned(),
        source,
    }
}

fn validity(p: &mut CertificateParams) {
    let now = std::time::SystemTime::now();
    p.not_before = (now - std::time::Duration::from_secs(3600)).into();
    p.not_after = (now + std::time::Duration::from_secs(7 * 24 * 3600)).into();
}

impl TestCa {
    /// Creates a new CA whose subject CN is `common_name`.
    pub fn new(common_name: &str) -> Result<Self, TestEnvError> {
        let key = KeyPair::generate().map_err(cert_err("CA key"))?;
        let mut p = CertificateParams::new(Vec::<String>::new()).map_err(cert_err("CA"))?;
        p.distinguished_name.push(DnType::CommonName, common_name);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        validity(&mut p);
        let cert = p.self_signed(&key).map_err(cert_err("CA"))?;
        Ok(Self {
            cert_pem: cert.pem(),
            issuer: Issuer::new(p, key),
        })
    }

    /// The CA certificate, PEM (what goes into a `caBundle` or `certificate-authority-data`).
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// Issues a `serverAuth` certificate for the given IP addresses and DNS names.
    pub fn server_cert(
        &self,
        common_name: &str,
        ips: &[IpAddr],
        dns_names: &[&str],
    ) -> Result<CertPair, TestEnvError> {
        let mut sans: Vec<SanType> = ips.iter().map(|ip| SanType::IpAddress(*ip)).collect();
        for name in dns_names {
            let ia5 = (*name).try_into().map_err(cert_err("server DNS SAN"))?;
            sans.push(SanType::DnsName(ia5));
        }
        self.leaf(common_name, &[], sans, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// Issues a `clientAuth` certificate: CN is the user name, each O a group (Kubernetes convention).
    pub fn client_cert(&self, user: &str, groups: &[&str]) -> Result<CertPair, TestEnvError> {
        self.leaf(
            user,
            groups,
            Vec::new(),
            ExtendedKeyUsagePurpose::ClientAuth,
        )
    }

    fn leaf(
        &self,
        common_name: &str,
        orgs: &[&str],
        sans: Vec<SanType>,
        eku: ExtendedKeyUsagePurpose,
    ) -> Result<CertPair, TestEnvError> {
        let key = KeyPair::generate().map_err(cert_err("leaf key"))?;
        let mut p = CertificateParams::new(Vec::<String>::new()).map_err(cert_err("leaf"))?;
        p.distinguished_name.push(DnType::CommonName, common_name);
        for o in orgs {
            p.distinguished_name.push(DnType::OrganizationName, *o);
        }
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        p.extended_key_usages = vec![eku];
        p.subject_alt_names = sans;
        validity(&mut p);
        let cert = p.signed_by(&key, &self.issuer).map_err(cert_err("leaf"))?;
        Ok(CertPair {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// Generates a key pair for signing service-account tokens: (private PKCS#8 PEM, public PEM).
pub fn signing_key_pair() -> Result<(String, String), TestEnvError> {
    let key = KeyPair::generate().map_err(cert_err("service-account key"))?;
    Ok((key.serialize_pem(), key.public_key_pem()))
}
