//! Development aid: time each built-in rule alone over a tree (the prefilter and the rule's
//! regex), slowest first. `cargo run --release -p shipgate-secrets --example rule-profile -- DIR`
#![allow(clippy::print_stdout)]

use std::time::Instant;

use shipgate_secrets::{RuleSet, ScanOptions, Scanner, SecretsSettings, scan_path};

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    let all = RuleSet::builtin();
    let opts = ScanOptions {
        no_ignore: false,
        threads: 1,
    };
    // Baseline: no rules at all (walk + read).
    let empty = SecretsSettings {
        disable_rules: all.rules().iter().map(|r| r.id.clone()).collect(),
        ..SecretsSettings::default()
    };
    let s = Scanner::new(all.clone(), &empty).expect("scanner");
    let t = Instant::now();
    let base = scan_path(&s, &dir, &opts);
    let base_t = t.elapsed().as_secs_f64();
    println!("walk+read: {:.3}s for {} bytes", base_t, base.bytes);
    let mut rows = Vec::new();
    for r in all.rules() {
        let settings = SecretsSettings {
            disable_rules: all
                .rules()
                .iter()
                .filter(|x| x.id != r.id)
                .map(|x| x.id.clone())
                .collect(),
            ..SecretsSettings::default()
        };
        let s = Scanner::new(all.clone(), &settings).expect("scanner");
        let t = Instant::now();
        let out = scan_path(&s, &dir, &opts);
        rows.push((
            t.elapsed().as_secs_f64() - base_t,
            r.id.clone(),
            out.findings.len(),
        ));
    }
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (t, id, n) in rows.iter().take(40) {
        println!("{t:8.3}s  {id:40} findings={n}");
    }
}
