//! Built-in rules: one file per rule, each with its own allowed and disallowed examples.
//!
//! A rule is a [`Rule`] value: metadata (id, severity, profile level, remediation, examples) and a
//! check function that appends [`Hit`]s (the offending field's path and a message naming the
//! container and field). [`crate::builtin`] runs them with the user's settings.

use crate::Severity;
use crate::object::K8sObject;
use crate::yaml::Seg;

mod allow_privilege_escalation;
mod apparmor;
mod automount_token;
mod capabilities_added;
mod capabilities_drop_all;
mod default_namespace;
mod host_namespaces;
mod host_path;
mod host_ports;
mod host_process;
mod image_digest;
mod image_latest_tag;
mod image_registry;
mod privileged;
mod probes_missing;
mod proc_mount;
mod rbac_wildcard;
mod resource_limits;
mod resource_requests;
mod run_as_non_root;
mod run_as_user_root;
mod seccomp_profile;
mod seccomp_unconfined;
mod selinux;
mod service_type;
mod sysctls;
mod volume_types;

/// Which profile first includes a rule. Profiles nest: `baseline` ⊂ `restricted` ⊂ `recommended`.
/// `OptIn` rules run only when enabled by name or by the setting they need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Pod Security Standards, baseline.
    Baseline,
    /// Pod Security Standards, restricted.
    Restricted,
    /// Good practice beyond the Pod Security Standards.
    Recommended,
    /// Off unless enabled (needs a setting such as `allowed_registries`).
    OptIn,
}

/// A fixture object for a rule, with the fields it must be reported at.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    /// One YAML document.
    pub yaml: &'static str,
    /// For each expected hit, a piece of the source line the hit must point at (empty: allowed).
    pub hits: &'static [&'static str],
}

/// Static description of a rule.
#[derive(Debug)]
pub struct RuleMeta {
    /// Stable kebab-case id.
    pub id: &'static str,
    /// Short title.
    pub title: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// Profile level.
    pub level: Level,
    /// What to do about a hit.
    pub remediation: &'static str,
    /// Examples that must produce no hit.
    pub allowed: &'static [Example],
    /// Examples that must produce exactly the listed hits.
    pub disallowed: &'static [Example],
}

/// One violation found by a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Path of the offending field within the object (or where the missing field belongs).
    pub path: Vec<Seg>,
    /// Message naming the container and field.
    pub message: String,
}

/// Options the check functions read.
#[derive(Debug, Clone, Default)]
pub struct RuleOptions {
    /// Image registries (prefixes) allowed; empty allows every registry.
    pub allowed_registries: Vec<String>,
    /// Service types that are forbidden.
    pub forbid_service_types: Vec<String>,
}

/// A check function.
pub type CheckFn = fn(&RuleOptions, &K8sObject, &mut Vec<Hit>);

/// A built-in rule.
#[derive(Debug)]
pub struct Rule {
    /// Metadata.
    pub meta: RuleMeta,
    /// The check.
    pub check: CheckFn,
}

/// Every built-in rule, in id order.
pub fn all() -> &'static [&'static Rule] {
    static ALL: &[&Rule] = &[
        &allow_privilege_escalation::RULE,
        &apparmor::RULE,
        &automount_token::RULE,
        &capabilities_added::RULE,
        &capabilities_drop_all::RULE,
        &default_namespace::RULE,
        &host_namespaces::RULE,
        &host_path::RULE,
        &host_ports::RULE,
        &host_process::RULE,
        &image_digest::RULE,
        &image_latest_tag::RULE,
        &image_registry::RULE,
        &privileged::RULE,
        &probes_missing::RULE,
        &proc_mount::RULE,
        &rbac_wildcard::RULE,
        &resource_limits::RULE,
        &resource_requests::RULE,
        &run_as_non_root::RULE,
        &run_as_user_root::RULE,
        &seccomp_profile::RULE,
        &seccomp_unconfined::RULE,
        &selinux::RULE,
        &service_type::RULE,
        &sysctls::RULE,
        &volume_types::RULE,
    ];
    ALL
}

/// Look a rule up by id.
pub fn by_id(id: &str) -> Option<&'static Rule> {
    all().iter().copied().find(|r| r.meta.id == id)
}

/// Split an image reference into (registry host or "", repository path, tag, digest).
/// Follows the Docker reference grammar: the first component is a registry when it contains a
/// `.` or `:` or is `localhost`; otherwise the image is on Docker Hub (`docker.io`).
pub(crate) fn parse_image(image: &str) -> ImageRef<'_> {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    let (registry, path) = match rest.split_once('/') {
        Some((first, p)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            (first, p)
        }
        _ => ("", rest),
    };
    // A tag is after the last ':' of the last path component.
    let last_slash = path.rfind('/').map_or(0, |i| i + 1);
    let (repo, tag) = match path[last_slash..].rfind(':') {
        Some(i) => (&path[..last_slash + i], Some(&path[last_slash + i + 1..])),
        None => (path, None),
    };
    ImageRef {
        registry,
        repo,
        tag,
        digest,
    }
}

/// The parts of an image reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ImageRef<'a> {
    /// Registry host, `""` when implicit (Docker Hub).
    pub registry: &'a str,
    /// Repository path.
    pub repo: &'a str,
    /// Tag, if any.
    pub tag: Option<&'a str>,
    /// Digest, if any.
    pub digest: Option<&'a str>,
}

#[cfg(test)]
mod tests;
