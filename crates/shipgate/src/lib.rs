//! The `shipgate` command line: argument parsing, settings resolution, rendering and exit codes.
//!
//! This crate is deliberately thin. Each command parses its flags, resolves settings (defaults <
//! `shipgate.yaml` < environment < flags), calls one library function of a scanner crate, and
//! hands the scanner's output to [`output::finish`], which builds the report, writes it and
//! maps it to the exit code: 0 gate passed, 1 gate failed, 2 error.
//!
//! It contains no scanning logic: rules, parsers and matchers live in the `shipgate-*` crates.

pub mod cli;
mod cmd;
pub mod env;
pub mod output;
pub mod settings;

use clap::Parser;

/// Run shipgate with these arguments (the first is the program name); returns the exit code.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            // --help and --version are not errors; usage errors exit 2.
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match cmd::dispatch(cli) {
        Ok(code) => code,
        Err(e) => output::setup_error(&e),
    }
}
