use sha2::{Digest, Sha256};

fn digest(data: &[u8]) {
    // ruleid: rust.weak-hash
    let a = md5::compute(data);
    // ruleid: rust.weak-hash
    let b = sha1::Sha1::digest(data);
    // ok: rust.weak-hash
    let c = Sha256::digest(data);
    // ok: rust.weak-hash
    let d = blake3::hash(data);
    let _ = (a, b, c, d);
}
