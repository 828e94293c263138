//! The cluster side: kind resolution (cached discovery), server-side apply, get and delete of
//! arbitrary objects as JSON.
//!
//! Discovery is per group-version and cached: a sync of 1,000 objects of 3 kinds makes 3
//! discovery calls, not a full `Discovery::run` of every group. A kind the server does not
//! serve is looked up again after CRDs were applied ([`Cluster::forget`]).

use std::collections::HashMap;
use std::sync::Mutex;

use kube::api::{Api, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::discovery::{ApiCapabilities, ApiResource, Scope};
use serde_json::Value;

use crate::error::GitopsError;
use crate::objects::{FIELD_MANAGER, ObjectRef};

/// A kind as the API server serves it.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// Group, version, kind, plural.
    pub resource: ApiResource,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
}

/// Resolved API resources by (group, version, kind).
type KindCache = std::sync::Arc<Mutex<HashMap<(String, String, String), Resolved>>>;

/// A client plus a kind cache.
#[derive(Clone)]
pub struct Cluster {
    client: kube::Client,
    kinds: KindCache,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").finish_non_exhaustive()
    }
}

/// A readable message for a kube error: the API server's own message and reason, or the
/// transport error.
pub fn describe(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => {
            let mut m = s.message.clone();
            if m.is_empty() {
                m = "request failed".into();
            }
            if !s.reason.is_empty() {
                m.push_str(&format!(" ({}, HTTP {})", s.reason, s.code));
            } else if s.code != 0 {
                m.push_str(&format!(" (HTTP {})", s.code));
            }
            m
        }
        other => {
            // Transport errors: the chain says "connection refused" etc.
            let mut m = other.to_string();
            let mut src = std::error::Error::source(other);
            while let Some(s) = src {
                let t = s.to_string();
                if !m.contains(&t) {
                    m.push_str(": ");
                    m.push_str(&t);
                }
                src = s.source();
            }
            m
        }
    }
}

/// HTTP status of an API error (0 for transport errors).
pub fn status_code(e: &kube::Error) -> u16 {
    match e {
        kube::Error::Api(s) => s.code,
        _ => 0,
    }
}

impl Cluster {
    /// Wraps a client.
    pub fn new(client: kube::Client) -> Self {
        Cluster {
            client,
            kinds: Default::default(),
        }
    }

    /// The client.
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// Resolves a kind (cached).
    pub async fn resolve(
        &self,
        group: &str,
        version: &str,
        kind: &str,
    ) -> Result<Resolved, GitopsError> {
        let key = (group.to_string(), version.to_string(), kind.to_string());
        if let Some(r) = self.kinds.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(r);
        }
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (resource, caps): (ApiResource, ApiCapabilities) =
            kube::discovery::pinned_kind(&self.client, &gvk)
                .await
                .map_err(|e| {
                    let api_version = if group.is_empty() {
                        version.to_string()
                    } else {
                        format!("{group}/{version}")
                    };
                    GitopsError::Other(format!(
                        "the API server does not serve {api_version} {kind} ({}); is its CustomResourceDefinition installed?",
                        describe(&e)
                    ))
                })?;
        let r = Resolved {
            resource,
            namespaced: caps.scope == Scope::Namespaced,
        };
        if let Ok(mut m) = self.kinds.lock() {
            m.insert(key, r.clone());
        }
        Ok(r)
    }

    /// Forgets cached kinds of a group (after its CRD changed).
    pub fn forget(&self, group: &str) {
        if let Ok(mut m) = self.kinds.lock() {
            m.retain(|(g, _, _), _| g != group);
        }
    }

    async fn api(&self, id: &ObjectRef) -> Result<Api<DynamicObject>, GitopsError> {
        let r = self.resolve(&id.group, &id.version, &id.kind).await?;
        Ok(match (&id.namespace, r.namespaced) {
            (Some(ns), true) => Api::namespaced_with(self.client.clone(), ns, &r.resource),
            _ => Api::all_with(self.client.clone(), &r.resource),
        })
    }

    /// Server-side apply (forced: the application owns its fields), optionally as a dry run.
    /// Returns the object as the server stored it (or would store it).
    pub async fn apply(
        &self,
        id: &ObjectRef,
        manifest: &Value,
        dry_run: bool,
    ) -> Result<Value, GitopsError> {
        let api = self.api(id).await?;
        let mut pp = PatchParams::apply(FIELD_MANAGER).force();
        if dry_run {
            pp = pp.dry_run();
        }
        let obj = api
            .patch(&id.name, &pp, &Patch::Apply(manifest))
            .await
            .map_err(|e| GitopsError::Other(format!("apply {id}: {}", describe(&e))))?;
        serde_json::to_value(obj).map_err(|e| GitopsError::Other(format!("apply {id}: {e}")))
    }

    /// Reads an object; `None` when it does not exist.
    pub async fn get(&self, id: &ObjectRef) -> Result<Option<Value>, GitopsError> {
        let api = self.api(id).await?;
        match api.get_opt(&id.name).await {
            Ok(Some(o)) => {
                let mut v = serde_json::to_value(o)
                    .map_err(|e| GitopsError::Other(format!("read {id}: {e}")))?;
                // GET responses name the kind; keep apiVersion as the resolved version.
                if let Some(m) = v.as_object_mut() {
                    m.insert("apiVersion".into(), Value::String(id.api_version()));
                    m.insert("kind".into(), Value::String(id.kind.clone()));
                }
                Ok(Some(v))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(GitopsError::Other(format!("read {id}: {}", describe(&e)))),
        }
    }

    /// Deletes an object (background propagation); `false` when it was already gone.
    pub async fn delete(&self, id: &ObjectRef) -> Result<bool, GitopsError> {
        let api = self.api(id).await?;
        let dp = DeleteParams::background();
        match api.delete(&id.name, &dp).await {
            Ok(_) => Ok(true),
            Err(e) if status_code(&e) == 404 => Ok(false),
            Err(e) => Err(GitopsError::Other(format!("delete {id}: {}", describe(&e)))),
        }
    }
}
