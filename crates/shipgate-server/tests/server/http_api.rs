//! HTTP behaviour: pagination, filters, errors, headers, escaping, ingest auth, metrics.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::common::*;
use crate::prom_check::parse_exposition;

/// Walks a list to the end with `before`, then back to the start with `after`; returns the
/// keys in newest-first order and checks both walks see the same rows exactly once.
fn walk(server: &TestServer, base: &str, key: &str, limit: usize) -> Vec<i64> {
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut keys = Vec::new();
    let mut pages = Vec::new();
    let mut url = format!("{base}{sep}limit={limit}");
    loop {
        let page = server.get_json(&url);
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= limit, "{url}");
        let page_keys: Vec<i64> = items.iter().map(|i| i[key].as_i64().unwrap()).collect();
        keys.extend(&page_keys);
        pages.push(page_keys);
        match page["older"].as_i64() {
            Some(o) => url = format!("{base}{sep}limit={limit}&before={o}"),
            None => break,
        }
        assert!(pages.len() < 10_000, "pagination does not end");
    }
    let unique: BTreeSet<i64> = keys.iter().copied().collect();
    assert_eq!(unique.len(), keys.len(), "{base}: a row on two pages");
    assert!(
        keys.windows(2).all(|w| w[0] > w[1]),
        "{base}: not newest first"
    );
    // Back again: the last page's `newer`, then `after` to the top, page by page.
    let last = server.get_json(&format!(
        "{base}{sep}limit={limit}&before={}",
        keys.last().unwrap() + 1
    ));
    let mut back: Vec<Vec<i64>> = Vec::new();
    let mut newer = last["newer"].as_i64();
    let first_page: Vec<i64> = last["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[key].as_i64().unwrap())
        .collect();
    back.push(first_page);
    while let Some(n) = newer {
        let page = server.get_json(&format!("{base}{sep}limit={limit}&after={n}"));
        back.push(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i[key].as_i64().unwrap())
                .collect(),
        );
        newer = page["newer"].as_i64();
    }
    let mut back_keys: Vec<i64> = back.into_iter().rev().flatten().collect();
    back_keys.dedup();
    assert_eq!(back_keys, keys, "{base}: walking back gave other rows");
    keys
}

#[test]
fn every_list_paginates_to_the_end_and_back_without_gaps() {
    let server = TestServer::start(|_, _| {});
    let runs = walk(&server, "/api/runs", "id", 7);
    assert_eq!(runs.len(), RUNS);
    let failed = walk(&server, "/api/runs?status=failed", "id", 4);
    assert_eq!(
        failed.len(),
        (1..=RUNS).filter(|i| run_status(*i) == "failed").count()
    );
    let page = server.get_json("/api/runs?status=error&limit=500");
    for r in page["items"].as_array().unwrap() {
        assert_eq!(r["status"], "error");
    }
    let drift = walk(&server, "/api/drift", "id", 10);
    assert_eq!(drift.len(), DRIFT + SYNC);
    let admission = walk(&server, "/api/admission", "id", 3);
    assert_eq!(admission.len(), ADMISSION);
    let all_events = walk(&server, "/api/events", "id", 50);
    assert_eq!(all_events.len(), DRIFT + SYNC + ADMISSION + RUNTIME);
    let runtime = walk(&server, "/api/events?kind=runtime-alert", "id", 2);
    assert_eq!(runtime.len(), RUNTIME);
    let ledger = walk(&server, "/api/audit", "seq", 33);
    assert_eq!(ledger.len(), LEDGER);
    assert_eq!(ledger[0], LEDGER as i64);
    let findings = walk(&server, "/api/findings", "id", 2);
    assert_eq!(findings.len(), OPEN_FINDINGS);
    let high = server.get_json("/api/findings?severity=high");
    let items = high["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["fingerprint"], "f2");
    assert_eq!(items[0]["first_seen"], "2026-03-01T08:00:00Z");
    // Past the end: empty, with the way back.
    let beyond = server.get_json("/api/runs?before=1");
    assert_eq!(beyond["items"].as_array().unwrap().len(), 0);
    assert!(beyond["newer"].is_i64());
}

#[test]
fn run_detail_has_steps_and_gate_decisions() {
    let server = TestServer::start(|_, _| {});
    let d = server.get_json("/api/runs/5");
    assert_eq!(d["run"]["run_id"], "run-005");
    assert_eq!(d["run"]["status"], "failed");
    assert_eq!(d["run"]["gate_failures"], 1);
    let steps = d["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[1]["gate"]["passed"], false);
    assert_eq!(steps[1]["gate"]["summary"]["high"], 1);
    let page = server.get("/runs/5");
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(
        html.contains("run-005") && html.contains("deps-gate"),
        "{html}"
    );
    assert!(html.contains("1 high finding &lt;script&gt;"), "{html}");
    assert_eq!(server.get("/runs/99999").status, 404);
    assert_eq!(server.get("/api/runs/99999").status, 404);
    assert_eq!(server.get("/runs/abc").status, 400);
}

#[test]
fn bad_requests_are_400_unknown_paths_404_and_headers_are_set() {
    let server = TestServer::start(|_, _| {});
    for (path, status) in [
        ("/runs?before=abc", 400),
        ("/runs?before=1&after=2", 400),
        ("/runs?limit=0", 400),
        ("/runs?limit=100000", 400),
        ("/runs?status=weird", 400),
        ("/runs?nope=1", 400),
        ("/runs?status=passed&status=failed", 400),
        ("/findings?severity=severe", 400),
        ("/api/findings/trend?from=yesterday", 400),
        ("/events?kind=%ZZ", 400),
        ("/?x=1", 400),
        ("/no/such/page", 404),
        ("/api/nothing", 404),
        ("/runs/-1", 400),
    ] {
        let r = server.get(path);
        assert_eq!(r.status, status, "{path}: {}", r.text());
    }
    let r = server.get("/api/runs?limit=abc");
    assert_eq!(r.status, 400);
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert!(v["error"].as_str().unwrap().contains("limit"), "{v}");
    let r = request(server.addr, "DELETE", "/runs", &[], b"");
    assert_eq!(r.status, 405);
    let r = request(server.addr, "GET", "/api/ingest", &[], b"");
    assert_eq!(r.status, 405);
    let r = server.get("/");
    assert_eq!(r.status, 200);
    let csp = r.header("content-security-policy").unwrap();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("unsafe"),
        "{csp}"
    );
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    assert!(
        r.header("strict-transport-security").is_none(),
        "HSTS only over TLS"
    );
    let css = server.get("/static/style.css");
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
}

#[test]
fn hostile_strings_are_escaped_on_every_page() {
    let server = TestServer::start(|_, _| {});
    for path in [
        "/",
        "/runs",
        "/runs?limit=500",
        "/runs/7",
        "/findings",
        "/drift",
        "/events",
        "/admission",
        "/audit",
        "/mttr",
    ] {
        let r = server.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let html = r.text();
        assert!(!html.contains("<script"), "{path}: unescaped script tag");
        assert!(!html.contains("alert('x')"), "{path}: unescaped quote");
    }
    let runs = server.get("/runs?limit=500").text();
    assert!(
        runs.contains(".shipgate/&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;.yaml"),
        "{runs}"
    );
    let findings = server.get("/findings").text();
    assert!(
        findings.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"),
        "{findings}"
    );
    let drift = server.get("/drift?limit=500").text();
    assert!(drift.contains("&lt;script&gt;"), "{drift}");
    // Error pages echo what was asked, escaped too.
    let r = server.get("/events?kind=%3Cscript%3E&%3Cb%3Ex%3C%2Fb%3E=1");
    assert_eq!(r.status, 400);
    assert!(
        !r.text().contains("<b>") && r.text().contains("&lt;b&gt;"),
        "{}",
        r.text()
    );
}

#[test]
fn overview_mttr_and_findings_show_the_store_figures() {
    let server = TestServer::start(|_, _| {});
    let o = server.get_json("/api/overview");
    assert_eq!(o["metrics"]["runs_total"], RUNS as u64);
    assert_eq!(o["open_findings"]["critical"], 1);
    assert_eq!(o["open_findings"]["high"], 1);
    assert_eq!(o["open_findings"]["medium"], 1);
    assert_eq!(o["ledger_entries"], LEDGER as u64);
    assert_eq!(o["metrics"]["admission_denials"], 5);
    let mttr = server.get_json("/api/mttr");
    let high = mttr
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["severity"] == "high")
        .unwrap();
    assert_eq!(high["fixed"], 1);
    assert_eq!(high["mean_seconds"], 2.0 * 86_400.0);
    let trend = server.get_json("/api/findings/trend?from=2026-03-02");
    let days: Vec<&str> = trend
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["day"].as_str().unwrap())
        .collect();
    assert_eq!(days, ["2026-03-02", "2026-03-03"]);
    assert_eq!(trend[1]["critical"], 1);
    assert_eq!(trend[1]["high"], 1);
    let page = server.get("/mttr").text();
    assert!(
        page.contains("id=\"mttr-chart\"") && page.contains("2.0d"),
        "{page}"
    );
    let page = server.get("/findings").text();
    assert!(page.contains("<svg id=\"findings-chart\""), "{page}");
}

#[test]
fn ledger_verification_is_cached_and_rerun_on_post() {
    let server = TestServer::start(|_, _| {});
    let v = request(server.addr, "POST", "/api/audit/verify", &[], b"");
    assert_eq!(v.status, 200, "{}", v.text());
    let v: Value = serde_json::from_slice(&v.body).unwrap();
    assert_eq!(v["intact"], true);
    assert_eq!(v["entries"], LEDGER as u64);
    let cached = server.get_json("/api/audit/verification");
    assert_eq!(cached["intact"], true);
    let r = request(server.addr, "POST", "/audit/verify", &[], b"");
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/audit"));
    assert!(server.get("/audit").text().contains("Ledger intact"));
    // Tamper with a record behind the server's back: the next verification says so.
    let c = rusqlite::Connection::open(server.db()).unwrap();
    c.execute(
        "UPDATE events SET body = replace(body, 'web', 'wEb') WHERE id = 2",
        [],
    )
    .unwrap();
    drop(c);
    let v = request(server.addr, "POST", "/api/audit/verify", &[], b"");
    let v: Value = serde_json::from_slice(&v.body).unwrap();
    assert_eq!(v["intact"], false, "{v}");
    let audit = server.get("/audit").text();
    assert!(audit.contains("TAMPERED"), "{audit}");
    let metrics = server.get("/metrics").text();
    assert!(
        metrics.contains("\nshipgate_ledger_intact 0\n"),
        "{metrics}"
    );
}

#[test]
fn ingest_needs_a_configured_token_and_the_right_bearer() {
    let readonly = TestServer::start(|_, _| {});
    let doc = r#"{"schema":"shipgate.event/v1","kind":"drift","time":"2026-04-01T00:00:00Z","body":{"app":"new"}}"#;
    let r = request(readonly.addr, "POST", "/api/ingest", &[], doc.as_bytes());
    assert_eq!(r.status, 403, "{}", r.text());

    let server = TestServer::start(|c, dir| {
        let f = dir.join("token");
        std::fs::write(&f, format!("{TOKEN}\n")).unwrap();
        c.token_file = Some(f);
        c.max_body_bytes = 4096;
    });
    let auth = format!("Bearer {TOKEN}");
    for headers in [
        vec![],
        vec![("Authorization", "Bearer wrong-token-wrong-token")],
        vec![("Authorization", TOKEN)],
        vec![("Authorization", "Basic dGVzdA==")],
    ] {
        let r = request(server.addr, "POST", "/api/ingest", &headers, doc.as_bytes());
        assert_eq!(r.status, 401, "{headers:?}: {}", r.text());
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        assert!(!r.text().contains(TOKEN), "the token is never echoed");
    }
    let ok = request(
        server.addr,
        "POST",
        "/api/ingest",
        &[("Authorization", &auth)],
        doc.as_bytes(),
    );
    assert_eq!(ok.status, 201, "{}", ok.text());
    let v: Value = serde_json::from_slice(&ok.body).unwrap();
    assert_eq!(v["kind"], "event");
    assert_eq!(v["seq"], (LEDGER + 1) as u64);
    let newest = server.get_json("/api/drift?limit=1");
    assert_eq!(newest["items"][0]["body"]["app"], "new");
    let bad = request(
        server.addr,
        "POST",
        "/api/ingest",
        &[("Authorization", &auth)],
        b"{not json",
    );
    assert_eq!(bad.status, 400, "{}", bad.text());
    // Declared too large: refused before a byte of the body is read (a body the server
    // never reads would make the kernel reset the connection under the answer).
    let r = request(
        server.addr,
        "POST",
        "/api/ingest",
        &[("Authorization", &auth), ("Content-Length", "10000")],
        b"",
    );
    assert_eq!(r.status, 413, "{}", r.text());
    let r = request(
        server.addr,
        "POST",
        "/api/ingest?time=not-a-time",
        &[("Authorization", &auth)],
        doc.as_bytes(),
    );
    assert_eq!(r.status, 400);
    // The snapshot is refreshed after an ingest.
    let mut seen = 0;
    for _ in 0..100 {
        seen = server.get_json("/api/overview")["metrics"]["drift_events"]
            .as_u64()
            .unwrap();
        if seen == DRIFT as u64 + 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(seen, DRIFT as u64 + 1);
}

#[test]
fn metrics_exposition_is_valid_and_has_the_store_figures() {
    let server = TestServer::start(|_, _| {});
    // Verified at start-up in the background: wait for it so the gauge is present.
    for _ in 0..200 {
        if server.get_json("/api/audit/verification")["verified_at"].is_string() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    let r = server.get("/metrics");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let samples = parse_exposition(&r.text()).unwrap_or_else(|e| panic!("{e}\n{}", r.text()));
    let get = |name: &str, labels: &str| -> f64 {
        samples
            .iter()
            .find(|s| s.name == name && s.labels == labels)
            .unwrap_or_else(|| panic!("no {name}{{{labels}}} in\n{}", r.text()))
            .value
    };
    let failed = (1..=RUNS).filter(|i| run_status(*i) == "failed").count();
    let passed = (1..=RUNS).filter(|i| run_status(*i) == "passed").count();
    assert_eq!(get("shipgate_pipeline_runs_total", ""), RUNS as f64);
    assert_eq!(
        get("shipgate_pipeline_runs_passed_total", ""),
        passed as f64
    );
    assert_eq!(get("shipgate_gate_failures_total", ""), failed as f64);
    assert_eq!(get("shipgate_open_findings", "severity=\"critical\""), 1.0);
    assert_eq!(get("shipgate_open_findings", "severity=\"high\""), 1.0);
    assert_eq!(get("shipgate_open_findings", "severity=\"low\""), 0.0);
    assert_eq!(get("shipgate_mttr_seconds", "severity=\"high\""), 172_800.0);
    assert_eq!(get("shipgate_drift_events_total", ""), DRIFT as f64);
    assert_eq!(get("shipgate_sync_events_total", ""), SYNC as f64);
    assert_eq!(get("shipgate_admission_denials_total", ""), 5.0);
    assert_eq!(get("shipgate_runtime_alerts_total", ""), RUNTIME as f64);
    assert_eq!(get("shipgate_ledger_entries", ""), LEDGER as f64);
    assert_eq!(get("shipgate_ledger_intact", ""), 1.0);
}
