//! Fuzzing entry point for the lockfile parsers.

use crate::kind::{LockfileKind, parse_lockfile};

/// Runs the parser chosen by `name` (a file name such as `yarn.lock`) over `data`; when the
/// name is not recognised, runs every parser. Must never panic; the result is discarded
/// except for a consistency check that every edge points at a package.
///
/// The `fuzz/` cargo-fuzz crate calls this with the first bytes of the input selecting the
/// name; `cargo test` runs it over seeded mutations of the fixtures.
pub fn fuzz_lockfile(name: &str, data: &[u8]) {
    let kinds: Vec<LockfileKind> = match LockfileKind::detect(name) {
        Some(k) => vec![k],
        None => LockfileKind::ALL.to_vec(),
    };
    for kind in kinds {
        let l = parse_lockfile(kind, name, data);
        for d in &l.dependencies {
            assert!(
                d.from < l.packages.len() && d.to < l.packages.len(),
                "edge out of range in {kind:?}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small valid seeds of every format (the shared fixtures get the same treatment in
    /// `tests/conformance.rs` when they are present).
    const SEEDS: &[(&str, &str)] = &[
        (
            "Cargo.lock",
            "version = 3\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nsource = \"registry+x\"\ndependencies = [\"b 2.0.0\"]\n\n[[package]]\nname = \"b\"\nversion = \"2.0.0\"\nsource = \"registry+x\"\n",
        ),
        (
            "package-lock.json",
            "{\"lockfileVersion\": 3, \"packages\": {\"\": {\"dependencies\": {\"a\": \"1\"}}, \"node_modules/a\": {\"version\": \"1.0.0\", \"dependencies\": {\"b\": \"1\"}}, \"node_modules/a/node_modules/b\": {\"version\": \"1.0.0\"}}}",
        ),
        (
            "npm-shrinkwrap.json",
            "{\"lockfileVersion\": 1, \"dependencies\": {\"a\": {\"version\": \"1.0.0\", \"requires\": {\"b\": \"1\"}, \"dependencies\": {\"b\": {\"version\": \"1.0.0\"}}}}}",
        ),
        (
            "yarn.lock",
            "a@^1.0.0, \"a@npm:^1.0.1\":\n  version \"1.0.1\"\n  dependencies:\n    b \"^2\"\n\nb@^2:\n  version: 2.0.0\n  resolution: \"b@npm:2.0.0\"\n",
        ),
        (
            "pnpm-lock.yaml",
            "lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies:\n      a:\n        specifier: ^1\n        version: 1.0.0\npackages:\n  a@1.0.0:\n    resolution: {integrity: x}\nsnapshots:\n  a@1.0.0:\n    dependencies:\n      b: 1.0.0(c@1.0.0)\n",
        ),
        (
            "requirements.txt",
            "a==1.0 --hash=sha256:x \\\n  --hash=sha256:y\nb[x]==2 ; python_version < \"3\"\n-r other.txt\nc>=1\n",
        ),
        (
            "poetry.lock",
            "[[package]]\nname = \"a\"\nversion = \"1\"\n[package.dependencies]\nb = \"*\"\n[[package]]\nname = \"b\"\nversion = \"2\"\n",
        ),
        (
            "Pipfile.lock",
            "{\"default\": {\"a\": {\"version\": \"==1.0\"}}, \"develop\": {\"b\": {\"version\": \"==2.0\"}}}",
        ),
        (
            "uv.lock",
            "[[package]]\nname = \"r\"\nversion = \"0\"\nsource = { editable = \".\" }\ndependencies = [{ name = \"a\" }]\n[[package]]\nname = \"a\"\nversion = \"1\"\nsource = { registry = \"x\" }\n",
        ),
        (
            "pdm.lock",
            "[[package]]\nname = \"a\"\nversion = \"1\"\ngroups = [\"default\"]\ndependencies = [\"b>=1\"]\n",
        ),
        (
            "go.mod",
            "module m\ngo 1.21\nrequire (\n\tx.io/a v1.0.0 // indirect\n)\nreplace x.io/a => x.io/b v1.0.1\n",
        ),
        (
            "Gemfile.lock",
            "GEM\n  specs:\n    a (1.0)\n      b (>= 1)\n    b (1.1-x86_64-linux)\n\nDEPENDENCIES\n  a!\n",
        ),
        (
            "composer.lock",
            "{\"packages\": [{\"name\": \"a/b\", \"version\": \"1.0\", \"require\": {\"c/d\": \"*\"}}], \"packages-dev\": [{\"name\": \"c/d\", \"version\": \"2\"}]}",
        ),
        (
            "pom.xml",
            "<project><properties><v>1</v></properties><dependencies><dependency><groupId>g</groupId><artifactId>a</artifactId><version>${v}</version></dependency></dependencies></project>",
        ),
        ("gradle.lockfile", "a:b:1.0=compileClasspath\nempty=\n"),
        (
            "packages.lock.json",
            "{\"version\": 1, \"dependencies\": {\"net6.0\": {\"A\": {\"type\": \"Direct\", \"resolved\": \"1.0\", \"dependencies\": {\"B\": \"1\"}}, \"B\": {\"type\": \"Transitive\", \"resolved\": \"1.0\"}}}}",
        ),
        (
            "pubspec.lock",
            "packages:\n  a:\n    dependency: \"direct main\"\n    source: hosted\n    version: \"1.0.0\"\n",
        ),
    ];

    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n.max(1) as u64) as usize
        }
    }

    #[test]
    fn seeds_parse_cleanly() {
        for (name, text) in SEEDS {
            let kind = LockfileKind::detect(name).unwrap();
            let l = parse_lockfile(kind, name, text.as_bytes());
            assert!(l.errors.is_empty(), "{name}: {:?}", l.errors);
            assert!(!l.packages.is_empty(), "{name}: no packages");
        }
    }

    #[test]
    fn seeded_mutations_never_panic() {
        let mut rng = Rng(0x00c0_ffee_1234_5678);
        let bytes: &[u8] = b"{}[]\":,\n @/=#()<>\\\xff\x00-_.${";
        let mut runs = 0;
        for (name, text) in SEEDS {
            for _ in 0..200 {
                let mut data = text.as_bytes().to_vec();
                for _ in 0..1 + rng.below(6) {
                    let len = data.len();
                    match rng.below(4) {
                        0 if len > 0 => {
                            let i = rng.below(len);
                            data[i] = bytes[rng.below(bytes.len())];
                        }
                        1 if len > 0 => {
                            let i = rng.below(len);
                            let n = rng.below(8).min(len - i);
                            data.drain(i..i + n);
                        }
                        2 => {
                            let i = rng.below(len + 1);
                            data.insert(i, bytes[rng.below(bytes.len())]);
                        }
                        _ => data.truncate(rng.below(len + 1)),
                    }
                }
                fuzz_lockfile(name, &data);
                runs += 1;
            }
        }
        // Unknown names run every parser.
        fuzz_lockfile("unknown.bin", b"\x00\xff{[");
        assert_eq!(runs, SEEDS.len() * 200);
    }
}
