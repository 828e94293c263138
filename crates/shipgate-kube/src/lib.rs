//! Small Kubernetes client helpers shared by shipgate's cluster-facing commands
//! (`shipgate admission audit`, later the GitOps agent).
//!
//! * [`client`]: a [`kube::Client`] from an explicit kubeconfig file/context, or inferred
//!   (`$KUBECONFIG`, `~/.kube/config`, in-cluster service account). TLS is always verified:
//!   a kubeconfig with `insecure-skip-tls-verify: true` is refused unless the caller opts in.
//! * [`list_all_objects`]: every object of every listable kind the server serves (via
//!   discovery), paginated, optionally restricted to namespaces, with per-kind errors
//!   collected rather than aborting (RBAC often forbids a few kinds).
//!
//! Deliberately not here: applying, diffing or watching (the GitOps crate's job), policy
//! evaluation (shipgate-policy), printing.
#![warn(clippy::print_stdout, clippy::print_stderr)]

use std::path::Path;

use kube::api::{Api, DynamicObject, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::{ApiCapabilities, ApiResource, Discovery, Scope, verbs};

/// Errors from the Kubernetes helpers.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// The kubeconfig could not be read or parsed.
    #[error("reading kubeconfig {path}: {source}")]
    Kubeconfig {
        /// The file (or "inferred").
        path: String,
        /// The cause.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// No usable configuration was found.
    #[error("no Kubernetes configuration found (set KUBECONFIG or pass --kubeconfig): {0}")]
    Infer(#[source] kube::config::InferConfigError),
    /// The kubeconfig disables TLS verification.
    #[error(
        "kubeconfig cluster {0:?} sets insecure-skip-tls-verify; refusing (TLS must be verified)"
    )]
    InsecureTls(String),
    /// The client could not be built or a request failed.
    #[error("{what}: {source}")]
    Api {
        /// What was being done.
        what: String,
        /// The kube error.
        #[source]
        source: kube::Error,
    },
}

/// Where to get cluster credentials from.
#[derive(Clone, Debug, Default)]
pub struct ClientOptions<'a> {
    /// An explicit kubeconfig file; `None` infers (`$KUBECONFIG`, `~/.kube/config`, in-cluster).
    pub kubeconfig: Option<&'a Path>,
    /// A context name; `None` uses `current-context`.
    pub context: Option<&'a str>,
    /// Allow `insecure-skip-tls-verify` (off by default; only for throw-away clusters).
    pub allow_insecure_tls: bool,
}

/// Builds a client with verified TLS.
pub async fn client(opts: &ClientOptions<'_>) -> Result<kube::Client, KubeError> {
    let kco = KubeConfigOptions {
        context: opts.context.map(str::to_owned),
        ..Default::default()
    };
    let config = match opts.kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(path).map_err(|source| KubeError::Kubeconfig {
                path: path.display().to_string(),
                source,
            })?;
            config_from(kc, &kco).await?
        }
        None => match opts.context {
            Some(_) => {
                let kc = Kubeconfig::read().map_err(|source| KubeError::Kubeconfig {
                    path: "$KUBECONFIG or ~/.kube/config".into(),
                    source,
                })?;
                config_from(kc, &kco).await?
            }
            None => kube::Config::infer().await.map_err(KubeError::Infer)?,
        },
    };
    if config.accept_invalid_certs && !opts.allow_insecure_tls {
        return Err(KubeError::InsecureTls(config.cluster_url.to_string()));
    }
    kube::Client::try_from(config).map_err(|source| KubeError::Api {
        what: "building the Kubernetes client".into(),
        source,
    })
}

/// Builds a client from kubeconfig YAML held in memory (credentials inline).
pub async fn client_from_yaml(yaml: &str) -> Result<kube::Client, KubeError> {
    let kc = Kubeconfig::from_yaml(yaml).map_err(|source| KubeError::Kubeconfig {
        path: "<inline>".into(),
        source,
    })?;
    let config = config_from(kc, &KubeConfigOptions::default()).await?;
    if config.accept_invalid_certs {
        return Err(KubeError::InsecureTls(config.cluster_url.to_string()));
    }
    kube::Client::try_from(config).map_err(|source| KubeError::Api {
        what: "building the Kubernetes client".into(),
        source,
    })
}

async fn config_from(kc: Kubeconfig, opts: &KubeConfigOptions) -> Result<kube::Config, KubeError> {
    kube::Config::from_custom_kubeconfig(kc, opts)
        .await
        .map_err(|source| KubeError::Kubeconfig {
            path: "kubeconfig".into(),
            source,
        })
}

/// What [`list_all_objects`] lists.
#[derive(Clone, Debug)]
pub struct ListScope {
    /// Only these namespaces (cluster-scoped kinds are still listed); empty = all.
    pub namespaces: Vec<String>,
    /// Resource plurals to skip (`group/plural` or bare `plural` for the core group).
    pub skip_resources: Vec<String>,
    /// Page size for list calls.
    pub page_size: u32,
}

impl Default for ListScope {
    fn default() -> Self {
        Self {
            namespaces: Vec::new(),
            // High-churn or derived kinds that policies never target and that only slow audits.
            skip_resources: [
                "events",
                "events.k8s.io/events",
                "coordination.k8s.io/leases",
                "componentstatuses",
                "bindings",
                "authentication.k8s.io/tokenreviews",
            ]
            .map(String::from)
            .to_vec(),
            page_size: 500,
        }
    }
}

/// One listed object with the resource it came from.
#[derive(Clone, Debug)]
pub struct ListedObject {
    /// The API resource (group, version, kind, plural).
    pub resource: ApiResource,
    /// The object, with `apiVersion`/`kind` filled in.
    pub object: DynamicObject,
}

/// A kind that could not be listed (forbidden, gone, timeout); the listing continues.
#[derive(Debug)]
pub struct ListFailure {
    /// `group/version/plural`.
    pub resource: String,
    /// The cause.
    pub error: KubeError,
}

fn resource_key(ar: &ApiResource) -> String {
    if ar.group.is_empty() {
        ar.plural.clone()
    } else {
        format!("{}/{}", ar.group, ar.plural)
    }
}

/// The listable kinds the server serves, at their preferred versions.
pub async fn listable_resources(
    client: &kube::Client,
    scope: &ListScope,
) -> Result<Vec<(ApiResource, ApiCapabilities)>, KubeError> {
    let discovery = Discovery::new(client.clone())
        .run()
        .await
        .map_err(|source| KubeError::Api {
            what: "API discovery".into(),
            source,
        })?;
    let mut out = Vec::new();
    for group in discovery.groups() {
        for (ar, caps) in group.recommended_resources() {
            if !caps.supports_operation(verbs::LIST) || ar.plural.contains('/') {
                continue;
            }
            if scope.skip_resources.iter().any(|s| *s == resource_key(&ar)) {
                continue;
            }
            out.push((ar, caps));
        }
    }
    Ok(out)
}

/// Lists every object of every listable kind, paginated. Per-kind failures are returned
/// alongside the objects instead of aborting the listing.
pub async fn list_all_objects(
    client: &kube::Client,
    scope: &ListScope,
) -> Result<(Vec<ListedObject>, Vec<ListFailure>), KubeError> {
    let mut objects = Vec::new();
    let mut failures = Vec::new();
    for (ar, caps) in listable_resources(client, scope).await? {
        let apis: Vec<Api<DynamicObject>> =
            if caps.scope == Scope::Namespaced && !scope.namespaces.is_empty() {
                scope
                    .namespaces
                    .iter()
                    .map(|ns| Api::namespaced_with(client.clone(), ns, &ar))
                    .collect()
            } else {
                vec![Api::all_with(client.clone(), &ar)]
            };
        for api in apis {
            if let Err(error) = list_paged(&api, &ar, scope.page_size, &mut objects).await {
                failures.push(ListFailure {
                    resource: format!("{}/{}", ar.api_version, ar.plural),
                    error,
                });
            }
        }
    }
    Ok((objects, failures))
}

async fn list_paged(
    api: &Api<DynamicObject>,
    ar: &ApiResource,
    page_size: u32,
    out: &mut Vec<ListedObject>,
) -> Result<(), KubeError> {
    let mut params = ListParams::default().limit(page_size);
    loop {
        let page = api.list(&params).await.map_err(|source| KubeError::Api {
            what: format!("listing {}/{}", ar.api_version, ar.plural),
            source,
        })?;
        for mut object in page.items {
            // List items come without apiVersion/kind; policies need them.
            object.types = Some(kube::api::TypeMeta {
                api_version: ar.api_version.clone(),
                kind: ar.kind.clone(),
            });
            out.push(ListedObject {
                resource: ar.clone(),
                object,
            });
        }
        match page.metadata.continue_ {
            Some(token) if !token.is_empty() => params = params.continue_token(&token),
            _ => return Ok(()),
        }
    }
}
