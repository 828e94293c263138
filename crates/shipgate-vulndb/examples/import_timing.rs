//! Imports the given OSV inputs into a temporary database and prints the
//! record count and wall time; run under `/usr/bin/time` to also get CPU
//! time. Used for the figures in `docs/benchmarks-vulndb.md`:
//!
//! `cargo run --release -p shipgate-vulndb --example import_timing -- PATH...`

use std::path::PathBuf;

fn main() {
    let inputs: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = tmp.path().join("osv.bin");
    let t = std::time::Instant::now();
    let report = shipgate_vulndb::import(&db, &inputs).expect("import");
    let wall = t.elapsed();
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    println!(
        "records {} advisories {} packages {} errors {} db_bytes {} wall {:.3}s rate {:.0} records/s",
        report.records_read,
        report.metadata.advisories,
        report.metadata.packages,
        report.errors.len(),
        size,
        wall.as_secs_f64(),
        report.records_read as f64 / wall.as_secs_f64()
    );
}
