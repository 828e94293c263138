//! Candidate checks: entropy, checksums, structural validators and decoy detection.

use base64::Engine as _;

use crate::rules::Validator;

/// Shannon entropy of `data` in bits per byte.
pub fn shannon_entropy(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in data {
        counts[b as usize] += 1;
    }
    let len = data.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / len;
            -p * p.log2()
        })
        .sum()
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn base62_6(mut n: u32) -> [u8; 6] {
    let mut out = [b'0'; 6];
    let mut i = 6;
    while n > 0 && i > 0 {
        i -= 1;
        out[i] = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out
}

/// GitHub / npm token checksum: `<prefix>_<30 random><6 base62(crc32(random))>`.
pub(crate) fn crc32_token_ok(token: &[u8]) -> bool {
    let Some(us) = memchr::memrchr(b'_', token) else {
        return false;
    };
    let body = &token[us + 1..];
    if body.len() != 36 {
        return false;
    }
    let (random, check) = body.split_at(30);
    base62_6(crc32fast::hash(random)) == check
}

fn b64_any(data: &[u8]) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let trimmed: &[u8] = data;
    URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| URL_SAFE.decode(trimmed))
        .or_else(|_| STANDARD.decode(trimmed))
        .or_else(|_| STANDARD_NO_PAD.decode(trimmed))
        .ok()
}

fn jwt_ok(token: &[u8]) -> bool {
    let mut parts = token.split(|&b| b == b'.');
    let (Some(h), Some(p)) = (parts.next(), parts.next()) else {
        return false;
    };
    let Some(header) = b64_any(h) else {
        return false;
    };
    let Some(payload) = b64_any(p) else {
        return false;
    };
    let header: Result<serde_json::Value, _> = serde_json::from_slice(&header);
    let payload: Result<serde_json::Value, _> = serde_json::from_slice(&payload);
    matches!((header, payload), (Ok(h), Ok(p)) if h.get("alg").is_some() && p.is_object())
}

/// Names of things that hold a digest, an identifier or a reference rather than a secret.
const NON_SECRET_KEY_WORDS: &[&str] = &[
    "hash",
    "digest",
    "checksum",
    "sha1",
    "sha256",
    "sha512",
    "_sha",
    "integrity",
    "fingerprint",
    "etag",
    "commit",
    "revision",
    "public",
    "pubkey",
    "uuid",
    "_id",
    "-id",
    ".id",
    "_name",
    "-name",
    ".name",
    "_file",
    "_path",
    "_url",
    "_uri",
    "_type",
    "_field",
    "_header",
    "_length",
    "_len",
    "_bytes",
    "_count",
    "_size",
    "_ttl",
    "_expir",
    "_format",
    "_pattern",
    "_regex",
    "_prefix",
    "_version",
    "_env",
    "_ref",
    "nonce",
    "cache",
    "csrf",
    "placeholder",
];

/// Whether a generic `name = value` candidate looks like a real secret.
fn generic_ok(key: &[u8], value: &[u8]) -> bool {
    let key = String::from_utf8_lossy(key).to_ascii_lowercase();
    if NON_SECRET_KEY_WORDS.iter().any(|w| key.contains(w)) {
        return false;
    }
    let v = value;
    // UUIDs are identifiers.
    if is_uuid(v) {
        return false;
    }
    // Integrity strings and digests: `sha256-...`, `sha512:...`, `md5:`.
    let lower = String::from_utf8_lossy(v).to_ascii_lowercase();
    if [
        "sha1-", "sha256-", "sha384-", "sha512-", "sha256:", "sha512:", "md5:", "md5-",
    ]
    .iter()
    .any(|p| lower.starts_with(p))
    {
        return false;
    }
    // Environment lookups and code references: dotted identifiers without digits.
    let is_ident_path = v
        .iter()
        .all(|b| b.is_ascii_alphabetic() || *b == b'_' || *b == b'.' || *b == b'-')
        && !v.iter().any(u8::is_ascii_digit);
    if is_ident_path {
        return false;
    }
    for p in [
        "process.env",
        "os.environ",
        "os.getenv",
        "env.",
        "environ",
        "getenv",
        "config.",
        "settings.",
        "secrets.",
        "vars.",
        "self.",
        "this.",
    ] {
        if lower.starts_with(p) {
            return false;
        }
    }
    let has_digit = v.iter().any(u8::is_ascii_digit);
    let has_alpha = v.iter().any(u8::is_ascii_alphabetic);
    if key.contains("pass") || key.contains("pwd") {
        // Passwords: at least three of lower, upper, digit, symbol.
        let classes = [
            v.iter().any(u8::is_ascii_lowercase),
            v.iter().any(u8::is_ascii_uppercase),
            has_digit,
            v.iter().any(|b| !b.is_ascii_alphanumeric()),
        ];
        if classes.iter().filter(|c| **c).count() < 3 {
            return false;
        }
    } else if !(has_digit && has_alpha) {
        // Keys and tokens: must mix letters and digits (generated secrets almost always do).
        return false;
    }
    if looks_like_code_identifier(v) {
        return false;
    }
    // A path or a file name.
    if v.starts_with(b"/") || v.starts_with(b"./") || v.starts_with(b"~/") {
        return false;
    }
    true
}

/// `SOME_CONSTANT_1`, `snake_case_name2`, `CamelCaseType5915`: names in code, not secrets.
/// Random strings mix cases inside segments and rarely split into capitalised words.
fn looks_like_code_identifier(v: &[u8]) -> bool {
    if !v.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_') {
        return false;
    }
    // Snake case: every `_` segment is single-case.
    if v.contains(&b'_') {
        let single_case = |seg: &[u8]| {
            !(seg.iter().any(u8::is_ascii_uppercase) && seg.iter().any(u8::is_ascii_lowercase))
        };
        if v.split(|b| *b == b'_').all(single_case) {
            return true;
        }
    }
    // Camel case: starts upper, every upper followed by a lower or digit, at least 2 words.
    let words = v.iter().filter(|b| b.is_ascii_uppercase()).count();
    v.first().is_some_and(u8::is_ascii_uppercase)
        && words >= 2
        && v.windows(2)
            .all(|w| !(w[0].is_ascii_uppercase() && w[1].is_ascii_uppercase()))
}

fn is_uuid(v: &[u8]) -> bool {
    v.len() == 36
        && v.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Run a rule validator. `key` is the `key` capture group when the rule has one.
pub(crate) fn validate(v: Validator, secret: &[u8], key: Option<&[u8]>) -> bool {
    match v {
        Validator::GithubCrc32 | Validator::NpmCrc32 => crc32_token_ok(secret),
        Validator::Jwt => jwt_ok(secret),
        Validator::Base64Userpass => b64_any(secret).is_some_and(|d| {
            std::str::from_utf8(&d).is_ok_and(|s| {
                s.split_once(':')
                    .is_some_and(|(u, p)| !u.is_empty() && p.len() >= 4)
            })
        }),
        Validator::Base64Pem => {
            b64_any(secret).is_some_and(|d| memchr::memmem::find(&d, b"PRIVATE KEY").is_some())
        }
        Validator::Generic => generic_ok(key.unwrap_or(b""), secret),
    }
}

/// Substrings (lowercase) that mark a value as documentation or a placeholder.
const DECOY_WORDS: &[&str] = &[
    "example",
    "xxxx",
    "****",
    "....",
    "…",
    "placeholder",
    "redacted",
    "dummy",
    "sample",
    "changeme",
    "change_me",
    "change-me",
    "your_",
    "your-",
    "yourkey",
    "yourtoken",
    "insert",
    "replace",
    "fixme",
    "notreal",
    "not_real",
    "not-a-real",
    "fake",
    "<",
    ">",
    "${",
    "{{",
    "}}",
    "%(",
    "$(",
    "#{",
    "0123456789",
    "123456789",
    "abcdefghij",
    "qwerty",
];

/// Exact (lowercase) values that are placeholders, not secrets.
const DECOY_VALUES: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "pass",
    "user",
    "guest",
    "admin",
    "root",
    "test",
    "null",
    "none",
    "true",
    "false",
    "undefined",
];

/// Whether a candidate secret is a documented example, a placeholder, a template expression,
/// an environment reference, a masked value or otherwise obviously not a live secret.
pub(crate) fn is_decoy(secret: &[u8]) -> bool {
    let s = String::from_utf8_lossy(secret);
    let lower = s.to_ascii_lowercase();
    if DECOY_VALUES.contains(&lower.as_str()) {
        return true;
    }
    if DECOY_WORDS.iter().any(|w| lower.contains(w)) {
        return true;
    }
    // $VAR / %VAR% / @VAR@ style references.
    let t = lower.trim_matches(|c| c == '"' || c == '\'');
    if (t.starts_with('$')
        && t[1..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_'))
        || (t.starts_with('%') && t.ends_with('%'))
        || (t.starts_with('@') && t.ends_with('@') && t.len() > 2)
    {
        return true;
    }
    // Too little variety: `aaaaaaaa`, `abababab`, `00000000-0000-...`.
    let mut distinct = [false; 256];
    let mut n = 0;
    for &b in secret {
        if !distinct[b as usize] {
            distinct[b as usize] = true;
            n += 1;
        }
    }
    if secret.len() >= 8 && n <= 3 {
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_of_simple_strings() {
        assert_eq!(shannon_entropy(b""), 0.0);
        assert_eq!(shannon_entropy(b"aaaa"), 0.0);
        assert!((shannon_entropy(b"ab") - 1.0).abs() < 1e-9);
        assert!((shannon_entropy(b"abcd") - 2.0).abs() < 1e-9);
    }

    #[test]
    fn crc32_checksum_round_trip() {
        let random = b"AbCdEfGhIjKlMnOpQrStUvWxYz0123";
        let check = base62_6(crc32fast::hash(random));
        let mut tok = b"ghp_".to_vec();
        tok.extend_from_slice(random);
        tok.extend_from_slice(&check);
        assert!(crc32_token_ok(&tok));
        let last = tok.len() - 1;
        tok[last] = if tok[last] == b'a' { b'b' } else { b'a' };
        assert!(!crc32_token_ok(&tok));
        assert!(!crc32_token_ok(b"ghp_short"));
    }

    #[test]
    fn decoys() {
        for d in [
            "AKIAIOSFODNN7EXAMPLE",
            "xxxxxxxxxxxxxxxx",
            "<your-key>",
            "${API_KEY}",
            "{{ .Values.x }}",
            "********",
            "$DB_PASSWORD",
            "%API_KEY%",
            "password",
        ] {
            assert!(is_decoy(d.as_bytes()), "{d}");
        }
        assert!(!is_decoy(b"hT9x2LmQ7vPz4kWr8sYb"));
    }

    #[test]
    fn generic_validator() {
        assert!(generic_ok(b"api_key", b"hT9x2LmQ7vPz4kWr8sYb"));
        assert!(!generic_ok(
            b"api_key",
            b"4f1c2d3e-1111-4a2b-9c3d-0e1f2a3b4c5d"
        ));
        assert!(!generic_ok(b"token_hash", b"hT9x2LmQ7vPz4kWr8sYb"));
        assert!(!generic_ok(b"api_key", b"process.env.API_KEY"));
        assert!(!generic_ok(b"secret", b"sha512-abc123def456ghi789"));
        assert!(!generic_ok(b"secret_len", b"MLKEM512_SHARED_SECRET_LEN"));
        assert!(!generic_ok(b"key", b"EcPrivateKeyRfc5915Der"));
        assert!(looks_like_code_identifier(b"X25519_PRIVATE_KEY_LEN"));
        assert!(!looks_like_code_identifier(b"hT9x2LmQ7vPz4kWr8sYb"));
    }
}
