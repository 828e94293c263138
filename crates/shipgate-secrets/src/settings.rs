//! User settings (`secrets:` in `shipgate.yaml`).

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::rules::{Allowlist, RegexTarget, compile_regex};

/// Settings for the secret scanner, embedded by the binary under `secrets:` in
/// `shipgate.yaml`. Every field is optional.
///
/// ```yaml
/// secrets:
///   allow_paths: ['(^|/)testdata/', '\.snap$']
///   allow_regexes: ['^sk_test_']
///   stopwords: [localdev]
///   disable_rules: [generic-password]
///   gitleaks_config: .gitleaks.toml
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsSettings {
    /// Regexes on the relative path (`/` separators): matching files are not scanned.
    pub allow_paths: Vec<String>,
    /// Regexes on the secret value: matching candidates are not findings.
    pub allow_regexes: Vec<String>,
    /// Words: a secret containing one (any case) is not a finding.
    pub stopwords: Vec<String>,
    /// Rule ids to turn off.
    pub disable_rules: Vec<String>,
    /// Extra rule files in shipgate's YAML rule format.
    pub rules_files: Vec<String>,
    /// A gitleaks TOML configuration to load (its `[extend] useDefault` adds the built-ins).
    pub gitleaks_config: Option<String>,
    /// Scan files that `.gitignore` / `.ignore` exclude.
    pub no_ignore: bool,
    /// Put the full secret in findings (`--show-secrets`); off by default.
    pub show_secrets: bool,
}

impl SecretsSettings {
    /// Compile the settings' allowlists: path regexes skip files; value regexes and stopwords
    /// drop candidates.
    pub(crate) fn allowlists(&self) -> Result<Vec<Allowlist>, Error> {
        let compile = |p: &String| {
            compile_regex(p).map_err(|e| Error::SettingsRegex {
                pattern: p.clone(),
                source: Box::new(e),
            })
        };
        let paths = self
            .allow_paths
            .iter()
            .map(compile)
            .collect::<Result<Vec<_>, _>>()?;
        let regexes = self
            .allow_regexes
            .iter()
            .map(compile)
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::new();
        // Paths skip whole files; values and stopwords drop single candidates.
        if !paths.is_empty() {
            out.push(Allowlist {
                and: false,
                target: RegexTarget::Secret,
                regexes: Vec::new(),
                paths,
                stopwords: Vec::new(),
                commits: Vec::new(),
            });
        }
        if !regexes.is_empty() || !self.stopwords.is_empty() {
            out.push(Allowlist {
                and: false,
                target: RegexTarget::Secret,
                regexes,
                paths: Vec::new(),
                stopwords: self
                    .stopwords
                    .iter()
                    .map(|s| s.to_ascii_lowercase())
                    .collect(),
                commits: Vec::new(),
            });
        }
        Ok(out)
    }
}
