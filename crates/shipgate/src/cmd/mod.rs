//! One module per command family; each turns parsed flags into a library call.

mod admission;
mod audit;
mod db;
mod deps;
mod gitops;
mod hook;
mod image;
mod pipeline;
mod policy;
mod promote;
mod recorder;
mod runtime;
mod sast;
mod sbom;
mod scan_all;
mod secrets;
mod serve;
mod sign;
mod store;

pub use store::open as open_store;

use crate::cli::{Cli, Command, HookCommand, KeyCommand, ScanCommand};

/// Run the parsed command; `Err` is a setup failure reported as exit code 2.
pub fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Scan(ScanCommand::All(args)) => scan_all::run(args),
        Command::Scan(ScanCommand::Deps(args)) => deps::run(args),
        Command::Scan(ScanCommand::Image(args)) => image::run(args),
        Command::Scan(ScanCommand::Config(args)) => policy::scan(args),
        Command::Policy(cmd) => policy::run(cmd),
        Command::Admission(cmd) => admission::run(cmd),
        Command::Gitops(cmd) => gitops::run(cmd),
        Command::Db(cmd) => db::run(cmd),
        Command::Promote(args) => promote::run(args),
        Command::Sbom(args) => sbom::run(args),
        Command::Scan(ScanCommand::Secrets(args)) => secrets::run(args),
        Command::Scan(ScanCommand::Sast(args)) => sast::run(args),
        Command::Hook(HookCommand::Install(args)) => hook::install(args),
        Command::Hook(HookCommand::Run(args)) => hook::run(*args),
        Command::Pipeline(cmd) => pipeline::run(cmd),
        Command::Runtime(cmd) => runtime::run(cmd),
        Command::Store(cmd) => store::run(cmd),
        Command::Audit(cmd) => store::audit(cmd),
        Command::Report(args) => store::report(args),
        Command::Serve(args) => serve::run(args),
        Command::Key(KeyCommand::Generate(args)) => sign::generate(args),
        Command::Sign(args) => sign::sign(args),
        Command::Verify(args) => sign::verify(args),
        Command::Attest(args) => sign::attest(args),
        Command::VerifyAttestation(args) => sign::verify_attestation(args),
    }
}

/// Resolves on SIGTERM or Ctrl-C (what Kubernetes sends to stop a pod): the long-running
/// commands (`serve`, `admission serve`, `gitops run`) stop gracefully on it.
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        () = term => {},
    }
}
