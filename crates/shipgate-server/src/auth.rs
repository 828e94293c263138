//! The ingest token: read once from a file, kept only as its sha256, compared in constant
//! time. The token itself is never logged or echoed.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::ServerError;

/// Shortest accepted token (bytes): a guessable token is no protection.
pub const MIN_TOKEN_LEN: usize = 16;

/// Reads the token file (surrounding whitespace ignored) and returns the token's sha256.
pub(crate) fn load_token(path: &Path) -> Result<[u8; 32], ServerError> {
    let err = |message: String| ServerError::Token {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(err("the token file is empty".into()));
    }
    if token.len() < MIN_TOKEN_LEN {
        return Err(err(format!(
            "the token is shorter than {MIN_TOKEN_LEN} bytes (use e.g. `openssl rand -hex 32`)"
        )));
    }
    if token.chars().any(char::is_whitespace) {
        return Err(err("the token contains whitespace".into()));
    }
    Ok(Sha256::digest(token.as_bytes()).into())
}

/// Whether an `Authorization` header value is `Bearer <the token>`. Both sides are hashed
/// first, so the comparison takes the same time whatever the length or content of the guess.
pub(crate) fn bearer_matches(header: Option<&[u8]>, digest: &[u8; 32]) -> bool {
    let Some(value) = header else {
        return false;
    };
    let Some(given) = value
        .strip_prefix(b"Bearer ")
        .or_else(|| value.strip_prefix(b"bearer "))
    else {
        return false;
    };
    let given: [u8; 32] = Sha256::digest(given).into();
    constant_time_eq(&given, digest)
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    // black_box keeps the optimiser from turning the fold into an early exit.
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_token_checks() {
        let d: [u8; 32] = Sha256::digest(b"s3cret-token-0123456789").into();
        assert!(bearer_matches(Some(b"Bearer s3cret-token-0123456789"), &d));
        assert!(!bearer_matches(Some(b"Bearer s3cret-token-012345678"), &d));
        assert!(!bearer_matches(Some(b"Basic s3cret-token-0123456789"), &d));
        assert!(!bearer_matches(Some(b"s3cret-token-0123456789"), &d));
        assert!(!bearer_matches(None, &d));
    }

    #[test]
    fn token_file_rules() {
        let dir = tempfile::tempdir().expect("temp dir");
        let f = dir.path().join("t");
        std::fs::write(&f, "short\n").expect("write");
        assert!(load_token(&f).is_err());
        std::fs::write(&f, "  \n").expect("write");
        assert!(load_token(&f).is_err());
        std::fs::write(&f, "0123456789abcdef0123\n").expect("write");
        let d = load_token(&f).expect("a good token");
        assert!(bearer_matches(Some(b"Bearer 0123456789abcdef0123"), &d));
        assert!(load_token(&dir.path().join("missing")).is_err());
    }
}
