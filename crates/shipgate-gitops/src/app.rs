//! Applications as data: the `shipgate.gitops/v1` file format, validation and the `dependsOn`
//! graph.
//!
//! An application file holds one or more YAML documents (`---`), each an `Application`:
//!
//! ```yaml
//! apiVersion: shipgate.gitops/v1
//! kind: Application
//! metadata:
//!   name: web
//! spec:
//!   source:
//!     repoURL: https://git.example.com/platform/manifests.git
//!     revision: main            # branch, tag or commit SHA (default HEAD)
//!     path: apps/web            # default: the repository root
//!     kustomize: {}             # or helm: {...} or directory: {recurse: true}; default: detected
//!   destination:
//!     namespace: web
//!     createNamespace: true
//!   syncPolicy: {automated: true, prune: true, selfHeal: true, interval: 1m}
//!   dependsOn: [database]
//!   ignoreDifferences:
//!     - {group: apps, kind: Deployment, jsonPointers: [/spec/replicas]}
//! ```
//!
//! The same `spec` is the `spec` of the optional `Application` custom resource
//! (`gitops.shipgate.dev/v1`, see [`crate::crd`]).
//!
//! Guarantees: unknown fields are errors (a typo never silently changes behaviour); every
//! error names the file, line and column; names are DNS labels because they end up in labels
//! and object names; [`order`] returns a topological order or names the cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::GitopsError;

/// The `apiVersion` of application files.
pub const API_VERSION: &str = "shipgate.gitops/v1";
/// Files larger than this are refused (an application file is a few hundred bytes).
pub const MAX_APP_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// One application: where its desired state lives and how to sync it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Application {
    /// `shipgate.gitops/v1` (or `gitops.shipgate.dev/v1` for the custom resource).
    pub api_version: String,
    /// `Application`.
    pub kind: String,
    /// Name (and, for the custom resource, namespace).
    pub metadata: AppMetadata,
    /// What to sync, where, and how.
    pub spec: AppSpec,
    /// Where the application was defined (file or custom resource); not part of the format.
    #[serde(skip)]
    pub origin: String,
}

/// `metadata` of an application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppMetadata {
    /// The application's name: a DNS label (lower-case alphanumerics and `-`, at most 53
    /// characters so derived object names stay within Kubernetes' limits).
    pub name: String,
    /// Namespace of the custom resource (ignored in files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Labels (informational).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations (informational).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Any other metadata the API server adds to a custom resource (uid, resourceVersion...).
    #[serde(flatten, skip_serializing)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// `spec` of an application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppSpec {
    /// Where the manifests are.
    pub source: Source,
    /// Where they go.
    #[serde(default)]
    pub destination: Destination,
    /// Automation: sync on new commits, prune, self-heal.
    #[serde(default)]
    pub sync_policy: SyncPolicy,
    /// Applications that must be synced and healthy first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// Fields whose live value is never drift (and never reverted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_differences: Vec<IgnoreDifference>,
    /// The policy gate before sync.
    #[serde(default)]
    pub policy: AppPolicy,
}

/// `spec.source`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Source {
    /// Repository URL: `https://`, `http://` (loopback only), `ssh://`, `user@host:path` or
    /// `file://`.
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// Branch, tag, full ref or commit SHA. Default `HEAD` (the remote's default branch).
    #[serde(default = "default_revision")]
    pub revision: String,
    /// Directory inside the repository. Default: the root.
    #[serde(default = "default_path")]
    pub path: String,
    /// Plain YAML directory (the default when there is no kustomization or chart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<DirectorySource>,
    /// Kustomize (`kustomize build`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kustomize: Option<KustomizeSource>,
    /// Helm chart (`helm template`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm: Option<HelmSource>,
    /// Credentials for the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Credentials>,
    /// Commit signature verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifySpec>,
}

fn default_revision() -> String {
    "HEAD".into()
}

fn default_path() -> String {
    ".".into()
}

/// `spec.source.directory`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DirectorySource {
    /// Include subdirectories.
    #[serde(default)]
    pub recurse: bool,
}

/// `spec.source.kustomize` (no options yet: the kustomization says everything).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KustomizeSource {}

/// `spec.source.helm`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HelmSource {
    /// Release name. Default: the application name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_name: Option<String>,
    /// Values files, relative to the chart directory (they must stay inside the checkout).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub value_files: Vec<String>,
    /// Inline values (applied after the files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<serde_json::Value>,
    /// Render the chart's `crds/` too.
    #[serde(default, rename = "includeCRDs")]
    pub include_crds: bool,
}

/// `spec.source.credentials`: where the repository credentials are. The credential itself
/// (a map with `username` + `password`, or `sshPrivateKey` + optional `sshKnownHosts`) is
/// read at fetch time and never logged or recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Credentials {
    /// A Kubernetes Secret with the keys above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretRef>,
    /// A local YAML file with the keys above (mode 0600 recommended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
}

/// A reference to a Secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretRef {
    /// Secret name.
    pub name: String,
    /// Secret namespace. Default: the agent's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// `spec.source.verify`: only sync commits signed by allowed keys.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifySpec {
    /// An SSH `allowed_signers` file (see ssh-keygen(1)): principals and their public keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_signers: Option<PathBuf>,
    /// ASCII-armoured OpenPGP public keys; a commit signed by any of them is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpg_keys: Option<PathBuf>,
}

/// `spec.destination`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Destination {
    /// Namespace for namespaced objects that do not name one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Create the destination namespace if it does not exist.
    #[serde(default)]
    pub create_namespace: bool,
}

/// `spec.syncPolicy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyncPolicy {
    /// The agent syncs new commits by itself (otherwise only `gitops sync` does).
    #[serde(default)]
    pub automated: bool,
    /// Delete owned objects that left Git.
    #[serde(default)]
    pub prune: bool,
    /// Revert drift of owned objects.
    #[serde(default)]
    pub self_heal: bool,
    /// How often the agent looks for new commits (`30s`, `5m`, `1h`). Default 1m.
    #[serde(default = "default_interval", with = "duration_text")]
    pub interval: Duration,
    /// Seconds to wait for one wave to become healthy before the sync fails. Default 300.
    #[serde(default = "default_health_timeout", with = "duration_text")]
    pub health_timeout: Duration,
}

impl Default for SyncPolicy {
    fn default() -> Self {
        SyncPolicy {
            automated: false,
            prune: false,
            self_heal: false,
            interval: default_interval(),
            health_timeout: default_health_timeout(),
        }
    }
}

fn default_interval() -> Duration {
    Duration::from_secs(60)
}

fn default_health_timeout() -> Duration {
    Duration::from_secs(300)
}

/// `spec.ignoreDifferences[]`: a field of matching objects that is not compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IgnoreDifference {
    /// API group (empty for the core group). Absent: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind. Absent: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Object name. Absent: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Object namespace. Absent: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// JSON pointers (RFC 6901) of fields to ignore, e.g. `/spec/replicas`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub json_pointers: Vec<String>,
    /// Field managers whose changes are never drift (e.g. an autoscaler).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_fields_managers: Vec<String>,
}

impl IgnoreDifference {
    /// Does this rule apply to an object?
    pub fn matches(&self, group: &str, kind: &str, namespace: &str, name: &str) -> bool {
        self.group.as_deref().is_none_or(|g| g == group)
            && self.kind.as_deref().is_none_or(|k| k == kind)
            && self.name.as_deref().is_none_or(|n| n == name)
            && self.namespace.as_deref().is_none_or(|n| n == namespace)
    }
}

/// `spec.policy`: the gate before sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppPolicy {
    /// Block the sync on findings at or above this severity (`critical` ... `info`, or `none`
    /// to record findings without blocking). Default `high`.
    #[serde(default = "default_fail_on", with = "fail_on_text")]
    pub fail_on: shipgate_report::FailOn,
}

impl Default for AppPolicy {
    fn default() -> Self {
        AppPolicy {
            fail_on: default_fail_on(),
        }
    }
}

fn default_fail_on() -> shipgate_report::FailOn {
    shipgate_report::FailOn::default()
}

mod fail_on_text {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use shipgate_report::FailOn;

    pub fn serialize<S: Serializer>(f: &FailOn, s: S) -> Result<S::Ok, S::Error> {
        f.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<FailOn, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(|_| {
            serde::de::Error::custom(format!(
                "failOn {text:?}: use critical, high, medium, low, info or none"
            ))
        })
    }
}

/// `30s`, `5m`, `1h30m`, `250ms`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("invalid duration {s:?} (use e.g. 30s, 5m, 1h)"));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("invalid duration {s:?}"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let d = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            _ => {
                return Err(format!(
                    "invalid duration unit in {s:?} (use ms, s, m or h)"
                ));
            }
        };
        total = total.saturating_add(d);
    }
    Ok(total)
}

/// Formats a duration the way [`parse_duration`] reads it.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) {
        format!("{ms}ms")
    } else if ms.is_multiple_of(3_600_000) && ms > 0 {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) && ms > 0 {
        format!("{}m", ms / 60_000)
    } else {
        format!("{}s", ms / 1000)
    }
}

mod duration_text {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_duration(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Text {
            Secs(u64),
            Text(String),
        }
        match Text::deserialize(d)? {
            Text::Secs(n) => Ok(Duration::from_secs(n)),
            Text::Text(t) => super::parse_duration(&t).map_err(serde::de::Error::custom),
        }
    }
}

impl Application {
    /// The application's name.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// Checks what serde cannot: names, URLs, paths, one renderer at most.
    pub fn validate(&self) -> Result<(), String> {
        if self.api_version != API_VERSION && self.api_version != crate::crd::API_VERSION {
            return Err(format!(
                "apiVersion must be {API_VERSION} (or {} for the custom resource), not {:?}",
                crate::crd::API_VERSION,
                self.api_version
            ));
        }
        if self.kind != "Application" {
            return Err(format!("kind must be Application, not {:?}", self.kind));
        }
        check_dns_label("metadata.name", &self.metadata.name, 53)?;
        let src = &self.spec.source;
        if src.repo_url.trim().is_empty() {
            return Err("spec.source.repoURL is empty".into());
        }
        check_repo_url(&src.repo_url)?;
        if src.revision.trim().is_empty() || src.revision.starts_with('-') {
            return Err(format!(
                "spec.source.revision {:?} is not valid",
                src.revision
            ));
        }
        check_relative_path("spec.source.path", &src.path)?;
        let renderers = [
            src.directory.is_some(),
            src.kustomize.is_some(),
            src.helm.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if renderers > 1 {
            return Err("spec.source: give at most one of directory, kustomize, helm".into());
        }
        if let Some(h) = &src.helm {
            for f in &h.value_files {
                check_relative_path("spec.source.helm.valueFiles[]", f)?;
            }
            if let Some(r) = &h.release_name {
                check_dns_label("spec.source.helm.releaseName", r, 53)?;
            }
        }
        if let Some(c) = &src.credentials
            && c.secret_ref.is_some() == c.file.is_some()
        {
            return Err("spec.source.credentials: give exactly one of secretRef, file".into());
        }
        if let Some(v) = &src.verify
            && v.allowed_signers.is_none()
            && v.gpg_keys.is_none()
        {
            return Err("spec.source.verify: give allowedSigners and/or gpgKeys".into());
        }
        if let Some(ns) = &self.spec.destination.namespace {
            check_dns_label("spec.destination.namespace", ns, 63)?;
        }
        for d in &self.spec.depends_on {
            check_dns_label("spec.dependsOn[]", d, 53)?;
            if d == &self.metadata.name {
                return Err(format!("spec.dependsOn: {d} depends on itself"));
            }
        }
        for ig in &self.spec.ignore_differences {
            for p in &ig.json_pointers {
                if !p.starts_with('/') {
                    return Err(format!(
                        "spec.ignoreDifferences: {p:?} is not a JSON pointer (start with /)"
                    ));
                }
            }
        }
        if self.spec.sync_policy.interval < Duration::from_secs(1) {
            return Err("spec.syncPolicy.interval must be at least 1s".into());
        }
        Ok(())
    }
}

fn check_dns_label(field: &str, s: &str, max: usize) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{field} {s:?} must be a DNS label: lower-case letters, digits and '-', at most {max} characters"
        ))
    }
}

fn check_relative_path(field: &str, p: &str) -> Result<(), String> {
    let path = Path::new(p);
    if path.is_absolute()
        || path
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(format!(
            "{field} {p:?} must be relative and stay inside the repository (no '..')"
        ));
    }
    Ok(())
}

fn check_repo_url(url: &str) -> Result<(), String> {
    if url.starts_with('-') || url.contains(['\n', '\r', '\0']) {
        return Err(format!("spec.source.repoURL {url:?} is not a URL"));
    }
    let scheme = url.split_once("://").map(|(s, _)| s);
    match scheme {
        Some("https" | "ssh" | "file" | "git+ssh") => Ok(()),
        Some("http") => {
            let host = url["http://".len()..]
                .split(['/', ':'])
                .next()
                .unwrap_or_default();
            let host = host.rsplit('@').next().unwrap_or(host);
            if matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
                Ok(())
            } else {
                Err(format!(
                    "spec.source.repoURL {url:?}: plain http is only allowed to loopback; use https"
                ))
            }
        }
        Some(other) => Err(format!(
            "spec.source.repoURL {url:?}: unsupported scheme {other:?} (https, ssh, file)"
        )),
        // scp-like `git@host:path`.
        None if url.contains(':') && !url.starts_with('/') => Ok(()),
        None => Err(format!(
            "spec.source.repoURL {url:?}: give a URL (https://, ssh://, file://) or user@host:path"
        )),
    }
}

/// Applications loaded from files, with every error met.
#[derive(Debug, Default)]
pub struct LoadedApps {
    /// Valid applications, sorted by name.
    pub apps: Vec<Application>,
    /// Errors (file, line, column).
    pub errors: Vec<GitopsError>,
}

/// Parses one application file's text (`path` is used in errors only).
pub fn parse_str(text: &str, path: &str) -> LoadedApps {
    let mut out = LoadedApps::default();
    let docs: Result<Vec<serde_json::Value>, _> = serde_saphyr::from_multiple(text);
    // Typed parse per document so the error points into the document. serde-saphyr reports
    // positions relative to the whole input, which is what users see in their editor.
    match docs {
        Err(e) => out.errors.push(saphyr_error(path, &e)),
        Ok(values) => {
            let typed: Result<Vec<Application>, _> = serde_saphyr::from_multiple(text);
            match typed {
                Ok(apps) => {
                    for (i, mut app) in apps.into_iter().enumerate() {
                        app.origin = path.to_string();
                        match app.validate() {
                            Ok(()) => out.apps.push(app),
                            Err(message) => out.errors.push(GitopsError::AppFile {
                                path: path.to_string(),
                                line: doc_line(text, i),
                                column: 1,
                                message: format!("application {}: {message}", app.metadata.name),
                            }),
                        }
                    }
                }
                Err(e) => {
                    // Not every document is wrong; keep the good ones.
                    let err = saphyr_error(path, &e);
                    let mut bad_docs = 0;
                    for (i, doc) in values.into_iter().enumerate() {
                        if doc.is_null() {
                            continue;
                        }
                        match serde_json::from_value::<Application>(doc) {
                            Ok(mut app) => {
                                app.origin = path.to_string();
                                match app.validate() {
                                    Ok(()) => out.apps.push(app),
                                    Err(message) => out.errors.push(GitopsError::AppFile {
                                        path: path.to_string(),
                                        line: doc_line(text, i),
                                        column: 1,
                                        message: format!(
                                            "application {}: {message}",
                                            app.metadata.name
                                        ),
                                    }),
                                }
                            }
                            Err(_) => bad_docs += 1,
                        }
                    }
                    if bad_docs > 0 {
                        out.errors.push(err);
                    }
                }
            }
        }
    }
    out.apps
        .sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    out
}

/// The 1-based line where document `index` starts (best effort, for validation errors).
fn doc_line(text: &str, index: usize) -> u32 {
    if index == 0 {
        // The first document starts at its first non-blank, non-comment, non-`---` line.
        return text
            .lines()
            .position(|l| {
                let t = l.trim();
                !t.is_empty() && !t.starts_with('#') && t != "---"
            })
            .map_or(1, |i| i as u32 + 1);
    }
    let mut seen = 0;
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("---") {
            seen += 1;
            if seen == index + usize::from(text.trim_start().starts_with("---")) {
                return i as u32 + 2;
            }
        }
    }
    1
}

fn saphyr_error(path: &str, e: &serde_saphyr::Error) -> GitopsError {
    let loc = e.location();
    let line = loc.as_ref().map_or(0, |l| l.line() as u32);
    let column = loc.as_ref().map_or(0, |l| l.column() as u32);
    let first = e.to_string().lines().next().unwrap_or_default().to_string();
    GitopsError::AppFile {
        path: path.to_string(),
        line,
        column,
        message: strip_location_prefix(&first).to_string(),
    }
}

/// serde-saphyr starts messages with `error: line N column M: `; the position is reported in
/// its own fields.
fn strip_location_prefix(msg: &str) -> &str {
    let m = msg.strip_prefix("error: ").unwrap_or(msg);
    if let Some(rest) = m.strip_prefix("line ")
        && let Some(idx) = rest.find(": ")
        && rest[..idx]
            .split(' ')
            .all(|w| w == "column" || w.chars().all(|c| c.is_ascii_digit()))
    {
        return &rest[idx + 2..];
    }
    m
}

/// Loads application files and directories (`*.yaml`, `*.yml`, sorted, not recursive into
/// hidden directories). Duplicate names are errors.
pub fn load_paths<P: AsRef<Path>>(paths: &[P]) -> LoadedApps {
    let mut out = LoadedApps::default();
    for p in paths {
        let p = p.as_ref();
        let files = match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => {
                let mut files = Vec::new();
                collect_yaml(p, &mut files, &mut out.errors);
                files.sort();
                files
            }
            Ok(_) => vec![p.to_path_buf()],
            Err(e) => {
                out.errors.push(GitopsError::AppFile {
                    path: p.display().to_string(),
                    line: 0,
                    column: 0,
                    message: format!("cannot read: {e}"),
                });
                continue;
            }
        };
        for f in files {
            let shown = f.display().to_string();
            match read_limited(&f) {
                Ok(text) => {
                    let loaded = parse_str(&text, &shown);
                    out.apps.extend(loaded.apps);
                    out.errors.extend(loaded.errors);
                }
                Err(message) => out.errors.push(GitopsError::AppFile {
                    path: shown,
                    line: 0,
                    column: 0,
                    message,
                }),
            }
        }
    }
    dedupe(&mut out);
    out
}

/// Removes duplicate names (each duplicate is an error naming both places).
pub fn dedupe(out: &mut LoadedApps) {
    out.apps
        .sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut keep = Vec::with_capacity(out.apps.len());
    for app in std::mem::take(&mut out.apps) {
        if let Some(first) = seen.get(&app.metadata.name) {
            out.errors.push(GitopsError::AppFile {
                path: app.origin.clone(),
                line: 0,
                column: 0,
                message: format!(
                    "application {} is defined twice (also in {first}); the second is ignored",
                    app.metadata.name
                ),
            });
            continue;
        }
        seen.insert(app.metadata.name.clone(), app.origin.clone());
        keep.push(app);
    }
    out.apps = keep;
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<GitopsError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(GitopsError::AppFile {
                path: dir.display().to_string(),
                line: 0,
                column: 0,
                message: format!("cannot read directory: {e}"),
            });
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        match entry.file_type() {
            Ok(t) if t.is_dir() => collect_yaml(&path, out, errors),
            Ok(_) => {
                if matches!(
                    path.extension().and_then(|e| e.to_str()),
                    Some("yaml" | "yml")
                ) {
                    out.push(path);
                }
            }
            Err(_) => {}
        }
    }
}

fn read_limited(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if meta.len() > MAX_APP_FILE_BYTES {
        return Err(format!(
            "{} bytes: larger than the {} byte limit for application files",
            meta.len(),
            MAX_APP_FILE_BYTES
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    String::from_utf8(bytes)
        .map_err(|e| format!("not UTF-8 (byte {})", e.utf8_error().valid_up_to()))
}

/// Orders applications so that every application comes after those it depends on; ties keep
/// name order. Returns the levels (each level's applications only depend on earlier levels,
/// so a level can be synced concurrently).
///
/// Errors: a `dependsOn` naming an unknown application, or a cycle (named in full, e.g.
/// `a -> b -> c -> a`).
pub fn order(apps: &[Application]) -> Result<Vec<Vec<String>>, GitopsError> {
    let names: BTreeSet<&str> = apps.iter().map(|a| a.name()).collect();
    let mut deps: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for a in apps {
        let entry = deps.entry(a.name()).or_default();
        for d in &a.spec.depends_on {
            if !names.contains(d.as_str()) {
                return Err(GitopsError::Graph(format!(
                    "application {} depends on {d}, which is not defined",
                    a.name()
                )));
            }
            entry.insert(d.as_str());
        }
    }
    if let Some(cycle) = find_cycle(&deps) {
        return Err(GitopsError::Graph(format!(
            "dependsOn cycle: {}",
            cycle.join(" -> ")
        )));
    }
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut levels = Vec::new();
    while done.len() < deps.len() {
        let level: Vec<&str> = deps
            .iter()
            .filter(|(n, ds)| !done.contains(*n) && ds.iter().all(|d| done.contains(d)))
            .map(|(n, _)| *n)
            .collect();
        if level.is_empty() {
            // Unreachable after find_cycle, but never loop forever on a logic error.
            return Err(GitopsError::Graph("dependsOn graph has a cycle".into()));
        }
        done.extend(level.iter().copied());
        levels.push(level.into_iter().map(String::from).collect());
    }
    Ok(levels)
}

fn find_cycle<'a>(deps: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Option<Vec<String>> {
    // Iterative DFS with colours; on a back edge, the stack from that node is the cycle.
    #[derive(Clone, Copy, PartialEq)]
    enum Colour {
        White,
        Grey,
        Black,
    }
    let mut colour: BTreeMap<&str, Colour> = deps.keys().map(|k| (*k, Colour::White)).collect();
    for &start in deps.keys() {
        if colour[start] != Colour::White {
            continue;
        }
        let mut stack: Vec<(&str, Vec<&str>)> =
            vec![(start, deps[start].iter().copied().collect())];
        colour.insert(start, Colour::Grey);
        while let Some((node, pending)) = stack.last_mut() {
            let node = *node;
            match pending.pop() {
                Some(next) => match colour.get(next).copied().unwrap_or(Colour::Black) {
                    Colour::White => {
                        colour.insert(next, Colour::Grey);
                        stack.push((next, deps[next].iter().copied().collect()));
                    }
                    Colour::Grey => {
                        let from = stack.iter().position(|(n, _)| *n == next).unwrap_or(0);
                        let mut cycle: Vec<String> =
                            stack[from..].iter().map(|(n, _)| n.to_string()).collect();
                        cycle.push(next.to_string());
                        return Some(cycle);
                    }
                    Colour::Black => {}
                },
                None => {
                    colour.insert(node, Colour::Black);
                    stack.pop();
                }
            }
        }
    }
    None
}

/// Every application `name` depends on, directly or not.
pub fn dependencies_of<'a>(apps: &'a [Application], name: &str) -> Vec<&'a str> {
    let by_name: BTreeMap<&str, &Application> = apps.iter().map(|a| (a.name(), a)).collect();
    let mut out = BTreeSet::new();
    let mut todo = vec![name];
    while let Some(n) = todo.pop() {
        if let Some(a) = by_name.get(n) {
            for d in &a.spec.depends_on {
                if out.insert(d.as_str()) {
                    todo.push(d.as_str());
                }
            }
        }
    }
    out.into_iter().collect()
}

/// Fuzz entry point: parsing arbitrary bytes never panics.
pub fn fuzz_parse(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let loaded = parse_str(text, "fuzz.yaml");
        let _ = order(&loaded.apps);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEB: &str = "apiVersion: shipgate.gitops/v1\nkind: Application\nmetadata:\n  name: web\nspec:\n  source:\n    repoURL: https://git.example.com/m.git\n    revision: main\n    path: apps/web\n  destination:\n    namespace: web\n  syncPolicy:\n    automated: true\n    prune: true\n    selfHeal: true\n    interval: 30s\n  dependsOn: [db]\n";

    fn app(name: &str, deps: &[&str]) -> Application {
        let text = format!(
            "apiVersion: shipgate.gitops/v1\nkind: Application\nmetadata: {{name: {name}}}\nspec:\n  source: {{repoURL: 'file:///r'}}\n  dependsOn: [{}]\n",
            deps.join(", ")
        );
        let l = parse_str(&text, "t.yaml");
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        l.apps.into_iter().next().expect("one app")
    }

    #[test]
    fn parses_a_full_application() {
        let l = parse_str(WEB, "apps.yaml");
        assert!(l.errors.is_empty(), "{:?}", l.errors);
        let a = &l.apps[0];
        assert_eq!(a.name(), "web");
        assert_eq!(a.spec.source.revision, "main");
        assert_eq!(a.spec.source.path, "apps/web");
        assert!(a.spec.sync_policy.self_heal);
        assert_eq!(a.spec.sync_policy.interval, Duration::from_secs(30));
        assert_eq!(a.spec.depends_on, vec!["db".to_string()]);
        assert_eq!(a.origin, "apps.yaml");
    }

    #[test]
    fn defaults_apply() {
        let l = parse_str(
            "apiVersion: shipgate.gitops/v1\nkind: Application\nmetadata: {name: a}\nspec:\n  source: {repoURL: 'https://h/r.git'}\n",
            "a.yaml",
        );
        let a = &l.apps[0];
        assert_eq!(a.spec.source.revision, "HEAD");
        assert_eq!(a.spec.source.path, ".");
        assert!(!a.spec.sync_policy.automated);
        assert_eq!(a.spec.sync_policy.interval, Duration::from_secs(60));
        assert_eq!(
            a.spec.policy.fail_on,
            shipgate_report::FailOn::AtLeast(shipgate_report::Severity::High)
        );
    }

    #[test]
    fn unknown_field_is_an_error_with_position() {
        let text = WEB.replace("selfHeal: true", "selfHael: true");
        let l = parse_str(&text, "apps.yaml");
        assert!(l.apps.is_empty());
        let e = l.errors[0].to_string();
        assert!(e.starts_with("apps.yaml:"), "{e}");
        assert!(e.contains("selfHael"), "{e}");
        match &l.errors[0] {
            GitopsError::AppFile { line, .. } => assert!(*line > 0, "{e}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn invalid_values_are_errors() {
        for (from, to, want) in [
            ("name: web", "name: Web_1", "DNS label"),
            ("path: apps/web", "path: ../etc", "inside the repository"),
            (
                "repoURL: https://git.example.com/m.git",
                "repoURL: http://git.example.com/m.git",
                "loopback",
            ),
            ("interval: 30s", "interval: 30x", "duration"),
            ("dependsOn: [db]", "dependsOn: [web]", "itself"),
        ] {
            let l = parse_str(&WEB.replace(from, to), "a.yaml");
            assert!(l.apps.is_empty(), "{to}");
            let e = l.errors.iter().map(|e| e.to_string()).collect::<String>();
            assert!(e.contains(want), "{to}: {e}");
        }
    }

    #[test]
    fn one_bad_document_keeps_the_others() {
        let text = format!(
            "{WEB}---\napiVersion: shipgate.gitops/v1\nkind: Application\nmetadata: {{name: db}}\nspec:\n  source: {{repoURL: 'https://h/r.git', bogus: 1}}\n"
        );
        let l = parse_str(&text, "a.yaml");
        assert_eq!(l.apps.len(), 1);
        assert_eq!(l.errors.len(), 1, "{:?}", l.errors);
    }

    #[test]
    fn invalid_yaml_is_an_error() {
        let l = parse_str("apiVersion: [\n", "bad.yaml");
        assert!(l.apps.is_empty());
        assert!(l.errors[0].to_string().starts_with("bad.yaml:"));
    }

    #[test]
    fn order_is_topological_in_levels() {
        let apps = vec![
            app("web", &["api"]),
            app("api", &["db", "cache"]),
            app("db", &[]),
            app("cache", &[]),
            app("docs", &[]),
        ];
        let levels = order(&apps).expect("a DAG");
        assert_eq!(
            levels,
            vec![
                vec!["cache".to_string(), "db".into(), "docs".into()],
                vec!["api".to_string()],
                vec!["web".to_string()],
            ]
        );
        assert_eq!(dependencies_of(&apps, "web"), vec!["api", "cache", "db"]);
    }

    #[test]
    fn cycles_and_unknown_dependencies_are_named() {
        let apps = vec![app("a", &["b"]), app("b", &["c"]), app("c", &["a"])];
        let e = order(&apps).expect_err("a cycle").to_string();
        assert!(e.contains("a -> b -> c -> a"), "{e}");
        let apps = vec![app("a", &["ghost"])];
        let e = order(&apps).expect_err("unknown").to_string();
        assert!(e.contains("ghost"), "{e}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("m").is_err());
        assert_eq!(format_duration(Duration::from_secs(60)), "1m");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
    }

    #[test]
    fn fuzz_smoke() {
        // Seeded mutations of a valid file: never a panic.
        let mut seed: u64 = 0x5eed;
        let base = WEB.as_bytes();
        for _ in 0..2000 {
            let mut data = base.to_vec();
            for _ in 0..4 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let i = (seed as usize) % data.len();
                data[i] = (seed >> 32) as u8;
            }
            fuzz_parse(&data);
        }
    }
}
