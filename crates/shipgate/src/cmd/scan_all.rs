//! `shipgate scan all`: every scanner that applies, one merged report.

use shipgate_report::{ScanError, ScanOutput};

use crate::cli::ScanAllArgs;
use crate::output::{ScanContext, finish};

/// Run every applicable scanner over the path and gate on the merged findings.
pub fn run(args: ScanAllArgs) -> anyhow::Result<i32> {
    let ctx = ScanContext::new(&args.report, &args.path);
    let target = args.path.display().to_string();
    let mut output = ScanOutput::default();
    if !args.path.exists() {
        output.errors.push(ScanError::at(
            target.clone(),
            None,
            None,
            "path does not exist",
        ));
    }
    finish("all", &target, &args.report, ctx, output)
}
