//! Benchmark / manual driver: scan a path (or `-` for stdin, `--git` for history,
//! `--staged` for the index) with the built-in rules and print counts and findings.
//!
//! `cargo run --release -p shipgate-secrets --example secrets-scan -- [--git|--staged|--quiet] PATH`
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;

// The allocator the `shipgate` binary ships with, so figures are the product's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::time::Instant;

use shipgate_secrets::{
    GitOptions, RuleSet, ScanOptions, Scanner, SecretsSettings, scan_git, scan_path, scan_reader,
    scan_staged,
};

fn main() {
    let mut git = false;
    let mut staged = false;
    let mut quiet = false;
    let mut gitleaks: Option<PathBuf> = None;
    let mut settings = SecretsSettings::default();
    let mut path = PathBuf::from(".");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--git" => git = true,
            "--staged" => staged = true,
            "--quiet" => quiet = true,
            "--gitleaks-config" => gitleaks = args.next().map(PathBuf::from),
            "--disable" => {
                settings.disable_rules = args
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(str::to_owned)
                    .collect()
            }
            _ => path = PathBuf::from(a),
        }
    }
    let rules = match &gitleaks {
        Some(p) => RuleSet::from_gitleaks_toml(p).unwrap_or_else(|e| {
            eprintln!("error: {e}");
            std::process::exit(2)
        }),
        None => RuleSet::builtin(),
    };
    let t0 = Instant::now();
    let scanner = Scanner::new(rules, &settings).expect("scanner");
    let t1 = Instant::now();
    let out = if git {
        scan_git(&scanner, &path, &GitOptions::default()).unwrap_or_else(|e| {
            eprintln!("error: {e}");
            std::process::exit(2)
        })
    } else if staged {
        scan_staged(&scanner, &path).unwrap_or_else(|e| {
            eprintln!("error: {e}");
            std::process::exit(2)
        })
    } else if path.as_os_str() == "-" {
        scan_reader(&scanner, "-", &mut std::io::stdin().lock())
    } else {
        scan_path(&scanner, &path, &ScanOptions::default())
    };
    let t2 = Instant::now();
    if !quiet {
        for f in &out.findings {
            println!(
                "{}:{}:{} {} {} {}",
                f.path,
                f.start_line,
                f.start_column,
                f.rule_id,
                f.severity.as_str(),
                f.redacted
            );
        }
        for e in &out.errors {
            println!("error: {:?}: {}", e.path, e.message);
        }
    }
    let secs = (t2 - t1).as_secs_f64();
    eprintln!(
        "rules={} compile={:.1}ms files={} binary_skipped={} bytes={} findings={} errors={} time={:.3}s rate={:.1}MiB/s",
        scanner.rules().len(),
        (t1 - t0).as_secs_f64() * 1000.0,
        out.scanned,
        out.skipped_binary,
        out.bytes,
        out.findings.len(),
        out.errors.len(),
        secs,
        out.bytes as f64 / 1048576.0 / secs
    );
    for n in &out.notes {
        eprintln!("note: {n}");
    }
    std::process::exit(if !out.errors.is_empty() {
        2
    } else if out.findings.is_empty() {
        0
    } else {
        1
    });
}
