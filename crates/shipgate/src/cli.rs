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
    /// The validating admission webhook: serve it, print its manifests, audit a cluster.
    #[command(subcommand)]
    Admission(AdmissionCommand),
    /// Gatekeeper policy suites and quick evaluations.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// The GitOps agent: reconcile a cluster from Git with the policy gate, drift detection,
    /// history and rollback.
    #[command(subcommand)]
    Gitops(GitopsCommand),
    /// Pin a new image digest in a manifests repository (manifest, kustomization or Helm
    /// values), commit with trailers and push: the GitOps delivery step.
    ///
    /// Clones BRANCH shallowly into a private temporary directory, rewrites the image reference
    /// in FILE (only the edited values change; comments and formatting are kept), commits
    /// `promote NAME to sha256:<12 hex>` with Shipgate-Image, Shipgate-Source-Commit and
    /// Shipgate-Pipeline-Run trailers, and pushes. A push refused as non-fast-forward is
    /// retried on the new remote head. See docs/promote.md.
    ///
    /// Exit codes: 0 pushed or already up to date, 2 error (nothing pushed, nothing left
    /// behind).
    Promote(PromoteArgs),
    /// Write a software bill of materials (CycloneDX 1.6 or SPDX 2.3 JSON).
    Sbom(SbomArgs),
    /// Git hooks: install the pre-commit hook, or run it.
    #[command(subcommand)]
    Hook(HookCommand),
    /// Runtime detection: rules over the Kubernetes API server's audit log.
    #[command(subcommand)]
    Runtime(RuntimeCommand),
    /// Run the pipeline (`pipeline:` in shipgate.yaml or .shipgate/pipeline.yaml): sandboxed,
    /// cached steps, built-in gates, image assembly, signing and promotion.
    #[command(subcommand)]
    Pipeline(PipelineCommand),
    /// The store: record scan reports, pipeline runs and events in a SQLite database with an
    /// audit ledger. See docs/store.md.
    #[command(subcommand)]
    Store(StoreCommand),
    /// The audit ledger of the store: verify its hash chain.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Delivery and security metrics from the store: build success rate, findings per day,
    /// mean time to remediation per severity, drift events and policy denials.
    Report(MetricsReportArgs),
    /// Serve a read-only web dashboard of the store (runs, findings, MTTR, drift, admission,
    /// the audit ledger) with JSON under /api and Prometheus metrics at /metrics.
    ///
    /// Listens on loopback by default; reads need no authentication, so expose it only behind
    /// an authenticating proxy. With --token-file, POST /api/ingest accepts shipgate JSON
    /// documents with `Authorization: Bearer TOKEN`. Serves until SIGTERM or Ctrl-C. See
    /// docs/server.md.
    ///
    /// Exit codes: 0 stopped by a signal, 2 the store, token, certificate or address could not
    /// be used (nothing is served).
    Serve(ServeArgs),
    /// Signing keys in cosign's format (ECDSA P-256, encrypted private key).
    #[command(subcommand)]
    Key(KeyCommand),
    /// Sign an image in a registry, as `cosign sign --key` does (signature stored at the
    /// tag sha256-<digest>.sig of its repository).
    Sign(SignArgs),
    /// Verify an image's cosign signatures with public keys; prints the verified payloads.
    Verify(VerifyArgs),
    /// Attach a signed in-toto attestation (SBOM, provenance, scan report...) to an image, as
    /// `cosign attest --key` does (stored at sha256-<digest>.att).
    Attest(AttestArgs),
    /// Verify an image's attestations with public keys; prints the verified in-toto
    /// statements as JSON.
    VerifyAttestation(VerifyAttestationArgs),
}

/// `shipgate runtime ...`
#[derive(Debug, Subcommand)]
pub enum RuntimeCommand {
    /// Read a kube-apiserver audit log (JSON lines of audit.k8s.io/v1 events) and alert on
    /// exec/attach into pods, privileged or host-namespace pods, secret reads outside the
    /// allow-list, RBAC escalation and allowed anonymous requests. See docs/runtime.md.
    ///
    /// Without --follow the log is read once and reported like any scan (exit 0 no alert at or
    /// above --fail-on, 1 alerts, 2 error such as an unreadable file or malformed lines). With
    /// --follow alerts are printed as JSON lines as they happen, until interrupted.
    Watch(RuntimeWatchArgs),
}

/// `shipgate runtime watch`
#[derive(Debug, Args)]
pub struct RuntimeWatchArgs {
    /// The audit log (`--audit-log-path` of kube-apiserver, JSON format).
    #[arg(long, value_name = "FILE", env = env::SHIPGATE_AUDIT_LOG)]
    pub audit_log: PathBuf,

    /// Keep reading as the file grows (survives rotation and truncation) and print each alert
    /// as one JSON line on standard output; --format and --output do not apply.
    #[arg(long)]
    pub follow: bool,

    /// Only events at or after TIME: an RFC 3339 timestamp (2026-12-07T10:00:00Z) or a
    /// duration before now (90m, 2h, 1d).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// With --follow, read the existing content first instead of starting at the end.
    #[arg(long, requires = "follow")]
    pub from_start: bool,

    /// Shared report options (`--store` records every alert as a `runtime-alert` event
    /// instead of the report; one-shot reads only).
    #[command(flatten)]
    pub report: ReportArgs,
}

/// `shipgate pipeline ...`
#[derive(Debug, Subcommand)]
pub enum PipelineCommand {
    /// Run every step in dependency order, exactly as CI does; writes a run record.
    Run(PipelineRunArgs),
    /// Check the pipeline file (every problem with its position) and print the step order.
    Validate(PipelineFileArgs),
}

/// Where the pipeline is.
#[derive(Debug, Clone, Args)]
pub struct PipelineFileArgs {
    /// The workspace (repository root); steps run there.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub workspace: PathBuf,
    /// The pipeline file. Default: WORKSPACE/.shipgate/pipeline.yaml, else the `pipeline:`
    /// section of WORKSPACE/shipgate.yaml.
    #[arg(long = "file", short = 'f', value_name = "FILE")]
    pub file: Option<PathBuf>,
}

/// How steps are isolated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SandboxMode {
    /// bubblewrap: read-only workspace, only outputs writable, private /tmp, no network
    /// unless the step asks.
    Bubblewrap,
    /// No isolation (machines without unprivileged user namespaces).
    None,
}

/// Where `run` steps with an `image:` execute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Executor {
    /// On this machine, in the sandbox (the image's file system as the root).
    Local,
    /// As Kubernetes Jobs (workspace in and outputs out through the API server); steps
    /// without an image, gates, build-image and shipgate steps still run locally.
    Kubernetes,
}

/// `shipgate pipeline run`
#[derive(Debug, Args)]
pub struct PipelineRunArgs {
    /// Where the pipeline is.
    #[command(flatten)]
    pub file: PipelineFileArgs,
    /// Step isolation.
    #[arg(long, value_enum, default_value = "bubblewrap", env = env::SHIPGATE_SANDBOX)]
    pub sandbox: SandboxMode,
    /// Where `run` steps with an `image:` execute.
    #[arg(long, value_enum, default_value = "local")]
    pub executor: Executor,
    /// With --executor kubernetes: the kubeconfig (default: $KUBECONFIG, ~/.kube/config,
    /// in-cluster).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// With --executor kubernetes: the kubeconfig context.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// With --executor kubernetes: the namespace Jobs are created in (must exist).
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub namespace: String,
    /// Steps run at once (default: the number of CPUs).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Run every step even when its cache key was seen.
    #[arg(long)]
    pub no_cache: bool,
    /// Also write the run record (JSON) to FILE.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Allow plain HTTP to loopback registries (also `registry: {insecure-loopback: true}`).
    #[arg(long)]
    pub insecure_registry: bool,
    /// Also record the run in the store (see `shipgate store`); a store error is exit 2.
    #[arg(long = "store")]
    pub store: bool,
    /// The store database, with --store.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Output on stdout: a table of steps, or the run record as JSON.
    #[arg(long, value_enum, default_value = "table")]
    pub format: SummaryFormat,
}

/// Which store database.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// The store database: a SQLite file (PATH or sqlite:PATH) or a PostgreSQL URL
    /// (postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=..., see docs/store.md). Default:
    /// `$SHIPGATE_DATA_DIR/shipgate.db` (data dir default: `$XDG_DATA_HOME/shipgate` or
    /// `~/.local/share/shipgate`).
    #[arg(long, value_name = "PATH|URL", env = env::SHIPGATE_DATABASE, hide_env_values = true)]
    pub database: Option<String>,
}

/// `--store` for commands that record events (the GitOps agent and syncs, the admission
/// webhook).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Store")]
pub struct StoreRecordArgs {
    /// Also record every sync, drift event or admission decision in the store (see `shipgate
    /// store`), for history, metrics and the audit trail.
    #[arg(long)]
    pub store: bool,
    /// The store database (with --store).
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// `shipgate store ...`
#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Record JSON documents, recognised by their `schema`: scan reports
    /// (`shipgate.report/v1`), pipeline run records (`shipgate.pipeline-run/v1`) and events
    /// (`shipgate.event/v1`). Each is written with its ledger entry in one transaction.
    ///
    /// Exit codes: 0 all recorded, 2 a file could not be read, parsed or recorded (the
    /// others are still recorded).
    Ingest(StoreIngestArgs),
}

/// `shipgate store ingest`
#[derive(Debug, Args)]
pub struct StoreIngestArgs {
    /// JSON files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// When the scan reports were made (RFC 3339 or YYYY-MM-DD; reports carry no time).
    /// Default: now. Runs and events use their own time.
    #[arg(long, value_name = "TIME")]
    pub time: Option<String>,
    /// The database.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Output on stdout.
    #[arg(long, value_enum, default_value = "table")]
    pub format: SummaryFormat,
}

/// `shipgate audit ...`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the ledger's hash chain and every record's hash; report the first entry
    /// that was edited, deleted or reordered.
    ///
    /// Exit codes: 0 intact, 1 tampering found (the seq and what is wrong on stdout), 2 error.
    Verify(AuditVerifyArgs),
    /// Sign the ledger head: an in-toto statement (DSSE envelope, cosign key) naming the
    /// head's seq and hash, to keep outside the database and check later with `audit verify
    /// --checkpoint`.
    Checkpoint(AuditCheckpointArgs),
    /// Write a compliance evidence bundle for a period: every ledger entry with its record
    /// (records.jsonl), CSV tables (ledger, scans, findings, pipeline runs, gate decisions,
    /// events), report.md, and evidence.json mapping the records to SOC 2 CC7.1/CC7.2/CC8.1
    /// and ISO/IEC 27001:2022 A.8.8/A.8.9/A.8.16/A.8.32. With --key the bundle is signed.
    ///
    /// Exit codes: 0 written, 1 written but the ledger failed verification (said in the
    /// bundle), 2 error (nothing written).
    Export(AuditExportArgs),
    /// Check a signed evidence bundle: the signature, and the sha256 of every file it lists.
    ///
    /// Exit codes: 0 intact, 1 a file was changed, added or removed, or the signature is
    /// invalid, 2 error.
    VerifyExport(AuditVerifyExportArgs),
}

/// `shipgate audit checkpoint`
#[derive(Debug, Args)]
pub struct AuditCheckpointArgs {
    /// The database.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Private key file (cosign format, see `shipgate key generate`).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// Key password.
    #[command(flatten)]
    pub password: PasswordArgs,
    /// Write the envelope to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `shipgate audit export`
#[derive(Debug, Args)]
pub struct AuditExportArgs {
    /// The database.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Records at or after this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,
    /// Records before this time (RFC 3339 or YYYY-MM-DD; exclusive).
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,
    /// Directory to create (must not exist or be empty).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub output: PathBuf,
    /// Sign the bundle with this private key (cosign format): evidence.dsse.json.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Key password.
    #[command(flatten)]
    pub password: PasswordArgs,
    /// Output on stdout.
    #[arg(long, value_enum, default_value = "table")]
    pub format: SummaryFormat,
}

/// `shipgate audit verify-export`
#[derive(Debug, Args)]
pub struct AuditVerifyExportArgs {
    /// The bundle directory.
    pub dir: PathBuf,
    /// Public key(s) the bundle must be signed with.
    #[arg(long, value_name = "FILE", required = true)]
    pub key: Vec<PathBuf>,
}

/// `shipgate audit verify`
#[derive(Debug, Args)]
pub struct AuditVerifyArgs {
    /// The database.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// A head printed by an earlier verify and kept outside the database (CI artifact, signed
    /// commit): the chain must still contain that entry with that hash. Detects truncation
    /// and whole-chain rewrites, which a chain alone cannot.
    #[arg(long, value_name = "SEQ:HASH")]
    pub anchor: Vec<String>,
    /// A signed checkpoint written by `audit checkpoint`: its signature must verify with
    /// --key, and the chain must still contain its head.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub checkpoint: Vec<PathBuf>,
    /// Public key(s) for --checkpoint.
    #[arg(long, value_name = "FILE")]
    pub key: Vec<PathBuf>,
    /// Output on stdout.
    #[arg(long, value_enum, default_value = "table")]
    pub format: SummaryFormat,
}

/// `shipgate report`
#[derive(Debug, Args)]
pub struct MetricsReportArgs {
    /// The database.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Only records at or after this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Output on stdout.
    #[arg(long, value_enum, default_value = "table")]
    pub format: SummaryFormat,
}

/// `shipgate serve`
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: std::net::SocketAddr,
    /// Enable POST /api/ingest for requests with `Authorization: Bearer TOKEN`, TOKEN being
    /// the content of FILE (at least 16 bytes; surrounding whitespace ignored).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Seconds between recomputations of the aggregates (metrics, trend, open findings).
    #[arg(long, default_value_t = 30, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub refresh_interval: u64,
    /// The database.
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// `shipgate key ...`
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Write a new key pair, PREFIX.key (encrypted, mode 0600) and PREFIX.pub, as
    /// `cosign generate-key-pair` does. Existing files are never overwritten.
    Generate(KeyGenerateArgs),
}

/// Where the private key's password comes from.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Key password")]
pub struct PasswordArgs {
    /// Read the password from FILE (one trailing newline is dropped). Default: the
    /// COSIGN_PASSWORD environment variable, which may be empty.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

/// How to reach the registry.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Registry")]
pub struct RegistryArgs {
    /// Allow plain HTTP to a registry on a loopback address (127.0.0.1, ::1, localhost) — never
    /// to any other host.
    #[arg(long)]
    pub insecure_registry: bool,
}

/// `shipgate key generate`
#[derive(Debug, Args)]
pub struct KeyGenerateArgs {
    /// Path prefix of the two files written.
    #[arg(long, default_value = "cosign", value_name = "PREFIX")]
    pub output_key_prefix: PathBuf,

    /// Password options.
    #[command(flatten)]
    pub password: PasswordArgs,
}

/// `shipgate sign`
#[derive(Debug, Args)]
pub struct SignArgs {
    /// Registry reference, `host[:port]/repo@sha256:...` (a tag is resolved to its digest, with
    /// a warning: tags move).
    pub image: String,

    /// Private key file (cosign format).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,

    /// Annotation added to the signed payload's `optional` section (repeatable).
    #[arg(long = "annotation", short = 'a', value_name = "KEY=VALUE")]
    pub annotations: Vec<String>,

    /// Password options.
    #[command(flatten)]
    pub password: PasswordArgs,

    /// Registry options.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// `shipgate verify`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Registry reference (a tag is resolved to its digest).
    pub image: String,

    /// Public key file; a signature from any of them is accepted (repeatable).
    #[arg(long = "key", value_name = "FILE", required = true)]
    pub keys: Vec<PathBuf>,

    /// Output format: table (one line per signature) or json (the verified payloads, as
    /// cosign prints them).
    #[arg(long, value_enum, default_value = "table")]
    pub format: SummaryFormat,

    /// Registry options.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// `shipgate attest`
#[derive(Debug, Args)]
pub struct AttestArgs {
    /// Registry reference (a tag is resolved to its digest, with a warning).
    pub image: String,

    /// Private key file (cosign format).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,

    /// The predicate: an SBOM, a provenance document, a shipgate JSON report...
    #[arg(long, value_name = "FILE")]
    pub predicate: PathBuf,

    /// Predicate type: custom, cyclonedx, spdx, spdxjson, slsaprovenance, slsaprovenance02,
    /// slsaprovenance1, link, vuln, openvex (cosign's names), scan-report (shipgate's scan
    /// report), or a URI.
    #[arg(long = "type", default_value = "custom", value_name = "NAME|URI")]
    pub predicate_type: String,

    /// Password options.
    #[command(flatten)]
    pub password: PasswordArgs,

    /// Registry options.
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// `shipgate verify-attestation`
#[derive(Debug, Args)]
pub struct VerifyAttestationArgs {
    /// Registry reference (a tag is resolved to its digest).
    pub image: String,

    /// Public key file; an attestation signed by any of them is accepted (repeatable).
    #[arg(long = "key", value_name = "FILE", required = true)]
    pub keys: Vec<PathBuf>,

    /// Only attestations of this predicate type (a name as for `attest --type`, or a URI).
    /// Default: every verified attestation.
    #[arg(long = "type", value_name = "NAME|URI")]
    pub predicate_type: Option<String>,

    /// Registry options.
    #[command(flatten)]
    pub registry: RegistryArgs,
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
    /// Find OS and language packages in a container image and match them against the
    /// vulnerability database.
    Image(ScanImageArgs),
    /// Check Kubernetes manifests against the built-in rules and Gatekeeper policies.
    Config(ScanConfigArgs),
    /// Find insecure code (injection, unsafe deserialisation, weak crypto, disabled TLS
    /// checks, risky Dockerfile and CI habits) with Semgrep-style structural rules.
    Sast(ScanSastArgs),
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

    /// Also record the report in the store (see `shipgate store`), for history, trends and
    /// the audit trail; a store error fails the gate (exit 2).
    #[arg(long, visible_alias = "record", help_heading = "Store")]
    pub store: bool,

    /// The store database (with --store).
    #[command(flatten, next_help_heading = "Store")]
    pub database: DatabaseArgs,
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

    /// Suppress the findings whose gitleaks fingerprints (`file:rule-id:line` or
    /// `commit:file:rule-id:line`) this file lists. Default: `.gitleaksignore` at the scan root
    /// (the repository with --git/--staged), when there is one.
    #[arg(long, value_name = "FILE")]
    pub gitleaks_ignore: Option<PathBuf>,

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

/// Options of the SAST scanner (`scan sast`; `scan all` and the pre-commit hook use
/// `sast:` of shipgate.yaml).
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "SAST")]
pub struct SastArgs {
    /// Rule file or directory in Semgrep's YAML format (repeatable). Added to the built-in
    /// rules unless --no-builtin-rules is given. Default: `sast.rules` of shipgate.yaml.
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,

    /// Do not load the built-in rules (only --rules and `sast.rules`).
    #[arg(long)]
    pub no_builtin_rules: bool,
}

/// `shipgate scan sast`
#[derive(Debug, Args)]
pub struct ScanSastArgs {
    /// File or directory to scan, or the repository with --staged.
    #[arg(default_value = ".")]
    pub path: PathBuf,

    /// Scan the staged changes (the index versions of added and modified files).
    #[arg(long)]
    pub staged: bool,

    /// Also scan files excluded by .gitignore and .ignore files.
    #[arg(long)]
    pub no_ignore: bool,

    /// Skip files larger than this many bytes (noted in the report). Default 1048576.
    #[arg(long, value_name = "BYTES")]
    pub max_file_size: Option<u64>,

    /// Worker threads (0: one per core).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub threads: usize,

    /// Run the rule tests instead of scanning: each rule file under PATH with its annotated
    /// target (`ruleid:` / `ok:` comments, Semgrep's format). Exit 1 when a test fails.
    #[arg(long, conflicts_with = "staged")]
    pub test: bool,

    /// SAST options.
    #[command(flatten)]
    pub sast: SastArgs,

    /// Shared report options.
    #[command(flatten)]
    pub report: ReportArgs,
}

/// `shipgate hook ...`
#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Install the pre-commit hook in the repository (an existing hook is kept and runs first).
    Install(HookInstallArgs),
    /// Run a hook: `pre-commit` scans the staged changes for secrets and insecure code and
    /// gates on them.
    Run(Box<HookRunArgs>),
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
    /// Scan the staged changes for secrets and insecure code (SAST).
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

    /// Image options (when TARGET is an image).
    #[command(flatten)]
    pub image_opts: ImageArgs,

    /// Write to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// How to read an image (`scan image`, `sbom IMAGE`).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Image")]
pub struct ImageArgs {
    /// Platform to pick from a multi-platform index, as os/arch[/variant].
    #[arg(long, default_value = "linux/amd64", value_name = "OS/ARCH")]
    pub platform: String,

    /// Allow plain HTTP to a registry on a loopback address (127.0.0.1, ::1, localhost) — never
    /// to any other host.
    #[arg(long)]
    pub insecure_registry: bool,

    /// Do not use or fill the per-layer analysis cache.
    #[arg(long)]
    pub no_cache: bool,
}

/// `shipgate scan image`
#[derive(Debug, Args)]
pub struct ScanImageArgs {
    /// OCI layout directory, OCI archive, docker-archive tar, root filesystem directory, or a
    /// registry reference (`host[:port]/repo:tag` or `@sha256:...`).
    pub image: String,

    /// Leave out advisories that have no fixed version.
    #[arg(long)]
    pub ignore_unfixed: bool,

    /// OpenVEX document whose `not_affected`/`fixed` statements suppress matching findings
    /// (repeatable).
    #[arg(long, value_name = "FILE")]
    pub vex: Vec<PathBuf>,

    /// Image options.
    #[command(flatten)]
    pub image_opts: ImageArgs,

    /// Database options.
    #[command(flatten)]
    pub db: DbArgs,

    /// Shared report options.
    #[command(flatten)]
    pub report: ReportArgs,
}

/// `shipgate scan config`
#[derive(Debug, Args)]
pub struct ScanConfigArgs {
    /// Manifest files or directories (YAML or JSON, multi-document, `kind: List`), or `-` for
    /// standard input.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,

    /// Gatekeeper ConstraintTemplates and Constraints to enforce as well (file or directory,
    /// repeatable).
    #[arg(long, value_name = "FILE|DIR")]
    pub policy: Vec<PathBuf>,

    /// Shared report options.
    #[command(flatten)]
    pub report: ReportArgs,
}

/// `shipgate policy ...`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Run Gatekeeper `gator verify` suites (Suite -> tests -> cases with assertions).
    Verify(PolicyVerifyArgs),
    /// Evaluate policies against manifests while writing a policy.
    Eval(PolicyEvalArgs),
}

/// `shipgate policy verify`
#[derive(Debug, Args)]
pub struct PolicyVerifyArgs {
    /// A suite file, or a directory searched for suites.
    pub path: PathBuf,

    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: SummaryFormat,
}

/// `shipgate policy eval`
#[derive(Debug, Args)]
pub struct PolicyEvalArgs {
    /// ConstraintTemplates and Constraints (file or directory, repeatable).
    #[arg(long, value_name = "FILE|DIR", required = true)]
    pub policy: Vec<PathBuf>,

    /// Also run the built-in rules of the configured profile.
    #[arg(long)]
    pub builtin: bool,

    /// Manifests to evaluate (`-` for standard input).
    #[arg(required = true)]
    pub manifests: Vec<PathBuf>,

    /// Shared report options.
    #[command(flatten)]
    pub report: ReportArgs,
}

/// `shipgate admission ...`
#[derive(Debug, Subcommand)]
pub enum AdmissionCommand {
    /// Serve the validating admission webhook (HTTPS, AdmissionReview v1 on POST /validate).
    Serve(AdmissionServeArgs),
    /// Print the ValidatingWebhookConfiguration (and, in service mode, the Deployment,
    /// Service, RBAC and PodDisruptionBudget) that runs the webhook.
    Manifest(AdmissionManifestArgs),
    /// List the objects already in a cluster that violate the policies.
    Audit(AdmissionAuditArgs),
}

/// `shipgate admission serve`
#[derive(Debug, Args)]
pub struct AdmissionServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:8443", value_name = "ADDR")]
    pub listen: std::net::SocketAddr,

    /// Serving certificate chain (PEM); reloaded when the file changes.
    #[arg(long, value_name = "FILE")]
    pub tls_cert: PathBuf,

    /// Serving key (PEM); reloaded when the file changes.
    #[arg(long, value_name = "FILE")]
    pub tls_key: PathBuf,

    /// Require client certificates signed by this CA (PEM).
    #[arg(long, value_name = "FILE")]
    pub client_ca: Option<PathBuf>,

    /// Gatekeeper ConstraintTemplates and Constraints (file or directory, repeatable); reloaded
    /// when they change.
    #[arg(long, value_name = "FILE|DIR")]
    pub policy: Vec<PathBuf>,

    /// Do not run the built-in rules (only the Gatekeeper policies).
    #[arg(long)]
    pub no_builtin: bool,

    /// Answer when evaluation fails or exceeds its time budget: deny (fail closed) or allow.
    #[arg(long, default_value = "deny", value_name = "allow|deny")]
    pub failure_mode: String,

    /// Namespace whose objects are admitted without evaluation (repeatable). Default:
    /// kube-system and the webhook's own namespace.
    #[arg(long = "exempt-namespace", value_name = "NS")]
    pub exempt_namespaces: Vec<String>,

    /// The webhook's own namespace (always exempt).
    #[arg(long, default_value = "shipgate-system", value_name = "NS")]
    pub namespace: String,

    /// User admitted without evaluation, e.g. a break-glass account (repeatable).
    #[arg(long = "exempt-user", value_name = "USER")]
    pub exempt_users: Vec<String>,

    /// Group admitted without evaluation (repeatable).
    #[arg(long = "exempt-group", value_name = "GROUP")]
    pub exempt_groups: Vec<String>,

    /// Configuration file (the `config:` section selects the built-in rules).
    #[arg(long, value_name = "FILE", env = env::SHIPGATE_CONFIG)]
    pub config: Option<PathBuf>,

    /// Image requirements (YAML): for images matching patterns, a cosign signature from given
    /// public keys and optionally a signed scan-report attestation below a severity
    /// (docs/admission.md). Loaded at start-up.
    #[arg(long, value_name = "FILE")]
    pub image_policy: Option<PathBuf>,

    /// Record in the store.
    #[command(flatten)]
    pub record: StoreRecordArgs,
}

/// `shipgate admission manifest`
#[derive(Debug, Args)]
pub struct AdmissionManifestArgs {
    /// PEM of the CA that signed the webhook's serving certificate (becomes `caBundle`).
    #[arg(long, value_name = "FILE")]
    pub ca_cert: PathBuf,

    /// Out-of-cluster mode: the webhook's HTTPS URL (e.g. https://10.0.0.5:8443/validate).
    #[arg(long, value_name = "URL", conflicts_with = "image")]
    pub url: Option<String>,

    /// In-cluster mode: the shipgate image to run (pin a digest).
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,

    /// In-cluster mode: Secret (kubernetes.io/tls) with the serving certificate.
    #[arg(long, default_value = "shipgate-admission-tls", value_name = "NAME")]
    pub tls_secret: String,

    /// In-cluster mode: ConfigMap with the policy files.
    #[arg(long, default_value = "shipgate-policies", value_name = "NAME")]
    pub policy_configmap: String,

    /// Namespace of the webhook (never sent to it).
    #[arg(long, default_value = "shipgate-system", value_name = "NS")]
    pub namespace: String,

    /// What the API server does when the webhook cannot answer: Fail (reject) or Ignore (admit).
    #[arg(long, default_value = "Fail", value_name = "Fail|Ignore")]
    pub failure_policy: String,

    /// Seconds the API server waits for an answer (1-30).
    #[arg(long, default_value_t = 5, value_name = "SECONDS")]
    pub timeout_seconds: u8,
}

/// `shipgate admission audit`
#[derive(Debug, Args)]
pub struct AdmissionAuditArgs {
    /// Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// Kubeconfig context (default: the current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,

    /// Gatekeeper ConstraintTemplates and Constraints (file or directory, repeatable).
    #[arg(long, value_name = "FILE|DIR")]
    pub policy: Vec<PathBuf>,

    /// Only these namespaces (repeatable; cluster-scoped objects are always audited).
    #[arg(long = "namespace", value_name = "NS")]
    pub namespaces: Vec<String>,

    /// Shared report options.
    #[command(flatten)]
    pub report: ReportArgs,
}

/// `shipgate gitops ...`
///
/// Exit codes of sync, rollback and diff: 0 done (diff: no differences), 1 blocked by the
/// policy gate or refused by the signature check (diff: differences), 2 error.
#[derive(Debug, Subcommand)]
pub enum GitopsCommand {
    /// Run the agent: sync applications when their source changes, watch owned objects for
    /// drift and heal it, serve /metrics, /healthz and /readyz.
    Run(GitopsRunArgs),
    /// Sync one application now and record the attempt.
    Sync(GitopsSyncArgs),
    /// Show what a sync would change, object by object (exit 1 when something would).
    Diff(GitopsDiffArgs),
    /// Each application's synced commit, last result, owned objects and drift.
    Status(GitopsStatusArgs),
    /// An application's recorded syncs (and drift events), newest first.
    History(GitopsHistoryArgs),
    /// Sync an earlier commit and pin the application there until the next `gitops sync`.
    Rollback(GitopsRollbackArgs),
    /// Print the Deployment, ServiceAccount, least-privilege RBAC and CRD that run the agent in
    /// a cluster.
    Manifest(GitopsManifestArgs),
}

/// Cluster, state and policy options shared by the `gitops` commands.
#[derive(Debug, Args)]
pub struct GitopsCommon {
    /// Application files or directories (`shipgate.gitops/v1`, repeatable).
    #[arg(long, value_name = "FILE|DIR")]
    pub apps: Vec<PathBuf>,

    /// Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// Kubeconfig context (default: the current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,

    /// Namespace of the agent's state (history, inventory, Lease) and default namespace of
    /// credential Secrets.
    #[arg(long, default_value = "shipgate-system", value_name = "NS")]
    pub state_namespace: String,

    /// Git clone cache (default: the shipgate cache directory + /gitops).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Gatekeeper ConstraintTemplates and Constraints for the policy gate (file or directory,
    /// repeatable), added to the built-in rules.
    #[arg(long, value_name = "FILE|DIR")]
    pub policy: Vec<PathBuf>,

    /// Do not run the built-in rules in the policy gate (only the Gatekeeper policies).
    #[arg(long)]
    pub no_builtin: bool,

    /// Configuration file (the `config:` section selects the built-in rules).
    #[arg(long, value_name = "FILE", env = env::SHIPGATE_CONFIG)]
    pub config: Option<PathBuf>,

    /// Objects applied at the same time.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub concurrency: usize,
}

/// Output format of the `gitops` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GitopsFormat {
    /// Human-readable.
    Table,
    /// JSON.
    Json,
}

/// `shipgate gitops run`
#[derive(Debug, Args)]
pub struct GitopsRunArgs {
    /// Shared options.
    #[command(flatten)]
    pub common: GitopsCommon,

    /// Also manage `Application` custom resources (gitops.shipgate.dev/v1) in this namespace.
    #[arg(long, value_name = "NS")]
    pub crd_namespace: Option<String>,

    /// Take part in leader election through a Lease in the state namespace, so that only one
    /// of several replicas acts.
    #[arg(long)]
    pub leader_elect: bool,

    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: std::net::SocketAddr,

    /// Applications synced at the same time.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub max_parallel_syncs: usize,

    /// Event lines on stderr: text or json.
    #[arg(long, default_value = "text", value_name = "text|json")]
    pub log_format: String,

    /// Record in the store.
    #[command(flatten)]
    pub record: StoreRecordArgs,
}

/// `shipgate gitops sync`
#[derive(Debug, Args)]
pub struct GitopsSyncArgs {
    /// The application.
    #[arg(value_name = "APP")]
    pub app: String,

    /// Shared options.
    #[command(flatten)]
    pub common: GitopsCommon,

    /// Sync this revision (branch, tag or commit) instead of the application's.
    #[arg(long, value_name = "REV")]
    pub revision: Option<String>,

    /// Delete owned objects that left Git even if the application does not prune.
    #[arg(long)]
    pub prune: bool,

    /// Render, gate and diff against the cluster without changing it.
    #[arg(long)]
    pub dry_run: bool,

    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: GitopsFormat,

    /// Record in the store.
    #[command(flatten)]
    pub record: StoreRecordArgs,
}

/// `shipgate gitops diff`
#[derive(Debug, Args)]
pub struct GitopsDiffArgs {
    /// The application.
    #[arg(value_name = "APP")]
    pub app: String,

    /// Shared options.
    #[command(flatten)]
    pub common: GitopsCommon,

    /// Diff this revision instead of the application's.
    #[arg(long, value_name = "REV")]
    pub revision: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: GitopsFormat,
}

/// `shipgate gitops status`
#[derive(Debug, Args)]
pub struct GitopsStatusArgs {
    /// Only these applications (default: every application in --apps).
    #[arg(value_name = "APP")]
    pub names: Vec<String>,

    /// Shared options.
    #[command(flatten)]
    pub common: GitopsCommon,

    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: GitopsFormat,
}

/// `shipgate gitops history`
#[derive(Debug, Args)]
pub struct GitopsHistoryArgs {
    /// The application.
    #[arg(value_name = "APP")]
    pub app: String,

    /// Shared options.
    #[command(flatten)]
    pub common: GitopsCommon,

    /// Also list drift events.
    #[arg(long)]
    pub drift: bool,

    /// Most records shown.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub limit: usize,

    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: GitopsFormat,
}

/// `shipgate gitops rollback`
#[derive(Debug, Args)]
pub struct GitopsRollbackArgs {
    /// The application.
    #[arg(value_name = "APP")]
    pub app: String,

    /// Shared options.
    #[command(flatten)]
    pub common: GitopsCommon,

    /// The commit (or revision) to go back to. Default: the commit of the last successful
    /// sync before the current one.
    #[arg(long, value_name = "REV")]
    pub to: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: GitopsFormat,

    /// Record in the store.
    #[command(flatten)]
    pub record: StoreRecordArgs,
}

/// `shipgate gitops manifest`
#[derive(Debug, Args)]
pub struct GitopsManifestArgs {
    /// The shipgate image to run (pin a digest).
    #[arg(long, value_name = "IMAGE")]
    pub image: String,

    /// Namespace of the agent and its state.
    #[arg(long, default_value = "shipgate-system", value_name = "NS")]
    pub namespace: String,

    /// Application files to ship in the agent's ConfigMap (repeatable).
    #[arg(long, value_name = "FILE|DIR")]
    pub apps: Vec<PathBuf>,

    /// Kinds the applications deploy, as `PLURAL.GROUP` (`deployments.apps`; `configmaps` for
    /// the core group; repeatable). Default: common workload, config and networking kinds.
    #[arg(long = "resource", value_name = "PLURAL.GROUP")]
    pub resources: Vec<String>,

    /// Credential Secrets (in the agent's namespace) the agent may read (repeatable).
    #[arg(long = "secret", value_name = "NAME")]
    pub secrets: Vec<String>,

    /// Let the agent create namespaces (for `createNamespace: true`).
    #[arg(long)]
    pub create_namespaces: bool,

    /// Replicas (one leads, the others stand by).
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub replicas: u32,
}

/// Kind of the file `promote` edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PromoteKind {
    /// Kubernetes manifests: `image:` of containers, initContainers, ephemeralContainers.
    Manifest,
    /// A kustomization file: the `images:` entry.
    Kustomization,
    /// Helm values: `repository:` mappings or `image:` strings.
    Helm,
}

/// `shipgate promote`
#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The manifests repository (https://, ssh://, file://, or any URL git understands).
    #[arg(long, value_name = "URL")]
    pub repo: String,

    /// The file to edit, relative to the repository root.
    #[arg(long, value_name = "FILE")]
    pub path: String,

    /// The image to pin: NAME@sha256:<64 hex>, NAME without a tag.
    #[arg(long, value_name = "NAME@sha256:DIGEST")]
    pub image: String,

    /// The branch to update (and to start the review branch from).
    #[arg(long, default_value = "main", value_name = "BRANCH")]
    pub branch: String,

    /// Push the commit to this new branch instead, for a pull request (it must not exist).
    #[arg(long, value_name = "BRANCH")]
    pub review_branch: Option<String>,

    /// The commit the image was built from (Shipgate-Source-Commit trailer).
    #[arg(long, value_name = "SHA")]
    pub source_commit: Option<String>,

    /// The pipeline run that produced the image (Shipgate-Pipeline-Run trailer).
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,

    /// Sign the commit with this SSH private key (gpg.format=ssh).
    #[arg(long, value_name = "SSH_KEY_FILE")]
    pub sign_key: Option<PathBuf>,

    /// Author and committer, "Name <email>" (default: shipgate <shipgate@localhost>).
    #[arg(long, value_name = "NAME <EMAIL>")]
    pub author: Option<String>,

    /// File kind (default: detected from the file name and contents).
    #[arg(long, value_enum)]
    pub kind: Option<PromoteKind>,

    /// Keep the tag: write NAME:tag@sha256:... and keep a kustomize newTag.
    #[arg(long)]
    pub keep_tag: bool,

    /// Helm values: the dotted path of the image value (`image`, `backend.image`) instead of
    /// searching for `repository: NAME`.
    #[arg(long, value_name = "KEY")]
    pub helm_key: Option<String>,

    /// Repository credentials: a YAML file with `username` and `password`, or
    /// `sshPrivateKey` (and `sshKnownHosts`).
    #[arg(long, value_name = "FILE", env = env::SHIPGATE_GIT_CREDENTIALS)]
    pub credentials: Option<PathBuf>,

    /// Push attempts when other pushes land first (non-fast-forward).
    #[arg(long, default_value_t = 10, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_attempts: u32,

    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: GitopsFormat,
}
