//! From scanner output to report, report to sink, and report to exit code.
//!
//! Every scan command ends here: [`finish`] resolves the gate threshold and suppressions,
//! builds the [`Report`], writes it where asked, prints errors on standard error and returns
//! the exit code.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use shipgate_report::writers::{TableOptions, write_json, write_sarif, write_table};
use shipgate_report::{Baseline, ExitCode, FailOn, Report, ScanError, ScanOutput, Suppressions};

use crate::cli::{Format, ReportArgs};
use crate::env;
use crate::settings::{self, LoadedConfig};

/// Everything a scan needs to know before it starts: configuration and where it came from.
pub struct ScanContext {
    /// The loaded configuration (with its errors, which go into the report).
    pub config: LoadedConfig,
    /// Whether `--store` records the report (commands that record something else, such as
    /// `runtime watch` with its alerts, turn it off).
    pub store_report: bool,
}

impl ScanContext {
    /// Discover and load the configuration for a scan of `root`.
    pub fn new(args: &ReportArgs, root: &Path) -> ScanContext {
        let path = settings::discover(args.config.as_deref(), root);
        ScanContext {
            config: settings::load(path),
            store_report: true,
        }
    }

    /// The directory of the configuration file: paths written in it are relative to it
    /// (empty when there is no file, i.e. the working directory).
    pub fn config_dir(&self) -> PathBuf {
        self.config
            .path
            .as_ref()
            .and_then(|p| p.parent())
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }
}

/// Today's date in UTC, for `expires:` checks.
fn today() -> jiff::civil::Date {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
}

/// Build the report, write it, and return the exit code.
pub fn finish(
    scanner: &str,
    target: &str,
    args: &ReportArgs,
    ctx: ScanContext,
    mut output: ScanOutput,
) -> anyhow::Result<i32> {
    let fail_on: FailOn = args.fail_on.or(ctx.config.file.fail_on).unwrap_or_default();
    // Configuration problems fail the gate closed and are reported first.
    let mut errors: Vec<ScanError> = ctx.config.errors;
    let mut suppressions = match Suppressions::new(&ctx.config.file.ignore, today()) {
        Ok(s) => s,
        Err(errs) => {
            let file = ctx
                .config
                .path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| settings::CONFIG_FILE_NAME.to_string());
            errors.extend(
                errs.into_iter()
                    .map(|e| ScanError::at(file.clone(), None, None, e.to_string())),
            );
            Suppressions::default()
        }
    };
    let baseline_path = args.baseline.clone().or_else(|| {
        let rel = ctx.config.file.baseline.as_ref()?;
        let base = ctx.config.path.as_ref()?.parent()?;
        Some(base.join(rel))
    });
    if let Some(bp) = &baseline_path {
        match Baseline::load(bp) {
            Ok(b) => suppressions = suppressions.with_baseline(&b, bp.display().to_string()),
            Err(e) => errors.push(ScanError::at(
                bp.display().to_string(),
                None,
                None,
                e.to_string(),
            )),
        }
    }
    errors.append(&mut output.errors);
    output.errors = errors;

    let report = Report::build(
        scanner,
        target,
        env!("CARGO_PKG_VERSION"),
        output,
        &suppressions,
        fail_on,
    );

    if let Some(path) = &args.write_baseline {
        let b = Baseline::from_findings(&report.findings);
        let mut buf = Vec::new();
        b.write(&mut buf)?;
        write_atomically(path, &buf)
            .with_context(|| format!("cannot write baseline {}", path.display()))?;
        if !args.quiet {
            eprintln!(
                "wrote baseline of {} finding(s) to {}",
                b.findings.len(),
                path.display()
            );
        }
    }

    let mut report = report;
    if args.store && ctx.store_report {
        // Recorded as built; a failure to record is an error of this run (exit 2).
        if let Err(e) = store_report(&report, args) {
            report.errors.push(ScanError::new(format!(
                "recording the report in the store: {e:#}"
            )));
        }
    }

    for e in &report.errors {
        eprintln!("error: {e}");
    }
    if !args.quiet {
        for n in &report.notes {
            eprintln!("note: {n}");
        }
    }
    render(&report, args)?;
    Ok(report.exit_code() as i32)
}

/// `--store`: the report goes into the store as a scan report made now.
fn store_report(report: &Report, args: &ReportArgs) -> anyhow::Result<()> {
    let value = serde_json::to_value(report)?;
    let mut store = crate::cmd::open_store(&args.database)?;
    store.insert_report(report, &value, jiff::Timestamp::now())?;
    Ok(())
}

/// Write the report in the requested format to `--output` or standard output.
pub fn render(report: &Report, args: &ReportArgs) -> anyhow::Result<()> {
    match &args.output {
        Some(path) => {
            let mut buf = Vec::new();
            write_format(report, args, &mut buf, false, true)?;
            write_atomically(path, &buf)
                .with_context(|| format!("cannot write report to {}", path.display()))?;
        }
        None => {
            let stdout = std::io::stdout();
            let color = stdout.is_terminal()
                && std::env::var_os(env::NO_COLOR).is_none_or(|v| v.is_empty());
            let mut lock = stdout.lock();
            write_format(report, args, &mut lock, color, false)?;
            lock.flush()?;
        }
    }
    Ok(())
}

fn write_format(
    report: &Report,
    args: &ReportArgs,
    w: &mut dyn Write,
    color: bool,
    to_file: bool,
) -> anyhow::Result<()> {
    match args.format {
        Format::Table => write_table(
            report,
            w,
            TableOptions {
                color,
                show_suppressed: args.show_suppressed,
                // Errors already go to stderr; a file gets them too so it stands alone.
                list_errors: to_file,
            },
        )?,
        Format::Json => write_json(report, w)?,
        Format::Sarif => write_sarif(report, w)?,
    }
    Ok(())
}

/// Write a file through a temporary sibling and a rename, so readers never see half a file.
/// A path that exists and is not a regular file (`/dev/null`, `/dev/stdout`, a FIFO) is
/// written in place: renaming over it would replace the device with a file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return std::fs::write(path, bytes);
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// Map a setup failure (before any report exists) to exit code 2.
pub fn setup_error(e: &anyhow::Error) -> i32 {
    eprintln!("error: {e:#}");
    ExitCode::Error as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--output /dev/null` must write to the device, not rename a file over it.
    #[cfg(unix)]
    #[test]
    fn devices_are_written_in_place() {
        use std::os::unix::fs::FileTypeExt;
        write_atomically(Path::new("/dev/null"), b"{}").unwrap();
        let m = std::fs::metadata("/dev/null").unwrap();
        assert!(
            m.file_type().is_char_device(),
            "/dev/null is no longer a device"
        );
    }

    #[test]
    fn regular_files_are_replaced_whole() {
        let dir = std::env::temp_dir().join(format!("sg-out-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("r.json");
        std::fs::write(&p, b"old and longer").unwrap();
        write_atomically(&p, b"new").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
