//! Leader election through a `coordination.k8s.io/v1` Lease, so that two agent replicas
//! never sync or heal at the same time.
//!
//! Expected flow: [`LeaderElector::run`] loops: acquire the Lease when it is free or expired,
//! renew it every third of its duration while holding it, and publish leadership on a watch
//! channel. Every write is a compare-and-swap on `resourceVersion`, so two candidates racing
//! for an expired Lease cannot both win.
//!
//! Guarantees: a replica that cannot renew steps down before its Lease expires (it stops
//! acting after `duration - renew_interval` without a successful renewal), so the new leader
//! never overlaps with the old one for longer than clock skew; on shutdown the Lease is
//! released so a standby takes over at once.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, ObjectMeta, PostParams};
use tokio::sync::watch;

use crate::cluster::{describe, status_code};
use crate::error::GitopsError;

/// Lease settings.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    /// Lease name.
    pub name: String,
    /// Lease namespace.
    pub namespace: String,
    /// This replica's identity (pod name, or host and pid).
    pub identity: String,
    /// How long a Lease is valid without renewal.
    pub duration: Duration,
}

impl LeaseConfig {
    /// Defaults: `shipgate-gitops` Lease, 15 s.
    pub fn new(namespace: &str, identity: &str) -> Self {
        LeaseConfig {
            name: "shipgate-gitops".into(),
            namespace: namespace.into(),
            identity: identity.into(),
            duration: Duration::from_secs(15),
        }
    }
}

/// Acquires and renews a Lease.
pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaseConfig,
}

impl std::fmt::Debug for LeaderElector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaderElector")
            .field("config", &self.config)
            .finish()
    }
}

fn now() -> MicroTime {
    MicroTime(jiff::Timestamp::now())
}

impl LeaderElector {
    /// An elector for `config`.
    pub fn new(client: kube::Client, config: LeaseConfig) -> Self {
        LeaderElector {
            api: Api::namespaced(client, &config.namespace),
            config,
        }
    }

    /// One attempt: `Ok(true)` when this replica holds the Lease afterwards.
    pub async fn try_acquire_or_renew(&self) -> Result<bool, GitopsError> {
        let what = || format!("Lease {}/{}", self.config.namespace, self.config.name);
        let secs = i32::try_from(self.config.duration.as_secs()).unwrap_or(15);
        let current = self
            .api
            .get_opt(&self.config.name)
            .await
            .map_err(|e| GitopsError::Other(format!("{}: {}", what(), describe(&e))))?;
        let Some(mut lease) = current else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.name.clone()),
                    namespace: Some(self.config.namespace.clone()),
                    ..Default::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.config.identity.clone()),
                    lease_duration_seconds: Some(secs),
                    acquire_time: Some(now()),
                    renew_time: Some(now()),
                    lease_transitions: Some(0),
                    ..Default::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(e) if status_code(&e) == 409 => Ok(false),
                Err(e) => Err(GitopsError::Other(format!("{}: {}", what(), describe(&e)))),
            };
        };
        let spec = lease.spec.get_or_insert_with(Default::default);
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let ours = holder == self.config.identity;
        let expired = match (&spec.renew_time, spec.lease_duration_seconds) {
            (Some(MicroTime(t)), Some(d)) => {
                let until = t.checked_add(jiff::SignedDuration::from_secs(i64::from(d)));
                until.is_ok_and(|u| u < jiff::Timestamp::now())
            }
            _ => true,
        };
        if !ours && !holder.is_empty() && !expired {
            return Ok(false);
        }
        if !ours {
            spec.holder_identity = Some(self.config.identity.clone());
            spec.acquire_time = Some(now());
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        }
        spec.renew_time = Some(now());
        spec.lease_duration_seconds = Some(secs);
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if status_code(&e) == 409 => Ok(false),
            Err(e) => Err(GitopsError::Other(format!("{}: {}", what(), describe(&e)))),
        }
    }

    /// Gives the Lease up (when held), so a standby can take over without waiting.
    pub async fn release(&self) {
        if let Ok(Some(mut lease)) = self.api.get_opt(&self.config.name).await {
            let spec = lease.spec.get_or_insert_with(Default::default);
            if spec.holder_identity.as_deref() == Some(self.config.identity.as_str()) {
                spec.holder_identity = None;
                spec.renew_time = None;
                let _ = self
                    .api
                    .replace(&self.config.name, &PostParams::default(), &lease)
                    .await;
            }
        }
    }

    /// Runs until `shutdown` resolves, publishing leadership on `leader`; releases the Lease
    /// at the end. Errors talking to the API server count as "not renewed".
    pub async fn run(self, leader: watch::Sender<bool>, mut shutdown: watch::Receiver<bool>) {
        let renew = self.config.duration / 3;
        let mut last_ok: Option<tokio::time::Instant> = None;
        loop {
            // A failed renewal counts as not holding the lease this round.
            let held: bool = self.try_acquire_or_renew().await.unwrap_or_default();
            let now = tokio::time::Instant::now();
            if held {
                last_ok = Some(now);
            }
            let leading = held
                || (*leader.borrow()
                    && last_ok
                        .is_some_and(|t| now.duration_since(t) < self.config.duration - renew));
            if *leader.borrow() != leading {
                let _ = leader.send(leading);
            }
            tokio::select! {
                _ = tokio::time::sleep(if leading { renew } else { renew.min(Duration::from_secs(2)) }) => {}
                _ = shutdown.changed() => {
                    let _ = leader.send(false);
                    self.release().await;
                    return;
                }
            }
            if *shutdown.borrow() {
                let _ = leader.send(false);
                self.release().await;
                return;
            }
        }
    }
}
