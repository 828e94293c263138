//! Benchmarks for shipgate-vulndb. Figures and the reproduce command are in
//! `docs/benchmarks-vulndb.md`.
//!
//! `cargo bench -p shipgate-vulndb --bench vulndb`
//! (set `SHIPGATE_SHARED_DATA` if the shared data is not at `<repo>/../shared/data`).

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use shipgate_vulndb::{Database, import};
use std::hint::black_box;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

fn shared_osv() -> Option<Vec<PathBuf>> {
    let base = std::env::var_os("SHIPGATE_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let osv = base.join("osv");
    osv.is_dir()
        .then(|| ["pypa", "go", "crates-io"].map(|d| osv.join(d)).to_vec())
}

/// A zip with `n` synthetic advisories shaped like OSV export records.
fn synthetic_zip(n: usize) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for i in 0..n {
            let rec = serde_json::json!({
                "id": format!("SYN-{i}"),
                "modified": "2024-01-01T00:00:00Z",
                "aliases": [format!("CVE-2024-{i}")],
                "summary": "synthetic advisory for the import benchmark",
                "details": "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(8),
                "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
                "affected": [{
                    "package": {"ecosystem": "npm", "name": format!("pkg-{}", i % 50_000)},
                    "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": format!("1.{}.0", i % 97)}, {"introduced": "2.0.0"}, {"fixed": format!("2.{}.1", i % 13)}]}],
                    "versions": ["1.0.0", "1.0.1", "1.1.0"]
                }],
                "references": [{"type": "ADVISORY", "url": format!("https://example.invalid/{i}")}]
            });
            w.start_file(format!("SYN-{i}.json"), opts)
                .expect("zip member");
            w.write_all(rec.to_string().as_bytes()).expect("zip write");
        }
        w.finish().expect("zip finish");
    }
    buf.into_inner()
}

fn benches(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db_path = tmp.path().join("osv.bin");
    if let Some(inputs) = shared_osv() {
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
    let zip_path = tmp.path().join("synthetic-all.zip");
    std::fs::write(&zip_path, synthetic_zip(n)).expect("write zip");
    let syn_db = tmp.path().join("syn.bin");
    g.throughput(criterion::Throughput::Elements(n as u64));
    g.bench_function("synthetic_zip_50k_records", |b| {
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
