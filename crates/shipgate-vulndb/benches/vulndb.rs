//! Benchmarks for shipgate-vulndb. Figures and the reproduce command are in
//! `docs/benchmarks-vulndb.md`.
//!
//! `cargo bench -p shipgate-vulndb --bench vulndb`
//! (set `SHIPGATE_SHARED_DATA` if the shared data is not at `<repo>/../shared/data`).

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use shipgate_vulndb::{Database, import};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

mod synthetic;

fn shared_osv() -> Option<Vec<PathBuf>> {
    let base = std::env::var_os("SHIPGATE_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let osv = base.join("osv");
    osv.is_dir()
        .then(|| ["pypa", "go", "crates-io"].map(|d| osv.join(d)).to_vec())
}

/// One query per package that has advisories in the shared data (PyPI
/// folders, crates.io and Go package names), at a mid-range version: every
/// query finds entries and evaluates their ranges.
fn realistic_queries(inputs: &[PathBuf]) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    if let Ok(dirs) = std::fs::read_dir(inputs[0].join("vulns")) {
        for d in dirs.filter_map(Result::ok) {
            out.push((
                "PyPI".to_owned(),
                d.file_name().to_string_lossy().into_owned(),
                "1.2.0".to_owned(),
            ));
        }
    }
    for (dir, eco, version) in [
        (inputs[1].join("data/osv"), "Go", "v1.2.0"),
        (inputs[2].join("crates"), "crates.io", "0.3.0"),
    ] {
        let Ok(files) = std::fs::read_dir(dir) else {
            continue;
        };
        for f in files.filter_map(Result::ok).take(1500) {
            let Ok(text) = std::fs::read_to_string(f.path()) else {
                continue;
            };
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
                continue;
            };
            if let Some(name) = v
                .pointer("/affected/0/package/name")
                .and_then(|n| n.as_str())
            {
                out.push((eco.to_owned(), name.to_owned(), version.to_owned()));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Times every query separately (median of 21 runs each) and prints the
/// median and 90th percentile over all queries.
fn report_per_query_median(db: &Database, queries: &[(String, String, String)]) {
    let mut per_query: Vec<Duration> = queries
        .iter()
        .map(|(eco, name, version)| {
            let mut runs: Vec<Duration> = (0..21)
                .map(|_| {
                    let t = std::time::Instant::now();
                    black_box(db.matches(eco, name, version).expect("query"));
                    t.elapsed()
                })
                .collect();
            runs.sort();
            runs[runs.len() / 2]
        })
        .collect();
    per_query.sort();
    eprintln!(
        "per-query lookup+evaluate over {} advised packages: median {:?}, p90 {:?}, max {:?}",
        per_query.len(),
        per_query[per_query.len() / 2],
        per_query[per_query.len() * 9 / 10],
        per_query[per_query.len() - 1]
    );
}

fn benches(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db_path = tmp.path().join("osv.bin");
    if let Some(inputs) = shared_osv() {
        // built once up front so every benchmark (also when filtered) has it
        import(&db_path, &inputs).expect("import");
        let mut g = c.benchmark_group("import");
        g.sample_size(10).measurement_time(Duration::from_secs(20));
        g.bench_function("shared_8k_advisories", |b| {
            b.iter(|| black_box(import(&db_path, &inputs).expect("import")));
        });
        g.finish();

        let mut g = c.benchmark_group("query");
        g.bench_function("open_and_first_query", |b| {
            b.iter(|| {
                let db = Database::open(&db_path).expect("open");
                black_box(db.matches("PyPI", "django", "3.2.0").expect("query"))
            });
        });
        let db = Database::open(&db_path).expect("open");
        let queries = [
            ("PyPI", "django", "3.2.0"),
            ("PyPI", "requests", "2.19.0"),
            ("PyPI", "jinja2", "2.10"),
            ("Go", "github.com/gin-gonic/gin", "v1.5.0"),
            (
                "Go",
                "golang.org/x/net",
                "v0.0.0-20200202094626-16171245cfb2",
            ),
            ("crates.io", "smallvec", "0.6.2"),
            ("crates.io", "tokio", "1.0.0"),
            ("PyPI", "not-a-package", "1.0"),
        ];
        for (eco, name, version) in queries {
            db.matches(eco, name, version).expect("warm");
        }
        g.bench_function("lookup_and_evaluate_mixed", |b| {
            let mut i = 0usize;
            b.iter(|| {
                let (eco, name, version) = queries[i % queries.len()];
                i += 1;
                black_box(db.matches(eco, name, version).expect("query"))
            });
        });
        let realistic = realistic_queries(&inputs);
        if !realistic.is_empty() {
            for (eco, name, version) in &realistic {
                db.matches(eco, name, version).expect("warm");
            }
            report_per_query_median(&db, &realistic);
            g.bench_function("lookup_and_evaluate_every_advised_package", |b| {
                let mut i = 0usize;
                b.iter(|| {
                    let (eco, name, version) = &realistic[i % realistic.len()];
                    i += 1;
                    black_box(db.matches(eco, name, version).expect("query"))
                });
            });
        }
        g.bench_function("lookup_and_evaluate_django_worst_case", |b| {
            b.iter(|| black_box(db.matches("PyPI", "django", "3.2.0").expect("query")));
        });
        g.finish();
    } else {
        eprintln!("SKIP shared-data benchmarks: shared OSV data not found");
    }

    let mut g = c.benchmark_group("import_rate");
    g.sample_size(10).measurement_time(Duration::from_secs(30));
    let n = 50_000;
    g.throughput(criterion::Throughput::Elements(n as u64));
    g.bench_function("synthetic_zip_50k_records", |b| {
        // built here so that filtered runs of the other benchmarks skip it
        let zip_path = tmp.path().join("synthetic-all.zip");
        if !zip_path.exists() {
            let file = std::fs::File::create(&zip_path).expect("create zip");
            synthetic::write_zip(std::io::BufWriter::new(file), n).expect("write zip");
        }
        let syn_db = tmp.path().join("syn.bin");
        b.iter_batched(
            || (),
            |()| black_box(import(&syn_db, std::slice::from_ref(&zip_path)).expect("import")),
            BatchSize::PerIteration,
        );
    });
    g.finish();
}

criterion_group!(vulndb, benches);
criterion_main!(vulndb);
