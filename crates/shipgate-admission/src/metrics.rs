//! Prometheus metrics (one registry per server, no globals).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels of `shipgate_admission_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// allowed | denied | warned | exempt | error_allowed | error_denied
    pub decision: String,
    /// true when the request was a dry run
    pub dry_run: String,
}

/// Labels of `shipgate_admission_violations_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ViolationLabels {
    /// The rule id.
    pub rule: String,
    /// deny | warn | dryrun
    pub action: String,
}

/// Labels of `shipgate_admission_bad_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BadRequestLabels {
    /// Why the request was rejected (bad_json, no_request, too_large, timeout, ...).
    pub reason: String,
}

/// All metrics of one server.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Requests by decision.
    pub requests: Family<RequestLabels, Counter>,
    /// Violations by rule and action.
    pub violations: Family<ViolationLabels, Counter>,
    /// Rejected HTTP requests by reason.
    pub bad_requests: Family<BadRequestLabels, Counter>,
    /// Review latency (seconds), parse to response.
    pub latency: Histogram,
    /// Policy (re)load failures.
    pub policy_load_errors: Counter,
    /// Successful policy (re)loads.
    pub policy_loads: Counter,
    /// Rules loaded.
    pub rules_loaded: Gauge,
    /// Certificate reload failures.
    pub cert_reload_errors: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("shipgate_admission");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "AdmissionReview requests by decision",
            requests.clone(),
        );
        let violations = Family::<ViolationLabels, Counter>::default();
        registry.register(
            "violations",
            "Violated rules by enforcement action",
            violations.clone(),
        );
        let bad_requests = Family::<BadRequestLabels, Counter>::default();
        registry.register(
            "bad_requests",
            "HTTP requests rejected before evaluation",
            bad_requests.clone(),
        );
        // 100 us .. ~3.3 s
        let latency = Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
            0.0001, 2.0, 16,
        ));
        registry.register(
            "review_duration_seconds",
            "Time from request body received to response ready",
            latency.clone(),
        );
        let policy_load_errors = Counter::default();
        registry.register(
            "policy_load_errors",
            "Policy load or reload failures",
            policy_load_errors.clone(),
        );
        let policy_loads = Counter::default();
        registry.register(
            "policy_loads",
            "Successful policy loads",
            policy_loads.clone(),
        );
        let rules_loaded = Gauge::default();
        registry.register(
            "rules_loaded",
            "Rules and constraints currently loaded",
            rules_loaded.clone(),
        );
        let cert_reload_errors = Counter::default();
        registry.register(
            "cert_reload_errors",
            "TLS certificate reload failures",
            cert_reload_errors.clone(),
        );
        Self {
            registry,
            requests,
            violations,
            bad_requests,
            latency,
            policy_load_errors,
            policy_loads,
            rules_loaded,
            cert_reload_errors,
        }
    }

    /// Counts one decided request.
    pub fn request(&self, decision: &str, dry_run: bool) {
        self.requests
            .get_or_create(&RequestLabels {
                decision: decision.to_owned(),
                dry_run: dry_run.to_string(),
            })
            .inc();
    }

    /// Counts a rejected HTTP request.
    pub fn bad_request(&self, reason: &str) {
        self.bad_requests
            .get_or_create(&BadRequestLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
