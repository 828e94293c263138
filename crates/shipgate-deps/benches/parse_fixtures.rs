//! Parse throughput.
//!
//! `fixtures`: parse every supported file of the shared lockfile fixtures (osv-scalibr
//! testdata, read from disk each iteration), as the conformance test does. Needs
//! `$SHIPGATE_SHARED_DATA` (default `<repo>/../shared/data`); skipped when absent.
//! `synthetic`: one large generated package-lock.json v3 and yarn.lock, to show scaling.
//!
//! Run: `cargo bench -p shipgate-deps --bench parse_fixtures`

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shipgate_deps::{LockfileKind, WalkOptions, parse_file_as, parse_lockfile, scan_dir};

#[path = "../tests/support/fixture_dirs.rs"]
mod fixture_dirs;
use fixture_dirs::DIRS;

fn fixtures_root() -> Option<PathBuf> {
    let base = std::env::var_os("SHIPGATE_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let root = base.join("lockfile-fixtures");
    root.is_dir().then_some(root)
}

fn list(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn synthetic_npm(n: usize) -> String {
    let mut s = String::from(
        "{\n  \"lockfileVersion\": 3,\n  \"packages\": {\n    \"\": {\"dependencies\": {\"pkg-0\": \"^1\"}}",
    );
    for i in 0..n {
        s.push_str(&format!(
            ",\n    \"node_modules/pkg-{i}\": {{\n      \"version\": \"1.{}.{}\",\n      \"resolved\": \"https://registry.npmjs.org/pkg-{i}/-/pkg-{i}-1.0.0.tgz\",\n      \"integrity\": \"sha512-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\",\n      \"dependencies\": {{\"pkg-{}\": \"^1\"}}\n    }}",
            i % 50,
            i % 7,
            (i + 1) % n
        ));
    }
    s.push_str("\n  }\n}\n");
    s
}

fn synthetic_yarn(n: usize) -> String {
    let mut s = String::from("# yarn lockfile v1\n\n");
    for i in 0..n {
        s.push_str(&format!(
            "pkg-{i}@^1.0.0:\n  version \"1.{}.0\"\n  resolved \"https://registry.yarnpkg.com/pkg-{i}/-/pkg-{i}-1.0.0.tgz#abc\"\n  integrity sha512-AAAA==\n  dependencies:\n    pkg-{} \"^1.0.0\"\n\n",
            i % 50,
            (i + 1) % n
        ));
    }
    s
}

fn bench(c: &mut Criterion) {
    if let Some(root) = fixtures_root() {
        let lang = root.join("filesystem/language");
        let mut work = Vec::new();
        for (dir, kind) in DIRS {
            for f in list(&lang.join(dir)) {
                if !(*kind == LockfileKind::GoMod && f.extension().is_some_and(|e| e == "sum")) {
                    work.push((f, *kind));
                }
            }
        }
        let options = WalkOptions::default();
        let mut g = c.benchmark_group("fixtures");
        g.sample_size(20);
        g.bench_function(format!("parse_all_{}_files", work.len()), |b| {
            b.iter(|| {
                let mut packages = 0;
                for (f, kind) in &work {
                    packages += parse_file_as(&lang, f, *kind, &options).packages.len();
                }
                black_box(packages)
            })
        });
        g.bench_function("scan_dir_whole_tree", |b| {
            b.iter(|| black_box(scan_dir(&root, &options).lockfiles.len()))
        });
        g.finish();
    } else {
        eprintln!("SKIP fixtures benchmark: shared data not found (set SHIPGATE_SHARED_DATA)");
    }
    let npm = synthetic_npm(20_000);
    let yarn = synthetic_yarn(20_000);
    let mut g = c.benchmark_group("synthetic");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(npm.len() as u64));
    g.bench_function("package-lock-v3_20k_packages", |b| {
        b.iter(|| {
            black_box(
                parse_lockfile(LockfileKind::NpmLock, "package-lock.json", npm.as_bytes())
                    .packages
                    .len(),
            )
        })
    });
    g.throughput(Throughput::Bytes(yarn.len() as u64));
    g.bench_function("yarn-v1_20k_packages", |b| {
        b.iter(|| {
            black_box(
                parse_lockfile(LockfileKind::YarnLock, "yarn.lock", yarn.as_bytes())
                    .packages
                    .len(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
