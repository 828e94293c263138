//! Loading gitleaks configurations, including the real default config from the shared data.

use std::path::PathBuf;

use shipgate_secrets::{RuleSet, Scanner, SecretsSettings};

/// `SHIPGATE_SHARED_DATA`, defaulting to `<repo root>/../shared/data`.
fn shared_data() -> Option<PathBuf> {
    let dir = std::env::var_os("SHIPGATE_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    dir.is_dir().then_some(dir)
}

#[test]
fn gitleaks_default_config_loads_all_222_rules() {
    let Some(data) = shared_data() else {
        eprintln!("SKIP: shared data not found (set SHIPGATE_SHARED_DATA)");
        return;
    };
    let path = data.join("gitleaks-config/config/gitleaks.toml");
    let rules = RuleSet::from_gitleaks_toml(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rules.len(), 222, "every gitleaks rule must compile");
    assert!(
        rules
            .rules()
            .iter()
            .all(|r| r.pattern().is_some() || r.id == "pkcs12-file")
    );
    // The loaded rules work: a GitHub PAT-shaped value is found by gitleaks' own rule.
    let scanner = Scanner::new(rules, &SecretsSettings::default()).expect("scanner");
    let found = scanner.scan_bytes(
        "app/config.py",
        b"GITHUB_TOKEN = \"ghp_k3Jd8sLq0ZpW2xYv7RtB5nMc9HfGa4Ue1Ti6\"\n",
    );
    assert!(found.iter().any(|f| f.rule_id == "github-pat"), "{found:?}");
    // ... and its global allowlist applies (lockfiles are skipped by path).
    assert!(scanner.path_allowed("web/package-lock.json"));
}

#[test]
fn gitleaks_config_with_use_default_adds_builtins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join(".gitleaks.toml");
    std::fs::write(
        &p,
        "[extend]\nuseDefault = true\n\n[[rules]]\nid = \"corp-token\"\nregex = '''corp_[a-z0-9]{24}'''\nkeywords = [\"corp_\"]\n\n[allowlist]\npaths = ['''(^|/)fixtures/''']\n",
    )
    .expect("write");
    let rules = RuleSet::from_gitleaks_toml(&p).expect("loads");
    assert_eq!(rules.len(), RuleSet::builtin().len() + 1);
    let scanner = Scanner::new(rules, &SecretsSettings::default()).expect("scanner");
    let found = scanner.scan_bytes("a.env", b"TOKEN=corp_k3jd8slq0zpw2xyv7rtb5nmc\n");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].rule_id, "corp-token");
    assert!(scanner.path_allowed("test/fixtures/a.env"));
}

#[test]
fn malformed_gitleaks_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("bad.toml");
    std::fs::write(&p, "title = \"x\"\n[[rules]\nid = \"a\"\n").expect("write");
    let err = RuleSet::from_gitleaks_toml(&p).expect_err("must fail");
    let msg = err.to_string();
    assert!(msg.contains("bad.toml:2:"), "{msg}");
    let missing = RuleSet::from_gitleaks_toml(&dir.path().join("nope.toml")).expect_err("fails");
    assert!(missing.to_string().contains("nope.toml"), "{missing}");
}
