//! Imports the given OSV inputs into a temporary database and prints the
//! record count and wall time; run under `/usr/bin/time` to also get CPU
//! time and peak memory. Used for the figures in `docs/benchmarks-vulndb.md`:
//!
//! `cargo run --release -p shipgate-vulndb --example import_timing -- PATH...`
//!
//! `... --example import_timing -- --synthetic N OUT.zip` writes an archive
//! of `N` synthetic records (the bench's record shape) to import afterwards.

#[path = "../benches/synthetic.rs"]
mod synthetic;

use std::path::PathBuf;

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if args.first().is_some_and(|a| a.as_os_str() == "--synthetic") {
        let (Some(n), Some(out)) = (
            args.get(1).and_then(|n| n.to_str()?.parse().ok()),
            args.get(2),
        ) else {
            panic!("usage: import_timing --synthetic N OUT.zip");
        };
        let file = std::fs::File::create(out).expect("create the archive");
        synthetic::write_zip(std::io::BufWriter::new(file), n).expect("write the archive");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = tmp.path().join("osv.bin");
    let t = std::time::Instant::now();
    let report = shipgate_vulndb::import(&db, &args).expect("import");
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
