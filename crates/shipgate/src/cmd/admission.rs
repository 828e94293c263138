//! `shipgate admission serve | manifest | audit`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use shipgate_admission::audit::{AuditOptions, audit};
use shipgate_admission::manifest::{ClientMode, ManifestOptions, render};
use shipgate_admission::policy::{Exemptions, PolicyLoader};
use shipgate_admission::policyset::PolicySetLoader;
use shipgate_admission::{FailureMode, Server, ServerConfig};
use shipgate_report::{ScanError, ScanOutput};

use crate::cli::{AdmissionAuditArgs, AdmissionCommand, AdmissionManifestArgs, AdmissionServeArgs};
use crate::output::{ScanContext, finish};
use crate::settings;

/// Run an `admission` subcommand.
pub fn run(cmd: AdmissionCommand) -> anyhow::Result<i32> {
    match cmd {
        AdmissionCommand::Serve(a) => serve(a),
        AdmissionCommand::Manifest(a) => manifest(a),
        AdmissionCommand::Audit(a) => run_audit(a),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Configuration must be valid before a port is bound: a webhook that starts on a broken
/// configuration would enforce something nobody wrote.
fn load_config(explicit: Option<&std::path::Path>) -> anyhow::Result<settings::LoadedConfig> {
    let cwd = PathBuf::from(".");
    let cfg = settings::load(settings::discover(explicit, &cwd));
    if let Some(e) = cfg.errors.first() {
        anyhow::bail!("{e}");
    }
    Ok(cfg)
}

fn serve(a: AdmissionServeArgs) -> anyhow::Result<i32> {
    let cfg = load_config(a.config.as_deref())?;
    let mut config = ServerConfig::new(a.listen, a.tls_cert.clone(), a.tls_key.clone());
    config.client_ca = a.client_ca.clone();
    config.failure_mode = a
        .failure_mode
        .parse::<FailureMode>()
        .map_err(|e| anyhow::anyhow!("--failure-mode: {e}"))?;
    let mut namespaces: BTreeSet<String> = if a.exempt_namespaces.is_empty() {
        ["kube-system".to_string()].into_iter().collect()
    } else {
        a.exempt_namespaces.iter().cloned().collect()
    };
    namespaces.insert(a.namespace.clone());
    config.exemptions = Exemptions {
        namespaces,
        users: a.exempt_users.iter().cloned().collect(),
        groups: a.exempt_groups.iter().cloned().collect(),
    };
    let paths = cfg.policy_paths(&a.policy);
    let policies = PolicySetLoader {
        paths,
        settings: (!a.no_builtin).then(|| cfg.file.config.clone()),
    };
    // Image requirements (signatures, scan attestations) load before the port is bound too.
    let loader: Arc<dyn PolicyLoader> = match &a.image_policy {
        None => Arc::new(policies),
        Some(file) => {
            let images = shipgate_admission::images::ImagePolicy::load(file)
                .map_err(|e| anyhow::anyhow!("--image-policy: {e}"))?;
            Arc::new(shipgate_admission::images::ImageGateLoader::new(
                policies,
                Arc::new(images),
            ))
        }
    };
    let recorder = if a.record.store {
        let r = super::recorder::Recorder::start(&a.record.database, "shipgate admission")?;
        let h = r.sender();
        config.decision_sink = Some(shipgate_admission::decisions::SharedSink(Arc::new(
            move |d: shipgate_admission::decisions::DecisionRecord| {
                let time = super::recorder::time_or_now(&d.time);
                if let Ok(body) = serde_json::to_value(&d) {
                    h.event("admission", time, body);
                }
            },
        )));
        Some(r)
    } else {
        None
    };
    let rt = runtime()?;
    rt.block_on(async move {
        let server = Server::bind(config, loader)
            .await
            .context("cannot start the webhook")?;
        eprintln!(
            "shipgate admission: serving https://{}/validate",
            server.local_addr()?
        );
        server
            .run(super::shutdown_signal())
            .await
            .context("webhook failed")?;
        eprintln!("shipgate admission: stopped");
        anyhow::Ok(())
    })?;
    let lost = recorder.map_or(0, super::recorder::Recorder::close);
    if lost > 0 {
        eprintln!("shipgate admission: {lost} decision(s) could not be recorded in the store");
        return Ok(2);
    }
    Ok(0)
}

fn manifest(a: AdmissionManifestArgs) -> anyhow::Result<i32> {
    let ca = std::fs::read_to_string(&a.ca_cert)
        .with_context(|| format!("cannot read {}", a.ca_cert.display()))?;
    let mode = match (&a.url, &a.image) {
        (Some(url), None) => ClientMode::Url(url.clone()),
        (None, Some(image)) => ClientMode::Service {
            image: image.clone(),
            tls_secret: a.tls_secret.clone(),
            policy_configmap: a.policy_configmap.clone(),
        },
        _ => anyhow::bail!("give either --url (out of cluster) or --image (in cluster)"),
    };
    let mut o = ManifestOptions::new(ca, mode);
    o.namespace = a.namespace.clone();
    o.failure_policy = a.failure_policy.clone();
    o.timeout_seconds = a.timeout_seconds;
    print!("{}", render(&o)?);
    Ok(0)
}

fn run_audit(a: AdmissionAuditArgs) -> anyhow::Result<i32> {
    let cwd = PathBuf::from(".");
    let ctx = ScanContext::new(&a.report, &cwd);
    let mut errors = Vec::new();
    let paths = ctx.config.policy_paths(&a.policy);
    let loader = PolicySetLoader {
        paths,
        settings: Some(ctx.config.file.config.clone()),
    };
    let mut out = ScanOutput::default();
    match loader.load() {
        Err(e) => errors.push(ScanError::new(format!("policies: {e}"))),
        Ok(evaluator) => {
            let mut opts = AuditOptions::default();
            opts.scope.namespaces = a.namespaces.clone();
            let rt = runtime()?;
            let result = rt.block_on(async {
                let client = shipgate_kube::client(&shipgate_kube::ClientOptions {
                    kubeconfig: a.kubeconfig.as_deref(),
                    context: a.context.as_deref(),
                    allow_insecure_tls: false,
                })
                .await
                .map_err(|e| e.to_string())?;
                audit(&client, evaluator.as_ref(), &opts)
                    .await
                    .map_err(|e| e.to_string())
            });
            match result {
                Ok(outcome) => out = outcome.into_scan_output(),
                Err(e) => errors.push(ScanError::new(format!("cannot audit the cluster: {e}"))),
            }
        }
    }
    out.errors.splice(0..0, errors);
    finish("config", "cluster", &a.report, ctx, out)
}
