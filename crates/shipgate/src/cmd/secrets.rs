//! `shipgate scan secrets`: build the rule set and scanner from settings and flags, pick the
//! source (tree, history, index, stdin), and hand the findings to the report layer.

use std::path::{Path, PathBuf};

use shipgate_report::{ScanError, ScanOutput};
use shipgate_secrets::{
    GitOptions, RuleSet, ScanOptions, Scanner, SecretsSettings, scan_git, scan_path, scan_reader,
    scan_staged,
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
    let base = ctx
        .config
        .path
        .as_ref()
        .and_then(|p| p.parent())
        .map(Path::to_path_buf)
        .unwrap_or_default();
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

/// Scan `source` and convert to the report model.
pub fn scan(scanner: &Scanner, source: Source<'_>) -> ScanOutput {
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
    match result {
        Ok(out) => out.into_scan_output(),
        Err(e) => ScanOutput {
            errors: vec![ScanError::new(e.to_string())],
            ..ScanOutput::default()
        },
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
            scan(&scanner, source)
        }
        None => ScanOutput::default(),
    };
    output.errors.splice(0..0, errors);
    finish("secrets", &target, &args.report, ctx, output)
}
