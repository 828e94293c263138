//! Conformance of the version orderings against the osv-scalibr version
//! vectors in `$SHIPGATE_SHARED_DATA/version-vectors` (default
//! `<repo>/../shared/data`). Every line must hold; skipped with a message
//! only when the folder is absent.

use shipgate_vulndb::version::Scheme;
use std::cmp::Ordering;
use std::path::PathBuf;

fn shared_data() -> PathBuf {
    match std::env::var_os("SHIPGATE_SHARED_DATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

fn scheme_of(file: &str) -> Option<Scheme> {
    let prefix = file.split("-versions").next()?;
    Some(match prefix {
        "alpine" => Scheme::Alpine,
        "cran" => Scheme::Cran,
        "debian" => Scheme::Debian,
        "hackage" => Scheme::Hackage,
        "maven" => Scheme::Maven,
        "nuget" => Scheme::NuGet,
        "packagist" => Scheme::Packagist,
        "pub" => Scheme::Pub,
        "pypi" => Scheme::Pep440,
        "redhat" => Scheme::Rpm,
        "rubygems" => Scheme::RubyGems,
        "semver" => Scheme::SemVer,
        _ => return None,
    })
}

fn check(scheme: Scheme, a: &str, b: &str, want: Ordering) -> Result<(), String> {
    let got = scheme.compare(a, b).map_err(|e| e.to_string())?;
    let back = scheme.compare(b, a).map_err(|e| e.to_string())?;
    if got != want || back != want.reverse() {
        return Err(format!(
            "got {a} {got:?} {b} (reverse {back:?}), want {want:?}"
        ));
    }
    for v in [a, b] {
        if scheme.compare(v, v).map_err(|e| e.to_string())? != Ordering::Equal {
            return Err(format!("{v} is not equal to itself"));
        }
    }
    Ok(())
}

#[test]
fn version_vectors_all_hold() {
    let dir = shared_data().join("version-vectors");
    if !dir.is_dir() {
        eprintln!(
            "SKIP: {} is absent; set SHIPGATE_SHARED_DATA to run the version conformance",
            dir.display()
        );
        return;
    }
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("version-vectors folder is readable")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut total = 0usize;
    for path in &files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let Some(scheme) = scheme_of(&name) else {
            failures.push(format!("{name}: no scheme for this file"));
            continue;
        };
        let text = std::fs::read_to_string(path).expect("vector file is UTF-8");
        let (mut pass, mut fail) = (0usize, 0usize);
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
                continue;
            }
            let parts: Vec<&str> = line.split(' ').collect();
            let [a, op, b] = parts[..] else {
                failures.push(format!("{name}:{}: cannot read line {line:?}", n + 1));
                fail += 1;
                continue;
            };
            let want = match op {
                "<" => Ordering::Less,
                ">" => Ordering::Greater,
                "=" => Ordering::Equal,
                _ => {
                    failures.push(format!("{name}:{}: unknown operator in {line:?}", n + 1));
                    fail += 1;
                    continue;
                }
            };
            match check(scheme, a, b, want) {
                Ok(()) => pass += 1,
                Err(e) => {
                    fail += 1;
                    failures.push(format!("{name}:{}: {line}: {e}", n + 1));
                }
            }
        }
        total += pass + fail;
        println!("{name:40} {scheme:?}: {pass} pass, {fail} fail");
    }
    for f in failures.iter().take(60) {
        println!("FAIL {f}");
    }
    assert!(
        failures.is_empty(),
        "{} of {total} version vectors failed",
        failures.len()
    );
    assert!(
        total > 70_000,
        "expected the full vector set, read only {total} lines"
    );
}
