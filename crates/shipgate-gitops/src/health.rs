//! Health of live objects and of whole applications.
//!
//! [`assess`] reads one live object (as the API server returns it) and says whether it is
//! Healthy, Progressing, Degraded or Missing, with a short reason. The rules follow what the
//! workload controllers write into `status`:
//!
//! * Deployment, StatefulSet, DaemonSet, ReplicaSet: the controller has seen the latest
//!   generation, and every replica is updated, ready and available; a Deployment whose
//!   `Progressing` condition says `ProgressDeadlineExceeded` is Degraded;
//! * Job: `Complete` is Healthy, `Failed` is Degraded, anything else Progressing;
//! * Pod: `Succeeded` or all containers ready is Healthy; `Failed` or a container in
//!   `CrashLoopBackOff`/`ImagePullBackOff`/`ErrImagePull` is Degraded;
//! * Service of type LoadBalancer and Ingress: Healthy once an ingress address is published;
//! * PersistentVolumeClaim: `Bound`; `Lost` is Degraded;
//! * CustomResourceDefinition: `Established`; `NamesAccepted=False` is Degraded;
//! * anything else with `status.conditions`: `Ready` (or `Available`) True is Healthy, False is
//!   Degraded once the controller has observed the generation; `Stalled=True` is Degraded,
//!   `Reconciling=True` is Progressing;
//! * everything else (ConfigMaps, Secrets, RBAC, ...) is Healthy when it exists.
//!
//! [`aggregate`] takes the worst health of an application's objects.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Health of an object or an application, from best to worst (the order `aggregate` uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Health {
    /// Exists and does what it should.
    Healthy,
    /// Being rolled out; not yet ready.
    Progressing,
    /// Does not exist in the cluster.
    Missing,
    /// Failed (crash loop, deadline exceeded, failed job, lost volume, ...).
    Degraded,
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

/// One object's health and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthStatus {
    /// The verdict.
    pub health: Health,
    /// Why (empty when Healthy for the plain reason).
    pub message: String,
}

impl HealthStatus {
    fn new(health: Health, message: impl Into<String>) -> Self {
        HealthStatus {
            health,
            message: message.into(),
        }
    }
    fn healthy() -> Self {
        HealthStatus::new(Health::Healthy, "")
    }
}

/// The worst health of a set of objects; an empty set is Healthy.
pub fn aggregate(healths: impl IntoIterator<Item = Health>) -> Health {
    healths.into_iter().max().unwrap_or(Health::Healthy)
}

/// The health of one live object.
pub fn assess(obj: &Value) -> HealthStatus {
    let kind = obj["kind"].as_str().unwrap_or("");
    let group = obj["apiVersion"]
        .as_str()
        .and_then(|v| v.rsplit_once('/').map(|(g, _)| g))
        .unwrap_or("");
    let status = &obj["status"];
    match (group, kind) {
        ("apps", "Deployment") => deployment(obj, status),
        ("apps", "StatefulSet") => stateful_set(obj, status),
        ("apps", "DaemonSet") => daemon_set(obj, status),
        ("apps", "ReplicaSet") => replica_set(obj, status),
        ("batch", "Job") => job(status),
        ("", "Pod") => pod(status),
        ("", "Service") => service(obj, status),
        ("networking.k8s.io", "Ingress") => load_balanced(status, "Ingress"),
        ("", "PersistentVolumeClaim") => pvc(status),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crd(status),
        _ => generic(obj, status),
    }
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

/// `Some(progressing)` when the controller has not yet seen the latest generation.
fn not_observed(obj: &Value, status: &Value) -> Option<HealthStatus> {
    let generation = int(&obj["metadata"]["generation"]);
    let observed = status["observedGeneration"].as_i64();
    match observed {
        Some(o) if o >= generation => None,
        _ => Some(HealthStatus::new(
            Health::Progressing,
            "waiting for the controller to observe the latest generation",
        )),
    }
}

fn condition<'a>(status: &'a Value, kind: &str) -> Option<&'a Value> {
    status["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"].as_str() == Some(kind))
}

fn condition_is(status: &Value, kind: &str, value: &str) -> bool {
    condition(status, kind).is_some_and(|c| c["status"].as_str() == Some(value))
}

fn condition_message(status: &Value, kind: &str) -> String {
    condition(status, kind)
        .map(|c| {
            let reason = c["reason"].as_str().unwrap_or("");
            let message = c["message"].as_str().unwrap_or("");
            match (reason.is_empty(), message.is_empty()) {
                (false, false) => format!("{reason}: {message}"),
                (false, true) => reason.to_string(),
                _ => message.to_string(),
            }
        })
        .unwrap_or_default()
}

fn deployment(obj: &Value, status: &Value) -> HealthStatus {
    if obj["spec"]["paused"].as_bool() == Some(true) {
        return HealthStatus::new(Health::Progressing, "rollout is paused");
    }
    if let Some(p) = not_observed(obj, status) {
        return p;
    }
    if condition(status, "Progressing")
        .is_some_and(|c| c["reason"].as_str() == Some("ProgressDeadlineExceeded"))
    {
        return HealthStatus::new(Health::Degraded, condition_message(status, "Progressing"));
    }
    let want = obj["spec"]["replicas"].as_i64().unwrap_or(1);
    let updated = int(&status["updatedReplicas"]);
    let total = int(&status["replicas"]);
    let available = int(&status["availableReplicas"]);
    if updated < want {
        return HealthStatus::new(
            Health::Progressing,
            format!("{updated} of {want} replicas updated"),
        );
    }
    if total > updated {
        return HealthStatus::new(
            Health::Progressing,
            format!("{} old replicas pending termination", total - updated),
        );
    }
    if available < updated {
        return HealthStatus::new(
            Health::Progressing,
            format!("{available} of {updated} updated replicas available"),
        );
    }
    HealthStatus::healthy()
}

fn stateful_set(obj: &Value, status: &Value) -> HealthStatus {
    if let Some(p) = not_observed(obj, status) {
        return p;
    }
    let want = obj["spec"]["replicas"].as_i64().unwrap_or(1);
    let ready = int(&status["readyReplicas"]);
    if ready < want {
        return HealthStatus::new(
            Health::Progressing,
            format!("{ready} of {want} replicas ready"),
        );
    }
    let strategy = obj["spec"]["updateStrategy"]["type"]
        .as_str()
        .unwrap_or("RollingUpdate");
    if strategy == "RollingUpdate" {
        let partition = obj["spec"]["updateStrategy"]["rollingUpdate"]["partition"]
            .as_i64()
            .unwrap_or(0);
        let updated = int(&status["updatedReplicas"]);
        if partition > 0 {
            if updated < want - partition {
                return HealthStatus::new(
                    Health::Progressing,
                    format!(
                        "{updated} of {} partitioned replicas updated",
                        want - partition
                    ),
                );
            }
        } else if status["updateRevision"] != status["currentRevision"] {
            return HealthStatus::new(
                Health::Progressing,
                format!("{updated} of {want} replicas at the update revision"),
            );
        }
    }
    HealthStatus::healthy()
}

fn daemon_set(obj: &Value, status: &Value) -> HealthStatus {
    if let Some(p) = not_observed(obj, status) {
        return p;
    }
    let desired = int(&status["desiredNumberScheduled"]);
    let updated = int(&status["updatedNumberScheduled"]);
    let available = int(&status["numberAvailable"]);
    if obj["spec"]["updateStrategy"]["type"].as_str() != Some("OnDelete") && updated < desired {
        return HealthStatus::new(
            Health::Progressing,
            format!("{updated} of {desired} pods updated"),
        );
    }
    if available < desired {
        return HealthStatus::new(
            Health::Progressing,
            format!("{available} of {desired} pods available"),
        );
    }
    HealthStatus::healthy()
}

fn replica_set(obj: &Value, status: &Value) -> HealthStatus {
    if let Some(p) = not_observed(obj, status) {
        return p;
    }
    if condition_is(status, "ReplicaFailure", "True") {
        return HealthStatus::new(
            Health::Degraded,
            condition_message(status, "ReplicaFailure"),
        );
    }
    let want = obj["spec"]["replicas"].as_i64().unwrap_or(1);
    let available = int(&status["availableReplicas"]);
    if available < want {
        return HealthStatus::new(
            Health::Progressing,
            format!("{available} of {want} replicas available"),
        );
    }
    HealthStatus::healthy()
}

fn job(status: &Value) -> HealthStatus {
    if condition_is(status, "Failed", "True") {
        return HealthStatus::new(Health::Degraded, condition_message(status, "Failed"));
    }
    if condition_is(status, "Complete", "True") {
        return HealthStatus::healthy();
    }
    if condition_is(status, "Suspended", "True") {
        return HealthStatus::new(Health::Progressing, "job is suspended");
    }
    HealthStatus::new(Health::Progressing, "job has not completed")
}

fn pod(status: &Value) -> HealthStatus {
    match status["phase"].as_str().unwrap_or("") {
        "Succeeded" => return HealthStatus::healthy(),
        "Failed" => {
            let msg = status["message"].as_str().unwrap_or("pod failed");
            return HealthStatus::new(Health::Degraded, msg);
        }
        _ => {}
    }
    let containers = status["containerStatuses"].as_array();
    for c in containers.into_iter().flatten() {
        let reason = c["state"]["waiting"]["reason"].as_str().unwrap_or("");
        if matches!(
            reason,
            "CrashLoopBackOff"
                | "ImagePullBackOff"
                | "ErrImagePull"
                | "InvalidImageName"
                | "CreateContainerConfigError"
        ) {
            let name = c["name"].as_str().unwrap_or("?");
            return HealthStatus::new(Health::Degraded, format!("container {name}: {reason}"));
        }
    }
    if status["phase"].as_str() == Some("Running")
        && containers.is_some_and(|cs| cs.iter().all(|c| c["ready"].as_bool() == Some(true)))
    {
        return HealthStatus::healthy();
    }
    HealthStatus::new(Health::Progressing, "pod is not ready")
}

fn service(obj: &Value, status: &Value) -> HealthStatus {
    if obj["spec"]["type"].as_str() == Some("LoadBalancer") {
        return load_balanced(status, "Service");
    }
    HealthStatus::healthy()
}

fn load_balanced(status: &Value, kind: &str) -> HealthStatus {
    let published = status["loadBalancer"]["ingress"]
        .as_array()
        .is_some_and(|a| !a.is_empty());
    if published {
        HealthStatus::healthy()
    } else {
        HealthStatus::new(
            Health::Progressing,
            format!("{kind} has no load-balancer address yet"),
        )
    }
}

fn pvc(status: &Value) -> HealthStatus {
    match status["phase"].as_str().unwrap_or("") {
        "Bound" => HealthStatus::healthy(),
        "Lost" => HealthStatus::new(Health::Degraded, "claim lost its volume"),
        other => HealthStatus::new(
            Health::Progressing,
            format!(
                "claim is {}",
                if other.is_empty() { "not bound" } else { other }
            ),
        ),
    }
}

fn crd(status: &Value) -> HealthStatus {
    if condition_is(status, "NamesAccepted", "False") {
        return HealthStatus::new(Health::Degraded, condition_message(status, "NamesAccepted"));
    }
    if condition_is(status, "Established", "True") {
        return HealthStatus::healthy();
    }
    HealthStatus::new(Health::Progressing, "not yet established")
}

fn generic(obj: &Value, status: &Value) -> HealthStatus {
    if status["conditions"].as_array().is_none_or(Vec::is_empty) {
        return HealthStatus::healthy();
    }
    if condition_is(status, "Stalled", "True") {
        return HealthStatus::new(Health::Degraded, condition_message(status, "Stalled"));
    }
    let observed = status["observedGeneration"]
        .as_i64()
        .is_none_or(|o| o >= int(&obj["metadata"]["generation"]));
    for ready in ["Ready", "Available"] {
        match condition(status, ready).and_then(|c| c["status"].as_str()) {
            Some("True") if observed => return HealthStatus::healthy(),
            Some("False") if observed && !condition_is(status, "Reconciling", "True") => {
                return HealthStatus::new(Health::Degraded, condition_message(status, ready));
            }
            Some(_) => {
                return HealthStatus::new(
                    Health::Progressing,
                    format!("{ready}: {}", condition_message(status, ready)),
                );
            }
            None => {}
        }
    }
    if condition_is(status, "Reconciling", "True") {
        return HealthStatus::new(
            Health::Progressing,
            condition_message(status, "Reconciling"),
        );
    }
    HealthStatus::healthy()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn h(v: Value) -> Health {
        assess(&v).health
    }

    #[test]
    fn deployment_rollout() {
        let base = |status: Value| {
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"generation": 2}, "spec": {"replicas": 2}, "status": status})
        };
        assert_eq!(h(base(json!({}))), Health::Progressing);
        assert_eq!(
            h(base(
                json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2})
            )),
            Health::Progressing
        );
        assert_eq!(
            h(base(
                json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 2, "availableReplicas": 2})
            )),
            Health::Progressing
        );
        assert_eq!(
            h(base(
                json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1})
            )),
            Health::Progressing
        );
        assert_eq!(
            h(base(
                json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2})
            )),
            Health::Healthy
        );
        let stuck = base(json!({"observedGeneration": 2, "conditions": [
            {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
             "message": "ReplicaSet \"x\" has timed out progressing."}]}));
        let s = assess(&stuck);
        assert_eq!(s.health, Health::Degraded);
        assert!(
            s.message.contains("ProgressDeadlineExceeded"),
            "{}",
            s.message
        );
    }

    #[test]
    fn statefulset_daemonset_job_pod() {
        let sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"generation": 1},
            "spec": {"replicas": 3}, "status": {"observedGeneration": 1, "readyReplicas": 3,
            "updatedReplicas": 3, "currentRevision": "a", "updateRevision": "b"}});
        assert_eq!(h(sts.clone()), Health::Progressing);
        let mut done = sts;
        done["status"]["currentRevision"] = json!("b");
        assert_eq!(h(done), Health::Healthy);

        let ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"generation": 1},
            "status": {"observedGeneration": 1, "desiredNumberScheduled": 2,
            "updatedNumberScheduled": 2, "numberAvailable": 1}});
        assert_eq!(h(ds), Health::Progressing);

        let job = |c: &str| {
            json!({"apiVersion": "batch/v1", "kind": "Job",
            "status": {"conditions": [{"type": c, "status": "True"}]}})
        };
        assert_eq!(h(job("Complete")), Health::Healthy);
        assert_eq!(h(job("Failed")), Health::Degraded);
        assert_eq!(
            h(json!({"apiVersion": "batch/v1", "kind": "Job"})),
            Health::Progressing
        );

        let crash = json!({"apiVersion": "v1", "kind": "Pod", "status": {"phase": "Running",
            "containerStatuses": [{"name": "app", "ready": false,
            "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        assert_eq!(h(crash), Health::Degraded);
    }

    #[test]
    fn services_claims_crds_and_conditions() {
        let lb = json!({"apiVersion": "v1", "kind": "Service", "spec": {"type": "LoadBalancer"}});
        assert_eq!(h(lb.clone()), Health::Progressing);
        let mut lb2 = lb;
        lb2["status"] = json!({"loadBalancer": {"ingress": [{"ip": "10.0.0.1"}]}});
        assert_eq!(h(lb2), Health::Healthy);
        assert_eq!(
            h(json!({"apiVersion": "v1", "kind": "Service", "spec": {"type": "ClusterIP"}})),
            Health::Healthy
        );
        assert_eq!(
            h(
                json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "status": {"phase": "Lost"}})
            ),
            Health::Degraded
        );
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "status": {"conditions": [{"type": "Established", "status": "True"}]}});
        assert_eq!(h(crd), Health::Healthy);
        let custom = |s: &str, og: i64| {
            json!({"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"generation": 2},
            "status": {"observedGeneration": og, "conditions": [{"type": "Ready", "status": s, "reason": "R"}]}})
        };
        assert_eq!(h(custom("True", 2)), Health::Healthy);
        assert_eq!(h(custom("False", 2)), Health::Degraded);
        assert_eq!(h(custom("False", 1)), Health::Progressing);
        assert_eq!(h(custom("Unknown", 2)), Health::Progressing);
        assert_eq!(
            h(json!({"apiVersion": "v1", "kind": "ConfigMap"})),
            Health::Healthy
        );
    }

    #[test]
    fn aggregate_takes_the_worst() {
        assert_eq!(aggregate([]), Health::Healthy);
        assert_eq!(
            aggregate([Health::Healthy, Health::Progressing, Health::Healthy]),
            Health::Progressing
        );
        assert_eq!(
            aggregate([Health::Missing, Health::Degraded]),
            Health::Degraded
        );
    }
}
