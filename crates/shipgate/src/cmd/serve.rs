//! `shipgate serve`: the dashboard over the store.

use std::time::Duration;

use anyhow::Context;
use shipgate_server::{Server, ServerConfig};

use crate::cli::ServeArgs;

/// Opens the store, reads the token and certificate, binds, then serves until a signal.
pub fn run(a: ServeArgs) -> anyhow::Result<i32> {
    let database = super::store::location_created(&a.database)?;
    let name = database.display_name();
    let mut config = ServerConfig::new(a.listen, database);
    config.token_file = a.token_file.clone();
    config.tls = a.tls_cert.clone().zip(a.tls_key.clone());
    config.snapshot_interval = Duration::from_secs(a.refresh_interval);
    let tls = config.tls.is_some();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let server = Server::bind(config).await?;
        let addr = server.local_addr()?;
        if !tls && !addr.ip().is_loopback() {
            eprintln!(
                "warning: serving plain HTTP on {addr}, which is not a loopback address; reads are unauthenticated"
            );
        }
        eprintln!(
            "shipgate serve: {}://{addr}/ (database {}; ingest {})",
            if tls { "https" } else { "http" },
            name,
            if server.ingest_enabled() {
                "enabled with the bearer token"
            } else {
                "disabled: read-only"
            }
        );
        server.run(super::shutdown_signal()).await?;
        eprintln!("shipgate serve: stopped");
        anyhow::Ok(())
    })?;
    Ok(0)
}
