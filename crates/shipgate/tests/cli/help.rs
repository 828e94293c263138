//! `--help` of every command and subcommand, snapshotted: the CLI surface is a contract.

use clap::CommandFactory;
use shipgate::cli::Cli;

use crate::kit::run_in;

fn command_paths(cmd: &clap::Command, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(prefix.clone());
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        let mut p = prefix.clone();
        p.push(sub.get_name().to_string());
        command_paths(sub, p, out);
    }
}

#[test]
fn help_of_every_command() {
    let mut paths = Vec::new();
    command_paths(&Cli::command(), Vec::new(), &mut paths);
    assert!(paths.len() >= 3, "expected subcommands, got {paths:?}");
    let cwd = std::env::temp_dir();
    for path in paths {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let run = run_in(&cwd, &args);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        let name = if path.is_empty() {
            "shipgate".to_string()
        } else {
            format!("shipgate-{}", path.join("-"))
        };
        insta::assert_snapshot!(name, run.snapshot(None));
    }
}

#[test]
fn clap_definition_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn usage_error_exits_2() {
    let run = run_in(
        &std::env::temp_dir(),
        &["scan", "all", "--fail-on", "severe"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("unknown severity"), "{}", run.stderr);
    let run = run_in(&std::env::temp_dir(), &["no-such-command"]);
    assert_eq!(run.code, 2);
}
