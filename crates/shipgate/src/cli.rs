//! The command line: clap structs only, no behaviour.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use shipgate_report::FailOn;

use crate::env;

/// shipgate — one gate from commit to running pod: secrets, dependencies, images and
/// Kubernetes policy, with one report format and one set of exit codes.
///
/// Exit codes: 0 gate passed, 1 findings at or above --fail-on, 2 error (usage, configuration,
/// unreadable or unparsable input). Errors fail the gate closed.
#[derive(Debug, Parser)]
#[command(
    name = "shipgate",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan a path, repository, image or manifests and gate on the findings.
    #[command(subcommand)]
    Scan(ScanCommand),
}

/// `shipgate scan ...`
#[derive(Debug, Subcommand)]
pub enum ScanCommand {
    /// Run every scanner that applies to PATH and merge their reports: the CI gate.
    All(ScanAllArgs),
}

/// Output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned table for humans (colour on a terminal unless NO_COLOR is set).
    Table,
    /// JSON report, schema `shipgate.report/v1`.
    Json,
    /// SARIF 2.1.0 for code-scanning dashboards.
    Sarif,
}

/// Options every scan shares: output, gate, configuration and suppressions.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Report and gate")]
pub struct ReportArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "table", env = env::SHIPGATE_FORMAT)]
    pub format: Format,

    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Fail (exit 1) on findings at or above this severity: critical, high, medium, low, info,
    /// or none. Default: `fail_on` of shipgate.yaml, else high.
    #[arg(long, value_name = "LEVEL", env = env::SHIPGATE_FAIL_ON)]
    pub fail_on: Option<FailOn>,

    /// Configuration file. Default: shipgate.yaml in the scan root or a parent, up to the
    /// repository root.
    #[arg(long, value_name = "FILE", env = env::SHIPGATE_CONFIG)]
    pub config: Option<PathBuf>,

    /// Suppress findings whose fingerprints are listed in FILE (written by --write-baseline).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Write the fingerprints of every finding of this run to FILE, to adopt the gate on an
    /// existing code base.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,

    /// List suppressed findings in the table too.
    #[arg(long)]
    pub show_suppressed: bool,

    /// Print nothing on standard error but errors.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// `shipgate scan all`
#[derive(Debug, Args)]
pub struct ScanAllArgs {
    /// Directory to scan (a repository checkout).
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Shared report options.
    #[command(flatten)]
    pub report: ReportArgs,
}
