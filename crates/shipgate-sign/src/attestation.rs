//! in-toto statements in DSSE envelopes, as `cosign attest` writes them, and the predicate
//! types cosign knows by short name.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Media type of an attestation layer: the DSSE envelope blob.
pub const DSSE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
/// `payloadType` of the envelope.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// Layer annotation naming the statement's predicate type.
pub const PREDICATE_TYPE_ANNOTATION: &str = "predicateType";
/// `_type` of the statements shipgate writes.
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
/// `_type` of the statements cosign v2 writes (accepted on verification).
pub const STATEMENT_V01: &str = "https://in-toto.io/Statement/v0.1";

/// cosign's `custom` predicate type: the predicate file becomes `{"Data": "<file text>",
/// "Timestamp": "<RFC 3339>"}`.
pub const COSIGN_CUSTOM: &str = "https://cosign.sigstore.dev/attestation/v1";
/// The shipgate scan report (`shipgate.report/v1` JSON as the predicate, unwrapped).
pub const SHIPGATE_SCAN_REPORT: &str = "https://shipgate.dev/attestation/scan-report/v1";

/// Short names of predicate types: cosign's `--type` names and shipgate's `scan-report`.
pub const PREDICATE_TYPES: &[(&str, &str)] = &[
    ("custom", COSIGN_CUSTOM),
    ("slsaprovenance", "https://slsa.dev/provenance/v0.2"),
    ("slsaprovenance02", "https://slsa.dev/provenance/v0.2"),
    ("slsaprovenance1", "https://slsa.dev/provenance/v1"),
    ("spdx", "https://spdx.dev/Document"),
    ("spdxjson", "https://spdx.dev/Document"),
    ("cyclonedx", "https://cyclonedx.org/bom"),
    ("link", "https://in-toto.io/Link/v1"),
    ("vuln", "https://cosign.sigstore.dev/attestation/vuln/v1"),
    ("openvex", "https://openvex.dev/ns"),
    ("scan-report", SHIPGATE_SCAN_REPORT),
];

/// A predicate type: a short name (see [`PREDICATE_TYPES`]) or a URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredicateType {
    /// The short name given, if one was.
    pub name: Option<String>,
    /// The URI written to `predicateType`.
    pub uri: String,
}

impl std::str::FromStr for PredicateType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        if let Some((name, uri)) = PREDICATE_TYPES.iter().find(|(n, _)| *n == s) {
            return Ok(PredicateType {
                name: Some((*name).to_string()),
                uri: (*uri).to_string(),
            });
        }
        let scheme_ok = s.split_once(':').is_some_and(|(scheme, rest)| {
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                && !rest.is_empty()
                && !rest.contains(char::is_whitespace)
        });
        if !scheme_ok {
            let names: Vec<&str> = PREDICATE_TYPES.iter().map(|(n, _)| *n).collect();
            return Err(Error::input(
                "--type",
                format!(
                    "'{s}' is neither a predicate type name ({}) nor a URI",
                    names.join(", ")
                ),
            ));
        }
        Ok(PredicateType {
            name: None,
            uri: s.to_string(),
        })
    }
}

impl PredicateType {
    /// The predicate for the statement from the predicate file's bytes, as cosign builds it:
    /// `custom` wraps the text in `{"Data", "Timestamp"}`, `spdx` is the text as a string,
    /// the SLSA provenance types must have their required fields, everything else must be
    /// JSON and is used as is. `what` names the file in errors.
    pub fn predicate_from_bytes(&self, bytes: &[u8], what: &str) -> Result<serde_json::Value> {
        let text = || {
            std::str::from_utf8(bytes)
                .map(str::to_string)
                .map_err(|_| Error::input(what, "the predicate is not UTF-8 text"))
        };
        if self.uri == COSIGN_CUSTOM {
            let now = jiff::Timestamp::now()
                .strftime("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            return Ok(serde_json::json!({"Data": text()?, "Timestamp": now}));
        }
        if self.name.as_deref() == Some("spdx") {
            return Ok(serde_json::Value::String(text()?));
        }
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| Error::input(what, format!("the predicate is not JSON: {e}")))?;
        let required: &[&str] = match self.uri.as_str() {
            "https://slsa.dev/provenance/v1" => &["buildDefinition", "runDetails"],
            "https://slsa.dev/provenance/v0.2" => &["builder", "buildType"],
            _ => &[],
        };
        if !required.is_empty() || self.uri == SHIPGATE_SCAN_REPORT {
            let Some(obj) = value.as_object() else {
                return Err(Error::input(
                    what,
                    format!("a {} predicate must be a JSON object", self.uri),
                ));
            };
            if let Some(missing) = required.iter().find(|f| !obj.contains_key(**f)) {
                return Err(Error::input(
                    what,
                    format!("provenance predicate: required field {missing} missing"),
                ));
            }
        }
        Ok(value)
    }
}

/// An in-toto statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// [`STATEMENT_V1`] (or [`STATEMENT_V01`] from cosign).
    #[serde(rename = "_type")]
    pub kind: String,
    /// The predicate type URI.
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// What the statement is about.
    pub subject: Vec<Subject>,
    /// The predicate itself.
    #[serde(default)]
    pub predicate: serde_json::Value,
}

/// A statement subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subject {
    /// `registry/repository` of the image.
    pub name: String,
    /// Algorithm → hex digest.
    pub digest: std::collections::BTreeMap<String, String>,
}

impl Statement {
    /// A v1 statement about `digest` (`sha256:<hex>`) in `repository`.
    pub fn new(
        repository: &str,
        digest: &str,
        predicate_type: &str,
        predicate: serde_json::Value,
    ) -> Self {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        Statement {
            kind: STATEMENT_V1.to_string(),
            predicate_type: predicate_type.to_string(),
            subject: vec![Subject {
                name: repository.to_string(),
                digest: [("sha256".to_string(), hex.to_string())]
                    .into_iter()
                    .collect(),
            }],
            predicate,
        }
    }

    /// Whether a subject has this `sha256:<hex>` digest.
    pub fn is_about(&self, digest: &str) -> bool {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.subject.iter().any(|s| {
            s.digest
                .get("sha256")
                .is_some_and(|d| d.eq_ignore_ascii_case(hex))
        })
    }

    /// The predicate with cosign's `custom` wrapping removed: for [`COSIGN_CUSTOM`] the
    /// `Data` string (parsed as JSON when it is JSON), otherwise the predicate.
    pub fn unwrapped_predicate(&self) -> serde_json::Value {
        if self.predicate_type == COSIGN_CUSTOM
            && let Some(data) = self.predicate.get("Data")
        {
            if let Some(s) = data.as_str() {
                return serde_json::from_str(s).unwrap_or_else(|_| data.clone());
            }
            return data.clone();
        }
        self.predicate.clone()
    }
}

/// A DSSE envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// [`IN_TOTO_PAYLOAD_TYPE`] for attestations.
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// Base64 of the statement.
    pub payload: String,
    /// Signatures over the PAE of type and payload.
    pub signatures: Vec<EnvelopeSignature>,
}

/// One DSSE signature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    /// Key id (cosign leaves it empty).
    #[serde(default)]
    pub keyid: String,
    /// Base64 ASN.1 DER ECDSA signature.
    pub sig: String,
}

/// DSSE pre-authentication encoding: `DSSEv1 SP len(type) SP type SP len(body) SP body`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// Sign `statement` into a DSSE envelope (payload type [`IN_TOTO_PAYLOAD_TYPE`]), as
/// `cosign attest` and `cosign attest-blob` do.
pub fn sign_statement(key: &crate::SigningKey, statement: &Statement) -> Result<Envelope> {
    use base64::Engine as _;
    let body =
        serde_json::to_vec(statement).map_err(|e| Error::input("statement", e.to_string()))?;
    let sig = key.sign(&pae(IN_TOTO_PAYLOAD_TYPE, &body))?;
    let b64 = base64::engine::general_purpose::STANDARD;
    Ok(Envelope {
        payload_type: IN_TOTO_PAYLOAD_TYPE.to_string(),
        payload: b64.encode(&body),
        signatures: vec![EnvelopeSignature {
            keyid: String::new(),
            sig: b64.encode(sig),
        }],
    })
}

/// Check a DSSE envelope: in-toto payload type, a signature that verifies with one of
/// `keys`, and an in-toto statement inside. Returns the statement and the key that verified
/// it; the error says what is wrong, in one line.
pub fn open_envelope<'k>(
    envelope: &Envelope,
    keys: &'k [crate::PublicKey],
) -> std::result::Result<(Statement, &'k crate::PublicKey), String> {
    use base64::Engine as _;
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(format!(
            "payload type is '{}', not '{IN_TOTO_PAYLOAD_TYPE}'",
            envelope.payload_type
        ));
    }
    let std_b64 = base64::engine::general_purpose::STANDARD;
    // DSSE allows either base64 alphabet.
    let body = std_b64
        .decode(envelope.payload.as_bytes())
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(envelope.payload.as_bytes()))
        .map_err(|e| format!("envelope payload is not base64: {e}"))?;
    let message = pae(&envelope.payload_type, &body);
    let key = envelope
        .signatures
        .iter()
        .filter_map(|s| std_b64.decode(s.sig.trim()).ok())
        .find_map(|sig| keys.iter().find(|k| k.verify(&message, &sig)))
        .ok_or_else(|| {
            format!(
                "signature invalid: none of its {} signature(s) verifies with {}",
                envelope.signatures.len(),
                crate::keys::key_names(keys)
            )
        })?;
    let statement: Statement = serde_json::from_slice(&body)
        .map_err(|e| format!("payload is not an in-toto statement: {e}"))?;
    if statement.kind != STATEMENT_V1 && statement.kind != STATEMENT_V01 {
        return Err(format!(
            "statement _type is '{}', not an in-toto statement",
            statement.kind
        ));
    }
    Ok((statement, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_spec() {
        // The example of the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    #[test]
    fn predicate_types() {
        let t: PredicateType = "cyclonedx".parse().expect("name");
        assert_eq!(t.uri, "https://cyclonedx.org/bom");
        let t: PredicateType = "https://example.com/p/v1".parse().expect("uri");
        assert_eq!(t.name, None);
        assert!("not a type".parse::<PredicateType>().is_err());
        assert!("cyclonedxx".parse::<PredicateType>().is_err());
    }

    #[test]
    fn predicates_are_built_as_cosign_does() {
        let custom: PredicateType = "custom".parse().expect("custom");
        let p = custom
            .predicate_from_bytes(b"hello\n", "f")
            .expect("custom");
        assert_eq!(p["Data"], "hello\n");
        assert!(p["Timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
        let s = Statement::new("r/app", "sha256:ab", COSIGN_CUSTOM, p);
        assert_eq!(s.unwrapped_predicate(), serde_json::json!("hello\n"));

        let bom: PredicateType = "cyclonedx".parse().expect("bom");
        let p = bom
            .predicate_from_bytes(br#"{"bomFormat":"CycloneDX"}"#, "f")
            .expect("bom");
        assert_eq!(p, serde_json::json!({"bomFormat": "CycloneDX"}));
        assert!(bom.predicate_from_bytes(b"not json", "f").is_err());

        let slsa: PredicateType = "slsaprovenance1".parse().expect("slsa");
        let err = slsa
            .predicate_from_bytes(br#"{"buildDefinition":{}}"#, "f")
            .unwrap_err();
        assert!(err.to_string().contains("runDetails"), "{err}");
        let spdx: PredicateType = "spdx".parse().expect("spdx");
        assert_eq!(
            spdx.predicate_from_bytes(b"SPDXVersion: 2.3", "f")
                .expect("spdx"),
            "SPDXVersion: 2.3"
        );
    }

    #[test]
    fn statement_format() {
        let s = Statement::new(
            "127.0.0.1:5000/app",
            "sha256:abcd",
            "https://cyclonedx.org/bom",
            serde_json::json!({}),
        );
        let text = serde_json::to_string(&s).expect("json");
        assert_eq!(
            text,
            r#"{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://cyclonedx.org/bom","subject":[{"name":"127.0.0.1:5000/app","digest":{"sha256":"abcd"}}],"predicate":{}}"#
        );
        assert!(s.is_about("sha256:abcd"));
        assert!(!s.is_about("sha256:abce"));
    }
}
