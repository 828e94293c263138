//! AdmissionReview v1 parsing and response building.
//!
//! The request is kept as raw JSON (`AdmissionRequest::raw`) because Gatekeeper-style policies
//! see the whole request as `input.review`; the fields the server itself needs (uid, kind,
//! namespace, user, dryRun, the object's annotations) are extracted and validated up front.

use serde_json::{Map, Value, json};

/// The API version of the only AdmissionReview version served.
pub const ADMISSION_REVIEW_V1: &str = "admission.k8s.io/v1";

/// Why a request body is not a usable AdmissionReview (answered with HTTP 400).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReviewError {
    /// Not JSON.
    #[error("body is not valid JSON: {0}")]
    Json(String),
    /// Not `admission.k8s.io/v1` `AdmissionReview`.
    #[error(
        "expected apiVersion admission.k8s.io/v1 kind AdmissionReview, got {api_version:?} {kind:?} (register the webhook with admissionReviewVersions: [\"v1\"])"
    )]
    WrongType {
        /// The apiVersion sent.
        api_version: String,
        /// The kind sent.
        kind: String,
    },
    /// `request` missing or not an object.
    #[error("AdmissionReview has no request object")]
    NoRequest,
    /// A required request field is missing or has the wrong type.
    #[error("AdmissionReview request.{0} is missing or not a string")]
    Field(&'static str),
}

/// The group/version/kind of the object under review.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Gvk {
    /// API group ("" for core).
    pub group: String,
    /// Version.
    pub version: String,
    /// Kind.
    pub kind: String,
}

/// A parsed AdmissionReview v1 request.
#[derive(Clone, Debug, PartialEq)]
pub struct AdmissionRequest {
    /// `request.uid`, echoed in the response.
    pub uid: String,
    /// `request.kind`.
    pub kind: Gvk,
    /// `request.operation` (CREATE, UPDATE, DELETE, CONNECT).
    pub operation: String,
    /// `request.namespace` ("" for cluster-scoped objects).
    pub namespace: String,
    /// `request.name` (may be empty on CREATE with generateName).
    pub name: String,
    /// `request.userInfo.username`.
    pub username: String,
    /// `request.userInfo.groups`.
    pub groups: Vec<String>,
    /// `request.dryRun`.
    pub dry_run: bool,
    /// The whole `request` object as sent (Gatekeeper's `input.review`).
    pub raw: Value,
}

impl AdmissionRequest {
    /// `request.object` (absent on DELETE).
    pub fn object(&self) -> Option<&Value> {
        self.raw.get("object").filter(|o| o.is_object())
    }

    /// `request.oldObject` (UPDATE and DELETE).
    pub fn old_object(&self) -> Option<&Value> {
        self.raw.get("oldObject").filter(|o| o.is_object())
    }

    /// The object that carries annotations: `object`, else `oldObject` (DELETE).
    pub fn subject(&self) -> Option<&Value> {
        self.object().or_else(|| self.old_object())
    }

    /// An annotation of the object under review.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.subject()?
            .get("metadata")?
            .get("annotations")?
            .get(key)?
            .as_str()
    }

    /// Builds a request for an object that is not being admitted but audited (CREATE, no user).
    pub fn for_audit(object: Value) -> Self {
        let api_version = object
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g.to_owned(), v.to_owned()),
            None => (String::new(), api_version.to_owned()),
        };
        let kind = object
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let meta = object.get("metadata");
        let s = |k: &str| {
            meta.and_then(|m| m.get(k))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let (name, namespace) = (s("name"), s("namespace"));
        let raw = json!({
            "uid": "",
            "kind": {"group": group, "version": version, "kind": kind},
            "operation": "CREATE",
            "name": name,
            "namespace": namespace,
            "userInfo": {"username": "", "groups": []},
            "object": object,
            "dryRun": false,
        });
        Self {
            uid: String::new(),
            kind: Gvk {
                group,
                version,
                kind,
            },
            operation: "CREATE".into(),
            namespace,
            name,
            username: String::new(),
            groups: Vec::new(),
            dry_run: false,
            raw,
        }
    }
}

fn str_field<'a>(m: &'a Map<String, Value>, k: &'static str) -> Result<&'a str, ReviewError> {
    m.get(k)
        .and_then(Value::as_str)
        .ok_or(ReviewError::Field(k))
}

fn opt_str(m: &Map<String, Value>, k: &str) -> String {
    m.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Parses an AdmissionReview v1 body. Never panics, whatever the bytes.
pub fn parse_review(body: &[u8]) -> Result<AdmissionRequest, ReviewError> {
    let mut review: Value =
        serde_json::from_slice(body).map_err(|e| ReviewError::Json(e.to_string()))?;
    let api_version = review
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = review
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if api_version != ADMISSION_REVIEW_V1 || kind != "AdmissionReview" {
        return Err(ReviewError::WrongType {
            api_version: api_version.to_owned(),
            kind: kind.to_owned(),
        });
    }
    let raw = match review.get_mut("request").map(Value::take) {
        Some(r @ Value::Object(_)) => r,
        _ => return Err(ReviewError::NoRequest),
    };
    let m = raw.as_object().ok_or(ReviewError::NoRequest)?;
    let uid = str_field(m, "uid")?.to_owned();
    let operation = str_field(m, "operation")?.to_owned();
    let k = m
        .get("kind")
        .and_then(Value::as_object)
        .ok_or(ReviewError::Field("kind"))?;
    let kind = Gvk {
        group: opt_str(k, "group"),
        version: opt_str(k, "version"),
        kind: str_field(k, "kind")?.to_owned(),
    };
    let user = m.get("userInfo").and_then(Value::as_object);
    let username = user.map(|u| opt_str(u, "username")).unwrap_or_default();
    let groups = user
        .and_then(|u| u.get("groups"))
        .and_then(Value::as_array)
        .map(|g| {
            g.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Ok(AdmissionRequest {
        uid,
        kind,
        operation,
        namespace: opt_str(m, "namespace"),
        name: opt_str(m, "name"),
        username,
        groups,
        dry_run: m.get("dryRun").and_then(Value::as_bool).unwrap_or(false),
        raw,
    })
}

/// Builds the AdmissionReview v1 response body.
///
/// A denial carries HTTP-style code 403 and `message`; `warnings` are shown by kubectl and
/// client-go to the user whether or not the request is allowed.
pub fn response_body(
    uid: &str,
    allowed: bool,
    message: Option<&str>,
    warnings: &[String],
) -> Vec<u8> {
    let mut response = json!({ "uid": uid, "allowed": allowed });
    if let Some(msg) = message {
        response["status"] = if allowed {
            json!({ "message": msg })
        } else {
            json!({ "code": 403, "reason": "Forbidden", "message": msg })
        };
    }
    if !warnings.is_empty() {
        // The API server truncates long warnings; keep each short and bounded in number.
        let w: Vec<&str> = warnings.iter().take(64).map(|w| truncate(w, 512)).collect();
        response["warnings"] = json!(w);
    }
    let review = json!({
        "apiVersion": ADMISSION_REVIEW_V1,
        "kind": "AdmissionReview",
        "response": response,
    });
    serde_json::to_vec(&review).unwrap_or_default()
}

/// Truncates at a char boundary.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(req: Value) -> Vec<u8> {
        serde_json::to_vec(
            &json!({"apiVersion": ADMISSION_REVIEW_V1, "kind": "AdmissionReview", "request": req}),
        )
        .unwrap()
    }

    #[test]
    fn parses_a_pod_create() {
        let body = review(json!({
            "uid": "u1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "operation": "CREATE", "namespace": "ns", "name": "p",
            "userInfo": {"username": "alice", "groups": ["dev", "system:authenticated"]},
            "object": {"metadata": {"annotations": {"a": "b"}}}, "dryRun": true
        }));
        let r = parse_review(&body).unwrap();
        assert_eq!(r.uid, "u1");
        assert_eq!(r.kind.kind, "Pod");
        assert_eq!(r.username, "alice");
        assert_eq!(r.groups, ["dev", "system:authenticated"]);
        assert!(r.dry_run);
        assert_eq!(r.annotation("a"), Some("b"));
    }

    #[test]
    fn rejects_bad_reviews_with_reasons() {
        assert!(matches!(
            parse_review(b"{not json"),
            Err(ReviewError::Json(_))
        ));
        assert_eq!(
            parse_review(br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#),
            Err(ReviewError::NoRequest)
        );
        assert!(matches!(
            parse_review(br#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{}}"#),
            Err(ReviewError::WrongType { .. })
        ));
        assert_eq!(
            parse_review(&review(json!({"operation": "CREATE"}))),
            Err(ReviewError::Field("uid"))
        );
        assert_eq!(
            parse_review(&review(
                json!({"uid": "x", "operation": "CREATE", "kind": {}})
            )),
            Err(ReviewError::Field("kind"))
        );
    }

    #[test]
    fn response_shapes() {
        let deny: Value =
            serde_json::from_slice(&response_body("u", false, Some("no"), &[])).unwrap();
        assert_eq!(deny["response"]["allowed"], false);
        assert_eq!(deny["response"]["status"]["code"], 403);
        assert_eq!(deny["response"]["uid"], "u");
        let warn: Value =
            serde_json::from_slice(&response_body("u", true, None, &["careful".into()])).unwrap();
        assert_eq!(warn["response"]["warnings"][0], "careful");
        assert!(warn["response"].get("status").is_none());
    }

    #[test]
    fn audit_request_from_object() {
        let r = AdmissionRequest::for_audit(
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n"}}),
        );
        assert_eq!(
            r.kind,
            Gvk {
                group: "apps".into(),
                version: "v1".into(),
                kind: "Deployment".into()
            }
        );
        assert_eq!((r.name.as_str(), r.namespace.as_str()), ("d", "n"));
        assert_eq!(r.raw["object"]["kind"], "Deployment");
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
