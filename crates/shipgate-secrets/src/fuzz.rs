//! Fuzz entry point for the engine (the `fuzz/` cargo-fuzz crate calls it).

use std::sync::OnceLock;

use crate::{RuleSet, Scanner, SecretsSettings};

fn scanner() -> &'static Scanner {
    static S: OnceLock<Scanner> = OnceLock::new();
    S.get_or_init(|| {
        Scanner::new(RuleSet::builtin(), &SecretsSettings::default())
            .expect("built-in rules with default settings always compile")
    })
}

/// Scan arbitrary bytes with the built-in rules, both in one piece and streamed through a
/// reader that returns tiny reads; must never panic, and both paths must agree.
pub fn fuzz_scan(data: &[u8]) {
    let s = scanner();
    let whole = s.scan_bytes("fuzz.txt", data);
    for f in &whole {
        assert!(f.start_line >= 1 && f.start_column >= 1);
        assert!(!f.redacted.is_empty());
    }
    let mut reader = Trickle { data, pos: 0 };
    let streamed = crate::scan_reader(s, "fuzz.txt", &mut reader);
    assert_eq!(
        whole.len(),
        streamed.findings.len(),
        "streamed and in-memory scans disagree"
    );
}

/// A reader that hands out at most 7 bytes per call.
struct Trickle<'a> {
    data: &'a [u8],
    pos: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(7).min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
