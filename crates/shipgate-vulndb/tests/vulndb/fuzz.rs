//! Seeded random and mutated inputs through the fuzz entry point.

use crate::fixtures::{record, shared_data};
use shipgate_vulndb::fuzz_osv_record;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn fuzz_osv_record_survives_mutations() {
    let mut seeds: Vec<Vec<u8>> = vec![
        record("S-1", "PyPI", "django", "0", "1.1").into_bytes(),
        record("S-2", "Debian:12", "openssl", "1:1.0-1", "1:3.0.0~rc1").into_bytes(),
        record("S-3", "Maven", "g:a", "1.0-SNAPSHOT", "1.0.1.RELEASE").into_bytes(),
        record("S-4", "Alpine:v3.19", "musl", "1.2.3_rc1-r0", "1.2.4-r2").into_bytes(),
        record("S-5", "Red Hat", "kernel", "0:3.10.0-229.el7", "0:3.10.0-229.1.2.el7").into_bytes(),
        b"id: Y-1\naffected:\n- package: {ecosystem: RubyGems, name: rails}\n  ranges: [{type: ECOSYSTEM, events: [{introduced: '0'}, {fixed: 7.0.1}]}]\n".to_vec(),
    ];
    let sample = shared_data().join("osv/crates-io/crates/RUSTSEC-2018-0003.json");
    if let Ok(b) = std::fs::read(&sample) {
        seeds.push(b);
    }
    let dict: &[&[u8]] = &[
        b"\"0\"",
        b"\"fixed\"",
        b"\"introduced\"",
        b"\"limit\"",
        b"~",
        b"^",
        b"-r",
        b":",
        b"{",
        b"}",
        b"[",
        b"]",
        b"\"",
        b"999999999999999999999999",
        b"\xff\xfe",
        b"null",
        b".",
        b"_alpha",
        b"+",
    ];
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    for round in 0..3_000 {
        let mut data = seeds[round % seeds.len()].clone();
        for _ in 0..1 + rng.below(8) {
            match rng.below(4) {
                0 if !data.is_empty() => {
                    let i = rng.below(data.len());
                    data[i] = rng.next() as u8;
                }
                1 => {
                    let i = rng.below(data.len() + 1);
                    let d = dict[rng.below(dict.len())];
                    data.splice(i..i, d.iter().copied());
                }
                2 if !data.is_empty() => {
                    let i = rng.below(data.len());
                    let n = rng.below(16).min(data.len() - i);
                    data.drain(i..i + n);
                }
                _ => {
                    let i = rng.below(data.len() + 1);
                    data.truncate(i);
                }
            }
        }
        fuzz_osv_record(&data);
    }
    for _ in 0..500 {
        let n = rng.below(256);
        let data: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
        fuzz_osv_record(&data);
    }
}
