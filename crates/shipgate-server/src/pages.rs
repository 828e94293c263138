//! The HTML pages. Data comes in typed; every string from the store is escaped by
//! [`Html::text`].

use http::StatusCode;
use serde_json::Value;
use shipgate_store::export::LedgerEntry;
use shipgate_store::query::{
    EventRow, FindingFilter, FindingRow, Page, RunDetail, RunFilter, RunRow,
};

use crate::html::{Href, Html, Nav, layout};
use crate::routes::SEVERITIES;
use crate::state::{Snapshot, TREND_DAYS, VerifyResult};
use crate::svg;

fn ms(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        svg::human_duration(ms as f64 / 1000.0)
    }
}

fn card(h: &mut Html, label: &'static str, value: &str, id: &'static str) {
    h.raw("<div class=\"card\" id=\"")
        .raw(id)
        .raw("\"><div class=\"label\">")
        .raw(label)
        .raw("</div><div class=\"value\">")
        .text(value)
        .raw("</div></div>");
}

fn status_cell(h: &mut Html, status: &str) {
    h.raw("<td><span class=\"status-")
        .text(status)
        .raw("\">")
        .text(status)
        .raw("</span></td>");
}

fn snapshot_note(h: &mut Html, s: &Snapshot) {
    h.raw("<p class=\"muted\">Aggregates computed at ")
        .text(&s.computed_at)
        .raw(" in ")
        .show(s.took_ms)
        .raw(" ms (recomputed in the background and after each ingest).</p>");
}

/// Links to the previous/next page, keeping the filters.
fn pager(
    h: &mut Html,
    base: Href,
    older: Option<i64>,
    newer: Option<i64>,
    limit: u32,
    default: u32,
) {
    let base = if limit == default {
        base
    } else {
        base.param("limit", &limit.to_string())
    };
    h.raw("<div class=\"pager\">");
    match newer {
        Some(n) => {
            h.link(&base.clone(), "« newest")
                .raw(" ")
                .link(&base.clone().param("after", &n.to_string()), "‹ newer");
        }
        None => {
            h.raw("<span class=\"muted\">newest</span>");
        }
    }
    match older {
        Some(o) => {
            h.raw("<a rel=\"next\" id=\"older\" href=\"")
                .href(&base.param("before", &o.to_string()))
                .raw("\">older ›</a>");
        }
        None => {
            h.raw("<span class=\"muted\">end</span>");
        }
    }
    h.raw("</div>");
}

fn runs_table(h: &mut Html, rows: &[RunRow]) {
    h.raw("<table id=\"runs\"><thead><tr><th class=\"num\">#</th><th>run</th><th>status</th><th>started</th><th class=\"num\">duration</th><th>commit</th><th>pipeline</th><th class=\"num\">steps</th><th class=\"num\">failed gates</th></tr></thead><tbody>");
    for r in rows {
        h.raw("<tr><td class=\"num\">")
            .link(&Href::with_id("/runs/", r.id), &r.id.to_string())
            .raw("</td><td><code>")
            .text(&r.run_id)
            .raw("</code></td>");
        status_cell(h, &r.status);
        h.raw("<td>")
            .text(&r.started_at)
            .raw("</td><td class=\"num\">")
            .text(&ms(r.duration_ms))
            .raw("</td><td><code>")
            .text(
                &r.source_commit
                    .as_deref()
                    .map_or_else(String::new, |c| c.chars().take(12).collect()),
            )
            .raw("</code></td><td>")
            .text(&r.pipeline)
            .raw("</td><td class=\"num\">")
            .show(r.steps)
            .raw("</td><td class=\"num")
            .raw(if r.gate_failures > 0 { " bad" } else { "" })
            .raw("\">")
            .show(r.gate_failures)
            .raw("</td></tr>");
    }
    if rows.is_empty() {
        h.raw("<tr><td colspan=\"9\" class=\"muted\">no pipeline runs</td></tr>");
    }
    h.raw("</tbody></table>");
}

/// `/`.
pub(crate) fn overview(s: &Snapshot, v: Option<&VerifyResult>, recent: &Page<RunRow>) -> String {
    let m = &s.metrics;
    layout("Overview", Nav::Overview, |h| {
        h.raw("<div class=\"cards\">");
        let rate = m
            .build_success_rate
            .map_or_else(|| "—".to_owned(), |r| format!("{:.1}%", r * 100.0));
        card(h, "build success rate", &rate, "success-rate");
        card(h, "pipeline runs", &m.runs_total.to_string(), "runs-total");
        card(
            h,
            "failed gates",
            &m.gate_failures.to_string(),
            "gate-failures",
        );
        card(
            h,
            "drift events",
            &m.drift_events.to_string(),
            "drift-events",
        );
        card(
            h,
            "admission denials",
            &m.admission_denials.to_string(),
            "admission-denials",
        );
        card(
            h,
            "runtime alerts",
            &m.runtime_alerts.to_string(),
            "runtime-alerts",
        );
        card(
            h,
            "ledger entries",
            &s.ledger_entries.to_string(),
            "ledger-entries",
        );
        let ledger = match v {
            None => "not verified yet".to_owned(),
            Some(v) if v.error.is_some() => "verification failed".to_owned(),
            Some(v) if v.intact => "intact".to_owned(),
            Some(_) => "TAMPERED".to_owned(),
        };
        card(h, "ledger", &ledger, "ledger-status");
        h.raw("</div><h2>Open findings (latest scan of each target)</h2><div class=\"cards\">");
        let f = &s.open_findings;
        for (sev, n, id) in [
            ("critical", f.critical, "open-critical"),
            ("high", f.high, "open-high"),
            ("medium", f.medium, "open-medium"),
            ("low", f.low, "open-low"),
            ("info", f.info, "open-info"),
        ] {
            h.raw("<div class=\"card\" id=\"")
                .raw(id)
                .raw("\"><div class=\"label\"><a href=\"")
                .href(&Href::new("/findings").param("severity", sev))
                .raw("\">")
                .text(sev)
                .raw("</a></div><div class=\"value sev-")
                .text(sev)
                .raw("\">")
                .show(n)
                .raw("</div></div>");
        }
        h.raw("</div><h2>Findings per day (last ")
            .show(TREND_DAYS)
            .raw(" days with scans)</h2>");
        svg::findings_chart(h, &s.trend);
        h.raw("<h2>Recent pipeline runs</h2>");
        runs_table(h, &recent.items);
        h.raw("<p><a href=\"/runs\">all runs</a> · <a href=\"/mttr\">mean time to remediation</a> · <a href=\"/audit\">audit ledger</a></p>");
        snapshot_note(h, s);
    })
}

/// `/runs`.
pub(crate) fn runs(page: &Page<RunRow>, filter: &RunFilter, limit: u32, default: u32) -> String {
    layout("Pipeline runs", Nav::Runs, |h| {
        h.raw("<div class=\"filters\">status: ");
        let current = filter.status.as_deref();
        for (label, value) in [
            ("all", None),
            ("passed", Some("passed")),
            ("failed", Some("failed")),
            ("error", Some("error")),
        ] {
            h.raw("<a href=\"")
                .href(&Href::new("/runs").opt("status", value))
                .raw(if current == value {
                    "\" class=\"active\">"
                } else {
                    "\">"
                })
                .text(label)
                .raw("</a>");
        }
        h.raw("</div>");
        runs_table(h, &page.items);
        pager(
            h,
            Href::new("/runs").opt("status", current),
            page.older,
            page.newer,
            limit,
            default,
        );
    })
}

/// `/runs/{id}`.
pub(crate) fn run_detail(d: &RunDetail) -> String {
    let r = &d.run;
    layout(&format!("Run {}", r.run_id), Nav::Runs, |h| {
        h.raw("<table id=\"run\"><tbody><tr><th>row id</th><td>")
            .show(r.id)
            .raw("</td></tr><tr><th>run id</th><td><code>")
            .text(&r.run_id)
            .raw("</code></td></tr><tr><th>status</th>");
        status_cell(h, &r.status);
        h.raw("</tr><tr><th>started</th><td>")
            .text(&r.started_at)
            .raw("</td></tr><tr><th>duration</th><td>")
            .text(&ms(r.duration_ms))
            .raw("</td></tr><tr><th>commit</th><td><code>")
            .text(r.source_commit.as_deref().unwrap_or("—"))
            .raw("</code></td></tr><tr><th>pipeline</th><td>")
            .text(&r.pipeline)
            .raw("</td></tr><tr><th>isolation</th><td>")
            .text(&r.isolation)
            .raw("</td></tr></tbody></table><h2>Steps</h2>")
            .raw("<table id=\"steps\"><thead><tr><th class=\"num\">#</th><th>step</th><th>kind</th><th>status</th><th class=\"num\">duration</th><th class=\"num\">exit</th><th>message</th><th>gate decision</th></tr></thead><tbody>");
        for s in &d.steps {
            h.raw("<tr><td class=\"num\">")
                .show(s.position + 1)
                .raw("</td><td>")
                .text(&s.name)
                .raw("</td><td>")
                .text(&s.kind)
                .raw("</td>");
            status_cell(h, &s.status);
            h.raw("<td class=\"num\">")
                .text(&ms(s.duration_ms))
                .raw("</td><td class=\"num\">")
                .text(&s.exit_code.map_or_else(String::new, |c| c.to_string()))
                .raw("</td><td>")
                .text(s.message.as_deref().unwrap_or(""))
                .raw("</td><td>");
            if let Some(g) = &s.gate {
                h.raw(if g.passed {
                    "<span class=\"gate ok\">passed</span> "
                } else {
                    "<span class=\"gate bad\">failed</span> "
                })
                .text(&g.scanner)
                .raw(" fail-on ")
                .text(&g.fail_on)
                .raw(" <code>")
                .text(&compact(&g.summary, 200))
                .raw("</code> → ")
                .text(&g.report);
            }
            h.raw("</td></tr>");
        }
        if d.steps.is_empty() {
            h.raw("<tr><td colspan=\"8\" class=\"muted\">no steps recorded</td></tr>");
        }
        h.raw("</tbody></table><p><a href=\"/runs\">all runs</a> · JSON: <a href=\"")
            .href(&Href::with_id("/api/runs/", r.id))
            .raw("\">")
            .text(&format!("/api/runs/{}", r.id))
            .raw("</a></p>");
    })
}

fn findings_table(h: &mut Html, rows: &[FindingRow]) {
    h.raw("<table id=\"findings\"><thead><tr><th class=\"num\">#</th><th>severity</th><th>rule</th><th>package</th><th>advisory</th><th>scanner</th><th>target</th><th>first seen</th><th>last seen</th></tr></thead><tbody>");
    for f in rows {
        h.raw("<tr><td class=\"num\">")
            .show(f.id)
            .raw("</td><td class=\"sev-")
            .text(&f.severity)
            .raw("\">")
            .text(&f.severity)
            .raw("</td><td><code>")
            .text(&f.rule_id)
            .raw("</code></td><td>")
            .text(f.package.as_deref().unwrap_or(""))
            .raw("</td><td>")
            .text(f.advisory_id.as_deref().unwrap_or(""))
            .raw("</td><td>")
            .text(&f.scanner)
            .raw("</td><td>")
            .text(&f.target)
            .raw("</td><td>")
            .text(&f.first_seen)
            .raw("</td><td>")
            .text(&f.last_seen)
            .raw("</td></tr>");
    }
    if rows.is_empty() {
        h.raw("<tr><td colspan=\"9\" class=\"muted\">no open findings</td></tr>");
    }
    h.raw("</tbody></table>");
}

/// `/findings`.
pub(crate) fn findings(
    s: &Snapshot,
    page: &Page<FindingRow>,
    filter: &FindingFilter,
    limit: u32,
    default: u32,
) -> String {
    layout("Findings", Nav::Findings, |h| {
        h.raw("<h2>Findings by severity per day</h2><p class=\"muted\">Per UTC day, the summary counts of the latest report of each scanner and target that day, summed over targets (last ")
            .show(TREND_DAYS)
            .raw(" days with scans).</p>");
        svg::findings_chart(h, &s.trend);
        h.raw("<h2>Open findings</h2><p class=\"muted\">Unsuppressed findings of the latest report of each scanner and target.</p><div class=\"filters\">severity: ");
        let current = filter.severity.as_deref();
        h.raw("<a href=\"/findings\"")
            .raw(if current.is_none() {
                " class=\"active\">"
            } else {
                ">"
            })
            .raw("all</a>");
        for sev in SEVERITIES {
            h.raw("<a href=\"")
                .href(&Href::new("/findings").param("severity", sev))
                .raw(if current == Some(sev) {
                    "\" class=\"active\">"
                } else {
                    "\">"
                })
                .text(sev)
                .raw("</a>");
        }
        h.raw("</div>");
        findings_table(h, &page.items);
        pager(
            h,
            Href::new("/findings").opt("severity", current),
            page.older,
            page.newer,
            limit,
            default,
        );
        snapshot_note(h, s);
    })
}

/// `/mttr`.
pub(crate) fn mttr(s: &Snapshot) -> String {
    layout("Mean time to remediation", Nav::Mttr, |h| {
        h.raw("<p class=\"muted\">For each unsuppressed finding (scanner, target, fingerprint): from the first report that has it to the first later report of the same scanner and target without it. Findings not absent since are open and not in the mean.</p>");
        svg::mttr_chart(h, &s.metrics.mttr);
        h.raw("<table id=\"mttr\"><thead><tr><th>severity</th><th class=\"num\">fixed</th><th class=\"num\">open</th><th class=\"num\">MTTR</th></tr></thead><tbody>");
        for m in &s.metrics.mttr {
            h.raw("<tr><td class=\"sev-")
                .text(&m.severity)
                .raw("\">")
                .text(&m.severity)
                .raw("</td><td class=\"num\">")
                .show(m.fixed)
                .raw("</td><td class=\"num\">")
                .show(m.open)
                .raw("</td><td class=\"num\">")
                .text(
                    &m.mean_seconds
                        .map_or_else(|| "—".to_owned(), svg::human_duration),
                )
                .raw("</td></tr>");
        }
        if s.metrics.mttr.is_empty() {
            h.raw("<tr><td colspan=\"4\" class=\"muted\">no findings recorded</td></tr>");
        }
        h.raw("</tbody></table>");
        snapshot_note(h, s);
    })
}

/// Compact JSON, cut at `max` characters.
fn compact(v: &Value, max: usize) -> String {
    let s = v.to_string();
    if s.chars().count() <= max {
        s
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

fn field(v: &Value, k: &str) -> Option<String> {
    match v.get(k)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// `/drift`, `/admission`, `/events`.
pub(crate) fn events(
    title: &str,
    nav: Nav,
    path: &str,
    kind: Option<&str>,
    page: &Page<EventRow>,
    limit: u32,
    default: u32,
) -> String {
    let base = match path {
        "/drift" => Href::new("/drift"),
        "/admission" => Href::new("/admission"),
        _ => Href::new("/events").opt("kind", kind),
    };
    let admission = nav == Nav::Admission;
    layout(title, nav, |h| {
        if nav == Nav::Events {
            h.raw("<div class=\"filters\">kind: <a href=\"/events\">all</a>");
            for k in ["drift", "gitops-sync", "sync", "admission", "runtime-alert"] {
                h.raw("<a href=\"")
                    .href(&Href::new("/events").param("kind", k))
                    .raw(if kind == Some(k) {
                        "\" class=\"active\">"
                    } else {
                        "\">"
                    })
                    .text(k)
                    .raw("</a>");
            }
            h.raw("</div>");
        }
        h.raw("<table id=\"events\"><thead><tr><th class=\"num\">#</th><th>time</th><th>kind</th>")
            .raw(if admission { "<th>decision</th>" } else { "" })
            .raw("<th>application / object</th><th>details</th></tr></thead><tbody>");
        for e in &page.items {
            h.raw("<tr><td class=\"num\">")
                .show(e.id)
                .raw("</td><td>")
                .text(&e.time)
                .raw("</td><td>")
                .text(&e.kind)
                .raw("</td>");
            if admission {
                match e.body.get("allowed").and_then(Value::as_bool) {
                    Some(true) => h.raw("<td class=\"ok\">allowed</td>"),
                    Some(false) => h.raw("<td class=\"bad\">denied</td>"),
                    None => h.raw("<td class=\"muted\">?</td>"),
                };
            }
            let subject = [
                "app",
                "application",
                "object",
                "name",
                "namespace",
                "kind",
                "user",
                "rule",
            ]
            .iter()
            .filter_map(|k| field(&e.body, k))
            .collect::<Vec<_>>()
            .join(" · ");
            h.raw("<td>")
                .text(&subject)
                .raw("</td><td><code>")
                .text(&compact(&e.body, 240))
                .raw("</code></td></tr>");
        }
        if page.items.is_empty() {
            h.raw("<tr><td colspan=\"6\" class=\"muted\">no events</td></tr>");
        }
        h.raw("</tbody></table>");
        pager(h, base, page.older, page.newer, limit, default);
    })
}

/// `/audit`.
pub(crate) fn audit(
    page: &Page<LedgerEntry>,
    v: Option<&VerifyResult>,
    limit: u32,
    default: u32,
) -> String {
    layout("Audit ledger", Nav::Audit, |h| {
        h.raw("<div id=\"verification\" class=\"card\">");
        match v {
            None => {
                h.raw("<span class=\"muted\">Not verified yet (a verification runs when the server starts).</span>");
            }
            Some(v) => {
                if let Some(e) = &v.error {
                    h.raw("<span class=\"bad\">Verification failed: </span>")
                        .text(e);
                } else if v.intact {
                    h.raw("<span class=\"ok\">Ledger intact</span>: ")
                        .show(v.entries)
                        .raw(" entries");
                    if let Some((seq, hash)) = &v.head {
                        h.raw(", head seq ")
                            .show(seq)
                            .raw(" hash <code class=\"hash\">")
                            .text(hash)
                            .raw("</code>");
                    }
                } else if let Some(p) = &v.problem {
                    h.raw("<span class=\"bad\">Ledger TAMPERED at seq ")
                        .show(p.seq)
                        .raw("</span>: ")
                        .text(&p.message);
                }
                h.raw("<div class=\"muted\">verified at ")
                    .text(&v.verified_at)
                    .raw(" in ")
                    .show(v.took_ms)
                    .raw(" ms</div>");
            }
        }
        h.raw("<form class=\"inline\" method=\"post\" action=\"/audit/verify\"><button type=\"submit\">Verify now</button></form></div>");
        h.raw("<table id=\"ledger\"><thead><tr><th class=\"num\">seq</th><th>time</th><th>kind</th><th class=\"num\">record</th><th>record hash</th><th>hash</th></tr></thead><tbody>");
        for e in &page.items {
            h.raw("<tr><td class=\"num\">")
                .show(e.seq)
                .raw("</td><td>")
                .text(&e.time)
                .raw("</td><td>")
                .text(&e.kind)
                .raw("</td><td class=\"num\">");
            if e.kind == shipgate_store::KIND_PIPELINE_RUN {
                h.link(
                    &Href::with_id("/runs/", e.record_id),
                    &e.record_id.to_string(),
                );
            } else {
                h.show(e.record_id);
            }
            h.raw("</td><td><code class=\"hash\">")
                .text(&e.record_hash.chars().take(16).collect::<String>())
                .raw("…</code></td><td><code class=\"hash\">")
                .text(&e.hash)
                .raw("</code></td></tr>");
        }
        if page.items.is_empty() {
            h.raw("<tr><td colspan=\"6\" class=\"muted\">the ledger is empty</td></tr>");
        }
        h.raw("</tbody></table>");
        pager(
            h,
            Href::new("/audit"),
            page.older,
            page.newer,
            limit,
            default,
        );
    })
}

/// An error page.
pub(crate) fn error(status: StatusCode, message: &str) -> String {
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("error")
    );
    layout(&title, Nav::Overview, |h| {
        h.raw("<p id=\"error\">")
            .text(message)
            .raw("</p><p><a href=\"/\">overview</a></p>");
    })
}
