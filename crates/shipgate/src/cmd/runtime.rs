//! `shipgate runtime watch`: read (or follow) a kube-apiserver audit log, evaluate the
//! runtime rules with `runtime:` of shipgate.yaml, and report the alerts.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use shipgate_report::{ScanError, ScanOutput};
use shipgate_runtime::{Follower, Rules, RuntimeSettings, read_log};

use crate::cli::{RuntimeCommand, RuntimeWatchArgs};
use crate::output::{ScanContext, finish};
use crate::settings;

/// How often `--follow` looks for new lines.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Run a `runtime` subcommand.
pub fn run(cmd: RuntimeCommand) -> anyhow::Result<i32> {
    match cmd {
        RuntimeCommand::Watch(a) => watch(a),
    }
}

/// `--since`: an RFC 3339 timestamp, or a duration before now.
fn parse_since(s: &str) -> anyhow::Result<jiff::Timestamp> {
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t);
    }
    let d = settings::parse_duration(s).map_err(|e| {
        anyhow::anyhow!("--since: {e}; or give an RFC 3339 time like 2026-12-07T10:00:00Z")
    })?;
    let secs = i64::try_from(d.as_secs()).context("--since: duration too large")?;
    jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_secs(secs))
        .context("--since: duration too large")
}

fn watch(a: RuntimeWatchArgs) -> anyhow::Result<i32> {
    let since = a.since.as_deref().map(parse_since).transpose()?;
    let mut ctx = ScanContext::new(&a.report, Path::new("."));
    // --store records the alerts as events, not the report.
    ctx.store_report = false;
    let config_file = ctx
        .config
        .path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| settings::CONFIG_FILE_NAME.to_string());
    let mut errors = Vec::new();
    let rules = match Rules::new(&ctx.config.file.runtime) {
        Ok(r) => r,
        Err(e) => {
            // Fail closed, but still report what the default rules see.
            errors.push(ScanError::at(config_file, None, None, e.to_string()));
            Rules::new(&RuntimeSettings::default())?
        }
    };
    if a.follow && a.report.store {
        anyhow::bail!("--store records one-shot reads only; it does not apply with --follow");
    }
    if a.follow {
        if let Some(e) = ctx.config.errors.first().or(errors.first()) {
            anyhow::bail!("{e}");
        }
        return follow(&a.audit_log, &rules, since, a.from_start);
    }
    let mut output = ScanOutput::default();
    match read_log(&a.audit_log, &rules, since) {
        Ok(out) => {
            if a.report.store {
                // Record before reporting, so that a store failure fails the gate closed.
                if let Err(e) = record_alerts(&a.report.database, &out.alerts) {
                    errors.push(ScanError::new(format!(
                        "recording alerts in the store: {e:#}"
                    )));
                }
            }
            output.findings = out.alerts.iter().map(|al| al.to_finding()).collect();
            errors.extend(out.errors.into_iter().map(|e| {
                ScanError::at(
                    e.file,
                    Some(u32::try_from(e.line).unwrap_or(u32::MAX)),
                    None,
                    e.message,
                )
            }));
            output.notes = out.notes;
            output
                .notes
                .push(format!("{} audit event(s) evaluated", out.events));
        }
        Err(e) => errors.push(ScanError::new(e.to_string())),
    }
    output.errors = errors;
    let target = a.audit_log.display().to_string();
    finish("runtime", &target, &a.report, ctx, output)
}

/// Each alert becomes a `runtime-alert` event at the audit event's time (now when absent).
fn record_alerts(
    db: &crate::cli::DatabaseArgs,
    alerts: &[shipgate_runtime::Alert],
) -> anyhow::Result<()> {
    let mut store = super::store::open(db)?;
    for al in alerts {
        let time = al
            .timestamp
            .as_deref()
            .and_then(|t| shipgate_store::parse_time(t).ok())
            .unwrap_or_else(jiff::Timestamp::now);
        store.insert_event("runtime-alert", time, &serde_json::to_value(al)?)?;
    }
    Ok(())
}

/// Print alerts as JSON lines until interrupted; line errors go to stderr. Only an I/O
/// failure on the log or on stdout ends it (exit 2).
fn follow(
    path: &Path,
    rules: &Rules,
    since: Option<jiff::Timestamp>,
    from_start: bool,
) -> anyhow::Result<i32> {
    let mut follower = Follower::new(path, since, from_start);
    let mut failed: Option<std::io::Error> = None;
    loop {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        follower.poll(
            rules,
            &mut |alert| {
                if failed.is_none() {
                    let res = serde_json::to_writer(&mut out, &alert)
                        .map_err(std::io::Error::other)
                        .and_then(|()| out.write_all(b"\n"))
                        .and_then(|()| out.flush());
                    if let Err(e) = res {
                        failed = Some(e);
                    }
                }
            },
            &mut |e| eprintln!("error: {e}"),
        )?;
        drop(out);
        if let Some(e) = failed.take() {
            return Err(e).context("cannot write alerts to standard output");
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}
