//! Conformance run over the shared lockfile fixtures (osv-scalibr testdata).
//!
//! Reads `$SHIPGATE_SHARED_DATA/lockfile-fixtures` (default `<repo>/../shared/data`). Every
//! fixture of a supported format must parse without panicking; files that are not
//! deliberately broken must parse without errors; deliberately broken ones must produce at
//! least one error that names the file. Also runs the seeded mutation fuzz over every fixture.
//! Skips (with a message) only when the folder is absent and CI is not set.

// Test helpers outside #[test] fns: a failed unwrap is a failed test here.
#![allow(clippy::unwrap_used)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use shipgate_deps::{LockfileKind, WalkOptions, fuzz_lockfile, parse_file_as};

fn shared_data() -> Option<PathBuf> {
    let dir = match std::env::var_os("SHIPGATE_SHARED_DATA") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    };
    let fixtures = dir.join("lockfile-fixtures/filesystem/language");
    if fixtures.is_dir() {
        return Some(fixtures);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but the shared data is missing at {}",
        fixtures.display()
    );
    eprintln!(
        "SKIP: shared lockfile fixtures not found at {} (set SHIPGATE_SHARED_DATA)",
        fixtures.display()
    );
    None
}

#[path = "support/fixture_dirs.rs"]
mod fixture_dirs;
use fixture_dirs::DIRS;

/// Fixtures that are deliberately broken, by name: upstream marks them `not-*`, `invalid*`,
/// `*bad*`, `malformed*`, `null.*` (JSON `null`), `empty-file` (empty JSON).
fn deliberately_broken(kind: LockfileKind, rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name.starts_with("not-")
        || rel.contains("invalid")
        || name.contains("bad")
        || name.starts_with("malformed")
        || name.starts_with("null.")
        || (name.starts_with("empty-file") && matches!(kind, LockfileKind::PipfileLock))
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_fixture_parses() {
    let Some(root) = shared_data() else { return };
    let options = WalkOptions::default();
    let mut problems = Vec::new();
    let (mut total_files, mut total_packages, mut total_edges, mut broken_files) = (0, 0, 0, 0);
    for (dir, kind) in DIRS {
        let full = root.join(dir);
        let list = files(&full);
        assert!(!list.is_empty(), "no fixtures in {}", full.display());
        let (mut n_files, mut n_packages) = (0, 0);
        for file in list {
            // Sidecar files read through the context by their owner (go.sum) are not inputs.
            if *kind == LockfileKind::GoMod && file.extension().is_some_and(|e| e == "sum") {
                continue;
            }
            let rel = file
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let parsed = catch_unwind(AssertUnwindSafe(|| {
                parse_file_as(&root, &file, *kind, &options)
            }));
            let Ok(lock) = parsed else {
                problems.push(format!("{rel}: PANIC"));
                continue;
            };
            n_files += 1;
            n_packages += lock.packages.len();
            total_edges += lock.dependencies.len();
            for p in &lock.packages {
                if p.name.is_empty() || p.version.is_empty() || !p.purl.starts_with("pkg:") {
                    problems.push(format!("{rel}: bad package {p:?}"));
                }
                if p.line.is_none() {
                    problems.push(format!(
                        "{rel}: package {} {} has no line",
                        p.name, p.version
                    ));
                }
            }
            let broken = deliberately_broken(*kind, &rel);
            if broken {
                broken_files += 1;
                if lock.errors.is_empty() {
                    problems.push(format!("{rel}: deliberately broken but no error reported"));
                }
                for e in &lock.errors {
                    println!("  expected error: {e}");
                    if !e.to_string().contains(&rel) && !e.path().ends_with(".txt") {
                        problems.push(format!("{rel}: error does not name the file: {e}"));
                    }
                }
            } else {
                for e in &lock.errors {
                    problems.push(format!("{rel}: unexpected error: {e}"));
                }
            }
        }
        println!(
            "{:<40} {:>4} files {:>6} packages",
            dir, n_files, n_packages
        );
        total_files += n_files;
        total_packages += n_packages;
    }
    println!(
        "total: {total_files} files ({broken_files} deliberately broken), {total_packages} packages, {total_edges} edges"
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// A small xorshift generator: deterministic, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap()
    }
}

/// Mutates `data`: flips, deletions, insertions of structural bytes, truncation, duplication.
fn mutate(rng: &mut Rng, data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    let tokens: &[&[u8]] = &[
        b"{", b"}", b"[", b"]", b"\"", b":", b",", b"\n", b"  ", b"@", b"/", b"==", b"${", b"(",
        b"#", b"\\", b"\xff", b"- ", b"<", b">",
    ];
    for _ in 0..1 + rng.below(4) {
        let len = out.len();
        match rng.below(5) {
            0 if len > 0 => {
                let i = rng.below(len);
                out[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                let n = rng.below(16).min(len - i);
                out.drain(i..i + n);
            }
            2 => {
                let i = rng.below(len + 1);
                let t = tokens[rng.below(tokens.len())];
                out.splice(i..i, t.iter().copied());
            }
            3 => out.truncate(rng.below(len + 1)),
            _ if len > 0 => {
                let i = rng.below(len);
                let n = rng.below(64).min(len - i);
                let chunk = out[i..i + n].to_vec();
                let j = rng.below(out.len() + 1);
                out.splice(j..j, chunk);
            }
            _ => {}
        }
    }
    out
}

#[test]
fn seeded_mutations_of_fixtures_never_panic() {
    let Some(root) = shared_data() else { return };
    let mut rng = Rng(0x0005_eed0_f541_9a7e);
    let mut runs = 0;
    for (dir, kind) in DIRS {
        // The fuzz entry point picks the parser from the name.
        let name = match kind {
            LockfileKind::CargoLock => "Cargo.lock",
            LockfileKind::NpmLock => "package-lock.json",
            LockfileKind::YarnLock => "yarn.lock",
            LockfileKind::PnpmLock => "pnpm-lock.yaml",
            LockfileKind::Requirements => "requirements.txt",
            LockfileKind::PoetryLock => "poetry.lock",
            LockfileKind::PipfileLock => "Pipfile.lock",
            LockfileKind::UvLock => "uv.lock",
            LockfileKind::PdmLock => "pdm.lock",
            LockfileKind::GoMod => "go.mod",
            LockfileKind::GemfileLock => "Gemfile.lock",
            LockfileKind::ComposerLock => "composer.lock",
            LockfileKind::PomXml => "pom.xml",
            LockfileKind::GradleLockfile => "gradle.lockfile",
            LockfileKind::NugetLock => "packages.lock.json",
            LockfileKind::PubspecLock => "pubspec.lock",
        };
        assert_eq!(LockfileKind::detect(name), Some(*kind));
        for file in files(&root.join(dir)) {
            let data = std::fs::read(&file).unwrap();
            if data.len() > 64 * 1024 {
                continue;
            }
            for _ in 0..24 {
                let input = mutate(&mut rng, &data);
                let ok = catch_unwind(AssertUnwindSafe(|| fuzz_lockfile(name, &input)));
                if ok.is_err() {
                    let dump = std::env::temp_dir().join("shipgate-deps-fuzz-crash.bin");
                    std::fs::write(&dump, &input).unwrap();
                    panic!(
                        "parser panicked on a mutation of {} (input saved to {})",
                        file.display(),
                        dump.display()
                    );
                }
                runs += 1;
            }
        }
    }
    println!("{runs} mutated inputs parsed without panic");
    assert!(runs > 2000);
}
