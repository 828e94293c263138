//! `/metrics`: the store's aggregates in the Prometheus text exposition format (0.0.4),
//! written by hand from the cached snapshot (every family has `# HELP` and `# TYPE`).

use std::fmt::Write as _;

use crate::state::{Snapshot, VerifyResult};

/// The content type of the exposition.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

struct Out(String);

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                self.0.push_str(k);
                self.0.push_str("=\"");
                for c in v.chars() {
                    match c {
                        '\\' => self.0.push_str("\\\\"),
                        '"' => self.0.push_str("\\\""),
                        '\n' => self.0.push_str("\\n"),
                        c => self.0.push(c),
                    }
                }
                self.0.push('"');
            }
            self.0.push('}');
        }
        self.0.push(' ');
        if value.is_finite() {
            let _ = write!(self.0, "{value}");
        } else {
            self.0.push_str("NaN");
        }
        self.0.push('\n');
    }
}

/// Renders the exposition.
pub(crate) fn render(s: &Snapshot, v: Option<&VerifyResult>) -> String {
    let m = &s.metrics;
    let mut o = Out(String::with_capacity(4096));
    o.family(
        "shipgate_pipeline_runs_total",
        "counter",
        "Pipeline runs recorded in the store.",
    );
    o.sample("shipgate_pipeline_runs_total", &[], m.runs_total as f64);
    o.family(
        "shipgate_pipeline_runs_passed_total",
        "counter",
        "Pipeline runs recorded with status passed.",
    );
    o.sample(
        "shipgate_pipeline_runs_passed_total",
        &[],
        m.runs_passed as f64,
    );
    o.family(
        "shipgate_gate_failures_total",
        "counter",
        "Gate decisions of recorded pipeline runs that did not pass.",
    );
    o.sample("shipgate_gate_failures_total", &[], m.gate_failures as f64);
    o.family(
        "shipgate_open_findings",
        "gauge",
        "Findings in the latest scan report of each scanner and target, by severity.",
    );
    let f = &s.open_findings;
    for (sev, n) in [
        ("critical", f.critical),
        ("high", f.high),
        ("medium", f.medium),
        ("low", f.low),
        ("info", f.info),
    ] {
        o.sample("shipgate_open_findings", &[("severity", sev)], n as f64);
    }
    o.family(
        "shipgate_mttr_seconds",
        "gauge",
        "Mean time from first seen to fixed of fixed findings, by severity.",
    );
    for x in &m.mttr {
        if let Some(secs) = x.mean_seconds {
            o.sample("shipgate_mttr_seconds", &[("severity", &x.severity)], secs);
        }
    }
    o.family(
        "shipgate_findings_fixed_total",
        "counter",
        "Findings fixed (absent from a later report of the same target), by severity.",
    );
    for x in &m.mttr {
        o.sample(
            "shipgate_findings_fixed_total",
            &[("severity", &x.severity)],
            x.fixed as f64,
        );
    }
    o.family(
        "shipgate_findings_unfixed",
        "gauge",
        "Findings never absent from a later report of their target, by severity.",
    );
    for x in &m.mttr {
        o.sample(
            "shipgate_findings_unfixed",
            &[("severity", &x.severity)],
            x.open as f64,
        );
    }
    for (name, help, n) in [
        (
            "shipgate_drift_events_total",
            "Events of kind drift.",
            m.drift_events,
        ),
        (
            "shipgate_sync_events_total",
            "Events of kind sync or gitops-sync.",
            s.sync_events,
        ),
        (
            "shipgate_admission_events_total",
            "Events of kind admission (allowed or denied).",
            s.admission_events,
        ),
        (
            "shipgate_admission_denials_total",
            "Admission events whose body has allowed: false.",
            m.admission_denials,
        ),
        (
            "shipgate_runtime_alerts_total",
            "Events of kind runtime-alert.",
            m.runtime_alerts,
        ),
    ] {
        o.family(name, "counter", help);
        o.sample(name, &[], n as f64);
    }
    o.family(
        "shipgate_ledger_entries",
        "gauge",
        "Entries in the audit ledger (seq of its head).",
    );
    o.sample("shipgate_ledger_entries", &[], s.ledger_entries as f64);
    if let Some(v) = v {
        o.family(
            "shipgate_ledger_intact",
            "gauge",
            "1 if the last verification found the ledger intact, else 0.",
        );
        o.sample(
            "shipgate_ledger_intact",
            &[],
            if v.intact { 1.0 } else { 0.0 },
        );
        o.family(
            "shipgate_ledger_verified_timestamp_seconds",
            "gauge",
            "When the ledger was last verified (Unix time).",
        );
        o.sample(
            "shipgate_ledger_verified_timestamp_seconds",
            &[],
            v.verified_epoch as f64,
        );
    }
    o.family(
        "shipgate_store_snapshot_timestamp_seconds",
        "gauge",
        "When these aggregates were computed from the store (Unix time).",
    );
    let at = s
        .computed_at
        .parse::<jiff::Timestamp>()
        .map_or(0, |t| t.as_second());
    o.sample("shipgate_store_snapshot_timestamp_seconds", &[], at as f64);
    o.family(
        "shipgate_store_snapshot_duration_seconds",
        "gauge",
        "How long computing these aggregates took.",
    );
    o.sample(
        "shipgate_store_snapshot_duration_seconds",
        &[],
        s.took_ms as f64 / 1000.0,
    );
    o.0
}
