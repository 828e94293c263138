//! `shipgate scan all`: every scanner that applies, one merged report.

use shipgate_report::{ScanError, ScanOutput};

use crate::cli::ScanAllArgs;
use crate::output::{ScanContext, finish};

/// Run every applicable scanner over the path and gate on the merged findings.
pub fn run(args: ScanAllArgs) -> anyhow::Result<i32> {
    let ctx = ScanContext::new(&args.report, &args.path);
    let target = args.path.display().to_string();
    let mut output = ScanOutput::default();
    if !args.path.is_dir() {
        let why = if args.path.exists() {
            "not a directory"
        } else {
            "path does not exist"
        };
        output
            .errors
            .push(ScanError::at(target.clone(), None, None, why));
        return finish("all", &target, &args.report, ctx, output);
    }
    // Secrets: always, over the working tree (honouring .gitignore unless configured not to).
    let flags = crate::cli::SecretsArgs {
        rules: Vec::new(),
        gitleaks_config: None,
        gitleaks_ignore: None,
        show_secrets: false,
    };
    let mut errors = Vec::new();
    if let Some(scanner) = super::secrets::build_scanner(&ctx, &flags, &mut errors) {
        let no_ignore = ctx.config.file.secrets.no_ignore;
        output.merge(super::secrets::scan(
            &scanner,
            super::secrets::Source::Tree(&args.path, no_ignore),
            &flags,
        ));
    }
    output.errors.extend(errors);
    // Dependencies: only when lockfiles exist; then the database is required (fail closed).
    output.merge(super::deps::scan(
        &args.path,
        &[],
        false,
        &args.db,
        &ctx.config,
        false,
    ));
    // SAST: the built-in rules (and `sast:` of shipgate.yaml) over the source files.
    let mut errors = Vec::new();
    let rules = super::sast::build_rules(&ctx, &crate::cli::SastArgs::default(), &mut errors);
    let opts = super::sast::options(&ctx, ctx.config.file.secrets.no_ignore, None, 0);
    output.merge(super::sast::scan_tree(&rules, &args.path, &opts));
    output.errors.extend(errors);
    // Kubernetes manifests: files that look like Kubernetes objects.
    output.merge(super::policy::scan_tree(&args.path, &ctx.config));
    finish("all", &target, &args.report, ctx, output)
}
