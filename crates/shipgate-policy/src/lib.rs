//! Kubernetes manifest policy for shipgate.
//!
//! What it does:
//! - loads Kubernetes objects from YAML/JSON files, directories and stdin (multi-document
//!   streams, `kind: List`, Helm output), reading scalars the way the API server does and keeping
//!   the line and column of every field ([`load`], [`yaml`]);
//! - runs built-in rules (Pod Security Standards baseline/restricted and good practice), one
//!   rule per file under `rules/`, selected by [`PolicySettings`] profiles, with per-object
//!   exemptions by the `shipgate.dev/ignore` annotation ([`builtin`]);
//! - evaluates Gatekeeper ConstraintTemplates (Rego through `regorus`, CEL
//!   `K8sNativeValidation` through `kube-cel`) and Constraints with Gatekeeper's match, input and
//!   `data.inventory` semantics ([`gatekeeper`], [`PolicySet`]);
//! - runs `gator verify` suites ([`suite`]);
//! - evaluates one AdmissionReview request for the admission webhook
//!   ([`PolicySet::review_request`]).
//!
//! What it deliberately does not do: it never talks to a cluster (no defaulting, no lookup of
//! live objects: the inventory is what the caller passes), never prints, and does not mutate
//! objects (Gatekeeper mutation is out of scope). Gatekeeper `external_data` is not available
//! to templates.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod builtin;
pub mod error;
pub mod gatekeeper;
pub mod kinds;
pub mod load;
pub mod object;
pub mod podspec;
pub mod policyset;
pub mod rules;
pub mod settings;
pub mod suite;
pub mod yaml;

pub use error::PolicyError;
pub use gatekeeper::{EnforcementAction, Inventory};
pub use load::{Loaded, load_bytes, load_paths, load_str};
pub use object::K8sObject;
pub use policyset::{PolicySet, ScanResult, Violation, scan_config};
pub use settings::{PolicySettings, Profile};
pub use shipgate_report::Severity;
pub use suite::{VerifyReport, verify};

/// Fuzz entry point: load arbitrary bytes as manifests and run every built-in rule on what
/// loads. Must never panic.
pub fn fuzz_load(data: &[u8]) {
    let loaded = load::load_bytes(data, "fuzz.yaml");
    if let Ok(rules) = (PolicySettings {
        enable: rules::all().iter().map(|r| r.meta.id.to_string()).collect(),
        ..PolicySettings::default()
    })
    .resolve()
    {
        let mut set = PolicySet::new();
        set.set_builtin(rules);
        let _ = set.scan(&loaded.objects);
    }
}
