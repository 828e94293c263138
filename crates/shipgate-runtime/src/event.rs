//! The parts of an `audit.k8s.io/v1` `Event` the rules read. Every field is optional: a
//! policy level decides what is present (`Metadata` has no `requestObject`).

use std::collections::BTreeMap;

use serde::Deserialize;

/// One audit event (one line of the log).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Event {
    /// `audit.k8s.io/v1`.
    pub api_version: String,
    /// `Event`.
    pub kind: String,
    /// `None`, `Metadata`, `Request` or `RequestResponse`.
    pub level: String,
    /// Unique per request; shared by the stages of one request.
    #[serde(rename = "auditID")]
    pub audit_id: String,
    /// `RequestReceived`, `ResponseStarted`, `ResponseComplete` or `Panic`.
    pub stage: String,
    /// The request path and query.
    #[serde(rename = "requestURI")]
    pub request_uri: String,
    /// Kubernetes verb (`get`, `list`, `create`, ...), or the HTTP verb for non-resource URLs.
    pub verb: String,
    /// The authenticated user.
    pub user: UserInfo,
    /// The user being impersonated, when the request impersonates.
    pub impersonated_user: Option<UserInfo>,
    /// Client addresses.
    #[serde(rename = "sourceIPs")]
    pub source_ips: Vec<String>,
    /// The client's user agent.
    pub user_agent: String,
    /// The object, for resource requests.
    pub object_ref: Option<ObjectRef>,
    /// The response status (code only is used).
    pub response_status: Option<ResponseStatus>,
    /// The request body (`Request` level and above).
    pub request_object: Option<serde_json::Value>,
    /// When the request was received (RFC 3339, microseconds).
    pub request_received_timestamp: Option<String>,
    /// When this stage was reached.
    pub stage_timestamp: Option<String>,
    /// Annotations (`authorization.k8s.io/decision`, `authorization.k8s.io/reason`, ...).
    pub annotations: BTreeMap<String, String>,
}

/// `user` / `impersonatedUser`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct UserInfo {
    /// The user name (`system:anonymous` for unauthenticated requests).
    pub username: String,
    /// Groups.
    pub groups: Vec<String>,
}

/// `objectRef`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ObjectRef {
    /// Resource (plural, lower case).
    pub resource: String,
    /// Namespace, for namespaced objects.
    pub namespace: Option<String>,
    /// Object name (absent for list/watch/create without a name).
    pub name: Option<String>,
    /// API group (empty for the core group).
    pub api_group: Option<String>,
    /// Subresource (`exec`, `attach`, `status`, ...).
    pub subresource: Option<String>,
}

/// `responseStatus`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ResponseStatus {
    /// HTTP status code.
    pub code: Option<u16>,
}

impl Event {
    /// The user the request acted as: the impersonated user if any, else the authenticated one.
    pub fn effective_user(&self) -> &str {
        match &self.impersonated_user {
            Some(u) if !u.username.is_empty() => &u.username,
            _ => &self.user.username,
        }
    }

    /// The user who impersonated, when the request impersonated someone.
    pub fn impersonator(&self) -> Option<&str> {
        self.impersonated_user
            .as_ref()
            .filter(|u| !u.username.is_empty())
            .map(|_| self.user.username.as_str())
    }

    /// The HTTP status code, if recorded.
    pub fn code(&self) -> Option<u16> {
        self.response_status.as_ref().and_then(|s| s.code)
    }

    /// Whether the authorizer allowed the request: the `authorization.k8s.io/decision`
    /// annotation when present, else a status code below 400 (or no status yet).
    pub fn authorized(&self) -> bool {
        match self
            .annotations
            .get("authorization.k8s.io/decision")
            .map(String::as_str)
        {
            Some("allow") => true,
            Some(_) => false,
            None => self.code().is_none_or(|c| c < 400),
        }
    }

    /// Whether the request succeeded (status code below 400).
    pub fn succeeded(&self) -> bool {
        self.code().is_some_and(|c| c < 400)
    }

    /// The timestamp of the event: the stage timestamp, else when it was received.
    pub fn timestamp(&self) -> Option<&str> {
        self.stage_timestamp
            .as_deref()
            .or(self.request_received_timestamp.as_deref())
    }

    /// Resource, with `/subresource` when there is one (`pods/exec`).
    pub fn resource(&self) -> String {
        match &self.object_ref {
            Some(o) => match o.subresource.as_deref().filter(|s| !s.is_empty()) {
                Some(s) => format!("{}/{s}", o.resource),
                None => o.resource.clone(),
            },
            None => String::new(),
        }
    }

    /// API group of the object (empty for core and non-resource requests).
    pub fn api_group(&self) -> &str {
        self.object_ref
            .as_ref()
            .and_then(|o| o.api_group.as_deref())
            .unwrap_or("")
    }
}
