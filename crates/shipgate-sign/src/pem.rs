//! Minimal PEM: one labelled base64 block (RFC 7468), no headers.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Encodes `der` as a PEM block with 64-character lines.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The first PEM block of `text`: its label and decoded bytes.
pub(crate) fn decode(text: &[u8]) -> Result<(String, Vec<u8>), String> {
    let text =
        std::str::from_utf8(text).map_err(|_| "not a PEM file (not UTF-8 text)".to_string())?;
    let mut lines = text.lines().map(str::trim);
    let label = loop {
        match lines.next() {
            None => return Err("not a PEM file (no -----BEGIN line)".into()),
            Some(l) => {
                if let Some(rest) = l.strip_prefix("-----BEGIN ")
                    && let Some(label) = rest.strip_suffix("-----")
                {
                    break label.to_string();
                }
            }
        }
    };
    let end = format!("-----END {label}-----");
    let mut body = String::new();
    loop {
        match lines.next() {
            None => return Err(format!("PEM block {label} has no {end} line")),
            Some(l) if l == end => break,
            Some(l) if l.contains(':') => {
                return Err(format!(
                    "PEM block {label} has headers, which are not supported"
                ));
            }
            Some(l) => body.push_str(l),
        }
    }
    let der = STANDARD
        .decode(body.as_bytes())
        .map_err(|e| format!("PEM block {label} is not valid base64: {e}"))?;
    Ok((label, der))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let data: Vec<u8> = (0u8..=200).collect();
        let pem = encode("PUBLIC KEY", &data);
        assert!(pem.lines().all(|l| l.len() <= 64 || l.starts_with("-----")));
        let (label, back) = decode(pem.as_bytes()).expect("decode");
        assert_eq!(label, "PUBLIC KEY");
        assert_eq!(back, data);
    }

    #[test]
    fn bad_input() {
        assert!(decode(b"hello").is_err());
        assert!(decode(b"-----BEGIN X-----\nAAAA\n").is_err());
        assert!(decode(b"-----BEGIN X-----\n!!!!\n-----END X-----\n").is_err());
        assert!(decode(&[0xff, 0xfe]).is_err());
    }
}
