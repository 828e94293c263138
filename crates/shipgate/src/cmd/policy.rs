//! `shipgate scan config`, `shipgate policy verify | eval`.

use std::path::{Path, PathBuf};

use shipgate_policy::policyset::to_scan_error;
use shipgate_policy::{PolicySet, PolicySettings, scan_config, verify};
use shipgate_report::{ScanError, ScanOutput};

use crate::cli::{PolicyCommand, PolicyEvalArgs, PolicyVerifyArgs, ScanConfigArgs, SummaryFormat};
use crate::output::{ScanContext, finish};
use crate::settings::LoadedConfig;

/// Build the policy set: built-ins from `config:` settings (unless `builtin` is false) plus
/// Gatekeeper policies from the settings (relative to the config file) and from flags.
pub fn policy_set(
    config: &LoadedConfig,
    extra: &[PathBuf],
    builtin: bool,
    errors: &mut Vec<ScanError>,
) -> PolicySet {
    let settings: &PolicySettings = &config.file.config;
    let paths = config.policy_paths(extra);
    let (mut set, errs) = if paths.is_empty() {
        (PolicySet::new(), Vec::new())
    } else {
        PolicySet::load(&paths)
    };
    errors.extend(errs.iter().map(to_scan_error));
    if builtin {
        match settings.resolve() {
            Ok(rules) => set.set_builtin(rules),
            Err(e) => {
                let file = config
                    .path
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "shipgate.yaml".into());
                errors.push(ScanError::at(file, None, None, format!("config: {e}")));
            }
        }
    }
    set
}

/// Run `shipgate scan config`.
pub fn scan(args: ScanConfigArgs) -> anyhow::Result<i32> {
    let root = args
        .paths
        .first()
        .filter(|p| p.as_os_str() != "-")
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."));
    let ctx = ScanContext::new(&args.report, &root);
    let mut errors = Vec::new();
    let set = policy_set(&ctx.config, &args.policy, true, &mut errors);
    let mut out = scan_config(&args.paths, &set);
    out.errors.splice(0..0, errors);
    let target = args
        .paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    finish("config", &target, &args.report, ctx, out)
}

/// The manifest part of `scan all`: YAML/JSON files under `root` that look like Kubernetes
/// objects (both `apiVersion` and `kind` appear), honouring `.gitignore`.
pub fn scan_tree(root: &Path, config: &LoadedConfig) -> ScanOutput {
    let mut files = Vec::new();
    let walker = ignore::WalkBuilder::new(root)
        .hidden(true)
        .filter_entry(|e| {
            !matches!(
                e.file_name().to_str(),
                Some("node_modules" | "vendor" | "target")
            )
        })
        .build();
    let mut walk_errors = Vec::new();
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                walk_errors.push(ScanError::new(format!("cannot walk the tree: {e}")));
                continue;
            }
        };
        let p = entry.path();
        let is_manifest = matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        );
        if !is_manifest || !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        if p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("shipgate."))
        {
            continue;
        }
        match std::fs::read(p) {
            // Not UTF-8 text: not a manifest. The loader reports bad YAML in files that are.
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                if text.contains("apiVersion") && text.contains("kind") {
                    files.push(p.to_path_buf());
                }
            }
            Err(e) => walk_errors.push(ScanError::at(
                relative(root, &p.display().to_string()),
                None,
                None,
                format!("cannot read: {e}"),
            )),
        }
    }
    if files.is_empty() {
        return ScanOutput {
            errors: walk_errors,
            ..ScanOutput::default()
        };
    }
    let mut errors = Vec::new();
    let set = policy_set(config, &[], true, &mut errors);
    let mut out = scan_config(&files, &set);
    // Paths relative to the scan root, as every other scanner reports them.
    for f in &mut out.findings {
        if let Some(p) = &f.location.path {
            f.location.path = Some(relative(root, p));
        }
    }
    for e in &mut out.errors {
        if let Some(p) = &e.path {
            e.path = Some(relative(root, p));
        }
    }
    out.errors.splice(0..0, errors);
    out.errors.extend(walk_errors);
    out
}

fn relative(root: &Path, p: &str) -> String {
    Path::new(p)
        .strip_prefix(root)
        .map(|r| r.to_string_lossy().replace('\\', "/"))
        .unwrap_or_else(|_| p.to_string())
}

/// Run a `policy` subcommand.
pub fn run(cmd: PolicyCommand) -> anyhow::Result<i32> {
    match cmd {
        PolicyCommand::Verify(a) => run_verify(a),
        PolicyCommand::Eval(a) => eval(a),
    }
}

fn run_verify(a: PolicyVerifyArgs) -> anyhow::Result<i32> {
    let (report, errors) = verify(&a.path);
    for e in &errors {
        eprintln!("error: {e}");
    }
    match a.format {
        SummaryFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        SummaryFormat::Table => {
            for f in &report.failures {
                println!(
                    "{}: {} {} / {}: {}",
                    f.status.to_uppercase(),
                    f.suite,
                    f.test,
                    f.case,
                    f.message
                );
            }
            println!(
                "{} suites, {} tests, {} cases: {} passed, {} failed, {} unsupported",
                report.suites,
                report.tests,
                report.cases,
                report.passed,
                report.failed,
                report.unsupported
            );
        }
    }
    Ok(if !errors.is_empty() {
        2
    } else if report.failed > 0 {
        1
    } else {
        0
    })
}

fn eval(a: PolicyEvalArgs) -> anyhow::Result<i32> {
    let root = a
        .manifests
        .first()
        .filter(|p| p.as_os_str() != "-")
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."));
    let ctx = ScanContext::new(&a.report, &root);
    let mut errors = Vec::new();
    let set = policy_set(&ctx.config, &a.policy, a.builtin, &mut errors);
    let mut out = scan_config(&a.manifests, &set);
    out.errors.splice(0..0, errors);
    let target = a
        .manifests
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    finish("config", &target, &a.report, ctx, out)
}
