use std::io::Write;

use crate::{Report, ReportError};

/// Write the report as pretty JSON (`shipgate.report/v1`), newline-terminated.
pub fn write_json(report: &Report, mut w: impl Write) -> Result<(), ReportError> {
    serde_json::to_writer_pretty(&mut w, report)?;
    w.write_all(b"\n")?;
    Ok(())
}
