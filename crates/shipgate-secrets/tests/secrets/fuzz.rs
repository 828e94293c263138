//! Seeded random and mutated inputs through `fuzz_scan` (runs in `cargo test`).

use shipgate_secrets::{RuleSet, fuzz_scan};

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn fuzz_scan_survives_random_and_mutated_inputs() {
    let rules = RuleSet::builtin();
    let seeds: Vec<Vec<u8>> = rules
        .rules()
        .iter()
        .flat_map(|r| r.examples.iter().chain(r.negative_examples.iter()))
        .map(|s| s.as_bytes().to_vec())
        .collect();
    let mut rng = XorShift(0x5eed_cafe_f00d_d00d);
    let alphabet = b"\n\r\t \"'=:-_./\\{}[]$<>AKIAghp_xoxb-eyJ-----BEGIN PRIVATE KEY\x00\xff";
    for i in 0..3000 {
        let mut data = if i % 3 == 0 {
            let n = rng.below(600);
            (0..n)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect::<Vec<u8>>()
        } else {
            seeds[rng.below(seeds.len())].clone()
        };
        // Mutations: flip, insert, delete, splice another seed, duplicate a slice.
        for _ in 0..rng.below(6) {
            let len = data.len();
            match rng.below(5) {
                0 if len > 0 => {
                    let p = rng.below(len);
                    data[p] ^= 1 << rng.below(8);
                }
                1 => {
                    let p = rng.below(len + 1);
                    data.insert(p, alphabet[rng.below(alphabet.len())]);
                }
                2 if len > 0 => {
                    let p = rng.below(len);
                    data.remove(p);
                }
                3 => {
                    let other = &seeds[rng.below(seeds.len())];
                    let p = rng.below(len + 1);
                    data.splice(p..p, other.iter().copied());
                }
                _ if len > 1 => {
                    let a = rng.below(len);
                    let b = a + rng.below(len - a);
                    let dup = data[a..b].to_vec();
                    data.extend_from_slice(&dup);
                }
                _ => {}
            }
        }
        fuzz_scan(&data);
    }
}
