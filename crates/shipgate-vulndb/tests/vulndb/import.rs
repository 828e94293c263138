//! Import: every input kind, and bad inputs reported by name while the rest
//! is imported.

use crate::fixtures::{record, write, zip_bytes};
use shipgate_vulndb::{Database, Error, import};

#[test]
fn imports_json_yaml_folders_and_zips_and_reports_bad_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("src");
    write(
        &src.join("a/GOOD-1.json"),
        &record("GOOD-1", "PyPI", "Requests", "0", "2.0"),
    );
    write(
        &src.join("b/GOOD-2.yaml"),
        "id: GOOD-2\nmodified: '2024-01-01T00:00:00Z'\naffected:\n- package: {ecosystem: npm, name: left-pad}\n  ranges:\n  - type: SEMVER\n    events:\n    - introduced: '0'\n    - fixed: 1.3.0\n",
    );
    write(
        &src.join("b/BAD-1.json"),
        "{\n  \"id\": \"BAD-1\",\n  \"affected\": [ oops ]\n}\n",
    );
    write(
        &src.join("b/BAD-2.yaml"),
        "id: BAD-2\naffected:\n  - package: [unclosed\n",
    );
    write(&src.join("b/NOID.json"), "{\"affected\": []}");
    // an invalid Debian epoch inside an otherwise fine record
    write(
        &src.join("c/BADVER.json"),
        &record("BADVER-1", "Debian:12", "openssl", "0", "x:1.0"),
    );
    let zip = zip_bytes(&[
        (
            "GOOD-3.json",
            &record("GOOD-3", "crates.io", "smallvec", "0.3.2", "0.3.4"),
        ),
        ("BROKEN.json", "{\"id\": "),
    ]);
    std::fs::write(src.join("c/all.zip"), &zip).expect("zip");
    std::fs::write(src.join("c/truncated.zip"), &zip[..zip.len() / 2]).expect("truncated zip");
    write(&src.join("c/ignored.txt"), "not an advisory");

    let db_path = tmp.path().join("db/osv.bin");
    let report =
        import(&db_path, std::slice::from_ref(&src)).expect("import succeeds despite bad files");
    let messages: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
    let has = |needle: &str| messages.iter().any(|m| m.contains(needle));
    assert!(
        has("BAD-1.json:3:"),
        "JSON error names file and line: {messages:#?}"
    );
    assert!(
        has("BAD-2.yaml:"),
        "YAML error names the file: {messages:#?}"
    );
    assert!(has("NOID.json"), "{messages:#?}");
    assert!(
        has("truncated.zip") && has("truncated or damaged"),
        "{messages:#?}"
    );
    assert!(
        has("all.zip!BROKEN.json"),
        "archive member named: {messages:#?}"
    );
    assert!(
        has("BADVER.json") && has("epoch"),
        "invalid version reported: {messages:#?}"
    );
    assert_eq!(
        report.metadata.advisories, 4,
        "GOOD-1..3 and BADVER-1 are stored"
    );

    let db = Database::open(&db_path).expect("open");
    // PEP 503 normalisation: "requests" finds "Requests"
    let m = db.matches("PyPI", "requests", "1.9").expect("query");
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].id, "GOOD-1");
    assert_eq!(m[0].fixed, vec!["2.0".to_owned()]);
    assert_eq!(m[0].aliases, vec!["CVE-GOOD-1".to_owned()]);
    assert!(
        db.matches("PyPI", "requests", "2.0")
            .expect("query")
            .is_empty()
    );
    assert_eq!(
        db.matches("npm", "left-pad", "1.2.9").expect("query").len(),
        1
    );
    assert_eq!(
        db.matches("crates.io", "smallvec", "0.3.3").expect("query")[0].id,
        "GOOD-3"
    );
    // the Debian range was unusable: reported at import, never matches
    assert!(
        db.matches("Debian:12", "openssl", "0.5")
            .expect("query")
            .is_empty()
    );
    let status = db.status();
    assert_eq!(status.metadata.ecosystems["PyPI"].advisories, 1);
    assert!(status.size_bytes > 0);
    // no temporary files left beside the database
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path().join("db"))
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}

#[test]
fn missing_input_and_nothing_importable_leave_old_database() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db_path = tmp.path().join("osv.bin");
    let good = tmp.path().join("good.json");
    write(
        &good,
        &record("KEEP-1", "Go", "example.com/m", "0", "1.2.0"),
    );
    import(&db_path, std::slice::from_ref(&good)).expect("first import");
    let before = std::fs::read(&db_path).expect("read db");

    let err = import(&db_path, &[tmp.path().join("nope")]).expect_err("missing input");
    assert!(matches!(err, Error::Source { .. }), "{err}");
    let bad = tmp.path().join("bad.json");
    write(&bad, "[");
    let err = import(&db_path, std::slice::from_ref(&bad)).expect_err("nothing importable");
    assert!(err.to_string().contains("bad.json"), "{err}");
    assert_eq!(
        std::fs::read(&db_path).expect("read db"),
        before,
        "database untouched"
    );
    let db = Database::open(&db_path).expect("still opens");
    assert_eq!(
        db.matches("Go", "example.com/m", "v1.1.9")
            .expect("query")
            .len(),
        1
    );
}

#[test]
fn damaged_database_is_reported_not_misread() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db_path = tmp.path().join("osv.bin");
    let good = tmp.path().join("good.json");
    write(&good, &record("X-1", "PyPI", "flask", "0", "1.0"));
    import(&db_path, std::slice::from_ref(&good)).expect("import");
    let mut bytes = std::fs::read(&db_path).expect("read");
    let n = bytes.len();
    bytes[n - 100] ^= 0xff; // inside the index sections / footer
    std::fs::write(&db_path, &bytes).expect("write");
    let err = Database::open(&db_path).err().expect("damage detected");
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("shipgate db update"), "{err}");
    std::fs::write(&db_path, b"short").expect("write");
    assert!(matches!(
        Database::open(&db_path),
        Err(Error::Corrupt { .. })
    ));
    let err = Database::open(&tmp.path().join("absent.bin"))
        .err()
        .expect("absent");
    assert!(matches!(err, Error::NoDatabase { .. }));
    assert!(err.to_string().contains("shipgate db import PATH"), "{err}");
}

#[test]
fn duplicates_keep_newest_and_versions_lists_and_last_affected_apply() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let old = record("DUP-1", "PyPI", "pkg", "0", "1.0");
    let newer = old
        .replace("2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z")
        .replace("\"1.0\"", "\"2.0\"");
    write(&tmp.path().join("in/a/DUP-1.json"), &newer);
    write(&tmp.path().join("in/b/DUP-1.json"), &old);
    let listed = serde_json::json!({
        "id": "LIST-1",
        "affected": [{
            "package": {"ecosystem": "Go", "name": "example.com/mod"},
            "ranges": [{"type": "GIT", "repo": "https://example.invalid/r", "events": [{"introduced": "0"}, {"fixed": "abc123"}]}],
            "versions": ["1.2.3", "1.2.4"]
        }, {
            "package": {"ecosystem": "Debian:12", "name": "libfoo"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "1:1.0-1"}, {"last_affected": "1:1.4-2"}]}]
        }]
    });
    write(&tmp.path().join("in/c/LIST-1.json"), &listed.to_string());
    let db_path = tmp.path().join("osv.bin");
    let report = import(&db_path, &[tmp.path().join("in")]).expect("import");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.metadata.advisories, 2);
    let db = Database::open(&db_path).expect("open");
    let m = db.matches("PyPI", "pkg", "1.5").expect("query");
    assert_eq!(
        m.len(),
        1,
        "the newer copy (fixed 2.0) wins regardless of file order"
    );
    assert_eq!(m[0].fixed, vec!["2.0".to_owned()]);
    // GIT range skipped; explicit versions apply, with or without Go's v prefix
    assert_eq!(
        db.matches("Go", "example.com/mod", "v1.2.3")
            .expect("query")
            .len(),
        1
    );
    assert_eq!(
        db.matches("Go", "example.com/mod", "1.2.4")
            .expect("query")
            .len(),
        1
    );
    assert!(
        db.matches("Go", "example.com/mod", "v1.2.5")
            .expect("query")
            .is_empty()
    );
    // last_affected is inclusive and yields no fixed version
    let hit = db.matches("Debian:12", "LIBFOO", "1:1.4-2").expect("query");
    assert_eq!(hit.len(), 1);
    assert!(hit[0].fixed.is_empty());
    assert!(
        db.matches("Debian:12", "libfoo", "1:1.4-2+deb12u1")
            .expect("query")
            .is_empty()
    );
    assert!(
        db.matches("Debian:12", "libfoo", "1.9")
            .expect("query")
            .is_empty(),
        "epoch 0 < epoch 1"
    );
    assert!(
        db.matches("Debian:11", "libfoo", "1:1.2-1")
            .expect("query")
            .is_empty(),
        "other release"
    );
}

#[test]
fn leftovers_of_a_killed_import_are_removed_and_a_running_ones_kept() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db_path = tmp.path().join("osv.bin");
    // a process id nobody uses (pid_max is at most 2^22 on Linux)
    let dead = (4_000_000u32..4_194_304)
        .rev()
        .find(|p| !std::path::Path::new(&format!("/proc/{p}")).exists())
        .expect("a free pid");
    let alive = std::process::id();
    let dead_tmp = tmp.path().join(format!(".osv.bin.tmp-{dead}-0"));
    let dead_spill = tmp.path().join(format!(".osv.bin.spill-{dead}-3"));
    let live_spill = tmp.path().join(format!(".osv.bin.spill-{alive}-99"));
    let other = tmp.path().join(format!(".other.bin.tmp-{dead}-0"));
    write(&dead_tmp, "half a database");
    write(&dead_spill.join("run-0"), "half a run");
    write(&live_spill.join("run-0"), "in use");
    write(&other, "not ours");
    let good = tmp.path().join("good.json");
    write(
        &good,
        &record("KEEP-1", "Go", "example.com/m", "0", "1.2.0"),
    );
    import(&db_path, std::slice::from_ref(&good)).expect("import");
    assert!(
        !dead_tmp.exists() && !dead_spill.exists(),
        "stale files removed"
    );
    assert!(
        live_spill.join("run-0").exists(),
        "a running import's files are kept"
    );
    assert!(other.exists(), "another database's files are not touched");
}
