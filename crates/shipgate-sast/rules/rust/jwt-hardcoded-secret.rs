use jsonwebtoken::{DecodingKey, EncodingKey};

fn keys(secret: &[u8]) {
    // ruleid: rust.jwt-hardcoded-secret
    let a = EncodingKey::from_secret(b"super-secret-key");
    // ruleid: rust.jwt-hardcoded-secret
    let b = DecodingKey::from_secret("changeme".as_bytes());
    // ok: rust.jwt-hardcoded-secret
    let c = EncodingKey::from_secret(secret);
    // ok: rust.jwt-hardcoded-secret
    let d = DecodingKey::from_secret(std::env::var("JWT_SECRET").unwrap().as_bytes());
    let _ = (a, b, c, d);
}
