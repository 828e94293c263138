use std::io::Write;

use crate::{Report, ReportError, Severity};

/// How the human table is drawn.
#[derive(Debug, Clone, Copy, Default)]
pub struct TableOptions {
    /// ANSI colours (the caller decides: a terminal, and `NO_COLOR` unset).
    pub color: bool,
    /// Also list suppressed findings (otherwise only counted).
    pub show_suppressed: bool,
    /// List errors and notes in the table (the CLI prints them on stderr anyway; a file
    /// needs them).
    pub list_errors: bool,
}

fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn severity_code(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "1;31",
        Severity::High => "31",
        Severity::Medium => "33",
        Severity::Low => "36",
        Severity::Info => "2",
    }
}

/// Write the report as a table for humans: one line per finding, then errors, notes and the
/// gate decision.
pub fn write_table(
    report: &Report,
    mut w: impl Write,
    opts: TableOptions,
) -> Result<(), ReportError> {
    let rows: Vec<_> = report
        .findings
        .iter()
        .filter(|f| opts.show_suppressed || f.is_active())
        .collect();
    if !rows.is_empty() {
        let sev_w = 8;
        let rule_w = rows
            .iter()
            .map(|f| f.rule_id.len())
            .max()
            .unwrap_or(4)
            .clamp(4, 40);
        let locs: Vec<String> = rows.iter().map(|f| f.location.display_short()).collect();
        let loc_w = locs
            .iter()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(8)
            .clamp(8, 60);
        writeln!(
            w,
            "{:<sev_w$}  {:<rule_w$}  {:<loc_w$}  MESSAGE",
            "SEVERITY", "RULE", "LOCATION"
        )?;
        for (f, loc) in rows.iter().zip(&locs) {
            let sev = format!("{:<sev_w$}", f.severity.as_str().to_ascii_uppercase());
            let mut msg = f.message.replace('\n', " ");
            if let Some(s) = &f.suppressed {
                msg = format!("[suppressed: {}] {msg}", s.reason);
            }
            writeln!(
                w,
                "{}  {:<rule_w$}  {:<loc_w$}  {}",
                paint(opts.color, severity_code(f.severity), &sev),
                f.rule_id,
                loc,
                msg
            )?;
        }
        writeln!(w)?;
    }
    for e in report.errors.iter().filter(|_| opts.list_errors) {
        writeln!(w, "{} {e}", paint(opts.color, "1;31", "error:"))?;
    }
    for n in report.notes.iter().filter(|_| opts.list_errors) {
        writeln!(w, "{} {n}", paint(opts.color, "2", "note:"))?;
    }
    let s = &report.summary;
    let mut parts = Vec::new();
    for sev in Severity::ALL_DESCENDING {
        let n = s.of(sev);
        if n > 0 {
            parts.push(format!("{n} {sev}"));
        }
    }
    let active = s.active();
    let mut line = format!("{active} finding{}", if active == 1 { "" } else { "s" });
    if !parts.is_empty() {
        line.push_str(&format!(" ({})", parts.join(", ")));
    }
    if s.suppressed > 0 {
        line.push_str(&format!(", {} suppressed", s.suppressed));
    }
    if !report.errors.is_empty() {
        line.push_str(&format!(
            ", {} error{}",
            report.errors.len(),
            if report.errors.len() == 1 { "" } else { "s" }
        ));
    }
    let verdict = if report.gate.passed {
        paint(opts.color, "32", "PASSED")
    } else {
        paint(opts.color, "1;31", "FAILED")
    };
    writeln!(
        w,
        "{line}; gate {verdict} (fail-on {})",
        report.gate.fail_on
    )?;
    Ok(())
}
