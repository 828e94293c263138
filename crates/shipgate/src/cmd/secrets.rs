//! `shipgate scan secrets`: build the rule set and scanner from settings and flags, pick the
//! source (tree, history, index, stdin), and hand the findings to the report layer.

use std::path::{Path, PathBuf};

use shipgate_report::{ScanError, ScanOutput};
use shipgate_secrets::{
    GITLEAKSIGNORE, GitOptions, GitleaksIgnore, RuleSet, ScanOptions, Scanner, SecretsSettings,
    Unmatched, scan_git, scan_path, scan_reader, scan_staged,
};

use crate::cli::{ScanSecretsArgs, SecretsArgs};
use crate::output::{ScanContext, finish};

/// Where the secrets come from.
pub enum Source<'a> {
    /// A file or directory.
    Tree(&'a Path, bool),
    /// Git history, optionally after a revision.
    History(&'a Path, Option<String>),
    /// The index of a repository.
    Staged(&'a Path),
    /// Standard input.
    Stdin,
}

/// Build the scanner from `shipgate.yaml`'s `secrets:` and the flags. Rule-file problems
/// are returned as errors (the gate fails closed); the built-in rules are used instead.
pub fn build_scanner(
    ctx: &ScanContext,
    flags: &SecretsArgs,
    errors: &mut Vec<ScanError>,
) -> Option<Scanner> {
    let mut settings: SecretsSettings = ctx.config.file.secrets.clone();
    settings.show_secrets |= flags.show_secrets;
    // Paths in the config file are relative to it.
    let base = ctx.config_dir();
    let gitleaks: Option<PathBuf> = flags
        .gitleaks_config
        .clone()
        .or_else(|| settings.gitleaks_config.as_ref().map(|p| base.join(p)));
    let mut rules = match &gitleaks {
        Some(p) => match RuleSet::from_gitleaks_toml(p) {
            Ok(r) => r,
            Err(e) => {
                errors.push(ScanError::at(
                    p.display().to_string(),
                    None,
                    None,
                    e.to_string(),
                ));
                return None;
            }
        },
        None => RuleSet::builtin(),
    };
    let extra = settings
        .rules_files
        .iter()
        .map(|p| base.join(p))
        .chain(flags.rules.iter().cloned());
    for p in extra {
        match RuleSet::from_yaml_file(&p) {
            Ok(r) => rules.extend(r),
            Err(e) => {
                errors.push(ScanError::at(
                    p.display().to_string(),
                    None,
                    None,
                    e.to_string(),
                ));
                return None;
            }
        }
    }
    match Scanner::new(rules, &settings) {
        Ok(s) => Some(s),
        Err(e) => {
            let file = ctx
                .config
                .path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "shipgate.yaml".into());
            errors.push(ScanError::at(file, None, None, e.to_string()));
            None
        }
    }
}

/// Scan `source` and convert to the report model. Findings listed in the gitleaks ignore file
/// (`--gitleaks-ignore`, else `.gitleaksignore` at the scan root) are marked suppressed.
pub fn scan(scanner: &Scanner, source: Source<'_>, flags: &SecretsArgs) -> ScanOutput {
    let mut errors = Vec::new();
    let ignore = load_gitleaks_ignore(flags, &source, &mut errors);
    // Stale entries are worth a note only when the scan covered everything they could name.
    let complete = match &source {
        Source::Tree(p, _) => p.is_dir(),
        Source::History(_, since) => since.is_none(),
        Source::Staged(_) | Source::Stdin => false,
    };
    let result = match source {
        Source::Tree(p, no_ignore) => Ok(scan_path(
            scanner,
            p,
            &ScanOptions {
                no_ignore,
                threads: 0,
            },
        )),
        Source::History(p, since) => scan_git(scanner, p, &GitOptions { since, threads: 0 }),
        Source::Staged(p) => scan_staged(scanner, p),
        Source::Stdin => Ok(scan_reader(scanner, "-", &mut std::io::stdin().lock())),
    };
    let mut output = match result {
        Ok(mut out) => {
            if let Some((ig, name)) = &ignore {
                let unused = ig.apply(&mut out);
                if complete && !unused.is_empty() {
                    out.notes.push(unmatched_note(scanner, name, &unused));
                }
            }
            out.into_scan_output()
        }
        Err(e) => ScanOutput {
            errors: vec![ScanError::new(e.to_string())],
            ..ScanOutput::default()
        },
    };
    output.errors.splice(0..0, errors);
    output
}

/// The note about `.gitleaksignore` entries that matched nothing, with a hint when they name
/// rules that are not loaded (gitleaks' ids without `--gitleaks-config`).
fn unmatched_note(scanner: &Scanner, name: &str, unused: &[Unmatched]) -> String {
    let one = unused.len() == 1;
    let lines: Vec<String> = unused.iter().map(|u| u.line.to_string()).collect();
    let mut note = format!(
        "{name}: {} entr{} matched no finding (line{} {}): fixed, or stale fingerprints",
        unused.len(),
        if one { "y" } else { "ies" },
        if one { "" } else { "s" },
        lines.join(", ")
    );
    let mut unknown: Vec<&str> = unused
        .iter()
        .map(|u| u.rule_id.as_str())
        .filter(|id| !scanner.rules().iter().any(|r| r.id == *id))
        .collect();
    unknown.sort_unstable();
    unknown.dedup();
    if !unknown.is_empty() {
        note.push_str(&format!(
            "; no loaded rule has the id {} (gitleaks' rule ids need --gitleaks-config)",
            unknown.join(", ")
        ));
    }
    note
}

/// The gitleaks ignore file: `--gitleaks-ignore FILE` (which must exist), else
/// `.gitleaksignore` at the root of a directory or repository scan when there is one.
/// Malformed lines become errors with their line; the valid entries still apply.
fn load_gitleaks_ignore(
    flags: &SecretsArgs,
    source: &Source<'_>,
    errors: &mut Vec<ScanError>,
) -> Option<(GitleaksIgnore, String)> {
    let path = match &flags.gitleaks_ignore {
        Some(p) => p.clone(),
        None => {
            let root = match source {
                Source::Tree(p, _) if p.is_dir() => *p,
                Source::History(p, _) | Source::Staged(p) => *p,
                Source::Tree(..) | Source::Stdin => return None,
            };
            let p = if root == Path::new(".") {
                PathBuf::from(GITLEAKSIGNORE)
            } else {
                root.join(GITLEAKSIGNORE)
            };
            if !p.exists() {
                return None;
            }
            p
        }
    };
    let name = path.display().to_string();
    match GitleaksIgnore::load(&path, &name) {
        Ok((ig, problems)) => {
            errors.extend(
                problems
                    .into_iter()
                    .map(|p| ScanError::at(name.clone(), p.line, None, p.message)),
            );
            Some((ig, name))
        }
        Err(e) => {
            let why = match e {
                shipgate_secrets::Error::Io { source, .. } => source.to_string(),
                other => other.to_string(),
            };
            errors.push(ScanError::at(
                name,
                None,
                None,
                format!("cannot read the gitleaks ignore file: {why}"),
            ));
            None
        }
    }
}

/// Run `shipgate scan secrets`.
pub fn run(args: ScanSecretsArgs) -> anyhow::Result<i32> {
    let stdin = args.path.as_os_str() == "-";
    let root = if stdin {
        PathBuf::from(".")
    } else {
        args.path.clone()
    };
    let ctx = ScanContext::new(&args.report, &root);
    let target = args.path.display().to_string();
    let mut errors = Vec::new();
    let no_ignore = args.no_ignore || ctx.config.file.secrets.no_ignore;
    let mut output = match build_scanner(&ctx, &args.secrets, &mut errors) {
        Some(scanner) => {
            let source = if stdin {
                Source::Stdin
            } else if args.staged {
                Source::Staged(&args.path)
            } else if args.git {
                Source::History(&args.path, args.since.clone())
            } else {
                Source::Tree(&args.path, no_ignore)
            };
            scan(&scanner, source, &args.secrets)
        }
        None => ScanOutput::default(),
    };
    output.errors.splice(0..0, errors);
    finish("secrets", &target, &args.report, ctx, output)
}
