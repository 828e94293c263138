//! One module per command family; each turns parsed flags into a library call.

mod scan_all;

use crate::cli::{Cli, Command, ScanCommand};

/// Run the parsed command; `Err` is a setup failure reported as exit code 2.
pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Scan(ScanCommand::All(args)) => scan_all::run(args),
    }
}
