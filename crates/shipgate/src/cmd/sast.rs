//! `shipgate scan sast`: load the rules (built-in, `sast.rules`, `--rules`), scan a tree or
//! the staged changes, or run the rule tests (`--test`).

use std::path::{Path, PathBuf};

use shipgate_report::{ScanError, ScanOutput};
use shipgate_sast::{RuleSet, ScanOptions, scan_path, scan_staged};

use crate::cli::{SastArgs, ScanSastArgs};
use crate::output::{ScanContext, finish};

/// Build the rule set from settings and flags. Rule problems (syntax, unsupported Semgrep
/// features, patterns that do not parse) become errors with file, line and column: the gate
/// fails closed, and every rule that did load still runs.
pub fn build_rules(ctx: &ScanContext, flags: &SastArgs, errors: &mut Vec<ScanError>) -> RuleSet {
    let settings = &ctx.config.file.sast;
    let base = ctx.config_dir();
    let mut problems = Vec::new();
    let mut rules = if settings.builtin && !flags.no_builtin_rules {
        RuleSet::builtin(&mut problems)
    } else {
        RuleSet::from_yaml("none", "rules: []", &mut problems)
    };
    let extra: Vec<PathBuf> = settings
        .rules
        .iter()
        .map(|p| base.join(p))
        .chain(flags.rules.iter().cloned())
        .collect();
    for p in extra {
        match RuleSet::from_path(&p, &mut problems) {
            Ok(r) => rules.extend(r),
            Err(e) => errors.push(ScanError::at(
                p.display().to_string(),
                None,
                None,
                format!("cannot load rules: {e}"),
            )),
        }
    }
    errors.extend(problems.into_iter().map(|p| {
        let message = match &p.rule {
            Some(r) => format!("rule {r}: {}", p.message),
            None => p.message,
        };
        ScanError::at(
            p.file,
            Some(p.line).filter(|&l| l > 0),
            Some(p.column).filter(|&c| c > 0),
            message,
        )
    }));
    if !settings.disable.is_empty() {
        rules.retain(|r| !settings.disable.contains(&r.id));
    }
    if rules.is_empty() && errors.is_empty() {
        errors.push(ScanError::new(
            "no SAST rules loaded: give --rules or drop --no-builtin-rules",
        ));
    }
    rules
}

/// Options from settings and flags.
pub fn options(
    ctx: &ScanContext,
    no_ignore: bool,
    max: Option<u64>,
    threads: usize,
) -> ScanOptions {
    ScanOptions {
        no_ignore,
        threads,
        max_file_size: max
            .or(ctx.config.file.sast.max_file_size)
            .unwrap_or(shipgate_sast::DEFAULT_MAX_FILE_SIZE),
    }
}

/// Scan a tree.
pub fn scan_tree(rules: &RuleSet, root: &Path, opts: &ScanOptions) -> ScanOutput {
    if !root.exists() {
        return ScanOutput {
            errors: vec![ScanError::at(
                root.display().to_string(),
                None,
                None,
                "path does not exist",
            )],
            ..ScanOutput::default()
        };
    }
    scan_path(rules, root, opts).into_scan_output()
}

/// Scan the staged changes of a repository.
pub fn scan_index(rules: &RuleSet, repo: &Path, opts: &ScanOptions) -> ScanOutput {
    match scan_staged(rules, repo, opts) {
        Ok(r) => r.into_scan_output(),
        Err(e) => ScanOutput {
            errors: vec![ScanError::at(
                repo.display().to_string(),
                None,
                None,
                e.to_string(),
            )],
            ..ScanOutput::default()
        },
    }
}

/// Run `shipgate scan sast`.
pub fn run(args: ScanSastArgs) -> anyhow::Result<i32> {
    if args.test {
        return run_tests(&args.path);
    }
    let ctx = ScanContext::new(&args.report, &args.path);
    let mut errors = Vec::new();
    let rules = build_rules(&ctx, &args.sast, &mut errors);
    let opts = options(&ctx, args.no_ignore, args.max_file_size, args.threads);
    let (mut output, target) = if args.staged {
        (
            scan_index(&rules, &args.path, &opts),
            format!("{} (staged)", args.path.display()),
        )
    } else {
        (
            scan_tree(&rules, &args.path, &opts),
            args.path.display().to_string(),
        )
    };
    output.errors.splice(0..0, errors);
    finish("sast", &target, &args.report, ctx, output)
}

/// `--test`: run every rule test under `dir`, print one line per failure and a summary.
fn run_tests(dir: &Path) -> anyhow::Result<i32> {
    let (cases, lonely) = shipgate_sast::testing::discover(dir)?;
    let mut failed = 0;
    let mut checked = 0;
    for case in &cases {
        match shipgate_sast::testing::run_case(case) {
            Ok(out) => {
                checked += out.checked;
                if !out.passed() {
                    failed += 1;
                    for f in &out.failures {
                        eprintln!("FAIL {f}");
                    }
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("FAIL {}: {e}", case.rules.display());
            }
        }
    }
    for l in &lonely {
        eprintln!("note: {} has no test file", l.display());
    }
    eprintln!(
        "{} rule test{}: {} passed, {failed} failed ({checked} annotations checked)",
        cases.len(),
        if cases.len() == 1 { "" } else { "s" },
        cases.len() - failed
    );
    Ok(if cases.is_empty() {
        2
    } else if failed > 0 {
        1
    } else {
        0
    })
}
