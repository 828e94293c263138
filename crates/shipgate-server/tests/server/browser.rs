//! The pages in real headless Chromium: the DOM after parsing holds the data, and a
//! screenshot of each page is kept as a test artefact (a valid PNG of the window size).

use std::path::PathBuf;

use crate::common::*;

/// `$SHIPGATE_SCREENSHOT_DIR`, else `shipgate-screenshots/` in the cargo target directory
/// (found from the test binary's path: target/debug/deps/server-HASH).
fn screenshot_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SHIPGATE_SCREENSHOT_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .nth(3)
        .map(|t| t.join("shipgate-screenshots"))
        .unwrap_or_else(|| std::env::temp_dir().join("shipgate-screenshots"))
}

/// Checks the PNG signature, the IHDR size and that it is not a blank page.
fn assert_png(path: &std::path::Path, width: u32, height: u32) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(
        &b[..8],
        b"\x89PNG\r\n\x1a\n",
        "{}: not a PNG",
        path.display()
    );
    assert_eq!(&b[12..16], b"IHDR", "{}", path.display());
    let w = u32::from_be_bytes(b[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(b[20..24].try_into().unwrap());
    assert_eq!((w, h), (width, height), "{}", path.display());
    // A blank 1280×900 page compresses to a few KB; text, tables and charts do not.
    assert!(
        b.len() > 20_000,
        "{}: only {} bytes, a blank page?",
        path.display(),
        b.len()
    );
}

#[test]
fn pages_render_in_headless_chromium_with_their_data() {
    let Some(chromium) = shipgate_testenv::chromium_or_skip("pages_render_in_headless_chromium")
    else {
        return;
    };
    let server = TestServer::start(|_, _| {});
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let failed_runs = (1..=RUNS).filter(|i| run_status(*i) == "failed").count();
    let checks: &[(&str, &str, &[&str])] = &[
        (
            "/",
            "overview",
            &[
                "<svg id=\"findings-chart\"",
                "id=\"runs-total\"",
                &format!("<div class=\"value\">{RUNS}</div>"),
                "run-120",
                "<rect class=\"sev-critical\"",
            ],
        ),
        (
            "/runs",
            "runs",
            &[
                "run-120",
                "run-071",
                "id=\"older\"",
                "class=\"status-failed\"",
            ],
        ),
        (
            "/runs?status=failed&limit=100",
            "runs-failed",
            &["run-120", "run-005"],
        ),
        (
            "/runs/5",
            "run-5",
            &["run-005", "deps-gate", "class=\"gate bad\""],
        ),
        (
            "/findings",
            "findings",
            &[
                "<svg id=\"findings-chart\"",
                "rule-f2",
                "GHSA-h1",
                "&lt;script&gt;alert('x')&lt;/script&gt;",
            ],
        ),
        ("/mttr", "mttr", &["<svg id=\"mttr-chart\"", "2.0d"]),
        (
            "/drift",
            "drift",
            &["apps/v1 Deployment web/web-74", "gitops-sync"],
        ),
        ("/admission", "admission", &["denied", "pod-19"]),
        (
            "/audit",
            "audit",
            &["id=\"ledger\"", "Verify now", &format!(">{LEDGER}<")],
        ),
    ];
    let mut shots = Vec::new();
    for (path, name, needles) in checks {
        let url = server.url(path);
        let dom = chromium.dump_dom(&url).unwrap();
        assert!(dom.contains("<main>"), "{path}: no page rendered:\n{dom}");
        for n in *needles {
            assert!(dom.contains(n), "{path}: {n:?} not in the DOM:\n{dom}");
        }
        // Parsed by a browser: no element was created from stored text.
        assert!(
            !dom.contains("<script"),
            "{path}: a script element in the DOM"
        );
        let file = dir.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&file);
        chromium.screenshot(&url, &file, 1280, 900).unwrap();
        assert_png(&file, 1280, 900);
        shots.push(file);
    }
    assert_eq!(failed_runs, 24);
    eprintln!("screenshots: {}", dir.display());
    for s in shots {
        eprintln!("  {}", s.display());
    }
}
