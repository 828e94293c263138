//! Prometheus metrics of the agent (one registry per agent, no globals).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// `app` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AppLabel {
    /// Application.
    pub app: String,
}

/// `app` + `result` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SyncLabels {
    /// Application.
    pub app: String,
    /// succeeded | failed | blocked | refused
    pub result: String,
}

/// `app` + `kind` labels of drift events.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DriftLabels {
    /// Application.
    pub app: String,
    /// changed | deleted
    pub kind: String,
}

/// `app` + `health` labels.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HealthLabels {
    /// Application.
    pub app: String,
    /// Healthy | Progressing | Missing | Degraded
    pub health: String,
}

fn duration_histogram() -> Histogram {
    // 10 ms .. ~5.5 min
    Histogram::new(exponential_buckets(0.01, 2.0, 16))
}

/// All metrics of one agent.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Syncs by application and result.
    pub syncs: Family<SyncLabels, Counter>,
    /// Sync durations by application.
    pub sync_duration: Family<AppLabel, Histogram, fn() -> Histogram>,
    /// Drift events by application and kind.
    pub drift_events: Family<DriftLabels, Counter>,
    /// Drift reverted by self-heal.
    pub self_heals: Family<AppLabel, Counter>,
    /// Owned objects that currently differ from Git (or are missing).
    pub out_of_sync: Family<AppLabel, Gauge>,
    /// Owned objects.
    pub owned: Family<AppLabel, Gauge>,
    /// 1 for the application's current health, 0 for the others.
    pub health: Family<HealthLabels, Gauge>,
    /// 1 while this replica holds the Lease.
    pub leader: Gauge,
    /// Errors outside syncs (source polling, watches).
    pub errors: Family<AppLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("shipgate_gitops");
        let syncs = Family::<SyncLabels, Counter>::default();
        registry.register("syncs", "Sync attempts by result", syncs.clone());
        let sync_duration = Family::<AppLabel, Histogram, fn() -> Histogram>::new_with_constructor(
            duration_histogram as fn() -> Histogram,
        );
        registry.register(
            "sync_duration_seconds",
            "Wall time of a sync, source fetch to record",
            sync_duration.clone(),
        );
        let drift_events = Family::<DriftLabels, Counter>::default();
        registry.register(
            "drift_events",
            "Owned objects seen to differ from the last applied state",
            drift_events.clone(),
        );
        let self_heals = Family::<AppLabel, Counter>::default();
        registry.register(
            "self_heals",
            "Drift reverted by self-heal",
            self_heals.clone(),
        );
        let out_of_sync = Family::<AppLabel, Gauge>::default();
        registry.register(
            "out_of_sync_objects",
            "Owned objects that differ from Git or are missing",
            out_of_sync.clone(),
        );
        let owned = Family::<AppLabel, Gauge>::default();
        registry.register(
            "owned_objects",
            "Objects the application owns",
            owned.clone(),
        );
        let health = Family::<HealthLabels, Gauge>::default();
        registry.register(
            "app_health",
            "1 for the application's current health status",
            health.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this replica holds the Lease",
            leader.clone(),
        );
        let errors = Family::<AppLabel, Counter>::default();
        registry.register(
            "errors",
            "Errors outside syncs (source polling, watches)",
            errors.clone(),
        );
        Metrics {
            registry,
            syncs,
            sync_duration,
            drift_events,
            self_heals,
            out_of_sync,
            owned,
            health,
            leader,
            errors,
        }
    }

    /// Records a finished sync.
    pub fn sync(&self, app: &str, result: &str, seconds: f64) {
        self.syncs
            .get_or_create(&SyncLabels {
                app: app.into(),
                result: result.into(),
            })
            .inc();
        self.sync_duration
            .get_or_create(&AppLabel { app: app.into() })
            .observe(seconds);
    }

    /// Sets an application's health gauge set.
    pub fn set_health(&self, app: &str, health: crate::health::Health) {
        for h in ["Healthy", "Progressing", "Missing", "Degraded"] {
            let v = i64::from(format!("{health:?}") == h);
            self.health
                .get_or_create(&HealthLabels {
                    app: app.into(),
                    health: h.into(),
                })
                .set(v);
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
