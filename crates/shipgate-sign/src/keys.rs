//! cosign's key format: ECDSA P-256, the private key as PKCS#8 DER encrypted in sigstore's
//! JSON envelope (scrypt + nacl secretbox) inside a PEM block `ENCRYPTED SIGSTORE PRIVATE
//! KEY` (`ENCRYPTED COSIGN PRIVATE KEY` is read too), the public key as a PEM `PUBLIC KEY`
//! (PKIX SubjectPublicKeyInfo).

use std::io::Write;
use std::path::{Path, PathBuf};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair, ParsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use crypto_secretbox::XSalsa20Poly1305;
use crypto_secretbox::aead::{Aead, KeyInit};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::pem;

/// The PEM label cosign (v2) writes for encrypted private keys.
pub const SIGSTORE_PRIVATE_KEY_PEM: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
/// The PEM label older cosign versions wrote; accepted on read.
pub const COSIGN_PRIVATE_KEY_PEM: &str = "ENCRYPTED COSIGN PRIVATE KEY";
/// The PEM label of public keys.
pub const PUBLIC_KEY_PEM: &str = "PUBLIC KEY";

/// scrypt parameters sigstore accepts (go-securesystemslib `encrypted`: legacy, standard,
/// OWASP); anything else is refused, which also bounds the memory a hostile key file can
/// make the KDF use (at most 128 MiB).
const SCRYPT_PARAMS: [(u64, u32, u32); 3] = [(32768, 8, 1), (65536, 8, 1), (131072, 8, 1)];
/// What new keys use (sigstore's default, "standard").
const SCRYPT_DEFAULT: (u64, u32, u32) = (65536, 8, 1);

#[derive(Serialize, Deserialize)]
struct Envelope {
    kdf: Kdf,
    cipher: Cipher,
    ciphertext: String,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    params: KdfParams,
    salt: String,
}

#[derive(Serialize, Deserialize)]
struct KdfParams {
    #[serde(rename = "N")]
    n: u64,
    r: u32,
    p: u32,
}

#[derive(Serialize, Deserialize)]
struct Cipher {
    name: String,
    nonce: String,
}

/// An ECDSA P-256 private key.
pub struct SigningKey {
    pair: EcdsaKeyPair,
    pkcs8: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("public_key", &self.public_key().fingerprint())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new random key.
    pub fn generate() -> Result<Self> {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING)
            .map_err(|_| Error::Crypto("generating an ECDSA P-256 key failed".into()))?;
        let pkcs8 = pair
            .to_pkcs8v1()
            .map_err(|_| Error::Crypto("encoding the private key as PKCS#8 failed".into()))?
            .as_ref()
            .to_vec();
        Ok(SigningKey { pair, pkcs8 })
    }

    /// A key from PKCS#8 DER (what the encrypted envelope holds). `location` names it in errors.
    pub fn from_pkcs8(der: &[u8], location: &str) -> Result<Self> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der).map_err(|e| {
            Error::key(
                location,
                format!("not an ECDSA P-256 private key in PKCS#8 form ({e}); shipgate signs with ECDSA P-256 keys only"),
            )
        })?;
        Ok(SigningKey {
            pair,
            pkcs8: der.to_vec(),
        })
    }

    /// Decrypts a cosign/sigstore encrypted private key (PEM). `location` names it in errors.
    pub fn from_encrypted_pem(pem_bytes: &[u8], password: &[u8], location: &str) -> Result<Self> {
        let (label, body) = pem::decode(pem_bytes).map_err(|m| Error::key(location, m))?;
        if label != SIGSTORE_PRIVATE_KEY_PEM && label != COSIGN_PRIVATE_KEY_PEM {
            return Err(Error::key(
                location,
                format!(
                    "expected a PEM block '{SIGSTORE_PRIVATE_KEY_PEM}' (as `cosign generate-key-pair` and `shipgate key generate` write), found '{label}'"
                ),
            ));
        }
        let der = decrypt(&body, password, location)?;
        Self::from_pkcs8(&der, location)
    }

    /// Encrypts the key with `password` (may be empty, as cosign allows) into the PEM form
    /// cosign reads.
    pub fn to_encrypted_pem(&self, password: &[u8]) -> Result<String> {
        let json = encrypt(&self.pkcs8, password, SCRYPT_DEFAULT)?;
        Ok(pem::encode(SIGSTORE_PRIVATE_KEY_PEM, &json))
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        let der = self
            .pair
            .public_key()
            .as_der()
            .map(|d| d.as_ref().to_vec())
            .unwrap_or_default();
        PublicKey::from_der(&der, "generated key")
            .expect("the public key of a P-256 key pair is a P-256 public key")
    }

    /// ECDSA-SHA256 signature of `message`, ASN.1 DER encoded (what cosign stores).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        self.pair
            .sign(&SystemRandom::new(), message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| Error::Crypto("ECDSA signing failed".into()))
    }
}

/// An ECDSA P-256 public key.
#[derive(Clone)]
pub struct PublicKey {
    spki: Vec<u8>,
    parsed: ParsedPublicKey,
    name: String,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKey")
            .field("name", &self.name)
            .field("sha256", &self.fingerprint())
            .finish()
    }
}

impl PublicKey {
    /// A key from SubjectPublicKeyInfo DER. `name` names it in errors and results.
    pub fn from_der(der: &[u8], name: &str) -> Result<Self> {
        let parsed = ParsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, der).map_err(|e| {
            Error::key(
                name,
                format!(
                    "not an ECDSA P-256 public key ({e}); shipgate verifies ECDSA P-256 keys only"
                ),
            )
        })?;
        Ok(PublicKey {
            spki: der.to_vec(),
            parsed,
            name: name.to_string(),
        })
    }

    /// A key from a PEM `PUBLIC KEY` block.
    pub fn from_pem(pem_bytes: &[u8], name: &str) -> Result<Self> {
        let (label, der) = pem::decode(pem_bytes).map_err(|m| Error::key(name, m))?;
        if label != PUBLIC_KEY_PEM {
            return Err(Error::key(
                name,
                format!("expected a PEM block '{PUBLIC_KEY_PEM}', found '{label}'"),
            ));
        }
        Self::from_der(&der, name)
    }

    /// The PEM form (`PUBLIC KEY`).
    pub fn to_pem(&self) -> String {
        pem::encode(PUBLIC_KEY_PEM, &self.spki)
    }

    /// SubjectPublicKeyInfo DER.
    pub fn der(&self) -> &[u8] {
        &self.spki
    }

    /// The name given when the key was loaded (usually its file).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `sha256:<hex>` of the SubjectPublicKeyInfo DER: a stable key id for messages.
    pub fn fingerprint(&self) -> String {
        format!("sha256:{}", hex::encode(Sha256::digest(&self.spki)))
    }

    /// Whether `signature` (ASN.1 DER ECDSA) is this key's signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.parsed.verify_sig(message, signature).is_ok()
    }
}

fn b64(location: &str, field: &str, value: &str) -> Result<Vec<u8>> {
    STANDARD.decode(value.as_bytes()).map_err(|e| {
        Error::key(
            location,
            format!("encrypted key field {field} is not base64: {e}"),
        )
    })
}

fn derive(
    password: &[u8],
    salt: &[u8],
    (n, r, p): (u64, u32, u32),
    location: &str,
) -> Result<[u8; 32]> {
    let log_n = n.trailing_zeros();
    let params = u8::try_from(log_n)
        .ok()
        .and_then(|l| scrypt::Params::new(l, r, p, 32).ok())
        .ok_or_else(|| Error::key(location, "unsupported scrypt parameters"))?;
    let mut key = [0u8; 32];
    scrypt::scrypt(password, salt, &params, &mut key)
        .map_err(|_| Error::Crypto("scrypt key derivation failed".into()))?;
    Ok(key)
}

fn decrypt(envelope: &[u8], password: &[u8], location: &str) -> Result<Vec<u8>> {
    let env: Envelope = serde_json::from_slice(envelope).map_err(|e| {
        Error::key(
            location,
            format!("the encrypted key is not sigstore's JSON envelope: {e}"),
        )
    })?;
    if env.kdf.name != "scrypt" {
        return Err(Error::key(
            location,
            format!(
                "unsupported key derivation '{}' (expected scrypt)",
                env.kdf.name
            ),
        ));
    }
    if env.cipher.name != "nacl/secretbox" {
        return Err(Error::key(
            location,
            format!(
                "unsupported cipher '{}' (expected nacl/secretbox)",
                env.cipher.name
            ),
        ));
    }
    let params = (env.kdf.params.n, env.kdf.params.r, env.kdf.params.p);
    if !SCRYPT_PARAMS.contains(&params) {
        return Err(Error::key(
            location,
            format!(
                "unsupported scrypt parameters N={} r={} p={}",
                params.0, params.1, params.2
            ),
        ));
    }
    let salt = b64(location, "kdf.salt", &env.kdf.salt)?;
    let nonce = b64(location, "cipher.nonce", &env.cipher.nonce)?;
    let ciphertext = b64(location, "ciphertext", &env.ciphertext)?;
    if nonce.len() != 24 {
        return Err(Error::key(
            location,
            format!("cipher.nonce has {} bytes, expected 24", nonce.len()),
        ));
    }
    let key = derive(password, &salt, params, location)?;
    let cipher = XSalsa20Poly1305::new(&key.into());
    cipher
        .decrypt(
            crypto_secretbox::Nonce::from_slice(&nonce),
            ciphertext.as_slice(),
        )
        .map_err(|_| Error::WrongPassphrase {
            location: location.to_string(),
        })
}

fn encrypt(plaintext: &[u8], password: &[u8], params: (u64, u32, u32)) -> Result<Vec<u8>> {
    let rng = SystemRandom::new();
    let mut salt = [0u8; 32];
    let mut nonce = [0u8; 24];
    rng.fill(&mut salt)
        .and_then(|()| rng.fill(&mut nonce))
        .map_err(|_| Error::Crypto("no randomness for the key encryption".into()))?;
    let key = derive(password, &salt, params, "new key")?;
    let cipher = XSalsa20Poly1305::new(&key.into());
    let ciphertext = cipher
        .encrypt(crypto_secretbox::Nonce::from_slice(&nonce), plaintext)
        .map_err(|_| Error::Crypto("encrypting the private key failed".into()))?;
    let env = Envelope {
        kdf: Kdf {
            name: "scrypt".into(),
            params: KdfParams {
                n: params.0,
                r: params.1,
                p: params.2,
            },
            salt: STANDARD.encode(salt),
        },
        cipher: Cipher {
            name: "nacl/secretbox".into(),
            nonce: STANDARD.encode(nonce),
        },
        ciphertext: STANDARD.encode(ciphertext),
    };
    serde_json::to_vec(&env).map_err(|e| Error::Crypto(format!("encoding the key envelope: {e}")))
}

/// Reads and decrypts a private key file.
pub fn load_signing_key(path: &Path, password: &[u8]) -> Result<SigningKey> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    SigningKey::from_encrypted_pem(&bytes, password, &path.display().to_string())
}

/// Reads a public key file.
pub fn load_public_key(path: &Path) -> Result<PublicKey> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    PublicKey::from_pem(&bytes, &path.display().to_string())
}

/// The files [`write_key_pair`] wrote.
#[derive(Debug, Clone)]
pub struct KeyFiles {
    /// `PREFIX.key`, mode 0600.
    pub private_key: PathBuf,
    /// `PREFIX.pub`.
    pub public_key: PathBuf,
}

/// Generates a key pair and writes `PREFIX.key` (encrypted with `password`, mode 0600) and
/// `PREFIX.pub`, as `cosign generate-key-pair --output-key-prefix PREFIX` does. Refuses to
/// overwrite either file; on failure nothing is left behind.
pub fn write_key_pair(prefix: &Path, password: &[u8]) -> Result<KeyFiles> {
    let with_ext = |ext: &str| {
        let mut s = prefix.as_os_str().to_owned();
        s.push(ext);
        PathBuf::from(s)
    };
    let files = KeyFiles {
        private_key: with_ext(".key"),
        public_key: with_ext(".pub"),
    };
    for p in [&files.private_key, &files.public_key] {
        if p.symlink_metadata().is_ok() {
            return Err(Error::Exists { path: p.clone() });
        }
    }
    let key = SigningKey::generate()?;
    let private_pem = key.to_encrypted_pem(password)?;
    let public_pem = key.public_key().to_pem();
    write_new(&files.private_key, private_pem.as_bytes(), 0o600)?;
    if let Err(e) = write_new(&files.public_key, public_pem.as_bytes(), 0o644) {
        let _ = std::fs::remove_file(&files.private_key);
        return Err(e);
    }
    Ok(files)
}

/// Creates `path` (never replacing a file) with `mode` and writes `data`; removes it again
/// when writing fails.
fn write_new(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Exists {
                path: path.to_path_buf(),
            }
        } else {
            io(e)
        }
    })?;
    if let Err(e) = f.write_all(data).and_then(|()| f.sync_all()) {
        drop(f);
        let _ = std::fs::remove_file(path);
        return Err(io(e));
    }
    Ok(())
}

/// "the key K" or "any of the keys K1, K2", for error messages.
pub(crate) fn key_names(keys: &[PublicKey]) -> String {
    let names: Vec<&str> = keys.iter().map(PublicKey::name).collect();
    if names.len() == 1 {
        format!("the key {}", names[0])
    } else {
        format!("any of the keys {}", names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_round_trip_and_signatures() {
        let key = SigningKey::generate().expect("generate");
        let pem = key.to_encrypted_pem(b"secret").expect("encrypt");
        assert!(pem.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
        let (_, body) = pem::decode(pem.as_bytes()).expect("pem");
        let env: serde_json::Value = serde_json::from_slice(&body).expect("json envelope");
        assert_eq!(env["kdf"]["name"], "scrypt");
        assert_eq!(env["kdf"]["params"]["N"], 65536);
        assert_eq!(env["cipher"]["name"], "nacl/secretbox");

        let back = SigningKey::from_encrypted_pem(pem.as_bytes(), b"secret", "k").expect("decrypt");
        assert_eq!(back.public_key().der(), key.public_key().der());
        let sig = back.sign(b"message").expect("sign");
        assert!(key.public_key().verify(b"message", &sig));
        assert!(!key.public_key().verify(b"messagE", &sig));
        let other = SigningKey::generate().expect("generate");
        assert!(!other.public_key().verify(b"message", &sig));

        let err = SigningKey::from_encrypted_pem(pem.as_bytes(), b"wrong", "my.key").unwrap_err();
        assert!(matches!(err, Error::WrongPassphrase { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            "wrong passphrase for my.key (or the key file is damaged)"
        );

        let public = PublicKey::from_pem(key.public_key().to_pem().as_bytes(), "p").expect("pub");
        assert_eq!(public.der(), key.public_key().der());
    }

    #[test]
    fn empty_password_and_old_label() {
        let key = SigningKey::generate().expect("generate");
        let pem = key.to_encrypted_pem(b"").expect("encrypt");
        let old = pem.replace(SIGSTORE_PRIVATE_KEY_PEM, COSIGN_PRIVATE_KEY_PEM);
        let back = SigningKey::from_encrypted_pem(old.as_bytes(), b"", "k").expect("decrypt");
        assert_eq!(back.public_key().der(), key.public_key().der());
    }

    #[test]
    fn refuses_wrong_kinds() {
        let key = SigningKey::generate().expect("generate");
        let public_pem = key.public_key().to_pem();
        let err = SigningKey::from_encrypted_pem(public_pem.as_bytes(), b"", "a.key").unwrap_err();
        assert!(err.to_string().contains("found 'PUBLIC KEY'"), "{err}");
        let private_pem = key.to_encrypted_pem(b"").expect("encrypt");
        assert!(PublicKey::from_pem(private_pem.as_bytes(), "a.pub").is_err());
        // A key envelope with parameters outside sigstore's sets is refused before the KDF runs.
        let (_, body) = pem::decode(private_pem.as_bytes()).expect("pem");
        let mut env: serde_json::Value = serde_json::from_slice(&body).expect("json");
        env["kdf"]["params"]["N"] = serde_json::json!(1u64 << 30);
        let bad = pem::encode(SIGSTORE_PRIVATE_KEY_PEM, env.to_string().as_bytes());
        let err = SigningKey::from_encrypted_pem(bad.as_bytes(), b"", "a.key").unwrap_err();
        assert!(
            err.to_string().contains("unsupported scrypt parameters"),
            "{err}"
        );
        assert!(PublicKey::from_der(b"\x30\x03\x02\x01\x01", "x").is_err());
    }

    #[test]
    fn key_files_are_never_overwritten() {
        let dir = tempfile::tempdir().expect("tmp");
        let prefix = dir.path().join("cosign");
        let files = write_key_pair(&prefix, b"pw").expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&files.private_key)
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let before = std::fs::read(&files.private_key).expect("read");
        let err = write_key_pair(&prefix, b"pw").unwrap_err();
        assert!(matches!(err, Error::Exists { .. }), "{err}");
        assert_eq!(std::fs::read(&files.private_key).expect("read"), before);
        let key = load_signing_key(&files.private_key, b"pw").expect("load");
        let public = load_public_key(&files.public_key).expect("load pub");
        assert_eq!(key.public_key().der(), public.der());
        let missing = load_public_key(&dir.path().join("missing.pub")).unwrap_err();
        assert!(missing.to_string().contains("missing.pub"), "{missing}");
    }
}
