//! Image requirements: for images matching configured patterns, a valid cosign signature from
//! given public keys and, optionally, a signed shipgate scan-report attestation with no
//! finding at or above a severity threshold.
//!
//! Expected flow: [`ImagePolicy::load`] reads the policy file and the public keys before the
//! server starts; [`ImageGate`] wraps the policy [`Evaluator`] (and [`ImageGateLoader`] the
//! loader, so policy hot reload keeps the image checks) and adds one violation per image that
//! fails; [`ImagePolicy::review`] is the check itself.
//!
//! Guarantees: an image matched by a rule is admitted only by digest (`repo@sha256:...`):
//! a tag-only reference is denied, not resolved, because what a tag names can change between
//! admission and the kubelet's pull. A digest that verified is cached (bounded, with a TTL),
//! so repeated admissions of the same image need no registry round trip; failures are never
//! cached, so a newly signed image is admitted at once.
//!
//! Caveats: the registry must be reachable on a cache miss; a registry that does not answer
//! is a denial naming the image (within the server's time budget, its failure mode applies).
//! The newest (last pushed) verified scan-report attestation decides.
//!
//! Errors: [`ImagePolicy::load`] fails on an unreadable or invalid policy file or key.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;
use shipgate_image::RegistryOptions;
use shipgate_report::Severity;
use shipgate_sign::attestation::SHIPGATE_SCAN_REPORT;
use shipgate_sign::{PredicateType, PublicKey, blocking};

use crate::policy::{Enforcement, EvalError, Evaluator, PolicyLoadError, PolicyLoader, Violation};
use crate::review::AdmissionRequest;

/// Rule id of a missing or bad signature.
pub const SIGNATURE_RULE: &str = "image-signature";
/// Rule id of a missing, bad or failing scan attestation.
pub const SCAN_RULE: &str = "image-scan-attestation";

/// The policy file (YAML or JSON).
///
/// ```yaml
/// rules:
///   - images: ["registry.example.com/team/*"]   # `*` matches any characters, `/` included
///     keys: [/etc/shipgate/keys/release.pub]
///     scanAttestation:                          # optional
///       failOn: high                            # deny on a finding at or above this
/// cache: {ttlSeconds: 600, maxEntries: 1024}
/// insecureRegistry: false                       # plain HTTP to loopback registries (tests)
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImagePolicyFile {
    /// Rules, first match wins; images no rule matches are not checked.
    pub rules: Vec<ImageRuleFile>,
    /// Cache of verified digests.
    #[serde(default)]
    pub cache: CacheFile,
    /// Allow plain HTTP to loopback registries.
    #[serde(default)]
    pub insecure_registry: bool,
}

/// One rule of the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageRuleFile {
    /// Patterns over `registry/repository`.
    pub images: Vec<String>,
    /// Public key files (relative to the policy file); one valid signature from any suffices.
    pub keys: Vec<PathBuf>,
    /// Also require a scan-report attestation signed by one of the keys.
    #[serde(default)]
    pub scan_attestation: Option<ScanRequirementFile>,
}

/// The scan attestation requirement.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScanRequirementFile {
    /// Deny when an unsuppressed finding is at or above this severity (default high).
    #[serde(default = "default_fail_on")]
    pub fail_on: String,
}

fn default_fail_on() -> String {
    "high".into()
}

/// Cache settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CacheFile {
    /// How long a verified digest is trusted without asking the registry again.
    #[serde(default = "default_ttl")]
    pub ttl_seconds: u64,
    /// Most digests kept.
    #[serde(default = "default_entries")]
    pub max_entries: usize,
}

impl Default for CacheFile {
    fn default() -> Self {
        CacheFile {
            ttl_seconds: default_ttl(),
            max_entries: default_entries(),
        }
    }
}

fn default_ttl() -> u64 {
    600
}

fn default_entries() -> usize {
    1024
}

/// A loaded rule.
pub struct ImageRule {
    patterns: Vec<(String, globset::GlobMatcher)>,
    keys: Vec<PublicKey>,
    fail_on: Option<Severity>,
}

/// A loaded image policy with its cache of verified digests.
pub struct ImagePolicy {
    rules: Vec<ImageRule>,
    registry: RegistryOptions,
    ttl: Duration,
    max_entries: usize,
    cache: Mutex<HashMap<(usize, String), Instant>>,
}

impl ImagePolicy {
    /// Reads the policy file and every key it names.
    pub fn load(path: &Path) -> Result<ImagePolicy, PolicyLoadError> {
        let err = |m: String| PolicyLoadError(format!("{}: {m}", path.display()));
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let file: ImagePolicyFile =
            serde_saphyr::from_str(&text).map_err(|e| err(e.to_string()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut rules = Vec::new();
        for (i, r) in file.rules.iter().enumerate() {
            let keys = r
                .keys
                .iter()
                .map(|k| {
                    shipgate_sign::load_public_key(&base.join(k))
                        .map_err(|e| err(format!("rules[{i}]: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let fail_on = r
                .scan_attestation
                .as_ref()
                .map(|s| {
                    Severity::from_str(&s.fail_on)
                        .map_err(|e| err(format!("rules[{i}].scanAttestation.failOn: {e}")))
                })
                .transpose()?;
            rules.push(
                ImageRule::new(&r.images, keys, fail_on)
                    .map_err(|m| err(format!("rules[{i}]: {m}")))?,
            );
        }
        let registry = RegistryOptions {
            insecure_loopback: file.insecure_registry,
            ..RegistryOptions::default()
        };
        Ok(ImagePolicy::new(
            rules,
            registry,
            Duration::from_secs(file.cache.ttl_seconds),
            file.cache.max_entries,
        ))
    }

    /// A policy from loaded rules.
    pub fn new(
        rules: Vec<ImageRule>,
        registry: RegistryOptions,
        ttl: Duration,
        max_entries: usize,
    ) -> ImagePolicy {
        ImagePolicy {
            rules,
            registry,
            ttl,
            max_entries: max_entries.max(1),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Number of rules.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Digests currently cached as verified.
    pub fn cached(&self) -> usize {
        self.cache.lock().map(|c| c.len()).unwrap_or(0)
    }

    /// One violation per image of the object under review that a rule matches and that is
    /// not pinned, not signed by the rule's keys, or (when required) lacks a passing scan
    /// attestation. DELETE and objects without pod specs yield nothing.
    pub fn review(&self, req: &AdmissionRequest) -> Vec<Violation> {
        let Some(object) = req.object() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for image in container_images(object) {
            if let Some(v) = self.check_image(&image) {
                out.push(v);
            }
        }
        out
    }

    fn check_image(&self, image: &str) -> Option<Violation> {
        let deny = |rule: &str, message: String| {
            Some(Violation {
                rule_id: rule.to_string(),
                message,
                enforcement: Enforcement::Deny,
            })
        };
        let Ok(reference) = oci_client::Reference::from_str(image) else {
            return deny(
                SIGNATURE_RULE,
                format!("image {image}: not a valid image reference"),
            );
        };
        let repo = format!("{}/{}", reference.registry(), reference.repository());
        let (index, rule) = self
            .rules
            .iter()
            .enumerate()
            .find(|(_, r)| r.matches(&repo))?;
        let Some(digest) = reference.digest() else {
            return deny(
                SIGNATURE_RULE,
                format!(
                    "image {image} is referenced by tag only; images of {repo} must be pinned by digest ({repo}@sha256:...) so that the signed image is the one that runs"
                ),
            );
        };
        let pinned = format!("{repo}@{digest}");
        let key = (index, pinned.clone());
        if self.is_cached(&key) {
            return None;
        }
        let result = off_runtime(|| self.verify(rule, &pinned));
        match result {
            Ok(()) => {
                self.remember(key);
                None
            }
            Err((rule_id, message)) => deny(rule_id, message),
        }
    }

    fn verify(&self, rule: &ImageRule, pinned: &str) -> Result<(), (&'static str, String)> {
        blocking::verify(pinned, &rule.keys, &self.registry).map_err(|e| {
            (
                SIGNATURE_RULE,
                format!("image {pinned}: signature check failed: {e}"),
            )
        })?;
        let Some(fail_on) = rule.fail_on else {
            return Ok(());
        };
        let scan: PredicateType = SHIPGATE_SCAN_REPORT
            .parse()
            .expect("the scan-report URI parses");
        let att = blocking::verify_attestations(pinned, &rule.keys, Some(&scan), &self.registry)
            .map_err(|e| {
                (
                    SCAN_RULE,
                    format!("image {pinned}: scan attestation check failed: {e}"),
                )
            })?;
        let newest = att
            .statements
            .last()
            .ok_or_else(|| (SCAN_RULE, format!("image {pinned}: no scan attestation")))?;
        scan_verdict(&newest.statement.unwrapped_predicate(), fail_on)
            .map_err(|m| (SCAN_RULE, format!("image {pinned}: {m}")))
    }

    fn is_cached(&self, key: &(usize, String)) -> bool {
        let Ok(mut cache) = self.cache.lock() else {
            return false;
        };
        match cache.get(key) {
            Some(at) if at.elapsed() < self.ttl => true,
            Some(_) => {
                cache.remove(key);
                false
            }
            None => false,
        }
    }

    fn remember(&self, key: (usize, String)) {
        let Ok(mut cache) = self.cache.lock() else {
            return;
        };
        if cache.len() >= self.max_entries {
            let ttl = self.ttl;
            cache.retain(|_, at| at.elapsed() < ttl);
        }
        while cache.len() >= self.max_entries {
            let Some(oldest) = cache
                .iter()
                .min_by_key(|(_, at)| **at)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            cache.remove(&oldest);
        }
        cache.insert(key, Instant::now());
    }
}

impl ImageRule {
    /// A rule: glob patterns over `registry/repository`, keys, optional scan threshold.
    pub fn new(
        patterns: &[String],
        keys: Vec<PublicKey>,
        fail_on: Option<Severity>,
    ) -> Result<ImageRule, String> {
        if patterns.is_empty() {
            return Err("images: at least one pattern is needed".into());
        }
        if keys.is_empty() {
            return Err("keys: at least one public key is needed".into());
        }
        let patterns = patterns
            .iter()
            .map(|p| {
                globset::Glob::new(p)
                    .map(|g| (p.clone(), g.compile_matcher()))
                    .map_err(|e| format!("images: pattern {p:?}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ImageRule {
            patterns,
            keys,
            fail_on,
        })
    }

    fn matches(&self, repo: &str) -> bool {
        self.patterns.iter().any(|(_, m)| m.is_match(repo))
    }
}

/// Runs registry calls on a thread of their own: the blocking wrappers start a runtime,
/// which must not happen on a thread that is already driving one.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(f)
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

/// Whether a `shipgate.report/v1` report passes: no errors and no unsuppressed finding at or
/// above `fail_on`.
pub fn scan_verdict(report: &Value, fail_on: Severity) -> Result<(), String> {
    if report.get("schema").and_then(Value::as_str) != Some("shipgate.report/v1") {
        return Err("the scan attestation is not a shipgate.report/v1 report".into());
    }
    let errors = report
        .get("errors")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if errors > 0 {
        return Err(format!(
            "the attested scan had {errors} error(s), so it is incomplete"
        ));
    }
    let mut blocking = 0usize;
    let mut worst: Option<Severity> = None;
    for f in report
        .get("findings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if f.get("suppressed").is_some_and(|s| !s.is_null()) {
            continue;
        }
        let Some(sev) = f
            .get("severity")
            .and_then(Value::as_str)
            .and_then(|s| Severity::from_str(s).ok())
        else {
            return Err("the attested scan report has a finding without a known severity".into());
        };
        if sev >= fail_on {
            blocking += 1;
            worst = worst.max(Some(sev));
        }
    }
    match worst {
        None => Ok(()),
        Some(w) => Err(format!(
            "the attested scan has {blocking} finding(s) at or above {} (worst: {})",
            fail_on.as_str(),
            w.as_str()
        )),
    }
}

/// Container images of a pod spec in the object (Pod, workload templates, CronJob).
pub fn container_images(object: &Value) -> Vec<String> {
    let spec = match object.get("kind").and_then(Value::as_str) {
        Some("Pod") => object.get("spec"),
        Some("CronJob") => object.pointer("/spec/jobTemplate/spec/template/spec"),
        _ => object.pointer("/spec/template/spec"),
    };
    let mut out = Vec::new();
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for c in spec
            .and_then(|s| s.get(list))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(image) = c.get("image").and_then(Value::as_str)
                && !out.iter().any(|i: &String| i == image)
            {
                out.push(image.to_string());
            }
        }
    }
    out
}

/// An evaluator that adds the image checks to another.
pub struct ImageGate {
    inner: Arc<dyn Evaluator>,
    policy: Arc<ImagePolicy>,
}

impl ImageGate {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Evaluator>, policy: Arc<ImagePolicy>) -> ImageGate {
        ImageGate { inner, policy }
    }
}

impl Evaluator for ImageGate {
    fn evaluate(&self, request: &AdmissionRequest) -> Result<Vec<Violation>, EvalError> {
        let mut v = self.inner.evaluate(request)?;
        v.extend(self.policy.review(request));
        Ok(v)
    }

    fn rule_count(&self) -> usize {
        self.inner.rule_count() + self.policy.rule_count()
    }
}

/// A loader whose evaluators carry the image checks (the cache survives policy reloads).
pub struct ImageGateLoader<L> {
    inner: L,
    policy: Arc<ImagePolicy>,
}

impl<L: PolicyLoader> ImageGateLoader<L> {
    /// Wraps `inner`.
    pub fn new(inner: L, policy: Arc<ImagePolicy>) -> Self {
        ImageGateLoader { inner, policy }
    }
}

impl<L: PolicyLoader> PolicyLoader for ImageGateLoader<L> {
    fn load(&self) -> Result<Arc<dyn Evaluator>, PolicyLoadError> {
        let inner = self.inner.load()?;
        Ok(Arc::new(ImageGate::new(inner, self.policy.clone())))
    }

    fn watch_paths(&self) -> Vec<PathBuf> {
        self.inner.watch_paths()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn images_of_workloads() {
        let pod = json!({"kind":"Pod","spec":{"initContainers":[{"image":"a@sha256:1"}],"containers":[{"image":"b:1"},{"image":"b:1"}]}});
        assert_eq!(container_images(&pod), vec!["a@sha256:1", "b:1"]);
        let cron = json!({"kind":"CronJob","spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"image":"c"}]}}}}}});
        assert_eq!(container_images(&cron), vec!["c"]);
        let deploy = json!({"kind":"Deployment","spec":{"template":{"spec":{"containers":[{"image":"d"}]}}}});
        assert_eq!(container_images(&deploy), vec!["d"]);
        assert!(container_images(&json!({"kind":"ConfigMap"})).is_empty());
    }

    #[test]
    fn scan_reports() {
        let ok = json!({"schema":"shipgate.report/v1","findings":[{"severity":"medium"},{"severity":"critical","suppressed":{"kind":"ignore"}}],"errors":[]});
        assert!(scan_verdict(&ok, Severity::High).is_ok());
        let bad =
            json!({"schema":"shipgate.report/v1","findings":[{"severity":"high"}],"errors":[]});
        let e = scan_verdict(&bad, Severity::High).unwrap_err();
        assert!(e.contains("1 finding(s) at or above high"), "{e}");
        assert!(scan_verdict(&bad, Severity::Critical).is_ok());
        let errs = json!({"schema":"shipgate.report/v1","findings":[],"errors":[{"message":"x"}]});
        assert!(scan_verdict(&errs, Severity::High).is_err());
        assert!(scan_verdict(&json!({"findings":[]}), Severity::High).is_err());
    }
}
