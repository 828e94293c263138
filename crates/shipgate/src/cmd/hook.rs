//! `shipgate hook install` and `shipgate hook run pre-commit`.

use shipgate_report::ScanOutput;
use shipgate_secrets::hook::{self, HookInstall};

use crate::cli::{HookInstallArgs, HookName, HookRunArgs};
use crate::cmd::secrets::{Source, build_scanner, scan};
use crate::output::{ScanContext, finish};

/// Install the pre-commit hook.
pub fn install(args: HookInstallArgs) -> anyhow::Result<i32> {
    match hook::install(&args.repo, "shipgate")? {
        HookInstall::Installed(p) => eprintln!("installed {}", p.display()),
        HookInstall::Chained { hook, previous } => eprintln!(
            "installed {}; the previous hook now lives at {} and runs first",
            hook.display(),
            previous.display()
        ),
        HookInstall::AlreadyInstalled(p) => eprintln!("already installed: {}", p.display()),
    }
    Ok(0)
}

/// Run a hook: `pre-commit` scans the staged content and gates on it.
pub fn run(args: HookRunArgs) -> anyhow::Result<i32> {
    match args.hook {
        HookName::PreCommit => {
            let ctx = ScanContext::new(&args.report, &args.repo);
            let mut errors = Vec::new();
            let mut output = match build_scanner(&ctx, &args.secrets, &mut errors) {
                Some(s) => scan(&s, Source::Staged(&args.repo), &args.secrets),
                None => ScanOutput::default(),
            };
            // SAST over the staged versions of changed source files.
            let rules =
                crate::cmd::sast::build_rules(&ctx, &crate::cli::SastArgs::default(), &mut errors);
            let opts = crate::cmd::sast::options(&ctx, false, None, 0);
            output.merge(crate::cmd::sast::scan_index(&rules, &args.repo, &opts));
            output.errors.splice(0..0, errors);
            let target = format!("{} (staged)", args.repo.display());
            finish("pre-commit", &target, &args.report, ctx, output)
        }
    }
}
