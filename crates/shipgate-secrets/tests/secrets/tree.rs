//! Working-tree scans over the fixture trees, suppression, ignore files and bad input.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use shipgate_secrets::{RuleSet, ScanOptions, Scanner, SecretsSettings, scan_path, scan_reader};

use crate::builtin_scanner;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn keys(out: &shipgate_secrets::SecretsOutput) -> BTreeSet<String> {
    out.findings
        .iter()
        .map(|f| format!("{}:{}:{}", f.path, f.start_line, f.rule_id))
        .collect()
}

#[test]
fn positive_tree_yields_exactly_the_expected_findings() {
    let scanner = builtin_scanner();
    let out = scan_path(
        &scanner,
        &fixtures().join("positive"),
        &ScanOptions::default(),
    );
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    let expected: BTreeSet<String> = std::fs::read_to_string(fixtures().join("positive.expected"))
        .expect("expected list")
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let got = keys(&out);
    let missing: Vec<_> = expected.difference(&got).collect();
    let extra: Vec<_> = got.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing: {missing:#?}\nunexpected: {extra:#?}"
    );
    // Redaction: no finding carries the full secret, messages neither.
    for f in &out.findings {
        assert!(f.secret.is_none());
        assert!(f.redacted.ends_with('…'), "{}", f.redacted);
        assert!(f.redacted.chars().count() <= 5);
        assert!(!f.message().contains(&f.secret_sha256));
    }
}

#[test]
fn decoy_tree_yields_nothing() {
    let scanner = builtin_scanner();
    let out = scan_path(&scanner, &fixtures().join("decoy"), &ScanOptions::default());
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert!(out.scanned >= 14, "scanned {}", out.scanned);
    assert!(
        out.findings.is_empty(),
        "decoys reported: {:#?}",
        out.findings
            .iter()
            .map(|f| format!("{}:{} {} {}", f.path, f.start_line, f.rule_id, f.redacted))
            .collect::<Vec<_>>()
    );
}

#[test]
fn show_secrets_puts_the_full_value_in_findings() {
    let settings = SecretsSettings {
        show_secrets: true,
        ..SecretsSettings::default()
    };
    let scanner = Scanner::new(RuleSet::builtin(), &settings).expect("scanner");
    let tok = "dop_v1_8f2c4e6a1b3d5f7091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7a8";
    let found = scanner.scan_bytes("x.tf", format!("token = \"{tok}\"\n").as_bytes());
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].secret.as_deref(), Some(tok));
    assert!(found[0].message().contains(tok));
}

const SECRET_LINE: &str =
    "SENDGRID_API_KEY=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";

#[test]
fn fingerprint_survives_line_moves_and_differs_per_path() {
    let s = builtin_scanner();
    let a = s.scan_bytes("app/.env", format!("{SECRET_LINE}\n").as_bytes());
    let b = s.scan_bytes("app/.env", format!("# moved\n\n{SECRET_LINE}\n").as_bytes());
    let c = s.scan_bytes("other/.env", format!("{SECRET_LINE}\n").as_bytes());
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].start_line, 1);
    assert_eq!(b[0].start_line, 3);
    assert_eq!(a[0].fingerprint, b[0].fingerprint);
    assert_ne!(a[0].fingerprint, c[0].fingerprint);
}

#[test]
fn inline_allow_comment_and_settings_allowlists() {
    let s = builtin_scanner();
    let text = format!("{SECRET_LINE} # shipgate:allow\n{SECRET_LINE}\n");
    let found = s.scan_bytes(".env", text.as_bytes());
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].start_line, 2);

    let settings = SecretsSettings {
        allow_regexes: vec!["^SG\\.kq3V".into()],
        ..SecretsSettings::default()
    };
    let s2 = Scanner::new(RuleSet::builtin(), &settings).expect("scanner");
    assert!(s2.scan_bytes(".env", SECRET_LINE.as_bytes()).is_empty());

    let settings = SecretsSettings {
        stopwords: vec!["ZP4TY6".into()],
        ..SecretsSettings::default()
    };
    let s3 = Scanner::new(RuleSet::builtin(), &settings).expect("scanner");
    assert!(s3.scan_bytes(".env", SECRET_LINE.as_bytes()).is_empty());

    let settings = SecretsSettings {
        allow_paths: vec!["(^|/)fixtures/".into()],
        disable_rules: vec!["jwt".into()],
        ..SecretsSettings::default()
    };
    let s4 = Scanner::new(RuleSet::builtin(), &settings).expect("scanner");
    assert!(s4.path_allowed("tests/fixtures/.env"));
    assert!(!s4.rules().iter().any(|r| r.id == "jwt"));

    let bad = SecretsSettings {
        allow_regexes: vec!["(".into()],
        ..SecretsSettings::default()
    };
    let err = Scanner::new(RuleSet::builtin(), &bad).expect_err("bad regex");
    assert!(err.to_string().contains("\"(\""), "{err}");
}

fn write(root: &Path, rel: &str, data: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, data).expect("write");
}

#[test]
fn gitignore_is_honoured_unless_no_ignore() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(root, ".gitignore", b"build/\n");
    write(root, "build/out.env", format!("{SECRET_LINE}\n").as_bytes());
    write(root, "src/.env", format!("{SECRET_LINE}\n").as_bytes());
    write(root, ".git/config", format!("{SECRET_LINE}\n").as_bytes());
    let s = builtin_scanner();
    let out = scan_path(&s, root, &ScanOptions::default());
    assert_eq!(
        keys(&out),
        BTreeSet::from(["src/.env:1:sendgrid-api-key".to_owned()])
    );
    let all = scan_path(
        &s,
        root,
        &ScanOptions {
            no_ignore: true,
            threads: 1,
        },
    );
    assert_eq!(all.findings.len(), 2, "{:?}", keys(&all));
}

#[test]
fn bad_input_is_reported_and_the_rest_is_scanned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    // binary (NUL bytes) with a secret: skipped
    let mut bin = b"\x00\x01\x02ELF".to_vec();
    bin.extend_from_slice(SECRET_LINE.as_bytes());
    write(root, "bin/tool", &bin);
    // invalid UTF-8 around a secret: still found
    let mut bad_utf8 = b"\xff\xfe garbage \xc3\x28\n".to_vec();
    bad_utf8.extend_from_slice(SECRET_LINE.as_bytes());
    bad_utf8.extend_from_slice(b"\n\xff\n");
    write(root, "data/latin1.txt", &bad_utf8);
    // symlink loop and a dangling link
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(root.join("loop"), root.join("loop")).expect("symlink");
        std::os::unix::fs::symlink(root.join("nowhere"), root.join("dangling")).expect("symlink");
    }
    // an unreadable file (only meaningful when not running as root)
    write(
        root,
        "secret/locked.env",
        format!("{SECRET_LINE}\n").as_bytes(),
    );
    #[cfg(unix)]
    let locked = {
        use std::os::unix::fs::PermissionsExt;
        let p = root.join("secret/locked.env");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).expect("chmod");
        std::fs::File::open(&p).is_err()
    };
    #[cfg(not(unix))]
    let locked = false;
    let s = builtin_scanner();
    let out = scan_path(&s, root, &ScanOptions::default());
    assert_eq!(out.skipped_binary, 1);
    assert!(
        keys(&out).contains("data/latin1.txt:2:sendgrid-api-key"),
        "{:?}",
        keys(&out)
    );
    if locked {
        assert!(
            out.errors
                .iter()
                .any(|e| e.path.as_deref() == Some("secret/locked.env")),
            "{:?}",
            out.errors
        );
    }
    // a path that does not exist
    let missing = scan_path(&s, &root.join("does-not-exist"), &ScanOptions::default());
    assert_eq!(missing.errors.len(), 1);
    assert!(missing.errors[0].message.contains("cannot read"));
}

#[test]
fn large_single_line_file_is_streamed_with_correct_positions() {
    // ~10 MiB on one line with secrets near the chunk boundaries, then more lines.
    let filler = "abcdefghij,".repeat(1024 * 1024 / 11);
    let mut data = String::new();
    let mut expected_cols = Vec::new();
    for _ in 0..10 {
        data.push_str(&filler);
        // 1-based column: after the filler and one space.
        expected_cols.push(data.len() + 2 + "SENDGRID_API_KEY=".len());
        data.push(' ');
        data.push_str(SECRET_LINE);
        data.push(' ');
    }
    data.push('\n');
    data.push_str(SECRET_LINE);
    data.push('\n');
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "bundle.min.js", data.as_bytes());
    let s = builtin_scanner();
    let out = scan_path(&s, dir.path(), &ScanOptions::default());
    assert!(out.errors.is_empty());
    assert_eq!(out.findings.len(), 11, "{:?}", keys(&out));
    let cols: Vec<usize> = out
        .findings
        .iter()
        .filter(|f| f.start_line == 1)
        .map(|f| f.start_column as usize)
        .collect();
    assert_eq!(cols, expected_cols);
    assert_eq!(out.findings[10].start_line, 2);
    assert_eq!(out.findings[10].start_column, 18);
    // The in-memory scan agrees with the streamed one.
    assert_eq!(s.scan_bytes("bundle.min.js", data.as_bytes()).len(), 11);
}

#[test]
fn stdin_style_reader() {
    let s = builtin_scanner();
    let text = format!("line one\n{SECRET_LINE}\n");
    let out = scan_reader(&s, "-", &mut text.as_bytes());
    assert_eq!(
        keys(&out),
        BTreeSet::from(["-:2:sendgrid-api-key".to_owned()])
    );
}
