//! Seeded random and mutated inputs through `fuzz_scan` (runs in `cargo test`).

use shipgate_secrets::{GitleaksIgnore, RuleSet, Scanner, SecretsSettings, fuzz_scan};

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
        mutate(&mut rng, &mut data, alphabet, &seeds, 6);
        fuzz_scan(&data);
    }
}

/// Up to `rounds - 1` random edits of a text: flip a bit, insert a byte of
/// `alphabet`, delete a byte, splice in one of `seeds` (when given), or
/// duplicate a slice in place.
fn mutate(
    rng: &mut XorShift,
    data: &mut Vec<u8>,
    alphabet: &[u8],
    seeds: &[Vec<u8>],
    rounds: usize,
) {
    for _ in 0..rng.below(rounds) {
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
            3 if !seeds.is_empty() => {
                let other = &seeds[rng.below(seeds.len())];
                let p = rng.below(len + 1);
                data.splice(p..p, other.iter().copied());
            }
            _ if len > 1 => {
                let a = rng.below(len);
                let b = a + rng.below(len - a);
                let dup = data[a..b].to_vec();
                data.splice(a..a, dup);
            }
            _ => {}
        }
    }
}

#[test]
fn composite_rules_and_gitleaksignore_survive_mutated_inputs() {
    let toml = r#"
[[rules]]
id = "key-id"
regex = '''\b((?:AKIA|ASIA)[A-Z2-7]{16})\b'''
keywords = ["akia", "asia"]
skipReport = true

[[rules]]
id = "secret-key"
regex = '''(?i)secret_?key\s*[:=]\s*([A-Za-z0-9/+=]{40})\b'''
keywords = ["secret"]
[[rules.required]]
id = "key-id"
withinLines = 2
withinColumns = 40
"#;
    let rules = RuleSet::from_gitleaks_str("fuzz.toml", toml).expect("loads");
    let scanner = Scanner::new(rules, &SecretsSettings::default()).expect("scanner");
    let seed = b"id=AKIAZ3MQ7RVX5LPW2KDT\nsecret_key = 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\n";
    assert_eq!(
        scanner.scan_bytes("s", seed).len(),
        1,
        "the seed is a finding"
    );
    let alphabet = b"\n\r\t :=#./\\AKIA2Z7secret_key0123456789abcdef\xff\xc3";
    let mut rng = XorShift(0x0dd_ba11_5eed_f00d);
    for _ in 0..2000 {
        let mut data = seed.to_vec();
        mutate(&mut rng, &mut data, alphabet, &[], 8);
        for f in scanner.scan_bytes("s", &data) {
            assert_eq!(f.required.len(), 1, "{f:?}");
            let q = &f.required[0];
            assert!(q.line.abs_diff(f.match_line) <= 2, "{f:?}");
        }
        // The same bytes as a .gitleaksignore: parsed or reported, never a panic.
        let text = String::from_utf8_lossy(&data);
        let (ig, problems) = GitleaksIgnore::parse("fuzz.ignore", &text);
        assert!(problems.iter().all(|p| p.line.is_some()));
        let mut out = shipgate_secrets::SecretsOutput {
            findings: scanner.scan_bytes("s", seed),
            ..Default::default()
        };
        let _ = ig.apply(&mut out);
    }
    let fp = "AKIA:s:secret-key:2\n0a1b2c3:s:secret-key:2\ns:secret-key:2\n";
    let mut rng = XorShift(0xfeed_beef);
    for _ in 0..2000 {
        let mut data = fp.as_bytes().to_vec();
        mutate(&mut rng, &mut data, alphabet, &[], 8);
        let (ig, problems) = GitleaksIgnore::parse("fuzz.ignore", &String::from_utf8_lossy(&data));
        assert!(ig.len() + problems.len() <= data.len());
    }
}
