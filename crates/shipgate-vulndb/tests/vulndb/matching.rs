//! Matching against real advisories from the shared OSV data (hand-checked
//! boundaries), and freshness rules.

use crate::fixtures::{record, shared_data, write};
use shipgate_vulndb::{Database, Error, Freshness, Level, import};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

/// The shared advisories imported once for all tests in this module.
fn shared_db() -> Option<&'static (tempfile::TempDir, PathBuf)> {
    static DB: OnceLock<Option<(tempfile::TempDir, PathBuf)>> = OnceLock::new();
    DB.get_or_init(|| {
        let osv = shared_data().join("osv");
        if !osv.is_dir() {
            eprintln!(
                "SKIP: {} is absent; set SHIPGATE_SHARED_DATA to run the real-advisory tests",
                osv.display()
            );
            return None;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("osv.bin");
        let inputs = ["pypa", "go", "crates-io"].map(|d| osv.join(d));
        let report = import(&path, &inputs).expect("shared data imports");
        let errors: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
        assert!(
            errors.is_empty(),
            "the shared OSV data must import completely: {errors:#?}"
        );
        assert!(
            report.records_read >= 8_000,
            "read {} records",
            report.records_read
        );
        Some((tmp, path))
    })
    .as_ref()
}

fn ids(db: &Database, eco: &str, name: &str, version: &str) -> Vec<String> {
    db.matches(eco, name, version)
        .expect("query")
        .into_iter()
        .map(|m| m.id)
        .collect()
}

#[test]
fn pypi_introduced_zero_covers_everything_below_fixed() {
    let Some((_, path)) = shared_db() else { return };
    let db = Database::open(path).expect("open");
    // PYSEC-2007-1: django, introduced "0", fixed "1.1", plus explicit versions
    let hit = |v: &str| ids(&db, "PyPI", "django", v).contains(&"PYSEC-2007-1".to_owned());
    assert!(hit("0.91"));
    assert!(
        hit("0.0.1a1"),
        "pre-releases below the first release are covered by introduced 0"
    );
    assert!(hit("1.0.4"));
    assert!(
        hit("1.1rc1"),
        "a pre-release of the fixed version is still affected"
    );
    assert!(!hit("1.1"));
    assert!(!hit("4.2"));
    let m = db.matches("PyPI", "Django", "1.0.4").expect("query");
    let m = m.iter().find(|m| m.id == "PYSEC-2007-1").expect("match");
    assert_eq!(m.fixed, vec!["1.1".to_owned()]);
    assert_eq!(m.aliases, vec!["CVE-2007-5712".to_owned()]);
}

#[test]
fn go_versions_with_v_prefix() {
    let Some((_, path)) = shared_db() else { return };
    let db = Database::open(path).expect("open");
    // GO-2020-0001: github.com/gin-gonic/gin, introduced 0, fixed 1.6.0 (SEMVER)
    let hit = |v: &str| {
        ids(&db, "Go", "github.com/gin-gonic/gin", v).contains(&"GO-2020-0001".to_owned())
    };
    assert!(hit("v1.5.0"));
    assert!(hit("v1.6.0-rc.1"));
    assert!(
        hit("v0.0.0-20190101000000-abcdef123456"),
        "pseudo-versions order before releases"
    );
    assert!(!hit("v1.6.0"));
    assert!(!hit("1.6.0"));
    assert!(!hit("v1.9.1"));
    // withdrawn advisory GO-2024-2730 (gorilla/sessions, introduced 0) never matches
    assert!(
        !ids(&db, "Go", "github.com/gorilla/sessions", "v1.2.1")
            .contains(&"GO-2024-2730".to_owned())
    );
}

#[test]
fn crates_io_several_ranges() {
    let Some((_, path)) = shared_db() else { return };
    let db = Database::open(path).expect("open");
    // RUSTSEC-2018-0003 smallvec: [0.3.2,0.3.4) [0.4.0-0,0.4.5) [0.5.0-0,0.5.1) [0.6.0-0,0.6.3)
    let fixed_for = |v: &str| {
        db.matches("crates.io", "smallvec", v)
            .expect("query")
            .into_iter()
            .find(|m| m.id == "RUSTSEC-2018-0003")
            .map(|m| m.fixed)
    };
    assert_eq!(fixed_for("0.3.1"), None);
    assert_eq!(fixed_for("0.3.2"), Some(vec!["0.3.4".to_owned()]));
    assert_eq!(fixed_for("0.3.4"), None);
    assert_eq!(fixed_for("0.4.0"), Some(vec!["0.4.5".to_owned()]));
    assert_eq!(fixed_for("0.4.5"), None);
    assert_eq!(fixed_for("0.5.0"), Some(vec!["0.5.1".to_owned()]));
    assert_eq!(fixed_for("0.6.2"), Some(vec!["0.6.3".to_owned()]));
    assert_eq!(fixed_for("0.6.3"), None);
    assert_eq!(fixed_for("1.0.0"), None);
    let m = db.matches("crates.io", "smallvec", "0.6.2").expect("query");
    let m = m
        .iter()
        .find(|m| m.id == "RUSTSEC-2018-0003")
        .expect("match");
    assert_eq!(m.severity.level, Level::Critical);
    assert_eq!(m.severity.score, Some(9.8));
}

#[test]
fn unknown_package_invalid_version_and_unknown_ecosystem() {
    let Some((_, path)) = shared_db() else { return };
    let db = Database::open(path).expect("open");
    assert!(
        db.matches("PyPI", "surely-not-a-real-package-xyz", "1.0")
            .expect("query")
            .is_empty()
    );
    let err = db
        .matches("crates.io", "smallvec", "")
        .expect_err("empty version");
    assert!(matches!(err, Error::InvalidVersion { .. }), "{err}");
    let err = db
        .matches("NoSuchEcosystem", "x", "1")
        .expect_err("unknown ecosystem");
    assert!(matches!(err, Error::UnsupportedEcosystem(_)), "{err}");
    let st = db.status();
    assert!(
        st.metadata.ecosystems.contains_key("PyPI") && st.metadata.ecosystems.contains_key("Go")
    );
    assert!(st.metadata.withdrawn > 0);
}

#[test]
fn freshness_fails_closed_unless_offline() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("r.json");
    write(&src, &record("F-1", "PyPI", "x", "0", "1"));
    let path = tmp.path().join("osv.bin");
    let err = Database::open_checked(&path, Freshness::default())
        .err()
        .expect("no db");
    assert!(err.to_string().contains("shipgate db update"), "{err}");
    import(&path, &[src]).expect("import");
    let (db, note) = Database::open_checked(&path, Freshness::default()).expect("fresh");
    assert!(note.is_none());
    let later = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 8);
    let err = db
        .check_freshness(Freshness::default(), later)
        .expect_err("stale after 8 days");
    assert!(
        matches!(err, Error::Stale { .. }) && err.to_string().contains("shipgate db update"),
        "{err}"
    );
    let offline = Freshness {
        max_age: Duration::from_secs(60),
        offline: true,
    };
    let note = db
        .check_freshness(offline, later)
        .expect("offline accepts any age")
        .expect("note");
    assert!(
        note.contains("offline") && note.contains("8 days"),
        "{note}"
    );
}

#[test]
fn matches_convert_to_report_findings() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("r.json");
    write(
        &src,
        &record("GHSA-test-0001", "PyPI", "Django", "2.0", "3.2.19"),
    );
    let path = tmp.path().join("osv.bin");
    import(&path, &[src]).expect("import");
    let db = Database::open(&path).expect("open");
    let m = db.matches("PyPI", "django", "3.2.0").expect("query");
    assert_eq!(m.len(), 1);
    let loc = shipgate_report::Location::file("requirements.txt").with_line(3);
    let f = m[0].to_finding("deps", loc.clone(), "3.2.0");
    assert_eq!(f.rule_id, "GHSA-test-0001");
    assert_eq!(f.severity, shipgate_report::Severity::High, "CVSS 3.1 7.5");
    assert_eq!(f.cvss_score(), Some(7.5));
    let pkg = f.package.as_ref().expect("package");
    assert_eq!(
        (pkg.name.as_str(), pkg.version.as_str(), pkg.fixed.clone()),
        ("Django", "3.2.0", vec!["3.2.19".to_owned()])
    );
    assert_eq!(
        f.advisory.as_ref().expect("advisory").aliases,
        vec!["CVE-GHSA-test-0001".to_owned()]
    );
    assert!(
        f.remediation
            .as_deref()
            .expect("remediation")
            .contains("3.2.19")
    );
    // stable fingerprint, different for another version
    assert_eq!(
        f.fingerprint,
        m[0].to_finding("deps", loc.clone(), "3.2.0").fingerprint
    );
    assert_ne!(
        f.fingerprint,
        m[0].to_finding("deps", loc, "3.2.1").fingerprint
    );
}
