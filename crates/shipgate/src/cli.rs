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
    /// Manage the local vulnerability database (OSV advisories) used by deps and image scans.
    #[command(subcommand)]
    Db(DbCommand),
    /// Write a software bill of materials (CycloneDX 1.6 or SPDX 2.3 JSON).
    Sbom(SbomArgs),
    /// Git hooks: install the pre-commit hook, or run it.
    #[command(subcommand)]
    Hook(HookCommand),
}

/// `shipgate scan ...`
#[derive(Debug, Subcommand)]
pub enum ScanCommand {
    /// Run every scanner that applies to PATH and merge their reports: the CI gate.
    All(ScanAllArgs),
    /// Find lockfiles and manifests under PATH and match their packages against the
    /// vulnerability database.
    Deps(ScanDepsArgs),
    /// Find credentials in a working tree, the git history, the staged changes or stdin.
    Secrets(ScanSecretsArgs),
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

    /// Database options (used when lockfiles are found).
    #[command(flatten)]
    pub db: DbArgs,

    /// Shared report options.
    #[command(flatten)]
    pub report: ReportArgs,
}

/// Where the vulnerability database is and how old it may be.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Vulnerability database")]
pub struct DbArgs {
    /// Database file. Default: `$SHIPGATE_CACHE_DIR/osv-vulndb.bin`.
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,

    /// Refuse a database older than this (e.g. 7d, 36h). Default: `db.max_age` of
    /// shipgate.yaml, else 7d.
    #[arg(long, value_name = "AGE")]
    pub db_max_age: Option<String>,

    /// Accept a database of any age (air-gapped runs); the report says how old it is.
    #[arg(long)]
    pub offline: bool,
}

/// `shipgate scan deps`
#[derive(Debug, Args)]
pub struct ScanDepsArgs {
    /// Directory or lockfile to scan.
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// OpenVEX document whose `not_affected`/`fixed` statements suppress matching findings
    /// (repeatable).
    #[arg(long, value_name = "FILE")]
    pub vex: Vec<PathBuf>,

    /// Leave out advisories that have no fixed version.
    #[arg(long)]
    pub ignore_unfixed: bool,

    /// Database options.
    #[command(flatten)]
    pub db: DbArgs,

    /// Shared report options.
    #[command(flatten)]
    pub report: ReportArgs,
}

/// `shipgate db ...`
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Download the OSV export archives from a mirror (or copy them from a folder) and rebuild
    /// the database atomically.
    Update(DbUpdateArgs),
    /// Build the database from OSV JSON/YAML files, folders of them, or `all.zip` archives.
    Import(DbImportArgs),
    /// Show ecosystems, advisory counts, age and source of the database.
    Status(DbStatusArgs),
}

/// `shipgate db update`
#[derive(Debug, Args)]
pub struct DbUpdateArgs {
    /// Mirror URL (`<URL>/<Ecosystem>/all.zip`) or a folder with the same layout.
    /// Default: the public OSV export.
    #[arg(long, value_name = "URL|DIR")]
    pub source: Option<String>,

    /// Ecosystem to fetch (repeatable). Default: all language ecosystems and the major
    /// Linux distributions.
    #[arg(long = "ecosystem", value_name = "NAME")]
    pub ecosystems: Vec<String>,

    /// Database file. Default: `$SHIPGATE_CACHE_DIR/osv-vulndb.bin`.
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
}

/// `shipgate db import`
#[derive(Debug, Args)]
pub struct DbImportArgs {
    /// OSV files, folders or `all.zip` archives.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,

    /// Database file. Default: `$SHIPGATE_CACHE_DIR/osv-vulndb.bin`.
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,

    /// Output format of the import summary.
    #[arg(long, value_enum, default_value = "table")]
    pub format: SummaryFormat,
}

/// `shipgate db status`
#[derive(Debug, Args)]
pub struct DbStatusArgs {
    /// Database file. Default: `$SHIPGATE_CACHE_DIR/osv-vulndb.bin`.
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: SummaryFormat,
}

/// Output format of commands that print a summary rather than a findings report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    /// Text for humans.
    Table,
    /// One JSON object.
    Json,
}

/// Options of the secret scanner (`scan secrets`, `hook run pre-commit`).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Secrets")]
pub struct SecretsArgs {
    /// Extra rules in shipgate's YAML rule format (repeatable).
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,

    /// Load a gitleaks TOML configuration (with `[extend] useDefault = true`, shipgate's
    /// built-in rules are kept too). Default: `secrets.gitleaks_config` of shipgate.yaml.
    #[arg(long, value_name = "FILE")]
    pub gitleaks_config: Option<PathBuf>,

    /// Put the full secret in the report. Default: redacted (first 4 characters).
    #[arg(long)]
    pub show_secrets: bool,
}

/// `shipgate scan secrets`
#[derive(Debug, Args)]
pub struct ScanSecretsArgs {
    /// File or directory to scan, a repository with --git/--staged, or `-` for stdin.
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Scan the whole git history: every distinct blob of every ref, reported at the commit
    /// that introduced it.
    #[arg(long, conflicts_with = "staged")]
    pub git: bool,

    /// With --git: only commits not reachable from REV.
    #[arg(long, value_name = "REV", requires = "git")]
    pub since: Option<String>,

    /// Scan the staged changes (the index), as a pre-commit hook does.
    #[arg(long)]
    pub staged: bool,

    /// Also scan files excluded by .gitignore and .ignore files.
    #[arg(long)]
    pub no_ignore: bool,

    /// Secret scanner options.
    #[command(flatten)]
    pub secrets: SecretsArgs,

    /// Shared report options.
    #[command(flatten)]
    pub report: ReportArgs,
}

/// `shipgate hook ...`
#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Install the pre-commit hook in the repository (an existing hook is kept and runs first).
    Install(HookInstallArgs),
    /// Run a hook: `pre-commit` scans the staged changes for secrets and gates on them.
    Run(HookRunArgs),
}

/// `shipgate hook install`
#[derive(Debug, Args)]
pub struct HookInstallArgs {
    /// The repository.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub repo: PathBuf,
}

/// Hooks `shipgate hook run` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HookName {
    /// Scan the staged changes for secrets.
    PreCommit,
}

/// `shipgate hook run`
#[derive(Debug, Args)]
pub struct HookRunArgs {
    /// Which hook.
    #[arg(value_enum)]
    pub hook: HookName,

    /// The repository.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub repo: PathBuf,

    /// Secret scanner options.
    #[command(flatten)]
    pub secrets: SecretsArgs,

    /// Shared report options.
    #[command(flatten)]
    pub report: ReportArgs,
}

/// SBOM formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SbomFormat {
    /// CycloneDX 1.6 JSON.
    Cyclonedx,
    /// SPDX 2.3 JSON.
    Spdx,
}

/// `shipgate sbom`
#[derive(Debug, Args)]
pub struct SbomArgs {
    /// A directory (its lockfiles and manifests) or an image (OCI layout, archive, rootfs,
    /// registry reference).
    pub target: String,

    /// Output format.
    #[arg(long, value_enum, default_value = "cyclonedx")]
    pub format: SbomFormat,

    /// Write to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}
