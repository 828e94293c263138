//! gitleaks composite rules (`[[rules.required]]`): a primary rule reports only when each
//! required rule also matches close enough.

use shipgate_secrets::{RuleSet, Scanner, SecretFinding, SecretsSettings};

/// A fake access key id in AWS's format (AKIA + 16 base32 characters).
const KEY_ID: &str = "AKIAZ3MQ7RVX5LPW2KDT";
/// A fake 40-character secret access key.
const SECRET: &str = "q8Vd2LrT5xKp9NwZ7bYh3JcM6fGs1HaE4uRoPi0W";

/// The AWS pair as a composite rule: the secret key is reported only with a key id nearby.
fn config(required: &str, helper_extra: &str) -> String {
    format!(
        r#"
[[rules]]
id = "aws-access-key-id"
description = "AWS access key id"
regex = '''\b((?:AKIA|ASIA)[A-Z2-7]{{16}})\b'''
keywords = ["akia", "asia"]
skipReport = true
{helper_extra}

[[rules]]
id = "aws-secret-access-key"
description = "AWS secret access key"
regex = '''(?i)aws_?secret_?access_?key\s*[:=]\s*["']?([A-Za-z0-9/+=]{{40}})\b'''
keywords = ["secret_access_key", "secretaccesskey"]
entropy = 3.5

[[rules.required]]
id = "aws-access-key-id"
{required}
"#
    )
}

fn scanner_for(toml: &str) -> Scanner {
    let rules =
        RuleSet::from_gitleaks_str("composite.toml", toml).unwrap_or_else(|e| panic!("{e}"));
    Scanner::new(rules, &SecretsSettings::default()).expect("scanner")
}

fn scan(toml: &str, text: &str) -> Vec<SecretFinding> {
    scanner_for(toml).scan_bytes("deploy/credentials.ini", text.as_bytes())
}

/// A file with the key id on line 1 and the secret key `gap` lines further down.
fn pair(gap: usize) -> String {
    let mut s = format!("aws_access_key_id = {KEY_ID}\n");
    for i in 1..gap {
        s.push_str(&format!("region_{i} = eu-west-1\n"));
    }
    s.push_str(&format!("aws_secret_access_key = {SECRET}\n"));
    s
}

#[test]
fn secret_key_is_reported_with_a_key_id_within_5_lines_and_the_helper_is_not() {
    let toml = config("withinLines = 5", "");
    let found = scan(&toml, &pair(2));
    assert_eq!(found.len(), 1, "{found:?}");
    let f = &found[0];
    assert_eq!(f.rule_id, "aws-secret-access-key");
    assert_eq!((f.start_line, f.start_column), (3, 25));
    assert_eq!(f.required.len(), 1);
    assert_eq!(f.required[0].rule_id, "aws-access-key-id");
    assert_eq!((f.required[0].line, f.required[0].column), (1, 21));
    assert!(
        f.message().contains("with aws-access-key-id at line 1"),
        "{}",
        f.message()
    );
    let report = f.to_finding();
    assert_eq!(
        report.properties["required"],
        serde_json::json!([{"rule": "aws-access-key-id", "line": 1, "column": 21}])
    );
}

#[test]
fn secret_key_alone_is_not_reported() {
    let toml = config("withinLines = 5", "");
    let text = format!("aws_secret_access_key = {SECRET}\n");
    assert!(scan(&toml, &text).is_empty());
    // Without the requirement the same line is a finding: the test above is not vacuous.
    let plain = toml.replace(
        "[[rules.required]]\nid = \"aws-access-key-id\"\nwithinLines = 5\n",
        "",
    );
    assert!(!plain.contains("required"), "{plain}");
    assert_eq!(scan(&plain, &text).len(), 1);
}

#[test]
fn within_lines_is_a_distance_between_match_starts_in_both_directions() {
    let toml = config("withinLines = 5", "");
    assert_eq!(scan(&toml, &pair(5)).len(), 1, "exactly 5 lines apart");
    assert!(scan(&toml, &pair(6)).is_empty(), "6 lines apart");
    // The key id below the secret key counts too.
    let below = format!("aws_secret_access_key = {SECRET}\n\n\n\naws_access_key_id = {KEY_ID}\n");
    let found = scan(&toml, &below);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].required[0].line, 5);
}

#[test]
fn without_bounds_anywhere_in_the_file_is_enough() {
    let toml = config("", "");
    assert_eq!(scan(&toml, &pair(400)).len(), 1);
}

#[test]
fn within_columns_alone_means_the_same_line() {
    let toml = config("withinColumns = 30", "");
    let same_line = format!("aws_access_key_id={KEY_ID} aws_secret_access_key={SECRET}\n");
    assert_eq!(scan(&toml, &same_line).len(), 1, "{same_line}");
    // Same columns, next line: columns restart on every line, so this does not count.
    let next_line = format!("aws_access_key_id={KEY_ID}\naws_secret_access_key={SECRET}\n");
    assert!(scan(&toml, &next_line).is_empty());
    // Too far along the same line.
    let far = format!(
        "aws_access_key_id={KEY_ID} {} aws_secret_access_key={SECRET}\n",
        "#".repeat(40)
    );
    assert!(scan(&toml, &far).is_empty());
    // Both bounds: a box (key id at column 19, secret key's match at column 1 or 40).
    let boxed = config("withinLines = 1\nwithinColumns = 20", "");
    assert_eq!(scan(&boxed, &next_line).len(), 1);
    assert!(scan(&boxed, &same_line).is_empty(), "21 columns apart");
    assert!(scan(&boxed, &pair(3)).is_empty(), "2 lines apart");
}

#[test]
fn a_required_match_must_pass_its_own_rule_filters() {
    let toml = config("withinLines = 5", "");
    // AWS's documented example key id is a decoy, not a key id.
    let example = pair(2).replace(KEY_ID, "AKIAIOSFODNN7EXAMPLE");
    assert!(scan(&toml, &example).is_empty());
    // An inline allow on the key id's line removes it as a requirement too.
    let allowed = pair(2).replacen('\n', " # gitleaks:allow\n", 1);
    assert!(scan(&toml, &allowed).is_empty(), "{allowed}");
    // So does the helper's own allowlist.
    let listed = config(
        "withinLines = 5",
        &format!("[[rules.allowlists]]\nregexes = ['''{KEY_ID}''']\n"),
    );
    assert!(scan(&listed, &pair(2)).is_empty());
    // ... and its path restriction.
    let elsewhere = config("withinLines = 5", "path = '''\\.env$'''");
    assert!(scan(&elsewhere, &pair(2)).is_empty());
}

#[test]
fn required_rules_run_whatever_their_keywords() {
    // gitleaks runs a required rule over the whole fragment: its keywords do not gate it.
    let toml = config("withinLines = 5", "").replace(
        "keywords = [\"akia\", \"asia\"]",
        "keywords = [\"never-present\"]",
    );
    assert_eq!(scan(&toml, &pair(2)).len(), 1);
}

#[test]
fn a_helper_that_reports_is_reported_on_its_own_too() {
    let toml = config("withinLines = 5", "").replace("skipReport = true\n", "");
    let mut ids: Vec<String> = scan(&toml, &pair(2))
        .into_iter()
        .map(|f| f.rule_id)
        .collect();
    ids.sort();
    assert_eq!(ids, ["aws-access-key-id", "aws-secret-access-key"]);
    // Alone, it still reports; the primary does not.
    let ids: Vec<String> = scan(&toml, &format!("id = {KEY_ID}\n"))
        .into_iter()
        .map(|f| f.rule_id)
        .collect();
    assert_eq!(ids, ["aws-access-key-id"]);
}

#[test]
fn several_requirements_must_all_hold() {
    // A region rule defined first; the second [[rules.required]] table extends the primary,
    // the last [[rules]] of the file.
    let toml = format!(
        r#"
[[rules]]
id = "aws-region"
regex = '''\b(?:us|eu|ap)-(?:east|west|central)-[1-3]\b'''
skipReport = true
{}
[[rules.required]]
id = "aws-region"
withinLines = 1
"#,
        config("withinLines = 5", "")
    );
    let found = scan(&toml, &pair(2));
    assert_eq!(found.len(), 1, "region on the line above: {found:?}");
    let ids: Vec<&str> = found[0]
        .required
        .iter()
        .map(|q| q.rule_id.as_str())
        .collect();
    assert_eq!(ids, ["aws-access-key-id", "aws-region"]);
    assert!(scan(&toml, &pair(1)).is_empty(), "no region at all");
    let far = format!(
        "region = eu-west-1

{}",
        pair(1)
    );
    assert!(scan(&toml, &far).is_empty(), "region 3 lines away");
}

#[test]
fn unknown_or_empty_required_ids_are_load_errors_naming_the_rule_and_line() {
    let toml = config("withinLines = 5", "").replace(
        "[[rules.required]]\nid = \"aws-access-key-id\"",
        "[[rules.required]]\nid = \"aws-key-id\"",
    );
    let err = RuleSet::from_gitleaks_str("c.toml", &toml).expect_err("must fail");
    let msg = err.to_string();
    assert!(
        msg.contains("line 11: rule aws-secret-access-key")
            && msg.contains("\"aws-key-id\" does not exist"),
        "{msg}"
    );
    let empty = config("withinLines = 5", "").replace(
        "[[rules.required]]\nid = \"aws-access-key-id\"\n",
        "[[rules.required]]\n",
    );
    let err = RuleSet::from_gitleaks_str("c.toml", &empty).expect_err("must fail");
    assert!(err.to_string().contains("needs an `id`"), "{err}");
    let negative = config("withinLines = -1", "");
    let err = RuleSet::from_gitleaks_str("c.toml", &negative).expect_err("must fail");
    assert!(err.to_string().starts_with("c.toml:"), "{err}");
}

#[test]
fn required_rules_may_come_from_shipgate_builtins_with_use_default() {
    let toml = format!(
        "[extend]\nuseDefault = true\n\n[[rules]]\nid = \"paired-secret\"\nregex = '''(?i)aws_?secret_?access_?key\\s*=\\s*([A-Za-z0-9/+=]{{40}})\\b'''\nkeywords = [\"secret_access_key\"]\n\n[[rules.required]]\nid = \"{}\"\nwithinLines = 3\n",
        builtin_key_id_rule()
    );
    let found = scanner_for(&toml).scan_bytes("a.ini", pair(2).as_bytes());
    assert!(
        found.iter().any(|f| f.rule_id == "paired-secret"),
        "{found:?}"
    );
}

/// The built-in rule that finds AWS access key ids.
fn builtin_key_id_rule() -> String {
    let s = crate::builtin_scanner();
    let found = s.scan_bytes(
        "a.ini",
        format!("aws_access_key_id = {KEY_ID}\n").as_bytes(),
    );
    found
        .iter()
        .map(|f| f.rule_id.clone())
        .find(|id| !id.starts_with("generic"))
        .unwrap_or_else(|| panic!("a built-in rule finds the key id: {found:?}"))
}

#[test]
fn disabling_a_required_rule_keeps_it_as_a_silent_helper() {
    let toml = config("withinLines = 5", "").replace("skipReport = true\n", "");
    let rules = RuleSet::from_gitleaks_str("c.toml", &toml).expect("loads");
    let settings = SecretsSettings {
        disable_rules: vec!["aws-access-key-id".into()],
        ..SecretsSettings::default()
    };
    let s = Scanner::new(rules.clone(), &settings).expect("scanner");
    let ids: Vec<String> = s
        .scan_bytes("a.ini", pair(2).as_bytes())
        .into_iter()
        .map(|f| f.rule_id)
        .collect();
    assert_eq!(ids, ["aws-secret-access-key"]);
    // Disabling both removes both.
    let settings = SecretsSettings {
        disable_rules: vec!["aws-access-key-id".into(), "aws-secret-access-key".into()],
        ..SecretsSettings::default()
    };
    let s = Scanner::new(rules, &settings).expect("scanner");
    assert!(s.rules().is_empty());
}

#[test]
fn composite_rules_work_across_streaming_chunks() {
    // A file larger than one 4 MiB chunk, with pairs at the start, around the first chunk
    // boundary and at the end.
    let toml = config("withinLines = 2", "");
    let filler = "x = 1\n".repeat(4 * 1024 * 1024 / 6 - 2);
    let text = format!("{}{filler}{}{filler}{}", pair(1), pair(2), pair(2));
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("big.ini"), &text).expect("write");
    let out = shipgate_secrets::scan_path(
        &scanner_for(&toml),
        dir.path(),
        &shipgate_secrets::ScanOptions::default(),
    );
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    let lines: Vec<u32> = out.findings.iter().map(|f| f.start_line).collect();
    let filler_lines = u32::try_from(filler.lines().count()).expect("fits");
    assert_eq!(
        lines,
        [2, 2 + filler_lines + 3, 2 + 2 * filler_lines + 6],
        "{:?}",
        out.findings
    );
}
